// Bring your own model, end to end in a real VS Code (code-server) and browser: a BERT folder in the
// workspace gives the Inspector's fill-mask view, a Marian-like encoder-decoder folder the
// cross-attention view; each checked at three widths in dark, light and high-contrast themes (test/e2e/panelMatrix.ts). Each test starts its
// own host with its model active (code-server does not re-read settings live).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, tempDir } from "../helpers";
import { ARTIFACTS, type Host, inspectorContentFrame, openFile, runCommand, selectLines, startHost, VSIX } from "./host";
import { panelMatrix } from "./panelMatrix";

/** A workspace with the fixture models in models/ and a text file to select from. */
function workspace(): string {
  const dir = tempDir("byom-workspace");
  fs.cpSync(path.join(ROOT, "test", "fixtures", "hf", "bert-mlm"), path.join(dir, "models", "bert-mlm"), { recursive: true });
  fs.cpSync(path.join(ROOT, "test", "fixtures", "seq2seq", "marian-tiny"), path.join(dir, "models", "marian-tiny"), { recursive: true });
  fs.writeFileSync(path.join(dir, "notes.txt"), "the [MASK] sat on the [MASK] by the door .\nThe small cat sees the old dog in the garden .\n");
  return dir;
}

let host: Host | undefined;
after(async () => {
  await host?.close();
});

async function inspectLine(h: Host, line: number) {
  await openFile(h.page, "notes.txt");
  await selectLines(h.page, line, line);
  await runCommand(h.page, "SeqLens: Inspect Selection");
  return inspectorContentFrame(h.page);
}

test("a BERT folder in the workspace: the Inspector shows fill-mask at each [MASK], special tokens marked, and masks another token on click", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const ws = workspace();
  host = await startHost(ws, { "seqlens.activeModel": path.join(ws, "models", "bert-mlm"), "workbench.colorTheme": "Default Dark Modern" }, VSIX);
  const frame = await inspectLine(host, 1);
  await frame.locator("seqlens-inspector h2", { hasText: "Fill mask" }).waitFor({ timeout: 60_000 });
  await host.page.locator(".notification-toast", { hasText: "inspecting" }).waitFor({ state: "hidden", timeout: 30_000 });
  const chips = frame.locator("seqlens-token-strip button");
  assert.equal(await chips.count(), 12);
  assert.deepEqual(await frame.locator("seqlens-token-strip button.special").allTextContents(), ["[CLS]", "[SEP]"]);
  // the first mask's fillers, as the engine computes them (PyTorch's top filler for this fixture: "he", id 120)
  await frame.locator("seqlens-next-token .meta", { hasText: "At token #2" }).waitFor();
  assert.equal(await frame.locator('seqlens-token-strip button[aria-pressed="true"]').textContent(), "[MASK]");
  assert.equal((await frame.locator("seqlens-next-token tr td:first-child").first().textContent())?.trim(), '"he"');
  await host.page.screenshot({ path: path.join(ARTIFACTS, "byom-fill-mask-dark.png") });
  // "what would the model put here?" for "sat"
  await chips.nth(3).click();
  await frame.locator("seqlens-next-token .meta", { hasText: "the token there" }).waitFor();
  assert.match(await frame.locator("seqlens-next-token .meta").innerText(), /At token #3: entropy [\d.]+ bits · the token there "sat": rank \d+/);
  // at 400, 700 and 1,200 px in dark, light and high-contrast themes: readable, with its legends (screenshots kept)
  const failures = await panelMatrix(host, frame, "fill-mask", "SeqLens Inspector");
  assert.deepEqual(failures, [], failures.join("\n\n"));
  await host.close();
  host = undefined;
});

test("a Marian encoder-decoder folder: the Inspector translates the selection and shows cross-attention, target rows x source columns", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const ws = workspace();
  host = await startHost(ws, { "seqlens.activeModel": path.join(ws, "models", "marian-tiny"), "workbench.colorTheme": "Default Dark Modern" }, VSIX);
  const frame = await inspectLine(host, 2);
  await frame.locator("seqlens-seq2seq h2", { hasText: "Target (greedy translation)" }).waitFor({ timeout: 60_000 }).catch(async (e) => {
    await host!.page.screenshot({ path: path.join(ARTIFACTS, "failure-byom-seq2seq.png") });
    throw e;
  });
  await host.page.locator(".notification-toast", { hasText: "inspecting" }).waitFor({ state: "hidden", timeout: 30_000 });
  const strips = frame.locator("seqlens-seq2seq seqlens-token-strip");
  // source: the 11 words and </s>; target: the start token and the greedy translation (PyTorch's first token: "weiß")
  assert.equal(await strips.first().locator("button").count(), 12);
  assert.equal((await strips.nth(1).locator("button").nth(1).textContent())?.trim(), "weiß");
  await frame.locator("seqlens-seq2seq .attends", { hasText: "attends to" }).waitFor({ timeout: 15_000 });
  // the map's grid: a row per target token, a column per source token
  const [cols, rows] = await frame.locator("seqlens-seq2seq seqlens-attention-heatmap").first().evaluate((e) => [(e as unknown as { cols: number }).cols, (e as unknown as { rows: number }).rows]);
  const T = await strips.nth(1).locator("button").count();
  assert.deepEqual([cols, rows], [12, T], "one cell per source column and target row");
  await host.page.screenshot({ path: path.join(ARTIFACTS, "byom-seq2seq-dark.png") });
  // a source token is linked to the editor: clicking it selects its text there, focus stays in the panel, no error
  await strips.first().locator("button").nth(2).click();
  await host.page.locator(".monaco-editor .selected-text").first().waitFor({ timeout: 10_000 });
  await host.page.keyboard.type("x");
  assert.equal(await host.page.locator(".tab.active.dirty, .tab.dirty").count(), 0, "the document was not changed");
  assert.equal(await frame.locator("seqlens-inspector .error").count(), 0, "no error in the panel");
  const failures = await panelMatrix(host, frame, "cross-attention", "SeqLens Inspector");
  assert.deepEqual(failures, [], failures.join("\n\n"));
  await host.close();
  host = undefined;
});
