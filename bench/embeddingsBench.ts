// Embedding figures, added to bench/results.json:
//   pca_vocab_ms        PCA of the bundled model's whole token-embedding matrix (4,096 x 128), median
//   umap_2000_ms        UMAP of 2,000 of its rows through the engine's runner (umap-js), median, with
//                       the number of progress reports it streamed
//   scatter_pan_fps     frames per second of the Embeddings panel's scatter while panning 50,000
//                       points in headless chromium, as the panel draws them here (WebGL is software,
//                       SwiftShader, so points are written into the canvas's pixels) and with
//                       SwiftShader WebGL forced, with the mean time the scatter's own draw took per frame
import * as fs from "node:fs";
import * as path from "node:path";
import { DecoderModel } from "../engine/models/decoder";
import { pcaProject } from "../engine/probes/projection";
import { umapProject } from "../engine/probes/manifold";
import { openPanelPage } from "../test/e2e/webviewPage";
import { median } from "./stats";

const ROOT = path.resolve(__dirname, "..");
const MODEL = path.join(ROOT, "samples", "models", "tiny-gpt");

async function engineFigures() {
  const model = await DecoderModel.load(MODEL, ["cpu"]);
  const e = model.probe.tokenEmbedding!;
  const m = { rows: e.shape[0], cols: e.shape[1], data: e.data };
  pcaProject(m, 2); // warm-up
  const pca: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    pcaProject(m, 2);
    pca.push(performance.now() - t0);
  }
  const sub = { rows: 2000, cols: m.cols, data: m.data.subarray(0, 2000 * m.cols) };
  const umap: number[] = [];
  let reports = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    reports = 0;
    await umapProject(sub, { dims: 2, seed: i + 1, onProgress: () => reports++ });
    umap.push(performance.now() - t0);
  }
  await model.dispose();
  return { pca, umap, reports, rows: m.rows, cols: m.cols };
}

async function scatterFps(softwareGl: boolean) {
  const p = await openPanelPage("embeddings", "seqlens-embeddings");
  try {
    const n = 50_000;
    await p.post({ type: "view", view: { modelName: "bench", layers: 1, vocabSize: n, outputMatrix: "tied", tokens: [] } });
    const ask = (await p.sent()).find((m) => m.type === "project") as { requestId: number };
    let seed = 5;
    const r = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const coords = Float32Array.from({ length: 2 * n }, r);
    if (softwareGl) await p.page.locator("seqlens-scatter").evaluate((e) => ((e as unknown as { allowSoftwareGl: boolean }).allowSoftwareGl = true));
    await p.post({ type: "projection", requestId: ask.requestId, source: "vocabulary", method: "pca", dims: 2, coords, ids: Int32Array.from({ length: n }, (_, i) => i), labels: Array.from({ length: n }, (_, i) => `tok${i}`), cached: true, ms: 0 });
    await p.page.waitForFunction(() => Number(document.body.dataset.scatterPaintedAt ?? 0) > 0);
    // Pan by a pixel every 4 ms for 3 s, as pointer moves arrive between frames, and count the frames the scatter drew.
    // (a string, so the bundler's helpers stay out of the page)
    return (await p.page.evaluate(`(async () => {
      const sc = document.querySelector("seqlens-embeddings").shadowRoot.querySelector("seqlens-scatter");
      const start = { count: sc.frames.count, ms: sc.frames.ms };
      const t0 = performance.now();
      await new Promise((resolve) => {
        const timer = setInterval(() => {
          sc.panBy(1, 0.3);
          if (performance.now() - t0 >= 3000) {
            clearInterval(timer);
            resolve();
          }
        }, 4);
      });
      const seconds = (performance.now() - t0) / 1000;
      const frames = sc.frames.count - start.count;
      return { fps: frames / seconds, drawMs: (sc.frames.ms - start.ms) / frames, mode: sc.mode };
    })()`)) as { fps: number; drawMs: number; mode: string };
  } finally {
    await p.close();
  }
}

async function main() {
  const e = await engineFigures();
  const fps: { fps: number; drawMs: number; mode: string }[] = [];
  const fpsGl: { fps: number; drawMs: number; mode: string }[] = [];
  for (let i = 0; i < 3; i++) fps.push(await scatterFps(false));
  for (let i = 0; i < 3; i++) fpsGl.push(await scatterFps(true));
  const file = path.join(ROOT, "bench", "results.json");
  const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  const pca = median(e.pca);
  const umap = median(e.umap);
  const glFps = median(fps.map((f) => f.fps));
  const glSwFps = median(fpsGl.map((f) => f.fps));
  results.embeddings = {
    pca_vocab_ms: { model: "samples/models/tiny-gpt", rows: e.rows, cols: e.cols, median: pca, runs: e.pca },
    umap_2000_ms: { rows: 2000, cols: e.cols, median: umap, runs: e.umap, progress_reports: e.reports },
    scatter_pan_fps: { points: 50_000, mode: fps[0].mode, median: glFps, draw_ms: median(fps.map((f) => f.drawMs)), runs: fps },
    scatter_pan_fps_swiftshader_webgl: { points: 50_000, mode: fpsGl[0].mode, median: glSwFps, draw_ms: median(fpsGl.map((f) => f.drawMs)), runs: fpsGl },
    bars: { pca_vocab_ms_max: 200, umap_2000_ms_max: 10_000, scatter_pan_fps_min: 30 },
    pass: { pca_vocab: pca <= 200, umap_2000: umap <= 10_000 && e.reports > 0, scatter_pan: glFps >= 30 },
  };
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  const ok = (b: boolean) => (b ? "ok" : "FAIL");
  console.log(`PCA of the vocabulary (${e.rows} x ${e.cols})       ${pca.toFixed(1).padStart(8)} ms  <= 200    ${ok(results.embeddings.pass.pca_vocab)} (median of ${e.pca.length})`);
  console.log(`UMAP of 2,000 rows                      ${umap.toFixed(0).padStart(8)} ms  <= 10000  ${ok(results.embeddings.pass.umap_2000)} (median of ${e.umap.length}; ${e.reports} progress reports)`);
  console.log(`scatter, panning 50,000 points (${fps[0].mode})      ${glFps.toFixed(1).padStart(8)} fps >= 30     ${ok(results.embeddings.pass.scatter_pan)} (draw ${results.embeddings.scatter_pan_fps.draw_ms.toFixed(1)} ms/frame; SwiftShader WebGL forced: ${glSwFps.toFixed(1)} fps)`);
}

main().catch((e) => {
  console.error(`embeddings bench failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
