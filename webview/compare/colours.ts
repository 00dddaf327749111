// The loss-difference colours of the Compare panel's token strip: the diverging ramp of the maps
// (the theme's blue where B predicts better, its orange where worse, the editor background where they
// agree), but never so strong that the token's text on it falls under 4.5:1 (WCAG AA). The strip's
// legend is drawn from the same function, so the two cannot disagree.
import { contrast, mix, type RGB } from "../../protocol/contrast";
import { cssVar, parseColor } from "../shared/theme";

/** The largest k in [0, 1] for which text `fg` on mix(bg, accent, k) keeps contrast `min` (0 when bg alone does not). */
export function strongestMix(fg: RGB, bg: RGB, accent: RGB, min: number): number {
  if (contrast(fg, bg) < min) return 0;
  if (contrast(fg, accent) >= min) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 20; i++) {
    const k = (lo + hi) / 2;
    if (contrast(fg, mix(bg, accent, k)) >= min) lo = k;
    else hi = k;
  }
  return lo;
}

/** Loss differences at or beyond this many bits get the strongest colour. */
export const DELTA_BOUND = 4;
/** What the strip's colours keep for its text: AA with a margin for rounding. */
const MIN_CONTRAST = 4.6;

export interface DeltaColours {
  /** The background for a loss difference (bits, B − A); "" for none (no difference, or no loss). */
  (delta: number | null): string;
}

/** The strip's colours under the current theme (read when called: call again after a theme change). */
export function deltaColours(): DeltaColours {
  const bg = parseColor(cssVar("--vscode-editor-background", "#1e1e1e"));
  const fg = parseColor(cssVar("--vscode-editor-foreground", cssVar("--vscode-foreground", "#cccccc")));
  const neg = parseColor(cssVar("--vscode-charts-blue", "#3794ff"));
  const pos = parseColor(cssVar("--vscode-charts-orange", "#d18616"));
  const cap = { neg: strongestMix(fg, bg, neg, MIN_CONTRAST), pos: strongestMix(fg, bg, pos, MIN_CONTRAST) };
  return (delta) => {
    if (delta === null || !Number.isFinite(delta) || delta === 0) return "";
    // square root: half a bit already shows; DELTA_BOUND bits and more are the strongest
    const t = Math.sqrt(Math.min(1, Math.abs(delta) / DELTA_BOUND));
    const c = delta < 0 ? mix(bg, neg, t * cap.neg) : mix(bg, pos, t * cap.pos);
    return `rgb(${c.join(", ")})`;
  };
}
