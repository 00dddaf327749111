// Embeddings: the vocabulary projected (PCA, UMAP, t-SNE), the residual stream of a selection, a
// recurrent model's h_t, nearest tokens and vector arithmetic, and the logit lens. Engine methods
// (`seqlens project`, `neighbours`, `lens`) and the Embeddings panel's messages both ways.
import * as v from "valibot";
import type { TokenInfo, TopToken, Truncated } from "./basics";
import { type ErrorReply, modelSpec, nonNegInt, num, numberArray, numberRows, pngDataUrl, rangeRestore, validator } from "./schema";

export const EMBEDDINGS_VIEW_TYPE = "seqlens.embeddings";

export type ProjectionMethod = "pca" | "umap" | "tsne";
/** Which vocabulary matrix: the input (token) embedding, or the model's own output projection. */
export type EmbeddingMatrix = "input" | "output";

const method = v.picklist(["pca", "umap", "tsne"], 'projection method must be "pca", "umap" or "tsne"');
const matrix = v.optional(v.picklist(["input", "output"], 'matrix must be "input" or "output"'));

export const embeddingsParams = {
  /**
   * Embeddings projected to 2-D or 3-D. Without text: the token-embedding matrix, one point per
   * token (`id` = token id), cached per model, method and dims. With text (or ids): the residual
   * stream at `layer` (0 = input embedding plus positions, i = after block i) at each position of the
   * text, one point per position in order (`position`), with the tokens and their offsets.
   */
  project: v.object({
    model: modelSpec,
    method,
    /** Vocabulary projections: which matrix (default "input"). */
    matrix,
    dims: v.optional(v.picklist([2, 3], "dims must be 2 or 3")),
    text: v.optional(v.string()),
    ids: v.optional(numberArray("ids")),
    /** A recurrent model's numeric input (rows of features). */
    values: v.optional(numberRows("values")),
    layer: v.optional(num),
    maxTokens: v.optional(num),
  }),
  /** The logit lens of a text: each layer's residual stream decoded through ln_f and the unembedding. */
  lens: v.object({ model: modelSpec, text: v.optional(v.string()), ids: v.optional(numberArray("ids")), maxTokens: v.optional(num), topK: v.optional(num) }),
  /** The nearest tokens in the full embedding space to a token, or to a sum of tokens (plus minus). */
  neighbours: v.object({
    model: modelSpec,
    plus: v.pipe(numberArray("plus"), v.minLength(1, "neighbours needs at least one token id in plus")),
    minus: v.optional(numberArray("minus")),
    k: v.optional(num),
    metric: v.optional(v.picklist(["cosine", "euclidean"], 'metric must be "cosine" or "euclidean"')),
    matrix,
  }),
};

export type ProjectParams = v.InferOutput<(typeof embeddingsParams)["project"]>;

export interface ProjectedPoint {
  id: number;
  label: string;
  x: number;
  y: number;
  z?: number;
  /** Contextual points: the position in the text. */
  position?: number;
}

export interface ProjectResult {
  source: "vocabulary" | "contextual";
  matrix?: EmbeddingMatrix;
  method: ProjectionMethod;
  dims: 2 | 3;
  points: ProjectedPoint[];
  /** PCA: the share of variance of each kept axis. */
  explained?: number[];
  /** Contextual: the layer projected, how many there are (n_layer + 1) and the tokens with offsets. */
  layer?: number;
  layers?: number;
  /** Recurrent models: h_t per step; each layer's name (layer, direction, cell, units). */
  recurrent?: boolean;
  layerNames?: string[];
  tokens?: TokenInfo[];
  truncated?: Truncated;
  cached: boolean;
  ms: number;
}

export interface LensResult {
  tokens: TokenInfo[];
  truncated?: Truncated;
  /** Row names: "embeddings", "block 0", ... ("block n-1" is the model's own output). */
  layerNames: string[];
  /** [layer][position][k] */
  layers: TopToken[][][];
  /** [layer][position]: rank and probability of the final layer's top token there. */
  finalRank: number[][];
  finalP: number[][];
  ms: number;
}

export interface EmbeddingsResults {
  project: ProjectResult;
  lens: LensResult;
  neighbours: { neighbours: { id: number; token: string; score: number }[]; metric: string };
}

// ---------------------------------------------------------------------------------------------
// Extension host <-> the Embeddings panel.

/** What the panel shows for one selection: the tokens, the lens of them (or why not). */
export interface EmbeddingsView {
  modelName: string;
  /** n_layer + 1 residual streams: 0 is the input embedding plus positions. */
  layers: number;
  vocabSize: number;
  /** The output projection: the model's own matrix (a second vocabulary to project), tied to the token embedding, or not found. */
  outputMatrix: "own" | "tied" | "none";
  /** The recurrent model whose h_t the panel can show for the selection (text only), by name. */
  recurrentModel?: string;
  /** The selection's tokens with offsets into it (empty when the panel opened without one). */
  tokens: TokenInfo[];
  lens?: LensResult;
  lensError?: string;
  truncated?: string;
  /** What the host needs to show the same selection again after a window reload (kept in the panel's state). */
  restore?: EmbeddingsRestore;
}

/** What the Embeddings panel remembers across a window reload: the document range and the model. */
export const EmbeddingsRestore = v.object({ ...rangeRestore, model: v.string() });
export type EmbeddingsRestore = v.InferOutput<typeof EmbeddingsRestore>;

/** What is projected: the vocabulary, the selection's residual stream at a layer, or a recurrent model's h_t over the selection's characters. */
export type Source = "vocabulary" | "selection" | "recurrent";

export type EmbeddingsHostToPanel =
  | { type: "view"; view: EmbeddingsView }
  | {
      type: "projection";
      requestId: number;
      source: Source;
      matrix?: EmbeddingMatrix;
      method: ProjectionMethod;
      dims: 2 | 3;
      layer?: number;
      /** Recurrent: the name of each direction the layer picker offers. */
      layerNames?: string[];
      /** [n, dims] */
      coords: Float32Array;
      ids: Int32Array;
      labels: string[];
      explained?: number[];
      cached: boolean;
      ms: number;
    }
  | { type: "progress"; requestId: number; done: number; total: number; message: string }
  | { type: "neighbours"; requestId: number; metric: string; neighbours: { id: number; token: string; score: number }[] }
  /** The editor's cursor moved onto token `index` (and character `step`) of the selection. */
  | { type: "selectPosition"; index: number; step: number }
  | ErrorReply;

const idList = v.pipe(v.array(nonNegInt), v.maxLength(32));

export const EmbeddingsReady = v.strictObject({ type: v.literal("ready") });
export const EmbeddingsProject = v.strictObject({
  type: v.literal("project"),
  requestId: nonNegInt,
  source: v.picklist(["vocabulary", "selection", "recurrent"]),
  method: v.picklist(["pca", "umap", "tsne"]),
  dims: v.picklist([2, 3]),
  layer: v.optional(nonNegInt),
  matrix: v.optional(v.picklist(["input", "output"])),
});
export const EmbeddingsCancel = v.strictObject({ type: v.literal("cancel"), requestId: nonNegInt });
export const EmbeddingsNeighbours = v.strictObject({
  type: v.literal("neighbours"),
  requestId: nonNegInt,
  plus: v.pipe(idList, v.minLength(1)),
  minus: idList,
  k: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(200)),
  metric: v.picklist(["cosine", "euclidean"]),
  matrix: v.optional(v.picklist(["input", "output"])),
});
/** Hover over position `index` of the selection (-1: none): the editor highlights that token (`of: "steps"`: that character of the recurrent run). */
export const EmbeddingsHoverPosition = v.strictObject({ type: v.literal("hoverPosition"), index: v.pipe(v.number(), v.integer(), v.minValue(-1), v.maxValue(1_000_000)), of: v.optional(v.picklist(["tokens", "steps"])) });
/** Hover over a vocabulary token: the editor highlights where it occurs in the selection. */
export const EmbeddingsHoverToken = v.strictObject({ type: v.literal("hoverToken"), id: v.pipe(v.number(), v.integer(), v.minValue(-1), v.maxValue(10_000_000)) });
export const EmbeddingsRevealPosition = v.strictObject({ type: v.literal("revealPosition"), index: nonNegInt, of: v.optional(v.picklist(["tokens", "steps"])) });
export const EmbeddingsExportPng = v.strictObject({ type: v.literal("exportPng"), dataUrl: pngDataUrl });

export const EmbeddingsPanelMessage = v.variant("type", [EmbeddingsReady, EmbeddingsProject, EmbeddingsCancel, EmbeddingsNeighbours, EmbeddingsHoverPosition, EmbeddingsHoverToken, EmbeddingsRevealPosition, EmbeddingsExportPng]);

export type EmbeddingsPanelToHost = v.InferOutput<typeof EmbeddingsPanelMessage>;

export const parseEmbeddingsMessage = validator(EmbeddingsPanelMessage);
