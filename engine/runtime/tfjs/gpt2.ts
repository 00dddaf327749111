// GPT-2 architecture on TensorFlow.js (pre-LayerNorm blocks, GELU (tanh form), learned positions,
// output projection tied to the token embedding). Used to train the bundled sample and as the
// parity reference for the ONNX export: both read the same Hugging Face GPT-2 weight names.
import * as tf from "@tensorflow/tfjs";

export interface Gpt2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
}

export interface Gpt2Layer {
  ln1g: tf.Tensor1D; ln1b: tf.Tensor1D;
  wq: tf.Tensor2D; wk: tf.Tensor2D; wv: tf.Tensor2D; // [d, d] each (c_attn split in three)
  bq: tf.Tensor1D; bk: tf.Tensor1D; bv: tf.Tensor1D;
  wo: tf.Tensor2D; bo: tf.Tensor1D; // attn.c_proj
  ln2g: tf.Tensor1D; ln2b: tf.Tensor1D;
  wfc: tf.Tensor2D; bfc: tf.Tensor1D; // mlp.c_fc   [d, 4d]
  wproj: tf.Tensor2D; bproj: tf.Tensor1D; // mlp.c_proj [4d, d]
}

export interface Gpt2Weights {
  wte: tf.Tensor2D; // [vocab, d], also the output projection
  wpe: tf.Tensor2D; // [positions, d]
  layers: Gpt2Layer[];
  lnfg: tf.Tensor1D; lnfb: tf.Tensor1D;
}

export interface Gpt2Outputs {
  logits: tf.Tensor3D; // [B, T, vocab]
  attention?: tf.Tensor4D[]; // per layer [B, heads, T, T]
  hidden?: tf.Tensor3D[]; // residual stream entering each layer, then after ln_f: nLayer + 1 entries
}

export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(g).add(b) as tf.Tensor2D;
}

/** GELU, tanh approximation ("gelu_new" in transformers' GPT-2). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  return x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(c)).add(1));
}

/** Embedding lookup whose gradient is accumulated row by row (wasm lacks Gather's gradient op). */
const embedLookup = tf.customGrad(((ids: tf.Tensor, table: tf.Tensor, save: tf.GradSaveFunc) => {
  save([ids]);
  const value = tf.gather(table as tf.Tensor2D, ids as tf.Tensor1D);
  const [rows, dim] = table.shape as [number, number];
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const idv = saved[0].dataSync();
      const g = dy.dataSync();
      const acc = new Float32Array(rows * dim);
      for (let n = 0; n < idv.length; n++) {
        const src = n * dim;
        const dst = idv[n] * dim;
        for (let j = 0; j < dim; j++) acc[dst + j] += g[src + j];
      }
      return [tf.zerosLike(saved[0]), tf.tensor2d(acc, [rows, dim])];
    },
  };
}) as never) as (ids: tf.Tensor, table: tf.Tensor) => tf.Tensor;

/**
 * Matrix product whose gradient uses explicit transposes and plain products: on the wasm backend a
 * product with a transposed operand is 10-70x slower than a transpose followed by a plain product.
 */
export const matmul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      const swapLast = (t: tf.Tensor) => {
        const perm = t.shape.map((_, i) => i);
        [perm[perm.length - 1], perm[perm.length - 2]] = [perm[perm.length - 2], perm[perm.length - 1]];
        return t.transpose(perm);
      };
      return [tf.matMul(dy as tf.Tensor2D, swapLast(sb) as tf.Tensor2D), tf.matMul(swapLast(sa) as tf.Tensor2D, dy as tf.Tensor2D)];
    },
  };
}) as never) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

function causalMask(t: number): tf.Tensor2D {
  const m = new Float32Array(t * t);
  for (let q = 0; q < t; q++) for (let k = q + 1; k < t; k++) m[q * t + k] = -1e9;
  return tf.tensor2d(m, [t, t]);
}

/**
 * Forward pass. ids: [B, T] int32. Returns logits and, on request, attention probabilities and
 * the residual stream. Call inside tf.tidy (or dispose the outputs).
 */
export function gpt2Forward(
  cfg: Gpt2Config,
  w: Gpt2Weights,
  ids: tf.Tensor2D,
  opts: { attention?: boolean; hidden?: boolean } = {},
): Gpt2Outputs {
  const [B, T] = ids.shape;
  const flatIds = ids.reshape([B * T]) as tf.Tensor1D;
  const tok = embedLookup(flatIds, w.wte).reshape([B, T, cfg.nEmbd]) as tf.Tensor3D;
  const o = gpt2Blocks(cfg, w, tok, opts);
  const logits = matmul(o.final, w.wte.transpose()).reshape([B, T, cfg.vocabSize]) as tf.Tensor3D;
  return { logits, attention: o.attention, hidden: o.hidden };
}

/**
 * The blocks and the final LayerNorm on token embeddings given as a tensor [B, T, d] (the rows of
 * wte, or anything else: the position embeddings are added here), so that a gradient can be taken
 * with respect to the token embeddings alone. Returns the normed final residual stream [B*T, d]
 * (the logits are final × wteᵀ) and, on request, attention and the residual stream as gpt2Forward.
 */
export function gpt2Blocks(
  cfg: Gpt2Config,
  w: Gpt2Weights,
  tok: tf.Tensor3D,
  opts: { attention?: boolean; hidden?: boolean } = {},
): { final: tf.Tensor2D; attention?: tf.Tensor4D[]; hidden?: tf.Tensor3D[] } {
  const [B, T] = tok.shape;
  const d = cfg.nEmbd;
  const H = cfg.nHead;
  const hd = d / H;
  const pos = w.wpe.slice([0, 0], [T, d]); // [T, d]
  let x = tok.add(pos).reshape([B * T, d]) as tf.Tensor2D; // residual stream
  const mask = causalMask(T);
  const scale = 1 / Math.sqrt(hd);
  const attention: tf.Tensor4D[] = [];
  const hidden: tf.Tensor3D[] = [];
  for (const L of w.layers) {
    if (opts.hidden) hidden.push(x.reshape([B, T, d]) as tf.Tensor3D);
    const h = layerNorm(x, L.ln1g, L.ln1b, cfg.layerNormEpsilon);
    const heads = (m: tf.Tensor2D, b: tf.Tensor1D, perm: number[]) =>
      matmul(h, m).add(b).reshape([B, T, H, hd]).transpose(perm);
    const q = heads(L.wq, L.bq, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, hd]
    const kT = heads(L.wk, L.bk, [0, 2, 3, 1]) as tf.Tensor4D; // [B, H, hd, T]
    const v = heads(L.wv, L.bv, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, hd]
    const scores = matmul(q, kT).mul(scale).add(mask); // [B, H, T, T]
    const probs = tf.softmax(scores) as tf.Tensor4D;
    if (opts.attention) attention.push(probs);
    const ctx = matmul(probs, v).transpose([0, 2, 1, 3]).reshape([B * T, d]) as tf.Tensor2D;
    x = x.add(matmul(ctx, L.wo).add(L.bo)) as tf.Tensor2D;
    const h2 = layerNorm(x, L.ln2g, L.ln2b, cfg.layerNormEpsilon);
    const mlp = matmul(gelu(matmul(h2, L.wfc).add(L.bfc)), L.wproj).add(L.bproj);
    x = x.add(mlp) as tf.Tensor2D;
  }
  const final = layerNorm(x, w.lnfg, w.lnfb, cfg.layerNormEpsilon);
  if (opts.hidden) hidden.push(final.reshape([B, T, d]) as tf.Tensor3D);
  return { final, attention: opts.attention ? attention : undefined, hidden: opts.hidden ? hidden : undefined };
}

/** Hugging Face GPT-2 parameter names ("transformer.h.0.attn.c_attn.weight", Conv1D layout [in, out]). */
export function hfNamesToWeights(cfg: Gpt2Config, get: (name: string) => { shape: number[]; data: Float32Array }): Gpt2Weights {
  const d = cfg.nEmbd;
  const t1 = (n: string) => tf.tensor1d(get(n).data);
  const t2 = (n: string) => {
    const t = get(n);
    return tf.tensor2d(t.data, t.shape as [number, number]);
  };
  const layers: Gpt2Layer[] = [];
  for (let i = 0; i < cfg.nLayer; i++) {
    const p = `transformer.h.${i}.`;
    const cAttn = t2(p + "attn.c_attn.weight"); // [d, 3d]
    const cAttnB = t1(p + "attn.c_attn.bias"); // [3d]
    const [wq, wk, wv] = tf.split(cAttn, 3, 1) as tf.Tensor2D[];
    const [bq, bk, bv] = tf.split(cAttnB, 3, 0) as tf.Tensor1D[];
    cAttn.dispose();
    cAttnB.dispose();
    layers.push({
      ln1g: t1(p + "ln_1.weight"), ln1b: t1(p + "ln_1.bias"),
      wq, wk, wv, bq, bk, bv,
      wo: t2(p + "attn.c_proj.weight"), bo: t1(p + "attn.c_proj.bias"),
      ln2g: t1(p + "ln_2.weight"), ln2b: t1(p + "ln_2.bias"),
      wfc: t2(p + "mlp.c_fc.weight"), bfc: t1(p + "mlp.c_fc.bias"),
      wproj: t2(p + "mlp.c_proj.weight"), bproj: t1(p + "mlp.c_proj.bias"),
    });
  }
  void d;
  return { wte: t2("transformer.wte.weight"), wpe: t2("transformer.wpe.weight"), layers, lnfg: t1("transformer.ln_f.weight"), lnfb: t1("transformer.ln_f.bias") };
}

/** The inverse of hfNamesToWeights: c_attn is the concatenation [q | k | v] along the output axis. */
export function weightsToHfNames(w: Gpt2Weights): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (n: string, t: tf.Tensor) => out.set(n, { shape: t.shape.slice(), data: t.dataSync() as Float32Array });
  put("transformer.wte.weight", w.wte);
  put("transformer.wpe.weight", w.wpe);
  w.layers.forEach((L, i) => {
    const p = `transformer.h.${i}.`;
    put(p + "ln_1.weight", L.ln1g); put(p + "ln_1.bias", L.ln1b);
    tf.tidy(() => {
      put(p + "attn.c_attn.weight", tf.concat([L.wq, L.wk, L.wv], 1));
      put(p + "attn.c_attn.bias", tf.concat([L.bq, L.bk, L.bv], 0));
    });
    put(p + "attn.c_proj.weight", L.wo); put(p + "attn.c_proj.bias", L.bo);
    put(p + "ln_2.weight", L.ln2g); put(p + "ln_2.bias", L.ln2b);
    put(p + "mlp.c_fc.weight", L.wfc); put(p + "mlp.c_fc.bias", L.bfc);
    put(p + "mlp.c_proj.weight", L.wproj); put(p + "mlp.c_proj.bias", L.bproj);
  });
  put("transformer.ln_f.weight", w.lnfg);
  put("transformer.ln_f.bias", w.lnfb);
  return out;
}
