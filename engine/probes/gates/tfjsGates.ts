// Gates of every recurrent layer of a TensorFlow.js / Keras LayersModel, and the model's output,
// from one run of the model layer by layer, in the order of its graph (as LayersModel runs it):
// each recurrent layer (LSTM, GRU, SimpleRNN, Bidirectional wrappers of them) runs TWIN_CHUNK steps
// at a time with its state carried from one chunk to the next (kerasLayers.ts), its gates are
// recomputed from its input and the hidden states it returned (and checked against them), and what
// it returned goes on to the layers after it; every other layer (Embedding, Dense, Dropout ...) runs
// on the whole sequence at once, a few kernels. Between chunks and between layers the event loop
// gets a turn and a cancel is heard, so a run of 20,000 steps stops within a chunk of its cancel.
//
// A graph this run does not take on (a recurrent layer used twice, one that returns its state or is
// stateful, a mask reaching one, a Bidirectional merge other than concat / sum / mul / ave, more than
// one input or output) runs as before: a twin of each recurrent layer over the input the model gives
// it, then the model's own predict.
import * as tf from "@tensorflow/tfjs";
import { EngineError } from "../../../protocol/errors";
import { checkpoint } from "./checkpoint";
import { directionGates } from "./gates";
import { kerasDirection, RecurrentLayer, recurrentLayers, sequenceTwin, TWIN_CHUNK, twinSequence } from "./kerasLayers";
import type { LayerGates } from "./onnxGates";

export { CELLS, kerasDirection, recurrentLayers, TWIN_CHUNK, twinSequence } from "./kerasLayers";

export interface TfjsRun {
  /** Every direction of every recurrent layer, in the model's layer order. */
  layers: LayerGates[];
  /** The model's output, [1, T, N] or [1, N]. */
  output: Float32Array;
  outputShape: number[];
  /** Whether the run went layer by layer in chunks (false: the whole-sequence run, for a graph it does not take on). */
  chunked: boolean;
}

export interface TfjsRunOptions {
  /** The largest |recomputed h - runtime h| the gates may have. */
  tolerance?: number;
  /** Steps a recurrent layer runs at once. */
  chunk?: number;
}

/** A node of the model's graph: one call of a layer (tfjs-layers' Container keeps them by depth). */
interface GraphNode {
  outboundLayer: tf.layers.Layer;
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
  callArgs?: Record<string, unknown>;
}

const MERGES = new Set(["concat", "sum", "mul", "ave"]);

/** The model's nodes in the order it runs them (deepest first), or why the layer-by-layer run does not take it on. */
function graphNodes(model: tf.LayersModel, recurrent: RecurrentLayer[], input: tf.Tensor): GraphNode[] | string {
  const byDepth = (model as unknown as { nodesByDepth?: Record<string, GraphNode[]> }).nodesByDepth;
  if (!byDepth) return "the model has no graph to follow";
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return "the model has more than one input or output";
  if (input.shape[0] !== 1) return "a batch of more than one sequence";
  const nodes = Object.keys(byDepth)
    .map(Number)
    .sort((a, b) => b - a)
    .flatMap((d) => byDepth[d]);
  for (const { layer, directions } of recurrent) {
    const calls = nodes.filter((n) => n.outboundLayer === layer);
    if (calls.length !== 1) return `layer ${layer.name} is called ${calls.length} times`;
    if (calls[0].inputTensors.length !== 1) return `layer ${layer.name} is given its initial state`;
    for (const { rnn } of directions) {
      const cfg = rnn.getConfig() as { returnState?: boolean; stateful?: boolean };
      if (cfg.returnState) return `layer ${layer.name} returns its state`;
      if (cfg.stateful) return `layer ${layer.name} is stateful`;
    }
    if (directions.length === 2) {
      const mode = (layer as unknown as { mergeMode?: string | null }).mergeMode;
      if (!mode || !MERGES.has(mode)) return `layer ${layer.name} merges its directions by ${String(mode)}`;
    }
  }
  return nodes;
}

/** x [1, T, U] -> its last step [1, U]. */
function lastStep(x: tf.Tensor): tf.Tensor {
  const [, T, U] = x.shape as number[];
  return x.slice([0, T - 1, 0], [1, 1, U]).reshape([1, U]);
}

/**
 * What a recurrent layer returns, from each direction's hidden states in processing order: all of
 * them (a layer that goes backwards returns them in its processing order, as Keras does) or the last;
 * a Bidirectional layer puts its backward states in time order and merges the two.
 */
function layerOutput(l: RecurrentLayer, seqs: tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => {
    if (seqs.length === 1) {
      const all = (l.layer.getConfig() as { returnSequences?: boolean }).returnSequences;
      return all ? seqs[0].clone() : lastStep(seqs[0]);
    }
    const b = l.layer as unknown as { returnSequences: boolean; mergeMode: string };
    const fwd = b.returnSequences ? seqs[0] : lastStep(seqs[0]);
    const bwd = b.returnSequences ? tf.reverse(seqs[1], 1) : lastStep(seqs[1]);
    if (b.mergeMode === "concat") return tf.concat([fwd, bwd], -1);
    if (b.mergeMode === "sum") return tf.add(fwd, bwd);
    if (b.mergeMode === "mul") return tf.mul(fwd, bwd);
    return tf.mul(0.5, tf.add(fwd, bwd)); // ave
  });
}

/** One recurrent layer (model layer `k`) on its input x [1, T, I], in chunks: its gates, and what it returns. */
async function recurrentRun(l: RecurrentLayer, k: number, x: tf.Tensor, opts: TfjsRunOptions): Promise<{ gates: LayerGates[]; output: tf.Tensor }> {
  const I = x.shape[2]!;
  const xData = (await x.data()) as Float32Array;
  const seqs: tf.Tensor[] = [];
  const gates: LayerGates[] = [];
  try {
    for (const { rnn, direction } of l.directions) {
      const hSeq = await directionStates(rnn, x, direction === "reverse", opts.chunk);
      seqs.push(hSeq);
      const h = await timeOrder(hSeq, direction === "reverse");
      const d = kerasDirection(rnn, direction);
      const g = await directionGates(d, xData, h, opts);
      gates.push({ ...g, layer: k, input: xData, inputSize: I, activations: d.activationNames });
    }
    return { gates, output: layerOutput(l, seqs) };
  } finally {
    tf.dispose(seqs);
  }
}

/** The hidden state of one direction at every step of x, in processing order, `chunk` steps at a time. */
async function directionStates(rnn: tf.layers.Layer, x: tf.Tensor, backwards: boolean, chunk = TWIN_CHUNK): Promise<tf.Tensor> {
  const twin = await sequenceTwin(rnn, x);
  try {
    return await twinSequence(twin, x, backwards, chunk);
  } finally {
    twin.dispose();
  }
}

/** Hidden states [1, T, H] in processing order as [T, H] values in time order. */
async function timeOrder(hSeq: tf.Tensor, backwards: boolean): Promise<Float32Array> {
  if (!backwards) return (await hSeq.data()) as Float32Array;
  const hTime = tf.reverse(hSeq, 1);
  try {
    return (await hTime.data()) as Float32Array;
  } finally {
    hTime.dispose();
  }
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The layer-by-layer run (see the header); undefined when a mask reaches a recurrent layer. */
async function chunkedRun(model: tf.LayersModel, recurrent: RecurrentLayer[], nodes: GraphNode[], input: tf.Tensor, opts: TfjsRunOptions): Promise<TfjsRun | undefined> {
  const values = new Map<number, { t: tf.Tensor; mask: tf.Tensor | null }>([[model.inputs[0].id, { t: input, mask: null }]]);
  const made = new Set<tf.Tensor>();
  const gatesOf = new Map<number, LayerGates[]>();
  try {
    for (const node of nodes) {
      const layer = node.outboundLayer;
      if (layer.getClassName() === "InputLayer") continue;
      const ins = node.inputTensors.map((s) => values.get(s.id));
      if (ins.some((v) => v === undefined)) throw new EngineError("MODEL_INVALID", `layer ${layer.name}: its input is not computed before it (the model's graph is out of order)`);
      const k = recurrent.findIndex((r) => r.layer === layer);
      if (k >= 0) {
        const { t: x, mask } = ins[0]!;
        if (mask) return undefined;
        const r = await recurrentRun(recurrent[k], k, x, opts);
        made.add(r.output);
        gatesOf.set(k, r.gates);
        values.set(node.outputTensors[0].id, { t: r.output, mask: null });
      } else {
        const xs = ins.map((v) => v!.t);
        const masks = ins.map((v) => v!.mask);
        const one = xs.length === 1;
        const kwargs: Record<string, unknown> = { ...(node.callArgs ?? {}) };
        if (kwargs.mask == null) kwargs.mask = one ? masks[0] : masks;
        const outs = list(tf.tidy(() => layer.call(one ? xs[0] : xs, kwargs)));
        const outMasks = list(layer.computeMask(one ? xs[0] : xs, (one ? masks[0] : masks) as tf.Tensor | tf.Tensor[] | undefined) as tf.Tensor | tf.Tensor[] | null);
        node.outputTensors.forEach((s, i) => {
          values.set(s.id, { t: outs[i], mask: outMasks[i] ?? null });
          made.add(outs[i]);
          if (outMasks[i]) made.add(outMasks[i]!);
        });
      }
      await checkpoint();
    }
    const out = values.get(model.outputs[0].id);
    if (!out) throw new EngineError("MODEL_INVALID", "the model's output was not computed (its graph does not reach it from its input)");
    const output = (await out.t.data()) as Float32Array;
    return { layers: recurrent.flatMap((_, k) => gatesOf.get(k) ?? []), output, outputShape: out.t.shape, chunked: true };
  } finally {
    made.delete(input);
    tf.dispose([...made]);
  }
}

/** The whole-sequence run: the model's input to each recurrent layer, a twin over it, then the model's predict. */
async function wholeRun(model: tf.LayersModel, recurrent: RecurrentLayer[], input: tf.Tensor, opts: TfjsRunOptions): Promise<TfjsRun> {
  // One run of the model that also returns what each recurrent layer received.
  const probe = tf.model({ inputs: model.inputs, outputs: recurrent.map((l) => l.layer.input as tf.SymbolicTensor) });
  const xs = list(probe.predict(input) as tf.Tensor | tf.Tensor[]);
  const layers: LayerGates[] = [];
  try {
    await checkpoint();
    for (const [k, l] of recurrent.entries()) {
      const x = xs[k];
      const [, T, I] = x.shape;
      const xData = (await x.slice([0, 0, 0], [1, T, I]).data()) as Float32Array;
      for (const { rnn, direction } of l.directions) {
        const hSeq = await directionStates(rnn, x, direction === "reverse", opts.chunk);
        let h: Float32Array;
        try {
          const hAll = await timeOrder(hSeq, direction === "reverse");
          h = hAll.subarray(0, T * hSeq.shape[2]!);
        } finally {
          hSeq.dispose();
        }
        const d = kerasDirection(rnn, direction);
        const g = await directionGates(d, xData, h, opts);
        layers.push({ ...g, layer: k, input: xData, inputSize: I, activations: d.activationNames });
      }
    }
  } finally {
    tf.dispose(xs);
  }
  const y = model.predict(input) as tf.Tensor;
  try {
    return { layers, output: (await y.data()) as Float32Array, outputShape: y.shape, chunked: false };
  } finally {
    y.dispose();
  }
}

/**
 * Runs `model` on `input` (a batch of one) once: the gates of every direction of every recurrent
 * layer, each checked against the runtime's hidden states, and the model's output.
 */
export async function tfjsRun(model: tf.LayersModel, input: tf.Tensor, opts: TfjsRunOptions = {}): Promise<TfjsRun> {
  const recurrent = recurrentLayers(model);
  if (recurrent.length === 0) throw new EngineError("MODEL_INVALID", "the model has no LSTM, GRU or SimpleRNN layer (the gate probe reads those layers' weights)");
  const nodes = graphNodes(model, recurrent, input);
  if (typeof nodes !== "string") {
    const run = await chunkedRun(model, recurrent, nodes, input, opts);
    if (run) return run;
  }
  return wholeRun(model, recurrent, input, opts);
}

/** The gates of every direction of every recurrent layer of `model` on `input` (a batch of one), each checked against the runtime's hidden states. */
export async function tfjsGates(model: tf.LayersModel, input: tf.Tensor, opts: TfjsRunOptions = {}): Promise<LayerGates[]> {
  return (await tfjsRun(model, input, opts)).layers;
}
