// Non-linear projections of embedding rows to 2-D or 3-D: UMAP (umap-js) and t-SNE (DruidJS).
// Both run step by step and give the event loop back between steps, so a run reports progress
// and stops as soon as it is cancelled, and the engine keeps serving other requests meanwhile.
// Seeded: the same rows give the same picture.
import { UMAP } from "umap-js";
import { Matrix as DruidMatrix, TSNE } from "@saehrimnir/druidjs";
import { EngineError } from "../../protocol/errors";
import { seededRandom } from "../random";
import type { Matrix } from "./projection";

export interface ManifoldOptions {
  dims: 2 | 3;
  signal?: AbortSignal;
  /** `done` of `total` steps (epochs or iterations). */
  onProgress?: (done: number, total: number, message: string) => void;
  seed?: number;
  /** t-SNE iterations (default 500). */
  iterations?: number;
}

function rowsOf(m: Matrix): Float64Array[] {
  return Array.from({ length: m.rows }, (_, r) => Float64Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)));
}

/** Gives the event loop a turn every `everyMs` of work; throws CANCELLED once the signal is aborted. */
function yielder(signal: AbortSignal | undefined, what: string, everyMs = 40): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last >= everyMs) {
      await new Promise((r) => setImmediate(r));
      last = performance.now();
    }
    if (signal?.aborted) throw new EngineError("CANCELLED", `${what} was cancelled`);
  };
}

function checkRows(m: Matrix, what: string, min: number): void {
  if (m.rows < min) throw new EngineError("BAD_INPUT", `${what} needs at least ${min} points (got ${m.rows})`);
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) throw new EngineError("BAD_INPUT", `${what}: row ${Math.floor(i / m.cols)} holds a value that is not finite`);
  }
}

/** UMAP of the rows (umap-js: 15 neighbours, or fewer for a few rows; its own epoch count). */
export async function umapProject(m: Matrix, opts: ManifoldOptions): Promise<Float32Array> {
  checkRows(m, "UMAP", 4);
  const nNeighbors = Math.max(2, Math.min(15, m.rows - 1));
  const umap = new UMAP({ nComponents: opts.dims, nNeighbors, random: seededRandom(opts.seed ?? 42), minDist: 0.1 });
  const step = yielder(opts.signal, "UMAP");
  opts.onProgress?.(0, 1, "UMAP: nearest neighbours");
  await step();
  const epochs = umap.initializeFit(rowsOf(m).map((r) => Array.from(r)));
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (e % 5 === 0 || e === epochs - 1) opts.onProgress?.(e + 1, epochs, "UMAP: optimising the layout");
    await step();
  }
  return pack(umap.getEmbedding(), opts.dims);
}

/** Exact t-SNE of the rows (DruidJS: perplexity 30, or less for a few rows). */
export async function tsneProject(m: Matrix, opts: ManifoldOptions): Promise<Float32Array> {
  checkRows(m, "t-SNE", 4);
  const iterations = opts.iterations ?? 500;
  const perplexity = Math.max(2, Math.min(30, Math.floor((m.rows - 1) / 3)));
  const step = yielder(opts.signal, "t-SNE");
  opts.onProgress?.(0, iterations, "t-SNE: pairwise affinities");
  await step();
  const tsne = new TSNE(DruidMatrix.from(rowsOf(m)), { d: opts.dims, perplexity, seed: opts.seed ?? 42 });
  let y: DruidMatrix | undefined;
  let i = 0;
  for (const out of tsne.generator(iterations)) {
    y = out as DruidMatrix;
    i++;
    if (i % 5 === 0 || i === iterations) opts.onProgress?.(i, iterations, "t-SNE: optimising the layout");
    await step();
  }
  if (!y) throw new EngineError("INTERNAL", "t-SNE returned no projection");
  return pack(y.to2dArray(), opts.dims);
}

function pack(rows: ArrayLike<number>[], dims: number): Float32Array {
  const out = new Float32Array(rows.length * dims);
  rows.forEach((r, i) => {
    for (let k = 0; k < dims; k++) out[i * dims + k] = r[k];
  });
  return out;
}
