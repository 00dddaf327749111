// The divergences of two models' outputs, computed by a small WebAssembly SIMD module
// (kernels/divergence.ts, AssemblyScript, built into dist/seqlens-kernels.wasm) one row at a time,
// so each row is read once and stays in the cache. The same formulas as compare.ts, which stays
// the reference the tests hold these to.
//   compareRows:     a, b [T, V] logits; targets [T] -> klAB, klBA, js [T] (nats); lossA, lossB [T]
//                    (nats); aboveA, aboveB [T] (how many tokens score above the target: rank − 1,
//                    ties not counted)
//   attentionHeadJs: per layer [heads, T, T] attention -> per head the mean JS of its causal rows
//   logSumExp:       one row of logits -> log(sum(exp)) (a generated token's probability)
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";

const WASM = "seqlens-kernels.wasm";

interface Kernels {
  memory: WebAssembly.Memory;
  init(): void;
  reserve(bytes: number): number;
  rows(a: number, b: number, T: number, V: number, targets: number, scratch: number, out: number): void;
  headJs(p: number, q: number, R: number, N: number, out: number): void;
  lse(a: number, V: number): number;
}

let kernels: Kernels | undefined;

function load(): Kernels {
  if (kernels) return kernels;
  // beside the bundle (dist/), or dist/ of the repository when running from the sources
  const file = [path.join(__dirname, WASM), path.join(__dirname, "..", "..", "dist", WASM)].find((f) => fs.existsSync(f));
  if (!file) throw new EngineError("INTERNAL", `${WASM} is missing: run npm run build`);
  // from the sources: a module older than its source would test the old kernel
  const source = path.join(__dirname, "..", "..", "kernels", "divergence.ts");
  if (fs.existsSync(source) && fs.statSync(source).mtimeMs > fs.statSync(file).mtimeMs) throw new EngineError("INTERNAL", `${file} is older than ${source}: run npm run build`);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), {
    env: { abort: () => { throw new EngineError("INTERNAL", `${WASM} aborted`); } },
  });
  kernels = instance.exports as unknown as Kernels;
  kernels.init();
  return kernels;
}

/** Room in the module's memory, or a clear error when there is none (the module stops at "unreachable"). */
function reserve(k: Kernels, bytes: number): number {
  try {
    return k.reserve(bytes);
  } catch (e) {
    throw new EngineError("INTERNAL", `no memory for the comparison kernels (${(bytes / 2 ** 20).toFixed(0)} MiB): ${(e as Error).message}`);
  }
}

/** Bytes that one call may hold in the module's memory: larger inputs go through in pieces. */
const CHUNK_BYTES = 8 << 20;

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
export function compareRows(a: Float32Array, b: Float32Array, rows: number, vocab: number, targets: ArrayLike<number>): RowsOut {
  const k = load();
  const V = vocab;
  const chunk = Math.max(1, Math.min(rows, Math.floor(CHUNK_BYTES / (8 * V))));
  const vPad = (V + 3) & ~3;
  // a, b [chunk, V]; targets [chunk]; scratch [2, vPad]; out [chunk, 7]
  const base = reserve(k, 8 * chunk * V + 4 * chunk + 8 * vPad + 28 * chunk);
  const offB = base + 4 * chunk * V;
  const offTargets = offB + 4 * chunk * V;
  const offScratch = offTargets + 4 * chunk;
  const offOut = offScratch + 8 * vPad;
  const res = { klAB: new Float32Array(rows), klBA: new Float32Array(rows), js: new Float32Array(rows), lossA: new Float32Array(rows), lossB: new Float32Array(rows), aboveA: new Float32Array(rows), aboveB: new Float32Array(rows) };
  const cols = [res.klAB, res.klBA, res.js, res.lossA, res.lossB, res.aboveA, res.aboveB];
  for (let t0 = 0; t0 < rows; t0 += chunk) {
    const n = Math.min(chunk, rows - t0);
    const f32 = new Float32Array(k.memory.buffer);
    f32.set(a.subarray(t0 * V, (t0 + n) * V), base >> 2);
    f32.set(b.subarray(t0 * V, (t0 + n) * V), offB >> 2);
    const tg = new Int32Array(k.memory.buffer, offTargets, n);
    for (let i = 0; i < n; i++) {
      const id = targets[t0 + i];
      if (!(id >= 0 && id < V)) throw new EngineError("BAD_INPUT", `target ${id} at row ${t0 + i} is outside the vocabulary of ${V}`);
      tg[i] = id;
    }
    k.rows(base, offB, n, V, offTargets, offScratch, offOut);
    const out = new Float32Array(k.memory.buffer, offOut, 7 * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < 7; c++) cols[c][t0 + i] = out[7 * i + c];
  }
  return res;
}

/**
 * Per head, the mean over query rows of the JS divergence (nats) between the two models' causal
 * attention rows. `a`, `b`: per layer [heads, T, T]; out: [layers * heads], layer-major.
 */
export function attentionHeadJs(a: Float32Array[], b: Float32Array[], heads: number, length: number): Float32Array {
  const k = load();
  const T = length;
  // one head at a time: its causal rows packed one after another (row i keeps its i + 1 keys),
  // 4 T (T + 1) bytes for both sides (4 MiB at 1,024 tokens)
  const N = (T * (T + 1)) / 2;
  const base = reserve(k, 8 * N + 4);
  const offQ = base + 4 * N;
  const offOut = offQ + 4 * N;
  const res = new Float32Array(a.length * heads);
  for (let l = 0; l < a.length; l++) for (let h = 0; h < heads; h++) {
    const f32 = new Float32Array(k.memory.buffer);
    let o = 0;
    for (let q = 0; q < T; q++) {
      const start = (h * T + q) * T;
      f32.set(a[l].subarray(start, start + q + 1), (base >> 2) + o);
      f32.set(b[l].subarray(start, start + q + 1), (offQ >> 2) + o);
      o += q + 1;
    }
    k.headJs(base, offQ, 1, N, offOut);
    res[l * heads + h] = new Float32Array(k.memory.buffer, offOut, 1)[0] / T;
  }
  return res;
}

/** log(sum(exp(row))), in the kernel (float32 exponentials, a float64 sum): a token's p is exp(row[id] - logSumExp(row)). */
export function logSumExp(row: Float32Array): number {
  const k = load();
  const base = reserve(k, 4 * row.length + 16);
  new Float32Array(k.memory.buffer).set(row, base >> 2);
  return k.lse(base, row.length);
}
