// What the Gates panel says about a long selection shown a window at a time, and the windows it
// offers: window k holds the steps [total - (k + 1)·size, total - k·size) (the first one fewer),
// counted back from the end, 0 the last, as the engine numbers them (protocol/stepWindow.ts, which both use). And
// which of the host's messages are a cancel, shown as a plain notice rather than an error.
import type { StepWindow } from "../../protocol/gates";
import { seriesWindow } from "../../protocol/stepWindow";

export interface WindowOffer {
  /** The window to ask for, counted back from the end. */
  window: number;
  /** How many steps it holds. */
  steps: number;
  label: string;
}

export interface WindowNav {
  /** A sentence: which steps are shown, of how many. */
  notice: string;
  earlier?: WindowOffer;
  later?: WindowOffer;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** The notice for the window shown and the windows either side of it. */
export function windowNav(w: StepWindow): WindowNav {
  const unit = w.unit;
  const n = w.to - w.from;
  const Unit = unit === "rows" ? "Rows" : "Characters";
  const which = w.index === undefined ? `${fmt(n)} from step ${fmt(w.from)}` : w.index === 0 ? `the last ${fmt(n)}` : `window ${fmt(w.index + 1)} of ${fmt(w.count)} counted from the end`;
  const notice = `${Unit} ${fmt(w.from + 1)}–${fmt(w.to)} of ${fmt(w.total)} shown (${which}): the model reads at most ${fmt(w.size)} ${unit} at once.`;
  // the window's number; one asked for by its first step is placed by the window that holds its last step
  const k = w.index ?? Math.floor((w.total - w.to) / w.size);
  const offer = (j: number, label: (steps: number) => string): WindowOffer | undefined => {
    if (j < 0 || j >= w.count) return undefined;
    const s = seriesWindow(w.total, { maxSteps: w.size, window: j });
    return typeof s === "string" || s.to <= s.from ? undefined : { window: j, steps: s.to - s.from, label: label(s.to - s.from) };
  };
  return {
    notice,
    ...(w.from > 0 ? { earlier: offer(k + 1, (s) => `◀ earlier ${fmt(s)} ${unit}`) } : {}),
    ...(w.to < w.total ? { later: offer(k - 1, (s) => `later ${fmt(s)} ${unit} ▶`) } : {}),
  };
}
