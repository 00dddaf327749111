// Tokens of the inspected text with their offsets; text longer than the context is truncated
// from the left (the most recent tokens are kept) with a notice.
import type { TextTokenizer } from "../tokenize/tokenizer";
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

// The text or ids of a request cut to what the model takes, tokenizing only the text's end (one
// function for every path: inspect, lens, compare, generation).
export { tokenizeInput } from "../tokenize/tail";

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
