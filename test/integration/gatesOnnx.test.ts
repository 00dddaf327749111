// The gate probe on ONNX LSTM / GRU / RNN operators: graphs built here with random weights and
// every attribute the probe reads; onnxruntime's own implementation of the operator is the
// independent reference (the recomputed h_t must equal its Y at every step).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";
import { DataType, GraphBuilder } from "../../engine/formats/onnxBuilder";
import { onnxGates, openOnnxRecurrent } from "../../engine/probes/gates/onnxGates";
import { directionGates } from "../../engine/probes/gates/gates";
import { nodeDirections } from "../../engine/formats/onnxRecurrent";
import { gemmJs, gemmOrt } from "../../engine/probes/gates/gemm";
import { ort } from "../../engine/runtime/onnx/session";

/** Deterministic values in [-scale, scale]. */
function rand(n: number, seed: number, scale = 0.5): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  });
}

interface NodeSpec {
  op: "LSTM" | "GRU" | "RNN";
  direction?: "forward" | "reverse" | "bidirectional";
  hidden: number;
  attrs?: Record<string, number | { strings: string[] } | { floats: number[] } | { float: number } | string>;
  bias?: boolean;
  peepholes?: boolean;
  initial?: boolean;
  /** Feed W through a node instead of an initializer (as some exporters do). */
  computedW?: boolean;
}

const GATES = { LSTM: 4, GRU: 3, RNN: 1 };

/** A graph x [T, 1, I] -> recurrent nodes in a stack (each node's Y reshaped to the next one's X) -> y. */
function stack(I: number, nodes: NodeSpec[], seed = 1): Uint8Array {
  const g = new GraphBuilder();
  let x = g.input("x", DataType.FLOAT, ["T", 1, I]);
  let inSize = I;
  nodes.forEach((n, k) => {
    const D = n.direction === "bidirectional" ? 2 : 1;
    const G = GATES[n.op];
    const H = n.hidden;
    let W = g.weight(`W${k}`, [D, G * H, inSize], rand(D * G * H * inSize, seed * 100 + k * 10 + 1));
    if (n.computedW) W = g.op("Identity", [W], `W${k}_computed`);
    const R = g.weight(`R${k}`, [D, G * H, H], rand(D * G * H * H, seed * 100 + k * 10 + 2));
    const B = n.bias === false ? "" : g.weight(`B${k}`, [D, 2 * G * H], rand(D * 2 * G * H, seed * 100 + k * 10 + 3));
    const h0 = n.initial ? g.weight(`h0_${k}`, [D, 1, H], rand(D * H, seed * 100 + k * 10 + 4)) : "";
    const c0 = n.initial && n.op === "LSTM" ? g.weight(`c0_${k}`, [D, 1, H], rand(D * H, seed * 100 + k * 10 + 5)) : "";
    const P = n.peepholes ? g.weight(`P${k}`, [D, 3 * H], rand(D * 3 * H, seed * 100 + k * 10 + 6)) : "";
    const inputs = [x, W, R, B, "", h0, ...(n.op === "LSTM" ? [c0, P] : [])];
    while (inputs[inputs.length - 1] === "") inputs.pop();
    const [y] = g.node(n.op, inputs, `${n.op}_${k}`, { hidden_size: H, direction: n.direction ?? "forward", ...n.attrs }, 1);
    // Y [T, D, 1, H] -> [T, 1, D*H]
    const tr = g.op("Transpose", [y], `tr${k}`, { perm: [0, 2, 1, 3] });
    x = g.op("Reshape", [tr, g.int64s(`shape${k}`, [0, 0, -1])], `reshape${k}`);
    inSize = D * H;
  });
  g.rename(x, "y");
  g.output("y", DataType.FLOAT, ["T", 1, inSize]);
  return g.model("rnn_stack", 14, "seqlens-test");
}

async function check(name: string, I: number, nodes: NodeSpec[], T = 11) {
  const m = await openOnnxRecurrent(name, stack(I, nodes));
  const x = new (ort().Tensor)("float32", rand(T * I, 7, 1.5), [T, 1, I]);
  const { layers } = await onnxGates(m, { x });
  const expected = nodes.flatMap((n, k) => (n.direction === "bidirectional" ? [[k, "forward"], [k, "reverse"]] : [[k, n.direction ?? "forward"]]));
  assert.deepEqual(layers.map((l) => [l.layer, l.direction]), expected);
  for (const l of layers) {
    assert.equal(l.steps, T);
    assert.ok(l.check.ok && l.check.maxAbsDiff < 1e-5, `${name} layer ${l.layer} ${l.direction}: recomputed h differs from onnxruntime's by ${l.check.maxAbsDiff} at step ${l.check.worstStep}`);
  }
  return layers;
}

test("LSTM: bidirectional with biases, peepholes and initial states; gates in range; c and h consistent", async () => {
  const layers = await check("lstm-bi", 3, [{ op: "LSTM", direction: "bidirectional", hidden: 5, peepholes: true, initial: true }]);
  const f = layers[0];
  assert.deepEqual(Object.keys(f.values), ["input", "forget", "candidate", "output", "cell", "hidden"]);
  for (const gate of ["input", "forget", "output"]) assert.ok(f.values[gate].every((v) => v > 0 && v < 1), `${gate} is a sigmoid`);
  assert.ok(f.values.candidate.every((v) => v > -1 && v < 1));
  // h = o ⊙ tanh(c) at every step and unit.
  for (let a = 0; a < f.values.hidden.length; a++) assert.ok(Math.abs(f.values.hidden[a] - f.values.output[a] * Math.tanh(f.values.cell[a])) < 1e-6);
});

test("LSTM: hardSigmoid gates (alpha, beta), clip, coupled input and forget gates", async () => {
  const [l] = await check("lstm-attrs", 4, [
    {
      op: "LSTM",
      hidden: 6,
      attrs: { activations: { strings: ["HardSigmoid", "Tanh", "Tanh"] }, activation_alpha: { floats: [0.2] }, activation_beta: { floats: [0.5] }, clip: { float: 0.8 }, input_forget: 1 },
    },
  ]);
  for (let a = 0; a < l.values.input.length; a++) assert.ok(Math.abs(l.values.forget[a] - (1 - l.values.input[a])) < 1e-7, "f = 1 - i");
  // Clipped pre-activations: hardSigmoid(0.8) = 0.66 is the most a gate can reach.
  assert.ok(l.values.output.every((v) => v >= 0.5 - 0.2 * 0.8 - 1e-6 && v <= 0.5 + 0.2 * 0.8 + 1e-6));
});

test("GRU: both linear_before_reset forms, bidirectional; h = (1 - z) h~ + z h_prev", async () => {
  for (const lbr of [0, 1]) {
    const layers = await check(`gru-lbr${lbr}`, 3, [{ op: "GRU", direction: "bidirectional", hidden: 4, initial: true, attrs: { linear_before_reset: lbr } }]);
    assert.deepEqual(Object.keys(layers[0].values), ["update", "reset", "candidate", "hidden"]);
  }
});

test("RNN: reverse and forward, Relu and Tanh", async () => {
  await check("rnn", 2, [
    { op: "RNN", direction: "reverse", hidden: 3, attrs: { activations: { strings: ["Relu"] } } },
    { op: "RNN", hidden: 4, initial: true },
  ]);
});

test("stacked layers: each layer's input is what the graph fed it; a weight computed in the graph is read from the run", async () => {
  const layers = await check("stack", 2, [
    { op: "LSTM", direction: "bidirectional", hidden: 4, computedW: true },
    { op: "GRU", hidden: 3, bias: false },
    { op: "LSTM", direction: "reverse", hidden: 5 },
  ]);
  // Layer 1 reads layer 0's forward and backward hidden states side by side.
  const [f0, b0, l1] = layers;
  for (let t = 0; t < l1.steps; t++) {
    for (let j = 0; j < 4; j++) {
      assert.ok(Math.abs(l1.input[t * 8 + j] - f0.values.hidden[t * 4 + j]) < 1e-5);
      assert.ok(Math.abs(l1.input[t * 8 + 4 + j] - b0.values.hidden[t * 4 + j]) < 1e-5);
    }
  }
});

test("wrong weights are caught: the result says the recomputed states do not match instead of passing", async () => {
  const m = await openOnnxRecurrent("lstm", stack(3, [{ op: "LSTM", hidden: 4 }]));
  const T = 6;
  const x = new (ort().Tensor)("float32", rand(T * 3, 3, 1), [T, 1, 3]);
  const { layers } = await onnxGates(m, { x });
  const node = m.probe.nodes[0];
  const W = node.inputs.W as { data: Float32Array; dims: number[] };
  const R = node.inputs.R as { data: Float32Array; dims: number[] };
  const B = node.inputs.B as { data: Float32Array; dims: number[] };
  const [d] = nodeDirections(node, { W, R, B });
  // Gate order read wrong (i,f,c,o taken as ONNX's i,o,f,c): swap the forget and output columns.
  const swapped = { ...d, W: d.W.slice(), R: d.R.slice() };
  for (const M of [swapped.W, swapped.R]) {
    for (let r = 0; r < M.length / 16; r++) for (let u = 0; u < 4; u++) [M[r * 16 + 4 + u], M[r * 16 + 12 + u]] = [M[r * 16 + 12 + u], M[r * 16 + 4 + u]];
  }
  const wrong = await directionGates(swapped, layers[0].input, layers[0].values.hidden);
  assert.equal(wrong.check.ok, false);
  assert.ok(wrong.check.maxAbsDiff > 1e-3, String(wrong.check.maxAbsDiff));
});

test("the matrix product: JavaScript and onnxruntime agree", async () => {
  const a = rand(37 * 19, 11);
  const b = rand(19 * 23, 12);
  const js = gemmJs(a, 37, 19, b, 23);
  const ortOut = await gemmOrt(a, 37, 19, b, 23);
  let max = 0;
  for (let i = 0; i < js.length; i++) max = Math.max(max, Math.abs(js[i] - ortOut[i]));
  assert.ok(max < 1e-5, String(max));
  // and against a plain triple loop
  let s = 0;
  for (let k = 0; k < 19; k++) s += a[5 * 19 + k] * b[k * 23 + 7];
  assert.ok(Math.abs(js[5 * 23 + 7] - s) < 1e-6);
});

test("ONNX files exported by torch.onnx.export: gates equal PyTorch's own step-by-step values", async () => {
  const dir = path.join(ROOT, "test", "fixtures", "rnn");
  const fx = JSON.parse(fs.readFileSync(path.join(dir, "torch_rnn_fixtures.json"), "utf8")) as {
    models: Record<string, { file: string; cell: string; inputSize: number; inputName: string; x: number[][]; layers: { layer: number; direction: string; steps: Record<string, number[]>[] }[] }>;
  };
  assert.deepEqual(Object.keys(fx.models).sort(), ["torch_gru", "torch_lstm", "torch_lstm_uni"]);
  for (const [name, m] of Object.entries(fx.models)) {
    const model = await openOnnxRecurrent(name, fs.readFileSync(path.join(dir, m.file)));
    const T = m.x.length;
    const x = new (ort().Tensor)("float32", Float32Array.from(m.x.flat()), [T, 1, m.inputSize]);
    const { layers } = await onnxGates(model, { [m.inputName]: x });
    assert.deepEqual(layers.map((l) => [l.layer, l.direction]), m.layers.map((l) => [l.layer, l.direction]), name);
    let max = 0;
    for (const [i, ref] of m.layers.entries()) {
      const got = layers[i];
      assert.ok(got.check.ok, `${name} layer ${ref.layer} ${ref.direction}: ${got.check.maxAbsDiff}`);
      const names = Object.keys(ref.steps[0]);
      assert.deepEqual(names.slice().sort(), Object.keys(got.values).sort(), `${name}: the same gates and states`);
      for (const [t, step] of ref.steps.entries()) {
        for (const n of names) {
          step[n].forEach((v, j) => (max = Math.max(max, Math.abs(got.values[n][t * got.units + j] - v))));
        }
      }
    }
    assert.ok(max < 1e-5, `${name}: gates differ from PyTorch's by ${max}`);
  }
});
