// Fused attention operators (com.microsoft GroupQueryAttention / MultiHeadAttention, as published
// Llama / Qwen ONNX builds have them) hide the attention Softmax; the probe copy recovers the
// probabilities. The PyTorch fixture's weights (test/fixtures/hf/llama-gqa) are exported three ways
// (plain operators, one GroupQueryAttention per layer as onnxruntime-genai writes it, one
// MultiHeadAttention per layer as onnxruntime's optimizer writes it) and opened through the engine:
// each recovery path (the operator's own QK output, recomputed from its inputs) must give the plain
// graph's attention per query head (and PyTorch's), the same next tokens and the same greedy ids
// with the KV cache. A node neither path covers gives a note naming it, and the model still runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { prepareProbe } from "../../engine/formats/onnxProbe";
import { exportLlamaOnnx, llamaConfigFrom, type LlamaExportOptions } from "../../engine/formats/llamaExport";
import { EngineService } from "../../engine/service";
import { safetensorsWeights } from "../checkpointReference";
import { ROOT, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const FIXTURE = path.join(ROOT, "test", "fixtures", "hf", "llama-gqa");
const reference = JSON.parse(fs.readFileSync(path.join(FIXTURE, "reference.json"), "utf8")) as { ids: number[]; attention: number[][][][]; top5: { id: number; p: number }[]; greedyWithCache: number[] };
const config = JSON.parse(fs.readFileSync(path.join(FIXTURE, "config.json"), "utf8"));

/** A model folder holding the fixture's weights exported with `attention` (and `edit` applied to the graph). */
function exportFolder(attention: LlamaExportOptions["attention"], edit?: (m: onnx.ModelProto) => void): string {
  const st = safetensorsWeights(path.join(FIXTURE, "model.safetensors"));
  let bytes = exportLlamaOnnx(llamaConfigFrom(config), (n) => ({ shape: st.shape(n), data: st.read(n) }), {}, { attention });
  if (edit) {
    const m = onnx.ModelProto.decode(bytes);
    edit(m);
    bytes = onnx.ModelProto.encode(m).finish();
  }
  const dir = tempDir(`fused-${attention}`);
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, "onnx"));
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), bytes);
  return dir;
}

const folders = new Map<string, string>();
const folder = (attention: "plain" | "gqa" | "mha") => {
  if (!folders.has(attention)) folders.set(attention, exportFolder(attention));
  return folders.get(attention)!;
};

/** Runs `body` with SEQLENS_FUSED_ATTENTION set (the recovery path forced), on a fresh engine. */
async function withMode<T>(mode: "auto" | "qk-output" | "recompute", body: (s: EngineService) => Promise<T>): Promise<T> {
  const saved = process.env.SEQLENS_FUSED_ATTENTION;
  process.env.SEQLENS_FUSED_ATTENTION = mode;
  try {
    return await body(new EngineService({ providers: "cpu" }));
  } finally {
    if (saved === undefined) delete process.env.SEQLENS_FUSED_ATTENTION;
    else process.env.SEQLENS_FUSED_ATTENTION = saved;
  }
}

interface Run {
  attention: Float32Array[][]; // [layer][head] = [q, k] rows
  top: { id: number; p: number }[];
  greedy: number[];
  info: Awaited<ReturnType<EngineService["call"]>> & { attention: { found: boolean; layers: number; note?: string; source?: string } };
}

async function inspect(s: EngineService, model: string): Promise<Run> {
  const info = (await s.call("info", { model }, ctx)) as Run["info"];
  const r = await s.call("inspect", { model, ids: reference.ids, topK: 5 }, ctx);
  const attention: Float32Array[][] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    attention.push([]);
    for (let h = 0; h < config.num_attention_heads; h++) {
      const a = await s.call("attention", { handle: r.handle, layer: l, head: h }, ctx);
      assert.deepEqual(a.shape, [reference.ids.length, reference.ids.length]);
      attention[l].push(Float32Array.from(a.data));
    }
  }
  const g = await s.call("generate", { model, ids: reference.ids, maxTokens: 12, greedy: true }, ctx);
  return { attention, top: r.next!.top.slice(0, 5), greedy: g.tokens.map((t) => t.id), info };
}

function maxDiff(a: Float32Array[][], b: Float32Array[][] | number[][][][]): number {
  let worst = 0;
  a.forEach((layer, l) =>
    layer.forEach((rows, h) => {
      const want = b[l][h];
      const flat = want instanceof Float32Array ? want : Float32Array.from((want as number[][]).flat());
      rows.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - flat[i]))));
    }),
  );
  return worst;
}

let plainRun: Promise<Run> | undefined;
const plain = () => (plainRun ??= withMode("auto", (s) => inspect(s, folder("plain"))));

for (const [attention, mode, source] of [
  ["gqa", "qk-output", "qk-output"],
  ["gqa", "recompute", "recomputed"],
  ["mha", "qk-output", "qk-output"],
  ["mha", "recompute", "recomputed"],
] as const) {
  test(`${attention === "gqa" ? "GroupQueryAttention (genai layout)" : "MultiHeadAttention (optimizer layout)"}, ${source}: attention per query head as the plain export's and PyTorch's (<= 1e-5), same top-5 and 12 greedy ids with the KV cache`, async () => {
    const want = await plain();
    assert.equal(want.info.attention.source, "softmax");
    const got = await withMode(mode, (s) => inspect(s, folder(attention)));
    assert.equal(got.info.attention.found, true, got.info.attention.note);
    assert.equal(got.info.attention.layers, config.num_hidden_layers);
    assert.equal(got.info.attention.source, source);
    const vsPlain = maxDiff(got.attention, want.attention);
    const vsTorch = maxDiff(got.attention, reference.attention);
    assert.ok(vsPlain <= 1e-5, `attention differs from the plain export's by ${vsPlain}`);
    assert.ok(vsTorch <= 1e-5, `attention differs from PyTorch's by ${vsTorch}`);
    // not vacuous: the rows are far from uniform and causal (row 0 sees only itself)
    assert.equal(got.attention[0][0][0], 1);
    assert.ok(Math.max(...got.attention[2][3]) > 0.9);
    assert.deepEqual(got.top.map((t) => t.id), want.top.map((t) => t.id));
    assert.deepEqual(got.top.map((t) => t.id), reference.top5.map((t) => t.id));
    got.top.forEach((t, i) => assert.ok(Math.abs(t.p - want.top[i].p) <= 1e-5, `p of ${t.id}: ${t.p} vs ${want.top[i].p}`));
    assert.deepEqual(got.greedy, want.greedy);
    assert.deepEqual(got.greedy, reference.greedyWithCache);
    console.log(`${attention} ${source}: attention vs plain ${vsPlain.toExponential(2)}, vs PyTorch ${vsTorch.toExponential(2)}`);
  });
}

test("GroupQueryAttention in auto mode on CPU takes the operator's own probabilities (qk_output = 2)", async () => {
  const got = await withMode("auto", async (s) => s.call("info", { model: folder("gqa") }, ctx));
  assert.equal(got.attention.found, true);
  assert.equal(got.attention.source, "qk-output");
});

test("a node no path recovers (smooth_softmax is not recomputed) gives a note naming it; the model still predicts and generates; its own qk output still covers it", async () => {
  const dir = exportFolder("gqa", (m) => {
    const node = m.graph!.node!.find((n) => n.opType === "GroupQueryAttention" && n.name === "/model/layers.1/attn/GroupQueryAttention")!;
    node.attribute!.push(onnx.AttributeProto.create({ name: "smooth_softmax", type: onnx.AttributeProto.AttributeType.INT, i: 1 }));
  });
  const recomputed = await withMode("recompute", async (s) => {
    const info = await s.call("info", { model: dir }, ctx);
    const r = await s.call("inspect", { model: dir, ids: reference.ids, topK: 5 }, ctx);
    const g = await s.call("generate", { model: dir, ids: reference.ids, maxTokens: 12, greedy: true }, ctx);
    return { info, r, greedy: g.tokens.map((t) => t.id) };
  });
  assert.equal(recomputed.info.attention.found, false);
  assert.match(recomputed.info.attention.note!, /node "\/model\/layers\.1\/attn\/GroupQueryAttention" \(GroupQueryAttention\): .*smooth softmax \/ head_sink is not recomputed/);
  assert.ok(!/layers\.0/.test(recomputed.info.attention.note!), "only the node that cannot be recovered is named");
  assert.equal(recomputed.r.attentionAvailable, false);
  assert.equal(recomputed.r.next!.top.length, 5);
  assert.equal(recomputed.greedy.length, 12);
  // the operator's own softmax output covers it: rows of layer 1 sum below 1 (the smooth softmax's extra term)
  const own = await withMode("auto", async (s) => {
    const r = await s.call("inspect", { model: dir, ids: reference.ids, topK: 5 }, ctx);
    const l1 = await s.call("attention", { handle: r.handle, layer: 1, head: 0 }, ctx);
    const l0 = await s.call("attention", { handle: r.handle, layer: 0, head: 0 }, ctx);
    const g = await s.call("generate", { model: dir, ids: reference.ids, maxTokens: 12, greedy: true }, ctx);
    return { r, l0, l1, greedy: g.tokens.map((t) => t.id) };
  });
  assert.equal(own.r.attentionAvailable, true);
  const T = reference.ids.length;
  const rowSum = (d: ArrayLike<number>, q: number) => Array.from(d).slice(q * T, (q + 1) * T).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(rowSum(own.l0.data, T - 1) - 1) < 1e-5);
  assert.ok(rowSum(own.l1.data, 0) < 0.99, `smooth softmax row sums to ${rowSum(own.l1.data, 0)}`);
  assert.deepEqual(own.greedy, recomputed.greedy, "the recovery changes no prediction");
});

// ---- with a KV cache: the twins' logits and presents, and the recovered attention at past > 0 ----

type Feeds = Record<string, ort.Tensor>;
const int64 = (values: number[]) => new ort.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), [1, values.length]);

/** Runs the ids in chunks through `file` with its own cache; per chunk: logits, the attention outputs `fetch`, the presents. */
async function chunked(file: string, chunks: number[][], fetch: string[]): Promise<{ logits: Float32Array; attention: Float32Array[]; present: Float32Array[]; dims: number[][] }[]> {
  const s = await ort.InferenceSession.create(file);
  const L = config.num_hidden_layers;
  let past: Feeds = {};
  for (let i = 0; i < L; i++) for (const kv of ["key", "value"]) past[`past_key_values.${i}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, config.num_key_value_heads, 0, config.head_dim]);
  let done = 0;
  const out = [];
  for (const ids of chunks) {
    const feeds: Feeds = { input_ids: int64(ids), attention_mask: int64(Array(done + ids.length).fill(1)), ...past };
    if (s.inputNames.includes("position_ids")) feeds.position_ids = int64(ids.map((_, i) => done + i));
    const r = await s.run(feeds);
    past = {};
    const present: Float32Array[] = [];
    for (let i = 0; i < L; i++) {
      for (const kv of ["key", "value"]) {
        past[`past_key_values.${i}.${kv}`] = r[`present.${i}.${kv}`];
        present.push(r[`present.${i}.${kv}`].data as Float32Array);
      }
    }
    out.push({ logits: r.logits.data as Float32Array, attention: fetch.map((n) => r[n].data as Float32Array), present, dims: fetch.map((n) => [...r[n].dims]) });
    done += ids.length;
  }
  await s.release();
  return out;
}

const diff = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
};

test("with a KV cache (the prompt in 3 chunks: past 0, 4 and 9): the GQA and MHA twins give the plain export's logits (<= 1e-4) and caches; each recovery path gives its attention [1, heads, q, past + q] (<= 1e-5)", async () => {
  const ids = reference.ids;
  const chunks = [ids.slice(0, 4), ids.slice(4, 9), ids.slice(9)];
  const plainProbe = prepareProbe(path.join(folder("plain"), "onnx", "model.onnx"), undefined);
  assert.equal(plainProbe.attentionSource, "softmax");
  const want = await chunked(plainProbe.file, chunks, plainProbe.attentionOutputs);
  for (const attention of ["gqa", "mha"] as const) {
    for (const mode of ["qk-output", "recompute"] as const) {
      const probe = prepareProbe(path.join(folder(attention), "onnx", "model.onnx"), undefined, { mode });
      assert.equal(probe.attentionSource, mode === "recompute" ? "recomputed" : "qk-output");
      assert.equal(probe.attentionOutputs.length, config.num_hidden_layers);
      const got = await chunked(probe.file, chunks, probe.attentionOutputs);
      const worst = { logits: 0, present: 0, attention: 0 };
      got.forEach((step, c) => {
        worst.logits = Math.max(worst.logits, diff(step.logits, want[c].logits));
        step.present.forEach((p, i) => (worst.present = Math.max(worst.present, diff(p, want[c].present[i]))));
        step.attention.forEach((a, l) => {
          assert.deepEqual(step.dims[l], [1, config.num_attention_heads, chunks[c].length, chunks.slice(0, c + 1).flat().length]);
          worst.attention = Math.max(worst.attention, diff(a, want[c].attention[l]));
        });
      });
      assert.ok(worst.logits <= 1e-4, `${attention}/${mode}: logits differ by ${worst.logits}`);
      assert.ok(worst.present <= 1e-5, `${attention}/${mode}: the cache differs by ${worst.present}`);
      assert.ok(worst.attention <= 1e-5, `${attention}/${mode}: attention differs by ${worst.attention}`);
      console.log(`${attention}/${mode} with the cache: logits ${worst.logits.toExponential(2)}, cache ${worst.present.toExponential(2)}, attention ${worst.attention.toExponential(2)}`);
    }
  }
});
