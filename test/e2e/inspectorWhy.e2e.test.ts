// "Why" from the Inspector in the real host: a head switched off from its "All heads" thumbnail
// re-runs the inspection without it (the next-token list changes, a line gives the KL from the
// unablated run, Restore all brings the clean run back); the logit attribution grid opens with its
// legend; and `w` on a selected token runs Why This Token? in the editor on the inspected text up
// to that token (its marks and legend appear there). Screenshots in dark, light and high contrast.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { ARTIFACTS, Host, inspectorContentFrame, openFile, runCommand, selectLines, setTheme, setThemeIn, startHost, VSIX } from "./host";
import { ROOT } from "../helpers";

let host: Host;
const WORKSPACE = path.join(ROOT, "samples", "workspace");

before(async () => {
  host = await startHost(WORKSPACE, { "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  await host?.close();
});

async function inspectShapes(): Promise<Frame> {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await selectLines(page, 7, 12);
  await runCommand(page, "SeqLens: Inspect Selection");
  const frame = await inspectorContentFrame(page);
  await frame.locator("seqlens-token-strip button").first().waitFor({ timeout: 60_000 });
  await page.locator(".notification-toast", { hasText: "inspecting" }).waitFor({ state: "hidden", timeout: 30_000 });
  return frame;
}

const nextList = (f: Frame) => f.locator("seqlens-next-token table").innerText();

test("a head switched off from its thumbnail changes the next-token list, with the KL line; Restore all brings the clean run back", async () => {
  const { page } = host;
  const frame = await inspectShapes();
  const clean = await nextList(frame);
  await frame.locator('button[role="tab"]', { hasText: "All heads" }).click();
  // switch off every head of the last layer: a change the list must show
  const switches = frame.locator("button.switch");
  await switches.first().waitFor({ timeout: 30_000 });
  const n = await switches.count();
  assert.ok(n >= 16, `${n} thumbnails with a switch`);
  for (const h of [0, 1, 2, 3]) {
    await frame.locator(`button.switch[title="switch head 3.${h} off"]`).click();
    await frame.locator(".ablation .abl-line", { hasText: new RegExp(`3\\.${h}`) }).waitFor({ timeout: 60_000 });
  }
  const line = (await frame.locator(".ablation .abl-line").innerText()).replace(/\s+/g, " ");
  assert.match(line, /heads 3\.0, 3\.1, 3\.2, 3\.3 off \(zero\): KL from the unablated run (\d+\.\d+) nats at the last token/);
  assert.ok(Number(/run (\d+\.\d+) nats/.exec(line)![1]) > 0, line);
  assert.equal(await frame.locator('button.switch[aria-pressed="true"]').count(), 4);
  const ablated = await nextList(frame);
  assert.notEqual(ablated, clean, "the next-token list is the ablated run's");
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-why-host-ablated-dark.png") });
  for (const [theme, name] of [["Light Modern", "light"], ["Dark High Contrast", "hc"]] as const) {
    await setThemeIn(page, frame, theme);
    await page.screenshot({ path: path.join(ARTIFACTS, `inspector-why-host-ablated-${name}.png`) });
  }
  await setThemeIn(page, frame, "Dark Modern");
  await frame.locator(".ablation vscode-button", { hasText: "Restore all" }).click();
  await frame.locator(".ablation").waitFor({ state: "detached", timeout: 60_000 });
  assert.equal(await nextList(frame), clean, "Restore all gives the clean run's list");
});

test("the logit attribution grid opens for the selected token with its legend, and w runs Why This Token? in the editor", async () => {
  const { page } = host;
  const frame = await inspectShapes();
  // select a token in the middle of the strip
  const chips = frame.locator("seqlens-token-strip button");
  const k = Math.floor((await chips.count()) / 2);
  await chips.nth(k).click();
  await frame.locator("vscode-button, button", { hasText: "Logit attribution" }).first().click();
  await frame.locator("seqlens-color-legend[for=dla]").waitFor({ timeout: 60_000 });
  await frame.locator("seqlens-dla-grid", { hasText: /sum: logit [+−-]?\d/ }).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-why-host-dla-dark.png") });
  // w: the editor explains the selected token from the ones before it
  await chips.nth(k).focus();
  await page.keyboard.press("w");
  const legend = page.locator(".statusbar-item", { hasText: /why / }).first();
  await legend.waitFor({ timeout: 60_000 });
  const marks = await page.evaluate(() => [...document.querySelectorAll(".monaco-editor .view-overlays div")].filter((e) => getComputedStyle(e).borderBottomStyle !== "none" && parseFloat(getComputedStyle(e).borderBottomWidth) > 0 && getComputedStyle(e).borderTopStyle === "none").length);
  assert.ok(marks >= 2, `${marks} tokens marked in the editor`);
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-why-host-editor-dark.png") });
  await setTheme(page, "Dark Modern");
});
