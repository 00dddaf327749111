// The values every feature speaks in: devices, tokens with their offsets, top-k lists, tensor
// slices. No feature file imports another; they all import these.

export type Device = "cpu" | "cuda";
export type ExecutionProvider = "cpu" | "cuda";

export interface TokenInfo {
  id: number;
  text: string; // the token's own text (bytes decoded; a partial UTF-8 sequence shows as U+FFFD)
  start: number; // character (UTF-16) offsets into the input text
  end: number;
  byteStart: number; // UTF-8 byte offsets into the input text
  byteEnd: number;
  /** A special token the tokenizer added ([CLS], [SEP], <s> ...): not in the text, zero width at its place. */
  special?: boolean;
}

export interface TopToken {
  id: number;
  token: string;
  p: number;
}

export interface NextTokenResult {
  position: number;
  temperature: number;
  top: TopToken[];
  entropyBits: number; // over the full vocabulary
  actual?: { id: number; token: string; rank: number; p: number }; // the token that follows in the input
}

/** Input cut to what the model can take: how many tokens were dropped, in a sentence. */
export interface Truncated {
  droppedTokens: number;
  notice: string;
}

export interface SliceResult {
  shape: number[];
  data: Float32Array;
}

/** One layer and head of attention: [T, T] query x key. */
export interface AttentionSlice extends SliceResult {
  layer: number;
  head: number;
}

/** Default cap for whole-tensor requests. */
export const DEFAULT_TRANSFER_CAP_BYTES = 64 * 1024 * 1024;
