// <seqlens-scatter>: a scatter of projected embeddings that stays interactive at 50,000 points.
// Points are drawn by WebGL (one draw call; pan and zoom are uniforms), with a 2-D canvas fallback
// where WebGL is missing; labels, highlights, the sequence's path and the hover ring go on a 2-D
// overlay. The view fits the data: each axis to robust bounds (a few outliers do not shrink the rest;
// they are counted below the plot and marked at its edge), again on every resize and new projection.
// Labels are placed greedily in priority order (focus, highlighted, matches, the rest in a fixed
// order) and skipped where they would overlap one already placed, so they never pile up. A sequence
// (the selection's positions, a recurrent model's steps) is a path coloured from first to last with
// its legend, arrowheads pointing onward. Drag pans (3-D: drag turns, shift-drag pans), the wheel
// zooms about the pointer, hover names a point, click picks it; the arrow keys pan, + and - zoom,
// 0 (or Fit) fits the view again.
import { visibleWhitespace } from "../../protocol/text";
import { css, html, LitElement, nothing } from "lit";
import type { ColorScale } from "../shared/colorScale";
import { cssVar, parseColor, themeRamp, ThemeRepaint } from "../shared/theme";
import "../components/colorLegend";

export interface ScatterData {
  /** [n, dims] row-major. */
  coords: Float32Array;
  dims: 2 | 3;
  labels: string[];
}

const VERTEX = `attribute vec2 p; attribute float k; uniform vec2 scale; uniform vec2 offset; uniform float size; varying float vk;
void main() { gl_Position = vec4(p * scale + offset, 0.0, 1.0); gl_PointSize = size * (k > 0.5 ? 2.0 : 1.0); vk = k; }`;
const FRAGMENT = `precision mediump float; uniform vec4 base; uniform vec4 hi; uniform vec4 match; varying float vk;
void main() { vec2 c = gl_PointCoord - 0.5; if (dot(c, c) > 0.25) discard; gl_FragColor = vk > 1.5 ? hi : (vk > 0.5 ? match : base); }`;

interface Gl {
  gl: WebGLRenderingContext;
  program: WebGLProgram;
  /** Attribute and uniform locations, looked up once (each lookup is a round trip to the GPU process). */
  at: { p: number; k: number };
  un: Record<"scale" | "offset" | "size" | "base" | "hi" | "match", WebGLUniformLocation | null>;
  pos: WebGLBuffer;
  kind: WebGLBuffer;
  n: number;
}

/** A label the scatter drew: its box in CSS px from the canvas's top-left corner, and its text. */
export interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
  text: string;
}

/**
 * The range of one axis a plot fits to: robust to a few outliers, the whole data when there are none.
 * Points beyond Tukey's far-out fences (3 IQR outside the quartiles) are left out, but never more than
 * 1% of the points (at least 3 when there are 60 or more) at either end; the range ends at the
 * outermost point kept.
 */
export function robustBounds(values: ArrayLike<number>): { lo: number; hi: number } {
  const a = Float64Array.from(values).filter(Number.isFinite).sort();
  const n = a.length;
  if (n === 0) return { lo: -1, hi: 1 };
  const q = (f: number) => a[Math.round(f * (n - 1))];
  const iqr = q(0.75) - q(0.25);
  const cap = Math.max(Math.floor(0.01 * n), Math.min(3, Math.floor(n / 20)));
  const fenceLo = q(0.25) - 3 * iqr;
  const fenceHi = q(0.75) + 3 * iqr;
  let i = 0;
  while (i < cap && a[i] < fenceLo) i++;
  let j = n - 1;
  while (j > n - 1 - cap && a[j] > fenceHi) j--;
  let lo = a[i];
  let hi = a[j];
  if (!(hi > lo)) [lo, hi] = [a[0], a[n - 1]];
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  return { lo, hi };
}

/** Where the path's colour starts on the theme's ramp (0 is the background itself). */
const PATH_T0 = 0.2;

export class SeqlensScatter extends LitElement {
  static override properties = {
    data: { attribute: false },
    highlight: { attribute: false },
    found: { attribute: false },
    focusIndex: { type: Number },
    path: { type: Boolean },
    pathUnits: { type: String },
  };
  data?: ScatterData;
  /** Indices drawn large in the highlight colour with their labels first (the selection's tokens). */
  highlight: number[] = [];
  /** Indices of a search's matches. */
  found: number[] = [];
  /** The picked point (ringed, labelled). */
  focusIndex = -1;
  /** Draw a path through the points in order (the sequence of a text), coloured from first to last. */
  path = false;
  /** What a point of the path is, for the path's legend ("position", "character step"). */
  pathUnits = "position";

  /** Drawing mode in use: "webgl" or "2d". */
  mode: "webgl" | "2d" = "2d";
  /** Use WebGL even when it is a software renderer (the benchmark compares both). */
  allowSoftwareGl = false;
  private glTried = false;
  private pixels?: ImageData;
  /** The labels placed in the last frame, in CSS px from the canvas's corner (tests check they never overlap); the overlay canvas carries the same list. */
  labelBoxes: LabelBox[] = [];
  /** Points of the data outside the canvas in the last frame. */
  outside = 0;
  /** Frames drawn so far and the time they took (for the benchmark). */
  readonly frames = { count: 0, ms: 0 };

  // world (after 3-D rotation) coordinates: the fitted bounds are [-1, 1] on each axis
  private wx = new Float32Array(0);
  private wy = new Float32Array(0);
  /** "robust": the bulk of the points fills the plot (outliers marked at its edge); "all": every point. */
  private fitMode: "robust" | "all" = "robust";
  /** Per data axis: centre and half-width of the fitted bounds; for 3-D also the radius of the cloud (rotation keeps it). */
  private fit?: { c: number[]; h: number[]; r: number };
  private zoom = 1;
  private panX = 0;
  private panY = 0;
  private yaw = 0.6;
  private pitch = 0.4;
  private hover = -1;
  private glState?: Gl;
  private dirty = false;
  private worldDirty = true;
  private fitDirty = true;
  private kindDirty = true;
  private colorsDirty = true;
  private colorCache?: ReturnType<SeqlensScatter["readColors"]>;
  private drag?: { x: number; y: number; moved: boolean; rotate: boolean };
  private labelWidth = new Map<string, number>();
  private order?: Uint32Array;

  static override styles = css`
    :host { display: flex; flex-direction: column; position: relative; min-height: 200px; outline: none; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: 12px; }
    :host(:focus-visible) { outline: 1px solid var(--vscode-focusBorder); }
    .plot { position: relative; flex: 1 1 auto; min-height: 120px; overflow: hidden; touch-action: none; }
    canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
    .tip { position: absolute; pointer-events: none; background: var(--vscode-editorHoverWidget-background, var(--vscode-editor-background)); color: var(--vscode-editorHoverWidget-foreground, var(--vscode-foreground)); border: 1px solid var(--vscode-editorHoverWidget-border, var(--vscode-foreground)); padding: 2px 6px; white-space: pre; max-width: calc(100% - 16px); overflow: hidden; text-overflow: ellipsis; box-sizing: border-box; font-family: var(--vscode-editor-font-family); font-size: 12px; z-index: 2; }
    .plot-bar { flex: 0 0 auto; display: flex; flex-wrap: wrap; align-items: center; gap: 4px 12px; padding: 4px 6px; border-top: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
    .key { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
    .sw { display: inline-block; width: 9px; height: 9px; border-radius: 50%; }
    .sw.hi { background: var(--vscode-charts-orange, #d18616); }
    .sw.match { background: var(--vscode-charts-blue, #3794ff); }
    .ring { display: inline-block; width: 8px; height: 8px; border-radius: 50%; border: 2px solid var(--vscode-focusBorder); }
    .glyph { display: inline-block; width: 10px; height: 10px; box-sizing: border-box; }
    .start { border-radius: 50%; border: 2px solid var(--vscode-foreground); }
    .end { border: 2px solid var(--vscode-foreground); background: var(--vscode-charts-orange, #d18616); }
    .outside { white-space: nowrap; }
    .spacer { flex: 1 1 0; }
    .buttons { display: inline-flex; gap: 4px; }
    button { font: inherit; color: var(--vscode-foreground); background: transparent; border: 1px solid var(--vscode-button-border, var(--vscode-panel-border, var(--vscode-foreground))); border-radius: 2px; padding: 1px 8px; cursor: pointer; white-space: nowrap; }
    button:hover { background: var(--vscode-toolbar-hoverBackground, transparent); }
    button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
  `;

  constructor() {
    super();
    new ThemeRepaint(this, () => {
      this.colorCache = undefined;
      this.colorsDirty = true;
      this.labelWidth.clear();
      this.requestUpdate();
      this.invalidate();
    });
  }

  override render() {
    return html`<div class="plot">
        <canvas class="gl" aria-hidden="true" data-chart="scatter"></canvas>
        <canvas class="overlay" role="img" aria-label=${this.ariaText()} data-chart=${this.path ? nothing : "scatter"} data-colormap=${this.path ? "position" : nothing}></canvas>
        <div class="tip" hidden></div>
      </div>
      <div class="plot-bar">
        ${this.path && this.data
          ? html`<seqlens-color-legend for="position" .scale=${this.positionScale()} length="150"></seqlens-color-legend>
              <span class="key"><span class="glyph start"></span>first</span>
              <span class="key"><span class="glyph end"></span>last</span>`
          : html`${this.highlight.length ? html`<span class="key"><span class="sw hi"></span>tokens of the selection</span>` : nothing}
              ${this.found.length ? html`<span class="key"><span class="sw match"></span>search matches</span>` : nothing}
              ${this.focusIndex >= 0 ? html`<span class="key"><span class="ring"></span>picked</span>` : nothing}`}
        <span class="outside" role="status"></span>
        <span class="spacer"></span>
        <span class="buttons">
          <button class="fit" title="Fit the view to the bulk of the points, outliers marked at the edge (key 0)" @click=${() => this.fitView("robust")}>Fit</button>
          <button class="fit-all" title="Fit the view to every point, outliers included" @click=${() => this.fitView("all")}>Fit all</button>
        </span>
      </div>`;
  }

  private ariaText(): string {
    const n = this.data?.labels.length ?? 0;
    return `Scatter of ${n} points${this.highlight.length ? `, ${this.highlight.length} highlighted` : ""}${this.focusIndex >= 0 && this.data ? `; picked ${JSON.stringify(this.data.labels[this.focusIndex])}` : ""}`;
  }

  /** The path's colours: position -> t on the theme's ramp, and the legend's ticks (first, middle, last). */
  positionScale(): ColorScale {
    const last = Math.max(1, (this.data?.labels.length ?? 1) - 1);
    const t = (v: number) => PATH_T0 + ((1 - PATH_T0) * Math.max(0, Math.min(last, v))) / last;
    const marks = [...new Set([0, Math.round(last / 2), last])];
    return { kind: "linear", units: this.pathUnits, t, ticks: marks.map((v) => ({ t: t(v), label: String(v) })) };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.tabIndex = 0;
    this.addEventListener("keydown", (e) => this.onKey(e));
  }

  override firstUpdated(): void {
    const plot = this.renderRoot.querySelector<HTMLDivElement>(".plot")!;
    // the plot re-fits to its new size on the next frame
    new ResizeObserver(() => this.invalidate()).observe(plot);
    plot.addEventListener("pointerdown", (e) => this.onDown(e));
    plot.addEventListener("pointermove", (e) => this.onMove(e));
    plot.addEventListener("pointerup", (e) => this.onUp(e));
    plot.addEventListener("pointerleave", () => this.setHover(-1));
    plot.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
  }

  override updated(changed: Map<string, unknown>): void {
    if (changed.has("data")) {
      this.worldDirty = true;
      this.fitDirty = true;
      this.fitMode = "robust";
      this.resetView();
    }
    if (changed.has("data") || changed.has("highlight") || changed.has("found") || changed.has("focusIndex")) this.kindDirty = true;
    this.invalidate();
  }

  resetView(): void {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.invalidate();
  }

  /** Fits the view to the data again: to the bulk of the points (robust) or to every one. */
  fitView(mode: "robust" | "all" = "robust"): void {
    if (mode !== this.fitMode) {
      this.fitMode = mode;
      this.fitDirty = true;
      this.worldDirty = true;
    }
    this.resetView();
  }

  /** Pans by screen pixels (also used by the benchmark). */
  panBy(dx: number, dy: number): void {
    const { w, h } = this.size();
    const { kx, ky } = this.pixelScale(w, h);
    this.panX += dx / kx;
    this.panY -= dy / ky;
    this.invalidate();
  }

  /** Centres the view on point `i` (after a search or a click in a list). */
  centreOn(i: number): void {
    if (!this.data || i < 0 || i >= this.wx.length) return;
    this.panX = -this.wx[i];
    this.panY = -this.wy[i];
    this.zoom = Math.max(this.zoom, 4);
    this.invalidate();
  }

  /** Where point `i` is drawn now, in CSS px from the plot canvas's top-left corner. */
  pointAt(i: number): { x: number; y: number } {
    const { w, h } = this.size();
    const { kx, ky } = this.pixelScale(w, h);
    return { x: w / 2 + (this.wx[i] + this.panX) * kx, y: h / 2 - (this.wy[i] + this.panY) * ky };
  }

  invalidate(): void {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.draw();
    });
  }

  private plotRect(): DOMRect {
    return (this.renderRoot.querySelector(".plot") ?? this).getBoundingClientRect();
  }

  private size() {
    const r = this.plotRect();
    return { w: Math.max(1, r.width), h: Math.max(1, r.height) };
  }

  /** The margin between the fitted bounds and the canvas's edge, px. */
  private margin(w: number, h: number): number {
    return Math.max(10, Math.min(16, 0.04 * Math.min(w, h)));
  }

  /** Pixels per world unit on each axis: the fitted bounds fill the canvas less its margin (at zoom 1). */
  private pixelScale(w: number, h: number): { kx: number; ky: number } {
    const m = this.margin(w, h);
    return { kx: Math.max(1, w / 2 - m) * this.zoom, ky: Math.max(1, h / 2 - m) * this.zoom };
  }

  /** The bounds the view fits: per axis in 2-D; in 3-D each axis scaled to its bounds, then the radius of the cloud (turning keeps it). */
  private computeFit(): { c: number[]; h: number[]; r: number } {
    const d = this.data!;
    const n = d.labels.length;
    const dims = d.dims;
    const c: number[] = [];
    const h: number[] = [];
    const axis = new Float32Array(n);
    for (let k = 0; k < dims; k++) {
      for (let i = 0; i < n; i++) axis[i] = d.coords[i * dims + k];
      let lo: number, hi: number;
      if (this.fitMode === "robust") ({ lo, hi } = robustBounds(axis));
      else {
        lo = Infinity;
        hi = -Infinity;
        for (let i = 0; i < n; i++) if (Number.isFinite(axis[i])) [lo, hi] = [Math.min(lo, axis[i]), Math.max(hi, axis[i])];
        if (!(hi > lo)) [lo, hi] = Number.isFinite(lo) ? [lo - 1, hi + 1] : [-1, 1];
      }
      c.push((lo + hi) / 2);
      h.push((hi - lo) / 2);
    }
    let r = 1;
    if (dims === 3) {
      const norms = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += ((d.coords[i * 3 + k] - c[k]) / h[k]) ** 2;
        norms[i] = Math.sqrt(s);
      }
      r = this.fitMode === "robust" ? robustBounds(norms).hi : norms.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, v) : m), 0);
      if (!(r > 0)) r = 1;
    }
    return { c, h, r };
  }

  private computeWorld(): void {
    const d = this.data;
    if (!d) return;
    const n = d.labels.length;
    if (this.fitDirty || !this.fit) {
      this.fit = this.computeFit();
      this.fitDirty = false;
    }
    const { c, h, r } = this.fit;
    const wx = new Float32Array(n);
    const wy = new Float32Array(n);
    const dims = d.dims;
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw), cp = Math.cos(this.pitch), sp = Math.sin(this.pitch);
    for (let i = 0; i < n; i++) {
      const x = (d.coords[i * dims] - c[0]) / h[0];
      const y = (d.coords[i * dims + 1] - c[1]) / h[1];
      if (dims === 3) {
        const z = (d.coords[i * dims + 2] - c[2]) / h[2];
        const x1 = cy * x + sy * z;
        const z1 = -sy * x + cy * z;
        wx[i] = x1 / r;
        wy[i] = (cp * y - sp * z1) / r;
      } else {
        wx[i] = x;
        wy[i] = y;
      }
    }
    this.wx = wx;
    this.wy = wy;
    if (!this.order || this.order.length !== n) {
      // a fixed, spread-out order for labels: a multiplicative hash permutation of the indices
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      let s = 12345;
      for (let i = n - 1; i > 0; i--) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const j = s % (i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      this.order = order;
    }
    this.worldDirty = false;
    if (this.glState) this.uploadPositions(this.glState);
  }

  private initGl(canvas: HTMLCanvasElement, allowSoftware: boolean): Gl | undefined {
    // Probe on a spare canvas first: a canvas that once gave a WebGL context cannot give a 2-D one.
    const probe = document.createElement("canvas").getContext("webgl");
    if (!probe) return undefined;
    const info = probe.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(probe.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    probe.getExtension("WEBGL_lose_context")?.loseContext();
    if (!allowSoftware && /swiftshader|llvmpipe|software/i.test(renderer)) return undefined;
    const gl = canvas.getContext("webgl", { antialias: false, preserveDrawingBuffer: true, premultipliedAlpha: false });
    if (!gl) return undefined;
    const compile = (type: number, src: string) => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      return gl.getShaderParameter(s, gl.COMPILE_STATUS) ? s : undefined;
    };
    const vs = compile(gl.VERTEX_SHADER, VERTEX);
    const fs = compile(gl.FRAGMENT_SHADER, FRAGMENT);
    if (!vs || !fs) return undefined;
    const program = gl.createProgram()!;
    gl.attachShader(program, vs);
    gl.attachShader(program, fs);
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) return undefined;
    const un = Object.fromEntries((["scale", "offset", "size", "base", "hi", "match"] as const).map((u) => [u, gl.getUniformLocation(program, u)])) as Gl["un"];
    gl.useProgram(program);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.clearColor(0, 0, 0, 0);
    return { gl, program, at: { p: gl.getAttribLocation(program, "p"), k: gl.getAttribLocation(program, "k") }, un, pos: gl.createBuffer()!, kind: gl.createBuffer()!, n: 0 };
  }

  private uploadPositions(g: Gl): void {
    const n = this.wx.length;
    const xy = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      xy[2 * i] = this.wx[i];
      xy[2 * i + 1] = this.wy[i];
    }
    g.gl.bindBuffer(g.gl.ARRAY_BUFFER, g.pos);
    g.gl.bufferData(g.gl.ARRAY_BUFFER, xy, g.gl.STATIC_DRAW);
    g.gl.vertexAttribPointer(g.at.p, 2, g.gl.FLOAT, false, 0, 0);
    g.gl.enableVertexAttribArray(g.at.p);
    g.n = n;
    this.kindDirty = true;
  }

  /** 0: plain, 1: search match, 2: highlighted or picked. */
  private kinds(): Float32Array {
    const k = new Float32Array(this.wx.length);
    for (const i of this.found) if (i < k.length) k[i] = 1;
    for (const i of this.highlight) if (i < k.length) k[i] = 2;
    if (this.focusIndex >= 0 && this.focusIndex < k.length) k[this.focusIndex] = 2;
    return k;
  }

  /** The theme's colours, read once per theme (a repaint after a theme switch reads them again). */
  private colors() {
    return (this.colorCache ??= this.readColors());
  }

  private readColors() {
    const rgba = (c: string, a: number) => [...parseColor(c).map((v) => v / 255), a] as [number, number, number, number];
    return {
      base: rgba(cssVar("--vscode-foreground", "#cccccc"), 0.55),
      hi: rgba(cssVar("--vscode-charts-orange", "#d18616"), 1),
      match: rgba(cssVar("--vscode-charts-blue", "#3794ff"), 1),
      hiCss: cssVar("--vscode-charts-orange", "#d18616"),
      matchCss: cssVar("--vscode-charts-blue", "#3794ff"),
      ramp: themeRamp(),
      focus: cssVar("--vscode-focusBorder", "#007fd4"),
      fg: cssVar("--vscode-foreground", "#cccccc"),
      bg: cssVar("--vscode-editor-background", "#1e1e1e"),
      font: `11px ${cssVar("--vscode-editor-font-family", "monospace")}`,
    };
  }

  private draw(): void {
    const t0 = performance.now();
    const glCanvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.gl");
    const overlay = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.overlay");
    if (!glCanvas || !overlay) return;
    const { w, h } = this.size();
    const dpr = window.devicePixelRatio || 1;
    for (const c of [glCanvas, overlay]) {
      if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
        c.width = Math.round(w * dpr);
        c.height = Math.round(h * dpr);
      }
    }
    if (!this.glTried && this.data) {
      this.glTried = true;
      this.glState = this.initGl(glCanvas, this.allowSoftwareGl);
      this.mode = this.glState ? "webgl" : "2d";
      if (this.glState) this.worldDirty = true;
    }
    if (this.worldDirty) this.computeWorld();
    const ctx = overlay.getContext("2d")!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!this.data) {
      this.setLabelBoxes(overlay, []);
      this.showOutside(0);
      return;
    }
    const { kx, ky } = this.pixelScale(w, h);
    const sx = (i: number) => w / 2 + (this.wx[i] + this.panX) * kx;
    const sy = (i: number) => h / 2 - (this.wy[i] + this.panY) * ky;
    const colors = this.colors();
    const pointSize = Math.max(2, Math.min(6, 3 * Math.sqrt(this.zoom)));
    if (this.glState) {
      const g = this.glState;
      const gl = g.gl;
      gl.viewport(0, 0, glCanvas.width, glCanvas.height);
      gl.clear(gl.COLOR_BUFFER_BIT);
      if (this.kindDirty) {
        gl.bindBuffer(gl.ARRAY_BUFFER, g.kind);
        gl.bufferData(gl.ARRAY_BUFFER, this.kinds(), gl.STATIC_DRAW);
        gl.vertexAttribPointer(g.at.k, 1, gl.FLOAT, false, 0, 0);
        gl.enableVertexAttribArray(g.at.k);
        this.kindDirty = false;
      }
      // clip = (world + pan) * k / (size / 2)
      gl.uniform2f(g.un.scale, (2 * kx) / w, (2 * ky) / h);
      gl.uniform2f(g.un.offset, (2 * kx * this.panX) / w, (2 * ky * this.panY) / h);
      gl.uniform1f(g.un.size, pointSize * dpr);
      if (this.colorsDirty) {
        gl.uniform4fv(g.un.base, colors.base);
        gl.uniform4fv(g.un.hi, colors.hi);
        gl.uniform4fv(g.un.match, colors.match);
        this.colorsDirty = false;
      }
      gl.drawArrays(gl.POINTS, 0, g.n);
    } else this.rasterPoints(glCanvas, dpr, kx, ky, pointSize, colors.base);
    const css3 = (c: number[]) => `rgb(${c.slice(0, 3).map((v) => Math.round(v * 255)).join(",")})`;
    if (this.path && this.wx.length > 1) this.drawPath(ctx, sx, sy);
    if (!this.glState) {
      for (const [list, c] of [[this.found, colors.match], [this.highlight, colors.hi]] as const) {
        ctx.fillStyle = css3(c);
        for (const i of list) ctx.fillRect(sx(i) - pointSize, sy(i) - pointSize, 2 * pointSize, 2 * pointSize);
      }
    }
    this.drawOutside(ctx, w, h, sx, sy, colors.fg);
    for (const [i, c] of [[this.focusIndex, colors.focus], [this.hover, colors.fg]] as const) {
      if (i < 0 || i >= this.wx.length) continue;
      ctx.strokeStyle = c;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx(i), sy(i), pointSize + 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
    this.drawLabels(ctx, overlay, w, h, sx, sy);
    document.body.dataset.scatterPaintedAt = String(Date.now());
    this.frames.count++;
    this.frames.ms += performance.now() - t0;
  }

  /**
   * The sequence's path: each segment coloured by its position on the theme's ramp (first faint,
   * last strong, as the legend says) over a contrasting casing, an arrowhead on each long enough
   * segment pointing onward, the points in their colours, a ring on the first and a square on the last.
   */
  private drawPath(ctx: CanvasRenderingContext2D, sx: (i: number) => number, sy: (i: number) => number): void {
    const n = this.wx.length;
    const { ramp, fg, bg } = this.colors();
    const t = this.positionScale().t;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    // the casing: the path's outline in the foreground, so its faint start still shows
    ctx.strokeStyle = fg;
    ctx.globalAlpha = 0.35;
    ctx.lineWidth = 4.5;
    ctx.beginPath();
    for (let i = 0; i < n; i++) (i === 0 ? ctx.moveTo : ctx.lineTo).call(ctx, sx(i), sy(i));
    ctx.stroke();
    ctx.globalAlpha = 1;
    // segments in buckets of one colour each (one stroke per bucket)
    const buckets = Math.min(64, n - 1);
    ctx.lineWidth = 2.5;
    for (let b = 0; b < buckets; b++) {
      const from = Math.floor(((n - 1) * b) / buckets);
      const to = Math.floor(((n - 1) * (b + 1)) / buckets);
      ctx.strokeStyle = ramp.css(t((from + to) / 2));
      ctx.beginPath();
      ctx.moveTo(sx(from), sy(from));
      for (let i = from + 1; i <= to; i++) ctx.lineTo(sx(i), sy(i));
      ctx.stroke();
    }
    // arrowheads at the middle of segments long enough to hold one
    const every = Math.max(1, Math.ceil(n / 200));
    for (let i = 0; i < n - 1; i += every) {
      const x0 = sx(i), y0 = sy(i), x1 = sx(i + 1), y1 = sy(i + 1);
      const len = Math.hypot(x1 - x0, y1 - y0);
      if (len < 16) continue;
      const ux = (x1 - x0) / len, uy = (y1 - y0) / len;
      const mx = (x0 + x1) / 2 + ux * 3, my = (y0 + y1) / 2 + uy * 3;
      ctx.beginPath();
      ctx.moveTo(mx, my);
      ctx.lineTo(mx - ux * 8 - uy * 4.5, my - uy * 8 + ux * 4.5);
      ctx.lineTo(mx - ux * 8 + uy * 4.5, my - uy * 8 - ux * 4.5);
      ctx.closePath();
      ctx.fillStyle = ramp.css(t(i + 0.5));
      ctx.fill();
      ctx.strokeStyle = fg;
      ctx.globalAlpha = 0.6;
      ctx.lineWidth = 1;
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    for (let i = 0; i < n; i++) {
      ctx.beginPath();
      ctx.arc(sx(i), sy(i), 2.5, 0, 2 * Math.PI);
      ctx.fillStyle = ramp.css(t(i));
      ctx.fill();
    }
    // first: a ring; last: a square
    ctx.lineWidth = 2;
    ctx.strokeStyle = fg;
    ctx.beginPath();
    ctx.arc(sx(0), sy(0), 6, 0, 2 * Math.PI);
    ctx.fillStyle = bg;
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = ramp.css(1);
    ctx.fillRect(sx(n - 1) - 5, sy(n - 1) - 5, 10, 10);
    ctx.strokeRect(sx(n - 1) - 5, sy(n - 1) - 5, 10, 10);
  }

  /** Points outside the canvas: counted below the plot, and (when only a few) marked by a chevron at the edge pointing their way. */
  private drawOutside(ctx: CanvasRenderingContext2D, w: number, h: number, sx: (i: number) => number, sy: (i: number) => number, fg: string): void {
    const out: number[] = [];
    let count = 0;
    for (let i = 0; i < this.wx.length; i++) {
      const x = sx(i), y = sy(i);
      if (x < 0 || x > w || y < 0 || y > h) {
        count++;
        if (out.length <= 50) out.push(i);
      }
    }
    this.showOutside(count);
    if (count > 50) return;
    ctx.fillStyle = fg;
    for (const i of out) {
      const x = sx(i), y = sy(i);
      const dx = x - w / 2, dy = y - h / 2;
      const len = Math.hypot(dx, dy) || 1;
      const ux = dx / len, uy = dy / len;
      // where the ray from the centre towards the point leaves the canvas, 6 px in
      const k = Math.min(Math.abs((w / 2 - 6) / (dx || 1e-9)), Math.abs((h / 2 - 6) / (dy || 1e-9)));
      const ex = w / 2 + dx * k, ey = h / 2 + dy * k;
      ctx.beginPath();
      ctx.moveTo(ex + ux * 6, ey + uy * 6);
      ctx.lineTo(ex - ux * 5 - uy * 5, ey - uy * 5 + ux * 5);
      ctx.lineTo(ex - ux * 5 + uy * 5, ey - uy * 5 - ux * 5);
      ctx.closePath();
      ctx.fill();
    }
  }

  private showOutside(count: number): void {
    this.outside = count;
    const el = this.renderRoot.querySelector<HTMLSpanElement>(".outside");
    if (!el) return;
    const n = this.data?.labels.length ?? 0;
    const text = count === 0 ? "" : count === n ? "every point is outside the view" : `${count.toLocaleString("en-US")} point${count === 1 ? "" : "s"} outside the view`;
    if (el.textContent !== text) el.textContent = text;
  }

  /**
   * The points written straight into the canvas's pixels (one putImageData): where WebGL is software
   * (SwiftShader) or missing this is several times faster than either 50,000 fillRects or GL points.
   */
  private rasterPoints(canvas: HTMLCanvasElement, dpr: number, kx: number, ky: number, pointSize: number, base: number[]): void {
    const ctx = canvas.getContext("2d")!;
    const W = canvas.width;
    const H = canvas.height;
    if (!this.pixels || this.pixels.width !== W || this.pixels.height !== H) this.pixels = ctx.createImageData(W, H);
    const px = new Uint32Array(this.pixels.data.buffer);
    px.fill(0);
    const [r, g, b] = base.map((v) => Math.round(v * 255));
    const colour = (Math.round(base[3] * 255) << 24) | (b << 16) | (g << 8) | r; // little-endian RGBA
    const size = Math.max(1, Math.round(pointSize * dpr));
    const half = size >> 1;
    const scaleX = kx * dpr;
    const scaleY = ky * dpr;
    const cx = W / 2 + this.panX * scaleX;
    const cy = H / 2 - this.panY * scaleY;
    const wx = this.wx;
    const wy = this.wy;
    for (let i = 0; i < wx.length; i++) {
      const x0 = Math.round(cx + wx[i] * scaleX) - half;
      const y0 = Math.round(cy - wy[i] * scaleY) - half;
      if (x0 < 0 || y0 < 0 || x0 + size > W || y0 + size > H) continue;
      for (let yy = 0; yy < size; yy++) {
        const row = (y0 + yy) * W + x0;
        for (let xx = 0; xx < size; xx++) px[row + xx] = colour;
      }
    }
    ctx.putImageData(this.pixels, 0, 0);
  }

  private setLabelBoxes(overlay: HTMLCanvasElement, boxes: LabelBox[]): void {
    this.labelBoxes = boxes;
    (overlay as HTMLCanvasElement & { labelBoxes?: LabelBox[] }).labelBoxes = boxes;
  }

  /**
   * Greedy label placement in priority order (the picked point, the hovered one, the selection's
   * tokens, a path's first and last, search matches, the rest in a fixed spread-out order): a label
   * goes right of its point, or left of it at the canvas's right edge, and is skipped where it would
   * overlap one already placed. Text is the theme's foreground on its background (a halo, or a box
   * edged in the highlight colour for the strong ones), so it reads over the points in any theme.
   */
  private drawLabels(ctx: CanvasRenderingContext2D, overlay: HTMLCanvasElement, w: number, h: number, sx: (i: number) => number, sy: (i: number) => number): void {
    const d = this.data!;
    const colors = this.colors();
    ctx.font = colors.font;
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    const cell = 24;
    const cols = Math.ceil(w / cell) + 2;
    const grid = new Map<number, LabelBox[]>();
    const { fg, bg } = colors;
    const boxes: LabelBox[] = [];
    const done = new Set<number>();
    const budget = performance.now() + 6;
    const measured = this.labelWidth.size;
    const H = 14;
    const tryPlace = (i: number, edge?: string): void => {
      if (i < 0 || i >= this.wx.length || done.has(i)) return;
      const px = sx(i);
      const y = sy(i);
      if (px < 0 || px > w || y < H / 2 || y > h - H / 2) return;
      const text = visibleLabel(d.labels[i]);
      let tw = this.labelWidth.get(text);
      if (tw === undefined) this.labelWidth.set(text, (tw = ctx.measureText(text).width));
      const bw = tw + 4;
      let x = px + 6;
      if (x + bw > w) x = px - 6 - bw;
      if (x < 0) return;
      const box: LabelBox = { x, y: y - H / 2, w: bw, h: H, text };
      const keys: number[] = [];
      for (let gy = Math.floor(box.y / cell); gy <= Math.floor((box.y + box.h) / cell); gy++) {
        for (let gx = Math.floor(box.x / cell); gx <= Math.floor((box.x + box.w) / cell); gx++) {
          const key = (gy + 1) * cols + gx + 1;
          keys.push(key);
          for (const b of grid.get(key) ?? []) if (b.x < box.x + box.w && box.x < b.x + b.w && b.y < box.y + box.h && box.y < b.y + b.h) return;
        }
      }
      for (const key of keys) {
        const list = grid.get(key);
        if (list) list.push(box);
        else grid.set(key, [box]);
      }
      boxes.push(box);
      done.add(i);
      if (edge) {
        ctx.fillStyle = bg;
        ctx.fillRect(box.x, box.y, box.w, box.h);
        ctx.strokeStyle = edge;
        ctx.lineWidth = 1.5;
        ctx.strokeRect(box.x + 0.75, box.y + 0.75, box.w - 1.5, box.h - 1.5);
      } else {
        ctx.strokeStyle = bg;
        ctx.lineWidth = 3;
        ctx.strokeText(text, x + 2, y);
      }
      ctx.fillStyle = fg;
      ctx.fillText(text, x + 2, y);
    };
    const n = this.wx.length;
    tryPlace(this.focusIndex, colors.focus);
    tryPlace(this.hover, fg);
    for (const i of this.highlight) tryPlace(i, colors.hiCss);
    if (this.path && n > 0) {
      tryPlace(0, fg);
      tryPlace(n - 1, fg);
    }
    for (const i of this.found) if (performance.now() < budget) tryPlace(i, colors.matchCss);
    const order = this.order!;
    const maxLabels = 400;
    let k = 0;
    for (; k < order.length && boxes.length < maxLabels && performance.now() < budget; k++) tryPlace(order[k]);
    this.setLabelBoxes(overlay, boxes);
    // out of time while still measuring new labels (a first frame): the next frame, with their widths known, places more
    if (k < order.length && boxes.length < maxLabels && this.labelWidth.size > measured) this.invalidate();
  }

  private nearest(clientX: number, clientY: number): number {
    if (!this.data) return -1;
    const r = this.plotRect();
    const px = clientX - r.left;
    const py = clientY - r.top;
    const { kx, ky } = this.pixelScale(r.width, r.height);
    let best = -1;
    let bestD = 64; // within 8 px
    for (let i = 0; i < this.wx.length; i++) {
      const dx = r.width / 2 + (this.wx[i] + this.panX) * kx - px;
      const dy = r.height / 2 - (this.wy[i] + this.panY) * ky - py;
      const dd = dx * dx + dy * dy;
      if (dd < bestD) [best, bestD] = [i, dd];
    }
    return best;
  }

  private setHover(i: number, clientX = 0, clientY = 0): void {
    const tip = this.renderRoot.querySelector<HTMLDivElement>(".tip");
    if (tip) {
      tip.hidden = i < 0;
      if (i >= 0 && this.data) {
        const r = this.plotRect();
        tip.textContent = this.tipText(i);
        // beside the pointer, kept inside the plot
        const x = clientX - r.left;
        const y = clientY - r.top;
        const tw = tip.offsetWidth;
        const th = tip.offsetHeight;
        const left = x + 12 + tw <= r.width - 2 ? x + 12 : x - 12 - tw;
        const top = y + 12 + th <= r.height - 2 ? y + 12 : y - 12 - th;
        tip.style.left = `${Math.max(2, Math.min(left, r.width - tw - 2))}px`;
        tip.style.top = `${Math.max(2, Math.min(top, r.height - th - 2))}px`;
      }
    }
    if (i === this.hover) return;
    this.hover = i;
    this.dispatchEvent(new CustomEvent("point-hover", { detail: { index: i }, bubbles: true, composed: true }));
    this.invalidate();
  }

  /** The hover text for point `i`; the panel may replace it. */
  tipText = (i: number): string => `"${visibleLabel(this.data!.labels[i])}"  #${i}`;

  private onDown(e: PointerEvent): void {
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    this.drag = { x: e.clientX, y: e.clientY, moved: false, rotate: this.data?.dims === 3 && !e.shiftKey };
  }

  private onMove(e: PointerEvent): void {
    const d = this.drag;
    if (d) {
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      if (!d.moved && Math.abs(dx) + Math.abs(dy) < 3) return;
      d.moved = true;
      d.x = e.clientX;
      d.y = e.clientY;
      if (d.rotate) {
        this.yaw += dx * 0.01;
        this.pitch = Math.max(-1.5, Math.min(1.5, this.pitch + dy * 0.01));
        this.worldDirty = true;
        this.invalidate();
      } else this.panBy(dx, dy);
      return;
    }
    this.setHover(this.nearest(e.clientX, e.clientY), e.clientX, e.clientY);
  }

  private onUp(e: PointerEvent): void {
    const d = this.drag;
    this.drag = undefined;
    if (d && !d.moved) {
      const i = this.nearest(e.clientX, e.clientY);
      if (i >= 0) this.dispatchEvent(new CustomEvent("point-pick", { detail: { index: i }, bubbles: true, composed: true }));
    }
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const r = this.plotRect();
    const s0 = this.pixelScale(r.width, r.height);
    // the world point under the pointer stays under it
    const wx = (e.clientX - r.left - r.width / 2) / s0.kx - this.panX;
    const wy = -(e.clientY - r.top - r.height / 2) / s0.ky - this.panY;
    this.zoom = Math.max(0.25, Math.min(500, this.zoom * Math.exp(-e.deltaY * 0.0015)));
    const s1 = this.pixelScale(r.width, r.height);
    this.panX = (e.clientX - r.left - r.width / 2) / s1.kx - wx;
    this.panY = -(e.clientY - r.top - r.height / 2) / s1.ky - wy;
    this.invalidate();
  }

  private onKey(e: KeyboardEvent): void {
    const step = 40;
    const keys: Record<string, () => void> = {
      ArrowLeft: () => this.panBy(step, 0),
      ArrowRight: () => this.panBy(-step, 0),
      ArrowUp: () => this.panBy(0, step),
      ArrowDown: () => this.panBy(0, -step),
      "+": () => ((this.zoom *= 1.25), this.invalidate()),
      "=": () => ((this.zoom *= 1.25), this.invalidate()),
      "-": () => ((this.zoom /= 1.25), this.invalidate()),
      "0": () => this.fitView("robust"),
    };
    const f = keys[e.key];
    if (!f || e.target !== this) return;
    e.preventDefault();
    f();
  }

  /** The scatter as one PNG (points and overlay together). */
  toDataUrl(): string {
    const glCanvas = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.gl")!;
    const overlay = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.overlay")!;
    const out = document.createElement("canvas");
    out.width = overlay.width;
    out.height = overlay.height;
    const ctx = out.getContext("2d")!;
    ctx.fillStyle = cssVar("--vscode-editor-background", "#1e1e1e");
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(glCanvas, 0, 0);
    ctx.drawImage(overlay, 0, 0);
    return out.toDataURL("image/png");
  }
}

/** Whitespace made visible in labels as every panel shows it (protocol/text.ts); an empty token reads ∅. */
export function visibleLabel(s: string): string {
  return visibleWhitespace(s) || "∅";
}

customElements.define("seqlens-scatter", SeqlensScatter);
