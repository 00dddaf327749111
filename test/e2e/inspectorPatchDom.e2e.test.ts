// The Inspector's activation patching section rendered from fixed data in chromium (the built bundle
// on its own page and CSP, no VS Code): the layers × positions grid (a cell per layer and token, the
// column labels the tokens with the differing one marked, colours on the legend's diverging scale,
// each cell's number on hover, on focus and in its tooltip, the clean and corrupted metric values),
// the per-head grid of a layer asked for from a row label and from the select, the metric's pickers
// (what they ask for, and the heads asked again with the new metric), Close, and a click on a cell
// then typing changing nothing. Then the layout checks at 300, 400, 700 and 1,200 px in dark, light and
// high contrast beside an inspection, and no CSP violation. Screenshots go to test/e2e/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import type { TokenInfo } from "../../protocol/basics";
import type { InspectionView, PatchView } from "../../protocol/inspector";
import type { PatchResult } from "../../protocol/interventions";
import { ARTIFACTS } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";
import { openPanelPage, PanelPage, THEMES, waitForExpression } from "./webviewPage";

const tokensOf = (words: string[], id0: number): TokenInfo[] => {
  let offset = 0;
  return words.map((t, i) => {
    const start = offset;
    offset += t.length;
    return { id: id0 + i, text: t, start, end: offset, byteStart: start, byteEnd: offset };
  });
};
const CLEAN_WORDS = ["const", " r", " =", " circle", ".", "radius"];
const CORRUPT_WORDS = ["const", " r", " =", " square", ".", "radius"];
const T = CLEAN_WORDS.length;
const L = 4;
const H = 4;
const DIFFER = 3;
const CLEAN_M = 2.5;
const CORRUPT_M = -1.5;

/** The residual grid: the differing token carries the metric in the early layers, the last token in the late ones; one patch overshoots the corrupted run. */
function gridOf(scale = 1): number[][] {
  return Array.from({ length: L }, (_, l) =>
    Array.from({ length: T }, (_, j) => (j === DIFFER ? [1, 0.8, 0.3, 0.05][l] : j === T - 1 ? [0, 0.2, 0.7, 1][l] : l === 1 && j === 4 ? -0.25 : 0) * scale),
  );
}

function resultOf(target: { id: number; text: string }, foil: { id: number; text: string }, grid: number[][], per: "residual" | "head" = "residual", layer?: number): PatchResult {
  return {
    per,
    ...(layer !== undefined ? { layer } : {}),
    axes: per === "head" ? ["head", "position"] : ["layer", "position"],
    grid,
    raw: grid.map((row) => row.map((g) => CORRUPT_M + g * (CLEAN_M - CORRUPT_M))),
    cleanMetric: CLEAN_M,
    corruptedMetric: CORRUPT_M,
    target,
    foil,
    tokens: tokensOf(CLEAN_WORDS, 10),
    corruptedTokens: tokensOf(CORRUPT_WORDS, 10).map((t, i) => (i === DIFFER ? { ...t, id: 99 } : t)),
    differ: [DIFFER],
    patched: L * 2,
    runs: L * 2 + 2,
    ms: 42,
  };
}

const CANDIDATES = [
  { id: 1, text: ".", clean: 0.5, corrupted: 0.3 },
  { id: 2, text: ";", clean: 0.2, corrupted: 0.4 },
  { id: 3, text: "\n", clean: 0.1 },
  { id: 4, text: " *", corrupted: 0.05 },
];
const tokenOf = (id: number) => ({ id, text: CANDIDATES.find((c) => c.id === id)!.text });

function patchViewOf(target = 1, foil = 2): PatchView {
  return {
    modelName: "tiny-gpt",
    clean: CLEAN_WORDS.join(""),
    corrupted: CORRUPT_WORDS.join(""),
    result: resultOf(tokenOf(target), tokenOf(foil), gridOf(target === 1 ? 1 : 0.5)),
    candidates: CANDIDATES,
    defaultMetric: { target: 1, foil: 2 },
  };
}

/** Head h of layer l restores (h + 1) / 8 at the differing token, h / 4 at the last, times the metric's scale. */
const headsGrid = (layer: number, scale: number) => Array.from({ length: H }, (_, h) => Array.from({ length: T }, (_, j) => (j === DIFFER ? (h + 1) / 8 : j === T - 1 ? h / 4 : 0) * scale * (layer + 1)));

type Sent = Record<string, unknown> & { type: string };
const sentOf = (page: Page, type: string) => page.evaluate((t) => (window as unknown as { sent: Sent[] }).sent.filter((m) => m.type === t), type);
const waitSent = (page: Page, type: string, n: number) => waitForExpression(page, `window.sent.filter((m) => m.type === ${JSON.stringify(type)}).length >= ${n}`);

/** A stand-in host: getPatchHeads answered with the heads fixture, setPatchMetric with the view for the new metric; attention and next-token requests answered too (beside an inspection). */
async function installResponder(page: Page) {
  await page.evaluate(
    `globalThis.__name ??= (f) => f; window.fx = { headsGrid: ${headsGrid.toString()}, resultOf: ${resultOf.toString()}, patchViewOf: ${patchViewOf.toString()}, gridOf: ${gridOf.toString()}, tokensOf: ${tokensOf.toString()}, tokenOf: ${tokenOf.toString()} };
     Object.assign(window, { CLEAN_WORDS: ${JSON.stringify(CLEAN_WORDS)}, CORRUPT_WORDS: ${JSON.stringify(CORRUPT_WORDS)}, T: ${T}, L: ${L}, H: ${H}, DIFFER: ${DIFFER}, CLEAN_M: ${CLEAN_M}, CORRUPT_M: ${CORRUPT_M}, CANDIDATES: ${JSON.stringify(CANDIDATES)} });
     for (const [k, f] of Object.entries(window.fx)) window[k] = f;`,
  );
  await page.evaluate(() => {
    type W = { sent: Sent[]; hold?: boolean; held: (() => void)[]; headsGrid: typeof headsGrid; resultOf: typeof resultOf; patchViewOf: typeof patchViewOf; tokenOf: typeof tokenOf; metric: { target: number; foil: number } };
    const w = window as unknown as W;
    w.metric = { target: 1, foil: 2 };
    w.held = [];
    const push = w.sent.push.bind(w.sent);
    const reply = (m: unknown) => setTimeout(() => window.postMessage(m, "*"));
    w.sent.push = (...ms: Sent[]) => {
      for (const m of ms) {
        if (m.type === "getPatchHeads") {
          const scale = w.metric.target === 1 ? 1 : 0.5;
          const send = () => reply({ type: "patchHeads", requestId: m.requestId, result: w.resultOf(w.tokenOf(w.metric.target), w.tokenOf(w.metric.foil), w.headsGrid(m.layer as number, scale), "head", m.layer as number) });
          if (w.hold) w.held.push(send);
          else send();
        } else if (m.type === "setPatchMetric") {
          w.metric = { target: m.target as number, foil: m.foil as number };
          reply({ type: "patch", requestId: m.requestId, patch: w.patchViewOf(m.target as number, m.foil as number) });
        } else if (m.type === "getAttention") {
          const n = (window as unknown as { T: number }).T;
          const data = new Float32Array(n * n);
          for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) data[q * n + k] = 1 / (q + 1);
          reply({ type: "attention", requestId: m.requestId, layer: m.layer, head: m.head, shape: [n, n], data });
        }
      }
      return push(...ms);
    };
  });
}

async function withPanel(theme: keyof typeof THEMES, width: number, fn: (p: PanelPage) => Promise<void>) {
  const panel = await openPanelPage("inspector", "seqlens-inspector", THEMES[theme](), { width, height: 900 });
  try {
    await installResponder(panel.page);
    await fn(panel);
  } finally {
    await panel.close();
  }
}

const SECTION = `document.querySelector("seqlens-inspector").shadowRoot.querySelector("seqlens-patch-section")`;
const GRID = (cls: string) => `${SECTION}?.shadowRoot.querySelector("seqlens-patch-grid.${cls}")`;
const cell = (page: Page, cls: string, i: number, j: number) => page.locator(`seqlens-patch-grid.${cls} .cell[data-key="${i},${j}"]`);
const rgb = (s: string) => (/rgba?\((\d+), (\d+), (\d+)/.exec(s) ?? []).slice(1, 4).map(Number);
const text = async (page: Page, sel: string) => ((await page.locator(sel).first().textContent()) ?? "").replace(/\s+/g, " ").trim();

async function showPatch(p: PanelPage, view = patchViewOf()) {
  await p.post({ type: "patch", patch: view });
  await waitForExpression(p.page, `${GRID("residual")}?.shadowRoot?.querySelectorAll(".cell").length === ${L * T}`);
}

/** Every cell's data-value of a grid, as [row][col]. */
const values = (page: Page, cls: string) =>
  page.locator(`seqlens-patch-grid.${cls} .cell`).evaluateAll((cells) => {
    const out: number[][] = [];
    for (const c of cells as HTMLElement[]) (out[Number(c.dataset.row)] ??= [])[Number(c.dataset.col)] = Number(c.dataset.value);
    return out;
  });

test("the layers × positions grid: a cell per layer and token, the tokens as column labels with the differing one marked, the legend's diverging scale, the metric values, each number on hover and focus", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await withPanel("dark", 1000, async (p) => {
    const { page } = p;
    await showPatch(p);
    // no inspection: the section alone, with the hint below it
    assert.equal(await page.locator("section.patch h2").textContent(), "Activation patching");
    assert.equal(await page.locator("seqlens-patch-grid.residual .grid").getAttribute("data-rows"), String(L));
    assert.equal(await page.locator("seqlens-patch-grid.residual .grid").getAttribute("data-cols"), String(T));
    assert.deepEqual(await values(page, "residual"), gridOf());
    // columns: the clean tokens; the differing one marked by a sign and a border, its corrupted token in the label
    const cols = await page.locator('seqlens-patch-grid.residual [role="columnheader"].col').allTextContents();
    assert.deepEqual(cols, ["const", "·r", "·=", "≠·circle", ".", "radius"]);
    const differ = page.locator("seqlens-patch-grid.residual .col.differ");
    assert.equal(await differ.count(), 1);
    assert.equal(await differ.getAttribute("aria-label"), "position 3 `·circle` (corrupted `·square`)");
    assert.equal(await page.locator("seqlens-patch-grid.residual .cell.differ").count(), L);
    // rows: one button per layer
    assert.deepEqual(await page.locator("seqlens-patch-grid.residual .side button").allTextContents(), ["L0", "L1", "L2", "L3"]);
    // the legend: the diverging scale, 0 in the middle, ±1 at the ends
    const legend = page.locator('seqlens-color-legend[for="patch"]');
    assert.equal(await legend.count(), 1);
    assert.deepEqual(await legend.locator(".ticks span").allTextContents(), ["−1", "−0.5", "0", "+0.5", "+1"]);
    assert.match(await text(page, 'seqlens-color-legend[for="patch"] .title'), /^share restored \(0 corrupted, 1 clean\)$/);
    // colours: a full restoration the theme's orange, none the background, the overshoot toward the blue
    assert.deepEqual(rgb(await cell(page, "residual", 0, DIFFER).evaluate((c) => getComputedStyle(c).backgroundColor)), [0xd1, 0x86, 0x16]);
    assert.deepEqual(rgb(await cell(page, "residual", 0, 0).evaluate((c) => getComputedStyle(c).backgroundColor)), [0x1e, 0x1e, 0x1e]);
    const neg = rgb(await cell(page, "residual", 1, 4).evaluate((c) => getComputedStyle(c).backgroundColor));
    assert.ok(neg[2] > neg[0] && neg[2] > 0x1e, `an overshoot is blue-ish: ${neg}`);
    // the metric and its values
    assert.equal(await text(page, "seqlens-patch-section .values"), "clean +2.500 corrupted −1.500 logit(`.`) − logit(`;`) after the last token");
    assert.match(await text(page, "seqlens-patch-section .pickers"), /\(the default: the clean run's top token against the corrupted run's\)/);
    // hover: the readout and the tooltip
    await cell(page, "residual", 2, T - 1).hover();
    assert.equal(await text(page, "seqlens-patch-grid.residual .readout"), "layer 2 · position 5 `radius`: restores +0.700 (metric +1.300)");
    assert.equal(await cell(page, "residual", 1, 4).getAttribute("title"), "layer 1 · position 4 `.`: restores −0.250 (metric −2.500)");
    // focus: one tab stop; arrows move it and the readout follows
    await page.mouse.move(1, 1);
    assert.equal(await page.locator('seqlens-patch-grid.residual .cell[tabindex="0"]').count(), 1);
    await cell(page, "residual", 0, 0).focus();
    for (const k of ["ArrowDown", "ArrowRight", "ArrowRight", "ArrowRight", "End", "ArrowUp"]) await page.keyboard.press(k);
    await waitForExpression(page, `${GRID("residual")}.focusKey === "0,5"`);
    assert.equal(await text(page, "seqlens-patch-grid.residual .readout"), "layer 0 · position 5 `radius`: restores +0.000 (metric −1.500)");
    await page.screenshot({ path: path.join(ARTIFACTS, "inspector-patch-dark-1000.png"), fullPage: true });
    assert.deepEqual(await p.violations(), []);
  });
});

test("a layer's label and the select ask for the per-head grid of that layer; it shows with its own legend; another metric re-runs the grid and asks for the heads again", async () => {
  await withPanel("dark", 1000, async (p) => {
    const { page } = p;
    await showPatch(p);
    await page.evaluate(() => ((window as unknown as { hold: boolean }).hold = true));
    await page.locator("seqlens-patch-grid.residual .side button", { hasText: "L2" }).click();
    await waitSent(page, "getPatchHeads", 1);
    assert.equal((await sentOf(page, "getPatchHeads"))[0].layer, 2);
    // while the host runs: the section says so, the label is marked
    assert.match(await text(page, "seqlens-patch-section .pickers"), /patching the heads of layer 2…/);
    assert.equal(await page.locator("seqlens-patch-grid.residual .side button", { hasText: "L2" }).getAttribute("aria-pressed"), "true");
    await page.evaluate(() => {
      const w = window as unknown as { hold: boolean; held: (() => void)[] };
      w.hold = false;
      for (const f of w.held.splice(0)) f();
    });
    await waitForExpression(page, `${GRID("heads")}?.shadowRoot?.querySelectorAll(".cell").length === ${H * T}`);
    assert.equal(await page.locator("seqlens-patch-grid.heads .grid").getAttribute("data-rows"), String(H));
    assert.deepEqual(await values(page, "heads"), headsGrid(2, 1));
    assert.equal(await page.locator('seqlens-color-legend[for="patch-heads"]').count(), 1);
    assert.equal(await text(page, "seqlens-patch-section h3 >> nth=1"), "Heads of layer 2, head × position");
    await cell(page, "heads", 3, DIFFER).hover();
    assert.equal(await text(page, "seqlens-patch-grid.heads .readout"), `head 3 · position 3 \`·circle\` (corrupted \`·square\`): restores +${(0.5 * 3).toFixed(3)} (metric +${(CORRUPT_M + 1.5 * 4).toFixed(3)})`);
    // the select
    await page.locator('select[aria-label="Layer whose heads are patched"]').selectOption("1");
    await waitSent(page, "getPatchHeads", 2);
    assert.equal((await sentOf(page, "getPatchHeads"))[1].layer, 1);
    await waitForExpression(page, `${GRID("heads")}?.result?.layer === 1`);
    assert.deepEqual(await values(page, "heads"), headsGrid(1, 1));
    // another metric: the target picked from the offered tokens; the foil stays
    const options = await page.locator('select[aria-label="Patching target token"] option').allTextContents();
    assert.deepEqual(options, [". (clean 50.0%, corrupted 30.0%)", "; (clean 20.0%, corrupted 40.0%)", "↵ (clean 10.0%, corrupted –)", "·* (clean –, corrupted 5.0%)"]);
    await page.locator('select[aria-label="Patching target token"]').selectOption("3");
    await waitSent(page, "setPatchMetric", 1);
    const asked = (await sentOf(page, "setPatchMetric"))[0];
    assert.deepEqual([asked.target, asked.foil], [3, 2]);
    await waitForExpression(page, `${SECTION}?.view?.result.target.id === 3`);
    await waitForExpression(page, `${GRID("residual")}?.shadowRoot?.querySelector('.cell[data-key="0,3"]')?.dataset.value === "0.5"`);
    assert.deepEqual(await values(page, "residual"), gridOf(0.5));
    assert.equal(await text(page, "seqlens-patch-section .values"), "clean +2.500 corrupted −1.500 logit(`↵`) − logit(`;`) after the last token");
    assert.doesNotMatch(await text(page, "seqlens-patch-section .pickers"), /the default/);
    // the heads of layer 1, asked again with the new metric
    await waitSent(page, "getPatchHeads", 3);
    assert.equal((await sentOf(page, "getPatchHeads"))[2].layer, 1);
    await waitForExpression(page, `${GRID("heads")}?.result?.target.id === 3`);
    assert.deepEqual(await values(page, "heads"), headsGrid(1, 0.5));
    // the foil picker cannot pick the target
    assert.equal(await page.locator('select[aria-label="Patching foil token"] option[value="3"]').isDisabled(), true);
    // Close: the section goes, and the host is told
    await page.locator("section.patch button.disclosure", { hasText: "Close" }).click();
    await waitSent(page, "clearPatch", 1);
    assert.equal(await page.locator("section.patch").count(), 0);
  });
});

test("clicking a cell and then typing changes nothing: no request, the same grid, the same metric", async () => {
  await withPanel("dark", 1000, async (p) => {
    const { page } = p;
    await showPatch(p);
    const before = (await page.evaluate(() => (window as unknown as { sent: Sent[] }).sent.length));
    await cell(page, "residual", 1, 2).click();
    await page.keyboard.type("abc[],.w 0123");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Space");
    await page.keyboard.press("Delete");
    await page.keyboard.press("Backspace");
    // a frame later nothing has been sent, and the grid and the metric are as they were
    await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
    const sent = await page.evaluate(() => (window as unknown as { sent: Sent[] }).sent.slice());
    assert.deepEqual(sent.slice(before), [], "nothing sent");
    assert.deepEqual(await values(page, "residual"), gridOf());
    assert.equal(await page.locator('select[aria-label="Patching target token"]').inputValue(), "1");
    assert.equal(await page.locator('select[aria-label="Patching foil token"]').inputValue(), "2");
    assert.equal(await page.locator("seqlens-patch-grid.heads").count(), 0);
    assert.equal(await page.locator('[role="alert"]').count(), 0);
  });
});

const INSPECTION: InspectionView = {
  handle: "h-1",
  modelName: "tiny-gpt",
  device: "cpu",
  text: CLEAN_WORDS.join(""),
  tokens: tokensOf(CLEAN_WORDS, 10),
  nLayer: L,
  nHead: H,
  attentionAvailable: true,
  next: { position: T - 1, temperature: 1, top: [{ id: 1, token: ".", p: 0.5 }, { id: 2, token: ";", p: 0.2 }], entropyBits: 1.5 },
  ms: { run: 3, total: 5 },
};

test("beside an inspection with the per-head grid open: layout at 300, 400, 700 and 1,200 px in dark, light and high contrast, and no CSP violation", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const problems: string[] = [];
  for (const theme of ["dark", "light", "hc"] as const) {
    await withPanel(theme, 1200, async (p) => {
      const { page } = p;
      await p.post({ type: "inspection", view: INSPECTION, restore: { uri: "file:///c.ts", start: 0, end: INSPECTION.text.length, model: "/m/tiny-gpt" } });
      await showPatch(p);
      await page.locator("seqlens-patch-grid.residual .side button", { hasText: "L1" }).click();
      await waitForExpression(page, `${GRID("heads")}?.shadowRoot?.querySelectorAll(".cell").length === ${H * T}`);
      await cell(page, "residual", 0, DIFFER).hover();
      for (const width of [300, 400, 700, 1200]) {
        await page.setViewportSize({ width, height: 900 });
        await page.waitForFunction((w) => document.documentElement.clientWidth === w, width);
        await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
        const report = await layoutReport(page);
        assert.ok(report.counted.texts > 40, `${theme} ${width}: ${report.counted.texts} texts looked at`);
        assert.ok(report.counted.legends >= 3, `${theme} ${width}: ${report.counted.legends} legends`);
        const found = formatReport(report);
        if (found) problems.push(`${theme} ${width}:\n${found}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (overflow > 0) problems.push(`${theme} ${width}: the page is ${overflow} px wider than the panel`);
        await page.screenshot({ path: path.join(ARTIFACTS, `inspector-patch-${theme}-${width}.png`), fullPage: true });
      }
      assert.deepEqual(await p.violations(), [], `${theme}: CSP violations`);
    });
  }
  assert.equal(problems.join("\n"), "");
});
