// LSTMVis-style selection: units above a threshold over a span, and where they fire together.
import { test } from "node:test";
import assert from "node:assert/strict";
import { firingRuns, unitsAbove } from "../../protocol/firing";

test("units above a threshold over a brushed span, and the runs where all of them fire", () => {
  // 3 units x 10 steps; units 0 and 2 are on at steps 2-4 and 7-8, unit 1 only at 3.
  const T = 10;
  const H = 3;
  const on: Record<number, number[]> = { 0: [2, 3, 4, 7, 8], 1: [3], 2: [2, 3, 4, 5, 7, 8, 9] };
  const data = new Float32Array(T * H);
  for (const [u, steps] of Object.entries(on)) for (const t of steps) data[t * H + Number(u)] = 0.9;
  assert.deepEqual(unitsAbove(data, H, 2, 4, 0.5), [0, 2]);
  assert.deepEqual(unitsAbove(data, H, 3, 3, 0.5), [0, 1, 2]);
  assert.deepEqual(unitsAbove(data, H, 0, 9, 0.5), []);
  assert.deepEqual(firingRuns(data, H, T, [0, 2], 0.5), [[2, 4], [7, 8]]);
  assert.deepEqual(firingRuns(data, H, T, [2], 0.5), [[2, 5], [7, 9]]); // a run reaching the end
  assert.deepEqual(firingRuns(data, H, T, [], 0.5), []);
  assert.deepEqual(firingRuns(data, H, T, [0], 0.95), []);
});
