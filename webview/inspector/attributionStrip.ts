// Feature ablation of the selected token's prediction, on the Inspector's own tokens: each token
// before it coloured by how much replacing it with the baseline token changed the prediction, on
// the diverging scale the logit attribution grid uses (dlaGrid.ts: the theme's orange raised it, its
// blue lowered it) with its legend. The scale sits at the 90th-percentile effect, as the editor's
// marks do (one token, often the last, can dwarf the rest); anything beyond is drawn at full colour.
// Each token is focusable (arrow keys, Home and End move) and says its number on hover and on focus,
// in the readout and its tooltip; the largest effects are listed as text.
import { css, html, LitElement, nothing } from "lit";
import { readoutStyles } from "./readoutStyles";
import { visibleWhitespace } from "../../protocol/text";
import type { InspectorAttribution } from "../../protocol/inspector";
import { divergingScale, quantileAbs, type ColorScale } from "../shared/colorScale";
import { cssProps } from "../shared/cssProps";
import { divergingRamp, ThemeRepaint } from "../shared/theme";
import { signed } from "./dlaGrid";
import "../components/colorLegend";

/** The share of effects the scale sits at (the editor's marks use the same). */
export const ATTRIBUTION_QUANTILE = 0.9;

export class AttributionStrip extends LitElement {
  static override properties = { result: { attribute: false }, focusIndex: { state: true }, hoverIndex: { state: true } };
  result?: InspectorAttribution;
  /** The token that holds the strip's tab stop. */
  focusIndex = 0;
  /** The token under the pointer or focused: its number is in the readout. */
  hoverIndex?: number;

  static override styles = [
    readoutStyles,
    css`
    .strip { display: flex; flex-wrap: wrap; gap: 3px 2px; align-items: stretch; font-family: var(--vscode-editor-font-family, monospace); }
    .tok { display: inline-flex; flex-direction: column; align-items: stretch; text-align: center; min-width: 2.2ch; padding: 1px 2px 0; border: 1px solid transparent; white-space: pre; cursor: default; color: var(--vscode-foreground); }
    .tok .bar { display: block; height: 7px; margin-top: 2px; border: 1px solid var(--vscode-panel-border, rgba(128, 128, 128, 0.5)); box-sizing: border-box; }
    .tok:focus-visible, .tok.hover { outline: 2px solid var(--vscode-focusBorder); outline-offset: 1px; }
    .tok.target { border-color: var(--vscode-editorCursor-foreground, var(--vscode-focusBorder)); }
  `,
  ];

  private readonly themeRepaint = new ThemeRepaint(this, () => this.requestUpdate());

  /** What a score is a change in. */
  get metric(): string {
    const r = this.result;
    if (!r) return "";
    const tok = (t: { text: string }) => `\`${visibleWhitespace(t.text)}\``;
    return r.foil ? `logit(${tok(r.target)}) − logit(${tok(r.foil)})` : `log p(${tok(r.target)})`;
  }

  /** ± the 90th percentile of the effects' sizes (the largest when that is 0). */
  scale(): ColorScale | undefined {
    const r = this.result;
    if (!r || r.scores.length === 0) return undefined;
    const bound = quantileAbs(r.scores, ATTRIBUTION_QUANTILE) || Math.max(1e-6, ...r.scores.map(Math.abs));
    return divergingScale(bound, `change in ${this.metric} when the token is replaced`);
  }

  private onKey(e: KeyboardEvent, i: number) {
    const n = this.result?.scores.length ?? 0;
    const to = e.key === "ArrowRight" || e.key === "ArrowDown" ? i + 1 : e.key === "ArrowLeft" || e.key === "ArrowUp" ? i - 1 : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : undefined;
    if (to === undefined) return;
    e.preventDefault();
    this.focusIndex = Math.max(0, Math.min(n - 1, to));
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`.tok[data-index="${this.focusIndex}"]`)?.focus());
  }

  private line(i: number): string {
    const r = this.result!;
    const v = r.scores[i];
    const text = `\`${visibleWhitespace(r.tokens[i] ?? "")}\``;
    const moved = v >= 0 ? `lowers ${this.metric} by ${Math.abs(v).toFixed(3)}` : `raises ${this.metric} by ${Math.abs(v).toFixed(3)}`;
    const by = r.baseline.kind === "zero" ? "the zero embedding" : `\`${visibleWhitespace(r.baseline.text)}\``;
    return `token ${i} ${text}: ${signed(v)} (replacing it by ${by} ${moved})`;
  }

  override render() {
    const r = this.result;
    const scale = this.scale();
    if (!r || !scale) return nothing;
    const ramp = divergingRamp();
    const order = r.scores.map((v, i) => ({ v, i })).sort((a, b) => Math.abs(b.v) - Math.abs(a.v));
    const shown = this.hoverIndex;
    return html`<div>
        Why <code>${visibleWhitespace(r.target.text)}</code> after token ${r.position - 1}: each earlier token replaced by ${r.baseline.kind === "zero" ? "the zero embedding" : html`<code>${visibleWhitespace(r.baseline.text)}</code> (${r.baseline.kind})`}, the change in <code>${this.metric}</code>
        ${r.metric === "logprob" ? html`<span class="muted">(p = ${(Math.exp(r.base) * 100).toFixed(1)}%)</span>` : html`<span class="muted">(${signed(r.base)})</span>`}.
      </div>
      <div class="legend"><seqlens-color-legend .scale=${scale} for="attribution" length="180" note="+: the token raised it"></seqlens-color-legend></div>
      <div class="strip" role="listbox" aria-label=${`Feature ablation: why ${r.target.text}`}>
        ${r.scores.map((v, i) => {
          const text = this.line(i);
          return html`<span
            class=${`tok${shown === i ? " hover" : ""}`}
            role="option"
            aria-selected="false"
            tabindex=${this.focusIndex === i ? 0 : -1}
            data-index=${String(i)}
            data-score=${String(v)}
            title=${text}
            aria-label=${text}
            @mouseenter=${() => (this.hoverIndex = i)}
            @mouseleave=${() => (this.hoverIndex = undefined)}
            @focus=${() => {
              this.focusIndex = i;
              this.hoverIndex = i;
            }}
            @blur=${() => (this.hoverIndex = undefined)}
            @keydown=${(e: KeyboardEvent) => this.onKey(e, i)}
            >${visibleWhitespace(r.tokens[i] ?? "")}<span class="bar" ${cssProps({ background: ramp.css(scale.t(v)) })}></span
          ></span>`;
        })}
        <span class="tok target" title="the token explained">${visibleWhitespace(r.target.text)}<span class="bar"></span></span>
      </div>
      <div class="readout" role="status" aria-live="polite">${shown !== undefined && r.scores[shown] !== undefined ? html`<b>${this.line(shown)}</b>` : html`<span class="muted">Hover or focus a token: how much it mattered.</span>`}</div>
      <div>Largest effects:</div>
      <ol class="top">${order.slice(0, 5).map(({ v, i }) => html`<li>token ${i} <code>${visibleWhitespace(r.tokens[i] ?? "")}</code>: ${signed(v)}</li>`)}</ol>`;
  }
}
customElements.define("seqlens-attribution-strip", AttributionStrip);
