// "Why this token": a prediction attributed to the input tokens (the engine's `attribute`,
// `seqlens attribute`). Feature ablation: each earlier token replaced by a baseline token, the
// change in the target's log-probability (or in the target-minus-foil logit difference). Gradient
// × input and integrated gradients: the gradient of that metric with respect to each token's
// embedding, on a differentiable copy of the model (the TensorFlow.js GPT-2).
import * as v from "valibot";
import type { TokenInfo, Truncated } from "./basics";
import { modelSpec, num, numberArray } from "./schema";

/** Feature ablation (any decoder), and the two gradient methods (a model with a differentiable copy). */
export const ATTRIBUTION_METHODS = ["ablation", "grad-x-input", "integrated-gradients"] as const;
export type AttributionMethod = (typeof ATTRIBUTION_METHODS)[number];

/** The token an ablated position is replaced by: one the tokenizer names, or a token id. */
export const BASELINE_TOKENS = ["pad", "eos", "mask", "unk"] as const;
export type BaselineToken = (typeof BASELINE_TOKENS)[number];

/** Integrated gradients' points on the path from the baseline: the default and the most. */
export const DEFAULT_IG_STEPS = 64;
export const MAX_IG_STEPS = 4096;

/** A token given as its text (one token of the vocabulary) or its id. */
export const tokenSpec = v.union([v.pipe(v.string(), v.minLength(1, "a token must be a non-empty string")), v.number()], "a token must be its text or its id");

/** What every "why" method explains: a model's prediction of one token of an input. */
export const predictionEntries = {
  model: modelSpec,
  text: v.optional(v.string()),
  ids: v.optional(numberArray("ids")),
  /** The token whose prediction is explained: 1..T (T, the default, is the next token after the input); attribute also takes -1, the input's last token, -k counted back. */
  position: v.optional(num),
  /** Default: the model's top next token (position T), or the token actually at `position`. */
  target: v.optional(tokenSpec),
  /** With a foil the measure is logit(target) − logit(foil) ("why this rather than that"). */
  foil: v.optional(tokenSpec),
};

export const attributionParams = {
  /**
   * The prediction of the token at `position` from the tokens before it (default: the next token
   * after the text) attributed to each of those tokens.
   */
  attribute: v.object({
    ...predictionEntries,
    method: v.optional(v.picklist(ATTRIBUTION_METHODS, 'method must be "ablation", "grad-x-input" or "integrated-gradients"')),
    /**
     * Ablation's replacement token, default pad when the tokenizer has one, else eos, else unk; or
     * "zero": the token's embedding replaced by zeros (what the graph adds to it, the position's
     * embedding, kept; ONNX decoders whose interventions copy can be made).
     * Integrated gradients' starting point: that token's embedding at every position, or "zero"
     * (the zero embedding). Its default is the zero embedding, and on
     * RMSNorm models (Llama-shaped), where the zero embedding is a poor start, ablation's default
     * token. Gradient × input has the zero embedding as its baseline and takes no other.
     */
    baseline: v.optional(v.union([v.picklist([...BASELINE_TOKENS, "zero"]), v.number()], 'baseline must be "pad", "eos", "mask", "unk", "zero" or a token id')),
    /** Integrated gradients: points on the path from the baseline to the input (midpoint rule), default 64. */
    steps: v.optional(num),
    maxTokens: v.optional(num),
  }),
};

export type AttributeParams = v.InferOutput<(typeof attributionParams)["attribute"]>;

export interface AttributedToken {
  position: number;
  text: string;
  /**
   * Ablation: metric(real input) − metric(this position replaced by the baseline). Gradient ×
   * input: Σ_k ∂metric/∂e_k · e_k over the token's embedding e. Integrated gradients: Σ_k (e_k −
   * b_k) · the mean gradient on the path from the baseline b. Positive when the token helped.
   */
  score: number;
  /** Gradient × input: the L2 norm of the gradient with respect to the token's embedding. */
  norm?: number;
}

/** Integrated gradients' check: the scores sum to f(input) − f(baseline) as the steps grow. */
export interface Completeness {
  /** The scores summed. */
  sum: number;
  /** f(input) − f(baseline). */
  delta: number;
  /** |sum − delta| / |delta|. */
  relError: number;
  /** f(baseline): the metric with every token's embedding replaced by the baseline. */
  baselineMetric: number;
  steps: number;
}

/** The model that computed the scores: the model asked for, or its differentiable copy. */
export interface ComputedBy {
  name: string;
  family: string;
  runtime: string;
  /**
   * With respect to what the gradient was taken (gradient methods): the token embeddings, the
   * position embeddings held fixed.
   */
  gradientOf?: "token embeddings";
  /** When a copy stood in for the model asked for: |its metric − the model's| on the real input. */
  agreement?: number;
}

export interface AttributeResult {
  target: { id: number; text: string };
  foil?: { id: number; text: string };
  method: AttributionMethod;
  /** "logprob": ln p(target); "logit-diff": logit(target) − logit(foil) (natural-log units both). */
  metric: "logprob" | "logit-diff";
  /** kind "zero": the zero embedding (the gradient methods), with no id and an empty text. */
  baseline: { id?: number; text: string; kind: BaselineToken | "id" | "zero" };
  /** The position explained: the prediction made after tokens 0..position−1. */
  position: number;
  /** The metric on the real input. */
  base: number;
  /** One per earlier position 0..position−1. */
  scores: AttributedToken[];
  /** The input's tokens (all of them, also those after `position`). */
  tokens: TokenInfo[];
  truncated?: Truncated;
  /** Sequences run: ablation, the real input and one per position; the gradient methods, the forwards and one forward and backward per path point. */
  runs: number;
  /** Integrated gradients only. */
  completeness?: Completeness;
  computedBy: ComputedBy;
  ms: number;
}

export interface AttributionResults {
  attribute: AttributeResult;
}

/** What a baseline is, in a sentence: "the zero embedding", or its token's text as `show` writes it with the kind after it. */
export function baselineWords(b: { text: string; kind: string }, show: (text: string) => string): string {
  return b.kind === "zero" ? "the zero embedding" : `${show(b.text)} (${b.kind})`;
}
