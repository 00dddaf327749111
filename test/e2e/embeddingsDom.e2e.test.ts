// The Embeddings panel rendered from fixed data in a real browser (chromium), without VS Code: the
// scatter puts fixed points where their coordinates say, in the theme's colours, with the
// selection's tokens highlighted; the view fits the bulk of the data (one outlier does not shrink it)
// and fits again on resize; labels never overlap at 3,000 points; the selection's path is coloured
// by position with its legend, its first and last points marked; hover, click, search and vector
// arithmetic send what the host needs; the logit-lens grid shows every layer and position, scrolls
// inside the panel with opaque sticky labels, its hover box stays on screen, its colour has a legend.
// At 400, 700 and 1,200 px in dark, light and high-contrast themes the layout checks pass.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EmbeddingsHostToPanel, EmbeddingsView } from "../../protocol/embeddings";
import type { LensResult } from "../../protocol/embeddings";
import { ARTIFACTS } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";
import { openPanelPage, PanelPage, THEMES } from "./webviewPage";

const texts = ["interface", " Foo", " {"];
let offset = 0;
const tokens = texts.map((t, i) => {
  const start = offset;
  offset += t.length;
  return { id: [4, 1, 2][i], text: t, start, end: offset, byteStart: start, byteEnd: offset };
});
const lens: LensResult = {
  tokens,
  layerNames: ["embeddings", "block 0", "block 1"],
  layers: [0, 1, 2].map((l) => tokens.map((_, t) => [0, 1, 2, 3, 4].map((k) => ({ id: k, token: `t${l}${t}${k}`, p: 0.5 / (k + 1) / (3 - l) })))),
  finalRank: [[3, 2, 5], [2, 1, 1], [1, 1, 1]],
  finalP: [[0.1, 0.2, 0.05], [0.2, 0.4, 0.3], [0.5, 0.6, 0.7]],
  ms: 1,
};
const view: EmbeddingsView = { modelName: "fixture", layers: 3, vocabSize: 5, outputMatrix: "own", recurrentModel: "char-lstm", tokens, lens };
// Five tokens on a square and its centre: (-1,-1) (1,-1) (-1,1) (1,1) (0,0).
const square = Float32Array.from([-1, -1, 1, -1, -1, 1, 1, 1, 0, 0]);
const labels = ["a", "b", "c", "d", "interface"];

let p: PanelPage;

before(async () => {
  p = await openPanelPage("embeddings", "seqlens-embeddings");
});

after(async () => {
  await p?.close();
});

const post = (m: EmbeddingsHostToPanel) => p.post(m);
const lastProject = async () => (await p.sent()).filter((m) => m.type === "project").at(-1) as { requestId: number; source: string; method: string; dims: number; layer?: number };

/** Resolves once the panel and its scatter have rendered what they hold and the scatter has drawn it. */
async function drawn(): Promise<void> {
  await p.page.evaluate(async () => {
    const app = document.querySelector("seqlens-embeddings") as HTMLElement & { updateComplete: Promise<unknown> };
    await app.updateComplete;
    await (app.shadowRoot!.querySelector("seqlens-scatter") as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    // the scatter draws in the animation frame it asked for on update; this one comes after it
    await new Promise((r) => requestAnimationFrame(r));
  });
}

type Box = { x: number; y: number; w: number; h: number; text: string };
const scatter = () => p.page.locator("seqlens-scatter");
/** The plot canvas's box on the page. */
const plotBox = async () => (await p.page.locator("seqlens-scatter canvas.overlay").boundingBox())!;
/** Where point `i` is drawn, in CSS px from the plot canvas's corner. */
const pointAt = (i: number) => scatter().evaluate((e, j) => (e as unknown as { pointAt(i: number): { x: number; y: number } }).pointAt(j), i);
/** Where point `i` is drawn, on the page (for the mouse). */
async function onPage(i: number): Promise<{ x: number; y: number }> {
  const b = await plotBox();
  const pt = await pointAt(i);
  return { x: b.x + pt.x, y: b.y + pt.y };
}
/** The labels the plot canvas reports, in CSS px from its corner. */
const labelBoxes = () => p.page.locator("seqlens-scatter canvas.overlay").evaluate((c) => (c as HTMLCanvasElement & { labelBoxes: Box[] }).labelBoxes);
const overlapping = (boxes: Box[]) => {
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) return `'${a.text}' and '${b.text}' overlap`;
    }
  return "";
};

/** The scatter's pixels at CSS position (x, y) of its plot canvas, points and overlay composed. */
async function pixel(x: number, y: number): Promise<number[]> {
  return p.page.evaluate(([px, py]) => {
    const sc = document.querySelector("seqlens-embeddings")!.shadowRoot!.querySelector("seqlens-scatter")!;
    const url = (sc as unknown as { toDataUrl(): string }).toDataUrl();
    return new Promise<number[]>((resolve) => {
      const img = new Image();
      img.onload = () => {
        const c = document.createElement("canvas");
        c.width = img.width;
        c.height = img.height;
        const ctx = c.getContext("2d")!;
        ctx.drawImage(img, 0, 0);
        const dpr = window.devicePixelRatio || 1;
        resolve(Array.from(ctx.getImageData(Math.round(px * dpr), Math.round(py * dpr), 1, 1).data.slice(0, 3)));
      };
      img.src = url;
    });
  }, [x, y]);
}

test("fixed points land where their coordinates say, the selection's token in the highlight colour", async () => {
  await post({ type: "view", view });
  const ask = await lastProject();
  assert.deepEqual([ask.source, ask.method, ask.dims], ["vocabulary", "pca", 2]);
  await post({ type: "projection", requestId: ask.requestId, source: "vocabulary", method: "pca", dims: 2, coords: square, ids: Int32Array.from([0, 1, 2, 3, 4]), labels, explained: [0.5, 0.5], cached: false, ms: 3 });
  await p.page.waitForFunction(() => Number(document.body.dataset.scatterPaintedAt ?? 0) > 0);
  await drawn();
  const box = await plotBox();
  const mode = await scatter().evaluate((e) => (e as unknown as { mode: string }).mode);
  // each axis fits the canvas less a small margin; y goes up
  const pts = await Promise.all([0, 1, 2, 3, 4].map(pointAt));
  assert.ok(pts[0].x < 0.06 * box.width && pts[1].x > 0.94 * box.width, `x: ${pts[0].x}, ${pts[1].x} of ${box.width}`);
  assert.ok(pts[2].y < 0.06 * box.height && pts[0].y > 0.94 * box.height, `y: ${pts[2].y}, ${pts[0].y} of ${box.height}`);
  assert.ok(Math.abs(pts[4].x - box.width / 2) < 1 && Math.abs(pts[4].y - box.height / 2) < 1, `centre ${JSON.stringify(pts[4])}`);
  assert.ok(Math.abs(pts[3].x - pts[1].x) < 0.5 && Math.abs(pts[3].y - pts[2].y) < 0.5);
  const near = (c: number[], want: number[], tol: number) => c.every((v, i) => Math.abs(v - want[i]) <= tol);
  // point 0 at (-1, -1): the foreground, translucent over the background (grey, clearly lighter)
  const c0 = await pixel(pts[0].x, pts[0].y);
  assert.ok(c0[0] === c0[1] && c0[1] === c0[2] && c0[0] > 0x1e + 30 && c0[0] <= 0xcc, `point 0 (${mode}): ${c0}`);
  // point 4 ("interface", a token of the selection) at the centre: the highlight colour
  const c4 = await pixel(pts[4].x, pts[4].y);
  assert.ok(near(c4, [0xd1, 0x86, 0x16], 12), `highlighted point (${mode}): ${c4}`);
  // halfway between two points: the background
  assert.deepEqual(await pixel((pts[0].x + pts[1].x) / 2, pts[0].y), [0x1e, 0x1e, 0x1e]);
  // the plot is a scatter, not a colour map; the key names the highlight
  assert.equal(await p.page.locator("seqlens-scatter canvas.overlay").getAttribute("data-chart"), "scatter");
  assert.match(await p.page.locator("seqlens-scatter .plot-bar").innerText(), /tokens of the selection/);
  assert.match(await p.page.locator("#summary").innerText(), /5 tokens, PCA 2-D in 3 ms; explained variance 50\.0%, 50\.0%/);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-fixture.png") });
});

test("hover names the token and the host is told; a click asks for its neighbours; + and − build a sum", async () => {
  const { x, y } = await onPage(3); // point 3 at (1, 1)
  await p.page.mouse.move(x, y);
  await p.page.waitForFunction(() => (window as unknown as { sent: { type: string; id?: number }[] }).sent.some((m) => m.type === "hoverToken" && m.id === 3));
  assert.match(await p.page.locator("seqlens-scatter .tip").innerText(), /"d"\s+id 3/);
  await p.page.mouse.click(x, y);
  const ask = (await p.sent()).filter((m) => m.type === "neighbours").at(-1) as { requestId: number; plus: number[]; minus: number[]; metric: string };
  assert.deepEqual([ask.plus, ask.minus, ask.metric], [[3], [], "cosine"]);
  await post({ type: "neighbours", requestId: ask.requestId, metric: "cosine", neighbours: [{ id: 1, token: "b", score: 0.9 }, { id: 2, token: "c", score: 0.5 }] });
  await p.page.locator("aside li", { hasText: "b" }).waitFor();
  assert.deepEqual(await p.page.locator("aside ol").first().locator("li button").allTextContents(), ["b", "c"]);
  await p.page.locator("vscode-button", { hasText: "+ picked" }).click();
  const p0 = await onPage(0);
  await p.page.mouse.click(p0.x, p0.y); // point 0
  await p.page.locator("vscode-button", { hasText: "− picked" }).click();
  const sum = (await p.sent()).filter((m) => m.type === "neighbours").at(-1) as { plus: number[]; minus: number[] };
  assert.deepEqual([sum.plus, sum.minus], [[3], [0]]);
  assert.equal(await p.page.locator(".terms").innerText(), "d\n− a");
});

test("a model with its own output projection offers it as a second vocabulary; its neighbours come from it", async () => {
  await p.page.locator('select[aria-label="Matrix"]').selectOption("output");
  const ask = await lastProject();
  assert.equal((ask as { matrix?: string }).matrix, "output");
  await post({ type: "projection", requestId: ask.requestId, source: "vocabulary", matrix: "output", method: "pca", dims: 2, coords: square, ids: Int32Array.from([0, 1, 2, 3, 4]), labels, cached: false, ms: 2 });
  await p.page.locator("#summary", { hasText: "of the output projection" }).waitFor();
  await drawn();
  const p1 = await onPage(1);
  await p.page.mouse.click(p1.x, p1.y); // point 1 at (1, -1)
  const n = (await p.sent()).filter((m) => m.type === "neighbours").at(-1) as { plus: number[]; matrix?: string };
  assert.deepEqual([n.plus, n.matrix], [[1], "output"]);
  await p.page.locator('select[aria-label="Matrix"]').selectOption("input");
});

test("3-D: a drag turns the cloud (points move on screen), shift-drag pans, 0 resets", async () => {
  await p.page.locator('select[aria-label="Dimensions"]').selectOption("3");
  const ask = await lastProject();
  assert.equal(ask.dims, 3);
  // a cube's corners
  const cube = Float32Array.from([-1, -1, -1, 1, -1, -1, -1, 1, -1, 1, 1, -1, -1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1, 1]);
  await post({ type: "projection", requestId: ask.requestId, source: "vocabulary", matrix: "input", method: "pca", dims: 3, coords: cube, ids: Int32Array.from({ length: 8 }, (_, i) => i), labels: Array.from({ length: 8 }, (_, i) => `c${i}`), cached: false, ms: 1 });
  await p.page.locator("#summary", { hasText: "PCA 3-D" }).waitFor();
  const boxes = async () => (await labelBoxes()).map((b) => [Math.round(b.x), Math.round(b.y)]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  await drawn();
  const before = await boxes();
  const box = await plotBox();
  await p.page.mouse.move(box.x + 40, box.y + 40);
  await p.page.mouse.down();
  await p.page.mouse.move(box.x + 120, box.y + 60, { steps: 5 });
  await p.page.mouse.up();
  await drawn();
  const turned = await boxes();
  assert.notDeepEqual(turned, before, "the labels moved with the points");
  await scatter().focus();
  await p.page.keyboard.press("0");
  await p.page.locator('select[aria-label="Dimensions"]').selectOption("2");
  const back = await lastProject();
  await post({ type: "projection", requestId: back.requestId, source: "vocabulary", method: "pca", dims: 2, coords: square, ids: Int32Array.from([0, 1, 2, 3, 4]), labels, cached: true, ms: 1 });
  await p.page.locator("#summary", { hasText: "PCA 2-D" }).waitFor();
});

test("search by substring and by /regex/; a bad regex says why", async () => {
  const input = p.page.locator('input[aria-label="Search tokens"]');
  await input.fill("inter");
  assert.equal(await p.page.locator("#match-count").innerText(), "1 match");
  await input.fill("/^[a-c]$/");
  assert.equal(await p.page.locator("#match-count").innerText(), "3 matches");
  await input.fill("/([/");
  assert.match(await p.page.locator("#match-count").innerText(), /Invalid regular expression/);
  await input.fill("");
});

test("labels never overlap at 3,000 points, and the selection mode asks for the layer with a polyline", async () => {
  let seed = 9;
  const r = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const n = 3000;
  await p.page.locator("button[role=tab]", { hasText: "Selection" }).click();
  const ask = await lastProject();
  assert.deepEqual([ask.source, ask.layer], ["selection", 2]);
  // answer with the vocabulary-sized cloud anyway: the label test wants many points
  await post({ type: "projection", requestId: ask.requestId, source: "vocabulary", method: "pca", dims: 2, coords: Float32Array.from({ length: 2 * n }, r), ids: Int32Array.from({ length: n }, (_, i) => i), labels: Array.from({ length: n }, (_, i) => `token${i}`), cached: true, ms: 1 });
  await p.page.locator("#summary", { hasText: "3000 tokens" }).waitFor();
  await drawn();
  const boxes = await labelBoxes();
  assert.ok(boxes.length > 20, `${boxes.length} labels placed`);
  assert.equal(overlapping(boxes), "");
  // each label whole inside the canvas (one at the right edge goes left of its point)
  const box = await plotBox();
  assert.deepEqual(boxes.filter((b) => b.x < 0 || b.x + b.w > box.width + 0.5 || b.y < 0 || b.y + b.h > box.height + 0.5), []);
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-labels.png") });
});

test("a recurrent model's h_t over the selection's characters: its own layer picker, hover names the step", async () => {
  await p.page.locator("button[role=tab]", { hasText: "Recurrent h_t (char-lstm)" }).click();
  const ask = await lastProject();
  assert.deepEqual([ask.source, ask.layer], ["recurrent", undefined], "the engine picks the default layer first");
  const chars = ["a", "b", "c", "d", "e"];
  await post({ type: "projection", requestId: ask.requestId, source: "recurrent", method: "pca", dims: 2, layer: 1, layerNames: ["layer 0 · forward · lstm · 8 units", "layer 1 · forward · lstm · 8 units"], coords: square, ids: Int32Array.from(chars, (c) => c.codePointAt(0)!), labels: chars, cached: false, ms: 4 });
  await p.page.locator("#summary", { hasText: "5 steps of h_t, layer 1 · forward · lstm · 8 units" }).waitFor();
  await p.page.locator('select[aria-label="Recurrent layer"]').selectOption("0");
  assert.deepEqual([(await lastProject()).source, (await lastProject()).layer], ["recurrent", 0]);
  await drawn();
  const p4 = await onPage(4);
  await p.page.mouse.move(p4.x, p4.y); // step 4 at the centre
  await p.page.waitForFunction(() => (window as unknown as { sent: { type: string; index?: number; of?: string }[] }).sent.some((m) => m.type === "hoverPosition" && m.index === 4 && m.of === "steps"));
  assert.match(await p.page.locator("seqlens-scatter .tip").innerText(), /"e"\s+step 4/);
});

test("the logit lens grid: every layer and position, the top 5 on hover, a click picks the position", async () => {
  await p.page.locator("button[role=tab]", { hasText: "Logit lens" }).click();
  const cells = p.page.locator("seqlens-lens-grid table[role=grid] td");
  assert.equal(await cells.count(), 9);
  assert.match(await cells.first().innerText(), /t000\s+16\.7%/);
  await p.page.locator('seqlens-lens-grid td[data-layer="1"][data-position="2"]').hover();
  const tip = await p.page.locator("seqlens-lens-grid .tip").innerText();
  assert.match(tip, /block 0, after "·\{" \(position 2\); the model's final prediction ranks #1 here \(30\.00%\)/);
  assert.equal(tip.split("\n").length, 6);
  await p.page.locator('seqlens-lens-grid td[data-layer="2"][data-position="1"]').click();
  assert.ok((await p.sent()).some((m) => m.type === "revealPosition" && m.index === 1));
  await p.page.locator('select[aria-label="Colour the lens by"]').selectOption("rank");
  assert.match(await p.page.locator('seqlens-lens-grid td[data-layer="0"][data-position="2"]').innerText(), /#5/);
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-lens.png"), fullPage: true });
  await p.page.locator("button[role=tab]", { hasText: "Vocabulary" }).click();
});


test("nearest tokens: the heading keeps the token as written, whitespace shows as in every panel, twelve neighbours numbered whole", async () => {
  // a 2-D projection of the five fixed points of its own
  const count = (await p.sent()).filter((m) => m.type === "project").length;
  await p.page.locator('select[aria-label="Dimensions"]').selectOption("2");
  await p.page.waitForFunction((n) => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "project").length > n, count);
  const proj = await lastProject();
  await post({ type: "projection", requestId: proj.requestId, source: "vocabulary", method: "pca", dims: 2, coords: square, ids: Int32Array.from([0, 1, 2, 3, 4]), labels, explained: [0.5, 0.5], cached: false, ms: 3 });
  await p.page.locator("#summary", { hasText: "PCA 2-D" }).waitFor();
  await drawn();
  const before = (await p.sent()).filter((m) => m.type === "neighbours").length;
  const p4 = await onPage(4);
  await p.page.mouse.click(p4.x, p4.y); // point 4, "interface", at the centre
  await p.page.waitForFunction((n) => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "neighbours").length > n, before);
  const ask = (await p.sent()).filter((m) => m.type === "neighbours").at(-1) as { requestId: number; plus: number[] };
  assert.deepEqual(ask.plus, [4]);
  const neighbours = Array.from({ length: 12 }, (_, i) => ({ id: 100 + i, token: i === 0 ? " space" : i === 1 ? "line\n" : `t${i}`, score: 0.9 - i * 0.01 }));
  await post({ type: "neighbours", requestId: ask.requestId, metric: "cosine", neighbours });
  await p.page.locator("aside li", { hasText: "t11" }).waitFor();
  // as written: the heading's upper-casing used to show "INTERFACE"
  assert.match(await p.page.locator("aside h2", { hasText: "Nearest tokens" }).innerText(), / "interface"$/);
  const items = p.page.locator("aside ol").first().locator("li button");
  assert.deepEqual((await items.allTextContents()).slice(0, 2), ["·space", "line↵"]);
  // the list leaves its markers (10., 11., 12.) room inside the aside
  const room = await p.page.evaluate(() => {
    const ol = document.querySelector("seqlens-embeddings")!.shadowRoot!.querySelector("aside ol")!;
    return ol.getBoundingClientRect().left + parseFloat(getComputedStyle(ol).paddingLeft) - ol.closest("aside")!.getBoundingClientRect().left;
  });
  assert.ok(room >= 28, `${room} px for the numbers`);
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-neighbours.png") });
});

// ---------------------------------------------------------------------------------------------
// Fit, path, lens at the size of a real selection, and the layout checks at every width and theme.

let seed = 7;
const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const WORDS = ["interface", " Shape", " {", "\n", "  ", " area", "(", "):", " number", ";", "\n ", " name", " string", " }", " export", " function", " const", " return", " =>", " width", " height", " Foo"];
/** 85 tokens of a selection, their logit lens (five layers, a long top token now and then), a vocabulary of 4,096 in three clusters and one far outlier, and a random walk through the 85 positions. */
function bigFixture() {
  seed = 7;
  const T = 85;
  let off = 0;
  const toks = Array.from({ length: T }, (_, i) => {
    const t = WORDS[i % WORDS.length];
    const start = off;
    off += t.length;
    return { id: 100 + (i % WORDS.length), text: t, start, end: off, byteStart: start, byteEnd: off };
  });
  const layerNames = ["embeddings", "block 0", "block 1", "block 2", "block 3"];
  const bigLens: LensResult = {
    tokens: toks,
    layerNames,
    layers: layerNames.map((_, l) => toks.map((_, t) => [0, 1, 2, 3, 4].map((k) => ({ id: k, token: WORDS[(t + k + l) % WORDS.length] + (k === 0 && t % 7 === 0 ? "EventListenerOrEventListenerObject" : ""), p: Math.min(0.95, (0.15 + 0.2 * l + 0.3 * rand()) / (k + 1)) })))),
    finalRank: layerNames.map((_, l) => toks.map(() => Math.max(1, Math.round((4 - l) * 30 * rand())))),
    finalP: layerNames.map((_, l) => toks.map(() => 0.1 + 0.2 * l * rand())),
    ms: 3,
  };
  const V = 4096;
  const vocab = new Float32Array(2 * V);
  for (let i = 0; i < V; i++) {
    const c = i % 3;
    vocab[2 * i] = gauss() * (c === 0 ? 1 : 0.5) + c * 2;
    vocab[2 * i + 1] = gauss() * 0.4 + (c === 1 ? 1.5 : 0);
  }
  [vocab[2 * 4000], vocab[2 * 4000 + 1]] = [60, -40]; // one far outlier
  const vocabLabels = Array.from({ length: V }, (_, i) => (i % 5 === 0 ? " " : "") + ["the", "ing", "tion", "\n", "er", "Shape", "{", "area"][i % 8] + (i % 8 === 3 ? "" : i));
  const walk = new Float32Array(2 * T);
  let [x, y] = [0, 0];
  for (let i = 0; i < T; i++) {
    x += gauss();
    y += gauss();
    [walk[2 * i], walk[2 * i + 1]] = [x, y];
  }
  const bigView: EmbeddingsView = { modelName: "tiny-gpt", layers: 5, vocabSize: V, outputMatrix: "tied", tokens: toks, lens: bigLens };
  return { bigView, toks, vocab, vocabLabels, walk };
}

/** The text a component renders in its shadow root (a legend's title and ticks). */
const shadowText = (l: ReturnType<PanelPage["page"]["locator"]>) => l.evaluate((e) => e.shadowRoot!.textContent!.replace(/\s+/g, " "));

/** How much of the plot the points `indices` span: their bounding box over the canvas's width and height. */
async function coverage(indices: number[]): Promise<{ w: number; h: number }> {
  const box = await plotBox();
  const pts = await scatter().evaluate((e, ix) => ix.map((i) => (e as unknown as { pointAt(i: number): { x: number; y: number } }).pointAt(i)), indices);
  const xs = pts.map((q) => q.x);
  const ys = pts.map((q) => q.y);
  return { w: (Math.max(...xs) - Math.min(...xs)) / box.width, h: (Math.max(...ys) - Math.min(...ys)) / box.height };
}

/** Waits until the scatter has painted after `since` (a value of document.body.dataset.scatterPaintedAt) at its present size. */
async function repainted(since: string | undefined): Promise<void> {
  await p.page.waitForFunction((t) => {
    const sc = document.querySelector("seqlens-embeddings")!.shadowRoot!.querySelector("seqlens-scatter")!;
    const c = sc.shadowRoot!.querySelector("canvas.overlay") as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    return document.body.dataset.scatterPaintedAt !== t && Math.abs(c.width - Math.round(r.width * devicePixelRatio)) <= 1;
  }, since);
  await drawn();
}
const paintedAt = () => p.page.evaluate(() => document.body.dataset.scatterPaintedAt);

test("the view fits the bulk of the data: an elongated cloud fills both axes, one far outlier is counted and marked, not fitted; Fit all, zoom and Fit; a resize fits again", async () => {
  await post({ type: "view", view });
  await p.page.locator('select[aria-label="Projection method"]').selectOption("umap");
  const ask = await lastProject();
  assert.equal(ask.method, "umap");
  // 400 points ten times wider than tall (as PCA's first two components are), and one far away
  seed = 3;
  const n = 400;
  const coords = new Float32Array(2 * (n + 1));
  for (let i = 0; i < n; i++) [coords[2 * i], coords[2 * i + 1]] = [gauss() * 10, gauss()];
  [coords[2 * n], coords[2 * n + 1]] = [2000, -1500];
  const bulk = Array.from({ length: n }, (_, i) => i);
  let since = await paintedAt();
  await post({ type: "projection", requestId: ask.requestId, source: "vocabulary", method: "umap", dims: 2, coords, ids: Int32Array.from({ length: n + 1 }, (_, i) => i), labels: Array.from({ length: n + 1 }, (_, i) => `w${i}`), cached: false, ms: 5 });
  await p.page.locator("#summary", { hasText: "UMAP 2-D" }).waitFor();
  await repainted(since);
  const fitted = await coverage(bulk);
  assert.ok(fitted.w >= 0.7 && fitted.h >= 0.7, `the bulk spans ${(fitted.w * 100).toFixed(0)}% × ${(fitted.h * 100).toFixed(0)}% of the plot`);
  assert.equal(await p.page.locator("seqlens-scatter .outside").innerText(), "1 point outside the view");
  const out = await pointAt(n);
  const box = await plotBox();
  assert.ok(out.x > box.width && out.y > box.height, `the outlier lies beyond the plot: ${JSON.stringify(out)}`);
  // the selection's tokens (ids 4, 1, 2) are labelled; no two labels overlap, none leaves the canvas
  const labels = await labelBoxes();
  for (const id of [1, 2, 4]) assert.ok(labels.some((b) => b.text === `w${id}`), `w${id} labelled`);
  assert.equal(overlapping(labels), "");
  assert.deepEqual(labels.filter((b) => b.x < 0 || b.x + b.w > box.width + 0.5), []);
  // Fit all: the outlier in view, the bulk squeezed (what the panel used to show)
  since = await paintedAt();
  await p.page.locator("seqlens-scatter button.fit-all").click();
  await repainted(since);
  const all = await coverage(bulk);
  assert.ok(all.w < 0.1, `fit all: the bulk spans ${(all.w * 100).toFixed(1)}% of the width`);
  assert.equal(await p.page.locator("seqlens-scatter .outside").innerText(), "");
  // zoomed in, then Fit: back to the fitted view
  since = await paintedAt();
  await p.page.locator("seqlens-scatter button.fit").click();
  await repainted(since);
  const b = await plotBox();
  since = await paintedAt();
  await p.page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
  await p.page.mouse.wheel(0, -400);
  await repainted(since);
  const zoomed = await coverage(bulk);
  assert.ok(zoomed.w > 1.2, `zoomed in: ${zoomed.w}`);
  since = await paintedAt();
  await p.page.locator("seqlens-scatter button.fit").click();
  await repainted(since);
  assert.deepEqual(await coverage(bulk), fitted);
  // a narrower panel: the plot shrinks and the bulk fills it again
  since = await paintedAt();
  await p.page.setViewportSize({ width: 560, height: 900 });
  await repainted(since);
  const narrow = await plotBox();
  assert.ok(narrow.width < box.width - 100, `${narrow.width} < ${box.width}`);
  const refit = await coverage(bulk);
  assert.ok(refit.w >= 0.7 && refit.h >= 0.7, `after the resize the bulk spans ${(refit.w * 100).toFixed(0)}% × ${(refit.h * 100).toFixed(0)}%`);
  assert.equal(overlapping(await labelBoxes()), "");
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-fit-outlier.png") });
  await p.page.setViewportSize({ width: 1100, height: 900 });
});

test("the selection's path is coloured by position from first to last, with its legend; the first and last points are marked", async () => {
  const T = 85;
  const toks = Array.from({ length: T }, (_, i) => ({ id: 10 + i, text: `p${i}`, start: i, end: i + 1, byteStart: i, byteEnd: i + 1 }));
  await post({ type: "view", view: { ...view, tokens: toks, lens: undefined } });
  await p.page.locator("button[role=tab]", { hasText: "Selection" }).click();
  const ask = await lastProject();
  assert.equal(ask.source, "selection");
  // a diagonal: no segment crosses another
  const coords = Float32Array.from({ length: 2 * T }, (_, k) => Math.floor(k / 2));
  const since = await paintedAt();
  await post({ type: "projection", requestId: ask.requestId, source: "selection", method: "pca", dims: 2, layer: 2, coords, ids: Int32Array.from(toks, (t) => t.id), labels: toks.map((t) => t.text), cached: false, ms: 2 });
  await p.page.locator("#summary", { hasText: "85 positions at layer 2" }).waitFor();
  await repainted(since);
  const overlay = p.page.locator("seqlens-scatter canvas.overlay");
  assert.equal(await overlay.getAttribute("data-colormap"), "position");
  const legend = p.page.locator('seqlens-scatter seqlens-color-legend[for="position"]');
  assert.ok(await legend.isVisible());
  assert.match(await shadowText(legend), /position in the selection[\s\S]*0[\s\S]*42[\s\S]*84/);
  // the points' colours follow the theme's ramp from the background (t = 0.2 at position 0) to orange (t = 1 at the last)
  const bg = [0x1e, 0x1e, 0x1e];
  const orange = [0xd1, 0x86, 0x16];
  const expect = (i: number) => bg.map((v, k) => v + (orange[k] - v) * (0.2 + (0.8 * i) / (T - 1)));
  const boxes = await labelBoxes();
  const free = async (i: number) => {
    const q = await pointAt(i);
    return !boxes.some((b) => q.x > b.x - 4 && q.x < b.x + b.w + 4 && q.y > b.y - 4 && q.y < b.y + b.h + 4);
  };
  const seen: { i: number; c: number[] }[] = [];
  for (const range of [[2, 20], [35, 50], [65, 82]]) {
    let i = range[0];
    while (i < range[1] && !(await free(i))) i++;
    assert.ok(i < range[1], `a point between ${range[0]} and ${range[1]} without a label over it`);
    const q = await pointAt(i);
    const c = await pixel(q.x, q.y);
    assert.ok(c.every((v, k) => Math.abs(v - expect(i)[k]) <= 24), `position ${i}: ${c}, expected about ${expect(i).map(Math.round)}`);
    seen.push({ i, c });
  }
  const dist = (c: number[]) => Math.hypot(...c.map((v, k) => v - bg[k]));
  assert.ok(dist(seen[0].c) < dist(seen[1].c) && dist(seen[1].c) < dist(seen[2].c), `later positions are stronger: ${seen.map((s) => `${s.i}: ${s.c}`).join("; ")}`);
  // the first point: a ring with the background inside; the last: a square in the ramp's strongest colour
  const first = await pointAt(0);
  assert.deepEqual(await pixel(first.x, first.y), bg);
  const last = await pointAt(T - 1);
  const end = await pixel(last.x + 3, last.y + 3);
  assert.ok(end.every((v, k) => Math.abs(v - orange[k]) <= 12), `last: ${end}`);
  assert.match(await p.page.locator("seqlens-scatter .plot-bar").innerText(), /first[\s\S]*last/);
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-path.png") });
});

test("the logit lens of 85 tokens: it scrolls in a region as wide as the panel, its sticky labels are opaque, the hover box stays on screen after scrolling, tokens show whitespace, its colour has a legend", async () => {
  const { bigView } = bigFixture();
  await p.page.setViewportSize({ width: 700, height: 900 });
  await post({ type: "view", view: bigView });
  await p.page.locator("button[role=tab]", { hasText: "Logit lens" }).click();
  const region = p.page.locator("seqlens-lens-grid .scroll");
  await region.waitFor();
  const geometry = await region.evaluate((e) => ({ width: e.getBoundingClientRect().right, panel: document.documentElement.clientWidth, scrolls: e.scrollWidth > e.clientWidth + 100, pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth }));
  assert.ok(geometry.width <= geometry.panel, `the region ends at ${geometry.width} px in a ${geometry.panel} px panel`);
  assert.ok(geometry.scrolls && !geometry.pageScrolls, JSON.stringify(geometry));
  // scrolled far right: the row labels stay at the region's left edge, opaque and on top of the cells
  await region.evaluate((e) => (e.scrollLeft = 2000));
  const sticky = await p.page.locator("seqlens-lens-grid").evaluate((grid) => {
    const root = grid.shadowRoot!;
    const scroll = root.querySelector(".scroll")!.getBoundingClientRect();
    return [...root.querySelectorAll("thead th.corner, tbody th")].map((th) => {
      const r = th.getBoundingClientRect();
      const s = getComputedStyle(th);
      const hit = root.elementFromPoint(r.left + 4, r.top + r.height / 2);
      return { text: th.textContent, background: s.backgroundColor, position: s.position, left: Math.round(r.left - scroll.left), onTop: hit === th || th.contains(hit) };
    });
  });
  for (const s of sticky) {
    assert.equal(s.position, "sticky", JSON.stringify(s));
    assert.match(s.background, /^rgb\(/, `opaque: ${JSON.stringify(s)}`);
    assert.ok(s.onTop, `${s.text} is on top of the cells scrolled under it`);
  }
  assert.equal(sticky.length, 6);
  assert.ok(sticky.every((s) => s.left <= 1), JSON.stringify(sticky));
  // hover a cell at the right of the scrolled region: the top 5 lands inside the panel
  const target = await p.page.locator("seqlens-lens-grid").evaluate((grid) => {
    const root = grid.shadowRoot!;
    const scroll = root.querySelector(".scroll")!.getBoundingClientRect();
    const cells = [...root.querySelectorAll<HTMLElement>('td[data-layer="2"]')].filter((td) => td.getBoundingClientRect().right <= scroll.right - 2);
    const td = cells.at(-1)!;
    const r = td.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2, position: Number(td.dataset.position) };
  });
  await p.page.mouse.move(target.x, target.y);
  const tip = p.page.locator("seqlens-lens-grid .tip");
  await tip.waitFor({ state: "visible" });
  const tb = (await tip.boundingBox())!;
  assert.ok(tb.x >= 0 && tb.x + tb.width <= 700 && tb.y >= 0 && tb.y + tb.height <= 900, `tip at ${JSON.stringify(tb)}`);
  const text = await tip.innerText();
  assert.match(text, new RegExp(`\\(position ${target.position}\\)`));
  assert.equal(text.split("\n").length, 6, text);
  // every token as every panel writes it: ↵ for a newline, · for a space, in the cells, the headers and the hover box
  const tipTokens = async () => p.page.locator("seqlens-lens-grid .tip .tok").allInnerTexts();
  assert.deepEqual((await tipTokens()).filter((t) => /\s|\\n/.test(t)), [], text);
  assert.match(text, /after "[^"\s]+"/);
  for (const t of [3, 25]) {
    await p.page.locator(`seqlens-lens-grid td[data-layer="0"][data-position="${t}"]`).hover();
    const tt = await tip.innerText();
    assert.match(tt, /↵/, tt);
    assert.ok(!tt.includes("\\n"), tt);
  }
  await p.page.locator('seqlens-lens-grid td[data-layer="0"][data-position="21"]').hover();
  assert.match(await tip.innerText(), /after "·Foo"[\s\S]*·Foo/);
  const headers = await p.page.locator("seqlens-lens-grid thead th").allInnerTexts();
  assert.equal(headers[1 + 3], "↵");
  assert.equal(headers[1 + 21], "·Foo");
  // a long token is cut to fit its cell with an ellipsis; the full text is in its label and the hover box
  const long = p.page.locator('seqlens-lens-grid td[data-layer="0"][data-position="0"]');
  assert.match(await long.innerText(), /…/);
  assert.match((await long.getAttribute("aria-label")) ?? "", /EventListenerOrEventListenerObject/);
  // the colour's legend, for probability and then for rank
  await p.page.locator('select[aria-label="Colour the lens by"]').selectOption("p");
  const legend = p.page.locator('seqlens-lens-grid seqlens-color-legend[for="logit-lens"]');
  assert.match(await shadowText(legend), /probability of the top token[\s\S]*0%[\s\S]*100%/);
  assert.equal(await p.page.locator("seqlens-lens-grid table[role=grid]").getAttribute("data-colormap"), "logit-lens");
  await p.page.locator('select[aria-label="Colour the lens by"]').selectOption("rank");
  assert.match(await shadowText(legend), /rank of the model's final prediction[\s\S]*#100[\s\S]*#1/);
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-lens-scrolled.png") });
  await p.page.locator('select[aria-label="Colour the lens by"]').selectOption("p");
  await p.page.mouse.move(5, 5);
  await tip.waitFor({ state: "hidden" });
  const report = await layoutReport(p.page);
  assert.equal(formatReport(report), "");
  await p.page.setViewportSize({ width: 1100, height: 900 });
});

test("at 400, 700 and 1,200 px in dark, light and high-contrast themes: no overlapping or clipped text, contrast of at least 4.5:1, a legend for every colour map (vocabulary, selection, logit lens)", async () => {
  const { bigView, toks, vocab, vocabLabels, walk } = bigFixture();
  const failures: string[] = [];
  for (const [theme, vars] of Object.entries(THEMES)) {
    const pp = await openPanelPage("embeddings", "seqlens-embeddings", vars(), { width: 1200, height: 900 });
    try {
      const answered = new Set<number>();
      /** Answers the project request not yet answered, if any, as the host would for its source. */
      const answer = async () => {
        const ask = (await pp.sent()).filter((m) => m.type === "project").at(-1) as { requestId: number; source: string };
        if (!ask || answered.has(ask.requestId)) return;
        answered.add(ask.requestId);
        if (ask.source === "vocabulary") await pp.post({ type: "projection", requestId: ask.requestId, source: "vocabulary", method: "pca", dims: 2, coords: vocab, ids: Int32Array.from({ length: vocabLabels.length }, (_, i) => i), labels: vocabLabels, explained: [0.12, 0.08], cached: false, ms: 40 });
        else await pp.post({ type: "projection", requestId: ask.requestId, source: "selection", method: "pca", dims: 2, layer: 4, coords: walk, ids: Int32Array.from(toks, (t) => t.id), labels: toks.map((t) => t.text), explained: [0.3, 0.2], cached: false, ms: 4 });
        await pp.page.locator("seqlens-embeddings #summary", { hasText: ask.source === "vocabulary" ? "4096 tokens" : "85 positions" }).waitFor();
      };
      await pp.post({ type: "view", view: bigView });
      await answer();
      for (const width of [400, 700, 1200]) {
        await pp.page.setViewportSize({ width, height: 900 });
        for (const name of ["vocabulary", "selection", "lens"]) {
          await pp.page.locator("button[role=tab]", { hasText: name === "lens" ? "Logit lens" : name === "vocabulary" ? "Vocabulary" : "Selection" }).click();
          await answer();
          // the scatter has painted at its present size (or is hidden behind the lens)
          await pp.page.waitForFunction(() => {
            const sc = document.querySelector("seqlens-embeddings")!.shadowRoot!.querySelector("seqlens-scatter")!;
            const c = sc.shadowRoot!.querySelector("canvas.overlay") as HTMLCanvasElement;
            const r = c.getBoundingClientRect();
            return r.width === 0 || Math.abs(c.width - Math.round(r.width * devicePixelRatio)) <= 1;
          });
          await pp.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
          const report = await layoutReport(pp.page);
          await pp.page.screenshot({ path: path.join(ARTIFACTS, `embeddings-${name}-${theme}-${width}.png`), fullPage: true });
          const text = formatReport(report);
          if (text) failures.push(`${name} ${theme} ${width}px:\n${text}`);
          if (report.counted.texts < 10) failures.push(`${name} ${theme} ${width}px: only ${report.counted.texts} texts on screen`);
          if (name !== "lens" && report.counted.canvases < 2) failures.push(`${name} ${theme} ${width}px: the scatter's canvases are not on screen`);
          if (name !== "lens") {
            const labels = await pp.page.locator("seqlens-scatter canvas.overlay").evaluate((c) => (c as HTMLCanvasElement & { labelBoxes: Box[] }).labelBoxes.length);
            if (labels < 10) failures.push(`${name} ${theme} ${width}px: ${labels} labels`);
          }
        }
      }
    } finally {
      await pp.close();
    }
  }
  assert.deepEqual(failures, [], failures.join("\n\n"));
});
