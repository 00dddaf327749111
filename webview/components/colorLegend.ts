// The legend of a colour map: a gradient bar drawn from the same ramp and scale as the map, tick
// labels in the scale's units, and a title. Every canvas that is a colour map names its legend:
// <canvas data-colormap="attention"> is explained by <seqlens-color-legend for="attention">.
// Plain DOM (no canvas), so its text is real text: readable by screen readers and by the layout
// checks of the end-to-end tests.
import { css, html, LitElement, PropertyValues } from "lit";
import type { ColorScale } from "../shared/colorScale";
import { ThemeRepaint, themeRamp, divergingRamp } from "../shared/theme";
import { cssProps } from "../shared/cssProps";

export class ColorLegend extends LitElement {
  static override properties = { scale: { attribute: false }, for: { type: String, reflect: true }, orientation: { type: String }, length: { type: Number }, note: { type: String } };
  scale?: ColorScale;
  /** The data-colormap name of the canvas this legend explains. */
  for = "";
  orientation: "horizontal" | "vertical" = "horizontal";
  /** Bar length in px. */
  length = 160;
  /** Optional words after the title ("click a cell to ..."). */
  note = "";

  static override styles = css`
    :host { display: inline-block; font-size: 11px; color: var(--vscode-foreground); font-family: var(--vscode-font-family); }
    .h { display: inline-grid; grid-template-columns: auto; row-gap: 1px; }
    .title { white-space: nowrap; }
    .bar { border: 1px solid var(--vscode-panel-border, var(--vscode-foreground)); box-sizing: border-box; }
    .h .bar { height: 10px; }
    .v .bar { width: 12px; }
    .ticks { position: relative; height: 1.3em; }
    .ticks span { position: absolute; top: 0; white-space: nowrap; transform: translateX(-50%); }
    .ticks span.first { transform: none; }
    .ticks span.last { transform: translateX(-100%); }
    .v { display: inline-grid; grid-template-columns: auto auto; column-gap: 4px; align-items: stretch; }
    .v .vt { grid-column: 1 / span 2; white-space: nowrap; margin-bottom: 2px; }
    .vticks { position: relative; min-width: 3em; }
    .vticks span { position: absolute; left: 0; white-space: nowrap; transform: translateY(-50%); }
    .vticks span.first { transform: translateY(-100%); }
    .vticks span.last { transform: none; }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.requestUpdate());
  /** Re-thins the ticks when the legend is laid out again (shown in a tab that was hidden, resized). */
  private readonly resize = new ResizeObserver(() => this.thinTicks());

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize.disconnect();
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("for")) this.dataset.legendFor = this.for;
    this.thinTicks();
  }

  /** Hides tick labels that would touch a neighbour (a short bar, a wide font): the ends always stay. */
  private thinTicks(): void {
    const vertical = this.orientation === "vertical";
    const spans = [...this.renderRoot.querySelectorAll<HTMLElement>(vertical ? ".vticks span" : ".ticks span")];
    for (const s of spans) s.style.visibility = "";
    if (spans.length < 3) return;
    const box = (s: HTMLElement) => {
      const r = s.getBoundingClientRect();
      return vertical ? [r.top, r.bottom] : [r.left, r.right];
    };
    if (box(spans[0])[1] - box(spans[0])[0] <= 0) return; // not laid out (hidden)
    const GAP = 4;
    const last = box(spans[spans.length - 1]);
    let kept = box(spans[0]);
    for (const s of spans.slice(1, -1)) {
      const b = box(s);
      const clear = (a: number[]) => b[0] >= a[1] + GAP || b[1] + GAP <= a[0];
      if (clear(kept) && clear(last)) kept = b;
      else s.style.visibility = "hidden";
    }
  }

  private gradient(dir: string): string {
    const s = this.scale;
    if (!s) return "transparent";
    const stops: string[] = [];
    if (s.kind === "diverging") {
      const r = divergingRamp();
      for (let i = 0; i <= 16; i++) stops.push(r.css(-1 + i / 8));
    } else {
      const r = themeRamp();
      for (let i = 0; i <= 16; i++) stops.push(r.css(i / 16));
    }
    return `linear-gradient(${dir}, ${stops.join(", ")})`;
  }

  override render() {
    const s = this.scale;
    if (!s) return html``;
    const title = html`${s.units}${this.note ? html` · ${this.note}` : null}`;
    const n = s.ticks.length;
    if (this.orientation === "vertical") {
      // strong end at the top
      return html`<div class="v" role="img" aria-label=${`Colour legend: ${s.units}, ${s.ticks.map((t) => t.label).join(" to ")}`}>
        <span class="vt">${title}</span>
        <div class="bar" ${cssProps({ height: `${this.length}px`, background: this.gradient("to top") })}></div>
        <div class="vticks" ${cssProps({ height: `${this.length}px` })}>${s.ticks.map((t, i) => html`<span class=${i === 0 ? "last" : i === n - 1 ? "first" : ""} ${cssProps({ top: `${(1 - t.t) * 100}%` })}>${t.label}</span>`)}</div>
      </div>`;
    }
    return html`<div class="h" role="img" aria-label=${`Colour legend: ${s.units}, ${s.ticks.map((t) => t.label).join(" to ")}`}>
      <span class="title">${title}</span>
      <div class="bar" ${cssProps({ width: `${this.length}px`, background: this.gradient("to right") })}></div>
      <div class="ticks" ${cssProps({ width: `${this.length}px` })}>${s.ticks.map((t, i) => html`<span class=${i === 0 ? "first" : i === n - 1 ? "last" : ""} ${cssProps({ left: `${t.t * 100}%` })}>${t.label}</span>`)}</div>
    </div>`;
  }
}
customElements.define("seqlens-color-legend", ColorLegend);
