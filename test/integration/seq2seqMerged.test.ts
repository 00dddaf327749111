// Encoder-decoders whose folder has one merged decoder (onnx/decoder_model_merged.onnx, as optimum and
// transformers.js folders often ship it) instead of decoder_model.onnx + decoder_with_past_model.onnx:
// the fixtures' two decoders merged as optimum merges them (test/mergeDecoders.ts), checked against
// the same PyTorch numbers as the separate files (test/fixtures/seq2seq/*/reference.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { EngineService } from "../../engine/service";
import { prepareProbe } from "../../engine/formats/onnxProbe";
import { tempDir } from "../helpers";
import { mergeDecoders } from "../mergeDecoders";
import { SEQ2SEQ_FIXTURES, seq2seqAttentionDiff, seq2seqReference as reference } from "../seq2seqReference";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const DIR = SEQ2SEQ_FIXTURES;

/** A copy of a fixture folder whose onnx/ holds only encoder_model.onnx and decoder_model_merged.onnx. */
function mergedCopy(name: string): string {
  const dir = path.join(tempDir("seq2seq-merged"), name);
  fs.cpSync(path.join(DIR, name), dir, { recursive: true });
  const onnxDir = path.join(dir, "onnx");
  mergeDecoders(path.join(onnxDir, "decoder_model.onnx"), path.join(onnxDir, "decoder_with_past_model.onnx"), path.join(onnxDir, "decoder_model_merged.onnx"));
  fs.rmSync(path.join(onnxDir, "decoder_model.onnx"));
  fs.rmSync(path.join(onnxDir, "decoder_with_past_model.onnx"));
  assert.deepEqual(fs.readdirSync(onnxDir).sort(), ["decoder_model_merged.onnx", "encoder_model.onnx"]);
  return dir;
}

test("the merged decoder is as optimum writes it: one If on use_cache_branch, shared initializers on top, the union of inputs", () => {
  const src = path.join(DIR, "marian-tiny", "onnx");
  const out = path.join(tempDir("seq2seq-merge"), "decoder_model_merged.onnx");
  mergeDecoders(path.join(src, "decoder_model.onnx"), path.join(src, "decoder_with_past_model.onnx"), out);
  const read = (f: string) => onnx.ModelProto.decode(fs.readFileSync(f)) as onnx.ModelProto & { graph: onnx.GraphProto };
  const [m, d, p] = [read(out), read(path.join(src, "decoder_model.onnx")), read(path.join(src, "decoder_with_past_model.onnx"))];
  const g = m.graph!;
  assert.deepEqual(g.node.map((n) => n.opType), ["If"]);
  assert.equal(Number(m.irVersion), Number(d.irVersion));
  assert.deepEqual(m.opsetImport.map((o) => Number(o.version)), [14]);
  const names = g.input.map((i) => i.name);
  assert.deepEqual(names, [...new Set([...d.graph!.input, ...p.graph!.input].map((i) => i.name)), "use_cache_branch"]);
  assert.deepEqual(g.output.map((o) => o.name), d.graph!.output.map((o) => o.name));
  const [thenB, elseB] = ["then_branch", "else_branch"].map((a) => (g.node[0] as onnx.NodeProto).attribute.find((x) => x.name === a)!.g!);
  assert.equal(elseB.node!.length, d.graph!.node.length);
  // the with-past branch: its nodes and one empty constant for each encoder present it lacks (2 layers x key/value)
  assert.equal(thenB.node!.length, p.graph!.node.length + 4);
  assert.deepEqual(thenB.output!.map((o) => o.name), elseB.output!.map((o) => o.name));
  // the embedding [200, 32] is in both decoders and once on top
  const emb = g.initializer.filter((t) => (t.dims ?? []).map(Number).join() === "200,32");
  assert.equal(emb.length, 1);
  assert.match(emb[0].name!, /_merged_0$/);
  assert.ok(g.initializer.length < d.graph!.initializer.length + p.graph!.initializer.length);
});

test("the probe copy of a merged decoder puts each branch's attention Softmax outputs out through the If", () => {
  const dir = mergedCopy("t5-tiny");
  const probe = prepareProbe(path.join(dir, "onnx", "decoder_model_merged.onnx"), undefined);
  assert.deepEqual(probe.attentionOutputs, [
    "/decoder/block.0/layer.0/SelfAttention/Softmax_output_0",
    "/decoder/block.0/layer.1/EncDecAttention/Softmax_output_0",
    "/decoder/block.1/layer.0/SelfAttention/Softmax_output_0",
    "/decoder/block.1/layer.1/EncDecAttention/Softmax_output_0",
  ]);
  assert.equal(probe.attentionSource, "softmax");
  const g = onnx.ModelProto.decode(fs.readFileSync(probe.file)).graph as onnx.GraphProto;
  const ifNode = g.node[0] as onnx.NodeProto;
  const [thenB, elseB] = ["then_branch", "else_branch"].map((a) => ifNode.attribute.find((x) => x.name === a)!.g!);
  assert.equal(thenB.output!.length, elseB.output!.length);
  assert.equal(ifNode.output.length, elseB.output!.length);
  assert.deepEqual(ifNode.output.slice(-4), probe.attentionOutputs);
  assert.deepEqual(g.output.map((o) => o.name).slice(-4), probe.attentionOutputs);
  assert.deepEqual(elseB.output!.map((o) => o.name).slice(-4), probe.attentionOutputs);
  // the with-past branch gives its own four attention Softmax outputs in the same places
  const softmaxes = thenB.node!.filter((n) => n.opType === "Softmax").map((n) => n.output![0]);
  assert.equal(softmaxes.length, 4);
  assert.deepEqual(thenB.output!.map((o) => o.name).slice(-4), softmaxes);
});

test("an If whose then branch has fewer attention Softmax nodes gives empty tensors in their place", async () => {
  // Y = If(cond, then: x @ v, else: softmax(x) @ v), x [1, 2, 3, 3], v [1, 2, 3, 4]
  const f = onnx.TensorProto.DataType.FLOAT;
  const vi = (name: string, elemType: number, dims: number[]) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const branch = (name: string, softmax: boolean) => ({
    name,
    node: softmax ? [{ opType: "Softmax", input: ["x"], output: ["p"], attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: -1 }] }, { opType: "MatMul", input: ["p", "v"], output: ["y_" + name] }] : [{ opType: "MatMul", input: ["x", "v"], output: ["y_" + name] }],
    output: [vi("y_" + name, f, [1, 2, 3, 4])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ version: 14 }],
    graph: {
      name: "g",
      node: [{ opType: "If", input: ["cond"], output: ["y"], attribute: [{ name: "then_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch("then", false) }, { name: "else_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch("else", true) }] }],
      input: [vi("x", f, [1, 2, 3, 3]), vi("v", f, [1, 2, 3, 4]), vi("cond", onnx.TensorProto.DataType.BOOL, [1])],
      output: [vi("y", f, [1, 2, 3, 4])],
    },
  });
  const file = path.join(tempDir("branch-attention"), "if.onnx");
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
  const probe = prepareProbe(file, undefined);
  assert.deepEqual(probe.attentionOutputs, ["p"]);
  const session = await ort.InferenceSession.create(probe.file);
  const x = Float32Array.from({ length: 18 }, (_, i) => Math.sin(i) * 2);
  const feeds = (cond: boolean) => ({ x: new ort.Tensor("float32", x, [1, 2, 3, 3]), v: new ort.Tensor("float32", new Float32Array(24).fill(1), [1, 2, 3, 4]), cond: new ort.Tensor("bool", [cond], [1]) });
  const noPast = await session.run(feeds(false));
  assert.deepEqual(noPast.p.dims, [1, 2, 3, 3]);
  let worst = 0;
  for (let r = 0; r < 6; r++) {
    const row = x.subarray(r * 3, r * 3 + 3);
    const z = row.reduce((a, v) => a + Math.exp(v), 0);
    row.forEach((v, k) => (worst = Math.max(worst, Math.abs((noPast.p.data as Float32Array)[r * 3 + k] - Math.exp(v) / z))));
  }
  assert.ok(worst < 1e-6, `softmax differs by ${worst}`);
  const withPast = await session.run(feeds(true));
  assert.deepEqual(withPast.p.dims, [1, 0, 0, 0]);
  await session.release();
});

for (const name of ["marian-tiny", "t5-tiny"]) {
  test(`${name} with only encoder_model.onnx + decoder_model_merged.onnx: greedy ids with and without the cache, the three attentions and the next tokens as PyTorch's`, async () => {
    const s = new EngineService({ providers: "cpu" });
    const model = mergedCopy(name);
    const ref = reference(name);
    const info = await s.call("info", { model }, ctx);
    assert.equal(info.family, "seq2seq-onnx");
    for (const c of ["crossAttention", "selfAttention", "generate", "kvCache"] as const) assert.ok(info.capabilities.includes(c), `${c} in ${info.capabilities}`);
    assert.equal(info.hasKvCache, true);
    assert.equal(info.attention.layers, 2);
    assert.match(info.attention.note ?? "", /graphs onnx\/encoder_model\.onnx, onnx\/decoder_model_merged\.onnx \(merged/);
    assert.equal(info.fileBytes, fs.statSync(path.join(model, "onnx", "encoder_model.onnx")).size + fs.statSync(path.join(model, "onnx", "decoder_model_merged.onnx")).size);

    for (const useCache of [true, false]) {
      const g = await s.call("generate", { model, text: ref.sourceText, maxTokens: 12, greedy: true, useCache }, ctx);
      assert.deepEqual(g.tokens.map((t) => t.id), ref.greedy, `${useCache ? "with" : "without"} the cache`);
      g.tokens.forEach((t, i) => assert.ok(Math.abs(t.p - ref.stepTop5[i][0].p) < 1e-5, `step ${i}: p ${t.p} vs ${ref.stepTop5[i][0].p}`));
      assert.equal(g.stoppedBy, "maxTokens");
    }

    const r = await s.call("inspectSeq2seq", { model, text: ref.sourceText, targetIds: ref.targetIds, topK: 10 }, ctx);
    assert.deepEqual(r.target.map((t) => t.id), ref.targetIds);
    assert.deepEqual([r.attention.encoder, r.attention.decoder, r.attention.cross], [true, true, true]);
    const worst = await seq2seqAttentionDiff(s, r.handle, ref);
    assert.ok(worst <= 1e-5, `attention differs from PyTorch's by ${worst}`);
    assert.deepEqual(r.next.map((t) => t.id), ref.next.map((t) => t.id));
    r.next.forEach((t, i) => assert.ok(Math.abs(t.p - ref.next[i].p) < 1e-5, `next ${i}: p ${t.p} vs ${ref.next[i].p}`));
  });
}

test("with both the separate decoders and the merged one, the separate files are used", async () => {
  const dir = path.join(tempDir("seq2seq-both"), "marian-tiny");
  fs.cpSync(path.join(DIR, "marian-tiny"), dir, { recursive: true });
  const onnxDir = path.join(dir, "onnx");
  mergeDecoders(path.join(onnxDir, "decoder_model.onnx"), path.join(onnxDir, "decoder_with_past_model.onnx"), path.join(onnxDir, "decoder_model_merged.onnx"));
  const info = await new EngineService({ providers: "cpu" }).call("info", { model: dir }, ctx);
  assert.equal(info.family, "seq2seq-onnx");
  assert.match(info.attention.note ?? "", /graphs onnx\/encoder_model\.onnx, onnx\/decoder_model\.onnx and onnx\/decoder_with_past_model\.onnx;/);
  const bytes = ["encoder_model.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx"].reduce((a, f) => a + fs.statSync(path.join(onnxDir, f)).size, 0);
  assert.equal(info.fileBytes, bytes);
});
