// A float16 copy of a float32 ONNX decoder, for the tests: the form optimum and transformers.js
// publish as onnx/model_fp16.onnx. Float initializers, the graph's float inputs and outputs
// (past_key_values.*, logits, present.*) and every float tensor in between become float16; Casts to
// float32 are retargeted to float16; float constants (Constant nodes, ConstantOfShape values) are
// written in float16, clamped to its range (a mask's float32 minimum becomes -65504).
//
// As in Hugging Face's own float16 exports, some operators are kept in float32 with Casts around
// them (`float32Ops`): RMSNorm's Pow / ReduceMean / Sqrt, the attention Softmax, and Cos / Sin with
// the float tensors they are computed from (the rotary frequencies, whose products with positions
// float16 would round). Elementwise nodes whose float inputs all come from such nodes or constants
// join them (RMSNorm's Add of epsilon and its Div).
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { f32ToF16Bits } from "../engine/formats/safetensors";
import { inferElementTypes } from "../engine/formats/onnxTypes";
import { decodeOnnx, initializerFloats } from "../engine/formats/onnxWeights";

const DT = onnx.TensorProto.DataType;
const F16_MAX = 65504;
/** Operators that bring the float tensors they are computed from into float32. */
const WITH_SOURCES = new Set(["Cos", "Sin"]);
/** Elementwise operators that join the float32 nodes whose outputs (or constants) are all they read. */
const JOINING = new Set(["Add", "Sub", "Mul", "Div", "Sqrt", "Reciprocal", "Neg"]);

export interface Float16Options {
  /** Operator types computed in float32, with Casts from and to float16 around them. */
  float32Ops?: readonly string[];
  /**
   * Keep initializers of at least 1024 values in this file beside the copy (ONNX external data, as
   * optimum writes model_fp16.onnx_data), each at its offset.
   */
  externalData?: string;
}

/** The float16 tensor of `t`'s float32 values (clamped to float16's range), named as `t`. */
function toFloat16Tensor(t: onnx.ITensorProto): onnx.TensorProto {
  const values = initializerFloats(t);
  if (!values) throw new Error(`float16Copy: cannot read the floats of ${t.name}`);
  const bits = Uint16Array.from(values, (v) => f32ToF16Bits(Math.max(-F16_MAX, Math.min(F16_MAX, v))));
  return onnx.TensorProto.create({ name: t.name, dims: t.dims, dataType: DT.FLOAT16, rawData: new Uint8Array(bits.buffer) });
}

/** Writes the float16 copy of `src` at `dst`; returns how many nodes stayed float32 and how many Casts were added. */
export function float16Copy(src: string, dst: string, opts: Float16Options = {}): { float32Nodes: number; casts: number } {
  const model = decodeOnnx(src, fs.readFileSync(src));
  const graph = model.graph!;
  const nodes = graph.node!;
  const types = inferElementTypes(graph);
  const isFloat = (name: string | undefined | null) => !!name && types.get(name) === DT.FLOAT;
  for (const n of nodes) for (const o of n.output ?? []) if (o && !types.has(o)) throw new Error(`float16Copy: the type of ${o} (${n.opType} ${n.name}) is not known`);

  const producers = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producers.set(o, n);
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const isConstant = (x: string) => initializers.has(x) || producers.get(x)?.opType === "Constant";

  // The float32 nodes: the seeds, the float sources of Cos / Sin, then the elementwise nodes that join them.
  const f32 = new Set<onnx.INodeProto>();
  const seeds = new Set(opts.float32Ops ?? []);
  const up = (n: onnx.INodeProto) => {
    if (f32.has(n)) return;
    f32.add(n);
    for (const x of n.input ?? []) {
      const p = producers.get(x);
      if (p && isFloat(x) && p.opType !== "Constant") up(p);
    }
  };
  for (const n of nodes) {
    if (!seeds.has(n.opType!)) continue;
    if (WITH_SOURCES.has(n.opType!)) up(n);
    else f32.add(n);
  }
  for (let grown = true; grown; ) {
    grown = false;
    for (const n of nodes) {
      if (f32.has(n) || !JOINING.has(n.opType!)) continue;
      const floats = (n.input ?? []).filter(isFloat);
      const fromF32 = floats.filter((x) => producers.has(x) && f32.has(producers.get(x)!));
      if (fromF32.length > 0 && floats.every((x) => fromF32.includes(x) || isConstant(x))) {
        f32.add(n);
        grown = true;
      }
    }
  }
  // constants only float32 nodes read stay float32
  const onlyF32 = (x: string) => (consumers.get(x) ?? []).every((c) => f32.has(c));
  for (const n of nodes) if (n.opType === "Constant" && isFloat(n.output![0]) && onlyF32(n.output![0])) f32.add(n);
  const keptInitializers = new Set([...initializers.keys()].filter((x) => isFloat(x) && onlyF32(x)));

  /** The type a float tensor has in the copy. */
  const typeInCopy = (x: string): number => {
    const p = producers.get(x);
    return (p ? f32.has(p) : keptInitializers.has(x)) ? DT.FLOAT : DT.FLOAT16;
  };

  const out: onnx.INodeProto[] = [];
  const casts = new Map<string, string>();
  const castTo = (x: string, to: number): string => {
    const key = `${x}|${to}`;
    let name = casts.get(key);
    if (!name) {
      name = `${x}/${to === DT.FLOAT ? "fp32" : "fp16"}`;
      out.push(onnx.NodeProto.create({ opType: "Cast", name, input: [x], output: [name], attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: to }] }));
      casts.set(key, name);
    }
    return name;
  };
  for (const n of nodes) {
    const want = f32.has(n) ? DT.FLOAT : DT.FLOAT16;
    n.input = (n.input ?? []).map((x) => (isFloat(x) && typeInCopy(x) !== want ? castTo(x, want) : x));
    if (want === DT.FLOAT16) {
      for (const a of n.attribute ?? []) {
        if (n.opType === "Cast" && a.name === "to" && Number(a.i) === DT.FLOAT) a.i = DT.FLOAT16;
        if ((n.opType === "Constant" || n.opType === "ConstantOfShape") && a.name === "value" && a.t?.dataType === DT.FLOAT) a.t = toFloat16Tensor(a.t);
        if (n.opType === "Constant" && (a.name === "value_float" || a.name === "value_floats")) {
          const scalar = a.name === "value_float";
          const values = scalar ? [a.f ?? 0] : (a.floats ?? []);
          const t = toFloat16Tensor({ dims: scalar ? [] : [values.length], dataType: DT.FLOAT, floatData: values });
          n.attribute = [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t }];
        }
      }
      if (n.opType === "ConstantOfShape" && !(n.attribute ?? []).some((a) => a.name === "value")) {
        n.attribute = [...(n.attribute ?? []), { name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: toFloat16Tensor({ dims: [1], dataType: DT.FLOAT, floatData: [0] }) }];
      }
    }
    out.push(n);
  }
  graph.node = out;
  graph.initializer = (graph.initializer ?? []).map((t) => (t.dataType === DT.FLOAT && !keptInitializers.has(t.name!) ? toFloat16Tensor(t) : t));
  if (opts.externalData) {
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const t of graph.initializer) {
      const bytes = t.rawData;
      if (!bytes || (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1) < 1024) continue;
      chunks.push(bytes);
      t.externalData = [
        { key: "location", value: opts.externalData },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(bytes.length) },
      ];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.rawData = new Uint8Array(0);
      offset += bytes.length;
    }
    fs.writeFileSync(path.join(path.dirname(dst), opts.externalData), Buffer.concat(chunks));
  }
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const tt = v.type?.tensorType;
    if (tt && Number(tt.elemType) === DT.FLOAT) tt.elemType = typeInCopy(v.name!);
  }
  fs.writeFileSync(dst, onnx.ModelProto.encode(model).finish());
  return { float32Nodes: f32.size, casts: casts.size };
}
