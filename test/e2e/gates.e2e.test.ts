// The Gates panel in the real host: a real series (Mauna Loa CO2) through the bundled LSTM
// forecaster, its gates painted and checked against the runtime, the forecast beside the baselines,
// a unit charted, a step linked back to the editor, and bad numbers reported with their lines.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { ARTIFACTS, Host, openFile, runCommand, nextPaint, setTheme, setThemeIn, startHost, VSIX, webviewFrame } from "./host";
import { ROOT } from "../helpers";

let host: Host;
const WORKSPACE = path.join(ROOT, "samples", "workspace");

const BAD = path.join(WORKSPACE, "bad_series.tmp.txt");

before(async () => {
  fs.writeFileSync(BAD, "1.5\n2.5\nNaN\n3.5\n\n4\nabc\n"); // before the host starts, so quick open lists it
  host = await startHost(WORKSPACE, { "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  fs.rmSync(BAD, { force: true });
  await host?.close();
});

const shot = (name: string) => host.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

/** Show Gates on the whole CO2 file (each test runs it, so none depends on another's state); the panel's frame once painted. */
async function showCo2Gates(): Promise<Frame> {
  const { page } = host;
  // When a Gates panel is open already, this run must repaint it: wait for a paint after the one it shows now.
  let before = 0;
  for (const f of page.frames()) {
    if (await f.locator("seqlens-gates").count().catch(() => 0)) before = Number(await f.evaluate(() => document.body.dataset.gatesPaintedAt ?? 0));
  }
  await openFile(page, "co2_mauna_loa_monthly.csv");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+A");
  await runCommand(page, "SeqLens: Show Gates");
  const frame = await webviewFrame(page, "seqlens-gates");
  await frame.waitForFunction((b) => /co2-lstm/.test(document.querySelector("seqlens-gates")?.shadowRoot?.querySelector("header")?.textContent ?? "") && Number(document.body.dataset.gatesPaintedAt ?? 0) > b, before, { timeout: 60_000 });
  // and the run's progress notification has closed (it would cover the screenshots)
  await page.locator(".notification-toast", { hasText: "computing gates" }).waitFor({ state: "hidden", timeout: 15_000 });
  return frame;
}

test("Show Gates on the CO2 series: gates of both LSTM layers painted and checked, forecast beside the baselines", async () => {
  const frame = await showCo2Gates();
  const header = await frame.locator("header").innerText();
  assert.match(header, /co2-lstm · onnx · \d+ steps/);
  // Two layers, each checked against onnxruntime's own output.
  const options = await frame.locator('select[aria-label="Layer and direction"] option').allTextContents();
  assert.deepEqual(options.map((o) => o.trim()), ["layer 0 · forward · lstm · 64 units", "layer 1 · forward · lstm · 64 units"]);
  assert.match(await frame.locator(".ok").innerText(), /h_t matches the runtime/);
  // Six maps (input, forget, candidate, output, cell, hidden), painted.
  const maps = frame.locator("seqlens-gate-maps canvas.map");
  await frame.waitForFunction(() => document.querySelector("seqlens-gates")?.shadowRoot?.querySelector("seqlens-gate-maps")?.shadowRoot?.querySelectorAll("canvas.map").length === 6);
  assert.equal(await maps.count(), 6);
  const width = await maps.first().evaluate((c) => (c as HTMLCanvasElement).width);
  assert.ok(width >= 466, `one column per step at least: ${width}`);
  // The forecast line names the model's errors and both baselines; the model beats them.
  const f = await frame.locator("section", { hasText: "One-step on" }).first().innerText();
  const nums = (re: RegExp) => Number(re.exec(f)![1]);
  const mae = nums(/One-step on \d+ rows: MAE ([\d.]+)/);
  assert.ok(mae < nums(/last value MAE ([\d.]+)/) && mae < nums(/seasonal naive \(12\) MAE ([\d.]+)/), f);
  await shot("gates-co2-dark");
});

test("click a unit row: its line is charted; hovering a step highlights the row in the editor", async () => {
  const frame = await showCo2Gates();
  const map = frame.locator('seqlens-gate-maps canvas.map[data-gate="hidden"]');
  const box = (await map.boundingBox())!;
  await map.click({ position: { x: 100, y: 1 } }); // unit 0 (rows are 3 px for 64 units)
  await frame.locator("seqlens-line-chart .u-over").last().waitFor({ timeout: 15_000 });
  assert.match(await frame.locator("text=units").last().innerText(), /units 0/);
  await map.hover({ position: { x: Math.min(box.width - 2, 120), y: 5 } });
  await host.page.waitForFunction(() => document.querySelectorAll(".monaco-editor .view-overlays div[class*='ced-'], .monaco-editor .cdr").length > 0, undefined, { timeout: 15_000 });
  await shot("gates-co2-unit");
  // Keyboard: focus the map, move the cell cursor, Enter charts that unit, shift+arrows brush steps.
  await map.focus();
  await map.press("ArrowDown");
  await map.press("ArrowDown");
  await map.press("Enter");
  await frame.waitForFunction(() => /units 0, 2|units 2, 0/.test(document.querySelector("seqlens-gates")?.shadowRoot?.textContent ?? ""));
  await map.press("Home");
  await map.press("Shift+ArrowRight");
  await map.press("Shift+ArrowRight");
  await map.press("Shift+ArrowRight");
  await frame.locator("vscode-button", { hasText: "Units above threshold in span 0–3" }).waitFor({ timeout: 5_000 });
});

test("the Gates panel in light and high-contrast themes: the maps repaint from the theme's colours", async () => {
  const { page } = host;
  const frame = await showCo2Gates();
  for (const [theme, name] of [["Light Modern", "gates-co2-light"], ["Dark High Contrast", "gates-co2-high-contrast"]] as const) {
    const before = Number(await frame.evaluate(() => document.body.dataset.gatesPaintedAt ?? 0));
    await setThemeIn(page, frame, theme); // the webview has the theme's colours ...
    await frame.waitForFunction((b) => Number(document.body.dataset.gatesPaintedAt ?? 0) > b, before, { timeout: 15_000 }); // ... and has repainted the maps with them
    // A zero of the hidden state is drawn in the editor background of the new theme.
    await nextPaint(frame);
    await shot(name);
  }
  await setTheme(page, "Dark Modern");
});

test("after a window reload the Gates panel comes back with the same run", async () => {
  const { page } = host;
  let frame = await showCo2Gates();
  const before = await frame.locator("header").innerText();
  await Promise.all([page.waitForEvent("load", { timeout: 60_000 }), runCommand(page, "Developer: Reload Window")]);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
  frame = await webviewFrame(page, "seqlens-gates");
  await frame.waitForFunction(() => Number(document.body.dataset.gatesPaintedAt ?? 0) > 0, undefined, { timeout: 60_000 });
  const after = await frame.locator("header").innerText();
  assert.equal(after.replace(/[\d.]+ ms/, ""), before.replace(/[\d.]+ ms/, ""));
});

test("Show Gates on code: the character LSTM's gates under each character, and the vanishing-gradient chart of the LSTM and SimpleRNN samples", async () => {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await page.locator(".monaco-editor .view-lines", { hasText: "interface Shape" }).first().click();
  await page.keyboard.press("Control+Home");
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+ArrowDown");
  await runCommand(page, "SeqLens: Show Gates");
  const frame = await webviewFrame(page, "seqlens-gates");
  // (null-safe: the element upgrades and renders after the module loads; a predicate that throws ends the wait)
  await frame.waitForFunction(() => /char-lstm/.test(document.querySelector("seqlens-gates")?.shadowRoot?.querySelector("header")?.textContent ?? ""), undefined, { timeout: 60_000 });
  const header = await frame.locator("header").innerText();
  const steps = Number(/(\d+) steps/.exec(header)![1]);
  assert.ok(steps > 40, header);
  assert.match(await frame.locator(".ok").innerText(), /h_t matches the runtime/);
  // Vanishing gradients: one chart, two lines (the LSTM and the SimpleRNN sample).
  await frame.locator("vscode-button", { hasText: "for the LSTM and SimpleRNN samples" }).click();
  const legend = frame.locator("section", { hasText: "Vanishing gradients" }).locator(".u-legend");
  await legend.waitFor({ timeout: 60_000 });
  const text = await legend.innerText();
  assert.match(text, /char-lstm \(lstm\)/);
  assert.match(text, /char-rnn \(simple_rnn\)/);
  await frame.locator("section", { hasText: "Vanishing gradients" }).scrollIntoViewIfNeeded();
  await shot("gates-text-gradients");
  // LSTMVis: brush steps 4-12 on the hidden state (keyboard), pick the units above 0 there, find them in the document.
  const map = frame.locator('seqlens-gate-maps canvas.map[data-gate="hidden"]');
  await map.focus();
  await map.press("Home");
  for (let i = 0; i < 4; i++) await map.press("ArrowRight");
  for (let i = 0; i < 8; i++) await map.press("Shift+ArrowRight");
  await frame.locator('input[aria-label="Threshold"]').fill("0");
  await frame.locator('input[aria-label="Threshold"]').press("Enter");
  await frame.locator("vscode-button", { hasText: "Units above threshold in span 4–12" }).click();
  await frame.locator("vscode-button", { hasText: "Find in the whole document" }).click();
  const found = frame.locator("div", { hasText: /place[s]? in the document/ }).last();
  await found.waitFor({ timeout: 60_000 });
  // The brushed span itself is in the document (the selection starts at its top): at least one place.
  assert.match(await found.innerText(), /^[1-9]\d* place/);
  await shot("gates-text-matches");
});

test("bad numbers are reported with their line numbers, and nothing runs", async () => {
  const { page } = host;
  {
    await openFile(page, "bad_series.tmp.txt");
    await page.locator(".monaco-editor .view-lines", { hasText: "abc" }).first().click();
    await page.keyboard.press("Control+A");
    await runCommand(page, "SeqLens: Show Gates");
    const toast = page.locator(".notifications-toasts", { hasText: "line 3" }).first();
    await toast.waitFor({ timeout: 15_000 }).catch(async (e) => {
      await shot("gates-bad-input-failed");
      throw e;
    });
    const text = await toast.innerText();
    assert.match(text, /line 3/);
    assert.match(text, /line 5/);
    assert.match(text, /line 7/);
    // and in the Problems view: three errors, counted in the status bar
    await page.waitForFunction(() => /\b3\b/.test(document.getElementById("status.problems")?.innerText ?? ""), undefined, { timeout: 10_000 });
    await shot("gates-bad-input");
  }
});
