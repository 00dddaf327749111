// Attention heatmap for one layer and head: query rows x key columns (the same tokens for
// self-attention; target rows x source columns for cross-attention, `keyTokens`), coloured by the
// scale the user picked, with its legend. The map sits in a scroll region; the token labels of both
// axes are drawn in step with the scroll (only those whose cells are in view), so they stay aligned
// with the cells at any zoom; the canvas is the size of the view and paints the cells in view, so a
// 1,024-token map costs what a small one does. Zoom: the − / + buttons, Fit, or ctrl+wheel.
// Hover: a crosshair on the map, the query and key labels highlighted, the weight in the line below,
// and a `cell-hover` event (the Inspector marks both tokens in the editor). Keyboard: the focused map
// has a cell cursor (arrows, Home/End, PageUp/PageDown), Enter selects its query token.
import { css, html, LitElement, PropertyValues } from "lit";
import type { TokenInfo } from "../../protocol/basics";
import { themeRamp, ThemeRepaint, cssVar } from "../shared/theme";
import { visibleWhitespace } from "../../protocol/text";
import { weightScale, type ColorScale, type ScaleKind } from "../shared/colorScale";
import { cssProps } from "../shared/cssProps";
import "./colorLegend";

/** Cell sizes (CSS px) the zoom steps through. */
export const ZOOM_STEPS = [1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 20, 24];
/** Smallest cell that carries a token label (the label's font is min(12, cell) px). */
export const LABEL_MIN_CELL = 10;
/** Cells a map opens with when it fits no better: labels readable, the rest a scroll away. */
const OPEN_CELL = 12;
/** Up to this many tokens a map opens with readable labels; longer ones open zoomed out to fit. */
const OPEN_WITH_LABELS = 160;
/** Longest label strips (px): longer tokens end in an ellipsis, their full text in the title. */
const ROW_LABEL_MAX = 120;
const COL_LABEL_MAX = 90;

export interface CellHover {
  q: number;
  k: number;
  w: number;
}

export class AttentionHeatmap extends LitElement {
  static override properties = {
    weights: { attribute: false },
    tokens: { attribute: false },
    keyTokens: { attribute: false },
    rowLabel: { type: String },
    colLabel: { type: String },
    selected: { type: Number },
    scaleKind: { type: String, attribute: "scale" },
    colormap: { type: String },
    zoom: { type: Number },
    hover: { state: true },
    view: { state: true },
    box: { state: true },
  };
  weights?: Float32Array; // [rows, cols] row-major: query x key
  /** The query tokens (rows), and the key tokens (columns) too unless keyTokens is given. */
  tokens: TokenInfo[] = [];
  /** The key tokens (columns) when they are not the query tokens: the source of cross-attention. */
  keyTokens?: TokenInfo[];
  rowLabel = "query";
  colLabel = "key";
  selected = -1;
  /** The colour scale (log, sqrt, linear, per-row max). */
  scaleKind: ScaleKind = "log";
  /** The canvas's data-colormap name, which its legend names too. */
  colormap = "attention";
  /** Cell size in CSS px the user zoomed to; 0: chosen to fit. */
  zoom = 0;
  hover?: CellHover;
  /** The scroll region's offsets, which the labels and the canvas follow. */
  view = { left: 0, top: 0 };
  /** The scroll region's inner size (without its scroll bars). */
  box = { width: 0, height: 0 };
  /** The scale the map is painted with (its legend shows the same). */
  scale: ColorScale = weightScale("log");
  /** The keyboard's cell, drawn while the map has focus. */
  private cursor?: { q: number; k: number };
  private focused = false;
  /** The keyboard drives the map (focus by Tab, or a key pressed): its cursor is drawn, not the mouse's crosshair. */
  private keyboard = false;
  private resizer?: ResizeObserver;
  /** Measured label strips for the current tokens (px), reset when the tokens change. */
  private strips?: { row: number; col: number };

  static override styles = css`
    :host { display: block; }
    .bar { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: flex-end; margin: 4px 0; }
    .zoom { display: inline-flex; gap: 2px; align-items: center; }
    .zoom button { font: inherit; min-width: 2em; color: var(--vscode-button-secondaryForeground, var(--vscode-foreground)); background: var(--vscode-button-secondaryBackground, transparent); border: 1px solid var(--vscode-button-border, var(--vscode-panel-border, var(--vscode-foreground))); border-radius: 2px; padding: 0 6px; cursor: pointer; }
    .zoom button:disabled { cursor: default; }
    .zoom button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
    .zoom .size { margin-left: 4px; white-space: nowrap; }
    .note { color: var(--vscode-foreground); white-space: nowrap; }
    .viewport { position: relative; overflow: auto; scrollbar-gutter: stable; max-width: 100%; max-height: max(240px, 70vh); }
    .sizer { position: relative; }
    .pin { position: sticky; top: 0; left: 0; overflow: hidden; }
    .corner, .cols, .rows { position: absolute; background: var(--vscode-editor-background); overflow: hidden; }
    .corner span { max-width: 100%; overflow: hidden; text-overflow: ellipsis; }
    .corner { left: 0; top: 0; display: flex; flex-direction: column; justify-content: flex-end; align-items: flex-end; box-sizing: border-box; padding: 0 4px 2px 0; font-size: 11px; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); white-space: nowrap; }
    .cols span, .rows span { position: absolute; display: block; overflow: hidden; text-overflow: ellipsis; white-space: pre; font-family: var(--vscode-editor-font-family); color: var(--vscode-descriptionForeground, var(--vscode-foreground)); box-sizing: border-box; }
    .rows span { left: 0; text-align: right; padding-right: 4px; }
    .cols span { bottom: 0; writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; padding-top: 4px; }
    .rows span.sel, .cols span.sel { color: var(--vscode-foreground); font-weight: 600; }
    .rows span.hot, .cols span.hot { color: var(--vscode-foreground); font-weight: 600; background: var(--vscode-editor-background); box-shadow: inset 0 0 0 1px var(--vscode-focusBorder); }
    canvas.map { position: absolute; display: block; image-rendering: pixelated; cursor: crosshair; box-shadow: 0 0 0 1px var(--vscode-panel-border, rgba(128, 128, 128, 0.4)); }
    canvas.map:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
    .tip { min-height: 1.4em; font-family: var(--vscode-editor-font-family); font-size: 12px; margin-top: 4px; overflow-wrap: anywhere; }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());

  private get rows(): number {
    return this.tokens.length;
  }

  private get cols(): number {
    return (this.keyTokens ?? this.tokens).length;
  }

  private get colTokens(): TokenInfo[] {
    return this.keyTokens ?? this.tokens;
  }

  /** Label strips' sizes for these tokens at font size `font`, measured once per text. */
  private labelStrips(): { row: number; col: number } {
    if (this.strips) return this.strips;
    const ctx = document.createElement("canvas").getContext("2d")!;
    ctx.font = `600 12px ${cssVar("--vscode-editor-font-family", "monospace")}`;
    const widest = (ts: TokenInfo[]) => ts.reduce((m, t) => Math.max(m, ctx.measureText(visibleWhitespace(t.text)).width), 0);
    this.strips = {
      row: Math.ceil(Math.min(ROW_LABEL_MAX, Math.max(56, widest(this.tokens) + 10))),
      col: Math.ceil(Math.min(COL_LABEL_MAX, Math.max(36, widest(this.colTokens) + 10))),
    };
    return this.strips;
  }

  /** The cell size in CSS px: the user's zoom, or one that fits the width (labels first while the text is short). */
  get cell(): number {
    if (this.zoom > 0) return this.zoom;
    const n = Math.max(1, this.rows, this.cols);
    const width = this.box.width || 480;
    const fitBare = Math.floor(width / n);
    const fitLabelled = Math.floor((width - this.labelStrips().row) / n);
    const step = (px: number) => ZOOM_STEPS.filter((s) => s <= px).pop() ?? 1;
    if (fitLabelled >= LABEL_MIN_CELL) return step(Math.min(20, fitLabelled));
    if (n <= OPEN_WITH_LABELS) return OPEN_CELL;
    return step(fitBare);
  }

  /** Whether the cells are big enough for token labels. */
  get labelled(): boolean {
    return this.cell >= LABEL_MIN_CELL;
  }

  /** Where things are: cell size, label strips, the canvas's size and the map's offset in it (for tests and the Inspector). */
  geometry() {
    const c = this.cell;
    const strips = this.labelled ? this.labelStrips() : { row: 0, col: 0 };
    const mapW = this.cols * c;
    const mapH = this.rows * c;
    const pinW = Math.min(this.box.width, strips.row + mapW);
    const pinH = Math.min(this.box.height, strips.col + mapH);
    return { cell: c, rowStrip: strips.row, colStrip: strips.col, mapW, mapH, pinW, pinH, canvasW: Math.max(0, pinW - strips.row), canvasH: Math.max(0, pinH - strips.col), left: this.view.left, top: this.view.top };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.resizer = new ResizeObserver(() => this.measure());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resizer?.disconnect();
  }

  override firstUpdated(): void {
    const vp = this.viewport;
    if (vp) this.resizer?.observe(vp);
    this.measure();
  }

  private get viewport(): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>(".viewport");
  }

  private measure() {
    const vp = this.viewport;
    if (!vp) return;
    // the scroll region is the panel's width; its height follows the map up to its max-height
    if (vp.clientWidth !== this.box.width || vp.clientHeight !== this.box.height) this.box = { width: vp.clientWidth, height: vp.clientHeight };
  }

  override willUpdate(changed: PropertyValues): void {
    if (changed.has("tokens") || changed.has("keyTokens")) {
      // a new text: the old cursor, tip and label widths belong to tokens that are gone
      this.cursor = undefined;
      this.hover = undefined;
      this.strips = undefined;
    }
    if (changed.has("weights") || changed.has("scaleKind") || changed.has("tokens") || changed.has("keyTokens")) {
      const ok = this.weights && this.weights.length === this.rows * this.cols;
      this.scale = weightScale(this.scaleKind, ok ? this.weights : undefined, this.rows, this.cols);
    }
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("selected") && this.selected >= 0) this.revealRow(this.selected);
    this.measure();
    this.paint();
  }

  /** Scrolls the map (not the page) so that row `q` is in view. */
  private revealRow(q: number) {
    const vp = this.viewport;
    const g = this.geometry();
    if (!vp || g.canvasH <= 0) return;
    const y = q * g.cell;
    if (y < vp.scrollTop) vp.scrollTop = Math.max(0, y - g.cell);
    else if (y + g.cell > vp.scrollTop + g.canvasH) vp.scrollTop = y + 2 * g.cell - g.canvasH;
  }

  /** Scrolls the map so that cell (q, k) is in view. */
  private revealCell(q: number, k: number) {
    this.revealRow(q);
    const vp = this.viewport;
    const g = this.geometry();
    if (!vp || g.canvasW <= 0) return;
    const x = k * g.cell;
    if (x < vp.scrollLeft) vp.scrollLeft = Math.max(0, x - g.cell);
    else if (x + g.cell > vp.scrollLeft + g.canvasW) vp.scrollLeft = x + 2 * g.cell - g.canvasW;
  }

  private onScroll() {
    const vp = this.viewport;
    if (!vp) return;
    if (vp.scrollLeft !== this.view.left || vp.scrollTop !== this.view.top) this.view = { left: vp.scrollLeft, top: vp.scrollTop };
  }

  paint(): void {
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.map");
    if (!canvas) return;
    const T = this.rows;
    const C = this.cols;
    const g = this.geometry();
    const w = Math.max(1, g.canvasW);
    const h = Math.max(1, g.canvasH);
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const ctx = canvas.getContext("2d")!;
    if (!this.weights || this.weights.length !== T * C || T === 0 || C === 0) {
      // no slice for these tokens yet: show nothing rather than the last text's map
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    const c = g.cell;
    const { left, top } = g;
    const weights = this.weights;
    const scale = this.scale;
    // the theme's ramp in 256 steps
    const ramp = themeRamp();
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) lut.set(ramp(i / 255), i * 3);
    const img = ctx.createImageData(w, h);
    const data = img.data;
    const k0 = Math.floor(left / c);
    const k1 = Math.min(C, Math.ceil((left + w) / c));
    const rowColour = new Uint8Array((k1 - k0) * 3);
    let lastQ = -1;
    for (let y = 0; y < h; y++) {
      const q = Math.floor((top + y) / c);
      if (q >= T) break;
      if (q !== lastQ) {
        for (let k = k0; k < k1; k++) {
          const i = Math.round(scale.t(weights[q * C + k], q) * 255) * 3;
          rowColour[(k - k0) * 3] = lut[i];
          rowColour[(k - k0) * 3 + 1] = lut[i + 1];
          rowColour[(k - k0) * 3 + 2] = lut[i + 2];
        }
        lastQ = q;
      }
      let o = y * w * 4;
      for (let x = 0; x < w; x++, o += 4) {
        const k = Math.floor((left + x) / c);
        if (k >= C) break;
        const j = (k - k0) * 3;
        data[o] = rowColour[j];
        data[o + 1] = rowColour[j + 1];
        data[o + 2] = rowColour[j + 2];
        data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    document.body.dataset.heatmapPaintedAt = String(Date.now()); // read by the end-to-end bench
    const focus = cssVar("--vscode-focusBorder", "#007fd4");
    const cellBox = (q: number, k: number) => [k * c - left, q * c - top] as const;
    if (this.selected >= 0 && this.selected < T) {
      ctx.strokeStyle = focus;
      ctx.lineWidth = Math.max(1, Math.min(2, c / 4));
      ctx.strokeRect(0.5 - left, this.selected * c + 0.5 - top, C * c - 1, c - 1);
    }
    const hv = this.hover;
    const byKeys = this.cursor && this.focused && this.keyboard;
    if (hv && c >= 3 && !byKeys) {
      // the crosshair: the hovered row and column outlined, the cell boxed
      ctx.strokeStyle = focus;
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 2]);
      ctx.strokeRect(0.5 - left, hv.q * c + 0.5 - top, C * c - 1, c - 1);
      ctx.strokeRect(hv.k * c + 0.5 - left, 0.5 - top, c - 1, T * c - 1);
      ctx.setLineDash([]);
      const [x, y] = cellBox(hv.q, hv.k);
      ctx.lineWidth = Math.min(2, c / 3);
      ctx.strokeRect(x + ctx.lineWidth / 2, y + ctx.lineWidth / 2, c - ctx.lineWidth, c - ctx.lineWidth);
    }
    if (this.cursor && byKeys) {
      // The keyboard cell: a focus-coloured box with a background-coloured inner line, visible on any weight.
      const [x, y] = cellBox(this.cursor.q, this.cursor.k);
      ctx.lineWidth = Math.min(2, c);
      ctx.strokeStyle = focus;
      ctx.strokeRect(x + ctx.lineWidth / 2, y + ctx.lineWidth / 2, c - ctx.lineWidth, c - ctx.lineWidth);
      if (c >= 8) {
        ctx.lineWidth = 1;
        ctx.strokeStyle = cssVar("--vscode-editor-background", "#000");
        ctx.strokeRect(x + 2.5, y + 2.5, c - 5, c - 5);
      }
    }
  }

  /** The whole map as a PNG data URL (the canvas on screen holds only the cells in view): at the zoom shown, at most 4,096 px a side. */
  toPngDataUrl(): string | undefined {
    const T = this.rows;
    const C = this.cols;
    const w = this.weights;
    if (!w || w.length !== T * C || T === 0 || C === 0) return undefined;
    const c = Math.max(1, Math.min(this.cell, Math.floor(4096 / Math.max(T, C))));
    const canvas = document.createElement("canvas");
    canvas.width = C * c;
    canvas.height = T * c;
    const ctx = canvas.getContext("2d")!;
    const ramp = themeRamp();
    const img = ctx.createImageData(C * c, T * c);
    for (let y = 0; y < T * c; y++) {
      const q = Math.floor(y / c);
      for (let x = 0; x < C * c; x++) img.data.set([...ramp(this.scale.t(w[q * C + Math.floor(x / c)], q)), 255], (y * C * c + x) * 4);
    }
    ctx.putImageData(img, 0, 0);
    return canvas.toDataURL("image/png");
  }

  /** The cell under a mouse event on the canvas, if any. */
  private cellAt(e: MouseEvent): { q: number; k: number } | undefined {
    const c = this.cell;
    const q = Math.floor((e.offsetY + this.view.top) / c);
    const k = Math.floor((e.offsetX + this.view.left) / c);
    return q < 0 || k < 0 || q >= this.rows || k >= this.cols ? undefined : { q, k };
  }

  private setHover(at: { q: number; k: number } | undefined) {
    const before = this.hover;
    if (at && this.weights) this.hover = { ...at, w: this.weights[at.q * this.cols + at.k] };
    else this.hover = undefined;
    if (before?.q !== this.hover?.q || before?.k !== this.hover?.k) {
      this.dispatchEvent(new CustomEvent("cell-hover", { detail: this.hover ? { q: this.hover.q, k: this.hover.k } : undefined, bubbles: true, composed: true }));
    }
  }

  private onMove(e: MouseEvent) {
    if (!this.weights) return;
    this.keyboard = false;
    this.setHover(this.cellAt(e));
  }

  /** Zooms to cell size `px`, keeping the map point under (x, y) (canvas px) where it is. */
  setZoom(px: number, x?: number, y?: number) {
    const vp = this.viewport;
    const before = this.cell;
    const g = this.geometry();
    const ax = x ?? g.canvasW / 2;
    const ay = y ?? g.canvasH / 2;
    const mapX = (this.view.left + ax) / before;
    const mapY = (this.view.top + ay) / before;
    this.zoom = px;
    this.dispatchEvent(new CustomEvent("zoom-change", { detail: { cell: px }, bubbles: true, composed: true }));
    void this.updateComplete.then(() => {
      if (!vp) return;
      vp.scrollLeft = Math.max(0, mapX * px - ax);
      vp.scrollTop = Math.max(0, mapY * px - ay);
      this.onScroll();
    });
  }

  private zoomBy(dir: 1 | -1, x?: number, y?: number) {
    const c = this.cell;
    const next = dir > 0 ? ZOOM_STEPS.find((s) => s > c) : [...ZOOM_STEPS].reverse().find((s) => s < c);
    if (next !== undefined) this.setZoom(next, x, y);
  }

  private onWheel(e: WheelEvent) {
    if (!e.ctrlKey || e.deltaY === 0) return; // a plain wheel scrolls the map
    e.preventDefault();
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.map");
    const r = canvas?.getBoundingClientRect();
    this.zoomBy(e.deltaY < 0 ? 1 : -1, r ? e.clientX - r.left : undefined, r ? e.clientY - r.top : undefined);
  }

  private onKey(e: KeyboardEvent) {
    const T = this.rows;
    const C = this.cols;
    if ((e.key === "+" || e.key === "=" || e.key === "-") && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      e.stopPropagation();
      this.zoomBy(e.key === "-" ? -1 : 1);
      return;
    }
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
    this.keyboard = true;
    q = Math.max(0, Math.min(T - 1, q));
    k = Math.max(0, Math.min(C - 1, k));
    this.cursor = { q, k };
    this.revealCell(q, k);
    this.setHover({ q, k });
    this.paint();
  }

  private onFocus(e: FocusEvent) {
    this.focused = true;
    // a click focuses the map too: the mouse's crosshair stays until a key is pressed
    this.keyboard = (e.target as HTMLElement).matches(":focus-visible");
    const T = this.rows;
    if (!this.weights || T === 0 || !this.keyboard) return;
    this.cursor ??= { q: Math.max(0, Math.min(T - 1, this.selected)), k: 0 };
    this.setHover(this.cursor);
    this.paint();
  }

  private onBlur() {
    this.focused = false;
    this.setHover(undefined);
    this.paint();
  }

  private onClick(e: MouseEvent) {
    const at = this.cellAt(e);
    if (at) this.dispatchEvent(new CustomEvent("token-select", { detail: { index: at.q }, bubbles: true, composed: true }));
  }

  /** The labels whose cells are wholly in view, at their place next to the canvas. */
  private labels(g: ReturnType<AttentionHeatmap["geometry"]>) {
    const c = g.cell;
    const font = `${Math.min(12, c)}px`;
    const inView = (i: number, offset: number, span: number) => i * c - offset >= 0 && (i + 1) * c - offset <= span;
    const label = (t: TokenInfo) => visibleWhitespace(t.text);
    const rows = [];
    for (let q = Math.max(0, Math.floor(g.top / c)); q < this.rows && q * c - g.top < g.canvasH; q++) {
      if (!inView(q, g.top, g.canvasH)) continue;
      const cls = q === this.hover?.q ? "hot" : q === this.selected ? "sel" : "";
      const t = this.tokens[q];
      rows.push(html`<span class=${cls} data-index=${q} title=${`${this.rowLabel} #${q} ${JSON.stringify(t.text)}`} ${cssProps({ "font-size": font, top: `${q * c - g.top}px`, height: `${c}px`, "line-height": `${c}px`, width: `${g.rowStrip}px` })}>${label(t)}</span>`);
    }
    const cols = [];
    const keys = this.colTokens;
    for (let k = Math.max(0, Math.floor(g.left / c)); k < this.cols && k * c - g.left < g.canvasW; k++) {
      if (!inView(k, g.left, g.canvasW)) continue;
      const cls = k === this.hover?.k ? "hot" : "";
      const t = keys[k];
      cols.push(html`<span class=${cls} data-index=${k} title=${`${this.colLabel} #${k} ${JSON.stringify(t.text)}`} ${cssProps({ "font-size": font, left: `${k * c - g.left}px`, width: `${c}px`, "line-height": `${c}px`, height: `${g.colStrip}px` })}>${label(t)}</span>`);
    }
    return { rows, cols };
  }

  override render() {
    const h = this.hover;
    const tok = (i: number) => JSON.stringify(visibleWhitespace(this.tokens[i]?.text ?? ""));
    const key = (i: number) => JSON.stringify(visibleWhitespace(this.colTokens[i]?.text ?? ""));
    const g = this.geometry();
    const c = g.cell;
    const labelled = this.labelled;
    const { rows, cols } = labelled ? this.labels(g) : { rows: [], cols: [] };
    const smallest = c <= ZOOM_STEPS[0];
    const largest = c >= ZOOM_STEPS[ZOOM_STEPS.length - 1];
    return html`<div class="bar">
        <span class="zoom" role="group" aria-label="Zoom">
          <button aria-label="Zoom out" title="Zoom out (− key or ctrl+wheel on the map)" ?disabled=${smallest} @click=${() => this.zoomBy(-1)}>−</button>
          <button aria-label="Zoom in" title="Zoom in (+ key or ctrl+wheel on the map)" ?disabled=${largest} @click=${() => this.zoomBy(1)}>+</button>
          <button aria-label="Fit" title="Cells chosen to fit the panel" ?disabled=${this.zoom === 0} @click=${() => this.setZoom(0)}>fit</button>
          <span class="size">${c} px cells</span>
        </span>
        <seqlens-color-legend .scale=${this.scale} for=${this.colormap} length="160"></seqlens-color-legend>
        ${labelled || this.rows === 0 ? null : html`<span class="note" role="note">zoom in to read labels (from ${LABEL_MIN_CELL} px cells)</span>`}
      </div>
      <div class="viewport" @scroll=${this.onScroll} @wheel=${this.onWheel}>
        <div class="sizer" ${cssProps({ width: `${g.rowStrip + g.mapW}px`, height: `${g.colStrip + g.mapH}px` })}>
          <div class="pin" ${cssProps({ width: `${g.pinW}px`, height: `${g.pinH}px` })}>
            ${labelled
              ? html`<div class="corner" aria-hidden="true" ${cssProps({ width: `${g.rowStrip}px`, height: `${g.colStrip}px` })}><span title=${`${this.colLabel} tokens along the top`}>${this.colLabel} →</span><span title=${`${this.rowLabel} tokens down the side`}>${this.rowLabel} ↓</span></div>
                  <div class="cols" aria-hidden="true" ${cssProps({ left: `${g.rowStrip}px`, top: "0", width: `${g.canvasW}px`, height: `${g.colStrip}px` })}>${cols}</div>
                  <div class="rows" aria-hidden="true" ${cssProps({ left: "0", top: `${g.colStrip}px`, width: `${g.rowStrip}px`, height: `${g.canvasH}px` })}>${rows}</div>`
              : null}
            <canvas
              class="map"
              data-colormap=${this.colormap}
              tabindex="0"
              role="img"
              ${cssProps({ left: `${g.rowStrip}px`, top: `${g.colStrip}px`, width: `${g.canvasW}px`, height: `${g.canvasH}px` })}
              aria-label=${`Attention weights, ${this.rowLabel} rows by ${this.colLabel} columns. Arrow keys move between cells, Enter selects the ${this.rowLabel} token, + and − zoom.`}
              @mousemove=${this.onMove}
              @mouseleave=${() => this.setHover(undefined)}
              @click=${this.onClick}
              @keydown=${this.onKey}
              @focus=${this.onFocus}
              @blur=${this.onBlur}
            ></canvas>
          </div>
        </div>
      </div>
      <div class="tip" aria-live="polite">${h ? html`${this.rowLabel} #${h.q} ${tok(h.q)} → ${this.colLabel} #${h.k} ${key(h.k)}: <b>${h.w.toFixed(4)}</b>` : html`&nbsp;`}</div>`;
  }
}
customElements.define("seqlens-attention-heatmap", AttentionHeatmap);
