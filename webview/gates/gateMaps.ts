// Units × time heatmaps, one per gate or state of one recurrent direction, stacked and sharing one
// time axis, with the input (characters or values) aligned under it. Gates in [0, 1] run from the
// background to the accent colour; tanh values and the cell state use a diverging ramp around zero.
// Hover a cell for its value (the panel highlights the step in the editor); click a row to pick the
// unit for the chart; shift-drag to brush a span of steps. Keyboard: a focused map moves a cell cursor
// with the arrows (Home/End, PageUp/PageDown by ten steps); Enter picks the unit; shift+arrows brush.
import { css, html, LitElement, PropertyValues } from "lit";
import { cssVar, parseColor, ThemeRepaint } from "../shared/theme";
import { visibleWhitespace } from "../../protocol/text";

export interface GateMap {
  name: string;
  data: Float32Array; // [T, H]
}

/** Gates bounded to [0, 1] (sigmoid-like); everything else is drawn around zero. */
export const UNIT_INTERVAL = new Set(["input", "forget", "output", "update", "reset"]);

export class GateMaps extends LitElement {
  static override properties = {
    maps: { attribute: false },
    steps: { type: Number },
    units: { type: Number },
    labels: { attribute: false },
    selectedUnits: { attribute: false },
    step: { type: Number },
    brush: { attribute: false },
    hover: { state: true },
  };
  maps: GateMap[] = [];
  steps = 0;
  units = 0;
  labels: string[] = [];
  selectedUnits: number[] = [];
  step = -1;
  brush?: [number, number];
  hover?: { name: string; t: number; u: number; v: number };
  private dragFrom?: number;
  private cursor?: { name: string; t: number; u: number };
  private anchor?: number;
  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint());
  static override styles = css`
    :host { display: block; }
    .scroll { overflow-x: auto; overflow-y: hidden; position: relative; padding-bottom: 4px; }
    .row { display: flex; align-items: flex-start; gap: 6px; }
    .name { width: 6.5em; flex: none; font-size: 11px; text-align: right; padding-top: 2px; opacity: 0.85; position: sticky; left: 0; background: var(--vscode-editor-background); z-index: 1; }
    canvas { display: block; image-rendering: pixelated; cursor: crosshair; }
    canvas.map:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
    canvas.strip { cursor: default; }
    .tip { min-height: 1.4em; font-family: var(--vscode-editor-font-family); font-size: 12px; margin: 4px 0; }
  `;

  /** Pixels per step and per unit: the maps fit ~900 px when they can, never under 1 px a step. */
  get cellW(): number {
    return Math.max(1, Math.min(10, Math.floor(900 / Math.max(1, this.steps))));
  }

  get rowH(): number {
    return Math.max(1, Math.min(6, Math.floor(192 / Math.max(1, this.units))));
  }

  override updated(changed: PropertyValues): void {
    if (["maps", "steps", "units", "selectedUnits", "step", "brush", "labels"].some((k) => changed.has(k))) this.paint();
  }

  paint(): void {
    const t0 = performance.now();
    const T = this.steps;
    const H = this.units;
    const cw = this.cellW;
    const rh = this.rowH;
    const bg = parseColor(cssVar("--vscode-editor-background", "#1e1e1e"));
    const pos = parseColor(cssVar("--vscode-charts-orange", "#d18616"));
    const neg = parseColor(cssVar("--vscode-charts-blue", "#3794ff"));
    const focus = cssVar("--vscode-focusBorder", "#007fd4");
    const canvases = this.renderRoot.querySelectorAll<HTMLCanvasElement>("canvas.map");
    this.maps.forEach((m, k) => {
      const canvas = canvases[k];
      if (!canvas || m.data.length !== T * H) return;
      canvas.width = T * cw;
      canvas.height = H * rh;
      const ctx = canvas.getContext("2d")!;
      const img = ctx.createImageData(T * cw, H * rh);
      const px = new Uint32Array(img.data.buffer);
      const bounded = UNIT_INTERVAL.has(m.name);
      let scale = 1;
      if (!bounded) for (let a = 0; a < m.data.length; a++) scale = Math.max(scale, Math.abs(m.data[a]));
      // One packed RGBA per colour step: 64 levels per side.
      const lut = new Uint32Array(129);
      for (let i = -64; i <= 64; i++) {
        const tgt = i >= 0 ? pos : neg;
        const f = Math.abs(i) / 64;
        const r = Math.round(bg[0] + (tgt[0] - bg[0]) * f);
        const g = Math.round(bg[1] + (tgt[1] - bg[1]) * f);
        const b = Math.round(bg[2] + (tgt[2] - bg[2]) * f);
        lut[i + 64] = (255 << 24) | (b << 16) | (g << 8) | r;
      }
      const W = T * cw;
      for (let t = 0; t < T; t++) {
        for (let u = 0; u < H; u++) {
          const v = m.data[t * H + u];
          const level = bounded ? Math.round(Math.max(0, Math.min(1, v)) * 64) : Math.round(Math.max(-1, Math.min(1, v / scale)) * 64);
          const c = lut[level + 64];
          for (let y = 0; y < rh; y++) {
            const o = (u * rh + y) * W + t * cw;
            for (let x = 0; x < cw; x++) px[o + x] = c;
          }
        }
      }
      ctx.putImageData(img, 0, 0);
      ctx.strokeStyle = focus;
      ctx.lineWidth = 1;
      for (const u of this.selectedUnits) if (u < H) ctx.strokeRect(0.5, u * rh + 0.5, T * cw - 1, Math.max(1, rh - 1));
      if (this.brush) {
        const [a, b] = this.brush;
        ctx.fillStyle = focus;
        ctx.globalAlpha = 0.18;
        ctx.fillRect(a * cw, 0, (b - a + 1) * cw, H * rh);
        ctx.globalAlpha = 1;
      }
      if (this.cursor?.name === m.name && this.cursor.u < H) {
        ctx.strokeStyle = focus;
        ctx.lineWidth = 1;
        ctx.strokeRect(this.cursor.t * cw - 0.5, this.cursor.u * rh - 0.5, cw + 1, rh + 1);
      }
      if (this.step >= 0 && this.step < T) {
        ctx.fillStyle = focus;
        ctx.fillRect(this.step * cw + Math.floor(cw / 2), 0, 1, H * rh);
      }
    });
    this.paintStrip();
    document.body.dataset.gatesPaintedAt = String(Date.now());
    document.body.dataset.gatesPaintMs = String(performance.now() - t0);
  }

  /** The input under the time axis: each character (or value) when a step is wide enough, else step numbers. */
  private paintStrip(): void {
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.strip");
    if (!canvas) return;
    const T = this.steps;
    const cw = this.cellW;
    canvas.width = T * cw;
    canvas.height = 16;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = cssVar("--vscode-editor-foreground", "#ccc");
    ctx.font = `11px ${cssVar("--vscode-editor-font-family", "monospace")}`;
    ctx.textBaseline = "middle";
    ctx.textAlign = "center";
    if (cw >= 7 && this.labels.every((l) => [...l].length <= 1 || cw >= 7 * [...l].length)) {
      this.labels.forEach((l, t) => ctx.fillText(visibleWhitespace(l), t * cw + cw / 2, 8));
    } else {
      const every = Math.max(1, Math.ceil(60 / cw));
      const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((n) => n >= every) ?? every;
      for (let t = 0; t < T; t += nice) {
        ctx.fillRect(t * cw, 0, 1, 4);
        ctx.fillText(String(t), t * cw + 2 + String(t).length * 3, 10);
      }
    }
  }

  private at(e: MouseEvent, name: string): { name: string; t: number; u: number; v: number } | undefined {
    const t = Math.floor(e.offsetX / this.cellW);
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
    if (this.dragFrom !== undefined) this.emit("brush", { from: Math.min(this.dragFrom, h.t), to: Math.max(this.dragFrom, h.t) });
    this.emit("step-hover", { step: h.t });
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
      this.emit("brush", { from: Math.min(this.anchor, t), to: Math.max(this.anchor, t) });
    } else this.anchor = undefined;
    this.cursor = { name, t, u };
    this.hover = { name, t, u, v: m.data[t * H + u] };
    this.emit("step-hover", { step: t });
  }

  private onDown(e: MouseEvent, name: string) {
    const h = this.at(e, name);
    if (!h) return;
    if (e.shiftKey) {
      this.dragFrom = h.t;
      this.emit("brush", { from: h.t, to: h.t });
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
    return html`<div class="scroll">
        ${this.maps.map(
          (m) => html`<div class="row">
            <span class="name">${m.name}</span>
            <canvas
              class="map"
              data-gate=${m.name}
              tabindex="0"
              role="img"
              aria-label=${`${m.name}: ${this.units} units by ${this.steps} steps. Arrow keys move between steps and units, Enter charts the unit, shift and arrows brush steps.`}
              @keydown=${(e: KeyboardEvent) => this.onKey(e, m.name)}
              @mousemove=${(e: MouseEvent) => this.onMove(e, m.name)}
              @mouseleave=${() => (this.hover = undefined)}
              @mousedown=${(e: MouseEvent) => this.onDown(e, m.name)}
            ></canvas>
          </div>`,
        )}
        <div class="row"><span class="name">input</span><canvas class="strip" aria-hidden="true"></canvas></div>
      </div>
      <div class="tip" aria-live="polite">${h ? html`step ${h.t} ${label(h.t)} · ${h.name} unit ${h.u} = <b>${h.v.toFixed(4)}</b>` : html`&nbsp;`}</div>`;
  }
}
customElements.define("seqlens-gate-maps", GateMaps);
