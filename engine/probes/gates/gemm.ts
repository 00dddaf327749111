// The one matrix product the gate probe needs, out = a·b with a [rows, k] and b [k, n], row-major:
// in JavaScript for small products (no session to open), through onnxruntime's MatMul for large
// ones (a 10,000-step series through a 64-unit LSTM is ~0.3 GFLOP per layer).
import { GraphBuilder, DataType } from "../../formats/onnxBuilder";
import { ort, physicalCores } from "../../runtime/onnx/session";
import type * as ortTypes from "onnxruntime-common";

/** The probe's small graphs run on the CPU with the engine's thread count. */
const SESSION_OPTIONS = { executionProviders: ["cpu"], graphOptimizationLevel: "all", intraOpNumThreads: physicalCores(), interOpNumThreads: 1 } as const;

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
    return ort().InferenceSession.create(bytes, SESSION_OPTIONS);
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
    return ort().InferenceSession.create(g.model("seqlens_preactivations", 17, "seqlens"), SESSION_OPTIONS);
  })();
  const s = await affine2;
  const Tn = ort().Tensor;
  const r = await s.run({ x: new Tn("float32", x, [T, I]), W: new Tn("float32", W, [I, N]), h: new Tn("float32", h, [T, H]), R: new Tn("float32", R, [H, N]), b: new Tn("float32", b, [N]) });
  return r.z.data as Float32Array;
}

/** An activation as an ONNX operator, when it has one (else the JavaScript loop runs it). */
function activationNode(g: GraphBuilder, kind: { name: string; alpha: number; beta: number } | undefined, input: string, name: string): string | undefined {
  switch (kind?.name) {
    case "sigmoid":
      return g.op("Sigmoid", [input], name);
    case "tanh":
      return g.op("Tanh", [input], name);
    case "hardsigmoid":
      return g.op("HardSigmoid", [input], name, { alpha: { float: kind.alpha }, beta: { float: kind.beta } });
    case "relu":
      return g.op("Relu", [input], name);
    default:
      return undefined;
  }
}

const lstmSessions = new Map<string, Promise<ortTypes.InferenceSession> | null>();

/**
 * The four LSTM gates of every step in one onnxruntime run, when the layer has no peepholes, clip or
 * coupled gates and its activations are ONNX operators: i = f(z_i), f = f(z_f), C̃ = g(z_c),
 * o = f(z_o) with z = x·W + h_prev·R + b. Undefined when it cannot (the JavaScript path runs then).
 */
export async function lstmGatesOrt(
  x: Float32Array, T: number, I: number, W: Float32Array, h: Float32Array, H: number, R: Float32Array, b: Float32Array,
  f: { name: string; alpha: number; beta: number } | undefined, gk: { name: string; alpha: number; beta: number } | undefined,
): Promise<[Float32Array, Float32Array, Float32Array, Float32Array] | undefined> {
  const key = JSON.stringify([f, gk]);
  if (!lstmSessions.has(key)) {
    const g = new GraphBuilder();
    const z = g.op(
      "Add",
      [g.op("Add", [g.op("MatMul", [g.input("x", DataType.FLOAT, ["T", "I"]), g.input("W", DataType.FLOAT, ["I", "N"])], "xw"), g.op("MatMul", [g.input("h", DataType.FLOAT, ["T", "H"]), g.input("R", DataType.FLOAT, ["H", "N"])], "hr")], "sum"), g.input("b", DataType.FLOAT, ["N"])],
      "z",
    );
    const parts = g.node("Split", [z, g.input("split", DataType.INT64, [4])], "split", { axis: 1 }, 4);
    const outs = [activationNode(g, f, parts[0], "i"), activationNode(g, f, parts[1], "f"), activationNode(g, gk, parts[2], "c"), activationNode(g, f, parts[3], "o")];
    if (outs.some((o) => o === undefined)) lstmSessions.set(key, null);
    else {
      ["gate_i", "gate_f", "gate_c", "gate_o"].forEach((n, k) => {
        g.rename(outs[k]!, n);
        g.output(n, DataType.FLOAT, ["T", "H"]);
      });
      lstmSessions.set(key, ort().InferenceSession.create(g.model("seqlens_lstm_gates", 17, "seqlens"), SESSION_OPTIONS));
    }
  }
  const session = await lstmSessions.get(key);
  if (!session) return undefined;
  const N = 4 * H;
  const Tn = ort().Tensor;
  const r = await session.run({
    x: new Tn("float32", x, [T, I]),
    W: new Tn("float32", W, [I, N]),
    h: new Tn("float32", h, [T, H]),
    R: new Tn("float32", R, [H, N]),
    b: new Tn("float32", b, [N]),
    split: new Tn("int64", BigInt64Array.from([H, H, H, H].map(BigInt)), [4]),
  });
  return [r.gate_i.data as Float32Array, r.gate_f.data as Float32Array, r.gate_c.data as Float32Array, r.gate_o.data as Float32Array];
}

let mulTanhSession: Promise<ortTypes.InferenceSession> | undefined;

/** h = o ⊙ tanh(c), element-wise in onnxruntime (the LSTM's output with the usual tanh). */
export async function mulTanh(o: Float32Array, c: Float32Array): Promise<Float32Array> {
  mulTanhSession ??= (() => {
    const g = new GraphBuilder();
    const oi = g.input("o", DataType.FLOAT, ["n"]);
    const ci = g.input("c", DataType.FLOAT, ["n"]);
    g.rename(g.op("Mul", [oi, g.op("Tanh", [ci], "tanh")], "mul"), "h");
    g.output("h", DataType.FLOAT, ["n"]);
    return ort().InferenceSession.create(g.model("seqlens_mul_tanh", 17, "seqlens"), SESSION_OPTIONS);
  })();
  const s = await mulTanhSession;
  const Tn = ort().Tensor;
  const r = await s.run({ o: new Tn("float32", o, [o.length]), c: new Tn("float32", c, [c.length]) });
  return r.h.data as Float32Array;
}
