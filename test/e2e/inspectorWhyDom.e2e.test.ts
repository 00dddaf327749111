// The Inspector's "why" tools rendered from fixed data in chromium (the built bundle on its own page
// and CSP, no VS Code): a head switched off from its thumbnail (the message it sends, the ablated run's
// line with its KL, the marks on the switched-off thumbnails, the mode picker and Restore all), the
// logit attribution grid (what it asks for, its cells, colours and legend, each cell's number on hover
// and on focus, the foil picker), and Why? from the selected token (w and the button). Then the layout
// checks every panel passes at 400, 700 and 1,200 px in dark, light and high contrast with all of it
// shown, and no CSP violation. Screenshots go to test/e2e/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import type { TokenInfo } from "../../protocol/basics";
import type { InspectionView, InspectorAttribution } from "../../protocol/inspector";
import type { AblationInfo, DlaResult } from "../../protocol/interventions";
import { ARTIFACTS } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";
import { openPanelPage, PanelPage, THEMES, waitForExpression } from "./webviewPage";

const WORDS = ["export", " function", " area", "(", "shape", ":", " Shape", ")", " {", "\n ", " return", " Math", ".", "PI", " *", " shape", ".", "radius", " **", " 2", ";", "\n", "}"];
const TOKENS: TokenInfo[] = (() => {
  let offset = 0;
  return WORDS.map((t, i) => {
    const start = offset;
    offset += t.length;
    return { id: 100 + i, text: t, start, end: offset, byteStart: start, byteEnd: offset };
  });
})();
const T = TOKENS.length;
const TEXT = WORDS.join("");
const L = 4;
const H = 4;
const restore = { uri: "file:///area.ts", start: 0, end: TEXT.length, model: "/models/tiny-gpt" };

const TOP = [
  { id: 1, token: "\n", p: 0.41 },
  { id: 2, token: " }", p: 0.2 },
  { id: 3, token: ";", p: 0.1 },
  { id: 4, token: " export", p: 0.05 },
];

function viewOf(ablation?: AblationInfo): InspectionView {
  return {
    handle: ablation ? "h-ablated" : "h-clean",
    modelName: "tiny-gpt",
    device: "cpu",
    text: TEXT,
    tokens: TOKENS,
    nLayer: L,
    nHead: H,
    attentionAvailable: true,
    next: { position: T - 1, temperature: 1, top: ablation ? TOP.map((t, i) => ({ ...t, p: i === 0 ? 0.3 : t.p })) : TOP, entropyBits: 2.1 },
    ...(ablation ? { ablation } : {}),
    ms: { run: 4.2, total: 6 },
  };
}

const ABLATION: AblationInfo = {
  heads: [
    { layer: 1, head: 2 },
    { layer: 3, head: 0 },
  ],
  mode: "zero",
  klFromClean: 0.1234,
  klPerPosition: Array.from({ length: T }, (_, i) => (i === T - 1 ? 0.1234 : 0.01 * (i % 5))),
  cleanNext: { position: T - 1, temperature: 1, top: TOP, entropyBits: 2.1 },
  attentionFrom: "ablated",
};

/** The DLA fixture: head (l, h) writes a signed amount; layer 2 head 1 raises the logit most, layer 3 head 3 lowers it most. */
function dlaOf(position: number, foil?: number): Omit<DlaResult, "tokens"> {
  const heads = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => +(0.3 * Math.sin(1.7 * l + 2.3 * h)).toFixed(4)));
  heads[2][1] = 2.5;
  heads[3][3] = -1.75;
  const mlps = [0.4, -0.2, 1.1, 0.6];
  const attnBiases = [0.05, -0.02, 0.01, 0.03];
  const embed = 1.2;
  const remainder = 0.0421;
  const logit = heads.flat().reduce((a, b) => a + b, 0) + mlps.reduce((a, b) => a + b, 0) + attnBiases.reduce((a, b) => a + b, 0) + embed + remainder;
  return {
    target: { id: 1, text: "\n" },
    ...(foil !== undefined ? { foil: { id: foil, text: TOP.find((t) => t.id === foil)?.token ?? "?" } } : {}),
    metric: foil !== undefined ? "logit-diff" : "logit",
    position,
    embed,
    heads,
    mlps,
    attnBiases,
    remainder,
    biasTerm: 0.04,
    logit,
    norm: "layernorm",
    ms: 12,
  };
}

type Sent = Record<string, unknown> & { type: string };
const sentOf = (page: Page, type: string) => page.evaluate((t) => (window as unknown as { sent: Sent[] }).sent.filter((m) => m.type === t), type);
const waitSent = (page: Page, type: string, n: number) => page.waitForFunction(([t, k]) => (window as unknown as { sent: Sent[] }).sent.filter((m) => m.type === t).length >= (k as number), [type, n] as const);

/** A stand-in host: every getAttention answered with a causal slice, every getDla with the fixture. */
async function installResponder(page: Page) {
  await page.evaluate(`globalThis.__name ??= (f) => f; window.dlaOf = ${dlaOf.toString()}; window.TOP = ${JSON.stringify(TOP)}; window.L = ${L}; window.H = ${H};`);
  await page.evaluate((n) => {
    const w = window as unknown as { sent: Sent[]; dlaOf: typeof dlaOf };
    const push = w.sent.push.bind(w.sent);
    w.sent.push = (...ms: Sent[]) => {
      for (const m of ms) {
        if (m.type === "getAttention") {
          const data = new Float32Array(n * n);
          const kind = ((m.layer as number) + (m.head as number)) % 3;
          for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) data[q * n + k] = q === 0 ? 1 : kind === 0 ? (k === 0 ? 0.6 : 0.4 / q) : kind === 1 ? (k === q - 1 ? 0.7 : 0.3 / q) : 1 / (q + 1);
          setTimeout(() => window.postMessage({ type: "attention", requestId: m.requestId, layer: m.layer, head: m.head, shape: [n, n], data }, "*"));
        } else if (m.type === "getDla") {
          const result = w.dlaOf((m.position as number) + 1, m.foil as number | undefined);
          setTimeout(() => window.postMessage({ type: "dla", requestId: m.requestId, result }, "*"));
        }
      }
      return push(...ms);
    };
  }, T);
}

async function openInspector(theme: keyof typeof THEMES, width: number, height = 900): Promise<PanelPage> {
  const panel = await openPanelPage("inspector", "seqlens-inspector", THEMES[theme](), { width, height });
  await installResponder(panel.page);
  return panel;
}

async function withInspector(theme: keyof typeof THEMES, width: number, fn: (p: PanelPage) => Promise<void>) {
  const panel = await openInspector(theme, width);
  try {
    await fn(panel);
  } finally {
    await panel.close();
  }
}

const OVERVIEW = `document.querySelector("seqlens-inspector").shadowRoot.querySelector("seqlens-attention-overview")`;

async function inspect(p: PanelPage, ablation?: AblationInfo) {
  await p.post({ type: "inspection", view: viewOf(ablation), restore });
  await p.page.waitForFunction((h) => (document.querySelector("seqlens-inspector") as unknown as { view?: { handle: string } }).view?.handle === h, ablation ? "h-ablated" : "h-clean");
}

/** Opens the All heads tab and waits for every thumbnail's slice. */
async function allHeads(page: Page) {
  await page.locator(".tabs button", { hasText: "All heads" }).click();
  await waitForExpression(page, `${OVERVIEW}?.slices.size === ${L * H}`);
  await page.evaluate(`${OVERVIEW}.updateComplete`);
}

const switchOf = (page: Page, l: number, h: number) => page.locator(`button.switch[title="switch head ${l}.${h} off"], button.switch[title="switch head ${l}.${h} back on"]`);

test("a thumbnail's switch asks for the run with that head off; the ablated run shows its KL line and marks its heads; the mode and Restore all ask again", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await withInspector("dark", 1000, async (p) => {
    const { page } = p;
    await inspect(p);
    await allHeads(page);
    // every thumbnail has a switch, none pressed, with its tooltip
    assert.equal(await page.locator("button.switch").count(), L * H);
    assert.equal(await page.locator('button.switch[aria-pressed="true"]').count(), 0);
    assert.equal(await switchOf(page, 1, 2).getAttribute("title"), "switch head 1.2 off");
    await switchOf(page, 1, 2).click();
    await waitSent(page, "ablateHeads", 1);
    assert.deepEqual((await sentOf(page, "ablateHeads"))[0], { type: "ablateHeads", heads: [{ layer: 1, head: 2 }], mode: "zero" });
    // while the host runs: the switch shows pressed, and the panel says what it waits for
    assert.equal(await switchOf(page, 1, 2).getAttribute("aria-pressed"), "true");
    assert.match((await page.locator(".ablation").textContent())!, /running with heads 1\.2 off/);
    // from the keyboard: focus a switch, Space
    await switchOf(page, 3, 0).focus();
    await page.keyboard.press("Space");
    await waitSent(page, "ablateHeads", 2);
    assert.deepEqual((await sentOf(page, "ablateHeads"))[1], { type: "ablateHeads", heads: [{ layer: 1, head: 2 }, { layer: 3, head: 0 }], mode: "zero" });

    // the ablated run comes
    await inspect(p, ABLATION);
    await waitForExpression(page, `${OVERVIEW}?.slices.size === ${L * H}`);
    const line = (await page.locator(".ablation .abl-line").textContent())!.replace(/\s+/g, " ").trim();
    assert.equal(line, "heads 1.2, 3.0 off (zero): KL from the unablated run 0.123 nats at the last token");
    assert.equal(await page.locator('button.switch[aria-pressed="true"]').count(), 2);
    for (const [l, h] of [[1, 2], [3, 0]]) {
      assert.equal(await switchOf(page, l, h).getAttribute("aria-pressed"), "true");
      assert.equal(await switchOf(page, l, h).getAttribute("title"), `switch head ${l}.${h} back on`);
    }
    // marked by more than colour: crossed out, the word "off", a dashed border
    assert.equal(await page.locator(".thumb.off").count(), 2);
    assert.equal(await page.locator(".thumb.off svg.cross").count(), 2);
    assert.deepEqual(await page.locator(".thumb.off .offtag").allTextContents(), ["off", "off"]);
    assert.equal(await page.locator(".thumb.off button.open").first().evaluate((b) => getComputedStyle(b).borderTopStyle), "dashed");
    assert.equal(await page.locator(".thumb:not(.off) button.open").first().evaluate((b) => getComputedStyle(b).borderTopStyle), "solid");
    // the next-token list is the ablated run's
    assert.equal(await page.locator("seqlens-next-token td.p").first().textContent(), "30.00%");
    // the KL after the selected token, when it is not the last
    await page.locator("seqlens-token-strip button[data-index='10']").click();
    await page.waitForFunction(() => (document.querySelector("seqlens-inspector") as unknown as { selected: number }).selected === 10);
    assert.match((await page.locator(".ablation .abl-line").textContent())!.replace(/\s+/g, " "), /, 0\.000 after token #10/);
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-why-ablated-dark-1000.png"), fullPage: true });

    // the mode: the same heads, asked again with mean
    await page.locator('select[aria-label="Ablation mode"]').selectOption("mean");
    await waitSent(page, "ablateHeads", 3);
    assert.deepEqual((await sentOf(page, "ablateHeads"))[2], { type: "ablateHeads", heads: [{ layer: 1, head: 2 }, { layer: 3, head: 0 }], mode: "mean" });
    // a failed run: the marks are again those of the run shown
    await p.post({ type: "error", message: "head ablation needs the ONNX graph" });
    await page.waitForFunction(() => (document.querySelector("seqlens-inspector") as unknown as { ablatePending?: unknown }).ablatePending === undefined);
    assert.equal(await page.locator('button.switch[aria-pressed="true"]').count(), 2);
    // Restore all: every head back on
    await page.locator(".ablation vscode-button", { hasText: "Restore all" }).click();
    await waitSent(page, "ablateHeads", 4);
    assert.deepEqual((await sentOf(page, "ablateHeads"))[3], { type: "ablateHeads", heads: [], mode: "mean" });
    await inspect(p);
    await waitForExpression(page, `${OVERVIEW}?.slices.size === ${L * H}`);
    assert.equal(await page.locator(".ablation").count(), 0);
    assert.equal(await page.locator('button.switch[aria-pressed="true"]').count(), 0);
  });
});

const cellAt = (page: Page, key: string) => page.locator(`seqlens-dla-grid .cell[data-key="${key}"]`);
const rgb = (s: string) => (/rgba?\((\d+), (\d+), (\d+)/.exec(s) ?? []).slice(1, 4).map(Number);

test("the logit attribution grid: asked for the selected token, layers by heads, MLP and bias, embeddings and remainder, coloured on the legend's diverging scale, each number on hover and on focus", async () => {
  await withInspector("dark", 1000, async (p) => {
    const { page } = p;
    await inspect(p);
    await page.locator("button.disclosure", { hasText: "Logit attribution" }).click();
    await waitSent(page, "getDla", 1);
    const first = (await sentOf(page, "getDla"))[0];
    assert.equal(first.position, T - 1);
    assert.equal(first.foil, undefined);
    await page.locator("seqlens-dla-grid .cell").first().waitFor();
    // 16 heads, 4 MLPs, 4 biases, the embeddings and the remainder
    assert.equal(await page.locator("seqlens-dla-grid .cell").count(), L * H + L + L + 2);
    assert.equal(await page.locator('seqlens-dla-grid [role="columnheader"]', { hasText: "MLP" }).count(), 1);
    // the legend: the diverging scale, named for the grid, its ends ± the bound
    const legend = page.locator('seqlens-color-legend[for="dla"]');
    assert.equal(await legend.count(), 1);
    const ticks = await legend.locator(".ticks span").allTextContents();
    assert.equal(ticks.length, 5);
    assert.match(ticks[0], /^−\d/);
    assert.match(ticks[4], /^\+\d/);
    assert.equal(ticks[2], "0");
    assert.equal((await legend.locator(".title").textContent())!.replace(/\s+/g, " ").trim(), "direct logit attribution, to logit(`↵`) · hover or focus a cell for its value");
    // colours: the largest raise is the theme's orange, the largest drop its blue, a zero the background
    const bg = await cellAt(page, "2,1").evaluate((c) => getComputedStyle(c).backgroundColor);
    const neg = await cellAt(page, "3,3").evaluate((c) => getComputedStyle(c).backgroundColor);
    assert.deepEqual(rgb(bg), [0xd1, 0x86, 0x16]);
    assert.deepEqual(rgb(neg), [0x37, 0x94, 0xff]);
    // hover: the readout says the cell and its number; the tooltip too
    await cellAt(page, "2,1").hover();
    assert.equal((await page.locator("seqlens-dla-grid .readout").textContent())!.replace(/\s+/g, " ").trim().split(" to ")[0], "layer 2 · head 1: +2.500");
    assert.equal(await cellAt(page, "3,3").getAttribute("title"), "layer 3 · head 3: −1.750");
    await cellAt(page, "0,4").hover();
    assert.match((await page.locator("seqlens-dla-grid .readout").textContent())!, /layer 0 · MLP: \+0\.400/);
    await page.locator("seqlens-dla-grid .totals .cell").first().hover();
    assert.match((await page.locator("seqlens-dla-grid .readout").textContent())!, /embeddings: \+1\.200/);
    // focus: one tab stop in the grid, arrows move it, the readout follows
    await page.mouse.move(1, 1);
    assert.equal(await page.locator('seqlens-dla-grid .grid .cell[tabindex="0"]').count(), 1);
    await cellAt(page, "0,0").focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction(() => (document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-dla-grid") as unknown as { focusKey: string }).focusKey === "1,1");
    const expected = dlaOf(T).heads[1][1];
    assert.match((await page.locator("seqlens-dla-grid .readout").textContent())!, new RegExp(`layer 1 · head 1: ${expected < 0 ? "−" : "\\+"}${Math.abs(expected).toFixed(3)}`));
    // the sum and the largest parts, as text
    assert.match((await page.locator("seqlens-dla-grid .totals").textContent())!, new RegExp(`logit \\+${dlaOf(T).logit.toFixed(3)}`));
    assert.deepEqual((await page.locator("seqlens-dla-grid .top li").allTextContents()).slice(0, 2), ["layer 2 · head 1: +2.500", "layer 3 · head 3: −1.750"]);
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-why-dla-dark-1000.png"), fullPage: true });
    // a foil from the next-token list
    await page.locator('select[aria-label="Foil token"]').selectOption("2");
    await waitSent(page, "getDla", 2);
    assert.equal((await sentOf(page, "getDla"))[1].foil, 2);
    await page.waitForFunction(() => /logit\(.*\) − logit\(/.test(document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-dla-grid")!.shadowRoot!.querySelector(".readout")!.textContent ?? ""));
    // another token: asked at its position, the foil dropped
    await page.locator("seqlens-token-strip button[data-index='5']").click();
    await waitSent(page, "getDla", 3);
    const third = (await sentOf(page, "getDla"))[2];
    assert.equal(third.position, 5);
    assert.equal(third.foil, undefined);
  });
});

test("Why? from the selected token: w and the button ask the host for the editor's Why This Token? on that token", async () => {
  await withInspector("dark", 1000, async (p) => {
    const { page } = p;
    await inspect(p);
    await page.locator("seqlens-token-strip button[data-index='7']").click();
    await page.waitForFunction(() => (document.querySelector("seqlens-inspector") as unknown as { selected: number }).selected === 7);
    await page.mouse.click(2, 2); // focus the page, not a control
    await page.keyboard.press("w");
    await waitSent(page, "whyToken", 1);
    assert.deepEqual((await sentOf(page, "whyToken"))[0], { type: "whyToken", index: 7 });
    await page.locator("vscode-button", { hasText: "Why" }).click();
    await waitSent(page, "whyToken", 2);
    assert.deepEqual((await sentOf(page, "whyToken"))[1], { type: "whyToken", index: 7 });
    // the first token has nothing before it: no request
    await page.locator("seqlens-token-strip button[data-index='0']").click();
    await page.waitForFunction(() => (document.querySelector("seqlens-inspector") as unknown as { selected: number }).selected === 0);
    await page.mouse.click(2, 2);
    await page.keyboard.press("w");
    assert.equal((await sentOf(page, "whyToken")).length, 2);
  });
});

/** Why This Token? on token 7 as the host sends it back: token 3 raised the prediction most, token 5 lowered it. */
const ATTRIBUTION: InspectorAttribution = {
  position: 7,
  target: { id: 107, text: ")" },
  metric: "logprob",
  baseline: { text: "<|endoftext|>", kind: "eos" },
  base: Math.log(0.62),
  scores: [0.05, -0.02, 0.3, 2.4, 0.11, -0.9, 0.2],
  tokens: WORDS.slice(0, 7),
};

test("Why? answered: the panel's own strip colours the tokens before the selected one by their scores, with its legend, each number on hover and focus, the largest listed; a click then a key changes nothing", async () => {
  await withInspector("dark", 1000, async (p) => {
    const { page } = p;
    await inspect(p);
    await p.post({ type: "attribution", attribution: ATTRIBUTION });
    const toks = page.locator("seqlens-attribution-strip .tok[data-index]");
    await toks.first().waitFor();
    assert.equal(await toks.count(), 7);
    assert.deepEqual(await toks.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-score")))), ATTRIBUTION.scores);
    assert.deepEqual((await toks.allTextContents()).map((t) => t.replace(/\s+$/, "")), WORDS.slice(0, 7).map((w) => w.replace(/ /g, "·").replace(/\n/g, "↵")).map((t) => t.replace(/\s+$/, "")));
    // the legend: diverging, its ends ± the 90th-percentile effect (0.9 here: 2.4 beyond it is drawn at full colour)
    const legend = page.locator('seqlens-color-legend[for="attribution"]');
    assert.equal(await legend.count(), 1);
    const ticks = await legend.locator(".ticks span").allTextContents();
    assert.equal(ticks[2], "0");
    assert.match(ticks[0], /^−0\.9/);
    assert.match(ticks[4], /^\+0\.9/);
    // colours: the largest raise is the theme's orange, the drop at the scale's end its blue
    const bar = (i: number) => page.locator(`seqlens-attribution-strip .tok[data-index="${i}"] .bar`).evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.deepEqual(rgb(await bar(3)), [0xd1, 0x86, 0x16]);
    assert.deepEqual(rgb(await bar(5)), [0x37, 0x94, 0xff]);
    // hover and focus: the readout says the token and its number
    await toks.nth(3).hover();
    assert.match((await page.locator("seqlens-attribution-strip .readout").textContent())!, /token 3 `\(`: \+2\.400/);
    await page.mouse.move(1, 1);
    assert.equal(await page.locator('seqlens-attribution-strip .tok[tabindex="0"]').count(), 1);
    await toks.nth(0).focus();
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction(() => (document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attribution-strip") as unknown as { focusIndex: number }).focusIndex === 2);
    assert.match((await page.locator("seqlens-attribution-strip .readout").textContent())!, /token 2 `·area`: \+0\.300/);
    assert.deepEqual((await page.locator("seqlens-attribution-strip .top li").allTextContents()).slice(0, 2).map((t) => t.replace(/\s+/g, " ")), ["token 3 (: +2.400", "token 5 :: −0.900"]);
    // a click in the strip, then a key: nothing is sent to the host, nothing changes
    const before = (await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent.length));
    await toks.nth(4).click();
    await page.keyboard.type("x");
    assert.equal(await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent.length), before);
    assert.equal(await toks.count(), 7);
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-why-attribution-dark-1000.png"), fullPage: true });
    // another text inspected: the strip goes
    await p.post({ type: "inspection", view: { ...viewOf(), handle: "h-other", text: TEXT + " ", tokens: [...TOKENS, { id: 9, text: " ", start: TEXT.length, end: TEXT.length + 1, byteStart: TEXT.length, byteEnd: TEXT.length + 1 }] }, restore });
    await page.waitForFunction(() => !document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attribution-strip"));
  });
});

test("with heads off and the grid open: layout at 400, 700 and 1,200 px in dark, light and high contrast, and no CSP violation", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const problems: string[] = [];
  for (const theme of ["dark", "light", "hc"] as const) {
    await withInspector(theme, 1200, async (p) => {
      const { page } = p;
      await inspect(p, ABLATION);
      await p.post({ type: "attribution", attribution: ATTRIBUTION });
      await page.locator("seqlens-attribution-strip .tok").first().waitFor();
      await allHeads(page);
      await page.locator("button.disclosure", { hasText: "Logit attribution" }).click();
      await page.locator("seqlens-dla-grid .cell").first().waitFor();
      await cellAt(page, "2,1").hover();
      for (const width of [400, 700, 1200]) {
        await page.setViewportSize({ width, height: 900 });
        await page.evaluate(`${OVERVIEW}.updateComplete`);
        await page.waitForFunction((w) => document.documentElement.clientWidth === w, width);
        const report = await layoutReport(page);
        assert.ok(report.counted.texts > 40, `${theme} ${width}: ${report.counted.texts} texts looked at`);
        assert.ok(report.counted.legends >= 3, `${theme} ${width}: ${report.counted.legends} legends`);
        const found = formatReport(report);
        if (found) problems.push(`${theme} ${width}:\n${found}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (overflow > 0) problems.push(`${theme} ${width}: the page is ${overflow} px wider than the panel`);
        await page.screenshot({ path: path.join(ARTIFACTS, `inspector-why-${theme}-${width}.png`), fullPage: true });
      }
      const violations = await p.violations();
      assert.deepEqual(violations, [], `${theme}: CSP violations`);
    });
  }
  assert.equal(problems.join("\n"), "");
});
