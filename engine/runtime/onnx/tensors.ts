// Float tensors of either width a graph computes in: float32, or float16 (optimum's and
// transformers.js's model_fp16.onnx). onnxruntime-node takes a float16 tensor's data as its bits (a
// Uint16Array) and hands float16 outputs back as a Uint16Array, or as a Float16Array where the
// platform has one; the engine reads every output as float32.
import type * as ortTypes from "onnxruntime-node";
import { onnx } from "onnx-proto";
import { EngineError } from "../../../protocol/errors";
import { float16ToFloat32 } from "../../formats/halfFloats";
import { ort } from "./session";

export type FloatTensorType = "float32" | "float16";

const DT = onnx.TensorProto.DataType;

/** The runtime's name of an ONNX float element type (FLOAT when the graph does not say); UNSUPPORTED for another. */
export function floatTensorType(elemType: number | undefined, what: string): FloatTensorType {
  if (elemType === undefined || elemType === DT.FLOAT) return "float32";
  if (elemType === DT.FLOAT16) return "float16";
  const name = DT[elemType] ?? `element type ${elemType}`;
  throw new EngineError("UNSUPPORTED", `${what} is ${name}: onnxruntime-node feeds and reads float32 and float16 tensors only`);
}

/** A tensor of `dims` holding no values (one dimension 0): an empty KV cache. */
export function emptyFloatTensor(type: FloatTensorType, dims: number[]): ortTypes.Tensor {
  const T = ort().Tensor;
  return type === "float16" ? new T("float16", new Uint16Array(0), dims) : new T("float32", new Float32Array(0), dims);
}

/** A float tensor's values as float32: float32 data as it is, float16 converted (exactly). */
export function floatValues(t: ortTypes.Tensor, what: string): Float32Array {
  if (t.type === "float32") return t.data as Float32Array;
  if (t.type === "float16") {
    const data = t.data as unknown;
    if (data instanceof Uint16Array) return float16ToFloat32(data);
    // a Float16Array: its elements are numbers
    return Float32Array.from(data as ArrayLike<number>);
  }
  throw new EngineError("MODEL_INVALID", `${what} has type ${t.type}, not float32 or float16`);
}
