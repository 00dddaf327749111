// The Inspector webview: token strip, attention heatmap for a chosen layer and head, and the
// next-token view for the selected position. It asks the extension for the slices it shows.
import { css, html, LitElement } from "lit";
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { InspectorHostToPanel, InspectionView, InspectorPanelToHost } from "../../protocol/inspector";
import type { NextTokenResult } from "../../protocol/basics";
import "./headView";
import "./heatmap";
import "./overview";
import "./nextTokenView";
import "./tokenStrip";

interface VsCodeApi {
  postMessage(msg: InspectorPanelToHost): void;
  getState(): SavedState | undefined;
  setState(s: SavedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface SavedState {
  host?: unknown; // what the extension needs to re-run the inspection after a reload
  layer: number;
  head: number;
  selected: number;
  temperature: number;
}

const vscode = acquireVsCodeApi();
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
    error: { state: true },
    attnView: { state: true },
    overview: { state: true },
  };
  attnView: "heatmap" | "head" | "overview" = "heatmap";
  overview = new Map<string, Float32Array>();
  private overviewRequests = new Map<number, string>();
  view?: InspectionView;
  layer = 0;
  head = 0;
  selected = -1;
  temperature = 1;
  weights?: Float32Array;
  next?: NextTokenResult;
  stale = false;
  error?: string;
  private requestId = 0;
  private wantAttention = 0;
  private wantNext = 0;
  private hostState?: unknown;

  static override styles = css`
    :host { display: block; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px; }
    header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
    .muted { opacity: 0.8; }
    .stale { background: var(--vscode-inputValidation-warningBackground); border: 1px solid var(--vscode-inputValidation-warningBorder); padding: 4px 8px; margin-bottom: 8px; display: flex; gap: 8px; align-items: center; }
    .error { color: var(--vscode-errorForeground); margin: 6px 0; }
    section { margin: 10px 0; }
    h2 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; margin: 0 0 4px; opacity: 0.85; font-weight: 600; }
    .pickers { display: flex; gap: 8px; align-items: center; }
    select { font: inherit; color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); padding: 2px 4px; border-radius: 2px; }
    select:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    .tabs { display: flex; gap: 2px; margin: 6px 0; }
    .tabs button { font: inherit; color: var(--vscode-foreground); background: none; border: none; border-bottom: 2px solid transparent; padding: 2px 8px; cursor: pointer; }
    .tabs button[aria-selected="true"] { border-bottom-color: var(--vscode-focusBorder); }
    .tabs button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    const saved = vscode.getState();
    if (saved) {
      this.layer = saved.layer;
      this.head = saved.head;
      this.selected = saved.selected;
      this.temperature = saved.temperature;
      this.hostState = saved.host;
    }
    window.addEventListener("message", (e: MessageEvent<InspectorHostToPanel>) => this.onMessage(e.data));
    window.addEventListener("keydown", (e) => this.onKey(e));
    vscode.postMessage({ type: "ready" });
  }

  private save() {
    vscode.setState({ host: this.hostState, layer: this.layer, head: this.head, selected: this.selected, temperature: this.temperature });
  }

  private onMessage(msg: InspectorHostToPanel) {
    switch (msg.type) {
      case "inspection": {
        const first = !this.view;
        this.view = msg.view;
        this.hostState = msg.restore;
        this.stale = false;
        this.error = undefined;
        this.layer = Math.min(this.layer, msg.view.nLayer - 1);
        this.head = Math.min(this.head, msg.view.nHead - 1);
        if (first && this.selected >= 0 && this.selected < msg.view.tokens.length) {
          /* keep the restored selection */
        } else this.selected = msg.view.tokens.length - 1;
        this.weights = undefined;
        this.overview = new Map();
        this.overviewRequests.clear();
        if (this.attnView === "overview") this.requestOverview();
        // The inspection carries the distribution at the last position (temperature 1): ask only for another.
        const given = this.selected === msg.view.tokens.length - 1 && this.temperature === 1;
        this.next = given ? msg.view.next : undefined;
        // The host sends the slice the heatmap showed last: use it when it is the one shown now.
        const a = msg.view.attention;
        if (a && a.layer === this.layer && a.head === this.head) {
          this.wantAttention = ++this.requestId; // a reply to an older request must not replace it
          this.weights = a.data;
        } else this.requestAttention();
        if (!given) this.requestNext();
        this.save();
        return;
      }
      case "attention": {
        if (msg.requestId === this.wantAttention) this.weights = msg.data;
        const key = this.overviewRequests.get(msg.requestId);
        if (key) {
          this.overviewRequests.delete(msg.requestId);
          this.overview = new Map(this.overview).set(key, msg.data);
        }
        return;
      }
      case "nextToken":
        if (msg.requestId === this.wantNext) this.next = msg.result;
        return;
      case "selectToken":
        this.select(msg.index, false);
        return;
      case "stale":
        this.stale = msg.stale;
        return;
      case "error":
        this.error = msg.message;
        return;
    }
  }

  private requestAttention() {
    if (!this.view?.attentionAvailable) return;
    this.wantAttention = ++this.requestId;
    vscode.postMessage({ type: "getAttention", requestId: this.wantAttention, layer: this.layer, head: this.head, view: true });
  }

  /** Thumbnails of every layer and head, one slice at a time. */
  private requestOverview() {
    const v = this.view;
    if (!v?.attentionAvailable || v.tokens.length > OVERVIEW_MAX_TOKENS) return;
    for (let l = 0; l < v.nLayer; l++) {
      for (let h = 0; h < v.nHead; h++) {
        const key = `${l},${h}`;
        if (this.overview.has(key) || [...this.overviewRequests.values()].includes(key)) continue;
        const id = ++this.requestId;
        this.overviewRequests.set(id, key);
        vscode.postMessage({ type: "getAttention", requestId: id, layer: l, head: h });
      }
    }
  }

  private showAttention(view: "heatmap" | "head" | "overview") {
    this.attnView = view;
    if (view === "overview") this.requestOverview();
  }

  private requestNext() {
    if (!this.view || this.selected < 0) return;
    this.wantNext = ++this.requestId;
    vscode.postMessage({ type: "getNextToken", requestId: this.wantNext, position: this.selected, topK: this.view.next.top.length, temperature: this.temperature });
  }

  private select(index: number, reveal: boolean) {
    if (!this.view || index < 0 || index >= this.view.tokens.length) return;
    this.selected = index;
    this.requestNext();
    this.save();
    if (reveal) vscode.postMessage({ type: "revealToken", index });
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
    if (e.target instanceof HTMLInputElement) return;
    if (e.key === "[") this.setLayerHead(this.layer - 1, this.head);
    else if (e.key === "]") this.setLayerHead(this.layer + 1, this.head);
    else if (e.key === ",") this.setLayerHead(this.layer, this.head - 1);
    else if (e.key === ".") this.setLayerHead(this.layer, this.head + 1);
  }

  private exportPng() {
    const canvas = this.renderRoot.querySelector("seqlens-attention-heatmap")?.shadowRoot?.querySelector<HTMLCanvasElement>("canvas.map");
    if (canvas) vscode.postMessage({ type: "exportPng", dataUrl: canvas.toDataURL("image/png") });
  }

  override render() {
    const v = this.view;
    if (!v) return html`<p class="muted">Select text in an editor and run <b>SeqLens: Inspect Selection</b>.</p>`;
    const options = (n: number, label: string, current: number) => Array.from({ length: n }, (_, i) => html`<option value=${String(i)} ?selected=${i === current}>${label} ${i}</option>`);
    return html`
      <header>
        <span><b>${v.modelName}</b> · onnx · ${v.device}</span>
        <span class="muted">${v.tokens.length} tokens · engine ${v.ms.run.toFixed(1)} ms</span>
        <vscode-button secondary @click=${() => vscode.postMessage({ type: "exportData", format: "json" })}>JSON</vscode-button>
        <vscode-button secondary @click=${() => vscode.postMessage({ type: "exportData", format: "csv" })}>CSV</vscode-button>
        <vscode-button secondary @click=${() => this.exportPng()}>PNG</vscode-button>
      </header>
      ${this.stale ? html`<div class="stale" role="status">The text changed since this inspection. <vscode-button @click=${() => vscode.postMessage({ type: "rerun" })}>Re-run</vscode-button></div>` : null}
      ${v.truncated ? html`<div class="muted" role="note">${v.truncated.notice}</div>` : null}
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}
      <section>
        <h2>Tokens</h2>
        <seqlens-token-strip .tokens=${v.tokens} .selected=${this.selected} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-token-strip>
      </section>
      <section>
        <h2>Attention</h2>
        ${v.attentionAvailable
          ? html`<div class="pickers">
                <select aria-label="Layer" .value=${String(this.layer)} @change=${(e: Event) => this.setLayerHead(Number((e.target as HTMLSelectElement).value), this.head)}>${options(v.nLayer, "layer", this.layer)}</select>
                <select aria-label="Head" .value=${String(this.head)} @change=${(e: Event) => this.setLayerHead(this.layer, Number((e.target as HTMLSelectElement).value))}>${options(v.nHead, "head", this.head)}</select>
                <span class="muted">[ ] layer · , . head</span>
              </div>
              <div class="tabs" role="tablist">
                ${(["heatmap", "head", "overview"] as const).map(
                  (k) => html`<button role="tab" aria-selected=${this.attnView === k ? "true" : "false"} @click=${() => this.showAttention(k)}>${{ heatmap: "Heatmap", head: "Head view", overview: "All heads" }[k]}</button>`,
                )}
              </div>
              ${this.attnView === "heatmap"
                ? html`<seqlens-attention-heatmap .weights=${this.weights} .tokens=${v.tokens} .selected=${this.selected} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-attention-heatmap>`
                : this.attnView === "head"
                  ? html`<seqlens-head-view .weights=${this.weights} .tokens=${v.tokens} .selected=${this.selected} @token-select=${(e: CustomEvent) => this.select(e.detail.index, true)}></seqlens-head-view>`
                  : v.tokens.length > OVERVIEW_MAX_TOKENS
                    ? html`<p class="muted">Thumbnails are drawn up to ${OVERVIEW_MAX_TOKENS} tokens; pick a layer and head above.</p>`
                    : html`<seqlens-attention-overview .layers=${v.nLayer} .heads=${v.nHead} .slices=${this.overview} .active=${[this.layer, this.head]} @open-head=${(e: CustomEvent) => {
                        this.setLayerHead(e.detail.layer, e.detail.head);
                        this.attnView = "heatmap";
                      }}></seqlens-attention-overview>`}`
          : html`<p class="muted">This model's graph shows no attention probabilities.</p>`}
      </section>
      <section>
        <h2>Next token</h2>
        <seqlens-next-token .result=${this.next} .temperature=${this.temperature} @temperature-change=${(e: CustomEvent) => {
          this.temperature = e.detail.temperature;
          this.requestNext();
          this.save();
        }}></seqlens-next-token>
      </section>
    `;
  }
}
customElements.define("seqlens-inspector", InspectorApp);
