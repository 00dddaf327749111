// How a panel turns a value into a colour, and what its legend says. One place for every colour map
// (attention heatmaps and thumbnails, gate maps, difference maps, the logit-lens grid): a scale maps
// a value to t in [0, 1] (t = 0 is the background), the theme's ramp turns t into a colour, and the
// same scale gives the legend its ticks and units, so a map and its legend cannot disagree.

/** The attention scales a user picks from (BertViz's heatmaps are linear; at 85+ tokens most weights
 *  are ~1/T and a linear map is nearly blank, hence the others). */
export type ScaleKind = "linear" | "sqrt" | "log" | "row";

export const SCALE_KINDS: { kind: ScaleKind; label: string }[] = [
  { kind: "log", label: "log" },
  { kind: "sqrt", label: "square root" },
  { kind: "linear", label: "linear" },
  { kind: "row", label: "per-row max" },
];

export interface Tick {
  /** Where on the legend, 0 (background end) to 1 (strong end). */
  t: number;
  label: string;
}

export interface ColorScale {
  kind: ScaleKind | "diverging";
  /** t in [0, 1] for value v in row `row` (only the per-row scale reads the row). For a diverging
   *  scale t is in [-1, 1]: negative toward the second colour. */
  t(v: number, row?: number): number;
  ticks: Tick[];
  /** What the values are, for the legend's title ("attention weight", "fraction of row max"). */
  units: string;
}

/** Smallest weight the log scale separates from zero. */
export const LOG_FLOOR = 1e-3;

function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1);
  if (a >= 0.01) return String(+v.toFixed(2));
  return v.toExponential(0).replace("e-", "e−");
}

/**
 * A scale for values in [0, max] (attention weights: max = 1). `rows`/`cols` give the matrix shape
 * for the per-row scale, which divides each value by its row's largest.
 */
export function weightScale(kind: ScaleKind, values?: Float32Array, rows = 0, cols = 0, max = 1, units = "attention weight"): ColorScale {
  const clamp = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x);
  switch (kind) {
    case "linear":
      return { kind, units, t: (v) => clamp(v / max), ticks: [0, 0.25, 0.5, 0.75, 1].map((f) => ({ t: f, label: fmt(f * max) })) };
    case "sqrt":
      return { kind, units: `${units} (square root)`, t: (v) => clamp(Math.sqrt(Math.max(0, v) / max)), ticks: [0, 0.1, 0.25, 0.5, 1].map((f) => ({ t: Math.sqrt(f), label: fmt(f * max) })) };
    case "log": {
      const floor = LOG_FLOOR * max;
      const span = Math.log10(max / floor);
      const ticks: Tick[] = [];
      for (let d = 0; d <= span + 1e-9; d++) ticks.push({ t: d / span, label: fmt(floor * 10 ** d) });
      return { kind, units: `${units} (log)`, t: (v) => (v <= floor ? 0 : clamp(Math.log10(v / floor) / span)), ticks };
    }
    case "row": {
      const rowMax = new Float32Array(rows);
      if (values && cols > 0)
        for (let r = 0; r < rows; r++) {
          let m = 0;
          for (let c = 0; c < cols; c++) m = Math.max(m, values[r * cols + c]);
          rowMax[r] = m;
        }
      return { kind, units: `${units} ÷ its row's max`, t: (v, row = 0) => (rowMax[row] > 0 ? clamp(v / rowMax[row]) : 0), ticks: [0, 0.25, 0.5, 0.75, 1].map((f) => ({ t: f, label: fmt(f) })) };
    }
  }
}

/** A scale for signed values in [-bound, bound] (differences), t in [-1, 1]. */
export function divergingScale(bound: number, units: string): ColorScale {
  const b = bound > 0 ? bound : 1;
  return {
    kind: "diverging",
    units,
    t: (v) => Math.max(-1, Math.min(1, v / b)),
    ticks: [-1, -0.5, 0, 0.5, 1].map((f) => ({ t: (f + 1) / 2, label: (f > 0 ? "+" : "") + fmt(f * b).replace(/^-/, "−") })),
  };
}

/** A robust upper bound: the q-quantile of |values| (so one outlier does not wash out the map). */
export function quantileAbs(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const step = Math.max(1, Math.floor(n / 20000)); // a sample is enough for a bound
  const a: number[] = [];
  for (let i = 0; i < n; i += step) if (Number.isFinite(values[i])) a.push(Math.abs(values[i]));
  a.sort((x, y) => x - y);
  return a.length ? a[Math.min(a.length - 1, Math.floor(q * (a.length - 1)))] : 0;
}
