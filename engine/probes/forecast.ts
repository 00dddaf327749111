// Forecasts of a recurrent series model: one step ahead at every row it can reach, autoregressive
// steps after the last row, residuals, and the errors beside the two baselines every forecaster has
// to beat (last value, and the value one season earlier), on the same rows. The one-step forecasts
// run in batches of windows, with a look at the request's signal between batches and between the
// autoregressive steps (checkpoint.ts).
import { EngineError } from "../../protocol/errors";
import type { RecurrentModel } from "../models/recurrent";
import { checkpoint } from "./gates/checkpoint";

/** Model steps a batch of forecast windows holds (ONNX Runtime; TensorFlow.js, slower per step, a quarter): about 0.1 s of work each. */
const BATCH_STEPS = 16_384;

export interface ForecastCore {
  oneStep: (number | null)[];
  residuals: (number | null)[];
  multiStep: number[];
  metrics: { rows: number; mae: number; rmse: number; lastValue: { mae: number; rmse: number }; seasonalNaive?: { season: number; mae: number; rmse: number } };
}

/** The model's output (normalised) back in the series' units, given the last observed value. */
function denormalise(model: RecurrentModel, out: number, last: number): number {
  const n = model.config?.normalisation;
  if (!n) return out;
  return n.kind === "zscore" ? out * n.std + n.mean : last + out * n.std + n.mean;
}

/**
 * Forecasts for rows `targets`, each from the `context` model steps before it (a model that reads
 * differences needs one row more than it has steps), batched in one run.
 */
async function forecastRows(model: RecurrentModel, rows: number[][], targets: number[], context: number): Promise<number[]> {
  const extra = model.config?.normalisation?.kind === "diff-zscore" ? 1 : 0;
  const per = Math.max(1, Math.floor((model.runtime === "tfjs" ? BATCH_STEPS / 4 : BATCH_STEPS) / Math.max(1, context + extra)));
  const out: number[] = [];
  for (let b = 0; b < targets.length; b += per) {
    const batch = targets.slice(b, b + per);
    const windows = batch.map((t) => model.encode({ values: rows.slice(Math.max(0, t - context - extra), t) }).values);
    const { data, width } = await model.predictWindows(windows);
    batch.forEach((t, i) => out.push(denormalise(model, data[i * width], rows[t - 1][0])));
    await checkpoint();
  }
  return out;
}

function errors(pairs: [number, number][]): { mae: number; rmse: number } {
  let a = 0;
  let s = 0;
  for (const [p, y] of pairs) {
    a += Math.abs(p - y);
    s += (p - y) ** 2;
  }
  return { mae: a / pairs.length, rmse: Math.sqrt(s / pairs.length) };
}

export async function forecast(model: RecurrentModel, rows: number[][], opts: { horizon?: number; season?: number } = {}): Promise<ForecastCore> {
  if (model.inputKind !== "series") throw new EngineError("BAD_INPUT", `${model.name} is not a series model`);
  const T = rows.length;
  const horizon = opts.horizon ?? 12;
  if (!Number.isInteger(horizon) || horizon < 0 || horizon > 10_000) throw new EngineError("BAD_INPUT", `horizon must be an integer in 0..10000 (got ${horizon})`);
  // The context each forecast reads: the window the model was trained with, else all rows before.
  const extra = model.config?.normalisation?.kind === "diff-zscore" ? 1 : 0;
  const W = model.config?.window;
  const context = W ?? 0;
  const first = (W ?? 1) + extra; // the first row with a full context before it
  if (T < first + 1) throw new EngineError("BAD_INPUT", `${model.name} needs at least ${first + 1} values to forecast (got ${T})`);
  const oneStep: (number | null)[] = new Array(T).fill(null);
  if (W) {
    const targets = Array.from({ length: T - first }, (_, i) => first + i);
    const preds = await forecastRows(model, rows, targets, W);
    targets.forEach((t, i) => (oneStep[t] = preds[i]));
  } else {
    for (let t = first; t < T; t++) oneStep[t] = (await forecastRows(model, rows, [t], t - extra))[0];
  }
  // Autoregressive: each forecast is appended and read as if observed.
  const extended = rows.map((r) => r.slice());
  const multiStep: number[] = [];
  for (let h = 0; h < horizon; h++) {
    const t = extended.length;
    const [p] = await forecastRows(model, extended, [t], context || t - extra);
    multiStep.push(p);
    extended.push([p, ...extended[t - 1].slice(1)]);
  }
  const season = opts.season ?? model.config?.series?.season;
  const y = rows.map((r) => r[0]);
  const residuals = oneStep.map((p, t) => (p === null ? null : y[t] - p));
  const scored = oneStep.map((p, t) => t).filter((t) => oneStep[t] !== null && (!season || t - season >= 0));
  const metrics: ForecastCore["metrics"] = {
    rows: scored.length,
    ...errors(scored.map((t) => [oneStep[t]!, y[t]])),
    lastValue: errors(scored.map((t) => [y[t - 1], y[t]])),
    ...(season ? { seasonalNaive: { season, ...errors(scored.map((t) => [y[t - season], y[t]])) } } : {}),
  };
  return { oneStep, residuals, multiStep, metrics };
}
