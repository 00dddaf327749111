// A small builder for ONNX graphs on top of the generated protobuf types (onnx-proto): named
// initializers, nodes with attributes, typed inputs and outputs with symbolic dimensions.
import { onnx } from "onnx-proto";

export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { strings: string[] };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;
const INT32 = onnx.TensorProto.DataType.INT32;
export const DataType = { FLOAT, INT64, BOOL, INT32 } as const;

/** An operator set the model imports besides the default domain's, e.g. { domain: "com.microsoft", version: 1 }. */
export interface OpsetImport {
  domain: string;
  version: number;
}

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") return { name, type: T.INT, i: v };
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  if ("strings" in v) return { name, type: T.STRINGS, strings: v.strings.map((x) => new TextEncoder().encode(x)) };
  return { name, type: T.FLOATS, floats: v.floats };
}

export class GraphBuilder {
  private nodes: onnx.INodeProto[] = [];
  private initializers: onnx.ITensorProto[] = [];
  private inputs: onnx.IValueInfoProto[] = [];
  private outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 initializer stored as little-endian raw bytes. */
  weight(name: string, dims: number[], data: Float32Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`initializer ${name}: dims [${dims}] need ${n} values, got ${data.length}`);
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: bytes });
    return name;
  }

  int64s(name: string, values: number[], dims: number[] = [values.length]): string {
    this.initializers.push({ name, dims, dataType: INT64, int64Data: values });
    return name;
  }

  int32s(name: string, values: number[], dims: number[] = [values.length]): string {
    this.initializers.push({ name, dims, dataType: INT32, int32Data: values });
    return name;
  }

  floatScalar(name: string, value: number): string {
    this.initializers.push({ name, dims: [], dataType: FLOAT, floatData: [value] });
    return name;
  }

  /**
   * Adds a node; returns its output names (`outputs` of them, named `${name}_output_${k}`). `domain`:
   * the operator's domain when it is not the default one (e.g. "com.microsoft"; the model must import it).
   */
  node(op: string, inputs: string[], name: string, attrs: Record<string, AttrValue> = {}, outputs = 1, domain?: string): string[] {
    const outs = Array.from({ length: outputs }, (_, k) => `${name}_output_${k}`);
    this.nodes.push({
      opType: op,
      ...(domain ? { domain } : {}),
      name,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** One-output node. */
  op(op: string, inputs: string[], name: string, attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, name, attrs)[0];
  }

  /** Renames the output of the last node that produced `from`, so it can be a graph output name. */
  rename(from: string, to: string): string {
    for (const n of this.nodes) n.output = n.output!.map((o) => (o === from ? to : o));
    for (const n of this.nodes) n.input = n.input!.map((i) => (i === from ? to : i));
    return to;
  }

  /** Drops the initializers no node reads and no graph output names (constants a variant of a graph did not use). */
  dropUnusedInitializers(): void {
    const used = new Set([...this.nodes.flatMap((n) => n.input ?? []), ...this.outputs.map((o) => o.name)]);
    this.initializers = this.initializers.filter((t) => used.has(t.name!));
  }

  /** The nodes and initializers added so far (to splice into another graph). */
  parts(): { nodes: onnx.INodeProto[]; initializers: onnx.ITensorProto[] } {
    return { nodes: this.nodes, initializers: this.initializers };
  }

  unique(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** The serialized model; `extraOpsets`: the domains its nodes use besides the default one. */
  model(graphName: string, opset: number, producer: string, metadata: Record<string, string> = {}, extraOpsets: OpsetImport[] = []): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: producer,
      producerVersion: "1",
      opsetImport: [{ domain: "", version: opset }, ...extraOpsets],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}
