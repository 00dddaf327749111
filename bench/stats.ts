// What the benches share: the median of several runs (the machine is noisy), and the memory traffic
// of a large copy (the bound a decode step that reads every weight once cannot beat).
export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Memory traffic of a copy of 256 MiB (bytes read plus bytes written, per second), median of several copies. */
export function copyBandwidth(): number {
  const n = 64 * 2 ** 20;
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n);
  b.set(a);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    b.set(a);
    times.push(performance.now() - t0);
  }
  return (2 * 4 * n) / (median(times) / 1000);
}
