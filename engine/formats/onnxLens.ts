// The logit-lens copy of an ONNX decoder: the residual stream entering each block (and the one
// entering the final norm) become graph outputs, and each of them is also decoded through a copy of
// the model's own final norm and its own output projection. So every row of the lens is computed by
// the model's graph, with its weights, and the last row is the model's logits. The stream is found
// as a chain of Adds from the token embedding (a pre-norm block adds twice: attention, then MLP);
// the final norm and the output projection are whatever lies between the chain's end and the logits
// (GPT-2's one LayerNormalization node, or the Pow / ReduceMean / Sqrt / Div / Mul of an exported
// RMSNorm; a MatMul, or an int8 copy's DynamicQuantizeLinear / MatMulInteger / Cast / Mul).
import * as fs from "node:fs";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { cacheDir } from "./onnxProbe";
import { readOnnxGraph } from "./onnxWeights";
import { declaredType, inferElementTypes } from "./onnxTypes";
import { copyPath, writeGraphCopy } from "./externalData";

export interface LensGraph {
  /** Path of the lens copy to open with the runtime. */
  file: string;
  /** Residual stream outputs, [n_layer + 1]: index 0 is the input embedding plus positions. */
  residualOutputs: string[];
  /** Decoded logits per residual, [n_layer + 1]; the last is the model's own `logits`. */
  lensOutputs: string[];
}

const LENS_VERSION = 3;

/** Builds (or reuses from the cache) the lens copy of `onnxFile`; throws NO_LENS with the reason when the graph has another shape. */
export function prepareLens(onnxFile: string, nLayer: number): LensGraph {
  // External data checked and keyed as for the probe copy (externalData.ts); its copy gets a folder of its own.
  const { model, refs, key: sha256 } = readOnnxGraph(onnxFile);
  const file = copyPath(cacheDir(), `lens-${sha256.slice(0, 32)}-v${LENS_VERSION}`, refs);
  const graph = model.graph!;
  const producers = new Map<string, onnx.INodeProto>();
  for (const n of graph.node!) for (const o of n.output ?? []) producers.set(o, n);
  const why = (reason: string) => new EngineError("NO_LENS", `${onnxFile}: the logit lens needs a pre-norm decoder whose logits are MatMul(norm(x), W) over a residual stream of Adds; ${reason}`);

  if (!producers.has("logits")) throw why("no node computes logits");
  const { residuals: chain, consumers } = residualChain(graph, why);
  // Pre-norm blocks add twice to the stream (attention, then MLP); GPT-2's position embedding adds once before them.
  if (chain.length < 2 * nLayer + 1) throw why(`the residual stream from the token embedding has ${chain.length - 1} Adds, fewer than the ${2 * nLayer} of ${nLayer} pre-norm blocks`);
  const last = chain.length - 1;
  const residualOutputs = Array.from({ length: nLayer + 1 }, (_, i) => chain[last - 2 * (nLayer - i)]);
  // The final norm and the head: every node on a path from the last residual to the logits (one
  // LayerNormalization for GPT-2; Pow, ReduceMean, Add, Sqrt, Div, Mul ... for an exported RMSNorm;
  // then the projection, a MatMul or an int8 copy's quantised one).
  const head = between(chain[last], "logits", graph, producers, consumers);
  if (head.length < 2 || head.length > 40) throw why(`${head.length} nodes lie between the last residual and the logits, not a norm and an output projection`);
  const lensOutputs = residualOutputs.map((_, i) => (i === nLayer ? "logits" : `seqlens_lens/${i}/logits`));

  if (!fs.existsSync(file)) {
    for (let i = 0; i < nLayer; i++) {
      const renamed = new Map<string, string>([[chain[last], residualOutputs[i]]]);
      for (const n of head) {
        const outputs = n.output!.map((o) => (o === "" ? "" : `seqlens_lens/${i}/${o}`));
        n.output!.forEach((o, k) => renamed.set(o, outputs[k]));
        graph.node!.push(onnx.NodeProto.create({ ...n, name: `seqlens_lens/${i}/${n.name ?? n.opType}`, input: n.input!.map((x) => renamed.get(x) ?? x), output: outputs }));
      }
    }
    const existing = new Set(graph.output!.map((o) => o.name));
    // The copied nodes read and write what the originals do (a residual of the stream's type, the
    // model's own weights), so each output is of the type the graph computes in: float32, or float16
    // in a float16 export. One the graph does not tell is FLOAT beside float32 logits, else inferred by the runtime.
    const types = inferElementTypes(graph);
    const logitsType = declaredType(graph.output!.find((o) => o.name === "logits"));
    for (const name of [...residualOutputs, ...lensOutputs]) {
      const elemType = types.get(name) ?? (logitsType === onnx.TensorProto.DataType.FLOAT ? logitsType : undefined);
      if (!existing.has(name)) graph.output!.push(onnx.ValueInfoProto.create(elemType ? { name, type: { tensorType: { elemType } } } : { name }));
      existing.add(name);
    }
    writeGraphCopy(file, { onnxFile, refs }, () => onnx.ModelProto.encode(model).finish());
  }
  return { file, residualOutputs, lensOutputs };
}

/**
 * The residual stream: from the token embedding (the Gather of input_ids), each next tensor is the
 * one Add that reads the current one; it ends where no Add reads it (the final norm's input).
 */
export function residualChain(graph: onnx.IGraphProto, why: (r: string) => EngineError): { residuals: string[]; consumers: Map<string, onnx.INodeProto[]> } {
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of graph.node!) for (const x of n.input ?? []) consumers.set(x, [...(consumers.get(x) ?? []), n]);
  const embed = (consumers.get("input_ids") ?? []).find((n) => n.opType === "Gather" && n.input![1] === "input_ids");
  if (!embed) throw why("no Gather reads input_ids (no token embedding found)");
  const residuals = [embed.output![0]];
  for (;;) {
    const adds = (consumers.get(residuals[residuals.length - 1]) ?? []).filter((n) => n.opType === "Add");
    if (adds.length === 0) break;
    if (adds.length > 1) throw why(`the residual stream branches (${adds.length} Adds read ${residuals[residuals.length - 1]})`);
    residuals.push(adds[0].output![0]);
    if (residuals.length > 100_000) throw why("the residual stream does not end");
  }
  return { residuals, consumers };
}

/** The nodes on a path from tensor `from` to tensor `to`, in graph order. */
export function between(from: string, to: string, graph: onnx.IGraphProto, producers: Map<string, onnx.INodeProto>, consumers: Map<string, onnx.INodeProto[]>): onnx.INodeProto[] {
  const downstream = new Set<onnx.INodeProto>();
  const queue = [...(consumers.get(from) ?? [])];
  while (queue.length > 0 && downstream.size < 10_000) {
    const n = queue.pop()!;
    if (downstream.has(n)) continue;
    downstream.add(n);
    for (const o of n.output ?? []) if (o !== to) queue.push(...(consumers.get(o) ?? []));
  }
  const upstream = new Set<onnx.INodeProto>();
  const back = [producers.get(to)].filter((n): n is onnx.INodeProto => n !== undefined);
  while (back.length > 0) {
    const n = back.pop()!;
    if (upstream.has(n) || !downstream.has(n)) continue;
    upstream.add(n);
    for (const x of n.input ?? []) if (x !== from && producers.has(x)) back.push(producers.get(x)!);
  }
  return graph.node!.filter((n) => upstream.has(n));
}
