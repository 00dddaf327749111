// The TensorFlow.js copy of the Llama-shaped decoders ("tfjs:<folder>", family llama-tfjs), which
// the gradient attribution differentiates: its logits and attention against the ONNX model's and
// PyTorch's (reference.json) on llama-gqa (grouped-query attention, own lm_head) and qwen2-tied
// (q/k/v biases, tied embeddings, rope_theta 1e6); gradient × input against central finite
// differences of the copy and against PyTorch's autograd (interp.json's "gradients", written by
// make_interp_fixtures.py); integrated gradients' completeness; the checkpoint folder's copy read
// from its safetensors; and what is still refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { onnx } from "onnx-proto";
import { EngineService } from "../../engine/service";
import { resolveFamily } from "../../engine/families/index";
import { exportLlamaOnnx, llamaConfigFrom } from "../../engine/formats/llamaExport";
import { openCheckpointWeights } from "../../engine/formats/safetensors";
import type { DecoderModel } from "../../engine/models/decoder";
import { TfjsLlamaDecoder } from "../../engine/models/tfjsLlamaDecoder";
import { CLI_JS, code, metricOfRow, ROOT, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const HF = path.join(ROOT, "test", "fixtures", "hf");
const FIXTURES = ["llama-gqa", "qwen2-tied"] as const;
const EOS = 4095;

interface Reference {
  ids: number[];
  lastLogits: number[];
  attention: number[][][][];
}
interface GradientsFixture {
  position: number;
  target: number;
  foil: number;
  gradXInput: Record<"logprob" | "logitDiff", { base: number; scores: number[]; norms: number[] }>;
  integratedGradients: { baseline: number; steps: number; baselineMetric: number; scores: number[] };
}
const read = <T>(folder: string, file: string): T => JSON.parse(fs.readFileSync(path.join(HF, folder, file), "utf8")) as T;

/** The copy's metric of the prediction after token embeddings e [T, d], by a plain forward pass (no gradient). */
function plainMetric(twin: TfjsLlamaDecoder) {
  const d = twin.width;
  const table = twin.tokenEmbeddings.dataSync() as Float32Array;
  const embeddings = (ids: number[]) => {
    const e = new Float32Array(ids.length * d);
    ids.forEach((id, i) => e.set(table.subarray(id * d, (id + 1) * d), i * d));
    return e;
  };
  const f = (e: Float32Array, target: number, foil?: number) => {
    const T = e.length / d;
    const row = tf.tidy(() => twin.unembed(twin.blocks(tf.tensor3d(e, [1, T, d])).slice([T - 1, 0], [1, d])).dataSync() as Float32Array);
    return metricOfRow(row, target, foil);
  };
  return { d, embeddings, f };
}

/** `e` with token i's embedding scaled by (1 + t). */
function scaled(e: Float32Array, d: number, i: number, t: number): Float32Array {
  const out = e.slice();
  for (let k = i * d; k < (i + 1) * d; k++) out[k] *= 1 + t;
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test('"tfjs:<folder>" of a Llama-shaped folder resolves to the llama-tfjs family; of a GPT-2 folder still to gpt2-tfjs', () => {
  for (const f of FIXTURES) assert.equal(resolveFamily(`tfjs:${path.join(HF, f)}`).name, "llama-tfjs");
  assert.equal(resolveFamily(`tfjs:${path.join(HF, "llama-gqa", "onnx", "model.onnx")}`).name, "llama-tfjs");
  assert.equal(resolveFamily(`tfjs:${path.join(ROOT, "samples", "models", "tiny-gpt")}`).name, "gpt2-tfjs");
});

test("the TensorFlow.js copy's logits and attention equal the ONNX model's (<= 1e-4) and PyTorch's reference, on llama-gqa and qwen2-tied", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const f of FIXTURES) {
    const ref = read<Reference>(f, "reference.json");
    const model = (await s.open(path.join(HF, f), ctx)) as DecoderModel;
    const twin = (await s.open(`tfjs:${path.join(HF, f)}`, ctx)) as TfjsLlamaDecoder;
    assert.equal(twin.family, "llama-tfjs");
    assert.equal(twin.name, `${f} (tfjs)`);
    // both graphs carry an output head [d, vocab] of their own (torch folded the tied one's transpose into an initializer)
    assert.equal(twin.info().embeddings.output, "own");
    // PyTorch's numbers for the reference prompt
    const T = ref.ids.length;
    const V = twin.vocabSize;
    const mine = await twin.forward(ref.ids, { attention: true });
    const pt = maxDiff(mine.logits.subarray((T - 1) * V, T * V), ref.lastLogits);
    assert.ok(pt <= 1e-4, `${f}: last logits vs PyTorch, max |diff| ${pt}`);
    let att = 0;
    ref.attention.forEach((layer, l) => layer.forEach((head, h) => head.forEach((row, q) => {
      att = Math.max(att, maxDiff(mine.attention![l].subarray((h * T + q) * T, (h * T + q + 1) * T), row));
    })));
    assert.ok(att <= 1e-5, `${f}: attention vs PyTorch, max |diff| ${att}`);
    // the ONNX model on inputs of several lengths, every position's logits
    let onnxWorst = 0;
    for (const n of [1, 7, 40, 120]) {
      const ids = Array.from({ length: n }, (_, i) => (i * 389 + 17 * n) % V);
      const a = (await model.forward(ids, {})).logits;
      const b = (await twin.forward(ids, {})).logits;
      onnxWorst = Math.max(onnxWorst, maxDiff(a, b));
    }
    assert.ok(onnxWorst <= 1e-4, `${f}: logits vs the ONNX model, max |diff| ${onnxWorst}`);
    console.log(`${f}: TensorFlow.js copy vs PyTorch: logits ${pt.toExponential(2)}, attention ${att.toExponential(2)}; vs the ONNX model (1..120 tokens): ${onnxWorst.toExponential(2)}`);
  }
});

test("graphs SeqLens exports itself (weights as <name>.T, the tied head a Transpose of the embedding; plain, GroupQueryAttention and MultiHeadAttention forms): the copy's logits equal the model's", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const f of FIXTURES) {
    const config = read<Record<string, unknown>>(f, "config.json");
    const st = openCheckpointWeights(path.join(HF, f));
    for (const attention of ["plain", "gqa", "mha"] as const) {
      if (attention === "gqa" && f === "qwen2-tied") continue; // GroupQueryAttention's CPU kernel needs head_dim % 16 == 0 (qwen2-tied's is 8)
      const dir = tempDir(`twin-${f}-${attention}`);
      for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(HF, f, file), path.join(dir, file));
      fs.mkdirSync(path.join(dir, "onnx"));
      fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), exportLlamaOnnx(llamaConfigFrom(config), (n) => ({ shape: st.shape(n), data: st.read(n) }), {}, { attention }));
      const model = (await s.open(dir, ctx)) as DecoderModel;
      const twin = (await s.open(`tfjs:${dir}`, ctx)) as TfjsLlamaDecoder;
      assert.equal(twin.info().embeddings.output, f === "qwen2-tied" ? "tied" : "own");
      const ids = Array.from({ length: 50 }, (_, i) => (i * 211 + 3) % 4096);
      const worst = maxDiff((await model.forward(ids, {})).logits, (await twin.forward(ids, {})).logits);
      assert.ok(worst <= 1e-4, `${f} ${attention}: max |diff| ${worst}`);
      console.log(`${f} exported by SeqLens (${attention} attention): the copy's logits within ${worst.toExponential(2)} of the model's`);
    }
    st.close();
  }
});

test("gradient × input on llama-gqa equals the five-point central difference of the copy's metric along each token's own embedding (relative error <= 1e-2)", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = path.join(HF, "llama-gqa");
  const twin = (await s.open(`tfjs:${model}`, ctx)) as TfjsLlamaDecoder;
  const { d, embeddings, f } = plainMetric(twin);
  const ids = Array.from({ length: 32 }, (_, i) => (i * 613 + 5) % 4000);
  const e = embeddings(ids);
  // the five-point stencil: its truncation error ∝ ε⁴ stays small at ε = 5e-2, where float32
  // rounding in the difference (∝ 1/ε; the metric is near −8) is 5x smaller than at 1e-2
  const eps = 5e-2;
  for (const foil of [undefined, 370]) {
    const r = await s.call("attribute", { model, ids, method: "grad-x-input", ...(foil !== undefined ? { foil } : {}) }, ctx);
    assert.equal(r.computedBy.name, "llama-gqa (tfjs)");
    assert.equal(r.computedBy.family, "llama-tfjs");
    assert.ok(r.computedBy.agreement !== undefined && r.computedBy.agreement < 1e-4, `agreement ${r.computedBy.agreement}`);
    assert.ok(Math.abs(r.base - f(e, r.target.id, foil)) < 1e-4, `base ${r.base}`);
    const byMagnitude = r.scores.slice().sort((a, b) => Math.abs(b.score) - Math.abs(a.score)).map((x) => x.position);
    const checked = [...new Set([...byMagnitude.slice(0, 4), 0, 16, 31])];
    let worst = 0;
    for (const i of checked) {
      const at = (t: number) => f(scaled(e, d, i, t), r.target.id, foil);
      const fd = (8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))) / (12 * eps);
      const rel = Math.abs(fd - r.scores[i].score) / Math.max(Math.abs(fd), 1e-2);
      worst = Math.max(worst, rel);
      assert.ok(rel <= 1e-2, `token ${i}: gradient × input ${r.scores[i].score} vs finite difference ${fd}`);
    }
    const spread = Math.max(...r.scores.map((x) => x.score)) - Math.min(...r.scores.map((x) => x.score));
    assert.ok(spread > 0.1, `spread ${spread}`);
    console.log(`llama-gqa gradient × input vs five-point central differences (${foil === undefined ? "log-prob" : "logit difference"}), ${checked.length} tokens: worst relative error ${worst.toExponential(2)}, spread ${spread.toFixed(3)}`);
  }
});

test("gradient × input and integrated gradients equal PyTorch's autograd (interp.json, relative error <= 1e-3), on llama-gqa and qwen2-tied", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const f of FIXTURES) {
    const g = read<{ ids: number[]; gradients: GradientsFixture }>(f, "interp.json");
    const pt = g.gradients;
    const model = path.join(HF, f);
    const ids = g.ids.slice(0, pt.position);
    const rel = (a: number, b: number, scale: number) => Math.abs(a - b) / Math.max(Math.abs(b), scale);
    let worst = 0;
    for (const [key, foil] of [["logprob", undefined], ["logitDiff", pt.foil]] as const) {
      const r = await s.call("attribute", { model, ids, method: "grad-x-input", ...(foil !== undefined ? { foil } : {}) }, ctx);
      assert.equal(r.target.id, pt.target);
      assert.equal(r.computedBy.family, "llama-tfjs");
      const want = pt.gradXInput[key];
      assert.ok(rel(r.base, want.base, 1) <= 1e-4, `${f} ${key}: base ${r.base} vs PyTorch ${want.base}`);
      // relative to the largest score: a score near 0 is compared at the scale of the others
      const scale = Math.max(...want.scores.map(Math.abs));
      r.scores.forEach((x, i) => {
        const e = rel(x.score, want.scores[i], scale);
        worst = Math.max(worst, e);
        assert.ok(e <= 1e-3, `${f} ${key} token ${i}: ${x.score} vs PyTorch ${want.scores[i]}`);
        assert.ok(rel(x.norm!, want.norms[i], 1e-3) <= 1e-3, `${f} ${key} token ${i}: gradient norm ${x.norm} vs PyTorch ${want.norms[i]}`);
      });
    }
    const ig = pt.integratedGradients;
    const r = await s.call("attribute", { model, ids, method: "integrated-gradients", baseline: ig.baseline, steps: ig.steps }, ctx);
    assert.ok(rel(r.completeness!.baselineMetric, ig.baselineMetric, 1) <= 1e-4, `${f}: f(baseline) ${r.completeness!.baselineMetric} vs PyTorch ${ig.baselineMetric}`);
    const scale = Math.max(...ig.scores.map(Math.abs));
    r.scores.forEach((x, i) => {
      const e = rel(x.score, ig.scores[i], scale);
      worst = Math.max(worst, e);
      assert.ok(e <= 1e-3, `${f} integrated gradients token ${i}: ${x.score} vs PyTorch ${ig.scores[i]}`);
    });
    console.log(`${f}: gradient × input (both metrics) and integrated gradients (${ig.steps} steps from eos) vs PyTorch over ${ids.length} tokens: worst relative error ${worst.toExponential(2)}`);
  }
});

test("integrated gradients, 64 steps: by default from eos on these RMSNorm models, the scores sum to f(input) − f(baseline) within 1%; from the zero embedding (RMSNorm's singular point, asked for) the reported error falls as the steps grow", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const f of FIXTURES) {
    const model = path.join(HF, f);
    const twin = (await s.open(`tfjs:${model}`, ctx)) as TfjsLlamaDecoder;
    const { embeddings, f: metric } = plainMetric(twin);
    const ids = Array.from({ length: 30 }, (_, i) => (i * 137 + 11) % 4000);
    for (const foil of [undefined, 7]) {
      // no baseline given: RMSNorm's default start is the token ablation would use (eos: no pad here)
      const r = await s.call("attribute", { model, ids, method: "integrated-gradients", ...(foil !== undefined ? { foil } : {}) }, ctx);
      const k = r.completeness!;
      assert.equal(k.steps, 64);
      assert.equal(r.runs, 66);
      assert.deepEqual(r.baseline, { id: EOS, text: "<|endoftext|>", kind: "eos" });
      assert.ok(Math.abs(k.baselineMetric - metric(embeddings(ids.map(() => EOS)), r.target.id, foil)) < 1e-4, `f(baseline) ${k.baselineMetric}`);
      assert.ok(Math.abs(k.sum - r.scores.reduce((a, x) => a + x.score, 0)) < 1e-9);
      assert.ok(Math.abs(k.delta) > 0.5, `delta ${k.delta}: the baseline changes the prediction`);
      assert.ok(k.relError <= 0.01, `${f}: |sum − delta| / |delta| = ${k.relError} (sum ${k.sum}, delta ${k.delta})`);
      console.log(`${f} integrated gradients, 64 steps from eos, ${foil === undefined ? "log-prob" : "logit difference"}: sum ${k.sum.toFixed(4)}, delta ${k.delta.toFixed(4)}, relative error ${(k.relError * 100).toFixed(4)}%`);
    }
    // From the zero embedding the path starts where RMSNorm(αe) jumps from 0 to e/rms(e) within
    // α ≈ √eps / rms(e): the midpoint rule needs many more points, and completeness says so.
    const few = (await s.call("attribute", { model, ids: ids.slice(0, 12), method: "integrated-gradients", baseline: "zero", steps: 16 }, ctx)).completeness!;
    const many = (await s.call("attribute", { model, ids: ids.slice(0, 12), method: "integrated-gradients", baseline: "zero", steps: 512 }, ctx)).completeness!;
    assert.equal(few.delta, many.delta);
    assert.ok(many.relError < few.relError, `${many.relError} vs ${few.relError}`);
    console.log(`${f} integrated gradients from the zero embedding, 12 tokens: relative error ${(few.relError * 100).toFixed(1)}% at 16 steps, ${(many.relError * 100).toFixed(1)}% at 512`);
  }
});

test("a checkpoint folder (config.json and model.safetensors, no graph) is explained through a copy read from its safetensors: the ONNX folder's scores", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const f of FIXTURES) {
    const dir = tempDir(`ckpt-${f}`);
    for (const file of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(HF, f, file), path.join(dir, file));
    const text = "function add(a, b) {\n  return a +";
    const fromOnnx = await s.call("attribute", { model: path.join(HF, f), text, method: "grad-x-input" }, ctx);
    const fromCheckpoint = await s.call("attribute", { model: dir, text, method: "grad-x-input" }, ctx);
    assert.equal((await s.model(dir)).family, "checkpoint");
    assert.equal(fromCheckpoint.computedBy.family, "llama-tfjs");
    assert.equal(fromCheckpoint.computedBy.name, `${path.basename(dir)} (tfjs)`);
    assert.ok(fromCheckpoint.computedBy.agreement! < 1e-4, `agreement ${fromCheckpoint.computedBy.agreement}`);
    assert.equal(fromCheckpoint.target.id, fromOnnx.target.id);
    const worst = maxDiff(fromCheckpoint.scores.map((x) => x.score), fromOnnx.scores.map((x) => x.score));
    assert.ok(worst <= 1e-4, `${f}: checkpoint vs ONNX folder scores, max |diff| ${worst}`);
    const twin = (await s.open(`tfjs:${dir}`, ctx)) as TfjsLlamaDecoder;
    assert.equal(twin.info().fileBytes, fs.statSync(path.join(dir, "model.safetensors")).size);
    assert.equal(twin.info().embeddings.output, f === "qwen2-tied" ? "tied" : "own");
  }
});

test("seqlens attribute --method grad-x-input on a Llama-shaped folder names the TensorFlow.js copy", () => {
  const r = spawnSync(process.execPath, [CLI_JS, "attribute", "--model", path.join(HF, "qwen2-tied"), "--text", "let total = 0;", "--method", "grad-x-input", "--json", "--ep", "cpu"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.method, "grad-x-input");
  assert.deepEqual([j.computedBy.name, j.computedBy.family], ["qwen2-tied (tfjs)", "llama-tfjs"]);
  assert.ok(j.scores.length > 3 && j.scores.every((x: { norm: number }) => x.norm > 0));
});

test("refusals: a graph whose weights the copy cannot find (named), and model types it does not run", async () => {
  // llama-gqa's graph with layer 1's up_proj node renamed: onnxruntime runs it as before, but the
  // copy finds that MatMul's weight neither by the node's path nor by a Hugging Face name
  const dir = tempDir("llama-renamed");
  fs.cpSync(path.join(HF, "llama-gqa"), dir, { recursive: true });
  const file = path.join(dir, "onnx", "model.onnx");
  const m = onnx.ModelProto.decode(fs.readFileSync(file));
  const node = m.graph!.node!.find((n) => n.name === "/model/layers.1/mlp/up_proj/MatMul")!;
  node.name = "/model/layers.1/mlp/MatMul_up";
  fs.writeFileSync(file, onnx.ModelProto.encode(m).finish());
  const s = new EngineService({ providers: "cpu" });
  const text = "let x = 1;";
  const ablation = await s.call("attribute", { model: dir, text }, ctx);
  assert.equal(ablation.method, "ablation");
  await assert.rejects(
    s.call("attribute", { model: dir, text, method: "grad-x-input" }, ctx),
    code("UNSUPPORTED", new RegExp(`^${path.basename(dir)} \\(llama-onnx\\): gradients need a differentiable copy; this model has none \\(its TensorFlow\\.js copy could not be made: .*model\\.onnx: no weight for model\\.layers\\.1\\.mlp\\.up_proj\\.weight \\(looked for as the MatMul operand of the module's node and by its Hugging Face name\\).*\\): use method ablation$`)),
  );
  await assert.rejects(TfjsLlamaDecoder.load(path.join(ROOT, "samples", "models", "tiny-gpt")), code("UNSUPPORTED", /config\.json: model_type "gpt2": the TensorFlow\.js copy runs the Llama-shaped model types llama, mistral, qwen2, qwen3, phi3$/));
});
