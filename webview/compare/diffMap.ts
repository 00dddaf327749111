// <seqlens-diff-map>: a [rows, cols] colour map in the Compare panel: one side's attention or gate
// values, or the difference of the two sides (B − A). The panel gives it the values and the scale;
// the map paints through the scale and the theme's ramp (the diverging ramp for a diverging scale),
// so it and its <seqlens-color-legend for=NAME> cannot disagree. It fits the width it is given (one
// pixel a cell, scaled up without smoothing, never wider than its column) and draws the selected row
// and the hovered cell on top. Attention maps are [T, T] (query rows, key columns); recurrent states
// [T, units], drawn transposed: units down, steps across. Mouse and arrow keys name a cell
// (`cell-hover`), a click or Enter picks its row (`cell-select`).
import { css, html, LitElement, nothing, PropertyValues } from "lit";
import type { ColorScale } from "../shared/colorScale";
import { divergingRamp, themeRamp, ThemeRepaint } from "../shared/theme";
import { cssProps } from "../shared/cssProps";

export interface Cell {
  row: number;
  col: number;
}

/** The largest screen pixels a cell gets: a map of a few tokens stays a map, not a wall of blocks. */
const MAX_CELL_PX = 28;

export class DiffMap extends LitElement {
  static override properties = {
    values: { attribute: false },
    rows: { type: Number },
    cols: { type: Number },
    scale: { attribute: false },
    colormap: { type: String },
    label: { type: String },
    transpose: { type: Boolean },
    selectedRow: { type: Number },
    hoverCell: { attribute: false },
  };
  values?: Float32Array;
  rows = 0;
  cols = 0;
  scale?: ColorScale;
  /** The data-colormap name of the canvas (its legend says for="…"). */
  colormap = "";
  label = "Map";
  /** Draw [rows, cols] data as cols down and rows across (steps across for a recurrent state). */
  transpose = false;
  selectedRow = -1;
  hoverCell?: Cell;

  static override styles = css`
    :host { display: block; min-width: 0; }
    .frame { position: relative; width: 100%; box-shadow: 0 0 0 1px var(--vscode-panel-border, color-mix(in srgb, var(--vscode-foreground, #888) 30%, transparent)); }
    canvas { display: block; width: 100%; height: auto; image-rendering: pixelated; cursor: crosshair; }
    canvas:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
    .mark { position: absolute; pointer-events: none; box-sizing: border-box; }
    .sel { border: 1px solid var(--vscode-focusBorder); }
    .cell { outline: 2px solid var(--vscode-focusBorder); outline-offset: 0; box-shadow: 0 0 0 3px var(--vscode-editor-background); }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());

  /** [width, height] in cells as drawn. */
  private get dims(): [number, number] {
    return this.transpose ? [this.rows, this.cols] : [this.cols, this.rows];
  }

  override render() {
    const [W, H] = this.dims;
    const ready = W > 0 && H > 0;
    const box = (x: number, y: number, w: number, h: number) => ({ left: `${(100 * x) / W}%`, top: `${(100 * y) / H}%`, width: `${(100 * w) / W}%`, height: `${(100 * h) / H}%` });
    const sel = ready && this.selectedRow >= 0 && this.selectedRow < this.rows ? (this.transpose ? box(this.selectedRow, 0, 1, H) : box(0, this.selectedRow, W, 1)) : undefined;
    const h = this.hoverCell;
    const hov = ready && h && h.row < this.rows && h.col < this.cols ? (this.transpose ? box(h.row, h.col, 1, 1) : box(h.col, h.row, 1, 1)) : undefined;
    return html`<div class="frame" ${cssProps({ "max-width": ready ? `${Math.max(160, W * MAX_CELL_PX)}px` : undefined })}>
      <canvas
        class="map"
        data-colormap=${this.colormap}
        tabindex="0"
        role="img"
        aria-label=${`${this.label}. Arrow keys move between cells, Enter picks the row's token.`}
        @mousemove=${this.onMove}
        @mouseleave=${() => this.emitHover(undefined)}
        @click=${this.onClick}
        @keydown=${this.onKey}
      ></canvas>
      ${sel ? html`<div class="mark sel" ${cssProps(sel)}></div>` : nothing}
      ${hov ? html`<div class="mark cell" ${cssProps(hov)}></div>` : nothing}
    </div>`;
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("values") || changed.has("rows") || changed.has("cols") || changed.has("scale") || changed.has("transpose")) this.paint();
  }

  private paint(): void {
    const c = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.map");
    if (!c) return;
    const { rows, cols, values, scale } = this;
    const [W, H] = this.dims;
    if (!values || !scale || rows === 0 || cols === 0 || values.length < rows * cols) {
      c.width = Math.max(1, W);
      c.height = Math.max(1, H);
      c.getContext("2d")?.clearRect(0, 0, c.width, c.height);
      delete this.dataset.max;
      return;
    }
    c.width = W;
    c.height = H;
    const ctx = c.getContext("2d")!;
    const img = ctx.createImageData(W, H);
    const ramp = scale.kind === "diverging" ? divergingRamp() : themeRamp();
    let max = 0;
    for (let r = 0; r < rows; r++) {
      for (let col = 0; col < cols; col++) {
        const v = values[r * cols + col];
        max = Math.max(max, Math.abs(v));
        const [R, G, B] = ramp(scale.t(v, r));
        const px = this.transpose ? col * W + r : r * cols + col;
        img.data[4 * px] = R;
        img.data[4 * px + 1] = G;
        img.data[4 * px + 2] = B;
        img.data[4 * px + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    this.dataset.max = max.toPrecision(3);
  }

  /** The data cell under a point of the canvas, or undefined outside it. */
  private cellAt(e: MouseEvent): Cell | undefined {
    const c = e.currentTarget as HTMLCanvasElement;
    const rect = c.getBoundingClientRect();
    const [W, H] = this.dims;
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * W);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * H);
    if (x < 0 || y < 0 || x >= W || y >= H) return undefined;
    return this.transpose ? { row: x, col: y } : { row: y, col: x };
  }

  private emitHover(cell: Cell | undefined): void {
    this.dispatchEvent(new CustomEvent("cell-hover", { detail: cell ?? null, bubbles: true, composed: true }));
  }

  private onMove(e: MouseEvent): void {
    if (!this.values) return;
    const cell = this.cellAt(e);
    if (cell?.row !== this.hoverCell?.row || cell?.col !== this.hoverCell?.col) this.emitHover(cell);
  }

  private onClick(e: MouseEvent): void {
    const cell = this.cellAt(e);
    if (cell) this.dispatchEvent(new CustomEvent("cell-select", { detail: cell, bubbles: true, composed: true }));
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.values || this.rows === 0 || this.cols === 0) return;
    const at = this.hoverCell ?? { row: Math.max(0, this.selectedRow), col: 0 };
    // arrows move on the screen: across is a column of the data, or a row when transposed
    const [dx, dy] = ({ ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] } as Record<string, [number, number]>)[e.key] ?? [0, 0];
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.dispatchEvent(new CustomEvent("cell-select", { detail: at, bubbles: true, composed: true }));
      return;
    }
    if (dx === 0 && dy === 0) return;
    e.preventDefault();
    e.stopPropagation();
    const [dr, dc] = this.transpose ? [dx, dy] : [dy, dx];
    this.emitHover({ row: Math.max(0, Math.min(this.rows - 1, at.row + dr)), col: Math.max(0, Math.min(this.cols - 1, at.col + dc)) });
  }
}

customElements.define("seqlens-diff-map", DiffMap);
