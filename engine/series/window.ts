// A long series is shown a window at a time: at most `maxSteps` rows, the last ones unless an
// earlier window (counted back from the end: 0 is the last) or a first row is asked for.
import { isPartial, seriesWindow, type SeriesWindow, type WindowOptions } from "../../protocol/stepWindow";

export { isPartial, seriesWindow, type SeriesWindow, type WindowOptions };
export { DEFAULT_MAX_STEPS } from "../../protocol/limits";

const fmt = (n: number) => n.toLocaleString("en-US");

/** How a caller asks for another window: by its number (0: the last), or by its first step. */
export interface WindowAsk {
  window: (k: number) => string;
  fromStep: (step: number) => string;
}

/** The engine's words: `window 3`, `fromStep 40000`. */
export const ENGINE_ASK: WindowAsk = { window: (k) => `window ${k}`, fromStep: (s) => `fromStep ${s}` };

/**
 * A sentence naming the window: "rows 1,980,001–2,000,000 of 2,000,000 (the last 20,000); earlier
 * rows: --window 1 to --window 99". `unit` is "rows" or "characters".
 */
export function windowNotice(w: SeriesWindow, ask: WindowAsk = ENGINE_ASK, unit = "rows"): string {
  const span = `${unit} ${fmt(w.from + 1)}–${fmt(w.to)} of ${fmt(w.total)}`;
  const n = fmt(w.to - w.from);
  const parts: string[] = [];
  if (w.index !== undefined) {
    const range = (a: number, b: number) => (a === b ? ask.window(a) : `${ask.window(a)} to ${ask.window(b)}`);
    if (w.from > 0) parts.push(`earlier ${unit}: ${range(w.index + 1, w.count - 1)}`);
    if (w.index > 0) parts.push(`later ${unit}: ${range(w.index - 1, 0)}`);
    const which = w.index === 0 ? `the last ${n}` : `window ${w.index}: ${n} ${unit} counted back from the end, 0 the last`;
    return `${span} (${which})${parts.length ? `; ${parts.join("; ")}` : ""}`;
  }
  if (w.from > 0) parts.push(`earlier ${unit}: ${ask.fromStep(Math.max(0, w.from - w.size))}`);
  if (w.to < w.total) parts.push(`later ${unit}: ${ask.fromStep(w.to)}`);
  return `${span} (${n} from step ${fmt(w.from)})${parts.length ? `; ${parts.join("; ")}` : ""}`;
}
