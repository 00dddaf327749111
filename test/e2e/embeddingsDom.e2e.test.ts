// The Embeddings panel rendered from fixed data in a real browser (chromium), without VS Code: the
// scatter puts fixed points where their coordinates say, in the theme's colours, with the
// selection's tokens highlighted; labels never overlap at 3,000 points; hover, click, search and
// vector arithmetic send what the host needs; the logit-lens grid shows every layer and position.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EmbeddingsHostToPanel, EmbeddingsView } from "../../protocol/embeddings";
import type { LensResult } from "../../protocol/embeddings";
import { ARTIFACTS } from "./host";
import { openPanelPage, PanelPage } from "./webviewPage";

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

/** The scatter's pixels at CSS position (x, y) of its box, points and overlay composed. */
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
  const box = (await p.page.locator("seqlens-scatter").boundingBox())!;
  const mode = await p.page.locator("seqlens-scatter").evaluate((e) => (e as unknown as { mode: string }).mode);
  // world [-1, 1] fits the smaller side with a 0.92 margin; y goes up
  const s = (Math.min(box.width, box.height) / 2) * 0.92;
  const at = (wx: number, wy: number) => [box.width / 2 + wx * s, box.height / 2 - wy * s] as const;
  const near = (c: number[], want: number[], tol: number) => c.every((v, i) => Math.abs(v - want[i]) <= tol);
  // point 0 at (-1, -1): the foreground, translucent over the background (grey, clearly lighter)
  const c0 = await pixel(...at(-1, -1));
  assert.ok(c0[0] === c0[1] && c0[1] === c0[2] && c0[0] > 0x1e + 30 && c0[0] <= 0xcc, `point 0 (${mode}): ${c0}`);
  // point 4 ("interface", a token of the selection) at the centre: the highlight colour
  const c4 = await pixel(...at(0, 0));
  assert.ok(near(c4, [0xd1, 0x86, 0x16], 12), `highlighted point (${mode}): ${c4}`);
  // halfway between two points: the background
  assert.deepEqual(await pixel(...at(0, -1)), [0x1e, 0x1e, 0x1e]);
  assert.match(await p.page.locator("#summary").innerText(), /5 tokens, PCA 2-D in 3 ms; explained variance 50\.0%, 50\.0%/);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-fixture.png") });
});

test("hover names the token and the host is told; a click asks for its neighbours; + and − build a sum", async () => {
  const box = (await p.page.locator("seqlens-scatter").boundingBox())!;
  const s = (Math.min(box.width, box.height) / 2) * 0.92;
  const x = box.x + box.width / 2 + s;
  const y = box.y + box.height / 2 - s; // point 3 at (1, 1)
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
  await p.page.mouse.click(box.x + box.width / 2 - s, box.y + box.height / 2 + s); // point 0
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
  const box = (await p.page.locator("seqlens-scatter").boundingBox())!;
  const s = (Math.min(box.width, box.height) / 2) * 0.92;
  await p.page.mouse.click(box.x + box.width / 2 + s, box.y + box.height / 2 + s); // point 1 at (1, -1)
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
  const boxes = () => p.page.locator("seqlens-scatter").evaluate((e) => (e as unknown as { labelBoxes: number[][] }).labelBoxes.map((b) => [Math.round(b[0]), Math.round(b[1])]).sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  await drawn();
  const before = await boxes();
  const box = (await p.page.locator("seqlens-scatter").boundingBox())!;
  await p.page.mouse.move(box.x + 40, box.y + 40);
  await p.page.mouse.down();
  await p.page.mouse.move(box.x + 120, box.y + 60, { steps: 5 });
  await p.page.mouse.up();
  await drawn();
  const turned = await boxes();
  assert.notDeepEqual(turned, before, "the labels moved with the points");
  await p.page.locator("seqlens-scatter").focus();
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
  const boxes = await p.page.locator("seqlens-scatter").evaluate((e) => (e as unknown as { labelBoxes: number[][] }).labelBoxes);
  assert.ok(boxes.length > 20, `${boxes.length} labels placed`);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, b] = [boxes[i], boxes[j]];
    assert.ok(!(a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]), `labels ${i} and ${j} overlap`);
  }
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
  const box = (await p.page.locator("seqlens-scatter").boundingBox())!;
  await p.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2); // step 4 at the centre
  await p.page.waitForFunction(() => (window as unknown as { sent: { type: string; index?: number; of?: string }[] }).sent.some((m) => m.type === "hoverPosition" && m.index === 4 && m.of === "steps"));
  assert.match(await p.page.locator("seqlens-scatter .tip").innerText(), /"e"\s+step 4/);
});

test("the logit lens grid: every layer and position, the top 5 on hover, a click picks the position", async () => {
  const cells = p.page.locator("seqlens-lens-grid td");
  assert.equal(await cells.count(), 9);
  assert.match(await cells.first().innerText(), /t000\s+16\.7%/);
  await p.page.locator('seqlens-lens-grid td[data-layer="1"][data-position="2"]').hover();
  const tip = await p.page.locator("seqlens-lens-grid .tip").innerText();
  assert.match(tip, /block 0, after " \{" \(position 2\); the model's final prediction ranks #1 here \(30\.00%\)/);
  assert.equal(tip.split("\n").length, 6);
  await p.page.locator('seqlens-lens-grid td[data-layer="2"][data-position="1"]').click();
  assert.ok((await p.sent()).some((m) => m.type === "revealPosition" && m.index === 1));
  await p.page.locator('select[aria-label="Colour the lens by"]').selectOption("rank");
  assert.match(await p.page.locator('seqlens-lens-grid td[data-layer="0"][data-position="2"]').innerText(), /#5/);
  await p.page.screenshot({ path: path.join(ARTIFACTS, "embeddings-lens.png"), fullPage: true });
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
  const box = (await p.page.locator("seqlens-scatter").boundingBox())!;
  const before = (await p.sent()).filter((m) => m.type === "neighbours").length;
  await p.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2); // point 4, "interface", at the centre
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
