// The Embeddings panel in the real host (code-server + chromium): the bundled model's vocabulary
// projected with the selection's tokens highlighted, the logit lens of the selection, the hidden
// states of the selection at a layer with hover linked to the editor, in dark, light and
// high-contrast themes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { ARTIFACTS, Host, openFile, runCommand, setThemeIn, startHost, VSIX, webviewFrame } from "./host";
import { ROOT } from "../helpers";

let host: Host;

before(async () => {
  host = await startHost(path.join(ROOT, "samples", "workspace"), { "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  await host?.close();
});

const shot = (name: string) => host.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

/**
 * Show Embeddings on the first four lines of shapes.ts (each test runs it, so none depends on
 * another's state); the panel's frame once the vocabulary is projected and painted.
 */
async function showEmbeddings(): Promise<Frame> {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await page.locator(".monaco-editor .view-lines", { hasText: "interface Shape" }).first().click();
  await page.keyboard.press("Control+Home");
  for (let i = 0; i < 4; i++) await page.keyboard.press("Shift+ArrowDown");
  await runCommand(page, "SeqLens: Show Embeddings & Logit Lens");
  await page.locator(".notification-toast", { hasText: "embeddings and logit lens" }).waitFor({ state: "hidden", timeout: 90_000 });
  const frame = await webviewFrame(page, "seqlens-embeddings");
  // the Vocabulary tab, where a run leaves the panel when it is opened on a selection
  await frame.waitForFunction(() => /Vocabulary/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("button[role=tab]")?.textContent ?? ""), undefined, { timeout: 90_000 });
  const vocabulary = frame.locator("seqlens-embeddings").locator("button[role=tab]", { hasText: "Vocabulary" });
  if ((await vocabulary.getAttribute("aria-selected")) !== "true") await vocabulary.click();
  await frame.waitForFunction(() => /4096 tokens, PCA 2-D/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 90_000 });
  await frame.waitForFunction(() => Number(document.body.dataset.scatterPaintedAt ?? 0) > 0);
  return frame;
}

test("Show Embeddings on a selection: the vocabulary by PCA with its tokens highlighted, and the logit lens", async () => {
  const frame = await showEmbeddings();
  const app = () => frame.locator("seqlens-embeddings");
  const summary = await app().locator("#summary").innerText();
  assert.match(summary, /explained variance [\d.]+%, [\d.]+%/);
  // The logit lens: embeddings and four blocks, one column per token of the selection.
  const rows = await app().locator("seqlens-lens-grid tbody tr").count();
  assert.equal(rows, 5);
  const tabs = await app().locator("button[role=tab]").allTextContents();
  const tokens = Number(/Selection \((\d+) tokens\)/.exec(tabs.join(" "))![1]);
  assert.ok(tokens > 10, tabs.join(" "));
  assert.equal(await app().locator("seqlens-lens-grid tbody tr").first().locator("td").count(), tokens);
  // The selection's tokens are labelled in the highlight colour: the scatter placed their labels.
  const labels = await app().locator("seqlens-scatter").evaluate((e) => (e as unknown as { labelBoxes: unknown[] }).labelBoxes.length);
  assert.ok(labels > 10, `${labels} labels`);
  await shot("embeddings-dark");
});

test("the selection's hidden states at a layer: hover a point and its token is highlighted in the editor", async () => {
  const frame = await showEmbeddings();
  const app = () => frame.locator("seqlens-embeddings");
  await app().locator("button[role=tab]", { hasText: "Selection" }).click();
  await frame.waitForFunction(() => /positions at layer 4/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 60_000 });
  await app().locator('select[aria-label="Layer"]').selectOption("2");
  await frame.waitForFunction(() => /positions at layer 2/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 60_000 });
  // Sweep the pointer over the scatter until it is over a point.
  const sc = app().locator("seqlens-scatter");
  const box = (await sc.boundingBox())!;
  let hovered = false;
  for (let y = 20; y < box.height - 20 && !hovered; y += 12) {
    for (let x = 20; x < box.width - 20 && !hovered; x += 12) {
      await host.page.mouse.move(box.x + x, box.y + y);
      hovered = await sc.evaluate((e) => !(e.shadowRoot!.querySelector(".tip") as HTMLElement).hidden);
    }
  }
  assert.ok(hovered, "the pointer found a point");
  assert.match(await sc.locator(".tip").innerText(), /position \d+ · id \d+/);
  await host.page.waitForFunction(() => document.querySelectorAll(".monaco-editor .view-overlays div[class*='ced-'], .monaco-editor .cdr").length > 0, undefined, { timeout: 15_000 });
  await shot("embeddings-selection-dark");
  // The other way round: the cursor in the editor rings the point of the token under it.
  await host.page.locator(".monaco-editor .view-lines", { hasText: "interface Shape" }).first().click();
  await host.page.keyboard.press("Control+Home");
  await host.page.keyboard.press("ArrowDown");
  await host.page.keyboard.press("End");
  await frame.waitForFunction(() => {
    const sc = document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("seqlens-scatter") as unknown as { focusIndex?: number } | null;
    return (sc?.focusIndex ?? -1) >= 0;
  }, undefined, { timeout: 15_000 });
  // The character LSTM's h_t over the same selection.
  await app().locator("button[role=tab]", { hasText: "Recurrent h_t (char-lstm)" }).click();
  await frame.waitForFunction(() => /steps of h_t, layer 1 · forward · lstm · 128 units/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 60_000 });
  await shot("embeddings-recurrent-dark");
});

test("after a window reload the Embeddings panel comes back with the same selection and choices", async () => {
  const { page } = host;
  let frame = await showEmbeddings();
  const app = () => frame.locator("seqlens-embeddings");
  // the Recurrent h_t tab is the choice the panel must remember
  await app().locator("button[role=tab]", { hasText: "Recurrent h_t (char-lstm)" }).click();
  await frame.waitForFunction(() => /steps of h_t, layer 1/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 60_000 });
  await app().locator('select[aria-label="Projection method"]').waitFor();
  const before = await app().locator("button[role=tab][aria-selected=true]").innerText();
  const lensCells = await app().locator("seqlens-lens-grid td").count();
  await Promise.all([page.waitForEvent("load", { timeout: 60_000 }), runCommand(page, "Developer: Reload Window")]);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
  frame = await webviewFrame(page, "seqlens-embeddings");
  await frame.waitForFunction(() => /steps of h_t, layer 1/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 90_000 });
  assert.equal(await app().locator("button[role=tab][aria-selected=true]").innerText(), before);
  assert.equal(await app().locator("seqlens-lens-grid td").count(), lensCells);
});

test("the Embeddings panel in light and high-contrast themes", async () => {
  const frame = await showEmbeddings();
  const app = () => frame.locator("seqlens-embeddings");
  for (const [theme, name] of [["Light Modern", "light"], ["Dark High Contrast", "hc"]] as const) {
    await setThemeIn(host.page, frame, theme);
    const bg = await frame.evaluate(() => getComputedStyle(document.body).getPropertyValue("--vscode-editor-background").trim());
    const px = await app().locator("seqlens-scatter").evaluate((e) => {
      const c = e.shadowRoot!.querySelector<HTMLCanvasElement>("canvas.overlay")!;
      return c.width > 0;
    });
    assert.ok(px);
    assert.ok(name === "light" ? /^#f|^#e|^#ff/i.test(bg) : /^#000/.test(bg), `${theme}: ${bg}`);
    await shot(`embeddings-${name}`);
  }
  await setThemeIn(host.page, frame, "Dark Modern");
});
