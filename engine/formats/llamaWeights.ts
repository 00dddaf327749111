// Where the TensorFlow.js copy of a Llama-shaped decoder (runtime/tfjs/llama.ts) reads its weights.
//
// From an ONNX graph: torch.onnx and optimum keep Hugging Face's names for the embedding, the norm
// weights and the biases, but a linear layer's weight becomes an anonymous MatMul operand
// ("onnx::MatMul_882", already [in, out]); the node keeps the module's path
// ("/model/layers.0/self_attn/q_proj/MatMul"), and so do SeqLens's own exports (llamaExport.ts,
// which name the operand "<name>.T"). So each weight is looked for as the initializer operand of
// its module's node first, then by its Hugging Face name ("<name>" as torch's [out, in], or
// "<name>.T" as [in, out]).
//
// From a checkpoint (model.safetensors or its shards): by Hugging Face name, linear weights
// transposed from torch's [out, in].
import * as path from "node:path";
import { onnx } from "onnx-proto";
import type { LlamaWeightSource } from "../runtime/tfjs/llama";
import type { CheckpointWeights } from "./checkpointExport";
import { transpose2d } from "./exportCommon";
import { initializerFloats, readOnnxGraph } from "./onnxWeights";

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** "model.layers.0.self_attn.q_proj" → "/model/layers.0/self_attn/q_proj": the node path torch.onnx gives a module. */
export function modulePath(module: string): string {
  return "/" + module.replace(/\.(?!\d)/g, "/");
}

/** The weights of the ONNX graph in `file`, found by node path and by name. */
export function onnxLlamaWeights(file: string): LlamaWeightSource {
  const { model } = readOnnxGraph(file);
  const graph = model.graph!;
  const inits = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) inits.set(t.name!, t);
  const nodes = graph.node ?? [];
  const byName = new Map<string, onnx.INodeProto>();
  for (const n of nodes) if (n.name) byName.set(n.name, n);
  const dims = (t: onnx.ITensorProto) => (t.dims ?? []).map(Number);
  /** The values of initializer `name` when it has `shape`. */
  const read = (name: string | undefined, shape: number[]): Float32Array | undefined => {
    const t = name === undefined ? undefined : inits.get(name);
    if (!t || !sameShape(dims(t), shape)) return undefined;
    return initializerFloats(t, file);
  };
  /** The initializer operand of shape `shape` of the first node named `nodeName` or starting with `prefix` of type `op`. */
  const operand = (candidates: onnx.INodeProto[], shape: number[]): Float32Array | undefined => {
    for (const n of candidates) for (const i of n.input ?? []) {
      const v = read(i, shape);
      if (v) return v;
    }
    return undefined;
  };
  const nodesUnder = (prefix: string, op: string) => nodes.filter((n) => n.opType === op && (n.name ?? "").startsWith(prefix));
  const matMul = (nodeName: string, inDim: number, outDim: number) => {
    const n = byName.get(nodeName);
    return n && n.opType === "MatMul" ? read(n.input?.[1] ?? undefined, [inDim, outDim]) : undefined;
  };
  const transposed = (name: string, inDim: number, outDim: number) => {
    const torch = read(name, [outDim, inDim]);
    return torch ? transpose2d(torch, outDim, inDim) : read(`${name}.T`, [inDim, outDim]);
  };
  return {
    label: file,
    how: `looked for as the MatMul operand of the module's node and by its Hugging Face name`,
    linear: (module, inDim, outDim) => matMul(`${modulePath(module)}/MatMul`, inDim, outDim) ?? transposed(`${module}.weight`, inDim, outDim),
    vector(name, width) {
      const byHfName = read(name, [width]);
      if (byHfName) return byHfName;
      // a norm's weight is an operand of one of its Mul nodes, a bias of its module's Add
      const bias = name.endsWith(".bias");
      const module = name.replace(/\.(weight|bias)$/, "");
      return operand(nodesUnder(`${modulePath(module)}/`, bias ? "Add" : "Mul"), [width]);
    },
    embedding: (vocab, d) => read("model.embed_tokens.weight", [vocab, d]) ?? operand(nodesUnder("/model/embed_tokens/", "Gather"), [vocab, d]),
    lmHead: (d, vocab) => matMul("/lm_head/MatMul", d, vocab) ?? transposed("lm_head.weight", d, vocab),
  };
}

/** The weights of a checkpoint, by Hugging Face name (read now: `weights` may be closed afterwards only once the tensors are made). */
export function checkpointLlamaWeights(dir: string, weights: CheckpointWeights): LlamaWeightSource {
  const names = new Set(weights.names());
  const read = (name: string, shape: number[]) => (names.has(name) && sameShape(weights.shape(name), shape) ? weights.read(name) : undefined);
  const torchLinear = (name: string, inDim: number, outDim: number) => {
    const m = read(name, [outDim, inDim]);
    return m ? transpose2d(m, outDim, inDim) : undefined;
  };
  return {
    label: weights.files?.length === 1 ? weights.files[0] : path.join(dir, "model.safetensors"),
    how: "looked for by its Hugging Face name",
    linear: (module, inDim, outDim) => torchLinear(`${module}.weight`, inDim, outDim),
    vector: (name, width) => read(name, [width]),
    embedding: (vocab, d) => read("model.embed_tokens.weight", [vocab, d]),
    lmHead: (d, vocab) => torchLinear("lm_head.weight", d, vocab),
  };
}
