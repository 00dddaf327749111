// Bounded memory and time for any input, added to bench/results.json and printed as JSON:
//   gates     `seqlens gates --model co2-lstm --series FILE` on 10^4, 10^5, 10^6 and 2*10^6 rows
//             (the Mauna Loa CO2 record repeated end to end, its trend carried on), plain and with
//             --json (every step's gates written out): wall time, the engine's peak RSS and the
//             CLI's, median of SEQLENS_BENCH_RUNS runs (default 3)
//   inspect   `seqlens inspect --model tiny-gpt --file FILE` on 1 KB, 100 KB, 1 MB and 10 MB of
//             text, one line (base64) and many lines (TypeScript source), the same figures
//   crashes   through the extension's engine client: an engine killed (SIGKILL) during an
//             inspection and a gates run (time until the request fails with PROCESS_DIED, then
//             until a new engine answers), stopped (SIGSTOP) during a run (time until the hang
//             watch fails it: its bar is the watch's 10 s plus 2 s), and gates runs on 20,000 steps
//             cancelled (ONNX 100 ms in, TF.js 1 s in: time until the request settles, bar 2 s, and
//             the same engine answers after: no restart)
// Peak RSS is each process's VmHWM, read from /proc every 20 ms while it runs (the engine is the
// CLI's child). Bars: the engine's peak flat once the series is past the 20,000 steps read at
// once (at 10^6 and 2*10^6 rows within 64 MiB of its peak at 10^5) and under the memory budget;
// time at most linear (2*10^6 rows under 2.5 times 10^6's); no process killed, every run exit 0.
// Run by `npm run bench`; `tsx bench/reliabilityBench.ts --crashes` prints the crash figures alone.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { DEFAULT_MEMORY_BUDGET } from "../engine/limits";
import { median } from "./stats";
import { EngineClient, ENGINE_WATCH } from "../engine/client";
import { EngineError } from "../protocol/errors";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "seqlens.js");
const RUNS = Number(process.env.SEQLENS_BENCH_RUNS ?? 3);
const MiB = 2 ** 20;

interface Run {
  wallMs: number;
  enginePeak: number;
  cliPeak: number;
  code: number | null;
  signal: string | null;
  stderr: string;
}

function peakOf(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined; // gone
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Runs the CLI with `args`, its stdout to a file, watching its peak RSS and its engine's. */
function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(path.join(os.tmpdir(), `seqlens-bench-out-${process.pid}.json`), "w");
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args, "--ep", "cpu"], { stdio: ["ignore", out, "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d) => (stderr += d));
    let cliPeak = 0;
    let enginePeak = 0;
    const engines = new Set<number>();
    const watch = setInterval(() => {
      cliPeak = Math.max(cliPeak, peakOf(child.pid!) ?? 0);
      for (const c of childrenOf(child.pid!)) engines.add(c);
      for (const e of engines) enginePeak = Math.max(enginePeak, peakOf(e) ?? 0);
    }, 20);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearInterval(watch);
      fs.closeSync(out);
      resolve({ wallMs: performance.now() - t0, enginePeak, cliPeak, code, signal, stderr });
    });
  });
}

/** The CO2 record repeated to `n` rows, its trend carried across each seam, as a CSV in the temp folder. */
function seriesFile(n: number): string {
  const file = path.join(os.tmpdir(), `seqlens-bench-co2-${n}.csv`);
  if (fs.existsSync(file)) return file;
  const rows = fs.readFileSync(path.join(ROOT, "samples", "data", "timeseries", "co2_mauna_loa_monthly.csv"), "utf8").trim().split("\n").slice(1);
  const co2 = rows.map((r) => Number(r.split(",")[1]));
  const rise = co2[co2.length - 1] - co2[0] + (co2[co2.length - 1] - co2[co2.length - 13]);
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, "month,ppm\n");
  for (let i = 0; i < n; i += 100_000) {
    const part: string[] = [];
    for (let k = i; k < Math.min(n, i + 100_000); k++) part.push(`${k},${(co2[k % co2.length] + Math.floor(k / co2.length) * rise).toFixed(3)}\n`);
    fs.writeSync(fd, part.join(""));
  }
  fs.closeSync(fd);
  return file;
}

/** `bytes` of text in a temp file: one base64 line, or TypeScript source repeated (many lines). */
function textFile(bytes: number, shape: "one line" | "many lines"): string {
  const file = path.join(os.tmpdir(), `seqlens-bench-text-${shape.replace(" ", "-")}-${bytes}.txt`);
  if (fs.existsSync(file)) return file;
  let text: string;
  if (shape === "one line") {
    const raw = Buffer.alloc(Math.ceil((bytes * 3) / 4));
    let x = 12345;
    for (let i = 0; i < raw.length; i++) raw[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    text = raw.toString("base64").slice(0, bytes);
  } else {
    const source = fs.readFileSync(path.join(ROOT, "samples", "data", "ts-lib", "heldout.txt"), "utf8").replace(/[^\x00-\x7f]/g, " ");
    text = source.repeat(Math.ceil(bytes / source.length)).slice(0, bytes);
  }
  fs.writeFileSync(file, text);
  return file;
}

interface Figures {
  wall_ms: number;
  engine_peak_mib: number;
  cli_peak_mib: number;
  runs: { wall_ms: number; engine_peak_mib: number; cli_peak_mib: number }[];
  ok: boolean;
}

async function measure(what: string, args: string[]): Promise<Figures> {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runCli(args);
    runs.push(r);
    if (r.code !== 0 || r.signal) process.stderr.write(`${what}: exit ${r.code} ${r.signal ?? ""}\n${r.stderr}\n`);
  }
  const f: Figures = {
    wall_ms: median(runs.map((r) => r.wallMs)),
    engine_peak_mib: median(runs.map((r) => r.enginePeak / MiB)),
    cli_peak_mib: median(runs.map((r) => r.cliPeak / MiB)),
    runs: runs.map((r) => ({ wall_ms: Math.round(r.wallMs), engine_peak_mib: Math.round(r.enginePeak / MiB), cli_peak_mib: Math.round(r.cliPeak / MiB) })),
    ok: runs.every((r) => r.code === 0 && !r.signal),
  };
  process.stderr.write(`${what.padEnd(34)} ${f.wall_ms.toFixed(0).padStart(7)} ms   engine peak ${f.engine_peak_mib.toFixed(0).padStart(5)} MiB   CLI peak ${f.cli_peak_mib.toFixed(0).padStart(5)} MiB${f.ok ? "" : "   FAILED"}\n`);
  return f;
}

/** ms from `t0` until `p` rejects with `code` (throws if it resolves or fails otherwise). */
async function failsWith(p: Promise<unknown>, code: string, t0: () => number): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError && e.code === code) return performance.now() - t0();
    throw e;
  }
  throw new Error(`expected ${code}, the request succeeded`);
}

/**
 * Starts `request` and does `act` to it once it runs: at its first progress message, or after
 * `afterMs` when it sends none by then (an inspection of a loaded model sends none); the time of
 * the act.
 */
function actDuring<T>(request: (onProgress: () => void) => Promise<T>, act: () => void, afterMs: number): { done: Promise<T>; actedAt: () => number } {
  let at = 0;
  const once = () => {
    if (at) return;
    at = performance.now();
    act();
  };
  const timer = setTimeout(once, afterMs);
  const done = request(once).finally(() => clearTimeout(timer));
  return { done, actedAt: () => at };
}

/** Crash, hang and cancel figures through the engine client (see the header). */
async function crashes(tiny: string, co2: string): Promise<Record<string, unknown>> {
  const text = fs.readFileSync(path.join(ROOT, "samples", "data", "ts-lib", "heldout.txt"), "utf8").slice(0, 6000);
  const series = Array.from({ length: 20_000 }, (_, i) => [320 + Math.sin(i / 6) + i / 1000]);
  const runs: Record<string, number>[] = [];
  const c = new EngineClient({ enginePath: path.join(ROOT, "dist", "engine.js"), providers: "cpu" });
  const requests = {
    inspect: (onProgress: () => void) => c.request("inspect", { model: tiny, text, maxTokens: 512 }, { onProgress }),
    gates: (onProgress: () => void, signal?: AbortSignal) => c.request("gates", { model: co2, values: series, runtime: "onnx" }, { onProgress, signal }),
    tfjsGates: (onProgress: () => void, signal?: AbortSignal) => c.request("gates", { model: co2, values: series, runtime: "tfjs" }, { onProgress, signal }),
  };
  try {
    // loaded once before the figures
    await requests.inspect(() => {});
    await requests.gates(() => {});
    await c.request("gates", { model: co2, values: series.slice(0, 50), runtime: "tfjs" });
    for (let i = 0; i < RUNS; i++) {
      const r: Record<string, number> = {};
      for (const name of ["inspect", "gates"] as const) {
        const { pid } = await c.request("ping", {});
        const k = actDuring<unknown>(requests[name], () => process.kill(pid, "SIGKILL"), 30);
        r[`kill_during_${name}_to_failure_ms`] = await failsWith(k.done, "PROCESS_DIED", k.actedAt);
        const t = performance.now();
        await c.request("ping", {});
        r[`restart_after_${name}_kill_ms`] = performance.now() - t;
      }
      // a stopped engine: found by its missing heartbeat
      const { pid } = await c.request("ping", {});
      const s = actDuring(requests.gates, () => process.kill(pid, "SIGSTOP"), 100);
      r.sigstop_to_failure_ms = await failsWith(s.done, "PROCESS_DIED", s.actedAt);
      // cancelled runs on 20,000 steps: ONNX gates 100 ms in, TF.js gates 1 s in (its layers run in chunks of steps); no restart after
      for (const name of ["gates", "tfjsGates"] as const) {
        const before = (await c.request("ping", {})).pid;
        const ac = new AbortController();
        const x = actDuring((onProgress) => requests[name](onProgress, ac.signal), () => ac.abort(), name === "gates" ? 100 : 1000);
        r[`cancel_${name === "gates" ? "onnx" : "tfjs"}_gates_to_settled_ms`] = await failsWith(x.done, "CANCELLED", x.actedAt);
        if ((await c.request("ping", {})).pid !== before) throw new Error(`a cancelled ${name} run restarted the engine`);
      }
      runs.push(r);
      process.stderr.write(`crashes run ${i + 1}: ${Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}\n`);
    }
  } finally {
    c.dispose();
  }
  const med = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, Math.round(median(runs.map((r) => r[k])))]));
  return { medians_ms: med, runs, hang_watch_ms: ENGINE_WATCH.hangMs };
}

async function main() {
  const co2 = path.join(ROOT, "samples", "models", "co2-lstm");
  const tiny = path.join(ROOT, "samples", "models", "tiny-gpt");
  if (process.argv.includes("--crashes")) {
    // the crash figures alone, printed and not saved
    process.stdout.write(JSON.stringify(await crashes(tiny, co2), null, 2) + "\n");
    return;
  }
  const gates: Record<string, { rows: number; plain: Figures; json: Figures }> = {};
  for (const n of [10_000, 100_000, 1_000_000, 2_000_000]) {
    const file = seriesFile(n);
    const plain = await measure(`gates ${n.toLocaleString("en-US")} rows`, ["gates", "--model", co2, "--series", file]);
    const json = await measure(`gates ${n.toLocaleString("en-US")} rows --json`, ["gates", "--model", co2, "--series", file, "--json"]);
    gates[String(n)] = { rows: n, plain, json };
  }
  const inspect: Record<string, { bytes: number; shape: string; figures: Figures }> = {};
  for (const shape of ["one line", "many lines"] as const) {
    for (const [name, bytes] of [["1KB", 1024], ["100KB", 100 * 1024], ["1MB", MiB], ["10MB", 10 * MiB]] as const) {
      const figures = await measure(`inspect ${name} ${shape}`, ["inspect", "--model", tiny, "--file", textFile(bytes, shape)]);
      inspect[`${name} ${shape}`] = { bytes, shape, figures };
    }
  }

  const crash = await crashes(tiny, co2);
  const crashMs = crash.medians_ms as Record<string, number>;

  const budgetMiB = DEFAULT_MEMORY_BUDGET / MiB;
  const g = (n: number, mode: "plain" | "json") => gates[String(n)][mode];
  const flat = (mode: "plain" | "json") => [1_000_000, 2_000_000].every((n) => g(n, mode).engine_peak_mib - g(100_000, mode).engine_peak_mib <= 64);
  const linear = (mode: "plain" | "json") => g(2_000_000, mode).wall_ms <= 2.5 * g(1_000_000, mode).wall_ms;
  const all = [...Object.values(gates).flatMap((x) => [x.plain, x.json]), ...Object.values(inspect).map((x) => x.figures)];
  const pass = {
    gates_engine_peak_flat: flat("plain") && flat("json"),
    under_budget: all.every((f) => f.engine_peak_mib <= budgetMiB && f.cli_peak_mib <= budgetMiB),
    gates_time_at_most_linear: linear("plain") && linear("json"),
    inspect_engine_peak_flat: ["one line", "many lines"].every((s) => inspect[`10MB ${s}`].figures.engine_peak_mib - inspect[`1MB ${s}`].figures.engine_peak_mib <= 64),
    nothing_killed: all.every((f) => f.ok),
    hang_found_within_watch_plus_2s: crashMs.sigstop_to_failure_ms <= ENGINE_WATCH.hangMs + 2000,
    kill_reported_within_1s: crashMs.kill_during_inspect_to_failure_ms <= 1000 && crashMs.kill_during_gates_to_failure_ms <= 1000,
    cancel_settled_within_2s: crashMs.cancel_onnx_gates_to_settled_ms <= 2000 && crashMs.cancel_tfjs_gates_to_settled_ms <= 2000,
  };
  const reliability = {
    date: new Date().toISOString(),
    runs: RUNS,
    memory_budget_mib: budgetMiB,
    max_steps: 20_000,
    gates,
    inspect,
    crashes: crash,
    bars: { engine_peak_growth_past_cap_mib_max: 64, peak_mib_max: budgetMiB, time_2m_over_1m_max: 2.5 },
    pass,
  };
  const file = path.join(ROOT, "bench", "results.json");
  const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  results.reliability = reliability;
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  process.stdout.write(JSON.stringify(reliability, null, 2) + "\n");
  if (!Object.values(pass).every(Boolean)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`reliability bench failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
