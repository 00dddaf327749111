// A model setting that points nowhere, in the real host: warned about when the window opens, shown
// as not found in the status bar and the Models view (nothing ticked), and Inspect names the path
// instead of failing later in the engine.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";
import { ARTIFACTS, type Host, openFile, runCommand, selectLines, startHost, VSIX } from "./host";

const WORKSPACE = path.join(ROOT, "samples", "workspace");
const GONE = path.join(ROOT, "samples", "models", "no-such-model");
let host: Host;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  assert.ok(!fs.existsSync(GONE));
  host = await startHost(WORKSPACE, { "seqlens.activeModel": GONE, "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  await host?.close();
});

test("seqlens.activeModel naming a folder that does not exist: a warning with its path, 'not found' in the status bar and the Models view, Inspect names the path", async () => {
  const { page } = host;
  // the status bar says it is missing (the extension activates on the workspace's files)
  await openFile(page, "shapes.ts");
  const status = page.locator(".statusbar-item", { hasText: "no-such-model · not found" });
  await status.waitFor({ timeout: 60_000 });
  // one warning, naming the path, with a way out
  const toast = page.locator(".notification-toast", { hasText: "does not exist" });
  await toast.first().waitFor({ timeout: 30_000 });
  assert.match(await toast.first().innerText(), /no-such-model/);
  assert.equal(await toast.count(), 1, "warned once");
  assert.ok(await toast.first().locator(".monaco-button", { hasText: "Pick a Model" }).count(), "offers to pick a model");
  await page.screenshot({ path: path.join(ARTIFACTS, "missing-model.png") });
  // the Models view lists it as not found, and ticks nothing
  await runCommand(page, "SeqLens: Focus on Models View");
  const view = page.locator(".pane", { has: page.locator(".pane-header", { hasText: "Models" }) });
  const row = view.locator(".monaco-list-row", { hasText: "no-such-model" }).first();
  await row.waitFor({ timeout: 30_000 });
  assert.match(await row.innerText(), /not found/);
  assert.equal(await view.locator(".monaco-list-row .codicon-pass-filled").count(), 0, "no model ticked");
  await page.screenshot({ path: path.join(ARTIFACTS, "missing-model-view.png") });
  // Inspect stops with the path, and opens no panel on a model that is not there
  await openFile(page, "shapes.ts");
  await selectLines(page, 2, 4);
  await runCommand(page, "SeqLens: Inspect Selection");
  const error = page.locator(".notification-toast", { hasText: "seqlens.activeModel does not exist" }).filter({ hasText: "Select Model" });
  await error.first().waitFor({ timeout: 30_000 });
  assert.equal(await page.locator(".tab", { hasText: "SeqLens Inspector" }).count(), 0);
});
