// The recurrent samples the project trained: their two copies (TensorFlow.js and ONNX) give the same
// gates, and the CO2 forecaster's held-out figures are what its training reported (golden), beating
// both baselines.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { parseSeries } from "../../engine/series/parseSeries";
import { ROOT } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const MODELS = path.join(ROOT, "samples", "models");

function series(file: string): { values: number[]; time: number[] } {
  const r = parseSeries(fs.readFileSync(path.join(ROOT, "samples", "data", "timeseries", file), "utf8"));
  assert.ok(r.ok, JSON.stringify(r).slice(0, 200));
  return { values: r.values, time: r.time! };
}

test("co2-lstm: the ONNX and TensorFlow.js copies give the same gates, each equal to its runtime's states", async () => {
  const s = new EngineService({ providers: "cpu" });
  const { values } = series("co2_mauna_loa_monthly.csv");
  const rows = values.slice(0, 200).map((v) => [v]);
  const model = path.join(MODELS, "co2-lstm");
  const [a, b] = [await s.call("gates", { model, values: rows, runtime: "onnx" }, ctx), await s.call("gates", { model, values: rows, runtime: "tfjs" }, ctx)];
  assert.equal(a.steps, 199); // the model reads differences
  assert.deepEqual(a.layers.map((l) => [l.layer, l.cell, l.units, l.names.length]), [[0, "lstm", 64, 6], [1, "lstm", 64, 6]]);
  let max = 0;
  for (const l of a.layers) {
    assert.ok(l.check.ok && b.layers[l.index].check.ok);
    for (const name of l.names) {
      const x = (await s.call("gateSlice", { handle: a.handle, index: l.index, name }, ctx)).data;
      const y = (await s.call("gateSlice", { handle: b.handle, index: l.index, name }, ctx)).data;
      for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
    }
  }
  assert.ok(max < 1e-4, `ONNX and tfjs gates differ by ${max}`);
});

test("co2-lstm golden: held-out one-step MAE and RMSE as trained, below last value and seasonal naive", async () => {
  const config = JSON.parse(fs.readFileSync(path.join(MODELS, "co2-lstm", "config.json"), "utf8"));
  const { values, time } = series("co2_mauna_loa_monthly.csv");
  const s = new EngineService({ providers: "cpu" });
  const f = await s.call("forecast", { model: path.join(MODELS, "co2-lstm"), values: values.map((v) => [v]), horizon: 12, runtime: "onnx" }, ctx);
  const held = time.map((t, i) => i).filter((i) => time[i] >= config.series.heldoutFrom - 1e-6);
  assert.equal(held.length, config.metrics.heldoutPoints);
  const err = (pred: (i: number) => number) => {
    let a = 0;
    let q = 0;
    for (const i of held) {
      a += Math.abs(pred(i) - values[i]);
      q += (pred(i) - values[i]) ** 2;
    }
    return { mae: a / held.length, rmse: Math.sqrt(q / held.length) };
  };
  const model = err((i) => f.oneStep[i]!);
  const last = err((i) => values[i - 1]);
  const seasonal = err((i) => values[i - 12]);
  // Golden: the training run's figures (config.json), to 4 decimals.
  assert.deepEqual([model.mae, model.rmse].map((v) => +v.toFixed(4)), [config.metrics.model.mae, config.metrics.model.rmse]);
  assert.deepEqual([last.mae, last.rmse].map((v) => +v.toFixed(4)), [config.metrics.lastValue.mae, config.metrics.lastValue.rmse]);
  assert.deepEqual([seasonal.mae, seasonal.rmse].map((v) => +v.toFixed(4)), [config.metrics.seasonalNaive.mae, config.metrics.seasonalNaive.rmse]);
  assert.ok(model.mae < last.mae && model.mae < seasonal.mae && model.rmse < last.rmse && model.rmse < seasonal.rmse);
  // Multi-step: 12 values continuing the series' level and season.
  assert.equal(f.multiStep.length, 12);
  assert.ok(f.multiStep.every((v) => Math.abs(v - values[values.length - 1]) < 10), JSON.stringify(f.multiStep));
});

test("char-lstm: text through both copies, the same gates; characters outside the vocabulary read as unknown", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = path.join(MODELS, "char-lstm");
  const config = JSON.parse(fs.readFileSync(path.join(model, "config.json"), "utf8"));
  const text = "export interface Point { x: number; y: number }\n// é→";
  const a = await s.call("gates", { model, text, runtime: "onnx" }, ctx);
  const b = await s.call("gates", { model, text, runtime: "tfjs" }, ctx);
  assert.equal(a.steps, Array.from(text).length);
  assert.deepEqual(a.labels, Array.from(text));
  assert.equal(a.source[a.steps - 1], text.length - 1);
  assert.ok(!config.vocab.includes("→"), "the test needs a character outside the vocabulary");
  let max = 0;
  for (const l of a.layers) {
    assert.ok(l.check.ok && b.layers[l.index].check.ok, `layer ${l.layer}: ${l.check.maxAbsDiff}`);
    for (const name of l.names) {
      const x = (await s.call("gateSlice", { handle: a.handle, index: l.index, name }, ctx)).data;
      const y = (await s.call("gateSlice", { handle: b.handle, index: l.index, name }, ctx)).data;
      for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
    }
  }
  assert.ok(max < 1e-4, `ONNX and tfjs gates differ by ${max}`);
  // Where units fire together is found in the engine: the same runs as over the slice itself.
  const hidden = (await s.call("gateSlice", { handle: a.handle, index: 1, name: "hidden" }, ctx)).data;
  const H = a.layers[1].units;
  const { firingRuns } = await import("../../protocol/firing");
  const fired = await s.call("gateFiring", { handle: a.handle, index: 1, name: "hidden", units: [0, 1], threshold: 0 }, ctx);
  assert.deepEqual(fired.runs, firingRuns(hidden, H, a.steps, [0, 1], 0));
  await assert.rejects(s.call("gateFiring", { handle: a.handle, index: 1, name: "hidden", units: [H], threshold: 0 }, ctx), /units must be/);
  // A series given to a character model is refused with a sentence, not a crash.
  await assert.rejects(s.call("gates", { model, values: [[1], [2]] }, ctx), /character model: give it text/);
});

test("vanishing gradients: through 100+ characters the LSTM sample keeps gradients the SimpleRNN sample loses", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = fs.readFileSync(path.join(ROOT, "samples", "workspace", "shapes.ts"), "utf8").split("\n").slice(0, 3).join("\n");
  const lstm = await s.call("gradients", { model: path.join(MODELS, "char-lstm"), text }, ctx);
  const rnn = await s.call("gradients", { model: path.join(MODELS, "char-rnn"), text }, ctx);
  assert.ok(lstm.steps > 100);
  assert.equal(lstm.outputStep, lstm.steps - 1);
  assert.match(lstm.target, /log p/);
  // Near the output both are of one size; 100+ steps back the SimpleRNN's is orders of magnitude smaller.
  const last = lstm.steps - 1;
  assert.ok(rnn.norms[last] > 0 && lstm.norms[last] > 0);
  assert.ok(lstm.norms[0] > 1000 * rnn.norms[0], `first step: LSTM ${lstm.norms[0]}, SimpleRNN ${rnn.norms[0]}`);
  // An earlier output step: nothing flows back from the future.
  const mid = await s.call("gradients", { model: path.join(MODELS, "char-rnn"), text, step: 40 }, ctx);
  assert.ok(mid.norms.slice(41).every((n) => n === 0) && mid.norms[40] > 0);
  // Past 1,000 steps the tape is refused with a sentence before it runs (TensorFlow.js's wasm heap
  // aborted near 2,000 steps, leaving the backend unusable); a window of them is read instead, and
  // the engine answers afterwards.
  const long = "x = 1;\n".repeat(200);
  await assert.rejects(s.call("gradients", { model: path.join(MODELS, "char-lstm"), text: long }, ctx), (e: Error & { code?: string }) => e.code === "TOO_LARGE" && /input gradients through 1,400 steps of .*at most 1,000 steps are read at once; select fewer, or read a window of them/.test(e.message));
  const windowed = await s.call("gradients", { model: path.join(MODELS, "char-lstm"), text: long, maxSteps: 1000 }, ctx);
  assert.equal(windowed.steps, 1000);
  assert.equal(windowed.window?.to, 1400);
});

test("runtime choice: insisting on a copy a model lacks is an error; preferring one falls back", async () => {
  const s = new EngineService({ providers: "cpu" });
  const torch = path.join(ROOT, "test", "fixtures", "rnn", "torch_lstm_uni.onnx");
  await assert.rejects(s.call("gates", { model: torch, values: [[1, 2, 3]], runtime: "tfjs" }, ctx), /no tfjs model here/);
  const r = await s.call("gates", { model: torch, values: [[1, 2, 3], [0, 1, 0]], preferRuntime: "tfjs" }, ctx);
  assert.equal(r.runtime, "onnx");
  const t = await s.call("gates", { model: path.join(MODELS, "char-rnn"), text: "let x", preferRuntime: "tfjs" }, ctx);
  assert.equal(t.runtime, "tfjs");
});

test("parseSeries in the engine: values with their offsets as typed arrays, the column question, errors by line", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("parseSeries", { text: "1.5\n 2.5\n-3e2\n" }, ctx);
  assert.ok(r.ok);
  if (r.ok) {
    assert.deepEqual(Array.from(r.values), [1.5, 2.5, -300]);
    assert.deepEqual([Array.from(r.sourceStart), Array.from(r.sourceEnd)], [[0, 5, 9], [3, 8, 13]]);
  }
  const csv = await s.call("parseSeries", { text: "a,b\n1,2\n3,4\n" }, ctx);
  assert.ok(!csv.ok && csv.needsColumn && csv.columns.map((c) => c.name).join() === "a,b");
  const bad = await s.call("parseSeries", { text: "1\nx\n2\n", lineOffset: 10 }, ctx);
  assert.ok(!bad.ok && !bad.needsColumn && bad.errors[0].line === 12, JSON.stringify(bad));
});
