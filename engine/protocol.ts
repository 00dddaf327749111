import * as v from "valibot";
import type { CompareParams, CompareResult } from "./protocolCompare";
import type { CompleteParams, CompleteResult } from "./protocolCompletion";

// The one protocol between the extension host, the engine process and (through the extension)
// the webviews. Requests carry ids; the engine answers each with exactly one response (a result
// or a typed error), may send progress events before it, and honours cancellation.

export type ErrorCode =
  | "BAD_INPUT" // the request itself is wrong: empty text, ids outside the vocabulary, bad numbers
  | "MODEL_NOT_FOUND" // no such folder or file
  | "MODEL_INVALID" // corrupt or truncated model file, bad config.json
  | "TOKENIZER" // tokenizer missing or unreadable
  | "NO_ATTENTION" // the graph has no recognisable attention Softmax
  | "NO_EMBEDDINGS" // no token-embedding matrix found in the graph
  | "INCOMPATIBLE" // two models that cannot be compared (the message names the first difference)
  | "NO_LENS" // the graph's residual stream / final layer norm could not be found for the logit lens
  | "TOO_LARGE" // a whole-tensor request over the size cap
  | "UNKNOWN_HANDLE" // an inspection that was released or never existed
  | "CANCELLED"
  | "PROCESS_DIED" // the engine process exited while the request was pending
  | "INTERNAL";

export interface EngineErrorData {
  code: ErrorCode;
  message: string;
}

export class EngineError extends Error implements EngineErrorData {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
  toJSON(): EngineErrorData {
    return { code: this.code, message: this.message };
  }
}

export type Device = "cpu" | "cuda";
export type ExecutionProvider = "cpu" | "cuda";

export interface ModelInfo {
  path: string;
  name: string;
  modelType: string;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  vocabSize: number;
  nPositions: number;
  parameters: number;
  runtime: string; // e.g. "onnxruntime-node 1.30.0"
  device: Device;
  executionProviders: ExecutionProvider[];
  threads: number;
  hasKvCache: boolean;
  attention: { found: boolean; layers: number; note?: string };
  /** The vocabulary matrices found: the token embedding, and whether the output projection is its own, tied to it, or not found. */
  embeddings: { input: boolean; output: "own" | "tied" | "none" };
  fileBytes: number;
}

export interface TokenInfo {
  id: number;
  text: string; // the token's own text (bytes decoded; a partial UTF-8 sequence shows as U+FFFD)
  start: number; // character (UTF-16) offsets into the input text
  end: number;
  byteStart: number; // UTF-8 byte offsets into the input text
  byteEnd: number;
}

export interface TopToken {
  id: number;
  token: string;
  p: number;
}

export interface NextTokenResult {
  position: number;
  temperature: number;
  top: TopToken[];
  entropyBits: number; // over the full vocabulary
  actual?: { id: number; token: string; rank: number; p: number }; // the token that follows in the input
}

export interface InspectResult {
  handle: string;
  model: string;
  device: Device;
  tokens: TokenInfo[];
  truncated?: { droppedTokens: number; notice: string };
  nLayer: number;
  nHead: number;
  attentionAvailable: boolean;
  next: NextTokenResult; // at the last position
  /** The attention slice asked for with the inspection (`slice` param), saving a round trip. */
  slice?: AttentionSlice;
  ms: { tokenize: number; run: number; total: number };
}

/** One layer and head of attention: [T, T] query x key. */
export interface AttentionSlice extends SliceResult {
  layer: number;
  head: number;
}

export interface SliceResult {
  shape: number[];
  data: Float32Array;
}

export interface GenerateParams {
  model: string;
  text: string;
  maxTokens: number;
  greedy?: boolean; // default: greedy unless temperature, topK or topP is given
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number; // default: a random seed, reported in the result
  useCache?: boolean; // default true
  stopAtEos?: boolean; // default true
}

export interface GeneratedToken {
  id: number;
  text: string;
  p: number; // probability of the chosen token under the sampling distribution's source (temperature 1)
}

export interface GenerateResult {
  text: string; // the continuation only
  tokens: GeneratedToken[];
  promptTokens: number;
  truncated?: { droppedTokens: number; notice: string };
  stoppedBy: "maxTokens" | "eos" | "context" | "cancelled";
  greedy: boolean;
  seed?: number; // the seed used when sampling
  device: Device;
  ms: { prompt: number; perToken: number; total: number };
}

/** One direction of one recurrent layer in a gates run. */
export interface GatesLayerInfo {
  /** Index into the run's directions (what gateSlice takes). */
  index: number;
  layer: number;
  direction: "forward" | "reverse";
  cell: "lstm" | "gru" | "simple_rnn";
  units: number;
  inputSize: number;
  activations: string[];
  /** Gates and states reported, e.g. input, forget, candidate, output, cell, hidden. */
  names: string[];
  /** The recomputed h_t against the runtime's own output at every step. */
  check: { maxAbsDiff: number; worstStep: number; tolerance: number; ok: boolean };
}

export interface GatesResult {
  handle: string;
  model: string;
  name: string;
  runtime: "onnx" | "tfjs";
  inputKind: "text" | "series";
  steps: number;
  /** Step -> character offset in the text, or row of the series. */
  source: number[];
  /** Step -> the character or the value(s) read. */
  labels: string[];
  layers: GatesLayerInfo[];
  ms: { run: number; total: number };
}

export interface ForecastResult {
  model: string;
  /** The series as given (first feature). */
  series: number[];
  /** Row t: the model's forecast of x_t made after reading up to x_{t-1} (null where it has none). */
  oneStep: (number | null)[];
  residuals: (number | null)[];
  /** Autoregressive forecasts after the last row: horizon values. */
  multiStep: number[];
  /** One-step errors over the rows that have a forecast, beside the baselines on the same rows. */
  metrics: { rows: number; mae: number; rmse: number; lastValue: { mae: number; rmse: number }; seasonalNaive?: { season: number; mae: number; rmse: number } };
  /** A gates run on the same series, for the gates underneath. */
  gates: GatesResult;
}

/** Every method the engine serves, with its params and result. */
export interface Methods {
  ping: { params: Record<string, never>; result: { pid: number; uptimeMs: number } };
  info: { params: { model: string }; result: ModelInfo };
  inspect: { params: { model: string; text?: string; ids?: number[]; topK?: number; temperature?: number; maxTokens?: number; slice?: { layer: number; head: number } }; result: InspectResult };
  attention: { params: { handle: string; layer: number; head: number }; result: SliceResult };
  attentionAll: { params: { handle: string; capBytes?: number }; result: SliceResult };
  nextToken: { params: { handle: string; position: number; topK?: number; temperature?: number }; result: NextTokenResult };
  embeddings: { params: { handle: string; kind: "input" | "hidden" }; result: SliceResult };
  release: { params: { handle: string }; result: { released: boolean } };
  surprisal: {
    params: { handle: string; topK?: number };
    result: { meanBits: number; tokens: { bits: number | null; p: number | null; rank: number | null; top: TopToken[] }[] };
  };
  generate: { params: GenerateParams; result: GenerateResult };
  /** A code completion at a cursor: greedy, stopping at the line or block (engine/completion.ts). */
  complete: { params: CompleteParams; result: CompleteResult };
  /** `runtime` insists on one copy of a model; `preferRuntime` uses that copy when the model has it. */
  gates: { params: { model: string; text?: string; values?: number[][]; runtime?: "onnx" | "tfjs"; preferRuntime?: "onnx" | "tfjs" }; result: GatesResult };
  gateSlice: { params: { handle: string; index: number; name: string }; result: SliceResult };
  /** Where `units` of one gate are all above `threshold` together: maximal runs of steps, first `limit`. */
  gateFiring: { params: { handle: string; index: number; name: string; units: number[]; threshold: number; limit?: number }; result: { runs: [number, number][] } };
  forecast: { params: { model: string; values: number[][]; horizon?: number; runtime?: "onnx" | "tfjs"; preferRuntime?: "onnx" | "tfjs" }; result: ForecastResult };
  /**
   * A selection read as numbers (engine/series/parseSeries.ts), in the engine so a huge selection
   * never holds up the editor: the values and each one's [start, end) offsets in the text, or why not.
   */
  parseSeries: {
    params: { text: string; lineOffset?: number; column?: number };
    result:
      | { ok: true; values: Float64Array; sourceStart: Int32Array; sourceEnd: Int32Array; columnIndex?: number }
      | { ok: false; needsColumn: true; columns: { index: number; name: string; numeric: boolean; isTime: boolean }[]; message: string }
      | { ok: false; needsColumn: false; errors: { line: number; text: string; reason: string }[]; more: number; message: string };
  };
  /**
   * Embeddings projected to 2-D or 3-D. Without text: the token-embedding matrix, one point per
   * token (`id` = token id), cached per model, method and dims. With text (or ids): the residual
   * stream at `layer` (0 = input embedding plus positions, i = after block i) at each position of the
   * text, one point per position in order (`position`), with the tokens and their offsets.
   */
  project: { params: ProjectParams; result: ProjectResult };
  /** Two models on one text: divergences, losses, head changes (engine/compareService.ts). */
  compare: { params: CompareParams; result: CompareResult };
  /** Writes an int8 dynamically quantised copy of a model folder (MatMul weights to int8). */
  quantize: { params: { model: string; out: string }; result: { out: string; quantized: number; kept: number; bytes: [number, number] } };
  /** The logit lens of a text: each layer's residual stream decoded through ln_f and the unembedding. */
  lens: { params: { model: string; text?: string; ids?: number[]; maxTokens?: number; topK?: number }; result: LensResult };
  /** The nearest tokens in the full embedding space to a token, or to a sum of tokens (plus minus). */
  neighbours: { params: { model: string; plus: number[]; minus?: number[]; k?: number; metric?: "cosine" | "euclidean"; matrix?: EmbeddingMatrix }; result: { neighbours: { id: number; token: string; score: number }[]; metric: string } };
  /** ‖∂y_t/∂x_s‖ for each step s ≤ t (TensorFlow.js); `step` defaults to the last. */
  gradients: { params: { model: string; text?: string; values?: number[][]; step?: number }; result: { model: string; name: string; cell: string; steps: number; outputStep: number; norms: number[]; target: string; labels: string[] } };
}

export type Method = keyof Methods;
export type Params<M extends Method> = Methods[M]["params"];
export type Result<M extends Method> = Methods[M]["result"];

/** Progress events: generation streams its tokens; loading reports its phase. */
/** `delta` is the text the token completes: characters split over several byte tokens appear once whole. */
/** `steps`: a long computation (UMAP epochs, t-SNE iterations) at `done` of `total`. */
export type Progress = { kind: "token"; token: GeneratedToken; index: number; delta: string } | { kind: "phase"; message: string } | { kind: "steps"; done: number; total: number; message: string };

export type ProjectionMethod = "pca" | "umap" | "tsne";
/** Which vocabulary matrix: the input (token) embedding, or the model's own output projection. */
export type EmbeddingMatrix = "input" | "output";

export interface ProjectParams {
  model: string;
  method: ProjectionMethod;
  /** Vocabulary projections: which matrix (default "input"). */
  matrix?: EmbeddingMatrix;
  dims?: 2 | 3;
  text?: string;
  ids?: number[];
  /** A recurrent model's numeric input (rows of features). */
  values?: number[][];
  layer?: number;
  maxTokens?: number;
}

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
  truncated?: { droppedTokens: number; notice: string };
  cached: boolean;
  ms: number;
}

export interface LensResult {
  tokens: TokenInfo[];
  truncated?: { droppedTokens: number; notice: string };
  /** Row names: "embeddings", "block 0", ... ("block n-1" is the model's own output). */
  layerNames: string[];
  /** [layer][position][k] */
  layers: TopToken[][][];
  /** [layer][position]: rank and probability of the final layer's top token there. */
  finalRank: number[][];
  finalP: number[][];
  ms: number;
}

export type ToEngine =
  | { type: "request"; id: number; method: Method; params: unknown }
  | { type: "cancel"; id: number };

export type FromEngine =
  | { type: "response"; id: number; ok: true; result: unknown }
  | { type: "response"; id: number; ok: false; error: EngineErrorData }
  | { type: "progress"; id: number; progress: Progress }
  | { type: "log"; level: "info" | "warn" | "error"; message: string }
  | { type: "ready"; pid: number };

/** Default cap for whole-tensor requests. */
export const DEFAULT_TRANSFER_CAP_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Extension host <-> webview panels. Messages from a webview are untrusted: the host validates
// each one with `parsePanelMessage` before use and never takes a path or model id from it.


/** What the Inspector shows for one run. */
export interface InspectionView {
  handle: string;
  modelName: string;
  device: Device;
  text: string;
  tokens: TokenInfo[];
  nLayer: number;
  nHead: number;
  attentionAvailable: boolean;
  next: NextTokenResult;
  /** The slice the panel's heatmap showed last, sent with the inspection so it paints without asking. */
  attention?: AttentionSlice;
  truncated?: { droppedTokens: number; notice: string };
  ms: { run: number; total: number };
}

export type HostToPanel =
  | { type: "inspection"; view: InspectionView; restore: { uri: string; start: number; end: number; model: string } }
  | { type: "attention"; requestId: number; layer: number; head: number; shape: number[]; data: Float32Array }
  | { type: "nextToken"; requestId: number; result: NextTokenResult }
  | { type: "selectToken"; index: number }
  | { type: "stale"; stale: boolean }
  | { type: "error"; requestId?: number; message: string };

export const nonNegInt = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000));

export const PanelMessageSchema = v.variant("type", [
  v.strictObject({ type: v.literal("ready") }),
  // `view`: the slice the heatmap shows (not a thumbnail); the host sends that one with the next inspection.
  v.strictObject({ type: v.literal("getAttention"), requestId: nonNegInt, layer: nonNegInt, head: nonNegInt, view: v.optional(v.boolean()) }),
  v.strictObject({
    type: v.literal("getNextToken"),
    requestId: nonNegInt,
    position: nonNegInt,
    topK: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
    temperature: v.pipe(v.number(), v.minValue(0.05), v.maxValue(10)),
  }),
  v.strictObject({ type: v.literal("revealToken"), index: nonNegInt }),
  v.strictObject({ type: v.literal("rerun") }),
  v.strictObject({ type: v.literal("exportData"), format: v.picklist(["json", "csv"]) }),
  v.strictObject({ type: v.literal("exportPng"), dataUrl: v.pipe(v.string(), v.startsWith("data:image/png;base64,"), v.maxLength(50_000_000)) }),
]);

export type PanelToHost = v.InferOutput<typeof PanelMessageSchema>;

/** A validator for messages from a webview: the typed message, or every problem as a sentence with its path. */
export function validator<S extends v.GenericSchema>(schema: S): (raw: unknown) => { ok: true; message: v.InferOutput<S> } | { ok: false; reason: string } {
  return (raw) => {
    const r = v.safeParse(schema, raw);
    if (r.success) return { ok: true, message: r.output };
    return { ok: false, reason: r.issues.map((i) => `${v.getDotPath(i) ?? "message"}: ${i.message}`).join("; ") };
  };
}

export const parsePanelMessage = validator(PanelMessageSchema);

// ---------------------------------------------------------------------------------------------
// Extension host <-> the Gates panel (recurrent models: gates per step, forecasts).

/** What the Gates panel shows for one run: the gates run, and for a series model its forecasts. */
export interface GatesView {
  gates: GatesResult;
  /** Set for a series model: the series, one-step and multi-step forecasts, residuals, errors. */
  forecast?: Omit<ForecastResult, "gates" | "model">;
  /** What the panel needs to run again after a window reload: the document range, the model, the CSV column chosen. */
  restore: { uri: string; start: number; end: number; model: string; column?: number };
  /** Whether the panel can ask for gradient norms (the LSTM and SimpleRNN character samples, on text). */
  gradients: boolean;
}

export type GatesHostToPanel =
  | { type: "gates"; view: GatesView }
  | { type: "slice"; requestId: number; index: number; name: string; shape: number[]; data: Float32Array }
  | { type: "selectStep"; step: number }
  | { type: "gradients"; requestId: number; outputStep: number; target: string; series: { name: string; cell: string; norms: number[] }[] }
  /** Where the picked units fire together in the whole document (offsets into it), for text. */
  | { type: "documentMatches"; requestId: number; steps: number; matches: { from: number; to: number; line: number; text: string }[] }
  | { type: "error"; requestId?: number; message: string };

/** A name of a gate, state or the layer input ("x"): letters only, never a path. */
const gateName = v.pipe(v.string(), v.regex(/^[a-z]{1,16}$/));

export const GatesPanelMessageSchema = v.variant("type", [
  v.strictObject({ type: v.literal("ready") }),
  v.strictObject({ type: v.literal("getSlice"), requestId: nonNegInt, index: nonNegInt, name: gateName }),
  v.strictObject({ type: v.literal("revealStep"), step: nonNegInt }),
  v.strictObject({ type: v.literal("revealSpan"), from: nonNegInt, to: nonNegInt }),
  v.strictObject({ type: v.literal("exportCsv"), index: nonNegInt }),
  v.strictObject({ type: v.literal("getGradients"), requestId: nonNegInt, step: nonNegInt }),
  v.strictObject({
    type: v.literal("findInDocument"),
    requestId: nonNegInt,
    index: nonNegInt,
    name: gateName,
    units: v.pipe(v.array(nonNegInt), v.minLength(1), v.maxLength(64)),
    threshold: v.pipe(v.number(), v.minValue(-100), v.maxValue(100)),
  }),
  v.strictObject({ type: v.literal("revealOffsets"), from: nonNegInt, to: nonNegInt }),
  v.strictObject({ type: v.literal("exportPng"), dataUrl: v.pipe(v.string(), v.startsWith("data:image/png;base64,"), v.maxLength(50_000_000)) }),
]);

export type GatesPanelToHost = v.InferOutput<typeof GatesPanelMessageSchema>;

export const parseGatesPanelMessage = validator(GatesPanelMessageSchema);
