// <seqlens-scatter>: a scatter of projected embeddings that stays interactive at 50,000 points.
// Points are drawn by WebGL (one draw call; pan and zoom are uniforms), with a 2-D canvas fallback
// where WebGL is missing; labels, highlights, the sequence polyline and the hover ring go on a 2-D
// overlay. Labels are placed greedily in priority order (focus, highlighted, matches, the rest in a
// fixed order) and skipped where they would overlap one already placed, so they never pile up.
// Drag pans (3-D: drag turns, shift-drag pans), the wheel zooms about the pointer, hover names a
// point, click picks it; the arrow keys pan, + and - zoom, 0 resets.
import { visibleWhitespace } from "../../protocol/text";
import { css, html, LitElement } from "lit";
import { cssVar, parseColor, ThemeRepaint } from "../shared/theme";

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

export class SeqlensScatter extends LitElement {
  static override properties = { data: { attribute: false }, highlight: { attribute: false }, found: { attribute: false }, focusIndex: { type: Number }, path: { type: Boolean } };
  data?: ScatterData;
  /** Indices drawn large in the highlight colour with their labels first (the selection's tokens). */
  highlight: number[] = [];
  /** Indices of a search's matches. */
  found: number[] = [];
  /** The picked point (ringed, labelled). */
  focusIndex = -1;
  /** Draw a polyline through the points in order (the sequence of a text). */
  path = false;

  /** Drawing mode in use: "webgl" or "2d". */
  mode: "webgl" | "2d" = "2d";
  /** Use WebGL even when it is a software renderer (the benchmark compares both). */
  allowSoftwareGl = false;
  private glTried = false;
  private pixels?: ImageData;
  /** The label boxes placed in the last frame, [x0, y0, x1, y1] in CSS pixels (tests check they never overlap). */
  labelBoxes: [number, number, number, number][] = [];
  /** Frames drawn so far and the time they took (for the benchmark). */
  readonly frames = { count: 0, ms: 0 };

  // world (after 3-D rotation) coordinates, fitted to [-1, 1]
  private wx = new Float32Array(0);
  private wy = new Float32Array(0);
  private zoom = 1;
  private panX = 0;
  private panY = 0;
  private yaw = 0.6;
  private pitch = 0.4;
  private hover = -1;
  private glState?: Gl;
  private dirty = false;
  private worldDirty = true;
  private kindDirty = true;
  private colorsDirty = true;
  private colorCache?: ReturnType<SeqlensScatter["readColors"]>;
  private drag?: { x: number; y: number; moved: boolean; rotate: boolean };
  private labelWidth = new Map<string, number>();
  private order?: Uint32Array;

  static override styles = css`
    :host { display: block; position: relative; min-height: 200px; outline: none; }
    :host(:focus-visible) { outline: 1px solid var(--vscode-focusBorder); }
    canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
    .tip { position: absolute; pointer-events: none; background: var(--vscode-editorHoverWidget-background); color: var(--vscode-editorHoverWidget-foreground); border: 1px solid var(--vscode-editorHoverWidget-border); padding: 2px 6px; white-space: pre; font-family: var(--vscode-editor-font-family); font-size: 12px; }
  `;

  constructor() {
    super();
    new ThemeRepaint(this, () => {
      this.colorCache = undefined;
      this.colorsDirty = true;
      this.invalidate();
    });
  }

  override render() {
    return html`<canvas class="gl" aria-hidden="true"></canvas><canvas class="overlay" role="img" aria-label=${this.ariaText()}></canvas><div class="tip" hidden></div>`;
  }

  private ariaText(): string {
    const n = this.data?.labels.length ?? 0;
    return `Scatter of ${n} points${this.highlight.length ? `, ${this.highlight.length} highlighted` : ""}${this.focusIndex >= 0 && this.data ? `; picked ${JSON.stringify(this.data.labels[this.focusIndex])}` : ""}`;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.tabIndex = 0;
    new ResizeObserver(() => this.invalidate()).observe(this);
    this.addEventListener("pointerdown", (e) => this.onDown(e));
    this.addEventListener("pointermove", (e) => this.onMove(e));
    this.addEventListener("pointerup", (e) => this.onUp(e));
    this.addEventListener("pointerleave", () => this.setHover(-1));
    this.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.addEventListener("keydown", (e) => this.onKey(e));
  }

  override updated(changed: Map<string, unknown>): void {
    if (changed.has("data")) {
      this.worldDirty = true;
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

  /** Pans by screen pixels (also used by the benchmark). */
  panBy(dx: number, dy: number): void {
    const { w, h } = this.size();
    const s = this.pixelScale(w, h);
    this.panX += dx / s;
    this.panY -= dy / s;
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

  invalidate(): void {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.draw();
    });
  }

  private size() {
    const r = this.getBoundingClientRect();
    return { w: Math.max(1, r.width), h: Math.max(1, r.height) };
  }

  /** Pixels per world unit at zoom 1: the [-1, 1] square fits the smaller side with a margin. */
  private pixelScale(w: number, h: number): number {
    return (Math.min(w, h) / 2) * 0.92 * this.zoom;
  }

  private computeWorld(): void {
    const d = this.data;
    if (!d) return;
    const n = d.labels.length;
    const wx = new Float32Array(n);
    const wy = new Float32Array(n);
    const dims = d.dims;
    // centre and scale each axis jointly so the cloud keeps its shape
    const mean = [0, 0, 0];
    for (let i = 0; i < n; i++) for (let k = 0; k < dims; k++) mean[k] += d.coords[i * dims + k] / n;
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw), cp = Math.cos(this.pitch), sp = Math.sin(this.pitch);
    let extent = 1e-12;
    for (let i = 0; i < n; i++) {
      const x = d.coords[i * dims] - mean[0];
      const y = d.coords[i * dims + 1] - mean[1];
      if (dims === 3) {
        const z = d.coords[i * dims + 2] - mean[2];
        const x1 = cy * x + sy * z;
        const z1 = -sy * x + cy * z;
        wx[i] = x1;
        wy[i] = cp * y - sp * z1;
      } else {
        wx[i] = x;
        wy[i] = y;
      }
    }
    // robust extent: the 99th percentile of |coordinate|, so a few outliers do not shrink the rest
    const mags = new Float32Array(n);
    for (let i = 0; i < n; i++) mags[i] = Math.max(Math.abs(wx[i]), Math.abs(wy[i]));
    mags.sort();
    extent = Math.max(extent, mags[Math.min(n - 1, Math.floor(n * 0.99))]);
    for (let i = 0; i < n; i++) {
      wx[i] /= extent;
      wy[i] /= extent;
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
      purple: cssVar("--vscode-charts-purple", "#b180d7"),
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
    if (!this.data) return;
    const s = this.pixelScale(w, h);
    const sx = (i: number) => w / 2 + (this.wx[i] + this.panX) * s;
    const sy = (i: number) => h / 2 - (this.wy[i] + this.panY) * s;
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
      // clip = (world + pan) * s / (size / 2)
      gl.uniform2f(g.un.scale, (2 * s) / w, (2 * s) / h);
      gl.uniform2f(g.un.offset, (2 * s * this.panX) / w, (2 * s * this.panY) / h);
      gl.uniform1f(g.un.size, pointSize * dpr);
      if (this.colorsDirty) {
        gl.uniform4fv(g.un.base, colors.base);
        gl.uniform4fv(g.un.hi, colors.hi);
        gl.uniform4fv(g.un.match, colors.match);
        this.colorsDirty = false;
      }
      gl.drawArrays(gl.POINTS, 0, g.n);
    } else this.rasterPoints(glCanvas, dpr, s, pointSize, colors.base);
    const css3 = (c: number[]) => `rgb(${c.slice(0, 3).map((v) => Math.round(v * 255)).join(",")})`;
    if (this.path && this.wx.length > 1) {
      ctx.strokeStyle = colors.purple;
      ctx.lineWidth = 1.25;
      ctx.beginPath();
      for (let i = 0; i < this.wx.length; i++) (i === 0 ? ctx.moveTo : ctx.lineTo).call(ctx, sx(i), sy(i));
      ctx.stroke();
    }
    if (!this.glState) {
      for (const [list, c] of [[this.found, colors.match], [this.highlight, colors.hi]] as const) {
        ctx.fillStyle = css3(c);
        for (const i of list) ctx.fillRect(sx(i) - pointSize, sy(i) - pointSize, 2 * pointSize, 2 * pointSize);
      }
    }
    for (const [i, c] of [[this.focusIndex, colors.focus], [this.hover, colors.fg]] as const) {
      if (i < 0 || i >= this.wx.length) continue;
      ctx.strokeStyle = c;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx(i), sy(i), pointSize + 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
    this.drawLabels(ctx, w, h, sx, sy, css3(colors.hi));
    document.body.dataset.scatterPaintedAt = String(Date.now());
    this.frames.count++;
    this.frames.ms += performance.now() - t0;
  }

  /**
   * The points written straight into the canvas's pixels (one putImageData): where WebGL is software
   * (SwiftShader) or missing this is several times faster than either 50,000 fillRects or GL points.
   */
  private rasterPoints(canvas: HTMLCanvasElement, dpr: number, s: number, pointSize: number, base: number[]): void {
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
    const scale = s * dpr;
    const cx = W / 2 + this.panX * scale;
    const cy = H / 2 - this.panY * scale;
    const wx = this.wx;
    const wy = this.wy;
    for (let i = 0; i < wx.length; i++) {
      const x0 = Math.round(cx + wx[i] * scale) - half;
      const y0 = Math.round(cy - wy[i] * scale) - half;
      if (x0 < 0 || y0 < 0 || x0 + size > W || y0 + size > H) continue;
      for (let yy = 0; yy < size; yy++) {
        const row = (y0 + yy) * W + x0;
        for (let xx = 0; xx < size; xx++) px[row + xx] = colour;
      }
    }
    ctx.putImageData(this.pixels, 0, 0);
  }

  /** Greedy label placement: a label goes where no placed label is (a coarse grid of placed boxes). */
  private drawLabels(ctx: CanvasRenderingContext2D, w: number, h: number, sx: (i: number) => number, sy: (i: number) => number, hiColor: string): void {
    const d = this.data!;
    const colors = this.colors();
    ctx.font = colors.font;
    ctx.textBaseline = "middle";
    const cell = 24;
    const cols = Math.ceil(w / cell) + 1;
    const grid = new Map<number, [number, number, number, number][]>();
    const { fg, bg } = colors;
    let placed = 0;
    this.labelBoxes = [];
    const budget = performance.now() + 6;
    const tryPlace = (i: number, strong: boolean): void => {
      const x = sx(i) + 5;
      const y = sy(i);
      if (x < 0 || y < 6 || x > w || y > h - 6) return;
      const text = visibleLabel(d.labels[i]);
      let tw = this.labelWidth.get(text);
      if (tw === undefined) this.labelWidth.set(text, (tw = ctx.measureText(text).width));
      const box: [number, number, number, number] = [x - 1, y - 7, x + tw + 1, y + 7];
      const keys: number[] = [];
      for (let gy = Math.floor(box[1] / cell); gy <= Math.floor(box[3] / cell); gy++) {
        for (let gx = Math.floor(box[0] / cell); gx <= Math.floor(box[2] / cell); gx++) {
          const key = gy * cols + gx;
          keys.push(key);
          for (const b of grid.get(key) ?? []) if (b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3]) return;
        }
      }
      for (const key of keys) {
        const list = grid.get(key);
        if (list) list.push(box);
        else grid.set(key, [box]);
      }
      this.labelBoxes.push(box);
      ctx.fillStyle = bg;
      ctx.globalAlpha = 0.7;
      ctx.fillRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
      ctx.globalAlpha = 1;
      ctx.fillStyle = strong ? hiColor : fg;
      ctx.fillText(text, x, y);
      placed++;
    };
    if (this.focusIndex >= 0) tryPlace(this.focusIndex, true);
    if (this.hover >= 0) tryPlace(this.hover, true);
    for (const i of this.highlight) tryPlace(i, true);
    for (const i of this.found) if (performance.now() < budget) tryPlace(i, false);
    const order = this.order!;
    const maxLabels = 400;
    for (let k = 0; k < order.length && placed < maxLabels && performance.now() < budget; k++) tryPlace(order[k], false);
  }

  private nearest(clientX: number, clientY: number): number {
    if (!this.data) return -1;
    const r = this.getBoundingClientRect();
    const px = clientX - r.left;
    const py = clientY - r.top;
    const s = this.pixelScale(r.width, r.height);
    let best = -1;
    let bestD = 64; // within 8 px
    for (let i = 0; i < this.wx.length; i++) {
      const dx = r.width / 2 + (this.wx[i] + this.panX) * s - px;
      const dy = r.height / 2 - (this.wy[i] + this.panY) * s - py;
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
        const r = this.getBoundingClientRect();
        tip.textContent = this.tipText(i);
        tip.style.left = `${Math.min(clientX - r.left + 12, r.width - 160)}px`;
        tip.style.top = `${clientY - r.top + 12}px`;
      }
    }
    if (i === this.hover) return;
    this.hover = i;
    this.dispatchEvent(new CustomEvent("point-hover", { detail: { index: i }, bubbles: true, composed: true }));
    this.invalidate();
  }

  /** The hover text for point `i`; the panel may replace it. */
  tipText = (i: number): string => `${JSON.stringify(this.data!.labels[i])}  #${i}`;

  private onDown(e: PointerEvent): void {
    this.setPointerCapture(e.pointerId);
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
    const r = this.getBoundingClientRect();
    const s0 = this.pixelScale(r.width, r.height);
    // the world point under the pointer stays under it
    const wx = (e.clientX - r.left - r.width / 2) / s0 - this.panX;
    const wy = -(e.clientY - r.top - r.height / 2) / s0 - this.panY;
    this.zoom = Math.max(0.25, Math.min(500, this.zoom * Math.exp(-e.deltaY * 0.0015)));
    const s1 = this.pixelScale(r.width, r.height);
    this.panX = (e.clientX - r.left - r.width / 2) / s1 - wx;
    this.panY = -(e.clientY - r.top - r.height / 2) / s1 - wy;
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
      "0": () => this.resetView(),
    };
    const f = keys[e.key];
    if (!f) return;
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
