// The model-family registry (engine/families/): which family takes each sample model and fixture,
// the error that lists every family when none does, and the UNSUPPORTED error of a method a model
// cannot serve. Resolution reads files only (no runtime); opening is in test/integration/families.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FAMILIES, resolveFamily } from "../../engine/families";
import { can, serving } from "../../engine/families/capabilities";
import type { LoadedModel } from "../../engine/families/family";
import { EngineError } from "../../protocol/errors";
import { isRecurrentModel } from "../../protocol/modelPaths";
import { ROOT, tempDir } from "../helpers";
import { DataType, GraphBuilder } from "../../engine/formats/onnxBuilder";

const MODELS = path.join(ROOT, "samples", "models");
const FIXTURES = path.join(ROOT, "test", "fixtures", "rnn");

/** Every sample folder and the family that opens it. */
const SAMPLE_FAMILIES: Record<string, string> = {
  "tiny-gpt": "gpt2-onnx",
  "tiny-gpt-early": "gpt2-onnx",
  "char-gru": "recurrent-onnx",
  "char-lstm": "recurrent-onnx",
  "char-rnn": "recurrent-onnx",
  "co2-lstm": "recurrent-onnx",
  "nottingham-temp-lstm": "recurrent-onnx",
};

/** The error every unknown model gets: a sentence, then every family with what it needs. */
function listsEveryFamily(code: string, about: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, about);
    assert.ok(!e.message.includes("\n"), "one line");
    for (const f of FAMILIES) assert.ok(e.message.includes(`${f.name}: ${f.describe}`), `${f.name} missing from: ${e.message}`);
    return true;
  };
}

test("the registry: names unique, each with a one-line description of what it needs", () => {
  assert.deepEqual(FAMILIES.map((f) => f.name), ["checkpoint", "gpt2-onnx", "llama-tfjs", "gpt2-tfjs", "llama-onnx", "bert-onnx", "seq2seq-onnx", "recurrent-onnx", "recurrent-tfjs", "bare-onnx"]);
  for (const f of FAMILIES) assert.ok(f.describe.length > 20 && !f.describe.includes("\n") && !f.describe.includes(";"), f.name);
});

test("each sample model folder resolves to its family", () => {
  const samples = fs.readdirSync(MODELS).filter((d) => fs.statSync(path.join(MODELS, d)).isDirectory());
  assert.deepEqual(samples.sort(), Object.keys(SAMPLE_FAMILIES).sort(), "a new sample needs its family here");
  for (const s of samples) assert.equal(resolveFamily(path.join(MODELS, s)).name, SAMPLE_FAMILIES[s], s);
  // relative paths too
  assert.equal(resolveFamily(path.relative(process.cwd(), path.join(MODELS, "char-gru"))).name, "recurrent-onnx");
});

test("model files: a decoder folder's .onnx, a recurrent sample's two copies, the PyTorch fixtures", () => {
  assert.equal(resolveFamily(path.join(MODELS, "tiny-gpt", "onnx", "model.onnx")).name, "gpt2-onnx");
  for (const s of ["char-gru", "char-lstm", "char-rnn", "co2-lstm", "nottingham-temp-lstm"]) {
    assert.equal(resolveFamily(path.join(MODELS, s, "onnx", "model.onnx")).name, "recurrent-onnx", s);
    assert.equal(resolveFamily(path.join(MODELS, s, "tfjs", "model.json")).name, "recurrent-tfjs", s);
  }
  for (const f of fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".onnx"))) assert.equal(resolveFamily(path.join(FIXTURES, f)).name, "recurrent-onnx", f);
});

test("folders with only a TensorFlow.js copy, or only a bare recurrent graph", () => {
  const tfjsOnly = tempDir("tfjs-only");
  fs.cpSync(path.join(MODELS, "char-rnn", "tfjs"), path.join(tfjsOnly, "tfjs"), { recursive: true });
  fs.copyFileSync(path.join(MODELS, "char-rnn", "config.json"), path.join(tfjsOnly, "config.json"));
  assert.equal(resolveFamily(tfjsOnly).name, "recurrent-tfjs");
  const bare = tempDir("bare-tfjs");
  fs.cpSync(path.join(MODELS, "co2-lstm", "tfjs"), bare, { recursive: true });
  assert.equal(resolveFamily(bare).name, "recurrent-tfjs");
  const onnxOnly = tempDir("bare-onnx");
  fs.mkdirSync(path.join(onnxOnly, "onnx"));
  fs.copyFileSync(path.join(FIXTURES, "torch_gru.onnx"), path.join(onnxOnly, "onnx", "model.onnx"));
  assert.equal(resolveFamily(onnxOnly).name, "recurrent-onnx");
});

test("the extension host's fs-only isRecurrentModel agrees with the families (whose models declare gates: test/integration/families.test.ts)", () => {
  const recurrent = (p: string) => {
    try {
      return ["recurrent-onnx", "recurrent-tfjs", "bare-onnx"].includes(resolveFamily(p).name);
    } catch {
      return false; // no family: not a recurrent model either
    }
  };
  const samples = fs.readdirSync(MODELS).map((d) => path.join(MODELS, d));
  const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".onnx")).map((f) => path.join(FIXTURES, f));
  // the extension's own test workspace: folders with a config.json that names nothing, a bare tfjs folder
  const ws = tempDir("ws");
  const put = (rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
    fs.writeFileSync(path.join(ws, rel), content);
  };
  const tfjs = JSON.stringify({ format: "layers-model", modelTopology: { class_name: "Sequential" }, weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: [] }] });
  put("gpt/config.json", "{}");
  put("gpt/onnx/model.onnx", "");
  put("lstm/model.json", tfjs);
  put("both/config.json", "{}");
  put("both/onnx/model.onnx", "");
  put("both/tfjs/model.json", tfjs);
  put("tfjs-only/config.json", "{}");
  put("tfjs-only/tfjs/model.json", tfjs);
  put("app/config.json", '{"port": 8080}');
  // a recurrent graph as onnx/model.onnx with no config.json around it
  const fixture = fixtures.find((f) => /lstm/i.test(path.basename(f))) ?? fixtures[0];
  fs.mkdirSync(path.join(ws, "bare-rnn", "onnx"), { recursive: true });
  fs.copyFileSync(fixture, path.join(ws, "bare-rnn", "onnx", "model.onnx"));
  const workspace = ["gpt", "lstm", "both", "tfjs-only", "app", "bare-rnn"].map((d) => path.join(ws, d));
  // a decoder folder's own checkpoint files, and a recurrent sample's
  const checkpoints = ["tiny-gpt", "tiny-gpt-early", "char-lstm"].map((d) => path.join(MODELS, d, "onnx", "model.onnx"));
  for (const p of [...samples, ...fixtures, ...workspace, ...checkpoints]) assert.equal(isRecurrentModel(p), recurrent(p), p);
});

test('"tfjs:<folder>" resolves to the TensorFlow.js twin of the GPT-2 folder', () => {
  assert.equal(resolveFamily(`tfjs:${path.join(MODELS, "tiny-gpt")}`).name, "gpt2-tfjs");
  assert.throws(() => resolveFamily(`tfjs:${path.join(MODELS, "no-such-model")}`), (e: EngineError) => e.code === "MODEL_NOT_FOUND" && /model folder not found: .*no-such-model$/.test(e.message));
});

test("a folder with only a README, an empty folder, an unknown model_type: the error lists every family and what it needs", () => {
  const readme = tempDir("readme-only");
  fs.writeFileSync(path.join(readme, "README.md"), "# not a model\n");
  assert.throws(() => resolveFamily(readme), listsEveryFamily("MODEL_NOT_FOUND", /holds no model SeqLens knows \(it has README\.md\)/));
  assert.throws(() => resolveFamily(tempDir("empty")), listsEveryFamily("MODEL_NOT_FOUND", /is an empty folder/));
  const xlnet = tempDir("xlnet");
  fs.writeFileSync(path.join(xlnet, "config.json"), JSON.stringify({ model_type: "xlnet", n_layer: 2, d_model: 64 }));
  fs.mkdirSync(path.join(xlnet, "onnx"));
  fs.copyFileSync(path.join(MODELS, "tiny-gpt", "onnx", "model.onnx"), path.join(xlnet, "onnx", "model.onnx"));
  assert.throws(() => resolveFamily(xlnet), listsEveryFamily("MODEL_INVALID", /config\.json says model_type "xlnet", and no family opens this folder/));
  // an ONNX graph with neither a recurrent operator nor attention, and no model folder around it
  const lone = path.join(tempDir("lone-onnx"), "graph.onnx");
  const g = new GraphBuilder();
  g.output(g.op("Identity", [g.input("x", DataType.FLOAT, [2])], "id"), DataType.FLOAT, [2]);
  fs.writeFileSync(lone, g.model("plain", 17, "test"));
  assert.throws(() => resolveFamily(lone), listsEveryFamily("MODEL_INVALID", /with neither LSTM, GRU or RNN operators nor attention \(Softmax\) nodes/));
  // the same with a transformer's graph: a bare .onnx, read from its graph
  const bare = path.join(tempDir("bare-onnx"), "graph.onnx");
  fs.copyFileSync(path.join(MODELS, "tiny-gpt", "onnx", "model.onnx"), bare);
  assert.equal(resolveFamily(bare).name, "bare-onnx");
});

test("what the families cannot judge keeps its own error: a missing path, a config.json that is not JSON", () => {
  assert.throws(() => resolveFamily("/nonexistent/model"), (e: EngineError) => e.code === "MODEL_NOT_FOUND" && e.message === "model folder not found: /nonexistent/model");
  const broken = tempDir("broken-config");
  fs.writeFileSync(path.join(broken, "config.json"), '{"n_layer": 4,');
  assert.throws(() => resolveFamily(broken), (e: EngineError) => e.code === "MODEL_INVALID" && /config\.json: not valid JSON/.test(e.message));
});

test("a method a model cannot serve: UNSUPPORTED, naming the model, its family and what it has", () => {
  const model: LoadedModel = {
    name: "tiny",
    family: "gpt2-onnx",
    capabilities: ["tokens", "nextToken"],
    device: "cpu",
    lacks: (c) => (c === "selfAttention" ? "no attention found in the graph" : undefined),
    info: () => assert.fail("not asked"),
    dispose: () => {},
  };
  assert.ok(can(model, "tokens") && !can(model, "gates"));
  assert.equal(serving(model, "tokens", "inspect text"), model);
  assert.throws(() => serving(model, "gates", "run the gate probe"), (e: EngineError) => e.code === "UNSUPPORTED" && e.message === "tiny (gpt2-onnx) cannot run the gate probe: it has tokens, nextToken");
  assert.throws(() => serving(model, "selfAttention", "show attention"), (e: EngineError) => e.message === "tiny (gpt2-onnx) cannot show attention: it has tokens, nextToken (no attention found in the graph)");
});
