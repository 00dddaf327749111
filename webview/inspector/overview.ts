// All layers x all heads as thumbnails (BertViz's model view), in the colour scale the heatmap uses,
// with its legend. Thumbnails are 96-128 px, as many across as the panel holds; when a model has more
// heads than fit, the grid scrolls sideways with the layer names kept at its left. Click one to open
// it in the heatmap. Where heads can be switched off, each thumbnail has a switch in its corner
// (a toggle button); a head that is off is crossed out, its border dashed, and says "off".
import { css, html, LitElement, PropertyValues } from "lit";
import { themeRamp, ThemeRepaint, HostWidth } from "../shared/theme";
import { weightScale, type ScaleKind } from "../shared/colorScale";
import { cssProps } from "../shared/cssProps";
import "../components/colorLegend";

/** Thumbnail size bounds (CSS px). */
const THUMB_MIN = 96;
const THUMB_MAX = 128;
/** The layer-name column and the gap between thumbnails (px). */
const LABEL_W = 36;
const GAP = 6;

export class AttentionOverview extends LitElement {
  static override properties = {
    layers: { type: Number },
    heads: { type: Number },
    slices: { attribute: false },
    active: { attribute: false },
    scaleKind: { type: String, attribute: "scale" },
    ablatable: { type: Boolean },
    off: { attribute: false },
    width: { state: true },
  };
  layers = 0;
  heads = 0;
  /** key "layer,head" -> [T, T] weights */
  slices = new Map<string, Float32Array>();
  active: [number, number] = [0, 0];
  scaleKind: ScaleKind = "log";
  /** Whether each thumbnail has a switch that turns its head off. */
  ablatable = false;
  /** The heads switched off, by "layer,head". */
  off = new Set<string>();
  /** The panel's width available to the grid. */
  width = 0;

  static override styles = css`
    :host { display: block; }
    .legend { margin: 4px 0 6px; }
    .scroll { overflow-x: auto; max-width: 100%; }
    .grid { display: grid; gap: ${GAP}px; align-items: center; justify-items: center; width: max-content; }
    .lab { font-size: 11px; color: var(--vscode-descriptionForeground, var(--vscode-foreground)); white-space: nowrap; }
    .layer { position: sticky; left: 0; z-index: 1; background: var(--vscode-editor-background); align-self: stretch; display: flex; align-items: center; justify-content: flex-start; width: 100%; }
    .corner { position: sticky; left: 0; z-index: 1; background: var(--vscode-editor-background); align-self: stretch; width: 100%; }
    .thumb { position: relative; line-height: 0; }
    button.open { padding: 0; border: 1px solid var(--vscode-panel-border, rgba(128, 128, 128, 0.4)); background: none; cursor: pointer; line-height: 0; }
    button.open.active { outline: 2px solid var(--vscode-focusBorder); outline-offset: 1px; }
    button:focus-visible { outline: 2px solid var(--vscode-focusBorder); }
    canvas { display: block; image-rendering: pixelated; }
    /* the switch: an opaque corner button, so the map under it does not change how it reads */
    button.switch { position: absolute; top: 3px; right: 3px; width: 20px; height: 20px; padding: 1px; display: flex; align-items: center; justify-content: center; cursor: pointer; color: var(--vscode-foreground); background: var(--vscode-editor-background); border: 1px solid var(--vscode-panel-border, var(--vscode-foreground)); border-radius: 3px; }
    button.switch:hover { border-color: var(--vscode-focusBorder); }
    button.switch[aria-pressed="true"] { color: var(--vscode-errorForeground, #f14c4c); border-color: var(--vscode-errorForeground, #f14c4c); }
    button.switch svg { width: 14px; height: 14px; fill: none; stroke: currentColor; stroke-width: 1.8; stroke-linecap: round; }
    /* a head switched off: dashed border, crossed out, and a word, not only a colour */
    .thumb.off button.open { border: 1px dashed var(--vscode-errorForeground, #f14c4c); }
    svg.cross { position: absolute; inset: 1px; width: calc(100% - 2px); height: calc(100% - 2px); pointer-events: none; }
    svg.cross line { stroke: var(--vscode-errorForeground, #f14c4c); stroke-width: 2; vector-effect: non-scaling-stroke; }
    .offtag { position: absolute; left: 3px; bottom: 3px; line-height: 1.2; font-size: 11px; padding: 0 3px; color: var(--vscode-foreground); background: var(--vscode-editor-background); border: 1px solid var(--vscode-errorForeground, #f14c4c); border-radius: 2px; pointer-events: none; }
  `;

  private readonly themeRepaint = new ThemeRepaint(this, () => this.paint(true));
  /** What each canvas shows now, so a newly come slice repaints only its own thumbnail. */
  private painted = new WeakMap<HTMLCanvasElement, { w: Float32Array | undefined; size: number; kind: ScaleKind }>();

  private readonly hostWidth = new HostWidth(this);

  /** Thumbnail size: the panel's width shared by the heads, within 96-128 px. */
  get thumb(): number {
    const w = this.width || 700;
    const fit = Math.floor((w - LABEL_W - GAP * this.heads) / Math.max(1, this.heads)) - 2;
    return Math.max(THUMB_MIN, Math.min(THUMB_MAX, fit));
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("slices") || changed.has("scaleKind") || changed.has("width") || changed.has("heads") || changed.has("layers")) this.paint();
  }

  paint(force = false): void {
    const ramp = themeRamp();
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) lut.set(ramp(i / 255), i * 3);
    const size = this.thumb;
    for (const canvas of this.renderRoot.querySelectorAll<HTMLCanvasElement>("canvas[data-key]")) {
      const w = this.slices.get(canvas.dataset.key!);
      const was = this.painted.get(canvas);
      if (!force && was && was.w === w && was.size === size && was.kind === this.scaleKind) continue;
      this.painted.set(canvas, { w, size, kind: this.scaleKind });
      canvas.width = size;
      canvas.height = size;
      const ctx = canvas.getContext("2d")!;
      if (!w) {
        ctx.clearRect(0, 0, size, size);
        continue;
      }
      const T = Math.round(Math.sqrt(w.length));
      const scale = weightScale(this.scaleKind, w, T, T);
      const img = ctx.createImageData(size, size);
      // each pixel shows the cell under it: the thumbnail is drawn at its size, not stretched
      const cellOf = Array.from({ length: size }, (_, p) => Math.min(T - 1, Math.floor((p * T) / size)));
      for (let y = 0; y < size; y++) {
        const q = cellOf[y];
        for (let x = 0; x < size; x++) {
          const k = cellOf[x];
          const i = Math.round(scale.t(w[q * T + k], q) * 255) * 3;
          const o = (y * size + x) * 4;
          img.data[o] = lut[i];
          img.data[o + 1] = lut[i + 1];
          img.data[o + 2] = lut[i + 2];
          img.data[o + 3] = 255;
        }
      }
      ctx.putImageData(img, 0, 0);
    }
  }

  private open(layer: number, head: number) {
    this.dispatchEvent(new CustomEvent("open-head", { detail: { layer, head }, bubbles: true, composed: true }));
  }

  private toggle(layer: number, head: number) {
    this.dispatchEvent(new CustomEvent("toggle-head", { detail: { layer, head, off: !this.off.has(`${layer},${head}`) }, bubbles: true, composed: true }));
  }

  /** A thumbnail: the map (opens the head), its switch, and its marks when the head is off. */
  private thumbnail(l: number, h: number, size: number) {
    const isActive = this.active[0] === l && this.active[1] === h;
    const off = this.off.has(`${l},${h}`);
    const name = `${l}.${h}`;
    return html`<div class=${`thumb${off ? " off" : ""}`}>
      <button class=${`open${isActive ? " active" : ""}`} title=${`layer ${l}, head ${h}${off ? " (switched off)" : ""}`} aria-label=${`Open layer ${l} head ${h}${off ? ", switched off" : ""}`} @click=${() => this.open(l, h)}><canvas data-key=${`${l},${h}`} data-colormap="attention-thumbnails" ${cssProps({ width: `${size}px`, height: `${size}px` })}></canvas></button>
      ${off ? html`<svg class="cross" viewBox="0 0 10 10" preserveAspectRatio="none" aria-hidden="true"><line x1="0" y1="0" x2="10" y2="10"></line><line x1="10" y1="0" x2="0" y2="10"></line></svg><span class="offtag">off</span>` : null}
      ${this.ablatable
        ? html`<button class="switch" aria-pressed=${off ? "true" : "false"} title=${off ? `switch head ${name} back on` : `switch head ${name} off`} aria-label=${`Switch head ${name} off`} @click=${() => this.toggle(l, h)}>
            <svg viewBox="0 0 16 16" aria-hidden="true"><path d="M8 1.8v6"></path><path d="M4.6 4.2a5.2 5.2 0 1 0 6.8 0"></path></svg>
          </button>`
        : null}
    </div>`;
  }

  override render() {
    const size = this.thumb;
    const cols = `${LABEL_W}px repeat(${this.heads}, ${size + 2}px)`;
    const cells = [];
    cells.push(html`<span class="corner"></span>`);
    for (let h = 0; h < this.heads; h++) cells.push(html`<span class="lab">head ${h}</span>`);
    for (let l = 0; l < this.layers; l++) {
      cells.push(html`<span class="lab layer">L${l}</span>`);
      for (let h = 0; h < this.heads; h++) cells.push(this.thumbnail(l, h, size));
    }
    return html`<div class="legend"><seqlens-color-legend .scale=${weightScale(this.scaleKind)} for="attention-thumbnails" length="160" note="every thumbnail"></seqlens-color-legend></div>
      <div class="scroll"><div class="grid" ${cssProps({ "grid-template-columns": cols })}>${cells}</div></div>`;
  }
}
customElements.define("seqlens-attention-overview", AttentionOverview);
