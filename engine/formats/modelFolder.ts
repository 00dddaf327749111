// A model folder in the layout optimum and transformers.js use:
//   config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";
import { folderFile } from "./folderPaths";

/**
 * A transformer's shape under one set of names, whatever its config.json calls them (GPT-2's n_layer,
 * Llama's num_hidden_layers, BERT's max_position_embeddings ...): see SHAPE_KEYS.
 */
export interface DecoderConfig {
  model_type: string;
  n_layer: number;
  /** Query heads. */
  n_head: number;
  /** Key/value heads: fewer than n_head under grouped-query attention (query head h reads kv head floor(h / (n_head / n_kv_head))). */
  n_kv_head: number;
  /** The width of one head (n_embd / n_head unless config.json gives head_dim). */
  head_dim: number;
  n_embd: number;
  vocab_size: number;
  n_positions: number;
  /** The config.json key each shape value was read from (for errors that name what the user wrote). */
  source_keys?: Partial<Record<ShapeKey, string>>;
  layer_norm_epsilon?: number;
  eos_token_id?: number;
  bos_token_id?: number;
}

/** A decoder config's shape as ModelInfo states it (the same for every runtime of the weights). */
export function configShape(c: DecoderConfig): { modelType: string; nLayer: number; nHead: number; nKvHead: number; headDim: number; nEmbd: number; vocabSize: number; nPositions: number } {
  return { modelType: c.model_type, nLayer: c.n_layer, nHead: c.n_head, nKvHead: c.n_kv_head, headDim: c.head_dim, nEmbd: c.n_embd, vocabSize: c.vocab_size, nPositions: c.n_positions };
}

/** BAD_INPUT for the first token id outside the vocabulary of `c`. */
export function checkVocabularyIds(c: DecoderConfig, ids: number[]): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocab_size) throw new EngineError("BAD_INPUT", `token id ${id} is outside the vocabulary (0..${c.vocab_size - 1})`);
  }
}

/** The largest value of each shape key config.json may give (several times today's largest models). */
export const CONFIG_LIMITS: Record<ShapeKey, number> = { n_layer: 1024, n_head: 1024, n_kv_head: 1024, head_dim: 16_384, n_embd: 65_536, vocab_size: 4_000_000, n_positions: 4_194_304 };

export type ShapeKey = "n_layer" | "n_head" | "n_kv_head" | "head_dim" | "n_embd" | "vocab_size" | "n_positions";

/**
 * Where each shape value is read, first key found wins: GPT-2's names, then the Hugging Face names
 * Llama, Mistral, Qwen2/3, Phi-3, BERT and the encoder-decoders use. n_kv_head and head_dim are
 * optional (n_head, and n_embd / n_head, when absent).
 */
const SHAPE_KEYS: Record<ShapeKey, string[]> = {
  n_layer: ["n_layer", "num_hidden_layers", "num_layers", "n_layers"],
  n_head: ["n_head", "num_attention_heads", "num_heads", "n_heads"],
  n_kv_head: ["num_key_value_heads", "n_kv_heads", "multi_query_group_num"],
  head_dim: ["head_dim", "d_kv"],
  n_embd: ["n_embd", "hidden_size", "d_model", "dim"],
  vocab_size: ["vocab_size"],
  n_positions: ["n_positions", "max_position_embeddings", "n_ctx", "max_seq_len"],
};

/** config[key], a size of kind `shape`: MODEL_INVALID naming the key and the value unless it is a positive integer within CONFIG_LIMITS. */
function checkedSize(config: Record<string, unknown>, key: string, shape: ShapeKey, configFile: string): number {
  const v = config[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new EngineError("MODEL_INVALID", `${configFile}: "${key}" must be a positive integer (got ${JSON.stringify(v)})`);
  // checked before anything is sized from it
  if (v > CONFIG_LIMITS[shape]) throw new EngineError("MODEL_INVALID", `${configFile}: "${key}" = ${v} is past any model SeqLens can run (at most ${CONFIG_LIMITS[shape].toLocaleString("en-US")})`);
  return v;
}

/**
 * Every shape value config.json gives, under any of the names SHAPE_KEYS reads, checked as
 * normalizeConfig checks the ones it takes (a positive integer within CONFIG_LIMITS), whether or not
 * the model needs it: for readers that take their own keys (the checkpoint exporters) and must not
 * size anything from an absurd value. Absent (or null) keys pass.
 */
export function checkShapeRanges(config: Record<string, unknown>, configFile: string): void {
  for (const [shape, keys] of Object.entries(SHAPE_KEYS) as [ShapeKey, string[]][]) {
    for (const k of keys) if (config[k] !== undefined && config[k] !== null) checkedSize(config, k, shape, configFile);
  }
}

/** config.json's shape under DecoderConfig's names (the raw keys are kept); MODEL_INVALID naming the key that is missing, not a positive integer, or past any model. */
export function normalizeConfig(config: Record<string, unknown>, configFile: string): DecoderConfig {
  const out: Record<string, unknown> = { ...config };
  const sourceKeys: Partial<Record<ShapeKey, string>> = {};
  const read = (key: ShapeKey, optional: boolean): number | undefined => {
    const found = SHAPE_KEYS[key].find((k) => config[k] !== undefined && config[k] !== null);
    if (found !== undefined) sourceKeys[key] = found;
    if (found === undefined) {
      if (optional) return undefined;
      const others = SHAPE_KEYS[key].slice(1);
      throw new EngineError("MODEL_INVALID", `${configFile}: "${SHAPE_KEYS[key][0]}" is missing${others.length ? ` (also looked for ${others.map((k) => `"${k}"`).join(", ")})` : ""}: it must be a positive integer`);
    }
    return checkedSize(config, found, key, configFile);
  };
  for (const key of ["n_layer", "n_head", "n_embd", "vocab_size", "n_positions"] as const) out[key] = read(key, false);
  const nHead = out.n_head as number;
  const nEmbd = out.n_embd as number;
  const headDim = read("head_dim", true);
  if (headDim === undefined && nEmbd % nHead !== 0) throw new EngineError("MODEL_INVALID", `${configFile}: the width (${nEmbd}) is not divisible by the heads (${nHead}) and no head_dim is given`);
  out.head_dim = headDim ?? nEmbd / nHead;
  const kv = read("n_kv_head", true) ?? nHead;
  if (nHead % kv !== 0) throw new EngineError("MODEL_INVALID", `${configFile}: ${nHead} query heads cannot share ${kv} key/value heads evenly (num_key_value_heads must divide num_attention_heads)`);
  out.n_kv_head = kv;
  if (typeof config.model_type !== "string") throw new EngineError("MODEL_INVALID", `${configFile}: "model_type" is missing`);
  out.source_keys = sourceKeys;
  return out as unknown as DecoderConfig;
}

export interface ModelFolder {
  dir: string;
  name: string;
  config: DecoderConfig;
  onnxFile: string;
  /** Undefined when the folder has no tokenizer.json: the model then takes token ids only. */
  tokenizerJson?: object;
  tokenizerConfig: object;
}

/** A JSON object file of the model folder `dir` (checked to lie inside it before it is read). */
function readJson(dir: string, file: string, what: string, missing: () => EngineError): object {
  if (!fs.existsSync(file)) throw missing();
  if (!fs.statSync(file).isFile()) throw new EngineError(what === "tokenizer" ? "TOKENIZER" : "MODEL_INVALID", `${file} is a folder, not a JSON file`);
  const text = fs.readFileSync(folderFile(dir, file), "utf8");
  try {
    const v = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("expected a JSON object");
    return v;
  } catch (e) {
    throw new EngineError(what === "tokenizer" ? "TOKENIZER" : "MODEL_INVALID", `${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** Resolves a model folder (or its onnx/model.onnx inside it) and reads its config and tokenizer files. */
/**
 * @param opts.onnxFile the graph to run instead of the folder's onnx/model.onnx (one SeqLens built from a checkpoint's weights)
 * @param opts.tokenizerInParent look for the tokenizer files in the parent folder too (a Trainer writes them beside its checkpoint-N folders)
 */
export function openModelFolder(p: string, opts: { onnxFile?: string; tokenizerInParent?: boolean } = {}): ModelFolder {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) throw new EngineError("MODEL_NOT_FOUND", `model folder not found: ${abs}`);
  let dir = abs;
  if (fs.statSync(abs).isFile()) {
    // A path to the .onnx inside a model folder: use the folder around it.
    dir = path.basename(path.dirname(abs)) === "onnx" ? path.dirname(path.dirname(abs)) : path.dirname(abs);
  }
  const configFile = path.join(dir, "config.json");
  if (!fs.existsSync(configFile) && [path.join(dir, "model.json"), path.join(dir, "tfjs", "model.json")].some((f) => fs.existsSync(f))) {
    throw new EngineError("MODEL_INVALID", `${dir}: a TensorFlow.js model (model.json) without config.json; the Inspector runs decoder model folders (config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx)`);
  }
  const config = readJson(dir, configFile, "config", () => new EngineError("MODEL_INVALID", `${dir}: no config.json (a model folder holds config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx)`)) as Record<string, unknown>;
  const normalized = normalizeConfig(config, configFile);
  // the graph the user named, one SeqLens built, or the folder's onnx/model.onnx (which must lie in it)
  const onnxFile = opts.onnxFile ?? (fs.statSync(abs).isFile() && abs.endsWith(".onnx") ? abs : folderFile(dir, path.join(dir, "onnx", "model.onnx")));
  if (!fs.existsSync(onnxFile)) throw new EngineError("MODEL_NOT_FOUND", `${dir}: no onnx/model.onnx`);
  if (!fs.statSync(onnxFile).isFile()) throw new EngineError("MODEL_INVALID", `${onnxFile} is a folder, not an ONNX file`);
  // Both tokenizer files are optional: without tokenizer.json the model reads token ids only (the
  // tokenizer says so when given text); without tokenizer_config.json, tokenizer.json alone.
  const tokenizerDir = opts.tokenizerInParent && !fs.existsSync(path.join(dir, "tokenizer.json")) && fs.existsSync(path.join(dir, "..", "tokenizer.json")) ? path.dirname(dir) : dir;
  const tokenizerFile = path.join(tokenizerDir, "tokenizer.json");
  const tokenizerJson = fs.existsSync(tokenizerFile) ? readJson(tokenizerDir, tokenizerFile, "tokenizer", () => new EngineError("TOKENIZER", `${dir}: no tokenizer.json`)) : undefined;
  const configFileOfTokenizer = path.join(tokenizerDir, "tokenizer_config.json");
  const tokenizerConfig = fs.existsSync(configFileOfTokenizer) ? readJson(tokenizerDir, configFileOfTokenizer, "tokenizer", () => new EngineError("TOKENIZER", `${dir}: no tokenizer_config.json`)) : {};
  return { dir, name: path.basename(dir), config: normalized, onnxFile, tokenizerJson, tokenizerConfig };
}
