// Float initializers of an ONNX graph, by name: the weights a second runtime (the TensorFlow.js
// reference) loads to check the ONNX graph's numbers. Weights kept as external data are read from
// their files when asked (externalData.ts).
import * as fs from "node:fs";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { externalFloats, externalRef, externalRefs, graphKey, isExternal, OnnxGraphFile, readExternalBytes } from "./externalData";
import { bfloat16ToFloat32, float16ToFloat32, uint16Words } from "./halfFloats";

export function decodeOnnx(file: string, bytes: Uint8Array): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new EngineError("MODEL_INVALID", `${file} is not a valid ONNX model (corrupt or truncated: ${(e as Error).message})`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) throw new EngineError("MODEL_INVALID", `${file} holds no ONNX graph (corrupt or not an ONNX model)`);
  return model;
}

/**
 * An ONNX graph file read and decoded, its external data checked (externalData.ts), and the key
 * that names it in caches.
 */
export function readOnnxGraph(file: string): OnnxGraphFile & { model: onnx.ModelProto } {
  const bytes = fs.readFileSync(file);
  const model = decodeOnnx(file, bytes);
  const refs = externalRefs(file, model);
  return { bytes, model, refs, key: graphKey(bytes, refs) };
}

/**
 * A FLOAT tensor's values, or a FLOAT16 / BFLOAT16 one's as float32 (exactly). Stored as external
 * data, they are read from their file beside `onnxFile` (the graph the tensor belongs to) now, and
 * only they; without `onnxFile`, undefined.
 */
export function initializerFloats(t: onnx.ITensorProto, onnxFile?: string): Float32Array | undefined {
  if (t.dataType === onnx.TensorProto.DataType.FLOAT16 || t.dataType === onnx.TensorProto.DataType.BFLOAT16) return halfInitializerFloats(t, onnxFile);
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) return undefined;
  if (isExternal(t)) return onnxFile === undefined ? undefined : externalFloats(onnxFile, t);
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData);
  return undefined;
}

/** A FLOAT16 or BFLOAT16 tensor's values: its bytes (raw or external), or int32_data with one value's bits in each. */
function halfInitializerFloats(t: onnx.ITensorProto, onnxFile?: string): Float32Array | undefined {
  let bits: Uint16Array | undefined;
  if (isExternal(t)) {
    if (onnxFile === undefined) return undefined;
    bits = uint16Words(readExternalBytes(externalRef(onnxFile, t)));
  } else if (t.rawData && t.rawData.length > 0) bits = uint16Words(t.rawData);
  else if (t.int32Data && t.int32Data.length > 0) bits = Uint16Array.from(t.int32Data, (v) => v & 0xffff);
  if (!bits) return undefined;
  return t.dataType === onnx.TensorProto.DataType.BFLOAT16 ? bfloat16ToFloat32(bits) : float16ToFloat32(bits);
}

export function readInitializers(file: string): Map<string, { shape: number[]; data: Float32Array }> {
  const model = decodeOnnx(file, fs.readFileSync(file));
  externalRefs(file, model); // every location checked before any weight is read
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of model.graph!.initializer ?? []) {
    const data = initializerFloats(t, file);
    if (data) out.set(t.name!, { shape: (t.dims ?? []).map(Number), data });
  }
  return out;
}
