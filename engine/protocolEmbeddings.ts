// Extension host <-> the Embeddings panel (the projector, contextual embeddings, vector arithmetic
// and the logit lens). Messages from the panel are validated before use, like every panel's.
import * as v from "valibot";
import { LensResult, nonNegInt, TokenInfo, validator } from "./protocol";

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

export interface EmbeddingsRestore {
  uri: string;
  start: number;
  end: number;
  model: string;
}

/** What is projected: the vocabulary, the selection's residual stream at a layer, or a recurrent model's h_t over the selection's characters. */
export type Source = "vocabulary" | "selection" | "recurrent";

export type EmbeddingsHostToPanel =
  | { type: "view"; view: EmbeddingsView }
  | {
      type: "projection";
      requestId: number;
      source: Source;
      matrix?: "input" | "output";
      method: "pca" | "umap" | "tsne";
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
  | { type: "error"; requestId?: number; message: string };

const idList = v.pipe(v.array(nonNegInt), v.maxLength(32));

export const EmbeddingsPanelMessageSchema = v.variant("type", [
  v.strictObject({ type: v.literal("ready") }),
  v.strictObject({
    type: v.literal("project"),
    requestId: nonNegInt,
    source: v.picklist(["vocabulary", "selection", "recurrent"]),
    method: v.picklist(["pca", "umap", "tsne"]),
    dims: v.picklist([2, 3]),
    layer: v.optional(nonNegInt),
    matrix: v.optional(v.picklist(["input", "output"])),
  }),
  v.strictObject({ type: v.literal("cancel"), requestId: nonNegInt }),
  v.strictObject({
    type: v.literal("neighbours"),
    requestId: nonNegInt,
    plus: v.pipe(idList, v.minLength(1)),
    minus: idList,
    k: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(200)),
    metric: v.picklist(["cosine", "euclidean"]),
    matrix: v.optional(v.picklist(["input", "output"])),
  }),
  /** Hover over position `index` of the selection (-1: none): the editor highlights that token (`of: "steps"`: that character of the recurrent run). */
  v.strictObject({ type: v.literal("hoverPosition"), index: v.pipe(v.number(), v.integer(), v.minValue(-1), v.maxValue(1_000_000)), of: v.optional(v.picklist(["tokens", "steps"])) }),
  /** Hover over a vocabulary token: the editor highlights where it occurs in the selection. */
  v.strictObject({ type: v.literal("hoverToken"), id: v.pipe(v.number(), v.integer(), v.minValue(-1), v.maxValue(10_000_000)) }),
  v.strictObject({ type: v.literal("revealPosition"), index: nonNegInt, of: v.optional(v.picklist(["tokens", "steps"])) }),
  v.strictObject({ type: v.literal("exportPng"), dataUrl: v.pipe(v.string(), v.startsWith("data:image/png;base64,"), v.maxLength(50_000_000)) }),
]);

export type EmbeddingsPanelToHost = v.InferOutput<typeof EmbeddingsPanelMessageSchema>;

export const parseEmbeddingsPanelMessage = validator(EmbeddingsPanelMessageSchema);
