// Gates of every recurrent node of an ONNX graph on one input: the probe copy runs once in
// onnxruntime and returns each node's input and output sequences (and any computed weights); each
// direction's gates are then recomputed from the node's weights and checked against its output.
import * as fs from "node:fs";
import type * as ortTypes from "onnxruntime-common";
import { decodeOnnx } from "../../formats/onnxWeights";
import { nodeDirections, RecurrentNode, RecurrentProbe, recurrentProbe, sequenceOf, SlotValue } from "../../formats/onnxRecurrent";
import { ort } from "../../runtime/onnx/session";
import { checkpoint } from "./checkpoint";
import { directionGates, DirectionGates } from "./gates";

export interface LayerGates extends DirectionGates {
  layer: number;
  /** The layer's input, [T, I] (what the direction read at each step, in time order). */
  input: Float32Array;
  inputSize: number;
  activations: string[];
}

export interface OnnxRecurrentModel {
  file: string;
  probe: RecurrentProbe;
  session: ortTypes.InferenceSession;
}

export async function openOnnxRecurrent(file: string, bytes: Uint8Array = fs.readFileSync(file)): Promise<OnnxRecurrentModel> {
  const probe = recurrentProbe(file, decodeOnnx(file, bytes));
  const session = await ort().InferenceSession.create(probe.bytes, { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
  return { file, probe, session };
}

function slotValues(node: RecurrentNode, out: Record<string, ortTypes.Tensor>): Partial<Record<keyof RecurrentNode["inputs"], SlotValue>> {
  const values: Partial<Record<keyof RecurrentNode["inputs"], SlotValue>> = {};
  for (const [k, v] of Object.entries(node.inputs) as [keyof RecurrentNode["inputs"], RecurrentNode["inputs"][keyof RecurrentNode["inputs"]]][]) {
    if (!v) continue;
    values[k] = "data" in v ? v : { data: out[v.output].data as Float32Array, dims: out[v.output].dims.map(Number) };
  }
  return values;
}

/** Runs the model on `feeds` and returns the gates of every direction of every recurrent node, plus all outputs. */
export async function onnxGates(m: OnnxRecurrentModel, feeds: Record<string, ortTypes.Tensor>, opts: { tolerance?: number } = {}): Promise<{ layers: LayerGates[]; outputs: Record<string, ortTypes.Tensor> }> {
  const out = await m.session.run(feeds);
  const layers: LayerGates[] = [];
  for (const node of m.probe.nodes) {
    await checkpoint();
    const x = out[node.x];
    const y = out[node.y];
    const dirs = nodeDirections(node, slotValues(node, out));
    for (const [d, dir] of dirs.entries()) {
      const xs = sequenceOf("x", node.layout, x.data as Float32Array, x.dims.map(Number));
      const ys = sequenceOf("y", node.layout, y.data as Float32Array, y.dims.map(Number), d);
      const g = await directionGates(dir, xs.data, ys.data, opts);
      layers.push({ ...g, layer: node.index, input: xs.data, inputSize: xs.width, activations: dir.activationNames });
    }
  }
  return { layers, outputs: out };
}
