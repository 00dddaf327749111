// Dynamic int8 quantisation of an ONNX model, as onnxruntime's quantize_dynamic does it for MatMul:
// each MatMul whose right operand is a float weight initializer [K, N] gets int8 weights, symmetric
// per output column (scale_n = max_k |W[k, n]| / 127), and its activations are quantised at run time:
//   DynamicQuantizeLinear(A) -> A_q (uint8), a_scale, a_zero
//   MatMulInteger(A_q, W_q, a_zero, 0) -> int32 -> Cast float -> * (a_scale * w_scale[n])
// Everything else (embeddings, layer norms, the attention products of activations) stays float.
// The work is one weight at a time (`quantizeSteps`): the engine's request gives the event loop a turn
// and looks at its signal between weights, so a cancelled copy stops part-way.
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { initializerFloats, readOnnxGraph } from "./onnxWeights";
import { inlineExternalData } from "./externalData";

/** Weights smaller than this stay float (biases, tiny projections): their int8 copy saves nothing. */
const MIN_ELEMENTS = 256;

export interface Quantized {
  bytes: Uint8Array;
  quantized: number;
  kept: number;
}

/** The int8 copy of the graph in `onnxFile`, all at once. */
export function quantizeDynamic(onnxFile: string): Quantized {
  const steps = quantizeSteps(onnxFile);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The int8 copy of the graph in `onnxFile`, made while the caller waits between weights: after each
 * weight it looks at `signal` (CANCELLED, "quantize was cancelled") and hears `onProgress(done, total)`.
 */
export async function quantizeDynamicAsync(onnxFile: string, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<Quantized> {
  const steps = quantizeSteps(onnxFile);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    opts.onProgress?.(r.value.done, r.value.total);
    if (opts.signal) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.signal.aborted) throw new EngineError("CANCELLED", "quantize was cancelled");
    }
  }
}

/** The quantisation, yielding after each MatMul node it looks at (`done` of `total`), returning the copy. */
export function* quantizeSteps(onnxFile: string): Generator<{ done: number; total: number }, Quantized> {
  // external weights are read one at a time, when quantised (their files checked first)
  const { model, bytes: graphBytes } = readOnnxGraph(onnxFile);
  const graph = model.graph!;
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  if (opset && Number(opset.version) < 11) throw new EngineError("MODEL_INVALID", `${onnxFile}: opset ${opset.version}; dynamic quantisation needs opset 11 or newer (DynamicQuantizeLinear)`);
  const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const uses = new Map<string, number>();
  for (const n of graph.node!) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  const nodes: onnx.INodeProto[] = [];
  const newInits: onnx.ITensorProto[] = [];
  const drop = new Set<string>();
  let quantized = 0;
  let kept = 0;
  let k = 0;
  const total = graph.node!.filter((n) => n.opType === "MatMul").length;
  let done = 0;
  for (const node of graph.node!) {
    if (node.opType === "MatMul" && done > 0) yield { done, total };
    if (node.opType === "MatMul") done++;
    const wName = node.opType === "MatMul" ? node.input![1] : undefined;
    const w = wName ? inits.get(wName) : undefined;
    const dims = (w?.dims ?? []).map(Number);
    const data = w && w.dataType === onnx.TensorProto.DataType.FLOAT && dims.length === 2 ? initializerFloats(w, onnxFile) : undefined;
    if (!data || dims[0] * dims[1] < MIN_ELEMENTS) {
      if (node.opType === "MatMul") kept++;
      nodes.push(node);
      continue;
    }
    const [K, N] = dims;
    const scale = new Float32Array(N);
    for (let r = 0; r < K; r++) for (let c = 0; c < N; c++) scale[c] = Math.max(scale[c], Math.abs(data[r * N + c]));
    for (let c = 0; c < N; c++) scale[c] = scale[c] / 127 || 1;
    const q = new Int8Array(K * N);
    for (let r = 0; r < K; r++) for (let c = 0; c < N; c++) q[r * N + c] = Math.max(-127, Math.min(127, Math.round(data[r * N + c] / scale[c])));
    const p = `seqlens_q/${k++}`;
    newInits.push(
      onnx.TensorProto.create({ name: `${p}/w_q`, dims: [K, N], dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(q.buffer) }),
      onnx.TensorProto.create({ name: `${p}/w_zero`, dims: [], dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(1) }),
      onnx.TensorProto.create({ name: `${p}/w_scale`, dims: [N], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(scale.buffer) }),
    );
    const a = node.input![0];
    nodes.push(
      onnx.NodeProto.create({ opType: "DynamicQuantizeLinear", name: `${p}/DynamicQuantizeLinear`, input: [a], output: [`${p}/a_q`, `${p}/a_scale`, `${p}/a_zero`] }),
      onnx.NodeProto.create({ opType: "MatMulInteger", name: `${p}/MatMulInteger`, input: [`${p}/a_q`, `${p}/w_q`, `${p}/a_zero`, `${p}/w_zero`], output: [`${p}/y_int`] }),
      onnx.NodeProto.create({ opType: "Cast", name: `${p}/Cast`, input: [`${p}/y_int`], output: [`${p}/y`], attribute: [onnx.AttributeProto.create({ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT })] }),
      onnx.NodeProto.create({ opType: "Mul", name: `${p}/Scale`, input: [`${p}/a_scale`, `${p}/w_scale`], output: [`${p}/scale`] }),
      onnx.NodeProto.create({ opType: "Mul", name: `${p}/Mul`, input: [`${p}/y`, `${p}/scale`], output: node.output }),
    );
    uses.set(wName!, uses.get(wName!)! - 1);
    if (uses.get(wName!) === 0) drop.add(wName!);
    quantized++;
  }
  if (quantized === 0) throw new EngineError("BAD_INPUT", `${onnxFile}: no MatMul multiplies by a float weight of ${MIN_ELEMENTS} values or more: nothing to quantise`);
  yield { done, total };
  graph.node = nodes;
  graph.initializer = [...graph.initializer!.filter((t) => !drop.has(t.name!)), ...newInits];
  // a graph input that shadows a dropped initializer (older exporters list weights as inputs) goes too
  graph.input = graph.input!.filter((i) => !drop.has(i.name!));
  // The copy is written to another folder without the data files: the external weights it keeps
  // (embeddings, biases, norms) go inside it.
  inlineExternalData(onnxFile, model, graphBytes.length + newInits.reduce((a, t) => a + (t.rawData?.length ?? 0), 0));
  return { bytes: onnx.ModelProto.encode(model).finish(), quantized, kept };
}
