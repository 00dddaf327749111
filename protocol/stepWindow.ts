// A long series (or a character model's text) is read a window at a time: at most `maxSteps`
// steps, the last ones unless an earlier window (counted back from the end: 0 is the last) or a
// first step is asked for. The arithmetic both sides use: the engine to read a window, the Gates
// panel to offer the windows either side of the one it shows.
import type { StepWindow } from "./gates";

const fmt = (n: number) => n.toLocaleString("en-US");

/** The rows [from, to) of `total` shown; window `index` of `count` (0: the last): the protocol's window without its words. */
export type SeriesWindow = Omit<StepWindow, "unit" | "notice">;

export interface WindowOptions {
  /** Most rows (steps) read at once; undefined: every row. */
  maxSteps?: number;
  /** Which window: 0 the last `maxSteps` rows, 1 the ones before, ... */
  window?: number;
  /** Or the first row (0-based) of the window. */
  fromStep?: number;
}

/**
 * The window of a series of `total` rows; a sentence saying what is wrong with the options when
 * they name no window (a window before the first row, a first row past the last).
 */
export function seriesWindow(total: number, o: WindowOptions): SeriesWindow | string {
  const size = o.maxSteps ?? Math.max(total, 1);
  if (!Number.isInteger(size) || size < 1) return `The most steps at once must be a whole number of at least 1 (got ${o.maxSteps}).`;
  const count = Math.max(1, Math.ceil(total / size));
  if (o.window !== undefined && o.fromStep !== undefined) return "Give a window or a first step, not both.";
  if (o.fromStep !== undefined) {
    if (!Number.isInteger(o.fromStep) || o.fromStep < 0) return `The first step must be a whole number of at least 0 (got ${o.fromStep}).`;
    if (o.fromStep >= total) return `The first step ${fmt(o.fromStep)} is past the last row: the series has ${fmt(total)} rows (steps 0 to ${fmt(total - 1)}).`;
    return { from: o.fromStep, to: Math.min(total, o.fromStep + size), total, count, size };
  }
  const index = o.window ?? 0;
  if (!Number.isInteger(index) || index < 0) return `The window must be a whole number of at least 0 (got ${o.window}); 0 is the last ${fmt(size)} rows.`;
  if (index >= count) return `There is no window ${index}: the series has ${fmt(total)} rows, ${count === 1 ? "one window" : `${fmt(count)} windows (0 to ${fmt(count - 1)})`} of up to ${fmt(size)} rows, 0 the last.`;
  const to = total - index * size;
  return { from: Math.max(0, to - size), to, total, index, count, size };
}

/** Whether the window leaves rows out. */
export function isPartial(w: SeriesWindow): boolean {
  return w.from > 0 || w.to < w.total;
}
