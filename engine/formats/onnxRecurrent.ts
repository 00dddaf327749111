// The ONNX recurrent operators LSTM, GRU and RNN of a graph, read into the gate probe's canonical
// form (models/recurrentLayer.ts), and a probe copy of the graph that also outputs, for each
// such node, the sequence it consumes (X) and produces (Y) plus any weight that is computed in the
// graph rather than stored (exporters sometimes build W, R, B with Concat or Unsqueeze).
//
// ONNX layout: W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H] (input biases then recurrent biases),
// P [D, 3H] (i, o, f); gate order LSTM i,o,f,c; GRU z,r,h; RNN one gate. Directions forward,
// reverse or bidirectional (D = 2, forward first). Activations per direction: LSTM f,g,h
// (Sigmoid, Tanh, Tanh), GRU f,g (Sigmoid, Tanh), RNN f (Tanh); activation_alpha/beta are taken in
// order by the functions that use them. `layout` 0: X [T, B, I], Y [T, D, B, H]; 1: X [B, T, I],
// Y [B, T, D, H].
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { activation, Cell, Direction, RecurrentDirection } from "../models/recurrentLayer";
import { externalRefs, inlineExternalData } from "./externalData";
import { initializerFloats } from "./onnxWeights";

/** The ONNX recurrent operators and their cells. */
export const RECURRENT_OPS: Record<string, Cell> = { LSTM: "lstm", GRU: "gru", RNN: "simple_rnn" };
/** For each canonical gate, its index in ONNX's order. */
const ONNX_GATE_INDEX: Record<Cell, number[]> = { lstm: [0, 2, 3, 1], gru: [0, 1, 2], simple_rnn: [0] };
const DEFAULT_ACTIVATIONS: Record<Cell, string[]> = { lstm: ["Sigmoid", "Tanh", "Tanh"], gru: ["Sigmoid", "Tanh"], simple_rnn: ["Tanh"] };
const USES_ALPHA = new Set(["leakyrelu", "thresholdedrelu", "scaledtanh", "hardsigmoid", "elu", "affine"]);
const USES_BETA = new Set(["scaledtanh", "hardsigmoid", "affine"]);

/** One recurrent node of the graph and the names the probe copy gives its tensors. */
export interface RecurrentNode {
  index: number; // k-th recurrent node in graph order (the layer number)
  name: string;
  cell: Cell;
  directions: Direction[];
  hiddenSize: number;
  layout: 0 | 1;
  attrs: { activations: string[]; alphas: number[]; betas: number[]; clip?: number; inputForget: boolean; linearBeforeReset: boolean };
  /** Probe output names: the node's X and Y, and W, R, B, P, initial_h, initial_c where not initializers. */
  x: string;
  y: string;
  /** Input slot -> where its value comes from: an initializer's data, or a probe output name. */
  inputs: Record<"W" | "R" | "B" | "P" | "initial_h" | "initial_c", { data: Float32Array; dims: number[] } | { output: string } | undefined>;
}

export interface RecurrentProbe {
  /** The model with the probe outputs added. */
  bytes: Uint8Array;
  nodes: RecurrentNode[];
  /** Graph inputs that are not initializers, with their element type and dims (numbers or names). */
  inputs: { name: string; elemType: number; dims: (number | string)[] }[];
  outputs: string[];
  /** Weights stored in the graph (float initializers), counted. */
  parameters: number;
}

function attr(n: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

export function recurrentProbe(file: string, model: onnx.ModelProto): RecurrentProbe {
  // Weights kept as external data: their locations checked (inside the graph's folder) before any
  // is read, then moved into the graph, as the probe runs from bytes with no folder to find them in.
  if (externalRefs(file, model).length > 0) inlineExternalData(file, model, 0);
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  // Constant nodes hold weights too (some exporters store W, R, B that way).
  for (const n of graph.node ?? []) {
    const v = n.opType === "Constant" ? attr(n, "value")?.t : undefined;
    if (v && n.output?.[0]) initializers.set(n.output[0], v as onnx.TensorProto);
  }
  const added: string[] = [];
  const nodes: RecurrentNode[] = [];
  const extraNodes: onnx.INodeProto[] = [];
  const expose = (tensor: string, as: string) => {
    extraNodes.push({ opType: "Identity", name: `${as}_identity`, input: [tensor], output: [as] });
    added.push(as);
    return as;
  };
  for (const n of graph.node ?? []) {
    const cell = RECURRENT_OPS[n.opType ?? ""];
    if (!cell || (n.domain && n.domain !== "ai.onnx")) continue;
    const k = nodes.length;
    const name = n.name || `${n.opType}_${k}`;
    const dirAttr = attr(n, "direction")?.s;
    const dir = dirAttr ? new TextDecoder().decode(dirAttr) : "forward";
    if (!["forward", "reverse", "bidirectional"].includes(dir)) throw new EngineError("MODEL_INVALID", `${file}: ${n.opType} node ${name} has direction "${dir}"`);
    const directions: Direction[] = dir === "bidirectional" ? ["forward", "reverse"] : [dir as Direction];
    const hiddenSize = Number(attr(n, "hidden_size")?.i ?? 0);
    const layout = Number(attr(n, "layout")?.i ?? 0) as 0 | 1;
    const acts = (attr(n, "activations")?.strings ?? []).map((s) => new TextDecoder().decode(s));
    const perDir = DEFAULT_ACTIVATIONS[cell].length;
    const activations = acts.length > 0 ? acts : directions.flatMap(() => DEFAULT_ACTIVATIONS[cell]);
    if (activations.length !== perDir * directions.length) throw new EngineError("MODEL_INVALID", `${file}: ${n.opType} node ${name} lists ${activations.length} activations, expected ${perDir * directions.length}`);
    const clipAttr = attr(n, "clip");
    // The node's Y: an unnamed (absent) output gets a name so it can be read.
    const outs = n.output ?? [];
    if (!outs[0]) {
      outs[0] = `seqlens_rnn${k}_y_raw`;
      n.output = outs;
    }
    const slot = (i: number, what: string) => {
      const t = n.input?.[i];
      if (!t) return undefined;
      const init = initializers.get(t);
      if (init) {
        const data = initializerFloats(init);
        if (!data) throw new EngineError("MODEL_INVALID", `${file}: ${n.opType} node ${name}: ${what} (${t}) is not float32`);
        return { data, dims: (init.dims ?? []).map(Number) };
      }
      return { output: expose(t, `seqlens_rnn${k}_${what}`) };
    };
    const isLstm = cell === "lstm";
    nodes.push({
      index: k,
      name,
      cell,
      directions,
      hiddenSize,
      layout,
      attrs: {
        activations,
        alphas: attr(n, "activation_alpha")?.floats ?? [],
        betas: attr(n, "activation_beta")?.floats ?? [],
        clip: clipAttr ? clipAttr.f ?? undefined : undefined,
        inputForget: Number(attr(n, "input_forget")?.i ?? 0) === 1,
        linearBeforeReset: Number(attr(n, "linear_before_reset")?.i ?? 0) === 1,
      },
      x: expose(n.input![0], `seqlens_rnn${k}_x`),
      y: expose(outs[0], `seqlens_rnn${k}_y`),
      inputs: {
        W: slot(1, "W"),
        R: slot(2, "R"),
        B: slot(3, "B"),
        initial_h: slot(5, "initial_h"),
        initial_c: isLstm ? slot(6, "initial_c") : undefined,
        P: isLstm ? slot(7, "P") : undefined,
      },
    });
  }
  if (nodes.length === 0) throw new EngineError("MODEL_INVALID", `${file}: no LSTM, GRU or RNN operator in the graph (the gate probe reads those operators' weights)`);
  for (const [i, nd] of nodes.entries()) if (!nd.inputs.W || !nd.inputs.R) throw new EngineError("MODEL_INVALID", `${file}: recurrent node ${i} has no W or R input`);
  graph.node!.push(...extraNodes);
  for (const name of added) graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  const inputs = (graph.input ?? [])
    .filter((i) => !initializers.has(i.name!))
    .map((i) => ({
      name: i.name!,
      elemType: i.type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT,
      dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : d.dimParam || "?")),
    }));
  const parameters = (graph.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT).reduce((n, t) => n + (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1), 0);
  return { bytes: onnx.ModelProto.encode(model).finish(), nodes, inputs, outputs: (graph.output ?? []).map((o) => o.name!), parameters };
}

/** Values of a node's weight slots, from initializers or from the probe run's outputs. */
export type SlotValue = { data: Float32Array; dims: number[] };

/**
 * The canonical directions of one recurrent node, given its weight values (W, R, B, P, initial_h,
 * initial_c; absent ones undefined) and the batch row to take initial states from.
 */
export function nodeDirections(node: RecurrentNode, slots: Partial<Record<keyof RecurrentNode["inputs"], SlotValue>>, batch = 0): RecurrentDirection[] {
  const { cell, hiddenSize: H, directions } = node;
  const G = ONNX_GATE_INDEX[cell].length;
  const W = slots.W!;
  const R = slots.R!;
  const D = directions.length;
  const I = W.dims[2];
  if (W.dims[0] !== D || W.dims[1] !== G * H || R.dims[1] !== G * H || R.dims[2] !== H) {
    throw new EngineError("MODEL_INVALID", `${cell.toUpperCase()} node ${node.name}: W is [${W.dims}] and R [${R.dims}], expected [${D}, ${G * H}, I] and [${D}, ${G * H}, ${H}]`);
  }
  const { activations, alphas, betas } = node.attrs;
  let ai = 0;
  let bi = 0;
  const fns = activations.map((name) => {
    const low = name.toLowerCase();
    const alpha = USES_ALPHA.has(low) ? alphas[ai++] : undefined;
    const beta = USES_BETA.has(low) ? betas[bi++] : undefined;
    return activation(name, alpha, beta);
  });
  const perDir = DEFAULT_ACTIVATIONS[cell].length;
  const batches = (v: SlotValue | undefined) => (v ? v.dims[1] : 1);
  return directions.map((direction, d) => {
    // W[d] is [G*H, I] in ONNX gate order; canonical W is [I, G*H] (x·W) in canonical order.
    const Wc = new Float32Array(I * G * H);
    const Rc = new Float32Array(H * G * H);
    const bW = new Float32Array(G * H);
    const bR = new Float32Array(G * H);
    ONNX_GATE_INDEX[cell].forEach((src, g) => {
      for (let u = 0; u < H; u++) {
        const row = d * G * H + src * H + u; // row of W[d] / R[d] for gate src, unit u
        for (let i = 0; i < I; i++) Wc[i * G * H + g * H + u] = W.data[row * I + i];
        for (let i = 0; i < H; i++) Rc[i * G * H + g * H + u] = R.data[row * H + i];
        if (slots.B) {
          bW[g * H + u] = slots.B.data[d * 2 * G * H + src * H + u];
          bR[g * H + u] = slots.B.data[d * 2 * G * H + G * H + src * H + u];
        }
      }
    });
    const state = (v: SlotValue | undefined) => (v ? v.data.slice((d * batches(v) + batch) * H, (d * batches(v) + batch + 1) * H) : undefined);
    const P = slots.P;
    const fn = fns.slice(d * perDir, (d + 1) * perDir);
    return {
      cell,
      direction,
      inputSize: I,
      units: H,
      W: Wc,
      R: Rc,
      bW,
      bR,
      peephole: P ? { i: P.data.slice(d * 3 * H, d * 3 * H + H), o: P.data.slice(d * 3 * H + H, d * 3 * H + 2 * H), f: P.data.slice(d * 3 * H + 2 * H, d * 3 * H + 3 * H) } : undefined,
      f: fn[0],
      g: fn[1] ?? fn[0],
      h: fn[2] ?? fn[0],
      activationNames: activations.slice(d * perDir, (d + 1) * perDir),
      clip: node.attrs.clip,
      inputForget: node.attrs.inputForget,
      linearBeforeReset: node.attrs.linearBeforeReset,
      initialH: state(slots.initial_h),
      initialC: state(slots.initial_c),
    };
  });
}

/**
 * One direction's sequence from a node's X or Y output, as [T, features] for batch row `batch`.
 * X: layout 0 [T, B, I], 1 [B, T, I]. Y: layout 0 [T, D, B, H], 1 [B, T, D, H].
 */
export function sequenceOf(kind: "x" | "y", layout: 0 | 1, data: Float32Array, dims: number[], d = 0, batch = 0): { data: Float32Array; steps: number; width: number } {
  let T: number;
  let B: number;
  let D = 1;
  let W: number;
  if (kind === "x") {
    [T, B, W] = layout === 0 ? [dims[0], dims[1], dims[2]] : [dims[1], dims[0], dims[2]];
  } else {
    [T, D, B, W] = layout === 0 ? [dims[0], dims[1], dims[2], dims[3]] : [dims[1], dims[2], dims[0], dims[3]];
  }
  if (B === 1 && D === 1) return { data: data.subarray(0, T * W), steps: T, width: W }; // already [T, W]
  const out = new Float32Array(T * W);
  for (let t = 0; t < T; t++) {
    const at = kind === "x" ? (layout === 0 ? (t * B + batch) * W : (batch * T + t) * W) : layout === 0 ? ((t * D + d) * B + batch) * W : ((batch * T + t) * D + d) * W;
    out.set(data.subarray(at, at + W), t * W);
  }
  return { data: out, steps: T, width: W };
}
