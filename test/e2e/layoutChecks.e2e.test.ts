// The layout checker itself, on pages made to fail it: each defect it is meant to catch is caught,
// and a clean page passes (so a panel passing it means something).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chromium, Browser, Page } from "playwright-core";
import { layoutReport } from "./layoutChecks";

let browser: Browser;
let page: Page;
before(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  page = await browser.newPage({ viewport: { width: 400, height: 300 } });
});
after(async () => browser?.close());

const page0 = (body: string) => `<!DOCTYPE html><html><body style="margin:0;background:#1e1e1e;color:#cccccc;font:13px sans-serif">${body}</body></html>`;

test("a clean page passes and its texts are counted", async () => {
  await page.setContent(page0(`<p>one line</p><p>another line</p><div style="overflow-x:auto;width:200px"><div style="width:900px">a wide row in a scroll region</div></div>`));
  const r = await layoutReport(page);
  assert.deepEqual([r.overlaps, r.clipped, r.lowContrast, r.canvasesWithoutLegend], [[], [], [], []]);
  assert.equal(r.counted.texts, 3);
});

test("overlapping text is found, text hidden under an opaque sticky label is not", async () => {
  await page.setContent(page0(`<div style="position:relative;height:40px"><span style="position:absolute;left:0">first label</span><span style="position:absolute;left:20px">second label</span></div>`));
  const r = await layoutReport(page);
  assert.equal(r.overlaps.length, 1, JSON.stringify(r));
  assert.match(r.overlaps[0], /first label' × 'second label/);
  await page.setContent(page0(`<div style="position:relative;height:40px"><span style="position:absolute;left:30px">cell text under it</span><span style="position:absolute;left:0;z-index:1;background:#1e1e1e;padding-right:100px">row label</span></div>`));
  assert.deepEqual((await layoutReport(page)).overlaps, []);
});

test("text cut off at the panel's edge or by a hidden overflow is found; ellipsis and scroll regions are not", async () => {
  await page.setContent(page0(`<div style="width:900px;white-space:nowrap">a line of text far wider than the four hundred pixel panel that it sits in, so its end is cut off</div>`));
  assert.equal((await layoutReport(page)).clipped.length, 1);
  await page.setContent(page0(`<div style="width:100px;overflow:hidden;white-space:nowrap">clipped without an ellipsis at all</div>`));
  assert.match((await layoutReport(page)).clipped[0] ?? "", /clipped without/);
  await page.setContent(page0(`<div style="width:100px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis" title="x">ended with an ellipsis instead</div>`));
  const ellipsis = await layoutReport(page);
  assert.deepEqual([ellipsis.clipped, ellipsis.overlaps], [[], []], "an ellipsis is neither a cut nor an overlap with itself");
});

test("contrast under 4.5:1 is found with its ratio, opacity included", async () => {
  await page.setContent(page0(`<p style="color:#555">grey on dark</p><p style="opacity:0.5">dimmed text</p><p style="background:#d18616;color:#fff">white on orange</p><p>fine</p>`));
  const r = await layoutReport(page);
  assert.equal(r.lowContrast.length, 3, r.lowContrast.join("\n"));
  const ratio = Number(/([\d.]+):1/.exec(r.lowContrast[0])![1]);
  assert.ok(Math.abs(ratio - 2.1) < 0.15, `#555 on #1e1e1e is 2.1:1, got ${ratio}`);
});

test("a colour-map canvas without its legend, and an unmarked canvas, are found; canvas labels that overlap too", async () => {
  await page.setContent(page0(`<canvas data-colormap="attention" width="50" height="50"></canvas><canvas width="50" height="50"></canvas><canvas data-chart="line" width="50" height="50"></canvas>`));
  const r = await layoutReport(page);
  assert.equal(r.canvasesWithoutLegend.length, 2, r.canvasesWithoutLegend.join("\n"));
  await page.setContent(page0(`<canvas data-chart="scatter" width="200" height="100"></canvas><seqlens-color-legend for="x"></seqlens-color-legend>`));
  await page.evaluate(() => Object.assign(document.querySelector("canvas")!, { labelBoxes: [{ x: 10, y: 10, w: 60, h: 14, text: "alpha" }, { x: 40, y: 12, w: 60, h: 14, text: "beta" }, { x: 120, y: 60, w: 40, h: 14, text: "gamma" }] }));
  const o = await layoutReport(page);
  assert.deepEqual(o.canvasesWithoutLegend, []);
  assert.equal(o.overlaps.length, 1, o.overlaps.join("\n"));
  assert.match(o.overlaps[0], /alpha' × 'beta/);
});
