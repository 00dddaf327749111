// <seqlens-diff-map>: the difference of two [T, T] attention maps (b − a), one pixel block per
// cell, blue where the second model attends less, red where it attends more, the background where
// they agree. Hover names the cell and both weights.
import { css, html, LitElement } from "lit";
import { cssVar, parseColor, ThemeRepaint } from "../shared/theme";

export class DiffMap extends LitElement {
  static override properties = { a: { attribute: false }, b: { attribute: false }, size: { type: Number }, tip: { state: true } };
  a?: Float32Array;
  b?: Float32Array;
  size = 0;
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
    return html`<canvas class="map" role="img" aria-label="Attention difference" @mousemove=${(e: MouseEvent) => this.onMove(e)}></canvas><div class="tip">${this.tip}</div>`;
  }

  override updated(): void {
    this.paint();
  }

  private paint(): void {
    const c = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.map");
    const T = this.size;
    if (!c || !this.a || !this.b || T === 0) return;
    c.width = T;
    c.height = T;
    const ctx = c.getContext("2d")!;
    const img = ctx.createImageData(T, T);
    const bg = parseColor(cssVar("--vscode-editor-background", "#1e1e1e"));
    const neg = parseColor(cssVar("--vscode-charts-blue", "#3794ff"));
    const pos = parseColor(cssVar("--vscode-charts-red", "#f14c4c"));
    let max = 1e-9;
    for (let i = 0; i < T * T; i++) max = Math.max(max, Math.abs(this.b[i] - this.a[i]));
    for (let i = 0; i < T * T; i++) {
      const d = (this.b[i] - this.a[i]) / max;
      const to = d < 0 ? neg : pos;
      const k = Math.sqrt(Math.abs(d));
      for (let ch = 0; ch < 3; ch++) img.data[4 * i + ch] = Math.round(bg[ch] + (to[ch] - bg[ch]) * k);
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    this.dataset.max = max.toPrecision(3);
  }

  private onMove(e: MouseEvent): void {
    const c = e.currentTarget as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    const T = this.size;
    const k = Math.floor(((e.clientX - r.left) / r.width) * T);
    const q = Math.floor(((e.clientY - r.top) / r.height) * T);
    if (!this.a || !this.b || q < 0 || k < 0 || q >= T || k >= T) return;
    const i = q * T + k;
    this.tip = `query ${q}, key ${k}: ${this.a[i].toFixed(3)} → ${this.b[i].toFixed(3)} (${this.b[i] - this.a[i] >= 0 ? "+" : ""}${(this.b[i] - this.a[i]).toFixed(3)})`;
  }
}

customElements.define("seqlens-diff-map", DiffMap);
