// A training checkpoint (config.json + model.safetensors, or a sharded index, in Hugging Face
// naming) turned into an ONNX graph SeqLens can run, without an export step by the user:
// config.json's model_type picks the exporter (gpt2Export, llamaExport, bertExport), and the graph
// is written into the cache under a name from the SHA-256 of the weights' bytes, config.json's
// text and the exporter version, so opening the same checkpoint again reuses it.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";
import { BERT_MODEL_TYPES, bertConfigFrom, exportBertOnnx } from "./bertExport";
import { exportGpt2Onnx, type Gpt2ExportConfig, type WeightLookup } from "./gpt2Export";
import { exportLlamaOnnx, LLAMA_MODEL_TYPES, llamaConfigFrom } from "./llamaExport";
import { checkShapeRanges } from "./modelFolder";
import { folderFile } from "./folderPaths";
import { cacheDir } from "./onnxProbe";

/** A checkpoint's tensors by name, decoded to float32 (F32, F16 and BF16 alike). */
export interface CheckpointWeights {
  /** The files the tensors are read from (model.safetensors, or the shards), when the weights come from files: their bytes are hashed for the cache key. */
  readonly files?: readonly string[];
  names(): string[];
  shape(name: string): number[];
  read(name: string): Float32Array;
}

/** Bumped whenever an exporter's graph changes, so a cached export of an older graph is not reused. */
export const CHECKPOINT_EXPORTER_VERSION = 1;

export const CHECKPOINT_MODEL_TYPES = ["gpt2", ...LLAMA_MODEL_TYPES, ...BERT_MODEL_TYPES] as const;

/** An ONNX file holds its weights in one protobuf message, which cannot pass 2 GiB. */
const MAX_INLINE_WEIGHT_BYTES = 2 ** 31 - 2 ** 26;

export interface CheckpointExport {
  onnxFile: string;
  /** config.json's model_type. */
  modelType: string;
  /** Which exporter built the graph. */
  architecture: "gpt2" | "llama" | "bert";
}

// ---- GPT-2 checkpoints ----

/**
 * Hugging Face GPT2LMHeadModel / GPT2Model tensor names as exportGpt2Onnx asks for them
 * ("transformer.h.0.attn.c_attn.weight" ...): the checkpoint's own name, with or without the
 * "transformer." prefix. Conv1D weights are already [in, out], so nothing is transposed; the causal
 * mask buffers (attn.bias, attn.masked_bias) and a tied lm_head.weight are not read.
 */
export function gpt2WeightName(has: (name: string) => boolean): (name: string) => string {
  return (name) => {
    if (has(name)) return name;
    const bare = name.replace(/^transformer\./, "");
    return has(bare) ? bare : name;
  };
}

/** config.json of a GPT-2 checkpoint under Gpt2ExportConfig's names; UNSUPPORTED for the variants exportGpt2Onnx does not build. */
export function gpt2ConfigFrom(config: Record<string, unknown>, configFile = "config.json"): Gpt2ExportConfig {
  const bad = (msg: string) => new EngineError("MODEL_INVALID", `${configFile}: ${msg}`);
  const unsupported = (msg: string) => new EngineError("UNSUPPORTED", `${configFile}: ${msg}`);
  const posInt = (key: string, fallback?: number): number => {
    const v = config[key] ?? fallback;
    if (v === undefined) throw bad(`"${key}" is missing (a positive integer)`);
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw bad(`"${key}" must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const nEmbd = posInt("n_embd");
  const nHead = posInt("n_head");
  if (nEmbd % nHead !== 0) throw bad(`n_embd (${nEmbd}) is not divisible by n_head (${nHead})`);
  if (config.n_inner !== undefined && config.n_inner !== null && config.n_inner !== 4 * nEmbd) throw unsupported(`n_inner = ${JSON.stringify(config.n_inner)}: the GPT-2 exporter builds MLPs of 4 x n_embd (${4 * nEmbd})`);
  const act = config.activation_function ?? "gelu_new";
  if (act !== "gelu_new" && act !== "gelu_pytorch_tanh") throw unsupported(`activation_function ${JSON.stringify(act)}: the GPT-2 exporter builds the tanh GELU ("gelu_new") only`);
  if (config.scale_attn_by_inverse_layer_idx === true) throw unsupported(`scale_attn_by_inverse_layer_idx is not supported`);
  if (config.scale_attn_weights === false) throw unsupported(`scale_attn_weights false (unscaled attention scores) is not supported`);
  if (config.add_cross_attention === true) throw unsupported(`add_cross_attention is not supported`);
  if (config.tie_word_embeddings === false) throw unsupported(`an output head apart from wte (tie_word_embeddings false) is not supported for GPT-2`);
  const eps = config.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== "number" || !(eps > 0)) throw bad(`"layer_norm_epsilon" must be a positive number (got ${JSON.stringify(eps)})`);
  return { vocab_size: posInt("vocab_size"), n_positions: posInt("n_positions", config.n_ctx as number | undefined), n_embd: nEmbd, n_layer: posInt("n_layer"), n_head: nHead, layer_norm_epsilon: eps };
}

// ---- the cache key ----

function hashFile(hash: crypto.Hash, file: string): void {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(8 * 2 ** 20);
    for (let n = fs.readSync(fd, buf, 0, buf.length, null); n > 0; n = fs.readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The files the weights come from: those the weights name (with the folder's index when they are
 * shards), else the folder's model.safetensors; none otherwise (the tensors are then hashed one by one).
 */
function weightFiles(dir: string, weights: CheckpointWeights): string[] {
  const index = path.join(dir, "model.safetensors.index.json");
  if (weights.files && weights.files.length > 0) return weights.files.length > 1 && fs.existsSync(index) ? [index, ...weights.files] : [...weights.files];
  const single = path.join(dir, "model.safetensors");
  return fs.existsSync(single) ? [single] : [];
}

/** Where the weights were read from, for an error message. */
function weightsLabel(dir: string, weights: CheckpointWeights): string {
  if (weights.files?.length === 1) return weights.files[0];
  const single = path.join(dir, "model.safetensors");
  const index = path.join(dir, "model.safetensors.index.json");
  return !fs.existsSync(single) && fs.existsSync(index) ? index : single;
}

function cacheKey(dir: string, configText: string, weights: CheckpointWeights, kvCache: boolean): string {
  const hash = crypto.createHash("sha256");
  hash.update(`seqlens checkpoint export v${CHECKPOINT_EXPORTER_VERSION}\nkvCache=${kvCache}\n`);
  hash.update(configText);
  hash.update("\n");
  const files = weightFiles(dir, weights);
  if (files.length > 0) {
    for (const f of files) {
      hash.update(`${path.basename(f)}\n`);
      hashFile(hash, f);
    }
  } else {
    for (const name of [...weights.names()].sort()) {
      const data = weights.read(name);
      hash.update(`${name} [${weights.shape(name).join(",")}]\n`);
      hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  }
  return hash.digest("hex");
}

// ---- the export ----

/**
 * The ONNX graph of the checkpoint in `dir` (its config.json; the tensors from `weights`), built
 * once and then reused from the cache. UNSUPPORTED for a model_type no exporter builds;
 * MODEL_INVALID for a bad config.json, a missing tensor (naming it and the weights file) or a
 * tensor of the wrong shape; TOO_LARGE past what one ONNX file holds.
 */
export function checkpointToOnnx(dir: string, weights: CheckpointWeights, opts: { kvCache?: boolean } = {}): CheckpointExport {
  const kvCache = opts.kvCache ?? true;
  const configFile = path.join(dir, "config.json");
  if (!fs.existsSync(dir)) throw new EngineError("MODEL_NOT_FOUND", `${dir}: no such folder`);
  if (!fs.existsSync(configFile)) throw new EngineError("MODEL_INVALID", `${dir}: no config.json (a checkpoint folder needs config.json next to its weights)`);
  const configText = fs.readFileSync(folderFile(dir, configFile), "utf8");
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(configText) as Record<string, unknown>;
  } catch (e) {
    throw new EngineError("MODEL_INVALID", `${configFile}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new EngineError("MODEL_INVALID", `${configFile}: not a JSON object`);
  const modelType = config.model_type;
  if (typeof modelType !== "string") throw new EngineError("MODEL_INVALID", `${configFile}: no "model_type" (SeqLens builds a graph from a checkpoint of model_type ${CHECKPOINT_MODEL_TYPES.join(", ")})`);
  const architecture = modelType === "gpt2" ? "gpt2" : (LLAMA_MODEL_TYPES as readonly string[]).includes(modelType) ? "llama" : (BERT_MODEL_TYPES as readonly string[]).includes(modelType) ? "bert" : undefined;
  if (!architecture) throw new EngineError("UNSUPPORTED", `${configFile}: model_type "${modelType}" cannot be opened as a checkpoint; SeqLens builds graphs for model_type ${CHECKPOINT_MODEL_TYPES.join(", ")} (export other models to ONNX first)`);
  // config errors first: they need no weights; no shape value past any model (a layer count of
  // 40000, a context of 10^9) reaches an exporter that would size something from it
  checkShapeRanges(config, configFile);
  const cfg = architecture === "gpt2" ? gpt2ConfigFrom(config, configFile) : architecture === "llama" ? llamaConfigFrom(config, configFile) : bertConfigFrom(config, configFile);

  const names = new Set(weights.names());
  const label = weightsLabel(dir, weights);
  let bytes = 0;
  for (const n of names) bytes += 4 * weights.shape(n).reduce((a, b) => a * b, 1);
  if (bytes > MAX_INLINE_WEIGHT_BYTES) {
    throw new EngineError("TOO_LARGE", `${label}: ${(bytes / 2 ** 30).toFixed(1)} GiB of float32 weights; SeqLens builds graphs from checkpoints up to 2 GiB (one ONNX file); export the model to ONNX with external data instead`);
  }

  const file = path.join(cacheDir(), `checkpoint-${modelType}-${cacheKey(dir, configText, weights, architecture !== "bert" && kvCache).slice(0, 32)}.onnx`);
  if (fs.existsSync(file)) return { onnxFile: file, modelType, architecture };

  const has = (n: string) => names.has(n);
  const resolve = architecture === "gpt2" ? gpt2WeightName(has) : (n: string) => n;
  const lookup: WeightLookup = (name) => {
    const actual = resolve(name);
    if (!names.has(actual)) {
      const alt = architecture === "gpt2" && name.startsWith("transformer.") ? ` (nor "${name.slice("transformer.".length)}")` : "";
      throw new EngineError("MODEL_INVALID", `${label}: no tensor "${name}"${alt}, which a ${modelType} model needs (the file has ${names.size} tensors)`);
    }
    return { shape: weights.shape(actual), data: weights.read(actual) };
  };
  const metadata = { source: "seqlens checkpoint export", model_type: modelType, exporter_version: String(CHECKPOINT_EXPORTER_VERSION) };
  let onnxBytes: Uint8Array;
  try {
    if (architecture === "gpt2") onnxBytes = exportGpt2Onnx(cfg as Gpt2ExportConfig, lookup, metadata, { kvCache });
    else if (architecture === "llama") onnxBytes = exportLlamaOnnx(cfg as ReturnType<typeof llamaConfigFrom>, lookup, metadata, { kvCache, has });
    else onnxBytes = exportBertOnnx(cfg as ReturnType<typeof bertConfigFrom>, lookup, metadata, { has });
  } catch (e) {
    if (e instanceof EngineError) throw e;
    throw new EngineError("MODEL_INVALID", `${label}: ${(e as Error).message} (config ${configFile})`);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, onnxBytes);
  fs.renameSync(tmp, file);
  return { onnxFile: file, modelType, architecture };
}
