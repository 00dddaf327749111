// Head view: the tokens twice, queries on the left and keys on the right, with lines from the
// hovered (or selected) query to the keys it attends to. A line's colour is the weight in the colour
// scale the heatmap uses (the theme's accent over the background, as the legend shows). The view fits
// the panel's width and scrolls on its own; a selected token is scrolled into view with its lines.
import { css, html, LitElement, PropertyValues } from "lit";
import type { TokenInfo } from "../../protocol/basics";
import { cssVar, themeRamp, ThemeRepaint, HostWidth } from "../shared/theme";
import { visibleWhitespace } from "../../protocol/text";
import { weightScale, type ColorScale, type ScaleKind } from "../shared/colorScale";
import "../components/colorLegend";

const ROW = 16;
/** Lines fainter than this (in the scale's t) are not drawn. */
const T_MIN = 0.02;

interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
  text: string;
}

export class HeadView extends LitElement {
  static override properties = {
    weights: { attribute: false },
    tokens: { attribute: false },
    selected: { type: Number },
    scaleKind: { type: String, attribute: "scale" },
    hovered: { state: true },
    width: { state: true },
  };
  weights?: Float32Array;
  tokens: TokenInfo[] = [];
  selected = -1;
  scaleKind: ScaleKind = "log";
  hovered = -1;
  /** The panel's width available to the view. */
  width = 0;
  scale: ColorScale = weightScale("log");
  /** The selected row was scrolled into view for these weights and this selection. */
  private revealed?: { weights: Float32Array; selected: number };

  static override styles = css`
    :host { display: block; }
    .legend { margin: 4px 0 6px; }
    .scroll { position: relative; overflow: auto; max-height: max(240px, 70vh); max-width: 100%; }
    canvas { display: block; cursor: pointer; }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());

  private readonly hostWidth = new HostWidth(this);

  /** Canvas width: the panel's, within 260-560 px (less the scroll bar's room). */
  private get canvasWidth(): number {
    return Math.max(260, Math.min(560, (this.width || 420) - 16));
  }

  /** The query/key label columns' width and the x of each column's text edge. */
  private get columns(): { labelW: number; leftX: number; rightX: number } {
    const W = this.canvasWidth;
    const labelW = Math.min(140, Math.floor(W * 0.3));
    return { labelW, leftX: labelW, rightX: W - labelW };
  }

  override willUpdate(changed: PropertyValues): void {
    if (changed.has("weights") || changed.has("tokens") || changed.has("scaleKind")) {
      const T = this.tokens.length;
      const ok = this.weights && this.weights.length === T * T;
      this.scale = weightScale(this.scaleKind, ok ? this.weights : undefined, T, T);
    }
  }

  override updated(changed: PropertyValues): void {
    this.paint();
    // after the frame: the legend above renders after this element and moves the view down
    if (changed.has("selected") || changed.has("weights") || changed.has("tokens")) requestAnimationFrame(() => this.revealSelected());
  }

  /**
   * Scrolls the view (and, if the view's row is off the window, the page) so that the selected query
   * and its lines are in sight: the query's row, and the strongest key's too when both fit.
   */
  private revealSelected() {
    const q = this.selected;
    const T = this.tokens.length;
    const w = this.weights;
    const box = this.renderRoot.querySelector<HTMLElement>(".scroll");
    if (!box || !w || q < 0 || q >= T || w.length !== T * T) return;
    if (this.revealed?.weights === w && this.revealed.selected === q) return;
    this.revealed = { weights: w, selected: q };
    let strongest = q;
    for (let k = 0; k <= q; k++) if (w[q * T + k] > w[q * T + strongest]) strongest = k;
    const top = Math.min(q, strongest) * ROW;
    const bottom = (Math.max(q, strongest) + 1) * ROW + 4;
    const view = box.clientHeight;
    if (bottom - top <= view - 2 * ROW) box.scrollTop = Math.max(0, (top + bottom) / 2 - view / 2);
    else box.scrollTop = Math.max(0, (q + 0.5) * ROW - view / 2);
    // the query's row on the window
    const r = box.getBoundingClientRect();
    const rowTop = r.top + q * ROW - box.scrollTop;
    if (rowTop < 0 || rowTop + ROW > window.innerHeight) window.scrollBy({ top: rowTop < 0 ? rowTop - ROW : rowTop + 2 * ROW - window.innerHeight });
  }

  paint(): void {
    const canvas = this.renderRoot.querySelector("canvas");
    const T = this.tokens.length;
    if (!canvas) return;
    const width = this.canvasWidth;
    const height = T * ROW + 4;
    // a canvas side holds at most 32,767 device pixels
    const dpr = Math.min(window.devicePixelRatio || 1, 32000 / Math.max(1, height));
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const ctx = canvas.getContext("2d")!;
    ctx.scale(dpr, dpr);
    const boxes: LabelBox[] = [];
    (canvas as unknown as { labelBoxes: LabelBox[] }).labelBoxes = boxes;
    if (T === 0) return;
    const fg = cssVar("--vscode-editor-foreground", cssVar("--vscode-foreground", "#ccc"));
    const dim = cssVar("--vscode-descriptionForeground", fg);
    const ramp = themeRamp();
    const family = cssVar("--vscode-editor-font-family", "monospace");
    ctx.textBaseline = "middle";
    const { labelW, leftX, rightX } = this.columns;
    const q = this.hovered >= 0 ? this.hovered : this.selected;
    const w = this.weights && this.weights.length === T * T ? this.weights : undefined;
    if (w && q >= 0 && q < T) {
      for (let k = 0; k < T; k++) {
        const t = this.scale.t(w[q * T + k], q);
        if (t < T_MIN) continue;
        // the line's colour is the ramp's: the same colour the heatmap gives this weight
        ctx.strokeStyle = ramp.css(t);
        ctx.lineWidth = 1 + 2.5 * t;
        ctx.beginPath();
        ctx.moveTo(leftX + 4, q * ROW + ROW / 2 + 2);
        ctx.lineTo(rightX - 4, k * ROW + ROW / 2 + 2);
        ctx.stroke();
      }
    }
    // labels: fitted to their column, ellipsis when longer
    const fit = (text: string) => {
      if (ctx.measureText(text).width <= labelW - 6) return text;
      let s = text;
      while (s.length > 1 && ctx.measureText(`${s}…`).width > labelW - 6) s = s.slice(0, -1);
      return `${s}…`;
    };
    this.tokens.forEach((tok, i) => {
      const strong = i === q;
      ctx.font = `${strong ? "600 " : ""}12px ${family}`;
      ctx.fillStyle = strong ? fg : dim;
      const label = fit(visibleWhitespace(tok.text));
      const tw = ctx.measureText(label).width;
      const y = i * ROW + ROW / 2 + 2;
      ctx.textAlign = "right";
      ctx.fillText(label, leftX, y);
      ctx.textAlign = "left";
      ctx.fillText(label, rightX, y);
      boxes.push({ x: leftX - tw, y: i * ROW + 2, w: tw, h: ROW, text: label }, { x: rightX, y: i * ROW + 2, w: tw, h: ROW, text: label });
    });
  }

  private rowAt(e: MouseEvent): number {
    const i = Math.floor((e.offsetY - 2) / ROW);
    return i >= 0 && i < this.tokens.length && e.offsetX < this.canvasWidth / 2 ? i : -1;
  }

  private setHovered(i: number) {
    if (i === this.hovered) return;
    this.hovered = i;
    this.dispatchEvent(new CustomEvent("cell-hover", { detail: i >= 0 ? { q: i } : undefined, bubbles: true, composed: true }));
  }

  override render() {
    return html`<div class="legend"><seqlens-color-legend .scale=${this.scale} for="attention-lines" length="160" note="line colour"></seqlens-color-legend></div>
      <div class="scroll">
        <canvas
          data-colormap="attention-lines"
          role="img"
          aria-label="Head view: lines from a query token to the keys it attends to, coloured by weight"
          @mousemove=${(e: MouseEvent) => this.setHovered(this.rowAt(e))}
          @mouseleave=${() => this.setHovered(-1)}
          @click=${(e: MouseEvent) => {
            const i = this.rowAt(e);
            if (i >= 0) this.dispatchEvent(new CustomEvent("token-select", { detail: { index: i }, bubbles: true, composed: true }));
          }}
        ></canvas>
      </div>`;
  }
}
customElements.define("seqlens-head-view", HeadView);
