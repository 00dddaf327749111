// The Llama-shaped exporter against an independent float64 forward pass (test/checkpointReference.ts)
// on tiny random checkpoints: grouped-query and multi-query attention, the "llama3" and "linear"
// rotary scalings, Qwen2's q/k/v biases, Qwen3's q_norm / k_norm, Phi-3's fused projections with a
// partial rotary embedding and a sliding window; the KV cache and left padding against the full
// sequence; and llamaConfigFrom's checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { EngineError } from "../../protocol/errors";
import { checkpointToOnnx } from "../../engine/formats/checkpointExport";
import { prepareLens } from "../../engine/formats/onnxLens";
import { exportLlamaOnnx, llamaConfigFrom, ropeInvFreq, type LlamaExportConfig } from "../../engine/formats/llamaExport";
import { attentionRows, flat, int64Tensor, llamaReference, maxAbsDiff, randomLlamaWeights, refInvFreq, safetensorsWeights, type RefLlamaConfig, type Weights, withAttentionOutputs } from "../checkpointReference";
import { ROOT } from "../helpers";

const IDS = [3, 17, 0, 9, 22, 5, 11];

function exportCfg(c: RefLlamaConfig): LlamaExportConfig {
  return {
    vocab_size: c.vocab,
    hidden_size: c.d,
    intermediate_size: c.inter,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    rms_norm_eps: c.eps,
    rope_theta: c.theta,
    rope_scaling:
      c.scaling?.type === "linear"
        ? { rope_type: "linear", factor: c.scaling.factor }
        : c.scaling?.type === "llama3"
          ? { rope_type: "llama3", factor: c.scaling.factor, low_freq_factor: c.scaling.low, high_freq_factor: c.scaling.high, original_max_position_embeddings: c.scaling.original }
          : null,
    partial_rotary_factor: c.rotaryFraction ?? 1,
    max_position_embeddings: 64,
    tie_word_embeddings: c.tied,
    ...(c.window ? { sliding_windows: Array.from({ length: c.layers }, () => c.window!) } : {}),
  };
}

const lookup = (W: Weights) => (name: string) => {
  const t = W.get(name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};

async function session(bytes: Uint8Array) {
  const probe = withAttentionOutputs(bytes);
  return { s: await ort.InferenceSession.create(probe.bytes), attention: probe.attention };
}

/** Runs the cache-less export on one sequence. */
async function runFull(cfg: LlamaExportConfig, W: Weights, ids: number[], has?: (n: string) => boolean) {
  const { s, attention } = await session(exportLlamaOnnx(cfg, lookup(W), {}, { kvCache: false, has }));
  const out = await s.run({ input_ids: int64Tensor(ort, [ids]), attention_mask: int64Tensor(ort, [ids.map(() => 1)]), position_ids: int64Tensor(ort, [ids.map((_, i) => i)]) });
  return { logits: out.logits.data as Float32Array, attention: attention.map((n) => attentionRows(out[n])), names: attention };
}

function checkAgainstReference(c: RefLlamaConfig, W: Weights, got: { logits: Float32Array; attention: number[][][][] }, label: string) {
  const ref = llamaReference(c, W, IDS);
  const dLogits = maxAbsDiff(got.logits, flat(ref.logits));
  const dAtt = maxAbsDiff(flat(got.attention), flat(ref.attention));
  assert.equal(got.attention.length, c.layers, `${label}: one attention Softmax per layer`);
  assert.deepEqual([got.attention[0].length, got.attention[0][0].length, got.attention[0][0][0].length], [c.heads, IDS.length, IDS.length]);
  assert.ok(dLogits < 1e-4, `${label}: logits differ by ${dLogits}`);
  assert.ok(dAtt < 1e-5, `${label}: attention differs by ${dAtt}`);
  // not vacuous: the logits spread and the attention is not uniform
  const spread = Math.max(...got.logits) - Math.min(...got.logits);
  assert.ok(spread > 1, `${label}: logits spread only ${spread}`);
  return { dLogits, dAtt };
}

const GQA_LLAMA3: RefLlamaConfig = { vocab: 23, d: 32, inter: 40, layers: 2, heads: 4, kvHeads: 2, headDim: 8, eps: 1e-5, theta: 10000, scaling: { type: "llama3", factor: 8, low: 1, high: 4, original: 64 }, tied: false };

test("Llama with grouped-query attention (4 heads over 2 kv heads) and llama3 rotary scaling matches the reference: logits < 1e-4, attention < 1e-5", async () => {
  const W = randomLlamaWeights(GQA_LLAMA3, 1);
  const got = await runFull(exportCfg(GQA_LLAMA3), W, IDS);
  const d = checkAgainstReference(GQA_LLAMA3, W, got, "llama gqa");
  // the scaling matters here: the same weights under the default rotary embedding give other logits
  const plain = await runFull({ ...exportCfg(GQA_LLAMA3), rope_scaling: null }, W, IDS);
  assert.ok(maxAbsDiff(plain.logits, got.logits) > 1e-3);
  console.log(`llama gqa + llama3 rope: logits ${d.dLogits.toExponential(2)}, attention ${d.dAtt.toExponential(2)}`);
});

test("inv_freq: llama3 scaling keeps the high frequencies, divides the low ones by factor and blends between, as Hugging Face computes it", () => {
  const got = ropeInvFreq({ rope_theta: 10000, rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }, 8);
  const ref = refInvFreq(GQA_LLAMA3);
  assert.ok(maxAbsDiff(got, ref) < 1e-9, `${[...got]} vs ${ref}`);
  assert.equal(got[0], 1); // wavelength 2π < 16: kept
  assert.ok(Math.abs(got[3] - 0.001 / 8) < 1e-10); // wavelength 6283 > 64: divided
  const smooth = (64 / (2 * Math.PI / 0.1) - 1) / 3;
  assert.ok(Math.abs(got[1] - ((1 - smooth) * 0.1 / 8 + smooth * 0.1)) < 1e-8); // in between: blended
  const linear = ropeInvFreq({ rope_theta: 100, rope_scaling: { rope_type: "linear", factor: 4 } }, 4);
  assert.ok(maxAbsDiff(linear, [0.25, 0.1 / 4]) < 1e-8);
});

test("Qwen2-like: multi-query attention (one kv head), q/k/v biases, tied embeddings, linear rotary scaling", async () => {
  const c: RefLlamaConfig = { vocab: 19, d: 24, inter: 30, layers: 2, heads: 3, kvHeads: 1, headDim: 8, eps: 1e-6, theta: 1000, scaling: { type: "linear", factor: 2 }, tied: true };
  const W = randomLlamaWeights(c, 2, { qkvBias: true });
  const got = await runFull(exportCfg(c), W, IDS.map((i) => i % 19));
  const ids = IDS.map((i) => i % 19);
  const ref = llamaReference(c, W, ids);
  const dLogits = maxAbsDiff(got.logits, flat(ref.logits));
  const dAtt = maxAbsDiff(flat(got.attention), flat(ref.attention));
  assert.ok(dLogits < 1e-4 && dAtt < 1e-5, `logits ${dLogits}, attention ${dAtt}`);
  // the biases are used: without them the logits move
  const noBias = new Map([...W].filter(([n]) => !n.endsWith(".bias")));
  const without = await runFull(exportCfg(c), noBias, ids);
  assert.ok(maxAbsDiff(without.logits, got.logits) > 1e-3);
  console.log(`qwen2-like: logits ${dLogits.toExponential(2)}, attention ${dAtt.toExponential(2)}`);
});

test("Qwen3-like: per-head q_norm / k_norm before the rotary embedding, head_dim apart from hidden / heads, untied head", async () => {
  const c: RefLlamaConfig = { vocab: 23, d: 16, inter: 20, layers: 1, heads: 2, kvHeads: 1, headDim: 12, eps: 1e-6, theta: 1e6, tied: false };
  const W = randomLlamaWeights(c, 3, { qkNorm: true });
  const got = await runFull(exportCfg(c), W, IDS);
  const d = checkAgainstReference(c, W, got, "qwen3-like");
  console.log(`qwen3-like: logits ${d.dLogits.toExponential(2)}, attention ${d.dAtt.toExponential(2)}`);
});

test("Phi-3-like: fused qkv_proj and gate_up_proj, half the head rotated, a sliding window of 3", async () => {
  const c: RefLlamaConfig = { vocab: 23, d: 24, inter: 28, layers: 2, heads: 4, kvHeads: 2, headDim: 6, eps: 1e-5, theta: 10000, rotaryFraction: 2 / 3, tied: false, window: 3 };
  const W = randomLlamaWeights(c, 4);
  // the checkpoint as Phi-3 stores it: q, k, v rows in one matrix; gate then up rows in another
  const fused: Weights = new Map([...W].filter(([n]) => !/\.(q|k|v|gate|up)_proj\.weight$/.test(n)));
  const cat = (...names: string[]) => {
    const parts = names.map((n) => W.get(n)!);
    const data = new Float32Array(parts.reduce((a, t) => a + t.data.length, 0));
    let o = 0;
    for (const t of parts) data.set(t.data, (o += t.data.length) - t.data.length);
    return { shape: [parts.reduce((a, t) => a + t.shape[0], 0), parts[0].shape[1]], data };
  };
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    fused.set(p + "self_attn.qkv_proj.weight", cat(p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight"));
    fused.set(p + "mlp.gate_up_proj.weight", cat(p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"));
  }
  const got = await runFull(exportCfg(c), fused, IDS, (n) => fused.has(n));
  const d = checkAgainstReference(c, W, got, "phi3-like");
  // the window holds: query 6 sees keys 4..6 only
  for (const head of got.attention[0]) assert.deepEqual(head[6].slice(0, 4), [0, 0, 0, 0]);
  console.log(`phi3-like: logits ${d.dLogits.toExponential(2)}, attention ${d.dAtt.toExponential(2)}`);
});

test("the KV-cache graph, fed its own presents token by token, gives the full sequence's logits and attention; present holds the kv heads unrepeated", async () => {
  const c = GQA_LLAMA3;
  const W = randomLlamaWeights(c, 1);
  const full = await runFull(exportCfg(c), W, IDS);
  const { s, attention } = await session(exportLlamaOnnx(exportCfg(c), lookup(W)));
  assert.deepEqual(s.inputNames, ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"]);
  assert.deepEqual(s.outputNames.slice(0, 5), ["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"]);
  const V = c.vocab;
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < c.layers; l++) for (const kv of ["key", "value"]) past[`past_key_values.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, c.kvHeads, 0, c.headDim]);
  let worst = 0;
  let worstAtt = 0;
  const steps = [[0, 4], [4, 5], [5, 6], [6, 7]];
  for (const [a, b] of steps) {
    const out = await s.run({ input_ids: int64Tensor(ort, [IDS.slice(a, b)]), attention_mask: int64Tensor(ort, [IDS.slice(0, b).map(() => 1)]), position_ids: int64Tensor(ort, [IDS.slice(a, b).map((_, i) => a + i)]), ...past });
    worst = Math.max(worst, maxAbsDiff(out.logits.data as Float32Array, full.logits.subarray(a * V, b * V)));
    for (let l = 0; l < c.layers; l++) {
      const rows = attentionRows(out[attention[l]]);
      for (let h = 0; h < c.heads; h++) for (let q = 0; q < b - a; q++) worstAtt = Math.max(worstAtt, maxAbsDiff(rows[h][q], full.attention[l][h][a + q].slice(0, b)));
    }
    past = {};
    for (let l = 0; l < c.layers; l++) {
      for (const kv of ["key", "value"]) {
        const t = out[`present.${l}.${kv}`];
        assert.deepEqual(t.dims, [1, c.kvHeads, b, c.headDim]);
        past[`past_key_values.${l}.${kv}`] = t;
      }
    }
  }
  assert.ok(worst < 1e-5, `cached logits differ by ${worst}`);
  assert.ok(worstAtt < 1e-6, `cached attention differs by ${worstAtt}`);
});

test("left padding in a batch: the padded row gives the logits of its tokens alone, and no query attends to a padding key", async () => {
  const c = GQA_LLAMA3;
  const W = randomLlamaWeights(c, 1);
  const short = IDS.slice(2);
  const alone = await runFull(exportCfg(c), W, short);
  const { s, attention } = await session(exportLlamaOnnx(exportCfg(c), lookup(W), {}, { kvCache: false }));
  const mask = [IDS.map(() => 1), [0, 0, ...short.map(() => 1)]];
  // position ids as optimum makes them: cumsum(mask) - 1, 1 where padded
  const positions = mask.map((m) => {
    let run = 0;
    return m.map((v) => (v ? run++ : 1));
  });
  const out = await s.run({ input_ids: int64Tensor(ort, [IDS, [0, 0, ...short]]), attention_mask: int64Tensor(ort, mask), position_ids: int64Tensor(ort, positions) });
  const V = c.vocab;
  const logits = out.logits.data as Float32Array;
  const d = maxAbsDiff(logits.subarray((IDS.length + 2) * V, 2 * IDS.length * V), alone.logits);
  assert.ok(d < 1e-5, `padded row differs by ${d}`);
  for (const name of attention) for (const head of attentionRows(out[name], 1)) for (const row of head.slice(2)) assert.deepEqual(row.slice(0, 2), [0, 0]);
});

test("llamaConfigFrom: Hugging Face config.json keys, defaults and rotary scalings", () => {
  const llama3 = llamaConfigFrom({
    model_type: "llama", vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8,
    rms_norm_eps: 1e-5, rope_theta: 500000, max_position_embeddings: 131072, tie_word_embeddings: true, hidden_act: "silu",
    rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: "llama3" },
  });
  assert.equal(llama3.head_dim, 64);
  assert.equal(llama3.num_key_value_heads, 8);
  assert.deepEqual(llama3.rope_scaling, { rope_type: "llama3", factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
  assert.equal(llama3.sliding_windows, undefined);

  const plain = llamaConfigFrom({ model_type: "mistral", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, head_dim: null, rope_theta: 1e6, rms_norm_eps: 1e-6, max_position_embeddings: 32, sliding_window: null });
  assert.equal(plain.num_key_value_heads, 2);
  assert.equal(plain.head_dim, 4);
  assert.equal(plain.rope_scaling, null);
  assert.equal(plain.tie_word_embeddings, true); // absent from config.json means true
  const mistral01 = llamaConfigFrom({ model_type: "mistral", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 32, sliding_window: 4096, tie_word_embeddings: false });
  assert.deepEqual(mistral01.sliding_windows, [4096, 4096]);
  const qwen2 = { model_type: "qwen2", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 3, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32, sliding_window: 4096, max_window_layers: 1 };
  assert.equal(llamaConfigFrom({ ...qwen2, use_sliding_window: false }).sliding_windows, undefined);
  assert.deepEqual(llamaConfigFrom({ ...qwen2, use_sliding_window: true }).sliding_windows, [null, 4096, 4096]);
  // transformers' newer rope_parameters
  const v5 = llamaConfigFrom({ model_type: "qwen3", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, head_dim: 16, max_position_embeddings: 32, rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 5000 } });
  assert.equal(v5.rope_theta, 5000);
  assert.deepEqual(v5.rope_scaling, { rope_type: "linear", factor: 2 });
  assert.equal(v5.head_dim, 16);
  // the optional tensors each model declares: required when true, unused when false
  const flags = (c: LlamaExportConfig) => [c.qkv_bias, c.o_bias, c.mlp_bias, c.qk_norm];
  assert.deepEqual(flags(llama3), [false, false, false, false]);
  assert.deepEqual(flags(llamaConfigFrom({ ...qwen2, use_sliding_window: false })), [true, false, false, false]);
  assert.deepEqual(flags(v5), [false, false, false, true]);
  assert.deepEqual(flags(llamaConfigFrom({ ...qwen2, model_type: "llama", attention_bias: true, mlp_bias: true })), [true, true, true, false]);
});

test("llamaConfigFrom refuses what the exporter does not build, naming it", () => {
  const base = { model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 32 };
  const refuses = (config: Record<string, unknown>, code: string, pattern: RegExp) =>
    assert.throws(() => llamaConfigFrom(config, "ckpt/config.json"), (e: unknown) => e instanceof EngineError && e.code === code && pattern.test(e.message) && e.message.includes("ckpt/config.json"));
  refuses({ ...base, rope_scaling: { rope_type: "yarn", factor: 4 } }, "UNSUPPORTED", /rope_scaling type "yarn".*"linear" and "llama3"/);
  refuses({ ...base, rope_scaling: { type: "dynamic", factor: 2 } }, "UNSUPPORTED", /"dynamic"/);
  refuses({ ...base, rope_scaling: { rope_type: "longrope", short_factor: [1], long_factor: [1] } }, "UNSUPPORTED", /"longrope"/);
  refuses({ ...base, rope_scaling: { rope_type: "llama3", factor: 8 } }, "MODEL_INVALID", /rope_scaling.low_freq_factor/);
  refuses({ ...base, model_type: "gemma" }, "UNSUPPORTED", /"gemma".*llama, mistral, qwen2, qwen3, phi3/);
  refuses({ ...base, hidden_act: "gelu" }, "UNSUPPORTED", /hidden_act "gelu"/);
  refuses({ ...base, num_attention_heads: 6, num_key_value_heads: 4, hidden_size: 12 }, "MODEL_INVALID", /not a multiple of num_key_value_heads/);
  refuses({ ...base, hidden_size: 9 }, "MODEL_INVALID", /not divisible/);
  refuses({ ...base, num_hidden_layers: undefined }, "MODEL_INVALID", /"num_hidden_layers" is missing/);
  refuses({ ...base, vocab_size: "10" }, "MODEL_INVALID", /"vocab_size" must be a positive integer/);
});

test("the exporter names a tensor whose shape disagrees with the config", () => {
  const W = randomLlamaWeights(GQA_LLAMA3, 1);
  const cfg = { ...exportCfg(GQA_LLAMA3), num_key_value_heads: 4 };
  assert.throws(() => exportLlamaOnnx(cfg, lookup(W)), /model\.layers\.0\.self_attn\.k_proj\.weight has shape \[16,32\], expected \[32,32\]/);
});

// ---- against PyTorch: the checkpoints of test/fixtures/hf (see its README.md) ----

const HF = path.join(ROOT, "test", "fixtures", "hf");

interface DecoderReference {
  ids: number[];
  attention: number[][][][];
  lastLogits: number[];
  top5: { id: number; p: number }[];
  greedy: number[];
  greedyWithCache: number[];
  split: number;
  padded: { ids: number[][]; attentionMask: number[][]; positionIds: number[][]; lastLogits: number[][] };
  lens: { residual: number; top5: { id: number; p: number }[] }[];
}

const argmax = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};
const softmaxTop = (v: ArrayLike<number>, k: number) => {
  const max = Math.max(...Array.from(v));
  const e = Array.from(v, (x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x, id) => ({ id, p: x / sum })).sort((a, b) => b.p - a.p).slice(0, k);
};

for (const name of ["llama-gqa", "qwen2-tied"]) {
  const dir = path.join(HF, name);
  const ready = ["reference.json", "model.safetensors", "config.json"].every((f) => fs.existsSync(path.join(dir, f)));
  test(`${name}: the graph built from model.safetensors gives PyTorch's attention (< 1e-5), top 5, and 12 greedy ids with and without the KV cache`, { skip: ready ? false : `test/fixtures/hf/${name} is not there yet` }, async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(dir, "reference.json"), "utf8")) as DecoderReference;
    const weights = safetensorsWeights(path.join(dir, "model.safetensors"));
    const built = checkpointToOnnx(dir, weights);
    assert.equal(built.modelType, name === "llama-gqa" ? "llama" : "qwen2");
    const cfg = llamaConfigFrom(JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")));
    const lookupAll = (n: string) => ({ shape: weights.shape(n), data: weights.read(n) });
    const has = (n: string) => weights.names().includes(n);
    const full = await session(exportLlamaOnnx(cfg, lookupAll, {}, { kvCache: false, has }));
    const cached = await session(fs.readFileSync(built.onnxFile));
    const L = cfg.num_hidden_layers;
    const V = cfg.vocab_size;

    // The output head where the engine looks for it: an initializer [d, vocab], or the Transpose of the embedding (tied).
    const graph = onnx.ModelProto.decode(fs.readFileSync(built.onnxFile)).graph!;
    const lm = graph.node!.find((n) => n.output!.includes("logits"))!;
    assert.equal(lm.opType, "MatMul");
    if (cfg.tie_word_embeddings) {
      const t = graph.node!.find((n) => n.output!.includes(lm.input![1]))!;
      assert.deepEqual([t.opType, t.input![0]], ["Transpose", "model.embed_tokens.weight"]);
    } else {
      const w = graph.initializer!.find((i) => i.name === lm.input![1])!;
      assert.deepEqual([w.name, w.dims!.map(Number)], ["lm_head.weight.T", [cfg.hidden_size, V]]);
    }

    // the prompt, whole: attention of every layer and head, the last logits, the top 5
    const ones = (n: number) => Array.from({ length: n }, () => 1);
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    const runFullSeq = (ids: number[]) => full.s.run({ input_ids: int64Tensor(ort, [ids]), attention_mask: int64Tensor(ort, [ones(ids.length)]), position_ids: int64Tensor(ort, [range(0, ids.length)]) });
    const out = await runFullSeq(ref.ids);
    assert.equal(full.attention.length, L);
    const att = full.attention.map((n) => attentionRows(out[n]));
    const dAtt = maxAbsDiff(flat(att), flat(ref.attention));
    const T = ref.ids.length;
    const last = (out.logits.data as Float32Array).subarray((T - 1) * V, T * V);
    const dLogits = maxAbsDiff(last, ref.lastLogits);
    const top5 = softmaxTop(last, 5);
    assert.deepEqual(top5.map((t) => t.id), ref.top5.map((t) => t.id));
    const dP = maxAbsDiff(top5.map((t) => t.p), ref.top5.map((t) => t.p));
    assert.ok(dAtt < 1e-5, `attention differs by ${dAtt}`);
    assert.ok(dLogits < 1e-5, `last logits differ by ${dLogits}`);
    assert.ok(dP < 1e-6, `top-5 probabilities differ by ${dP}`);

    // greedy, recomputing the whole sequence each step
    const seq = [...ref.ids];
    for (let i = 0; i < ref.greedy.length; i++) {
      const o = await runFullSeq(seq);
      seq.push(argmax((o.logits.data as Float32Array).subarray((seq.length - 1) * V, seq.length * V)));
    }
    assert.deepEqual(seq.slice(T), ref.greedy);

    // greedy with the cached graph's own KV cache: the prompt once, then one token a step
    const emptyPast = () => {
      const p: Record<string, ort.Tensor> = {};
      for (let l = 0; l < L; l++) for (const kv of ["key", "value"]) p[`past_key_values.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, cfg.num_key_value_heads!, 0, cfg.head_dim!]);
      return p;
    };
    const step = async (ids: number[], from: number, past: Record<string, ort.Tensor>) => {
      const o = await cached.s.run({ input_ids: int64Tensor(ort, [ids]), attention_mask: int64Tensor(ort, [ones(from + ids.length)]), position_ids: int64Tensor(ort, [range(from, from + ids.length)]), ...past });
      const next: Record<string, ort.Tensor> = {};
      for (let l = 0; l < L; l++) for (const kv of ["key", "value"]) next[`past_key_values.${l}.${kv}`] = o[`present.${l}.${kv}`];
      return { last: (o.logits.data as Float32Array).subarray((ids.length - 1) * V, ids.length * V), past: next, attention: cached.attention.map((n) => attentionRows(o[n])) };
    };
    let r = await step(ref.ids, 0, emptyPast());
    const dAttCached = maxAbsDiff(flat(r.attention), flat(ref.attention));
    assert.ok(dAttCached < 1e-5, `attention of the KV-cache graph differs by ${dAttCached}`);
    const withCache: number[] = [];
    for (let i = 0; i < ref.greedyWithCache.length; i++) {
      withCache.push(argmax(r.last));
      r = await step([withCache[i]], T + i, r.past);
    }
    assert.deepEqual(withCache, ref.greedyWithCache);

    // the prompt in two calls: the first `split` tokens, then the rest with their cache
    const first = await step(ref.ids.slice(0, ref.split), 0, emptyPast());
    const second = await step(ref.ids.slice(ref.split), ref.split, first.past);
    const dSplit = maxAbsDiff(second.last, ref.lastLogits);
    assert.ok(dSplit < 1e-5, `split prompt's last logits differ by ${dSplit}`);

    // a left-padded batch of two with Hugging Face's position ids
    const P = ref.padded;
    const B = P.ids.length;
    const past: Record<string, ort.Tensor> = {};
    for (let l = 0; l < L; l++) for (const kv of ["key", "value"]) past[`past_key_values.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [B, cfg.num_key_value_heads!, 0, cfg.head_dim!]);
    const po = await cached.s.run({ input_ids: int64Tensor(ort, P.ids), attention_mask: int64Tensor(ort, P.attentionMask), position_ids: int64Tensor(ort, P.positionIds), ...past });
    const Tp = P.ids[0].length;
    const pl = po.logits.data as Float32Array;
    const dPadded = Math.max(...P.lastLogits.map((row, b) => maxAbsDiff(pl.subarray((b * Tp + Tp - 1) * V, (b * Tp + Tp) * V), row)));
    assert.ok(dPadded < 1e-5, `padded batch's last logits differ by ${dPadded}`);

    // the engine's logit lens over this graph (the residual stream as a chain of Adds, the final
    // RMSNorm copied) gives PyTorch's lens: the same top 5 at the last position for every residual
    const lens = prepareLens(built.onnxFile, L);
    const ls = await ort.InferenceSession.create(lens.file);
    const lo = await ls.run({ input_ids: int64Tensor(ort, [ref.ids]), attention_mask: int64Tensor(ort, [ones(T)]), position_ids: int64Tensor(ort, [range(0, T)]), ...emptyPast() });
    assert.equal(ref.lens.length, L + 1);
    let dLens = 0;
    for (const row of ref.lens) {
      const t = softmaxTop((lo[lens.lensOutputs[row.residual]].data as Float32Array).subarray((T - 1) * V, T * V), 5);
      assert.deepEqual(t.map((x) => x.id), row.top5.map((x) => x.id), `lens row ${row.residual}`);
      dLens = Math.max(dLens, maxAbsDiff(t.map((x) => x.p), row.top5.map((x) => x.p)));
    }
    assert.ok(dLens < 1e-6, `lens probabilities differ by ${dLens}`);

    // a second open reuses the cached graph
    assert.equal(checkpointToOnnx(dir, weights).onnxFile, built.onnxFile);
    console.log(`${name} (${[...weights.dtypes].join("/")} weights) vs PyTorch: attention ${dAtt.toExponential(2)} (cached graph ${dAttCached.toExponential(2)}), last logits ${dLogits.toExponential(2)}, top-5 p ${dP.toExponential(2)}, lens top-5 p ${dLens.toExponential(2)}, split ${dSplit.toExponential(2)}, padded ${dPadded.toExponential(2)}; greedy ${seq.slice(T).join(" ")}`);
  });
}
