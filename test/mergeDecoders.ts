// Test-only: merges an optimum seq2seq decoder pair (decoder_model.onnx, decoder_with_past_model.onnx)
// into one decoder_model_merged.onnx the way optimum's merge_decoders does (strict=False, as its
// seq2seq exports call it): an If on a bool input use_cache_branch [1] whose then branch is the
// with-past decoder and whose else branch is the no-past one; the initializers that are real tensors
// deduplicated by content into the top level (renamed <name>_merged_<n>), the small ones (scalars,
// one-dimensional int32/int64) left in their branch; the graph's inputs the union of both (the
// no-past decoder's first); its outputs the no-past decoder's, which the with-past branch gives in
// the same order, an output it lacks (the encoder's cached keys and values) as an empty constant;
// opsets and IR version those of the inputs.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { onnx } from "onnx-proto";

const { DataType } = onnx.TensorProto;

/** The initializer's contents as a key: its type, dims and data. */
function contentKey(t: onnx.ITensorProto): string {
  const h = crypto.createHash("sha256");
  h.update(`${t.dataType}|${(t.dims ?? []).map(String).join(",")}|`);
  if (t.rawData && t.rawData.length > 0) h.update(t.rawData);
  else {
    const values = [t.int32Data, t.int64Data, t.uint64Data, t.floatData, t.doubleData, t.stringData].find((v) => v && v.length > 0) ?? [];
    h.update(JSON.stringify(values.map(String)));
  }
  return h.digest("hex");
}

/** Deduplicated as optimum does: more than one dimension, or one that is not int32/int64. */
const shared = (t: onnx.ITensorProto) => (t.dims ?? []).length > 1 || ((t.dims ?? []).length === 1 && t.dataType !== DataType.INT32 && t.dataType !== DataType.INT64);

/** A symbolic dimension becomes 0 (the first) or 1 (the others), as optimum's empty constant outputs. */
function dummyDims(v: onnx.IValueInfoProto): number[] {
  let first = true;
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => {
    if (d.dimParam) {
      const n = first ? 0 : 1;
      first = false;
      return n;
    }
    return Number(d.dimValue ?? 0);
  });
}

export function mergeDecoders(decoderFile: string, withPastFile: string, outFile: string): void {
  const noPast = onnx.ModelProto.decode(fs.readFileSync(decoderFile));
  const withPast = onnx.ModelProto.decode(fs.readFileSync(withPastFile));
  const opset = (m: onnx.ModelProto) => Number(m.opsetImport.find((o) => !o.domain)?.version ?? 0);
  if (opset(noPast) !== opset(withPast)) throw new Error(`opsets differ: ${opset(noPast)} and ${opset(withPast)}`);
  const g1 = noPast.graph as onnx.GraphProto;
  const g2 = withPast.graph as onnx.GraphProto;

  // outputs: the with-past decoder's in the no-past decoder's order, empty constants for the missing
  const has2 = new Map(g2.output.map((o) => [o.name!, o]));
  for (const o of g2.output) if (!g1.output.some((x) => x.name === o.name)) throw new Error(`${withPastFile} has an output ${o.name} that ${decoderFile} lacks`);
  g2.output = g1.output.map((o) => {
    if (has2.has(o.name!)) return onnx.ValueInfoProto.create({ name: o.name, type: o.type });
    const dims = dummyDims(o);
    if (!dims.includes(0)) throw new Error(`${o.name}: a static shape, no empty constant possible`);
    g2.node.push(
      onnx.NodeProto.create({
        name: `Constant_${g2.node.length + 1}`,
        opType: "Constant",
        output: [o.name!],
        attribute: [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: { name: "const_tensor", dataType: o.type!.tensorType!.elemType!, dims } }],
      }),
    );
    return onnx.ValueInfoProto.create({ name: o.name, type: o.type });
  });

  // initializers shared by content across both decoders, into the top level
  const groups = new Map<string, { name: string; model: number }[]>();
  [g1, g2].forEach((g, model) => {
    for (const t of g.initializer) {
      if (!shared(t)) continue;
      const k = contentKey(t);
      groups.set(k, [...(groups.get(k) ?? []), { name: t.name!, model }]);
    }
  });
  const rename = [new Map<string, string>(), new Map<string, string>()];
  const used = new Map<string, number>();
  for (const members of groups.values()) {
    const common = members[0].name;
    const n = used.has(common) ? used.get(common)! + 1 : 0;
    used.set(common, n);
    for (const m of members) rename[m.model].set(m.name, `${common}_merged_${n}`);
  }
  const top: onnx.ITensorProto[] = [];
  const placed = new Set<string>();
  [g1, g2].forEach((g, model) => {
    for (const node of g.node) node.input = (node.input ?? []).map((i) => rename[model].get(i) ?? i);
    for (const t of g.initializer) {
      const to = rename[model].get(t.name!);
      if (to === undefined || placed.has(to)) continue;
      placed.add(to);
      top.push({ ...t, name: to });
    }
  });

  const branch = (g: onnx.IGraphProto, name: string) => onnx.GraphProto.create({ name, node: g.node, output: g.output, initializer: (g.initializer ?? []).filter((t) => !shared(t)) });
  const inputs: onnx.IValueInfoProto[] = [];
  for (const i of [...g1.input, ...g2.input]) if (!inputs.some((x) => x.name === i.name)) inputs.push(i);
  const useCache = onnx.ValueInfoProto.create({ name: "use_cache_branch", type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [{ dimValue: 1 }] } } } });
  const ifNode = onnx.NodeProto.create({
    name: "optimum::if",
    opType: "If",
    input: ["use_cache_branch"],
    output: g1.output.map((o) => o.name!),
    attribute: [
      { name: "then_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(g2, "with_past") },
      { name: "else_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(g1, "no_past") },
    ],
  });
  const opsets: onnx.IOperatorSetIdProto[] = [];
  for (const o of [...noPast.opsetImport, ...withPast.opsetImport]) if (!opsets.some((x) => (x.domain ?? "") === (o.domain ?? ""))) opsets.push(o);
  const merged = onnx.ModelProto.create({
    irVersion: noPast.irVersion,
    producerName: "seqlens-test",
    opsetImport: opsets,
    graph: { name: "merged", node: [ifNode], input: [...inputs, useCache], output: g1.output, initializer: top },
  });
  fs.writeFileSync(outFile, onnx.ModelProto.encode(merged).finish());
}
