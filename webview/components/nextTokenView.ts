// Next-token distribution at the selected position: top-k with probability bars, entropy, the
// actual next token's rank and probability highlighted, and a temperature slider.
import { css, html, LitElement } from "lit";
import type { NextTokenResult } from "../../protocol/basics";
import { visibleWhitespace } from "../../protocol/text";
import { cssProps } from "../shared/cssProps";

export class NextTokenView extends LitElement {
  static override properties = { result: { attribute: false }, temperature: { type: Number }, mode: { type: String } };
  result?: NextTokenResult;
  temperature = 1;
  /** "next": what follows the position (a causal model); "fill": what goes at the position (a masked-LM, the token there masked). */
  mode: "next" | "fill" = "next";

  static override styles = css`
    :host { display: block; font-size: 12px; }
    table { border-collapse: collapse; width: 100%; max-width: 560px; table-layout: fixed; margin-bottom: 4px; }
    col.tok { width: 42%; }
    col.p { width: 5.5em; }
    td { padding: 1px 6px; font-family: var(--vscode-editor-font-family); line-height: 16px; }
    td.tok { white-space: pre; overflow: hidden; text-overflow: ellipsis; }
    td.p { text-align: right; white-space: nowrap; }
    td.rank { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .bar { height: 10px; background: var(--vscode-charts-blue, var(--vscode-focusBorder)); }
    /* the actual next token: bold, marked at its left edge (a coloured text would fall below 4.5:1 in light themes) */
    tr.actual td { font-weight: bold; }
    tr.actual td.tok { box-shadow: inset 3px 0 0 var(--vscode-charts-green, var(--vscode-focusBorder)); padding-left: 8px; }
    .meta { margin: 4px 0; overflow-wrap: anywhere; }
    label { display: inline-flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 4px; }
    input[type="range"] { accent-color: var(--vscode-focusBorder); max-width: 160px; }
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
        <colgroup><col class="tok" /><col class="p" /><col /></colgroup>
        ${r.top.map((t) => {
          const text = JSON.stringify(visibleWhitespace(t.token));
          const actual = r.actual?.id === t.id;
          return html`<tr class=${actual ? "actual" : ""}>
            <td class="tok" title=${actual ? `${text} · ${fill ? "the token there" : "the actual next token"}` : text}>${text}</td>
            <td class="p">${(t.p * 100).toFixed(2)}%</td>
            <td><div class="bar" ${cssProps({ width: `${((100 * t.p) / max).toFixed(1)}%` })}></div></td>
          </tr>`;
        })}
        ${r.actual && !actualInTop
          ? html`<tr class="actual"><td class="tok" title=${JSON.stringify(visibleWhitespace(r.actual.token))}>${JSON.stringify(visibleWhitespace(r.actual.token))}</td><td class="p">${(r.actual.p * 100).toFixed(2)}%</td><td class="rank">rank ${r.actual.rank}</td></tr>`
          : null}
      </table>`;
  }
}
customElements.define("seqlens-next-token", NextTokenView);
