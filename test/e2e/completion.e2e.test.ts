// Inline completions in the real host: type in a file, the ghost text appears, Tab accepts it; the
// hover on the accepted text explains it token by token; Explain Completion lists the same tokens;
// Inspect This Completion opens the Inspector on it. In a copy of the sample workspace.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ARTIFACTS, Host, inspectorContentFrame, openFile, runCommand, seqLensLog, setTheme, startHost, VSIX } from "./host";
import { noKvCacheCopy, ROOT, tempDir } from "../helpers";

let host: Host;
let workspace: string;
const START = "interface Array<T> {\n    /**\n     * Gets or sets the";
let file: string;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  workspace = tempDir("completion-e2e");
  fs.cpSync(path.join(ROOT, "samples", "workspace"), workspace, { recursive: true });
  file = path.join(workspace, "array.ts");
  fs.writeFileSync(file, START);
  host = await startHost(workspace, { "workbench.colorTheme": "Default Dark Modern", "seqlens.completion.debounceMs": 40 }, VSIX);
});

after(async () => {
  await host?.close();
});

/** The SeqLens output channel's log of the first host. */
const log = () => seqLensLog(host.dir)();

/** The mouse over the end of the completed line (the accepted completion), so its hover opens. */
async function showHover(): Promise<void> {
  const { page } = host;
  await page.mouse.move(5, 5);
  const text = page.locator(".part.editor .monaco-editor .view-line", { hasText: "Gets or sets" }).locator(":scope > span");
  let box = await text.boundingBox();
  for (let i = 0; i < 50 && !box; i++) {
    await page.waitForTimeout(100); // the line is being rendered again (a theme change)
    box = await text.boundingBox();
  }
  assert.ok(box, "the completed line is on screen");
  await page.mouse.move(box.x + box.width - 6, box.y + box.height / 2, { steps: 4 });
}

const shot = (name: string) => host.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

/** The completions' status bar item. */
const completionStatus = () => host.page.locator(".statusbar-item", { hasText: /^\s*SeqLens/ }).first();

test("typing in a file: the ghost text appears and Tab accepts it; the hover and Explain Completion show its tokens", async () => {
  const { page } = host;
  await openFile(page, "array.ts");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  for (let i = 0; i < 300 && !/activated in/.test(log()); i++) await page.waitForTimeout(200); // the provider is registered
  // The first keystroke loads the model (no completion while it loads, typing goes on).
  await page.keyboard.type(" ");
  await page.keyboard.press("Backspace");
  for (let i = 0; i < 300 && !/loaded tiny-gpt/.test(log()); i++) await page.waitForTimeout(200);
  assert.match(log(), /loaded tiny-gpt/);
  await page.keyboard.type(" val", { delay: 30 });
  const ghost = page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text").first();
  await ghost.waitFor({ timeout: 15_000 });
  const shown = (await page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text").allTextContents()).join("").replace(/\u00a0/g, " ");
  assert.ok(shown.trim().length > 0, "ghost text shows something");
  await shot("completion-ghost-dark");
  await page.keyboard.press("Tab");
  await page.waitForFunction(() => document.querySelectorAll(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text").length === 0);
  await page.keyboard.press("Control+S");
  let saved = "";
  for (let i = 0; i < 50 && !saved.startsWith(START + " val" + shown.slice(0, 1)); i++) {
    await page.waitForTimeout(100);
    saved = fs.readFileSync(file, "utf8");
  }
  assert.equal(saved, START + " val" + shown, "Tab inserted what the ghost text showed");
  assert.ok(!saved.slice(START.length).includes("\n"), "a line completion");

  // The hover on the accepted text: each token with its probability and alternatives.
  await showHover();
  const hover = page.locator(".monaco-hover:not(.hidden)", { hasText: "SeqLens completion" }).first();
  await hover.waitFor({ timeout: 15_000 });
  const hoverText = await hover.innerText();
  assert.match(hoverText, /token\s+p\s+alternatives/);
  assert.match(hoverText, /\d+\.\d%/);
  assert.match(hoverText, /Inspect this completion/);
  await shot("completion-hover-dark");
  for (const [theme, name] of [["Light Modern", "light"], ["Dark High Contrast", "hc"], ["Dark Modern", "dark-again"]]) {
    await setTheme(page, theme);
    await showHover();
    await page.locator(".monaco-hover:not(.hidden)", { hasText: "SeqLens completion" }).first().waitFor({ timeout: 15_000 });
    await page.waitForTimeout(500); // the hover fades in
    if (name !== "dark-again") await shot(`completion-hover-${name}`);
  }
  // Its link opens the Inspector on the prompt and the accepted completion.
  await page.locator(".monaco-hover:not(.hidden) a", { hasText: "Inspect this completion" }).click();
  const frame = await inspectorContentFrame(page);
  await frame.locator("seqlens-token-strip button").first().waitFor({ timeout: 60_000 });
  const strip = (await frame.locator("seqlens-token-strip button").allInnerTexts()).join("").replace(/·/g, " ").replace(/⏎/g, "\n");
  assert.ok(strip.endsWith(" val" + shown), `the Inspector ends with the accepted completion: ${JSON.stringify(strip.slice(-60))}`);
  assert.ok(strip.includes("Gets or sets the"), "and the prompt before it");

  // Explain Completion: the last completion shown (after the accepted one the editor asked for the
  // next), token by token with probabilities and alternatives, and the way to the Inspector.
  await runCommand(page, "SeqLens: Explain Completion");
  const widget = page.locator(".quick-input-widget", { has: page.locator(".quick-input-title", { hasText: "token by token" }) });
  await widget.waitFor({ timeout: 15_000 });
  const rows = widget.locator(".monaco-list-row");
  await rows.first().waitFor();
  assert.ok((await rows.count()) >= 2, "at least one token and the Inspect item");
  assert.match(await rows.first().innerText(), /\d+\.\d+%/);
  assert.match(await rows.first().innerText(), /alternatives: /);
  await shot("completion-explain-dark");
  await widget.locator(".monaco-list-row", { hasText: "Inspect this completion" }).waitFor();
  await page.keyboard.press("Escape");
  assert.match(await completionStatus().innerText(), /SeqLens/);
});

test("a decoder without a KV cache still completes, and the status bar says it is slower", async () => {
  const model = await noKvCacheCopy();
  const other = await startHost(workspace, { "seqlens.activeModel": model, "seqlens.completion.debounceMs": 40 }, VSIX);
  try {
    const { page } = other;
    await openFile(page, "shapes.ts");
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
    const status = page.locator(".statusbar-item", { hasText: /no KV cache/ }).first();
    // keep typing until the model has loaded and a completion shows
    for (let i = 0; i < 40 && !(await status.isVisible()); i++) {
      await page.keyboard.type(i % 2 ? "\n// Returns the" : " ");
      await page.waitForTimeout(500);
    }
    await status.waitFor({ timeout: 30_000 });
    assert.match(await status.innerText(), /no KV cache/);
    await page.keyboard.type("\n// Returns the");
    await page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text").first().waitFor({ timeout: 30_000 });
    await other.page.screenshot({ path: path.join(ARTIFACTS, "completion-no-kv-cache.png") });
  } finally {
    await other.close();
  }
});
