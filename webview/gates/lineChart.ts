// A line chart with real axes, legend and cursor (uPlot), coloured from the VS Code theme: the
// selected units of a gate over time, the series with its forecasts, the gradient norms.
import { css, html, LitElement, PropertyValues, unsafeCSS } from "lit";
import uPlot from "uplot";
import uplotCss from "uplot/dist/uPlot.min.css";
import { cssVar, ThemeRepaint } from "../shared/theme";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** A theme colour variable, e.g. --vscode-charts-blue. */
  color: string;
  dash?: boolean;
}

export const PALETTE = ["--vscode-charts-blue", "--vscode-charts-orange", "--vscode-charts-green", "--vscode-charts-purple", "--vscode-charts-red", "--vscode-charts-yellow"];

export class LineChart extends LitElement {
  static override properties = { x: { attribute: false }, series: { attribute: false }, height: { type: Number }, logY: { type: Boolean }, xLabel: { type: String }, yLabel: { type: String }, cursor: { type: Number } };
  x: number[] = [];
  series: ChartSeries[] = [];
  height = 180;
  logY = false;
  xLabel = "step";
  yLabel = "";
  cursor = -1;
  private plot?: uPlot;
  private readonly themeRepaint = new ThemeRepaint(this, () => this.build());
  private resize?: ResizeObserver;

  static override styles = [
    unsafeCSS(uplotCss),
    css`
      :host { display: block; color: var(--vscode-foreground); }
      .u-legend { font-size: 11px; color: var(--vscode-foreground); }
      .u-select { background: var(--vscode-editor-selectionBackground); }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: Math.max(200, this.clientWidth), height: this.height }));
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    this.resize?.disconnect();
    this.plot?.destroy();
    super.disconnectedCallback();
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("x") || changed.has("series") || changed.has("logY") || changed.has("height")) this.build();
    else if (changed.has("cursor") && this.plot && this.cursor >= 0) {
      const left = this.plot.valToPos(this.cursor, "x");
      this.plot.setCursor({ left, top: 10 });
    }
  }

  private build(): void {
    this.plot?.destroy();
    this.plot = undefined;
    const host = this.renderRoot.querySelector<HTMLDivElement>(".chart");
    if (!host || this.x.length === 0 || this.series.length === 0) return;
    const fg = cssVar("--vscode-foreground", "#ccc");
    const grid = cssVar("--vscode-editorWidget-border", "rgba(128,128,128,0.3)");
    const axis = (label: string): uPlot.Axis => ({ stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, label, labelSize: 16, font: "11px sans-serif", labelFont: "11px sans-serif" });
    const opts: uPlot.Options = {
      width: Math.max(200, this.clientWidth || 600),
      height: this.height,
      scales: { x: { time: false }, y: this.logY ? { distr: 3, log: 10 } : {} },
      axes: [
        axis(this.xLabel),
        this.logY
          ? {
              ...axis(this.yLabel),
              space: 24,
              size: 56,
              // powers of ten only: 1e-9 ... 1
              values: (_u: uPlot, splits: number[]) =>
                splits.map((v) => {
                  const e = Math.round(Math.log10(v));
                  return Math.abs(Math.log10(v) - e) < 1e-6 ? (e === 0 ? "1" : `1e${e}`) : "";
                }),
            }
          : axis(this.yLabel),
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      series: [{ label: this.xLabel }, ...this.series.map((s) => ({ label: s.label, stroke: cssVar(s.color, "#888"), width: 1.5, dash: s.dash ? [4, 3] : undefined, spanGaps: false }))],
    };
    const data = [this.x, ...this.series.map((s) => s.values.map((v) => (v === null || (this.logY && !(v > 0)) ? null : v)))] as uPlot.AlignedData;
    this.plot = new uPlot(opts, data, host);
    // Not a colour map: a chart (the layout checks tell them apart by this).
    for (const c of this.plot.root.querySelectorAll("canvas")) c.dataset.chart = "line";
    document.body.dataset.chartDrawnAt = String(Date.now());
  }

  override render() {
    return html`<div class="chart" role="img" aria-label=${`chart: ${this.series.map((s) => s.label).join(", ")} over ${this.xLabel}`}></div>`;
  }
}
customElements.define("seqlens-line-chart", LineChart);
