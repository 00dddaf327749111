// Compare: two models on one text (the engine's `compare`, `seqlens compare`, the Compare panel).
import * as v from "valibot";
import type { Device, NextTokenResult, TokenInfo, Truncated } from "./basics";
import type { GatesLayerInfo } from "./gates";
import { type ErrorReply, gateName, modelSpec, nonNegInt, num, numberArray, rangeRestore, validator } from "./schema";

export const COMPARE_VIEW_TYPE = "seqlens.compare";

export const compareParams = {
  /** Two models on one text: divergences, losses, head changes (engine/compareService.ts). */
  compare: v.object({ modelA: modelSpec, modelB: modelSpec, text: v.optional(v.string()), ids: v.optional(numberArray("ids")), maxTokens: v.optional(num) }),
};

export type CompareParams = v.InferOutput<(typeof compareParams)["compare"]>;

export interface ComparedToken {
  /** −log2 p of this token under each model (null for the first token, or where a model has none). */
  loss: [number | null, number | null];
  /** KL(A‖B) and KL(B‖A), bits, of the two distributions that predicted this token (token mode). */
  kl: [number, number] | null;
  js: number | null;
  rank: [number | null, number | null] | null;
  p: [number | null, number | null] | null;
}

export interface CompareResult {
  /** "token": one tokenizer, compared token by token; "byte": two tokenizers, losses compared per byte. */
  mode: "token" | "byte";
  note?: string;
  names: [string, string];
  devices: [Device, Device];
  /** The inspections of each side (for attention slices and next-token distributions). */
  handles: [string, string];
  /** Recurrent pairs: each side's gates run (for gate slices) and its layers. */
  gates?: [string, string];
  gateLayers?: [GatesLayerInfo[], GatesLayerInfo[]];
  /** The first model's tokens (the rows of `perToken`); in byte mode also the second's. */
  tokens: TokenInfo[];
  tokensB?: TokenInfo[];
  perToken: ComparedToken[];
  summary: {
    /** Mean loss of each: bits per token (token mode) or bits per byte (byte mode). */
    meanLoss: [number, number];
    unit: "bits/token" | "bits/byte" | "bits/char";
    /** Tokens whose loss changed most (second minus first), largest change first. */
    changedTokens: { index: number; text: string; delta: number }[];
    /** Heads whose attention changed most: the mean over query rows of the rows' JS divergence, bits. */
    changedHeads: { layer: number; head: number; meanJs: number }[];
    /** Mean JS divergence of the next-token distributions over the positions (token mode). */
    meanJs?: number;
  };
  nLayer: number;
  nHead: number;
  /** Both have attention of one shape (same layers and heads): the panel can show the difference. */
  attentionComparable: boolean;
  truncated?: Truncated;
  ms: { run: number; total: number };
}

export interface CompareResults {
  compare: CompareResult;
}

// ---------------------------------------------------------------------------------------------
// Extension host <-> the Compare panel. The panel names a side (0 or 1), never a handle or a path.

/** What the Compare panel remembers across a window reload: the document range and both models. */
export const CompareRestore = v.object({ ...rangeRestore, modelA: v.string(), modelB: v.string() });
export type CompareRestore = v.InferOutput<typeof CompareRestore>;

export type CompareHostToPanel =
  | { type: "compare"; view: CompareResult & { text: string }; restore?: CompareRestore }
  | { type: "nextToken"; requestId: number; side: 0 | 1; result: NextTokenResult }
  | { type: "attention"; requestId: number; side: 0 | 1; layer: number; head: number; shape: number[]; data: Float32Array }
  /** A recurrent side's gate or state over the steps, [T, units]. */
  | { type: "gate"; requestId: number; side: 0 | 1; index: number; name: string; shape: number[]; data: Float32Array }
  /** The editor's cursor moved onto token `index`. */
  | { type: "selectPosition"; index: number }
  | ErrorReply;

const side = v.picklist([0, 1]);

export const CompareReady = v.strictObject({ type: v.literal("ready") });
/** `temperature`: the list's (both sides at one; 1 when absent). */
export const CompareGetNextToken = v.strictObject({ type: v.literal("getNextToken"), requestId: nonNegInt, side, position: nonNegInt, topK: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)), temperature: v.optional(v.pipe(v.number(), v.minValue(0.05), v.maxValue(10))) });
export const CompareGetAttention = v.strictObject({ type: v.literal("getAttention"), requestId: nonNegInt, side, layer: nonNegInt, head: nonNegInt });
export const CompareGetGate = v.strictObject({ type: v.literal("getGate"), requestId: nonNegInt, side, index: nonNegInt, name: gateName });
export const CompareRevealToken = v.strictObject({ type: v.literal("revealToken"), index: nonNegInt });

export const ComparePanelMessage = v.variant("type", [CompareReady, CompareGetNextToken, CompareGetAttention, CompareGetGate, CompareRevealToken]);

export type ComparePanelToHost = v.InferOutput<typeof ComparePanelMessage>;

export const parseCompareMessage = validator(ComparePanelMessage);
