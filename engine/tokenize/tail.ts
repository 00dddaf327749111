// Text cut to what the model can take before it is tokenized: a long text's end is tokenized with
// a margin, not all of it, so a megabyte on one line costs what its last few thousand characters do.
//
// A tokenizer started in the middle of a text can split the first word differently from one that
// read the text from its start. So the tail is tokenized twice, from two starting points, and only
// the tokens both agree on up to the end are kept (never the first token of the tail): from where
// two starts agree they stay agreed, and they agree with the whole text's tokens. When fewer than
// the model takes are agreed on, the window grows (four times each round) until it holds enough (up
// to MAX_WINDOW_CHARS, past which the tail's own tokens are kept). A text of up to 64 characters a
// token is tokenized whole.
import { EngineError } from "../../protocol/errors";
import type { TokenInfo, Truncated } from "../../protocol/basics";
import type { TokenizedInput, TokenizingModel } from "../probes/tokens";
import type { TextTokenizer } from "./tokenizer";

/** Characters of text first tokenized per token the model takes (the window grows when the text needs more). */
export const CHARS_PER_TOKEN = 4;

/**
 * A text up to this many characters per token the model takes is tokenized whole (cheap, and the
 * notice then counts the dropped tokens exactly): 32,768 characters for a context of 512.
 */
export const WHOLE_CHARS_PER_TOKEN = 64;

/**
 * The window grows to 256 characters per token, or 262,144 characters when that is more. Past it
 * the tail's own tokens are kept less its first: a text where two starts never agree (one word, or
 * one run of spaces, longer than that) is not tokenized whole, and its first kept tokens may be
 * aligned differently in that run than the whole text's.
 */
export const MAX_CHARS_PER_TOKEN = 256;
export const MAX_WINDOW_CHARS = 2 ** 18;

/** What tail tokenizing needs of a tokenizer. */
export type TailTokenizer = Pick<TextTokenizer, "encode" | "withOffsets" | "decode">;

export interface TailEncoding {
  /** The last `maxTokens` tokens of the text, or every token when the whole text was tokenized. */
  ids: number[];
  /** With `offsets`: each token with its offsets in the whole text. */
  tokens?: TokenInfo[];
  /** Set when only the end of the text was tokenized: the characters before the first token kept, and about how many tokens they hold. */
  cut?: { chars: number; approxTokens: number };
}

/** `at` moved off the second half of a surrogate pair. */
function charBoundary(text: string, at: number): number {
  if (at <= 0) return 0;
  const c = text.charCodeAt(at);
  return c >= 0xdc00 && c <= 0xdfff ? at + 1 : at;
}

/** The least prime at or above n. */
function primeFrom(n: number): number {
  for (let p = Math.max(2, n); ; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) {
      if (p % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return p;
  }
}

/** How many entries at the ends of `a` and `b` are equal. */
function commonSuffix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/**
 * The text's last `maxTokens` tokens, tokenizing only as much of its end as that takes. Without a
 * cut (`cut` absent) every token of the text is returned and the caller cuts as it would.
 */
export function encodeTail(tok: TailTokenizer, text: string, maxTokens: number, opts: { offsets?: boolean } = {}): TailEncoding {
  const whole = (): TailEncoding => {
    const ids = tok.encode(text);
    return { ids, ...(opts.offsets ? { tokens: tok.withOffsets(ids, text) } : {}) };
  };
  if (text.length <= Math.max(1, maxTokens) * WHOLE_CHARS_PER_TOKEN) return whole();
  let window = Math.max(1, maxTokens) * CHARS_PER_TOKEN;
  for (;;) {
    const start = charBoundary(text, text.length - window);
    if (start <= 0) return whole();
    // A second start before the first: the tokens both give up to the end are the text's own. The
    // distance between them is a prime, so the two cannot split a run of one repeated token (four
    // spaces, "==") in step by chance.
    const before = charBoundary(text, start - primeFrom(Math.max(257, window >> 3)));
    const tail = text.slice(start);
    const ids = tok.encode(tail);
    const last = window >= Math.max(Math.max(1, maxTokens) * MAX_CHARS_PER_TOKEN, MAX_WINDOW_CHARS);
    const agreed = Math.min(last ? ids.length : commonSuffix(ids, tok.encode(text.slice(before))), ids.length - 1);
    if (agreed >= maxTokens || (last && agreed > 0)) {
      const first = ids.length - Math.min(maxTokens, agreed);
      const kept = ids.slice(first);
      let tokens: TokenInfo[] | undefined;
      let chars: number;
      if (opts.offsets) {
        const infos = tok.withOffsets(ids, tail).slice(first);
        const bytesBefore = Buffer.byteLength(text.slice(0, start));
        tokens = infos.map((t) => ({ ...t, start: t.start + start, end: t.end + start, byteStart: t.byteStart + bytesBefore, byteEnd: t.byteEnd + bytesBefore }));
        chars = tokens[0].start;
      } else {
        // where the kept tokens start: the tail less the text of the tokens before them
        chars = start + Math.max(0, tail.length - keptLength(tok, kept, tail));
      }
      // the dropped tokens, at the tail's rate of tokens per character
      return { ids: kept, tokens, cut: { chars, approxTokens: Math.round((chars * ids.length) / tail.length) } };
    }
    window *= 4;
  }
}

/** How many leading tokens `a` and `b` share. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export interface HeadEncoding {
  /** With `cut`: the first `maxTokens - 1` tokens of the text and the token its encoding ends with (an end-of-sequence token); else every token of the text. */
  ids: number[];
  /** Set when only the start of the text was tokenized: the characters after it, and about how many tokens they hold. */
  cut?: { chars: number; approxTokens: number };
}

/**
 * The start of a long text for a model that reads the start (an encoder-decoder's source): its
 * first `maxTokens - 1` tokens and the token its encoding ends with, tokenizing only a head with a
 * margin. Mirror of encodeTail: the head is tokenized to two end points, a prime apart, and only the
 * tokens both give from the start, less the last they agree on, are kept; the head grows four times
 * a round until enough agree (to MAX_WINDOW_CHARS, past which the head's own tokens are kept). A
 * text of up to WHOLE_CHARS_PER_TOKEN characters a token is tokenized whole, as is one whose head
 * reaches its end (then every token is returned, for the caller to cut).
 */
export function encodeHead(tok: Pick<TextTokenizer, "encode">, text: string, maxTokens: number): HeadEncoding {
  const whole = (): HeadEncoding => ({ ids: tok.encode(text) });
  const keep = Math.max(1, maxTokens - 1);
  if (text.length <= Math.max(1, maxTokens) * WHOLE_CHARS_PER_TOKEN) return whole();
  let window = Math.max(1, maxTokens) * CHARS_PER_TOKEN;
  for (;;) {
    const end = charBoundary(text, window);
    if (end >= text.length) return whole();
    const longer = charBoundary(text, Math.min(text.length, end + primeFrom(Math.max(257, window >> 3))));
    const ids = tok.encode(text.slice(0, end));
    const last = window >= Math.max(Math.max(1, maxTokens) * MAX_CHARS_PER_TOKEN, MAX_WINDOW_CHARS);
    // the tokens after the agreed ones include the tokenizer's closing token(s): never kept as text
    const agreed = Math.min(last ? ids.length - 1 : commonPrefix(ids, tok.encode(text.slice(0, longer))) - 1, ids.length - 1);
    if (agreed >= keep || (last && agreed > 0)) {
      const kept = ids.slice(0, Math.min(keep, agreed));
      const closing = ids[ids.length - 1];
      // the characters past the head, at the head's rate of tokens per character
      return { ids: [...kept, closing], cut: { chars: text.length - end, approxTokens: Math.round(((text.length - end) * ids.length) / end) } };
    }
    window *= 4;
  }
}

/** How many characters of `tail`'s end the kept tokens cover (their decoded text's length). */
function keptLength(tok: TailTokenizer, kept: number[], tail: string): number {
  return Math.min(tail.length, tok.decode(kept).length);
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** The notice for a text cut before tokenizing: what was dropped, in characters and about how many tokens. */
export function cutNotice(text: string, cut: NonNullable<TailEncoding["cut"]>, kept: number, what = "the input"): Truncated {
  return {
    droppedTokens: cut.approxTokens,
    notice: `${what} has ${fmt(text.length)} characters, more than the ${kept} tokens allowed; the first ${fmt(cut.chars)} characters (about ${fmt(cut.approxTokens)} tokens) were dropped (truncated from the left; only the end was tokenized)`,
  };
}

/**
 * The tokens of the input (text or ids) with their offsets, cut from the left to `maxTokens`; a
 * long text is cut before it is tokenized (encodeTail). The same result as tokenizing everything
 * and keeping the last `maxTokens`, with a notice saying what was dropped.
 */
export function tokenizeInput(model: TokenizingModel, input: { text?: string; ids?: number[] }, maxTokens: number): TokenizedInput {
  if (input.ids !== undefined) {
    if (!Array.isArray(input.ids) || input.ids.length === 0) throw new EngineError("BAD_INPUT", "no token ids given");
    model.checkIds(input.ids);
    const dropped = Math.max(0, input.ids.length - maxTokens);
    const ids = input.ids.slice(dropped);
    const tokens = model.tokenizer.withOffsets(ids, undefined);
    if (dropped === 0) return { ids, tokens };
    return { ids, tokens, truncated: { droppedTokens: dropped, notice: `the input has ${input.ids.length} tokens, more than the ${maxTokens} allowed; the first ${dropped} were dropped (truncated from the left)` } };
  }
  const text = input.text ?? "";
  if (text.length === 0) throw new EngineError("BAD_INPUT", "the text is empty: select some text (or give --text/--file) to inspect");
  const enc = encodeTail(model.tokenizer as TailTokenizer, text, maxTokens, { offsets: true });
  if (enc.ids.length === 0) throw new EngineError("BAD_INPUT", "the text produced no tokens");
  model.checkIds(enc.ids);
  if (enc.cut) return { ids: enc.ids, tokens: enc.tokens!, truncated: cutNotice(text, enc.cut, enc.ids.length) };
  const ids = enc.ids;
  if (ids.length <= maxTokens) return { ids, tokens: enc.tokens! };
  const dropped = ids.length - maxTokens;
  return {
    ids: ids.slice(dropped),
    tokens: enc.tokens!.slice(dropped),
    truncated: { droppedTokens: dropped, notice: `the input has ${ids.length} tokens, more than the ${maxTokens} allowed; the first ${dropped} were dropped (truncated from the left)` },
  };
}
