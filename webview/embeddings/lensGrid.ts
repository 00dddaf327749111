// <seqlens-lens-grid>: the logit lens as a grid, layers down (embeddings at the top, the model's own
// output at the bottom) and positions across. Each cell names the top token decoded from that
// layer at that position and its probability, coloured by that probability or by the rank of the
// model's final prediction there (rank 1 darkest). Hover or focus a cell for its top 5; click
// picks the position (the editor follows).
import { css, html, LitElement, nothing } from "lit";
import type { LensResult } from "../../protocol/embeddings";
import { themeRamp, ThemeRepaint } from "../shared/theme";
import { visibleLabel } from "./scatter";

export class SeqlensLensGrid extends LitElement {
  static override properties = { lens: { attribute: false }, colourBy: { type: String }, selected: { type: Number }, hover: { state: true } };
  lens?: LensResult;
  colourBy: "p" | "rank" = "p";
  selected = -1;
  hover?: { layer: number; position: number };

  static override styles = css`
    :host { display: block; overflow-x: auto; font-family: var(--vscode-editor-font-family); font-size: 11px; }
    table { border-collapse: collapse; }
    th { font-weight: normal; opacity: 0.85; padding: 1px 4px; white-space: pre; text-align: left; position: sticky; left: 0; background: var(--vscode-editor-background); }
    thead th { position: static; text-align: center; border-bottom: 1px solid var(--vscode-panel-border, transparent); }
    thead th.sel { outline: 1px solid var(--vscode-focusBorder); }
    td { padding: 1px 4px; min-width: 44px; max-width: 90px; overflow: hidden; text-overflow: ellipsis; white-space: pre; cursor: pointer; border: 1px solid var(--vscode-editor-background); }
    td:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    td.sel { box-shadow: inset 0 0 0 1px var(--vscode-focusBorder); }
    .p { opacity: 0.8; font-size: 10px; display: block; }
    .tip { margin-top: 6px; min-height: 4.5em; white-space: pre; font-family: var(--vscode-editor-font-family); }
  `;

  constructor() {
    super();
    new ThemeRepaint(this, () => this.requestUpdate());
  }

  override render() {
    const L = this.lens;
    if (!L) return nothing;
    const ramp = themeRamp();
    const T = L.tokens.length;
    const weight = (l: number, t: number) => (this.colourBy === "p" ? L.layers[l][t][0].p : 1 / L.finalRank[l][t] ** 0.5);
    const hv = this.hover;
    return html`<table role="grid" aria-label="Logit lens: layers by positions">
        <thead><tr><th>layer \\ after</th>${L.tokens.map((tok, t) => html`<th class=${t === this.selected ? "sel" : ""} title="position ${t}">${visibleLabel(tok.text)}</th>`)}</tr></thead>
        <tbody>
          ${L.layers.map(
            (row, l) => html`<tr>
              <th>${L.layerNames[l]}</th>
              ${row.map((cell, t) => {
                const w = weight(l, t);
                return html`<td
                  tabindex=${l === L.layers.length - 1 && t === T - 1 ? 0 : -1}
                  class=${t === this.selected ? "sel" : ""}
                  style="background:${ramp.css(w)};color:${w > 0.55 ? "var(--vscode-editor-background)" : "var(--vscode-foreground)"}"
                  data-layer=${l}
                  data-position=${t}
                  @mouseenter=${() => (this.hover = { layer: l, position: t })}
                  @focus=${() => (this.hover = { layer: l, position: t })}
                  @click=${() => this.pick(t)}
                  @keydown=${(e: KeyboardEvent) => this.onKey(e, l, t)}
                >${visibleLabel(cell[0].token)}<span class="p">${(cell[0].p * 100).toFixed(1)}%${this.colourBy === "rank" ? ` · #${L.finalRank[l][t]}` : ""}</span></td>`;
              })}
            </tr>`,
          )}
        </tbody>
      </table>
      <div class="tip" aria-live="polite">${hv ? this.tip(hv.layer, hv.position) : "Hover a cell for its top 5."}</div>`;
  }

  private tip(l: number, t: number): string {
    const L = this.lens!;
    const cell = L.layers[l][t];
    const head = `${L.layerNames[l]}, after ${JSON.stringify(L.tokens[t].text)} (position ${t}); the model's final prediction ranks #${L.finalRank[l][t]} here (${(L.finalP[l][t] * 100).toFixed(2)}%)`;
    return [head, ...cell.map((c, k) => `  ${k + 1}. ${JSON.stringify(c.token).padEnd(16)} ${(c.p * 100).toFixed(2)}%`)].join("\n");
  }

  private pick(t: number): void {
    this.dispatchEvent(new CustomEvent("position-pick", { detail: { index: t }, bubbles: true, composed: true }));
  }

  private onKey(e: KeyboardEvent, l: number, t: number): void {
    const L = this.lens!;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.key === "Enter") return this.pick(t);
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const nl = Math.max(0, Math.min(L.layers.length - 1, l + m[0]));
    const nt = Math.max(0, Math.min(L.tokens.length - 1, t + m[1]));
    this.renderRoot.querySelector<HTMLElement>(`td[data-layer="${nl}"][data-position="${nt}"]`)?.focus();
  }
}

customElements.define("seqlens-lens-grid", SeqlensLensGrid);
