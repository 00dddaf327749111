// Comparing two models on one text, through the engine service: a model against itself gives zero
// divergence; a copy with one logit raised by δ gives the KL the closed form says; the final
// checkpoint beats the early one on held-out text; the int8 copy costs a little divergence; two
// tokenizers are compared per byte; pairs that cannot be compared say why.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineService } from "../../engine/service";
import { RecurrentService } from "../../engine/recurrentService";
import { DecoderModel } from "../../engine/models/decoder";
import { decodeOnnx } from "../../engine/formats/onnxWeights";
import { headChanges, rowDivergence, tokenLosses } from "../../engine/probes/compare";
import { attentionHeadJs, compareRows } from "../../engine/probes/compareKernel";
import { copyModel, EARLY_MODEL, heldoutText, ROOT, SAMPLE_MODEL, tempDir } from "../helpers";
import { EngineError } from "../../protocol/errors";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const text = heldoutText(1500);

test("a model against itself: zero divergence everywhere, equal losses, no head changed", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("compare", { modelA: SAMPLE_MODEL, modelB: SAMPLE_MODEL, text }, ctx);
  assert.equal(r.mode, "token");
  assert.ok(r.tokens.length > 100);
  for (const c of r.perToken.slice(1)) {
    // KL is exactly 0 (log p − log p); JS goes through log((p + p) / 2) in float32: round-off only
    assert.ok(c.kl![0] === 0 && c.kl![1] === 0 && c.js! < 1e-6, JSON.stringify(c));
    assert.equal(c.loss[0], c.loss[1]);
  }
  assert.equal(r.summary.meanLoss[0], r.summary.meanLoss[1]);
  assert.equal(r.summary.changedTokens.length, 0);
  assert.ok(r.summary.meanJs! < 1e-6);
  assert.equal(r.summary.changedHeads.length, 16);
  assert.ok(r.summary.changedHeads.every((h) => h.meanJs < 1e-6), JSON.stringify(r.summary.changedHeads[0]));
});

test("one logit raised by δ in a copy: the per-position KL is log(1 + p_k(e^δ − 1)) − δ·p_k", async () => {
  const dir = copyModel();
  const file = path.join(dir, "onnx", "model.onnx");
  const model = decodeOnnx(file, fs.readFileSync(file));
  const g = model.graph!;
  const V = 4096;
  const k = 1234;
  const delta = 2;
  const bias = new Float32Array(V);
  bias[k] = delta;
  g.node!.find((n) => n.output![0] === "logits")!.output![0] = "logits_raw";
  g.initializer!.push(onnx.TensorProto.create({ name: "logit_bias", dims: [V], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(bias.buffer) }));
  g.node!.push(onnx.NodeProto.create({ opType: "Add", name: "bias_one_logit", input: ["logits_raw", "logit_bias"], output: ["logits"] }));
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());

  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("compare", { modelA: SAMPLE_MODEL, modelB: dir, text: heldoutText(400) }, ctx);
  const m = await DecoderModel.load(SAMPLE_MODEL, ["cpu"]);
  const ids = r.tokens.map((t) => t.id);
  const { logits } = await m.forward(ids);
  for (let t = 1; t < ids.length; t++) {
    const row = logits.subarray((t - 1) * V, t * V);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    const pk = Math.exp(row[k] - max) / sum;
    const expected = (Math.log(1 + pk * (Math.exp(delta) - 1)) - delta * pk) / Math.LN2;
    assert.ok(Math.abs(r.perToken[t].kl![0] - expected) < 1e-6 + 1e-4 * expected, `position ${t}: ${r.perToken[t].kl![0]} vs ${expected}`);
  }
  await m.dispose();
});

test("the final checkpoint has a lower mean loss than the early one on held-out text, and the heads changed", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("compare", { modelA: EARLY_MODEL, modelB: SAMPLE_MODEL, text }, ctx);
  assert.ok(r.summary.meanLoss[1] < r.summary.meanLoss[0] - 1, `early ${r.summary.meanLoss[0]} vs final ${r.summary.meanLoss[1]} bits/token`);
  assert.ok(r.summary.meanJs! > 0.1);
  assert.ok(r.summary.changedHeads[0].meanJs > 0.1);
  assert.ok(r.summary.changedTokens[0].delta !== 0);
  // the attention of both sides is kept for the panel
  const slice = await s.call("attention", { handle: r.handles[1], layer: 0, head: 0 }, ctx);
  assert.deepEqual(slice.shape, [r.tokens.length, r.tokens.length]);
});

test("the int8 copy: MatMulInteger in the graph, a smaller file, and a small divergence it costs", async () => {
  const s = new EngineService({ providers: "cpu" });
  const out = path.join(tempDir("q8"), "tiny-gpt-int8");
  const q = await s.call("quantize", { model: SAMPLE_MODEL, out }, ctx);
  assert.equal(q.quantized, 16); // c_attn, attn c_proj, c_fc, mlp c_proj in each of 4 blocks
  assert.ok(q.bytes[1] < 0.65 * q.bytes[0], JSON.stringify(q.bytes));
  const g = decodeOnnx(path.join(out, "onnx", "model.onnx"), fs.readFileSync(path.join(out, "onnx", "model.onnx"))).graph!;
  assert.equal(g.node!.filter((n) => n.opType === "MatMulInteger").length, 16);
  const r = await s.call("compare", { modelA: SAMPLE_MODEL, modelB: out, text }, ctx);
  assert.equal(r.mode, "token");
  assert.ok(r.summary.meanJs! > 0 && r.summary.meanJs! < 0.01, String(r.summary.meanJs));
  assert.ok(Math.abs(r.summary.meanLoss[1] - r.summary.meanLoss[0]) < 0.05, JSON.stringify(r.summary.meanLoss));
  await assert.rejects(s.call("quantize", { model: SAMPLE_MODEL, out }, ctx), /exists and is not empty/);
  // a recurrent model has no MatMul weights to quantise: said so, nothing written
  const rnnOut = path.join(tempDir("q8-rnn"), "co2-int8");
  await assert.rejects(s.call("quantize", { model: path.join(ROOT, "samples", "models", "co2-lstm"), out: rnnOut }, ctx), (e: unknown) => e instanceof EngineError && e.code === "BAD_INPUT" && /is a recurrent model \(recurrent-onnx\): the int8 copy quantises the MatMul weights of transformer models/.test(e.message));
  assert.equal(fs.existsSync(rnnOut), false);
});

test("two tokenizers: compared per byte, said so; one tokenizer name with two vocabularies, or a recurrent model, is refused with the first difference", async () => {
  // The same weights with the last (rarest) merge rule removed: the vocabularies agree, the merges do not.
  const dir = copyModel();
  const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  tj.model.merges.pop();
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tj));
  const s = new EngineService({ providers: "cpu" });
  const sample = heldoutText(400);
  const r = await s.call("compare", { modelA: SAMPLE_MODEL, modelB: dir, text: sample }, ctx);
  assert.equal(r.mode, "byte");
  assert.match(r.note!, /tokenize differently \(the vocabularies are the same but the merge rules differ\): their losses are compared per byte/);
  assert.equal(r.summary.unit, "bits/byte");
  // This text never uses the dropped merge, so both split it alike; with the same weights the
  // second's loss over the first's token spans is then its own token loss, and bits per byte agree.
  assert.deepEqual(r.tokensB!.map((t) => t.id), r.tokens.map((t) => t.id));
  r.perToken.forEach((c, i) => assert.ok(c.loss[0] === null || Math.abs(c.loss[0] - c.loss[1]!) < 1e-9, `token ${i}`));
  assert.ok(Math.abs(r.summary.meanLoss[0] - r.summary.meanLoss[1]) < 1e-9);
  const bytes = new TextEncoder().encode(sample).length;
  assert.ok(Math.abs(r.summary.meanLoss[0] - r.perToken.reduce((a, c) => a + (c.loss[0] ?? 0), 0) / (bytes - r.tokens[0].byteEnd)) < 1e-9, "bits per byte: the losses over the bytes after the first token");
  // Both claim one tokenizer name: refused, naming the difference.
  const named = copyModel();
  for (const d of [named, dir]) {
    const cfgFile = path.join(d, "tokenizer_config.json");
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, "utf8")), name_or_path: "seqlens/tiny-bpe" }));
  }
  const fresh = new EngineService({ providers: "cpu" }); // models are cached as first loaded
  await assert.rejects(fresh.call("compare", { modelA: named, modelB: dir, text: sample }, ctx), /both name their tokenizer "seqlens\/tiny-bpe", but the vocabularies are the same but the merge rules differ/);
  await assert.rejects(s.call("compare", { modelA: SAMPLE_MODEL, modelB: path.join(path.dirname(SAMPLE_MODEL), "char-lstm"), text: sample }, ctx), /read different inputs: .*char-lstm is a recurrent model/);
});

test("the divergences the WebAssembly kernels compute equal the reference written out in JavaScript (compare.ts)", async () => {
  const a = await DecoderModel.load(EARLY_MODEL, ["cpu"]);
  const b = await DecoderModel.load(SAMPLE_MODEL, ["cpu"]);
  const ids = b.tokenizer.encode(heldoutText(600));
  const [oa, ob] = [await a.forward(ids, { attention: true }), await b.forward(ids, { attention: true })];
  const V = 4096;
  const T = ids.length;
  const rows = compareRows(oa.logits, ob.logits, T, V, ids.map((_, t) => (t + 1 < T ? ids[t + 1] : 0)));
  const refLoss = tokenLosses(oa.logits, V, ids);
  for (let t = 0; t + 1 < T; t++) {
    const ref = rowDivergence(oa.logits.subarray(t * V, (t + 1) * V), ob.logits.subarray(t * V, (t + 1) * V));
    const close = (x: number, y: number) => Math.abs(x - y) <= 1e-5 + 1e-4 * Math.abs(y);
    assert.ok(close(rows.klAB[t] / Math.LN2, ref.klAB) && close(rows.klBA[t] / Math.LN2, ref.klBA) && close(rows.js[t] / Math.LN2, ref.js), `row ${t}`);
    assert.ok(close(rows.lossA[t] / Math.LN2, refLoss.bits[t + 1]!), `loss ${t}`);
    assert.ok(Math.abs(rows.aboveA[t] + 1 - refLoss.rank[t + 1]!) <= 1, `rank ${t}`); // ties count once in the reference
  }
  const js = attentionHeadJs(oa.attention!, ob.attention!, 4, T);
  const ref = headChanges(oa.attention!, ob.attention!, 4, T);
  for (const h of ref) assert.ok(Math.abs(js[h.layer * 4 + h.head] / Math.LN2 - h.meanJs) < 1e-5, `layer ${h.layer} head ${h.head}`);
  await a.dispose();
  await b.dispose();
});

test("two recurrent character models: zero against itself; the GRU sample beats the LSTM sample, as their held-out figures say; a different vocabulary is named", async () => {
  const s = new EngineService({ providers: "cpu" });
  const models = path.dirname(SAMPLE_MODEL);
  const [lstm, gru] = ["char-lstm", "char-gru"].map((n) => path.join(models, n));
  const sample = heldoutText(2000);
  const self = await s.call("compare", { modelA: lstm, modelB: lstm, text: sample }, ctx);
  assert.equal(self.summary.unit, "bits/char");
  assert.equal(self.tokens.length, Array.from(sample).length);
  assert.ok(self.perToken.slice(1).every((c) => c.kl![0] === 0 && c.js! < 1e-6));
  const r = await s.call("compare", { modelA: lstm, modelB: gru, text: sample }, ctx);
  assert.ok(r.summary.meanLoss[1] < r.summary.meanLoss[0], JSON.stringify(r.summary.meanLoss));
  // the losses are the models' own: the reference loss of the LSTM's logits from its gates run
  const g = new RecurrentService();
  const run = await g.charRun(lstm, sample);
  const index = new Map(run.vocab.map((c, i) => [c, i]));
  const ref = tokenLosses(run.logits, run.vocab.length, Array.from(sample, (c) => index.get(c) ?? 0));
  r.perToken.forEach((c, t) => assert.ok(t === 0 || Math.abs(c.loss[0]! - ref.bits[t]!) < 1e-4, `char ${t}`));
  // the next-character distributions are there for the panel, and the gates runs
  const next = await s.call("nextToken", { handle: r.handles[1], position: 10, topK: 3 }, ctx);
  assert.equal(next.top.length, 3);
  assert.equal(r.gates!.length, 2);
  // a vocabulary that differs in one entry
  const dir = copyModel(lstm);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  cfg.vocab[5] = "§";
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(cfg));
  await assert.rejects(s.call("compare", { modelA: lstm, modelB: dir, text: sample }, ctx), /different character vocabularies: entry 5 is "#" in the first and "§" in the second/);
  await assert.rejects(s.call("compare", { modelA: path.join(models, "co2-lstm"), modelB: lstm, text: sample }, ctx), /reads a numeric series/);
});

test("ONNX against the TensorFlow.js twin of the same weights: a parity check, divergences at float32 round-off", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("compare", { modelA: SAMPLE_MODEL, modelB: `tfjs:${SAMPLE_MODEL}`, text: heldoutText(1200) }, ctx);
  assert.equal(r.mode, "token");
  assert.deepEqual(r.names, ["tiny-gpt", "tiny-gpt (tfjs)"]);
  const maxKl = Math.max(...r.perToken.slice(1).map((c) => Math.max(...c.kl!)));
  const maxLoss = Math.max(...r.perToken.slice(1).map((c) => Math.abs(c.loss[0]! - c.loss[1]!)));
  assert.ok(maxKl < 1e-5, `max KL ${maxKl} bits`);
  assert.ok(maxLoss < 1e-3, `max loss difference ${maxLoss} bits`);
  assert.ok(r.perToken.slice(1).every((c) => c.rank![0] === c.rank![1]), "the same rank for every actual token");
  assert.equal(r.summary.changedHeads.length, 16);
  assert.ok(r.summary.changedHeads[0].meanJs < 1e-6, String(r.summary.changedHeads[0].meanJs));
});
