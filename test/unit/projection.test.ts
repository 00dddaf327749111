// Projection and neighbours: PCA against a dataset whose principal axes are known by construction
// and against an independent eigen-decomposition (Jacobi) written here; neighbours on a constructed
// embedding; vector arithmetic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nearestRows, pcaProject, vectorSum } from "../../engine/probes/projection";

/** Eigenvalues and eigenvectors of a symmetric matrix by Jacobi rotations (the reference). */
function jacobi(a: number[][]): { values: number[]; vectors: number[][] } {
  const n = a.length;
  const A = a.map((r) => r.slice());
  const V: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p][q] ** 2;
    if (off < 1e-20) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(A[p][q]) < 1e-300) continue;
        const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k][p];
          const akq = A[k][q];
          A[k][p] = c * akp - s * akq;
          A[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p][k];
          const aqk = A[q][k];
          A[p][k] = c * apk - s * aqk;
          A[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k][p];
          const vkq = V[k][q];
          V[k][p] = c * vkp - s * vkq;
          V[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = A.map((r, i) => [r[i], i] as const).sort((x, y) => y[0] - x[0]);
  return { values: order.map(([v]) => v), vectors: order.map(([, i]) => V.map((r) => r[i])) };
}

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

test("PCA: explained variance and axes (up to sign) as constructed, and as an independent eigen-decomposition finds them", () => {
  // 400 points in 4-D: independent coordinates with standard deviations 5, 2, 1, 0.3, rotated by a known orthonormal matrix.
  const r = rand(7);
  const gauss = () => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  const sd = [5, 2, 1, 0.3];
  const c = Math.cos(0.6);
  const s = Math.sin(0.6);
  const Q = [
    [c, -s, 0, 0],
    [s, c, 0, 0],
    [0, 0, Math.cos(1.1), -Math.sin(1.1)],
    [0, 0, Math.sin(1.1), Math.cos(1.1)],
  ];
  const N = 400;
  const rows: number[][] = Array.from({ length: N }, () => {
    const z = sd.map((x) => x * gauss());
    return Q.map((q) => q.reduce((acc, v, j) => acc + v * z[j], 3)); // + an offset: PCA centres
  });
  const data = Float32Array.from(rows.flat());
  const p = pcaProject({ rows: N, cols: 4, data }, 3);
  // The reference: the sample covariance's eigen-decomposition.
  const mean = [0, 1, 2, 3].map((j) => rows.reduce((a, x) => a + x[j], 0) / N);
  const cov = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => rows.reduce((a, x) => a + (x[i] - mean[i]) * (x[j] - mean[j]), 0) / (N - 1)));
  const ref = jacobi(cov);
  const total = ref.values.reduce((a, b) => a + b, 0);
  for (let k = 0; k < 3; k++) {
    assert.ok(Math.abs(p.explained[k] - ref.values[k] / total) < 1e-6, `explained ${k}: ${p.explained[k]} vs ${ref.values[k] / total}`);
    const dot = p.axes[k].reduce((a, v, j) => a + v * ref.vectors[k][j], 0);
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-6, `axis ${k} differs from the reference: |dot| = ${Math.abs(dot)}`);
  }
  // As constructed: the first axis is Q's first column (sd 5), the second Q's second (sd 2).
  assert.ok(Math.abs(Math.abs(p.axes[0][0] * c + p.axes[0][1] * s) - 1) < 0.02);
  assert.ok(p.explained[0] > 0.8 && p.explained[0] < 0.9, String(p.explained[0])); // 25 / (25 + 4 + 1 + 0.09) = 0.83
  // The scores are the centred rows on the axes.
  const x0 = rows[0].map((v, j) => v - mean[j]);
  const s0 = p.axes[0].reduce((a, v, j) => a + v * x0[j], 0);
  assert.ok(Math.abs(p.coords[0] - s0) < 1e-4, `${p.coords[0]} vs ${s0}`);
});

test("nearest neighbours in the full space, cosine and euclidean; vector arithmetic", () => {
  // A constructed embedding: king, queen, man, woman, apple with king - man + woman = queen exactly.
  const words = ["king", "queen", "man", "woman", "apple", "prince"];
  const vec = {
    king: [1, 1, 0, 0],
    queen: [1, 0, 1, 0],
    man: [0, 1, 0, 0.1],
    woman: [0, 0, 1, 0.1],
    apple: [0, 0, 0, 5],
    prince: [0.9, 1.1, 0, 0.2],
  } as Record<string, number[]>;
  const m = { rows: words.length, cols: 4, data: Float32Array.from(words.flatMap((w) => vec[w])) };
  const id = (w: string) => words.indexOf(w);
  const nnCos = nearestRows(m, Float32Array.from(vec.king), 2, "cosine", new Set([id("king")]));
  assert.deepEqual(nnCos.map((n) => words[n.row]), ["prince", "man"]); // cos(king, man) = 0.70 > cos(king, queen) = 0.5
  const nnEuc = nearestRows(m, Float32Array.from(vec.prince), 2, "euclidean", new Set([id("prince")]));
  assert.deepEqual(nnEuc.map((n) => words[n.row]), ["king", "man"]); // distances 0.245 and 0.911
  assert.ok(Math.abs(nnEuc[0].score - Math.sqrt(0.01 + 0.01 + 0.04)) < 1e-6);
  const q = vectorSum(m, [id("king"), id("woman")], [id("man")]);
  const best = nearestRows(m, q, 1, "cosine", new Set([id("king"), id("woman"), id("man")]));
  assert.equal(words[best[0].row], "queen");
  assert.ok(best[0].score > 0.99);
  assert.throws(() => vectorSum(m, [99], []), /out of range/);
});
