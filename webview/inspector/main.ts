// The Inspector webview: token strip, attention for a chosen layer and head (heatmap, head view, all
// heads' thumbnails, in one colour scale the user picks and the panel keeps), and the next-token view
// for the selected position. It asks the extension for the slices it shows, and tells it which
// tokens the pointer is on in the heatmap so the editor marks them. "Why": heads switched off from
// their thumbnails (the host runs the text again with them off, and every view shows that run), the
// prediction after the selected token split into its heads and MLPs (direct logit attribution), and
// the editor's Why This Token? for the selected token (w). Activation patching between two selections
// (SeqLens: Patch Activations) shows in its own section, with or without an inspection.
import { css, html, LitElement } from "lit";
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { InspectorAttribution, InspectorHostToPanel, InspectionView, InspectorPanelToHost, PatchView } from "../../protocol/inspector";
import type { NextTokenResult } from "../../protocol/basics";
import { ABLATION_MODES, type AblationMode, type HeadRef, type PatchResult } from "../../protocol/interventions";
import { visibleWhitespace } from "../../protocol/text";
import { connect } from "../shared/connect";
import { SCALE_KINDS, type ScaleKind } from "../shared/colorScale";
import "../components/heatmap";
import type { AttentionHeatmap } from "../components/heatmap";
import "../components/nextTokenView";
import "../components/tokenStrip";
import "./headView";
import "./overview";
import "./seq2seqView";
import "./dlaGrid";
import "./attributionStrip";
import type { DlaView } from "./dlaGrid";
import "./patchGrid";
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
  /** What replaces a switched-off head's output (absent in states saved before it). */
  ablateMode?: AblationMode;
  /** Whether the logit attribution grid is open. */
  dlaOpen?: boolean;
}

/** Which host message answers each request. */
type Replies = { getAttention: "attention"; getNextToken: "nextToken"; getFillMask: "fillMask"; getSeq2seqAttention: "seq2seqAttention"; getDla: "dla"; setPatchMetric: "patch"; getPatchHeads: "patchHeads" };

const MODE_LABELS: Record<AblationMode, string> = { zero: "zero", mean: "mean over positions" };

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
    ablateMode: { state: true },
    ablatePending: { state: true },
    dlaOpen: { state: true },
    dla: { state: true },
    dlaBusy: { state: true },
    dlaTarget: { state: true },
    dlaFoil: { state: true },
    patch: { state: true },
    patchHeads: { state: true },
    patchHeadLayer: { state: true },
    patchBusy: { state: true },
    attribution: { state: true },
  };
  /** Why This Token? run from the panel (w): its scores on the panel's own strip, until the text changes. */
  attribution?: InspectorAttribution;
  /** Activation patching of two selections, shown beside (or without) an inspection. */
  patch?: PatchView;
  /** The per-head grid of `patchHeadLayer`, when it has come. */
  patchHeads?: PatchResult;
  patchHeadLayer = -1;
  /** What the host is computing for the patching section ("" when nothing). */
  patchBusy = "";
  /** What replaces a switched-off head's output. */
  ablateMode: AblationMode = "zero";
  /** The heads asked to be off while the host runs the text again (the run shown says which are off). */
  ablatePending?: HeadRef[];
  dlaOpen = false;
  dla?: DlaView;
  /** A logit attribution asked for and not yet come. */
  dlaBusy = false;
  /** The token explained and the one it is set against (ids from the next-token list; undefined: the default, none). */
  dlaTarget?: number;
  dlaFoil?: number;
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
    .ablation { border: 1px solid var(--vscode-errorForeground, #f14c4c); border-left-width: 4px; padding: 4px 8px; margin-bottom: 8px; display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; }
    .abl-tools { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; margin: 4px 0 6px; }
    .why-tools { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; margin-bottom: 6px; }
    button.disclosure { font: inherit; color: var(--vscode-foreground); background: none; border: 1px solid var(--vscode-button-secondaryBackground, var(--vscode-panel-border, #808080)); border-radius: 2px; padding: 2px 8px; cursor: pointer; }
    button.disclosure:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    code { font-family: var(--vscode-editor-font-family, monospace); }
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
      if (saved.ablateMode && (ABLATION_MODES as readonly string[]).includes(saved.ablateMode)) this.ablateMode = saved.ablateMode;
      this.dlaOpen = saved.dlaOpen === true;
    }
    this.host.on("inspection", (msg) => this.show(msg));
    this.host.on("selectToken", (msg) => this.select(msg.index, false));
    this.host.on("patch", (msg) => this.showPatch(msg.patch, true));
    this.host.on("attribution", (msg) => (this.attribution = msg.attribution));
    this.host.on("stale", (msg) => {
      this.stale = msg.stale;
      this.staleReason = msg.stale ? msg.reason : undefined;
    });
    this.host.on("error", (e) => {
      // a switch that failed: the heads marked off are again those of the run shown
      this.ablatePending = undefined;
      this.showError(e);
    });
    window.addEventListener("keydown", (e) => this.onKey(e));
  }

  private save() {
    this.host.state = {
      host: this.hostState,
      layer: this.layer,
      head: this.head,
      selected: this.selected,
      temperature: this.temperature,
      scale: this.scaleKind,
      cell: this.cell,
      ablateMode: this.ablateMode,
      dlaOpen: this.dlaOpen,
    };
  }

  private show(msg: Inspection) {
    const first = !this.view;
    // the same text run again (heads switched, a re-run): the selected token stays
    const sameText = !!this.view && this.view.text === msg.view.text && this.view.tokens.length === msg.view.tokens.length;
    this.view = msg.view;
    this.ablatePending = undefined;
    if (msg.view.ablation) this.ablateMode = msg.view.ablation.mode;
    this.dla = undefined;
    if (!sameText) {
      this.dlaTarget = undefined;
      this.dlaFoil = undefined;
      this.attribution = undefined;
    }
    this.hostState = msg.restore;
    this.stale = false;
    this.error = undefined;
    this.layer = Math.min(this.layer, msg.view.nLayer - 1);
    this.head = Math.min(this.head, msg.view.nHead - 1);
    if ((first || sameText) && this.selected >= 0 && this.selected < msg.view.tokens.length) {
      /* keep the restored (or the same text's) selection */
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
    if (this.dlaOpen) this.requestDla();
    this.save();
  }

  /** Whether heads can be switched off and the prediction split: a causal model's inspection. */
  private get causal(): boolean {
    return !!this.view?.next && !this.view.masks && !this.view.seq2seq;
  }

  /** The heads off: those asked for while the host runs, else those of the run shown. */
  private get offHeads(): HeadRef[] {
    return this.ablatePending ?? this.view?.ablation?.heads ?? [];
  }

  /** Asks the host to run the text with `heads` off (none: every head on). */
  private ablate(heads: HeadRef[], mode = this.ablateMode) {
    this.ablatePending = heads;
    this.error = undefined;
    this.host.post({ type: "ablateHeads", heads, mode });
  }

  private toggleHead(layer: number, head: number) {
    const off = this.offHeads;
    const has = off.some((h) => h.layer === layer && h.head === head);
    const next = has ? off.filter((h) => h.layer !== layer || h.head !== head) : [...off, { layer, head }].sort((a, b) => a.layer - b.layer || a.head - b.head);
    this.ablate(next);
  }

  private setAblateMode(mode: AblationMode) {
    this.ablateMode = mode;
    this.save();
    if (this.offHeads.length > 0) this.ablate(this.offHeads, mode);
  }

  /** Direct logit attribution of the prediction after the selected token. */
  private requestDla() {
    const v = this.view;
    if (!v || !this.causal || this.selected < 0) return;
    this.dlaBusy = true;
    const ask = { type: "getDla" as const, position: this.selected, ...(this.dlaTarget !== undefined ? { target: this.dlaTarget } : {}), ...(this.dlaFoil !== undefined ? { foil: this.dlaFoil } : {}) };
    this.host.request(ask, { latest: "dla" }).then(
      (r) => {
        if (!r) return; // a newer request superseded it
        this.dlaBusy = false;
        if (this.view === v) this.dla = r.result;
      },
      (e) => {
        this.dlaBusy = false;
        this.showError(e);
      },
    );
  }

  private toggleDla() {
    this.dlaOpen = !this.dlaOpen;
    if (this.dlaOpen && !this.dla) this.requestDla();
    this.save();
  }

  /** A new activation patching (`reveal`: from the editor's command, scrolled into view), or the same inputs with another metric. */
  private showPatch(view: PatchView, reveal: boolean) {
    const same = !!this.patch && this.patch.clean === view.clean && this.patch.corrupted === view.corrupted;
    this.host.supersede("patch");
    this.host.supersede("patchHeads");
    this.patch = view;
    this.patchHeads = undefined;
    this.patchBusy = "";
    this.error = undefined;
    // the same inputs with another metric: the heads of the layer picked, again
    if (same && this.patchHeadLayer >= 0) this.requestPatchHeads(this.patchHeadLayer);
    else this.patchHeadLayer = -1;
    if (reveal) void this.updateComplete.then(() => this.renderRoot.querySelector("section.patch")?.scrollIntoView({ block: "start" }));
  }

  /** The patching shown, run again with logit(target) − logit(foil). */
  private setPatchMetric(target: number, foil: number) {
    this.patchBusy = "patching again with the new metric";
    this.error = undefined;
    this.host.request({ type: "setPatchMetric", target, foil }, { latest: "patch" }).then(
      (r) => {
        if (r) this.showPatch(r.patch, false);
      },
      (e) => {
        this.patchBusy = "";
        this.showError(e);
        this.requestUpdate("patch"); // the pickers go back to the metric shown
      },
    );
  }

  /** The heads of `layer` patched one position at a time. */
  private requestPatchHeads(layer: number) {
    const v = this.patch;
    if (!v) return;
    this.patchHeadLayer = layer;
    this.patchHeads = undefined;
    this.patchBusy = `patching the heads of layer ${layer}`;
    this.host.request({ type: "getPatchHeads", layer }, { latest: "patchHeads" }).then(
      (r) => {
        if (!r || this.patch !== v) return;
        this.patchBusy = "";
        this.patchHeads = r.result;
      },
      (e) => {
        this.patchBusy = "";
        this.showError(e);
      },
    );
  }

  private closePatch() {
    this.host.supersede("patch");
    this.host.supersede("patchHeads");
    this.patch = undefined;
    this.patchHeads = undefined;
    this.patchHeadLayer = -1;
    this.patchBusy = "";
    this.host.post({ type: "clearPatch" });
  }

  /** Activation patching: the section with its grids, or nothing when none is shown. */
  private patchSection() {
    const p = this.patch;
    if (!p) return null;
    return html`<section class="patch" aria-label="Activation patching">
      <div class="why-tools"><h2>Activation patching</h2><button class="disclosure" title="close the activation patching" @click=${() => this.closePatch()}>Close</button></div>
      <seqlens-patch-section
        .view=${p}
        .heads=${this.patchHeads}
        .headLayer=${this.patchHeadLayer}
        .busy=${this.patchBusy}
        @metric-change=${(e: CustomEvent<{ target: number; foil: number }>) => this.setPatchMetric(e.detail.target, e.detail.foil)}
        @layer-pick=${(e: CustomEvent<{ layer: number }>) => this.requestPatchHeads(e.detail.layer)}
      ></seqlens-patch-section>
    </section>`;
  }

  /** The editor's Why This Token? on the selected token. */
  private why() {
    if (!this.causal || this.selected < 1) return;
    this.host.post({ type: "whyToken", index: this.selected });
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
    // the target and foil were picked from the list at the old position
    this.dlaTarget = undefined;
    this.dlaFoil = undefined;
    this.dla = undefined;
    if (this.dlaOpen) this.requestDla();
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

  /** [ and ] change the layer, , and . the head; w asks why the selected token. */
  private onKey(e: KeyboardEvent) {
    if (e.target instanceof HTMLInputElement || this.view?.seq2seq || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "w") return this.why();
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
    if (!v)
      return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}${this.patchSection()}<p class="muted">Select text in an editor and run <b>SeqLens: Inspect Selection</b>${this.patch ? null : html`, or make two selections of the same length (a clean and a corrupted input) and run <b>SeqLens: Patch Activations</b>`}.</p>`;
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
        ${this.patchSection()}
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
      ${this.ablationLine(v)}
      ${v.truncated ? html`<div class="muted" role="note">${v.truncated.notice}</div>` : null}
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}
      ${this.patchSection()}
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
                    : html`${this.ablationTools()}<seqlens-attention-overview
                        .layers=${v.nLayer}
                        .heads=${v.nHead}
                        .slices=${this.overview}
                        .active=${[this.layer, this.head]}
                        .scaleKind=${this.scaleKind}
                        .ablatable=${this.causal}
                        .off=${new Set(this.offHeads.map((h) => `${h.layer},${h.head}`))}
                        @toggle-head=${(e: CustomEvent<{ layer: number; head: number }>) => this.toggleHead(e.detail.layer, e.detail.head)}
                        @open-head=${(e: CustomEvent) => {
                          this.setLayerHead(e.detail.layer, e.detail.head);
                          this.attnView = "heatmap";
                        }}
                      ></seqlens-attention-overview>`}`
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
      ${this.causal ? this.whySection(v) : null}
    `;
  }

  /** The heads switched off, how far that moved the prediction, and the way back. */
  private ablationLine(v: InspectionView) {
    const a = v.ablation;
    const pending = this.ablatePending;
    if (!a && !pending) return null;
    const names = (hs: HeadRef[]) => hs.map((h) => `${h.layer}.${h.head}`).join(", ");
    const last = v.tokens.length - 1;
    const here = a && this.selected >= 0 && this.selected < last ? a.klPerPosition[this.selected] : undefined;
    return html`<div class="ablation" role="status">
      ${a
        ? html`<span class="abl-line">heads ${names(a.heads)} off (${a.mode}): KL from the unablated run ${a.klFromClean.toFixed(3)} nats at the last token${here !== undefined ? html`, ${here.toFixed(3)} after token #${this.selected}` : null}</span>
            ${a.attentionFrom === "clean" ? html`<span class="muted">The attention maps are the unablated run's: this model's copy does not give the ablated attention.</span>` : null}`
        : null}
      ${pending ? html`<span class="muted">${pending.length > 0 ? `running with heads ${names(pending)} off…` : "running with every head on…"}</span>` : null}
      ${a ? html`<vscode-button secondary @click=${() => this.ablate([])}>Restore all</vscode-button>` : null}
    </div>`;
  }

  /** Above the thumbnails: what a switched-off head outputs, and how to switch one. */
  private ablationTools() {
    if (!this.causal) return null;
    return html`<div class="abl-tools">
      <label>switched-off head outputs
        <select aria-label="Ablation mode" .value=${this.ablateMode} @change=${(e: Event) => this.setAblateMode((e.target as HTMLSelectElement).value as AblationMode)}>
          ${ABLATION_MODES.map((m) => html`<option value=${m} ?selected=${m === this.ablateMode}>${MODE_LABELS[m]}</option>`)}
        </select></label>
      <span class="muted">the switch in a thumbnail's corner turns that head off</span>
    </div>`;
  }

  /** Why: the editor's attribution of the selected token, and the prediction after it split into heads and MLPs. */
  private whySection(v: InspectionView) {
    const i = this.selected;
    const tok = (t: string) => html`<code>${visibleWhitespace(t)}</code>`;
    const sel = v.tokens[i];
    const list = this.next && this.next.position === i ? this.next.top : [];
    const after = i + 1 < v.tokens.length ? v.tokens[i + 1] : undefined;
    const d = this.dla;
    const option = (t: { id: number; token: string; p: number }, current: number | undefined) => html`<option value=${String(t.id)} ?selected=${t.id === current}>${visibleWhitespace(t.token)} (${(t.p * 100).toFixed(1)}%)</option>`;
    return html`<section class="why">
      <h2>Why</h2>
      <div class="why-tools">
        <vscode-button secondary ?disabled=${i < 1} title="colour the tokens before it in the editor by how much each raised or lowered it (feature ablation)" @click=${() => this.why()}>Why ${sel ? JSON.stringify(visibleWhitespace(sel.text)) : "this token"}? (w)</vscode-button>
        <button class="disclosure" aria-expanded=${this.dlaOpen ? "true" : "false"} @click=${() => this.toggleDla()}>${this.dlaOpen ? "▾" : "▸"} Logit attribution</button>
      </div>
      ${this.attribution ? html`<div class="attribution"><seqlens-attribution-strip .result=${this.attribution}></seqlens-attribution-strip></div>` : null}
      ${this.dlaOpen
        ? html`<div class="dla">
            <p>
              The prediction after token #${i}${sel ? html` ${tok(sel.text)}` : null}, split into what each head and MLP wrote into the residual stream (the final norm's scale frozen there).
              ${d ? html`Target ${tok(d.target.text)}${d.foil ? html` against ${tok(d.foil.text)}` : null}${this.dlaTarget === undefined ? (after ? " (the token that follows)" : " (the model's top prediction)") : null}.` : null}
              ${v.ablation ? html`<span class="muted">It is of the run with every head on.</span>` : null}
            </p>
            <div class="pickers">
              <label>target <select aria-label="Target token" @change=${(e: Event) => {
                const val = (e.target as HTMLSelectElement).value;
                this.dlaTarget = val === "" ? undefined : Number(val);
                this.requestDla();
              }}>
                <option value="" ?selected=${this.dlaTarget === undefined}>${after ? `the next token, ${visibleWhitespace(after.text)}` : "the top prediction"}</option>
                ${list.map((t) => option(t, this.dlaTarget))}
              </select></label>
              <label>against <select aria-label="Foil token" @change=${(e: Event) => {
                const val = (e.target as HTMLSelectElement).value;
                this.dlaFoil = val === "" ? undefined : Number(val);
                this.requestDla();
              }}>
                <option value="" ?selected=${this.dlaFoil === undefined}>no foil (its logit)</option>
                ${list.map((t) => option(t, this.dlaFoil))}
              </select></label>
              ${this.dlaBusy ? html`<span class="muted" role="status">computing…</span>` : null}
            </div>
            ${d ? html`<seqlens-dla-grid .result=${d}></seqlens-dla-grid>` : null}
          </div>`
        : null}
    </section>`;
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
