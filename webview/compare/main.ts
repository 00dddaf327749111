// The Compare webview: two models on one selection, kept in step. One position, layer and head
// drive both sides: the next-token distributions side by side with the KL both ways and JS there,
// a strip over the text coloured by the loss difference, both attention maps and their
// difference, and a summary (mean losses, the tokens and heads that changed most).
import { css, html, LitElement, nothing } from "lit";
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { NextTokenResult } from "../../protocol/basics";
import type { CompareHostToPanel, ComparePanelToHost, CompareRestore, CompareResult } from "../../protocol/compare";
import { connect } from "../shared/connect";
import "../components/heatmap";
import "../components/nextTokenView";
import "../components/tokenStrip";
import "./diffMap";

type View = CompareResult & { text: string };

/** What the panel keeps across a window reload: the host's restore data and the choices made here. */
interface SavedState {
  host?: CompareRestore;
  position: number;
  layer: number;
  head: number;
  gateIndex: number;
  gateName: string;
}

/** Which host message answers each request. */
type Replies = { getNextToken: "nextToken"; getAttention: "attention"; getGate: "gate" };

const TOP_K = 10;

/** A diverging colour for a loss difference in bits: blue where the second model is better, red where worse. */
export function deltaColour(delta: number | null): string {
  if (delta === null || delta === 0) return "";
  const a = Math.min(1, Math.abs(delta) / 4) * 0.6 + 0.08;
  return delta < 0 ? `rgba(55, 148, 255, ${a.toFixed(3)})` : `rgba(241, 76, 76, ${a.toFixed(3)})`;
}

export class CompareApp extends LitElement {
  static override properties = { view: { state: true }, position: { state: true }, layer: { state: true }, head: { state: true }, next: { state: true }, attn: { state: true }, gate: { state: true }, gateName: { state: true }, gateIndex: { state: true }, error: { state: true } };
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
  private readonly host = connect<ComparePanelToHost, CompareHostToPanel, SavedState, Replies>();
  private hostState?: CompareRestore;
  /** Shows a host error (a rejected request's or one sent on its own). */
  private readonly showError = (e: { message: string }): void => {
    this.error = e.message;
  };

  static override styles = css`
    :host { display: block; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px; }
    header { display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; margin-bottom: 6px; }
    .muted { opacity: 0.8; }
    .note { background: var(--vscode-textBlockQuote-background); border-left: 3px solid var(--vscode-textBlockQuote-border); padding: 4px 8px; margin: 6px 0; }
    .error { color: var(--vscode-errorForeground); }
    h2 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; margin: 10px 0 4px; opacity: 0.85; font-weight: 600; }
    .sides { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 12px; }
    .sides3 { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 8px; }
    h3 { font-size: 12px; margin: 0 0 4px; font-weight: 600; }
    a { color: var(--vscode-textLink-foreground); }
    a:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    table.summary td { padding: 1px 8px 1px 0; }
    .pickers { display: flex; gap: 8px; align-items: center; }
    select { font: inherit; color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); padding: 2px 4px; }
    select:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    ul { margin: 0; padding-left: 18px; font-family: var(--vscode-editor-font-family); }
    .legend span { padding: 0 4px; border-radius: 2px; }
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
    }
    this.host.on("compare", (msg) => {
      this.view = msg.view;
      this.hostState = msg.restore;
      this.error = undefined;
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
    this.host.state = { host: this.hostState, position: this.position, layer: this.layer, head: this.head, gateIndex: this.gateIndex, gateName: this.gateName };
  }

  /** Selects token `i` on both sides at once: one request per side for the distribution that predicted it. */
  private select(i: number, reveal: boolean): void {
    const v = this.view;
    if (!v || i < 0 || i >= v.tokens.length) return;
    this.position = i;
    this.next = [];
    this.save();
    if (reveal) this.host.post({ type: "revealToken", index: i });
    if (v.mode !== "token" || i === 0) return;
    for (const side of [0, 1] as const) {
      this.host.request({ type: "getNextToken", side, position: i - 1, topK: TOP_K }, { latest: `next ${side}` }).then((r) => {
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

  private gatesSection() {
    const v = this.view!;
    const choice = this.gateChoice();
    if (!choice || !v.gateLayers) return nothing;
    const T = v.tokens.length;
    const [ga, gb] = this.gate;
    const same = ga && gb && ga.units === gb.units;
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
      <div class="sides3">
        ${([0, 1] as const).map((side) => html`<div class="side"><h3>${v.names[side]}</h3><seqlens-diff-map transpose .a=${this.gate[side]?.data} .rows=${T} .cols=${this.gate[side]?.units ?? 0}></seqlens-diff-map></div>`)}
        <div class="side"><h3>${v.names[1]} − ${v.names[0]}</h3>${same ? html`<seqlens-diff-map transpose .a=${ga!.data} .b=${gb!.data} .rows=${T} .cols=${ga!.units}></seqlens-diff-map>` : html`<p class="muted">${ga && gb ? `${ga.units} and ${gb.units} units: no difference to draw` : ""}</p>`}</div>
      </div>`;
  }

  override render() {
    const v = this.view;
    if (!v) return html`<p class="muted">Run <b>SeqLens: Compare Models…</b> on a selection.</p>`;
    const [a, b] = v.names;
    const s = v.summary;
    const c = v.perToken[this.position];
    const colours = v.perToken.map((t) => deltaColour(t.loss[0] !== null && t.loss[1] !== null ? t.loss[1] - t.loss[0] : null));
    const titles = v.perToken.map((t) => (t.loss[0] !== null && t.loss[1] !== null ? `loss ${t.loss[0].toFixed(2)} → ${t.loss[1].toFixed(2)} bits` : ""));
    return html`
      <header>
        <b id="pair">${a} ⟷ ${b}</b>
        <span class="muted">${v.tokens.length} tokens · compared ${v.mode === "token" ? "token by token" : "per byte"} · ${v.ms.total.toFixed(0)} ms</span>
      </header>
      ${v.note ? html`<div class="note" role="note">${v.note}</div>` : nothing}
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
      <h2>Summary</h2>
      <table class="summary" id="summary">
        <tr><td>mean loss</td><td>${a}: <b>${s.meanLoss[0].toFixed(3)}</b></td><td>${b}: <b>${s.meanLoss[1].toFixed(3)}</b></td><td class="muted">${s.unit}</td></tr>
        ${s.meanJs !== undefined ? html`<tr><td>mean JS</td><td colspan="3">${s.meanJs.toFixed(4)} bits per position</td></tr>` : nothing}
      </table>
      <div class="sides">
        <div><h3>Tokens that changed most (bits, ${b} − ${a})</h3>
          <ul id="changed-tokens">${s.changedTokens.slice(0, 8).map((t) => html`<li><a href="#" @click=${(e: Event) => (e.preventDefault(), this.select(t.index, true))}>${JSON.stringify(t.text)}</a> ${t.delta > 0 ? "+" : ""}${t.delta.toFixed(2)}</li>`)}</ul></div>
        <div><h3>${v.gateLayers ? "Attention" : "Heads whose attention changed most (mean JS of rows)"}</h3>
          ${s.changedHeads.length
            ? html`<ul id="changed-heads">${s.changedHeads.slice(0, 8).map((h) => html`<li><a href="#" @click=${(e: Event) => (e.preventDefault(), this.pickHead(h.layer, h.head))}>layer ${h.layer} head ${h.head}</a> ${h.meanJs.toFixed(3)}</li>`)}</ul>`
            : html`<p class="muted">${v.mode === "byte" ? "Two tokenizers: attention is over different tokens." : v.gateLayers ? "Recurrent models: their gates are below." : "No attention in one of the graphs."}</p>`}</div>
      </div>
      <h2>Loss difference over the text</h2>
      <div class="legend muted"><span style="background:${deltaColour(-3)}">${b} better</span> <span style="background:${deltaColour(3)}">${b} worse</span> (click a token)</div>
      <seqlens-token-strip .tokens=${v.tokens} .selected=${this.position} .colours=${colours} .titles=${titles} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-token-strip>
      <h2>At token ${this.position}: ${JSON.stringify(v.tokens[this.position]?.text ?? "")}</h2>
      ${c && c.kl
        ? html`<div id="divergence">KL(${a}‖${b}) <b>${c.kl[0].toFixed(4)}</b> · KL(${b}‖${a}) <b>${c.kl[1].toFixed(4)}</b> · JS <b>${c.js!.toFixed(4)}</b> bits
            · the actual token: rank ${c.rank![0]} (${((c.p![0] ?? 0) * 100).toFixed(2)}%) under ${a}, rank ${c.rank![1]} (${((c.p![1] ?? 0) * 100).toFixed(2)}%) under ${b}</div>`
        : c && c.loss[0] !== null
          ? html`<div id="divergence">loss ${c.loss[0].toFixed(2)} bits under ${a}, ${c.loss[1]?.toFixed(2) ?? "—"} bits over the same bytes under ${b}</div>`
          : html`<div class="muted">The first token has no prediction.</div>`}
      ${v.mode === "token"
        ? html`<div class="sides">
            ${([0, 1] as const).map((side) => html`<div class="side"><h3>${v.names[side]}</h3><seqlens-next-token .result=${this.next[side]}></seqlens-next-token></div>`)}
          </div>`
        : nothing}
      ${v.attentionComparable
        ? html`<h2>Attention</h2>
            <div class="pickers">
              <label>Layer <select aria-label="Layer" @change=${(e: Event) => this.pickHead(Number((e.target as HTMLSelectElement).value), this.head)}>${Array.from({ length: v.nLayer }, (_, l) => html`<option value=${l} ?selected=${l === this.layer}>${l}</option>`)}</select></label>
              <label>Head <select aria-label="Head" @change=${(e: Event) => this.pickHead(this.layer, Number((e.target as HTMLSelectElement).value))}>${Array.from({ length: v.nHead }, (_, h) => html`<option value=${h} ?selected=${h === this.head}>${h}</option>`)}</select></label>
            </div>
            <div class="sides3">
              <div class="side"><h3>${a}</h3><seqlens-attention-heatmap .weights=${this.attn[0]} .tokens=${v.tokens} .selected=${this.position} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-attention-heatmap></div>
              <div class="side"><h3>${b}</h3><seqlens-attention-heatmap .weights=${this.attn[1]} .tokens=${v.tokens} .selected=${this.position} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-attention-heatmap></div>
              <div class="side"><h3>${b} − ${a}</h3><seqlens-diff-map .a=${this.attn[0]} .b=${this.attn[1]} .rows=${v.tokens.length} .cols=${v.tokens.length}></seqlens-diff-map></div>
            </div>`
        : nothing}
      ${this.gatesSection()}
    `;
  }

  private pickHead(layer: number, head: number): void {
    this.layer = layer;
    this.head = head;
    this.save();
    this.requestAttention();
  }
}

customElements.define("seqlens-compare", CompareApp);
