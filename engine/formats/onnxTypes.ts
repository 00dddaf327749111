// The element type of each tensor of an ONNX graph, as far as the graph tells it: what it declares
// (inputs, outputs, value_info, initializers), then each node's outputs in graph order from its
// inputs and attributes (Cast's `to`, a Constant's value, comparisons to bool, shapes to int64, most
// operators the type of their first input). A copy of the graph that makes an inner tensor an output
// declares that output with this type: float32 in most exports, float16 in a float16 one.
import { onnx } from "onnx-proto";

const DT = onnx.TensorProto.DataType;

/** The floating-point element types a model computes in. */
export const FLOAT_TYPES: ReadonlySet<number> = new Set([DT.FLOAT, DT.FLOAT16, DT.BFLOAT16, DT.DOUBLE]);

const BOOL_OPS = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"]);
const INT64_OPS = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"]);
/** Operators whose inputs all share the output's type (the first one known tells it). */
const SAME_TYPE_OPS = new Set(["Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Concat"]);

function attr(n: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

/** The declared element type of a value, if any. */
export function declaredType(v: onnx.IValueInfoProto | undefined): number | undefined {
  const t = v?.type?.tensorType?.elemType;
  return t ? Number(t) : undefined;
}

function constantType(n: onnx.INodeProto): number | undefined {
  for (const a of n.attribute ?? []) {
    if (a.name === "value" && a.t) return a.t.dataType ?? undefined;
    if (a.name === "value_float" || a.name === "value_floats") return DT.FLOAT;
    if (a.name === "value_int" || a.name === "value_ints") return DT.INT64;
    if (a.name === "value_string" || a.name === "value_strings") return DT.STRING;
  }
  return undefined;
}

/** The type of output `i` of `n`, given the types known so far; undefined when not known. */
function outputType(n: onnx.INodeProto, i: number, typeOf: (name: string | undefined) => number | undefined): number | undefined {
  const op = n.opType ?? "";
  const inputs = n.input ?? [];
  const domain = n.domain ?? "";
  if (domain === "" || domain === "ai.onnx") {
    if (op === "Cast") return Number(attr(n, "to")?.i ?? 0) || undefined;
    if (op === "CastLike") return typeOf(inputs[1]);
    if (op === "Constant") return constantType(n);
    if (op === "ConstantOfShape") return attr(n, "value")?.t?.dataType ?? DT.FLOAT;
    if (INT64_OPS.has(op)) return DT.INT64;
    if (BOOL_OPS.has(op)) return DT.BOOL;
    if (op === "TopK") return i === 1 ? DT.INT64 : typeOf(inputs[0]);
    if (op === "Where") return typeOf(inputs[1]) ?? typeOf(inputs[2]);
    if (op === "DequantizeLinear") return typeOf(inputs[1]);
    if (op === "QuantizeLinear") return typeOf(inputs[2]) ?? DT.UINT8;
    if (op === "DynamicQuantizeLinear") return i === 1 ? DT.FLOAT : DT.UINT8;
    if (op === "MatMulInteger" || op === "ConvInteger") return DT.INT32;
    if (op === "EyeLike" || op === "RandomNormalLike" || op === "RandomUniformLike") return Number(attr(n, "dtype")?.i ?? 0) || typeOf(inputs[0]);
    if (op === "RandomNormal" || op === "RandomUniform") return Number(attr(n, "dtype")?.i ?? 0) || DT.FLOAT;
    // the mean and inverse deviation of a layer norm are of its stash_type (float32 unless set)
    if (op === "LayerNormalization" && i > 0) return Number(attr(n, "stash_type")?.i ?? 0) || DT.FLOAT;
    if ((op === "BatchNormalization" && i > 0) || op === "If" || op === "Loop" || op === "Scan" || op === "SequenceAt") return undefined;
    if (SAME_TYPE_OPS.has(op)) return inputs.map(typeOf).find((t) => t !== undefined);
  }
  return typeOf(inputs[0]);
}

/** Every tensor name of `graph` (top level) whose element type is declared or follows from its producer. */
export function inferElementTypes(graph: onnx.IGraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) types.set(t.name, t.dataType);
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const t = declaredType(v);
    if (v.name && t) types.set(v.name, t);
  }
  const typeOf = (name: string | undefined) => (name ? types.get(name) : undefined);
  for (const n of graph.node ?? []) {
    (n.output ?? []).forEach((o, i) => {
      if (!o || types.has(o)) return;
      const t = outputType(n, i, typeOf);
      if (t) types.set(o, t);
    });
  }
  return types;
}
