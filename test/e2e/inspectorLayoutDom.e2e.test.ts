// The Inspector at the sizes and in the themes people use it, rendered from fixed data in chromium
// (the built bundle on a plain page, no VS Code): an 85-token text and a 1,024-token one, attention
// that looks like a small GPT's (an attention sink, previous-token and self heads, noise). Checks the
// colour scale (the 90th-percentile cell stands out from the background under the default scale), the
// legends, zoom and scroll keeping the token labels on their cells, the hover crosshair and what it
// tells the editor, the thumbnails, the head view's selected token, the next-token list, and the
// layout checks every panel passes (no overlapping or clipped text, contrast >= 4.5:1) at 400, 700
// and 1,200 px in dark, light and high contrast. Screenshots go to test/e2e/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import type { TokenInfo } from "../../protocol/basics";
import type { InspectionView } from "../../protocol/inspector";
import { ARTIFACTS } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";
import { openPanelPage, PanelPage, THEMES, waitForExpression } from "./webviewPage";

const SOURCE = `export function totalArea(shapes: readonly Shape[]): number {
  // the sum of every shape's area, in square units
  let total = 0;
  for (const shape of shapes) {
    if (shape.kind === "circle") total += Math.PI * shape.radius ** 2;
    else total += shape.width * shape.height;
  }
  return total;
}

export class EventListenerOrEventListenerObjectRegistry {
  private readonly listeners = new Map<string, Set<() => void>>();
  add(name: string, listener: () => void): void {
    const set = this.listeners.get(name) ?? new Set();
    set.add(listener);
  }
}
`;

/** GPT-2-like pieces of `text`: a word with its leading space, punctuation runs, newlines. */
function tokenize(text: string, n: number): TokenInfo[] {
  const out: TokenInfo[] = [];
  const re = /\n| ?[A-Za-z_]+| ?\d+| ?[^\sA-Za-z_\d]+| +/g;
  let i = 0;
  while (out.length < n) {
    re.lastIndex = 0;
    const base = i * text.length;
    for (let m = re.exec(text); m && out.length < n; m = re.exec(text)) out.push({ id: 1000 + out.length, text: m[0], start: base + m.index, end: base + m.index + m[0].length, byteStart: base + m.index, byteEnd: base + m.index + m[0].length });
    i++;
  }
  return out;
}

/**
 * A causal attention slice that looks like a small GPT's: each row a softmax of noise plus, by head,
 * an attention sink on token 0, a previous-token or a self bump. Deterministic per (T, layer, head).
 * Self-contained: it also runs in the page.
 */
function makeAttention(T: number, layer: number, head: number): Float32Array {
  let seed = 1 + layer * 7919 + head * 104729;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const kind = (layer + head) % 4;
  const w = new Float32Array(T * T);
  const logits = new Float64Array(T);
  for (let q = 0; q < T; q++) {
    let max = -Infinity;
    for (let k = 0; k <= q; k++) {
      let l = 1.3 * gauss();
      if (k === 0) l += kind === 1 ? 5 : 2.5;
      if (k === q - 1 && kind === 0) l += 4;
      if (k === q && kind === 2) l += 4;
      logits[k] = l;
      max = Math.max(max, l);
    }
    let sum = 0;
    for (let k = 0; k <= q; k++) sum += logits[k] = Math.exp(logits[k] - max);
    for (let k = 0; k <= q; k++) w[q * T + k] = logits[k] / sum;
  }
  return w;
}

function viewOf(tokens: TokenInfo[], handle: string): InspectionView {
  return {
    handle,
    modelName: "tiny-gpt",
    device: "cpu",
    text: SOURCE,
    tokens,
    nLayer: 4,
    nHead: 4,
    attentionAvailable: true,
    next: {
      position: tokens.length - 1,
      temperature: 1,
      top: [
        { id: 1, token: "\n", p: 0.31 },
        { id: 2, token: " }", p: 0.18 },
        { id: 3, token: " EventListenerOrEventListenerObject", p: 0.12 },
        { id: 4, token: ";", p: 0.08 },
        { id: 5, token: " return", p: 0.06 },
        { id: 6, token: " const", p: 0.05 },
        { id: 7, token: "  ", p: 0.04 },
        { id: 8, token: " set", p: 0.03 },
        { id: 9, token: " this", p: 0.02 },
        { id: 10, token: ")", p: 0.01 },
      ],
      entropyBits: 3.42,
    },
    ms: { run: 6.7, total: 9 },
  };
}

const T85 = tokenize(SOURCE, 85);
const restore = { uri: "file:///shapes.ts", start: 0, end: SOURCE.length, model: "/models/tiny-gpt" };

type Sent = Record<string, unknown> & { type: string };
const sent = (page: Page) => page.evaluate(() => (window as unknown as { sent: Sent[] }).sent);

/**
 * Opens the Inspector at `width` x `height` in `theme`, with a stand-in host that answers every
 * attention request from makeAttention and keeps the panel's saved state in sessionStorage.
 */
async function openInspector(theme: keyof typeof THEMES, width: number, height = 900): Promise<PanelPage> {
  const panel = await openPanelPage("inspector", "seqlens-inspector", THEMES[theme](), { width, height });
  const { page } = panel;
  // the panel's getState/setState kept across a reload (VS Code keeps them for a webview)
  // (a string: tsx would wrap a function's inner names in a helper the page does not have)
  await page.addInitScript(`
    globalThis.__name ??= (f) => f;
    let made;
    Object.defineProperty(window, "acquireVsCodeApi", {
      configurable: true,
      set(f) { made = f; },
      get() {
        return () => ({
          ...made(),
          getState: () => JSON.parse(sessionStorage.getItem("panelState") ?? "null") ?? undefined,
          setState: (s) => sessionStorage.setItem("panelState", JSON.stringify(s)),
        });
      },
    });
  `);
  await page.reload();
  await page.waitForFunction(() => (window as unknown as { sent: Sent[] }).sent.some((m) => m.type === "ready"));
  await installResponder(page);
  return panel;
}

/** The stand-in host answers getAttention with makeAttention's slice for the tokens shown. */
async function installResponder(page: Page) {
  await page.evaluate(`globalThis.__name ??= (f) => f; window.makeAttention = ${makeAttention.toString()}`);
  await page.evaluate(() => {
    const w = window as unknown as { sent: Sent[]; T: number; makeAttention: typeof makeAttention };
    const push = w.sent.push.bind(w.sent);
    w.sent.push = (...ms: Sent[]) => {
      for (const m of ms) {
        if (m.type === "getAttention") {
          const data = w.makeAttention(w.T, m.layer as number, m.head as number);
          setTimeout(() => window.postMessage({ type: "attention", requestId: m.requestId, layer: m.layer, head: m.head, shape: [w.T, w.T], data }, "*"));
        }
      }
      return push(...ms);
    };
  });
}

/** Runs `fn` on a fresh Inspector page (see openInspector), closed afterwards. */
async function withInspector(theme: keyof typeof THEMES, width: number, height: number, fn: (page: Page) => Promise<void>) {
  const panel = await openInspector(theme, width, height);
  try {
    await fn(panel.page);
  } finally {
    await panel.close();
  }
}

async function inspect(page: Page, tokens: TokenInfo[], handle = "h85") {
  const before = Number(await page.evaluate(() => document.body.dataset.heatmapPaintedAt ?? 0));
  await page.evaluate((n) => ((window as unknown as { T: number }).T = n), tokens.length);
  await page.evaluate((m) => window.postMessage(m, "*"), { type: "inspection", view: viewOf(tokens, handle), restore } as unknown as Record<string, unknown>);
  await page.waitForFunction((b) => Number(document.body.dataset.heatmapPaintedAt ?? 0) > b, before);
}

/** Runs `fn` on the heatmap element (inside the Inspector's shadow root). */
const HEATMAP = `document.querySelector("seqlens-inspector").shadowRoot.querySelector("seqlens-attention-heatmap")`;

interface Geometry {
  cell: number;
  left: number;
  top: number;
  canvasW: number;
  canvasH: number;
  canvas: { x: number; y: number };
  viewport: { x: number; y: number; w: number; h: number };
}

async function geometry(page: Page): Promise<Geometry> {
  return page.evaluate(`(() => {
    const h = ${HEATMAP};
    const vp = h.shadowRoot.querySelector(".viewport");
    const c = h.shadowRoot.querySelector("canvas.map").getBoundingClientRect();
    const v = vp.getBoundingClientRect();
    const g = h.geometry();
    return { cell: g.cell, left: vp.scrollLeft, top: vp.scrollTop, canvasW: g.canvasW, canvasH: g.canvasH, canvas: { x: c.left, y: c.top }, viewport: { x: v.left, y: v.top, w: vp.clientWidth, h: vp.clientHeight } };
  })()`);
}

/** Scrolls the heatmap's region so that cell (q, k) is in view, and waits for the repaint. */
async function scrollToCell(page: Page, q: number, k: number) {
  const g = await geometry(page);
  const left = Math.max(0, k * g.cell - g.canvasW / 2);
  const top = Math.max(0, q * g.cell - g.canvasH / 2);
  await page.evaluate(`(() => { const vp = ${HEATMAP}.shadowRoot.querySelector(".viewport"); vp.scrollLeft = ${left}; vp.scrollTop = ${top}; })()`);
  await waitForExpression(page, `(() => { const h = ${HEATMAP}; const vp = h.shadowRoot.querySelector(".viewport"); return h.view.left === vp.scrollLeft && h.view.top === vp.scrollTop; })()`);
  await page.evaluate(`${HEATMAP}.updateComplete`);
}

/** The colour painted at cell (q, k), read from the canvas (the cell must be in view). */
async function cellColour(page: Page, q: number, k: number): Promise<number[]> {
  const g = await geometry(page);
  const x = Math.floor(k * g.cell - g.left + g.cell / 2);
  const y = Math.floor(q * g.cell - g.top + g.cell / 2);
  assert.ok(x >= 0 && y >= 0 && x < g.canvasW && y < g.canvasH, `cell ${q},${k} is in view`);
  return page.evaluate(`Array.from(${HEATMAP}.shadowRoot.querySelector("canvas.map").getContext("2d").getImageData(${x}, ${y}, 1, 1).data.slice(0, 3))`);
}

/** CIELAB of an sRGB colour (D65), for colour differences people see. */
function lab([r, g, b]: number[]): [number, number, number] {
  const lin = [r, g, b].map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const X = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047;
  const Y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  const Z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}

/** CIE76 colour difference: ~2.3 is just noticeable; over 10 two colours read as different at a glance. */
function deltaE(a: number[], b: number[]): number {
  const [l1, a1, b1] = lab(a);
  const [l2, a2, b2] = lab(b);
  return Math.hypot(l1 - l2, a1 - a2, b1 - b2);
}

const hexRgb = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));

/** The cell holding the q-quantile weight of layer 0 head 0 (all T*T cells, the masked zeros included). */
function quantileCell(T: number, q: number): { q: number; k: number; w: number } {
  const w = makeAttention(T, 0, 0);
  const sorted = Float32Array.from(w).sort();
  const v = sorted[Math.floor(q * (sorted.length - 1))];
  let best = 0;
  for (let i = 0; i < w.length; i++) if (Math.abs(w[i] - v) < Math.abs(w[best] - v)) best = i;
  return { q: Math.floor(best / T), k: best % T, w: w[best] };
}

const legendTicks = (page: Page, name: string) =>
  page.evaluate((n) => {
    const find = (root: Document | ShadowRoot): Element | undefined => {
      for (const el of root.querySelectorAll("*")) {
        if (el.tagName.toLowerCase() === "seqlens-color-legend" && el.getAttribute("for") === n) return el;
        if (el.shadowRoot) {
          const f = find(el.shadowRoot);
          if (f) return f;
        }
      }
      return undefined;
    };
    const l = find(document);
    return l ? Array.from(l.shadowRoot!.querySelectorAll(".ticks span, .vticks span"), (s) => s.textContent ?? "").concat(l.shadowRoot!.querySelector(".title, .vt")?.textContent ?? "") : undefined;
  }, name);

test("at 85 tokens the default scale (log from 0.001) sets the 90th-percentile cell visibly apart from the background, in every theme; linear would not", async (t) => {
  const cell = quantileCell(85, 0.9);
  for (const theme of ["dark", "light", "hc"] as const) {
    await withInspector(theme, 700, 900, async (page) => {
      await inspect(page, T85);
      assert.equal(await page.locator('select[aria-label="Colour scale"]').inputValue(), "log");
      await scrollToCell(page, cell.q, cell.k);
      const bg = hexRgb(THEMES[theme]()["--vscode-editor-background"]);
      const seen = await cellColour(page, cell.q, cell.k);
      const dLog = deltaE(seen, bg);
      await page.locator('select[aria-label="Colour scale"]').selectOption("linear");
      await waitForExpression(page, `${HEATMAP}.scaleKind === "linear"`);
      await page.evaluate(`${HEATMAP}.updateComplete`);
      const dLinear = deltaE(await cellColour(page, cell.q, cell.k), bg);
      // weight ~0.0x: a linear map paints it within a few units of the background
      assert.ok(dLog >= 15, `${theme}: the 90th-percentile cell (weight ${cell.w.toFixed(4)}) is ΔE ${dLog.toFixed(1)} from the background under log`);
      assert.ok(dLinear < dLog / 2, `${theme}: linear ΔE ${dLinear.toFixed(1)} vs log ${dLog.toFixed(1)}`);
      t.diagnostic(`${theme}: 90th-percentile weight ${cell.w.toFixed(4)}: ΔE from the background ${dLog.toFixed(1)} (log), ${dLinear.toFixed(1)} (linear)`);
      await page.locator('select[aria-label="Colour scale"]').selectOption("log");
    });
  }
});

test("the scale picker: each scale has its own legend ticks and paints other pixels; the choice is kept across a reload", async () => {
  await withInspector("dark", 700, 900, async (page) => {
    await inspect(page, T85);
    const cell = quantileCell(85, 0.9);
    await scrollToCell(page, cell.q, cell.k);
    const seen: Record<string, { ticks: string[]; px: number[] }> = {};
    for (const kind of ["log", "sqrt", "linear", "row"]) {
      await page.locator('select[aria-label="Colour scale"]').selectOption(kind);
      await waitForExpression(page, `${HEATMAP}.scaleKind === "${kind}"`);
      await page.evaluate(`${HEATMAP}.updateComplete`);
      seen[kind] = { ticks: (await legendTicks(page, "attention"))!, px: await cellColour(page, cell.q, cell.k) };
    }
    const kinds = Object.keys(seen);
    for (let i = 0; i < kinds.length; i++) {
      for (let j = i + 1; j < kinds.length; j++) {
        assert.notDeepEqual(seen[kinds[i]].ticks, seen[kinds[j]].ticks, `${kinds[i]} and ${kinds[j]} legends`);
        assert.notDeepEqual(seen[kinds[i]].px, seen[kinds[j]].px, `${kinds[i]} and ${kinds[j]} paint the cell alike`);
      }
    }
    assert.deepEqual(seen.log.ticks, ["1e−3", "0.01", "0.1", "1", "attention weight (log)"]);
    assert.match(seen.row.ticks.at(-1)!, /row's max/);
    // kept in the panel's state: after a reload the panel opens on it
    await page.locator('select[aria-label="Colour scale"]').selectOption("sqrt");
    assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem("panelState")!).scale), "sqrt");
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { sent: Sent[] }).sent.some((m) => m.type === "ready"));
    await installResponder(page);
    await inspect(page, T85);
    assert.equal(await page.locator('select[aria-label="Colour scale"]').inputValue(), "sqrt");
    assert.equal(await page.evaluate(`${HEATMAP}.scaleKind`), "sqrt");
  });
});

test("hover: a crosshair highlights the query and key labels, the value shows below, and the host is told which tokens to mark in the editor", async () => {
  await withInspector("dark", 1200, 900, async (page) => {
    await inspect(page, T85);
    const g = await geometry(page);
    assert.ok(g.cell >= 10, `labels at ${g.cell} px cells`);
    const q = Math.floor((g.top + g.canvasH / 2) / g.cell);
    const k = Math.floor((g.left + g.canvasW / 3) / g.cell);
    await page.mouse.move(g.canvas.x + k * g.cell - g.left + g.cell / 2, g.canvas.y + q * g.cell - g.top + g.cell / 2);
    await waitForExpression(page, `${HEATMAP}.hover?.q === ${q} && ${HEATMAP}.hover?.k === ${k}`);
    const hovers = (await sent(page)).filter((m) => m.type === "hoverTokens");
    assert.deepEqual(hovers.at(-1), { type: "hoverTokens", query: q, key: k });
    const hot = await page.locator("seqlens-attention-heatmap .rows span.hot").getAttribute("data-index");
    const hotKey = await page.locator("seqlens-attention-heatmap .cols span.hot").getAttribute("data-index");
    assert.deepEqual([Number(hot), Number(hotKey)], [q, k]);
    const w = makeAttention(85, 0, 0)[q * 85 + k];
    assert.match(await page.locator("seqlens-attention-heatmap .tip").innerText(), new RegExp(`query #${q} .* → key #${k} .*: ${w.toFixed(4)}`));
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-heatmap-hover.png") });
    // a click selects the row and focuses the map; the mouse's crosshair stays (the keyboard's cursor is for keys)
    await page.mouse.click(g.canvas.x + k * g.cell - g.left + g.cell / 2, g.canvas.y + q * g.cell - g.top + g.cell / 2);
    assert.equal(await page.locator('seqlens-token-strip button[aria-pressed="true"]').getAttribute("data-index"), String(q));
    await page.mouse.move(g.canvas.x + (k + 1) * g.cell - g.left + g.cell / 2, g.canvas.y + q * g.cell - g.top + g.cell / 2);
    await waitForExpression(page, `${HEATMAP}.hover?.k === ${k + 1}`);
    assert.equal(await page.locator("seqlens-attention-heatmap .cols span.hot").getAttribute("data-index"), String(k + 1));
    assert.deepEqual((await sent(page)).filter((m) => m.type === "hoverTokens").at(-1), { type: "hoverTokens", query: q, key: k + 1 });
    // leaving the map clears the marks
    await page.mouse.move(2, 2);
    await waitForExpression(page, `${HEATMAP}.hover === undefined`);
    assert.deepEqual((await sent(page)).filter((m) => m.type === "hoverTokens").at(-1), { type: "hoverTokens" });
    assert.equal(await page.locator("seqlens-attention-heatmap span.hot").count(), 0);
  });
});

/** Every label in view sits on its cell: row labels' tops on the rows, column labels' lefts on the columns, and the pixel where a row and a column label meet is that cell's colour. */
async function assertLabelsOnCells(page: Page, what: string) {
  const g = await geometry(page);
  const boxes = (sel: string) => page.locator(`seqlens-attention-heatmap ${sel}`).evaluateAll((els) => els.map((e) => ({ i: Number(e.getAttribute("data-index")), r: e.getBoundingClientRect().toJSON() as DOMRect })));
  const rows = await boxes(".rows span");
  const cols = await boxes(".cols span");
  assert.ok(rows.length >= 5 && cols.length >= 5, `${what}: ${rows.length} row and ${cols.length} column labels in view`);
  for (const { i, r } of rows) {
    assert.ok(Math.abs(r.top - (g.canvas.y + i * g.cell - g.top)) <= 0.5 && Math.abs(r.height - g.cell) <= 0.5, `${what}: row label ${i} at ${r.top}, its cell at ${g.canvas.y + i * g.cell - g.top}`);
    assert.ok(r.top >= g.canvas.y - 0.5 && r.bottom <= g.canvas.y + g.canvasH + 0.5, `${what}: row label ${i} beside the map in view`);
    assert.ok(r.right <= g.canvas.x + 0.5, `${what}: row label ${i} left of the map`);
  }
  for (const { i, r } of cols) {
    assert.ok(Math.abs(r.left - (g.canvas.x + i * g.cell - g.left)) <= 0.5 && Math.abs(r.width - g.cell) <= 0.5, `${what}: column label ${i} at ${r.left}, its cell at ${g.canvas.x + i * g.cell - g.left}`);
    assert.ok(r.left >= g.canvas.x - 0.5 && r.right <= g.canvas.x + g.canvasW + 0.5, `${what}: column label ${i} above the map in view`);
    assert.ok(r.bottom <= g.canvas.y + 0.5, `${what}: column label ${i} above the map`);
  }
  // the painted cell under the crossing of a row label and a column label is that cell's weight's colour
  const T = rows.length ? Math.max(...rows.map((r) => r.i)) + 1 : 0;
  void T;
  const n = (await page.evaluate(`${HEATMAP}.tokens.length`)) as number;
  const w = makeAttention(n, 0, 0);
  const bg = [0x1e, 0x1e, 0x1e];
  const accent = [0xd1, 0x86, 0x16];
  for (const row of [rows[1], rows[Math.floor(rows.length / 2)], rows.at(-1)!]) {
    for (const col of [cols[0], cols[Math.floor(cols.length / 2)], cols.at(-1)!]) {
      const x = Math.floor(col.r.left + col.r.width / 2 - g.canvas.x);
      const y = Math.floor(row.r.top + row.r.height / 2 - g.canvas.y);
      const px = (await page.evaluate(`Array.from(${HEATMAP}.shadowRoot.querySelector("canvas.map").getContext("2d").getImageData(${x}, ${y}, 1, 1).data.slice(0, 3))`)) as number[];
      const v = w[row.i * n + col.i];
      const t = v <= 0.001 ? 0 : Math.min(1, Math.log10(v / 0.001) / 3);
      const want = bg.map((b, c) => b + (accent[c] - b) * (Math.round(t * 255) / 255));
      assert.ok(px.every((p, c) => Math.abs(p - want[c]) <= 2), `${what}: cell ${row.i},${col.i} (weight ${v.toFixed(4)}) painted ${px}, its colour is ${want.map(Math.round)}`);
    }
  }
}

test("zoom and scroll: the labels stay on their cells, stay in view with an opaque background, and say when they are too small to read", async () => {
  await withInspector("dark", 700, 700, async (page) => {
    await inspect(page, T85);
    await assertLabelsOnCells(page, "as opened");
    // zoom in twice with the button, scroll to the middle of the map
    const zoomIn = page.locator('seqlens-attention-heatmap button[aria-label="Zoom in"]');
    const before = (await geometry(page)).cell;
    await zoomIn.click();
    await zoomIn.click();
    const g = await geometry(page);
    assert.ok(g.cell > before, `zoomed from ${before} to ${g.cell} px`);
    await scrollToCell(page, 60, 40);
    const after = await geometry(page);
    assert.ok(after.left > 100 && after.top > 100, `scrolled to ${after.left},${after.top}`);
    await assertLabelsOnCells(page, `zoomed to ${g.cell} px and scrolled`);
    // the label strips are opaque: nothing under them shows through
    const bgs = await page.locator("seqlens-attention-heatmap").evaluate((h) => [".rows", ".cols", ".corner"].map((s) => getComputedStyle(h.shadowRoot!.querySelector(s)!).backgroundColor));
    assert.deepEqual(bgs, ["rgb(30, 30, 30)", "rgb(30, 30, 30)", "rgb(30, 30, 30)"]);
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-heatmap-zoomed.png") });
    // ctrl+wheel on the map zooms out around the pointer
    await page.mouse.move(after.canvas.x + after.canvasW / 2, after.canvas.y + after.canvasH / 2);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, 120);
    await page.keyboard.up("Control");
    await waitForExpression(page, `${HEATMAP}.cell < ${g.cell}`);
    await page.evaluate(`${HEATMAP}.updateComplete`);
    await assertLabelsOnCells(page, "after ctrl+wheel");
    // zoomed out below 10 px: no labels, and the panel says why
    const zoomOut = page.locator('seqlens-attention-heatmap button[aria-label="Zoom out"]');
    while (((await page.evaluate(`${HEATMAP}.cell`)) as number) >= 10) await zoomOut.click();
    assert.equal(await page.locator("seqlens-attention-heatmap .rows span").count(), 0);
    assert.match(await page.locator("seqlens-attention-heatmap .note").innerText(), /zoom in to read labels/);
    // the zoom is kept with the panel
    assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem("panelState")!).cell), await page.evaluate(`${HEATMAP}.cell`));
    await page.locator('seqlens-attention-heatmap button[aria-label="Fit"]').click();
    assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem("panelState")!).cell), 0);
  });
});

test("PNG export holds the whole map, not only the cells in view", async () => {
  await withInspector("dark", 400, 700, async (page) => {
    await inspect(page, T85);
    const g = await geometry(page);
    assert.ok(g.canvasW < 85 * g.cell, "the map is wider than the view");
    await page.locator("vscode-button", { hasText: "PNG" }).click();
    const png = (await sent(page)).find((m) => m.type === "exportPng") as { dataUrl: string } | undefined;
    assert.ok(png?.dataUrl.startsWith("data:image/png;base64,"));
    const size = await page.evaluate(async (url) => {
      const img = new Image();
      img.src = url;
      await img.decode();
      return [img.width, img.height];
    }, png!.dataUrl);
    assert.deepEqual(size, [85 * g.cell, 85 * g.cell]);
  });
});

test("1,024 tokens: the canvas stays the size of the view, zoomed in the labels are on their cells, and it repaints quickly", async () => {
  await withInspector("dark", 700, 800, async (page) => {
    const T1024 = tokenize(SOURCE, 1024);
    await inspect(page, T1024, "h1024");
    const g = await geometry(page);
    assert.ok(g.canvasW <= g.viewport.w && g.canvasH <= g.viewport.h, `canvas ${g.canvasW}x${g.canvasH} within the view ${g.viewport.w}x${g.viewport.h}`);
    assert.match(await page.locator("seqlens-attention-heatmap .note").innerText(), /zoom in to read labels/);
    await page.evaluate(`${HEATMAP}.setZoom(12)`);
    await waitForExpression(page, `${HEATMAP}.cell === 12`);
    await scrollToCell(page, 700, 650);
    await assertLabelsOnCells(page, "1,024 tokens at 12 px");
    const ms = (await page.evaluate(`(() => { const h = ${HEATMAP}; const t0 = performance.now(); for (let i = 0; i < 10; i++) h.paint(); return (performance.now() - t0) / 10; })()`)) as number;
    assert.ok(ms < 100, `a repaint of the view takes ${ms.toFixed(1)} ms`);
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-heatmap-1024.png") });
  });
});

test("every colour-map canvas has its legend: heatmap, head view, all heads", async () => {
  await withInspector("dark", 700, 900, async (page) => {
    await inspect(page, T85);
    for (const tab of ["Heatmap", "Head view", "All heads"]) {
      await page.locator(".tabs button", { hasText: tab }).click();
      if (tab === "All heads") await page.waitForFunction(() => (window as unknown as { sent: Sent[] }).sent.filter((m) => m.type === "getAttention").length >= 17);
      const maps = await page.evaluate(() => {
        const out: { map: string | null; chart: string | null; legend: boolean }[] = [];
        const roots: (Document | ShadowRoot)[] = [document];
        const legends = new Set<string>();
        for (let i = 0; i < roots.length; i++) {
          for (const el of roots[i].querySelectorAll("*")) {
            if (el.shadowRoot) roots.push(el.shadowRoot);
            if (el.tagName.toLowerCase() === "seqlens-color-legend" && (el as HTMLElement).checkVisibility()) legends.add(el.getAttribute("for") ?? "");
          }
        }
        for (const r of roots) for (const c of r.querySelectorAll("canvas")) out.push({ map: c.getAttribute("data-colormap"), chart: c.getAttribute("data-chart"), legend: false });
        return out.map((o) => ({ ...o, legend: o.map !== null && legends.has(o.map) }));
      });
      assert.ok(maps.length > 0, tab);
      for (const m of maps) assert.ok(m.legend || m.chart, `${tab}: ${JSON.stringify(m)}`);
      const report = await layoutReport(page);
      assert.deepEqual(report.canvasesWithoutLegend, [], tab);
    }
  });
});

test("thumbnails: 96-128 px, one scale and legend; at 400 px they scroll sideways with the layer names kept", async () => {
  for (const width of [400, 1200]) {
    await withInspector("dark", width, 900, async (page) => {
      await inspect(page, T85);
      await page.locator(".tabs button", { hasText: "All heads" }).click();
      await page.waitForFunction(() => (window as unknown as { sent: Sent[] }).sent.filter((m) => m.type === "getAttention").length >= 17);
      const sizes = await page.locator("seqlens-attention-overview canvas").evaluateAll((cs) => cs.map((c) => c.getBoundingClientRect().width));
      assert.equal(sizes.length, 16);
      for (const s of sizes) assert.ok(s >= 96 && s <= 128, `${width}: a ${s} px thumbnail`);
      assert.deepEqual((await legendTicks(page, "attention-thumbnails"))!.slice(0, 4), ["1e−3", "0.01", "0.1", "1"]);
      // the grid scrolls in its own region; the layer names stay at its left, opaque
      const scroller = page.locator("seqlens-attention-overview .scroll");
      const wide = await scroller.evaluate((s) => s.scrollWidth > s.clientWidth);
      assert.equal(wide, width === 400, `${width}: scrolls sideways`);
      if (wide) {
        await scroller.evaluate((s) => (s.scrollLeft = s.scrollWidth));
        const [label, region] = await Promise.all([page.locator("seqlens-attention-overview .layer").first().evaluate((e) => e.getBoundingClientRect().left), scroller.evaluate((s) => s.getBoundingClientRect().left)]);
        assert.ok(Math.abs(label - region) <= 1, `layer names stay at the left (${label} vs ${region})`);
      }
      const report = await layoutReport(page);
      assert.equal(formatReport(report), "", `${width}`);
      await page.screenshot({ path: path.join(ARTIFACTS, `inspector-thumbnails-${width}.png`) });
    });
  }
});

test("head view: a selected token's row and lines are in view without scrolling, wherever it is in the text", async () => {
  await withInspector("dark", 700, 700, async (page) => {
    await inspect(page, T85);
    await page.locator(".tabs button", { hasText: "Head view" }).click();
    for (const index of [80, 3, 50]) {
      await page.evaluate((i) => window.postMessage({ type: "selectToken", index: i }, "*"), index);
      await page.waitForFunction((i) => (document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-head-view") as unknown as { selected: number }).selected === i, index);
      await page.evaluate(`document.querySelector("seqlens-inspector").shadowRoot.querySelector("seqlens-head-view").updateComplete`);
      const { row, box } = await page.locator("seqlens-head-view").evaluate((h, i) => {
        const c = h.shadowRoot!.querySelector("canvas")!.getBoundingClientRect();
        const s = h.shadowRoot!.querySelector(".scroll")!.getBoundingClientRect();
        return { row: { top: c.top + i * 16 + 2, bottom: c.top + (i + 1) * 16 + 2 }, box: { top: s.top, bottom: s.bottom } };
      }, index);
      const vh = await page.evaluate(() => window.innerHeight);
      assert.ok(row.top >= Math.max(0, box.top) && row.bottom <= Math.min(vh, box.bottom), `token ${index}: row ${row.top}-${row.bottom}, view ${box.top}-${box.bottom}, window 0-${vh}`);
      // its label is drawn in the theme's foreground, its lines in the scale's colours
      const labels = await page.locator("seqlens-head-view canvas").evaluate((c) => (c as unknown as { labelBoxes: unknown[] }).labelBoxes.length);
      assert.equal(labels, 85 * 2);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-head-view-selected.png") });
  });
});

test("the next-token list is whole and reachable: its last row inside the window at 400, 700 and 1,200 px, tall and short", async () => {
  for (const [width, height] of [[400, 900], [700, 900], [1200, 900], [400, 480], [700, 480], [1200, 480]]) {
    await withInspector("dark", width, height, async (page) => {
      await inspect(page, T85);
      const last = page.locator("seqlens-next-token tr").last();
      await last.scrollIntoViewIfNeeded();
      const r = await last.evaluate((e) => e.getBoundingClientRect().toJSON() as DOMRect);
      const { vw, vh } = await page.evaluate(() => ({ vw: document.documentElement.clientWidth, vh: document.documentElement.clientHeight }));
      assert.ok(r.top >= 0 && r.bottom <= vh && r.left >= 0 && r.right <= vw, `${width}x${height}: last row at ${JSON.stringify(r)} in ${vw}x${vh}`);
      // nothing covers it: the point at its first cell is the row's own
      const own = await last.evaluate((row) => {
        const cell = row.querySelector("td")!.getBoundingClientRect();
        let hit: Element | null = document.elementFromPoint(cell.left + 4, cell.top + cell.height / 2);
        while (hit?.shadowRoot) {
          const inner: Element | null = hit.shadowRoot.elementFromPoint(cell.left + 4, cell.top + cell.height / 2);
          if (!inner || inner === hit) break;
          hit = inner;
        }
        return !!hit && row.contains(hit);
      });
      assert.ok(own, `${width}x${height}: the last row is not covered`);
      // and the page can show all of it: no scroll region cuts it
      assert.equal(await page.locator("seqlens-next-token tr").count(), 10);
      if (height === 480) await page.screenshot({ path: path.join(ARTIFACTS, `inspector-next-token-${width}x${height}.png`) });
    });
  }
});

test("layout at 400, 700 and 1,200 px in dark, light and high contrast: no overlapping or clipped text, contrast >= 4.5:1, legends, nothing wider than the panel", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const problems: string[] = [];
  for (const theme of ["dark", "light", "hc"] as const) {
    for (const width of [400, 700, 1200]) {
      await withInspector(theme, width, 900, async (page) => {
        await inspect(page, T85);
        for (const tab of ["Heatmap", "Head view", "All heads"] as const) {
          await page.locator(".tabs button", { hasText: tab }).click();
          if (tab === "All heads") await page.waitForFunction(() => (window as unknown as { sent: Sent[] }).sent.filter((m) => m.type === "getAttention").length >= 17);
          if (tab === "Heatmap") {
            // the crosshair on: its labels are part of the layout
            const g = await geometry(page);
            await page.mouse.move(g.canvas.x + g.canvasW / 2, g.canvas.y + g.canvasH / 2);
            await waitForExpression(page, `${HEATMAP}.hover !== undefined`);
          }
          const report = await layoutReport(page);
          assert.ok(report.counted.texts > 20, `${theme} ${width} ${tab}: ${report.counted.texts} texts looked at`);
          const found = formatReport(report);
          if (found) problems.push(`${theme} ${width} ${tab}:\n${found}`);
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          if (overflow > 0) problems.push(`${theme} ${width} ${tab}: the page is ${overflow} px wider than the panel`);
          const name = { Heatmap: "heatmap", "Head view": "head-view", "All heads": "all-heads" }[tab];
          await page.screenshot({ path: path.join(ARTIFACTS, `inspector-${name}-${theme}-${width}.png`), fullPage: tab === "Heatmap" });
          await page.mouse.move(1, 1);
        }
      });
    }
  }
  assert.equal(problems.join("\n"), "");
});
