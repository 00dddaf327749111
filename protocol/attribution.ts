// "Why this token": a prediction attributed to the input tokens (the engine's `attribute`,
// `seqlens attribute`). Feature ablation: each earlier token replaced by a baseline token, the
// change in the target's log-probability (or in the target-minus-foil logit difference).
import * as v from "valibot";
import type { TokenInfo, Truncated } from "./basics";
import { modelSpec, num, numberArray } from "./schema";

/** The methods the issue names; only "ablation" is computed today (the others are refused with a sentence). */
export const ATTRIBUTION_METHODS = ["ablation", "grad-x-input", "integrated-gradients"] as const;
export type AttributionMethod = (typeof ATTRIBUTION_METHODS)[number];

/** The token an ablated position is replaced by: one the tokenizer names, or a token id. */
export const BASELINE_TOKENS = ["pad", "eos", "mask", "unk"] as const;
export type BaselineToken = (typeof BASELINE_TOKENS)[number];

/** A token given as its text (one token of the vocabulary) or its id. */
const tokenSpec = v.union([v.pipe(v.string(), v.minLength(1, "a token must be a non-empty string")), v.number()], "a token must be its text or its id");

export const attributionParams = {
  /**
   * The prediction of the token at `position` from the tokens before it (default: the next token
   * after the text) attributed to each of those tokens.
   */
  attribute: v.object({
    model: modelSpec,
    text: v.optional(v.string()),
    ids: v.optional(numberArray("ids")),
    /** The token whose prediction is explained: 1..T (T, the default, is the next token after the input); -1 the input's last token, -k counted back. */
    position: v.optional(num),
    /** Default: the model's top next token (position T), or the token actually at `position`. */
    target: v.optional(tokenSpec),
    /** With a foil the score is logit(target) − logit(foil) ("why this rather than that"). */
    foil: v.optional(tokenSpec),
    method: v.optional(v.picklist(ATTRIBUTION_METHODS, 'method must be "ablation", "grad-x-input" or "integrated-gradients"')),
    /** Default: pad when the tokenizer has one, else eos, else unk. */
    baseline: v.optional(v.union([v.picklist(BASELINE_TOKENS), v.number()], 'baseline must be "pad", "eos", "mask", "unk" or a token id')),
    maxTokens: v.optional(num),
  }),
};

export type AttributeParams = v.InferOutput<(typeof attributionParams)["attribute"]>;

export interface AttributedToken {
  position: number;
  text: string;
  /** metric(real input) − metric(this position replaced by the baseline): positive when the token helped. */
  score: number;
}

export interface AttributeResult {
  target: { id: number; text: string };
  foil?: { id: number; text: string };
  method: AttributionMethod;
  /** "logprob": ln p(target); "logit-diff": logit(target) − logit(foil) (natural-log units both). */
  metric: "logprob" | "logit-diff";
  baseline: { id: number; text: string; kind: BaselineToken | "id" };
  /** The position explained: the prediction made after tokens 0..position−1. */
  position: number;
  /** The metric on the real input. */
  base: number;
  /** One per earlier position 0..position−1. */
  scores: AttributedToken[];
  /** The input's tokens (all of them, also those after `position`). */
  tokens: TokenInfo[];
  truncated?: Truncated;
  /** Forward passes run (the real input and one per position). */
  runs: number;
  ms: number;
}

export interface AttributionResults {
  attribute: AttributeResult;
}
