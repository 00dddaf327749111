// What fuzz campaigns found that still ended as INTERNAL errors or as messages that were not
// sentences, each built again here on purpose and then replayed as the campaign met it: recurrent
// graphs onnxruntime will not load or run, a model.json that is not an object, a table of thousands of
// columns, a character model whose vocabulary is not its embedding's.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { EngineService } from "../../engine/service";
import { parseSeries } from "../../engine/series/parseSeries";
import { sentenceProblem } from "../fuzz/bars";
import { runCampaign } from "../fuzz/harness";
import { ROOT, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const MODELS = path.join(ROOT, "samples", "models");

function copyOf(name: string): string {
  const dir = tempDir(name);
  fs.cpSync(path.join(MODELS, name), dir, { recursive: true });
  return dir;
}

/** Rewrites the folder's onnx/model.onnx through `edit`. */
function editGraph(dir: string, edit: (m: onnx.ModelProto) => void): string {
  const file = path.join(dir, "onnx", "model.onnx");
  const m = onnx.ModelProto.decode(fs.readFileSync(file));
  edit(m);
  fs.writeFileSync(file, onnx.ModelProto.encode(m).finish());
  return file;
}

/** The error `p` fails with (it must fail). */
async function failure(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EngineError, `not an EngineError: ${String(e)}`);
    assert.equal(sentenceProblem(e.message), undefined, e.message);
    return e;
  }
  assert.fail("it did not fail");
}

const CO2_VALUES = Array.from({ length: 60 }, (_, i) => [315 + Math.sin(i / 2) + i / 12]);

test("a recurrent graph onnxruntime will not load is MODEL_INVALID naming the file, with onnxruntime's first line", async () => {
  const s = new EngineService({ providers: "cpu" });
  // a node reads a value nothing makes (a flipped bit renamed the Transpose's output)
  const dangling = copyOf("co2-lstm");
  const file = editGraph(dangling, (m) => {
    const t = m.graph!.node!.find((n) => n.opType === "Transpose")!;
    t.output = ["renamed_output"];
  });
  const e1 = await failure(s.call("info", { model: dangling }, ctx));
  assert.equal(e1.code, "MODEL_INVALID");
  assert.match(e1.message, /^(.+): onnxruntime could not load this graph \(Invalid model\. Node input '[^']+' is not a graph input, initializer, or output of a previous node\.\); the file is damaged or is not a graph SeqLens can run: export the model again$/);
  assert.equal(/^(.+?): /.exec(e1.message)![1], file);

  // an IR version onnxruntime does not know: its message starts with a source file and a C++ function, both cut
  const future = copyOf("char-lstm");
  const file2 = editGraph(future, (m) => {
    m.irVersion = 24;
  });
  const e2 = await failure(s.call("gates", { model: future, text: "let x = 1;" }, ctx));
  assert.equal(e2.code, "MODEL_INVALID");
  assert.ok(e2.message.startsWith(`${file2}: onnxruntime could not load this graph (Unsupported model IR version: 24, max supported IR version: `), e2.message);
  assert.doesNotMatch(e2.message, /onnxruntime_src|::|\.cc:\d/);
});

test("a recurrent graph onnxruntime loads but cannot run (an LSTM's hidden_size against its weights) is MODEL_INVALID for gates and forecast", async () => {
  const s = new EngineService({ providers: "cpu" });
  const dir = copyOf("co2-lstm");
  const file = editGraph(dir, (m) => {
    const lstm = m.graph!.node!.find((n) => n.opType === "LSTM")!;
    lstm.attribute!.find((a) => a.name === "hidden_size")!.i = 96;
  });
  for (const call of [() => s.call("gates", { model: dir, values: CO2_VALUES, runtime: "onnx" }, ctx), () => s.call("forecast", { model: dir, values: CO2_VALUES, horizon: 6, runtime: "onnx" }, ctx)]) {
    const e = await failure(call());
    assert.equal(e.code, "MODEL_INVALID");
    assert.equal(e.message, `${file}: onnxruntime could not run this graph (Non-zero status code returned while running LSTM node. Name:'lstm_1' Status Message: Input W must have shape {1,384,1}. Actual:{1,256,1}); the file is damaged or is not a graph SeqLens can run: export the model again`);
  }
  // the TensorFlow.js copy in the same folder is untouched and still runs
  const ok = await s.call("gates", { model: dir, values: CO2_VALUES, runtime: "tfjs" }, ctx);
  assert.equal(ok.steps, 59);
});

test("a TensorFlow.js model.json that is null, a number or a list is MODEL_INVALID saying what a model.json holds", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const [text, holds] of [["null", "null"], ["5", "a number"], ["[]", "a list"], ['"x"', "a string"]]) {
    const dir = copyOf("char-lstm");
    const file = path.join(dir, "tfjs", "model.json");
    fs.writeFileSync(file, text);
    const e = await failure(s.call("gates", { model: dir, text: "function f(x) { return x; }", runtime: "tfjs" }, ctx));
    assert.equal(e.code, "MODEL_INVALID");
    assert.equal(e.message, `${file}: model.json is not a TensorFlow.js model (expected an object with modelTopology and weightsManifest; it holds ${holds})`);
  }
});

test("the question of which column names the first 8 columns and how many more, for a table of 10,000 columns", () => {
  const row = (r: number) => Array.from({ length: 10_000 }, (_, j) => String((r * 7 + j) % 97)).join(";");
  const text = Array.from({ length: 6 }, (_, r) => row(r)).join("\n");
  const r = parseSeries(text);
  assert.ok(!r.ok);
  assert.equal(r.message, "The selection has 10000 numeric columns (column 1, column 2, column 3, column 4, column 5, column 6, column 7, column 8 and 9,992 more); choose one.");
  assert.equal(sentenceProblem(r.message), undefined);
  // the columns themselves are all still offered to choose from
  assert.equal("columns" in r ? r.columns.length : 0, 10_000);
  // long header names are cut in the message
  const named = `${Array.from({ length: 12 }, (_, j) => `${"n".repeat(100)}${j}`).join(",")}\n${Array.from({ length: 3 }, (_, r) => Array.from({ length: 12 }, (_, j) => String(r + j)).join(",")).join("\n")}`;
  const n = parseSeries(named);
  assert.ok(!n.ok);
  assert.equal(n.message, `The selection has 12 numeric columns (${Array(8).fill(`${"n".repeat(39)}…`).join(", ")} and 4 more); choose one.`);
});

test("a character model whose vocabulary is not as long as its embedding is MODEL_INVALID naming both numbers, in ONNX and TensorFlow.js", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const change of [-2, 3]) {
    const dir = copyOf("char-lstm");
    const cfgFile = path.join(dir, "config.json");
    const c = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
    assert.equal(c.vocab.length, 94);
    c.vocab = change < 0 ? c.vocab.slice(0, 94 + change) : [...c.vocab, ...["\u00e9", "\u00e8", "\u00ea"].slice(0, change)];
    fs.writeFileSync(cfgFile, JSON.stringify(c));
    const n = 94 + change;
    const onnxError = await failure(s.call("info", { model: dir }, ctx));
    assert.equal(onnxError.code, "MODEL_INVALID");
    assert.equal(onnxError.message, `${cfgFile}: "vocab" has ${n} characters but the embedding in ${path.join(dir, "onnx", "model.onnx")} has 94 rows: the vocabulary is not this model's (use the config.json the model was exported with)`);
    const tfjsError = await failure(s.call("gates", { model: dir, text: "let x", runtime: "tfjs" }, ctx));
    assert.equal(tfjsError.code, "MODEL_INVALID");
    assert.equal(tfjsError.message, `${cfgFile}: "vocab" has ${n} characters but the embedding in ${path.join(dir, "tfjs", "model.json")} has 94 rows: the vocabulary is not this model's (use the config.json the model was exported with)`);
  }
  // the sample as it is opens in both runtimes
  const ok = await s.call("gates", { model: path.join(MODELS, "char-lstm"), text: "let x", runtime: "tfjs" }, ctx);
  assert.equal(ok.steps, 5);
  assert.equal((await s.call("info", { model: path.join(MODELS, "char-lstm") }, ctx)).vocabSize, 94);
});

test("a character model's config.json without its vocabulary says the key is missing, not that the JSON is invalid", async () => {
  const s = new EngineService({ providers: "cpu" });
  const dir = copyOf("char-lstm");
  const cfgFile = path.join(dir, "config.json");
  const c = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
  delete c.vocab;
  fs.writeFileSync(cfgFile, JSON.stringify(c));
  const e = await failure(s.call("info", { model: dir }, ctx));
  assert.equal(e.code, "MODEL_INVALID");
  assert.equal(e.message, `${cfgFile}: "vocab" is needed by a character model (it is missing)`);
});

// Each case again as the campaign met it (the built engine, dist/engine.js): it now passes every bar.
const REPLAYED: [seed: number, target: string, index: number][] = [
  [4288792672, "models", 119],
  [4288792672, "models", 469],
  [4288792672, "models", 1430],
  [1, "models", 1074],
  [4288792672, "models", 1667],
  [1692020888, "series", 101],
  [4288792672, "models", 820],
];

test("the campaigns' cases again: each passes every bar", { timeout: 300_000 }, async () => {
  for (const [seed, target, index] of REPLAYED) {
    const summary = await runCampaign({ seed, targets: [target], count: Infinity, timeMs: 120_000, onlyCase: index });
    const again = `npm run fuzz -- --seed ${seed} --target ${target} --case ${index}`;
    assert.equal(summary.cases, 1, again);
    assert.deepEqual(summary.findings.map((f) => `${f.kind}: ${f.first.problem}`), [], again);
    assert.equal(summary.targets[target].refused, 1, `${again}: the damaged input is refused`);
  }
});

test("the message bar: the input echoed back in a path or in quotes is not the code's own words; '[object Object]' in the code's words is a defect", () => {
  assert.equal(sentenceProblem("model folder not found: /tmp/seqlens-fuzz/cli-1/[object Object]"), undefined);
  assert.equal(sentenceProblem('the model "[object Object]" is not a folder'), undefined);
  assert.match(sentenceProblem("could not read [object Object] from the file") ?? "", /says "\[object …\]"/);
  assert.match(sentenceProblem("the value undefined is not a number") ?? "", /says "undefined"/);
});
