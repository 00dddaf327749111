// Activation patching in the Inspector: how much of the clean run's metric, logit(target) −
// logit(foil) after the last token, patching one activation from the clean run into the corrupted run
// restores (0: the corrupted run's metric, 1: the clean run's). A heatmap of layers × positions (the
// residual stream entering each block), and on request the heads of one layer × positions; each cell
// on a diverging scale (the theme's orange toward the clean metric, its blue past the corrupted one)
// with its legend. Drawn as the logit attribution grid is (dlaGrid.ts): DOM cells, one tab stop that
// the arrow keys move (shared/gridNav.ts), each cell's number on hover and on focus in a readout and
// its tooltip. The columns are the tokens, the positions where the two inputs differ marked.
import { css, html, LitElement, nothing } from "lit";
import { readoutStyles } from "./readoutStyles";
import type { PatchCandidate, PatchView } from "../../protocol/inspector";
import type { PatchResult } from "../../protocol/interventions";
import { visibleWhitespace } from "../../protocol/text";
import { divergingScale, quantileAbs, type ColorScale } from "../shared/colorScale";
import { cssProps } from "../shared/cssProps";
import { gridMove } from "../shared/gridNav";
import { divergingRamp, ThemeRepaint } from "../shared/theme";
import { signed } from "./dlaGrid";
import "../components/colorLegend";

const CELL = 26;
const LABEL_W = 44;
const tok = (s: string) => `\`${visibleWhitespace(s)}\``;

/** What the grids measure, as a line of text: logit(`a`) − logit(`b`). */
export function patchMetric(r: Pick<PatchResult, "target" | "foil">): string {
  return `logit(${tok(r.target.text)}) − logit(${tok(r.foil.text)})`;
}

/** The colour scale of a grid: ±1 (the clean metric), wider when restorations beyond it are common. */
export function patchScale(r: PatchResult): ColorScale {
  const bound = Math.max(1, quantileAbs(r.grid.flat(), 0.98));
  return divergingScale(bound, "share restored (0 corrupted, 1 clean)");
}

/** One patching grid: [layer or head][position]. Rows of a residual grid are buttons that ask for that layer's heads (`row-pick`). */
export class PatchGrid extends LitElement {
  static override properties = { result: { attribute: false }, pickRows: { type: Boolean }, pickedRow: { type: Number }, focusKey: { state: true }, hoverKey: { state: true } };
  result?: PatchResult;
  /** Whether a row's label asks for its heads. */
  pickRows = false;
  /** The row whose heads are shown (its label is marked). */
  pickedRow = -1;
  focusKey = "0,0";
  hoverKey?: string;

  static override styles = [
    readoutStyles,
    css`
    .scroll { overflow-x: auto; max-width: 100%; }
    .grid { display: grid; gap: 2px; width: max-content; align-items: center; }
    .row { display: contents; }
    .lab { font-size: 11px; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); white-space: nowrap; }
    .col { writing-mode: vertical-rl; transform: rotate(180deg); max-height: 7em; overflow: hidden; text-overflow: ellipsis; align-self: end; justify-self: center; font-family: var(--vscode-editor-font-family, monospace); padding: 2px 0; }
    /* a short token reads better upright, its characters stacked */
    .col.short { text-orientation: upright; transform: none; letter-spacing: -2px; }
    .col.differ { color: var(--vscode-foreground); font-weight: 700; border-right: 2px solid var(--vscode-focusBorder); }
    .side { position: sticky; left: 0; z-index: 1; background: var(--vscode-editor-background); align-self: stretch; display: flex; align-items: center; }
    .side button { font: inherit; font-size: 11px; color: var(--vscode-textLink-foreground); background: none; border: 1px solid transparent; border-radius: 2px; padding: 1px 3px; cursor: pointer; }
    .side button[aria-pressed="true"] { border-color: var(--vscode-focusBorder); color: var(--vscode-foreground); font-weight: 700; }
    .side button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    .cell { display: block; box-sizing: border-box; width: ${CELL}px; height: ${CELL - 6}px; border: 1px solid var(--vscode-panel-border, rgba(128, 128, 128, 0.5)); cursor: default; }
    .cell.differ { border-style: dashed; border-color: var(--vscode-focusBorder); }
    .cell.nan { background: repeating-linear-gradient(45deg, transparent 0 3px, var(--vscode-panel-border, rgba(128, 128, 128, 0.5)) 3px 4px); }
    .cell:focus-visible, .cell.hover { outline: 2px solid var(--vscode-focusBorder); outline-offset: 1px; }
  `,
  ];

  private readonly themeRepaint = new ThemeRepaint(this, () => this.requestUpdate());

  private get rowName(): string {
    return this.result?.axes[0] === "head" ? "head" : "layer";
  }

  /** Row `i`'s name: "layer 2", "head 1". */
  rowLabel(i: number): string {
    return `${this.rowName} ${i}`;
  }

  /** Column `j`'s token, and the corrupted one where the two differ. */
  colLabel(j: number): string {
    const r = this.result!;
    const t = r.tokens[j];
    const differ = r.differ.includes(j);
    return `position ${j} ${tok(t?.text ?? "")}${differ ? ` (corrupted ${tok(r.corruptedTokens[j]?.text ?? "")})` : ""}`;
  }

  /** What a cell's readout and tooltip say. */
  cellText(i: number, j: number): string {
    const r = this.result!;
    const v = r.grid[i][j];
    const what = `${this.rowLabel(i)} · ${this.colLabel(j)}`;
    if (!Number.isFinite(v)) return `${what}: no share (the clean and corrupted metrics are equal)`;
    return `${what}: restores ${signed(v)} (metric ${signed(r.raw[i][j])})`;
  }

  private onKey(e: KeyboardEvent, i: number, j: number) {
    const r = this.result;
    if (!r) return;
    const to = gridMove(e.key, i, j, r.grid.length, r.grid[0]?.length ?? 0);
    if (!to) return;
    e.preventDefault();
    this.focusKey = `${to[0]},${to[1]}`;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`.cell[data-key="${this.focusKey}"]`)?.focus());
  }

  private pick(i: number) {
    this.dispatchEvent(new CustomEvent("row-pick", { detail: { row: i }, bubbles: true, composed: true }));
  }

  override render() {
    const r = this.result;
    if (!r || r.grid.length === 0) return nothing;
    const scale = patchScale(r);
    const ramp = divergingRamp();
    const cols = r.grid[0]?.length ?? 0;
    const differ = new Set(r.differ);
    const what = r.axes[0] === "head" ? `the heads of layer ${r.layer}` : "the residual stream entering each layer";
    const header = html`<div class="row" role="row">
      <span class="side" role="columnheader" aria-label=${r.axes[0] === "head" ? "head" : "layer"}></span>
      ${Array.from({ length: cols }, (_, j) => {
        const label = `${differ.has(j) ? "≠" : ""}${visibleWhitespace(r.tokens[j]?.text ?? "")}`;
        return html`<span class=${`lab col${differ.has(j) ? " differ" : ""}${[...label].length <= 3 ? " short" : ""}`} role="columnheader" title=${this.colLabel(j)} aria-label=${this.colLabel(j)}>${label}</span>`;
      })}
    </div>`;
    const rows = r.grid.map(
      (row, i) => html`<div class="row" role="row">
        <span class="side" role="rowheader">${this.pickRows
          ? html`<button aria-pressed=${this.pickedRow === i ? "true" : "false"} title=${`patch the heads of layer ${i}, one position at a time`} @click=${() => this.pick(i)}>L${i}</button>`
          : html`<span class="lab">${r.axes[0] === "head" ? "h" : "L"}${i}</span>`}</span>
        ${row.map((v, j) => {
          const key = `${i},${j}`;
          const text = this.cellText(i, j);
          const finite = Number.isFinite(v);
          return html`<span
            class=${`cell${differ.has(j) ? " differ" : ""}${finite ? "" : " nan"}${this.hoverKey === key ? " hover" : ""}`}
            role="gridcell"
            tabindex=${this.focusKey === key ? 0 : -1}
            data-key=${key}
            data-row=${String(i)}
            data-col=${String(j)}
            data-value=${String(v)}
            data-raw=${String(r.raw[i][j])}
            title=${text}
            aria-label=${text}
            ${cssProps({ background: finite ? ramp.css(scale.t(v)) : null })}
            @mouseenter=${() => (this.hoverKey = key)}
            @mouseleave=${() => (this.hoverKey = undefined)}
            @focus=${() => {
              this.focusKey = key;
              this.hoverKey = key;
            }}
            @blur=${() => (this.hoverKey = undefined)}
            @keydown=${(e: KeyboardEvent) => this.onKey(e, i, j)}
          ></span>`;
        })}
      </div>`,
    );
    const shown = this.hoverKey?.split(",").map(Number);
    const forName = r.axes[0] === "head" ? "patch-heads" : "patch";
    return html`<div class="legend"><seqlens-color-legend .scale=${scale} for=${forName} length="180"></seqlens-color-legend></div>
      <div class="scroll">
        <div class="grid" role="grid" data-rows=${String(r.grid.length)} data-cols=${String(cols)} aria-label=${`Activation patching of ${what}: share of ${patchMetric(r)} restored, ${r.axes[0]}s by positions`} ${cssProps({ "grid-template-columns": `${LABEL_W}px repeat(${cols}, ${CELL}px)` })}>
          ${header}${rows}
        </div>
      </div>
      <div class="readout" role="status" aria-live="polite">${shown ? this.cellText(shown[0], shown[1]) : html`<span class="muted">Hover or focus a cell: the share of <code>${patchMetric(r)}</code> that patching it restores.</span>`}</div>`;
  }
}
customElements.define("seqlens-patch-grid", PatchGrid);

/** A metric token's option text: the token and its probability in each run where it is among the top. */
function candidateLabel(c: PatchCandidate): string {
  const p = (x: number | undefined) => (x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);
  return `${visibleWhitespace(c.text)} (clean ${p(c.clean)}, corrupted ${p(c.corrupted)})`;
}

/**
 * The "Activation patching" section: the two inputs, the metric with its two pickers (`metric-change`),
 * the clean and corrupted metric values, the residual grid, and the heads of a picked layer (`layer-pick`).
 */
export class PatchSection extends LitElement {
  static override properties = { view: { attribute: false }, heads: { attribute: false }, busy: { type: String }, headLayer: { type: Number } };
  view?: PatchView;
  /** The per-head grid of `headLayer`, when it has come. */
  heads?: PatchResult;
  /** What the host is computing for this section ("" when nothing). */
  busy = "";
  headLayer = -1;

  static override styles = css`
    :host { display: block; }
    p { margin: 4px 0; }
    .pickers { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; margin: 4px 0 6px; }
    .pickers label { display: inline-flex; flex-wrap: wrap; gap: 4px; align-items: center; max-width: 100%; min-width: 0; }
    select { font: inherit; max-width: 100%; min-width: 0; color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); padding: 2px 4px; border-radius: 2px; }
    select:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    .values { display: flex; flex-wrap: wrap; gap: 2px 16px; margin: 4px 0; }
    .inputs { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 2px 8px; margin: 4px 0; }
    .inputs code { white-space: pre; overflow: hidden; text-overflow: ellipsis; }
    code { font-family: var(--vscode-editor-font-family, monospace); }
    .muted { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    h3 { font-size: 12px; margin: 10px 0 2px; font-weight: 600; }
  `;

  private emit(name: string, detail: unknown) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  private pickMetric(which: "target" | "foil", id: number) {
    const r = this.view!.result;
    const next = { target: r.target.id, foil: r.foil.id, [which]: id };
    if (next.target === next.foil) return; // the same token twice measures nothing: the other select is left as it is
    this.emit("metric-change", next);
  }

  override render() {
    const v = this.view;
    if (!v) return nothing;
    const r = v.result;
    const d = v.defaultMetric;
    const option = (c: PatchCandidate, current: number, other: number) => html`<option value=${String(c.id)} ?selected=${c.id === current} ?disabled=${c.id === other}>${candidateLabel(c)}</option>`;
    const isDefault = r.target.id === d.target && r.foil.id === d.foil;
    const corruptedTop = v.candidates.reduce<PatchCandidate | undefined>((best, c) => (c.corrupted !== undefined && (best?.corrupted === undefined || c.corrupted > best.corrupted) ? c : best), undefined);
    const layers = r.grid.length;
    return html`
      <div class="inputs">
        <span>clean</span><code title=${v.clean}>${visibleWhitespace(v.clean)}</code>
        <span>corrupted</span><code title=${v.corrupted}>${visibleWhitespace(v.corrupted)}</code>
      </div>
      <p>
        ${r.tokens.length} tokens, ${r.differ.length === 0 ? "the same in both" : html`differing at position${r.differ.length > 1 ? "s" : ""} ${r.differ.join(", ")} (marked ≠)`}; ${v.modelName}: ${r.patched} entries patched in ${r.runs} runs, ${(r.ms / 1000).toFixed(2)} s.
      </p>
      <div class="pickers">
        <label>metric: logit of <select aria-label="Patching target token" @change=${(e: Event) => this.pickMetric("target", Number((e.target as HTMLSelectElement).value))}>
          ${v.candidates.map((c) => option(c, r.target.id, r.foil.id))}
        </select></label>
        <label>minus logit of <select aria-label="Patching foil token" @change=${(e: Event) => this.pickMetric("foil", Number((e.target as HTMLSelectElement).value))}>
          ${v.candidates.map((c) => option(c, r.foil.id, r.target.id))}
        </select></label>
        ${isDefault ? html`<span class="muted">${corruptedTop?.id === d.foil ? "(the default: the clean run's top token against the corrupted run's)" : "(the default: the clean run's top two tokens, as both runs' top is the same)"}</span>` : nothing}
        ${this.busy ? html`<span class="muted" role="status">${this.busy}…</span>` : nothing}
      </div>
      <div class="values" role="group" aria-label="metric values">
        <span>clean <b class="clean-metric" data-value=${String(r.cleanMetric)}>${signed(r.cleanMetric)}</b></span>
        <span>corrupted <b class="corrupted-metric" data-value=${String(r.corruptedMetric)}>${signed(r.corruptedMetric)}</b></span>
        <span class="muted">${patchMetric(r)} after the last token</span>
      </div>
      <h3>Residual stream, layer × position</h3>
      <seqlens-patch-grid class="residual" .result=${r} pickRows .pickedRow=${this.headLayer} @row-pick=${(e: CustomEvent<{ row: number }>) => this.emit("layer-pick", { layer: e.detail.row })}></seqlens-patch-grid>
      <div class="pickers">
        <label>heads of <select aria-label="Layer whose heads are patched" @change=${(e: Event) => {
          const val = (e.target as HTMLSelectElement).value;
          if (val !== "") this.emit("layer-pick", { layer: Number(val) });
        }}>
          <option value="" ?selected=${this.headLayer < 0}>pick a layer</option>
          ${Array.from({ length: layers }, (_, l) => html`<option value=${String(l)} ?selected=${l === this.headLayer}>layer ${l}</option>`)}
        </select></label>
        <span class="muted">or click a layer's label</span>
      </div>
      ${this.heads && this.heads.layer === this.headLayer
        ? html`<h3>Heads of layer ${this.heads.layer}, head × position</h3><seqlens-patch-grid class="heads" .result=${this.heads}></seqlens-patch-grid>`
        : nothing}
    `;
  }
}
customElements.define("seqlens-patch-section", PatchSection);
