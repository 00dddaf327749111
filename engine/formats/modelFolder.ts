// A model folder in the layout optimum and transformers.js use:
//   config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";

export interface DecoderConfig {
  model_type: string;
  n_layer: number;
  n_head: number;
  n_embd: number;
  vocab_size: number;
  n_positions: number;
  layer_norm_epsilon?: number;
  eos_token_id?: number;
  bos_token_id?: number;
}

/** A decoder config's shape as ModelInfo states it (the same for every runtime of the weights). */
export function configShape(c: DecoderConfig): { modelType: string; nLayer: number; nHead: number; nEmbd: number; vocabSize: number; nPositions: number } {
  return { modelType: c.model_type, nLayer: c.n_layer, nHead: c.n_head, nEmbd: c.n_embd, vocabSize: c.vocab_size, nPositions: c.n_positions };
}

/** BAD_INPUT for the first token id outside the vocabulary of `c`. */
export function checkVocabularyIds(c: DecoderConfig, ids: number[]): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocab_size) throw new EngineError("BAD_INPUT", `token id ${id} is outside the vocabulary (0..${c.vocab_size - 1})`);
  }
}

/** The largest value of each shape key config.json may give (several times today's largest models). */
const CONFIG_LIMITS: Record<string, number> = { n_layer: 1024, n_head: 1024, n_embd: 65_536, vocab_size: 4_000_000, n_positions: 4_194_304 };

export interface ModelFolder {
  dir: string;
  name: string;
  config: DecoderConfig;
  onnxFile: string;
  /** Undefined when the folder has no tokenizer.json: the model then takes token ids only. */
  tokenizerJson?: object;
  tokenizerConfig: object;
}

function readJson(file: string, what: string, missing: () => EngineError): object {
  if (!fs.existsSync(file)) throw missing();
  const text = fs.readFileSync(file, "utf8");
  try {
    const v = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("expected a JSON object");
    return v;
  } catch (e) {
    throw new EngineError(what === "tokenizer" ? "TOKENIZER" : "MODEL_INVALID", `${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** Resolves a model folder (or its onnx/model.onnx inside it) and reads its config and tokenizer files. */
export function openModelFolder(p: string): ModelFolder {
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
  const config = readJson(configFile, "config", () => new EngineError("MODEL_INVALID", `${dir}: no config.json (a model folder holds config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx)`)) as Record<string, unknown>;
  for (const [key, max] of Object.entries(CONFIG_LIMITS)) {
    if (typeof config[key] !== "number" || !Number.isInteger(config[key]) || (config[key] as number) <= 0) {
      throw new EngineError("MODEL_INVALID", `${configFile}: "${key}" must be a positive integer (got ${JSON.stringify(config[key])})`);
    }
    // checked before anything is sized from it
    if ((config[key] as number) > max) throw new EngineError("MODEL_INVALID", `${configFile}: "${key}" = ${config[key]} is past any model SeqLens can run (at most ${max.toLocaleString("en-US")})`);
  }
  if ((config.n_embd as number) % (config.n_head as number) !== 0) throw new EngineError("MODEL_INVALID", `${configFile}: n_embd (${config.n_embd}) is not divisible by n_head (${config.n_head})`);
  if (typeof config.model_type !== "string") throw new EngineError("MODEL_INVALID", `${configFile}: "model_type" is missing`);
  const onnxFile = fs.statSync(abs).isFile() && abs.endsWith(".onnx") ? abs : path.join(dir, "onnx", "model.onnx");
  if (!fs.existsSync(onnxFile)) throw new EngineError("MODEL_NOT_FOUND", `${dir}: no onnx/model.onnx`);
  // Both tokenizer files are optional: without tokenizer.json the model reads token ids only (the
  // tokenizer says so when given text); without tokenizer_config.json, tokenizer.json alone.
  const tokenizerFile = path.join(dir, "tokenizer.json");
  const tokenizerJson = fs.existsSync(tokenizerFile) ? readJson(tokenizerFile, "tokenizer", () => new EngineError("TOKENIZER", `${dir}: no tokenizer.json`)) : undefined;
  const configFileOfTokenizer = path.join(dir, "tokenizer_config.json");
  const tokenizerConfig = fs.existsSync(configFileOfTokenizer) ? readJson(configFileOfTokenizer, "tokenizer", () => new EngineError("TOKENIZER", `${dir}: no tokenizer_config.json`)) : {};
  return { dir, name: path.basename(dir), config: config as unknown as DecoderConfig, onnxFile, tokenizerJson, tokenizerConfig };
}
