// The divergences of two models' outputs computed by onnxruntime (vectorised exp and log) rather
// than element by element in JavaScript: over [T, vocab] logits that is the difference between a
// few milliseconds and a few hundred. The same formulas as compare.ts, which stays the reference
// the tests hold these to.
//   rows:      a, b [T, V] logits; targets [T, 1]
//              -> klAB, klBA, js [T] (nats); lossA, lossB [T, 1] (nats); and, counted in JavaScript,
//                 aboveA, aboveB [T] (how many tokens score above the target: rank − 1, ties not counted)
//   attention: p, q [R, N] causal attention rows packed per head -> js [R] (nats, summed over rows)
import * as fs from "node:fs";
import * as path from "node:path";
import type * as ortTypes from "onnxruntime-node";
import { DataType, GraphBuilder } from "../formats/onnxBuilder";
import { cacheDir } from "../formats/onnxProbe";
import { ExecutionProvider } from "../protocol";
import { openSession, ort } from "../runtime/onnx/session";

const EPS = 1e-30;
const GRAPH_VERSION = 5;

function rowsGraph(): Uint8Array {
  // Directly from the log-probabilities (the algebraic shortcuts through the entropies cancel
  // badly in float32: a model against itself would not come out at zero).
  const g = new GraphBuilder();
  g.input("a", DataType.FLOAT, ["T", "V"]);
  g.input("b", DataType.FLOAT, ["T", "V"]);
  g.input("targets", DataType.INT64, ["T", 1]);
  const last = g.int64s("last_axis", [-1]);
  const half = g.floatScalar("half", 0.5);
  const eps = g.floatScalar("eps", EPS);
  const sum = (x: string, name: string, keepdims = 0) => g.op("ReduceSum", [x, last], name, { keepdims });
  const la = g.op("LogSoftmax", ["a"], "la", { axis: -1 });
  const lb = g.op("LogSoftmax", ["b"], "lb", { axis: -1 });
  const pa = g.op("Exp", [la], "pa");
  const pb = g.op("Exp", [lb], "pb");
  const d = g.op("Sub", [la, lb], "d");
  g.rename(sum(g.op("Mul", [pa, d], "pa_d"), "kl_ab"), "klAB");
  g.rename(g.op("Neg", [sum(g.op("Mul", [pb, d], "pb_d"), "sum_pb_d")], "kl_ba"), "klBA");
  const lm = g.op("Log", [g.op("Max", [g.op("Mul", [g.op("Add", [pa, pb], "pa_pb"), half], "pm"), eps], "pm_eps")], "lm");
  const jsTerms = g.op("Add", [g.op("Mul", [pa, g.op("Sub", [la, lm], "la_lm")], "ta"), g.op("Mul", [pb, g.op("Sub", [lb, lm], "lb_lm")], "tb")], "js_terms");
  g.rename(g.op("Mul", [sum(jsTerms, "js_sum"), half], "js_half"), "js");
  for (const [side, logp] of [["A", la], ["B", lb]] as const) {
    g.rename(g.op("Neg", [g.op("GatherElements", [logp, "targets"], `gather_${side}`, { axis: 1 })], `neg_${side}`), `loss${side}`);
  }
  for (const o of ["klAB", "klBA", "js"]) g.output(o, DataType.FLOAT, ["T"]);
  for (const o of ["lossA", "lossB"]) g.output(o, DataType.FLOAT, ["T", 1]);
  return g.model("seqlens_compare_rows", 17, "seqlens");
}

function attentionGraph(): Uint8Array {
  // p, q [R, N]: for each of R heads, its causal rows packed one after another (row i keeps its
  // i + 1 keys), so only the lower triangle is computed; out: the sum of the rows' JS per head.
  const g = new GraphBuilder();
  g.input("p", DataType.FLOAT, ["R", "N"]);
  g.input("q", DataType.FLOAT, ["R", "N"]);
  const last = g.int64s("last_axis", [-1]);
  const half = g.floatScalar("half", 0.5);
  const eps = g.floatScalar("eps", EPS);
  const lm = g.op("Log", [g.op("Max", [g.op("Mul", [g.op("Add", ["p", "q"], "p_q"), half], "m"), eps], "m_eps")], "lm");
  const term = (x: string) => g.op("Mul", [x, g.op("Sub", [g.op("Log", [g.op("Max", [x, eps], `${x}_eps`)], `l${x}`), lm], `l${x}_lm`)], `t${x}`);
  const sum = g.op("ReduceSum", [g.op("Add", [term("p"), term("q")], "terms"), last], "head_sum", { keepdims: 0 });
  g.rename(g.op("Mul", [sum, half], "js_half"), "js");
  g.output("js", DataType.FLOAT, ["R"]);
  return g.model("seqlens_compare_attention", 17, "seqlens");
}

type Session = ortTypes.InferenceSession;
const sessions = new Map<string, Promise<Session>>();

function session(name: string, build: () => Uint8Array, providers: ExecutionProvider[]): Promise<Session> {
  const key = `${name}|${providers.join(",")}`;
  let s = sessions.get(key);
  if (!s) {
    const file = path.join(cacheDir(), `${name}-v${GRAPH_VERSION}.onnx`);
    if (!fs.existsSync(file)) {
      fs.writeFileSync(`${file}.${process.pid}.tmp`, build());
      fs.renameSync(`${file}.${process.pid}.tmp`, file);
    }
    s = openSession(file, providers).then((o) => o.session);
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

export interface RowsOut {
  klAB: Float32Array;
  klBA: Float32Array;
  js: Float32Array;
  lossA: Float32Array;
  lossB: Float32Array;
  aboveA: Float32Array;
  aboveB: Float32Array;
}

/** Row t of `a` and `b` against each other, and each one's loss of targets[t]; in nats. */
export async function compareRows(a: Float32Array, b: Float32Array, rows: number, vocab: number, targets: ArrayLike<number>, providers: ExecutionProvider[]): Promise<RowsOut> {
  const s = await session("compare-rows", rowsGraph, providers);
  const T = ort().Tensor;
  const out = await s.run({ a: new T("float32", a, [rows, vocab]), b: new T("float32", b, [rows, vocab]), targets: new T("int64", BigInt64Array.from({ length: rows }, (_, i) => BigInt(targets[i])), [rows, 1]) });
  const f = (n: string) => out[n].data as Float32Array;
  // Ranks in JavaScript: a comparison per logit is cheaper here than three more passes in the graph.
  return { klAB: f("klAB"), klBA: f("klBA"), js: f("js"), lossA: f("lossA"), lossB: f("lossB"), aboveA: above(a, rows, vocab, targets), aboveB: above(b, rows, vocab, targets) };
}

/** For each row, how many logits are above the target's (rank − 1, ties not counted). */
function above(logits: Float32Array, rows: number, vocab: number, targets: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows);
  for (let t = 0; t < rows; t++) {
    const o = t * vocab;
    const x = logits[o + targets[t]];
    let n = 0;
    for (let i = o; i < o + vocab; i++) if (logits[i] > x) n++;
    out[t] = n;
  }
  return out;
}

/**
 * Per head, the mean over query rows of the JS divergence (nats) between the two models' causal
 * attention rows. `a`, `b`: per layer [heads, T, T]; out: [layers * heads], layer-major.
 */
export async function attentionHeadJs(a: Float32Array[], b: Float32Array[], heads: number, length: number, providers: ExecutionProvider[]): Promise<Float32Array> {
  const T = length;
  const N = (T * (T + 1)) / 2;
  const R = a.length * heads;
  const pack = (layers: Float32Array[]) => {
    const out = new Float32Array(R * N);
    let o = 0;
    for (const l of layers) for (let h = 0; h < heads; h++) for (let q = 0; q < T; q++) {
      const start = (h * T + q) * T;
      out.set(l.subarray(start, start + q + 1), o);
      o += q + 1;
    }
    return out;
  };
  const s = await session("compare-attention", attentionGraph, providers);
  const Tn = ort().Tensor;
  const out = await s.run({ p: new Tn("float32", pack(a), [R, N]), q: new Tn("float32", pack(b), [R, N]) });
  return Float32Array.from(out.js.data as Float32Array, (v) => v / T);
}
