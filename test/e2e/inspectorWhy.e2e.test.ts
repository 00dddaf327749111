// "Why" from the Inspector in the real host: a head switched off from its "All heads" thumbnail
// re-runs the inspection without it (the next-token list changes, a line gives the KL from the
// unablated run, a window reload keeps the heads off, Restore all brings the clean run back); the logit attribution grid opens with its
// legend; and `w` on a selected token runs Why This Token? in the editor on the inspected text up
// to that token (its marks and legend appear there, and the same scores on the panel's own strip).
// Screenshots in dark, light and high contrast.
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

test("a head switched off from its thumbnail changes the next-token list, with the KL line; a reload keeps it off; Restore all brings the clean run back", async () => {
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
  // a window reload brings the inspection back with the same heads off
  await Promise.all([page.waitForEvent("load", { timeout: 60_000 }), runCommand(page, "Developer: Reload Window")]);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
  const back = await inspectorContentFrame(page);
  await back.locator(".ablation .abl-line").waitFor({ timeout: 60_000 });
  assert.match((await back.locator(".ablation .abl-line").innerText()).replace(/\s+/g, " "), /heads 3\.0, 3\.1, 3\.2, 3\.3 off \(zero\)/);
  assert.equal(await nextList(back), ablated, "after the reload the next-token list is the ablated run's again");
  await back.locator(".ablation vscode-button", { hasText: "Restore all" }).click();
  await back.locator(".ablation").waitFor({ state: "detached", timeout: 60_000 });
  assert.equal(await nextList(back), clean, "Restore all gives the clean run's list");
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
  // the panel shows the same attribution on its own tokens: one per token before the selected one,
  // explaining the selected token, with its legend
  const toks = frame.locator("seqlens-attribution-strip .tok[data-index]");
  await toks.first().waitFor({ timeout: 60_000 });
  assert.equal(await toks.count(), k);
  assert.equal(await frame.locator('seqlens-color-legend[for="attribution"]').count(), 1);
  const selected = (await chips.nth(k).innerText()).trim();
  assert.equal((await frame.locator("seqlens-attribution-strip .tok.target").innerText()).trim(), selected);
  const scores = await toks.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-score"))));
  assert.ok(scores.every(Number.isFinite) && scores.some((x) => x !== 0), `scores ${scores}`);
  // the status bar legend names the same token
  assert.ok((await legend.innerText()).includes(selected.replace(/·/g, " ").trim()) || (await legend.innerText()).includes(selected), `${await legend.innerText()} vs ${selected}`);
  // a click in the strip, then a key: the document does not change
  await toks.nth(Math.floor(k / 2)).click();
  await page.keyboard.type("x");
  assert.equal(await page.locator(".tab.dirty").count(), 0, "a key typed after a click in the strip went to the document");
  await page.screenshot({ path: path.join(ARTIFACTS, "inspector-why-host-editor-dark.png") });
  await setTheme(page, "Dark Modern");
});
