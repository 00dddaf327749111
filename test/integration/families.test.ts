// Every sample model opened by its family, with the capabilities it declares (as `info` reports
// them); the extension host's fs-only check (protocol/modelPaths.ts) agrees with the engine on which
// are recurrent; a method a model cannot serve is refused with UNSUPPORTED; one load per model.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { isRecurrentModel } from "../../protocol/modelPaths";
import type { Capability } from "../../protocol/models";
import { ROOT, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const MODELS = path.join(ROOT, "samples", "models");
const FIXTURES = path.join(ROOT, "test", "fixtures", "rnn");

const DECODER: Capability[] = ["tokens", "selfAttention", "nextToken", "generate", "kvCache", "embeddings", "lens", "completion"];
const CHARS: Capability[] = ["gates", "nextToken", "gradients"];
const SERIES: Capability[] = ["gates", "forecast", "gradients"];

/** Model -> its family and capabilities. */
const EXPECTED: [string, string, Capability[]][] = [
  [path.join(MODELS, "tiny-gpt"), "gpt2-onnx", DECODER],
  [path.join(MODELS, "tiny-gpt-early"), "gpt2-onnx", DECODER],
  [`tfjs:${path.join(MODELS, "tiny-gpt")}`, "gpt2-tfjs", ["tokens", "selfAttention", "nextToken"]],
  [path.join(MODELS, "char-gru"), "recurrent-onnx", CHARS],
  [path.join(MODELS, "char-lstm"), "recurrent-onnx", CHARS],
  [path.join(MODELS, "char-rnn"), "recurrent-onnx", CHARS],
  [path.join(MODELS, "char-rnn", "tfjs", "model.json"), "recurrent-tfjs", CHARS],
  [path.join(MODELS, "co2-lstm"), "recurrent-onnx", SERIES],
  [path.join(MODELS, "nottingham-temp-lstm"), "recurrent-onnx", SERIES],
  [path.join(FIXTURES, "torch_lstm.onnx"), "recurrent-onnx", ["gates", "forecast"]],
];

test("each sample model: its family and capabilities in info, with the recurrent ones' shape", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const [model, family, capabilities] of EXPECTED) {
    const info = await s.call("info", { model }, ctx);
    assert.equal(info.family, family, model);
    assert.deepEqual(info.capabilities, capabilities, model);
  }
  const lstm = await s.call("info", { model: path.join(MODELS, "char-lstm") }, ctx);
  assert.equal(lstm.name, "char-lstm");
  assert.equal(lstm.modelType, "seqlens-rnn");
  assert.match(lstm.runtime, /^onnxruntime-node \d/);
  assert.equal(lstm.nLayer, 2);
  assert.equal(lstm.nEmbd, 128);
  assert.equal(lstm.vocabSize, JSON.parse(fs.readFileSync(path.join(MODELS, "char-lstm", "config.json"), "utf8")).vocab.length);
  assert.equal(lstm.attention.found, false);
  assert.ok(lstm.parameters > 0 && lstm.fileBytes > 0);
  const tfjs = await s.call("info", { model: path.join(MODELS, "char-lstm", "tfjs", "model.json") }, ctx);
  assert.match(tfjs.runtime, /^TensorFlow\.js /);
  assert.equal(tfjs.nLayer, 2);
});

test("the extension host's fs-only check agrees: isRecurrentModel(p) is 'p has gates' for every sample folder and fixture", async () => {
  const s = new EngineService({ providers: "cpu" });
  const paths = [
    ...fs.readdirSync(MODELS).map((d) => path.join(MODELS, d)).filter((p) => fs.statSync(p).isDirectory()),
    ...fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".onnx")).map((f) => path.join(FIXTURES, f)),
  ];
  assert.ok(paths.length >= 10);
  for (const p of paths) {
    const info = await s.call("info", { model: p }, ctx);
    assert.equal(isRecurrentModel(p), info.capabilities.includes("gates"), p);
  }
});

test("a method the model cannot serve: UNSUPPORTED with the model, its family and what it has", async () => {
  const s = new EngineService({ providers: "cpu" });
  const lstm = path.join(MODELS, "char-lstm");
  const unsupported = (pattern: RegExp) => (e: Error & { code?: string }) => e.code === "UNSUPPORTED" && pattern.test(e.message);
  await assert.rejects(s.call("gates", { model: SAMPLE_MODEL, text: "let x" }, ctx), unsupported(/^tiny-gpt \(gpt2-onnx\) cannot run the gate probe: it has tokens, selfAttention, nextToken, generate, kvCache, embeddings, lens, completion$/));
  await assert.rejects(s.call("gradients", { model: SAMPLE_MODEL, text: "let x" }, ctx), unsupported(/^tiny-gpt \(gpt2-onnx\) cannot compute input gradients/));
  await assert.rejects(s.call("inspect", { model: lstm, text: "let x" }, ctx), unsupported(/^char-lstm \(recurrent-onnx\) cannot inspect text: it has gates, nextToken, gradients$/));
  await assert.rejects(s.call("generate", { model: lstm, text: "let x", maxTokens: 3 }, ctx), unsupported(/^char-lstm \(recurrent-onnx\) cannot generate text/));
  await assert.rejects(s.call("lens", { model: lstm, text: "let x" }, ctx), unsupported(/cannot run the logit lens/));
  await assert.rejects(s.call("neighbours", { model: lstm, plus: [1] }, ctx), unsupported(/cannot find nearest tokens/));
  await assert.rejects(s.call("forecast", { model: lstm, values: [[1], [2], [3]], horizon: 2 }, ctx), unsupported(/^char-lstm \(recurrent-onnx\) cannot forecast a series/));
  await assert.rejects(s.call("generate", { model: `tfjs:${SAMPLE_MODEL}`, text: "let x", maxTokens: 3 }, ctx), unsupported(/^tiny-gpt \(tfjs\) \(gpt2-tfjs\) cannot generate text: it has tokens, selfAttention, nextToken$/));
  // the twin does what it declares: tokens, attention and next-token probabilities
  const r = await s.call("inspect", { model: `tfjs:${SAMPLE_MODEL}`, text: "let x = 1" }, ctx);
  assert.ok(r.attentionAvailable && r.next!.top.length === 10);
});

test("one load per model, whichever method asks first; relative and absolute paths are one model", async () => {
  const s = new EngineService({ providers: "cpu" });
  const lstm = path.join(MODELS, "char-lstm");
  await s.call("gates", { model: lstm, text: "abc" }, ctx);
  const opened = await s.open(lstm);
  assert.equal(await s.open(path.relative(process.cwd(), lstm)), opened);
  assert.equal(await s.open(SAMPLE_MODEL), await s.model(SAMPLE_MODEL));
  // asked for in its TensorFlow.js copy, the sample is opened by that family
  const g = await s.call("gates", { model: lstm, text: "abc", runtime: "tfjs" }, ctx);
  assert.equal(g.runtime, "tfjs");
});
