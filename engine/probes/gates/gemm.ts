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

let affine2: Promise<ortTypes.InferenceSession> | undefined;

/** z = x·W + h·R + b, one onnxruntime run: the pre-activations of every gate at every step. */
export async function preActivations(x: Float32Array, T: number, I: number, W: Float32Array, h: Float32Array, H: number, R: Float32Array, b: Float32Array, N: number): Promise<Float32Array> {
  if (T * (I + H) * N < 500_000) {
    const z = gemmJs(x, T, I, W, N);
    const hr = gemmJs(h, T, H, R, N);
    for (let t = 0; t < T; t++) for (let k = 0; k < N; k++) z[t * N + k] += hr[t * N + k] + b[k];
    return z;
  }
  affine2 ??= (() => {
    const g = new GraphBuilder();
    const xi = g.input("x", DataType.FLOAT, ["T", "I"]);
    const wi = g.input("W", DataType.FLOAT, ["I", "N"]);
    const hi = g.input("h", DataType.FLOAT, ["T", "H"]);
    const ri = g.input("R", DataType.FLOAT, ["H", "N"]);
    const bi = g.input("b", DataType.FLOAT, ["N"]);
    const sum = g.op("Add", [g.op("MatMul", [xi, wi], "xw"), g.op("MatMul", [hi, ri], "hr")], "sum");
    g.rename(g.op("Add", [sum, bi], "bias"), "z");
    g.output("z", DataType.FLOAT, ["T", "N"]);
    return ort().InferenceSession.create(g.model("seqlens_preactivations", 17, "seqlens"), { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
  })();
  const s = await affine2;
  const Tn = ort().Tensor;
  const r = await s.run({ x: new Tn("float32", x, [T, I]), W: new Tn("float32", W, [I, N]), h: new Tn("float32", h, [T, H]), R: new Tn("float32", R, [H, N]), b: new Tn("float32", b, [N]) });
  return r.z.data as Float32Array;
}
