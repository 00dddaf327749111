// Token embeddings in view: the rows of an embedding matrix projected to 2-D or 3-D with PCA
// (ml-matrix's eigen-decomposition of the covariance), and the nearest neighbours of a token in the full space (cosine or euclidean), never in
// the projection.
import { EigenvalueDecomposition, Matrix as MlMatrix } from "ml-matrix";
import { EngineError } from "../../protocol/errors";

export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array; // [rows, cols] row-major
}

export interface Projection {
  /** [rows, dims] row-major. */
  coords: Float32Array;
  dims: number;
  /** The share of the variance each kept axis explains (PCA). */
  explained: number[];
  /** The kept axes, [dims][cols] (PCA; up to sign). */
  axes: number[][];
}

/**
 * PCA of the rows: centred (not scaled), the first `dims` principal components. The covariance
 * (cols x cols) is accumulated in one pass here; ml-matrix's symmetric eigen-decomposition gives the
 * axes.
 */
export function pcaProject(m: Matrix, dims: 2 | 3): Projection {
  const { rows: n, cols: d, data } = m;
  if (n < dims + 1 || d < dims) throw new EngineError("BAD_INPUT", `PCA to ${dims} dimensions needs more than ${dims} rows of at least ${dims} values (got ${n} x ${d})`);
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) mean[c] += data[r * d + c];
  for (let c = 0; c < d; c++) mean[c] /= n;
  const cov = new Float64Array(d * d);
  const x = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) x[c] = data[r * d + c] - mean[c];
    for (let i = 0; i < d; i++) {
      const xi = x[i];
      const row = i * d;
      for (let j = i; j < d; j++) cov[row + j] += xi * x[j];
    }
  }
  const C: number[][] = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i <= j ? cov[i * d + j] : cov[j * d + i]) / (n - 1)));
  const eig = new EigenvalueDecomposition(new MlMatrix(C), { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const vectors = eig.eigenvectorMatrix.to2DArray(); // [d][components]
  const order = values.map((v, i) => [v, i] as const).sort((p, q) => q[0] - p[0]);
  const total = values.reduce((a, v) => a + v, 0) || 1;
  const axes = order.slice(0, dims).map(([, i]) => vectors.map((row) => row[i]));
  const coords = new Float32Array(n * dims);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < dims; k++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (data[r * d + c] - mean[c]) * axes[k][c];
      coords[r * dims + k] = s;
    }
  }
  return { coords, dims, explained: order.slice(0, dims).map(([v]) => v / total), axes };
}

export type Metric = "cosine" | "euclidean";

/** The k rows nearest row `of` in the full space (itself and `exclude` left out), nearest first. */
export function nearestRows(m: Matrix, query: Float32Array, k: number, metric: Metric, exclude: Set<number> = new Set()): { row: number; score: number }[] {
  if (query.length !== m.cols) throw new EngineError("BAD_INPUT", `query has ${query.length} values, rows have ${m.cols}`);
  let qn = 0;
  for (const v of query) qn += v * v;
  qn = Math.sqrt(qn) || 1;
  const scored: { row: number; score: number }[] = [];
  for (let r = 0; r < m.rows; r++) {
    if (exclude.has(r)) continue;
    let dot = 0;
    let nn = 0;
    let d2 = 0;
    const o = r * m.cols;
    for (let c = 0; c < m.cols; c++) {
      const v = m.data[o + c];
      dot += v * query[c];
      nn += v * v;
      d2 += (v - query[c]) ** 2;
    }
    // cosine: similarity (higher is nearer); euclidean: distance (lower is nearer)
    scored.push({ row: r, score: metric === "cosine" ? dot / ((Math.sqrt(nn) || 1) * qn) : Math.sqrt(d2) });
  }
  scored.sort((a, b) => (metric === "cosine" ? b.score - a.score : a.score - b.score));
  return scored.slice(0, k);
}

/** The row vectors added and subtracted (word2vec's king - man + woman). */
export function vectorSum(m: Matrix, plus: number[], minus: number[]): Float32Array {
  const out = new Float32Array(m.cols);
  for (const [rows, sign] of [[plus, 1], [minus, -1]] as const) {
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= m.rows) throw new EngineError("BAD_INPUT", `row ${r} is out of range (0..${m.rows - 1})`);
      for (let c = 0; c < m.cols; c++) out[c] += sign * m.data[r * m.cols + c];
    }
  }
  return out;
}
