// The recovery of attention probabilities from com.microsoft fused attention operators
// (engine/formats/fusedAttention.ts) on graphs of one operator each: for GroupQueryAttention and
// MultiHeadAttention the copy's recomputed probabilities must equal the kernel's own (GQA's
// qk_output = 2 softmax output, MHA's qk output through a Softmax) under every attribute the
// recomputation handles (rotary halves or interleaved, packed QKV, a partial rotary width, softcap,
// attention_bias, a local window, a past, padding); the Attention operator (no QK output) against a
// float64 reference; and the nodes that cannot be recovered are named with the reason. Also the
// fused twins llamaExport writes (attention "gqa" / "mha") for a Qwen3-like checkpoint (q/k norms,
// q/k/v biases, one kv head, tied embeddings) against the plain export and a float64 forward pass.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { DataType, GraphBuilder, type AttrValue } from "../../engine/formats/onnxBuilder";
import { MS_DOMAIN, MS_OPSET } from "../../engine/formats/fusedExport";
import { exportLlamaOnnx, type LlamaExportConfig } from "../../engine/formats/llamaExport";
import { prepareProbe } from "../../engine/formats/onnxProbe";
import { flat, llamaReference, randomLlamaWeights, rng, type RefLlamaConfig } from "../checkpointReference";
import { tempDir } from "../helpers";

const FLOAT = DataType.FLOAT;
type Feeds = Record<string, ort.Tensor>;

function save(bytes: Uint8Array): string {
  const file = path.join(tempDir("fused-op"), "model.onnx");
  fs.writeFileSync(file, bytes);
  return file;
}

function random(seed: number, n: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** The probe copy of `file` in `mode`, run on `feeds`: its one attention output, and how it was taken. */
async function recovered(file: string, mode: "qk-output" | "recompute", feeds: Feeds) {
  const probe = prepareProbe(file, undefined, { mode });
  assert.equal(probe.attentionOutputs.length, 1, probe.attentionNote);
  const s = await ort.InferenceSession.create(probe.file);
  const out = await s.run(feeds, probe.attentionOutputs);
  await s.release();
  const t = out[probe.attentionOutputs[0]];
  return { data: t.data as Float32Array, dims: [...t.dims], source: probe.attentionSource, notes: probe.attentionNotes };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Every row over the visible keys sums to 1 and the causal future is 0 (keys past past + i). */
function checkRows(p: Float32Array, heads: number, S: number, T: number, past: number) {
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < S; i++) {
      const row = p.subarray((h * S + i) * T, (h * S + i + 1) * T);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      for (let j = past + i + 1; j < T; j++) assert.equal(row[j], 0);
    }
  }
}

// ---- GroupQueryAttention ----

interface GqaCase {
  label: string;
  S: number;
  P: number;
  attrs?: Record<string, AttrValue>;
  packed?: boolean;
  rotaryHalf?: number; // cos / sin cache width (head_dim / 2 unless partial)
  headDim?: number;
  bias?: boolean;
}

const H = 4;
const KV = 2;
const HEAD_DIM = 16;
const MAXPOS = 32;

function gqaGraph(c: GqaCase): { file: string; feeds: Feeds } {
  const HD = c.headDim ?? HEAD_DIM;
  const g = new GraphBuilder();
  const T = c.P + c.S;
  const feeds: Feeds = {};
  const input = (name: string, dims: number[], seed: number) => {
    g.input(name, FLOAT, dims);
    feeds[name] = new ort.Tensor("float32", random(seed, dims.reduce((a, b) => a * b, 1)), dims);
    return name;
  };
  const q = c.packed ? input("qkv", [1, c.S, (H + 2 * KV) * HD], 1) : input("q", [1, c.S, H * HD], 1);
  const k = c.packed ? "" : input("k", [1, c.S, KV * HD], 2);
  const v = c.packed ? "" : input("v", [1, c.S, KV * HD], 3);
  const pk = input("past_key", [1, KV, c.P, HD], 4);
  const pv = input("past_value", [1, KV, c.P, HD], 5);
  g.input("seqlens_k", DataType.INT32, [1]);
  g.input("total_sequence_length", DataType.INT32, []);
  feeds.seqlens_k = new ort.Tensor("int32", Int32Array.from([T - 1]), [1]);
  feeds.total_sequence_length = new ort.Tensor("int32", Int32Array.from([T]), []);
  const half = c.rotaryHalf ?? HD / 2;
  const cos = new Float32Array(MAXPOS * half);
  const sin = new Float32Array(MAXPOS * half);
  for (let p = 0; p < MAXPOS; p++) {
    for (let i = 0; i < half; i++) {
      const a = p / Math.pow(100, (2 * i) / (2 * half));
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  const bias = c.bias ? input("attention_bias", [1, 1, c.S, T], 6) : "";
  const inputs = [q, k, v, pk, pv, "seqlens_k", "total_sequence_length", g.weight("cos_cache", [MAXPOS, half], cos), g.weight("sin_cache", [MAXPOS, half], sin), "", bias];
  const outs = g.node("GroupQueryAttention", inputs, "gqa", { num_heads: H, kv_num_heads: KV, do_rotary: 1, ...c.attrs }, 3, MS_DOMAIN);
  g.output(outs[0], FLOAT, [1, c.S, H * HD]);
  g.output(outs[1], FLOAT, [1, KV, T, HD]);
  g.output(outs[2], FLOAT, [1, KV, T, HD]);
  return { file: save(g.model("gqa", 17, "test", {}, [MS_OPSET])), feeds };
}

const GQA_CASES: GqaCase[] = [
  { label: "a prompt, rotary halves", S: 5, P: 0 },
  { label: "3 tokens after a past of 4", S: 3, P: 4 },
  { label: "one token after a past of 6, custom scale", S: 1, P: 6, attrs: { scale: { float: 0.31 } } },
  { label: "rotary interleaved", S: 3, P: 2, attrs: { rotary_interleaved: 1 } },
  { label: "packed QKV", S: 4, P: 2, packed: true },
  { label: "a partial rotary width (16 of 32)", S: 3, P: 3, headDim: 32, rotaryHalf: 8 },
  { label: "no rotary", S: 3, P: 2, attrs: { do_rotary: 0 } },
  { label: "softcap, attention_bias and a local window of 3", S: 4, P: 3, attrs: { softcap: { float: 1.5 }, local_window_size: 3 }, bias: true },
];

for (const c of GQA_CASES) {
  test(`GroupQueryAttention, ${c.label}: the recomputed probabilities are the kernel's own (qk_output = 2)`, async () => {
    const { file, feeds } = gqaGraph(c);
    const own = await recovered(file, "qk-output", feeds);
    const re = await recovered(file, "recompute", feeds);
    assert.equal(own.source, "qk-output");
    assert.equal(re.source, "recomputed");
    const T = c.P + c.S;
    assert.deepEqual(own.dims, [1, H, c.S, T]);
    assert.deepEqual(re.dims, [1, H, c.S, T]);
    checkRows(re.data, H, c.S, T, c.P);
    const d = maxDiff(re.data, own.data);
    assert.ok(d <= 1e-5, `recomputed vs the kernel's: ${d}`);
    // not vacuous: rows are not uniform
    assert.ok(Math.max(...re.data) > 1.5 / T);
    if (c.attrs?.local_window_size) {
      // the window: query i (position P + i) sees keys P + i - 2 .. P + i only
      for (let i = 0; i < c.S; i++) for (let j = 0; j < c.P + i - 2; j++) assert.equal(re.data[i * T + j], 0);
    }
  });
}

test("GroupQueryAttention, a prompt: the kernel's qk_output = 2 output is softmax(rotated q · present keys × scale) under the causal mask (float64 reference)", async () => {
  const c: GqaCase = { label: "", S: 5, P: 0 };
  const HD = HEAD_DIM;
  const { file, feeds } = gqaGraph(c);
  const s = await ort.InferenceSession.create(file);
  const run = await s.run(feeds);
  const presentKey = run[s.outputNames[1]].data as Float32Array; // rotated by the kernel
  const own = await recovered(file, "qk-output", feeds);
  const qd = feeds.q.data as Float32Array;
  const ref: number[] = [];
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < c.S; i++) {
      const q = Array.from({ length: HD }, (_, d) => qd[i * H * HD + h * HD + d]);
      const r = q.map((x, d) => {
        const j = d % (HD / 2);
        const a = i / Math.pow(100, (2 * j) / HD);
        return d < HD / 2 ? x * Math.cos(a) - q[d + HD / 2] * Math.sin(a) : x * Math.cos(a) + q[d - HD / 2] * Math.sin(a);
      });
      const kv = Math.floor(h / (H / KV));
      const scores = Array.from({ length: c.S }, (_, j) => (j > i ? -Infinity : r.reduce((acc, x, d) => acc + x * presentKey[(kv * c.S + j) * HD + d], 0) / Math.sqrt(HD)));
      const m = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      ref.push(...e.map((x) => x / z));
    }
  }
  const d = maxDiff(own.data, ref);
  assert.ok(d < 1e-5, `${d}`);
});

// ---- MultiHeadAttention ----

function mhaGraph(opts: { S: number; P: number; padded?: number; bias?: boolean; projBias?: boolean; unidirectional?: boolean }): { file: string; feeds: Feeds } {
  const N = 2;
  const hd = 8;
  const D = N * hd;
  const g = new GraphBuilder();
  const T = opts.P + opts.S;
  const feeds: Feeds = {};
  const input = (name: string, dims: number[], seed: number) => {
    g.input(name, FLOAT, dims);
    feeds[name] = new ort.Tensor("float32", random(seed, dims.reduce((a, b) => a * b, 1), 2), dims);
    return name;
  };
  const q = input("q", [1, opts.S, D], 11);
  const k = input("k", [1, opts.S, D], 12);
  const v = input("v", [1, opts.S, D], 13);
  const projBias = opts.projBias ? g.weight("proj_bias", [3 * D], random(14, 3 * D)) : "";
  let padMask = "";
  if (opts.padded !== undefined) {
    g.input("key_padding_mask", DataType.INT32, [1, T]);
    feeds.key_padding_mask = new ort.Tensor("int32", Int32Array.from({ length: T }, (_, j) => (j === opts.padded ? 0 : 1)), [1, T]);
    padMask = "key_padding_mask";
  }
  const bias = opts.bias ? input("attention_bias", [1, N, opts.S, T], 15) : "";
  const pk = input("past_key", [1, N, opts.P, hd], 16);
  const pv = input("past_value", [1, N, opts.P, hd], 17);
  const outs = g.node("MultiHeadAttention", [q, k, v, projBias, padMask, bias, pk, pv], "mha", { num_heads: N, ...(opts.unidirectional ? { unidirectional: 1 } : {}) }, 3, MS_DOMAIN);
  g.output(outs[0], FLOAT, [1, opts.S, D]);
  g.output(outs[1], FLOAT, [1, N, T, hd]);
  g.output(outs[2], FLOAT, [1, N, T, hd]);
  return { file: save(g.model("mha", 17, "test", {}, [MS_OPSET])), feeds };
}

for (const [label, opts] of [
  ["causal after a past of 3, with the projection bias", { S: 3, P: 3, unidirectional: true, projBias: true }],
  ["causal, attention_bias and a padded key", { S: 4, P: 2, unidirectional: true, bias: true, padded: 1 }],
  ["bidirectional, a padded key", { S: 4, P: 0, padded: 2 }],
] as const) {
  test(`MultiHeadAttention, ${label}: the recomputed probabilities are its qk output through a Softmax`, async () => {
    const { file, feeds } = mhaGraph(opts);
    const own = await recovered(file, "qk-output", feeds);
    const re = await recovered(file, "recompute", feeds);
    const T = opts.P + opts.S;
    assert.deepEqual(re.dims, [1, 2, opts.S, T]);
    const d = maxDiff(re.data, own.data);
    assert.ok(d <= 1e-5, `recomputed vs the kernel's: ${d}`);
    if (opts.unidirectional) checkRows(re.data, 2, opts.S, T, opts.P);
    if ("padded" in opts) for (let r = 0; r < 2 * opts.S; r++) assert.ok(re.data[r * T + opts.padded] < 1e-6);
  });
}

// ---- Attention (packed weights; no QK output) ----

function attentionGraph(opts: { S: number; P: number; attrs?: Record<string, AttrValue>; mask1d?: boolean }) {
  const N = 2;
  const hd = 8;
  const D = N * hd;
  const Din = 12;
  const T = opts.P + opts.S;
  const g = new GraphBuilder();
  const x = random(21, opts.S * Din);
  const W = random(22, Din * 3 * D, 0.5);
  const b = random(23, 3 * D, 0.2);
  const past = random(24, 2 * N * opts.P * hd);
  g.input("x", FLOAT, [1, opts.S, Din]);
  g.input("attention_mask", DataType.INT64, opts.mask1d ? [1] : [1, T]);
  g.input("past", FLOAT, [2, 1, N, opts.P, hd]);
  const mask = g.op("Cast", ["attention_mask"], "mask/Cast", { to: DataType.INT32 });
  const outs = g.node("Attention", ["x", g.weight("W", [Din, 3 * D], W), g.weight("b", [3 * D], b), mask, "past"], "attention", { num_heads: N, unidirectional: 1, ...opts.attrs }, 2, MS_DOMAIN);
  g.output(outs[0], FLOAT, [1, opts.S, D]);
  g.output(outs[1], FLOAT, [2, 1, N, T, hd]);
  const maskValues = opts.mask1d ? [T] : Array.from({ length: T }, (_, j) => (j === 1 ? 0 : 1));
  const feeds: Feeds = {
    x: new ort.Tensor("float32", x, [1, opts.S, Din]),
    attention_mask: new ort.Tensor("int64", BigInt64Array.from(maskValues, (m) => BigInt(m)), opts.mask1d ? [1] : [1, T]),
    past: new ort.Tensor("float32", past, [2, 1, N, opts.P, hd]),
  };
  // float64 reference: q, k = x W + b; keys = past keys then the new ones; causal and the mask
  const proj = (i: number, col: number) => b[col] + Array.from({ length: Din }, (_, r) => x[i * Din + r] * W[r * 3 * D + col]).reduce((a, c) => a + c, 0);
  const ref: number[] = [];
  for (let h = 0; h < N; h++) {
    for (let i = 0; i < opts.S; i++) {
      const q = Array.from({ length: hd }, (_, d) => proj(i, h * hd + d));
      const key = (j: number) => Array.from({ length: hd }, (_, d) => (j < opts.P ? past[((0 * N + h) * opts.P + j) * hd + d] : proj(j - opts.P, D + h * hd + d)));
      const scores = Array.from({ length: T }, (_, j) => (j > opts.P + i || maskValues[j] === 0 ? -Infinity : key(j).reduce((a, kd, d) => a + kd * q[d], 0) / Math.sqrt(hd)));
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, c) => a + c, 0);
      ref.push(...e.map((s) => s / z));
    }
  }
  return { file: save(g.model("attention", 17, "test", {}, [MS_OPSET])), feeds, ref };
}

test("Attention (packed QKV weights, a past of 3, a 0/1 mask with key 1 masked, causal): recomputed from input @ weights + bias and its present, as a float64 reference", async () => {
  const { file, feeds, ref } = attentionGraph({ S: 3, P: 3 });
  const re = await recovered(file, "recompute", feeds);
  assert.equal(re.source, "recomputed");
  assert.deepEqual(re.dims, [1, 2, 3, 6]);
  const d = maxDiff(re.data, ref);
  assert.ok(d < 1e-5, `${d}`);
  assert.match(re.notes!.join("\n"), /node "attention" \(Attention\): recomputed/);
  // auto takes the same path: the operator has no QK output
  const auto = prepareProbe(file, undefined, { mode: "auto" });
  assert.equal(auto.attentionSource, "recomputed");
  // the model's own output is untouched by the copy
  const s = await ort.InferenceSession.create(prepareProbe(file, undefined).file);
  const a = await s.run(feeds);
  const s0 = await ort.InferenceSession.create(file);
  const b = await s0.run(feeds);
  assert.equal(maxDiff(a[s0.outputNames[0]].data as Float32Array, b[s0.outputNames[0]].data as Float32Array), 0);
});

for (const [label, opts, why] of [
  ["do_rotary = 1", { S: 2, P: 1, attrs: { do_rotary: 1 } }, /do_rotary = 1 is not recomputed/],
  ["a 1-D mask_index", { S: 2, P: 1, mask1d: true }, /mask_index of rank 1 \(only a raw \[batch, total\] 0\/1 mask is/],
] as const) {
  test(`Attention with ${label}: not recovered, the note names the node and why; the copy keeps its graph outputs`, () => {
    const { file } = attentionGraph(opts);
    const probe = prepareProbe(file, undefined);
    assert.deepEqual(probe.attentionOutputs, []);
    assert.equal(probe.attentionSource, undefined);
    assert.match(probe.attentionNote!, /the attention of its 1 fused attention operators was not recovered: node "attention" \(Attention\): the Attention operator has no QK output, and /);
    assert.match(probe.attentionNote!, why);
  });
}

test("forced qk-output on an Attention node: not recovered (it has no QK output)", () => {
  const { file } = attentionGraph({ S: 2, P: 1 });
  const probe = prepareProbe(file, undefined, { mode: "qk-output" });
  assert.deepEqual(probe.attentionOutputs, []);
  assert.match(probe.attentionNote!, /node "attention" \(Attention\): the Attention operator has no QK output/);
});

test("GroupQueryAttention under CUDA (no qk_output there): auto recomputes instead", () => {
  const { file } = gqaGraph({ label: "", S: 3, P: 2 });
  const probe = prepareProbe(file, undefined, { mode: "auto", cuda: true });
  assert.equal(probe.attentionSource, "recomputed");
  const cpu = prepareProbe(file, undefined, { mode: "auto" });
  assert.equal(cpu.attentionSource, "qk-output");
  assert.notEqual(probe.file, cpu.file, "the two copies are cached apart");
});

// ---- the fused twins llamaExport writes ----

const QWEN3ISH: RefLlamaConfig = { vocab: 29, d: 48, inter: 40, layers: 2, heads: 3, kvHeads: 1, headDim: 16, eps: 1e-6, theta: 1e4, tied: true };
const IDS = [3, 17, 0, 9, 22, 5, 11, 28];

function twinCfg(c: RefLlamaConfig): LlamaExportConfig {
  return { model_type: "qwen3", vocab_size: c.vocab, hidden_size: c.d, intermediate_size: c.inter, num_hidden_layers: c.layers, num_attention_heads: c.heads, num_key_value_heads: c.kvHeads, head_dim: c.headDim, rms_norm_eps: c.eps, rope_theta: c.theta, max_position_embeddings: 64, tie_word_embeddings: c.tied, qkv_bias: true, qk_norm: true };
}

test("llamaExport's fused twins (GroupQueryAttention, MultiHeadAttention) of a Qwen3-like checkpoint: the plain export's logits (<= 1e-4) with and without a KV cache; the recovered attention is the float64 reference's (<= 1e-5)", async () => {
  const W = randomLlamaWeights(QWEN3ISH, 5, { qkvBias: true, qkNorm: true });
  const weight = (n: string) => W.get(n)!;
  const ref = llamaReference(QWEN3ISH, W, IDS);
  const int64 = (v: number[]) => new ort.Tensor("int64", BigInt64Array.from(v, (x) => BigInt(x)), [1, v.length]);
  const worst = { attention: 0, logits: 0 };
  for (const kvCache of [false, true]) {
    const logits: Record<string, Float32Array> = {};
    for (const attention of ["plain", "gqa", "mha"] as const) {
      const file = save(exportLlamaOnnx(twinCfg(QWEN3ISH), weight, {}, { attention, kvCache }));
      for (const mode of attention === "plain" ? (["auto"] as const) : (["qk-output", "recompute"] as const)) {
        const probe = prepareProbe(file, undefined, { mode });
        assert.equal(probe.attentionSource, attention === "plain" ? "softmax" : mode === "recompute" ? "recomputed" : "qk-output");
        const s = await ort.InferenceSession.create(probe.file);
        const feeds: Feeds = { input_ids: int64(IDS), attention_mask: int64(IDS.map(() => 1)) };
        if (s.inputNames.includes("position_ids")) feeds.position_ids = int64(IDS.map((_, i) => i));
        for (const name of s.inputNames.filter((n) => n.startsWith("past_key_values."))) feeds[name] = new ort.Tensor("float32", new Float32Array(0), [1, QWEN3ISH.kvHeads, 0, QWEN3ISH.headDim]);
        const out = await s.run(feeds);
        await s.release();
        logits[attention] = out.logits.data as Float32Array;
        const att = Float32Array.from(probe.attentionOutputs.flatMap((n) => [...(out[n].data as Float32Array)]));
        const dAtt = maxDiff(att, flat(ref.attention));
        assert.ok(dAtt <= 1e-5, `${attention} (${mode}), kvCache ${kvCache}: attention differs from the reference by ${dAtt}`);
        worst.attention = Math.max(worst.attention, dAtt);
      }
    }
    for (const attention of ["gqa", "mha"]) {
      const d = maxDiff(logits[attention], logits.plain);
      assert.ok(d <= 1e-4, `${attention}, kvCache ${kvCache}: logits differ from the plain export's by ${d}`);
      worst.logits = Math.max(worst.logits, d);
    }
    assert.ok(maxDiff(logits.plain, flat(ref.logits)) <= 1e-4);
  }
  console.log(`qwen3-like twins: logits vs plain ${worst.logits.toExponential(2)}, attention vs float64 ${worst.attention.toExponential(2)}`);
});

test("llamaExport refuses a GroupQueryAttention twin the CPU kernel cannot run (head_dim not a multiple of 16)", () => {
  const c = { ...QWEN3ISH, d: 24, headDim: 8 };
  const W = randomLlamaWeights(c, 6, { qkvBias: true, qkNorm: true });
  assert.throws(() => exportLlamaOnnx(twinCfg(c), (n) => W.get(n)!, {}, { attention: "gqa" }), /GroupQueryAttention needs head_dim to be a multiple of 16/);
});
