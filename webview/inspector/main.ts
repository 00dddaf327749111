// The Inspector webview: token strip, attention for a chosen layer and head (heatmap, head view, all
// heads' thumbnails, in one colour scale the user picks and the panel keeps), and the next-token view
// for the selected position. It asks the extension for the slices it shows, and tells it which
// tokens the pointer is on in the heatmap so the editor marks them.
import { css, html, LitElement } from "lit";
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { InspectorHostToPanel, InspectionView, InspectorPanelToHost } from "../../protocol/inspector";
import type { NextTokenResult } from "../../protocol/basics";
import { connect } from "../shared/connect";
import { SCALE_KINDS, type ScaleKind } from "../shared/colorScale";
import "../components/heatmap";
import type { AttentionHeatmap } from "../components/heatmap";
import "../components/nextTokenView";
import "../components/tokenStrip";
import "./headView";
import "./overview";
import "./seq2seqView";
import type { SliceFetcher } from "./seq2seqView";

type Inspection = Extract<InspectorHostToPanel, { type: "inspection" }>;

interface SavedState {
  host?: Inspection["restore"]; // what the extension needs to re-run the inspection after a reload
  layer: number;
  head: number;
  selected: number;
  temperature: number;
  /** The colour scale of the heatmap, thumbnails and head view (absent in states saved before it). */
  scale?: ScaleKind;
  /** The heatmap's zoom: cell size in px, 0 to fit (absent: fit). */
  cell?: number;
}

/** Which host message answers each request. */
type Replies = { getAttention: "attention"; getNextToken: "nextToken"; getFillMask: "fillMask"; getSeq2seqAttention: "seq2seqAttention" };

/** Largest inspection whose all-heads thumbnails are drawn (each thumbnail is one [T, T] slice). */
const OVERVIEW_MAX_TOKENS = 256;

export class InspectorApp extends LitElement {
  static override properties = {
    view: { state: true },
    layer: { state: true },
    head: { state: true },
    selected: { state: true },
    temperature: { state: true },
    weights: { state: true },
    next: { state: true },
    stale: { state: true },
    staleReason: { state: true },
    error: { state: true },
    attnView: { state: true },
    overview: { state: true },
    scaleKind: { state: true },
    cell: { state: true },
  };
  /** Log by default: at 85 tokens most weights are near 1/T and a linear map is nearly blank. */
  scaleKind: ScaleKind = "log";
  cell = 0;
  attnView: "heatmap" | "head" | "overview" = "heatmap";
  overview = new Map<string, Float32Array>();
  /** Thumbnails asked for and not yet come, by "layer,head". */
  private overviewAsked = new Set<string>();
  view?: InspectionView;
  layer = 0;
  head = 0;
  selected = -1;
  temperature = 1;
  weights?: Float32Array;
  next?: NextTokenResult;
  stale = false;
  /** Why the result shown is stale when the text did not change: the last Inspect failed. */
  staleReason?: string;
  error?: string;
  private readonly host = connect<InspectorPanelToHost, InspectorHostToPanel, SavedState, Replies>();
  private hostState?: Inspection["restore"];
  /** Shows a host error (a rejected request's or one sent on its own). */
  private readonly showError = (e: { message: string }): void => {
    this.error = e.message;
  };

  static override styles = css`
    :host { display: block; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px; }
    header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
    .muted { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    /* a long text scrolls in its strip: the maps stay near the top */
    seqlens-token-strip { --seqlens-token-strip-max-height: 10.5em; }
    .stale { background: var(--vscode-inputValidation-warningBackground); border: 1px solid var(--vscode-inputValidation-warningBorder); padding: 4px 8px; margin-bottom: 8px; display: flex; gap: 8px; align-items: center; }
    .error { color: var(--vscode-errorForeground); margin: 6px 0; }
    section { margin: 10px 0; }
    h2 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; margin: 0 0 4px; font-weight: 600; }
    .pickers { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: center; }
    .pickers label { display: inline-flex; gap: 4px; align-items: center; }
    /* the next-token list beside the attention when the panel is wide, below it otherwise */
    .layout { container-type: inline-size; }
    .columns { display: grid; grid-template-columns: minmax(0, 1fr); column-gap: 16px; }
    @container (min-width: 1400px) {
      .columns { grid-template-columns: minmax(0, 1fr) minmax(280px, 360px); }
    }
    select { font: inherit; color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); padding: 2px 4px; border-radius: 2px; }
    select:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    .tabs { display: flex; gap: 2px; margin: 6px 0; }
    .tabs button { font: inherit; color: var(--vscode-foreground); background: none; border: none; border-bottom: 2px solid transparent; padding: 2px 8px; cursor: pointer; }
    .tabs button[aria-selected="true"] { border-bottom-color: var(--vscode-focusBorder); }
    .tabs button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    a { color: var(--vscode-textLink-foreground); }
    a:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    const saved = this.host.state;
    if (saved) {
      this.layer = saved.layer;
      this.head = saved.head;
      this.selected = saved.selected;
      this.temperature = saved.temperature;
      this.hostState = saved.host;
      if (saved.scale && SCALE_KINDS.some((k) => k.kind === saved.scale)) this.scaleKind = saved.scale;
      if (typeof saved.cell === "number") this.cell = saved.cell;
    }
    this.host.on("inspection", (msg) => this.show(msg));
    this.host.on("selectToken", (msg) => this.select(msg.index, false));
    this.host.on("stale", (msg) => {
      this.stale = msg.stale;
      this.staleReason = msg.stale ? msg.reason : undefined;
    });
    this.host.on("error", this.showError);
    window.addEventListener("keydown", (e) => this.onKey(e));
  }

  private save() {
    this.host.state = { host: this.hostState, layer: this.layer, head: this.head, selected: this.selected, temperature: this.temperature, scale: this.scaleKind, cell: this.cell };
  }

  private show(msg: Inspection) {
    const first = !this.view;
    this.view = msg.view;
    this.hostState = msg.restore;
    this.stale = false;
    this.error = undefined;
    this.layer = Math.min(this.layer, msg.view.nLayer - 1);
    this.head = Math.min(this.head, msg.view.nHead - 1);
    if (first && this.selected >= 0 && this.selected < msg.view.tokens.length) {
      /* keep the restored selection */
    } else if (msg.view.masks) this.selected = msg.view.masks.length > 0 ? msg.view.masks[0].position : -1;
    else this.selected = msg.view.tokens.length - 1;
    this.weights = undefined;
    this.overview = new Map();
    this.overviewAsked.clear();
    if (msg.view.seq2seq) {
      // the encoder-decoder view asks for its own slices
      this.next = undefined;
      this.save();
      return;
    }
    if (this.attnView === "overview") this.requestOverview();
    // The inspection carries the distribution at the last position (temperature 1), or a masked-LM's
    // fillers at each mask: ask only for another.
    const masks = msg.view.masks;
    const carried = masks ? masks.find((m) => m.position === this.selected) : this.selected === msg.view.tokens.length - 1 ? msg.view.next : undefined;
    const given = this.temperature === 1 && (carried !== undefined || (!!masks && this.selected < 0));
    this.next = given ? carried : undefined;
    if (given) this.host.supersede("next"); // a reply to an older request must not replace it
    // The host sends the slice the heatmap showed last: use it when it is the one shown now.
    const a = msg.view.attention;
    if (a && a.layer === this.layer && a.head === this.head) {
      this.host.supersede("attention");
      this.weights = a.data;
    } else this.requestAttention();
    if (!given) this.requestNext();
    this.save();
  }

  private requestAttention() {
    if (!this.view?.attentionAvailable) return;
    this.host.request({ type: "getAttention", layer: this.layer, head: this.head, view: true }, { latest: "attention" }).then((r) => {
      if (r) this.weights = r.data;
    }, this.showError);
  }

  /** Thumbnails of every layer and head, one slice at a time. */
  private requestOverview() {
    const v = this.view;
    if (!v?.attentionAvailable || v.tokens.length > OVERVIEW_MAX_TOKENS) return;
    for (let l = 0; l < v.nLayer; l++) {
      for (let h = 0; h < v.nHead; h++) {
        const key = `${l},${h}`;
        if (this.overview.has(key) || this.overviewAsked.has(key)) continue;
        this.overviewAsked.add(key);
        this.host.request({ type: "getAttention", layer: l, head: h }).then((r) => {
          if (this.view !== v) return; // asked for an older inspection
          this.overviewAsked.delete(key);
          this.overview = new Map(this.overview).set(key, r.data);
        }, this.showError);
      }
    }
  }

  private showAttention(view: "heatmap" | "head" | "overview") {
    this.attnView = view;
    if (view === "overview") this.requestOverview();
  }

  private requestNext() {
    const v = this.view;
    if (!v || this.selected < 0) return;
    const topK = (v.next ?? v.masks?.[0])?.top.length ?? 10;
    const ask = { position: this.selected, topK, temperature: this.temperature };
    const asked = v.masks ? this.host.request({ type: "getFillMask", ...ask }, { latest: "next" }) : this.host.request({ type: "getNextToken", ...ask }, { latest: "next" });
    asked.then((r) => {
      if (r) this.next = r.result;
    }, this.showError);
  }

  private select(index: number, reveal: boolean) {
    // an encoder-decoder's source token: nothing to predict after it (its view shows the target's)
    if (!this.view || index < 0 || index >= this.view.tokens.length || this.view.seq2seq) return;
    this.selected = index;
    this.requestNext();
    this.save();
    if (reveal) this.host.post({ type: "revealToken", index });
  }

  private setLayerHead(layer: number, head: number) {
    if (!this.view) return;
    this.layer = (layer + this.view.nLayer) % this.view.nLayer;
    this.head = (head + this.view.nHead) % this.view.nHead;
    this.requestAttention();
    this.save();
  }

  /** [ and ] change the layer, , and . the head. */
  private onKey(e: KeyboardEvent) {
    if (e.target instanceof HTMLInputElement || this.view?.seq2seq) return;
    if (e.key === "[") this.setLayerHead(this.layer - 1, this.head);
    else if (e.key === "]") this.setLayerHead(this.layer + 1, this.head);
    else if (e.key === ",") this.setLayerHead(this.layer, this.head - 1);
    else if (e.key === ".") this.setLayerHead(this.layer, this.head + 1);
  }

  private exportPng() {
    // the whole map, not only the cells in view
    const dataUrl = this.renderRoot.querySelector<AttentionHeatmap>("seqlens-attention-heatmap")?.toPngDataUrl();
    if (dataUrl) this.host.post({ type: "exportPng", dataUrl });
  }

  /** One slice of an encoder-decoder's attention (the newest request wins). */
  private readonly fetchSeq2seq: SliceFetcher = async (kind, layer, head) => {
    try {
      const r = await this.host.request({ type: "getSeq2seqAttention", kind, layer, head }, { latest: `seq2seq-${kind}` });
      return r?.data;
    } catch (e) {
      this.showError(e as Error);
      return undefined;
    }
  };

  /** The mark on a result that no longer answers the editor: the text changed, or a re-run failed. */
  private staleBanner() {
    if (!this.stale) return null;
    return html`<div class="stale" role="status">${this.staleReason ?? "The text changed since this inspection."} <vscode-button @click=${() => this.host.post({ type: "rerun" })}>Re-run</vscode-button></div>`;
  }

  override render() {
    const v = this.view;
    if (!v) return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}<p class="muted">Select text in an editor and run <b>SeqLens: Inspect Selection</b>.</p>`;
    if (v.seq2seq) {
      return html`
        <header>
          <span><b>${v.modelName}</b> · encoder-decoder · ${v.device}</span>
          <span class="muted">${v.tokens.length} source → ${v.seq2seq.target.length} target tokens · engine ${v.ms.run.toFixed(1)} ms</span>
          <vscode-button secondary @click=${() => this.host.post({ type: "exportData", format: "json" })}>JSON</vscode-button>
        </header>
        ${this.staleBanner()}
        ${v.truncated ? html`<div class="muted" role="note">${v.truncated.notice}</div>` : null}
        ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}
        <seqlens-seq2seq
          .view=${v}
          .fetchSlice=${this.fetchSeq2seq}
          .scaleKind=${this.scaleKind}
          @scale-change=${(e: CustomEvent<{ kind: ScaleKind }>) => this.setScale(e.detail.kind)}
          @hover-source=${(e: CustomEvent<{ query?: number; key?: number } | undefined>) => this.hoverTokens(e.detail?.query, e.detail?.key)}
          @reveal-source=${(e: CustomEvent) => this.host.post({ type: "revealToken", index: e.detail.index })}
        ></seqlens-seq2seq>
      `;
    }
    const options = (n: number, label: string, current: number) => Array.from({ length: n }, (_, i) => html`<option value=${String(i)} ?selected=${i === current}>${label} ${i}</option>`);
    return html`
      <header>
        <span><b>${v.modelName}</b> · onnx · ${v.device}</span>
        <span class="muted">${v.tokens.length} tokens · engine ${v.ms.run.toFixed(1)} ms</span>
        <vscode-button secondary @click=${() => this.host.post({ type: "exportData", format: "json" })}>JSON</vscode-button>
        <vscode-button secondary @click=${() => this.host.post({ type: "exportData", format: "csv" })}>CSV</vscode-button>
        <vscode-button secondary @click=${() => this.exportPng()}>PNG</vscode-button>
      </header>
      ${this.staleBanner()}
      ${v.truncated ? html`<div class="muted" role="note">${v.truncated.notice}</div>` : null}
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}
      <section>
        <h2>Tokens</h2>
        <seqlens-token-strip .tokens=${v.tokens} .selected=${this.selected} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-token-strip>
      </section>
      <div class="layout"><div class="columns">
      <section>
        <h2>Attention</h2>
        ${v.attentionAvailable
          ? html`<div class="pickers">
                <select aria-label="Layer" .value=${String(this.layer)} @change=${(e: Event) => this.setLayerHead(Number((e.target as HTMLSelectElement).value), this.head)}>${options(v.nLayer, "layer", this.layer)}</select>
                <select aria-label="Head" .value=${String(this.head)} @change=${(e: Event) => this.setLayerHead(this.layer, Number((e.target as HTMLSelectElement).value))}>${this.headOptions(v)}</select>
                ${this.scalePicker()}
                ${this.kvNote(v)}
                <span class="muted">[ ] layer · , . head</span>
              </div>
              <div class="tabs" role="tablist">
                ${(["heatmap", "head", "overview"] as const).map(
                  (k) => html`<button role="tab" aria-selected=${this.attnView === k ? "true" : "false"} @click=${() => this.showAttention(k)}>${{ heatmap: "Heatmap", head: "Head view", overview: "All heads" }[k]}</button>`,
                )}
              </div>
              ${this.attnView === "heatmap"
                ? html`<seqlens-attention-heatmap
                    .weights=${this.weights}
                    .tokens=${v.tokens}
                    .selected=${this.selected}
                    .scaleKind=${this.scaleKind}
                    .zoom=${this.cell}
                    @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}
                    @cell-hover=${(e: CustomEvent<{ q: number; k: number } | undefined>) => this.hoverTokens(e.detail?.q, e.detail?.k)}
                    @zoom-change=${(e: CustomEvent<{ cell: number }>) => {
                      this.cell = e.detail.cell;
                      this.save();
                    }}
                  ></seqlens-attention-heatmap>`
                : this.attnView === "head"
                  ? html`<seqlens-head-view
                      .weights=${this.weights}
                      .tokens=${v.tokens}
                      .selected=${this.selected}
                      .scaleKind=${this.scaleKind}
                      @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}
                      @cell-hover=${(e: CustomEvent<{ q: number } | undefined>) => this.hoverTokens(e.detail?.q)}
                    ></seqlens-head-view>`
                  : v.tokens.length > OVERVIEW_MAX_TOKENS
                    ? html`<p class="muted">Thumbnails are drawn up to ${OVERVIEW_MAX_TOKENS} tokens; pick a layer and head above.</p>`
                    : html`<seqlens-attention-overview .layers=${v.nLayer} .heads=${v.nHead} .slices=${this.overview} .active=${[this.layer, this.head]} .scaleKind=${this.scaleKind} @open-head=${(e: CustomEvent) => {
                        this.setLayerHead(e.detail.layer, e.detail.head);
                        this.attnView = "heatmap";
                      }}></seqlens-attention-overview>`}`
          : html`<p class="muted">This model's graph shows no attention probabilities.</p>`}
      </section>
      <section>
        <h2>${v.masks ? "Fill mask" : "Next token"}</h2>
        ${v.masks ? this.maskNote(v) : null}
        <seqlens-next-token .mode=${v.masks ? "fill" : "next"} .result=${this.next} .temperature=${this.temperature} @temperature-change=${(e: CustomEvent) => {
          this.temperature = e.detail.temperature;
          this.requestNext();
          this.save();
        }}></seqlens-next-token>
      </section>
      </div></div>
    `;
  }

  /** The colour scale of every attention map (heatmap, thumbnails, head view's lines), kept with the panel. */
  private scalePicker() {
    return html`<label>colour <select aria-label="Colour scale" .value=${this.scaleKind} @change=${(e: Event) => this.setScale((e.target as HTMLSelectElement).value as ScaleKind)}>
        ${SCALE_KINDS.map((k) => html`<option value=${k.kind} ?selected=${k.kind === this.scaleKind}>${k.label}</option>`)}
      </select></label>`;
  }

  private setScale(kind: ScaleKind) {
    this.scaleKind = kind;
    this.save();
  }

  /** The editor marks the tokens of the cell under the pointer (neither: clears the marks). */
  private hoverTokens(query?: number, key?: number) {
    this.host.post({ type: "hoverTokens", ...(query !== undefined ? { query } : {}), ...(key !== undefined ? { key } : {}) });
  }

  /** Query heads; under grouped-query attention each says the key/value head it shares. */
  private headOptions(v: InspectionView) {
    const group = v.nKvHead && v.nKvHead < v.nHead ? v.nHead / v.nKvHead : 0;
    return Array.from({ length: v.nHead }, (_, h) => html`<option value=${String(h)} ?selected=${h === this.head}>head ${h}${group ? ` · kv ${Math.floor(h / group)}` : ""}</option>`);
  }

  private kvNote(v: InspectionView) {
    if (!v.nKvHead || v.nKvHead >= v.nHead) return null;
    const group = v.nHead / v.nKvHead;
    const kv = Math.floor(this.head / group);
    const mates = Array.from({ length: group }, (_, i) => kv * group + i).filter((h) => h !== this.head);
    return html`<span class="muted" title="grouped-query attention: ${v.nHead} query heads share ${v.nKvHead} key/value heads">kv head ${kv}, shared with head${mates.length > 1 ? "s" : ""} ${mates.join(", ")}</span>`;
  }

  /** Where the mask tokens are, or how to ask for a filler where there is none. */
  private maskNote(v: InspectionView) {
    const mask = v.maskToken?.text ?? "[MASK]";
    const masks = v.masks ?? [];
    if (masks.length === 0) return html`<p class="muted">No ${mask} in the selection: click a token to ask what the model would put there (that token is masked and the text run again).</p>`;
    return html`<p class="muted">${mask} at token${masks.length > 1 ? "s" : ""} ${masks.map((m, i) => html`${i > 0 ? ", " : ""}<a href="#" @click=${(e: Event) => {
      e.preventDefault();
      this.select(m.position, false);
    }}>#${m.position}</a>`)}. Click any other token to mask it instead.</p>`;
  }
}
customElements.define("seqlens-inspector", InspectorApp);
