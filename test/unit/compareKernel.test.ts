// The WebAssembly comparison kernels against the JavaScript reference (compare.ts) on inputs chosen
// to reach their edges: a vocabulary that is not a multiple of four (the masked last lanes), more
// rows than one piece of the module's memory holds, logits far apart (exp underflows), ties at the
// target, and attention rows of every causal length.
import { test } from "node:test";
import assert from "node:assert/strict";
import { headChanges, rowDivergence } from "../../engine/probes/compare";
import { attentionHeadJs, compareRows } from "../../engine/probes/compareKernel";
import { seededRandom } from "../../engine/random";

const close = (x: number, y: number, abs = 1e-5, rel = 1e-4) => Math.abs(x - y) <= abs + rel * Math.abs(y);

function logits(rows: number, V: number, seed: number, scale: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: rows * V }, () => (rnd() - 0.5) * scale);
}

test("rows: KL both ways, JS, losses and ranks equal the reference, across the pieces and the masked last lanes", () => {
  const V = 4099; // 4099 = 4 * 1024 + 3
  const T = 300; // more rows than one 8 MiB piece (255 rows of this width)
  const a = logits(T, V, 1, 12);
  const b = Float32Array.from(a, (x, i) => x + (((i * 7919) % 13) - 6) * 0.2);
  const targets = Array.from({ length: T }, (_, t) => (t * 131) % V);
  // the last entry of some rows is the largest, so a wrongly masked lane would show in max and rank
  for (let t = 0; t < T; t += 3) a[t * V + V - 1] = 20;
  const r = compareRows(a, b, T, V, targets);
  for (let t = 0; t < T; t++) {
    const ra = a.subarray(t * V, (t + 1) * V);
    const rb = b.subarray(t * V, (t + 1) * V);
    const ref = rowDivergence(ra, rb);
    assert.ok(close(r.klAB[t] / Math.LN2, ref.klAB) && close(r.klBA[t] / Math.LN2, ref.klBA) && close(r.js[t] / Math.LN2, ref.js), `row ${t}: ${r.klAB[t] / Math.LN2} ${r.klBA[t] / Math.LN2} ${r.js[t] / Math.LN2} vs ${JSON.stringify(ref)}`);
    let max = -Infinity;
    for (const x of ra) max = Math.max(max, x);
    let s = 0;
    for (const x of ra) s += Math.exp(x - max);
    assert.ok(close(r.lossA[t], max + Math.log(s) - ra[targets[t]]), `loss ${t}`);
    assert.equal(r.aboveA[t], ra.filter((x) => x > ra[targets[t]]).length, `rank ${t}`);
    assert.equal(r.aboveB[t], rb.filter((x) => x > rb[targets[t]]).length, `rank B ${t}`);
  }
});

test("rows: a row against itself is exactly zero; far-apart logits (exp underflows) stay finite and right", () => {
  for (const V of [4, 5, 97]) {
    const a = logits(7, V, V, 200); // spreads of 200 nats: most probabilities underflow float32
    const self = compareRows(a, a, 7, V, Array(7).fill(0));
    assert.ok(self.klAB.every((x) => x === 0) && self.klBA.every((x) => x === 0) && self.js.every((x) => x === 0), `V=${V}`);
    const b = logits(7, V, V + 1, 200);
    const r = compareRows(a, b, 7, V, Array(7).fill(V - 1));
    for (let t = 0; t < 7; t++) {
      const ref = rowDivergence(a.subarray(t * V, (t + 1) * V), b.subarray(t * V, (t + 1) * V));
      assert.ok(Number.isFinite(r.klAB[t]) && close(r.klAB[t] / Math.LN2, ref.klAB, 1e-4) && close(r.klBA[t] / Math.LN2, ref.klBA, 1e-4) && close(r.js[t] / Math.LN2, ref.js, 1e-4), `V=${V} row ${t}: ${r.klAB[t] / Math.LN2} vs ${ref.klAB}, ${r.js[t] / Math.LN2} vs ${ref.js}`);
    }
  }
});

test("rows: ties at the target are not counted above it; a target outside the vocabulary is refused", () => {
  const a = Float32Array.from([1, 3, 3, 2, 3]);
  const r = compareRows(a, a, 1, 5, [1]);
  assert.equal(r.aboveA[0], 0);
  assert.equal(compareRows(a, a, 1, 5, [3]).aboveA[0], 3);
  assert.throws(() => compareRows(a, a, 1, 5, [5]), /outside the vocabulary of 5/);
});

test("heads: the mean JS of causal attention rows equals the reference, zero against itself", () => {
  for (const T of [1, 2, 5, 33]) {
    const heads = 3;
    const rnd = seededRandom(T);
    const layer = () => {
      const x = new Float32Array(heads * T * T);
      for (let h = 0; h < heads; h++) for (let q = 0; q < T; q++) {
        let s = 0;
        const o = (h * T + q) * T;
        for (let k = 0; k <= q; k++) s += x[o + k] = rnd() ** 3; // some near zero
        for (let k = 0; k <= q; k++) x[o + k] /= s;
        for (let k = q + 1; k < T; k++) x[o + k] = rnd(); // above the diagonal: must be ignored
      }
      return x;
    };
    const a = [layer(), layer()];
    const b = [layer(), layer()];
    const js = attentionHeadJs(a, b, heads, T);
    for (const h of headChanges(a, b, heads, T)) assert.ok(close(js[h.layer * heads + h.head] / Math.LN2, h.meanJs, 1e-6), `T=${T} layer ${h.layer} head ${h.head}: ${js[h.layer * heads + h.head] / Math.LN2} vs ${h.meanJs}`);
    assert.ok(attentionHeadJs(a, a, heads, T).every((x) => x === 0), `T=${T} self`);
  }
});

test("rows: nearly equal rows (an int8 copy's size of change) keep their small divergences, never below zero; -Infinity logits are probability zero", () => {
  const V = 50257; // GPT-2's vocabulary
  const T = 6;
  const a = logits(T, V, 7, 16);
  const rnd = seededRandom(8);
  const b = Float32Array.from(a, (x) => x + (rnd() - 0.5) * 2e-3);
  const r = compareRows(a, b, T, V, Array(T).fill(0));
  for (let t = 0; t < T; t++) {
    const ref = rowDivergence(a.subarray(t * V, (t + 1) * V), b.subarray(t * V, (t + 1) * V));
    assert.ok(r.js[t] >= 0 && r.klAB[t] >= 0 && r.klBA[t] >= 0);
    assert.ok(close(r.js[t] / Math.LN2, ref.js, 1e-9, 0.05) && close(r.klAB[t] / Math.LN2, ref.klAB, 1e-9, 0.05), `row ${t}: js ${r.js[t] / Math.LN2} vs ${ref.js}, kl ${r.klAB[t] / Math.LN2} vs ${ref.klAB}`);
  }
  // the same entries masked out in both: as if they were not there
  const Vm = 64;
  const am = logits(1, Vm, 9, 8);
  const bm = logits(1, Vm, 10, 8);
  const keep = Array.from({ length: Vm }, (_, i) => i % 5 !== 2);
  for (let i = 0; i < Vm; i++) if (!keep[i]) am[i] = bm[i] = -Infinity;
  const rm = compareRows(am, bm, 1, Vm, [0]);
  const ref = rowDivergence(am.filter((_, i) => keep[i]), bm.filter((_, i) => keep[i]));
  assert.ok(close(rm.klAB[0] / Math.LN2, ref.klAB) && close(rm.klBA[0] / Math.LN2, ref.klBA) && close(rm.js[0] / Math.LN2, ref.js), `${rm.klAB[0] / Math.LN2} ${rm.js[0] / Math.LN2} vs ${JSON.stringify(ref)}`);
});
