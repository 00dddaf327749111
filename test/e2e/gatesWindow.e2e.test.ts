// A series longer than the model reads at once, in the real host: with seqlens.maxSteps at 200, Show
// Gates on the whole Mauna Loa CO2 file (468 rows) shows its last 200 rows with a line saying so and
// a button for the earlier rows; the button runs the window before it (the header's steps and the
// chart's rows follow), and from there both directions are offered. The panel with its window line
// passes the layout checks at 400, 700 and 1,200 px in dark, light and high contrast.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { ARTIFACTS, Host, openFile, runCommand, startHost, VSIX, webviewFrame } from "./host";
import { panelMatrix } from "./panelMatrix";
import { ROOT } from "../helpers";

let host: Host;
const WORKSPACE = path.join(ROOT, "samples", "workspace");
const ROWS = fs.readFileSync(path.join(WORKSPACE, "co2_mauna_loa_monthly.csv"), "utf8").trim().split("\n").length - 1; // less the header

before(async () => {
  host = await startHost(WORKSPACE, { "workbench.colorTheme": "Default Dark Modern", "seqlens.maxSteps": 200 }, VSIX);
});

after(async () => {
  await host?.close();
});

const windowLine = (frame: Frame) => frame.locator(".window");
const painted = (frame: Frame) => frame.evaluate(() => Number(document.body.dataset.gatesPaintedAt ?? 0));

test("a long series is shown a window at a time, the earlier windows a click away", async () => {
  const { page } = host;
  assert.ok(ROWS > 400, `the CO2 file has ${ROWS} rows`);
  await openFile(page, "co2_mauna_loa_monthly.csv");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+A");
  await runCommand(page, "SeqLens: Show Gates");
  const frame = await webviewFrame(page, "seqlens-gates");
  await frame.waitForFunction(() => Number(document.body.dataset.gatesPaintedAt ?? 0) > 0, undefined, { timeout: 60_000 });
  await page.locator(".notification-toast", { hasText: "computing gates" }).waitFor({ state: "hidden", timeout: 15_000 });

  // the last 200 rows (the model reads differences: 199 steps), said in a line with the earlier rows offered
  assert.match(await frame.locator("header").innerText(), /co2-lstm · onnx · 199 steps/);
  const fmt = (n: number) => n.toLocaleString("en-US");
  assert.equal(await windowLine(frame).locator("span").innerText(), `Rows ${fmt(ROWS - 199)}–${fmt(ROWS)} of ${fmt(ROWS)} shown (the last 200): the model reads at most 200 rows at once.`);
  const buttons = windowLine(frame).locator("vscode-button");
  assert.deepEqual(await buttons.allInnerTexts(), ["◀ earlier 200 rows"]);
  await page.screenshot({ path: path.join(ARTIFACTS, "gates-window-last.png") });

  // the window before: rows 69-268 of 468, both directions offered
  const before = await painted(frame);
  await buttons.first().click();
  await frame.waitForFunction((b) => Number(document.body.dataset.gatesPaintedAt ?? 0) > b, before, { timeout: 60_000 });
  await frame.waitForFunction((want) => document.querySelector("seqlens-gates")?.shadowRoot?.querySelector(".window span")?.textContent === want, `Rows ${fmt(ROWS - 399)}–${fmt(ROWS - 200)} of ${fmt(ROWS)} shown (window 2 of 3 counted from the end): the model reads at most 200 rows at once.`, { timeout: 15_000 });
  assert.match(await frame.locator("header").innerText(), /co2-lstm · onnx · 199 steps/);
  assert.deepEqual(await buttons.allInnerTexts(), [`◀ earlier ${ROWS - 400} rows`, "later 200 rows ▶"]);
  await page.screenshot({ path: path.join(ARTIFACTS, "gates-window-middle.png") });

  // the panel with its window line, at three widths in three themes
  const failures = await panelMatrix(host, frame, "gates-window", "SeqLens Gates");
  assert.deepEqual(failures, []);
});
