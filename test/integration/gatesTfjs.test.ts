// The gate probe on TensorFlow.js / Keras layers: models built here (LSTM, GRU, SimpleRNN, stacked,
// Bidirectional, going backwards, hardSigmoid and sigmoid gates); TensorFlow.js's own run of each
// layer is the reference the recomputed h_t must equal at every step.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { tfjsGates } from "../../engine/probes/gates/tfjsGates";

test("stacked and bidirectional Keras layers: every direction's recomputed h equals TensorFlow.js's", async () => {
  await initTfjs();
  const T = 13;
  const input = tf.input({ shape: [null, 3] });
  let h = tf.layers.lstm({ units: 5, returnSequences: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 2 }) }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.gru({ units: 4, returnSequences: true, recurrentActivation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 4 }) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 3, returnSequences: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }) as tf.RNN, mergeMode: "concat" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.lstm({ units: 4, returnSequences: false, goBackwards: true, recurrentActivation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 1 }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const x = tf.randomNormal([1, T, 3], 0, 1.5, "float32", 7);
  const layers = await tfjsGates(model, x);
  assert.deepEqual(layers.map((l) => [l.layer, l.cell, l.direction]), [
    [0, "lstm", "forward"],
    [1, "gru", "forward"],
    [2, "simple_rnn", "forward"],
    [2, "simple_rnn", "reverse"],
    [3, "lstm", "reverse"],
  ]);
  for (const l of layers) {
    assert.equal(l.steps, T);
    assert.ok(l.check.ok, `layer ${l.layer} ${l.cell} ${l.direction}: differs from TensorFlow.js by ${l.check.maxAbsDiff} at step ${l.check.worstStep}`);
  }
  // tfjs's LSTM default gate activation is hardSigmoid: gates saturate at exactly 0 or 1 somewhere.
  assert.deepEqual(layers[0].activations, ["hardSigmoid", "tanh", "tanh"]);
  assert.deepEqual(layers[1].activations, ["sigmoid", "tanh"]);
  // The layer after the bidirectional one reads [forward h, backward h] at each step.
  const [fwd, bwd, last] = [layers[2], layers[3], layers[4]];
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < 3; j++) {
      assert.ok(Math.abs(last.input[t * 6 + j] - fwd.values.hidden[t * 3 + j]) < 1e-5);
      assert.ok(Math.abs(last.input[t * 6 + 3 + j] - bwd.values.hidden[t * 3 + j]) < 1e-5);
    }
  }
  tf.dispose([x]);
  model.dispose();
});

test("a hardSigmoid gate taken for a sigmoid is caught by the check", async () => {
  await initTfjs();
  const input = tf.input({ shape: [null, 2] });
  const lstm = tf.layers.lstm({ units: 4, returnSequences: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }) });
  const model = tf.model({ inputs: input, outputs: lstm.apply(input) as tf.SymbolicTensor });
  const x = tf.randomNormal([1, 9, 2], 0, 2, "float32", 12);
  const ok = await tfjsGates(model, x);
  assert.ok(ok[0].check.ok);
  // Same weights, config saying sigmoid: tfjs computes with sigmoid, so the default (hardSigmoid) reading would differ.
  const { directionGates } = await import("../../engine/probes/gates/gates");
  const { kerasDirection } = await import("../../engine/probes/gates/tfjsGates");
  const { activation } = await import("../../engine/models/recurrentLayer");
  const d = kerasDirection(lstm, "forward");
  const wrong = await directionGates({ ...d, f: activation("sigmoid") }, ok[0].input, ok[0].values.hidden);
  assert.equal(wrong.check.ok, false);
  tf.dispose(x);
  model.dispose();
});

test("exported to ONNX (LSTM/GRU/RNN operators): the same outputs, and ONNX gates equal tfjs gates", async () => {
  await initTfjs();
  const { exportRecurrentOnnx } = await import("../../engine/formats/rnnExport");
  const { onnxGates, openOnnxRecurrent } = await import("../../engine/probes/gates/onnxGates");
  const { ort } = await import("../../engine/runtime/onnx/session");
  const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: seed + 50 }) });
  const T = 10;
  // A character model: ids -> Embedding -> LSTM -> GRU -> Bidirectional(SimpleRNN) -> Dense on every step.
  const ids = tf.input({ shape: [null], dtype: "int32" });
  let h = tf.layers.embedding({ inputDim: 20, outputDim: 6, embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 9 }) }).apply(ids) as tf.SymbolicTensor;
  h = tf.layers.lstm({ units: 5, returnSequences: true, ...init(1) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.gru({ units: 4, returnSequences: true, ...init(2) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 3, returnSequences: true, ...init(3) }) as tf.RNN }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 20, ...init(4) }).apply(h) as tf.SymbolicTensor;
  const lm = tf.model({ inputs: ids, outputs: logits });
  // A forecaster: x [B, T, 1] -> LSTM (sigmoid gates) -> LSTM, last step only -> Dense(1).
  const x = tf.input({ shape: [null, 1] });
  let f = tf.layers.lstm({ units: 4, returnSequences: true, recurrentActivation: "sigmoid", ...init(5) }).apply(x) as tf.SymbolicTensor;
  f = tf.layers.lstm({ units: 3, returnSequences: false, ...init(6) }).apply(f) as tf.SymbolicTensor;
  const fc = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 1, ...init(7) }).apply(f) as tf.SymbolicTensor });

  const idList = Array.from({ length: T }, (_, t) => (t * 7 + 3) % 20);
  const series = Array.from({ length: T }, (_, t) => Math.sin(t / 2) * 2);
  for (const [name, model, tfIn, onnxIn] of [
    ["lm", lm, tf.tensor2d([idList], [1, T], "int32"), { input_ids: new (ort().Tensor)("int64", BigInt64Array.from(idList.map(BigInt)), [1, T]) }],
    ["forecaster", fc, tf.tensor3d([series.map((v) => [v])]), { x: new (ort().Tensor)("float32", Float32Array.from(series), [1, T, 1]) }],
  ] as const) {
    const bytes = exportRecurrentOnnx(model, { outputName: "out" });
    const m = await openOnnxRecurrent(name, bytes);
    const { layers, outputs } = await onnxGates(m, onnxIn as unknown as Parameters<typeof onnxGates>[1]);
    const expected = (model.predict(tfIn) as tf.Tensor).dataSync();
    const got = outputs.out.data as Float32Array;
    assert.equal(got.length, expected.length);
    let maxOut = 0;
    for (let a = 0; a < got.length; a++) maxOut = Math.max(maxOut, Math.abs(got[a] - expected[a]));
    assert.ok(maxOut < 1e-5, `${name}: ONNX output differs from tfjs by ${maxOut}`);
    const ref = await tfjsGates(model, tfIn);
    assert.deepEqual(layers.map((l) => [l.layer, l.cell, l.direction]), ref.map((l) => [l.layer, l.cell, l.direction]));
    for (const [j, l] of layers.entries()) {
      assert.ok(l.check.ok, `${name} ONNX layer ${l.layer} ${l.direction}: ${l.check.maxAbsDiff}`);
      let max = 0;
      for (const [k, v] of Object.entries(ref[j].values)) for (let a = 0; a < v.length; a++) max = Math.max(max, Math.abs(l.values[k][a] - v[a]));
      assert.ok(max < 1e-5, `${name} layer ${l.layer} ${l.direction}: ONNX and tfjs gates differ by ${max}`);
    }
    tf.dispose(tfIn);
  }
});

test("gradient norms ‖∂y_t/∂x_s‖: causal, and equal to central finite differences through the same model", async () => {
  await initTfjs();
  const { gradientNorms } = await import("../../engine/probes/gradients");
  const T = 9;
  const x = tf.input({ shape: [null, 2] });
  let h = tf.layers.simpleRNN({ units: 4, returnSequences: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 21 }), recurrentInitializer: tf.initializers.glorotUniform({ seed: 22 }) }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.lstm({ units: 3, returnSequences: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 23 }) }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 24 }) }).apply(h) as tf.SymbolicTensor });
  const data = Array.from({ length: T * 2 }, (_, i) => Math.sin(i * 1.3));
  const input = tf.tensor3d(data, [1, T, 2]);
  const t = 6;
  const g = gradientNorms(model, input, t);
  assert.equal(g.norms.length, T);
  for (let s = t + 1; s < T; s++) assert.equal(g.norms[s], 0, "no gradient from the future");
  // Finite differences of y_t with respect to each input value, in float64 around the same point.
  const y = (d: number[]) => (model.predict(tf.tensor3d(d, [1, T, 2])) as tf.Tensor).dataSync()[t];
  const eps = 1e-2;
  for (let s = 0; s <= t; s++) {
    let sq = 0;
    for (let j = 0; j < 2; j++) {
      const up = data.slice();
      const down = data.slice();
      up[s * 2 + j] += eps;
      down[s * 2 + j] -= eps;
      sq += ((y(up) - y(down)) / (2 * eps)) ** 2;
    }
    assert.ok(Math.abs(Math.sqrt(sq) - g.norms[s]) < 2e-3 + 0.02 * g.norms[s], `step ${s}: autodiff ${g.norms[s]}, finite differences ${Math.sqrt(sq)}`);
  }
  input.dispose();
  model.dispose();
});

test("one pass in chunks of steps, state carried: the output equals predict's, each layer's input equals the model's, the gates equal one chunk's", async () => {
  await initTfjs();
  const { tfjsRun, recurrentLayers } = await import("../../engine/probes/gates/tfjsGates");
  const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }), recurrentInitializer: tf.initializers.glorotUniform({ seed: seed + 20 }), biasInitializer: tf.initializers.randomUniform({ minval: -0.4, maxval: 0.4, seed: seed + 50 }) });
  const T = 23;
  // ids -> Embedding -> LSTM -> every Bidirectional merge -> an LSTM going backwards (its steps in processing order) -> Dense on every step
  const ids = tf.input({ shape: [null], dtype: "int32" });
  let h = tf.layers.embedding({ inputDim: 20, outputDim: 6, embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 9 }) }).apply(ids) as tf.SymbolicTensor;
  h = tf.layers.lstm({ units: 5, returnSequences: true, ...init(1) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.bidirectional({ layer: tf.layers.gru({ units: 4, returnSequences: true, ...init(2) }) as tf.RNN, mergeMode: "concat" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 3, returnSequences: true, ...init(3) }) as tf.RNN, mergeMode: "sum" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true, recurrentActivation: "sigmoid", ...init(4) }) as tf.RNN, mergeMode: "ave" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.bidirectional({ layer: tf.layers.gru({ units: 2, returnSequences: true, ...init(5) }) as tf.RNN, mergeMode: "mul" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.lstm({ units: 4, returnSequences: true, goBackwards: true, ...init(6) }).apply(h) as tf.SymbolicTensor;
  const lm = tf.model({ inputs: ids, outputs: tf.layers.dense({ units: 7, ...init(7) }).apply(h) as tf.SymbolicTensor });
  // x -> GRU -> Bidirectional LSTM, last step only -> Dense; and a SimpleRNN going backwards, last step only
  const x = tf.input({ shape: [null, 2] });
  let f = tf.layers.gru({ units: 4, returnSequences: true, ...init(11) }).apply(x) as tf.SymbolicTensor;
  f = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, ...init(12) }) as tf.RNN }).apply(f) as tf.SymbolicTensor;
  const fc = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2, ...init(13) }).apply(f) as tf.SymbolicTensor });
  const back = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 1, ...init(15) }).apply(tf.layers.simpleRNN({ units: 3, goBackwards: true, ...init(14) }).apply(x) as tf.SymbolicTensor) as tf.SymbolicTensor });

  const idIn = tf.tensor2d([Array.from({ length: T }, (_, t) => (t * 7 + 3) % 20)], [1, T], "int32");
  const seriesIn = tf.tensor3d([Array.from({ length: T }, (_, t) => [Math.sin(t / 2) * 2, Math.cos(t / 3)])]);
  for (const [name, model, input] of [
    ["lm", lm, idIn],
    ["forecaster", fc, seriesIn],
    ["backwards", back, seriesIn],
  ] as const) {
    const run = await tfjsRun(model, input, { chunk: 4 });
    assert.equal(run.chunked, true, `${name}: ran layer by layer in chunks`);
    // the output: the model's own predict over the whole sequence
    const y = model.predict(input) as tf.Tensor;
    assert.deepEqual(run.outputShape, y.shape);
    const expected = y.dataSync();
    let maxOut = 0;
    for (let a = 0; a < expected.length; a++) maxOut = Math.max(maxOut, Math.abs(run.output[a] - expected[a]));
    assert.ok(maxOut < 1e-5, `${name}: output differs from predict by ${maxOut}`);
    // what each recurrent layer read: the model's own run, up to that layer
    const rec = recurrentLayers(model);
    const probe = tf.model({ inputs: model.inputs, outputs: rec.map((l) => l.layer.input as tf.SymbolicTensor) });
    const received = [probe.predict(input) as tf.Tensor | tf.Tensor[]].flat();
    for (const l of run.layers) {
      const want = received[l.layer].dataSync();
      let max = 0;
      for (let a = 0; a < want.length; a++) max = Math.max(max, Math.abs(l.input[a] - want[a]));
      assert.ok(max < 1e-5, `${name} layer ${l.layer}: its input differs from the model's by ${max}`);
      assert.ok(l.check.ok, `${name} layer ${l.layer} ${l.direction}: ${l.check.maxAbsDiff}`);
    }
    // the gates and states of every step: the same as one chunk over the whole sequence
    const whole = await tfjsRun(model, input, { chunk: 1_000_000 });
    assert.deepEqual(run.layers.map((l) => [l.layer, l.cell, l.direction, l.steps]), whole.layers.map((l) => [l.layer, l.cell, l.direction, T]));
    let maxGate = 0;
    for (const [j, l] of run.layers.entries()) for (const [k, v] of Object.entries(whole.layers[j].values)) for (let a = 0; a < v.length; a++) maxGate = Math.max(maxGate, Math.abs(l.values[k][a] - v[a]));
    assert.ok(maxGate < 1e-6, `${name}: gates in chunks of 4 differ from one chunk by ${maxGate}`);
    console.log(`${name}: ${run.layers.length} directions in chunks of 4 steps; output within ${maxOut.toExponential(1)} of predict, gates within ${maxGate.toExponential(1)} of one chunk`);
    tf.dispose([y, ...received]);
  }
  tf.dispose([idIn, seriesIn]);
  for (const m of [lm, fc, back]) m.dispose();
});

test("a mask reaching a recurrent layer: the whole-sequence run, its output still predict's", async () => {
  await initTfjs();
  const { tfjsRun } = await import("../../engine/probes/gates/tfjsGates");
  const ids = tf.input({ shape: [null], dtype: "int32" });
  const e = tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 31 }) }).apply(ids) as tf.SymbolicTensor;
  const h = tf.layers.lstm({ units: 3, returnSequences: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 32 }) }).apply(e) as tf.SymbolicTensor;
  const model = tf.model({ inputs: ids, outputs: tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor });
  const input = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2, 6]], [1, 8], "int32");
  const run = await tfjsRun(model, input, { chunk: 3 });
  assert.equal(run.chunked, false);
  const expected = (model.predict(input) as tf.Tensor).dataSync();
  for (let a = 0; a < expected.length; a++) assert.ok(Math.abs(run.output[a] - expected[a]) < 1e-6);
  assert.ok(run.layers[0].check.ok);
  input.dispose();
  model.dispose();
});
