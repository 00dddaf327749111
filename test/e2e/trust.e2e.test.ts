// Workspace Trust in the real host: code-server with workspace trust on (startHost's workspaceTrust:
// the other end-to-end tests turn it off) and no trust prompt, so the folder opens in Restricted
// Mode. `seqlens.activeModel` names a model inside the workspace: it is not loaded (the status bar says so, Inspect says why and opens nothing, the engine never loads it,
// the Models view lists no workspace model). Trusting the folder then loads it: the same steps
// give an Inspector on that model, so what the first half checks is the trust and nothing else.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, SAMPLE_MODEL } from "../helpers";
import { ARTIFACTS, type Host, openFile, runCommand, selectLines, seqLensLog, startHost, VSIX } from "./host";

let workspace: string;
let model: string;
let host: Host;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-untrusted-")));
  fs.copyFileSync(path.join(ROOT, "samples", "workspace", "shapes.ts"), path.join(workspace, "shapes.ts"));
  model = path.join(workspace, "models", "gpt");
  fs.cpSync(SAMPLE_MODEL, model, { recursive: true });
  host = await startHost(workspace, { "seqlens.activeModel": model, "workbench.colorTheme": "Default Dark Modern" }, VSIX, { workspaceTrust: true });
});

after(async () => {
  await host?.close();
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

test("an untrusted workspace: the model inside it is not loaded, and the message says why; trusted, it loads", async () => {
  const { page } = host;
  const log = seqLensLog(host.dir);
  // the folder is untrusted: VS Code's own indicator
  await page.locator(".statusbar-item", { hasText: "Restricted Mode" }).first().waitFor({ timeout: 60_000 });
  await openFile(page, "shapes.ts");
  // the status bar: the model is named, not loaded
  const status = page.locator(".statusbar-item", { hasText: "gpt · not loaded" });
  await status.waitFor({ timeout: 60_000 });
  // Inspect stops with the reason and opens no panel
  await selectLines(page, 2, 4);
  await runCommand(page, "SeqLens: Inspect Selection");
  const toast = page.locator(".notification-toast", { hasText: "SeqLens does not load models from an untrusted workspace" });
  await toast.first().waitFor({ timeout: 30_000 });
  assert.ok((await toast.first().innerText()).includes(model), "the message names the model's path");
  await page.screenshot({ path: path.join(ARTIFACTS, "untrusted-workspace.png") });
  assert.equal(await page.locator(".tab", { hasText: "SeqLens Inspector" }).count(), 0, "no Inspector opened");
  // the Models view lists no model of the workspace, and ticks none of it
  await runCommand(page, "SeqLens: Focus on Models View");
  const view = page.locator(".pane", { has: page.locator(".pane-header", { hasText: "Models" }) });
  await view.locator(".monaco-list-row", { hasText: "tiny-gpt" }).first().waitFor({ timeout: 30_000 }); // the bundled samples are listed
  assert.equal(await view.locator(".monaco-list-row", { hasText: "workspace" }).count(), 0, "no workspace model listed");
  assert.equal(await view.locator(".monaco-list-row", { hasText: "gpt" }).filter({ has: page.locator(".codicon-pass-filled") }).filter({ hasNotText: "tiny-gpt" }).count(), 0, "the workspace model is not ticked");
  assert.doesNotMatch(log(), /loaded gpt \(/, "the engine never loaded the workspace's model");

  // Trust the folder: the same model now loads, through the same steps
  await runCommand(page, "Workspaces: Manage Workspace Trust");
  const trust = page.locator(".workspace-trust-editor .monaco-button", { hasText: /^Trust/ }).first();
  await trust.waitFor({ timeout: 30_000 });
  await trust.click();
  await page.locator(".statusbar-item", { hasText: "Restricted Mode" }).first().waitFor({ state: "detached", timeout: 30_000 });
  await page.locator(".statusbar-item", { hasText: "gpt · not loaded" }).waitFor({ state: "detached", timeout: 30_000 });
  await openFile(page, "shapes.ts");
  await selectLines(page, 2, 4);
  await runCommand(page, "SeqLens: Inspect Selection");
  await page.locator(".tab", { hasText: "SeqLens Inspector" }).first().waitFor({ timeout: 120_000 });
  for (let i = 0; i < 600 && !/loaded gpt \(/.test(log()); i++) await page.waitForTimeout(100);
  assert.match(log(), /loaded gpt \(gpt2-onnx\)/, "trusted, the engine loads the workspace's model");
  await page.screenshot({ path: path.join(ARTIFACTS, "trusted-workspace.png") });
});
