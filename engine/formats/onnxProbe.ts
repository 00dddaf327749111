// Makes a probe copy of an ONNX decoder: the attention Softmax outputs (and the hidden state that
// feeds the output projection) become graph outputs, so the numbers the panels show come from the
// model's own graph. A graph whose attention is com.microsoft fused operators (no Softmax) gets their
// probabilities recovered in the copy instead (fusedAttention.ts); one whose Softmax nodes sit in an
// If node's branches (optimum's merged decoders) gets them out through the If (branchAttention.ts).
// The copy is cached by the model file's SHA-256.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import type { DecoderConfig, ShapeKey } from "./modelFolder";
import { EngineError } from "../../protocol/errors";
import { initializerFloats, readOnnxGraph } from "./onnxWeights";
import { declaredType, FLOAT_TYPES, inferElementTypes } from "./onnxTypes";
import { copyPath, writeGraphCopy } from "./externalData";
import { fusedAttentionNodes, recoverFusedAttention, type FusedAttentionMode, type FusedAttentionSource } from "./fusedAttention";
import { branchAttention } from "./branchAttention";

export interface ProbeGraph {
  /** Path of the probe copy to open with the runtime. */
  file: string;
  sha256: string;
  /** Graph output names of the attention probabilities, in layer order. */
  attentionOutputs: string[];
  attentionNote?: string;
  /**
   * Where the attention probabilities come from: the graph's Softmax nodes, the fused attention
   * operators' own QK outputs, or recomputed in the copy from those operators' inputs.
   */
  attentionSource?: "softmax" | FusedAttentionSource;
  /** For fused attention operators: how each node's attention was recovered, or why it was not. */
  attentionNotes?: string[];
  /** Graph output name of the last hidden state (the input of the output projection), if found. */
  lastHiddenOutput?: string;
  /** The token-embedding matrix [vocab, d] read from the initializer the input_ids Gather uses. */
  tokenEmbedding?: { shape: number[]; data: Float32Array };
  /**
   * The output projection (unembedding) as [vocab, d] rows, when the model has its own: the
   * initializer the logits MatMul multiplies by. Absent when it is the token embedding (tied) or
   * computed in the graph from something else.
   */
  unembedding?: { shape: number[]; data: Float32Array };
  /** The logits MatMul reads the token embedding (through a Transpose): input and output embeddings are one matrix. */
  tiedEmbeddings: boolean;
  parameters: number;
  hasKvCache: boolean;
  /** The ONNX element type of the graph's `logits` (FLOAT; FLOAT16 in a float16 export), when it declares one. */
  logitsElemType?: number;
  /** The ONNX element type of its past_key_values.* inputs (an empty cache is made of it), when it has them. */
  kvCacheElemType?: number;
  inputNames: string[];
  /** The graph's own outputs (not the ones the copy adds). */
  outputNames: string[];
}

const PROBE_VERSION = 2;

export function cacheDir(): string {
  const dir = process.env.SEQLENS_CACHE_DIR || path.join(os.homedir(), ".cache", "seqlens");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** What config.json claims about the graph's shape, and where it says so (for the error). */
export type ClaimedShape = Pick<DecoderConfig, "n_layer" | "n_head" | "n_kv_head" | "head_dim" | "n_embd" | "vocab_size" | "source_keys"> & Partial<Pick<DecoderConfig, "n_positions">> & { configFile: string };

/** The static size of dimension `i` of a graph input, if the graph fixes it. */
function staticDim(v: onnx.IValueInfoProto | undefined, i: number): number | undefined {
  const d = v?.type?.tensorType?.shape?.dim?.[i];
  const n = d?.dimValue === undefined || d?.dimValue === null ? NaN : Number(d.dimValue);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The graph decides, the config informs: each number config.json gives that the graph also fixes
 * (attention layers, KV-cache layers and heads, the token embedding's rows and width) must agree,
 * else MODEL_INVALID naming both numbers. Numbers the graph leaves open are taken from the config.
 */
function checkClaims(onnxFile: string, claimed: ClaimedShape, graph: { attentionLayers: number; kvInputs: onnx.IValueInfoProto[]; tokenEmbedding?: number[]; positionRows?: number }): void {
  // named as config.json names it (num_hidden_layers, n_layer ...)
  const disagree = (key: string, said: number, found: string) =>
    new EngineError("MODEL_INVALID", `${claimed.configFile} says ${claimed.source_keys?.[key as ShapeKey] ?? key} = ${said}, but ${found} in ${onnxFile}: the graph decides, so config.json does not describe this model`);
  if (graph.attentionLayers > 0 && graph.attentionLayers !== claimed.n_layer) throw disagree("n_layer", claimed.n_layer, `the graph has ${graph.attentionLayers} attention layers (Softmax nodes)`);
  const kvLayers = new Set(graph.kvInputs.map((v) => /^past_key_values\.(\d+)\./.exec(v.name ?? "")?.[1]).filter((x) => x !== undefined));
  if (kvLayers.size > 0 && kvLayers.size !== claimed.n_layer) throw disagree("n_layer", claimed.n_layer, `the graph's KV cache has ${kvLayers.size} layers`);
  const kvHeads = graph.kvInputs.map((v) => staticDim(v, 1)).find((h) => h !== undefined);
  const kvKey = claimed.source_keys?.n_kv_head !== undefined ? "n_kv_head" : "n_head";
  if (kvHeads !== undefined && kvHeads !== claimed.n_kv_head) throw disagree(kvKey, claimed.n_kv_head, `the graph's KV cache has ${kvHeads} heads`);
  const kvWidth = graph.kvInputs.map((v) => staticDim(v, 3)).find((h) => h !== undefined);
  if (kvWidth !== undefined && kvWidth !== claimed.head_dim) {
    if (claimed.head_dim * claimed.n_head === claimed.n_embd) throw disagree("n_embd", claimed.n_embd, `the graph's KV cache has ${claimed.n_head} heads of ${kvWidth} (${kvWidth * claimed.n_head})`);
    throw disagree("head_dim", claimed.head_dim, `the graph's KV cache has heads of ${kvWidth}`);
  }
  if (graph.tokenEmbedding?.length === 2) {
    const [rows, width] = graph.tokenEmbedding;
    if (rows !== claimed.vocab_size) throw disagree("vocab_size", claimed.vocab_size, `the token embedding has ${rows} rows`);
    if (width !== claimed.n_embd) throw disagree("n_embd", claimed.n_embd, `the token embedding is ${width} wide`);
  }
  // a learned position table: the context cannot be longer than its rows
  if (graph.positionRows !== undefined && claimed.n_positions !== undefined && claimed.n_positions > graph.positionRows) {
    throw disagree("n_positions", claimed.n_positions, `the position table (gathered by position_ids) has ${graph.positionRows} rows`);
  }
}

/**
 * Reads (or reuses from the cache) the probe copy of `onnxFile`, after checking what config.json
 * claims against the graph. `opts.cuda`: CUDA may run the session (fused kernels without a QK output
 * there); `opts.mode`: how fused attention is recovered (default: SEQLENS_FUSED_ATTENTION, else
 * "auto"; see fusedAttention.ts).
 */
export function prepareProbe(onnxFile: string, claimed: ClaimedShape | undefined, opts: { cuda?: boolean; mode?: FusedAttentionMode } = {}): ProbeGraph {
  // External data is checked here (locations inside the model's folder, files long enough); the key
  // of a graph with external data hashes the data files' sizes and mtimes, not their bytes.
  const { model, refs, key: sha256 } = readOnnxGraph(onnxFile);
  const graph = model.graph!;
  const producers = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of graph.node!) {
    for (const o of n.output ?? []) producers.set(o, n);
    for (const i of n.input ?? []) {
      const list = consumers.get(i) ?? [];
      list.push(n);
      consumers.set(i, list);
    }
  }
  const initializers = new Map(graph.initializer!.map((t) => [t.name!, t]));
  let parameters = 0;
  for (const t of graph.initializer!) {
    // weights only: scalar constants of the graph are not parameters
    if (FLOAT_TYPES.has(t.dataType ?? 0) && (t.dims ?? []).length > 0) parameters += (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
  }

  // Attention: a Softmax whose output is the left operand of a MatMul (probabilities @ values),
  // directly or through dtype casts and identities (Hugging Face's eager attention takes the softmax
  // in float32 and casts it back).
  const attentionOutputs: string[] = [];
  const feedsValues = (t: string, depth = 0): boolean =>
    (consumers.get(t) ?? []).some((c) => (c.opType === "MatMul" && c.input![0] === t) || (depth < 3 && (c.opType === "Cast" || c.opType === "Identity" || c.opType === "Dropout") && feedsValues(c.output![0], depth + 1)));
  for (const n of graph.node!) {
    if (n.opType === "Softmax" && feedsValues(n.output![0])) attentionOutputs.push(n.output![0]);
  }
  let attentionNote: string | undefined;
  if (attentionOutputs.length === 0) {
    attentionNote = `${onnxFile}: no attention found (no Softmax whose output multiplies the values; a fused attention operator hides the probabilities)`;
  }
  let attentionSource: ProbeGraph["attentionSource"] = attentionOutputs.length > 0 ? "softmax" : undefined;
  let attentionNotes: string[] | undefined;
  let fusedRecipe = "";
  if (attentionOutputs.length === 0 && fusedAttentionNodes(graph).length > 0) {
    // `cuda`: CUDA may run the session, and its fused kernels have no QK output to switch on
    const fused = recoverFusedAttention(model, { cuda: opts.cuda, mode: opts.mode });
    attentionNotes = fused.notes;
    fusedRecipe = fused.recipe;
    if (fused.outputs.length > 0) {
      attentionOutputs.push(...fused.outputs);
      attentionSource = fused.source;
      attentionNote = undefined;
    } else {
      attentionNote = `${onnxFile}: the attention of its ${fused.nodes} fused attention operators was not recovered: ${fused.notes.join("; ")}`;
    }
  }
  // A merged decoder (optimum's decoder_model_merged.onnx): the Softmax nodes are in an If's branches.
  const branches = attentionOutputs.length === 0 ? branchAttention(graph) : undefined;
  if (branches) {
    attentionOutputs.push(...branches.outputs);
    attentionSource = "softmax";
    attentionNote = undefined;
  }
  const attention = attentionNote ? [] : attentionOutputs;

  // The hidden state entering the output projection that produces `logits`.
  let lastHiddenOutput: string | undefined;
  const lm = producers.get("logits");
  if (lm && (lm.opType === "MatMul" || lm.opType === "Gemm")) lastHiddenOutput = lm.input![0];

  // The token embedding: the initializer gathered by input_ids.
  let tokenEmbedding: ProbeGraph["tokenEmbedding"];
  for (const n of consumers.get("input_ids") ?? []) {
    if (n.opType === "Gather" && n.input![1] === "input_ids" && initializers.has(n.input![0])) {
      const t = initializers.get(n.input![0])!;
      const data = initializerFloats(t, onnxFile);
      const shape = (t.dims ?? []).map(Number);
      if (data && data.length !== shape.reduce((a, b) => a * b, 1)) throw new EngineError("MODEL_INVALID", `${onnxFile}: the token embedding ${t.name} says shape [${shape.join(", ")}] but holds ${data.length} values`);
      if (data) tokenEmbedding = { shape, data };
    }
  }

  // The unembedding: the logits MatMul's right operand, an initializer [d, vocab] (its own), or a
  // Transpose of the token embedding (tied).
  let unembedding: ProbeGraph["unembedding"];
  let tiedEmbeddings = false;
  const wName = lm?.opType === "MatMul" ? lm.input![1] : undefined;
  const embName = (consumers.get("input_ids") ?? []).find((n) => n.opType === "Gather" && n.input![1] === "input_ids")?.input![0];
  if (wName) {
    const viaTranspose = producers.get(wName);
    if (viaTranspose?.opType === "Transpose" && viaTranspose.input![0] === embName) tiedEmbeddings = true;
    else if (wName === embName) tiedEmbeddings = true;
    else if (initializers.has(wName)) {
      const t = initializers.get(wName)!;
      const data = initializerFloats(t, onnxFile);
      const [d, V] = (t.dims ?? []).map(Number);
      if (data && (t.dims ?? []).length === 2) {
        // the graph's dims are checked against its data before anything is sized from them
        if (data.length !== d * V) throw new EngineError("MODEL_INVALID", `${onnxFile}: the output projection ${wName} says shape [${d}, ${V}] but holds ${data.length} values`);
        const rows = new Float32Array(V * d); // [d, V] -> [V, d]
        for (let i = 0; i < d; i++) for (let v = 0; v < V; v++) rows[v * d + i] = data[i * V + v];
        unembedding = { shape: [V, d], data: rows };
      }
    }
  }

  const kvInputs = graph.input!.filter((i) => !initializers.has(i.name!) && i.name!.startsWith("past_key_values."));
  const embedding = (consumers.get("input_ids") ?? []).find((n) => n.opType === "Gather" && n.input![1] === "input_ids" && initializers.has(n.input![0]));
  const positionTable = (consumers.get("position_ids") ?? []).find((n) => n.opType === "Gather" && n.input![1] === "position_ids" && (initializers.get(n.input![0])?.dims ?? []).length === 2);
  const positionRows = positionTable ? Number(initializers.get(positionTable.input![0])!.dims![0]) : undefined;
  if (claimed) checkClaims(onnxFile, claimed, { attentionLayers: attentionOutputs.length, kvInputs, tokenEmbedding: embedding ? (initializers.get(embedding.input![0])!.dims ?? []).map(Number) : undefined, positionRows });

  const inputNames = graph.input!.map((i) => i.name!).filter((n) => !initializers.has(n));
  const hasKvCache = inputNames.some((n) => n.startsWith("past_key_values."));
  const existing = new Set(graph.output!.map((o) => o.name));
  const extra = [...attention, ...(lastHiddenOutput ? [lastHiddenOutput] : [])].filter((n) => !existing.has(n));
  const logitsElemType = declaredType(graph.output!.find((o) => o.name === "logits"));
  const kvCacheElemType = kvInputs.map(declaredType).find((t) => t !== undefined);
  // The copy is named by the model's hash and the outputs it adds, so a changed config.json or
  // probe never reuses a stale copy.
  const outputsKey = crypto.createHash("sha256").update(`${PROBE_VERSION}\n${fusedRecipe ? `${fusedRecipe}\n` : ""}${branches ? "if-branches\n" : ""}${extra.join("\n")}`).digest("hex").slice(0, 12);
  // With external data the copy gets a folder of its own, its data files hard-linked beside it.
  const file = copyPath(cacheDir(), `probe-${sha256.slice(0, 32)}-${outputsKey}`, refs);
  writeGraphCopy(file, { onnxFile, refs }, () => {
    branches?.apply();
    // each added output declared with its element type (float16 in a float16 export); one the graph
    // does not tell is FLOAT in a float32 graph, else left for the runtime to infer
    const types = inferElementTypes(graph);
    for (const name of extra) {
      const elemType = types.get(name) ?? (logitsElemType === onnx.TensorProto.DataType.FLOAT ? logitsElemType : undefined);
      graph.output!.push(onnx.ValueInfoProto.create(elemType ? { name, type: { tensorType: { elemType } } } : { name }));
    }
    return onnx.ModelProto.encode(model).finish();
  });
  return { file, sha256, attentionOutputs: attention, attentionNote, attentionSource: attention.length > 0 ? attentionSource : undefined, attentionNotes, lastHiddenOutput, tokenEmbedding, unembedding, tiedEmbeddings, parameters, hasKvCache, logitsElemType, kvCacheElemType, inputNames, outputNames: graph.output!.map((o) => o.name!).filter((n) => !extra.includes(n)) };
}
