// The CLI twins of the Gates panel and the forecast view:
//   seqlens gates    --model PATH (--text STR | --series CSV | --values 1.5,2,3) [--runtime onnx|tfjs] [--json]
//   seqlens forecast --model PATH (--series CSV | --values ...) --horizon N [--runtime onnx|tfjs] [--json]
// A CSV has one column per input feature (a time column is recognised and left out).
import * as fs from "node:fs";
import type { EngineClient } from "./client";
import { EngineError } from "../protocol/errors";
import { GatesResult } from "../protocol/gates";
import { parseSeries } from "./series/parseSeries";

export class CliUsageError extends Error {}

/** The numbers the user gave: --values or a CSV file, as rows of features. */
export function readSeries(opts: Map<string, string>): number[][] | undefined {
  const inline = opts.get("--values");
  const file = opts.get("--series");
  if (inline !== undefined && file !== undefined) throw new CliUsageError("give --values or --series, not both");
  if (inline === undefined && file === undefined) return undefined;
  const text = inline ?? (fs.existsSync(file!) ? fs.readFileSync(file!, "utf8") : undefined);
  if (text === undefined) throw new CliUsageError(`--series: no such file ${file}`);
  const parsed = parseSeries(text, { columns: "all" });
  if (!parsed.ok) {
    const where = file ?? "--values";
    if (parsed.needsColumn) throw new EngineError("BAD_INPUT", `${where}: ${parsed.message}`);
    throw new EngineError("BAD_INPUT", `${where}: ${parsed.message}\n${parsed.errors.map((e) => `  line ${e.line}: ${JSON.stringify(e.text)}: ${e.reason}`).join("\n")}${parsed.more ? `\n  and ${parsed.more} more` : ""}`);
  }
  return parsed.features ?? parsed.values.map((v) => [v]);
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** Every step's gates of every direction, as the JSON the issue names. */
async function gatesJson(client: EngineClient, r: GatesResult): Promise<unknown> {
  const layers = [];
  for (const l of r.layers) {
    const slices = new Map<string, Float32Array>();
    for (const n of l.names) slices.set(n, (await client.request("gateSlice", { handle: r.handle, index: l.index, name: n })).data);
    const x = (await client.request("gateSlice", { handle: r.handle, index: l.index, name: "x" })).data;
    const steps = Array.from({ length: r.steps }, (_, t) => {
      const step: Record<string, number[]> = { x: Array.from(x.subarray(t * l.inputSize, (t + 1) * l.inputSize), round) };
      for (const [n, d] of slices) step[n] = Array.from(d.subarray(t * l.units, (t + 1) * l.units), round);
      return step;
    });
    layers.push({ layer: l.layer, direction: l.direction, cell: l.cell, units: l.units, activations: l.activations, check: l.check, steps });
  }
  return { model: r.model, runtime: r.runtime, steps: r.steps, labels: r.labels, layers };
}

function checkLine(r: GatesResult): string[] {
  return r.layers.map(
    (l) =>
      `  layer ${l.layer} ${l.direction.padEnd(7)} ${l.cell.padEnd(10)} ${String(l.units).padStart(4)} units  ${l.names.join(", ")}; ` +
      (l.check.ok ? `h_t equals the runtime's (max diff ${l.check.maxAbsDiff.toExponential(1)})` : `MISMATCH: recomputed h_t differs from the runtime's by ${l.check.maxAbsDiff.toExponential(2)} at step ${l.check.worstStep}: these gates are not the model's`),
  );
}

export async function gatesCommand(client: EngineClient, opts: Map<string, string>, out: (s: string) => void): Promise<number> {
  const model = opts.get("--model")!;
  const values = readSeries(opts);
  const text = opts.get("--text");
  if (values === undefined && text === undefined) throw new CliUsageError("gates needs --text, --series or --values");
  const runtime = opts.get("--runtime") as "onnx" | "tfjs" | undefined;
  const r = await client.request("gates", { model, ...(values ? { values } : { text }), runtime });
  if (opts.has("--json")) out(JSON.stringify(await gatesJson(client, r)) + "\n");
  else {
    out(`${r.name} (${r.runtime}): ${r.steps} steps, ${r.ms.run.toFixed(1)} ms\n`);
    out(checkLine(r).join("\n") + "\n");
  }
  return r.layers.every((l) => l.check.ok) ? 0 : 1;
}

export async function forecastCommand(client: EngineClient, opts: Map<string, string>, out: (s: string) => void): Promise<number> {
  const model = opts.get("--model")!;
  const values = readSeries(opts);
  if (!values) throw new CliUsageError("forecast needs --series or --values");
  const h = opts.get("--horizon");
  const horizon = h === undefined ? 12 : Number(h);
  if (!Number.isInteger(horizon) || horizon < 0) throw new CliUsageError(`--horizon must be a whole number (got ${JSON.stringify(h)})`);
  const runtime = opts.get("--runtime") as "onnx" | "tfjs" | undefined;
  const r = await client.request("forecast", { model, values, horizon, runtime });
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
