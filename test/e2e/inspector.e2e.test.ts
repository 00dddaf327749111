// End to end in a real VS Code (code-server) driven by a real browser: select lines in a sample
// file, run "SeqLens: Inspect Selection", and check what the Inspector shows and does.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { EngineService } from "../../engine/service";
import { visibleWhitespace } from "../../protocol/text";
import { ROOT, SAMPLE_MODEL } from "../helpers";
import { setThemeIn, ARTIFACTS, Host, inspectorContentFrame, nextPaint, openFile, runCommand, selectLines, startHost, statusBarSelection, VSIX } from "./host";

const WORKSPACE = path.join(ROOT, "samples", "workspace");
const FILE = path.join(WORKSPACE, "shapes.ts");
let host: Host;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // SeqLens installed from the packaged VSIX, as a user installs it.
  host = await startHost(WORKSPACE, { "seqlens.activeModel": SAMPLE_MODEL, "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  if (process.env.SEQLENS_E2E_KEEP) console.log(`host files kept in ${host?.dir}`);
  await host?.close();
});

async function shot(name: string) {
  await host.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Non-background pixels of the heatmap canvas (0 while unpainted), and whether weight 0 has the theme's background colour. */
async function paintedPixels(f: Frame): Promise<{ width: number; painted: number; zeroMatchesTheme: boolean }> {
  return f.evaluate(() => {
    const app = document.querySelector("seqlens-inspector")!.shadowRoot!;
    const canvas = app.querySelector("seqlens-attention-heatmap")?.shadowRoot?.querySelector<HTMLCanvasElement>("canvas.map");
    if (!canvas || canvas.width === 0) return { width: 0, painted: 0, zeroMatchesTheme: false };
    const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    // the right edge a tenth of the way down: an early query and the last key in view, a masked
    // future key of weight 0 (row 0 itself may carry the selected token's band)
    const tr = (Math.floor(canvas.height / 10) * canvas.width + canvas.width - 1) * 4;
    const [r0, g0, b0] = [d[tr], d[tr + 1], d[tr + 2]];
    let painted = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - r0) + Math.abs(d[i + 1] - g0) + Math.abs(d[i + 2] - b0) > 30) painted++;
    const probe = document.createElement("canvas").getContext("2d")!;
    probe.fillStyle = getComputedStyle(document.body).getPropertyValue("--vscode-editor-background").trim();
    probe.fillRect(0, 0, 1, 1);
    const bg = probe.getImageData(0, 0, 1, 1).data;
    const zeroMatchesTheme = Math.abs(bg[0] - r0) + Math.abs(bg[1] - g0) + Math.abs(bg[2] - b0) <= 6;
    return { width: canvas.width, painted, zeroMatchesTheme };
  });
}

/** Waits until the heatmap has painted (and weight 0 has the theme's background), up to `ms`. */
async function painted(f: Frame, ms = 20_000): Promise<{ width: number; painted: number; zeroMatchesTheme: boolean }> {
  const deadline = Date.now() + ms;
  let px = await paintedPixels(f);
  while (!(px.painted > 0 && px.zeroMatchesTheme) && Date.now() < deadline) {
    await nextPaint(f);
    px = await paintedPixels(f);
  }
  return px;
}

/** Lines 7-9 of shapes.ts inspected (each test runs it, so none depends on another's state); the Inspector's frame. */
async function inspectShapes(): Promise<Frame> {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await selectLines(page, 7, 9);
  await runCommand(page, "SeqLens: Inspect Selection");
  const frame = await inspectorContentFrame(page);
  // the chips of this run: the panel is stale-free and shows line 7's first token
  await frame.locator("seqlens-token-strip button").first().waitFor({ timeout: 60_000 }).catch(async (e) => {
    await shot("failure-inspect");
    throw e;
  });
  await page.locator(".notification-toast", { hasText: "inspecting" }).waitFor({ state: "hidden", timeout: 30_000 });
  return frame;
}

test("Inspect Selection opens the Inspector with the expected tokens and a painted heatmap", async () => {
  const frame = await inspectShapes();
  const chips = frame.locator("seqlens-token-strip button");

  const lines = fs.readFileSync(FILE, "utf8").split("\n");
  const selected = lines.slice(6, 9).join("\n");
  const service = new EngineService({ providers: "cpu" });
  const expected = await service.call("inspect", { model: SAMPLE_MODEL, text: selected }, { signal: new AbortController().signal, progress: () => {}, log: () => {} });
  assert.deepEqual(await chips.allTextContents(), expected.tokens.map((t) => visibleWhitespace(t.text)));

  const px = await painted(frame);
  assert.ok(px.width > 0 && px.painted > px.width && px.zeroMatchesTheme, `heatmap not painted: ${JSON.stringify(px)}`);
  await frame.locator("seqlens-next-token tr").first().waitFor();
  await shot("inspector-dark");
});

test("clicking a token selects its range in the editor; moving the cursor selects the token in the panel", async () => {
  const { page } = host;
  const frame = await inspectShapes();
  const chips = frame.locator("seqlens-token-strip button");
  const index = 4;
  const text = (await chips.nth(index).textContent())!;
  await chips.nth(index).click();
  await shot("after-token-click");
  // the editor shows the token selected, while focus stays in the panel: a key typed now acts there
  // ("]": next layer) and the document is untouched
  await page.locator(".monaco-editor .selected-text").first().waitFor({ timeout: 10_000 });
  const layerBefore = await frame.locator('select[aria-label="Layer"]').inputValue();
  await page.keyboard.press("]");
  await page.keyboard.type("x");
  await frame.waitForFunction((before) => (document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector('select[aria-label="Layer"]') as HTMLSelectElement).value !== before, layerBefore, { timeout: 10_000 });
  assert.equal(await page.locator(".tab.active.dirty").count(), 0, "the document was not changed");
  assert.ok(!(await page.locator(".monaco-editor .view-lines").first().innerText()).includes("]x"));
  // In the editor (focused now), the status bar shows its selection: "(n selected)" with the token's length.
  await runCommand(page, "View: Focus First Editor Group");
  await page.waitForFunction((n) => Array.from(document.querySelectorAll(".statusbar-item")).some((e) => e.textContent?.includes(`(${n} selected)`)), text.length, { timeout: 10_000 });
  const status = await statusBarSelection(page).textContent();
  assert.match(status!, /Ln 7, Col \d+ \(\d+ selected\)/);
  // the selection that came back from the editor kept the clicked token (not the next one)
  assert.equal(await frame.locator('seqlens-token-strip button[aria-pressed="true"]').textContent(), text);

  // Cursor to the start of line 8 ("  readonly kind ...") -> the panel selects the token there.
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+G");
  await page.keyboard.type("8:3");
  await page.keyboard.press("Enter");
  await frame.locator('seqlens-token-strip button[aria-pressed="true"]', { hasText: "readonly" }).waitFor({ timeout: 10_000 });
});

test("surprisal colouring: decorations on the inspected tokens and a hover with the top predictions", async () => {
  const { page } = host;
  await inspectShapes();
  const decorated = () => page.locator('.monaco-editor .view-overlays div[class*="ced-"]').count();
  const before = await decorated();
  await runCommand(page, "SeqLens: Toggle Surprisal Colouring");
  await page.waitForFunction((n) => document.querySelectorAll('.monaco-editor .view-overlays div[class*="ced-"]').length > n + 10, before, { timeout: 15_000 });
  // Hover a token of line 8 ("kind") and read the hover.
  const word = page.locator(".monaco-editor .view-line", { hasText: 'readonly kind = "circle";' }).locator("span", { hasText: /^kind$/ }).first();
  await word.hover();
  const hover = page.locator(".monaco-hover", { hasText: "surprisal" }).first();
  await hover.waitFor({ timeout: 15_000 });
  assert.match((await hover.textContent())!, /surprisal [\d.]+ bits, p = [\d.]+, rank \d+/);
  await shot("surprisal-dark");
  await page.mouse.move(5, 5);
  await runCommand(page, "SeqLens: Toggle Surprisal Colouring");
  await page.waitForFunction((n) => document.querySelectorAll('.monaco-editor .view-overlays div[class*="ced-"]').length <= n, before, { timeout: 15_000 });
});

test("all heads as thumbnails (click one to open it) and the head view", async () => {
  const frame = await inspectShapes();
  await frame.locator('.tabs button', { hasText: "All heads" }).click();
  const thumbs = frame.locator("seqlens-attention-overview canvas");
  await thumbs.first().waitFor();
  const n = await thumbs.count();
  assert.equal(n, 16); // 4 layers x 4 heads
  await frame.waitForFunction(() => {
    const o = document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attention-overview")!.shadowRoot!;
    return Array.from(o.querySelectorAll("canvas")).every((c) => c.width > 1);
  }, undefined, { timeout: 15_000 });
  await shot("overview-dark");
  await frame.locator('seqlens-attention-overview button[title="layer 2, head 1"]').click();
  await frame.locator("seqlens-attention-heatmap canvas.map").waitFor();
  assert.equal(await frame.locator('select[aria-label="Layer"]').evaluate((e) => (e as HTMLSelectElement).value), "2");
  assert.equal(await frame.locator('select[aria-label="Head"]').evaluate((e) => (e as HTMLSelectElement).value), "1");
  await frame.locator('.tabs button', { hasText: "Head view" }).click();
  const canvas = frame.locator("seqlens-head-view canvas");
  await canvas.hover({ position: { x: 100, y: 16 * 10 + 8 } });
  await nextPaint(frame);
  await shot("head-view-dark");
  await frame.locator('.tabs button', { hasText: "Heatmap" }).click();
});

test("the Inspector in light and high-contrast themes", async () => {
  const { page } = host;
  const frame = await inspectShapes();
  // The heatmap keeps the selected token in view (a token selected by an earlier test stays
  // selected when the same text is inspected again): back to its top-left corner, where the
  // top-right pixel is a future key of weight 0.
  await frame.evaluate(() => {
    const h = document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attention-heatmap")!;
    const vp = h.shadowRoot!.querySelector<HTMLElement>(".viewport")!;
    vp.scrollTop = 0;
    vp.scrollLeft = 0;
  });
  await frame.waitForFunction(() => {
    const h = document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attention-heatmap") as unknown as { view?: { left: number; top: number } };
    return h.view?.left === 0 && h.view?.top === 0;
  }, undefined, { timeout: 10_000 });
  for (const [theme, name] of [["Light Modern", "inspector-light"], ["Dark High Contrast", "inspector-high-contrast"], ["Dark Modern", "inspector-dark-again"]] as const) {
    await setThemeIn(page, frame, theme);
    const px = await painted(frame);
    await shot(name);
    assert.ok(px.painted > 0 && px.zeroMatchesTheme, `heatmap not repainted for ${theme}: ${JSON.stringify(px)}`);
    // The thumbnails and the head view in the same theme.
    await frame.locator(".tabs button", { hasText: "All heads" }).click();
    await frame.waitForFunction(() => {
      const o = document.querySelector("seqlens-inspector")!.shadowRoot!.querySelector("seqlens-attention-overview")?.shadowRoot;
      const canvases = Array.from(o?.querySelectorAll("canvas") ?? []);
      return canvases.length > 0 && canvases.every((c) => c.width > 1);
    }, undefined, { timeout: 15_000 });
    await nextPaint(frame);
    await shot(name.replace("inspector", "overview"));
    await frame.locator(".tabs button", { hasText: "Head view" }).click();
    await frame.locator("seqlens-head-view canvas").hover({ position: { x: 100, y: 16 * 10 + 8 } });
    await nextPaint(frame);
    await shot(name.replace("inspector", "head-view"));
    await frame.locator(".tabs button", { hasText: "Heatmap" }).click();
    await frame.locator("seqlens-attention-heatmap canvas.map").waitFor();
  }
});

test("after a window reload the Inspector comes back with the same inspection and layer/head", async () => {
  const { page } = host;
  let frame = await inspectShapes();
  await frame.locator('select[aria-label="Layer"]').selectOption("2");
  await frame.locator("seqlens-attention-heatmap canvas.map").waitFor();
  const before = await frame.locator("seqlens-token-strip button").allTextContents();
  // VS Code's own reload, which saves the webview's state first (a bare browser reload can race it).
  await Promise.all([page.waitForEvent("load", { timeout: 60_000 }), runCommand(page, "Developer: Reload Window")]);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
  frame = await inspectorContentFrame(page);
  const chips = frame.locator("seqlens-token-strip button");
  await chips.first().waitFor({ timeout: 60_000 });
  assert.deepEqual(await chips.allTextContents(), before);
  assert.equal(await frame.locator('select[aria-label="Layer"]').evaluate((e) => (e as HTMLSelectElement).value), "2");
});

test("the Models view lists the bundled samples, shows the loaded one's device and size, and picks the active model", async () => {
  const { page } = host;
  await inspectShapes(); // loads the active model
  await runCommand(page, "SeqLens: Focus on Models View");
  const rows = page.locator(".pane-body .monaco-list-row");
  await rows.filter({ hasText: "tiny-gpt-early" }).first().waitFor();
  const loadedName = path.basename(SAMPLE_MODEL);
  await rows.filter({ hasText: loadedName }).filter({ hasText: /onnx · cpu · [\d.]+ MiB/ }).first().waitFor({ timeout: 15_000 }).catch(async (e) => {
    await shot("failure-models");
    console.log(await rows.allTextContents());
    throw e;
  });
  await shot("models-view");
  const other = loadedName === "tiny-gpt" ? "tiny-gpt-early" : "tiny-gpt";
  await rows.filter({ hasText: new RegExp(`^${other}`) }).first().click();
  await page.locator(".statusbar-item", { hasText: `${other} · onnx` }).first().waitFor({ timeout: 10_000 });
});
