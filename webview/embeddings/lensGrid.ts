// <seqlens-lens-grid>: the logit lens as a grid, layers down (embeddings at the top, the model's own
// output at the bottom) and positions across. Each cell names the top token decoded from that
// layer at that position and its probability, coloured by that probability or by the rank of the
// model's final prediction there (rank 1 strongest), with the colour's legend above. The grid
// scrolls in a region as wide as the panel, its layer names and tokens staying in view (sticky, on
// an opaque background); hover or focus a cell for its top 5 in a box kept inside the panel; click
// (or Enter) picks the position (the editor follows). Tokens are written as every panel writes them.
import { css, html, LitElement, nothing, render } from "lit";
import type { LensResult } from "../../protocol/embeddings";
import { contrast, type RGB } from "../../protocol/contrast";
import type { ColorScale } from "../shared/colorScale";
import { cssVar, parseColor, themeRamp, ThemeRepaint } from "../shared/theme";
import { cssProps } from "../shared/cssProps";
import "../components/colorLegend";
import { visibleLabel } from "./scatter";

/**
 * The text colour for a cell of colour `bg`: the theme's foreground or background where either reads
 * at 7:1, else whichever of those, black and white reads best (black or white always reaches 4.5:1).
 */
export function textOn(bg: RGB, fg: RGB, themeBg: RGB): string {
  for (const c of [fg, themeBg]) if (contrast(c, bg) >= 7) return `rgb(${c.join(",")})`;
  const best = ([fg, themeBg, [255, 255, 255], [0, 0, 0]] as RGB[]).reduce((a, c) => (contrast(c, bg) > contrast(a, bg) ? c : a));
  return `rgb(${best.join(",")})`;
}

/** At most `n` characters of `s`, an ellipsis standing for the rest (the full text is in the cell's hover box and label). */
export function short(s: string, n: number): string {
  const chars = [...s];
  return chars.length <= n ? s : chars.slice(0, n - 1).join("") + "…";
}

/** The lens's colour scales: the top token's probability, or the final prediction's rank (1/√rank). */
export function lensScale(by: "p" | "rank"): ColorScale {
  if (by === "p") return { kind: "linear", units: "probability of the top token", t: (v) => Math.max(0, Math.min(1, v)), ticks: [0, 0.25, 0.5, 0.75, 1].map((f) => ({ t: f, label: `${f * 100}%` })) };
  return { kind: "sqrt", units: "rank of the model's final prediction", t: (r) => (r >= 1 ? 1 / Math.sqrt(r) : 1), ticks: [100, 10, 3, 1].map((r) => ({ t: 1 / Math.sqrt(r), label: `#${r}` })) };
}

export class SeqlensLensGrid extends LitElement {
  static override properties = { lens: { attribute: false }, colourBy: { type: String }, selected: { type: Number } };
  lens?: LensResult;
  colourBy: "p" | "rank" = "p";
  selected = -1;
  /** The cell whose top 5 the tip shows. */
  hover?: { layer: number; position: number };

  static override styles = css`
    :host { display: block; font-family: var(--vscode-editor-font-family); font-size: 11px; color: var(--vscode-foreground); }
    .top { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: flex-end; margin: 4px 0 6px; }
    .hint { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); font-family: var(--vscode-font-family); font-size: 12px; }
    .scroll { overflow: auto; max-width: 100%; max-height: 70vh; border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); box-sizing: border-box; background: var(--vscode-editor-background); }
    table { border-collapse: separate; border-spacing: 0; }
    th { font-weight: normal; padding: 1px 6px; white-space: pre; text-align: left; background: var(--vscode-editor-background); color: var(--vscode-foreground); }
    tbody th { position: sticky; left: 0; z-index: 1; border-right: 1px solid var(--vscode-panel-border, var(--vscode-foreground)); }
    thead th { position: sticky; top: 0; z-index: 2; text-align: center; max-width: 90px; overflow: hidden; text-overflow: ellipsis; border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-foreground)); }
    thead th.corner { left: 0; z-index: 3; text-align: left; border-right: 1px solid var(--vscode-panel-border, var(--vscode-foreground)); }
    thead th.sel { box-shadow: inset 0 -2px 0 var(--vscode-focusBorder); }
    td { padding: 1px 4px; min-width: 44px; cursor: pointer; border: 1px solid var(--vscode-editor-background); }
    td .tok, td .p { display: block; max-width: 84px; overflow: hidden; text-overflow: ellipsis; white-space: pre; }
    td .p { font-size: 10px; }
    td:focus-visible { outline: 2px solid var(--vscode-focusBorder); outline-offset: -2px; }
    td.sel { box-shadow: inset 0 0 0 1px var(--vscode-focusBorder); }
    .tip { position: fixed; z-index: 10; pointer-events: none; box-sizing: border-box; max-width: min(460px, calc(100vw - 8px)); padding: 4px 8px; background: var(--vscode-editorHoverWidget-background, var(--vscode-editor-background)); color: var(--vscode-editorHoverWidget-foreground, var(--vscode-foreground)); border: 1px solid var(--vscode-editorHoverWidget-border, var(--vscode-foreground)); font-size: 12px; }
    .tip .head { font-family: var(--vscode-font-family); margin-bottom: 3px; overflow-wrap: anywhere; }
    .tip .list { display: table; }
    .tip .row { display: table-row; }
    .tip .row > span { display: table-cell; padding-right: 10px; white-space: pre; }
    .tip .row > span.pct { text-align: right; padding-right: 0; }
  `;

  constructor() {
    super();
    new ThemeRepaint(this, () => this.requestUpdate());
  }

  override render() {
    const L = this.lens;
    if (!L) return nothing;
    const ramp = themeRamp();
    const fg = parseColor(cssVar("--vscode-foreground", "#cccccc"));
    const themeBg = parseColor(cssVar("--vscode-editor-background", "#1e1e1e"));
    const T = L.tokens.length;
    const scale = lensScale(this.colourBy);
    const value = (l: number, t: number) => (this.colourBy === "p" ? L.layers[l][t][0].p : L.finalRank[l][t]);
    return html`<div class="top">
        <seqlens-color-legend for="logit-lens" .scale=${scale} length="200"></seqlens-color-legend>
        <span class="hint">Hover or focus a cell for its top 5; click a cell to pick its position.</span>
      </div>
      <div class="scroll" @scroll=${() => this.placeTip()} @mouseleave=${() => this.hideTip()} @focusout=${(e: FocusEvent) => !this.renderRoot.querySelector(".scroll")?.contains(e.relatedTarget as Node) && this.hideTip()}>
        <table role="grid" aria-label="Logit lens: layers by positions" data-colormap="logit-lens">
          <thead><tr><th class="corner">layer \\ after</th>${L.tokens.map((tok, t) => html`<th class=${t === this.selected ? "sel" : ""} title="position ${t}: ${visibleLabel(tok.text)}">${short(visibleLabel(tok.text), 12)}</th>`)}</tr></thead>
          <tbody>
            ${L.layers.map(
              (row, l) => html`<tr>
                <th scope="row">${L.layerNames[l]}</th>
                ${row.map((cell, t) => {
                  const bg = ramp(scale.t(value(l, t)));
                  const tok = visibleLabel(cell[0].token);
                  const pct = `${(cell[0].p * 100).toFixed(1)}%${this.colourBy === "rank" ? ` · #${L.finalRank[l][t]}` : ""}`;
                  return html`<td
                    tabindex=${l === L.layers.length - 1 && t === T - 1 ? 0 : -1}
                    class=${t === this.selected ? "sel" : ""}
                    ${cssProps({ background: `rgb(${bg.join(",")})`, color: textOn(bg, fg, themeBg) })}
                    aria-label="${L.layerNames[l]}, position ${t}: ${tok} ${pct}"
                    data-layer=${l}
                    data-position=${t}
                    @mouseenter=${() => this.showTip(l, t)}
                    @focus=${() => this.showTip(l, t)}
                    @click=${() => this.pick(t)}
                    @keydown=${(e: KeyboardEvent) => this.onKey(e, l, t)}
                  ><span class="tok">${short(tok, 11)}</span><span class="p">${pct}</span></td>`;
                })}
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div class="tip" role="tooltip" hidden></div>`;
  }

  override updated(): void {
    // a cell reached by the keyboard scrolls into view clear of the sticky labels
    const scroll = this.renderRoot.querySelector<HTMLElement>(".scroll");
    const corner = this.renderRoot.querySelector<HTMLElement>("th.corner");
    if (scroll && corner) {
      scroll.style.scrollPaddingLeft = `${corner.offsetWidth}px`;
      scroll.style.scrollPaddingTop = `${corner.offsetHeight}px`;
    }
    if (this.hover) this.showTip(this.hover.layer, this.hover.position);
  }

  private tipEl(): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>(".tip");
  }

  /** The top 5 of cell (l, t) in the tip, beside the cell and inside the panel. */
  private showTip(l: number, t: number): void {
    const L = this.lens;
    const tip = this.tipEl();
    if (!L || !tip || !L.layers[l]?.[t]) return;
    this.hover = { layer: l, position: t };
    const cell = L.layers[l][t];
    render(
      html`<div class="head">${L.layerNames[l]}, after "${visibleLabel(L.tokens[t].text)}" (position ${t}); the model's final prediction ranks #${L.finalRank[l][t]} here (${(L.finalP[l][t] * 100).toFixed(2)}%)</div>
        <div class="list">${cell.map((c, k) => html`<div class="row"><span>${k + 1}.</span><span class="tok">${visibleLabel(c.token)}</span><span class="pct">${(c.p * 100).toFixed(2)}%</span></div>`)}</div>`,
      tip,
    );
    tip.hidden = false;
    this.placeTip();
  }

  /** Puts the tip below its cell (above it where there is no room), clamped to the panel's viewport. */
  private placeTip(): void {
    const tip = this.tipEl();
    const hv = this.hover;
    if (!tip || tip.hidden || !hv) return;
    const td = this.renderRoot.querySelector<HTMLElement>(`td[data-layer="${hv.layer}"][data-position="${hv.position}"]`);
    if (!td) return this.hideTip();
    const c = td.getBoundingClientRect();
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    const left = Math.max(4, Math.min(c.left, vw - w - 4));
    const below = c.bottom + 4;
    const top = below + h <= vh - 4 ? below : c.top - h - 4;
    tip.style.left = `${left}px`;
    tip.style.top = `${Math.max(4, Math.min(top, vh - h - 4))}px`;
  }

  private hideTip(): void {
    this.hover = undefined;
    const tip = this.tipEl();
    if (tip && !tip.hidden) {
      tip.hidden = true;
      render(nothing, tip);
    }
  }

  private pick(t: number): void {
    this.dispatchEvent(new CustomEvent("position-pick", { detail: { index: t }, bubbles: true, composed: true }));
  }

  private onKey(e: KeyboardEvent, l: number, t: number): void {
    const L = this.lens!;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.key === "Enter") return this.pick(t);
    if (e.key === "Escape") return this.hideTip();
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const nl = Math.max(0, Math.min(L.layers.length - 1, l + m[0]));
    const nt = Math.max(0, Math.min(L.tokens.length - 1, t + m[1]));
    this.renderRoot.querySelector<HTMLElement>(`td[data-layer="${nl}"][data-position="${nt}"]`)?.focus();
  }
}

customElements.define("seqlens-lens-grid", SeqlensLensGrid);
