// Exports a masked language model of the BERT kind (BertForMaskedLM; RobertaForMaskedLM and
// XLMRobertaForMaskedLM, which differ only in their position ids) from checkpoint weights (Hugging
// Face names, torch Linear layout [out, in]) as an ONNX encoder:
//   inputs  input_ids, attention_mask, token_type_ids [batch, sequence_length] int64
//   outputs logits [batch, sequence_length, vocab]
// Post-LN blocks, one Softmax per layer [batch, heads, q, k] whose output is the left operand of
// the MatMul with the values; padding keys masked (MASK_VALUE added), no causal mask. Plain opset-17
// operators: LayerNormalization, GELU as x * 0.5 * (1 + Erf(x / sqrt 2)) (hidden_act "gelu"; the
// tanh form for "gelu_new" / "gelu_pytorch_tanh"; "relu").
// Position ids: BERT's are 0..T-1; RoBERTa's count from padding_idx + 1 over the tokens that are not
// padding_idx (padding tokens get padding_idx), computed in the graph with CumSum.
// The MLM head: transform.dense, the activation, transform.LayerNorm, then MatMul with the
// Transpose of the word embeddings (tied) or of the decoder weight, plus the output bias.
// Tensor names are read with or without the "bert." / "roberta." prefix, and TensorFlow-era
// LayerNorm.gamma / .beta for .weight / .bias. Initializers keep the "bert." names; Linear weights are
// stored transposed [in, out] as "<name>.T".
import { EngineError } from "../../protocol/errors";
import { checkedWeight, presence, transpose2d, type WeightPresence } from "./exportCommon";
import { MASK_VALUE, OPSET, type WeightLookup } from "./gpt2Export";
import { DataType, GraphBuilder } from "./onnxBuilder";

export const BERT_MODEL_TYPES = ["bert", "roberta", "xlm-roberta"] as const;
const ACTIVATIONS = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"] as const;
export type BertActivation = (typeof ACTIVATIONS)[number];

export interface BertExportConfig {
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  /** Default "gelu" (the erf form). */
  hidden_act?: BertActivation;
  /** RoBERTa's pad_token_id: positions count from it + 1 over non-padding tokens. Absent: positions 0..T-1 (BERT). */
  padding_idx?: number;
  /** Default true: the MLM decoder is the word embeddings. */
  tie_word_embeddings?: boolean;
}

export interface BertExportOptions {
  /** Which tensors the checkpoint has. Without it, a name counts as present when `weight` returns it. */
  has?: WeightPresence;
}

/** The checkpoint's name for a canonical "bert." / "cls." name, trying the other spellings. */
function nameResolver(has: WeightPresence): (canonical: string) => string {
  const prefixes = ["bert.", "roberta.", ""];
  const prefix = prefixes.find((p) => has(`${p}embeddings.word_embeddings.weight`)) ?? "bert.";
  const spellings = (name: string): string[] => {
    const out = [name];
    if (name.endsWith("LayerNorm.weight")) out.push(name.replace(/weight$/, "gamma"));
    if (name.endsWith("LayerNorm.bias")) out.push(name.replace(/bias$/, "beta"));
    return out;
  };
  return (canonical) => {
    let candidates: string[];
    if (canonical.startsWith("bert.")) {
      const rest = canonical.slice("bert.".length);
      candidates = [prefix + rest, ...prefixes.map((p) => p + rest)];
    } else {
      // the MLM head: BERT's cls.predictions.*, RoBERTa's lm_head.*
      const lmHead: Record<string, string[]> = {
        "cls.predictions.transform.dense.weight": ["lm_head.dense.weight"],
        "cls.predictions.transform.dense.bias": ["lm_head.dense.bias"],
        "cls.predictions.transform.LayerNorm.weight": ["lm_head.layer_norm.weight"],
        "cls.predictions.transform.LayerNorm.bias": ["lm_head.layer_norm.bias"],
        "cls.predictions.bias": ["cls.predictions.decoder.bias", "lm_head.bias", "lm_head.decoder.bias"],
        "cls.predictions.decoder.weight": ["lm_head.decoder.weight"],
      };
      candidates = [canonical, ...(lmHead[canonical] ?? [])];
    }
    const all = candidates.flatMap(spellings);
    return all.find(has) ?? canonical;
  };
}

export function exportBertOnnx(cfg: BertExportConfig, weight: WeightLookup, metadata: Record<string, string> = {}, opts: BertExportOptions = {}): Uint8Array {
  const has = presence(weight, opts.has);
  const resolve = nameResolver(has);
  const g = new GraphBuilder();
  const d = cfg.hidden_size;
  const H = cfg.num_attention_heads;
  const hd = d / H;
  const I = cfg.intermediate_size;
  if (!Number.isInteger(hd)) throw new Error(`hidden_size ${d} is not divisible by num_attention_heads ${H}`);
  const FLOAT = DataType.FLOAT;
  const INT64 = DataType.INT64;

  /** A tensor as is, under its canonical name. */
  const w = (name: string, shape: number[]) => g.weight(name, shape, checkedWeight(weight, resolve(name), shape));
  /** A torch Linear (weight [out, in] stored as [in, out], and its bias) applied to x. */
  const linear = (x: string, name: string, out: number, inDim: number, node: string) => {
    const W = g.weight(`${name}.weight.T`, [inDim, out], transpose2d(checkedWeight(weight, resolve(`${name}.weight`), [out, inDim]), out, inDim));
    return g.op("Add", [g.op("MatMul", [x, W], `${node}/MatMul`), w(`${name}.bias`, [out])], `${node}/Add`);
  };
  const eps = cfg.layer_norm_eps;
  const layerNorm = (x: string, name: string, node: string) =>
    g.op("LayerNormalization", [x, w(`${name}.weight`, [d]), w(`${name}.bias`, [d])], `${node}/LayerNormalization`, { axis: -1, epsilon: { float: eps } });
  const act = cfg.hidden_act ?? "gelu";
  const half = g.floatScalar("const_half", 0.5);
  const one = g.floatScalar("const_one", 1);
  const activation = (x: string, node: string) => {
    if (act === "relu") return g.op("Relu", [x], `${node}/Relu`);
    if (act === "gelu") {
      const erf = g.op("Erf", [g.op("Div", [x, g.floatScalar(`${node}/const_sqrt2`, Math.SQRT2)], `${node}/Div`)], `${node}/Erf`);
      return g.op("Mul", [g.op("Mul", [x, g.op("Add", [erf, one], `${node}/AddOne`)], `${node}/MulX`), half], `${node}/Mul`);
    }
    // tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const cube = g.op("Mul", [x, g.op("Mul", [x, x], `${node}/Square`)], `${node}/Cube`);
    const inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [cube, g.floatScalar(`${node}/const_k`, 0.044715)], `${node}/MulK`)], `${node}/AddCube`), g.floatScalar(`${node}/const_c`, Math.sqrt(2 / Math.PI))], `${node}/MulC`);
    return g.op("Mul", [g.op("Mul", [x, half], `${node}/Half`), g.op("Add", [g.op("Tanh", [inner], `${node}/Tanh`), one], `${node}/AddOne`)], `${node}/Mul`);
  };

  const inputIds = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const attentionMask = g.input("attention_mask", INT64, ["batch_size", "sequence_length"]);
  const tokenTypeIds = g.input("token_type_ids", INT64, ["batch_size", "sequence_length"]);

  // Embeddings: (word + token type) + position, then LayerNorm.
  const wte = w("bert.embeddings.word_embeddings.weight", [cfg.vocab_size, d]);
  const wpe = w("bert.embeddings.position_embeddings.weight", [cfg.max_position_embeddings, d]);
  const tte = w("bert.embeddings.token_type_embeddings.weight", [cfg.type_vocab_size, d]);
  let positionIds: string;
  if (cfg.padding_idx === undefined) {
    const i1 = g.int64s("const_1", [1], []);
    const seq = g.op("Gather", [g.op("Shape", [inputIds], "/embeddings/ids/Shape"), i1], "/embeddings/seq/Gather", { axis: 0 });
    positionIds = g.op("Range", [g.int64s("const_0", [0], []), seq, i1], "/embeddings/position_ids/Range"); // [T]
  } else {
    // padding_idx + cumsum(id != padding_idx) * (id != padding_idx)
    const pad = g.int64s("const_padding_idx", [cfg.padding_idx], []);
    const notPad = g.op("Cast", [g.op("Not", [g.op("Equal", [inputIds, pad], "/embeddings/position_ids/Equal")], "/embeddings/position_ids/Not")], "/embeddings/position_ids/Cast", { to: INT64 });
    const counted = g.op("Mul", [g.op("CumSum", [notPad, g.int64s("const_axis_1", [1], [])], "/embeddings/position_ids/CumSum"), notPad], "/embeddings/position_ids/Mul");
    positionIds = g.op("Add", [counted, pad], "/embeddings/position_ids/Add"); // [B, T]
  }
  const words = g.op("Gather", [wte, inputIds], "/embeddings/word_embeddings/Gather", { axis: 0 });
  const types = g.op("Gather", [tte, tokenTypeIds], "/embeddings/token_type_embeddings/Gather", { axis: 0 });
  const positions = g.op("Gather", [wpe, positionIds], "/embeddings/position_embeddings/Gather", { axis: 0 });
  const summed = g.op("Add", [g.op("Add", [words, types], "/embeddings/Add"), positions], "/embeddings/Add_1");
  let x = layerNorm(summed, "bert.embeddings.LayerNorm", "/embeddings/LayerNorm");

  // Padding mask [B, 1, 1, T]: 0 for a real key, MASK_VALUE for padding.
  const notPadded = g.op("Cast", [g.op("Unsqueeze", [attentionMask, g.int64s("const_axes_1_2", [1, 2])], "/mask/Unsqueeze")], "/mask/Cast", { to: DataType.BOOL });
  const additiveMask = g.op("Where", [notPadded, g.floatScalar("const_zero", 0), g.floatScalar("const_mask_value", MASK_VALUE)], "/mask/Where");

  const headsShape = g.int64s("const_heads_shape", [0, 0, H, hd]);
  const mergedShape = g.int64s("const_merged_shape", [0, 0, d]);
  const scale = g.floatScalar("const_attn_scale", 1 / Math.sqrt(hd));
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `bert.encoder.layer.${i}.`;
    const n = `/encoder/layer.${i}`;
    const toHeads = (t: string, what: string) =>
      g.op("Transpose", [g.op("Reshape", [t, headsShape], `${n}/attention/self/${what}/Reshape`)], `${n}/attention/self/${what}/Transpose`, { perm: [0, 2, 1, 3] }); // [B, H, T, hd]
    const q = toHeads(linear(x, p + "attention.self.query", d, d, `${n}/attention/self/query`), "query");
    const k = toHeads(linear(x, p + "attention.self.key", d, d, `${n}/attention/self/key`), "key");
    const v = toHeads(linear(x, p + "attention.self.value", d, d, `${n}/attention/self/value`), "value");
    const kT = g.op("Transpose", [k], `${n}/attention/self/key/TransposeForScores`, { perm: [0, 1, 3, 2] });
    const scores = g.op("Mul", [g.op("MatMul", [q, kT], `${n}/attention/self/scores/MatMul`), scale], `${n}/attention/self/scores/Mul`);
    const probs = g.op("Softmax", [g.op("Add", [scores, additiveMask], `${n}/attention/self/scores/AddMask`)], `${n}/attention/self/Softmax`, { axis: -1 }); // [B, H, T, T]
    const ctx = g.op("MatMul", [probs, v], `${n}/attention/self/context/MatMul`);
    const merged = g.op("Reshape", [g.op("Transpose", [ctx], `${n}/attention/self/context/Transpose`, { perm: [0, 2, 1, 3] }), mergedShape], `${n}/attention/self/context/Reshape`);
    const attnDense = linear(merged, p + "attention.output.dense", d, d, `${n}/attention/output/dense`);
    const attnOut = layerNorm(g.op("Add", [attnDense, x], `${n}/attention/output/Add`), p + "attention.output.LayerNorm", `${n}/attention/output/LayerNorm`);
    const inter = activation(linear(attnOut, p + "intermediate.dense", I, d, `${n}/intermediate/dense`), `${n}/intermediate/act`);
    const outDense = linear(inter, p + "output.dense", d, I, `${n}/output/dense`);
    x = layerNorm(g.op("Add", [outDense, attnOut], `${n}/output/Add`), p + "output.LayerNorm", `${n}/output/LayerNorm`);
  }

  const t = layerNorm(activation(linear(x, "cls.predictions.transform.dense", d, d, "/cls/predictions/transform/dense"), "/cls/predictions/transform/act"), "cls.predictions.transform.LayerNorm", "/cls/predictions/transform/LayerNorm");
  const tied = cfg.tie_word_embeddings ?? true;
  const decoder = tied ? wte : w("cls.predictions.decoder.weight", [cfg.vocab_size, d]);
  const decoderT = g.op("Transpose", [decoder], "/cls/predictions/decoder/Transpose", { perm: [1, 0] });
  const logits = g.rename(g.op("Add", [g.op("MatMul", [t, decoderT], "/cls/predictions/decoder/MatMul"), w("cls.predictions.bias", [cfg.vocab_size])], "/cls/predictions/decoder/Add"), "logits");
  g.output(logits, FLOAT, ["batch_size", "sequence_length", cfg.vocab_size]);
  return g.model(cfg.model_type ?? "bert", OPSET, "seqlens", metadata);
}

/** config.json of a BERT / RoBERTa masked language model, checked; MODEL_INVALID for a bad value, UNSUPPORTED for what the exporter does not build. */
export function bertConfigFrom(config: Record<string, unknown>, configFile = "config.json"): BertExportConfig {
  const bad = (msg: string) => new EngineError("MODEL_INVALID", `${configFile}: ${msg}`);
  const unsupported = (msg: string) => new EngineError("UNSUPPORTED", `${configFile}: ${msg}`);
  const modelType = typeof config.model_type === "string" ? config.model_type : "bert";
  if (!(BERT_MODEL_TYPES as readonly string[]).includes(modelType)) throw unsupported(`model_type "${modelType}" is not a BERT-kind encoder SeqLens can export (${BERT_MODEL_TYPES.join(", ")})`);
  const given = (key: string) => config[key] !== undefined && config[key] !== null;
  const posInt = (key: string, fallback?: number, allowZero = false): number => {
    if (!given(key)) {
      if (fallback !== undefined) return fallback;
      throw bad(`"${key}" is missing (a positive integer)`);
    }
    const v = config[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw bad(`"${key}" must be a ${allowZero ? "non-negative" : "positive"} integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const hidden = posInt("hidden_size");
  const heads = posInt("num_attention_heads");
  if (hidden % heads !== 0) throw bad(`hidden_size (${hidden}) is not divisible by num_attention_heads (${heads})`);
  const act = config.hidden_act ?? "gelu";
  if (typeof act !== "string" || !(ACTIVATIONS as readonly string[]).includes(act)) throw unsupported(`hidden_act ${JSON.stringify(act)} is not supported (${ACTIVATIONS.join(", ")})`);
  const posType = config.position_embedding_type ?? "absolute";
  if (posType !== "absolute") throw unsupported(`position_embedding_type "${String(posType)}" is not supported (only "absolute")`);
  if (config.is_decoder === true) throw unsupported(`a BERT configured as a decoder (is_decoder: true) is not supported; SeqLens exports masked language models`);
  const eps = config.layer_norm_eps ?? 1e-12;
  if (typeof eps !== "number" || !(eps > 0)) throw bad(`"layer_norm_eps" must be a positive number (got ${JSON.stringify(eps)})`);
  const tie = config.tie_word_embeddings ?? true;
  if (typeof tie !== "boolean") throw bad(`"tie_word_embeddings" must be true or false (got ${JSON.stringify(tie)})`);
  return {
    model_type: modelType,
    vocab_size: posInt("vocab_size"),
    hidden_size: hidden,
    num_hidden_layers: posInt("num_hidden_layers"),
    num_attention_heads: heads,
    intermediate_size: posInt("intermediate_size"),
    max_position_embeddings: posInt("max_position_embeddings"),
    type_vocab_size: posInt("type_vocab_size", 2),
    layer_norm_eps: eps,
    hidden_act: act as BertActivation,
    ...(modelType === "bert" ? {} : { padding_idx: posInt("pad_token_id", 1, true) }),
    tie_word_embeddings: tie,
  };
}
