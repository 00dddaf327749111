// Recurrent-model figures, added to bench/results.json:
//   gates_10k_ms       gates of a 10,000-step series through the bundled 2-layer 64-unit LSTM
//                      (co2-lstm, ONNX), engine time, median; the series is the Mauna Loa CO2
//                      record repeated end to end with its trend carried on (468 real months)
//   gates_paint_ms     the Gates panel painting all six maps of 64 units x 2,000 steps in headless
//                      chromium (the panel's own paint, median)
// Run by `npm run bench`.
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../engine/service";
import type { GatesView } from "../protocol/gates";
import { median } from "./stats";
import { DARK, openPanelPage } from "../test/e2e/webviewPage";

const ROOT = path.resolve(__dirname, "..");
const RUNS = Number(process.env.SEQLENS_BENCH_RUNS ?? 9);
const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

function co2Extended(n: number): number[] {
  const rows = fs.readFileSync(path.join(ROOT, "samples", "data", "timeseries", "co2_mauna_loa_monthly.csv"), "utf8").trim().split("\n").slice(1);
  const co2 = rows.map((r) => Number(r.split(",")[1]));
  const rise = co2[co2.length - 1] - co2[0] + (co2[co2.length - 1] - co2[co2.length - 13]); // carry the trend on across the seam
  return Array.from({ length: n }, (_, i) => co2[i % co2.length] + Math.floor(i / co2.length) * rise);
}

async function engineGates(): Promise<{ median: number; runs: number[]; ok: boolean }> {
  const s = new EngineService({ providers: "cpu" });
  const values = co2Extended(10_000).map((v) => [v]);
  const model = path.join(ROOT, "samples", "models", "co2-lstm");
  let ok = true;
  const runs: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const r = await s.call("gates", { model, values, runtime: "onnx" }, ctx);
    ok &&= r.layers.every((l) => l.check.ok) && r.steps === 9_999;
    await s.call("release", { handle: r.handle }, ctx);
    if (i >= 2) runs.push(r.ms.run); // the first runs open the model and warm up
  }
  return { median: median(runs), runs, ok };
}

async function panelPaint(): Promise<{ median: number; runs: number[] }> {
  const panel = await openPanelPage("gates", "seqlens-gates", DARK, { width: 1200, height: 900 });
  try {
    const page = panel.page;
    const T = 2000;
    const H = 64;
    const names = ["input", "forget", "candidate", "output", "cell", "hidden"];
    const view: GatesView = {
      gates: {
        handle: "bench",
        model: "bench",
        name: "bench-lstm",
        runtime: "onnx",
        inputKind: "series",
        steps: T,
        source: Array.from({ length: T }, (_, t) => t),
        labels: Array.from({ length: T }, (_, t) => String(t)),
        layers: [{ index: 0, layer: 0, direction: "forward", cell: "lstm", units: H, inputSize: 1, activations: ["sigmoid", "tanh", "tanh"], names, check: { maxAbsDiff: 0, worstStep: 0, tolerance: 1e-5, ok: true } }],
        ms: { run: 0, total: 0 },
      },
      restore: { uri: "file:///bench.csv", start: 0, end: 0, model: "bench" },
      gradients: false,
    };
    const runs: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      await page.evaluate(() => ((window as unknown as { sent: unknown[] }).sent.length = 0));
      await page.evaluate((v) => window.postMessage({ type: "gates", view: v }, "*"), view as unknown as Record<string, unknown>);
      await page.waitForFunction((n) => (window as unknown as { sent: { type: string }[] }).sent.filter((m) => m.type === "getSlice").length === n, names.length);
      // Answer every slice request at once; the panel paints when the slices arrive.
      const before = Number(await page.evaluate(() => document.body.dataset.gatesPaintedAt ?? 0));
      await page.evaluate(
        ([TT, HH, seed]) => {
          const sent = (window as unknown as { sent: { type: string; requestId: number; index: number; name: string }[] }).sent.filter((m) => m.type === "getSlice");
          let s = seed;
          for (const m of sent) {
            const data = new Float32Array(TT * HH);
            for (let a = 0; a < data.length; a++) {
              s = (s * 1664525 + 1013904223) >>> 0;
              data[a] = s / 2 ** 32;
            }
            window.postMessage({ type: "slice", requestId: m.requestId, index: m.index, name: m.name, shape: [TT, HH], data }, "*");
          }
        },
        [T, H, i + 1],
      );
      await page.waitForFunction(
        ([b, n]) => {
          const maps = document.querySelector("seqlens-gates")?.shadowRoot?.querySelector("seqlens-gate-maps")?.shadowRoot?.querySelectorAll("canvas.map");
          return Number(document.body.dataset.gatesPaintedAt ?? 0) > b && maps?.length === n;
        },
        [before, names.length],
      );
      // The last paint draws all six maps; its own duration is what the panel spends.
      const ms = Number(await page.evaluate(() => document.body.dataset.gatesPaintMs));
      if (i > 0) runs.push(ms);
    }
    return { median: median(runs), runs };
  } finally {
    await panel.close();
  }
}

async function main() {
  const engine = await engineGates();
  const paint = await panelPaint();
  const file = path.join(ROOT, "bench", "results.json");
  const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  results.gates = {
    gates_10k_ms: { model: "samples/models/co2-lstm (onnx, 2 x LSTM 64)", steps: 9_999, median: engine.median, runs: engine.runs, all_checked: engine.ok },
    gates_paint_ms: { units: 64, steps: 2000, maps: 6, median: paint.median, runs: paint.runs },
    bars: { gates_10k_ms_max: 200, gates_paint_ms_max: 200 },
    pass: { gates_10k: engine.median <= 200 && engine.ok, gates_paint: paint.median <= 200 },
  };
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  console.log(`gates, 10,000-step series, 2 x LSTM 64 ${engine.median.toFixed(1).padStart(8)} ms  <= 200 ${results.gates.pass.gates_10k ? "ok" : "FAIL"} (median of ${engine.runs.length}; every step checked: ${engine.ok})`);
  console.log(`Gates panel paint, 64 units x 2,000   ${paint.median.toFixed(1).padStart(8)} ms  <= 200 ${results.gates.pass.gates_paint ? "ok" : "FAIL"} (six maps, median of ${paint.runs.length})`);
}

main().catch((e) => {
  console.error(`gates bench failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
