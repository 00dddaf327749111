// Next-token distribution at the selected position: top-k with probability bars, entropy, the
// actual next token's rank and probability highlighted, and a temperature slider.
import { css, html, LitElement } from "lit";
import type { NextTokenResult } from "../../protocol/basics";
import { visibleWhitespace } from "../../protocol/text";

export class NextTokenView extends LitElement {
  static override properties = { result: { attribute: false }, temperature: { type: Number }, mode: { type: String } };
  result?: NextTokenResult;
  temperature = 1;
  /** "next": what follows the position (a causal model); "fill": what goes at the position (a masked-LM, the token there masked). */
  mode: "next" | "fill" = "next";

  static override styles = css`
    :host { display: block; font-size: 12px; }
    table { border-collapse: collapse; width: 100%; max-width: 520px; }
    td { padding: 1px 6px; white-space: pre; font-family: var(--vscode-editor-font-family); }
    td.p { text-align: right; width: 5.5em; }
    .bar { height: 10px; background: var(--vscode-charts-blue, var(--vscode-focusBorder)); }
    tr.actual td { color: var(--vscode-charts-green, var(--vscode-foreground)); font-weight: bold; }
    .meta { margin: 4px 0; }
    label { display: inline-flex; gap: 6px; align-items: center; }
    input[type="range"] { accent-color: var(--vscode-focusBorder); }
    input:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
  `;

  private onTemp(e: Event) {
    const t = Number((e.target as HTMLInputElement).value);
    this.dispatchEvent(new CustomEvent("temperature-change", { detail: { temperature: t }, bubbles: true, composed: true }));
  }

  override render() {
    const r = this.result;
    const fill = this.mode === "fill";
    if (!r) return html`<div class="meta">${fill ? "Select a token to see what the model would put in its place." : "Select a token to see what the model predicts after it."}</div>`;
    const max = Math.max(...r.top.map((t) => t.p), 1e-9);
    const actualInTop = r.actual && r.top.some((t) => t.id === r.actual!.id);
    return html`<div class="meta">
        ${fill ? html`At token #${r.position}` : html`After token #${r.position}`}: entropy <b>${r.entropyBits.toFixed(2)}</b> bits
        ${r.actual
          ? html` · ${fill ? "the token there" : "actual next"} ${JSON.stringify(visibleWhitespace(r.actual.token))}: rank <b>${r.actual.rank}</b>, p = <b>${r.actual.p.toFixed(4)}</b>`
          : fill
            ? html` · (a mask token: the fillers below)`
            : html` · (last position: no actual next token)`}
      </div>
      <label>temperature <input type="range" min="0.1" max="3" step="0.1" .value=${String(this.temperature)} @change=${this.onTemp} aria-label="Temperature" /> ${this.temperature.toFixed(1)}</label>
      <table aria-label=${fill ? "Top fillers" : "Top next tokens"}>
        ${r.top.map(
          (t) => html`<tr class=${r.actual?.id === t.id ? "actual" : ""}>
            <td>${JSON.stringify(visibleWhitespace(t.token))}</td>
            <td class="p">${(t.p * 100).toFixed(2)}%</td>
            <td style="width:60%"><div class="bar" style="width:${((100 * t.p) / max).toFixed(1)}%"></div></td>
          </tr>`,
        )}
        ${r.actual && !actualInTop
          ? html`<tr class="actual"><td>${JSON.stringify(visibleWhitespace(r.actual.token))}</td><td class="p">${(r.actual.p * 100).toFixed(2)}%</td><td>rank ${r.actual.rank}</td></tr>`
          : null}
      </table>`;
  }
}
customElements.define("seqlens-next-token", NextTokenView);
