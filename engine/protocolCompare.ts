// Types of comparing two models on one text (the engine's `compare` method, the CLI's
// `seqlens compare`, the Compare panel).
import * as v from "valibot";
import { nonNegInt, validator } from "./protocol";
import type { Device, GatesLayerInfo, NextTokenResult, TokenInfo } from "./protocol";

export interface CompareParams {
  modelA: string;
  modelB: string;
  text?: string;
  ids?: number[];
  maxTokens?: number;
}

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
  truncated?: { droppedTokens: number; notice: string };
  ms: { run: number; total: number };
}

// ---------------------------------------------------------------------------------------------
// Extension host <-> the Compare panel. The panel names a side (0 or 1), never a handle or a path.

export type CompareHostToPanel =
  | { type: "compare"; view: CompareResult & { text: string } }
  | { type: "nextToken"; requestId: number; side: 0 | 1; result: NextTokenResult }
  | { type: "attention"; requestId: number; side: 0 | 1; layer: number; head: number; shape: number[]; data: Float32Array }
  /** A recurrent side's gate or state over the steps, [T, units]. */
  | { type: "gate"; requestId: number; side: 0 | 1; index: number; name: string; shape: number[]; data: Float32Array }
  /** The editor's cursor moved onto token `index`. */
  | { type: "selectPosition"; index: number }
  | { type: "error"; requestId?: number; message: string };

const side = v.picklist([0, 1]);

export const ComparePanelMessageSchema = v.variant("type", [
  v.strictObject({ type: v.literal("ready") }),
  v.strictObject({ type: v.literal("getNextToken"), requestId: nonNegInt, side, position: nonNegInt, topK: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)) }),
  v.strictObject({ type: v.literal("getAttention"), requestId: nonNegInt, side, layer: nonNegInt, head: nonNegInt }),
  v.strictObject({ type: v.literal("getGate"), requestId: nonNegInt, side, index: nonNegInt, name: v.pipe(v.string(), v.regex(/^[a-z]{1,16}$/)) }),
  v.strictObject({ type: v.literal("revealToken"), index: nonNegInt }),
]);

export type ComparePanelToHost = v.InferOutput<typeof ComparePanelMessageSchema>;

export const parseComparePanelMessage = validator(ComparePanelMessageSchema);
