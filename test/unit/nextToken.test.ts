import { test } from "node:test";
import assert from "node:assert/strict";
import { entropyBits, nextTokenAt, probabilityOf, rankOf, softmax, topIndices } from "../../engine/probes/nextToken";
import { chooseToken } from "../../engine/generate";
import { seededRandom } from "../../engine/random";

test("softmax of known logits, with temperature", () => {
  const p = softmax(Float32Array.from([Math.log(1), Math.log(2), Math.log(5)]));
  [0.125, 0.25, 0.625].forEach((v, i) => assert.ok(Math.abs(p[i] - v) < 1e-7)); // logits are float32
  const t2 = softmax(Float32Array.from([0, 2 * Math.log(3)]), 2); // (1, 3) / 4
  assert.ok(Math.abs(t2[0] - 0.25) < 1e-7 && Math.abs(t2[1] - 0.75) < 1e-7);
});

test("entropy: uniform over 8 is 3 bits; a certain outcome is 0", () => {
  assert.ok(Math.abs(entropyBits(new Float64Array(8).fill(1 / 8)) - 3) < 1e-12);
  assert.equal(entropyBits(Float64Array.from([1, 0, 0])), 0);
});

test("top-k and rank, ties broken by lower id", () => {
  const p = Float64Array.from([0.1, 0.3, 0.3, 0.05, 0.25]);
  assert.deepEqual(topIndices(p, 3), [1, 2, 4]);
  assert.equal(rankOf(p, 2), 2);
  assert.equal(rankOf(p, 3), 5);
});

test("nextTokenAt reads the right row and reports the actual token", () => {
  const V = 4;
  const logits = Float32Array.from([0, 0, 0, 0, /* row 1 */ 0, Math.log(3), 0, 0]);
  const r = nextTokenAt(logits, V, 1, { topK: 2, temperature: 1, actualId: 2, tokenText: (id) => `t${id}` });
  assert.equal(r.top[0].id, 1);
  assert.ok(Math.abs(r.top[0].p - 0.5) < 1e-7);
  assert.equal(r.actual?.rank, 3);
  assert.ok(Math.abs(r.actual!.p - 1 / 6) < 1e-7);
});

test("sampling with a seed repeats; top-k 1 is greedy; top-p keeps the smallest nucleus", () => {
  const logits = Float32Array.from([1, 3, 2, 0.5]);
  const draw = (seed: number) => Array.from({ length: 20 }, ((r) => () => chooseToken(logits, { model: "", text: "", maxTokens: 1, greedy: false, temperature: 1, seed }, r))(seededRandom(seed)));
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
  const r = seededRandom(1);
  for (let i = 0; i < 50; i++) assert.equal(chooseToken(logits, { model: "", text: "", maxTokens: 1, greedy: false, topK: 1 }, r), 1);
  // p = softmax([1,3,2,0.5]) ~ [0.086, 0.636, 0.234, 0.052]: top-p 0.7 keeps ids 1 and 2 only
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) seen.add(chooseToken(logits, { model: "", text: "", maxTokens: 1, greedy: false, topP: 0.7 }, r));
  assert.deepEqual([...seen].sort(), [1, 2]);
});

test("probabilityOf(logits, id) is softmax(logits)[id] without building the distribution", () => {
  const rand = seededRandom(7);
  const logits = Float32Array.from({ length: 50_257 }, () => (rand() - 0.5) * 40);
  logits[123] = 30;
  logits[9] = -Infinity;
  const p = softmax(logits, 1);
  // through the kernel at this size: float32 exponentials, a float64 sum
  for (const id of [0, 9, 123, 50_256, 31_000]) assert.ok(Math.abs(probabilityOf(logits, id) - p[id]) <= 1e-15 + 2e-6 * p[id], `${id}: ${probabilityOf(logits, id)} vs ${p[id]}`);
  assert.equal(probabilityOf(logits, 9), 0);
  // a small vocabulary: exact in float64
  const small = logits.subarray(0, 1000);
  const q = softmax(small, 1);
  for (const id of [0, 123, 999]) assert.ok(Math.abs(probabilityOf(small, id) - q[id]) <= 1e-15 + 1e-12 * q[id]);
  // every logit -Infinity but one: that one has p = 1
  const one = new Float32Array(20_000).fill(-Infinity);
  one[7] = 3;
  assert.equal(probabilityOf(one, 7), 1);
});
