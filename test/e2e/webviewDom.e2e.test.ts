// The Inspector's components rendered from fixed data in a real browser (chromium), without VS Code:
// the built bundle on a page with a stand-in for the webview API, fed fixed messages.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import type { InspectorHostToPanel, InspectionView } from "../../protocol/inspector";
import { ARTIFACTS } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";
import { DARK, openPanelPage, PanelPage } from "./webviewPage";

const tokens = ["interface", " Foo", " {", "\n", "  bar", ":", " string", ";"];
let offset = 0;
const view: InspectionView = {
  handle: "inspection-1",
  modelName: "fixture",
  device: "cpu",
  text: tokens.join(""),
  tokens: tokens.map((t, i) => {
    const start = offset;
    offset += t.length;
    return { id: 100 + i, text: t, start, end: offset, byteStart: start, byteEnd: offset };
  }),
  nLayer: 2,
  nHead: 2,
  attentionAvailable: true,
  next: { position: 7, temperature: 1, top: [{ id: 5, token: "\n", p: 0.6 }, { id: 6, token: " }", p: 0.3 }], entropyBits: 1.3 },
  ms: { run: 1, total: 2 },
};

/** A causal attention pattern: row q puts weight 0.5 on itself and spreads the rest evenly. */
function attention(T: number): Float32Array {
  const w = new Float32Array(T * T);
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) w[q * T + k] = q === 0 ? 1 : k === q ? 0.5 : 0.5 / q;
  return w;
}

let panel: PanelPage;
let page: Page;

before(async () => {
  panel = await openPanelPage("inspector", "seqlens-inspector", DARK, { width: 700, height: 900 });
  page = panel.page;
});

after(async () => {
  await panel?.close();
});

const post = (msg: InspectorHostToPanel) => page.evaluate((m) => window.postMessage(m, "*"), msg as unknown as Record<string, unknown>);

test("fixed data renders: token chips with visible whitespace, a painted heatmap, the next-token table", async () => {
  await post({ type: "inspection", view, restore: { uri: "file:///x.ts", start: 0, end: view.text.length, model: "/m" } });
  const chips = page.locator("seqlens-token-strip button");
  await chips.first().waitFor();
  assert.deepEqual(await chips.allTextContents(), ["interface", "·Foo", "·{", "↵", "··bar", ":", "·string", ";"]);
  // The panel asked for layer 0, head 0 and the next token at the last position.
  const sent = await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent);
  const ask = sent.find((m) => m.type === "getAttention") as { requestId: number; layer: number; head: number };
  assert.equal(ask.layer, 0);
  assert.equal(ask.head, 0);
  // The inspection carries the last position's distribution: the panel shows it without asking again.
  assert.ok(!sent.some((m) => m.type === "getNextToken"));
  const T = tokens.length;
  await post({ type: "attention", requestId: ask.requestId, layer: 0, head: 0, shape: [T, T], data: attention(T) });
  const pixel = (q: number, k: number) =>
    page.evaluate(([qq, kk]) => {
      const c = document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attention-heatmap")!.shadowRoot!.querySelector<HTMLCanvasElement>("canvas.map")!;
      const cell = c.width / 8;
      return Array.from(c.getContext("2d")!.getImageData(kk * cell + cell / 2, qq * cell + cell / 2, 1, 1).data.slice(0, 3));
    }, [q, k]);
  await page.waitForFunction(() => Number(document.body.dataset.heatmapPaintedAt ?? 0) > 0);
  assert.deepEqual(await pixel(0, 0), [0xd1, 0x86, 0x16]); // weight 1: the accent colour
  assert.deepEqual(await pixel(0, 7), [0x1e, 0x1e, 0x1e]); // weight 0 (future key): the background
  // weight 0.5 under the default log scale (from 0.001 to 1): t = log10(0.5 / 0.001) / 3
  const t = Math.log10(500) / 3;
  const near = (px: number[], tt: number) => [0x1e + (0xd1 - 0x1e) * tt, 0x1e + (0x86 - 0x1e) * tt, 0x1e + (0x16 - 0x1e) * tt].every((v, i) => Math.abs(px[i] - v) <= 2);
  const logHalf = await pixel(4, 4);
  assert.ok(near(logHalf, t), JSON.stringify(logHalf));
  // linear: halfway
  const painted = Number(await page.evaluate(() => document.body.dataset.heatmapPaintedAt ?? 0));
  await page.locator('select[aria-label="Colour scale"]').selectOption("linear");
  await page.waitForFunction((p) => Number(document.body.dataset.heatmapPaintedAt ?? 0) > p, painted);
  const half = await pixel(4, 4);
  assert.ok(near(half, 0.5), JSON.stringify(half));
  await page.locator('select[aria-label="Colour scale"]').selectOption("log");
  assert.equal(await page.locator("seqlens-next-token tr").count(), 2);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, "webview-fixture.png") });
});

test("keyboard: ] and . move layer and head and ask for that slice; clicking a chip asks the editor to reveal it", async () => {
  await page.locator("body").press("]");
  await page.locator("body").press(".");
  const sent = await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent);
  const asks = sent.filter((m) => m.type === "getAttention");
  assert.deepEqual([asks[asks.length - 1].layer, asks[asks.length - 1].head], [1, 1]);
  await page.locator("seqlens-token-strip button").nth(4).click();
  const after = await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent);
  assert.ok(after.some((m) => m.type === "revealToken" && m.index === 4));
  assert.ok(after.some((m) => m.type === "getNextToken" && m.position === 4)); // another position: asked for
  assert.equal(await page.locator('seqlens-token-strip button[aria-pressed="true"]').textContent(), "··bar");
});

test("keyboard on the heatmap: arrows move a cell cursor shown in the tip and drawn on the map, Enter selects its query token", async () => {
  await page.locator("body").press("[");
  await page.locator("body").press(","); // back to layer 0, head 0
  const sent0 = await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent);
  const ask = sent0.filter((m) => m.type === "getAttention").pop() as { requestId: number; layer: number; head: number };
  const T = tokens.length;
  await post({ type: "attention", requestId: ask.requestId, layer: ask.layer, head: ask.head, shape: [T, T], data: attention(T) });
  const map = page.locator("seqlens-attention-heatmap canvas.map");
  await map.focus();
  // The cursor starts on the selected query row (token 4 from the previous test), key 0.
  const tip = page.locator("seqlens-attention-heatmap .tip");
  assert.match(await tip.innerText(), /query #4 "··bar" → key #0 "interface": 0\.1250/);
  await map.press("ArrowDown");
  await map.press("ArrowRight");
  await map.press("ArrowRight");
  assert.match(await tip.innerText(), /query #5 ":" → key #2 "·\{": 0\.1000/);
  await map.press("End");
  assert.match(await tip.innerText(), /query #5 ":" → key #7 ";": 0\.0000/);
  await map.press("Control+Home");
  assert.match(await tip.innerText(), /query #0 "interface" → key #0 "interface": 1\.0000/);
  for (let i = 0; i < 20; i++) await map.press("PageDown"); // clamped to the last row
  assert.match(await tip.innerText(), /query #7 ";"/);
  // The cursor cell is outlined in the focus colour (#007fd4) while the map has focus.
  const edge = () =>
    page.evaluate(() => {
      const c = document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attention-heatmap")!.shadowRoot!.querySelector<HTMLCanvasElement>("canvas.map")!;
      const cell = c.width / 8;
      return Array.from(c.getContext("2d")!.getImageData(0, 7 * cell, 1, 1).data.slice(0, 3)); // the cursor cell's corner (q 7, k 0)
    });
  assert.deepEqual(await edge(), [0x00, 0x7f, 0xd4]);
  await page.locator("seqlens-token-strip button").first().focus(); // blur: the cursor box goes
  assert.notDeepEqual(await edge(), [0x00, 0x7f, 0xd4]);
  await map.focus(); // and comes back where it was
  assert.deepEqual(await edge(), [0x00, 0x7f, 0xd4]);
  await page.screenshot({ path: path.join(ARTIFACTS, "webview-heatmap-keyboard.png") });
  await map.press("Enter");
  const sent = await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent);
  assert.ok(sent.some((m) => m.type === "revealToken" && m.index === 7));
  assert.equal(await page.locator('seqlens-token-strip button[aria-pressed="true"]').textContent(), ";");
  // Keys other than navigation go on to the panel: ] from the focused map moves the layer.
  await map.press("]");
  const asks = (await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent)).filter((m) => m.type === "getAttention");
  assert.equal(asks[asks.length - 1].layer, 1);
});

test("an inspection that carries the heatmap's slice paints it without asking for it", async () => {
  const T = tokens.length;
  const layer = await page.locator('select[aria-label="Layer"]').evaluate((e) => Number((e as HTMLSelectElement).value));
  const head = await page.locator('select[aria-label="Head"]').evaluate((e) => Number((e as HTMLSelectElement).value));
  const asked = async () => (await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent)).filter((m) => m.type === "getAttention").length;
  const before = await asked();
  const painted = Number(await page.evaluate(() => document.body.dataset.heatmapPaintedAt ?? 0));
  const uniform = new Float32Array(T * T).fill(1 / T);
  await post({ type: "inspection", view: { ...view, handle: "inspection-2", attention: { layer, head, shape: [T, T], data: uniform } }, restore: { uri: "file:///x.ts", start: 0, end: view.text.length, model: "/m" } });
  await page.waitForFunction((t) => Number(document.body.dataset.heatmapPaintedAt ?? 0) > t, painted);
  assert.equal(await asked(), before, "no getAttention for the slice that came with the inspection");
  // Another layer and head than the one shown: the panel asks.
  await post({ type: "inspection", view: { ...view, handle: "inspection-3", attention: { layer: (layer + 1) % 2, head, shape: [T, T], data: uniform } }, restore: { uri: "file:///x.ts", start: 0, end: view.text.length, model: "/m" } });
  await page.waitForFunction((n) => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "getAttention").length > n, before);
});

test("a failed re-run marks the result stale with its reason and a Re-run; a new inspection clears it; a text change says the text changed", async () => {
  await post({ type: "inspection", view: { ...view, handle: "inspection-stale" }, restore: { uri: "file:///x.ts", start: 0, end: view.text.length, model: "/m" } });
  await page.locator("seqlens-token-strip button").first().waitFor();
  await post({ type: "stale", stale: true, reason: "Inspect failed: the model folder /gone does not exist. What is shown is the previous result." });
  const banner = page.locator("seqlens-inspector .stale");
  await banner.waitFor();
  assert.match(await banner.innerText(), /^Inspect failed: the model folder \/gone does not exist\. What is shown is the previous result\.\s+Re-run/);
  await banner.locator("vscode-button").click();
  await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === "rerun"));
  await post({ type: "inspection", view: { ...view, handle: "inspection-fresh" }, restore: { uri: "file:///x.ts", start: 0, end: view.text.length, model: "/m" } });
  await banner.waitFor({ state: "detached" });
  await post({ type: "stale", stale: true });
  assert.match(await banner.innerText(), /^The text changed since this inspection\./);
  await post({ type: "stale", stale: false });
  await banner.waitFor({ state: "detached" });
});

test("a masked-LM's inspection: fill-mask table at the mask, special tokens marked, another token masked on click; GQA heads name their kv head", async () => {
  const words = ["[CLS]", "the", "[MASK]", "sat", "[SEP]"];
  const masked: InspectionView = {
    ...view,
    handle: "inspection-masked",
    text: "the [MASK] sat",
    tokens: words.map((w, i) => ({ id: 10 + i, text: w, start: 0, end: 0, byteStart: 0, byteEnd: 0, ...(i === 0 || i === 4 ? { special: true } : {}) })),
    nHead: 4,
    nKvHead: 2,
    next: undefined,
    masks: [{ position: 2, temperature: 1, top: [{ id: 40, token: "cat", p: 0.5 }, { id: 41, token: "dog", p: 0.2 }, { id: 42, token: "he", p: 0.1 }], entropyBits: 2.1 }],
    maskToken: { id: 4, text: "[MASK]" },
    attention: undefined,
  };
  const before = (await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent)).length;
  await post({ type: "inspection", view: masked, restore: { uri: "file:///x.txt", start: 0, end: masked.text.length, model: "/bert" } });
  await page.locator("seqlens-inspector h2", { hasText: "Fill mask" }).waitFor();
  assert.match(await page.locator("seqlens-next-token .meta").innerText(), /At token #2: entropy 2\.10 bits · \(a mask token: the fillers below\)/);
  assert.deepEqual(await page.locator("seqlens-next-token tr td:first-child").allTextContents(), ['"cat"', '"dog"', '"he"']);
  assert.equal(await page.locator('seqlens-token-strip button[aria-pressed="true"]').textContent(), "[MASK]");
  assert.deepEqual(await page.locator("seqlens-token-strip button.special").allTextContents(), ["[CLS]", "[SEP]"]);
  // the mask's fillers came with the inspection: nothing asked
  const sent = (await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent)).slice(before);
  assert.ok(!sent.some((m) => m.type === "getFillMask" || m.type === "getNextToken"), JSON.stringify(sent));
  // heads say which kv head they share (4 query heads over 2 kv heads)
  assert.deepEqual(await page.locator('select[aria-label="Head"] option').allTextContents(), ["head 0 · kv 0", "head 1 · kv 0", "head 2 · kv 1", "head 3 · kv 1"]);
  assert.match(await page.locator("seqlens-inspector .pickers").innerText(), /kv head 0, shared with head 1/);
  await page.screenshot({ path: path.join(ARTIFACTS, "webview-fill-mask.png") });
  assert.equal(formatReport(await layoutReport(page)), "");
  // clicking "sat" asks what the model would put there
  await page.locator("seqlens-token-strip button").nth(3).click();
  const asked = (await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent)).slice(before);
  const ask = asked.find((m) => m.type === "getFillMask") as { requestId: number; position: number; topK: number } | undefined;
  assert.equal(ask?.position, 3);
  assert.equal(ask?.topK, 3);
  await post({ type: "fillMask", requestId: ask!.requestId, result: { position: 3, temperature: 1, top: [{ id: 50, token: "lay", p: 0.4 }, { id: 13, token: "sat", p: 0.3 }], entropyBits: 1.5, actual: { id: 13, token: "sat", rank: 2, p: 0.3 } } });
  await page.locator("seqlens-next-token .meta", { hasText: "the token there" }).waitFor();
  assert.match(await page.locator("seqlens-next-token .meta").innerText(), /At token #3: entropy 1\.50 bits · the token there "sat": rank 2, p = 0\.3000/);
});

test("an encoder-decoder's inspection: source and target strips, cross-attention as target rows x source columns, a target token colours the source by its attention", async () => {
  const src = ["the", "small", "cat", "</s>"];
  const tgt = ["<pad>", "die", "kleine", "katze"];
  const tok = (t: string, i: number, special = false) => ({ id: 10 + i, text: t, start: 0, end: 0, byteStart: 0, byteEnd: 0, ...(special ? { special: true } : {}) });
  const seq: InspectionView = {
    ...view,
    handle: "seq2seq-1",
    text: "the small cat",
    tokens: src.map((t, i) => tok(t, i, i === 3)),
    nLayer: 2,
    nHead: 2,
    next: undefined,
    attention: undefined,
    seq2seq: {
      target: tgt.map((t, i) => tok(t, i, i === 0)),
      generated: true,
      encoderLayers: 2,
      decoderLayers: 2,
      encoderHeads: 2,
      decoderHeads: 2,
      attention: { encoder: true, decoder: true, cross: true },
      next: [{ id: 1, token: "</s>", p: 0.7 }, { id: 2, token: "ist", p: 0.1 }],
      targetP: [null, 0.5, 0.4, 0.3],
    },
  };
  const before = (await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent)).length;
  await post({ type: "inspection", view: seq, restore: { uri: "file:///x.txt", start: 0, end: seq.text.length, model: "/marian" } });
  await page.locator("seqlens-seq2seq h2", { hasText: "Target (greedy translation)" }).waitFor();
  // it asks for cross-attention, layer 0, head 0
  await page.waitForFunction((n) => (window as unknown as { sent: { type: string }[] }).sent.slice(n).some((m) => m.type === "getSeq2seqAttention"), before);
  const ask = (await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent)).slice(before).find((m) => m.type === "getSeq2seqAttention") as { requestId: number; kind: string; layer: number; head: number };
  assert.deepEqual([ask.kind, ask.layer, ask.head], ["cross", 0, 0]);
  // target rows x source columns: "katze" (row 3) attends to "cat" (column 2)
  const cross = new Float32Array(4 * 4);
  for (let q = 0; q < 4; q++) for (let k = 0; k < 4; k++) cross[q * 4 + k] = q === 3 ? (k === 2 ? 0.85 : 0.05) : 0.25;
  await post({ type: "seq2seqAttention", requestId: ask.requestId, kind: "cross", layer: 0, head: 0, shape: [4, 4], data: cross });
  await page.locator("seqlens-seq2seq .attends", { hasText: "attends to" }).waitFor();
  assert.match(await page.locator("seqlens-seq2seq .attends").innerText(), /target #3 "katze" attends to "cat" 0\.85, "the" 0\.05/);
  // the source chip of "cat" is coloured near the top of the ramp, "the" near the bottom
  const bg = (i: number) => page.locator("seqlens-seq2seq seqlens-token-strip").first().locator("button").nth(i).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.notEqual(await bg(2), await bg(0));
  const canvas = page.locator("seqlens-seq2seq seqlens-attention-heatmap canvas.map");
  const [w, h] = await canvas.evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
  assert.equal(w, h, "4 x 4 here");
  await page.screenshot({ path: path.join(ARTIFACTS, "webview-seq2seq.png") });
  // readable: no overlapping or clipped text, contrast >= 4.5:1 (the coloured source chips too), legends for the maps
  assert.equal(formatReport(await layoutReport(page)), "");
  // hovering a cross-attention cell marks its source token in the editor (the target is not in the editor)
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + (2.5 * box.width) / 4, box.y + (3.5 * box.height) / 4);
  await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === "hoverTokens"));
  assert.deepEqual((await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent)).filter((m) => m.type === "hoverTokens").at(-1), { type: "hoverTokens", key: 2 });
  await page.mouse.move(1, 1);
  // hovering another target token moves the focus
  await page.locator("seqlens-seq2seq seqlens-token-strip").nth(1).locator("button").nth(1).hover();
  assert.match(await page.locator("seqlens-seq2seq .attends").innerText(), /target #1 "die" attends to/);
  // clicking a source token asks the editor to reveal it
  await page.locator("seqlens-seq2seq seqlens-token-strip").first().locator("button").nth(1).click();
  const sent = (await page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent)).slice(before);
  assert.ok(sent.some((m) => m.type === "revealToken" && m.index === 1));
});
