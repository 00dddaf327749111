// The logit-lens copy of an ONNX decoder: the residual stream entering each block (and the one
// entering the final norm) become graph outputs, and each of them is also decoded through a copy of
// the model's own final norm and its own output projection. So every row of the lens is computed by
// the model's graph, with its weights, and the last row is the model's logits. The stream is found
// as a chain of Adds from the token embedding (a pre-norm block adds twice: attention, then MLP);
// the final norm is whatever lies between the chain's end and the output projection (GPT-2's one
// LayerNormalization node, or the Pow / ReduceMean / Sqrt / Div / Mul of an exported RMSNorm).
import * as fs from "node:fs";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { cacheDir } from "./onnxProbe";
import { readOnnxGraph } from "./onnxWeights";
import { copyPath, writeGraphCopy } from "./externalData";

export interface LensGraph {
  /** Path of the lens copy to open with the runtime. */
  file: string;
  /** Residual stream outputs, [n_layer + 1]: index 0 is the input embedding plus positions. */
  residualOutputs: string[];
  /** Decoded logits per residual, [n_layer + 1]; the last is the model's own `logits`. */
  lensOutputs: string[];
}

const LENS_VERSION = 2;

/** Builds (or reuses from the cache) the lens copy of `onnxFile`; throws NO_LENS with the reason when the graph has another shape. */
export function prepareLens(onnxFile: string, nLayer: number): LensGraph {
  // External data checked and keyed as for the probe copy (externalData.ts); its copy gets a folder of its own.
  const { model, refs, key: sha256 } = readOnnxGraph(onnxFile);
  const file = copyPath(cacheDir(), `lens-${sha256.slice(0, 32)}-v${LENS_VERSION}`, refs);
  const graph = model.graph!;
  const producers = new Map<string, onnx.INodeProto>();
  for (const n of graph.node!) for (const o of n.output ?? []) producers.set(o, n);
  const why = (reason: string) => new EngineError("NO_LENS", `${onnxFile}: the logit lens needs a pre-norm decoder whose logits are MatMul(norm(x), W) over a residual stream of Adds; ${reason}`);

  const lm = producers.get("logits");
  if (!lm || lm.opType !== "MatMul") throw why(`logits come from ${lm ? `a ${lm.opType} node` : "no node"}`);
  const { residuals: chain, consumers } = residualChain(graph, why);
  // Pre-norm blocks add twice to the stream (attention, then MLP); GPT-2's position embedding adds once before them.
  if (chain.length < 2 * nLayer + 1) throw why(`the residual stream from the token embedding has ${chain.length - 1} Adds, fewer than the ${2 * nLayer} of ${nLayer} pre-norm blocks`);
  const last = chain.length - 1;
  const residualOutputs = Array.from({ length: nLayer + 1 }, (_, i) => chain[last - 2 * (nLayer - i)]);
  // The final norm: every node on a path from the last residual to the output projection's input
  // (one LayerNormalization for GPT-2; Pow, ReduceMean, Add, Sqrt, Div, Mul ... for an exported RMSNorm).
  const finalNorm = between(chain[last], lm.input![0], graph, producers, consumers);
  if (finalNorm.length === 0 || finalNorm.length > 32) throw why(`${finalNorm.length === 0 ? "no" : `${finalNorm.length}`} nodes lie between the last residual and the output projection, not a norm`);
  const lensOutputs = residualOutputs.map((_, i) => (i === nLayer ? "logits" : `seqlens_lens/${i}/logits`));

  if (!fs.existsSync(file)) {
    for (let i = 0; i < nLayer; i++) {
      const renamed = new Map<string, string>([[chain[last], residualOutputs[i]]]);
      for (const n of finalNorm) {
        const outputs = n.output!.map((o) => (o === "" ? "" : `seqlens_lens/${i}/${o}`));
        n.output!.forEach((o, k) => renamed.set(o, outputs[k]));
        graph.node!.push(onnx.NodeProto.create({ ...n, name: `seqlens_lens/${i}/${n.name ?? n.opType}`, input: n.input!.map((x) => renamed.get(x) ?? x), output: outputs }));
      }
      graph.node!.push(onnx.NodeProto.create({ opType: "MatMul", name: `seqlens_lens/${i}/MatMul`, input: [renamed.get(lm.input![0])!, lm.input![1]], output: [lensOutputs[i]] }));
    }
    const existing = new Set(graph.output!.map((o) => o.name));
    for (const name of [...residualOutputs, ...lensOutputs]) {
      if (!existing.has(name)) graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
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
function residualChain(graph: onnx.IGraphProto, why: (r: string) => EngineError): { residuals: string[]; consumers: Map<string, onnx.INodeProto[]> } {
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
function between(from: string, to: string, graph: onnx.IGraphProto, producers: Map<string, onnx.INodeProto>, consumers: Map<string, onnx.INodeProto[]>): onnx.INodeProto[] {
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
