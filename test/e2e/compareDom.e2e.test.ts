// The Compare panel from fixed data in chromium, without VS Code: one selection drives both sides
// (a token click asks each side for the distribution that predicted it, a head pick asks each side
// for the same slice), the strip is coloured by the loss difference, and the difference map paints.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { CompareHostToPanel, CompareResult } from "../../protocol/compare";
import { ARTIFACTS } from "./host";
import { openPanelPage, PanelPage } from "./webviewPage";

const texts = ["let", " x", " =", " 1", ";"];
let offset = 0;
const tokens = texts.map((t, i) => {
  const start = offset;
  offset += t.length;
  return { id: 10 + i, text: t, start, end: offset, byteStart: start, byteEnd: offset };
});
const losses: [number, number][] = [[0, 0], [6, 3], [2, 2.5], [5, 1], [1, 1]];
const view: CompareResult & { text: string } = {
  mode: "token",
  names: ["early", "final"],
  devices: ["cpu", "cpu"],
  handles: ["h0", "h1"],
  tokens,
  perToken: losses.map(([a, b], i) => (i === 0 ? { loss: [null, null], kl: null, js: null, rank: [null, null], p: [null, null] } : { loss: [a, b], kl: [0.5 * i, 0.4 * i], js: 0.1 * i, rank: [3, 1], p: [0.1, 0.6] })),
  summary: { meanLoss: [3.5, 1.875], unit: "bits/token", meanJs: 0.25, changedTokens: [{ index: 3, text: " 1", delta: -4 }, { index: 1, text: " x", delta: -3 }], changedHeads: [{ layer: 1, head: 0, meanJs: 0.3 }, { layer: 0, head: 1, meanJs: 0.1 }] },
  nLayer: 2,
  nHead: 2,
  attentionComparable: true,
  ms: { run: 1, total: 2 },
  text: texts.join(""),
};

let p: PanelPage;
before(async () => {
  p = await openPanelPage("compare", "seqlens-compare");
});
after(async () => {
  await p?.close();
});

const post = (m: CompareHostToPanel) => p.post(m);
const sentOf = async (type: string) => (await p.sent()).filter((m) => m.type === type) as Record<string, number>[];

function causal(T: number, self: number): Float32Array {
  const w = new Float32Array(T * T);
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) w[q * T + k] = q === 0 ? 1 : k === q ? self : (1 - self) / q;
  return w;
}

test("both sides in step: one token pick asks each side for the same position; one head pick for the same slice", async () => {
  await post({ type: "compare", view });
  await p.page.locator("#summary").waitFor();
  assert.match(await p.page.locator("#summary").innerText(), /early: 3\.500\s+final: 1\.875\s+bits\/token/);
  // the first request pair: position 0 (predicting token 1) for both sides, and layer 0 head 0 for both
  let next = await sentOf("getNextToken");
  assert.deepEqual(next.map((m) => [m.side, m.position]), [[0, 0], [1, 0]]);
  const attn = await sentOf("getAttention");
  assert.deepEqual(attn.map((m) => [m.side, m.layer, m.head]), [[0, 0, 0], [1, 0, 0]]);
  // a click on token 3 in the strip: both sides asked for position 2, and the editor for the token
  await p.page.locator("seqlens-token-strip button").nth(3).click();
  next = (await sentOf("getNextToken")).slice(-2);
  assert.deepEqual(next.map((m) => [m.side, m.position]), [[0, 2], [1, 2]]);
  assert.ok((await p.sent()).some((m) => m.type === "revealToken" && m.index === 3));
  for (const side of [0, 1] as const) await post({ type: "nextToken", requestId: next[side].requestId, side, result: { position: 2, temperature: 1, top: [{ id: 13, token: " 1", p: side ? 0.6 : 0.1 }], entropyBits: 2, actual: { id: 13, token: " 1", rank: side ? 1 : 3, p: side ? 0.6 : 0.1 } } });
  await p.page.locator("seqlens-next-token").nth(1).locator("tr").first().waitFor();
  assert.match(await p.page.locator("#divergence").innerText(), /KL\(early‖final\) 1\.5000 · KL\(final‖early\) 1\.2000 · JS 0\.3000 bits/);
  // the strip: token 3 (4 bits better) blue, token 2 (0.5 worse) red
  const bg = (i: number) => p.page.locator("seqlens-token-strip button").nth(i).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.match(await bg(3), /^rgba\(55, 148, 255/);
  assert.match(await bg(2), /^rgba\(241, 76, 76/);
  // a head from the summary: both sides asked for layer 1, head 0
  await p.page.locator("#changed-heads a").first().click();
  const heads = (await sentOf("getAttention")).slice(-2);
  assert.deepEqual(heads.map((m) => [m.side, m.layer, m.head]), [[0, 1, 0], [1, 1, 0]]);
  const T = tokens.length;
  await post({ type: "attention", requestId: heads[0].requestId, side: 0, layer: 1, head: 0, shape: [T, T], data: causal(T, 0.5) });
  await post({ type: "attention", requestId: heads[1].requestId, side: 1, layer: 1, head: 0, shape: [T, T], data: causal(T, 0.9) });
  await p.page.waitForFunction(() => (document.querySelector("seqlens-compare")?.shadowRoot?.querySelector("seqlens-diff-map") as HTMLElement | null)?.dataset.max !== undefined);
  // the largest change: row 1's self weight 0.5 -> 0.9
  assert.equal(await p.page.locator("seqlens-diff-map").evaluate((e) => (e as HTMLElement).dataset.max), "0.400");
  await p.page.screenshot({ path: path.join(ARTIFACTS, "compare-fixture.png"), fullPage: true });
});

test("the editor's cursor moves both sides", async () => {
  await post({ type: "selectPosition", index: 4 });
  const next = (await sentOf("getNextToken")).slice(-2);
  assert.deepEqual(next.map((m) => [m.side, m.position]), [[0, 3], [1, 3]]);
});

test("a recurrent pair: both sides' shared state over the steps, side by side and their difference", async () => {
  const info = (cell: "lstm" | "gru", names: string[]) => ({ index: 0, layer: 0, direction: "forward" as const, cell, units: 3, inputSize: 1, activations: [], names, check: { maxAbsDiff: 0, worstStep: 0, tolerance: 1e-5, ok: true } });
  const rview = { ...view, names: ["char-lstm", "char-gru"] as [string, string], attentionComparable: false, nLayer: 0, nHead: 0, summary: { ...view.summary, unit: "bits/char" as const, changedHeads: [] }, gates: ["g0", "g1"] as [string, string], gateLayers: [[info("lstm", ["input", "forget", "candidate", "output", "cell", "hidden"])], [info("gru", ["update", "reset", "candidate", "hidden"])]] as [never[], never[]] };
  await post({ type: "compare", view: rview });
  await p.page.locator("text=Gates and states").waitFor();
  const asks = (await sentOf("getGate")).slice(-2);
  assert.deepEqual(asks.map((m) => [m.side, m.index, m.name as unknown as string]), [[0, 0, "hidden"], [1, 0, "hidden"]]);
  // the gates both cells have: candidate and hidden
  assert.deepEqual(await p.page.locator('select[aria-label="Gate"] option').allTextContents(), ["candidate", "hidden"]);
  const T = tokens.length;
  const a = Float32Array.from({ length: T * 3 }, (_, i) => i / 10);
  const b = Float32Array.from(a, (x, i) => (i === 7 ? x + 0.5 : x));
  await post({ type: "gate", requestId: asks[0].requestId, side: 0, index: 0, name: "hidden", shape: [T, 3], data: a });
  await post({ type: "gate", requestId: asks[1].requestId, side: 1, index: 0, name: "hidden", shape: [T, 3], data: b });
  await p.page.waitForFunction(() => (document.querySelector("seqlens-compare")?.shadowRoot?.querySelectorAll("seqlens-diff-map") ?? []).length === 3);
  await p.page.waitForFunction(() => (document.querySelector("seqlens-compare")?.shadowRoot?.querySelectorAll("seqlens-diff-map")[2] as HTMLElement | undefined)?.dataset.max === "0.500");
  await p.page.screenshot({ path: path.join(ARTIFACTS, "compare-recurrent-fixture.png"), fullPage: true });
});

test("the panel keeps the host's restore data and its own choices in its saved state, and starts from them after a reload", async () => {
  // A page of its own whose stand-in keeps the state in the tab's sessionStorage, as VS Code keeps it across a reload;
  // installed before the page's own stand-in, which then cannot replace it.
  const page = await p.browser.newPage();
  try {
    // (a string: a function from here would carry the test runner's helpers into the page)
    await page.addInitScript(`{
      const api = { postMessage: (m) => window.sent.push(m), getState: () => JSON.parse(sessionStorage.getItem("state") ?? "null") ?? undefined, setState: (s) => sessionStorage.setItem("state", JSON.stringify(s)) };
      Object.defineProperty(window, "acquireVsCodeApi", { value: () => api, writable: false });
    }`);
    const sent = () => page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent);
    const load = async () => page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === "ready"));
    const saved = () => page.evaluate(() => JSON.parse(sessionStorage.getItem("state") ?? "null"));
    await page.goto(p.page.url());
    await load();
    const restore = { uri: "file:///w/a.ts", start: 0, end: view.text.length, modelA: "early", modelB: "final" };
    await page.evaluate((m) => window.postMessage(m, "*"), { type: "compare", view, restore } as unknown as Record<string, unknown>);
    await page.locator("#changed-heads a").first().click(); // layer 1, head 0
    await page.locator("seqlens-token-strip button").nth(3).click();
    assert.deepEqual(await saved(), { host: restore, position: 3, layer: 1, head: 0, gateIndex: 0, gateName: "hidden" });
    await page.reload();
    await load();
    await page.evaluate((m) => window.postMessage(m, "*"), { type: "compare", view, restore } as unknown as Record<string, unknown>);
    await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === "getAttention"));
    const asks = await sent();
    assert.deepEqual(asks.filter((m) => m.type === "getAttention").map((m) => [m.side, m.layer, m.head]), [[0, 1, 0], [1, 1, 0]]);
    assert.deepEqual(asks.filter((m) => m.type === "getNextToken").map((m) => [m.side, m.position]), [[0, 2], [1, 2]]);
  } finally {
    await page.close();
  }
});
