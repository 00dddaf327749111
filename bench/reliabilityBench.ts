// Bounded memory and time for any input, added to bench/results.json and printed as JSON:
//   gates     `seqlens gates --model co2-lstm --series FILE` on 10^4, 10^5, 10^6 and 2*10^6 rows
//             (the Mauna Loa CO2 record repeated end to end, its trend carried on), plain and with
//             --json (every step's gates written out): wall time, the engine's peak RSS and the
//             CLI's, median of SEQLENS_BENCH_RUNS runs (default 3)
//   inspect   `seqlens inspect --model tiny-gpt --file FILE` on 1 KB, 100 KB, 1 MB and 10 MB of
//             text, one line (base64) and many lines (TypeScript source), the same figures
// Peak RSS is each process's VmHWM, read from /proc every 20 ms while it runs (the engine is the
// CLI's child). Bars: the engine's peak flat once the series is past the 20,000 steps read at
// once (at 10^6 and 2*10^6 rows within 64 MiB of its peak at 10^5) and under the memory budget;
// time at most linear (2*10^6 rows under 2.5 times 10^6's); no process killed, every run exit 0.
// Run by `npm run bench`.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { DEFAULT_MEMORY_BUDGET } from "../engine/limits";
import { median } from "./stats";

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

async function main() {
  const co2 = path.join(ROOT, "samples", "models", "co2-lstm");
  const tiny = path.join(ROOT, "samples", "models", "tiny-gpt");
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
  };
  const reliability = {
    date: new Date().toISOString(),
    runs: RUNS,
    memory_budget_mib: budgetMiB,
    max_steps: 20_000,
    gates,
    inspect,
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
