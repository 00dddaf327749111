// Exports Llama-shaped decoders (Hugging Face model_type llama, mistral, qwen2, qwen3, phi3) from
// their checkpoint weights (Hugging Face names, torch Linear layout [out, in]) as an ONNX decoder in
// the layout optimum and transformers.js use:
//   inputs  input_ids [batch, seq], attention_mask [batch, past+seq], position_ids [batch, seq],
//           past_key_values.{i}.key|value [batch, kv_heads, past, head_dim]
//   outputs logits [batch, seq, vocab], present.{i}.key|value [batch, kv_heads, past+seq, head_dim]
// With `kvCache: false` there are no past inputs and no present outputs.
//
// Only plain opset-17 operators, so every step stays visible:
// - RMSNorm: x * Reciprocal(Sqrt(ReduceMean(x * x, last axis) + eps)) * w (Qwen3 also normalises each
//   head of q and k this way, with self_attn.q_norm / k_norm, before the rotary embedding).
// - Rotary embedding from position_ids in the graph: cos / sin of position_ids * inv_freq (inv_freq
//   as Hugging Face computes it: default, "linear" or "llama3" scaling), x * cos + rotate_half(x) * sin.
// - Grouped-query attention: each key/value head is repeated (Tile) to the query heads before
//   Q·Kᵀ, as Hugging Face's repeat_kv does (query head h reads kv head floor(h / (heads / kv_heads))),
//   so each layer's attention probabilities are one Softmax output [batch, heads, seq, past+seq],
//   the left operand of the MatMul with the values. The present outputs hold the kv heads unrepeated.
// - SwiGLU MLP: down(silu(gate(x)) * up(x)).
// - The output projection: MatMul(norm(x), W) with W an initializer [d, vocab] named
//   "lm_head.weight.T" (lm_head.weight transposed once here, the layout optimum's exports have), or,
//   with tied embeddings, MatMul(norm(x), Transpose(model.embed_tokens.weight)) as gpt2Export does.
// Linear weights are transposed once at export to [in, out] and stored as "<name>.T"; Phi-3's fused
// qkv_proj / gate_up_proj are split into q, k, v / gate, up ("<fused name>.{q,k,v,gate,up}.T").
//
// `attention: "gqa" | "mha"` writes the same weights with each layer's attention as one com.microsoft
// fused operator instead (fusedExport.ts): GroupQueryAttention as onnxruntime-genai's model builder
// writes it (no position_ids input; the operator turns q and k itself), or MultiHeadAttention as
// onnxruntime's transformers optimizer writes it. Such a graph has no attention Softmax; the engine's
// probe copy recovers the probabilities (fusedAttention.ts).
import { EngineError } from "../../protocol/errors";
import { checkedWeight, decoderMask, presence, transpose2d, type WeightPresence } from "./exportCommon";
import { OPSET, type WeightLookup } from "./gpt2Export";
import { DataType, GraphBuilder } from "./onnxBuilder";
import { gqaLayer, gqaSharedInputs, mhaLayer, MS_OPSET, type GqaShared, type LlamaAttentionKind } from "./fusedExport";

export type RopeScaling =
  | { rope_type: "linear"; factor: number }
  | { rope_type: "llama3"; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };

export interface LlamaExportConfig {
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Default: num_attention_heads (no grouping). */
  num_key_value_heads?: number;
  /** Default: hidden_size / num_attention_heads. */
  head_dim?: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling?: RopeScaling | null;
  /** The share of each head the rotary embedding turns (Phi-3 family); the rest passes through. Default 1. */
  partial_rotary_factor?: number;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  /** Each layer's attention window (null: full causal attention). Absent: every layer full. */
  sliding_windows?: (number | null)[];
  // Which optional tensors the model has. true: required (a checkpoint without them is refused);
  // false: not used; absent: used when the checkpoint has them.
  /** Biases on q_proj, k_proj, v_proj (Qwen2; Llama with attention_bias). */
  qkv_bias?: boolean;
  /** A bias on o_proj (Llama with attention_bias). */
  o_bias?: boolean;
  /** Biases on gate_proj, up_proj, down_proj (Llama with mlp_bias). */
  mlp_bias?: boolean;
  /** Qwen3's per-head RMSNorm of q and k (self_attn.q_norm.weight, k_norm.weight). */
  qk_norm?: boolean;
}

export interface LlamaExportOptions {
  kvCache?: boolean;
  /** Which tensors the checkpoint has (optional biases, q_norm / k_norm, fused projections). Without it, a name counts as present when `weight` returns it. */
  has?: WeightPresence;
  /** "plain" (default): every step in plain operators, one Softmax per layer; "gqa" / "mha": one com.microsoft fused attention operator per layer (fusedExport.ts). */
  attention?: LlamaAttentionKind;
}

export const LLAMA_MODEL_TYPES = ["llama", "mistral", "qwen2", "qwen3", "phi3"] as const;

/** inv_freq [rotaryDim / 2] as Hugging Face computes it (float32 at each step). */
export function ropeInvFreq(cfg: Pick<LlamaExportConfig, "rope_theta" | "rope_scaling">, rotaryDim: number): Float32Array {
  const f = Math.fround;
  const half = rotaryDim / 2;
  const inv = new Float32Array(half);
  // 1.0 / (base ** (arange(0, dim, 2).float() / dim))
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(cfg.rope_theta, f((2 * i) / rotaryDim))));
  const s = cfg.rope_scaling;
  if (!s) return inv;
  if (s.rope_type === "linear") {
    for (let i = 0; i < half; i++) inv[i] = f(inv[i] / s.factor);
    return inv;
  }
  const lowFreqWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highFreqWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  for (let i = 0; i < half; i++) {
    const wavelen = f((2 * Math.PI) / inv[i]);
    const scaled = wavelen > lowFreqWavelen ? f(inv[i] / s.factor) : inv[i];
    const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (medium) {
      const smooth = f(f(f(s.original_max_position_embeddings / wavelen) - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor));
      inv[i] = f(f(f(f(1 - smooth) * scaled) / s.factor) + f(smooth * scaled));
    } else inv[i] = scaled;
  }
  return inv;
}

export function exportLlamaOnnx(cfg: LlamaExportConfig, weight: WeightLookup, metadata: Record<string, string> = {}, opts: LlamaExportOptions = {}): Uint8Array {
  const kvCache = opts.kvCache ?? true;
  const attention = opts.attention ?? "plain";
  const has = presence(weight, opts.has);
  /** Whether to read an optional tensor: as the config says (true: it must be there), else when the checkpoint has it. */
  const uses = (declared: boolean | undefined, name: string) => declared ?? has(name);
  const g = new GraphBuilder();
  const d = cfg.hidden_size;
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads ?? H;
  const hd = cfg.head_dim ?? d / H;
  const I = cfg.intermediate_size;
  const L = cfg.num_hidden_layers;
  if (!Number.isInteger(hd) || hd <= 0) throw new Error(`hidden_size ${d} is not divisible by num_attention_heads ${H} and no head_dim is given`);
  if (H % KV !== 0) throw new Error(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${KV}`);
  const nRep = H / KV;
  const rot = Math.floor(hd * (cfg.partial_rotary_factor ?? 1));
  if (rot <= 0 || rot % 2 !== 0 || rot > hd) throw new Error(`the rotary width ${rot} (head_dim ${hd} x partial_rotary_factor ${cfg.partial_rotary_factor}) must be even and within the head`);
  if (cfg.sliding_windows && cfg.sliding_windows.length !== L) throw new Error(`sliding_windows has ${cfg.sliding_windows.length} entries for ${L} layers`);
  if (attention === "gqa" && hd % 16 !== 0) throw new Error(`GroupQueryAttention needs head_dim to be a multiple of 16 (onnxruntime's CPU kernel), not ${hd}`);
  const FLOAT = DataType.FLOAT;
  const INT64 = DataType.INT64;

  /** A weight as is (norm weights, biases, the embedding). */
  const w = (name: string, shape: number[]) => g.weight(name, shape, checkedWeight(weight, name, shape));
  /** A torch Linear weight [out, in] (rows [row0, row0 + out) of `name` when fused), stored as [in, out]. */
  const linearWeight = (name: string, out: number, inDim: number, fused?: { rows: number; row0: number; part: string }): string => {
    if (!fused) return g.weight(`${name}.T`, [inDim, out], transpose2d(checkedWeight(weight, name, [out, inDim]), out, inDim));
    const all = checkedWeight(weight, name, [fused.rows, inDim]);
    return g.weight(`${name}.${fused.part}.T`, [inDim, out], transpose2d(all.subarray(fused.row0 * inDim, (fused.row0 + out) * inDim), out, inDim));
  };
  const linear = (x: string, node: string, W: string, bias?: string) => {
    const y = g.op("MatMul", [x, W], `${node}/MatMul`);
    return bias ? g.op("Add", [y, bias], `${node}/Add`) : y;
  };
  const eps = g.floatScalar("const_rms_eps", cfg.rms_norm_eps);
  const rmsNorm = (x: string, weightName: string, width: number, node: string) => {
    const meanSquare = g.op("ReduceMean", [g.op("Mul", [x, x], `${node}/Square`)], `${node}/ReduceMean`, { axes: [-1], keepdims: 1 });
    const inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [meanSquare, eps], `${node}/AddEps`)], `${node}/Sqrt`)], `${node}/Reciprocal`);
    return g.op("Mul", [g.op("Mul", [x, inv], `${node}/Normalize`), w(weightName, [width])], `${node}/Mul`);
  };

  const inputIds = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const attentionMask = g.input("attention_mask", INT64, ["batch_size", "total_sequence_length"]);
  const positionIds = attention === "gqa" ? "" : g.input("position_ids", INT64, ["batch_size", "sequence_length"]);
  const past: [string, string][] = [];
  for (let i = 0; kvCache && i < L; i++) {
    past.push([
      g.input(`past_key_values.${i}.key`, FLOAT, ["batch_size", KV, "past_sequence_length", hd]),
      g.input(`past_key_values.${i}.value`, FLOAT, ["batch_size", KV, "past_sequence_length", hd]),
    ]);
  }

  const embedName = "model.embed_tokens.weight";
  const embed = w(embedName, [cfg.vocab_size, d]);
  let x = g.op("Gather", [embed, inputIds], "/model/embed_tokens/Gather", { axis: 0 }); // [B, T, d]

  // Masks: one per distinct window (full causal for most models).
  const masks = new Map<number | null, string>();
  const maskFor = (window: number | null) => {
    let m = masks.get(window);
    if (!m) {
      m = decoderMask(g, inputIds, attentionMask, window === null ? "/model/mask" : `/model/mask_window_${window}`, window ?? undefined);
      masks.set(window, m);
    }
    return m;
  };

  // Rotary tables [B, 1, T, rot]: emb = cat(freqs, freqs), freqs = position_ids * inv_freq (GroupQueryAttention: cos / sin caches by position instead).
  let cos = "";
  let sin = "";
  let gqa: GqaShared | undefined;
  if (attention === "gqa") gqa = gqaSharedInputs(g, attentionMask, ropeInvFreq(cfg, rot), cfg.max_position_embeddings);
  else {
    const invFreq = g.weight("model.rotary_emb.inv_freq", [rot / 2], ropeInvFreq(cfg, rot));
    const positions = g.op("Unsqueeze", [g.op("Cast", [positionIds], "/model/rotary_emb/Cast", { to: FLOAT }), g.int64s("const_axis_2", [2])], "/model/rotary_emb/Unsqueeze"); // [B, T, 1]
    const freqs = g.op("Mul", [positions, invFreq], "/model/rotary_emb/Mul"); // [B, T, rot/2]
    const emb = g.op("Concat", [freqs, freqs], "/model/rotary_emb/Concat", { axis: -1 });
    const axis1 = g.int64s("const_axis_1", [1]);
    cos = g.op("Unsqueeze", [g.op("Cos", [emb], "/model/rotary_emb/Cos"), axis1], "/model/rotary_emb/cos/Unsqueeze"); // [B, 1, T, rot]
    sin = g.op("Unsqueeze", [g.op("Sin", [emb], "/model/rotary_emb/Sin"), axis1], "/model/rotary_emb/sin/Unsqueeze");
  }
  const halves = g.int64s("const_split_rotary_halves", [rot / 2, rot / 2]);
  const rotPass = rot < hd ? g.int64s("const_split_rotary_pass", [rot, hd - rot]) : undefined;
  const rope = (t: string, node: string) => {
    // t [B, h, T, hd]: t * cos + rotate_half(t) * sin on the first `rot` channels
    const [turned, passed] = rotPass ? g.node("Split", [t, rotPass], `${node}/SplitPass`, { axis: -1 }, 2) : [t, undefined];
    const [x1, x2] = g.node("Split", [turned, halves], `${node}/Split`, { axis: -1 }, 2);
    const rotated = g.op("Concat", [g.op("Neg", [x2], `${node}/Neg`), x1], `${node}/RotateHalf`, { axis: -1 });
    const out = g.op("Add", [g.op("Mul", [turned, cos], `${node}/MulCos`), g.op("Mul", [rotated, sin], `${node}/MulSin`)], `${node}/Add`);
    return passed ? g.op("Concat", [out, passed], `${node}/ConcatPass`, { axis: -1 }) : out;
  };

  const qShape = g.int64s("const_q_shape", [0, 0, H, hd]);
  const kvShape = g.int64s("const_kv_shape", [0, 0, KV, hd]);
  const mergedShape = g.int64s("const_merged_shape", [0, 0, H * hd]);
  const repeatShape = g.int64s("const_repeat_shape", [0, H, -1, hd]);
  const repeats = g.int64s("const_repeat_kv", [1, 1, nRep, 1, 1]);
  const scale = g.floatScalar("const_attn_scale", 1 / Math.sqrt(hd));
  const repeatKv = (t: string, node: string) => {
    if (nRep === 1) return t;
    // [B, KV, S, hd] -> [B, KV, nRep, S, hd] -> [B, KV * nRep, S, hd]: query head h reads kv head floor(h / nRep)
    const tiled = g.op("Tile", [g.op("Unsqueeze", [t, g.int64s(`${node}/const_axis`, [2])], `${node}/Unsqueeze`), repeats], `${node}/Tile`);
    return g.op("Reshape", [tiled, repeatShape], `${node}/Reshape`);
  };

  const presents: string[] = [];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    const n = `/model/layers.${i}`;
    const h = rmsNorm(x, p + "input_layernorm.weight", d, `${n}/input_layernorm`);
    const a = p + "self_attn.";
    const bias = (proj: string, width: number) => (uses(proj === "o_proj" ? cfg.o_bias : cfg.qkv_bias, `${a}${proj}.bias`) ? w(`${a}${proj}.bias`, [width]) : undefined);
    let Wq: string, Wk: string, Wv: string;
    if (!has(a + "q_proj.weight") && has(a + "qkv_proj.weight")) {
      const rows = (H + 2 * KV) * hd;
      Wq = linearWeight(a + "qkv_proj.weight", H * hd, d, { rows, row0: 0, part: "q" });
      Wk = linearWeight(a + "qkv_proj.weight", KV * hd, d, { rows, row0: H * hd, part: "k" });
      Wv = linearWeight(a + "qkv_proj.weight", KV * hd, d, { rows, row0: (H + KV) * hd, part: "v" });
    } else {
      Wq = linearWeight(a + "q_proj.weight", H * hd, d);
      Wk = linearWeight(a + "k_proj.weight", KV * hd, d);
      Wv = linearWeight(a + "v_proj.weight", KV * hd, d);
    }
    const toHeads = (t: string, shape: string, what: string, norm?: string) => {
      let r = g.op("Reshape", [t, shape], `${n}/self_attn/${what}/Reshape`); // [B, T, h, hd]
      if (norm) r = rmsNorm(r, norm, hd, `${n}/self_attn/${what}_norm`);
      return g.op("Transpose", [r], `${n}/self_attn/${what}/Transpose`, { perm: [0, 2, 1, 3] }); // [B, h, T, hd]
    };
    const qNorm = uses(cfg.qk_norm, a + "q_norm.weight") ? a + "q_norm.weight" : undefined;
    const kNorm = uses(cfg.qk_norm, a + "k_norm.weight") ? a + "k_norm.weight" : undefined;
    let merged: string;
    const fusedIo = { prefix: n, heads: H, kvHeads: KV, headDim: hd, past: kvCache ? past[i] : undefined, present: kvCache ? ([`present.${i}.key`, `present.${i}.value`] as [string, string]) : undefined, window: cfg.sliding_windows?.[i] };
    if (gqa) {
      // projected q, k, v [B, T, h * hd] (Qwen3's per-head norms applied); the operator turns q and k
      const project = (what: string, W: string, b: string | undefined, shape: string, width: number, norm?: string) => {
        const y = linear(h, `${n}/self_attn/${what}_proj`, W, b);
        if (!norm) return y;
        const normed = rmsNorm(g.op("Reshape", [y, shape], `${n}/self_attn/${what}/Reshape`), norm, hd, `${n}/self_attn/${what}_norm`);
        return g.op("Reshape", [normed, g.int64s(`${n}/self_attn/${what}/const_bsh`, [0, 0, width])], `${n}/self_attn/${what}/ReshapeBsh`);
      };
      const qp = project("q", Wq, bias("q_proj", H * hd), qShape, H * hd, qNorm);
      const kp = project("k", Wk, bias("k_proj", KV * hd), kvShape, KV * hd, kNorm);
      const vp = project("v", Wv, bias("v_proj", KV * hd), kvShape, KV * hd);
      merged = gqaLayer(g, gqa, fusedIo, qp, kp, vp);
      if (kvCache) presents.push(`present.${i}.key`, `present.${i}.value`);
    } else {
      const q = rope(toHeads(linear(h, `${n}/self_attn/q_proj`, Wq, bias("q_proj", H * hd)), qShape, "query", qNorm), `${n}/self_attn/query/rotary`);
      const kNew = rope(toHeads(linear(h, `${n}/self_attn/k_proj`, Wk, bias("k_proj", KV * hd)), kvShape, "key", kNorm), `${n}/self_attn/key/rotary`);
      const vNew = toHeads(linear(h, `${n}/self_attn/v_proj`, Wv, bias("v_proj", KV * hd)), kvShape, "value");
      if (attention === "mha") {
        merged = mhaLayer(g, fusedIo, q, kNew, vNew, maskFor(cfg.sliding_windows?.[i] ?? null));
        if (kvCache) presents.push(`present.${i}.key`, `present.${i}.value`);
      } else {
        const keys = kvCache ? g.rename(g.op("Concat", [past[i][0], kNew], `${n}/self_attn/key/Concat`, { axis: 2 }), `present.${i}.key`) : kNew;
        const values = kvCache ? g.rename(g.op("Concat", [past[i][1], vNew], `${n}/self_attn/value/Concat`, { axis: 2 }), `present.${i}.value`) : vNew;
        if (kvCache) presents.push(keys, values);
        const kRep = repeatKv(keys, `${n}/self_attn/key/repeat_kv`);
        const vRep = repeatKv(values, `${n}/self_attn/value/repeat_kv`);
        const kT = g.op("Transpose", [kRep], `${n}/self_attn/key/TransposeForScores`, { perm: [0, 1, 3, 2] });
        const scores = g.op("Mul", [g.op("MatMul", [q, kT], `${n}/self_attn/scores/MatMul`), scale], `${n}/self_attn/scores/Mul`);
        const masked = g.op("Add", [scores, maskFor(cfg.sliding_windows?.[i] ?? null)], `${n}/self_attn/scores/AddMask`);
        const probs = g.op("Softmax", [masked], `${n}/self_attn/Softmax`, { axis: -1 }); // [B, H, T, P+T]
        const ctx = g.op("MatMul", [probs, vRep], `${n}/self_attn/context/MatMul`); // [B, H, T, hd]
        merged = g.op("Reshape", [g.op("Transpose", [ctx], `${n}/self_attn/context/Transpose`, { perm: [0, 2, 1, 3] }), mergedShape], `${n}/self_attn/context/Reshape`);
      }
    }
    const attnOut = linear(merged, `${n}/self_attn/o_proj`, linearWeight(a + "o_proj.weight", d, H * hd), bias("o_proj", d));
    x = g.op("Add", [x, attnOut], `${n}/self_attn/residual/Add`);

    const h2 = rmsNorm(x, p + "post_attention_layernorm.weight", d, `${n}/post_attention_layernorm`);
    const m = p + "mlp.";
    const mlpBias = (proj: string, width: number) => (uses(cfg.mlp_bias, `${m}${proj}.bias`) ? w(`${m}${proj}.bias`, [width]) : undefined);
    let Wg: string, Wu: string;
    if (!has(m + "gate_proj.weight") && has(m + "gate_up_proj.weight")) {
      Wg = linearWeight(m + "gate_up_proj.weight", I, d, { rows: 2 * I, row0: 0, part: "gate" });
      Wu = linearWeight(m + "gate_up_proj.weight", I, d, { rows: 2 * I, row0: I, part: "up" });
    } else {
      Wg = linearWeight(m + "gate_proj.weight", I, d);
      Wu = linearWeight(m + "up_proj.weight", I, d);
    }
    const gate = linear(h2, `${n}/mlp/gate_proj`, Wg, mlpBias("gate_proj", I));
    const up = linear(h2, `${n}/mlp/up_proj`, Wu, mlpBias("up_proj", I));
    const silu = g.op("Mul", [gate, g.op("Sigmoid", [gate], `${n}/mlp/act_fn/Sigmoid`)], `${n}/mlp/act_fn/Mul`);
    const mlpOut = linear(g.op("Mul", [silu, up], `${n}/mlp/Mul`), `${n}/mlp/down_proj`, linearWeight(m + "down_proj.weight", d, I), mlpBias("down_proj", d));
    x = g.op("Add", [x, mlpOut], `${n}/mlp/residual/Add`);
  }
  const xf = rmsNorm(x, "model.norm.weight", d, "/model/norm");
  const head = cfg.tie_word_embeddings ? g.op("Transpose", [embed], "/lm_head/Transpose", { perm: [1, 0] }) : linearWeight("lm_head.weight", cfg.vocab_size, d);
  const logits = g.rename(g.op("MatMul", [xf, head], "/lm_head/MatMul"), "logits");
  g.output(logits, FLOAT, ["batch_size", "sequence_length", cfg.vocab_size]);
  for (const name of presents) g.output(name, FLOAT, ["batch_size", KV, "total_sequence_length", hd]);
  if (attention === "plain") return g.model(cfg.model_type ?? "llama", OPSET, "seqlens", metadata);
  g.dropUnusedInitializers(); // the plain attention's constants
  return g.model(cfg.model_type ?? "llama", OPSET, "seqlens", metadata, [MS_OPSET]);
}

// ---------------------------------------------------------------------------------------------
// config.json -> LlamaExportConfig

type Json = Record<string, unknown>;

/** config.json of a Llama-shaped decoder, checked and under LlamaExportConfig's names; MODEL_INVALID for a bad value, UNSUPPORTED for what the exporter does not do. */
export function llamaConfigFrom(config: Json, configFile = "config.json"): LlamaExportConfig {
  const bad = (msg: string) => new EngineError("MODEL_INVALID", `${configFile}: ${msg}`);
  const unsupported = (msg: string) => new EngineError("UNSUPPORTED", `${configFile}: ${msg}`);
  const modelType = typeof config.model_type === "string" ? config.model_type : undefined;
  if (modelType !== undefined && !(LLAMA_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw unsupported(`model_type "${modelType}" is not a Llama-shaped decoder SeqLens can export (${LLAMA_MODEL_TYPES.join(", ")})`);
  }
  const given = (key: string) => config[key] !== undefined && config[key] !== null;
  const posInt = (key: string, fallback?: number): number => {
    if (!given(key)) {
      if (fallback !== undefined) return fallback;
      throw bad(`"${key}" is missing (a positive integer)`);
    }
    const v = config[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw bad(`"${key}" must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const posNum = (key: string, v: unknown, fallback?: number): number => {
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw bad(`"${key}" is missing (a positive number)`);
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw bad(`"${key}" must be a positive number (got ${JSON.stringify(v)})`);
    return v;
  };

  const hidden = posInt("hidden_size");
  const heads = posInt("num_attention_heads");
  const kvHeads = posInt("num_key_value_heads", heads);
  if (heads % kvHeads !== 0) throw bad(`num_attention_heads (${heads}) is not a multiple of num_key_value_heads (${kvHeads})`);
  if (!given("head_dim") && hidden % heads !== 0) throw bad(`hidden_size (${hidden}) is not divisible by num_attention_heads (${heads}) and no head_dim is given`);
  const headDim = posInt("head_dim", hidden / heads);
  const layers = posInt("num_hidden_layers");

  const act = config.hidden_act ?? config.hidden_activation ?? "silu";
  if (act !== "silu" && act !== "swish") throw unsupported(`hidden_act "${String(act)}": the exporter builds SwiGLU MLPs (silu) only`);

  // Rotary embedding: rope_theta and rope_scaling, or transformers' newer rope_parameters.
  const ropeParams = (given("rope_parameters") ? config.rope_parameters : undefined) as Json | undefined;
  const scalingRaw = (given("rope_scaling") ? config.rope_scaling : ropeParams) as Json | undefined;
  if (scalingRaw !== undefined && (typeof scalingRaw !== "object" || Array.isArray(scalingRaw))) throw bad(`"rope_scaling" must be an object or null (got ${JSON.stringify(scalingRaw)})`);
  const theta = posNum("rope_theta", config.rope_theta ?? ropeParams?.rope_theta ?? scalingRaw?.rope_theta, 10000);
  let ropeScaling: RopeScaling | null = null;
  const ropeType = scalingRaw?.rope_type ?? scalingRaw?.type;
  if (scalingRaw && ropeType !== undefined && ropeType !== "default") {
    if (ropeType === "linear") {
      ropeScaling = { rope_type: "linear", factor: posNum("rope_scaling.factor", scalingRaw.factor) };
    } else if (ropeType === "llama3") {
      ropeScaling = {
        rope_type: "llama3",
        factor: posNum("rope_scaling.factor", scalingRaw.factor),
        low_freq_factor: posNum("rope_scaling.low_freq_factor", scalingRaw.low_freq_factor),
        high_freq_factor: posNum("rope_scaling.high_freq_factor", scalingRaw.high_freq_factor),
        original_max_position_embeddings: posNum("rope_scaling.original_max_position_embeddings", scalingRaw.original_max_position_embeddings),
      };
      if (ropeScaling.high_freq_factor <= ropeScaling.low_freq_factor) throw bad(`rope_scaling.high_freq_factor (${ropeScaling.high_freq_factor}) must be above low_freq_factor (${ropeScaling.low_freq_factor})`);
    } else {
      throw unsupported(`rope_scaling type "${String(ropeType)}" is not supported (SeqLens exports the default rotary embedding and the "linear" and "llama3" scalings)`);
    }
  }
  const partial = posNum("partial_rotary_factor", config.partial_rotary_factor ?? ropeParams?.partial_rotary_factor, 1);
  if (partial > 1) throw bad(`"partial_rotary_factor" must be at most 1 (got ${partial})`);
  const rot = Math.floor(headDim * partial);
  if (rot <= 0 || rot % 2 !== 0) throw unsupported(`a rotary width of ${rot} (head_dim ${headDim} x partial_rotary_factor ${partial}) is not even`);

  // Sliding-window attention, per layer as transformers decides it.
  let window: number | null = null;
  if (given("sliding_window")) {
    const usesWindow = modelType === "qwen2" || modelType === "qwen3" ? config.use_sliding_window === true : true;
    if (usesWindow) window = posInt("sliding_window");
  }
  let slidingWindows: (number | null)[] | undefined;
  if (window !== null) {
    const types = config.layer_types;
    if (Array.isArray(types)) {
      if (types.length !== layers) throw bad(`"layer_types" has ${types.length} entries for ${layers} layers`);
      slidingWindows = types.map((t) => (t === "sliding_attention" ? window : null));
    } else if (modelType === "qwen2" || modelType === "qwen3") {
      const first = posInt("max_window_layers", layers);
      slidingWindows = Array.from({ length: layers }, (_, i) => (i >= first ? window : null));
    } else {
      slidingWindows = Array.from({ length: layers }, () => window);
    }
    if (slidingWindows.every((s) => s === null)) slidingWindows = undefined;
  }

  const tie = config.tie_word_embeddings ?? true; // transformers leaves it out of config.json when it is true
  if (typeof tie !== "boolean") throw bad(`"tie_word_embeddings" must be true or false (got ${JSON.stringify(tie)})`);
  const flag = (key: string): boolean => {
    const v = config[key] ?? false;
    if (typeof v !== "boolean") throw bad(`"${key}" must be true or false (got ${JSON.stringify(v)})`);
    return v;
  };
  // The optional tensors as each model's modeling code declares them.
  const attentionBias = modelType === "llama" || modelType === "qwen3" || modelType === undefined ? flag("attention_bias") : false;
  const optional =
    modelType === "qwen2"
      ? { qkv_bias: true, o_bias: false, mlp_bias: false, qk_norm: false }
      : { qkv_bias: attentionBias, o_bias: attentionBias, mlp_bias: modelType === "llama" || modelType === undefined ? flag("mlp_bias") : false, qk_norm: modelType === "qwen3" };

  return {
    model_type: modelType,
    vocab_size: posInt("vocab_size"),
    hidden_size: hidden,
    intermediate_size: posInt("intermediate_size"),
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rms_norm_eps: posNum("rms_norm_eps", config.rms_norm_eps, 1e-6),
    rope_theta: theta,
    rope_scaling: ropeScaling,
    partial_rotary_factor: partial,
    max_position_embeddings: posInt("max_position_embeddings", 4096),
    tie_word_embeddings: tie,
    ...(slidingWindows ? { sliding_windows: slidingWindows } : {}),
    ...optional,
  };
}
