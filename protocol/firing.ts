// LSTMVis-style unit selection on a [T, H] gate or state: the units that stay above a threshold over
// a brushed span of steps, and the other places where those units all fire together.

/** Units u whose value stays above `threshold` at every step of [from, to]. */
export function unitsAbove(data: Float32Array, H: number, from: number, to: number, threshold: number): number[] {
  const picked: number[] = [];
  for (let u = 0; u < H; u++) {
    let on = true;
    for (let t = from; t <= to && on; t++) on = data[t * H + u] > threshold;
    if (on) picked.push(u);
  }
  return picked;
}

/** Maximal runs of steps where every picked unit is above the threshold. */
export function firingRuns(data: Float32Array, H: number, T: number, units: number[], threshold: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let t = 0; t <= T; t++) {
    const on = t < T && units.length > 0 && units.every((u) => data[t * H + u] > threshold);
    if (on && start < 0) start = t;
    if (!on && start >= 0) {
      runs.push([start, t - 1]);
      start = -1;
    }
  }
  return runs;
}

