// The CLI twins of the Gates panel and the forecast view:
//   seqlens gates    --model PATH (--text STR | --series CSV | --values 1.5,2,3) [--runtime onnx|tfjs] [--max-steps N] [--window K | --from-step S] [--json]
//   seqlens forecast --model PATH (--series CSV | --values ...) --horizon N [--runtime onnx|tfjs] [--max-steps N] [--window K | --from-step S] [--json]
// A CSV has one column per input feature (a time column is recognised and left out). A series
// longer than --max-steps rows (default 20,000) is read a window at a time: the last rows, or the
// window --window K counts back from the end, or the rows from --from-step; every row is checked.
// The JSON of every step's gates is written as it is made, never held whole.
import * as fs from "node:fs";
import type { EngineClient } from "./client";
import { EngineError } from "../protocol/errors";
import { GatesResult, StepWindow } from "../protocol/gates";
import { DEFAULT_MAX_STEPS, parseSeries, windowNotice, type SeriesWindow, type WindowOptions } from "./series/parseSeries";
import { checkBudget, DEFAULT_MEMORY_BUDGET, formatBytes, parseBytes } from "./limits";

export class CliUsageError extends Error {}

/** Where the CLI writes: a write that returns false has filled its buffer (wait for `drain` before the next). */
export type Out = (s: string) => unknown;

/** The longest file read as text: V8's strings hold up to 2^29 - 24 characters. */
const MAX_TEXT_FILE = 512 * 2 ** 20;

/** The memory budget the user gave (--memory-budget), else the environment's, else the default. */
export function memoryBudgetOf(opts: Map<string, string>): number {
  const given = opts.get("--memory-budget") ?? process.env.SEQLENS_MEMORY_BUDGET;
  if (given === undefined) return DEFAULT_MEMORY_BUDGET;
  const bytes = parseBytes(given);
  if (bytes === undefined) throw new CliUsageError(`--memory-budget must be a size such as 2GB or 512MB (got ${JSON.stringify(given)})`);
  return bytes;
}

/** A whole number flag of at least `min`, or undefined when it is not given. */
function wholeFlag(opts: Map<string, string>, name: string, min: number): number | undefined {
  const v = opts.get(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new CliUsageError(`${name} must be a whole number of at least ${min} (got ${JSON.stringify(v)})`);
  return Number(v);
}

/** --max-steps, --window and --from-step. */
export function windowOptions(opts: Map<string, string>): Required<Pick<WindowOptions, "maxSteps">> & WindowOptions {
  const window = wholeFlag(opts, "--window", 0);
  const fromStep = wholeFlag(opts, "--from-step", 0);
  if (window !== undefined && fromStep !== undefined) throw new CliUsageError("give --window or --from-step, not both");
  return { maxSteps: wholeFlag(opts, "--max-steps", 1) ?? DEFAULT_MAX_STEPS, window, fromStep };
}

/**
 * A text file read whole, after checking its size: a file over 512 MB, or one whose text would take
 * more than the memory budget (its bytes, and as many again while it is decoded), is refused
 * before it is read.
 */
export function readTextFile(file: string, flag: string, budget: number): string {
  const size = fs.statSync(file).size;
  const fix = "give a part of it (tail -n 20000 FILE > part.txt), or raise the memory budget (--memory-budget)";
  if (size > MAX_TEXT_FILE) throw new EngineError("TOO_LARGE", `${flag} ${file} is ${formatBytes(size)}; files are read as text up to ${formatBytes(MAX_TEXT_FILE)}: ${fix.replace(", or raise the memory budget (--memory-budget)", "")}`);
  checkBudget(`reading ${flag} ${file}`, 2 * size, budget, `${formatBytes(size)} of text, twice while it is decoded`, fix);
  return fs.readFileSync(file, "utf8");
}

/** The numbers the user gave (--values or a CSV file) as rows of features: the window read of them, with a notice when it leaves rows out. */
export interface SeriesInput {
  rows: number[][];
  /** The rows read, when the series is longer than --max-steps. */
  window?: StepWindow;
}

/** The CLI's words for a window: `--window K`. */
export function cliWindowNotice(w: SeriesWindow, unit: "rows" | "characters" = "rows"): string {
  return windowNotice(w, { window: (k) => `--window ${k}`, fromStep: (s) => `--from-step ${s}` }, unit);
}

/** The numbers the user gave: --values or a CSV file, as rows of features, the window asked for (the last --max-steps rows by default). */
export function readSeries(opts: Map<string, string>): SeriesInput | undefined {
  const inline = opts.get("--values");
  const file = opts.get("--series");
  if (inline !== undefined && file !== undefined) throw new CliUsageError("give --values or --series, not both");
  if (inline === undefined && file === undefined) return undefined;
  if (file !== undefined && !(fs.existsSync(file) && fs.statSync(file).isFile())) throw new CliUsageError(`--series: no such file ${file}`);
  const text = inline ?? readTextFile(file!, "--series", memoryBudgetOf(opts));
  const parsed = parseSeries(text, { columns: "all", ...windowOptions(opts) });
  if (!parsed.ok) {
    const where = file ?? "--values";
    if (parsed.needsColumn) throw new EngineError("BAD_INPUT", `${where}: ${parsed.message}`);
    throw new EngineError("BAD_INPUT", `${where}: ${parsed.message}${parsed.errors.map((e) => `\n  line ${e.line}: ${JSON.stringify(e.text)}: ${e.reason}`).join("")}${parsed.more ? `\n  and ${parsed.more} more` : ""}`);
  }
  const rows = parsed.features ?? parsed.values.map((v) => [v]);
  return { rows, ...(parsed.window ? { window: { ...parsed.window, unit: "rows" as const, notice: cliWindowNotice(parsed.window) } } : {}) };
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** A writer that gathers small pieces into chunks of about a megabyte and waits for the stream to drain when it asks. */
function chunked(out: Out, stream: NodeJS.WritableStream | undefined): { write(s: string): Promise<void>; end(): Promise<void> } {
  let buf: string[] = [];
  let size = 0;
  const flush = async () => {
    if (size === 0) return;
    const s = buf.join("");
    buf = [];
    size = 0;
    if (out(s) === false && stream) await new Promise<void>((resolve) => stream.once("drain", () => resolve()));
  };
  return {
    async write(s) {
      buf.push(s);
      size += s.length;
      if (size >= 2 ** 20) await flush();
    },
    end: flush,
  };
}

/**
 * Every step's gates of every direction as JSON, written as it is made: one direction's slices at
 * a time, one step at a time (the whole never held as one string or one object).
 */
async function writeGatesJson(client: EngineClient, r: GatesResult, out: Out, stream: NodeJS.WritableStream | undefined): Promise<void> {
  const w = chunked(out, stream);
  const window = r.window ? { from: r.window.from, to: r.window.to, total: r.window.total, ...(r.window.index !== undefined ? { index: r.window.index } : {}), count: r.window.count } : undefined;
  await w.write(`{"model":${JSON.stringify(r.model)},"runtime":${JSON.stringify(r.runtime)},"steps":${r.steps},"labels":${JSON.stringify(r.labels)}${window ? `,"window":${JSON.stringify(window)}` : ""},"layers":[`);
  for (const [i, l] of r.layers.entries()) {
    const slices = new Map<string, Float32Array>();
    for (const n of l.names) slices.set(n, (await client.request("gateSlice", { handle: r.handle, index: l.index, name: n })).data);
    const x = (await client.request("gateSlice", { handle: r.handle, index: l.index, name: "x" })).data;
    const head = { layer: l.layer, direction: l.direction, cell: l.cell, units: l.units, activations: l.activations, check: l.check };
    await w.write(`${i ? "," : ""}${JSON.stringify(head).slice(0, -1)},"steps":[`);
    for (let t = 0; t < r.steps; t++) {
      const step: Record<string, number[]> = { x: Array.from(x.subarray(t * l.inputSize, (t + 1) * l.inputSize), round) };
      for (const [n, d] of slices) step[n] = Array.from(d.subarray(t * l.units, (t + 1) * l.units), round);
      await w.write(`${t ? "," : ""}${JSON.stringify(step)}`);
    }
    await w.write("]}");
  }
  await w.write("]}\n");
  await w.end();
}

function checkLine(r: GatesResult): string[] {
  return r.layers.map(
    (l) =>
      `  layer ${l.layer} ${l.direction.padEnd(7)} ${l.cell.padEnd(10)} ${String(l.units).padStart(4)} units  ${l.names.join(", ")}; ` +
      (l.check.ok ? `h_t equals the runtime's (max diff ${l.check.maxAbsDiff.toExponential(1)})` : `MISMATCH: recomputed h_t differs from the runtime's by ${l.check.maxAbsDiff.toExponential(2)} at step ${l.check.worstStep}: these gates are not the model's`),
  );
}

/**
 * The request's window for what the CLI read: a series already cut to its window goes whole (its
 * rows are the window); text goes with the window options, for the engine to cut.
 */
function engineWindow(opts: Map<string, string>, series: SeriesInput | undefined): WindowOptions {
  const w = windowOptions(opts);
  return series ? { maxSteps: Math.max(1, series.rows.length) } : w;
}

export async function gatesCommand(client: EngineClient, opts: Map<string, string>, out: Out, err: Out = (s) => process.stderr.write(s), stream: NodeJS.WritableStream | undefined = process.stdout): Promise<number> {
  const model = opts.get("--model")!;
  const series = readSeries(opts);
  const text = opts.get("--text");
  if (series === undefined && text === undefined) throw new CliUsageError("gates needs --text, --series or --values");
  const runtime = opts.get("--runtime") as "onnx" | "tfjs" | undefined;
  const r = await client.request("gates", { model, ...(series ? { values: series.rows } : { text }), runtime, ...engineWindow(opts, series) });
  const window = series?.window ?? (r.window && { ...r.window, notice: cliWindowNotice(r.window, r.window.unit) });
  if (window) err(`seqlens: notice: read ${window.notice}\n`);
  if (opts.has("--json")) await writeGatesJson(client, series?.window ? { ...r, window: series.window } : r, out, stream);
  else {
    out(`${r.name} (${r.runtime}): ${r.steps} steps, ${r.ms.run.toFixed(1)} ms\n`);
    out(checkLine(r).join("\n") + "\n");
  }
  return r.layers.every((l) => l.check.ok) ? 0 : 1;
}

export async function forecastCommand(client: EngineClient, opts: Map<string, string>, out: Out, err: Out = (s) => process.stderr.write(s)): Promise<number> {
  const model = opts.get("--model")!;
  const series = readSeries(opts);
  if (!series) throw new CliUsageError("forecast needs --series or --values");
  const h = opts.get("--horizon");
  const horizon = h === undefined ? 12 : Number(h);
  if (!Number.isInteger(horizon) || horizon < 0) throw new CliUsageError(`--horizon must be a whole number (got ${JSON.stringify(h)})`);
  const runtime = opts.get("--runtime") as "onnx" | "tfjs" | undefined;
  if (series.window) err(`seqlens: notice: read ${series.window.notice}\n`);
  const r = await client.request("forecast", { model, values: series.rows, horizon, runtime, maxSteps: Math.max(1, series.rows.length) });
  const m = r.metrics;
  if (opts.has("--json")) {
    out(JSON.stringify({ model: r.model, series: r.series, oneStep: r.oneStep.map((v) => (v === null ? null : round(v))), residuals: r.residuals.map((v) => (v === null ? null : round(v))), multiStep: r.multiStep.map(round), metrics: m }) + "\n");
  } else {
    out(`one-step forecasts on ${m.rows} rows: MAE ${m.mae.toFixed(4)}, RMSE ${m.rmse.toFixed(4)}\n`);
    out(`  last value:      MAE ${m.lastValue.mae.toFixed(4)}, RMSE ${m.lastValue.rmse.toFixed(4)}\n`);
    if (m.seasonalNaive) out(`  seasonal naive (${m.seasonalNaive.season}): MAE ${m.seasonalNaive.mae.toFixed(4)}, RMSE ${m.seasonalNaive.rmse.toFixed(4)}\n`);
    out(`next ${horizon}: ${r.multiStep.map((v) => v.toFixed(3)).join(", ")}\n`);
  }
  return 0;
}
