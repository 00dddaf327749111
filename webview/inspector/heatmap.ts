// Attention heatmap for one layer and head on a canvas: query rows x key columns, with a colour
// legend; hover shows the weight and both tokens; the selected query row is outlined.
import { css, html, LitElement, PropertyValues } from "lit";
import type { TokenInfo } from "../../engine/protocol";
import { themeRamp } from "./theme";
import { visibleWhitespace } from "./tokenStrip";

export class AttentionHeatmap extends LitElement {
  static override properties = { weights: { attribute: false }, tokens: { attribute: false }, selected: { type: Number }, hover: { state: true } };
  weights?: Float32Array; // [T, T] row-major: query x key
  tokens: TokenInfo[] = [];
  selected = -1;
  hover?: { q: number; k: number; w: number };

  static override styles = css`
    :host { display: block; }
    .wrap { display: flex; gap: 12px; align-items: flex-start; }
    canvas { image-rendering: pixelated; border: 1px solid var(--vscode-panel-border, transparent); cursor: crosshair; }
    .legend { display: flex; flex-direction: column; align-items: center; font-size: 11px; gap: 2px; min-width: 2.5em; }
    .legend canvas { border: 1px solid var(--vscode-panel-border, transparent); cursor: default; }
    .tip { min-height: 1.4em; font-family: var(--vscode-editor-font-family); font-size: 12px; margin-top: 4px; }
  `;

  private themeObserver?: MutationObserver;

  override connectedCallback(): void {
    super.connectedCallback();
    // VS Code changes the body's class and the root's theme variables on a theme switch: repaint.
    this.themeObserver = new MutationObserver(() => this.paint());
    this.themeObserver.observe(document.body, { attributes: true, attributeFilter: ["class"] });
    this.themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ["style", "class"] });
  }

  override disconnectedCallback(): void {
    this.themeObserver?.disconnect();
    super.disconnectedCallback();
  }

  private get size(): number {
    return this.tokens.length;
  }

  /** Pixels per cell: the map fits in ~480 px, cells at most 16 px. */
  private get cell(): number {
    return Math.max(1, Math.min(16, Math.floor(480 / Math.max(1, this.size))));
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("weights") || changed.has("tokens") || changed.has("selected")) this.paint();
  }

  paint(): void {
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.map");
    const legend = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.legend-bar");
    const T = this.size;
    if (!canvas || !this.weights || T === 0 || this.weights.length !== T * T) return;
    const c = this.cell;
    canvas.width = T * c;
    canvas.height = T * c;
    const ctx = canvas.getContext("2d")!;
    const img = ctx.createImageData(T * c, T * c);
    const ramp = themeRamp();
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const [r, g, b] = ramp(this.weights[q * T + k]);
        for (let y = 0; y < c; y++) {
          let o = ((q * c + y) * T * c + k * c) * 4;
          for (let x = 0; x < c; x++, o += 4) {
            img.data[o] = r;
            img.data[o + 1] = g;
            img.data[o + 2] = b;
            img.data[o + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    document.body.dataset.heatmapPaintedAt = String(Date.now()); // read by the end-to-end bench
    if (this.selected >= 0 && this.selected < T) {
      ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue("--vscode-focusBorder").trim() || "#007fd4";
      ctx.lineWidth = Math.max(1, Math.min(2, c / 4));
      ctx.strokeRect(0.5, this.selected * c + 0.5, T * c - 1, c - 1);
    }
    if (legend) {
      legend.width = 12;
      legend.height = 160;
      const l = legend.getContext("2d")!;
      for (let y = 0; y < 160; y++) {
        l.fillStyle = ramp.css(1 - y / 159);
        l.fillRect(0, y, 12, 1);
      }
    }
  }

  private onMove(e: MouseEvent) {
    if (!this.weights) return;
    const c = this.cell;
    const q = Math.floor(e.offsetY / c);
    const k = Math.floor(e.offsetX / c);
    if (q < 0 || k < 0 || q >= this.size || k >= this.size) this.hover = undefined;
    else this.hover = { q, k, w: this.weights[q * this.size + k] };
  }

  private onClick(e: MouseEvent) {
    const q = Math.floor(e.offsetY / this.cell);
    if (q >= 0 && q < this.size) this.dispatchEvent(new CustomEvent("token-select", { detail: { index: q }, bubbles: true, composed: true }));
  }

  override render() {
    const h = this.hover;
    const tok = (i: number) => JSON.stringify(visibleWhitespace(this.tokens[i]?.text ?? ""));
    return html`<div class="wrap">
        <canvas class="map" role="img" aria-label="Attention weights, query rows by key columns" @mousemove=${this.onMove} @mouseleave=${() => (this.hover = undefined)} @click=${this.onClick}></canvas>
        <div class="legend" aria-hidden="true"><span>1.0</span><canvas class="legend-bar"></canvas><span>0.0</span></div>
      </div>
      <div class="tip" aria-live="polite">${h ? html`query #${h.q} ${tok(h.q)} → key #${h.k} ${tok(h.k)}: <b>${h.w.toFixed(4)}</b>` : html`&nbsp;`}</div>`;
  }
}
customElements.define("seqlens-attention-heatmap", AttentionHeatmap);
