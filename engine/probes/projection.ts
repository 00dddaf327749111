// Token embeddings in view: the rows of an embedding matrix projected to 2-D or 3-D with PCA
// (ml-pca), and the nearest neighbours of a token in the full space (cosine or euclidean), never in
// the projection.
import { PCA } from "ml-pca";
import { EngineError } from "../protocol";

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

/** PCA of the rows: centred (not scaled), the first `dims` principal components. */
export function pcaProject(m: Matrix, dims: 2 | 3): Projection {
  if (m.rows < dims + 1 || m.cols < dims) throw new EngineError("BAD_INPUT", `PCA to ${dims} dimensions needs more than ${dims} rows of at least ${dims} values (got ${m.rows} x ${m.cols})`);
  const rows: number[][] = new Array(m.rows);
  for (let r = 0; r < m.rows; r++) rows[r] = Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols));
  // The covariance matrix is cols x cols: its eigen-decomposition is far cheaper than an SVD of all rows.
  const pca = new PCA(rows, { center: true, scale: false, method: "covarianceMatrix" });
  const scores = pca.predict(rows, { nComponents: dims }).to2DArray();
  const coords = new Float32Array(m.rows * dims);
  scores.forEach((s, r) => coords.set(s.slice(0, dims), r * dims));
  const vectors = pca.getEigenvectors().to2DArray(); // [cols][components]
  const axes = Array.from({ length: dims }, (_, k) => vectors.map((row) => row[k]));
  return { coords, dims, explained: pca.getExplainedVariance().slice(0, dims), axes };
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
