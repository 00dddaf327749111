// What a panel looks like, measured from its rendered DOM (shadow roots included), in a real browser:
// text boxes that overlap, text clipped horizontally outside a scroll region, text whose contrast
// against what lies behind it is under WCAG AA (4.5:1, 3:1 for large text), and colour-map canvases
// without a legend. Runs in any frame: a panel on a plain page or a webview inside the real host.
//
// Conventions it reads (see webview/components/colorLegend.ts): a canvas that is a colour map has
// data-colormap="NAME" and a <seqlens-color-legend for="NAME"> exists in the panel; any other canvas
// says what it is in data-chart; a canvas that draws its own labels lists their boxes in `labelBoxes`.
import type { Frame, Page } from "playwright-core";

export interface LayoutReport {
  /** Text boxes on screen that cover each other: "'a' × 'b' at x,y". */
  overlaps: string[];
  /** Text cut off horizontally where the user cannot scroll to it. */
  clipped: string[];
  /** Text under 4.5:1 (3:1 large) against its background: "'text' 3.2:1 (#777 on #1e1e1e)". */
  lowContrast: string[];
  /** Canvases that are colour maps without a legend, or unmarked. */
  canvasesWithoutLegend: string[];
  /** How many text boxes and canvases were looked at (a report on an empty panel proves nothing). */
  counted: { texts: number; canvases: number; legends: number };
}

export async function layoutReport(target: Frame | Page): Promise<LayoutReport> {
  // tsx names the probe's inner functions through a helper of its own: give the page one
  await target.evaluate("globalThis.__name ??= (f) => f");
  return target.evaluate(probe);
}

/** Runs in the page. Self-contained: playwright serialises it. */
function probe(): LayoutReport {
  type RGBA = [number, number, number, number];
  const MAX = 12;
  const report: LayoutReport = { overlaps: [], clipped: [], lowContrast: [], canvasesWithoutLegend: [], counted: { texts: 0, canvases: 0, legends: 0 } };
  const parentOf = (n: Node): Element | null => {
    if (n.parentElement) return n.parentElement;
    const root = n.getRootNode();
    return root instanceof ShadowRoot ? root.host : null;
  };
  // every node, shadow roots included (slots' assigned nodes are reached through their light DOM)
  const all: Node[] = [];
  const walk = (root: Node) => {
    const w = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n: Node | null = w.currentNode; n; n = w.nextNode()) {
      all.push(n);
      if (n instanceof Element && n.shadowRoot) walk(n.shadowRoot);
    }
  };
  walk(document.body);
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;

  const parse = (c: string): RGBA => {
    const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(c);
    if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
    const ctx = document.createElement("canvas").getContext("2d")!;
    ctx.fillStyle = c;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top: RGBA, under: RGBA): RGBA => {
    const a = top[3] + under[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    return [0, 1, 2].map((i) => (top[i] * top[3] + under[i] * under[3] * (1 - top[3])) / a).concat(a) as RGBA;
  };
  const lum = (c: RGBA) => {
    const f = (v: number) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const hex = (c: RGBA) => "#" + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
  const pageBg = (): RGBA => {
    for (const el of [document.body, document.documentElement]) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c[3] > 0) return over(c, [255, 255, 255, 1]);
    }
    const v = getComputedStyle(document.body).getPropertyValue("--vscode-editor-background").trim();
    return v ? over(parse(v), [255, 255, 255, 1]) : [255, 255, 255, 1];
  };
  const base = pageBg();
  const chain = (el: Element): Element[] => {
    const out: Element[] = [];
    for (let e: Element | null = el; e; e = parentOf(e)) out.push(e);
    return out;
  };
  /** The colour behind `el`'s text: ancestors' backgrounds composited over the page's; undefined over an image or canvas. */
  const backgroundOf = (el: Element): RGBA | undefined => {
    let bg = base;
    for (const e of chain(el).reverse()) {
      const s = getComputedStyle(e);
      if (s.backgroundImage && s.backgroundImage !== "none") return undefined;
      const c = parse(s.backgroundColor);
      if (c[3] > 0) bg = over([c[0], c[1], c[2], c[3] * opacityOf(e, true)], bg);
    }
    return bg;
  };
  const opacityOf = (el: Element, self = false): number => {
    let o = 1;
    for (const e of self ? [el] : chain(el)) o *= +getComputedStyle(e).opacity;
    return o;
  };
  /** The part of rect r that is on screen: inside the viewport and every clipping ancestor. Also reports a horizontal cut. */
  const visiblePart = (el: Element, r: DOMRect) => {
    let x0 = r.left, x1 = r.right, y0 = r.top, y1 = r.bottom;
    let cutBy: Element | "viewport" | undefined;
    let scrollable = false;
    for (const e of chain(el)) {
      const s = getComputedStyle(e);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const b = e.getBoundingClientRect();
      if (s.overflowX !== "visible" && (x0 < b.left - 1 || x1 > b.right + 1)) {
        if ((s.overflowX === "auto" || s.overflowX === "scroll") && e.scrollWidth > e.clientWidth) scrollable = true;
        else if (!cutBy) cutBy = e;
      }
      if (s.overflowX !== "visible") {
        x0 = Math.max(x0, b.left);
        x1 = Math.min(x1, b.right);
      }
      if (s.overflowY !== "visible") {
        y0 = Math.max(y0, b.top);
        y1 = Math.min(y1, b.bottom);
      }
    }
    const pageScrolls = document.documentElement.scrollWidth > vw + 1;
    if ((x0 < -1 || x1 > vw + 1) && !cutBy && !scrollable) cutBy = "viewport";
    if (pageScrolls && !scrollable && r.right > vw + 1) cutBy = "viewport";
    x0 = Math.max(x0, 0);
    x1 = Math.min(x1, vw);
    y0 = Math.max(y0, 0);
    y1 = Math.min(y1, vh);
    return { box: x1 - x0 > 0.5 && y1 - y0 > 0.5 ? { x0, x1, y0, y1 } : undefined, cutBy, scrollable };
  };
  const describe = (e: Element | "viewport") => (e === "viewport" ? "the panel's edge" : `<${e.tagName.toLowerCase()}${e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : ""}>`);

  /** `src`: the text node (or canvas) the box belongs to; one node's own boxes never count as overlapping (an ellipsised text gives its full and its visible box). */
  interface TextBox { text: string; el: Element; src: Node; box: { x0: number; x1: number; y0: number; y1: number } }
  const boxes: TextBox[] = [];
  for (const n of all) {
    if (n.nodeType !== Node.TEXT_NODE || !n.textContent || !n.textContent.trim()) continue;
    const el = parentOf(n);
    if (!el || el instanceof HTMLStyleElement || el instanceof HTMLScriptElement || el.closest("script,style,template,option,select,title")) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    // the <title>/<svg> text and text inside hidden overflow lists are not on screen
    const range = document.createRange();
    range.selectNodeContents(n);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5);
    const text = n.textContent.trim().slice(0, 40);
    const s = getComputedStyle(el);
    const ellipsis = s.textOverflow === "ellipsis";
    let onScreen = false;
    for (const r of rects) {
      const v = visiblePart(el, r);
      if (v.cutBy && !ellipsis && report.clipped.length < MAX && !(v.cutBy !== "viewport" && (v.cutBy as Element).contains(el) && getComputedStyle(v.cutBy as Element).textOverflow === "ellipsis")) {
        report.clipped.push(`'${text}' cut by ${describe(v.cutBy)} (text ${Math.round(r.left)}–${Math.round(r.right)} px, panel ${vw} px)`);
      }
      if (v.box) {
        boxes.push({ text, el, src: n, box: v.box });
        onScreen = true;
      }
    }
    if (!onScreen) continue;
    report.counted.texts++;
    // contrast of the text against what is behind it
    const bg = backgroundOf(el);
    if (!bg) continue;
    const fg = parse(s.color);
    const seen = over([fg[0], fg[1], fg[2], fg[3] * opacityOf(el)], bg);
    const l1 = lum(seen), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const px = parseFloat(s.fontSize);
    const large = px >= 24 || (px >= 18.66 && +s.fontWeight >= 700);
    const disabled = el.closest("[disabled],[aria-disabled='true']") !== null;
    if (!disabled && ratio < (large ? 3 : 4.5) && report.lowContrast.length < MAX) report.lowContrast.push(`'${text}' ${ratio.toFixed(2)}:1 (${hex(seen)} on ${hex(bg)})`);
  }

  // canvases that draw their own labels
  const canvases = all.filter((n): n is HTMLCanvasElement => n instanceof HTMLCanvasElement && n.checkVisibility() && n.getBoundingClientRect().width > 0);
  const legends = all.filter((n): n is Element => n instanceof Element && n.tagName.toLowerCase() === "seqlens-color-legend");
  report.counted.canvases = canvases.length;
  report.counted.legends = legends.length;
  for (const c of canvases) {
    const map = c.dataset.colormap;
    if (map) {
      if (!legends.some((l) => l.getAttribute("for") === map && (l as HTMLElement).checkVisibility()) && report.canvasesWithoutLegend.length < MAX) report.canvasesWithoutLegend.push(`canvas data-colormap="${map}" has no visible <seqlens-color-legend for="${map}">`);
    } else if (!c.dataset.chart && report.canvasesWithoutLegend.length < MAX) {
      report.canvasesWithoutLegend.push(`canvas ${describe(c)} ${Math.round(c.getBoundingClientRect().width)} px wide says neither data-colormap nor data-chart`);
    }
    const own = (c as HTMLCanvasElement & { labelBoxes?: { x: number; y: number; w: number; h: number; text?: string }[] }).labelBoxes;
    if (Array.isArray(own)) {
      const r = c.getBoundingClientRect();
      for (const b of own) {
        const box = { x0: r.left + b.x, x1: r.left + b.x + b.w, y0: r.top + b.y, y1: r.top + b.y + b.h };
        const v = visiblePart(c, new DOMRect(box.x0, box.y0, b.w, b.h));
        if (v.box) boxes.push({ text: b.text ?? "(canvas label)", el: c, src: b as unknown as Node, box: v.box });
      }
    }
  }

  // overlaps: two text boxes sharing more than 2 px each way, where neither is hidden under an
  // opaque box stacked above it (a sticky label over scrolled cells)
  const deepAt = (x: number, y: number): Element | null => {
    let root: Document | ShadowRoot = document;
    let hit: Element | null = null;
    for (let i = 0; i < 20; i++) {
      const h: Element | null = root.elementFromPoint(x, y);
      if (!h || h === hit) break;
      hit = h;
      if (h.shadowRoot) root = h.shadowRoot;
      else break;
    }
    return hit;
  };
  const containsDeep = (a: Element, b: Element) => chain(b).includes(a);
  for (let i = 0; i < boxes.length && report.overlaps.length < MAX; i++) {
    for (let j = i + 1; j < boxes.length && report.overlaps.length < MAX; j++) {
      const a = boxes[i], b = boxes[j];
      const w = Math.min(a.box.x1, b.box.x1) - Math.max(a.box.x0, b.box.x0);
      const h = Math.min(a.box.y1, b.box.y1) - Math.max(a.box.y0, b.box.y0);
      if (w <= 2 || h <= 2) continue;
      if (a.src === b.src) continue;
      const x = Math.max(a.box.x0, b.box.x0) + w / 2, y = Math.max(a.box.y0, b.box.y0) + h / 2;
      const hit = deepAt(x, y);
      if (hit) {
        const onTop = [a, b].find((t) => containsDeep(hit, t.el) || containsDeep(t.el, hit));
        const under = onTop === a ? b : onTop === b ? a : undefined;
        if (onTop && under) {
          // hidden if an opaque background lies between the hit and the element they share
          let hidden = false;
          for (const e of chain(hit)) {
            if (containsDeep(e, under.el)) break;
            if (parse(getComputedStyle(e).backgroundColor)[3] >= 0.99) {
              hidden = true;
              break;
            }
          }
          if (hidden) continue;
        }
      }
      report.overlaps.push(`'${a.text}' × '${b.text}' at ${Math.round(x)},${Math.round(y)} (${Math.round(w)}×${Math.round(h)} px)`);
    }
  }
  return report;
}

/** One line per finding, for an assertion's message. */
export function formatReport(r: LayoutReport): string {
  const part = (name: string, xs: string[]) => (xs.length ? `${name}:\n  ${xs.join("\n  ")}` : "");
  return [part("overlapping text", r.overlaps), part("clipped text", r.clipped), part("contrast under 4.5:1", r.lowContrast), part("canvases", r.canvasesWithoutLegend)].filter(Boolean).join("\n");
}
