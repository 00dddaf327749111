// Direct logit attribution as a grid: one row per layer, one cell per attention head, the layer's
// MLP (and its attention bias, where the model has one) after them, then the embeddings and the
// remainder; each cell coloured on a diverging scale (the theme's orange raised the target's logit,
// its blue lowered it) with its legend. Cells are DOM, not a canvas: each one is focusable (arrow
// keys move between them) and says its number on hover and on focus, in the readout under the grid
// and in its tooltip; the largest components are listed as text.
import { css, html, LitElement, nothing } from "lit";
import { readoutStyles } from "./readoutStyles";
import type { DlaResult } from "../../protocol/interventions";
import { visibleWhitespace } from "../../protocol/text";
import { divergingScale, quantileAbs, type ColorScale } from "../shared/colorScale";
import { cssProps } from "../shared/cssProps";
import { gridMove } from "../shared/gridNav";
import { divergingRamp, ThemeRepaint } from "../shared/theme";
import "../components/colorLegend";

export type DlaView = Omit<DlaResult, "tokens">;

interface Cell {
  /** "r,c" in the layer grid, or "embed" / "remainder". */
  key: string;
  label: string;
  value: number;
}

/** A signed number as the readout writes it: +0.412, −0.031. */
export function signed(v: number, digits = 3): string {
  const s = Math.abs(v).toFixed(digits);
  return v < 0 && Number(s) !== 0 ? `−${s}` : `+${s}`;
}

const CELL = 26;
const LABEL_W = 40;

export class DlaGrid extends LitElement {
  static override properties = { result: { attribute: false }, focusKey: { state: true }, hoverKey: { state: true } };
  result?: DlaView;
  /** The cell that holds the grid's tab stop. */
  focusKey = "0,0";
  /** The cell under the pointer or focused: its number is in the readout. */
  hoverKey?: string;

  static override styles = [
    readoutStyles,
    css`
    .scroll { overflow-x: auto; max-width: 100%; }
    .grid { display: grid; gap: 2px; width: max-content; align-items: center; }
    .row { display: contents; }
    .lab { font-size: 11px; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); white-space: nowrap; text-align: center; }
    .layer { position: sticky; left: 0; z-index: 1; background: var(--vscode-editor-background); text-align: left; align-self: stretch; display: flex; align-items: center; }
    .corner { position: sticky; left: 0; z-index: 1; background: var(--vscode-editor-background); align-self: stretch; }
    .cell { display: block; box-sizing: border-box; width: ${CELL}px; height: ${CELL - 6}px; border: 1px solid var(--vscode-panel-border, rgba(128, 128, 128, 0.5)); cursor: default; }
    .cell.mlp { margin-left: 6px; }
    .cell:focus-visible, .cell.hover { outline: 2px solid var(--vscode-focusBorder); outline-offset: 1px; }
    .totals { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: center; margin-top: 8px; }
    .totals label { display: inline-flex; gap: 6px; align-items: center; }
  `,
  ];

  private readonly themeRepaint = new ThemeRepaint(this, () => this.requestUpdate());

  /** What the values are: the target's logit, or its difference from the foil's. */
  get metric(): string {
    const r = this.result;
    if (!r) return "";
    const tok = (t: { text: string }) => `\`${visibleWhitespace(t.text)}\``;
    return r.foil ? `logit(${tok(r.target)}) − logit(${tok(r.foil)})` : `logit(${tok(r.target)})`;
  }

  /** The scale: ± the 98th percentile of the heads', MLPs' and biases' sizes (embeddings and remainder beyond it are drawn at full colour). */
  scale(): ColorScale | undefined {
    const r = this.result;
    if (!r) return undefined;
    const values = [...r.heads.flat(), ...r.mlps, ...r.attnBiases];
    return divergingScale(quantileAbs(values, 0.98) || Math.max(1e-6, ...values.map(Math.abs)), `direct logit attribution, to ${this.metric}`);
  }

  private get hasBias(): boolean {
    return !!this.result?.attnBiases.some((b) => b !== 0);
  }

  /** Every cell by key (the readout, the list of the largest). */
  cells(): Map<string, Cell> {
    const r = this.result;
    const out = new Map<string, Cell>();
    if (!r) return out;
    const H = r.heads[0]?.length ?? 0;
    r.heads.forEach((row, l) => row.forEach((v, h) => out.set(`${l},${h}`, { key: `${l},${h}`, label: `layer ${l} · head ${h}`, value: v })));
    r.mlps.forEach((v, l) => out.set(`${l},${H}`, { key: `${l},${H}`, label: `layer ${l} · MLP`, value: v }));
    if (this.hasBias) r.attnBiases.forEach((v, l) => out.set(`${l},${H + 1}`, { key: `${l},${H + 1}`, label: `layer ${l} · attention bias`, value: v }));
    out.set("embed", { key: "embed", label: "embeddings", value: r.embed });
    out.set("remainder", { key: "remainder", label: "remainder (norm and unembedding biases, rounding)", value: r.remainder });
    return out;
  }

  private show(key: string | undefined) {
    this.hoverKey = key;
  }

  /** Arrow keys move the tab stop through the layer grid; Home and End to a row's ends. */
  private onKey(e: KeyboardEvent, l: number, c: number) {
    const r = this.result;
    if (!r) return;
    const cols = (r.heads[0]?.length ?? 0) + 1 + (this.hasBias ? 1 : 0);
    const to = gridMove(e.key, l, c, r.heads.length, cols);
    if (!to) return;
    e.preventDefault();
    const [nl, nc] = to;
    this.focusKey = `${nl},${nc}`;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`.cell[data-key="${this.focusKey}"]`)?.focus());
  }

  private cell(c: Cell, scale: ColorScale, ramp: ReturnType<typeof divergingRamp>, extra: { cls?: string; roving?: boolean; l?: number; col?: number } = {}) {
    const text = `${c.label}: ${signed(c.value)}`;
    const tab = extra.roving ? (this.focusKey === c.key ? 0 : -1) : 0;
    return html`<span
      class=${`cell${extra.cls ? ` ${extra.cls}` : ""}${this.hoverKey === c.key ? " hover" : ""}`}
      role="gridcell"
      tabindex=${tab}
      data-key=${c.key}
      data-value=${String(c.value)}
      title=${text}
      aria-label=${text}
      ${cssProps({ background: ramp.css(scale.t(c.value)) })}
      @mouseenter=${() => this.show(c.key)}
      @mouseleave=${() => this.show(undefined)}
      @focus=${() => {
        if (extra.roving) this.focusKey = c.key;
        this.show(c.key);
      }}
      @blur=${() => this.show(undefined)}
      @keydown=${(e: KeyboardEvent) => extra.l !== undefined && extra.col !== undefined && this.onKey(e, extra.l, extra.col)}
    ></span>`;
  }

  override render() {
    const r = this.result;
    const scale = this.scale();
    if (!r || !scale) return nothing;
    const ramp = divergingRamp();
    const cells = this.cells();
    const H = r.heads[0]?.length ?? 0;
    const bias = this.hasBias;
    const cols = `${LABEL_W}px repeat(${H}, ${CELL}px) ${CELL + 6}px${bias ? ` ${CELL}px` : ""}`;
    const head = html`<div class="row" role="row">
      <span class="corner" role="columnheader"></span>
      ${Array.from({ length: H }, (_, h) => html`<span class="lab" role="columnheader" title=${`head ${h}`}>${h}</span>`)}
      <span class="lab" role="columnheader">MLP</span>
      ${bias ? html`<span class="lab" role="columnheader" title="attention output bias">b</span>` : null}
    </div>`;
    const rows = r.heads.map(
      (row, l) => html`<div class="row" role="row">
        <span class="lab layer" role="rowheader">L${l}</span>
        ${row.map((_, h) => this.cell(cells.get(`${l},${h}`)!, scale, ramp, { roving: true, l, col: h }))}
        ${this.cell(cells.get(`${l},${H}`)!, scale, ramp, { cls: "mlp", roving: true, l, col: H })}
        ${bias ? this.cell(cells.get(`${l},${H + 1}`)!, scale, ramp, { roving: true, l, col: H + 1 }) : null}
      </div>`,
    );
    const shown = this.hoverKey ? cells.get(this.hoverKey) : undefined;
    const largest = [...cells.values()].filter((c) => c.key !== "remainder").sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, 5);
    return html`<div class="legend"><seqlens-color-legend .scale=${scale} for="dla" length="180" note="hover or focus a cell for its value"></seqlens-color-legend></div>
      <div class="scroll">
        <div class="grid" role="grid" aria-label=${`Direct logit attribution to ${this.metric}: layers by heads and MLP`} ${cssProps({ "grid-template-columns": cols })}>${head}${rows}</div>
      </div>
      <div class="totals">
        <label>embeddings ${this.cell(cells.get("embed")!, scale, ramp)}</label>
        <label>remainder ${this.cell(cells.get("remainder")!, scale, ramp)}</label>
        <span>sum: <b>${r.metric === "logit" ? "logit" : "logit difference"} ${signed(r.logit)}</b></span>
      </div>
      <div class="readout" role="status" aria-live="polite">${shown ? html`<b>${shown.label}</b>: ${signed(shown.value)} to <code>${this.metric}</code>` : html`<span class="muted">Hover or focus a cell: its share of <code>${this.metric}</code>.</span>`}</div>
      <div>Largest parts:</div>
      <ol class="top">${largest.map((c) => html`<li>${c.label}: ${signed(c.value)}</li>`)}</ol>`;
  }
}
customElements.define("seqlens-dla-grid", DlaGrid);
