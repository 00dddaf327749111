// The Compare panel in the real host: the bundled early and final checkpoints on a selection,
// picked from the quick pick; the final one has the lower mean loss; the editor is coloured by the
// loss difference; the int8 copy command writes a copy that can be compared with its original.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { ARTIFACTS, Host, openFile, runCommand, setTheme, setThemeIn, startHost, VSIX, webviewFrame } from "./host";
import { ROOT, tempDir } from "../helpers";

let host: Host;

// The sample file these tests select in, restored afterwards whatever happens to the editor.
const SHAPES = path.join(ROOT, "samples", "workspace", "shapes.ts");
const shapes = fs.readFileSync(SHAPES, "utf8");

before(async () => {
  host = await startHost(path.join(ROOT, "samples", "workspace"), { "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  await host?.close();
  if (fs.readFileSync(SHAPES, "utf8") !== shapes) fs.writeFileSync(SHAPES, shapes);
});

const shot = (name: string) => host.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

/** Picks `label` in the quick pick titled `title` (typing only once that pick is open, so nothing lands in the editor). */
async function pick(title: string, label: string): Promise<void> {
  const widget = host.page.locator(".quick-input-widget", { has: host.page.locator(".quick-input-title", { hasText: title }) });
  await widget.waitFor({ timeout: 30_000 });
  const input = widget.locator(".quick-input-box input");
  await input.fill(label);
  await widget.locator(".monaco-list-row.focused", { hasText: label }).first().waitFor();
  await input.press("Enter");
  await widget.waitFor({ state: "hidden" });
}

/** The whole of shapes.ts selected in the editor (what Compare Models runs on). */
async function selectShapes(): Promise<void> {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+A");
}

/** The Compare panel's frame once it shows the pair `pair` with its summary. */
async function compareShowing(pair: RegExp): Promise<Frame> {
  const frame = await webviewFrame(host.page, "seqlens-compare");
  await frame.waitForFunction(
    (source) => {
      const root = document.querySelector("seqlens-compare")?.shadowRoot;
      return new RegExp(source).test(root?.querySelector("#pair")?.textContent ?? "") && /mean loss/.test(root?.querySelector("#summary")?.textContent ?? "");
    },
    pair.source,
    { timeout: 90_000 },
  );
  return frame;
}

/** Compares the early and final checkpoints on shapes.ts through the command and its quick picks. */
async function compareEarlyFinal(): Promise<Frame> {
  await selectShapes();
  await runCommand(host.page, "SeqLens: Compare Models…");
  await pick("the first model (A)", "tiny-gpt-early");
  await pick("Compare tiny-gpt-early with", "tiny-gpt");
  await host.page.locator(".notification-toast", { hasText: "comparing" }).waitFor({ state: "hidden", timeout: 90_000 });
  return compareShowing(/tiny-gpt-early ⟷ tiny-gpt$/);
}

test("Compare Models on a selection: early against final, the final better, the editor coloured by the difference", async () => {
  const { page } = host;
  const frame = await compareEarlyFinal();
  assert.match(await frame.locator("#pair").innerText(), /tiny-gpt-early ⟷ tiny-gpt/);
  const summary = await frame.locator("#summary").innerText();
  const [a, b] = [...summary.matchAll(/: ([\d.]+)/g)].map((m) => Number(m[1]));
  assert.ok(b < a, `final ${b} < early ${a}: ${summary}`);
  assert.equal(await frame.locator("#changed-heads li").count(), 8);
  // both next-token tables filled for the selected token
  await frame.waitForFunction(() => (document.querySelector("seqlens-compare")?.shadowRoot?.querySelectorAll("seqlens-next-token") ?? []).length === 2);
  await frame.locator("seqlens-next-token").nth(1).locator("tr").first().waitFor({ timeout: 30_000 });
  // the editor: tokens coloured by the loss difference (decorations)
  await page.waitForFunction(() => document.querySelectorAll(".monaco-editor .view-overlays div[class*='ced-'], .monaco-editor .cdr").length > 5, undefined, { timeout: 15_000 });
  await shot("compare-dark");
  await setThemeIn(page, frame, "Light Modern");
  await shot("compare-light");
  await setThemeIn(page, frame, "Dark High Contrast");
  await shot("compare-hc");
  await setTheme(page, "Dark Modern");
});

test("Write an int8 copy of a model: the copy is written and can be compared with its original", async () => {
  const { page } = host;
  await selectShapes(); // the comparison it offers runs on the editor's selection
  const out = path.join(tempDir("int8-e2e"), "tiny-gpt-int8");
  await runCommand(page, "SeqLens: Write an int8 Copy of a Model…");
  await pick("the model to write an int8 copy of", "tiny-gpt");
  const box = page.locator(".quick-input-widget", { has: page.locator(".quick-input-title", { hasText: "folder for the int8 copy" }) });
  await box.waitFor();
  await box.locator(".quick-input-box input").fill(out);
  await box.locator(".quick-input-box input").press("Enter");
  const toast = page.locator(".notification-toast", { hasText: "MatMul weights to int8" });
  await toast.waitFor({ timeout: 60_000 });
  assert.ok(fs.existsSync(path.join(out, "onnx", "model.onnx")));
  await toast.locator("a.monaco-button, .monaco-button", { hasText: "Compare with the original" }).first().click();
  const frame = await compareShowing(/tiny-gpt ⟷ tiny-gpt-int8/);
  const js = Number(/mean JS\s+([\d.e-]+)/.exec(await frame.locator("#summary").innerText())![1]);
  assert.ok(js > 0 && js < 0.01, String(js));
  await shot("compare-int8");
});

test("after a window reload the Compare panel comes back with the same pair, tokens and summary", async () => {
  const { page } = host;
  const frame = await compareEarlyFinal();
  const summary = await frame.locator("#summary").innerText();
  const pair = await frame.locator("#pair").innerText();
  // VS Code's own reload, which saves the webview's state first (a bare browser reload can race it).
  await Promise.all([page.waitForEvent("load", { timeout: 60_000 }), runCommand(page, "Developer: Reload Window")]);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
  const restored = await compareShowing(/tiny-gpt-early ⟷ tiny-gpt$/);
  assert.equal(await restored.locator("#pair").innerText(), pair);
  assert.equal(await restored.locator("#summary").innerText(), summary);
  await shot("compare-restored");
});
