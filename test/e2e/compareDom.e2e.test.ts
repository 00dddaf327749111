// The Compare panel from fixed data in chromium, without VS Code: one selection drives both sides
// (a token click asks each side for the distribution that predicted it, a head pick asks each side
// for the same slice), the strip is coloured by the loss difference, and the difference map paints.
// And its layout at 400, 700 and 1,200 px in the dark, light and high-contrast themes, with a token
// long enough to push a column: no text over other text, nothing cut off, contrast >= 4.5:1, every
// colour map with its legend, the maps inside the panel (test/e2e/layoutChecks.ts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { CompareHostToPanel, CompareResult } from "../../protocol/compare";
import { ARTIFACTS } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";
import { openPanelPage, PanelPage, THEMES } from "./webviewPage";

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
/** What the legend for the canvas `name` says (its title and tick labels). */
const legendText = (name: string) => p.page.locator(`seqlens-color-legend[for="${name}"] [role=img]`).evaluate((e) => e.textContent!.replace(/\s+/g, " "));
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
  // one temperature for both lists: the slider on one side asks both sides again, at that temperature
  await p.page.locator("seqlens-next-token").first().locator('input[type="range"]').fill("2");
  await p.page.waitForFunction(() => (window as unknown as { sent: { type: string; temperature?: number }[] }).sent.filter((m) => m.type === "getNextToken" && m.temperature === 2).length === 2);
  assert.deepEqual((await sentOf("getNextToken")).slice(-2).map((m) => [m.side, m.position, m.temperature]), [[0, 2, 2], [1, 2, 2]]);
  assert.deepEqual(await p.page.locator('seqlens-next-token input[type="range"]').evaluateAll((xs) => xs.map((x) => (x as HTMLInputElement).value)), ["2", "2"]);
  // the strip: token 3 (4 bits better) toward the theme's blue, token 2 (0.5 worse) toward its orange,
  // the stronger the larger the difference, and the text on each still readable (4.5:1)
  const rgb = (i: number) => p.page.locator("seqlens-token-strip button").nth(i).evaluate((b) => getComputedStyle(b).backgroundColor.match(/\d+/g)!.slice(0, 3).map(Number));
  const [better, worse, one] = [await rgb(3), await rgb(2), await rgb(4)];
  assert.ok(better[2] > better[0] + 40, `B better: blue ${better}`);
  assert.ok(worse[0] > worse[2] + 20, `B worse: orange ${worse}`);
  assert.deepEqual(one, [30, 30, 30], "no difference: the editor background");
  assert.deepEqual(await p.page.locator("seqlens-token-strip button").nth(3).evaluate((b) => getComputedStyle(b).backgroundColor), await p.page.locator("#delta-legend .sw").first().evaluate((b) => getComputedStyle(b).backgroundColor), "-4 bits in the strip is the legend's -4");
  // a head from the summary: both sides asked for layer 1, head 0
  await p.page.locator("#changed-heads a").first().click();
  const heads = (await sentOf("getAttention")).slice(-2);
  assert.deepEqual(heads.map((m) => [m.side, m.layer, m.head]), [[0, 1, 0], [1, 1, 0]]);
  const T = tokens.length;
  await post({ type: "attention", requestId: heads[0].requestId, side: 0, layer: 1, head: 0, shape: [T, T], data: causal(T, 0.5) });
  await post({ type: "attention", requestId: heads[1].requestId, side: 1, layer: 1, head: 0, shape: [T, T], data: causal(T, 0.9) });
  await p.page.waitForFunction(() => (document.querySelector("seqlens-compare")?.shadowRoot?.querySelector("seqlens-diff-map[colormap=attention-diff]") as HTMLElement | null)?.dataset.max !== undefined);
  // the largest change: row 1's self weight 0.5 -> 0.9
  assert.equal(await p.page.locator("seqlens-diff-map[colormap=attention-diff]").evaluate((e) => (e as HTMLElement).dataset.max), "0.400");
  // each map with its legend, in its units
  assert.deepEqual(await p.page.locator("canvas[data-colormap]").evaluateAll((cs) => cs.map((c) => (c as HTMLElement).dataset.colormap)), ["attention", "attention", "attention-diff"]);
  assert.match(await legendText("attention"), /attention weight \(log\)/);
  assert.match(await legendText("attention-diff"), /attention, B − A[\s\S]*−0\.4[\s\S]*\+0\.4/);
  // hovering a cell of one map marks it in all three and names both values and their difference
  const box = (await p.page.locator("seqlens-diff-map[colormap=attention]").first().locator("canvas").boundingBox())!;
  await p.page.mouse.move(box.x + box.width * (0.5 / T), box.y + box.height * (1.5 / T)); // query 1, key 0
  await p.page.locator("#attention-tip", { hasText: "B − A" }).waitFor();
  assert.match(await p.page.locator("#attention-tip").innerText(), /query #1 "·x" → key #0 "let": A 0\.500 · B 0\.100 · B − A −0\.400/);
  assert.equal(await p.page.locator("seqlens-diff-map .mark.cell").count(), 3);
  // a click picks the query token on both sides
  await p.page.mouse.click(box.x + box.width * (0.5 / T), box.y + box.height * (2.5 / T));
  assert.deepEqual((await sentOf("getNextToken")).slice(-2).map((m) => [m.side, m.position]), [[0, 1], [1, 1]]);
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
  // the states are signed: one diverging scale for both sides, and one for their difference
  assert.deepEqual(await p.page.locator("canvas[data-colormap]").evaluateAll((cs) => cs.map((c) => (c as HTMLElement).dataset.colormap)), ["gates", "gates", "gates-diff"]);
  assert.match(await legendText("gates"), /hidden value/);
  assert.match(await legendText("gates-diff"), /hidden, B − A/);
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
    await page.locator('select[aria-label="Colour scale"]').selectOption("row");
    assert.deepEqual(await saved(), { host: restore, position: 3, layer: 1, head: 0, gateIndex: 0, gateName: "hidden", scale: "row" });
    await page.reload();
    await load();
    await page.evaluate((m) => window.postMessage(m, "*"), { type: "compare", view, restore } as unknown as Record<string, unknown>);
    await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === "getAttention"));
    const asks = await sent();
    assert.deepEqual(asks.filter((m) => m.type === "getAttention").map((m) => [m.side, m.layer, m.head]), [[0, 1, 0], [1, 1, 0]]);
    assert.deepEqual(asks.filter((m) => m.type === "getNextToken").map((m) => [m.side, m.position]), [[0, 2], [1, 2]]);
    assert.equal(await page.locator('select[aria-label="Colour scale"]').inputValue(), "row");
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Layout: a longer text with a long token, both sides' lists and maps filled, at three widths in three themes.

const LONG = "·EventListenerOrEventListenerObject".replace("·", " ");
const longTexts = ["function", " add", "Listener", "(", "type", ":", " string", ",", " listener", ":", LONG, ")", " {", "\n", "  ", "return", " this", ".", "on", "(", "type", ",", " listener", ")", ";", "\n", "}"];
function longView(): CompareResult & { text: string } {
  let at = 0;
  const toks = longTexts.map((t, i) => {
    const start = at;
    at += t.length;
    return { id: 100 + i, text: t, start, end: at, byteStart: start, byteEnd: at };
  });
  return {
    ...view,
    names: ["tiny-gpt-early", "tiny-gpt"],
    tokens: toks,
    perToken: toks.map((_, i) => (i === 0 ? { loss: [null, null], kl: null, js: null, rank: [null, null], p: [null, null] } : { loss: [3 + (i % 5), 3 + (i % 5) + Math.sin(i) * 5], kl: [0.5, 0.4], js: 0.1, rank: [3, 1], p: [0.1, 0.6] })),
    summary: { ...view.summary, changedTokens: [{ index: 10, text: LONG, delta: -6.2 }, { index: 3, text: "(", delta: 4.1 }] },
    text: longTexts.join(""),
  };
}

function nextResult(side: 0 | 1, position: number) {
  const top = [LONG, " string", " listener", "Listener", ")", " EventListener", " (", ",", " number", " any"].map((token, k) => ({ id: 500 + k, token, p: (side ? 0.5 : 0.3) / (k + 1) }));
  return { position, temperature: 1, top, entropyBits: 4.2, actual: { id: 500, token: LONG, rank: 1, p: top[0].p } };
}

/** Answers every request the panel has sent and not yet had answered. */
async function answerAll(pp: PanelPage, answered: Set<number>, T: number): Promise<void> {
  for (const m of (await pp.sent()) as unknown as (Record<string, number> & { type: string })[]) {
    if (m.requestId === undefined || answered.has(m.requestId)) continue;
    answered.add(m.requestId);
    const side = m.side as 0 | 1;
    if (m.type === "getNextToken") await pp.post({ type: "nextToken", requestId: m.requestId, side, result: nextResult(side, m.position) });
    if (m.type === "getAttention") await pp.post({ type: "attention", requestId: m.requestId, side, layer: m.layer, head: m.head, shape: [T, T], data: causal(T, side ? 0.8 : 0.3) });
  }
}

/**
 * Chromium gives a text cut with an ellipsis two client rects (the whole text and the part shown), which
 * the layout report counts as the text overlapping itself: drop those, and only those (the same text, and
 * the point named lies in one ellipsis-cut element holding it). Two lists overlapping is checked apart.
 */
async function withoutEllipsisTwins(pp: PanelPage, overlaps: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const o of overlaps) {
    const m = /^'(.*)' × '(.*)' at (\d+),(\d+) /.exec(o);
    const twin =
      m &&
      m[1] === m[2] &&
      (await pp.page.evaluate(
        ([text, x, y]) => {
          let root: Document | ShadowRoot = document;
          let hit: Element | null = null;
          for (let i = 0; i < 20; i++) {
            const h: Element | null = root.elementFromPoint(+x, +y);
            if (!h || h === hit) break;
            hit = h;
            if (!h.shadowRoot) break;
            root = h.shadowRoot;
          }
          return !!hit && getComputedStyle(hit).textOverflow === "ellipsis" && (hit.textContent ?? "").trim().startsWith(text) && hit.scrollWidth > hit.clientWidth;
        },
        [m[1], m[3], m[4]],
      ));
    if (!twin) out.push(o);
  }
  return out;
}

const nextFrame = (pp: PanelPage) => pp.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

test("layout: at 400, 700 and 1200 px in dark, light and high contrast, a long token pushes nothing over anything, every map fits and has its legend", async () => {
  const failures: string[] = [];
  for (const [theme, vars] of Object.entries(THEMES)) {
    const pp = await openPanelPage("compare", "seqlens-compare", vars(), { width: 1200, height: 2400 });
    try {
      const v = longView();
      const T = v.tokens.length;
      await pp.post({ type: "compare", view: v });
      await pp.page.locator("#summary").waitFor();
      // the long token selected, so the lists show it at the top of both
      await pp.page.locator("seqlens-token-strip button").nth(10).click();
      const answered = new Set<number>();
      await pp.page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "getAttention").length >= 2);
      await answerAll(pp, answered, T);
      await pp.page.locator("seqlens-next-token").nth(1).locator("tr").nth(9).waitFor();
      await pp.page.waitForFunction(() => [...(document.querySelector("seqlens-compare")?.shadowRoot?.querySelectorAll("seqlens-diff-map") ?? [])].every((m) => (m as HTMLElement).dataset.max !== undefined));
      for (const width of [400, 700, 1200]) {
        await pp.page.setViewportSize({ width, height: 2400 });
        await nextFrame(pp);
        const where = `${theme} ${width}px`;
        const r = await layoutReport(pp.page);
        r.overlaps = await withoutEllipsisTwins(pp, r.overlaps);
        const text = formatReport(r);
        if (text) failures.push(`${where}:\n${text}`);
        if (r.counted.canvases !== 3 || r.counted.legends !== 2) failures.push(`${where}: ${r.counted.canvases} canvases and ${r.counted.legends} legends (3 and 2 expected)`);
        // the two lists: side by side from 600 px (one above the other below), their text boxes apart,
        // every percentage whole and inside its own list
        const lists = await pp.page.locator("seqlens-next-token").evaluateAll((els) =>
          els.map((el) => {
            const r = el.getBoundingClientRect();
            const cells = [...el.shadowRoot!.querySelectorAll("td")].map((td) => {
              const range = document.createRange();
              range.selectNodeContents(td);
              const t = range.getBoundingClientRect();
              const c = td.getBoundingClientRect();
              return { cls: td.className, text: td.textContent ?? "", clipped: td.scrollWidth > td.clientWidth + 1, title: td.title, text0: t.left, text1: Math.min(t.right, c.right), cell0: c.left, cell1: c.right };
            });
            return { x0: r.left, x1: r.right, y0: r.top, y1: r.bottom, cells };
          }),
        );
        const [la, lb] = lists;
        const apart = la.x1 <= lb.x0 + 0.5 || la.y1 <= lb.y0 + 0.5;
        if (!apart) failures.push(`${where}: the two lists overlap (${JSON.stringify([la, lb].map(({ x0, x1, y0, y1 }) => [x0, x1, y0, y1].map(Math.round)))})`);
        if ((width >= 700) !== (la.y0 === lb.y0)) failures.push(`${where}: the lists should be ${width >= 700 ? "side by side" : "one above the other"}`);
        for (const [i, l] of lists.entries()) {
          for (const c of l.cells) {
            if (c.text1 > l.x1 + 0.5 || c.cell1 > l.x1 + 0.5) failures.push(`${where}: list ${i}: '${c.text}' ends at ${Math.round(c.text1)}, past its list's right edge ${Math.round(l.x1)}`);
            if (c.cls === "p" && c.clipped) failures.push(`${where}: list ${i}: the percentage '${c.text}' is cut`);
            if (c.cls === "tok" && c.clipped && !c.title.startsWith(c.text)) failures.push(`${where}: list ${i}: '${c.text}' is cut without its full text in the title`);
          }
        }
        if (!lists[0].cells.some((c) => c.cls === "tok" && c.clipped) && width < 1200) failures.push(`${where}: the long token should end in an ellipsis at this width`);
        // the maps: inside the panel, none wider than its column
        const vw = await pp.page.evaluate(() => document.documentElement.clientWidth);
        const maps = await pp.page.locator("seqlens-diff-map canvas").evaluateAll((cs) => cs.map((c) => c.getBoundingClientRect()).map((r) => [r.left, r.right, r.width]));
        for (const [x0, x1, w] of maps) if (x0 < 0 || x1 > vw + 0.5 || w < 100) failures.push(`${where}: a map spans ${Math.round(x0)}–${Math.round(x1)} px in a ${vw} px panel`);
        if (await pp.page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth)) failures.push(`${where}: the panel scrolls sideways`);
        await pp.page.screenshot({ path: path.join(ARTIFACTS, `compare-dom-${theme}-${width}.png`), fullPage: true });
      }
    } finally {
      await pp.close();
    }
  }
  assert.deepEqual(failures, [], failures.join("\n"));
});
