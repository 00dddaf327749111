// Generation and code completion (the engine's `generate` and `complete`, `seqlens generate` and
// `seqlens complete`, the editor's inline completions and their explanation).
import * as v from "valibot";
import type { Device, Truncated } from "./basics";
import { modelSpec, num, numberArray } from "./schema";

export const completionParams = {
  generate: v.object({
    model: modelSpec,
    /** The prompt: text, or token ids (`ids`) instead. */
    text: v.optional(v.string("text must be a string")),
    ids: v.optional(numberArray("ids")),
    maxTokens: num,
    /** Default: greedy unless temperature, topK or topP is given. */
    greedy: v.optional(v.boolean()),
    temperature: v.optional(num),
    topK: v.optional(num),
    topP: v.optional(num),
    /** Default: a random seed, reported in the result. */
    seed: v.optional(num),
    /** Default true. */
    useCache: v.optional(v.boolean()),
    /** Default true. */
    stopAtEos: v.optional(v.boolean()),
  }),
  /** A code completion at a cursor: greedy, stopping at the line or block (engine/completion.ts). */
  complete: v.object({
    model: modelSpec,
    /** The document before the cursor (the engine keeps its end, to fit the model's context). */
    prefix: v.string("prefix must be a string"),
    /** The document after the cursor: its first line is where the completion stops if it writes it. */
    suffix: v.optional(v.string()),
    maxTokens: num,
    /** Stop after this long (ms, from the request's start), keeping what was generated. */
    maxMs: v.optional(num),
    /** "line" (default): at the end of the line; "block": at a blank line or a line indented less than the cursor's. */
    stopAt: v.optional(v.picklist(["line", "block"], 'stopAt must be "line" or "block"')),
    /** How many alternatives to report per token (default 5, at most 20). */
    alternatives: v.optional(num),
  }),
};

export type GenerateParams = v.InferOutput<(typeof completionParams)["generate"]>;
export type CompleteParams = v.InferOutput<(typeof completionParams)["complete"]>;

export interface GeneratedToken {
  id: number;
  text: string;
  p: number; // probability of the chosen token under the sampling distribution's source (temperature 1)
}

export interface GenerateResult {
  text: string; // the continuation only
  tokens: GeneratedToken[];
  promptTokens: number;
  truncated?: Truncated;
  stoppedBy: "maxTokens" | "eos" | "context" | "cancelled";
  greedy: boolean;
  seed?: number; // the seed used when sampling
  device: Device;
  ms: { prompt: number; perToken: number; total: number };
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
  truncated?: Truncated;
  /** Whether the model has a KV cache (without one each token recomputes the whole sequence). */
  kvCache: boolean;
  device: Device;
  ms: { prompt: number; perToken: number; total: number };
}

export interface CompletionResults {
  generate: GenerateResult;
  complete: CompleteResult;
}
