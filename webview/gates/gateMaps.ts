// Units × time heatmaps, one per gate or state of one recurrent direction, stacked and sharing one
// time axis, with the input (characters or values) aligned under it. Each map has its colour legend:
// gates in [0, 1] (sigmoid) run from the background to the accent colour; signed values (tanh
// candidates, hidden and cell states) use a diverging ramp around zero. The maps fit the panel's
// width (a step is at least MIN_STEP px; below that each map scrolls sideways, all in step) and
// re-fit when it is resized; the unit axis sits outside the scroll regions, so nothing overlaps.
// Hover a cell for its value (the panel highlights the step in the editor); click a row to pick the
// unit for the chart; shift-drag to brush a span of steps. Keyboard: a focused map moves a cell cursor
// with the arrows (Home/End, PageUp/PageDown by ten steps); Enter picks the unit; shift+arrows brush.
import { css, html, LitElement, PropertyValues } from "lit";
import { cssVar, divergingRamp, themeRamp, ThemeRepaint } from "../shared/theme";
import { divergingScale, quantileAbs, weightScale, type ColorScale } from "../shared/colorScale";
import { visibleWhitespace } from "../../protocol/text";
import { cssProps } from "../shared/cssProps";
import "../components/colorLegend";

export interface GateMap {
  name: string;
  data: Float32Array; // [T, H]
}

/** Gates bounded to [0, 1] (sigmoid-like); everything else is drawn around zero. */
export const UNIT_INTERVAL = new Set(["input", "forget", "output", "update", "reset"]);

/** Narrowest step (CSS px) before the maps scroll sideways: a series' values; a text's characters (each drawn under its step). Widest: short inputs do not stretch. */
export const MIN_STEP = 2;
export const MIN_STEP_TEXT = 8;
export const MAX_STEP = 16;
/** Widest map canvas (CSS px): a long input gets narrower steps rather than a canvas the browser cannot draw. */
const MAX_CANVAS = 16_000;
/** Height (CSS px) the units of a map share, at 1 to 8 px a unit. */
const MAP_HEIGHT = 128;
/** Width of the unit axis left of the maps (CSS px). */
const AXIS_W = 34;

/** A label drawn on a canvas, in CSS px from the canvas's top-left (for the layout checks). */
export interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
  text: string;
}

/** What the map of `name` shows, as the title above it. */
function title(name: string): string {
  return UNIT_INTERVAL.has(name) ? `${name} gate` : name === "candidate" ? "candidate (c̃_t)" : name === "cell" ? "cell state (c_t)" : name === "hidden" ? "hidden state (h_t)" : name;
}

/**
 * The colour scale of one map, from what its values can be: sigmoid gates 0 to 1; tanh values −1 to
 * +1 (diverging); the cell state (unbounded) and anything else by a robust bound (the 99th percentile
 * of |v|), colours clipped beyond it. `activations`: the direction's f, g, h (ONNX order).
 */
export function mapScale(name: string, data: Float32Array, cell: string, activations: string[]): ColorScale {
  const act = (i: number) => (activations[i] ?? "").toLowerCase();
  const fmt = (b: number) => String(+b.toPrecision(2));
  if (UNIT_INTERVAL.has(name)) return weightScale("linear", undefined, 0, 0, 1, `gate value (${act(0) || "sigmoid"}), 0 to 1`);
  // The activation that bounds the values: g for the candidate, h (LSTM) or g (GRU) or f (SimpleRNN) for the hidden state.
  const bounding = name === "candidate" ? act(1) : name === "hidden" ? act(cell === "lstm" ? 2 : cell === "gru" ? 1 : 0) : "";
  if (bounding === "tanh" || bounding === "softsign") return divergingScale(1, `value (${bounding}), −1 to +1`);
  let min = Infinity;
  for (let i = 0; i < data.length; i++) if (data[i] < min) min = data[i];
  const bound = Math.max(quantileAbs(data, 0.99), 1e-6);
  const what = name === "cell" ? "cell value (unbounded)" : `value${bounding ? ` (${bounding})` : ""}`;
  if (min >= 0) return weightScale("linear", undefined, 0, 0, bound, `${what}, 0 to ${fmt(bound)}; above: clipped`);
  return divergingScale(bound, `${what}, clipped at ±${fmt(bound)}`);
}

export class GateMaps extends LitElement {
  static override properties = {
    maps: { attribute: false },
    steps: { type: Number },
    units: { type: Number },
    labels: { attribute: false },
    selectedUnits: { attribute: false },
    step: { type: Number },
    brush: { attribute: false },
    brushGate: { type: String },
    cell: { type: String },
    activations: { attribute: false },
    text: { type: Boolean },
    hover: { state: true },
    avail: { state: true },
    inView: { state: true },
  };
  /** The steps in view when the maps scroll sideways ([first, last]); undefined when they all fit. */
  inView?: [number, number];
  maps: GateMap[] = [];
  steps = 0;
  units = 0;
  labels: string[] = [];
  selectedUnits: number[] = [];
  step = -1;
  brush?: [number, number];
  /** The map the brush was drawn on (the chart follows it). */
  brushGate = "";
  /** lstm, gru or simple_rnn, and the direction's activations: what each map's values can be. */
  cell = "lstm";
  activations: string[] = [];
  /** The steps read characters (drawn under the maps, so a step is at least MIN_STEP_TEXT px). */
  text = false;
  hover?: { name: string; t: number; u: number; v: number };
  /** Width (CSS px) the maps may take: the panel's, less the unit axis. */
  avail = 0;
  private dragFrom?: number;
  private cursor?: { name: string; t: number; u: number };
  private anchor?: number;
  private scales = new Map<string, ColorScale>();
  private resizer?: ResizeObserver;
  private syncing = false;
  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());
  static override styles = css`
    :host { display: block; }
    .block { margin: 0 0 6px; }
    .head { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 2px 12px; margin: 0 0 2px ${AXIS_W}px; }
    .head .name { font-size: 12px; font-weight: 600; }
    .head .name.brushed::after { content: " · brushed"; font-weight: normal; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    .body { display: flex; align-items: flex-start; }
    .axis { flex: none; width: ${AXIS_W}px; box-sizing: border-box; padding-right: 4px; position: relative; font-size: 10px; text-align: right; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); background: var(--vscode-editor-background); }
    .axis span { position: absolute; right: 4px; line-height: 11px; }
    .axis .top { top: 0; }
    .axis .bottom { bottom: 0; }
    .axis i { position: absolute; right: 0; width: 4px; min-height: 2px; background: var(--vscode-focusBorder); }
    .scroll { flex: 1 1 auto; min-width: 0; overflow-x: auto; overflow-y: hidden; scrollbar-width: thin; }
    canvas { display: block; image-rendering: pixelated; cursor: crosshair; }
    canvas.map:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
    canvas.strip { cursor: default; height: 18px; }
    .strip-row .axis { font-size: 10px; line-height: 22px; height: 18px; }
    .more { font-size: 12px; margin: 2px 0 0 ${AXIS_W}px; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
    .tip { min-height: 1.4em; font-family: var(--vscode-editor-font-family); font-size: 12px; margin: 4px 0 4px ${AXIS_W}px; overflow-wrap: anywhere; }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    this.resizer = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0].contentRect.width) - AXIS_W;
      if (w !== this.avail) this.avail = w;
    });
    this.resizer.observe(this);
  }

  override disconnectedCallback(): void {
    this.resizer?.disconnect();
    super.disconnectedCallback();
  }

  /** The maps' width in CSS px: the panel's width, within MIN_STEP and MAX_STEP px a step. */
  get mapWidth(): number {
    const T = Math.max(1, this.steps);
    const avail = this.avail > 0 ? this.avail : 600;
    const min = Math.max(1, Math.min(this.text ? MIN_STEP_TEXT : MIN_STEP, Math.floor(MAX_CANVAS / T)));
    return Math.max(T * min, Math.min(T * MAX_STEP, avail));
  }

  /** Px per unit row. */
  get rowH(): number {
    return Math.max(1, Math.min(8, Math.floor(MAP_HEIGHT / Math.max(1, this.units))));
  }

  /** The left edge (CSS px) of step t. */
  private x(t: number): number {
    return Math.floor((t * this.mapWidth) / Math.max(1, this.steps));
  }

  private stepAt(offsetX: number): number {
    return Math.floor((offsetX * this.steps) / this.mapWidth);
  }

  /** The scale each map is painted with (and its legend shows). */
  scaleOf(name: string): ColorScale | undefined {
    return this.scales.get(name);
  }

  override willUpdate(changed: PropertyValues): void {
    if (changed.has("maps") || changed.has("cell") || changed.has("activations")) {
      this.scales = new Map(this.maps.map((m) => [m.name, mapScale(m.name, m.data, this.cell, this.activations)]));
    }
  }

  override updated(changed: PropertyValues): void {
    if (["maps", "steps", "units", "selectedUnits", "step", "brush", "labels", "avail", "cell", "activations", "text"].some((k) => changed.has(k))) this.paint();
  }

  paint(): void {
    const t0 = performance.now();
    const T = this.steps;
    const H = this.units;
    const W = this.mapWidth;
    const rh = this.rowH;
    const focus = cssVar("--vscode-focusBorder", "#007fd4");
    const seq = themeRamp();
    const div = divergingRamp();
    const canvases = this.renderRoot.querySelectorAll<HTMLCanvasElement>("canvas.map");
    // Column k of the canvas shows step colStep[k].
    const colStep = new Int32Array(W);
    for (let t = 0; t < T; t++) for (let x = this.x(t); x < this.x(t + 1) && x < W; x++) colStep[x] = t;
    this.maps.forEach((m, k) => {
      const canvas = canvases[k];
      const scale = this.scales.get(m.name);
      if (!canvas || !scale || m.data.length !== T * H) return;
      canvas.width = W;
      canvas.height = H * rh;
      const ctx = canvas.getContext("2d")!;
      const img = ctx.createImageData(W, H * rh);
      const px = new Uint32Array(img.data.buffer);
      // One packed RGBA per colour level: 64 levels per side (t in [-1, 1] for a diverging scale).
      const diverging = scale.kind === "diverging";
      const lut = new Uint32Array(129);
      for (let i = -64; i <= 64; i++) {
        const [r, g, b] = diverging ? div(i / 64) : seq(Math.max(0, i) / 64);
        lut[i + 64] = (255 << 24) | (b << 16) | (g << 8) | r;
      }
      // One colour per cell, then spread over the cell's pixels.
      const cellColor = new Uint32Array(T * H);
      for (let a = 0; a < T * H; a++) cellColor[a] = lut[Math.round(scale.t(m.data[a]) * 64) + 64];
      for (let u = 0; u < H; u++) {
        const row = u * rh * W;
        for (let x = 0; x < W; x++) px[row + x] = cellColor[colStep[x] * H + u];
        for (let y = 1; y < rh; y++) px.copyWithin(row + y * W, row, row + W);
      }
      ctx.putImageData(img, 0, 0);
      if (this.brush) {
        const [a, b] = this.brush;
        ctx.fillStyle = focus;
        ctx.globalAlpha = m.name === this.brushGate ? 0.25 : 0.12;
        ctx.fillRect(this.x(a), 0, this.x(b + 1) - this.x(a), H * rh);
        ctx.globalAlpha = 1;
      }
      if (this.cursor?.name === m.name && this.cursor.u < H) {
        ctx.strokeStyle = focus;
        ctx.lineWidth = 1;
        ctx.strokeRect(this.x(this.cursor.t) - 0.5, this.cursor.u * rh - 0.5, this.x(this.cursor.t + 1) - this.x(this.cursor.t) + 1, rh + 1);
      }
      if (this.step >= 0 && this.step < T) {
        ctx.fillStyle = focus;
        ctx.fillRect(Math.floor((this.x(this.step) + this.x(this.step + 1)) / 2), 0, 1, H * rh);
      }
    });
    this.paintStrip();
    this.measureView();
    document.body.dataset.gatesPaintedAt = String(Date.now());
    document.body.dataset.gatesPaintMs = String(performance.now() - t0);
  }

  /** The input under the time axis: each character (or value) when a step is wide enough, else step numbers. */
  private paintStrip(): void {
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.strip");
    if (!canvas) return;
    const T = this.steps;
    const W = this.mapWidth;
    const cw = W / Math.max(1, T);
    canvas.width = W;
    canvas.height = 18;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = cssVar("--vscode-editor-foreground", cssVar("--vscode-foreground", "#ccc"));
    ctx.font = `11px ${cssVar("--vscode-editor-font-family", "monospace")}`;
    ctx.textBaseline = "middle";
    const boxes: LabelBox[] = [];
    const put = (text: string, x: number, w: number) => {
      ctx.fillText(text, x, 11);
      boxes.push({ x, y: 5, w, h: 12, text });
    };
    const shown = this.labels.map((l) => visibleWhitespace(l));
    const widths = shown.map((l) => ctx.measureText(l).width);
    if (T > 0 && widths.every((w) => w <= cw - 1)) {
      shown.forEach((l, t) => put(l, this.x(t) + (this.x(t + 1) - this.x(t) - widths[t]) / 2, widths[t]));
    } else {
      // Step numbers, far enough apart for their width.
      const wide = ctx.measureText(String(Math.max(0, T - 1))).width + 12;
      const every = Math.max(1, Math.ceil(wide / cw));
      const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].find((n) => n >= every) ?? every;
      // A tick at the step's middle, its number centred under it.
      for (let t = 0; t < T; t += nice) {
        const label = String(t);
        const w = ctx.measureText(label).width;
        const mid = Math.floor((this.x(t) + this.x(t + 1)) / 2);
        const x = Math.max(0, mid - w / 2);
        if (x + w > W) break;
        ctx.fillRect(mid, 0, 1, 4);
        put(label, x, w);
      }
    }
    (canvas as HTMLCanvasElement & { labelBoxes?: LabelBox[] }).labelBoxes = boxes;
  }

  private at(e: MouseEvent, name: string): { name: string; t: number; u: number; v: number } | undefined {
    const t = this.stepAt(e.offsetX);
    const u = Math.floor(e.offsetY / this.rowH);
    const m = this.maps.find((x) => x.name === name);
    if (!m || t < 0 || u < 0 || t >= this.steps || u >= this.units) return undefined;
    return { name, t, u, v: m.data[t * this.units + u] };
  }

  private emit(type: string, detail: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private onMove(e: MouseEvent, name: string) {
    const h = this.at(e, name);
    this.hover = h;
    if (!h) return;
    if (this.dragFrom !== undefined) this.emit("brush", { from: Math.min(this.dragFrom, h.t), to: Math.max(this.dragFrom, h.t), gate: name });
    this.emit("step-hover", { step: h.t });
  }

  /** Which steps the scroll regions show, when they do not show all. */
  private measureView() {
    const s = this.renderRoot.querySelector<HTMLElement>(".scroll");
    if (!s || s.scrollWidth <= s.clientWidth + 1) {
      if (this.inView) this.inView = undefined;
      return;
    }
    const a = Math.max(0, Math.min(this.steps - 1, this.stepAt(s.scrollLeft + 1)));
    const b = Math.max(0, Math.min(this.steps - 1, this.stepAt(s.scrollLeft + s.clientWidth - 1)));
    if (this.inView?.[0] !== a || this.inView?.[1] !== b) this.inView = [a, b];
  }

  /** Every map's scroll region (and the input strip's) follows the one scrolled. */
  private onScroll(e: Event) {
    this.measureView();
    if (this.syncing) return;
    const left = (e.target as HTMLElement).scrollLeft;
    this.syncing = true;
    for (const s of this.renderRoot.querySelectorAll<HTMLElement>(".scroll")) if (s !== e.target && s.scrollLeft !== left) s.scrollLeft = left;
    requestAnimationFrame(() => (this.syncing = false));
  }

  /** Scrolls every map so that step t is in view. */
  private reveal(t: number) {
    const first = this.renderRoot.querySelector<HTMLElement>(".scroll");
    if (!first || first.scrollWidth <= first.clientWidth) return;
    const a = this.x(t);
    const b = this.x(t + 1);
    let left = first.scrollLeft;
    if (a < left) left = Math.max(0, a - 8);
    else if (b > left + first.clientWidth) left = b - first.clientWidth + 8;
    if (left !== first.scrollLeft) for (const s of this.renderRoot.querySelectorAll<HTMLElement>(".scroll")) s.scrollLeft = left;
  }

  private onKey(e: KeyboardEvent, name: string) {
    const T = this.steps;
    const H = this.units;
    const m = this.maps.find((x) => x.name === name);
    if (!m || T === 0) return;
    const at = this.cursor?.name === name ? this.cursor : { name, t: Math.max(0, this.step), u: this.selectedUnits[0] ?? 0 };
    let { t, u } = at;
    switch (e.key) {
      case "ArrowLeft": t--; break;
      case "ArrowRight": t++; break;
      case "ArrowUp": u--; break;
      case "ArrowDown": u++; break;
      case "Home": t = 0; break;
      case "End": t = T - 1; break;
      case "PageUp": t -= 10; break;
      case "PageDown": t += 10; break;
      case "Enter":
      case " ":
        e.preventDefault();
        this.emit("unit-toggle", { unit: at.u, gate: name });
        return;
      default:
        return;
    }
    e.preventDefault();
    t = Math.max(0, Math.min(T - 1, t));
    u = Math.max(0, Math.min(H - 1, u));
    if (e.shiftKey && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
      this.anchor ??= at.t; // the brush runs from where shift was first held to the cursor
      this.emit("brush", { from: Math.min(this.anchor, t), to: Math.max(this.anchor, t), gate: name });
    } else this.anchor = undefined;
    this.cursor = { name, t, u };
    this.hover = { name, t, u, v: m.data[t * H + u] };
    this.reveal(t);
    this.emit("step-hover", { step: t });
  }

  private onDown(e: MouseEvent, name: string) {
    const h = this.at(e, name);
    if (!h) return;
    if (e.shiftKey) {
      this.dragFrom = h.t;
      this.emit("brush", { from: h.t, to: h.t, gate: name });
      const up = () => {
        this.dragFrom = undefined;
        window.removeEventListener("mouseup", up);
      };
      window.addEventListener("mouseup", up);
    } else this.emit("unit-toggle", { unit: h.u, gate: name });
  }

  override render() {
    const h = this.hover;
    const label = (t: number) => JSON.stringify(visibleWhitespace(this.labels[t] ?? ""));
    const W = this.mapWidth;
    const mapH = this.units * this.rowH;
    const legendLength = Math.max(80, Math.min(160, this.avail - 200));
    return html`${this.maps.map(
        (m) => html`<div class="block" data-gate=${m.name}>
          <div class="head">
            <span class=${m.name === this.brushGate && this.brush ? "name brushed" : "name"}>${title(m.name)}</span>
            <seqlens-color-legend for=${m.name} .scale=${this.scales.get(m.name)} length=${legendLength}></seqlens-color-legend>
          </div>
          <div class="body">
            <div class="axis" ${cssProps({ height: `${mapH}px` })} title="units 0 to ${this.units - 1}, top to bottom">
              <span class="top">0</span>${mapH >= 26 ? html`<span class="bottom">${this.units - 1}</span>` : null}
              ${this.selectedUnits.filter((u) => u < this.units).map((u) => html`<i ${cssProps({ top: `${u * this.rowH}px`, height: `${this.rowH}px` })} title=${`unit ${u} (charted)`}></i>`)}
            </div>
            <div class="scroll" @scroll=${(e: Event) => this.onScroll(e)}>
              <canvas
                class="map"
                data-gate=${m.name}
                data-colormap=${m.name}
                ${cssProps({ width: `${W}px`, height: `${mapH}px` })}
                tabindex="0"
                role="img"
                aria-label=${`${title(m.name)}: ${this.units} units by ${this.steps} steps. Arrow keys move between steps and units, Enter charts the unit, shift and arrows brush steps.`}
                @keydown=${(e: KeyboardEvent) => this.onKey(e, m.name)}
                @mousemove=${(e: MouseEvent) => this.onMove(e, m.name)}
                @mouseleave=${() => (this.hover = undefined)}
                @mousedown=${(e: MouseEvent) => this.onDown(e, m.name)}
              ></canvas>
            </div>
          </div>
        </div>`,
      )}
      <div class="body strip-row">
        <div class="axis">step</div>
        <div class="scroll" @scroll=${(e: Event) => this.onScroll(e)}><canvas class="strip" data-chart="steps and input" ${cssProps({ width: `${W}px` })} aria-hidden="true"></canvas></div>
      </div>
      ${this.inView ? html`<div class="more">Steps ${this.inView[0]}–${this.inView[1]} of ${this.steps} in view: scroll the maps sideways (shift + wheel, or the arrow keys on a focused map) for the rest.</div>` : null}
      <div class="tip" aria-live="polite">${h ? html`step ${h.t} ${label(h.t)} · ${title(h.name)}, unit ${h.u} = <b>${h.v.toFixed(4)}</b>` : html`&nbsp;`}</div>`;
  }
}
customElements.define("seqlens-gate-maps", GateMaps);
