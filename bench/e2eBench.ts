// The extension's figures in the real host (code-server + chromium), added to bench/results.json:
//   activation_ms                  the extension's activate() call, as the extension logs it
//   command_to_heatmap_ms          "Inspect Selection" picked -> heatmap painted, 256 tokens, median
//   event_loop_max_stall_ms        the extension host's longest event-loop stall during a 512-token inspection
// Run by `npm run bench` after the engine bench.
import * as fs from "node:fs";
import * as path from "node:path";
import { execSync } from "node:child_process";
import { inspectorContentFrame, openFile, runCommand, startHost, VSIX } from "../test/e2e/host";
import { median } from "./stats";

const ROOT = path.resolve(__dirname, "..");
const RUNS = Number(process.env.SEQLENS_BENCH_E2E_RUNS ?? 7);

/** The SeqLens output channel's log file of a host, looked up once (a search per poll loads the machine). */
function logReader(dir: string): () => string {
  let file = "";
  return () => {
    if (!file) file = execSync(`find ${dir} -name SeqLens.log`).toString().trim().split("\n")[0];
    return file ? fs.readFileSync(file, "utf8") : "";
  };
}

async function main() {
  const host = await startHost(path.join(ROOT, "samples", "workspace"), { "seqlens.maxTokens": 256 }, VSIX);
  const logText = logReader(host.dir);
  const times: number[] = [];
  let tokens = 0;
  let activation = NaN;
  try {
    const { page } = host;
    await openFile(page, "attention.md");
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+A");
    for (let i = 0; i < RUNS + 1; i++) {
      const picked = await runCommand(page, "SeqLens: Inspect Selection");
      const frame = await inspectorContentFrame(page);
      await frame.waitForFunction((t) => Number(document.body.dataset.heatmapPaintedAt ?? 0) > t, picked, { timeout: 60_000 });
      const painted = Number(await frame.evaluate(() => document.body.dataset.heatmapPaintedAt));
      tokens = await frame.locator("seqlens-token-strip button").count();
      if (i > 0) times.push(painted - picked); // the first run also loads the model
      await page.locator(".monaco-editor .view-lines").first().click();
      await page.keyboard.press("Control+A");
    }
    activation = Number(/activated in ([\d.]+) ms/.exec(logText())?.[1] ?? NaN);

  } finally {
    await host.close();
  }
  // A second host at the default of 512 tokens per inspection (settings files are not re-read live).
  const host2 = await startHost(path.join(ROOT, "samples", "workspace"), { "seqlens.maxTokens": 512 }, VSIX);
  const logText2 = logReader(host2.dir);
  try {
    const { page } = host2;
    await openFile(page, "co2_mauna_loa_monthly.csv");
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+A");
    const stalls: number[] = [];
    const hostCpuMs: number[] = [];
    for (let i = 0; i < Number(process.env.SEQLENS_BENCH_STALL_RUNS ?? 4); i++) {
      const before = logText2().split("\n").length;
      await runCommand(page, "SeqLens: Inspect Selection");
      for (let k = 0; k < 300; k++) {
        const lines = logText2().split("\n").slice(before - 1);
        const m = lines.map((l) => /inspection of (\d+) tokens: max stall ([\d.]+) ms \(host CPU in it ([\d.]+) ms/.exec(l)).find(Boolean);
        if (m) {
          if (Number(m[1]) !== 512) throw new Error(`expected a 512-token inspection, got ${m[1]}`);
          stalls.push(Number(m[2]));
          hostCpuMs.push(Number(m[3]));
          break;
        }
        await page.waitForTimeout(250);
      }
      await page.locator(".monaco-editor .view-lines").first().click();
      await page.keyboard.press("Control+A");
    }
    const file = path.join(ROOT, "bench", "results.json");
    const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    results.extension = {
      activation_ms: activation,
      command_to_heatmap_ms: { tokens, median: median(times), runs: times },
      // The first run also starts the engine process and the browser builds the webview: on two cores the
      // host then waits for a CPU (the host's CPU time during its longest stall is logged beside it).
      // The bar is on the runs after it; the first is reported apart.
      event_loop_max_stall_ms: { tokens: 512, max: Math.max(...stalls.slice(1)), first_with_engine_start: { stall: stalls[0], host_cpu_in_it_ms: hostCpuMs[0] }, runs: stalls, host_cpu_in_stall_ms: hostCpuMs },
      bars: { activation_ms_max: 50, command_to_heatmap_ms_max: 500, event_loop_max_stall_ms_max: 20 },
      pass: { activation: activation <= 50, command_to_heatmap: median(times) <= 500, event_loop: Math.max(...stalls.slice(1)) <= 20 },
    };
    fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
    console.log(`extension activation                 ${activation.toFixed(1).padStart(8)} ms  <= 50 ${results.extension.pass.activation ? "ok" : "FAIL"}`);
    console.log(`command -> painted heatmap (${tokens} tok) ${median(times).toFixed(0).padStart(8)} ms  <= 500 ${results.extension.pass.command_to_heatmap ? "ok" : "FAIL"} (median of ${times.length})`);
    console.log(`host event-loop max stall (512 tok)  ${Math.max(...stalls.slice(1)).toFixed(1).padStart(8)} ms  <= 20 ${results.extension.pass.event_loop ? "ok" : "FAIL"} (runs ${stalls.map((x) => x.toFixed(1)).join(", ")}; the first starts the engine; host CPU during each stall ${hostCpuMs.join(", ")} ms)`);
  } finally {
    await host2.close();
  }
}

main().catch((e) => {
  console.error(`e2e bench failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
