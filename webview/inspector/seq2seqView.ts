// An encoder-decoder's inspection: the source (the selection, linked to the editor), the target the
// decoder read (start token first, each with its probability), and one attention at a time as a
// heatmap: cross-attention (target rows x source columns, the alignment figure of the attention
// lectures), the encoder's self-attention over the source, or the decoder's over the target.
// Hovering or selecting a target token colours the source by how much that token attends to each
// source token in the layer and head shown.
import { css, html, LitElement, PropertyValues } from "lit";
import type { InspectionView } from "../../protocol/inspector";
import type { Seq2SeqAttentionKind } from "../../protocol/seq2seq";
import { visibleWhitespace } from "../../protocol/text";
import { themeRamp } from "../shared/theme";
import { SCALE_KINDS, weightScale, type ScaleKind } from "../shared/colorScale";
import "../components/colorLegend";
import "../components/heatmap";
import "../components/tokenStrip";

export type SliceFetcher = (kind: Seq2SeqAttentionKind, layer: number, head: number) => Promise<Float32Array | undefined>;

const KINDS: { kind: Seq2SeqAttentionKind; label: string }[] = [
  { kind: "cross", label: "Cross-attention (target → source)" },
  { kind: "encoder", label: "Encoder self-attention" },
  { kind: "decoder", label: "Decoder self-attention" },
];

export class Seq2SeqView extends LitElement {
  static override properties = {
    view: { attribute: false },
    fetchSlice: { attribute: false },
    kind: { state: true },
    layer: { state: true },
    head: { state: true },
    weights: { state: true },
    focusTarget: { state: true },
    scaleKind: { type: String, attribute: "scale" },
  };
  /** The colour scale of the map and of the source's colours (the Inspector keeps it). */
  scaleKind: ScaleKind = "log";
  view?: InspectionView;
  fetchSlice?: SliceFetcher;
  kind: Seq2SeqAttentionKind = "cross";
  layer = 0;
  head = 0;
  weights?: Float32Array;
  /** The target token whose attention over the source colours the source strip. */
  focusTarget = -1;
  /** The cross-attention slice of the layer and head shown, for the source colours. */
  private cross?: Float32Array;

  static override styles = css`
    :host { display: block; }
    section { margin: 10px 0; }
    h2 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; margin: 0 0 4px; font-weight: 600; }
    .pickers { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
    select { font: inherit; color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); padding: 2px 4px; border-radius: 2px; }
    select:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    .muted { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    .pickers label { display: inline-flex; gap: 4px; align-items: center; }
    .attends { font-family: var(--vscode-editor-font-family); font-size: 12px; min-height: 1.4em; margin-top: 4px; }
    table { border-collapse: collapse; font-size: 12px; }
    td { padding: 1px 6px; white-space: pre; font-family: var(--vscode-editor-font-family); }
    td.p { text-align: right; }
    .legend { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 4px 12px; font-size: 11px; margin-top: 2px; }
    .legend .what { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
  `;

  override updated(changed: PropertyValues): void {
    if (changed.has("view") && this.view?.seq2seq) {
      const q = this.view.seq2seq;
      if (!q.attention[this.kind]) this.kind = KINDS.find((k) => q.attention[k.kind])?.kind ?? "cross";
      this.clamp();
      this.focusTarget = q.target.length - 1;
      this.weights = undefined;
      this.cross = undefined;
      void this.load();
    }
  }

  private get layers(): number {
    const q = this.view?.seq2seq;
    return !q ? 0 : this.kind === "encoder" ? q.encoderLayers : q.decoderLayers;
  }

  private get heads(): number {
    const q = this.view?.seq2seq;
    return !q ? 0 : this.kind === "encoder" ? q.encoderHeads : q.decoderHeads;
  }

  private clamp() {
    this.layer = Math.max(0, Math.min(this.layer, this.layers - 1));
    this.head = Math.max(0, Math.min(this.head, this.heads - 1));
  }

  /** The slice shown, and the cross-attention of the same layer and head for the source colours. */
  private async load() {
    const q = this.view?.seq2seq;
    if (!q || !this.fetchSlice) return;
    const [kind, layer, head, view] = [this.kind, this.layer, this.head, this.view];
    const w = q.attention[kind] ? await this.fetchSlice(kind, layer, head) : undefined;
    if (view !== this.view || kind !== this.kind || layer !== this.layer || head !== this.head) return; // asked again meanwhile
    this.weights = w;
    const crossLayer = Math.min(layer, q.decoderLayers - 1);
    const crossHead = Math.min(head, q.decoderHeads - 1);
    this.cross = kind === "cross" ? w : q.attention.cross ? await this.fetchSlice("cross", crossLayer, crossHead) : undefined;
    this.requestUpdate();
  }

  private pick(kind: Seq2SeqAttentionKind, layer: number, head: number) {
    this.kind = kind;
    this.layer = layer;
    this.head = head;
    this.clamp();
    void this.load();
  }

  /** The editor shows the source only: a cell's source tokens are marked there (the target is not in it). */
  private hoverCell(e: CustomEvent<{ q: number; k: number } | undefined>) {
    e.stopPropagation();
    const d = e.detail;
    const detail = !d ? undefined : this.kind === "encoder" ? { query: d.q, key: d.k } : this.kind === "cross" ? { key: d.k } : undefined;
    this.dispatchEvent(new CustomEvent("hover-source", { detail, bubbles: true, composed: true }));
  }

  private reveal(index: number) {
    this.dispatchEvent(new CustomEvent("reveal-source", { detail: { index }, bubbles: true, composed: true }));
  }

  /** The source coloured by the focused target token's cross-attention (the layer and head shown). */
  private sourceColours(): string[] | undefined {
    const q = this.view?.seq2seq;
    const S = this.view?.tokens.length ?? 0;
    if (!q || !this.cross || this.focusTarget < 0 || this.cross.length !== q.target.length * S) return undefined;
    const ramp = themeRamp();
    const row = this.cross.subarray(this.focusTarget * S, (this.focusTarget + 1) * S);
    const scale = weightScale(this.scaleKind, row, 1, S);
    return Array.from(row, (w) => ramp.css(scale.t(w, 0)));
  }

  private attendsLine() {
    const q = this.view?.seq2seq;
    const src = this.view?.tokens ?? [];
    const S = src.length;
    if (!q || !this.cross || this.focusTarget < 0 || this.cross.length !== q.target.length * S) return html`&nbsp;`;
    const row = Array.from(this.cross.subarray(this.focusTarget * S, (this.focusTarget + 1) * S), (w, i) => ({ w, i })).sort((a, b) => b.w - a.w).slice(0, 3);
    const t = q.target[this.focusTarget];
    return html`target #${this.focusTarget} ${JSON.stringify(visibleWhitespace(t.text))} attends to ${row.map((r, k) => html`${k > 0 ? ", " : ""}${JSON.stringify(visibleWhitespace(src[r.i].text))} <b>${r.w.toFixed(2)}</b>`)}`;
  }

  override render() {
    const v = this.view;
    const q = v?.seq2seq;
    if (!v || !q) return null;
    const src = v.tokens;
    const rows = this.kind === "encoder" ? src : q.target;
    const cols = this.kind === "decoder" ? q.target : src;
    const targetTitles = q.target.map((t, i) => (i === 0 ? "the decoder start token" : `p = ${q.targetP[i]?.toFixed(4)} after the tokens before it`));
    return html`
      <section>
        <h2>Source</h2>
        <seqlens-token-strip .tokens=${src} .colours=${this.sourceColours()} @token-select=${(e: CustomEvent) => this.reveal(e.detail.index)}></seqlens-token-strip>
        <div class="attends" aria-live="polite">${this.attendsLine()}</div>
        ${q.attention.cross
          ? html`<div class="legend">
              <seqlens-color-legend .scale=${weightScale(this.scaleKind)} for="source-colours" length="120"></seqlens-color-legend>
              <span class="what">source coloured by the target token's cross-attention (layer ${Math.min(this.layer, q.decoderLayers - 1)}, head ${Math.min(this.head, q.decoderHeads - 1)})</span>
            </div>`
          : null}
      </section>
      <section>
        <h2>Target${q.generated ? " (greedy translation)" : ""}</h2>
        <seqlens-token-strip .tokens=${q.target} .selected=${this.focusTarget} .titles=${targetTitles} @token-select=${(e: CustomEvent) => (this.focusTarget = e.detail.index)} @token-hover=${(e: CustomEvent) => (this.focusTarget = e.detail.index)}></seqlens-token-strip>
      </section>
      <section>
        <h2>Attention</h2>
        <div class="pickers">
          <select aria-label="Attention" @change=${(e: Event) => this.pick((e.target as HTMLSelectElement).value as Seq2SeqAttentionKind, this.layer, this.head)}>
            ${KINDS.filter((k) => q.attention[k.kind]).map((k) => html`<option value=${k.kind} ?selected=${k.kind === this.kind}>${k.label}</option>`)}
          </select>
          <select aria-label="Layer" @change=${(e: Event) => this.pick(this.kind, Number((e.target as HTMLSelectElement).value), this.head)}>
            ${Array.from({ length: this.layers }, (_, i) => html`<option value=${i} ?selected=${i === this.layer}>layer ${i}</option>`)}
          </select>
          <select aria-label="Head" @change=${(e: Event) => this.pick(this.kind, this.layer, Number((e.target as HTMLSelectElement).value))}>
            ${Array.from({ length: this.heads }, (_, i) => html`<option value=${i} ?selected=${i === this.head}>head ${i}</option>`)}
          </select>
          <label>colour <select aria-label="Colour scale" .value=${this.scaleKind} @change=${(e: Event) => this.dispatchEvent(new CustomEvent("scale-change", { detail: { kind: (e.target as HTMLSelectElement).value }, bubbles: true, composed: true }))}>
            ${SCALE_KINDS.map((k) => html`<option value=${k.kind} ?selected=${k.kind === this.scaleKind}>${k.label}</option>`)}
          </select></label>
        </div>
        <seqlens-attention-heatmap
          .weights=${this.weights}
          .tokens=${rows}
          .keyTokens=${cols}
          .rowLabel=${this.kind === "encoder" ? "source" : "target"}
          .colLabel=${this.kind === "decoder" ? "target" : "source"}
          .selected=${this.kind === "encoder" ? -1 : this.focusTarget}
          .scaleKind=${this.scaleKind}
          @cell-hover=${(e: CustomEvent<{ q: number; k: number } | undefined>) => this.hoverCell(e)}
          @token-select=${(e: CustomEvent) => {
            e.stopPropagation();
            if (this.kind !== "encoder") this.focusTarget = e.detail.index;
          }}
        ></seqlens-attention-heatmap>
      </section>
      <section>
        <h2>Next target token</h2>
        <table aria-label="Top next target tokens">
          ${q.next.map((t) => html`<tr><td>${JSON.stringify(visibleWhitespace(t.token))}</td><td class="p">${(t.p * 100).toFixed(2)}%</td></tr>`)}
        </table>
      </section>
    `;
  }
}
customElements.define("seqlens-seq2seq", Seq2SeqView);
