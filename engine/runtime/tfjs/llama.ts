// Llama-shaped decoders on TensorFlow.js (Llama, Mistral, Qwen2/3, Phi-3): pre-RMSNorm blocks,
// rotary position embeddings in Hugging Face's half-rotation layout, grouped-query attention,
// SwiGLU MLP, optional q/k/v (and o, MLP) biases, Qwen3's per-head q/k norms, the output head
// tied to the token embedding or its own. The same math as the ONNX graph llamaExport.ts writes
// and the Hugging Face modules it follows, written so that a gradient can be taken with respect to
// the token embeddings (llamaBlocks). The weights come from a LlamaWeightSource: an ONNX graph's
// initializers or a checkpoint's safetensors (formats/llamaWeights.ts).
import * as tf from "@tensorflow/tfjs";
import { EngineError } from "../../../protocol/errors";
import { matmul } from "./gpt2";

export interface LlamaConfig {
  vocabSize: number;
  /** hidden_size. */
  nEmbd: number;
  /** intermediate_size: the MLP's width. */
  nInner: number;
  nLayer: number;
  nHead: number;
  /** Key/value heads: query head h reads kv head floor(h / (nHead / nKvHead)). */
  nKvHead: number;
  headDim: number;
  rmsNormEps: number;
  /** The rotary frequencies [rotaryDim / 2], as Hugging Face computes them (llamaExport's ropeInvFreq). */
  invFreq: Float32Array;
  /** The channels of each head the rotary embedding turns (the first ones); the rest pass through. */
  rotaryDim: number;
  /** Each layer's attention window (null: full causal attention); absent: every layer full. */
  slidingWindows?: (number | null)[];
}

export interface LlamaLayer {
  inputNorm: tf.Tensor1D;
  wq: tf.Tensor2D; wk: tf.Tensor2D; wv: tf.Tensor2D; // [d, heads * hd], [d, kvHeads * hd] ×2
  bq?: tf.Tensor1D; bk?: tf.Tensor1D; bv?: tf.Tensor1D;
  /** Qwen3: RMSNorm of each head of q and k [hd], before the rotary embedding. */
  qNorm?: tf.Tensor1D; kNorm?: tf.Tensor1D;
  wo: tf.Tensor2D; bo?: tf.Tensor1D; // [heads * hd, d]
  postNorm: tf.Tensor1D;
  wGate: tf.Tensor2D; wUp: tf.Tensor2D; wDown: tf.Tensor2D; // [d, I], [d, I], [I, d]
  bGate?: tf.Tensor1D; bUp?: tf.Tensor1D; bDown?: tf.Tensor1D;
}

export interface LlamaWeights {
  /** model.embed_tokens.weight [vocab, d]. */
  embed: tf.Tensor2D;
  layers: LlamaLayer[];
  /** model.norm.weight. */
  norm: tf.Tensor1D;
  /** The output head [d, vocab]; absent: tied, the transposed token embedding. */
  lmHead?: tf.Tensor2D;
}

export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  return x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(w) as T;
}

/** cos and sin of position × inv_freq, [T, rotaryDim] each (the frequencies repeated: cat(freqs, freqs)). */
function rotaryTables(c: LlamaConfig, T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const r = c.rotaryDim;
  const half = r / 2;
  const cos = new Float32Array(T * r);
  const sin = new Float32Array(T * r);
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(p * c.invFreq[i]); // float32, as position_ids.float() @ inv_freq
      cos[p * r + i] = cos[p * r + half + i] = Math.cos(f);
      sin[p * r + i] = sin[p * r + half + i] = Math.sin(f);
    }
  }
  return { cos: tf.tensor2d(cos, [T, r]), sin: tf.tensor2d(sin, [T, r]) };
}

/** x * cos + rotate_half(x) * sin on the first rotaryDim channels of each head; x [B, h, T, hd]. */
function rotary(x: tf.Tensor4D, t: { cos: tf.Tensor2D; sin: tf.Tensor2D }, rot: number): tf.Tensor4D {
  const hd = x.shape[3];
  const turned = rot < hd ? x.slice([0, 0, 0, 0], [-1, -1, -1, rot]) : x;
  const x1 = turned.slice([0, 0, 0, 0], [-1, -1, -1, rot / 2]);
  const x2 = turned.slice([0, 0, 0, rot / 2], [-1, -1, -1, rot / 2]);
  const out = turned.mul(t.cos).add(tf.concat([x2.neg(), x1], 3).mul(t.sin)) as tf.Tensor4D;
  return rot < hd ? (tf.concat([out, x.slice([0, 0, 0, rot], [-1, -1, -1, hd - rot])], 3) as tf.Tensor4D) : out;
}

/** Additive mask [T, T]: 0 where query q sees key k (k <= q, and q − k < window), else −1e9. */
function causalMask(T: number, window: number | null): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) if (k > q || (window !== null && q - k >= window)) m[q * T + k] = -1e9;
  return tf.tensor2d(m, [T, T]);
}

/**
 * The blocks and the final RMSNorm on token embeddings [B, T, d] (positions 0..T−1 enter through
 * the rotary embedding, so a gradient with respect to `tok` holds them fixed). Returns the normed
 * final residual stream [B*T, d] (the logits are llamaLogits of it) and, on request, each layer's
 * attention probabilities [B, heads, T, T] and the residual stream entering each layer, then after
 * the final norm. Call inside tf.tidy.
 */
export function llamaBlocks(
  c: LlamaConfig,
  w: LlamaWeights,
  tok: tf.Tensor3D,
  opts: { attention?: boolean; hidden?: boolean } = {},
): { final: tf.Tensor2D; attention?: tf.Tensor4D[]; hidden?: tf.Tensor3D[] } {
  const [B, T, d] = tok.shape;
  const H = c.nHead;
  const KV = c.nKvHead;
  const hd = c.headDim;
  const rep = H / KV;
  const tables = rotaryTables(c, T);
  const masks = new Map<number | null, tf.Tensor2D>();
  const maskFor = (window: number | null) => {
    let m = masks.get(window);
    if (!m) masks.set(window, (m = causalMask(T, window)));
    return m;
  };
  const scale = 1 / Math.sqrt(hd);
  let x = tok.reshape([B * T, d]) as tf.Tensor2D; // the residual stream
  const attention: tf.Tensor4D[] = [];
  const hidden: tf.Tensor3D[] = [];
  w.layers.forEach((L, i) => {
    if (opts.hidden) hidden.push(x.reshape([B, T, d]) as tf.Tensor3D);
    const h = rmsNorm(x, L.inputNorm, c.rmsNormEps);
    const project = (W: tf.Tensor2D, b: tf.Tensor1D | undefined, heads: number, norm?: tf.Tensor1D) => {
      let y = matmul(h, W);
      if (b) y = y.add(b);
      let r = y.reshape([B, T, heads, hd]);
      if (norm) r = rmsNorm(r, norm, c.rmsNormEps);
      return r.transpose([0, 2, 1, 3]) as tf.Tensor4D; // [B, heads, T, hd]
    };
    const q = rotary(project(L.wq, L.bq, H, L.qNorm), tables, c.rotaryDim);
    const k = rotary(project(L.wk, L.bk, KV, L.kNorm), tables, c.rotaryDim);
    const v = project(L.wv, L.bv, KV);
    // grouped-query attention without repeating k and v: the rep query heads of a kv head are
    // consecutive, so q [B, H, T, hd] is [B, KV, rep·T, hd] and each group meets its own keys
    const scores = matmul(q.reshape([B, KV, rep * T, hd]), k.transpose([0, 1, 3, 2])).reshape([B, H, T, T]).mul(scale).add(maskFor(c.slidingWindows?.[i] ?? null));
    const probs = tf.softmax(scores) as tf.Tensor4D; // [B, H, T, T]
    if (opts.attention) attention.push(probs);
    const ctx = matmul(probs.reshape([B, KV, rep * T, T]), v).reshape([B, H, T, hd]).transpose([0, 2, 1, 3]).reshape([B * T, H * hd]);
    let attnOut = matmul(ctx, L.wo);
    if (L.bo) attnOut = attnOut.add(L.bo);
    x = x.add(attnOut) as tf.Tensor2D;
    const h2 = rmsNorm(x, L.postNorm, c.rmsNormEps);
    const linear = (a: tf.Tensor, W: tf.Tensor2D, b?: tf.Tensor1D) => (b ? matmul(a, W).add(b) : matmul(a, W));
    const gate = linear(h2, L.wGate, L.bGate);
    const up = linear(h2, L.wUp, L.bUp);
    x = x.add(linear(gate.mul(tf.sigmoid(gate)).mul(up), L.wDown, L.bDown)) as tf.Tensor2D;
  });
  const final = rmsNorm(x, w.norm, c.rmsNormEps);
  if (opts.hidden) hidden.push(final.reshape([B, T, d]) as tf.Tensor3D);
  return { final, attention: opts.attention ? attention : undefined, hidden: opts.hidden ? hidden : undefined };
}

/** The logits [N, vocab] of normed rows [N, d]: the output head, or the transposed token embedding when tied. */
export function llamaLogits(w: LlamaWeights, final: tf.Tensor2D): tf.Tensor2D {
  return matmul(final, w.lmHead ?? w.embed.transpose()) as tf.Tensor2D;
}

/** Forward pass on ids [B, T]: logits [B, T, vocab] and, on request, attention. Call inside tf.tidy. */
export function llamaForward(c: LlamaConfig, w: LlamaWeights, ids: tf.Tensor2D, opts: { attention?: boolean } = {}): { logits: tf.Tensor3D; attention?: tf.Tensor4D[] } {
  const [B, T] = ids.shape;
  const tok = tf.gather(w.embed, ids.reshape([B * T])).reshape([B, T, c.nEmbd]) as tf.Tensor3D;
  const o = llamaBlocks(c, w, tok, opts);
  return { logits: llamaLogits(w, o.final).reshape([B, T, c.vocabSize]) as tf.Tensor3D, attention: o.attention };
}

/**
 * Bytes one sequence of T tokens holds through a forward and backward pass of llamaBlocks and the
 * output head: per layer about 80 floats per token and embedding channel (the norms, residual
 * sums and their gradients), 16 per token and MLP channel (gate, sigmoid, silu, up, their product
 * and gradients), 32 per token and q/k/v channel (projections, rotary halves, transposes) and 16
 * per attention score [H, T, T]; and three times the weights (the products' backward makes each
 * weight's gradient too; the tied head's transpose). Measured with tf.profile (peak bytes above the
 * weights) on Llama-shaped models of 64-256 channels, 2-4 layers, grouped or not, at 64 and 256
 * tokens, this is 9-16% above the peak.
 */
export function llamaGradientBytes(c: LlamaConfig, T: number): number {
  const qkv = (c.nHead + 2 * c.nKvHead) * c.headDim;
  const perLayer = T * (80 * c.nEmbd + 16 * c.nInner + 32 * qkv) + 16 * c.nHead * T * T;
  const parameters = c.vocabSize * c.nEmbd + c.nLayer * (c.nEmbd * qkv + c.nHead * c.headDim * c.nEmbd + 3 * c.nEmbd * c.nInner);
  return 4 * (c.nLayer * perLayer + 3 * parameters + 4 * T * c.nEmbd + 4 * c.vocabSize);
}

// ---- weights ----

/** Where a Llama-shaped model's weights are read: an ONNX graph's initializers or a checkpoint's tensors (formats/llamaWeights.ts). */
export interface LlamaWeightSource {
  /** The file or folder read, for messages. */
  readonly label: string;
  /** How the source finds weights, for the refusal when one is missing. */
  readonly how: string;
  /** A linear layer's weight as [in, out] (a MatMul's right operand), by its Hugging Face module name ("model.layers.0.self_attn.q_proj"). */
  linear(module: string, inDim: number, outDim: number): Float32Array | undefined;
  /** A vector by its Hugging Face parameter name ("model.layers.0.input_layernorm.weight", "…q_proj.bias"). */
  vector(name: string, width: number): Float32Array | undefined;
  /** The token embedding [vocab, d]. */
  embedding(vocab: number, d: number): Float32Array | undefined;
  /** The output head as [d, vocab]; undefined when the source has none of its own (tied). */
  lmHead(d: number, vocab: number): Float32Array | undefined;
}

/** Which optional tensors to read: true, required; false, not read; undefined, read when the source has them. */
export interface LlamaOptionalWeights {
  qkvBias?: boolean;
  oBias?: boolean;
  mlpBias?: boolean;
  qkNorm?: boolean;
  /** Whether the output head is the token embedding (config.json's tie_word_embeddings). */
  tied: boolean;
}

/** Columns [c0, c0 + n) of a row-major [rows, cols] matrix. */
function columns(m: Float32Array, rows: number, cols: number, c0: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * cols + c0, r * cols + c0 + n), r * n);
  return out;
}

/**
 * The weights of `c` from `src` as TensorFlow.js tensors. MODEL_INVALID naming the weight and the
 * source when a required one is missing. Phi-3's fused qkv_proj / gate_up_proj are split.
 * `count` is called with each tensor's size (the parameter count).
 */
export function llamaWeightsFrom(c: LlamaConfig, src: LlamaWeightSource, opt: LlamaOptionalWeights, count: (n: number) => void = () => {}): LlamaWeights {
  const d = c.nEmbd;
  const hd = c.headDim;
  const made: tf.Tensor[] = [];
  const missing = (what: string) => new EngineError("MODEL_INVALID", `${src.label}: no weight for ${what} (${src.how}), so the TensorFlow.js copy of this model cannot be made`);
  const keep = <T extends tf.Tensor>(t: T, n: number): T => {
    made.push(t);
    count(n);
    return t;
  };
  const vec = (name: string, width: number): tf.Tensor1D => {
    const v = src.vector(name, width);
    if (!v) throw missing(name);
    return keep(tf.tensor1d(v), width);
  };
  const optional = (declared: boolean | undefined, name: string, width: number): tf.Tensor1D | undefined => {
    if (declared === false) return undefined;
    const v = src.vector(name, width);
    if (!v) {
      if (declared) throw missing(name);
      return undefined;
    }
    return keep(tf.tensor1d(v), width);
  };
  const mat = (m: Float32Array, inDim: number, outDim: number) => keep(tf.tensor2d(m, [inDim, outDim]), inDim * outDim);
  /** Linear layers read one by one, or as column blocks of a fused one. */
  const linears = (parts: { module: string; out: number }[], fused: string, inDim: number): tf.Tensor2D[] => {
    const each = parts.map((p) => src.linear(p.module, inDim, p.out));
    if (each.every((m) => m !== undefined)) return each.map((m, i) => mat(m!, inDim, parts[i].out));
    const total = parts.reduce((a, p) => a + p.out, 0);
    const all = each.every((m) => m === undefined) ? src.linear(fused, inDim, total) : undefined;
    if (!all) throw missing(parts[each.findIndex((m) => m === undefined)].module + ".weight");
    let c0 = 0;
    return parts.map((p) => {
      const m = mat(columns(all, inDim, total, c0, p.out), inDim, p.out);
      c0 += p.out;
      return m;
    });
  };
  try {
    const embedding = src.embedding(c.vocabSize, d);
    if (!embedding) throw missing("model.embed_tokens.weight");
    const embed = keep(tf.tensor2d(embedding, [c.vocabSize, d]), c.vocabSize * d);
    const layers: LlamaLayer[] = [];
    for (let i = 0; i < c.nLayer; i++) {
      const p = `model.layers.${i}.`;
      const a = `${p}self_attn.`;
      const m = `${p}mlp.`;
      const [wq, wk, wv] = linears([{ module: a + "q_proj", out: c.nHead * hd }, { module: a + "k_proj", out: c.nKvHead * hd }, { module: a + "v_proj", out: c.nKvHead * hd }], a + "qkv_proj", d);
      const [wGate, wUp] = linears([{ module: m + "gate_proj", out: c.nInner }, { module: m + "up_proj", out: c.nInner }], m + "gate_up_proj", d);
      const [wo] = linears([{ module: a + "o_proj", out: d }], a + "o_proj", c.nHead * hd);
      const [wDown] = linears([{ module: m + "down_proj", out: d }], m + "down_proj", c.nInner);
      layers.push({
        inputNorm: vec(p + "input_layernorm.weight", d),
        wq, wk, wv,
        bq: optional(opt.qkvBias, a + "q_proj.bias", c.nHead * hd),
        bk: optional(opt.qkvBias, a + "k_proj.bias", c.nKvHead * hd),
        bv: optional(opt.qkvBias, a + "v_proj.bias", c.nKvHead * hd),
        qNorm: optional(opt.qkNorm, a + "q_norm.weight", hd),
        kNorm: optional(opt.qkNorm, a + "k_norm.weight", hd),
        wo,
        bo: optional(opt.oBias, a + "o_proj.bias", d),
        postNorm: vec(p + "post_attention_layernorm.weight", d),
        wGate, wUp, wDown,
        bGate: optional(opt.mlpBias, m + "gate_proj.bias", c.nInner),
        bUp: optional(opt.mlpBias, m + "up_proj.bias", c.nInner),
        bDown: optional(opt.mlpBias, m + "down_proj.bias", d),
      });
    }
    const norm = vec("model.norm.weight", d);
    const head = src.lmHead(d, c.vocabSize);
    if (!head && !opt.tied) throw missing("lm_head.weight (config.json says tie_word_embeddings is false)");
    return { embed, layers, norm, lmHead: head ? mat(head, d, c.vocabSize) : undefined };
  } catch (e) {
    tf.dispose(made);
    throw e;
  }
}

/** Every tensor of `w`, to dispose. */
export function llamaTensors(w: LlamaWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [w.embed, w.norm, ...(w.lmHead ? [w.lmHead] : [])];
  for (const L of w.layers) for (const t of Object.values(L)) if (t) out.push(t as tf.Tensor);
  return out;
}
