// Attention heatmap for one layer and head on a canvas: query rows x key columns (the same tokens
// for self-attention; target rows x source columns for cross-attention, `keyTokens`), with a colour
// legend; hover shows the weight and both tokens; the selected query row is outlined. Keyboard: the
// focused map has a cell cursor (arrows, Home/End, PageUp/PageDown), Enter selects its query token.
import { css, html, LitElement, PropertyValues } from "lit";
import type { TokenInfo } from "../../protocol/basics";
import { themeRamp, ThemeRepaint } from "../shared/theme";
import { visibleWhitespace } from "../../protocol/text";

export class AttentionHeatmap extends LitElement {
  static override properties = { weights: { attribute: false }, tokens: { attribute: false }, keyTokens: { attribute: false }, rowLabel: { type: String }, colLabel: { type: String }, selected: { type: Number }, hover: { state: true } };
  weights?: Float32Array; // [rows, cols] row-major: query x key
  /** The query tokens (rows), and the key tokens (columns) too unless keyTokens is given. */
  tokens: TokenInfo[] = [];
  /** The key tokens (columns) when they are not the query tokens: the source of cross-attention. */
  keyTokens?: TokenInfo[];
  rowLabel = "query";
  colLabel = "key";
  selected = -1;
  hover?: { q: number; k: number; w: number };
  /** The keyboard's cell, drawn while the map has focus. */
  private cursor?: { q: number; k: number };
  private focused = false;

  static override styles = css`
    :host { display: block; }
    .wrap { display: flex; gap: 12px; align-items: flex-start; }
    canvas { image-rendering: pixelated; border: 1px solid var(--vscode-panel-border, transparent); cursor: crosshair; }
    canvas.map:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
    .legend { display: flex; flex-direction: column; align-items: center; font-size: 11px; gap: 2px; min-width: 2.5em; }
    .legend canvas { border: 1px solid var(--vscode-panel-border, transparent); cursor: default; }
    .tip { min-height: 1.4em; font-family: var(--vscode-editor-font-family); font-size: 12px; margin-top: 4px; }
    .grid { display: grid; grid-template-columns: auto auto; align-items: end; }
    .rows, .cols { font-family: var(--vscode-editor-font-family); font-size: 11px; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); overflow: hidden; }
    .rows { display: flex; flex-direction: column; align-items: flex-end; padding-right: 4px; align-self: start; padding-top: 1px; }
    .rows span { white-space: pre; max-width: 9em; overflow: hidden; text-overflow: ellipsis; display: block; }
    .cols { display: flex; padding-left: 1px; max-height: 6.5em; }
    .cols span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: pre; overflow: hidden; text-overflow: ellipsis; max-height: 6.5em; display: block; text-align: left; }
    .rows span.sel { color: var(--vscode-foreground); font-weight: 600; }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());
  private get size(): number {
    return this.tokens.length;
  }

  private get cols(): number {
    return (this.keyTokens ?? this.tokens).length;
  }

  /** Pixels per cell: the map fits in ~480 px, cells at most 16 px. */
  private get cell(): number {
    return Math.max(1, Math.min(16, Math.floor(480 / Math.max(1, this.size, this.cols))));
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("tokens") || changed.has("keyTokens")) {
      // a new text: the old cursor and tip point at tokens that are gone
      this.cursor = undefined;
      this.hover = undefined;
    }
    if (changed.has("weights") || changed.has("tokens") || changed.has("keyTokens") || changed.has("selected")) this.paint();
  }

  paint(): void {
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.map");
    const legend = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.legend-bar");
    const T = this.size;
    const C = this.cols;
    if (canvas && (!this.weights || this.weights.length !== T * C)) {
      // no slice for these tokens yet: show nothing rather than the last text's map
      canvas.getContext("2d")?.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    if (!canvas || !this.weights || T === 0 || C === 0) return;
    const c = this.cell;
    canvas.width = C * c;
    canvas.height = T * c;
    const ctx = canvas.getContext("2d")!;
    const img = ctx.createImageData(C * c, T * c);
    const ramp = themeRamp();
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < C; k++) {
        const [r, g, b] = ramp(this.weights[q * C + k]);
        for (let y = 0; y < c; y++) {
          let o = ((q * c + y) * C * c + k * c) * 4;
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
      ctx.strokeRect(0.5, this.selected * c + 0.5, C * c - 1, c - 1);
    }
    if (this.cursor && this.focused) {
      // The keyboard cell: a focus-coloured box with a background-coloured inner line, visible on any weight.
      const { q, k } = this.cursor;
      ctx.lineWidth = Math.min(2, c);
      ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue("--vscode-focusBorder").trim() || "#007fd4";
      ctx.strokeRect(k * c + ctx.lineWidth / 2, q * c + ctx.lineWidth / 2, c - ctx.lineWidth, c - ctx.lineWidth);
      if (c >= 8) {
        ctx.lineWidth = 1;
        ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue("--vscode-editor-background").trim() || "#000";
        ctx.strokeRect(k * c + 2.5, q * c + 2.5, c - 5, c - 5);
      }
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
    if (q < 0 || k < 0 || q >= this.size || k >= this.cols) this.hover = undefined;
    else this.hover = { q, k, w: this.weights[q * this.cols + k] };
  }

  private onKey(e: KeyboardEvent) {
    const T = this.size;
    const C = this.cols;
    if (!this.weights || T === 0 || C === 0) return;
    const at = this.cursor ?? { q: Math.max(0, this.selected), k: 0 };
    let { q, k } = at;
    switch (e.key) {
      case "ArrowUp": q--; break;
      case "ArrowDown": q++; break;
      case "ArrowLeft": k--; break;
      case "ArrowRight": k++; break;
      case "Home": if (e.ctrlKey) q = 0; k = 0; break;
      case "End": if (e.ctrlKey) q = T - 1; k = C - 1; break;
      case "PageUp": q -= 10; break;
      case "PageDown": q += 10; break;
      case "Enter":
      case " ":
        e.preventDefault();
        this.dispatchEvent(new CustomEvent("token-select", { detail: { index: at.q }, bubbles: true, composed: true }));
        return;
      default:
        return; // other keys ([ ] , . for layer and head) go on to the panel
    }
    e.preventDefault();
    e.stopPropagation();
    q = Math.max(0, Math.min(T - 1, q));
    k = Math.max(0, Math.min(C - 1, k));
    this.cursor = { q, k };
    this.hover = { q, k, w: this.weights[q * C + k] };
    this.paint();
  }

  private onFocus() {
    this.focused = true;
    const T = this.size;
    if (!this.weights || T === 0) return;
    this.cursor ??= { q: Math.max(0, Math.min(T - 1, this.selected)), k: 0 };
    this.hover = { ...this.cursor, w: this.weights[this.cursor.q * this.cols + this.cursor.k] };
    this.paint();
  }

  private onBlur() {
    this.focused = false;
    this.hover = undefined;
    this.paint();
  }

  private onClick(e: MouseEvent) {
    const q = Math.floor(e.offsetY / this.cell);
    if (q >= 0 && q < this.size) this.dispatchEvent(new CustomEvent("token-select", { detail: { index: q }, bubbles: true, composed: true }));
  }

  override render() {
    const h = this.hover;
    const tok = (i: number) => JSON.stringify(visibleWhitespace(this.tokens[i]?.text ?? ""));
    const key = (i: number) => JSON.stringify(visibleWhitespace((this.keyTokens ?? this.tokens)[i]?.text ?? ""));
    // token labels along both axes while the cells are big enough to read them (the tip names any cell)
    const c = this.cell;
    const labels = c >= 10 && this.weights !== undefined;
    const label = (t: TokenInfo | undefined) => visibleWhitespace(t?.text ?? "");
    return html`<div class="wrap">
        <div class="grid">
        ${labels ? html`<div></div><div class="cols" aria-hidden="true">${(this.keyTokens ?? this.tokens).map((t) => html`<span style="width:${c}px;line-height:${c}px">${label(t)}</span>`)}</div>` : null}
        ${labels ? html`<div class="rows" aria-hidden="true">${this.tokens.map((t, i) => html`<span class=${i === this.selected ? "sel" : ""} style="height:${c}px;line-height:${c}px">${label(t)}</span>`)}</div>` : html`<div></div>`}
        <canvas
          class="map"
          tabindex="0"
          role="img"
          aria-label=${`Attention weights, ${this.rowLabel} rows by ${this.colLabel} columns. Arrow keys move between cells, Enter selects the ${this.rowLabel} token.`}
          @mousemove=${this.onMove}
          @mouseleave=${() => (this.hover = undefined)}
          @click=${this.onClick}
          @keydown=${this.onKey}
          @focus=${this.onFocus}
          @blur=${this.onBlur}
        ></canvas>
        </div>
        <div class="legend" aria-hidden="true"><span>1.0</span><canvas class="legend-bar"></canvas><span>0.0</span></div>
      </div>
      <div class="tip" aria-live="polite">${h ? html`${this.rowLabel} #${h.q} ${tok(h.q)} → ${this.colLabel} #${h.k} ${key(h.k)}: <b>${h.w.toFixed(4)}</b>` : html`&nbsp;`}</div>`;
  }
}
customElements.define("seqlens-attention-heatmap", AttentionHeatmap);
