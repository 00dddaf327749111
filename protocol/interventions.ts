// Interventions on a decoder's graph: heads switched off (the engine's `inspect` with `ablate`,
// `seqlens inspect --ablate`) and direct logit attribution (the engine's `dla`, `seqlens dla`):
// the prediction at a position split into what the embeddings, each attention head and each MLP
// wrote into the residual stream, read through the final norm with its scale frozen there; and
// activation patching (the engine's `patch`, `seqlens patch`): how much of a clean input's
// prediction each activation carries into a corrupted one.
import * as v from "valibot";
import type { NextTokenResult, TokenInfo, TopToken, Truncated } from "./basics";
import { EngineError } from "./errors";
import { modelSpec, nonNegInt, num, numberArray } from "./schema";
import { predictionEntries, tokenSpec } from "./attribution";

/** "zero": the head's output replaced by 0; "mean": by its mean over the positions of the same input. */
export const ABLATION_MODES = ["zero", "mean"] as const;
export type AblationMode = (typeof ABLATION_MODES)[number];

/** One attention head: layer and head, from 0. */
export const headRef = v.object({ layer: nonNegInt, head: nonNegInt });
export type HeadRef = v.InferOutput<typeof headRef>;

/** The inspect parameters that switch heads off (protocol/inspector.ts adds them to inspect). */
export const ablationParams = {
  /** Heads switched off for this inspection: its logits, next token, surprisal and attention are the ablated run's. */
  ablate: v.optional(v.pipe(v.array(headRef), v.maxLength(4096, "ablate names at most 4096 heads"))),
  ablateMode: v.optional(v.picklist(ABLATION_MODES, 'ablateMode must be "zero" or "mean"')),
};

/** What an inspection with `ablate` adds: the heads, and how far the ablated prediction moved. */
export interface AblationInfo {
  heads: HeadRef[];
  mode: AblationMode;
  /** KL(clean ‖ ablated) of the next-token distribution after the last token, in nats. */
  klFromClean: number;
  /** The same at every position (the distribution of the token after it). */
  klPerPosition: number[];
  /** The unablated next-token distribution, beside the ablated one in `next`. */
  cleanNext: NextTokenResult;
  /** Where the inspection's attention comes from: the ablated run, or the clean one when the copy cannot give it. */
  attentionFrom: "ablated" | "clean";
}

/** What activation patching replaces: the residual stream entering a block, or one head's output z. */
export const PATCH_PER = ["residual", "head"] as const;
export type PatchPer = (typeof PATCH_PER)[number];

export const interventionsParams = {
  /** The logit of `target` (minus `foil`'s) at `position` split into embeddings, heads and MLPs. */
  dla: v.object({
    /** `position`: 1..T; the residual is the one at row position − 1. */
    ...predictionEntries,
    maxTokens: v.optional(num),
  }),
  /**
   * A clean and a corrupted input of the same token length (text, or token ids), and the metric
   * logit(target) − logit(foil) after the last token: for each activation, the corrupted run's
   * metric with that activation patched in from the clean run.
   */
  patch: v.object({
    model: modelSpec,
    clean: v.union([v.pipe(v.string(), v.minLength(1, "clean must be non-empty text")), numberArray("clean")], "clean must be text or an array of token ids"),
    corrupted: v.union([v.pipe(v.string(), v.minLength(1, "corrupted must be non-empty text")), numberArray("corrupted")], "corrupted must be text or an array of token ids"),
    /** logit(target) − logit(foil) after the last token; default: defaultMetric of the two runs' top next tokens. */
    metric: v.optional(v.object({ target: tokenSpec, foil: tokenSpec })),
    /** "residual" (the default): the residual stream entering each block, at each position. "head": each attention head's output z. */
    per: v.optional(v.picklist(PATCH_PER, 'per must be "residual" or "head"')),
    /** With per "head": the layer whose heads are patched one position at a time ([head][position]); without, each head at every position ([layer][head]). */
    layer: v.optional(num),
  }),
};

export type DlaParams = v.InferOutput<(typeof interventionsParams)["dla"]>;

export interface DlaResult {
  target: { id: number; text: string };
  foil?: { id: number; text: string };
  /** "logit": logit(target); "logit-diff": logit(target) − logit(foil). */
  metric: "logit" | "logit-diff";
  position: number;
  /** The residual entering block 0 (token embedding, plus positions where the model adds them). */
  embed: number;
  /** [layer][head]: z_h · W_O[h] through the frozen norm. */
  heads: number[][];
  /** [layer]: each MLP's output. */
  mlps: number[];
  /** [layer]: each attention output projection's bias (0 without one), a term of its own. */
  attnBiases: number[];
  /** logit − (embed + heads + mlps + attnBiases): the final norm's beta and the unembedding's bias on the direction, and rounding. */
  remainder: number;
  /** The part of the remainder the biases explain (norm beta · direction + unembedding bias). */
  biasTerm: number;
  logit: number;
  /** The final norm the scale was frozen from. */
  norm: "layernorm" | "rmsnorm";
  tokens: TokenInfo[];
  truncated?: Truncated;
  ms: number;
}

export interface PatchResult {
  per: PatchPer;
  /** With per "head" and a layer: the layer whose heads were patched. */
  layer?: number;
  /**
   * What grid[i][j] indexes: ["layer", "position"] (the residual entering block i at position j),
   * ["head", "position"] (head i's z at `layer`, position j), or ["layer", "head"] (head j of
   * layer i, patched at every position).
   */
  axes: ["layer", "position"] | ["head", "position"] | ["layer", "head"];
  /** (m − m_corrupted) / (m_clean − m_corrupted): 0 restores nothing, 1 the clean metric. */
  grid: number[][];
  /** The patched runs' metric m, by the same indices. */
  raw: number[][];
  cleanMetric: number;
  corruptedMetric: number;
  target: { id: number; text: string };
  foil: { id: number; text: string };
  /** The clean input's tokens (positions index these); the corrupted one's beside them. */
  tokens: TokenInfo[];
  corruptedTokens: TokenInfo[];
  /** Positions where the two inputs' tokens differ. */
  differ: number[];
  /** Grid entries computed by a patched run; the others' activations are the same in both runs, so patching them is the corrupted run. */
  patched: number;
  /** Runs of the model, the clean and corrupted ones included. */
  runs: number;
  ms: number;
}

export interface InterventionsResults {
  dla: DlaResult;
  patch: PatchResult;
}

/** The default metric: the clean run's top next token against the corrupted run's top, or against the clean run's second when the two agree. */
export function defaultMetric(clean: readonly Pick<TopToken, "id">[], corrupted: readonly Pick<TopToken, "id">[]): { target: number; foil: number } {
  if (clean.length === 0) throw new EngineError("BAD_INPUT", "the clean run predicts no next token");
  const target = clean[0].id;
  const foil = corrupted.length > 0 && corrupted[0].id !== target ? corrupted[0].id : clean[1]?.id;
  if (foil === undefined) throw new EngineError("BAD_INPUT", "the clean and corrupted runs give one next token only: there is no second token to measure the logit difference against");
  return { target, foil };
}
