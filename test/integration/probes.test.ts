// Probe invariants on the bundled model, through the engine service (in-process).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineService } from "../../engine/service";
import { attentionInvariantError } from "../../engine/probes/attention";
import { softmax } from "../../engine/probes/nextToken";
import { DecoderModel } from "../../engine/models/decoder";
import { heldoutText, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

test("attention: [layer][head][query][key], causal, rows sum to 1; slices match the whole", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("inspect", { model: SAMPLE_MODEL, text: heldoutText(600) }, ctx);
  const T = r.tokens.length;
  const all = await s.call("attentionAll", { handle: r.handle }, ctx);
  assert.deepEqual(all.shape, [r.nLayer, r.nHead, T, T]);
  const layers = Array.from({ length: r.nLayer }, (_, l) => all.data.subarray(l * r.nHead * T * T, (l + 1) * r.nHead * T * T));
  const err = attentionInvariantError({ layers, heads: r.nHead, length: T });
  assert.ok(err.rowSum < 1e-5, `row sums off by ${err.rowSum}`);
  assert.equal(err.future, 0);
  const slice = await s.call("attention", { handle: r.handle, layer: 2, head: 3 }, ctx);
  assert.deepEqual(slice.shape, [T, T]);
  assert.deepEqual(Array.from(slice.data), Array.from(all.data.subarray((2 * r.nHead + 3) * T * T, (2 * r.nHead + 4) * T * T)));
  // The first query can only attend to itself.
  assert.equal(slice.data[0], 1);
  await assert.rejects(s.call("attention", { handle: r.handle, layer: r.nLayer, head: 0 }, ctx), /layer 4 is out of range/);
  // A slice asked for with the inspection is the same slice; an out-of-range one is simply not sent.
  const withSlice = await s.call("inspect", { model: SAMPLE_MODEL, text: heldoutText(600), slice: { layer: 2, head: 3 } }, ctx);
  assert.deepEqual([withSlice.slice?.layer, withSlice.slice?.head, withSlice.slice?.shape], [2, 3, [T, T]]);
  assert.deepEqual(Array.from(withSlice.slice!.data), Array.from(slice.data));
  assert.equal((await s.call("inspect", { model: SAMPLE_MODEL, text: "x", slice: { layer: 9, head: 0 } }, ctx)).slice, undefined);
});

test("next token: sorted top-k that matches the logits, entropy, actual token rank and probability", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = "interface Array<T> {\n    /**\n     * Gets or sets the length of the array.";
  const r = await s.call("inspect", { model: SAMPLE_MODEL, text, topK: 5 }, ctx);
  assert.equal(r.next!.top.length, 5);
  for (let i = 1; i < 5; i++) assert.ok(r.next!.top[i - 1].p >= r.next!.top[i].p);
  const model = await DecoderModel.load(SAMPLE_MODEL, ["cpu"]);
  const ids = r.tokens.map((t) => t.id);
  const out = await model.forward(ids);
  const V = model.config.vocab_size;
  const p = softmax(out.logits.subarray((ids.length - 1) * V, ids.length * V));
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(Math.abs(r.next!.top[0].p - Math.max(...p)) < 1e-9);
  // position 3 with the actual next token known
  const pos = 3;
  const n = await s.call("nextToken", { handle: r.handle, position: pos, topK: 10, temperature: 1 }, ctx);
  assert.equal(n.actual?.id, ids[pos + 1]);
  const row = softmax(out.logits.subarray(pos * V, (pos + 1) * V));
  assert.ok(Math.abs(n.actual!.p - row[ids[pos + 1]]) < 1e-9);
  assert.equal(n.actual!.rank, 1 + Array.from(row).filter((v) => v > row[ids[pos + 1]]).length);
  // Temperature flattens: higher temperature, higher entropy.
  const hot = await s.call("nextToken", { handle: r.handle, position: pos, temperature: 2 }, ctx);
  assert.ok(hot.entropyBits > n.entropyBits);
  // The trained model knows its corpus: " Reference" follows "* [MDN" (6,475 times in the training text).
  const known = await s.call("inspect", { model: SAMPLE_MODEL, text: "     * [MDN" }, ctx);
  assert.equal(known.next!.top[0].token, " Reference");
  assert.ok(known.next!.top[0].p > 0.9, JSON.stringify(known.next!.top[0]));
  await model.dispose();
});

test("embeddings: input rows are the token-embedding rows; hidden states are [T, d]", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("inspect", { model: SAMPLE_MODEL, text: "const x = 1;" }, ctx);
  const emb = await s.call("embeddings", { handle: r.handle, kind: "input" }, ctx);
  const model = await DecoderModel.load(SAMPLE_MODEL, ["cpu"]);
  const d = model.config.n_embd;
  assert.deepEqual(emb.shape, [r.tokens.length, d]);
  const table = model.probe.tokenEmbedding!;
  r.tokens.forEach((t, i) => assert.deepEqual(Array.from(emb.data.subarray(i * d, (i + 1) * d)), Array.from(table.data.subarray(t.id * d, (t.id + 1) * d))));
  const hid = await s.call("embeddings", { handle: r.handle, kind: "hidden" }, ctx);
  assert.deepEqual(hid.shape, [r.tokens.length, d]);
  // ln_f output: each row has mean ~ bias mean and is not all zeros
  assert.ok(Array.from(hid.data).some((v) => Math.abs(v) > 0.1));
  await model.dispose();
});

test("a whole-tensor request over the cap is a typed error that says what to ask for", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("inspect", { model: SAMPLE_MODEL, text: heldoutText(300) }, ctx);
  await assert.rejects(s.call("attentionAll", { handle: r.handle, capBytes: 1024 }, ctx), (e: Error & { code?: string }) => e.code === "TOO_LARGE" && /one layer and head/.test(e.message));
  await s.call("release", { handle: r.handle }, ctx);
  await assert.rejects(s.call("attention", { handle: r.handle, layer: 0, head: 0 }, ctx), (e: Error & { code?: string }) => e.code === "UNKNOWN_HANDLE");
});

test("surprisal: -log2 p of each actual token from the previous position's logits; agrees with nextToken", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("inspect", { model: SAMPLE_MODEL, text: "interface Foo {\n    bar(): void;\n}" }, ctx);
  const sur = await s.call("surprisal", { handle: r.handle }, ctx);
  assert.equal(sur.tokens.length, r.tokens.length);
  assert.equal(sur.tokens[0].bits, null);
  let sum = 0;
  for (let t = 1; t < r.tokens.length; t++) {
    const n = await s.call("nextToken", { handle: r.handle, position: t - 1 }, ctx);
    assert.equal(n.actual!.id, r.tokens[t].id);
    assert.ok(Math.abs(sur.tokens[t].bits! - -Math.log2(n.actual!.p)) < 1e-9);
    assert.equal(sur.tokens[t].rank, n.actual!.rank);
    assert.deepEqual(sur.tokens[t].top.map((x) => x.id), n.top.slice(0, 5).map((x) => x.id));
    sum += sur.tokens[t].bits!;
  }
  assert.ok(Math.abs(sur.meanBits - sum / (r.tokens.length - 1)) < 1e-9);
});

test("token embeddings: a PCA point per token, and neighbours in the full space that leave out the query", async () => {
  const s = new EngineService({ providers: "cpu" });
  const p = await s.call("project", { model: SAMPLE_MODEL, method: "pca", dims: 3 }, ctx);
  assert.equal(p.points.length, 4096);
  assert.ok(p.points.every((q) => Number.isFinite(q.x) && Number.isFinite(q.y) && Number.isFinite(q.z!)));
  assert.ok(p.explained![0] >= p.explained![1] && p.explained![1] >= p.explained![2] && p.explained![2] > 0);
  // The PCA coordinates are centred.
  const meanX = p.points.reduce((a, q) => a + q.x, 0) / p.points.length;
  assert.ok(Math.abs(meanX) < 1e-3, String(meanX));
  const id = (await s.call("inspect", { model: SAMPLE_MODEL, text: " interface", topK: 1 }, ctx)).tokens[0].id;
  const n = await s.call("neighbours", { model: SAMPLE_MODEL, plus: [id], k: 5 }, ctx);
  assert.equal(n.neighbours.length, 5);
  assert.ok(!n.neighbours.some((x) => x.id === id));
  assert.ok(n.neighbours.every((x, i) => i === 0 || x.score <= n.neighbours[i - 1].score), "nearest first");
  await assert.rejects(s.call("project", { model: SAMPLE_MODEL, method: "isomap" as "pca" }, ctx), /must be "pca", "umap" or "tsne"/);
});
