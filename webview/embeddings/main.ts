// The Embeddings webview: a projector of the model's token embeddings (or of the selection's hidden
// states at a layer, with a polyline through the positions), nearest neighbours and vector
// arithmetic in the full space, search by substring or /regex/, and (in a tab of its own) the logit
// lens of the selection.
import { css, html, LitElement, nothing } from "lit";
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { EmbeddingsHostToPanel, EmbeddingsPanelToHost, EmbeddingsView, Source } from "../../protocol/embeddings";
import { connect } from "../shared/connect";
import type { SeqlensScatter, ScatterData } from "./scatter";
import { visibleLabel } from "./scatter";
import "./scatter";
import "./lensGrid";

/** What the panel keeps across a window reload: the host's selection and the choices made here. */
interface SavedState {
  host?: EmbeddingsView["restore"];
  source: Source;
  method: Method;
  dims: 2 | 3;
  layer: number;
  stepLayer: number;
  matrix: "input" | "output";
  /** The Logit lens tab is the one shown. */
  lens?: boolean;
}
/** Which host message answers each request. */
type Replies = { project: "projection"; neighbours: "neighbours" };

type Method = "pca" | "umap" | "tsne";
interface Shown {
  source: Source;
  matrix?: "input" | "output";
  layerNames?: string[];
  method: Method;
  dims: 2 | 3;
  layer?: number;
  ids: Int32Array;
  data: ScatterData;
  explained?: number[];
  cached: boolean;
  ms: number;
}
interface Term {
  id: number;
  token: string;
  sign: 1 | -1;
}

/** Matches of a search: a /regex/flags or a case-insensitive substring; an invalid regex says why. */
export function searchLabels(labels: string[], query: string): { indices: number[]; error?: string } {
  const q = query.trim() === "" ? "" : query;
  if (!q) return { indices: [] };
  let test: (s: string) => boolean;
  const m = /^\/(.+)\/([a-z]*)$/.exec(q);
  if (m) {
    try {
      const re = new RegExp(m[1], m[2].replace("g", ""));
      test = (s) => re.test(s);
    } catch (e) {
      return { indices: [], error: (e as Error).message };
    }
  } else {
    const lower = q.toLowerCase();
    test = (s) => s.toLowerCase().includes(lower);
  }
  const indices: number[] = [];
  labels.forEach((s, i) => test(s) && indices.push(i));
  return { indices };
}

export class EmbeddingsApp extends LitElement {
  static override properties = {
    view: { state: true },
    shown: { state: true },
    source: { state: true },
    method: { state: true },
    dims: { state: true },
    layer: { state: true },
    progress: { state: true },
    error: { state: true },
    query: { state: true },
    focusIndex: { state: true },
    selectedPosition: { state: true },
    neighbours: { state: true },
    terms: { state: true },
    sum: { state: true },
    metric: { state: true },
    colourBy: { state: true },
    matrix: { state: true },
    lensTab: { state: true },
  };
  /** Vocabulary: the token embedding, or the model's own output projection when it has one. */
  matrix: "input" | "output" = "input";
  /** The recurrent direction shown (-1 until the engine says which is the default, the last). */
  stepLayer = -1;
  selectedStep = -1;
  view?: EmbeddingsView;
  shown?: Shown;
  source: Source = "vocabulary";
  method: Method = "pca";
  dims: 2 | 3 = 2;
  layer = 0;
  /** The projection in flight: how far it is. */
  progress?: { done: number; total: number; message: string };
  error?: string;
  query = "";
  focusIndex = -1;
  selectedPosition = -1;
  neighbours?: { token: string; list: { id: number; token: string; score: number }[] };
  terms: Term[] = [];
  sum?: { id: number; token: string; score: number }[];
  metric: "cosine" | "euclidean" = "cosine";
  colourBy: "p" | "rank" = "p";
  /** The Logit lens tab is shown (the projector keeps its state behind it). */
  lensTab = false;
  private readonly host = connect<EmbeddingsPanelToHost, EmbeddingsHostToPanel, SavedState, Replies>();
  /** Shows a host error (a rejected request's or one sent on its own). */
  private readonly showError = (e: { message: string }): void => {
    if (e.message !== "cancelled") this.error = e.message;
  };

  static override styles = css`
    :host { display: block; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px; }
    header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 6px; }
    label { display: inline-flex; gap: 4px; align-items: center; }
    select, input { font: inherit; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, var(--vscode-dropdown-border, transparent)); padding: 2px 4px; border-radius: 2px; }
    select:focus-visible, input:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    [hidden] { display: none !important; }
    .muted { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    .error { color: var(--vscode-errorForeground); margin: 4px 0; }
    .tabs { display: flex; flex-wrap: wrap; gap: 2px; }
    .tabs button { font: inherit; color: var(--vscode-foreground); background: none; border: none; border-bottom: 2px solid transparent; padding: 2px 8px; cursor: pointer; }
    .tabs button[aria-selected="true"] { border-bottom-color: var(--vscode-focusBorder); }
    .tabs button:disabled { color: var(--vscode-disabledForeground, var(--vscode-descriptionForeground, var(--vscode-foreground))); cursor: default; }
    .progress { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
    progress { width: 220px; accent-color: var(--vscode-progressBar-background); }
    .main { display: flex; flex-wrap: wrap; gap: 10px; }
    seqlens-scatter { flex: 1 1 420px; min-width: 0; height: 480px; border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
    aside { flex: 1 1 240px; max-width: 360px; min-width: 0; overflow: auto; max-height: 480px; }
    h2 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; margin: 8px 0 4px; font-weight: 600; }
    ol { margin: 0; padding-left: 3.2em; font-family: var(--vscode-editor-font-family); }
    h2 .tok { text-transform: none; letter-spacing: normal; font-family: var(--vscode-editor-font-family); }
    li button { font: inherit; color: var(--vscode-textLink-foreground); background: none; border: none; padding: 0; cursor: pointer; }
    li .score { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); margin-left: 6px; }
    .terms { display: flex; flex-wrap: wrap; gap: 4px; font-family: var(--vscode-editor-font-family); }
    .term { border: 1px solid var(--vscode-focusBorder); border-radius: 2px; padding: 0 4px; }
    .row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
    section.lens { margin-top: 4px; }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    const saved = this.host.state;
    if (saved) Object.assign(this, { source: saved.source, method: saved.method, dims: saved.dims, layer: saved.layer, stepLayer: saved.stepLayer, matrix: saved.matrix, lensTab: saved.lens ?? false });
    this.host.on("view", (msg) => {
      this.view = msg.view;
      this.layer = Math.min(this.layer || msg.view.layers - 1, msg.view.layers - 1);
      if (msg.view.tokens.length === 0 || (this.source === "recurrent" && !msg.view.recurrentModel)) this.source = "vocabulary";
      if (msg.view.outputMatrix !== "own") this.matrix = "input";
      if (msg.view.tokens.length === 0) this.lensTab = false;
      this.selectedPosition = -1;
      this.error = undefined;
      this.requestProjection();
    });
    this.host.on("selectPosition", (msg) => {
      this.selectedPosition = msg.index;
      this.selectedStep = msg.step;
      this.focusIndex = this.indexOfPosition(msg.index);
    });
    this.host.on("error", this.showError);
  }

  /** The scatter index of selection position `t`: the position itself, or in the vocabulary that token's id; for h_t the character step. */
  private indexOfPosition(t: number): number {
    if (this.shown?.source === "recurrent") return this.selectedStep;
    const tok = this.view?.tokens[t];
    if (!tok || !this.shown) return -1;
    return this.shown.source === "selection" ? t : tok.id;
  }

  private save(): void {
    this.host.state = { host: this.view?.restore, source: this.source, method: this.method, dims: this.dims, layer: this.layer, stepLayer: this.stepLayer, matrix: this.matrix, lens: this.lensTab };
  }

  /** Asks for the projection now chosen; one in flight is cancelled (latest wins). */
  private requestProjection(): void {
    this.save();
    const ask = { type: "project", source: this.source, method: this.method, dims: this.dims, ...(this.source === "selection" ? { layer: this.layer } : this.source === "recurrent" ? (this.stepLayer >= 0 ? { layer: this.stepLayer } : {}) : { matrix: this.matrix }) } as const;
    const reply = this.host.request(ask, { latest: "projection", onProgress: (p) => (this.progress = p), cancel: (requestId) => ({ type: "cancel", requestId }) });
    this.progress = { done: 0, total: 1, message: `${this.method.toUpperCase()}: starting` };
    this.error = undefined;
    reply.then(
      (msg) => {
        if (!msg) return;
        this.progress = undefined;
        this.shown = { source: msg.source, matrix: msg.matrix, layerNames: msg.layerNames, method: msg.method, dims: msg.dims, layer: msg.layer, ids: msg.ids, data: { coords: msg.coords, dims: msg.dims, labels: msg.labels }, explained: msg.explained, cached: msg.cached, ms: msg.ms };
        if (msg.source === "recurrent" && msg.layer !== undefined) this.stepLayer = msg.layer;
        this.focusIndex = this.indexOfPosition(this.selectedPosition);
      },
      (e: { message: string }) => {
        this.progress = undefined;
        this.showError(e);
      },
    );
  }

  private cancel(): void {
    if (!this.progress) return;
    this.host.supersede("projection"); // posts the cancel; the reply is ignored
    this.progress = undefined;
  }

  /** Neighbours are found in the matrix on show (the token embedding for the selection's hidden states). */
  private neighbourMatrix(): "input" | "output" {
    return this.shown?.source === "vocabulary" ? this.matrix : "input";
  }

  private idAt(index: number): number {
    return this.shown ? this.shown.ids[index] : -1;
  }

  private onHover(index: number): void {
    if (!this.shown) return;
    if (this.shown.source === "recurrent") this.host.post({ type: "hoverPosition", index, of: "steps" });
    else if (this.shown.source === "selection") this.host.post({ type: "hoverPosition", index });
    else this.host.post({ type: "hoverToken", id: index >= 0 ? this.idAt(index) : -1 });
  }

  private pick(index: number): void {
    if (!this.shown || index < 0) return;
    this.focusIndex = index;
    if (this.shown.source === "recurrent") {
      // characters, not vocabulary tokens: no neighbours to look up
      this.selectedStep = index;
      this.host.post({ type: "revealPosition", index, of: "steps" });
      return;
    }
    if (this.shown.source === "selection") {
      this.selectedPosition = index;
      this.host.post({ type: "revealPosition", index });
    }
    const id = this.idAt(index);
    this.neighbours = { token: this.shown.data.labels[index], list: [] };
    this.host.request({ type: "neighbours", plus: [id], minus: [], k: 12, metric: this.metric, matrix: this.neighbourMatrix() }, { latest: "neighbours" }).then((r) => {
      if (r && this.neighbours) this.neighbours = { ...this.neighbours, list: r.neighbours };
    }, this.showError);
  }

  private addTerm(sign: 1 | -1): void {
    if (!this.shown || this.focusIndex < 0 || this.terms.length >= 16) return;
    const id = this.idAt(this.focusIndex);
    const token = this.view?.tokens.find((t) => t.id === id)?.text ?? this.shown.data.labels[this.focusIndex];
    this.terms = [...this.terms, { id, token: this.shown.source === "vocabulary" ? this.shown.data.labels[this.focusIndex] : token, sign }];
    this.computeSum();
  }

  private computeSum(): void {
    const plus = this.terms.filter((t) => t.sign > 0).map((t) => t.id);
    const minus = this.terms.filter((t) => t.sign < 0).map((t) => t.id);
    this.sum = undefined;
    if (plus.length === 0) return;
    this.host.request({ type: "neighbours", plus, minus, k: 10, metric: this.metric, matrix: this.neighbourMatrix() }, { latest: "sum" }).then((r) => {
      if (r) this.sum = r.neighbours;
    }, this.showError);
  }

  private gotoVocabularyToken(id: number): void {
    if (this.shown?.source !== "vocabulary") return;
    this.pick(id);
    this.renderRoot.querySelector<SeqlensScatter>("seqlens-scatter")?.centreOn(id);
  }

  override render() {
    const v = this.view;
    if (!v) return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}<p class="muted">Select text in the editor and run <b>SeqLens: Show Embeddings</b>.</p>`;
    const s = this.shown;
    const search = s ? searchLabels(s.data.labels, this.query) : { indices: [] };
    const highlight = s ? (s.source === "vocabulary" ? [...new Set(v.tokens.map((t) => t.id))] : []) : [];
    const lensTab = this.lensTab && v.tokens.length > 0;
    return html`
      <header>
        <b>${v.modelName}</b>
        <div class="tabs" role="tablist" aria-label="What to project">
          <button role="tab" aria-selected=${!lensTab && this.source === "vocabulary"} @click=${() => this.setSource("vocabulary")}>Vocabulary (${v.vocabSize})</button>
          <button role="tab" aria-selected=${!lensTab && this.source === "selection"} ?disabled=${v.tokens.length === 0} @click=${() => this.setSource("selection")}>Selection (${v.tokens.length} tokens)</button>
          ${v.recurrentModel ? html`<button role="tab" aria-selected=${!lensTab && this.source === "recurrent"} @click=${() => this.setSource("recurrent")}>Recurrent h_t (${v.recurrentModel})</button>` : nothing}
          <button role="tab" aria-selected=${lensTab} ?disabled=${v.tokens.length === 0} @click=${() => this.showLens()}>Logit lens</button>
        </div>
        ${lensTab
          ? html`<label>Colour by <select aria-label="Colour the lens by" @change=${(e: Event) => (this.colourBy = (e.target as HTMLSelectElement).value as "p" | "rank")}>
              <option value="p" ?selected=${this.colourBy === "p"}>probability of the top token</option>
              <option value="rank" ?selected=${this.colourBy === "rank"}>rank of the final prediction</option>
            </select></label>`
          : this.projectorControls(v, s, search)}
      </header>
      ${this.progress
        ? html`<div class="progress" role="status"><progress max=${this.progress.total} value=${this.progress.done}></progress><span>${this.progress.message} ${this.progress.total > 1 ? `${this.progress.done}/${this.progress.total}` : ""}</span><vscode-button secondary @click=${() => this.cancel()}>Cancel</vscode-button></div>`
        : nothing}
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
      ${v.truncated ? html`<div class="muted">${v.truncated}</div>` : nothing}
      ${s ? html`<div class="muted" id="summary" ?hidden=${lensTab}>${this.summary(s)}</div>` : nothing}
      <div class="main" ?hidden=${lensTab}>
        <seqlens-scatter
          .data=${s?.data}
          .highlight=${highlight}
          .found=${search.indices}
          .focusIndex=${this.focusIndex}
          .path=${s?.source === "selection" || s?.source === "recurrent"}
          .pathUnits=${s?.source === "recurrent" ? "character step" : "position in the selection"}
          .tipText=${(i: number) => this.tipText(i)}
          @point-hover=${(e: CustomEvent<{ index: number }>) => this.onHover(e.detail.index)}
          @point-pick=${(e: CustomEvent<{ index: number }>) => this.pick(e.detail.index)}
        ></seqlens-scatter>
        <aside>${this.sidebar()}</aside>
      </div>
      <section class="lens" ?hidden=${!lensTab}>
        ${v.lens
          ? html`<div class="muted">Each layer's residual stream through the final layer norm and the unembedding, decoded at each position of the selection; the last row is the model's own prediction.</div>
              <seqlens-lens-grid .lens=${v.lens} .colourBy=${this.colourBy} .selected=${this.selectedPosition} @position-pick=${(e: CustomEvent<{ index: number }>) => this.pickPosition(e.detail.index)}></seqlens-lens-grid>`
          : html`<p class="muted">${v.lensError ?? "Select some text to see its logit lens."}</p>`}
      </section>
    `;
  }

  /** The projector's controls in the header: matrix, method, dimensions, layer, search, export. */
  private projectorControls(v: EmbeddingsView, s: Shown | undefined, search: { indices: number[]; error?: string }) {
    return html`
        ${this.source === "vocabulary" && v.outputMatrix === "own"
          ? html`<label>Matrix <select aria-label="Matrix" @change=${(e: Event) => this.set("matrix", (e.target as HTMLSelectElement).value as "input" | "output")}>
              <option value="input" ?selected=${this.matrix === "input"}>token embedding</option>
              <option value="output" ?selected=${this.matrix === "output"}>output projection</option>
            </select></label>`
          : nothing}
        <label>Method <select aria-label="Projection method" @change=${(e: Event) => this.set("method", (e.target as HTMLSelectElement).value as Method)}>
          ${(["pca", "umap", "tsne"] as const).map((m) => html`<option value=${m} ?selected=${m === this.method}>${m === "tsne" ? "t-SNE" : m.toUpperCase()}</option>`)}
        </select></label>
        <label>Dims <select aria-label="Dimensions" @change=${(e: Event) => this.set("dims", Number((e.target as HTMLSelectElement).value) as 2 | 3)}>
          ${[2, 3].map((d) => html`<option value=${d} ?selected=${d === this.dims}>${d}-D</option>`)}
        </select></label>
        ${this.source === "selection"
          ? html`<label>Layer <select aria-label="Layer" @change=${(e: Event) => this.set("layer", Number((e.target as HTMLSelectElement).value))}>
              ${Array.from({ length: v.layers }, (_, l) => html`<option value=${l} ?selected=${l === this.layer}>${l === 0 ? "0 · embeddings + positions" : `${l} · after block ${l - 1}`}</option>`)}
            </select></label>`
          : nothing}
        ${this.source === "recurrent" && s?.source === "recurrent" && s.layerNames
          ? html`<label>Layer <select aria-label="Recurrent layer" @change=${(e: Event) => this.set("stepLayer", Number((e.target as HTMLSelectElement).value))}>
              ${s.layerNames.map((name, l) => html`<option value=${l} ?selected=${l === this.stepLayer}>${name}</option>`)}
            </select></label>`
          : nothing}
        <label>Search <input type="search" placeholder="text or /regex/" aria-label="Search tokens" .value=${this.query} @input=${(e: Event) => (this.query = (e.target as HTMLInputElement).value)} @keydown=${(e: KeyboardEvent) => e.key === "Enter" && this.firstMatch(search.indices)} /></label>
        ${this.query ? html`<span class="muted" id="match-count">${"error" in search && search.error ? search.error : `${search.indices.length} match${search.indices.length === 1 ? "" : "es"}`}</span>` : nothing}
        <vscode-button secondary @click=${() => this.exportPng()}>Export PNG</vscode-button>`;
  }

  private summary(s: Shown): string {
    const n = s.data.labels.length;
    const what = s.source === "recurrent" ? `${n} steps of h_t, ${s.layerNames?.[s.layer ?? 0] ?? ""}` : s.source === "vocabulary" ? `${n} tokens${s.matrix === "output" ? " of the output projection" : ""}` : `${n} positions at layer ${s.layer}`;
    const ev = s.explained ? `; explained variance ${s.explained.map((e) => (e * 100).toFixed(1) + "%").join(", ")}` : "";
    return `${what}, ${s.method === "tsne" ? "t-SNE" : s.method.toUpperCase()} ${s.dims}-D in ${s.ms.toFixed(0)} ms${s.cached ? " (cached)" : ""}${ev}. Drag to ${s.dims === 3 ? "turn (shift-drag to pan)" : "pan"}, wheel to zoom, 0 or Fit to fit again, ${s.source === "recurrent" ? "click a point to select its character" : "click a point for its neighbours"}.`;
  }

  private tipText(i: number): string {
    const s = this.shown!;
    const label = `"${visibleLabel(s.data.labels[i])}"`;
    if (s.source === "recurrent") return `${label}  step ${i}`;
    return s.source === "selection" ? `${label}  position ${i} · id ${s.ids[i]}` : `${label}  id ${i}`;
  }

  private sidebar() {
    const s = this.shown;
    if (!s) return nothing;
    if (s.source === "recurrent") return html`<p class="muted">Each point is the recurrent model's hidden state h_t after reading one character of the selection; the line joins them in order. Hover a point to see its character in the editor.</p>`;
    const list = (items: { id: number; token: string; score: number }[]) =>
      html`<ol>${items.map((n) => html`<li><button @click=${() => this.gotoVocabularyToken(n.id)} title="id ${n.id}">${visibleLabel(n.token)}</button><span class="score">${n.score.toFixed(3)}</span></li>`)}</ol>`;
    return html`
      <div class="row"><label>Distance <select aria-label="Distance" @change=${(e: Event) => this.setMetric((e.target as HTMLSelectElement).value as "cosine" | "euclidean")}>
        <option value="cosine" ?selected=${this.metric === "cosine"}>cosine</option><option value="euclidean" ?selected=${this.metric === "euclidean"}>euclidean</option>
      </select></label></div>
      <h2>Nearest tokens${this.neighbours ? html` to <span class="tok">"${visibleLabel(this.neighbours.token)}"</span>` : nothing}</h2>
      ${this.neighbours ? list(this.neighbours.list) : html`<p class="muted">Click a point. Neighbours are found in the full ${s.source === "selection" ? "embedding" : ""} space, not in the picture.</p>`}
      <h2>Vector arithmetic</h2>
      <div class="row">
        <vscode-button secondary ?disabled=${this.focusIndex < 0} @click=${() => this.addTerm(1)} title="Add the picked token">+ picked</vscode-button>
        <vscode-button secondary ?disabled=${this.focusIndex < 0} @click=${() => this.addTerm(-1)} title="Subtract the picked token">− picked</vscode-button>
        <vscode-button secondary ?disabled=${this.terms.length === 0} @click=${() => ((this.terms = []), (this.sum = undefined))}>Clear</vscode-button>
      </div>
      <div class="terms" aria-label="Expression">${this.terms.map((t, i) => html`<span class="term">${t.sign > 0 ? (i ? "+ " : "") : "− "}${visibleLabel(t.token)}</span>`)}</div>
      ${this.sum ? html`<h2>Nearest to the result</h2>${list(this.sum)}` : nothing}
    `;
  }

  private showLens(): void {
    this.lensTab = true;
    this.save();
  }

  private setSource(s: Source): void {
    if (this.lensTab) {
      this.lensTab = false;
      this.save();
    }
    if (this.source === s) return;
    this.source = s;
    this.focusIndex = -1;
    this.neighbours = undefined;
    this.requestProjection();
  }

  private set<K extends "method" | "dims" | "layer" | "matrix" | "stepLayer">(key: K, value: EmbeddingsApp[K]): void {
    (this as EmbeddingsApp)[key] = value;
    this.requestProjection();
  }

  private setMetric(m: "cosine" | "euclidean"): void {
    this.metric = m;
    if (this.focusIndex >= 0) this.pick(this.focusIndex);
    this.computeSum();
  }

  private firstMatch(indices: number[]): void {
    if (indices.length === 0) return;
    this.pick(indices[0]);
    this.renderRoot.querySelector<SeqlensScatter>("seqlens-scatter")?.centreOn(indices[0]);
  }

  private pickPosition(t: number): void {
    this.selectedPosition = t;
    this.focusIndex = this.indexOfPosition(t);
    this.host.post({ type: "revealPosition", index: t });
  }

  private exportPng(): void {
    const sc = this.renderRoot.querySelector<SeqlensScatter>("seqlens-scatter");
    if (sc) this.host.post({ type: "exportPng", dataUrl: sc.toDataUrl() });
  }
}

customElements.define("seqlens-embeddings", EmbeddingsApp);
