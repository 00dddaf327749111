// Types of code completion (the engine's `complete` method, the CLI's `seqlens complete`, the
// editor's inline completions and their explanation).
import type { Device } from "./protocol";

export interface CompleteParams {
  model: string;
  /** The document before the cursor (the engine keeps its end, to fit the model's context). */
  prefix: string;
  /** The document after the cursor: its first line is where the completion stops if it writes it. */
  suffix?: string;
  maxTokens: number;
  /** Stop after this long (ms, from the request's start), keeping what was generated. */
  maxMs?: number;
  /** "line" (default): at the end of the line; "block": at a blank line or a line indented less than the cursor's. */
  stopAt?: "line" | "block";
  /** How many alternatives to report per token (default 5, at most 20). */
  alternatives?: number;
}

export type CompletionStop = "line" | "block" | "suffix" | "maxTokens" | "maxMs" | "eos" | "context" | "cancelled";

export interface CompletionToken {
  id: number;
  /** The token's own text (bytes of a split character as replacement characters). */
  text: string;
  /** Where its text lies in the completion, [start, end) in UTF-16 units. */
  start: number;
  end: number;
  /** Its probability when it was chosen (greedy: the largest). */
  p: number;
  /** The next most likely tokens at that step. */
  alternatives: { id: number; text: string; p: number }[];
}

export interface CompleteResult {
  /** The completion, cut where it stopped. */
  text: string;
  /** The tokens that reach into the completion. */
  tokens: CompletionToken[];
  /** Tokens generated, including any cut off after the stop. */
  generated: number;
  stoppedBy: CompletionStop;
  promptTokens: number;
  truncated?: { droppedTokens: number; notice: string };
  /** Whether the model has a KV cache (without one each token recomputes the whole sequence). */
  kvCache: boolean;
  device: Device;
  ms: { prompt: number; perToken: number; total: number };
}
