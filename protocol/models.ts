// Models: what a model folder is, and the engine methods that describe and convert one (the Models
// view, the status bar, `seqlens info`, `seqlens quantize`).
import * as v from "valibot";
import type { Device, ExecutionProvider } from "./basics";
import { modelSpec } from "./schema";

/** The Models view in the SeqLens view container (a tree: no webview, no messages of its own). */
export const MODELS_VIEW_ID = "seqlens.models";

/** What a model can be asked for; the engine dispatches on these, the panels offer what is there. */
export type Capability =
  | "tokens" // text in, tokens with offsets out
  | "selfAttention" // attention weights per layer and head
  | "crossAttention" // decoder-to-encoder attention
  | "nextToken" // a next-token distribution at each position
  | "fillMask" // a distribution over a masked position
  | "generate" // autoregressive generation (with `kvCache` when the graph has one)
  | "kvCache"
  | "gates" // recurrent gates and states per step
  | "forecast" // a series model's forecasts
  | "gradients" // input gradients by a differentiable runtime
  | "embeddings" // a vocabulary matrix to project
  | "lens" // the residual stream decoded through the final norm and unembedding
  | "completion"; // code completion at a cursor

export interface ModelInfo {
  path: string;
  name: string;
  /** The family that opened it (engine/families), e.g. "gpt2-onnx", "recurrent-onnx". */
  family: string;
  /** What it can be asked for. */
  capabilities: Capability[];
  /** config.json's model_type; for a recurrent model without one, its cells ("lstm", "gru+lstm"). */
  modelType: string;
  /** Transformer blocks, or recurrent layers (a bidirectional one once). */
  nLayer: number;
  /** Attention (query) heads per layer (0 for a recurrent model). */
  nHead: number;
  /** Key/value heads per layer: fewer than nHead under grouped-query attention, where query head h shares kv head floor(h / (nHead / nKvHead)); 0 for a recurrent model. */
  nKvHead: number;
  /** The width of one attention head (0 for a recurrent model). */
  headDim: number;
  /** The width of the residual stream, or a recurrent model's widest hidden state. */
  nEmbd: number;
  /** 0 for a model without a token vocabulary (a series model). */
  vocabSize: number;
  /** The context in tokens (0 for a recurrent model: no fixed context). */
  nPositions: number;
  parameters: number;
  runtime: string; // e.g. "onnxruntime-node 1.30.0"
  device: Device;
  executionProviders: ExecutionProvider[];
  threads: number;
  hasKvCache: boolean;
  /** Where attention comes from: the graph's Softmax outputs, a fused op's own QK output, or recomputed from a fused op's inputs. */
  attention: { found: boolean; layers: number; note?: string; source?: "softmax" | "qk-output" | "recomputed" };
  /** What the user pointed at: a model folder with ONNX graphs, a training checkpoint (the graph built from its weights), or a bare .onnx without config. */
  form?: "onnx-folder" | "checkpoint" | "bare" | "tfjs" | "sample";
  /** The vocabulary matrices found: the token embedding, and whether the output projection is its own, tied to it, or not found. */
  embeddings: { input: boolean; output: "own" | "tied" | "none" };
  fileBytes: number;
}

export const modelsParams = {
  ping: v.object({}),
  info: v.object({ model: modelSpec }),
  /** Writes an int8 dynamically quantised copy of a model folder (MatMul weights to int8). */
  quantize: v.object({ model: modelSpec, out: v.pipe(v.string("out must be a non-empty string"), v.minLength(1, "out must be a non-empty string")) }),
};

export interface ModelsResults {
  /** The engine's process, how long it has run, and the bounds it holds every request to. */
  ping: { pid: number; uptimeMs: number; limits: { memoryBudget: number; maxSteps: number; deadlineMs: number } };
  info: ModelInfo;
  quantize: { out: string; quantized: number; kept: number; bytes: [number, number] };
}
