// The Inspector: tokens, attention per layer and head, the next-token distribution, surprisal.
// Engine methods (`seqlens inspect`) and the panel's messages both ways.
import * as v from "valibot";
import type { AttentionSlice, Device, NextTokenResult, SliceResult, TokenInfo, TopToken, Truncated } from "./basics";
import { type ErrorReply, handle, modelSpec, nonNegInt, num, numberArray, pngDataUrl, rangeRestore, validator } from "./schema";
import type { Seq2SeqAttentionKind, Seq2SeqInspectResult } from "./seq2seq";
import type { AttributeResult } from "./attribution";
import { ABLATION_MODES, type AblationInfo, ablationParams, type DlaResult, type PatchResult } from "./interventions";

export const INSPECTOR_VIEW_TYPE = "seqlens.inspector";

export interface InspectResult {
  handle: string;
  model: string;
  device: Device;
  tokens: TokenInfo[];
  truncated?: Truncated;
  nLayer: number;
  nHead: number;
  /** Key/value heads: fewer than nHead under grouped-query attention (query head h shares kv head floor(h / (nHead / nKvHead))). */
  nKvHead: number;
  attentionAvailable: boolean;
  /** The next-token distribution at the last position (a causal model's). */
  next?: NextTokenResult;
  /** A masked-LM's fillers for each mask token in the input, in order (empty when there is none). */
  masks?: NextTokenResult[];
  /** The tokenizer's mask token, for a masked-LM. */
  maskToken?: { id: number; text: string };
  /** The attention slice asked for with the inspection (`slice` param), saving a round trip. */
  slice?: AttentionSlice;
  /** With `ablate`: the heads switched off and the KL from the clean run (`next` is then the ablated distribution). */
  ablation?: AblationInfo;
  ms: { tokenize: number; run: number; total: number };
}

export interface SurprisalResult {
  meanBits: number;
  tokens: { bits: number | null; p: number | null; rank: number | null; top: TopToken[] }[];
}

export const inspectorParams = {
  inspect: v.object({
    model: modelSpec,
    text: v.optional(v.string()),
    ids: v.optional(numberArray("ids")),
    topK: v.optional(num),
    temperature: v.optional(num),
    maxTokens: v.optional(num),
    slice: v.optional(v.object({ layer: num, head: num })),
    ...ablationParams,
  }),
  attention: v.object({ handle, layer: num, head: num }),
  attentionAll: v.object({ handle, capBytes: v.optional(num) }),
  nextToken: v.object({ handle, position: num, topK: v.optional(num), temperature: v.optional(num) }),
  /** A masked-LM's fillers at `position`: from the inspection when it holds the mask token there, else that token masked and the input run again ("what would the model put here?"; `actual` is the token that was there). */
  fillMask: v.object({ handle, position: num, topK: v.optional(num), temperature: v.optional(num) }),
  embeddings: v.object({ handle, kind: v.picklist(["input", "hidden"], 'embeddings kind must be "input" or "hidden"') }),
  release: v.object({ handle }),
  surprisal: v.object({ handle, topK: v.optional(num) }),
};

export interface InspectorResults {
  inspect: InspectResult;
  attention: SliceResult;
  attentionAll: SliceResult;
  nextToken: NextTokenResult;
  fillMask: NextTokenResult;
  embeddings: SliceResult;
  release: { released: boolean };
  surprisal: SurprisalResult;
}

/** [L, H, T, T] attention as nested arrays (JSON exports), from one flat [L, H, T, T] tensor. */
export function attentionNested(all: SliceResult): number[][][][] {
  const [L, H, T] = all.shape;
  return Array.from({ length: L }, (_, l) =>
    Array.from({ length: H }, (_, h) => Array.from({ length: T }, (_, q) => Array.from(all.data.subarray(((l * H + h) * T + q) * T, ((l * H + h) * T + q + 1) * T)))),
  );
}

// ---------------------------------------------------------------------------------------------
// Extension host <-> the Inspector panel. Messages from a webview are untrusted: the host validates
// each one before use and never takes a path or model id from it.

/** What the Inspector shows for one run. */
export interface InspectionView {
  handle: string;
  modelName: string;
  device: Device;
  text: string;
  tokens: TokenInfo[];
  nLayer: number;
  nHead: number;
  /** Key/value heads (fewer than nHead under grouped-query attention); absent in views saved before it was sent. */
  nKvHead?: number;
  attentionAvailable: boolean;
  /** A causal model's distribution after the last token. */
  next?: NextTokenResult;
  /** A masked-LM's fillers at each mask token of the text (present, maybe empty, for a masked-LM only). */
  masks?: NextTokenResult[];
  maskToken?: { id: number; text: string };
  /**
   * An encoder-decoder's inspection: `tokens` are the source (the selection); the target, the three
   * attentions' shapes and the next tokens after the target are here.
   */
  seq2seq?: Pick<Seq2SeqInspectResult, "target" | "generated" | "encoderLayers" | "decoderLayers" | "encoderHeads" | "decoderHeads" | "attention" | "next" | "targetP">;
  /** The slice the panel's heatmap showed last, sent with the inspection so it paints without asking. */
  attention?: AttentionSlice;
  /** Heads switched off for this run (its next token, attention and surprisal are the ablated run's), with the KL from the unablated one. */
  ablation?: AblationInfo;
  truncated?: Truncated;
  ms: { run: number; total: number };
}

/** A token the activation patching metric can be made of: a clean or corrupted run's top next token, with its probability in each run where it is in that run's top list. */
export interface PatchCandidate {
  id: number;
  text: string;
  /** Its probability after the clean input's last token (absent: not in the clean run's top list). */
  clean?: number;
  corrupted?: number;
}

/**
 * Activation patching between two selections, as the Inspector shows it: the residual grid
 * ([layer][position]), the texts, and the tokens the metric's target and foil can be picked from.
 */
export interface PatchView {
  modelName: string;
  clean: string;
  corrupted: string;
  /** The engine's `patch` with per "residual". */
  result: PatchResult;
  candidates: PatchCandidate[];
  /** The default metric's tokens: the clean run's top next token, against the corrupted run's top (or the clean run's second when the two agree). */
  defaultMetric: { target: number; foil: number };
}

/**
 * Feature ablation of a token's prediction, as the Inspector shows it after Why This Token? runs
 * from it: the engine's attribute result on the text up to that token (cut to the tokens the
 * setting allows), its tokens' texts and one score per token before the one explained.
 */
export interface InspectorAttribution {
  /** The token explained: its index in `tokens`' text (the prediction after tokens 0..position−1). */
  position: number;
  target: { id: number; text: string };
  foil?: { id: number; text: string };
  metric: "logprob" | "logit-diff";
  baseline: { text: string; kind: string };
  /** The metric on the real input. */
  base: number;
  /** metric(real) − metric(token i replaced), for i = 0..position−1. */
  scores: number[];
  /** The texts of tokens 0..position−1. */
  tokens: string[];
}

/** The panel's view of an attribute result: the scores and the texts of the tokens before the one explained. */
export function inspectorAttribution(r: AttributeResult): InspectorAttribution {
  return {
    position: r.position,
    target: r.target,
    ...(r.foil ? { foil: r.foil } : {}),
    metric: r.metric,
    baseline: { text: r.baseline.text, kind: r.baseline.kind },
    base: r.base,
    scores: r.scores.map((s) => s.score),
    tokens: r.tokens.slice(0, r.position).map((t) => t.text),
  };
}

/** Heads named by layer and head, as the panel switches them off. */
const headList = v.pipe(v.array(v.strictObject({ layer: nonNegInt, head: nonNegInt })), v.maxLength(4096, "at most 4096 heads can be switched off"));

/** What the Inspector remembers across a window reload: the document range, the model, and the heads switched off. */
export const InspectorRestore = v.object({ ...rangeRestore, model: v.string(), ablation: v.optional(v.object({ heads: headList, mode: v.picklist(ABLATION_MODES) })) });
export type InspectorRestore = v.InferOutput<typeof InspectorRestore>;

export type InspectorHostToPanel =
  | { type: "inspection"; view: InspectionView; restore: InspectorRestore }
  | { type: "attention"; requestId: number; layer: number; head: number; shape: number[]; data: Float32Array }
  | { type: "nextToken"; requestId: number; result: NextTokenResult }
  | { type: "fillMask"; requestId: number; result: NextTokenResult }
  | { type: "seq2seqAttention"; requestId: number; kind: Seq2SeqAttentionKind; layer: number; head: number; shape: number[]; data: Float32Array }
  | { type: "selectToken"; index: number }
  /** Direct logit attribution of the prediction after a token (the tokens are the inspection's, left out). */
  | { type: "dla"; requestId: number; result: Omit<DlaResult, "tokens"> }
  /** Activation patching of two selections (SeqLens: Patch Activations), or its re-run with another metric (a reply to setPatchMetric). */
  | { type: "patch"; patch: PatchView }
  | { type: "patch"; requestId: number; patch: PatchView }
  /** The heads of one layer patched one position at a time ([head][position]), for the patching shown. */
  | { type: "patchHeads"; requestId: number; result: PatchResult }
  /** Why This Token? run from the panel (w): the attribution the editor shows, for the panel's own strip. */
  | { type: "attribution"; attribution: InspectorAttribution }
  | { type: "stale"; stale: boolean; /** why, when it is not that the text changed (a re-run failed) */ reason?: string }
  | ErrorReply;

export const InspectorReady = v.strictObject({ type: v.literal("ready") });
/** `view`: the slice the heatmap shows (not a thumbnail); the host sends that one with the next inspection. */
export const InspectorGetAttention = v.strictObject({ type: v.literal("getAttention"), requestId: nonNegInt, layer: nonNegInt, head: nonNegInt, view: v.optional(v.boolean()) });
/** A distribution at a token: which, how many of its top tokens, at what temperature. */
const distributionAt = {
  requestId: nonNegInt,
  position: nonNegInt,
  topK: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
  temperature: v.pipe(v.number(), v.minValue(0.05), v.maxValue(10)),
};
export const InspectorGetNextToken = v.strictObject({ type: v.literal("getNextToken"), ...distributionAt });
/** A masked-LM's fillers at `position` (the token there masked and the text run again, unless it is the mask). */
export const InspectorGetFillMask = v.strictObject({ type: v.literal("getFillMask"), ...distributionAt });
/** One layer and head of an encoder-decoder's encoder, decoder or cross-attention. */
export const InspectorGetSeq2seqAttention = v.strictObject({ type: v.literal("getSeq2seqAttention"), requestId: nonNegInt, kind: v.picklist(["encoder", "decoder", "cross"]), layer: nonNegInt, head: nonNegInt });
export const InspectorRevealToken = v.strictObject({ type: v.literal("revealToken"), index: nonNegInt });
/** The heatmap cell under the pointer: its query and key tokens are highlighted in the editor; neither field clears the highlight. */
export const InspectorHoverTokens = v.strictObject({ type: v.literal("hoverTokens"), query: v.optional(nonNegInt), key: v.optional(nonNegInt) });
export const InspectorRerun = v.strictObject({ type: v.literal("rerun") });
export const InspectorExportData = v.strictObject({ type: v.literal("exportData"), format: v.picklist(["json", "csv"]) });
export const InspectorExportPng = v.strictObject({ type: v.literal("exportPng"), dataUrl: pngDataUrl });

/**
 * The heads to switch off, all of them (the set replaces the one shown; empty switches every head back
 * on), and what replaces their output: the host runs the same text again with them off.
 */
export const InspectorAblateHeads = v.strictObject({
  type: v.literal("ablateHeads"),
  heads: headList,
  mode: v.picklist(ABLATION_MODES, 'mode must be "zero" or "mean"'),
});
/** Direct logit attribution of the prediction after token `position` (as getNextToken's), of `target` (default: the token that follows, or the top prediction after the last) or target − `foil`; both token ids. */
export const InspectorGetDla = v.strictObject({ type: v.literal("getDla"), requestId: nonNegInt, position: nonNegInt, target: v.optional(nonNegInt), foil: v.optional(nonNegInt) });
/** The editor's Why This Token? for token `index`: the inspected text up to and including it, its last token explained. */
export const InspectorWhyToken = v.strictObject({ type: v.literal("whyToken"), index: nonNegInt });

/** Activation patching shown: the per-head grid of `layer` ([head][position]), with the same inputs and metric. */
export const InspectorGetPatchHeads = v.strictObject({ type: v.literal("getPatchHeads"), requestId: nonNegInt, layer: nonNegInt });
/** Activation patching shown, run again with the metric logit(target) − logit(foil) (token ids). */
export const InspectorSetPatchMetric = v.strictObject({ type: v.literal("setPatchMetric"), requestId: nonNegInt, target: nonNegInt, foil: nonNegInt });
/** The activation patching section closed: the host forgets it (a reload does not bring it back). */
export const InspectorClearPatch = v.strictObject({ type: v.literal("clearPatch") });

export const InspectorPanelMessage = v.variant("type", [
  InspectorReady,
  InspectorGetAttention,
  InspectorGetNextToken,
  InspectorGetFillMask,
  InspectorGetSeq2seqAttention,
  InspectorRevealToken,
  InspectorHoverTokens,
  InspectorRerun,
  InspectorExportData,
  InspectorExportPng,
  InspectorAblateHeads,
  InspectorGetDla,
  InspectorWhyToken,
  InspectorGetPatchHeads,
  InspectorSetPatchMetric,
  InspectorClearPatch,
]);

export type InspectorPanelToHost = v.InferOutput<typeof InspectorPanelMessage>;

export const parseInspectorMessage = validator(InspectorPanelMessage);
