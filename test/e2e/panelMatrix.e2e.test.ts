// Each panel in the real host at 400, 700 and 1,200 px in dark, light and high-contrast themes:
// no overlapping text, nothing clipped outside a scroll region, contrast >= 4.5:1, a legend on
// every colour map (test/e2e/layoutChecks.ts), a screenshot of each kept in test/e2e/artifacts;
// clicking in each panel keeps the keys in it. The Inspector on 85 tokens also shows its attention
// under the default colour scale: the 90th-percentile cell is visibly not the background.
// (The fill-mask and cross-attention views are checked the same way in byom.e2e.test.ts.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { ROOT, SAMPLE_MODEL } from "../helpers";
import { ARTIFACTS, type Host, inspectorContentFrame, nextPaint, openFile, runCommand, selectLines, startHost, VSIX, webviewFrame } from "./host";
import { clickThenType, panelMatrix } from "./panelMatrix";

const WORKSPACE = path.join(ROOT, "samples", "workspace");
let host: Host;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  host = await startHost(WORKSPACE, { "seqlens.activeModel": SAMPLE_MODEL, "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  await host?.close();
});

/** The heatmap's cells as drawn (one pixel at each cell's centre), by CIELAB distance from the panel's background, sorted. */
async function cellDistances(frame: Frame): Promise<{ cells: number; distances: number[] }> {
  await frame.evaluate("globalThis.__name ??= (f) => f"); // tsx's helper for the named functions below
  return frame.evaluate(() => {
    const deep = (root: ParentNode, sel: string): Element | null => {
      const hit = root.querySelector(sel);
      if (hit) return hit;
      for (const el of root.querySelectorAll("*")) {
        const inner = el.shadowRoot ? deep(el.shadowRoot, sel) : null;
        if (inner) return inner;
      }
      return null;
    };
    const canvas = deep(document, "canvas[data-colormap]") as HTMLCanvasElement;
    const strip = deep(document, "seqlens-token-strip") as HTMLElement & { tokens: unknown[] };
    const T = strip.tokens.length;
    const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    const probe = document.createElement("canvas").getContext("2d")!;
    probe.fillStyle = getComputedStyle(document.body).getPropertyValue("--vscode-editor-background").trim();
    probe.fillRect(0, 0, 1, 1);
    const bg = [...probe.getImageData(0, 0, 1, 1).data.slice(0, 3)];
    const lab = (rgb: number[]) => {
      const lin = rgb.map((v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
      const xyz = [
        (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047,
        0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2],
        (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883,
      ].map((t) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116));
      return [116 * xyz[1] - 16, 500 * (xyz[0] - xyz[1]), 200 * (xyz[1] - xyz[2])];
    };
    const b = lab(bg);
    const cw = canvas.width / T, ch = canvas.height / T;
    const distances: number[] = [];
    for (let q = 0; q < T; q++)
      for (let k = 0; k < T; k++) {
        const o = (Math.floor((q + 0.5) * ch) * canvas.width + Math.floor((k + 0.5) * cw)) * 4;
        const c = lab([d[o], d[o + 1], d[o + 2]]);
        distances.push(Math.hypot(c[0] - b[0], c[1] - b[1], c[2] - b[2]));
      }
    distances.sort((x, y) => x - y);
    return { cells: T * T, distances };
  });
}

test("Inspector (85 tokens): readable at every width and theme, the default scale shows the attention, clicks keep the keys", async () => {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await selectLines(page, 2, 14);
  await runCommand(page, "SeqLens: Inspect Selection");
  const frame = await inspectorContentFrame(page);
  await frame.locator("seqlens-token-strip button").first().waitFor({ timeout: 60_000 });
  await page.locator(".notification-toast", { hasText: "inspecting" }).waitFor({ state: "hidden", timeout: 30_000 });
  const tokens = await frame.locator("seqlens-token-strip button").count();
  assert.ok(tokens >= 80 && tokens <= 90, `lines 2-14 are ~85 tokens, got ${tokens}`);
  await frame.waitForFunction(() => Number(document.body.dataset.heatmapPaintedAt ?? 0) > 0, undefined, { timeout: 30_000 });
  await nextPaint(frame);

  // BertViz-readable at 85 tokens: ΔE76 of the 90th-percentile cell from the background >= 20 (2.3 is
  // the just-noticeable difference); under a linear scale this cell is ~2% of the way to the accent
  const { cells, distances } = await cellDistances(frame);
  const p90 = distances[Math.floor(0.9 * (cells - 1))];
  assert.ok(p90 >= 20, `90th-percentile cell is ΔE ${p90.toFixed(1)} from the background`);

  const focus = await clickThenType(page, frame, ["seqlens-token-strip button >> nth=5", "seqlens-attention-heatmap canvas[data-colormap]", "seqlens-next-token", "seqlens-inspector h2"]);
  assert.deepEqual(focus, []);

  const failures = await panelMatrix(host, frame, "inspector", "SeqLens Inspector", {
    views: [
      { name: "heatmap", show: (f) => f.locator("seqlens-inspector button[role=tab]", { hasText: "Heatmap" }).first().click() },
      { name: "heads", show: (f) => f.locator("seqlens-inspector button[role=tab]", { hasText: "Head view" }).first().click() },
      { name: "overview", show: (f) => f.locator("seqlens-inspector button[role=tab]", { hasText: "All heads" }).first().click() },
    ],
  });
  assert.deepEqual(failures, [], failures.join("\n\n"));
});

test("Gates (CO2 series): readable at every width and theme, clicks keep the keys", async () => {
  const { page } = host;
  await openFile(page, "co2_mauna_loa_monthly.csv");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+A");
  await runCommand(page, "SeqLens: Show Gates");
  const frame = await webviewFrame(page, "seqlens-gates");
  await frame.waitForFunction(() => Number(document.body.dataset.gatesPaintedAt ?? 0) > 0, undefined, { timeout: 60_000 });
  await page.locator(".notification-toast", { hasText: "computing gates" }).waitFor({ state: "hidden", timeout: 15_000 });
  // the maps come after their slices (the first paint may be the forecast's)
  await frame.locator("seqlens-gate-maps canvas[data-colormap]").first().waitFor({ timeout: 30_000 });
  assert.deepEqual(await clickThenType(page, frame, ["seqlens-gate-maps canvas[data-colormap]", "seqlens-gates h2"]), []);
  const failures = await panelMatrix(host, frame, "gates", "SeqLens Gates");
  assert.deepEqual(failures, [], failures.join("\n\n"));
});

test("Embeddings (vocabulary, selection, logit lens): readable at every width and theme, clicks keep the keys", async () => {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await selectLines(page, 7, 12);
  await runCommand(page, "SeqLens: Show Embeddings & Logit Lens");
  const frame = await webviewFrame(page, "seqlens-embeddings");
  await frame.waitForFunction(() => /PCA/.test(document.querySelector("seqlens-embeddings")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 90_000 });
  await page.locator(".notification-toast", { hasText: "embeddings and logit lens" }).waitFor({ state: "hidden", timeout: 90_000 });
  const tab = (name: RegExp) => async (f: Frame) => {
    await f.locator("seqlens-embeddings button[role=tab]", { hasText: name }).first().click();
    await nextPaint(f);
  };
  assert.deepEqual(await clickThenType(page, frame, ["seqlens-scatter canvas.overlay", "seqlens-embeddings button[role=tab]"]), []);
  const failures = await panelMatrix(host, frame, "embeddings", "SeqLens Embeddings", {
    views: [
      { name: "vocabulary", show: tab(/Vocabulary/) },
      { name: "selection", show: tab(/Selection/) },
      { name: "lens", show: tab(/lens/i) },
    ],
  });
  assert.deepEqual(failures, [], failures.join("\n\n"));
});

test("Compare (two checkpoints): readable at every width and theme, clicks keep the keys", async () => {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+A");
  await runCommand(page, "SeqLens: Compare Models…");
  for (const [title, label] of [["the first model (A)", "tiny-gpt-early"], ["Compare tiny-gpt-early with", "tiny-gpt"]]) {
    const widget = page.locator(".quick-input-widget", { has: page.locator(".quick-input-title", { hasText: title }) });
    await widget.waitFor({ timeout: 30_000 });
    // the picker's title is whole and nothing covers it; items say the model's name, not an install path
    const titleBox = widget.locator(".quick-input-title");
    const seen = await titleBox.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return { whole: el.scrollWidth <= el.clientWidth + 1, onTop: !!hit && (el === hit || el.contains(hit) || hit.contains(el)) };
    });
    assert.deepEqual(seen, { whole: true, onTop: true }, `the picker title "${title}" is cut or covered`);
    const labels = await widget.locator(".monaco-list-row .label-name").allTextContents();
    assert.ok(labels.length > 0 && labels.every((l) => !l.includes("/")), `picker labels are names: ${labels.join(", ")}`);
    await page.screenshot({ path: path.join(ARTIFACTS, `compare-picker-${label}.png`) });
    const input = widget.locator(".quick-input-box input");
    await input.fill(label);
    await widget.locator(".monaco-list-row.focused", { hasText: label }).first().waitFor();
    await input.press("Enter");
    await widget.waitFor({ state: "hidden" });
  }
  await page.locator(".notification-toast", { hasText: "comparing" }).waitFor({ state: "hidden", timeout: 90_000 });
  const frame = await webviewFrame(page, "seqlens-compare");
  await frame.waitForFunction(() => /mean loss/.test(document.querySelector("seqlens-compare")?.shadowRoot?.querySelector("#summary")?.textContent ?? ""), undefined, { timeout: 90_000 });
  assert.deepEqual(await clickThenType(page, frame, ["seqlens-compare seqlens-token-strip button >> nth=3", "seqlens-compare canvas"]), []);
  const failures = await panelMatrix(host, frame, "compare", "SeqLens Compare");
  assert.deepEqual(failures, [], failures.join("\n\n"));
});
