// 16-bit floats read as float32 (weights of a float16 or bfloat16 graph, onnxruntime's float16
// outputs), the element types a copy of a graph declares for the tensors it makes outputs, and the
// float16 tensors the engine feeds (an empty KV cache).
import { test } from "node:test";
import assert from "node:assert/strict";
import type * as ortTypes from "onnxruntime-node";
import { onnx } from "onnx-proto";
import { bfloat16ToFloat32, float16ToFloat32, uint16Words } from "../../engine/formats/halfFloats";
import { inferElementTypes } from "../../engine/formats/onnxTypes";
import { initializerFloats } from "../../engine/formats/onnxWeights";
import { emptyFloatTensor, floatTensorType, floatValues } from "../../engine/runtime/onnx/tensors";
import { ort } from "../../engine/runtime/onnx/session";
import { EngineError } from "../../protocol/errors";

const DT = onnx.TensorProto.DataType;

test("float16 and bfloat16 bits to float32: signs, the largest, subnormals, infinities, NaN", () => {
  const f16 = float16ToFloat32(Uint16Array.of(0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x3555, 0x7c00, 0xfc00, 0x7e00));
  assert.deepEqual([...f16.subarray(0, 10)], [0, -0, 1, -2, 65504, 2 ** -24, 2 ** -14, 0.333251953125, Infinity, -Infinity]);
  assert.ok(Number.isNaN(f16[10]));
  const bf16 = bfloat16ToFloat32(Uint16Array.of(0x3f80, 0xc000, 0x7f80, 0x3eab));
  assert.deepEqual([...bf16], [1, -2, Infinity, 0.333984375]);
  // bytes at an odd offset are copied before being read as 16-bit words
  const bytes = new Uint8Array([0xff, 0x00, 0x3c, 0x00, 0xc0]);
  assert.deepEqual([...uint16Words(bytes.subarray(1))], [0x3c00, 0xc000]);
});

test("initializerFloats: FLOAT16 raw data and int32_data, BFLOAT16 raw data, as float32", () => {
  const raw16 = new Uint8Array(Uint16Array.of(0x3c00, 0xb800, 0x4200).buffer);
  assert.deepEqual([...initializerFloats({ name: "a", dims: [3], dataType: DT.FLOAT16, rawData: raw16 })!], [1, -0.5, 3]);
  assert.deepEqual([...initializerFloats({ name: "b", dims: [2], dataType: DT.FLOAT16, int32Data: [0x3c00, 0x4000] })!], [1, 2]);
  const rawBf = new Uint8Array(Uint16Array.of(0x3f80, 0x4040).buffer);
  assert.deepEqual([...initializerFloats({ name: "c", dims: [2], dataType: DT.BFLOAT16, rawData: rawBf })!], [1, 3]);
  assert.equal(initializerFloats({ name: "d", dims: [1], dataType: DT.INT64, int64Data: [1] }), undefined);
});

test("element types through a graph: declared, Cast, Constant, shapes, comparisons, Where, the first input", () => {
  const node = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto => ({ opType, input, output, attribute });
  const graph: onnx.IGraphProto = {
    input: [{ name: "x", type: { tensorType: { elemType: DT.FLOAT16 } } }],
    initializer: [{ name: "w", dims: [2, 2], dataType: DT.FLOAT16 }],
    node: [
      node("Shape", ["x"], ["shape"]),
      node("Cast", ["shape"], ["shapeF"], [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: DT.FLOAT }]),
      node("Constant", [], ["zero"], [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims: [], dataType: DT.FLOAT16 } }]),
      node("Constant", [], ["eps"], [{ name: "value_float", type: onnx.AttributeProto.AttributeType.FLOAT, f: 1e-5 }]),
      node("Equal", ["x", "zero"], ["isZero"]),
      node("Where", ["isZero", "zero", "x"], ["masked"]),
      node("MatMul", ["masked", "w"], ["y"]),
      node("LayerNormalization", ["y", "w", "w"], ["normed", "mean"]),
      node("ConstantOfShape", ["shape"], ["zeros"]),
      node("Add", ["unknown", "eps"], ["sum"]),
    ],
  };
  const t = inferElementTypes(graph);
  const want = { shape: DT.INT64, shapeF: DT.FLOAT, zero: DT.FLOAT16, eps: DT.FLOAT, isZero: DT.BOOL, masked: DT.FLOAT16, y: DT.FLOAT16, normed: DT.FLOAT16, mean: DT.FLOAT, zeros: DT.FLOAT, sum: DT.FLOAT };
  for (const [name, type] of Object.entries(want)) assert.equal(t.get(name), type, name);
});

test("runtime tensors: an empty float16 cache, float16 outputs as float32 (bits or a Float16Array), other types refused", () => {
  assert.equal(floatTensorType(undefined, "x"), "float32");
  assert.equal(floatTensorType(DT.FLOAT16, "x"), "float16");
  assert.throws(() => floatTensorType(DT.BFLOAT16, "the KV cache"), (e: EngineError) => e.code === "UNSUPPORTED" && /the KV cache is BFLOAT16/.test(e.message));
  const empty = emptyFloatTensor("float16", [1, 2, 0, 4]);
  assert.equal(empty.type, "float16");
  assert.deepEqual(empty.dims, [1, 2, 0, 4]);
  assert.equal(empty.size, 0);
  const T = ort().Tensor;
  const half = new T("float16", Uint16Array.of(0x3c00, 0xc100, 0x7bff), [3]);
  assert.deepEqual([...floatValues(half, "h")], [1, -2.5, 65504]);
  const f32 = new T("float32", Float32Array.of(1, 2), [2]);
  assert.equal(floatValues(f32, "f"), f32.data);
  // where the platform has Float16Array, onnxruntime hands its values as numbers
  const numbers = { type: "float16", data: Float64Array.of(0.5, -3), dims: [2] } as unknown as ortTypes.Tensor;
  assert.deepEqual([...floatValues(numbers, "n")], [0.5, -3]);
  assert.throws(() => floatValues(new T("int64", BigInt64Array.of(1n), [1]), "ids"), (e: EngineError) => e.code === "MODEL_INVALID" && /ids has type int64/.test(e.message));
});
