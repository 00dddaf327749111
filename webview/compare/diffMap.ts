// <seqlens-diff-map>: a [rows, cols] map of one side (`a` only: the background to the accent, min
// to max) or of the difference of two (b − a: blue where the second is lower, red where higher,
// the background where they agree). Attention maps are [T, T]; recurrent states [T, units],
// drawn units down and steps across. Hover names the cell and both values.
import { css, html, LitElement } from "lit";
import { cssVar, parseColor, ThemeRepaint } from "../shared/theme";

export class DiffMap extends LitElement {
  static override properties = { a: { attribute: false }, b: { attribute: false }, rows: { type: Number }, cols: { type: Number }, transpose: { type: Boolean }, tip: { state: true } };
  a?: Float32Array;
  b?: Float32Array;
  rows = 0;
  cols = 0;
  /** Draw [rows, cols] data as cols down and rows across (steps across for a recurrent state). */
  transpose = false;
  tip = "";

  static override styles = css`
    :host { display: block; }
    canvas { width: 100%; max-width: 320px; image-rendering: pixelated; border: 1px solid var(--vscode-panel-border, transparent); }
    .tip { min-height: 1.4em; font-family: var(--vscode-editor-font-family); font-size: 11px; }
  `;

  constructor() {
    super();
    new ThemeRepaint(this, () => this.paint());
  }

  override render() {
    return html`<canvas class="map" role="img" aria-label=${this.b ? "Difference map" : "Map"} @mousemove=${(e: MouseEvent) => this.onMove(e)}></canvas><div class="tip">${this.tip}</div>`;
  }

  override updated(): void {
    this.paint();
  }

  private paint(): void {
    const c = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.map");
    const { rows, cols, a, b } = this;
    if (!c || !a || rows === 0 || cols === 0 || a.length < rows * cols || (b && b.length < rows * cols)) return;
    const [W, H] = this.transpose ? [rows, cols] : [cols, rows];
    c.width = W;
    c.height = H;
    const ctx = c.getContext("2d")!;
    const img = ctx.createImageData(W, H);
    const bg = parseColor(cssVar("--vscode-editor-background", "#1e1e1e"));
    const neg = parseColor(cssVar("--vscode-charts-blue", "#3794ff"));
    const pos = parseColor(cssVar(b ? "--vscode-charts-red" : "--vscode-charts-orange", b ? "#f14c4c" : "#d18616"));
    const n = rows * cols;
    let lo = Infinity;
    let hi = -Infinity;
    let max = 1e-9;
    for (let i = 0; i < n; i++) {
      if (b) max = Math.max(max, Math.abs(b[i] - a[i]));
      else {
        lo = Math.min(lo, a[i]);
        hi = Math.max(hi, a[i]);
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let col = 0; col < cols; col++) {
        const i = r * cols + col;
        let k: number;
        let to = pos;
        if (b) {
          const d = (b[i] - a[i]) / max;
          to = d < 0 ? neg : pos;
          k = Math.sqrt(Math.abs(d));
        } else k = hi > lo ? (a[i] - lo) / (hi - lo) : 0;
        const px = this.transpose ? col * W + r : i;
        for (let ch = 0; ch < 3; ch++) img.data[4 * px + ch] = Math.round(bg[ch] + (to[ch] - bg[ch]) * k);
        img.data[4 * px + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    this.dataset.max = (b ? max : hi - lo).toPrecision(3);
  }

  private onMove(e: MouseEvent): void {
    const c = e.currentTarget as HTMLCanvasElement;
    const rect = c.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * c.width);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * c.height);
    const [r, col] = this.transpose ? [x, y] : [y, x];
    if (!this.a || r < 0 || col < 0 || r >= this.rows || col >= this.cols) return;
    const i = r * this.cols + col;
    const where = this.transpose ? `step ${r}, unit ${col}` : `query ${r}, key ${col}`;
    this.tip = this.b ? `${where}: ${this.a[i].toFixed(3)} → ${this.b[i].toFixed(3)} (${this.b[i] - this.a[i] >= 0 ? "+" : ""}${(this.b[i] - this.a[i]).toFixed(3)})` : `${where}: ${this.a[i].toFixed(3)}`;
  }
}

customElements.define("seqlens-diff-map", DiffMap);
