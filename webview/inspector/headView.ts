// Head view: the tokens twice, queries on the left and keys on the right, with lines from the
// hovered (or selected) query to the keys it attends to, opacity by weight.
import { css, html, LitElement, PropertyValues } from "lit";
import type { TokenInfo } from "../../protocol/basics";
import { cssVar, ThemeRepaint } from "../shared/theme";
import { visibleWhitespace } from "../../protocol/text";

const ROW = 16;

export class HeadView extends LitElement {
  static override properties = { weights: { attribute: false }, tokens: { attribute: false }, selected: { type: Number }, hovered: { state: true } };
  weights?: Float32Array;
  tokens: TokenInfo[] = [];
  selected = -1;
  hovered = -1;

  static override styles = css`
    :host { display: block; }
    canvas { display: block; cursor: pointer; }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());
  override updated(changed: PropertyValues): void {
    if (changed.has("weights") || changed.has("tokens") || changed.has("selected") || changed.has("hovered")) this.paint();
  }

  paint(): void {
    const canvas = this.renderRoot.querySelector("canvas");
    const T = this.tokens.length;
    if (!canvas || T === 0) return;
    const width = 420;
    const dpr = window.devicePixelRatio || 1;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${T * ROW + 4}px`;
    canvas.width = width * dpr;
    canvas.height = (T * ROW + 4) * dpr;
    const ctx = canvas.getContext("2d")!;
    ctx.scale(dpr, dpr);
    const fg = cssVar("--vscode-editor-foreground", "#ccc");
    const accent = cssVar("--vscode-charts-orange", cssVar("--vscode-focusBorder", "#d18616"));
    ctx.font = `12px ${cssVar("--vscode-editor-font-family", "monospace")}`;
    ctx.textBaseline = "middle";
    const leftX = 130;
    const rightX = 290;
    const q = this.hovered >= 0 ? this.hovered : this.selected;
    if (this.weights && q >= 0 && q < T) {
      ctx.strokeStyle = accent;
      for (let k = 0; k <= q; k++) {
        const w = this.weights[q * T + k];
        if (w < 0.005) continue;
        ctx.globalAlpha = Math.min(1, 0.35 + 0.65 * Math.sqrt(w)); // sqrt and a floor: weak links stay visible on light themes too, order kept
        ctx.lineWidth = 1.5 + 3 * w;
        ctx.beginPath();
        ctx.moveTo(leftX + 4, q * ROW + ROW / 2 + 2);
        ctx.lineTo(rightX - 4, k * ROW + ROW / 2 + 2);
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
    }
    ctx.fillStyle = fg;
    this.tokens.forEach((t, i) => {
      const label = visibleWhitespace(t.text).slice(0, 16);
      ctx.globalAlpha = q < 0 || i === q ? 1 : 0.75;
      ctx.textAlign = "right";
      ctx.fillText(label, leftX, i * ROW + ROW / 2 + 2);
      ctx.textAlign = "left";
      ctx.fillText(label, rightX, i * ROW + ROW / 2 + 2);
    });
    ctx.globalAlpha = 1;
  }

  private rowAt(e: MouseEvent): number {
    const i = Math.floor((e.offsetY - 2) / ROW);
    return i >= 0 && i < this.tokens.length && e.offsetX < 215 ? i : -1;
  }

  override render() {
    return html`<canvas
      role="img"
      aria-label="Head view: lines from a query token to the keys it attends to"
      @mousemove=${(e: MouseEvent) => (this.hovered = this.rowAt(e))}
      @mouseleave=${() => (this.hovered = -1)}
      @click=${(e: MouseEvent) => {
        const i = this.rowAt(e);
        if (i >= 0) this.dispatchEvent(new CustomEvent("token-select", { detail: { index: i }, bubbles: true, composed: true }));
      }}
    ></canvas>`;
  }
}
customElements.define("seqlens-head-view", HeadView);
