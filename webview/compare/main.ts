// The Compare webview: two models (A and B) on one selection, kept in step. One position, layer and
// head drive both sides: the next-token distributions side by side with the KL both ways and JS
// there, a strip over the text coloured by the loss difference, both attention maps and their
// difference (each colour map with its legend), and a summary (mean losses, the tokens and heads that
// changed most). The layout holds from 400 px up: the two sides' lists share the width in two
// columns that never overlap (one above the other below 600 px), the maps fill their columns.
import { css, html, LitElement, nothing, PropertyValues } from "lit";
import type { NextTokenResult, TokenInfo } from "../../protocol/basics";
import type { CompareHostToPanel, ComparePanelToHost, CompareRestore, CompareResult } from "../../protocol/compare";
import { visibleWhitespace } from "../../protocol/text";
import { type ColorScale, divergingScale, quantileAbs, SCALE_KINDS, type ScaleKind, weightScale } from "../shared/colorScale";
import { connect } from "../shared/connect";
import { ThemeRepaint } from "../shared/theme";
import { cssProps } from "../shared/cssProps";
import "../components/colorLegend";
import "../components/tokenStrip";
import { DELTA_BOUND, deltaColours } from "./colours";
import type { Cell } from "./diffMap";
import "./diffMap";
import "../components/nextTokenView";

type View = CompareResult & { text: string };

/** What the panel keeps across a window reload: the host's restore data and the choices made here. */
interface SavedState {
  host?: CompareRestore;
  position: number;
  layer: number;
  head: number;
  gateIndex: number;
  gateName: string;
  scale?: ScaleKind;
}

/** Which host message answers each request. */
type Replies = { getNextToken: "nextToken"; getAttention: "attention"; getGate: "gate" };

const TOP_K = 10;
/** The loss differences the strip's legend shows, bits (B − A). */
const LEGEND_DELTAS = [-DELTA_BOUND, -2, -1, 0, 1, 2, DELTA_BOUND];

/** The difference B − A of two maps of one shape. */
function difference(a: Float32Array, b: Float32Array): Float32Array {
  const d = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = b[i] - a[i];
  return d;
}

/** A bound for a difference map: its 99th percentile of |d|, but at least a quarter of its largest, so neither one outlier nor a sparse change washes it out. */
function diffBound(d: Float32Array): number {
  let max = 0;
  for (const v of d) max = Math.max(max, Math.abs(v));
  return Math.max(quantileAbs(d, 0.99), max / 4);
}

interface Derived {
  attn: [ColorScale?, ColorScale?];
  attnDiff?: Float32Array;
  attnDiffScale?: ColorScale;
  gateScale?: ColorScale;
  gateDiff?: Float32Array;
  gateDiffScale?: ColorScale;
}

export class CompareApp extends LitElement {
  static override properties = {
    view: { state: true },
    position: { state: true },
    layer: { state: true },
    head: { state: true },
    next: { state: true },
    attn: { state: true },
    gate: { state: true },
    gateName: { state: true },
    gateIndex: { state: true },
    error: { state: true },
    scaleKind: { state: true },
    hover: { state: true },
    temperature: { state: true },
  };
  /** Recurrent pairs: the direction (index into each side's layers) and gate shown, and each side's [T, units]. */
  gateIndex = 0;
  gateName = "hidden";
  gate: [{ data: Float32Array; units: number }?, { data: Float32Array; units: number }?] = [];
  view?: View;
  /** The selected token: its distribution is the one that predicted it (made at the position before). */
  position = 1;
  layer = 0;
  head = 0;
  next: [NextTokenResult?, NextTokenResult?] = [];
  attn: [Float32Array?, Float32Array?] = [];
  error?: string;
  /** How attention weights map to colour (both sides share it). */
  scaleKind: ScaleKind = "log";
  /** The temperature both sides' next-token lists are shown at (the divergences above are at 1). */
  temperature = 1;
  /** The cell under the mouse (or the keyboard) in one section's maps: drawn in all three. */
  hover?: { section: "attention" | "gates"; cell: Cell };
  private derived: Derived = { attn: [] };
  private readonly host = connect<ComparePanelToHost, CompareHostToPanel, SavedState, Replies>();
  private hostState?: CompareRestore;
  /** Shows a host error (a rejected request's or one sent on its own). */
  private readonly showError = (e: { message: string }): void => {
    this.error = e.message;
  };
  // the strip's colours come from the theme: read again when it changes
  private readonly themeRepaint = new ThemeRepaint(this, () => this.requestUpdate());

  static override styles = css`
    :host { display: block; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px; min-width: 0; }
    header { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: baseline; margin-bottom: 6px; }
    #pair { overflow-wrap: anywhere; }
    .muted { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    .note { background: var(--vscode-textBlockQuote-background); border-left: 3px solid var(--vscode-textBlockQuote-border); padding: 4px 8px; margin: 6px 0; }
    .error { color: var(--vscode-errorForeground); }
    h2 { font-size: 13px; margin: 14px 0 4px; font-weight: 600; overflow-wrap: anywhere; }
    h3 { font-size: 12px; line-height: 18px; height: 18px; margin: 0 0 4px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .side-tag { display: inline-block; min-width: 1.2em; text-align: center; border: 1px solid currentColor; border-radius: 3px; margin-right: 4px; font-size: 11px; line-height: 14px; }
    /* two columns that share the width and never overlap (min-width 0: a long token ends in an ellipsis, it does not push the other column) */
    .sides { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px 16px; }
    .sides > * { min-width: 0; }
    /* maps: as many columns as fit at 170 px or more (A and B side by side even at 400 px), each map as wide as its column */
    .maps { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 170px), 1fr)); gap: 12px; align-items: start; }
    .maps > * { min-width: 0; }
    @media (max-width: 600px) {
      .sides { grid-template-columns: minmax(0, 1fr); }
    }
    a { color: var(--vscode-textLink-foreground, var(--vscode-foreground)); }
    a:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    table.summary { border-collapse: collapse; }
    table.summary td { padding: 1px 8px 1px 0; overflow-wrap: anywhere; vertical-align: baseline; }
    table.summary td.unit, table.summary td:first-child { white-space: nowrap; overflow-wrap: normal; }
    .pickers { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: center; margin-bottom: 6px; }
    select { font: inherit; color: var(--vscode-dropdown-foreground, var(--vscode-foreground)); background: var(--vscode-dropdown-background, var(--vscode-editor-background)); border: 1px solid var(--vscode-dropdown-border, var(--vscode-panel-border, transparent)); padding: 2px 4px; }
    select:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    ul { margin: 0; padding-left: 18px; }
    li { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .tok { font-family: var(--vscode-editor-font-family); white-space: pre; }
    .delta-legend { display: flex; flex-wrap: wrap; gap: 2px; align-items: center; margin: 2px 0 6px; font-size: 11px; }
    .delta-legend .sw { font-family: var(--vscode-editor-font-family); padding: 0 4px; border-radius: 2px; border: 1px solid var(--vscode-panel-border, transparent); color: var(--vscode-editor-foreground, var(--vscode-foreground)); }
    .delta-legend .words { margin: 0 4px; }
    .legends { display: flex; flex-wrap: wrap; gap: 8px 24px; margin-top: 6px; }
    .tip { min-height: 2.6em; margin-top: 4px; font-size: 12px; overflow-wrap: anywhere; }
    .tip .tok { white-space: pre-wrap; }
    #divergence { overflow-wrap: anywhere; margin-bottom: 6px; }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    const saved = this.host.state;
    if (saved) {
      this.hostState = saved.host;
      this.position = saved.position;
      this.layer = saved.layer;
      this.head = saved.head;
      this.gateIndex = saved.gateIndex;
      this.gateName = saved.gateName;
      if (saved.scale && SCALE_KINDS.some((s) => s.kind === saved.scale)) this.scaleKind = saved.scale;
    }
    this.host.on("compare", (msg) => {
      this.view = msg.view;
      this.hostState = msg.restore;
      this.error = undefined;
      this.hover = undefined;
      this.layer = Math.max(0, Math.min(this.layer, msg.view.nLayer - 1));
      this.head = Math.max(0, Math.min(this.head, msg.view.nHead - 1));
      this.select(Math.min(msg.view.tokens.length - 1, Math.max(1, this.position)), false);
      this.requestAttention();
      this.requestGates();
      this.save();
    });
    this.host.on("selectPosition", (msg) => this.select(msg.index, false));
    this.host.on("error", this.showError);
  }

  private save(): void {
    this.host.state = { host: this.hostState, position: this.position, layer: this.layer, head: this.head, gateIndex: this.gateIndex, gateName: this.gateName, scale: this.scaleKind };
  }

  /** The maps' values and scales, worked out once per slice (not on every hover). */
  override willUpdate(changed: PropertyValues<this>): void {
    const v = this.view;
    if (!v) return;
    const T = v.tokens.length;
    if (changed.has("attn") || changed.has("scaleKind") || changed.has("view")) {
      const [a, b] = this.attn;
      const d = a && b && a.length === b.length ? difference(a, b) : undefined;
      this.derived = {
        ...this.derived,
        attn: [a && weightScale(this.scaleKind, a, T, T), b && weightScale(this.scaleKind, b, T, T)],
        attnDiff: d,
        attnDiffScale: d && divergingScale(diffBound(d), "attention, B − A"),
      };
    }
    if (changed.has("gate") || changed.has("view")) {
      const [ga, gb] = this.gate;
      const both = [ga?.data, gb?.data].filter((x): x is Float32Array => x !== undefined);
      let gateScale: ColorScale | undefined;
      if (both.length) {
        let lo = Infinity;
        let max = 0;
        for (const x of both)
          for (const y of x) {
            lo = Math.min(lo, y);
            max = Math.max(max, Math.abs(y));
          }
        const all = new Float32Array(both.reduce((n, x) => n + x.length, 0));
        both.reduce((o, x) => (all.set(x, o), o + x.length), 0);
        const bound = quantileAbs(all, 0.99) || max || 1;
        gateScale = lo < 0 ? divergingScale(bound, `${this.gateName} value`) : weightScale("linear", undefined, 0, 0, bound, `${this.gateName} value`);
      }
      const d = ga && gb && ga.units === gb.units ? difference(ga.data, gb.data) : undefined;
      this.derived = { ...this.derived, gateScale, gateDiff: d, gateDiffScale: d && divergingScale(diffBound(d), `${this.gateName}, B − A`) };
    }
  }

  /** Selects token `i` on both sides at once: one request per side for the distribution that predicted it. */
  private select(i: number, reveal: boolean, keepLists = false): void {
    const v = this.view;
    if (!v || i < 0 || i >= v.tokens.length) return;
    this.position = i;
    if (!keepLists) this.next = [];
    this.save();
    if (reveal) this.host.post({ type: "revealToken", index: i });
    if (v.mode !== "token" || i === 0) return;
    for (const side of [0, 1] as const) {
      this.host.request({ type: "getNextToken", side, position: i - 1, topK: TOP_K, ...(this.temperature !== 1 ? { temperature: this.temperature } : {}) }, { latest: `next ${side}` }).then((r) => {
        if (r) this.next = side === 0 ? [r.result, this.next[1]] : [this.next[0], r.result];
      }, this.showError);
    }
  }

  private requestAttention(): void {
    const v = this.view;
    this.attn = [];
    if (!v?.attentionComparable) return;
    for (const side of [0, 1] as const) {
      this.host.request({ type: "getAttention", side, layer: this.layer, head: this.head }, { latest: `attention ${side}` }).then((r) => {
        if (r) this.attn = side === 0 ? [r.data, this.attn[1]] : [this.attn[0], r.data];
      }, this.showError);
    }
  }

  /** Both sides' layers at one index and the gate names they share (LSTM and GRU share the hidden state only). */
  private gateChoice(): { layers: number; names: string[] } | undefined {
    const gl = this.view?.gateLayers;
    if (!gl) return undefined;
    const layers = Math.min(gl[0].length, gl[1].length);
    const i = Math.min(this.gateIndex, layers - 1);
    const names = gl[0][i].names.filter((n) => gl[1][i].names.includes(n));
    return { layers, names };
  }

  private requestGates(): void {
    this.gate = [];
    const choice = this.gateChoice();
    if (!choice || choice.layers === 0) return;
    if (!choice.names.includes(this.gateName)) this.gateName = choice.names.includes("hidden") ? "hidden" : choice.names[0];
    this.save();
    for (const side of [0, 1] as const) {
      this.host.request({ type: "getGate", side, index: Math.min(this.gateIndex, choice.layers - 1), name: this.gateName }, { latest: `gate ${side}` }).then((r) => {
        if (!r) return;
        const g = { data: r.data, units: r.shape[1] };
        this.gate = side === 0 ? [g, this.gate[1]] : [this.gate[0], g];
      }, this.showError);
    }
  }

  /** Both sides' lists at another temperature (one slider moves both). */
  private setTemperature(t: number): void {
    this.temperature = t;
    this.select(this.position, false, true); // the lists stay until the new ones come
  }

  private pickHead(layer: number, head: number): void {
    this.layer = layer;
    this.head = head;
    this.save();
    this.requestAttention();
  }

  /** A token as every panel writes it (whitespace visible), quoted. */
  private tok(t: TokenInfo | undefined): string {
    return JSON.stringify(visibleWhitespace(t?.text ?? ""));
  }

  /** "A · name" / "B · name": the side's letter, then its model (cut with an ellipsis, whole in the title). */
  private sideTitle(side: 0 | 1) {
    const name = this.view!.names[side];
    return html`<h3 title=${`${side === 0 ? "A" : "B"}: ${name}`}><span class="side-tag">${side === 0 ? "A" : "B"}</span>${name}</h3>`;
  }

  private onHover(section: "attention" | "gates", e: CustomEvent<Cell | null>): void {
    this.hover = e.detail ? { section, cell: e.detail } : undefined;
  }

  /** What the hovered cell holds on both sides and their difference. */
  private hoverTip(section: "attention" | "gates") {
    const v = this.view!;
    const h = this.hover?.section === section ? this.hover.cell : undefined;
    if (!h) return html`<span class="muted">${section === "attention" ? "Hover a cell: both models' weights and their difference. Click: select the query token." : "Hover a cell: both models' values and their difference. Click: select the step."}</span>`;
    const T = v.tokens.length;
    const [a, b] = section === "attention" ? this.attn : [this.gate[0]?.data, this.gate[1]?.data];
    const n = section === "attention" ? T : (this.gate[0]?.units ?? 0);
    const i = h.row * n + h.col;
    const va = a?.[i];
    const vb = b?.[i];
    const fmt = (x: number | undefined) => (x === undefined ? "—" : x.toFixed(3));
    const d = va !== undefined && vb !== undefined ? vb - va : undefined;
    const where =
      section === "attention"
        ? html`query #${h.row} <span class="tok">${this.tok(v.tokens[h.row])}</span> → key #${h.col} <span class="tok">${this.tok(v.tokens[h.col])}</span>`
        : html`step ${h.row} <span class="tok">${this.tok(v.tokens[h.row])}</span> · unit ${h.col}`;
    return html`${where}: A <b>${fmt(va)}</b> · B <b>${fmt(vb)}</b> · B − A <b>${d === undefined ? "—" : `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(3)}`}</b>`;
  }

  private attentionSection() {
    const v = this.view!;
    if (!v.attentionComparable) return nothing;
    const T = v.tokens.length;
    const der = this.derived;
    const hover = this.hover?.section === "attention" ? this.hover.cell : undefined;
    const onHover = (e: CustomEvent<Cell | null>) => this.onHover("attention", e);
    const onSelect = (e: CustomEvent<Cell>) => this.select(e.detail.row, true);
    const map = (side: 0 | 1) =>
      html`<seqlens-diff-map colormap="attention" label=${`Attention of ${side === 0 ? "A" : "B"}, ${v.names[side]}: query rows by key columns`} .values=${this.attn[side]} .scale=${der.attn[side]} .rows=${T} .cols=${T} .selectedRow=${this.position} .hoverCell=${hover} @cell-hover=${onHover} @cell-select=${onSelect}></seqlens-diff-map>`;
    return html`<h2>Attention · layer ${this.layer}, head ${this.head}</h2>
      <div class="pickers">
        <label>Layer <select aria-label="Layer" @change=${(e: Event) => this.pickHead(Number((e.target as HTMLSelectElement).value), this.head)}>${Array.from({ length: v.nLayer }, (_, l) => html`<option value=${l} ?selected=${l === this.layer}>${l}</option>`)}</select></label>
        <label>Head <select aria-label="Head" @change=${(e: Event) => this.pickHead(this.layer, Number((e.target as HTMLSelectElement).value))}>${Array.from({ length: v.nHead }, (_, h) => html`<option value=${h} ?selected=${h === this.head}>${h}</option>`)}</select></label>
        <label>Colour scale <select aria-label="Colour scale" @change=${(e: Event) => ((this.scaleKind = (e.target as HTMLSelectElement).value as ScaleKind), this.save())}>${SCALE_KINDS.map((s) => html`<option value=${s.kind} ?selected=${s.kind === this.scaleKind}>${s.label}</option>`)}</select></label>
      </div>
      <div class="maps" id="attention-maps">
        <div>${this.sideTitle(0)}${map(0)}</div>
        <div>${this.sideTitle(1)}${map(1)}</div>
        <div><h3>B − A</h3><seqlens-diff-map colormap="attention-diff" label="Attention of B minus attention of A" .values=${der.attnDiff} .scale=${der.attnDiffScale} .rows=${T} .cols=${T} .selectedRow=${this.position} .hoverCell=${hover} @cell-hover=${onHover} @cell-select=${onSelect}></seqlens-diff-map></div>
      </div>
      <div class="legends">
        <seqlens-color-legend for="attention" .scale=${der.attn[0] ?? weightScale(this.scaleKind)} note="A and B"></seqlens-color-legend>
        <seqlens-color-legend for="attention-diff" .scale=${der.attnDiffScale ?? divergingScale(1, "attention, B − A")} note="blue: B lower"></seqlens-color-legend>
      </div>
      <div class="tip" id="attention-tip" aria-live="polite">${this.hoverTip("attention")}</div>`;
  }

  private gatesSection() {
    const v = this.view!;
    const choice = this.gateChoice();
    if (!choice || !v.gateLayers) return nothing;
    const T = v.tokens.length;
    const [ga, gb] = this.gate;
    const der = this.derived;
    const hover = this.hover?.section === "gates" ? this.hover.cell : undefined;
    const onHover = (e: CustomEvent<Cell | null>) => this.onHover("gates", e);
    const onSelect = (e: CustomEvent<Cell>) => this.select(e.detail.row, true);
    return html`<h2>Gates and states</h2>
      <div class="pickers">
        <label>Layer <select aria-label="Recurrent layer" @change=${(e: Event) => ((this.gateIndex = Number((e.target as HTMLSelectElement).value)), this.requestGates())}>
          ${Array.from({ length: choice.layers }, (_, i) => html`<option value=${i} ?selected=${i === this.gateIndex}>${v.gateLayers![0][i].layer} · ${v.gateLayers![0][i].direction} (${v.gateLayers![0][i].cell} / ${v.gateLayers![1][i].cell})</option>`)}
        </select></label>
        <label>Gate <select aria-label="Gate" @change=${(e: Event) => ((this.gateName = (e.target as HTMLSelectElement).value), this.requestGates())}>
          ${choice.names.map((n) => html`<option value=${n} ?selected=${n === this.gateName}>${n}</option>`)}
        </select></label>
        <span class="muted">units down, steps across</span>
      </div>
      <div class="maps" id="gate-maps">
        ${([0, 1] as const).map((side) => html`<div>${this.sideTitle(side)}<seqlens-diff-map transpose colormap="gates" label=${`${this.gateName} of ${side === 0 ? "A" : "B"}: units down, steps across`} .values=${this.gate[side]?.data} .scale=${der.gateScale} .rows=${T} .cols=${this.gate[side]?.units ?? 0} .selectedRow=${this.position} .hoverCell=${hover} @cell-hover=${onHover} @cell-select=${onSelect}></seqlens-diff-map></div>`)}
        <div><h3>B − A</h3>${der.gateDiff
          ? html`<seqlens-diff-map transpose colormap="gates-diff" label=${`${this.gateName} of B minus A`} .values=${der.gateDiff} .scale=${der.gateDiffScale} .rows=${T} .cols=${ga!.units} .selectedRow=${this.position} .hoverCell=${hover} @cell-hover=${onHover} @cell-select=${onSelect}></seqlens-diff-map>`
          : html`<p class="muted">${ga && gb ? `${ga.units} and ${gb.units} units: no difference to draw` : ""}</p>`}</div>
      </div>
      <div class="legends">
        ${der.gateScale ? html`<seqlens-color-legend for="gates" .scale=${der.gateScale} note="A and B"></seqlens-color-legend>` : nothing}
        ${der.gateDiffScale ? html`<seqlens-color-legend for="gates-diff" .scale=${der.gateDiffScale} note="blue: B lower"></seqlens-color-legend>` : nothing}
      </div>
      <div class="tip" id="gates-tip" aria-live="polite">${this.hoverTip("gates")}</div>`;
  }

  override render() {
    const v = this.view;
    if (!v) return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}<p class="muted">Run <b>SeqLens: Compare Models…</b> on a selection.</p>`;
    const [a, b] = v.names;
    const s = v.summary;
    const c = v.perToken[this.position];
    const colourOf = deltaColours();
    const deltas = v.perToken.map((t) => (t.loss[0] !== null && t.loss[1] !== null ? t.loss[1] - t.loss[0] : null));
    const colours = deltas.map(colourOf);
    const titles = v.perToken.map((t) => (t.loss[0] !== null && t.loss[1] !== null ? `loss ${t.loss[0].toFixed(2)} → ${t.loss[1].toFixed(2)} bits (B − A ${(t.loss[1] - t.loss[0]).toFixed(2)})` : ""));
    const signed = (x: number) => `${x > 0 ? "+" : x < 0 ? "−" : ""}${Math.abs(x).toFixed(2)}`;
    return html`
      <header>
        <b id="pair">${a} ⟷ ${b}</b>
        <span class="muted">${v.tokens.length} tokens · compared ${v.mode === "token" ? "token by token" : "per byte"} · ${v.ms.total.toFixed(0)} ms</span>
      </header>
      ${v.note ? html`<div class="note" role="note">${v.note}</div>` : nothing}
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
      <h2>Summary</h2>
      <table class="summary" id="summary">
        <tr><td>mean loss</td><td>${a}: <b>${s.meanLoss[0].toFixed(3)}</b></td><td>${b}: <b>${s.meanLoss[1].toFixed(3)}</b></td><td class="muted unit">${s.unit}</td></tr>
        ${s.meanJs !== undefined ? html`<tr><td>mean JS</td><td colspan="3">${s.meanJs.toFixed(4)} bits per position</td></tr>` : nothing}
      </table>
      <div class="sides">
        <div><h3 title="Tokens whose loss changed most, bits, B − A">Tokens that changed most (bits, B − A)</h3>
          <ul id="changed-tokens">${s.changedTokens.slice(0, 8).map((t) => html`<li title=${`${visibleWhitespace(t.text)}: ${signed(t.delta)} bits`}><a href="#" class="tok" @click=${(e: Event) => (e.preventDefault(), this.select(t.index, true))}>${JSON.stringify(visibleWhitespace(t.text))}</a> ${signed(t.delta)}</li>`)}</ul></div>
        <div><h3 title=${v.gateLayers ? "Attention" : "Heads whose attention changed most (mean JS of rows)"}>${v.gateLayers ? "Attention" : "Heads whose attention changed most (mean JS of rows)"}</h3>
          ${s.changedHeads.length
            ? html`<ul id="changed-heads">${s.changedHeads.slice(0, 8).map((h) => html`<li><a href="#" @click=${(e: Event) => (e.preventDefault(), this.pickHead(h.layer, h.head))}>layer ${h.layer} head ${h.head}</a> ${h.meanJs.toFixed(3)}</li>`)}</ul>`
            : html`<p class="muted">${v.mode === "byte" ? "Two tokenizers: attention is over different tokens." : v.gateLayers ? "Recurrent models: their gates are below." : "No attention in one of the graphs."}</p>`}</div>
      </div>
      <h2>Loss difference over the text (B − A)</h2>
      <div class="delta-legend" id="delta-legend" role="img" aria-label=${`Token colours: blue where B predicts the token better (lower loss), orange where worse, from ${DELTA_BOUND} bits either way`}>
        <span class="words">B better</span>
        ${LEGEND_DELTAS.map((d) => html`<span class="sw" ${cssProps({ background: colourOf(d) })}>${d === 0 ? "0" : `${d > 0 ? "+" : "−"}${Math.abs(d)}${Math.abs(d) === DELTA_BOUND ? "+" : ""}`}</span>`)}
        <span class="words">B worse · bits · click a token</span>
      </div>
      <seqlens-token-strip .tokens=${v.tokens} .selected=${this.position} .colours=${colours} .titles=${titles} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-token-strip>
      <h2>At token ${this.position}: <span class="tok">${this.tok(v.tokens[this.position])}</span></h2>
      ${c && c.kl
        ? html`<div id="divergence">KL(${a}‖${b}) <b>${c.kl[0].toFixed(4)}</b> · KL(${b}‖${a}) <b>${c.kl[1].toFixed(4)}</b> · JS <b>${c.js!.toFixed(4)}</b> bits
            · the actual token: rank ${c.rank![0]} (${((c.p![0] ?? 0) * 100).toFixed(2)}%) under ${a}, rank ${c.rank![1]} (${((c.p![1] ?? 0) * 100).toFixed(2)}%) under ${b}</div>`
        : c && c.loss[0] !== null
          ? html`<div id="divergence">loss ${c.loss[0].toFixed(2)} bits under ${a}, ${c.loss[1]?.toFixed(2) ?? "—"} bits over the same bytes under ${b}</div>`
          : html`<div class="muted">The first token has no prediction.</div>`}
      ${v.mode === "token" && this.position > 0
        ? html`<div class="sides" id="next-lists">
            ${([0, 1] as const).map((side) => html`<div class="side">${this.sideTitle(side)}<seqlens-next-token .result=${this.next[side]} .temperature=${this.temperature} @temperature-change=${(e: CustomEvent<{ temperature: number }>) => this.setTemperature(e.detail.temperature)}></seqlens-next-token></div>`)}
          </div>`
        : nothing}
      ${this.attentionSection()}
      ${this.gatesSection()}
    `;
  }
}

customElements.define("seqlens-compare", CompareApp);
