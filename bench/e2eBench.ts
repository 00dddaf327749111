// The extension's figures in the real host (code-server + chromium), added to bench/results.json:
//   activation_ms                  the extension's activate() call, as the extension logs it
//   command_to_heatmap_ms          "Inspect Selection" picked -> heatmap painted, 256 tokens, median
//   event_loop_max_stall_ms        the extension host's longest event-loop stall during a 512-token inspection
//   completion                     inline completions while typing at the end of a file: the provider's
//                                  time from the end of its debounce to a line suggestion, and the tokens
//                                  per second of block suggestions (up to 64 tokens)
// Run by `npm run bench` after the engine bench (SEQLENS_BENCH_E2E_ONLY=completion: the completion loop alone).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inspectorContentFrame, openFile, runCommand, seqLensLog, startHost, VSIX } from "../test/e2e/host";
import { median } from "./stats";

const ROOT = path.resolve(__dirname, "..");
const RUNS = Number(process.env.SEQLENS_BENCH_E2E_RUNS ?? 7);

async function main() {
  if (process.env.SEQLENS_BENCH_E2E_ONLY === "completion") return completionBench();
  const host = await startHost(path.join(ROOT, "samples", "workspace"), { "seqlens.maxTokens": 256 }, VSIX);
  const logText = seqLensLog(host.dir);
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
  const logText2 = seqLensLog(host2.dir);
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
  await completionBench();
}

interface LoopFigures {
  runs: number;
  prompt_tokens: number;
  after_debounce_ms: { median: number; runs: number[] };
  after_edit_ms: number;
  debounce_ms: number;
  generated_tokens: number;
  /** Tokens generated over the time from the end of the debounce to the suggestion (the prompt included). */
  tokens_per_s: number;
  /** Tokens after the first over the time after the prompt (the engine's figures). */
  decode_tokens_per_s: number;
}

/**
 * A host typing a comment line at the end of a file of held-out text, again and again; each time
 * the provider's own log line gives the time from the end of its debounce to the suggestion it
 * returned, the time from the edit, and the engine's figures.
 */
async function completionLoop(settings: Record<string, unknown>): Promise<LoopFigures> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-bench-completion-"));
  const text = fs.readFileSync(path.join(ROOT, "samples", "data", "ts-lib", "heldout.txt"), "utf8").slice(0, 1600);
  fs.writeFileSync(path.join(ws, "lib.ts"), text.slice(0, text.lastIndexOf("\n") + 1));
  const host = await startHost(ws, { "seqlens.completion.debounceMs": 40, ...settings }, VSIX);
  const logText = seqLensLog(host.dir);
  const lines = () => logText().split("\n").filter((l) => l.includes("] completion: "));
  try {
    const { page } = host;
    await openFile(page, "lib.ts");
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
    for (let i = 0; i < 300 && !/activated in/.test(logText()); i++) await page.waitForTimeout(200);
    await page.keyboard.type(" ");
    await page.keyboard.press("Backspace");
    for (let i = 0; i < 300 && !/loaded /.test(logText()); i++) await page.waitForTimeout(200);
    const words = ["Returns", "Gets", "Sets", "Creates", "Calls", "Adds", "Removes", "Determines", "Sorts", "Combines", "Performs", "Reverses", "Appends", "Inserts", "Finds", "Tests"];
    for (let i = 0; i < RUNS * 2; i++) {
      const before = lines().length;
      await page.keyboard.press("Enter");
      await page.keyboard.type(`// ${words[i % words.length]} the`);
      for (let k = 0; k < 100 && lines().length === before; k++) await page.waitForTimeout(100);
      await page.keyboard.press("Escape");
    }
    const runs = lines()
      .map((l) => /completion: (\d+) tokens, \d+ characters \(stopped by (\w+)\) ([\d.]+) ms after a (\d+) ms debounce, ([\d.]+) ms after the edit; prompt (\d+) tokens in ([\d.]+) ms, ([\d.]+) ms per token/.exec(l))
      .filter((m): m is RegExpExecArray => !!m);
    if (runs.length < 3) throw new Error(`only ${runs.length} completions were logged`);
    const request = runs.map((m) => Number(m[3]));
    return {
      runs: runs.length,
      prompt_tokens: median(runs.map((m) => Number(m[6]))),
      after_debounce_ms: { median: median(request), runs: request },
      after_edit_ms: median(runs.map((m) => Number(m[5]))),
      debounce_ms: median(runs.map((m) => Number(m[4]))),
      generated_tokens: median(runs.map((m) => Number(m[1]))),
      tokens_per_s: median(runs.map((m) => Number(m[1]) / (Number(m[3]) / 1000))),
      decode_tokens_per_s: median(runs.map((m) => 1000 / Number(m[8]))),
    };
  } finally {
    await host.close();
  }
}

/** The completion figures: line completions (the default) for the latency, block completions of up to 64 tokens for the speed. */
async function completionBench(): Promise<void> {
  const line = await completionLoop({});
  const block = await completionLoop({ "seqlens.completion.stopAt": "block", "seqlens.completion.maxTokens": 64, "seqlens.completion.maxMs": 2000 });
  const file = path.join(ROOT, "bench", "results.json");
  const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  results.completion = {
    line,
    block,
    bars: { line_after_debounce_ms_max: 80, block_tokens_per_s_min: 300 },
    pass: { after_debounce: line.after_debounce_ms.median <= 80, tokens_per_s: block.tokens_per_s >= 300 },
  };
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  const p = results.completion.pass;
  console.log(`completion (line): debounce -> suggestion ${line.after_debounce_ms.median.toFixed(1).padStart(7)} ms  <= 80 ${p.after_debounce ? "ok" : "FAIL"} (median of ${line.runs}; ${line.after_edit_ms.toFixed(0)} ms after the edit with a ${line.debounce_ms} ms debounce; prompt ${line.prompt_tokens} tokens; ${line.generated_tokens} tokens a suggestion)`);
  console.log(`completion (block): tokens per second   ${block.tokens_per_s.toFixed(0).padStart(7)}     >= 300 ${p.tokens_per_s ? "ok" : "FAIL"} (the prompt included; ${block.generated_tokens} tokens a suggestion in ${block.after_debounce_ms.median.toFixed(0)} ms; ${block.decode_tokens_per_s.toFixed(0)} tokens/s after the prompt)`);
}

main().catch((e) => {
  console.error(`e2e bench failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
