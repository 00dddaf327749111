// Independent forward passes (plain loops in float64, one sequence, no cache) of the architectures
// the checkpoint exporters build, written from the Hugging Face modeling code, and what the tests
// of those exporters share: random weights, running an exported graph with its attention
// probabilities as extra outputs.
import { seededRandom } from "../engine/random";
import * as fs from "node:fs";
import { onnx } from "onnx-proto";
import type * as ortTypes from "onnxruntime-node";

export type Tensor = { shape: number[]; data: Float32Array };
export type Weights = Map<string, Tensor>;

/** A seeded uniform generator in [-1, 1) (mulberry32, engine/random.ts). */
export function rng(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() * 2 - 1;
}

export function randomTensor(rand: () => number, shape: number[], scale: number, offset = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = offset + scale * rand();
  return { shape, data };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ---- small float64 helpers ----

export type Mat = Float64Array[]; // rows

function get(W: Weights, name: string): Tensor {
  const t = W.get(name);
  if (!t) throw new Error(`reference: no weight ${name}`);
  return t;
}

/** y = x Wᵀ + b for a torch Linear weight [out, in]. */
function linear(x: Mat, w: Tensor, b?: Tensor): Mat {
  const [out, inDim] = w.shape;
  return x.map((row) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < inDim; i++) s += row[i] * w.data[o * inDim + i];
      y[o] = s;
    }
    return y;
  });
}

function rmsNormRow(row: Float64Array, w: Tensor, eps: number, from = 0, width = row.length): void {
  let ms = 0;
  for (let i = 0; i < width; i++) ms += row[from + i] * row[from + i];
  const inv = 1 / Math.sqrt(ms / width + eps);
  for (let i = 0; i < width; i++) row[from + i] = row[from + i] * inv * w.data[i];
}

function layerNorm(x: Mat, w: Tensor, b: Tensor, eps: number): Mat {
  return x.map((row) => {
    const n = row.length;
    let mean = 0;
    for (const v of row) mean += v;
    mean /= n;
    let variance = 0;
    for (const v of row) variance += (v - mean) ** 2;
    variance /= n;
    const inv = 1 / Math.sqrt(variance + eps);
    return row.map((v, i) => (v - mean) * inv * w.data[i] + b.data[i]);
  });
}

function softmaxInPlace(v: Float64Array, allowed: (j: number) => boolean): void {
  let max = -Infinity;
  for (let j = 0; j < v.length; j++) if (allowed(j)) max = Math.max(max, v[j]);
  let sum = 0;
  for (let j = 0; j < v.length; j++) {
    v[j] = allowed(j) ? Math.exp(v[j] - max) : 0;
    sum += v[j];
  }
  for (let j = 0; j < v.length; j++) v[j] /= sum;
}

const add = (a: Mat, b: Mat): Mat => a.map((row, t) => row.map((v, i) => v + b[t][i]));

// ---- Llama family ----

export interface RefLlamaConfig {
  vocab: number;
  d: number;
  inter: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  theta: number;
  rotaryFraction?: number;
  scaling?: { type: "linear"; factor: number } | { type: "llama3"; factor: number; low: number; high: number; original: number };
  tied: boolean;
  window?: number;
}

/** inv_freq in float64, as Hugging Face's rope init functions describe it. */
export function refInvFreq(c: RefLlamaConfig): number[] {
  const rot = Math.floor(c.headDim * (c.rotaryFraction ?? 1));
  const inv = Array.from({ length: rot / 2 }, (_, i) => Math.pow(c.theta, -(2 * i) / rot));
  const s = c.scaling;
  if (!s) return inv;
  if (s.type === "linear") return inv.map((f) => f / s.factor);
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < s.original / s.high) return f; // high frequency: kept
    if (wavelen > s.original / s.low) return f / s.factor; // low frequency: scaled
    const smooth = (s.original / wavelen - s.low) / (s.high - s.low);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** Logits [T][vocab] and attention [layer][head][q][k] of one sequence (positions 0..T-1). */
export function llamaReference(c: RefLlamaConfig, W: Weights, ids: number[]): { logits: Mat; attention: number[][][][] } {
  const T = ids.length;
  const { d, heads: H, kvHeads: KV, headDim: hd } = c;
  const nRep = H / KV;
  const rot = Math.floor(hd * (c.rotaryFraction ?? 1));
  const inv = refInvFreq(c);
  const emb = get(W, "model.embed_tokens.weight");
  let x: Mat = ids.map((id) => Float64Array.from(emb.data.subarray(id * d, (id + 1) * d)));
  const rope = (v: Float64Array, from: number, pos: number) => {
    for (let j = 0; j < rot / 2; j++) {
      const a = v[from + j];
      const b = v[from + j + rot / 2];
      const cs = Math.cos(pos * inv[j]);
      const sn = Math.sin(pos * inv[j]);
      v[from + j] = a * cs - b * sn;
      v[from + j + rot / 2] = b * cs + a * sn;
    }
  };
  const attention: number[][][][] = [];
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    const h = x.map((r) => Float64Array.from(r));
    for (const r of h) rmsNormRow(r, get(W, p + "input_layernorm.weight"), c.eps);
    const q = linear(h, get(W, p + "self_attn.q_proj.weight"), W.get(p + "self_attn.q_proj.bias"));
    const k = linear(h, get(W, p + "self_attn.k_proj.weight"), W.get(p + "self_attn.k_proj.bias"));
    const v = linear(h, get(W, p + "self_attn.v_proj.weight"), W.get(p + "self_attn.v_proj.bias"));
    for (let t = 0; t < T; t++) {
      for (let hh = 0; hh < H; hh++) {
        if (W.has(p + "self_attn.q_norm.weight")) rmsNormRow(q[t], get(W, p + "self_attn.q_norm.weight"), c.eps, hh * hd, hd);
        rope(q[t], hh * hd, t);
      }
      for (let hh = 0; hh < KV; hh++) {
        if (W.has(p + "self_attn.k_norm.weight")) rmsNormRow(k[t], get(W, p + "self_attn.k_norm.weight"), c.eps, hh * hd, hd);
        rope(k[t], hh * hd, t);
      }
    }
    const ctx: Mat = Array.from({ length: T }, () => new Float64Array(H * hd));
    const layerAtt: number[][][] = [];
    for (let hh = 0; hh < H; hh++) {
      const kvh = Math.floor(hh / nRep);
      const headAtt: number[][] = [];
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(T);
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[i][hh * hd + e] * k[j][kvh * hd + e];
          s[j] = dot / Math.sqrt(hd);
        }
        softmaxInPlace(s, (j) => j <= i && (c.window === undefined || i - j < c.window));
        headAtt.push([...s]);
        for (let j = 0; j < T; j++) for (let e = 0; e < hd; e++) ctx[i][hh * hd + e] += s[j] * v[j][kvh * hd + e];
      }
      layerAtt.push(headAtt);
    }
    attention.push(layerAtt);
    x = add(x, linear(ctx, get(W, p + "self_attn.o_proj.weight"), W.get(p + "self_attn.o_proj.bias")));
    const h2 = x.map((r) => Float64Array.from(r));
    for (const r of h2) rmsNormRow(r, get(W, p + "post_attention_layernorm.weight"), c.eps);
    const gate = linear(h2, get(W, p + "mlp.gate_proj.weight"));
    const up = linear(h2, get(W, p + "mlp.up_proj.weight"));
    const act = gate.map((r, t) => r.map((g, i) => (g / (1 + Math.exp(-g))) * up[t][i]));
    x = add(x, linear(act, get(W, p + "mlp.down_proj.weight")));
  }
  for (const r of x) rmsNormRow(r, get(W, "model.norm.weight"), c.eps);
  const head = c.tied ? emb : get(W, "lm_head.weight");
  return { logits: linear(x, head), attention };
}

/** Random weights of a Llama-shaped checkpoint (Hugging Face names, torch layout). */
export function randomLlamaWeights(c: RefLlamaConfig, seed: number, extras: { qkvBias?: boolean; qkNorm?: boolean } = {}): Weights {
  const r = rng(seed);
  const W: Weights = new Map();
  const { d, heads: H, kvHeads: KV, headDim: hd, inter } = c;
  const put = (name: string, shape: number[], scale: number, offset = 0) => W.set(name, randomTensor(r, shape, scale, offset));
  put("model.embed_tokens.weight", [c.vocab, d], 1);
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    put(p + "input_layernorm.weight", [d], 0.2, 1);
    put(p + "self_attn.q_proj.weight", [H * hd, d], 0.6);
    put(p + "self_attn.k_proj.weight", [KV * hd, d], 0.6);
    put(p + "self_attn.v_proj.weight", [KV * hd, d], 0.5);
    put(p + "self_attn.o_proj.weight", [d, H * hd], 0.3);
    if (extras.qkvBias) {
      put(p + "self_attn.q_proj.bias", [H * hd], 0.3);
      put(p + "self_attn.k_proj.bias", [KV * hd], 0.3);
      put(p + "self_attn.v_proj.bias", [KV * hd], 0.3);
    }
    if (extras.qkNorm) {
      put(p + "self_attn.q_norm.weight", [hd], 0.3, 1);
      put(p + "self_attn.k_norm.weight", [hd], 0.3, 1);
    }
    put(p + "post_attention_layernorm.weight", [d], 0.2, 1);
    put(p + "mlp.gate_proj.weight", [inter, d], 0.4);
    put(p + "mlp.up_proj.weight", [inter, d], 0.4);
    put(p + "mlp.down_proj.weight", [d, inter], 0.3);
  }
  put("model.norm.weight", [d], 0.2, 1);
  if (!c.tied) put("lm_head.weight", [c.vocab, d], 0.5);
  return W;
}

// ---- BERT ----

export interface RefBertConfig {
  vocab: number;
  d: number;
  inter: number;
  layers: number;
  heads: number;
  eps: number;
  maxPositions: number;
  typeVocab: number;
  /** RoBERTa: positions count from padding_idx + 1 over the non-padding tokens. */
  paddingIdx?: number;
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** erf to ~1e-15 (series near 0, continued fraction beyond). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term) < 1e-17) break;
    }
    return Math.sign(x) * sum * (2 / Math.sqrt(Math.PI));
  }
  // erfc by a continued fraction (Lentz)
  let f = ax;
  let C = ax;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    D = ax + a * D;
    D = 1 / D;
    C = ax + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}

/** BertForMaskedLM (or RobertaForMaskedLM with `paddingIdx`) on one sequence; names with the "bert." prefix and cls.predictions head. */
export function bertReference(c: RefBertConfig, W: Weights, ids: number[], typeIds: number[], mask: number[]): { logits: Mat; attention: number[][][][] } {
  const T = ids.length;
  const { d, heads: H } = c;
  const hd = d / H;
  const wte = get(W, "bert.embeddings.word_embeddings.weight");
  const wpe = get(W, "bert.embeddings.position_embeddings.weight");
  const tte = get(W, "bert.embeddings.token_type_embeddings.weight");
  let running = 0;
  const positions = ids.map((id, t) => {
    if (c.paddingIdx === undefined) return t;
    if (id === c.paddingIdx) return c.paddingIdx;
    running++;
    return c.paddingIdx + running;
  });
  let x: Mat = ids.map((id, t) => {
    const row = new Float64Array(d);
    for (let i = 0; i < d; i++) row[i] = wte.data[id * d + i] + tte.data[typeIds[t] * d + i] + wpe.data[positions[t] * d + i];
    return row;
  });
  x = layerNorm(x, get(W, "bert.embeddings.LayerNorm.weight"), get(W, "bert.embeddings.LayerNorm.bias"), c.eps);
  const attention: number[][][][] = [];
  for (let l = 0; l < c.layers; l++) {
    const p = `bert.encoder.layer.${l}.`;
    const q = linear(x, get(W, p + "attention.self.query.weight"), get(W, p + "attention.self.query.bias"));
    const k = linear(x, get(W, p + "attention.self.key.weight"), get(W, p + "attention.self.key.bias"));
    const v = linear(x, get(W, p + "attention.self.value.weight"), get(W, p + "attention.self.value.bias"));
    const ctx: Mat = Array.from({ length: T }, () => new Float64Array(d));
    const layerAtt: number[][][] = [];
    for (let hh = 0; hh < H; hh++) {
      const headAtt: number[][] = [];
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(T);
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[i][hh * hd + e] * k[j][hh * hd + e];
          s[j] = dot / Math.sqrt(hd);
        }
        softmaxInPlace(s, (j) => mask[j] === 1);
        headAtt.push([...s]);
        for (let j = 0; j < T; j++) for (let e = 0; e < hd; e++) ctx[i][hh * hd + e] += s[j] * v[j][hh * hd + e];
      }
      layerAtt.push(headAtt);
    }
    attention.push(layerAtt);
    const attnOut = layerNorm(add(linear(ctx, get(W, p + "attention.output.dense.weight"), get(W, p + "attention.output.dense.bias")), x), get(W, p + "attention.output.LayerNorm.weight"), get(W, p + "attention.output.LayerNorm.bias"), c.eps);
    const inter = linear(attnOut, get(W, p + "intermediate.dense.weight"), get(W, p + "intermediate.dense.bias")).map((r) => r.map(gelu));
    x = layerNorm(add(linear(inter, get(W, p + "output.dense.weight"), get(W, p + "output.dense.bias")), attnOut), get(W, p + "output.LayerNorm.weight"), get(W, p + "output.LayerNorm.bias"), c.eps);
  }
  let t: Mat = linear(x, get(W, "cls.predictions.transform.dense.weight"), get(W, "cls.predictions.transform.dense.bias")).map((r) => r.map(gelu));
  t = layerNorm(t, get(W, "cls.predictions.transform.LayerNorm.weight"), get(W, "cls.predictions.transform.LayerNorm.bias"), c.eps);
  return { logits: linear(t, wte, get(W, "cls.predictions.bias")), attention };
}

export function randomBertWeights(c: RefBertConfig, seed: number): Weights {
  const r = rng(seed);
  const W: Weights = new Map();
  const { d, inter } = c;
  const put = (name: string, shape: number[], scale: number, offset = 0) => W.set(name, randomTensor(r, shape, scale, offset));
  put("bert.embeddings.word_embeddings.weight", [c.vocab, d], 1);
  put("bert.embeddings.position_embeddings.weight", [c.maxPositions, d], 0.5);
  put("bert.embeddings.token_type_embeddings.weight", [c.typeVocab, d], 0.5);
  put("bert.embeddings.LayerNorm.weight", [d], 0.2, 1);
  put("bert.embeddings.LayerNorm.bias", [d], 0.1);
  for (let l = 0; l < c.layers; l++) {
    const p = `bert.encoder.layer.${l}.`;
    for (const m of ["query", "key", "value"]) {
      put(`${p}attention.self.${m}.weight`, [d, d], 0.6);
      put(`${p}attention.self.${m}.bias`, [d], 0.2);
    }
    put(p + "attention.output.dense.weight", [d, d], 0.4);
    put(p + "attention.output.dense.bias", [d], 0.1);
    put(p + "attention.output.LayerNorm.weight", [d], 0.2, 1);
    put(p + "attention.output.LayerNorm.bias", [d], 0.1);
    put(p + "intermediate.dense.weight", [inter, d], 0.5);
    put(p + "intermediate.dense.bias", [inter], 0.2);
    put(p + "output.dense.weight", [d, inter], 0.3);
    put(p + "output.dense.bias", [d], 0.1);
    put(p + "output.LayerNorm.weight", [d], 0.2, 1);
    put(p + "output.LayerNorm.bias", [d], 0.1);
  }
  put("cls.predictions.transform.dense.weight", [d, d], 0.5);
  put("cls.predictions.transform.dense.bias", [d], 0.1);
  put("cls.predictions.transform.LayerNorm.weight", [d], 0.2, 1);
  put("cls.predictions.transform.LayerNorm.bias", [d], 0.1);
  put("cls.predictions.bias", [c.vocab], 0.3);
  return W;
}

// ---- running an exported graph ----

/**
 * The graph with each attention Softmax (one whose output is the left operand of a MatMul, the rule
 * the engine's probe uses) as an extra output; returns the bytes and those outputs' names in order.
 */
export function withAttentionOutputs(bytes: Uint8Array): { bytes: Uint8Array; attention: string[] } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const attention: string[] = [];
  for (const n of graph.node!) {
    if (n.opType !== "Softmax") continue;
    const out = n.output![0];
    if (graph.node!.some((c) => c.opType === "MatMul" && c.input![0] === out)) attention.push(out);
  }
  for (const name of attention) graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  return { bytes: onnx.ModelProto.encode(model).finish(), attention };
}

export function int64Tensor(ort: typeof ortTypes, rows: number[][]): ortTypes.Tensor {
  return new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
}

/** The attention of batch row `b` of a [B, H, Q, K] output as [h][q][k]. */
export function attentionRows(t: ortTypes.Tensor, b = 0): number[][][] {
  const [, H, Q, K] = t.dims;
  const data = t.data as Float32Array;
  return Array.from({ length: H }, (_, h) => Array.from({ length: Q }, (_, q) => Array.from(data.subarray(((b * H + h) * Q + q) * K, ((b * H + h) * Q + q + 1) * K))));
}

export function flat(x: number[][][] | number[][][][] | Float64Array[] | number[][]): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "number") out.push(v);
    else for (const e of v as Iterable<unknown>) walk(e);
  };
  walk(x);
  return out;
}

// ---- checkpoint files ----

/**
 * The tensors of one model.safetensors as the exporters' weights interface, decoding F32, F16 and
 * BF16 (a BF16 value is the top 16 bits of a float32: bits << 16), for the tests alone.
 */
export function safetensorsWeights(file: string): { names(): string[]; shape(n: string): number[]; read(n: string): Float32Array; dtypes: Set<string> } {
  const buf = fs.readFileSync(file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  delete header.__metadata__;
  const base = 8 + headerLen;
  const dtypes = new Set(Object.values(header).map((h) => h.dtype));
  const info = (n: string) => {
    const h = header[n];
    if (!h) throw new Error(`${file}: no tensor ${n}`);
    return h;
  };
  return {
    dtypes,
    names: () => Object.keys(header),
    shape: (n) => info(n).shape,
    read: (n) => {
      const { dtype, data_offsets: [a, b] } = info(n);
      const bytes = new Uint8Array(buf.subarray(base + a, base + b));
      if (dtype === "F32") return new Float32Array(bytes.buffer);
      const halves = new Uint16Array(bytes.buffer);
      const out = new Float32Array(halves.length);
      if (dtype === "BF16") {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
        return out;
      }
      if (dtype === "F16") {
        for (let i = 0; i < halves.length; i++) {
          const h = halves[i];
          const e = (h >> 10) & 0x1f;
          const m = h & 0x3ff;
          const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
          out[i] = h & 0x8000 ? -v : v;
        }
        return out;
      }
      throw new Error(`${file}: tensor ${n} has dtype ${dtype}`);
    },
  };
}
