import type { ReactiveController, ReactiveControllerHost } from "lit";

// Colours for canvas drawing, read from VS Code's theme variables so dark, light and high-contrast
// themes all work. Weights map from the editor background (0) to a strong accent (1).

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export function parseColor(c: string): [number, number, number] {
  const ctx = document.createElement("canvas").getContext("2d")!;
  ctx.fillStyle = "#000";
  ctx.fillStyle = c;
  const s = ctx.fillStyle as string; // normalised to #rrggbb or rgba(...)
  if (s.startsWith("#")) return [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16)];
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s);
  return m ? [+m[1], +m[2], +m[3]] : [0, 0, 0];
}

export interface Ramp {
  (t: number): [number, number, number];
  css(t: number): string;
}

export function themeRamp(): Ramp {
  const from = parseColor(cssVar("--vscode-editor-background", "#1e1e1e"));
  const to = parseColor(cssVar("--vscode-charts-orange", cssVar("--vscode-focusBorder", "#d18616")));
  const f = ((t: number) => {
    const k = Math.max(0, Math.min(1, t));
    return [0, 1, 2].map((i) => Math.round(from[i] + (to[i] - from[i]) * k)) as [number, number, number];
  }) as Ramp;
  f.css = (t: number) => `rgb(${f(t).join(",")})`;
  return f;
}

/**
 * Calls `repaint` while its host element is connected and VS Code switches the theme (it changes the
 * body's class and the root's variables). Canvases read their colours when they paint, so they repaint.
 */
export class ThemeRepaint implements ReactiveController {
  private observer?: MutationObserver;
  constructor(
    host: ReactiveControllerHost,
    private readonly repaint: () => void,
  ) {
    host.addController(this);
  }
  hostConnected(): void {
    this.observer = new MutationObserver(() => this.repaint());
    this.observer.observe(document.body, { attributes: true, attributeFilter: ["class"] });
    this.observer.observe(document.documentElement, { attributes: true, attributeFilter: ["style", "class"] });
  }
  hostDisconnected(): void {
    this.observer?.disconnect();
  }
}

/**
 * A ramp for signed values, t in [-1, 1]: the theme's blue at -1, the editor background at 0, its
 * orange at +1 (difference maps: which model is better where).
 */
export function divergingRamp(): Ramp {
  const mid = parseColor(cssVar("--vscode-editor-background", "#1e1e1e"));
  const neg = parseColor(cssVar("--vscode-charts-blue", "#3794ff"));
  const pos = parseColor(cssVar("--vscode-charts-orange", "#d18616"));
  const f = ((t: number) => {
    const k = Math.max(-1, Math.min(1, t));
    const to = k < 0 ? neg : pos;
    const a = Math.abs(k);
    return [0, 1, 2].map((i) => Math.round(mid[i] + (to[i] - mid[i]) * a)) as [number, number, number];
  }) as Ramp;
  f.css = (t: number) => `rgb(${f(t).join(",")})`;
  return f;
}

/** Sets the host's `width` to its own client width whenever that changes while it is connected (views that lay out to the panel). */
export class HostWidth implements ReactiveController {
  private observer?: ResizeObserver;
  constructor(private readonly host: ReactiveControllerHost & HTMLElement & { width: number }) {
    host.addController(this);
  }
  hostConnected(): void {
    this.observer = new ResizeObserver(() => {
      const w = this.host.clientWidth;
      if (w !== this.host.width) this.host.width = w;
    });
    this.observer.observe(this.host);
  }
  hostDisconnected(): void {
    this.observer?.disconnect();
  }
}
