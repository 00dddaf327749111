// Attention inside an If node's branches, as in optimum's merged decoders (decoder_model_merged.onnx:
// an If on use_cache_branch whose else branch is the decoder without a past and whose then branch
// the decoder with one). The probe copy (onnxProbe.ts) makes each branch output its own attention
// Softmax outputs, in node (layer) order, after its other outputs, and the If node and the graph
// output them too. Their names are the else branch's (the no-past pass, the one that sees the whole
// sequence); the then branch gives its own probabilities in the same places, or empty tensors where
// it has fewer attention Softmax nodes (an If's branches must have as many outputs).
import { onnx } from "onnx-proto";

/** The Softmax outputs of `graph` that weigh values: the left operand of a MatMul, directly or through casts. */
export function attentionSoftmaxes(graph: onnx.IGraphProto): string[] {
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const feedsValues = (t: string, depth = 0): boolean =>
    (consumers.get(t) ?? []).some((c) => (c.opType === "MatMul" && c.input![0] === t) || (depth < 3 && (c.opType === "Cast" || c.opType === "Identity" || c.opType === "Dropout") && feedsValues(c.output![0], depth + 1)));
  return (graph.node ?? []).filter((n) => n.opType === "Softmax" && feedsValues(n.output![0])).map((n) => n.output![0]);
}

export interface BranchAttention {
  /** The attention outputs the If nodes add (the else branches' Softmax outputs), in order. */
  outputs: string[];
  /** Adds the outputs to the branches and the If nodes (not to the graph: the caller does). */
  apply(): void;
}

export const branchOf = (n: onnx.INodeProto, name: string) => n.attribute?.find((a) => a.name === name)?.g ?? undefined;

/** The If nodes of `graph` whose else branch has attention, undefined if none has. */
export function branchAttention(graph: onnx.IGraphProto): BranchAttention | undefined {
  const found: { node: onnx.INodeProto; then: onnx.IGraphProto; else: onnx.IGraphProto; names: string[]; thenNames: string[] }[] = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== "If") continue;
    const thenG = branchOf(node, "then_branch");
    const elseG = branchOf(node, "else_branch");
    if (!thenG || !elseG) continue;
    const names = attentionSoftmaxes(elseG);
    if (names.length > 0) found.push({ node, then: thenG, else: elseG, names, thenNames: attentionSoftmaxes(thenG) });
  }
  if (found.length === 0) return undefined;
  return {
    outputs: found.flatMap((f) => f.names),
    apply() {
      for (const f of found) {
        // declared without a type: the runtime infers it (float32, or float16 in a float16 export)
        for (const name of f.names) f.else.output!.push(onnx.ValueInfoProto.create({ name }));
        f.names.forEach((name, i) => {
          let out = f.thenNames[i];
          if (out === undefined) {
            // an empty float32 [1, 0, 0, 0] in place of an attention the then branch does not have
            out = `${name}.seqlens_empty`;
            f.then.node!.push(
              onnx.NodeProto.create({
                name: out,
                opType: "Constant",
                output: [out],
                attribute: [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: { dataType: onnx.TensorProto.DataType.FLOAT, dims: [1, 0, 0, 0] } }],
              }),
            );
          }
          f.then.output!.push(onnx.ValueInfoProto.create({ name: out }));
        });
        f.node.output = [...(f.node.output ?? []), ...f.names];
      }
    },
  };
}
