// Tokens of the inspected text with their offsets; text longer than the context is truncated
// from the left (the most recent tokens are kept) with a notice.
import type { TextTokenizer } from "../tokenize/tokenizer";
import { EngineError } from "../../protocol/errors";
import { TokenInfo } from "../../protocol/basics";

/** What tokenizing needs of a model: its tokenizer, and its check that ids are in its vocabulary. */
export interface TokenizingModel {
  readonly tokenizer: Pick<TextTokenizer, "encode" | "withOffsets">;
  checkIds(ids: number[]): void;
}

export interface TokenizedInput {
  ids: number[];
  tokens: TokenInfo[];
  truncated?: { droppedTokens: number; notice: string };
}

export function tokenizeInput(model: TokenizingModel, input: { text?: string; ids?: number[] }, maxTokens: number): TokenizedInput {
  let ids: number[];
  let tokens: TokenInfo[];
  if (input.ids !== undefined) {
    if (!Array.isArray(input.ids) || input.ids.length === 0) throw new EngineError("BAD_INPUT", "no token ids given");
    model.checkIds(input.ids);
    if (input.ids.length > maxTokens) {
      const dropped = input.ids.length - maxTokens;
      ids = input.ids.slice(dropped);
      return {
        ids,
        tokens: model.tokenizer.withOffsets(ids, undefined),
        truncated: { droppedTokens: dropped, notice: `the input has ${input.ids.length} tokens, more than the ${maxTokens} allowed; the first ${dropped} were dropped (truncated from the left)` },
      };
    }
    ids = input.ids.slice();
    tokens = model.tokenizer.withOffsets(ids, undefined);
  } else {
    const text = input.text ?? "";
    if (text.length === 0) throw new EngineError("BAD_INPUT", "the text is empty: select some text (or give --text/--file) to inspect");
    ids = model.tokenizer.encode(text);
    if (ids.length === 0) throw new EngineError("BAD_INPUT", "the text produced no tokens");
    model.checkIds(ids);
    tokens = model.tokenizer.withOffsets(ids, text);
  }
  if (ids.length > maxTokens) {
    const dropped = ids.length - maxTokens;
    return {
      ids: ids.slice(dropped),
      tokens: tokens.slice(dropped),
      truncated: { droppedTokens: dropped, notice: `the input has ${ids.length} tokens, more than the ${maxTokens} allowed; the first ${dropped} were dropped (truncated from the left)` },
    };
  }
  return { ids, tokens };
}

/** A recurrent model's steps as tokens: each character with its offsets in the text (UTF-16 and UTF-8), or a row of a series. */
export function stepTokens(labels: readonly string[], source: readonly number[], inputKind: "text" | "series"): TokenInfo[] {
  let bytes = 0;
  return labels.map((label, t) => {
    const start = source[t];
    const byteStart = bytes;
    bytes += inputKind === "text" ? Buffer.byteLength(label) : 0;
    return { id: inputKind === "text" ? (label.codePointAt(0) ?? 0) : t, text: label, start, end: inputKind === "text" ? start + label.length : start + 1, byteStart, byteEnd: bytes };
  });
}
