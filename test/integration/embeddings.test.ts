// Embeddings and the logit lens on the bundled model, through the engine service (in-process):
// the lens's last row is the model's own next-token distribution; its other rows equal ln_f and the
// unembedding computed here from the model's weights; contextual layer 0 is wte + wpe; UMAP and
// t-SNE separate clusters a constructed dataset has, report progress, stop when cancelled, and the
// vocabulary projection is cached.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineService } from "../../engine/service";
import { softmax, topIndices } from "../../engine/probes/nextToken";
import { DecoderModel } from "../../engine/models/decoder";
import { decodeOnnx, readInitializers } from "../../engine/formats/onnxWeights";
import { tsneProject, umapProject } from "../../engine/probes/manifold";
import { pcaProject } from "../../engine/probes/projection";
import { Progress } from "../../protocol/engine";
import { copyModel, heldoutText, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

test("logit lens: n_layer + 1 rows; the last row is inspect's next-token distribution at every position", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = heldoutText(300);
  const lens = await s.call("lens", { model: SAMPLE_MODEL, text, topK: 5 }, ctx);
  const r = await s.call("inspect", { model: SAMPLE_MODEL, text, topK: 5 }, ctx);
  assert.equal(lens.layers.length, r.nLayer + 1);
  assert.deepEqual(lens.layerNames, ["embeddings", "block 0", "block 1", "block 2", "block 3"]);
  assert.deepEqual(lens.tokens.map((t) => t.id), r.tokens.map((t) => t.id));
  const last = lens.layers[lens.layers.length - 1];
  for (let t = 0; t < r.tokens.length; t++) {
    const n = await s.call("nextToken", { handle: r.handle, position: t, topK: 5 }, ctx);
    assert.deepEqual(last[t].map((c) => c.id), n.top.map((c) => c.id), `position ${t}`);
    last[t].forEach((c, k) => assert.ok(Math.abs(c.p - n.top[k].p) < 1e-6, `position ${t} rank ${k}: ${c.p} vs ${n.top[k].p}`));
    assert.equal(lens.finalRank[r.nLayer][t], 1);
  }
  // Earlier layers mostly disagree with the final prediction somewhere (the lens is not the last row repeated).
  assert.ok(lens.finalRank[1].some((rank) => rank > 1));
  // Probabilities are sorted and sum to at most 1.
  for (const row of lens.layers) for (const cell of row) {
    assert.ok(cell.every((c, k) => k === 0 || c.p <= cell[k - 1].p));
    assert.ok(cell.reduce((a, c) => a + c.p, 0) <= 1 + 1e-9);
  }
});

test("logit lens: a middle layer equals ln_f and the tied unembedding computed here from the weights", async () => {
  const model = await DecoderModel.load(SAMPLE_MODEL, ["cpu"]);
  const ids = model.tokenizer.encode("function add(a: number, b: number) {\n  return");
  const out = await model.lensForward(ids, { decode: true });
  const w = readInitializers(path.join(SAMPLE_MODEL, "onnx", "model.onnx"));
  const find = (suffix: string) => [...w.entries()].find(([k]) => k.endsWith(suffix))![1];
  const gamma = find("ln_f.weight").data;
  const beta = find("ln_f.bias").data;
  const wte = find("wte.weight");
  const [V, d] = wte.shape;
  const layer = 2;
  const T = ids.length;
  for (let t = 0; t < T; t++) {
    const x = out.residuals[layer].subarray(t * d, (t + 1) * d);
    let mean = 0;
    for (const v of x) mean += v / d;
    let variance = 0;
    for (const v of x) variance += (v - mean) ** 2 / d;
    const xn = Array.from(x, (v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma[i] + beta[i]);
    const logits = new Float32Array(V);
    for (let v = 0; v < V; v++) {
      let sum = 0;
      for (let i = 0; i < d; i++) sum += xn[i] * wte.data[v * d + i];
      logits[v] = sum;
    }
    const mine = softmax(logits);
    const theirs = softmax(out.logits![layer].subarray(t * V, (t + 1) * V));
    assert.deepEqual(topIndices(theirs, 5), topIndices(mine, 5), `position ${t}`);
    for (const id of topIndices(mine, 5)) assert.ok(Math.abs(mine[id] - theirs[id]) < 1e-4, `position ${t} token ${id}`);
  }
  // Layer 0 of the residual stream is the token embedding plus the position embedding.
  const wpe = find("wpe.weight").data;
  for (let t = 0; t < T; t++) for (let i = 0; i < d; i++) assert.ok(Math.abs(out.residuals[0][t * d + i] - (wte.data[ids[t] * d + i] + wpe[t * d + i])) < 1e-5);
  await model.dispose();
});

test("contextual embeddings: one point per position in order, at the layer asked for", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = "class Stack<T> {\n  private items: T[] = [];\n  push(item: T) {";
  const p = await s.call("project", { model: SAMPLE_MODEL, method: "pca", text, layer: 0 }, ctx);
  assert.equal(p.source, "contextual");
  assert.equal(p.layers, 5);
  assert.equal(p.layer, 0);
  assert.deepEqual(p.points.map((q) => q.position), p.tokens!.map((_, i) => i));
  assert.deepEqual(p.points.map((q) => q.id), p.tokens!.map((t) => t.id));
  const u1 = await s.call("project", { model: SAMPLE_MODEL, method: "umap", text, layer: 3 }, ctx);
  const u2 = await s.call("project", { model: SAMPLE_MODEL, method: "umap", text, layer: 3 }, ctx);
  assert.deepEqual(u1.points, u2.points, "seeded: the same input gives the same layout");
  const t = await s.call("project", { model: SAMPLE_MODEL, method: "tsne", text, layer: 4, dims: 3 }, ctx);
  assert.ok(t.points.every((q) => Number.isFinite(q.z!)));
  await assert.rejects(s.call("project", { model: SAMPLE_MODEL, method: "pca", text, layer: 5 }, ctx), /layer must be an integer in 0\.\.4/);
  await assert.rejects(s.call("project", { model: SAMPLE_MODEL, method: "pca", text: "" }, ctx), /empty/);
});

/** Three tight clusters in 16-D, far apart: a projection keeps each point's nearest neighbour in its own cluster. */
function clusters(perCluster: number) {
  let seed = 3;
  const r = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const d = 16;
  const data = new Float32Array(3 * perCluster * d);
  const label: number[] = [];
  for (let c = 0; c < 3; c++) for (let i = 0; i < perCluster; i++) {
    const row = c * perCluster + i;
    label.push(c);
    for (let k = 0; k < d; k++) data[row * d + k] = (k === c ? 10 : 0) + r();
  }
  return { m: { rows: 3 * perCluster, cols: d, data }, label };
}

function neighbourAgreement(coords: Float32Array, dims: number, label: number[]): number {
  let agree = 0;
  for (let i = 0; i < label.length; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < label.length; j++) {
      if (i === j) continue;
      let dd = 0;
      for (let k = 0; k < dims; k++) dd += (coords[i * dims + k] - coords[j * dims + k]) ** 2;
      if (dd < bestD) [best, bestD] = [j, dd];
    }
    if (label[best] === label[i]) agree++;
  }
  return agree / label.length;
}

test("UMAP and t-SNE keep constructed clusters apart, report progress and stop when cancelled", async () => {
  const { m, label } = clusters(40);
  const steps: number[] = [];
  const u = await umapProject(m, { dims: 2, onProgress: (done) => steps.push(done) });
  assert.equal(neighbourAgreement(u, 2, label), 1);
  assert.ok(steps.length > 10 && steps.at(-1)! > steps[1], "UMAP reported its epochs");
  const t = await tsneProject(m, { dims: 2, iterations: 300 });
  assert.equal(neighbourAgreement(t, 2, label), 1);
  const ac = new AbortController();
  const t0 = performance.now();
  const running = tsneProject(clusters(300).m, { dims: 2, signal: ac.signal, onProgress: (done) => done >= 5 && ac.abort() });
  await assert.rejects(running, /t-SNE was cancelled/);
  assert.ok(performance.now() - t0 < 20_000);
});

test("the vocabulary's UMAP streams progress, is cached per model, method and dims, and cancels", async () => {
  const s = new EngineService({ providers: "cpu" });
  const events: Progress[] = [];
  const c1 = { ...ctx, progress: (p: Progress) => events.push(p) };
  const a = await s.call("project", { model: SAMPLE_MODEL, method: "umap" }, c1);
  assert.equal(a.points.length, 4096);
  assert.equal(a.cached, false);
  const steps = events.filter((e) => e.kind === "steps");
  assert.ok(steps.length > 20, `${steps.length} progress events`);
  const b = await s.call("project", { model: SAMPLE_MODEL, method: "umap" }, ctx);
  assert.equal(b.cached, true);
  assert.deepEqual(b.points, a.points);
  const ac = new AbortController();
  const c2 = { ...ctx, signal: ac.signal, progress: (p: Progress) => p.kind === "steps" && p.done > 0 && ac.abort() };
  await assert.rejects(s.call("project", { model: SAMPLE_MODEL, method: "umap", dims: 3 }, c2), /UMAP was cancelled/);
  // A cancelled run leaves nothing in the cache.
  const c = await s.call("project", { model: SAMPLE_MODEL, method: "pca", dims: 3 }, ctx);
  assert.equal(c.cached, false);
});

test("a model with its own output projection: project and neighbours read it as [vocab, d] rows; the tied sample says it is tied", async () => {
  // An untied copy of the sample: logits = ln_f(x) @ W, W [d, V] an initializer whose column v is
  // the token embedding of token (7v + 3) mod V.
  const dir = copyModel();
  const file = path.join(dir, "onnx", "model.onnx");
  const model = decodeOnnx(file, fs.readFileSync(file));
  const g = model.graph!;
  const wte = readInitializers(file);
  const emb = [...wte.entries()].find(([k]) => k.endsWith("wte.weight"))![1];
  const [V, d] = emb.shape;
  const perm = (v: number) => (7 * v + 3) % V;
  const W = new Float32Array(d * V);
  for (let v = 0; v < V; v++) for (let i = 0; i < d; i++) W[i * V + v] = emb.data[perm(v) * d + i];
  g.initializer!.push(onnx.TensorProto.create({ name: "lm_head.weight", dims: [d, V], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(W.buffer) }));
  const lm = g.node!.find((n) => n.output![0] === "logits")!;
  lm.input![1] = "lm_head.weight";
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());

  const s = new EngineService({ providers: "cpu" });
  const info = await s.call("info", { model: dir }, ctx);
  assert.deepEqual(info.embeddings, { input: true, output: "own" });
  const inp = await s.call("project", { model: dir, method: "pca" }, ctx);
  const out = await s.call("project", { model: dir, method: "pca", matrix: "output" }, ctx);
  assert.equal(out.matrix, "output");
  assert.equal(out.cached, false, "each matrix has its own cache entry");
  // The output rows are the input rows permuted: the same axes (up to sign), point v at input point perm(v).
  const sign = Math.sign(out.points[0].x * inp.points[perm(0)].x) || 1;
  for (const v of [0, 1, 17, 1000, 4095]) assert.ok(Math.abs(out.points[v].x - sign * inp.points[perm(v)].x) < 1e-3, `token ${v}`);
  const nIn = await s.call("neighbours", { model: dir, plus: [perm(42)], k: 5 }, ctx);
  const nOut = await s.call("neighbours", { model: dir, plus: [42], k: 5, matrix: "output" }, ctx);
  assert.deepEqual(nOut.neighbours.map((n) => perm(n.id)), nIn.neighbours.map((n) => n.id));
  // The bundled sample ties them.
  assert.deepEqual((await s.call("info", { model: SAMPLE_MODEL }, ctx)).embeddings, { input: true, output: "tied" });
  await assert.rejects(s.call("project", { model: SAMPLE_MODEL, method: "pca", matrix: "output" }, ctx), /tied weights/);
});

test("a recurrent model's contextual embeddings are its h_t per step (the hidden state the gates panel checks against the runtime)", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = path.join(path.dirname(SAMPLE_MODEL), "char-lstm");
  const text = "function area(r: number) {\n  return r * r;\n}";
  const p = await s.call("project", { model, method: "pca", text, layer: 1 }, ctx);
  assert.equal(p.recurrent, true);
  assert.deepEqual(p.layerNames, ["layer 0 · forward · lstm · 128 units", "layer 1 · forward · lstm · 128 units"]);
  assert.equal(p.points.length, Array.from(text).length);
  // Each step is a character with its offsets in the text.
  p.tokens!.forEach((t, i) => assert.equal(text.slice(t.start, t.end), Array.from(text)[i]));
  // The same rows as the gates run's hidden state of layer 1, projected.
  const g = await s.call("gates", { model, text }, ctx);
  assert.ok(g.layers[1].check.ok);
  const h = await s.call("gateSlice", { handle: g.handle, index: 1, name: "hidden" }, ctx);
  const ref = pcaProject({ rows: h.shape[0], cols: h.shape[1], data: h.data as Float32Array }, 2);
  const sign = [0, 1].map((k) => Math.sign(ref.coords[k] * (k ? p.points[0].y : p.points[0].x)) || 1);
  p.points.forEach((q, i) => {
    assert.ok(Math.abs(q.x - sign[0] * ref.coords[2 * i]) < 1e-4 && Math.abs(q.y - sign[1] * ref.coords[2 * i + 1]) < 1e-4, `step ${i}`);
  });
  await assert.rejects(s.call("project", { model, method: "pca" }, ctx), /recurrent model: it has no token-embedding matrix/);
  await assert.rejects(s.call("project", { model, method: "pca", text, layer: 2 }, ctx), /layer must be an integer in 0\.\.1/);
});
