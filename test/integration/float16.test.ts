// The other dtypes of one model that optimum and transformers.js folders hold beside onnx/model.onnx:
// onnx/model_fp16.onnx (float16 weights, KV cache and logits) and onnx/model_quantized.onnx (int8
// weights, float32 inputs and outputs). The float16 copies are made here (test/float16Copy.ts) from
// the Llama fixture (torch.onnx.export; RMSNorm, Softmax and the rotary angles kept in float32 as
// Hugging Face's float16 exports keep them, so its attention is read from float32 Softmax outputs)
// and from the bundled GPT-2 sample (the project's exporter, opset 17; everything float16, the
// attention too, its weights as external data as optimum writes large ones). Each is opened by the
// path of its .onnx and checked against the float32 model of the same folder.
//
// The inputs are chosen without near-ties: every greedy step of the float32 model has its first
// token at least 1e-3 (in p) ahead of the second, each lens cell compared likewise, each neighbour
// compared 2e-3 ahead of the next, where float16 moved p by at most 6e-4 and cosines by 1e-4 over
// the texts tried. On other texts the Llama fixture's float16 attention moves by more than 5e-3
// (7.9e-3 on its reference sentence "She opened the window and saw"; its attention is sharp, and
// rounding only its weights to float16 moves it by up to 4.4e-3 on another text), so its text here
// is a short one where it moves by 2e-3; the GPT-2 sample's moved by at most 1.4e-3 on every text tried.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineService } from "../../engine/service";
import { DecoderModel } from "../../engine/models/decoder";
import { decodeOnnx, readInitializers } from "../../engine/formats/onnxWeights";
import { quantizeDynamic } from "../../engine/formats/quantize";
import { f16BitsToF32, f32ToF16Bits } from "../../engine/formats/safetensors";
import { float16Copy } from "../float16Copy";
import { copyModel, ROOT, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const DT = onnx.TensorProto.DataType;

interface Case {
  name: string;
  src: string;
  float32Ops: string[];
  externalData?: string;
  text: string;
  /** The element type of the attention Softmax outputs in the copy (float32 where kept so). */
  attentionType: number;
  /** Tokens whose nearest neighbours (input matrix, and output matrix when the model has its own) are compared. */
  neighbours: { input: number; output?: number };
}

const CASES: Case[] = [
  { name: "llama-gqa", src: path.join(ROOT, "test", "fixtures", "hf", "llama-gqa"), float32Ops: ["Pow", "ReduceMean", "Sqrt", "Softmax", "Cos", "Sin"], text: "return x;", attentionType: DT.FLOAT, neighbours: { input: 219, output: 247 } },
  { name: "tiny-gpt", src: SAMPLE_MODEL, float32Ops: [], externalData: "model_fp16.onnx_data", text: "function add(a: number, b: number) {\n  return", attentionType: DT.FLOAT16, neighbours: { input: 100 } },
];

/** A temp copy of the folder with the float16 graph beside the float32 one. */
function withFloat16(c: Case): { dir: string; fp16: string } {
  const dir = copyModel(c.src);
  const fp16 = path.join(dir, "onnx", "model_fp16.onnx");
  float16Copy(path.join(dir, "onnx", "model.onnx"), fp16, { float32Ops: c.float32Ops, externalData: c.externalData });
  return { dir, fp16 };
}

const half = (x: number) => f16BitsToF32(f32ToF16Bits(x));

/** p of the first token minus p of the second, for each row of top-2 lists. */
const gap = (top: { p: number }[]) => top[0].p - top[1].p;

for (const c of CASES) {
  test(`${c.name} in float16: a float16 graph (weights, KV cache, logits); the probe reads its type, its embeddings as float32`, async () => {
    const { dir, fp16 } = withFloat16(c);
    const g = decodeOnnx(fp16, fs.readFileSync(fp16)).graph!;
    const type = (v: onnx.IValueInfoProto) => Number(v.type?.tensorType?.elemType);
    assert.deepEqual([...new Set(g.input!.filter((v) => v.name!.startsWith("past_key_values.")).map(type))], [DT.FLOAT16]);
    assert.deepEqual([...new Set(g.output!.filter((v) => v.name === "logits" || v.name!.startsWith("present.")).map(type))], [DT.FLOAT16]);
    const weights = g.initializer!.filter((t) => t.dataType === DT.FLOAT || t.dataType === DT.FLOAT16);
    assert.ok(weights.length > 0 && weights.every((t) => t.dataType === DT.FLOAT16), "every float initializer is float16");
    if (c.externalData) assert.ok(weights.some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL), "weights kept as external data");

    const m32 = await DecoderModel.load(dir, ["cpu"]);
    const m16 = await DecoderModel.load(fp16, ["cpu"]);
    try {
      assert.equal(m32.probe.logitsElemType, DT.FLOAT);
      assert.equal(m16.probe.logitsElemType, DT.FLOAT16);
      assert.equal(m16.probe.kvCacheElemType, DT.FLOAT16);
      assert.deepEqual([...new Set([...m16.emptyCache().tensors.values()].map((t) => t.type))], ["float16"]);
      assert.equal(m16.probe.parameters, m32.probe.parameters);
      // the outputs the probe copy adds are declared with the type the graph computes them in
      const probe = decodeOnnx(m16.probe.file, fs.readFileSync(m16.probe.file)).graph!;
      const declared = (name: string) => type(probe.output!.find((v) => v.name === name)!);
      assert.deepEqual([...new Set(m16.probe.attentionOutputs.map(declared))], [c.attentionType]);
      assert.equal(declared(m16.probe.lastHiddenOutput!), DT.FLOAT16);
      // float16 weights read as float32: the float32 model's values rounded to float16, exactly
      for (const key of ["tokenEmbedding", "unembedding"] as const) {
        const a = m32.probe[key];
        const b = m16.probe[key];
        assert.equal(!!b, !!a, key);
        if (!a || !b) continue;
        assert.deepEqual(b.shape, a.shape);
        let same = 0;
        a.data.forEach((x, i) => (same += half(x) === b.data[i] ? 1 : 0));
        assert.equal(same, a.data.length, `${key}: every value is the float32 one rounded to float16`);
      }
      // and through readInitializers (the weights a reference runtime loads)
      const w16 = readInitializers(fp16);
      const w32 = readInitializers(path.join(dir, "onnx", "model.onnx"));
      const [name, w] = [...w32.entries()].find(([, t]) => t.shape.length === 2)!;
      assert.deepEqual(w16.get(name)!.data, Float32Array.from(w.data, half));
    } finally {
      await m32.dispose();
      await m16.dispose();
    }
  });

  test(`${c.name} in float16 against float32: info, next token, attention, greedy ids with the KV cache, the lens and nearest tokens`, async () => {
    const { dir, fp16 } = withFloat16(c);
    const s = new EngineService({ providers: "cpu" });

    const [i32, i16] = [await s.call("info", { model: dir }, ctx), await s.call("info", { model: fp16 }, ctx)];
    const same = ({ family, capabilities, nLayer, nHead, nKvHead, headDim, nEmbd, vocabSize, parameters, hasKvCache, attention, embeddings }: typeof i32) => ({ family, capabilities, nLayer, nHead, nKvHead, headDim, nEmbd, vocabSize, parameters, hasKvCache, attention, embeddings });
    assert.deepEqual(same(i16), same(i32));
    assert.ok(i16.capabilities.includes("kvCache") && i16.capabilities.includes("embeddings") && i16.capabilities.includes("lens"), i16.capabilities.join(", "));

    const [r32, r16] = [await s.call("inspect", { model: dir, text: c.text, topK: 5 }, ctx), await s.call("inspect", { model: fp16, text: c.text, topK: 5 }, ctx)];
    assert.deepEqual(r16.tokens.map((t) => t.id), r32.tokens.map((t) => t.id));
    assert.deepEqual(r16.next!.top.map((t) => t.id), r32.next!.top.map((t) => t.id), "top-5 ids");
    r32.next!.top.forEach((t, k) => assert.ok(Math.abs(r16.next!.top[k].p - t.p) <= 2e-3, `p of ${t.id}: ${r16.next!.top[k].p} vs ${t.p}`));

    let worst = 0;
    for (let l = 0; l < r32.nLayer; l++) {
      for (let h = 0; h < r32.nHead; h++) {
        const a = await s.call("attention", { handle: r32.handle, layer: l, head: h }, ctx);
        const b = await s.call("attention", { handle: r16.handle, layer: l, head: h }, ctx);
        assert.deepEqual(b.shape, a.shape);
        a.data.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - b.data[i]))));
      }
    }
    assert.ok(worst > 0 && worst <= 5e-3, `attention differs by ${worst}`);

    // 12 greedy tokens through the KV cache (float16 present.* fed back as they came), and without it
    const ids = r32.tokens.map((t) => t.id);
    const greedy = async (model: string, useCache: boolean) => (await s.call("generate", { model, ids, maxTokens: 12, greedy: true, stopAtEos: false, useCache }, ctx)).tokens.map((t) => t.id);
    const want = await greedy(dir, true);
    assert.equal(want.length, 12);
    const path32 = await s.call("inspect", { model: dir, ids: [...ids, ...want], topK: 2 }, ctx);
    for (let p = ids.length - 1; p < ids.length + 11; p++) {
      const n = await s.call("nextToken", { handle: path32.handle, position: p, topK: 2 }, ctx);
      assert.ok(gap(n.top) >= 1e-3, `a near-tie at step ${p - ids.length + 1}: ${JSON.stringify(n.top)}`);
    }
    assert.deepEqual(await greedy(fp16, true), want, "greedy ids with the KV cache");
    assert.deepEqual(await greedy(fp16, false), want, "greedy ids without it");

    // the lens copy of the float16 graph: every row's first token as float32's (where it leads by 1e-3)
    const [l32, l16] = [await s.call("lens", { model: dir, ids, topK: 2 }, ctx), await s.call("lens", { model: fp16, ids, topK: 2 }, ctx)];
    assert.equal(l16.layers.length, l32.layers.length);
    let compared = 0;
    l32.layers.forEach((row, l) =>
      row.forEach((cell, t) => {
        if (gap(cell) < 1e-3) return;
        compared++;
        assert.equal(l16.layers[l][t][0].id, cell[0].id, `lens residual ${l} position ${t}`);
        assert.ok(Math.abs(l16.layers[l][t][0].p - cell[0].p) <= 2e-3, `lens residual ${l} position ${t}: p ${l16.layers[l][t][0].p} vs ${cell[0].p}`);
      }),
    );
    assert.ok(compared >= 0.75 * l32.layers.length * ids.length, `${compared} lens cells compared`);

    // nearest tokens in the float16 embedding (and unembedding) matrices
    for (const matrix of ["input", "output"] as const) {
      const token = c.neighbours[matrix];
      if (token === undefined) continue;
      const [a, b] = [await s.call("neighbours", { model: dir, plus: [token], k: 6, matrix }, ctx), await s.call("neighbours", { model: fp16, plus: [token], k: 6, matrix }, ctx)];
      for (let k = 0; k < 5; k++) {
        assert.ok(a.neighbours[k].score - a.neighbours[k + 1].score >= 2e-3, `${matrix} neighbours of ${token}: a near-tie at rank ${k}`);
        assert.equal(b.neighbours[k].id, a.neighbours[k].id, `${matrix} neighbour ${k} of ${token}`);
        assert.ok(Math.abs(b.neighbours[k].score - a.neighbours[k].score) <= 5e-4, `${matrix} neighbour ${k}: ${b.neighbours[k].score} vs ${a.neighbours[k].score}`);
      }
    }
  });
}

test("model_quantized.onnx beside model.onnx (int8 MatMuls, float32 inputs and outputs): info, next token, greedy ids with the KV cache, the lens through its int8 head", async () => {
  const dir = copyModel(SAMPLE_MODEL);
  const q8 = path.join(dir, "onnx", "model_quantized.onnx");
  fs.writeFileSync(q8, quantizeDynamic(path.join(dir, "onnx", "model.onnx")).bytes);
  const s = new EngineService({ providers: "cpu" });
  const info = await s.call("info", { model: q8 }, ctx);
  for (const cap of ["nextToken", "generate", "kvCache", "selfAttention", "embeddings", "lens"] as const) assert.ok(info.capabilities.includes(cap), cap);
  const text = CASES[1].text;
  const [r32, r8] = [await s.call("inspect", { model: dir, text, topK: 5 }, ctx), await s.call("inspect", { model: q8, text, topK: 5 }, ctx)];
  assert.equal(r8.next!.top[0].id, r32.next!.top[0].id);
  assert.ok(Math.abs(r8.next!.top[0].p - r32.next!.top[0].p) < 0.01, `${r8.next!.top[0].p} vs ${r32.next!.top[0].p}`);
  const ids = r32.tokens.map((t) => t.id);
  const greedy = async (model: string) => (await s.call("generate", { model, ids, maxTokens: 12, greedy: true, stopAtEos: false }, ctx)).tokens.map((t) => t.id);
  assert.deepEqual(await greedy(q8), await greedy(dir));
  // the lens: its last row is the model's own distribution; the others go through a copy of the
  // int8 head (DynamicQuantizeLinear, MatMulInteger, Cast, Mul)
  const lens = await s.call("lens", { model: q8, ids, topK: 5 }, ctx);
  const l32 = await s.call("lens", { model: dir, ids, topK: 5 }, ctx);
  assert.equal(lens.layers.length, info.nLayer + 1);
  assert.deepEqual(lens.layers[info.nLayer][ids.length - 1].map((t) => t.id), r8.next!.top.map((t) => t.id));
  let agree = 0;
  let clear = 0;
  l32.layers.forEach((row, l) =>
    row.forEach((cell, t) => {
      if (gap(cell) < 0.02) return;
      clear++;
      if (lens.layers[l][t][0].id === cell[0].id) agree++;
    }),
  );
  assert.ok(clear > 20 && agree === clear, `int8 lens agrees with float32 on ${agree} of ${clear} clear cells`);
});
