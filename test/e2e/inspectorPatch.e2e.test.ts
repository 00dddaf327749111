// SeqLens: Patch Activations in the real host: one selection says how to make two; two selections of
// shapes.ts that differ in one token (`area(): number;⏎` and `area(): number {⏎`) put the
// activation patching grid in the Inspector, a row per layer of the sample model (4), its values the
// engine's own `patch` for the same inputs and metric (run here in this process); a layer's label
// brings that layer's heads (the engine's per-head grid), and another foil runs the grid again.
// Screenshots in dark, light and high contrast, and in a narrow window.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { EngineService } from "../../engine/service";
import { ARTIFACTS, Host, inspectorContentFrame, openFile, runCommand, setThemeIn, startHost, VSIX } from "./host";
import { ROOT, SAMPLE_MODEL } from "../helpers";

let host: Host;
const WORKSPACE = path.join(ROOT, "samples", "workspace");
const engine = new EngineService({ providers: "cpu" });
const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

before(async () => {
  host = await startHost(WORKSPACE, { "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  await host?.close();
});

/** Every cell's data-value of a patching grid in the panel, as [row][col]. */
const gridIn = (frame: Frame, cls: string) =>
  frame.locator(`seqlens-patch-grid.${cls} .cell`).evaluateAll((cells) => {
    const out: number[][] = [];
    for (const c of cells as HTMLElement[]) (out[Number(c.dataset.row)] ??= [])[Number(c.dataset.col)] = Number(c.dataset.value);
    return out;
  });

function maxDiff(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length, "rows");
  let d = 0;
  a.forEach((row, i) => {
    assert.equal(row.length, b[i].length, `row ${i}'s columns`);
    row.forEach((x, j) => (d = Math.max(d, Number.isNaN(x) && Number.isNaN(b[i][j]) ? 0 : Math.abs(x - b[i][j]))));
  });
  return d;
}

/** Selects every match of `regex` in the active editor (the find widget's Select All Matches). */
async function selectAllMatches(regex: string, count: number) {
  const { page } = host;
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+Home");
  await page.keyboard.press("Control+F");
  const find = page.locator(".find-widget .input").first();
  await find.waitFor();
  const regexToggle = page.locator('.find-widget [aria-label^="Use Regular Expression"]').first();
  if ((await regexToggle.getAttribute("aria-checked")) !== "true") await regexToggle.click();
  await find.fill(regex);
  await page.locator(".find-widget .matchesCount", { hasText: new RegExp(`of ${count}$`) }).waitFor();
  await page.keyboard.press("Alt+Enter");
  await page.locator(".statusbar-item", { hasText: `${count} selections` }).first().waitFor();
}

test("one selection: a message says how to make two; nothing runs", async () => {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+Home");
  await page.keyboard.press("Shift+End");
  await runCommand(page, "SeqLens: Patch Activations");
  await page.locator(".notification-toast", { hasText: "activation patching takes two selections, a clean and a corrupted input; one selection is made" }).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-patch-host-one-selection.png") });
});

test("two selections that differ in one token: the grid in the Inspector has a row per layer and the engine's values; a layer's heads and another foil too", async () => {
  const { page } = host;
  await runCommand(page, "Notifications: Clear All Notifications");
  await openFile(page, "shapes.ts");
  await selectAllMatches("area\\(\\): number( \\{|;)\\n", 2);
  await runCommand(page, "SeqLens: Patch Activations");
  const frame = await inspectorContentFrame(page);
  const rows = frame.locator("seqlens-patch-grid.residual .grid");
  await rows.waitFor({ timeout: 120_000 });
  await page.locator(".notification-toast", { hasText: "patching activations" }).waitFor({ state: "hidden", timeout: 60_000 });
  assert.equal(await rows.getAttribute("data-rows"), "4", "the sample model's 4 layers");
  const cols = Number(await rows.getAttribute("data-cols"));
  assert.equal(cols, 5, "`area(): number;⏎` is 5 tokens");
  // the inputs as the panel names them (the first selection made is the clean one) and the metric picked
  const [clean, corrupted] = await frame.locator("seqlens-patch-section .inputs code").evaluateAll((cs) => cs.map((c) => c.getAttribute("title")!));
  assert.deepEqual([clean, corrupted].sort(), ["area(): number {\n", "area(): number;\n"]);
  const target = Number(await frame.locator('select[aria-label="Patching target token"]').inputValue());
  const foil = Number(await frame.locator('select[aria-label="Patching foil token"]').inputValue());
  // the default metric: the clean run's top token, against the corrupted run's (or the clean run's second)
  const top = async (text: string) => (await engine.call("inspect", { model: SAMPLE_MODEL, text, topK: 3 }, ctx)).next!.top;
  const [ct, xt] = [await top(clean), await top(corrupted)];
  assert.equal(target, ct[0].id);
  assert.equal(foil, xt[0].id !== ct[0].id ? xt[0].id : ct[1].id);
  // the values: the engine's patch for the same inputs and metric
  const ref = await engine.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target, foil } }, ctx);
  const shown = await gridIn(frame, "residual");
  assert.ok(maxDiff(shown, ref.grid) <= 1e-6, `the grid is the engine's: max difference ${maxDiff(shown, ref.grid)}`);
  assert.equal(Number(await frame.locator("seqlens-patch-section .clean-metric").getAttribute("data-value")).toFixed(6), ref.cleanMetric.toFixed(6));
  assert.equal(Number(await frame.locator("seqlens-patch-section .corrupted-metric").getAttribute("data-value")).toFixed(6), ref.corruptedMetric.toFixed(6));
  // the fourth token differs, and is marked; entering layer 0 the residual there is the whole difference (the clean input), and elsewhere the same in both runs
  assert.equal(await frame.locator("seqlens-patch-grid.residual .col.differ").count(), 1);
  assert.match((await frame.locator("seqlens-patch-grid.residual .col.differ").getAttribute("aria-label"))!, /^position 3 /);
  assert.ok(Math.abs(shown[0][3] - 1) < 1e-6 && shown[0].every((x, j) => j === 3 || x === 0), `layer 0: ${shown[0]}`);
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-patch-host-dark.png") });

  // a layer's heads
  await frame.locator("seqlens-patch-grid.residual .side button", { hasText: "L2" }).click();
  const heads = frame.locator("seqlens-patch-grid.heads .grid");
  await heads.waitFor({ timeout: 60_000 });
  assert.equal(await heads.getAttribute("data-rows"), "4", "the sample model's 4 heads");
  const refHeads = await engine.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target, foil }, per: "head", layer: 2 }, ctx);
  assert.ok(maxDiff(await gridIn(frame, "heads"), refHeads.grid) <= 1e-6, "the heads' grid is the engine's");

  // another foil: the grid runs again with it
  const other = await frame.locator('select[aria-label="Patching foil token"] option:not([disabled])').evaluateAll((os, f) => os.map((o) => Number((o as HTMLOptionElement).value)).find((v) => v !== f)!, foil);
  await frame.locator('select[aria-label="Patching foil token"]').selectOption(String(other));
  await frame.waitForFunction(
    (o) => (document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-patch-section") as unknown as { view?: { result: { foil: { id: number } } } }).view?.result.foil.id === o,
    other,
    { timeout: 60_000 },
  );
  const ref2 = await engine.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target, foil: other } }, ctx);
  assert.ok(maxDiff(await gridIn(frame, "residual"), ref2.grid) <= 1e-6, "the grid with the new foil is the engine's");
  await frame.locator("seqlens-patch-grid.heads .grid").waitFor({ timeout: 60_000 });
  const refHeads2 = await engine.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target, foil: other }, per: "head", layer: 2 }, ctx);
  await frame.waitForFunction(() => !!document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-patch-section")!.shadowRoot!.querySelector("seqlens-patch-grid.heads"));
  assert.ok(maxDiff(await gridIn(frame, "heads"), refHeads2.grid) <= 1e-6, "the heads' grid with the new foil is the engine's");

  // every run's notification has gone
  await page.locator(".notification-toast", { hasText: "SeqLens: patching" }).first().waitFor({ state: "hidden", timeout: 30_000 });
  assert.equal(await page.locator(".notification-toast", { hasText: "SeqLens: patching" }).count(), 0);
  // themes, and a narrow window
  await frame.locator(`seqlens-patch-grid.residual .cell[data-key="2,4"]`).hover();
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-patch-host-dark-hover.png") });
  for (const [theme, name] of [["Light Modern", "light"], ["Dark High Contrast", "hc"]] as const) {
    await setThemeIn(page, frame, theme);
    await page.screenshot({ path: path.join(ARTIFACTS, `inspector-patch-host-${name}.png`) });
  }
  await setThemeIn(page, frame, "Dark Modern");
  await page.setViewportSize({ width: 900, height: 900 });
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-patch-host-narrow.png") });
  await page.setViewportSize({ width: 1400, height: 900 });
});
