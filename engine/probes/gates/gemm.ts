// The one matrix product the gate probe needs, out = a·b with a [rows, k] and b [k, n], row-major:
// in JavaScript for small products (no session to open), through onnxruntime's MatMul for large
// ones (a 10,000-step series through a 64-unit LSTM is ~0.3 GFLOP per layer).
import { GraphBuilder, DataType } from "../../formats/onnxBuilder";
import { ort } from "../../runtime/onnx/session";
import type * as ortTypes from "onnxruntime-common";

export type Gemm = (a: Float32Array, rows: number, k: number, b: Float32Array, n: number) => Promise<Float32Array>;

/** a·b in JavaScript, each output row accumulated in float64. */
export function gemmJs(a: Float32Array, rows: number, k: number, b: Float32Array, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  const acc = new Float64Array(n);
  for (let t = 0; t < rows; t++) {
    acc.fill(0);
    for (let kk = 0; kk < k; kk++) {
      const v = a[t * k + kk];
      if (v === 0) continue;
      const bo = kk * n;
      for (let j = 0; j < n; j++) acc[j] += v * b[bo + j];
    }
    out.set(acc, t * n);
  }
  return out;
}

let matmul: Promise<ortTypes.InferenceSession> | undefined;

function matmulSession(): Promise<ortTypes.InferenceSession> {
  matmul ??= (() => {
    const g = new GraphBuilder();
    const a = g.input("a", DataType.FLOAT, ["rows", "k"]);
    const b = g.input("b", DataType.FLOAT, ["k", "n"]);
    g.rename(g.op("MatMul", [a, b], "matmul"), "out");
    g.output("out", DataType.FLOAT, ["rows", "n"]);
    const bytes = g.model("seqlens_gemm", 17, "seqlens");
    return ort().InferenceSession.create(bytes, { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
  })();
  return matmul;
}

/** a·b through onnxruntime (CPU). */
export async function gemmOrt(a: Float32Array, rows: number, k: number, b: Float32Array, n: number): Promise<Float32Array> {
  const s = await matmulSession();
  const T = ort().Tensor;
  const r = await s.run({ a: new T("float32", a, [rows, k]), b: new T("float32", b, [k, n]) });
  return r.out.data as Float32Array;
}

/** JavaScript below ~0.5 M multiply-adds, onnxruntime above. */
export const gemm: Gemm = async (a, rows, k, b, n) => (rows * k * n < 500_000 ? gemmJs(a, rows, k, b, n) : gemmOrt(a, rows, k, b, n));
