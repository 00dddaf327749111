// The Gates panel: for a chosen recurrent layer and direction, a units × time heatmap per gate and
// state with the input under the time axis, a chart of picked units over time, LSTMVis-style unit
// selection (brush a span, a threshold, find where the same units fire together), and for a series
// model the series with its one-step and multi-step forecasts and residuals above. Above them, how
// the selection was read and why (with the other reading a click away), and why a series' rows and
// the model's steps differ. The chart follows the map the user brushed and draws at most 8 units. It
// asks the extension for one [T, H] slice at a time. A selection longer than the model reads at once
// is shown a window at a time: a line says which steps are shown, of how many, with buttons for the
// windows either side. A cancelled request is said as a plain notice, not as an error.
import { css, html, LitElement } from "lit";
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { GatesHostToPanel, GatesPanelToHost, GatesView } from "../../protocol/gates";
import { visibleWhitespace } from "../../protocol/text";
import { GateMap, UNIT_INTERVAL } from "./gateMaps";
import { ChartSeries, PALETTE } from "./lineChart";
import { firingRuns, unitsAbove } from "../../protocol/firing";
import { connect } from "../shared/connect";
import { windowNav } from "./windowNav";
import "./gateMaps";
import "./lineChart";

interface SavedState {
  /** What the extension needs to run again after a window reload. */
  host?: GatesView["restore"];
  direction: number;
  units: number[];
  chartGate: string;
}

/** A chart of more lines than this is a tangle: the strongest are charted, and a line says so. */
export const MAX_CHARTED = 8;

/** Which host message answers each request. */
type Replies = { getSlice: "slice"; getGradients: "gradients"; findInDocument: "documentMatches" };

export class GatesApp extends LitElement {
  static override properties = {
    view: { state: true },
    direction: { state: true },
    maps: { state: true },
    units: { state: true },
    chartGate: { state: true },
    step: { state: true },
    brush: { state: true },
    threshold: { state: true },
    firing: { state: true },
    error: { state: true },
    notice: { state: true },
    gradients: { state: true },
    gradStep: { state: true },
    docMatches: { state: true },
    brushGate: { state: true },
    picked: { state: true },
  };
  /** The map the user brushed last: the chart and "Units above threshold" follow it. */
  brushGate = "";
  /** What "Units above threshold" found: how many units passed, and the ones charted (at most MAX_CHARTED). */
  picked?: { gate: string; from: number; to: number; threshold: number; passed: number; charted: number[] };
  docMatches?: Extract<GatesHostToPanel, { type: "documentMatches" }>;
  gradients?: Extract<GatesHostToPanel, { type: "gradients" }>;
  gradStep = -1;
  view?: GatesView;
  direction = 0;
  maps: GateMap[] = [];
  units: number[] = [];
  chartGate = "hidden";
  step = -1;
  brush?: [number, number];
  threshold = 0.5;
  firing: [number, number][] = [];
  error?: string;
  /** A cancel, said plainly (what is shown stays). */
  notice?: string;
  private hoverFrame = 0;
  private readonly host = connect<GatesPanelToHost, GatesHostToPanel, SavedState, Replies>();
  /** Shows a host error (a rejected request's or one sent on its own); a cancel is a notice. */
  private readonly showError = (e: { message: string; code?: string }): void => {
    if (e.code === "CANCELLED") {
      this.notice = this.view ? "Cancelled: what is shown is the last result." : "Cancelled.";
      return;
    }
    this.notice = undefined;
    this.error = e.message;
  };

  static override styles = css`
    :host { display: block; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px; }
    header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
    .muted { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    .reading { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; margin: 0 0 8px; padding: 4px 8px; border-left: 2px solid var(--vscode-focusBorder); background: var(--vscode-textBlockQuote-background, transparent); }
    .reading span { flex: 1 1 20em; min-width: 0; overflow-wrap: anywhere; }
    .ok { color: var(--vscode-foreground); border-left: 3px solid var(--vscode-testing-iconPassed, var(--vscode-charts-green, currentColor)); padding-left: 4px; }
    .bad { color: var(--vscode-errorForeground); font-weight: 600; }
    .error { color: var(--vscode-errorForeground); margin: 6px 0; }
    .notice { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); margin: 6px 0; }
    .window { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; margin: 0 0 8px; padding: 4px 8px; border-left: 2px solid var(--vscode-focusBorder); background: var(--vscode-textBlockQuote-background, transparent); }
    .window span { flex: 1 1 20em; min-width: 0; overflow-wrap: anywhere; }
    .window nav { display: flex; flex: 0 0 auto; gap: 6px; flex-wrap: wrap; }
    section { margin: 10px 0; }
    h2 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; margin: 0 0 4px; font-weight: 600; }
    .picked { margin: 4px 0; overflow-wrap: anywhere; }
    .controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 4px 0; }
    select, input[type="number"] { font: inherit; max-width: 100%; color: var(--vscode-dropdown-foreground, var(--vscode-foreground)); background: var(--vscode-dropdown-background, var(--vscode-editor-background)); border: 1px solid var(--vscode-dropdown-border, var(--vscode-foreground)); padding: 2px 4px; border-radius: 2px; }
    select:focus-visible, input:focus-visible, button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
    ul.matches { list-style: none; padding: 0; margin: 4px 0; max-height: 160px; overflow-y: auto; }
    ul.matches button { font: inherit; font-family: var(--vscode-editor-font-family); color: var(--vscode-textLink-foreground, var(--vscode-foreground)); background: none; border: none; cursor: pointer; padding: 1px 2px; text-align: left; overflow-wrap: anywhere; }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    const s = this.host.state;
    if (s) {
      this.direction = s.direction;
      this.units = s.units;
      this.chartGate = s.chartGate;
    }
    this.host.on("gates", (msg) => {
      this.view = msg.view;
      this.error = undefined;
      this.notice = undefined;
      this.brush = undefined;
      this.brushGate = "";
      this.picked = undefined;
      this.firing = [];
      this.docMatches = undefined;
      this.gradients = undefined;
      this.gradStep = msg.view.gates.steps - 1;
      if (this.direction >= msg.view.gates.layers.length) this.direction = 0;
      const l = msg.view.gates.layers[this.direction];
      this.units = this.units.filter((u) => u < l.units);
      if (!l.names.includes(this.chartGate)) this.chartGate = "hidden";
      this.requestMaps();
      this.save();
    });
    this.host.on("selectStep", (msg) => (this.step = msg.step));
    this.host.on("error", this.showError);
  }

  private save() {
    this.host.state = { host: this.view?.restore, direction: this.direction, units: this.units, chartGate: this.chartGate };
  }

  /** One [T, units] slice per gate and state of the direction shown; a newer ask for a name supersedes an older one. */
  private requestMaps() {
    const v = this.view;
    if (!v) return;
    this.maps = [];
    const index = this.direction;
    for (const name of v.gates.layers[index].names) {
      this.host.request({ type: "getSlice", index, name }, { latest: `slice ${name}` }).then((r) => {
        if (!r || index !== this.direction || this.view !== v) return;
        const l = v.gates.layers[index];
        this.maps = l.names.map((n) => (n === r.name ? { name: n, data: r.data } : this.maps.find((m) => m.name === n))).filter((m): m is GateMap => !!m);
      }, this.showError);
    }
  }

  private setDirection(i: number) {
    this.direction = i;
    const l = this.view!.gates.layers[i];
    this.units = this.units.filter((u) => u < l.units);
    this.firing = [];
    this.picked = undefined;
    this.requestMaps();
    this.save();
  }

  private onHover(step: number) {
    this.step = step;
    cancelAnimationFrame(this.hoverFrame);
    this.hoverFrame = requestAnimationFrame(() => this.host.post({ type: "revealStep", step }));
  }

  private toggleUnit(unit: number, gate: string) {
    this.chartGate = gate;
    this.units = this.units.includes(unit) ? this.units.filter((u) => u !== unit) : [...this.units, unit].slice(-MAX_CHARTED);
    this.picked = undefined;
    this.save();
  }

  /** A brush drawn on a map: the span, and that map becomes the one charted and thresholded. */
  private onBrush(from: number, to: number, gate?: string) {
    this.brush = [from, to];
    if (gate && this.view?.gates.layers[this.direction].names.includes(gate)) {
      this.brushGate = gate;
      if (gate !== this.chartGate) {
        this.chartGate = gate;
        this.picked = undefined;
        this.save();
      }
    }
  }

  private chartMap(): GateMap | undefined {
    return this.maps.find((m) => m.name === this.chartGate);
  }

  /**
   * LSTMVis: the units of the brushed map that stay above the threshold over the whole brushed span;
   * more than MAX_CHARTED: the ones with the highest mean over the span are charted.
   */
  private selectByBrush() {
    const m = this.chartMap();
    const l = this.view?.gates.layers[this.direction];
    if (!m || !l || !this.brush) return;
    const [a, b] = this.brush;
    const passed = unitsAbove(m.data, l.units, a, b, this.threshold);
    const mean = (u: number) => {
      let s = 0;
      for (let t = a; t <= b; t++) s += m.data[t * l.units + u];
      return s / (b - a + 1);
    };
    const picked = passed.length > MAX_CHARTED ? passed.map((u) => [u, mean(u)] as const).sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, MAX_CHARTED).map(([u]) => u) : passed;
    this.picked = { gate: m.name, from: a, to: b, threshold: this.threshold, passed: passed.length, charted: picked };
    this.units = picked;
    this.firing = firingRuns(m.data, l.units, this.view!.gates.steps, picked, this.threshold).filter(([s, e]) => !(s <= b && e >= a));
    this.docMatches = undefined;
    this.save();
  }

  private exportPng() {
    const maps = this.renderRoot.querySelector("seqlens-gate-maps")?.shadowRoot;
    const canvases = maps ? Array.from(maps.querySelectorAll<HTMLCanvasElement>("canvas")) : [];
    if (canvases.length === 0) return;
    const w = Math.max(...canvases.map((c) => c.width));
    const h = canvases.reduce((a, c) => a + c.height + 4, 0);
    const out = document.createElement("canvas");
    out.width = w;
    out.height = h;
    const ctx = out.getContext("2d")!;
    ctx.fillStyle = getComputedStyle(document.body).getPropertyValue("--vscode-editor-background") || "#1e1e1e";
    ctx.fillRect(0, 0, w, h);
    let y = 0;
    for (const c of canvases) {
      ctx.drawImage(c, 0, y);
      y += c.height + 4;
    }
    this.host.post({ type: "exportPng", dataUrl: out.toDataURL("image/png") });
  }

  private forecastSection() {
    const f = this.view?.forecast;
    if (!f) return null;
    const T = f.series.length;
    const H = f.multiStep.length;
    // rows of the whole selection: a window's first row is its place in the series, not 0
    const first = this.view?.window?.unit === "rows" ? this.view.window.from : 0;
    const x = Array.from({ length: T + H }, (_, i) => first + i);
    const cursor = this.stepRow() >= 0 ? first + this.stepRow() : -1;
    const pad = <V,>(xs: V[], before: number, after: number) => [...new Array(before).fill(null), ...xs, ...new Array(after).fill(null)];
    const series: ChartSeries[] = [
      { label: "series", values: pad(f.series, 0, H), color: "--vscode-foreground" },
      { label: "one-step forecast", values: pad(f.oneStep, 0, H), color: "--vscode-charts-orange" },
      { label: `next ${H} (autoregressive)`, values: pad([f.series[T - 1], ...f.multiStep], T - 1, 0).slice(0, T + H), color: "--vscode-charts-purple", dash: true },
    ];
    const m = f.metrics;
    const fmt = (e: { mae: number; rmse: number }) => `MAE ${e.mae.toFixed(3)}, RMSE ${e.rmse.toFixed(3)}`;
    return html`<section>
      <h2>Forecast</h2>
      <div class="muted">
        One-step on ${m.rows} rows: <b>${fmt(m)}</b> · last value ${fmt(m.lastValue)}${m.seasonalNaive ? html` · seasonal naive (${m.seasonalNaive.season}) ${fmt(m.seasonalNaive)}` : null}
      </div>
      <seqlens-line-chart .x=${x} .series=${series} .height=${200} .cursor=${cursor} xLabel="row" yLabel="value"></seqlens-line-chart>
      <seqlens-line-chart .x=${x.slice(0, T)} .series=${[{ label: "residual", values: f.residuals, color: "--vscode-charts-red" }]} .height=${110} .cursor=${cursor} xLabel="row" yLabel="residual"></seqlens-line-chart>
    </section>`;
  }

  private findInDocument() {
    if (this.units.length === 0) return;
    this.host.request({ type: "findInDocument", index: this.direction, name: this.chartGate, units: this.units, threshold: this.threshold }, { latest: "documentMatches" }).then((r) => {
      if (r) this.docMatches = r;
    }, this.showError);
  }

  private requestGradients() {
    this.host.request({ type: "getGradients", step: Math.max(0, this.gradStep) }, { latest: "gradients" }).then((r) => {
      if (r) this.gradients = r;
    }, this.showError);
  }

  private gradientSection() {
    const v = this.view;
    if (!v?.gradients) return null;
    const T = v.gates.steps;
    const g = this.gradients;
    const colors: Record<string, string> = { lstm: "--vscode-charts-blue", gru: "--vscode-charts-green", simple_rnn: "--vscode-charts-red" };
    return html`<section>
      <h2>Vanishing gradients</h2>
      <div class="controls">
        <label>output step <input type="number" aria-label="Output step" min="0" max=${String(T - 1)} .value=${String(this.gradStep)} @change=${(e: Event) => (this.gradStep = Math.max(0, Math.min(T - 1, Number((e.target as HTMLInputElement).value))))} /></label>
        <vscode-button secondary @click=${() => this.requestGradients()}>‖∂y_t/∂x_s‖ for the LSTM and SimpleRNN samples</vscode-button>
      </div>
      ${g
        ? html`<div class="muted">y_t: ${g.target} at step ${g.outputStep}; x_s: the embedding of the character at s. Log scale.</div>
            <seqlens-line-chart
              .x=${Array.from({ length: g.outputStep + 1 }, (_, s) => s)}
              .series=${g.series.map((s) => ({ label: `${s.name} (${s.cell})`, values: s.norms.slice(0, g.outputStep + 1), color: colors[s.cell] ?? "--vscode-charts-purple" }))}
              .height=${200}
              logY
              xLabel="input step s"
              yLabel="gradient norm"
            ></seqlens-line-chart>`
        : null}
    </section>`;
  }

  /** How the selection was read and why, with the other reading offered; and why rows and steps differ. */
  private readingLine() {
    const v = this.view;
    const r = v?.reading;
    if (!v || !r) return null;
    const rows = v.forecast?.series.length ?? r.rows;
    const steps = v.gates.steps;
    let note = "";
    if (r.kind === "series" && rows !== undefined && rows !== steps) {
      note =
        v.gates.source[0] === rows - steps
          ? ` ${rows} rows give ${steps} steps: this model reads the change from one row to the next (step 0 reads row 2 − row 1), so the first row is not a step of its own.`
          : ` ${rows} rows give ${steps} steps.`;
    }
    return html`<div class="reading" role="status">
      <span>${r.reason}${note}</span>
      ${r.other ? html`<vscode-button secondary @click=${() => this.host.post({ type: "readAs", kind: r.other!.kind })}>${r.other.label}</vscode-button>` : null}
    </div>`;
  }

  /** Which steps of a long selection are shown, of how many, with the windows either side a click away. */
  private windowLine() {
    const w = this.view?.window;
    if (!w) return null;
    const nav = windowNav(w);
    const ask = (window: number) => {
      this.notice = undefined;
      this.host.post({ type: "showWindow", window });
    };
    return html`<div class="window" role="status">
      <span>${nav.notice}</span>
      <nav aria-label="Windows of the selection">
        ${nav.earlier ? html`<vscode-button secondary @click=${() => ask(nav.earlier!.window)}>${nav.earlier.label}</vscode-button>` : null}
        ${nav.later ? html`<vscode-button secondary @click=${() => ask(nav.later!.window)}>${nav.later.label}</vscode-button>` : null}
      </nav>
    </div>`;
  }

  /** What "Units above threshold" found, in a sentence: how many passed, and which are charted and why. */
  private pickedLine() {
    const p = this.picked;
    if (!p || p.gate !== this.chartGate) return null;
    const span = p.from === p.to ? `step ${p.from}` : `all of steps ${p.from}–${p.to}`;
    if (p.passed === 0) return html`<div class="picked">No unit of ${p.gate} stays above ${p.threshold} over ${span}: lower the threshold or brush a shorter span.</div>`;
    if (p.passed <= MAX_CHARTED) return html`<div class="picked">${p.passed} unit${p.passed === 1 ? "" : "s"} of ${p.gate} stay${p.passed === 1 ? "s" : ""} above ${p.threshold} over ${span}: all charted.</div>`;
    return html`<div class="picked" data-capped="true">${p.passed} units of ${p.gate} stay above ${p.threshold} over ${span}; charted: the ${p.charted.length} with the highest mean ${p.gate} over the span (${p.charted.join(", ")}). Raise the threshold or brush a longer span to narrow them down.</div>`;
  }

  /** The series row the current step read. */
  private stepRow(): number {
    return this.step >= 0 ? (this.view?.gates.source[this.step] ?? -1) : -1;
  }

  override render() {
    const v = this.view;
    if (!v) return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}${this.notice ? html`<div class="notice" role="status">${this.notice}</div>` : null}<p class="muted">Select text or numbers in an editor and run <b>SeqLens: Show Gates</b>.</p>`;
    const g = v.gates;
    const l = g.layers[this.direction];
    const m = this.chartMap();
    const chartSeries: ChartSeries[] = m
      ? this.units.map((u, i) => ({ label: `${this.chartGate} ${u}`, values: Array.from({ length: g.steps }, (_, t) => m.data[t * l.units + u]), color: PALETTE[i % PALETTE.length], dash: i >= PALETTE.length }))
      : [];
    return html`
      <header>
        <span><b>${g.name}</b> · ${g.runtime} · ${g.steps} steps · ${g.ms.run.toFixed(1)} ms</span>
        <vscode-button secondary @click=${() => this.host.post({ type: "exportCsv", index: this.direction })}>CSV</vscode-button>
        <vscode-button secondary @click=${() => this.exportPng()}>PNG</vscode-button>
      </header>
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : null}
      ${this.notice ? html`<div class="notice" role="status">${this.notice}</div>` : null}
      ${this.readingLine()}
      ${this.windowLine()}
      ${this.forecastSection()}
      <section>
        <h2>Gates</h2>
        <div class="controls">
          <select aria-label="Layer and direction" .value=${String(this.direction)} @change=${(e: Event) => this.setDirection(Number((e.target as HTMLSelectElement).value))}>
            ${g.layers.map((x) => html`<option value=${String(x.index)} ?selected=${x.index === this.direction}>layer ${x.layer} · ${x.direction} · ${x.cell} · ${x.units} units</option>`)}
          </select>
          <span class="muted">${l.activations.join(", ")}</span>
          ${l.check.ok
            ? html`<span class="ok" title="The hidden state recomputed from these gates equals the runtime's own output at every step">✓ h_t matches the runtime (max diff ${l.check.maxAbsDiff.toExponential(1)})</span>`
            : html`<span class="bad" role="alert">✗ recomputed h_t differs from the runtime's by ${l.check.maxAbsDiff.toExponential(2)} at step ${l.check.worstStep}: these gates are not the model's</span>`}
        </div>
        <seqlens-gate-maps
          .maps=${this.maps}
          .steps=${g.steps}
          .units=${l.units}
          .labels=${g.labels}
          .selectedUnits=${this.units}
          .step=${this.step}
          .brush=${this.brush}
          brushGate=${this.brushGate}
          cell=${l.cell}
          ?text=${g.inputKind === "text"}
          .activations=${l.activations}
          @step-hover=${(e: CustomEvent) => this.onHover(e.detail.step)}
          @unit-toggle=${(e: CustomEvent) => this.toggleUnit(e.detail.unit, e.detail.gate)}
          @brush=${(e: CustomEvent) => this.onBrush(e.detail.from, e.detail.to, e.detail.gate)}
        ></seqlens-gate-maps>
        <div class="muted">Click a row to chart that unit; shift-drag across steps to brush a span.</div>
      </section>
      <section>
        <h2>Units over time</h2>
        <div class="controls">
          <label>gate <select aria-label="Gate to chart" .value=${this.chartGate} @change=${(e: Event) => ((this.chartGate = (e.target as HTMLSelectElement).value), (this.picked = undefined), this.save())}>
            ${l.names.map((n) => html`<option value=${n} ?selected=${n === this.chartGate}>${n}</option>`)}
          </select></label>
          <label>threshold <input type="number" aria-label="Threshold" step="0.05" min=${UNIT_INTERVAL.has(this.chartGate) ? 0 : -1} max="1" .value=${String(this.threshold)} @change=${(e: Event) => (this.threshold = Number((e.target as HTMLInputElement).value))} /></label>
          <vscode-button secondary ?disabled=${!this.brush} @click=${() => this.selectByBrush()}>Units above threshold in span${this.brush ? ` ${this.brush[0]}–${this.brush[1]} of ${this.chartGate}` : ""}</vscode-button>
          ${this.units.length ? html`<span class="muted">units ${this.units.join(", ")}</span>` : null}
        </div>
        ${this.pickedLine()}
        ${chartSeries.length ? html`<seqlens-line-chart .x=${Array.from({ length: g.steps }, (_, t) => t)} .series=${chartSeries} .height=${170} .cursor=${this.step} yLabel=${this.chartGate}></seqlens-line-chart>` : html`<p class="muted">No unit picked.</p>`}
        ${this.brush && this.units.length
          ? html`<div class="muted">${this.firing.length} other place${this.firing.length === 1 ? "" : "s"} where units ${this.units.join(", ")} are all above ${this.threshold}:</div>
              <ul class="matches">
                ${this.firing.map(([a, b]) => html`<li><button @click=${() => this.host.post({ type: "revealSpan", from: a, to: b })}>steps ${a}–${b}: ${JSON.stringify(visibleWhitespace(g.labels.slice(a, b + 1).join(g.inputKind === "text" ? "" : " ")).slice(0, 60))}</button></li>`)}
              </ul>
              ${g.inputKind === "text"
                ? html`<vscode-button secondary @click=${() => this.findInDocument()}>Find in the whole document</vscode-button>
                    ${this.docMatches
                      ? html`<div class="muted">${this.docMatches.matches.length} place${this.docMatches.matches.length === 1 ? "" : "s"} in the document (${this.docMatches.steps.toLocaleString("en-US")} characters run):</div>
                          <ul class="matches">
                            ${this.docMatches.matches.map((d) => html`<li><button @click=${() => this.host.post({ type: "revealOffsets", from: d.from, to: d.to })}>line ${d.line}: ${JSON.stringify(visibleWhitespace(d.text))}</button></li>`)}
                          </ul>`
                      : null}`
                : null}`
          : null}
      </section>
      ${this.gradientSection()}
    `;
  }
}
customElements.define("seqlens-gates", GatesApp);
