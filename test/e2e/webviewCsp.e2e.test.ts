// The panels under their own CSP (extension/panelPage.ts: no 'unsafe-inline' for styles) in chromium,
// without VS Code: each of the Inspector, Gates, Embeddings and Compare panels, fed fixed data and
// used (hover, tabs, a brush, a token pick), raises no CSP violation, so every style it sets goes
// through the CSSOM and none is dropped. The check can fail: a style attribute, a <style> element
// and a static style attribute parsed from a template (as Lit builds its templates) are each
// reported, and the blocked ones change nothing; shadow-root stylesheets (Lit's static styles,
// constructable stylesheets) are allowed.
// How a page is settled: a last, deliberate violation (the sentinel) is raised and waited for;
// violations are reported in order, so every earlier one has arrived by then.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { CompareHostToPanel, CompareResult } from "../../protocol/compare";
import type { EmbeddingsHostToPanel, EmbeddingsView, LensResult } from "../../protocol/embeddings";
import type { GatesHostToPanel, GatesView } from "../../protocol/gates";
import type { InspectionView, InspectorHostToPanel } from "../../protocol/inspector";
import type { TokenInfo } from "../../protocol/basics";
import { CspViolation, DARK, openPanelPage, PanelPage } from "./webviewPage";

const pages: PanelPage[] = [];
after(async () => {
  for (const p of pages) await p.close();
});

async function open(bundle: string, width = 1000): Promise<PanelPage> {
  const p = await openPanelPage(bundle, `seqlens-${bundle}`, DARK, { width, height: 1400 });
  pages.push(p);
  await p.page.evaluate("globalThis.__name ??= (f) => f"); // tsx names the inner functions of evaluated code through a helper
  return p;
}

type Sent = Record<string, unknown> & { type: string; requestId: number };
/** Resolves once the panel has sent `n` messages of `type`, and gives them. */
async function sentOf(p: PanelPage, type: string, n = 1): Promise<Sent[]> {
  await p.page.waitForFunction(([t, k]) => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === t).length >= (k as number), [type, n] as const);
  return (await p.sent()).filter((m) => m.type === type) as Sent[];
}

const SENTINEL = "i#csp-sentinel";
/** Raises the sentinel violation, waits for it (as an event and in the console) and gives every violation before it. */
async function settled(p: PanelPage): Promise<{ events: CspViolation[]; console: CspViolation[] }> {
  // the element stays in the page until its violation arrives (one reported on a removed element names the document)
  await p.page.evaluate(() => {
    const i = document.createElement("i");
    i.id = "csp-sentinel";
    document.body.append(i);
    i.setAttribute("style", "outline: 1px solid red");
  });
  await p.page.waitForFunction(() => (window as unknown as { cspViolations: { where: string }[] }).cspViolations.some((v) => v.where === "i#csp-sentinel"));
  await p.page.evaluate(() => document.getElementById("csp-sentinel")!.remove());
  const events = (await p.violations()).filter((v) => v.from === "event");
  // one console line per violation; the sentinel's is the last
  for (;;) {
    const lines = (await p.violations()).filter((v) => v.from === "console");
    if (lines.length >= events.length) return { events: events.filter((v) => v.where !== SENTINEL), console: lines.slice(0, -1) };
    await p.page.waitForEvent("console");
  }
}

async function assertNoViolation(p: PanelPage, panel: string) {
  const { events, console } = await settled(p);
  assert.deepEqual(events, [], `${panel}: ${events.length} CSP violations`);
  assert.deepEqual(console, [], `${panel}: the console reports CSP violations`);
}

const tokensOf = (texts: string[]): TokenInfo[] => {
  let offset = 0;
  return texts.map((t, i) => {
    const start = offset;
    offset += t.length;
    return { id: 10 + i, text: t, start, end: offset, byteStart: start, byteEnd: offset };
  });
};

/** A causal attention slice: row q puts `self` on itself and spreads the rest evenly. */
function causal(T: number, self: number): Float32Array {
  const w = new Float32Array(T * T);
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) w[q * T + k] = q === 0 ? 1 : k === q ? self : (1 - self) / q;
  return w;
}

/** Answers every getAttention the panel sends (now and later) with a causal slice of `T` tokens. */
async function answerAttention(page: Page, T: number) {
  await page.evaluate((n) => {
    const w = window as unknown as { sent: Sent[] };
    const push = w.sent.push.bind(w.sent);
    w.sent.push = (...ms: Sent[]) => {
      for (const m of ms) {
        if (m.type !== "getAttention") continue;
        const data = new Float32Array(n * n);
        for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) data[q * n + k] = q === 0 ? 1 : k === q ? 0.5 : 0.5 / q;
        setTimeout(() => window.postMessage({ type: "attention", requestId: m.requestId, layer: m.layer, head: m.head, shape: [n, n], data }, "*"));
      }
      return push(...ms);
    };
  }, T);
}

test("a style attribute, a <style> element and a template's static style attribute are reported and blocked; shadow-root stylesheets are not", async () => {
  const p = await open("inspector");
  await p.page.evaluate(() => {
    const attr = document.createElement("div");
    attr.id = "by-attribute";
    document.body.append(attr);
    attr.setAttribute("style", "color: rgb(255, 0, 0)");
    const style = document.createElement("style");
    style.textContent = "#by-element { color: rgb(255, 0, 0) }";
    document.head.append(style);
    const el = document.createElement("div");
    el.id = "by-element";
    document.body.append(el);
    // how Lit makes a template: innerHTML of a <template>, then a clone of its content
    const t = document.createElement("template");
    t.innerHTML = `<div id="by-template" style="color: rgb(255, 0, 0)"></div>`;
    document.body.append(document.importNode(t.content, true));
  });
  const { events, console } = await settled(p);
  assert.deepEqual(
    events.map((v) => [v.directive, v.blocked, v.where]),
    [
      ["style-src-attr", "inline", "div#by-attribute"],
      ["style-src-elem", "inline", "style"],
      // parsed in the template's own document: reported there, not on the element
      ["style-src-attr", "inline", "[object HTMLDocument]"],
    ],
  );
  assert.equal(console.length, 3);
  for (const line of console) assert.match(line.directive, /violates the following Content Security Policy directive 'style-src http:\/\/127\.0\.0\.1:\d+'/);
  const colour = (id: string) => p.page.evaluate((i) => getComputedStyle(document.getElementById(i)!).color, id);
  assert.equal(await colour("by-attribute"), "rgb(0, 0, 0)", "the style attribute is not applied");
  assert.equal(await colour("by-element"), "rgb(0, 0, 0)", "the <style> element is not applied");
  // Chromium copies a template clone's style even though it reported the attribute: reported is what matters
  // A panel's own styles are a constructable stylesheet on its shadow root, which the CSP allows.
  const sheets = await p.page.evaluate(() => {
    const root = document.querySelector("seqlens-inspector")!.shadowRoot!;
    return { adopted: root.adoptedStyleSheets.length, styleElements: root.querySelectorAll("style").length, display: getComputedStyle(document.querySelector("seqlens-inspector")!).display };
  });
  assert.deepEqual(sheets, { adopted: 1, styleElements: 0, display: "block" });
});

test("the Inspector: heatmap with labels and hover, the head view, the thumbnails, the next-token bars; no CSP violation", async () => {
  const p = await open("inspector", 800);
  const texts = ["interface", " Foo", " {", "\n", "  bar", ":", " string", ";"];
  const tokens = tokensOf(texts);
  const T = tokens.length;
  await answerAttention(p.page, T);
  const view: InspectionView = {
    handle: "inspection-1",
    modelName: "fixture",
    device: "cpu",
    text: texts.join(""),
    tokens,
    nLayer: 2,
    nHead: 2,
    attentionAvailable: true,
    next: { position: 7, temperature: 1, top: [{ id: 5, token: "\n", p: 0.6 }, { id: 6, token: " }", p: 0.3 }], entropyBits: 1.3 },
    ms: { run: 1, total: 2 },
  };
  await p.post({ type: "inspection", view, restore: { uri: "file:///x.ts", start: 0, end: view.text.length, model: "/m" } } satisfies InspectorHostToPanel);
  await p.page.waitForFunction(() => Number(document.body.dataset.heatmapPaintedAt ?? 0) > 0);
  // the labels are drawn (cells of 10 px or more), one row and one column highlighted under the mouse
  const labels = p.page.locator("seqlens-attention-heatmap .rows span");
  assert.equal(await labels.count(), T);
  const box = (await p.page.locator("seqlens-attention-heatmap canvas.map").boundingBox())!;
  await p.page.mouse.move(box.x + (box.width * 2.5) / T, box.y + (box.height * 5.5) / T);
  await p.page.locator("seqlens-attention-heatmap .rows span.hot").waitFor();
  assert.equal(await p.page.locator("seqlens-attention-heatmap .rows span.hot").getAttribute("data-index"), "5");
  // each label sits on its row: top = index × cell, as the CSSOM set it
  const tops = await labels.evaluateAll((ss) => ss.map((s) => (s as HTMLElement).style.top));
  const cell = box.height / T;
  assert.deepEqual(tops, tokens.map((_, q) => `${q * cell}px`));
  // the next-token bars: 0.6 is the widest (100%), 0.3 half of it
  const bars = await p.page.locator("seqlens-next-token .bar").evaluateAll((bs) => bs.map((b) => (b as HTMLElement).style.width));
  assert.deepEqual(bars, ["100%", "50%"]);
  await p.page.locator(".tabs button", { hasText: "Head view" }).click();
  await p.page.locator("seqlens-head-view canvas").first().waitFor({ state: "attached" });
  // the thumbnails: one per layer and head, each canvas sized through the CSSOM
  await p.page.locator(".tabs button", { hasText: "All heads" }).click();
  await p.page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "getAttention").length >= 4);
  const thumbs = p.page.locator("seqlens-attention-overview canvas");
  await thumbs.first().waitFor({ state: "attached" });
  assert.equal(await thumbs.count(), 4);
  const sizes = await thumbs.evaluateAll((cs) => cs.map((c) => (c as HTMLElement).style.width === (c as HTMLElement).style.height && /^\d+(\.\d+)?px$/.test((c as HTMLElement).style.width)));
  assert.deepEqual(sizes, [true, true, true, true]);
  await p.page.locator(".tabs button", { hasText: "Heatmap" }).click();
  await assertNoViolation(p, "Inspector");
});

test("the Gates panel: maps with their axes, a brush, charted units marked on the axis, the line charts; no CSP violation", async () => {
  const p = await open("gates", 900);
  const H = 8;
  const T = 40;
  const names = ["input", "forget", "candidate", "output", "cell", "hidden"];
  const rows = Array.from({ length: T + 1 }, (_, t) => 315 + 0.1 * t + Math.sin(t / 2));
  const view: GatesView = {
    gates: {
      handle: "gates-1",
      model: "/models/co2-lstm",
      name: "co2-lstm",
      runtime: "onnx",
      inputKind: "series",
      steps: T,
      source: Array.from({ length: T }, (_, s) => s + 1),
      labels: rows.slice(1).map((r) => r.toFixed(2)),
      layers: [{ index: 0, layer: 0, direction: "forward", cell: "lstm", units: H, inputSize: 1, activations: ["Sigmoid", "Tanh", "Tanh"], names, check: { maxAbsDiff: 2e-7, worstStep: 3, tolerance: 1e-5, ok: true } }],
      ms: { run: 1, total: 2 },
    },
    forecast: {
      series: rows,
      oneStep: rows.map((y, t) => (t < 4 ? null : y + 0.1)),
      residuals: rows.map((_, t) => (t < 4 ? null : -0.1)),
      multiStep: [1, 2, 3].map((h) => rows[T] + h / 10),
      metrics: { rows: 37, mae: 0.1, rmse: 0.1, lastValue: { mae: 0.6, rmse: 0.7 }, seasonalNaive: { season: 12, mae: 1.1, rmse: 1.2 } },
    },
    restore: { uri: "file:///co2.csv", start: 0, end: 100, model: "/models/co2-lstm", column: 1 },
    gradients: false,
  };
  await p.post({ type: "gates", view } satisfies GatesHostToPanel);
  // every unit above 0.5 in steps 5-10 of the hidden state: all 8 charted
  const slice = (name: string) => Float32Array.from({ length: T * H }, (_, i) => (name === "hidden" ? (Math.floor(i / H) >= 5 && Math.floor(i / H) <= 10 ? 0.9 : 0.1) : 0.5 + 0.4 * Math.sin(i)));
  for (const a of await sentOf(p, "getSlice", names.length)) await p.post({ type: "slice", requestId: a.requestId, index: a.index as number, name: a.name as string, shape: [T, H], data: slice(a.name as string) } satisfies GatesHostToPanel);
  await p.page.waitForFunction(() => Number(document.body.dataset.gatesPaintedAt ?? 0) > 0);
  const hidden = p.page.locator('seqlens-gate-maps canvas.map[data-gate="hidden"]');
  // the canvas's CSS size: 40 steps across the map's width, 8 units of the row height
  const size = await hidden.evaluate((c) => [(c as HTMLElement).style.width, (c as HTMLElement).style.height]);
  assert.match(size[0], /^\d+px$/);
  assert.match(size[1], /^\d+px$/);
  await hidden.focus();
  await hidden.press("Home");
  for (let i = 0; i < 5; i++) await hidden.press("ArrowRight");
  for (let i = 5; i < 10; i++) await hidden.press("Shift+ArrowRight");
  await p.page.locator("vscode-button", { hasText: "Units above threshold in span 5–10 of hidden" }).click();
  await p.page.locator(".picked").waitFor();
  // the charted units marked on the unit axis: unit u at u × row height
  const marks = p.page.locator('seqlens-gate-maps .block[data-gate="hidden"] .axis i');
  await marks.first().waitFor({ state: "attached" });
  const rowH = Number(size[1].replace("px", "")) / H;
  assert.deepEqual(await marks.evaluateAll((is) => is.map((i) => (i as HTMLElement).style.top)), Array.from({ length: H }, (_, u) => `${u * rowH}px`));
  const box = (await hidden.boundingBox())!;
  await p.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await p.page.waitForFunction(() => document.querySelector("seqlens-gates")!.shadowRoot!.querySelectorAll("seqlens-line-chart").length >= 2);
  await assertNoViolation(p, "Gates");
});

test("the Embeddings panel: the scatter with its key and tip, a search, the logit-lens grid and its hover box; no CSP violation", async () => {
  const p = await open("embeddings");
  const tokens = tokensOf(["interface", " Foo", " {"]).map((t, i) => ({ ...t, id: [4, 1, 2][i] }));
  const lens: LensResult = {
    tokens,
    layerNames: ["embeddings", "block 0", "block 1"],
    layers: [0, 1, 2].map((l) => tokens.map((_, t) => [0, 1, 2, 3, 4].map((k) => ({ id: k, token: `t${l}${t}${k}`, p: 0.5 / (k + 1) / (3 - l) })))),
    finalRank: [[3, 2, 5], [2, 1, 1], [1, 1, 1]],
    finalP: [[0.1, 0.2, 0.05], [0.2, 0.4, 0.3], [0.5, 0.6, 0.7]],
    ms: 1,
  };
  const view: EmbeddingsView = { modelName: "fixture", layers: 3, vocabSize: 5, outputMatrix: "own", tokens, lens };
  await p.post({ type: "view", view } satisfies EmbeddingsHostToPanel);
  const ask = (await sentOf(p, "project")).at(-1)!;
  await p.post({ type: "projection", requestId: ask.requestId, source: "vocabulary", method: "pca", dims: 2, coords: Float32Array.from([-1, -1, 1, -1, -1, 1, 1, 1, 0, 0]), ids: Int32Array.from([0, 1, 2, 3, 4]), labels: ["a", "b", "c", "d", "interface"], explained: [0.5, 0.5], cached: false, ms: 3 } satisfies EmbeddingsHostToPanel);
  await p.page.waitForFunction(() => Number(document.body.dataset.scatterPaintedAt ?? 0) > 0);
  await p.page.locator('input[aria-label="Search tokens"]').fill("/^[a-c]$/");
  assert.equal(await p.page.locator("#match-count").innerText(), "3 matches");
  // the key's swatches: the highlight's colour and the matches' colour, from the stylesheet
  const swatches = await p.page.locator("seqlens-scatter .plot-bar .sw").evaluateAll((ss) => ss.map((s) => getComputedStyle(s).backgroundColor));
  assert.deepEqual(swatches, ["rgb(209, 134, 22)", "rgb(55, 148, 255)"]);
  // hover the centre point ("interface"): the tip names it
  const plot = (await p.page.locator("seqlens-scatter canvas.overlay").boundingBox())!;
  await p.page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2);
  await p.page.locator("seqlens-scatter .tip", { hasText: "interface" }).waitFor();
  await p.page.locator("button[role=tab]", { hasText: "Logit lens" }).click();
  const cell = p.page.locator('seqlens-lens-grid td[data-layer="1"][data-position="2"]');
  await cell.hover();
  await p.page.locator("seqlens-lens-grid .tip", { hasText: "block 0" }).waitFor();
  // each cell coloured through the CSSOM: a background and a text colour
  const colours = await p.page.locator("seqlens-lens-grid table[role=grid] td").evaluateAll((ts) => ts.map((t) => [(t as HTMLElement).style.background !== "", (t as HTMLElement).style.color !== ""]));
  assert.deepEqual(colours, Array.from({ length: 9 }, () => [true, true]));
  await assertNoViolation(p, "Embeddings");
});

test("the Compare panel: the strip coloured by the loss difference, the delta legend, the three maps with their marks; no CSP violation", async () => {
  const p = await open("compare");
  const tokens = tokensOf(["let", " x", " =", " 1", ";"]);
  const T = tokens.length;
  const losses: [number, number][] = [[0, 0], [6, 3], [2, 2.5], [5, 1], [1, 1]];
  const view: CompareResult & { text: string } = {
    mode: "token",
    names: ["early", "final"],
    devices: ["cpu", "cpu"],
    handles: ["h0", "h1"],
    tokens,
    perToken: losses.map(([a, b], i) => (i === 0 ? { loss: [null, null], kl: null, js: null, rank: [null, null], p: [null, null] } : { loss: [a, b], kl: [0.5 * i, 0.4 * i], js: 0.1 * i, rank: [3, 1], p: [0.1, 0.6] })),
    summary: { meanLoss: [3.5, 1.875], unit: "bits/token", meanJs: 0.25, changedTokens: [{ index: 3, text: " 1", delta: -4 }], changedHeads: [{ layer: 1, head: 0, meanJs: 0.3 }] },
    nLayer: 2,
    nHead: 2,
    attentionComparable: true,
    ms: { run: 1, total: 2 },
    text: "let x = 1;",
  };
  await p.post({ type: "compare", view } satisfies CompareHostToPanel);
  await p.page.locator("#summary").waitFor();
  await p.page.locator("seqlens-token-strip button").nth(3).click();
  const heads = (await sentOf(p, "getAttention", 2)).slice(-2);
  for (const [side, self] of [[0, 0.5], [1, 0.9]] as const) await p.post({ type: "attention", requestId: heads[side].requestId, side, layer: 0, head: 0, shape: [T, T], data: causal(T, self) } satisfies CompareHostToPanel);
  await p.page.waitForFunction(() => (document.querySelector("seqlens-compare")?.shadowRoot?.querySelector("seqlens-diff-map[colormap=attention-diff]") as HTMLElement | null)?.dataset.max !== undefined);
  // the strip: token 3 (4 bits better) coloured, token 4 (no difference) left as the editor background
  const bg = (i: number) => p.page.locator("seqlens-token-strip button").nth(i).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.notEqual(await bg(3), "rgb(30, 30, 30)");
  assert.equal(await bg(4), "rgb(30, 30, 30)");
  assert.equal(await bg(3), await p.page.locator("#delta-legend .sw").first().evaluate((s) => getComputedStyle(s).backgroundColor), "-4 bits in the strip is the legend's -4");
  // a hover marks the cell in all three maps
  const box = (await p.page.locator("seqlens-diff-map[colormap=attention] canvas").first().boundingBox())!;
  await p.page.mouse.move(box.x + box.width * (0.5 / T), box.y + box.height * (1.5 / T));
  await p.page.locator("#attention-tip", { hasText: "B − A" }).waitFor();
  assert.equal(await p.page.locator("seqlens-diff-map .mark.cell").count(), 3);
  await p.page.mouse.click(box.x + box.width * (0.5 / T), box.y + box.height * (2.5 / T));
  await p.page.locator("seqlens-diff-map .mark.sel").first().waitFor({ state: "attached" });
  await assertNoViolation(p, "Compare");
});
