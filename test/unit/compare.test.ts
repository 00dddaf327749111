// Divergences between two models' predictions, against closed forms: zero for a model against
// itself, the KL a known perturbation of one logit must give, JS bounds, losses per byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { headChanges, jsOfProbabilities, lossOverSpans, lossPerByte, rowDivergence, tokenLosses } from "../../engine/probes/compare";

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

test("a distribution against itself: every divergence is zero", () => {
  const r = rand(1);
  const a = Float32Array.from({ length: 500 }, () => r() * 10 - 5);
  const d = rowDivergence(a, a);
  assert.ok(d.klAB < 1e-12 && d.klBA < 1e-12 && d.js < 1e-12, JSON.stringify(d));
  // A constant shift of every logit is the same distribution.
  const shifted = a.map((v) => v + 3.25);
  const s = rowDivergence(a, shifted);
  assert.ok(s.klAB < 1e-9 && s.js < 1e-9, JSON.stringify(s));
});

test("one logit raised by δ: KL(p||q) = log Z − δ p_k and KL(q||p) = δ q_k − log Z (in bits)", () => {
  const r = rand(2);
  const V = 300;
  const a = Float64Array.from({ length: V }, () => r() * 4);
  const k = 17;
  const delta = 1.7;
  const b = a.slice();
  b[k] += delta;
  let sum = 0;
  for (const v of a) sum += Math.exp(v);
  const pk = Math.exp(a[k]) / sum;
  const Z = 1 + pk * (Math.exp(delta) - 1);
  const qk = (pk * Math.exp(delta)) / Z;
  const klPQ = (Math.log(Z) - delta * pk) / Math.LN2;
  const klQP = (delta * qk - Math.log(Z)) / Math.LN2;
  const d = rowDivergence(a, b);
  assert.ok(Math.abs(d.klAB - klPQ) < 1e-9, `${d.klAB} vs ${klPQ}`);
  assert.ok(Math.abs(d.klBA - klQP) < 1e-9, `${d.klBA} vs ${klQP}`);
  assert.ok(d.js > 0 && d.js < Math.min(d.klAB, d.klBA), "JS is below either KL");
});

test("JS of two disjoint distributions is 1 bit; of identical ones 0", () => {
  assert.ok(Math.abs(jsOfProbabilities([1, 0], [0, 1]) - 1) < 1e-12);
  assert.equal(jsOfProbabilities([0.3, 0.7], [0.3, 0.7]), 0);
});

test("token losses: -log2 p of each token from the row before it; rank 1 for the argmax", () => {
  // vocab 3; row 0 predicts token 1 with p = e^2 / (1 + e^2 + 1)
  const logits = Float32Array.from([0, 2, 0, 5, 0, 0]);
  const r = tokenLosses(logits, 3, [0, 1, 2]);
  const p1 = Math.exp(2) / (2 + Math.exp(2));
  assert.equal(r.bits[0], null);
  assert.ok(Math.abs(r.bits[1]! + Math.log2(p1)) < 1e-6);
  assert.equal(r.rank[1], 1);
  assert.equal(r.rank[2], 3); // row 1 = [5, 0, 0]: token 0 is above, token 1 ties and its lower id goes first
});

test("losses per byte: a token's bits spread over its bytes, summed back over another tokenizer's spans", () => {
  const tok = (id: number, byteStart: number, byteEnd: number) => ({ id, text: "", start: byteStart, end: byteEnd, byteStart, byteEnd });
  const a = [tok(0, 0, 2), tok(1, 2, 6)]; // two tokens: 2 and 4 bytes
  const perByte = lossPerByte(a, [null, 8], 6);
  assert.ok(Number.isNaN(perByte[0]) && Number.isNaN(perByte[1]));
  assert.deepEqual(Array.from(perByte.subarray(2)), [2, 2, 2, 2]);
  const b = [tok(0, 0, 3), tok(1, 3, 4), tok(2, 4, 6)];
  assert.deepEqual(lossOverSpans(b, perByte), [null, 2, 4]);
});

test("head changes: a head whose rows differ ranks first; identical heads are zero", () => {
  const T = 3;
  const causal = (mix: number) => Float32Array.from([1, 0, 0, 0.5 + mix, 0.5 - mix, 0, 0.2, 0.3, 0.5]);
  const a = [Float32Array.from([...causal(0), ...causal(0)])];
  const b = [Float32Array.from([...causal(0), ...causal(0.4)])];
  const h = headChanges(a, b, 2, T);
  assert.deepEqual([h[0].layer, h[0].head], [0, 1]);
  assert.ok(h[0].meanJs > 0);
  assert.equal(h[1].meanJs, 0);
});
