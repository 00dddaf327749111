// All layers x all heads as thumbnails (BertViz's model view). Click one to open it in the heatmap.
import { css, html, LitElement, PropertyValues } from "lit";
import { themeRamp, ThemeRepaint } from "../shared/theme";

export class AttentionOverview extends LitElement {
  static override properties = { layers: { type: Number }, heads: { type: Number }, slices: { attribute: false }, active: { attribute: false } };
  layers = 0;
  heads = 0;
  /** key "layer,head" -> [T, T] weights */
  slices = new Map<string, Float32Array>();
  active: [number, number] = [0, 0];

  static override styles = css`
    :host { display: block; }
    .grid { display: grid; gap: 4px; align-items: center; justify-items: center; }
    .lab { font-size: 11px; opacity: 0.8; }
    button { padding: 0; border: 1px solid var(--vscode-panel-border, transparent); background: none; cursor: pointer; line-height: 0; }
    button.active { outline: 2px solid var(--vscode-focusBorder); }
    button:focus-visible { outline: 2px solid var(--vscode-focusBorder); }
    canvas { width: 56px; height: 56px; image-rendering: pixelated; }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());
  override updated(changed: PropertyValues): void {
    if (changed.has("slices")) this.paint();
  }

  paint(): void {
    const ramp = themeRamp();
    for (const canvas of this.renderRoot.querySelectorAll<HTMLCanvasElement>("canvas[data-key]")) {
      const w = this.slices.get(canvas.dataset.key!);
      if (!w) continue;
      const T = Math.round(Math.sqrt(w.length));
      canvas.width = T;
      canvas.height = T;
      const ctx = canvas.getContext("2d")!;
      const img = ctx.createImageData(T, T);
      for (let i = 0; i < T * T; i++) {
        const [r, g, b] = ramp(w[i]);
        img.data.set([r, g, b, 255], i * 4);
      }
      ctx.putImageData(img, 0, 0);
    }
  }

  private open(layer: number, head: number) {
    this.dispatchEvent(new CustomEvent("open-head", { detail: { layer, head }, bubbles: true, composed: true }));
  }

  override render() {
    const cols = `2.5em repeat(${this.heads}, auto)`;
    const cells = [];
    cells.push(html`<span></span>`);
    for (let h = 0; h < this.heads; h++) cells.push(html`<span class="lab">head ${h}</span>`);
    for (let l = 0; l < this.layers; l++) {
      cells.push(html`<span class="lab">L${l}</span>`);
      for (let h = 0; h < this.heads; h++) {
        const isActive = this.active[0] === l && this.active[1] === h;
        cells.push(html`<button class=${isActive ? "active" : ""} title=${`layer ${l}, head ${h}`} aria-label=${`Open layer ${l} head ${h}`} @click=${() => this.open(l, h)}><canvas data-key=${`${l},${h}`}></canvas></button>`);
      }
    }
    return html`<div class="grid" style="grid-template-columns:${cols}">${cells}</div>`;
  }
}
customElements.define("seqlens-attention-overview", AttentionOverview);
