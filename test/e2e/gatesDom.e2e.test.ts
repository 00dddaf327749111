// The Gates panel from fixed data in chromium, without VS Code: a run on 240 rows of the real Mauna
// Loa CO2 series (samples/data/timeseries, lines 2-241) through a two-layer, 64-unit LSTM that reads
// differences (239 steps), its gates made up so each map's values are known. Checked: the reading
// line says why 240 rows give 239 steps; every map canvas has its legend, in the map's units (sigmoid
// gates 0 to 1, signed states diverging); the maps fit the panel at 400, 700 and 1,200 px (scrolling
// sideways, in step, only where a step would be under 2 px) with the unit axis clear of the maps after
// scrolling; the chart follows the map the user brushed and charts at most 8 units, with a line
// saying how many passed and which are shown; the layout checks in dark, light and high contrast.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { GatesHostToPanel, GatesView } from "../../protocol/gates";
import { ROOT } from "../helpers";
import { ARTIFACTS } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";
import { openPanelPage, PanelPage, THEMES } from "./webviewPage";

const WIDTHS = [400, 700, 1200];
const H = 64;
const NAMES = ["input", "forget", "candidate", "output", "cell", "hidden"];
const UNIT_INTERVAL_NAMES = new Set(["input", "forget", "output"]);

/** Rows 2-241 of the CO2 file: 240 monthly values, 1959 to 1978. */
const rows = fs
  .readFileSync(path.join(ROOT, "samples", "data", "timeseries", "co2_mauna_loa_monthly.csv"), "utf8")
  .split("\n")
  .slice(1, 241)
  .map((l) => Number(l.split(",")[1]));
const T = rows.length - 1; // the model reads differences: one step fewer than rows

/** Brushed span of the tests, and the units of the hidden state that stay above 0.5 over it. */
const SPAN: [number, number] = [10, 20];
const PASSING = 33;

/**
 * Each map's [T, H] values. Hidden: units 0-32 at 0.6 + 0.01·u over the span (all above 0.5, unit 32
 * highest), the rest −0.4; elsewhere a wave in (−1, 1). Forget: only units 40-43 above 0.5 over the
 * span (a different answer, so a chart of the wrong map shows). Sigmoid gates in [0, 1], the cell
 * state in (−3, 3), and unit 0 of the input gate at 1 everywhere (its colour is the accent's).
 */
function slice(name: string): Float32Array {
  const d = new Float32Array(T * H);
  for (let t = 0; t < T; t++)
    for (let u = 0; u < H; u++) {
      const wave = Math.sin(t / 9 + u / 5);
      const inSpan = t >= SPAN[0] && t <= SPAN[1];
      let v: number;
      if (name === "hidden") v = inSpan ? (u < PASSING ? 0.6 + 0.01 * u : -0.4) : 0.9 * wave;
      else if (name === "forget") v = inSpan ? (u >= 40 && u < 44 ? 0.9 : 0.2) : 0.5 + 0.5 * wave;
      else if (name === "cell") v = 3 * wave * Math.cos(u);
      else if (name === "candidate") v = Math.tanh(2 * wave);
      else v = name === "input" && u === 0 ? 1 : 0.5 + 0.5 * wave;
      d[t * H + u] = v;
    }
  return d;
}

const oneStep = rows.map((y, t) => (t < 37 ? null : y + 0.2 * Math.sin(t)));
const view: GatesView = {
  gates: {
    handle: "gates-1",
    model: "/models/co2-lstm",
    name: "co2-lstm",
    runtime: "onnx",
    inputKind: "series",
    steps: T,
    source: Array.from({ length: T }, (_, s) => s + 1),
    labels: rows.slice(1).map(String),
    layers: [0, 1].map((layer) => ({ index: layer, layer, direction: "forward" as const, cell: "lstm" as const, units: H, inputSize: layer ? H : 1, activations: ["Sigmoid", "Tanh", "Tanh"], names: NAMES, check: { maxAbsDiff: 2e-7, worstStep: 3, tolerance: 1e-5, ok: true } })),
    ms: { run: 12.5, total: 14 },
  },
  forecast: {
    series: rows,
    oneStep,
    residuals: oneStep.map((p, t) => (p === null ? null : rows[t] - p)),
    multiStep: Array.from({ length: 24 }, (_, h) => rows[rows.length - 1] + 0.1 * h),
    metrics: { rows: 191, mae: 0.24, rmse: 0.3, lastValue: { mae: 0.6, rmse: 0.7 }, seasonalNaive: { season: 12, mae: 1.1, rmse: 1.2 } },
  },
  restore: { uri: "file:///co2_mauna_loa_monthly.csv", start: 15, end: 3000, model: "/models/co2-lstm", column: 1 },
  gradients: false,
  reading: {
    kind: "series",
    reason: 'Read as a series: column "value", 240 rows (lines 2–241). Column names from the header on line 1, above the selection. "time" is the time axis by its name, rising by 0.0833 a row.',
    rows: 240,
    column: "value",
    other: { kind: "text", label: "Read as text instead" },
  },
};

const pages: PanelPage[] = [];
after(async () => {
  for (const p of pages) await p.close();
});

/** The panel on a page `width` px wide (tall enough that the whole panel is on screen), fed the run and every slice it asks for. */
async function openGates(theme: keyof typeof THEMES, width: number): Promise<PanelPage> {
  const p = await openPanelPage("gates", "seqlens-gates", THEMES[theme](), { width, height: 2600 });
  pages.push(p);
  await p.page.evaluate("globalThis.__name ??= (f) => f"); // tsx names the inner functions of evaluated code through a helper
  await p.post({ type: "gates", view } satisfies GatesHostToPanel);
  await p.page.waitForFunction((n) => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "getSlice").length >= n, NAMES.length);
  const asks = (await p.sent()).filter((m) => m.type === "getSlice") as { requestId: number; index: number; name: string }[];
  for (const a of asks) await p.post({ type: "slice", requestId: a.requestId, index: a.index, name: a.name, shape: [T, H], data: slice(a.name) } satisfies GatesHostToPanel);
  await p.page.waitForFunction((n) => document.querySelector("seqlens-gates")?.shadowRoot?.querySelector("seqlens-gate-maps")?.shadowRoot?.querySelectorAll("canvas.map").length === n, NAMES.length);
  await p.page.waitForFunction(() => Number(document.body.dataset.gatesPaintedAt ?? 0) > 0);
  return p;
}

/** Where the maps are, per map: the canvas, its scroll region and its unit axis (CSS px, page coordinates). */
async function geometry(p: PanelPage) {
  return p.page.evaluate(() => {
    const root = document.querySelector("seqlens-gates")!.shadowRoot!.querySelector("seqlens-gate-maps")!.shadowRoot!;
    const box = (e: Element) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width };
    };
    return [...root.querySelectorAll<HTMLElement>(".block")].map((b) => {
      const scroll = b.querySelector<HTMLElement>(".scroll")!;
      const canvas = b.querySelector<HTMLCanvasElement>("canvas.map")!;
      return {
        gate: b.dataset.gate!,
        canvas: box(canvas),
        pixels: canvas.width,
        scroll: { ...box(scroll), scrollLeft: scroll.scrollLeft, scrollWidth: scroll.scrollWidth, clientWidth: scroll.clientWidth },
        axis: [...b.querySelectorAll(".axis span")].map(box),
        // its title, then its ticks
        legend: [...(root.querySelector(`seqlens-color-legend[for="${b.dataset.gate}"]`)?.shadowRoot?.querySelectorAll(".title, .ticks span") ?? [])].map((e) => e.textContent!.trim()).join(" "),
      };
    });
  });
}

test("a cancel from the host (the engine's code CANCELLED) is a plain notice and the maps stay; a failure is an error", async () => {
  const p = await openGates("dark", 700);
  const text = (sel: string) => p.page.evaluate((q) => document.querySelector("seqlens-gates")!.shadowRoot!.querySelector(q)?.textContent ?? null, sel);
  await p.post({ type: "error", message: "cancelled", code: "CANCELLED" } satisfies GatesHostToPanel);
  await p.page.waitForFunction(() => !!document.querySelector("seqlens-gates")!.shadowRoot!.querySelector(".notice"));
  assert.equal(await text(".notice"), "Cancelled: what is shown is the last result.");
  assert.equal(await text(".error"), null);
  assert.equal(await p.page.evaluate(() => document.querySelector("seqlens-gates")!.shadowRoot!.querySelector("seqlens-gate-maps")!.shadowRoot!.querySelectorAll("canvas.map").length), NAMES.length);
  // words alone do not make a cancel: a failure that mentions one is an error
  await p.post({ type: "error", message: "the cancelled-orders column is not numeric" } satisfies GatesHostToPanel);
  await p.page.waitForFunction(() => !!document.querySelector("seqlens-gates")!.shadowRoot!.querySelector(".error"));
  assert.equal(await text(".error"), "the cancelled-orders column is not numeric");
  assert.equal(await text(".notice"), null);
});

test("the reading line says how the selection was read and why 240 rows give 239 steps; the other reading is a button", async () => {
  const p = await openGates("dark", 700);
  const line = p.page.locator(".reading");
  const text = await line.innerText();
  assert.match(text, /Read as a series: column "value", 240 rows \(lines 2–241\)\. Column names from the header on line 1/);
  assert.match(text, /240 rows give 239 steps: this model reads the change from one row to the next \(step 0 reads row 2 − row 1\), so the first row is not a step of its own\./);
  assert.match(await p.page.locator("header").innerText(), /co2-lstm · onnx · 239 steps/);
  await line.locator("vscode-button", { hasText: "Read as text instead" }).click();
  assert.ok((await p.sent()).some((m) => m.type === "readAs" && m.kind === "text"));
  // A text reading offers the series.
  await p.post({ type: "gates", view: { ...view, forecast: undefined, reading: { kind: "text", reason: 'Read as text for the character model: the selection is a header line ("time", "value") with no numbers under it.', other: { kind: "series", label: "Read the table under it (lines 1–469) as a series" } } } });
  await line.locator("vscode-button", { hasText: "Read the table under it (lines 1–469) as a series" }).click();
  assert.ok((await p.sent()).some((m) => m.type === "readAs" && m.kind === "series"));
});

test("every gate map has its legend in the map's units: sigmoid gates 0 to 1, tanh values −1 to +1 around zero, the cell state by a robust bound", async () => {
  const p = await openGates("dark", 700);
  const maps = await geometry(p);
  assert.deepEqual(maps.map((m) => m.gate), NAMES);
  for (const m of maps) assert.ok(m.legend.length > 0, `a legend for ${m.gate}`);
  const legend = Object.fromEntries(maps.map((m) => [m.gate, m.legend]));
  for (const g of ["input", "forget", "output"]) assert.match(legend[g], /^gate value \(sigmoid\), 0 to 1 0 0\.25 0\.5 0\.75 1$/);
  assert.match(legend.candidate, /^value \(tanh\), −1 to \+1 −1 −0\.5 0 \+0\.5 \+1$/);
  assert.match(legend.hidden, /^value \(tanh\), −1 to \+1 −1 −0\.5 0 \+0\.5 \+1$/);
  assert.match(legend.cell, /^cell value \(unbounded\), clipped at ±3 −3\.0 −1\.5 0 \+1\.5 \+3\.0$/); // the 99th percentile of |c|: 2.99
  // The canvases say which legend explains them; the input strip and the charts say what they are.
  const marks = await p.page.evaluate(() => {
    const out: string[] = [];
    const walk = (root: Document | ShadowRoot) => {
      for (const e of root.querySelectorAll("*")) {
        if (e instanceof HTMLCanvasElement) out.push(e.dataset.colormap ? `map:${e.dataset.colormap}` : `chart:${e.dataset.chart ?? "?"}`);
        if (e.shadowRoot) walk(e.shadowRoot);
      }
    };
    walk(document);
    return out;
  });
  assert.deepEqual(marks.filter((m) => m.startsWith("map:")), NAMES.map((n) => `map:${n}`));
  assert.ok(!marks.includes("chart:?"), marks.join(", "));
  // Unit 0 of the input gate is 1 everywhere: the accent colour (#d18616) at its cells.
  const px = await p.page.evaluate(() => {
    const c = document.querySelector("seqlens-gates")!.shadowRoot!.querySelector("seqlens-gate-maps")!.shadowRoot!.querySelector<HTMLCanvasElement>('canvas.map[data-gate="input"]')!;
    return Array.from(c.getContext("2d")!.getImageData(c.width - 1, 0, 1, 1).data.slice(0, 3));
  });
  assert.deepEqual(px, [0xd1, 0x86, 0x16]);
});

test("the maps fit the panel at 400, 700 and 1,200 px and re-fit on resize; at 400 they scroll sideways together, the unit axis clear of them", async () => {
  const p = await openGates("dark", 1200);
  for (const width of [1200, 700, 400]) {
    const before = Number(await p.page.evaluate(() => document.body.dataset.gatesPaintedAt ?? 0));
    if (width !== 1200) {
      await p.page.setViewportSize({ width, height: 2600 });
      await p.page.waitForFunction((b) => Number(document.body.dataset.gatesPaintedAt ?? 0) > b, before);
    }
    const maps = await geometry(p);
    for (const m of maps) {
      assert.ok(m.scroll.right <= width + 0.5, `${m.gate}: the scroll region ends inside the ${width} px panel (${m.scroll.right})`);
      assert.ok(m.pixels >= T * 2, `${m.gate}: at least 2 px a step (${m.pixels})`);
      for (const a of m.axis) assert.ok(a.right <= m.scroll.left + 0.5, `${m.gate}: unit label clear of the map`);
      if (width >= 700) {
        assert.equal(await p.page.locator("seqlens-gate-maps .more").count(), 0, "all steps in view: no scrolling hint");
        assert.ok(m.canvas.width <= m.scroll.clientWidth + 0.5, `${m.gate} fits at ${width} px: ${m.canvas.width} in ${m.scroll.clientWidth}`);
        assert.ok(m.canvas.width >= m.scroll.clientWidth - 1 || m.canvas.width === T * 16, `${m.gate} fills the panel at ${width} px: ${m.canvas.width} of ${m.scroll.clientWidth}`);
      } else assert.ok(m.scroll.scrollWidth > m.scroll.clientWidth, `${m.gate}: scrolls at ${width} px`);
    }
  }
  // Where the maps scroll, a line says which steps are in view and how to reach the rest.
  const more = p.page.locator("seqlens-gate-maps .more");
  assert.match(await more.innerText(), new RegExp(`^Steps 0–\\d+ of ${T} in view: scroll the maps sideways`));
  // Scrolled to the end (the last steps), every map follows; the unit numbers stay where they were, beside the maps.
  const scroller = p.page.locator('seqlens-gate-maps .block[data-gate="hidden"] .scroll');
  await scroller.evaluate((s) => (s.scrollLeft = s.scrollWidth));
  await p.page.waitForFunction(() => {
    const all = [...document.querySelector("seqlens-gates")!.shadowRoot!.querySelector("seqlens-gate-maps")!.shadowRoot!.querySelectorAll<HTMLElement>(".scroll")];
    return all.every((s) => s.scrollLeft > 0 && s.scrollLeft === all[0].scrollLeft);
  });
  await p.page.waitForFunction((t) => new RegExp(`^Steps \\d+–${t - 1} of ${t} in view`).test(document.querySelector("seqlens-gates")!.shadowRoot!.querySelector("seqlens-gate-maps")!.shadowRoot!.querySelector(".more")?.textContent ?? ""), T);
  const maps = await geometry(p);
  for (const m of maps) {
    assert.ok(m.scroll.scrollLeft + m.scroll.clientWidth >= m.scroll.scrollWidth - 1, `${m.gate}: the last step is in view`);
    for (const a of m.axis) assert.ok(a.right <= m.scroll.left + 0.5 && a.right <= m.canvas.left + m.scroll.scrollLeft + 0.5, `${m.gate}: unit label clear of the scrolled map`);
  }
  const report = await layoutReport(p.page);
  assert.equal(formatReport(report), "", "after scrolling");
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await p.page.screenshot({ path: path.join(ARTIFACTS, "gates-dom-scrolled-400.png"), fullPage: true });
});

test("the chart follows the map the user brushed (not the gate left in the dropdown) and charts at most 8 units, saying how many passed", async () => {
  const p = await openGates("dark", 700);
  const { page } = p;
  const gateSelect = page.locator('select[aria-label="Gate to chart"]');
  await gateSelect.selectOption("forget"); // left over from an earlier look
  // Brush steps 10-20 on the hidden state with the keyboard.
  const hidden = page.locator('seqlens-gate-maps canvas.map[data-gate="hidden"]');
  await hidden.focus();
  await hidden.press("Home");
  for (let i = 0; i < SPAN[0]; i++) await hidden.press("ArrowRight");
  for (let i = SPAN[0]; i < SPAN[1]; i++) await hidden.press("Shift+ArrowRight");
  assert.equal(await gateSelect.inputValue(), "hidden", "the dropdown follows the brushed map");
  const button = page.locator("vscode-button", { hasText: `Units above threshold in span ${SPAN[0]}–${SPAN[1]} of hidden` });
  await button.click();
  const line = page.locator(".picked");
  await line.waitFor();
  const top8 = Array.from({ length: 8 }, (_, i) => PASSING - 1 - i); // the highest means: units 32 down to 25
  assert.equal(
    await line.innerText(),
    `${PASSING} units of hidden stay above 0.5 over all of steps ${SPAN[0]}–${SPAN[1]}; charted: the 8 with the highest mean hidden over the span (${top8.join(", ")}). Raise the threshold or brush a longer span to narrow them down.`,
  );
  assert.match(await page.locator("section", { hasText: "Units over time" }).locator(".controls").innerText(), new RegExp(`units ${top8.join(", ")}`));
  // The chart: 8 lines of the hidden state (uPlot's legend: the x series and one per unit).
  const legend = page.locator("section", { hasText: "Units over time" }).locator("seqlens-line-chart .u-legend .u-series .u-label");
  await page.waitForFunction(() => document.querySelector("seqlens-gates")!.shadowRoot!.querySelectorAll("section")[2]?.querySelector("seqlens-line-chart")?.shadowRoot?.querySelectorAll(".u-legend .u-series").length === 9);
  assert.deepEqual((await legend.allInnerTexts()).slice(1), top8.map((u) => `hidden ${u}`));
  // The forget gate, brushed over the same span: its own 4 units, all charted.
  const forget = page.locator('seqlens-gate-maps canvas.map[data-gate="forget"]');
  await forget.focus();
  await forget.press("Home");
  for (let i = 0; i < SPAN[0]; i++) await forget.press("ArrowRight");
  for (let i = SPAN[0]; i < SPAN[1]; i++) await forget.press("Shift+ArrowRight");
  assert.equal(await gateSelect.inputValue(), "forget");
  await page.locator("vscode-button", { hasText: `Units above threshold in span ${SPAN[0]}–${SPAN[1]} of forget` }).click();
  await page.waitForFunction(() => /4 units of forget stay above 0\.5/.test(document.querySelector("seqlens-gates")!.shadowRoot!.querySelector(".picked")?.textContent ?? ""));
  assert.equal(await line.innerText(), `4 units of forget stay above 0.5 over all of steps ${SPAN[0]}–${SPAN[1]}: all charted.`);
  await page.screenshot({ path: path.join(ARTIFACTS, "gates-dom-brushed.png"), fullPage: true });
});

test("a text run: each character drawn under its step (8 px a step at least), scrolling sideways where the panel is narrower", async () => {
  // Lines 2-4 of the sample workspace's shapes.ts through a 128-unit character LSTM (made-up gates).
  const text = fs.readFileSync(path.join(ROOT, "samples", "workspace", "shapes.ts"), "utf8").split("\n").slice(1, 4).join("\n");
  const chars = [...text];
  const U = 128;
  const p = await openPanelPage("gates", "seqlens-gates", THEMES.dark(), { width: 700, height: 1800 });
  pages.push(p);
  await p.page.evaluate("globalThis.__name ??= (f) => f");
  const gates = {
    ...view.gates,
    handle: "gates-text",
    model: "/models/char-lstm",
    name: "char-lstm",
    inputKind: "text" as const,
    steps: chars.length,
    source: chars.map((_, i) => i),
    labels: chars,
    layers: view.gates.layers.map((l) => ({ ...l, units: U, inputSize: l.layer ? U : 32 })),
  };
  await p.post({ type: "gates", view: { gates, restore: { uri: "file:///shapes.ts", start: 0, end: text.length, model: "/models/char-lstm" }, gradients: true, reading: { kind: "text", reason: 'Read as text for the character model: the selection has letters, not only numbers (its line 1: "interface Shape {").' } } });
  await p.page.waitForFunction((n) => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "getSlice").length >= n, NAMES.length);
  for (const a of (await p.sent()).filter((m) => m.type === "getSlice") as { requestId: number; index: number; name: string }[]) {
    const d = new Float32Array(chars.length * U);
    for (let t = 0; t < chars.length; t++) for (let u = 0; u < U; u++) d[t * U + u] = UNIT_INTERVAL_NAMES.has(a.name) ? 0.5 + 0.5 * Math.sin(t / 3 + u) : Math.sin(t / 3 + u);
    await p.post({ type: "slice", requestId: a.requestId, index: a.index, name: a.name, shape: [chars.length, U], data: d });
  }
  await p.page.waitForFunction(() => Number(document.body.dataset.gatesPaintedAt ?? 0) > 0);
  const strip = () =>
    p.page.evaluate(() => {
      const root = document.querySelector("seqlens-gates")!.shadowRoot!.querySelector("seqlens-gate-maps")!.shadowRoot!;
      const c = root.querySelector<HTMLCanvasElement>("canvas.strip")! as HTMLCanvasElement & { labelBoxes: { x: number; w: number; text: string }[] };
      const s = root.querySelector<HTMLElement>(".strip-row .scroll")!;
      return { labels: c.labelBoxes.map((b) => b.text), boxes: c.labelBoxes.map((b) => [b.x, b.x + b.w]), width: c.getBoundingClientRect().width, scrolls: s.scrollWidth > s.clientWidth };
    });
  for (const width of [700, 400]) {
    if (width !== 700) {
      const before = Number(await p.page.evaluate(() => document.body.dataset.gatesPaintedAt ?? 0));
      await p.page.setViewportSize({ width, height: 1800 });
      await p.page.waitForFunction((b) => Number(document.body.dataset.gatesPaintedAt ?? 0) > b, before);
    }
    const s = await strip();
    assert.equal(s.labels.join(""), chars.map((c) => (c === " " ? "·" : c === "\n" ? "↵" : c)).join(""), "every character under its step, whitespace shown");
    assert.ok(s.width >= chars.length * 8, `${s.width} px for ${chars.length} characters`);
    for (let i = 1; i < s.boxes.length; i++) assert.ok(s.boxes[i][0] >= s.boxes[i - 1][1], `label ${i} clear of the one before`);
    assert.equal(s.scrolls, chars.length * 8 > width - 50, `at ${width} px`);
    const report = await layoutReport(p.page);
    assert.equal(formatReport(report), "", `text run at ${width} px`);
    await p.page.screenshot({ path: path.join(ARTIFACTS, `gates-dom-text-${width}.png`), fullPage: true });
  }
});

for (const theme of ["dark", "light", "hc"] as const) {
  test(`layout in the ${theme} theme at 400, 700 and 1,200 px: no overlapping or clipped text, contrast 4.5:1, a legend for every map`, async () => {
    const p = await openGates(theme, WIDTHS[0]);
    // A brushed, capped chart on screen too: its line and legend are part of the layout.
    const hidden = p.page.locator('seqlens-gate-maps canvas.map[data-gate="hidden"]');
    await hidden.focus();
    await hidden.press("Home");
    for (let i = 0; i < SPAN[0]; i++) await hidden.press("ArrowRight");
    for (let i = SPAN[0]; i < SPAN[1]; i++) await hidden.press("Shift+ArrowRight");
    await p.page.locator("vscode-button", { hasText: "Units above threshold in span" }).click();
    await p.page.locator(".picked").waitFor();
    const failures: string[] = [];
    for (const width of WIDTHS) {
      const before = Number(await p.page.evaluate(() => document.body.dataset.gatesPaintedAt ?? 0));
      if (width !== WIDTHS[0]) {
        await p.page.setViewportSize({ width, height: 2600 });
        await p.page.waitForFunction((b) => Number(document.body.dataset.gatesPaintedAt ?? 0) > b, before);
      }
      await p.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const report = await layoutReport(p.page);
      assert.ok(report.counted.texts > 40 && report.counted.canvases >= NAMES.length + 1 && report.counted.legends === NAMES.length, JSON.stringify(report.counted));
      const found = formatReport(report);
      if (found) failures.push(`${theme} at ${width} px:\n${found}`);
      await p.page.screenshot({ path: path.join(ARTIFACTS, `gates-dom-${theme}-${width}.png`), fullPage: true });
      await p.page.locator("seqlens-gate-maps").screenshot({ path: path.join(ARTIFACTS, `gates-dom-${theme}-${width}-maps.png`) });
    }
    assert.equal(failures.join("\n\n"), "");
  });
}
