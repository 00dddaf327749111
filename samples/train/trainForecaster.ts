// Trains a one-step-ahead forecaster for a univariate series (2 x LSTM(64) -> Dense(1) on every
// step) with the TensorFlow.js Layers API and writes a SeqLens recurrent sample folder:
// config.json (series, window, normalisation, metrics) and tfjs/model.json + tfjs/weights.bin.
//
//   npx tsx samples/train/trainForecaster.ts --series samples/data/timeseries/co2_mauna_loa_monthly.csv
//       --out samples/models/co2-lstm [--norm diff-zscore|zscore] [--window 36] [--season 12]
//       [--heldout-seasons N] [--steps 1500] [--batch 32] [--units 64] [--ckpt-dir DIR]
//
// The last N full seasons are held out (default: the fewest full seasons covering 10% of the
// series); the normalisation statistics and every training window come from the part before them.
// Training windows of --window steps carry a target at every step (the next value, normalised).
// Held-out figures: the one-step forecast of each held-out point from the --window steps before it
// (true values), next to the last-value and seasonal-naive forecasts of exactly the same points.
// Checkpoints go to --ckpt-dir every --ckpt-every steps; the same command resumes from the last one.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { seededRandom } from "../../engine/random";
import {
  REPO_ROOT,
  argOf,
  loadLayersModelFromDir,
  lrAt,
  maxAbsDiff,
  repoRelative,
  resumeFromCheckpoint,
  saveCheckpoint,
  saveLayersModel,
  setLearningRate,
  trainStep,
  trainableVariables,
  round,
} from "./layersTraining";

const here = path.dirname(new URL(import.meta.url).pathname);

export type Normalisation = { kind: "zscore" | "diff-zscore"; mean: number; std: number };

export function readSeries(file: string, column: string): { time: number[]; value: number[] } {
  const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/);
  const header = lines[0].split(",").map((h) => h.replace(/^"|"$/g, ""));
  const ti = header.indexOf("time");
  const vi = header.indexOf(column);
  if (ti < 0 || vi < 0) throw new Error(`${file}: needs columns "time" and "${column}" (has ${header.join(", ")})`);
  const time: number[] = [];
  const value: number[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(",");
    time.push(Number(cells[ti]));
    value.push(Number(cells[vi]));
  }
  if (value.some((v) => !Number.isFinite(v))) throw new Error(`${file}: non-numeric values in "${column}"`);
  return { time, value };
}

/** The model's input sequence: u[t] for t = 0..n-1 (for diff-zscore, u[0] is undefined: no difference before the first value). */
export function normalise(x: number[], norm: Normalisation): number[] {
  if (norm.kind === "zscore") return x.map((v) => (v - norm.mean) / norm.std);
  return x.map((v, t) => (t === 0 ? NaN : (v - x[t - 1] - norm.mean) / norm.std));
}

/** The forecast of x[t+1] from the model output at step t. */
export function denormalise(out: number, xt: number, norm: Normalisation): number {
  return norm.kind === "zscore" ? out * norm.std + norm.mean : xt + out * norm.std + norm.mean;
}

function meanStd(a: number[]): { mean: number; std: number } {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  return { mean, std };
}

export function buildForecaster(units: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [null, 1], dtype: "float32", name: "series" });
  let h = input;
  for (let i = 1; i <= 2; i++) {
    h = tf.layers
      .lstm({
        units,
        returnSequences: true,
        unitForgetBias: true, // recurrentActivation: tfjs default (hardSigmoid)
        name: `lstm_${i}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 10 * i }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 10 * i + 1 }),
      })
      .apply(h) as tf.SymbolicTensor;
  }
  const out = tf.layers.dense({ units: 1, name: "forecast", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: "forecaster_lstm" });
}

interface ErrorFigures {
  mae: number;
  rmse: number;
}

function errors(pred: number[], truth: number[]): ErrorFigures {
  let a = 0;
  let s = 0;
  pred.forEach((p, i) => {
    a += Math.abs(p - truth[i]);
    s += (p - truth[i]) ** 2;
  });
  return { mae: a / pred.length, rmse: Math.sqrt(s / pred.length) };
}

/** One-step forecasts of x[j] for each j in `targets`, each from the `window` steps before j (true values). */
export async function oneStepForecasts(model: tf.LayersModel, x: number[], u: number[], targets: number[], window: number, norm: Normalisation): Promise<number[]> {
  const inp = new Float32Array(targets.length * window);
  targets.forEach((j, b) => {
    for (let k = 0; k < window; k++) inp[b * window + k] = u[j - window + k];
  });
  if (inp.some((v) => !Number.isFinite(v))) throw new Error("a forecast window reaches before the start of the series");
  const y = model.predict(tf.tensor3d(inp, [targets.length, window, 1])) as tf.Tensor3D;
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return targets.map((j, b) => denormalise(out[b * window + window - 1], x[j - 1], norm));
}

async function main() {
  const seriesFile = path.resolve(argOf("--series", path.join(REPO_ROOT, "samples/data/timeseries/co2_mauna_loa_monthly.csv")));
  const outDir = path.resolve(argOf("--out", path.join(REPO_ROOT, "samples/models/co2-lstm")));
  const ckptDir = path.resolve(argOf("--ckpt-dir", path.join(here, ".ckpt", path.basename(outDir))));
  const column = argOf("--column", "value");
  const frequency = argOf("--frequency", "monthly");
  const valueUnits = argOf("--value-units", "");
  const normKind = argOf("--norm", "diff-zscore") as Normalisation["kind"];
  if (normKind !== "zscore" && normKind !== "diff-zscore") throw new Error(`--norm must be zscore or diff-zscore, not ${normKind}`);
  const SEASON = Number(argOf("--season", "12"));
  const WINDOW = Number(argOf("--window", String(3 * SEASON)));
  const UNITS = Number(argOf("--units", "64"));
  const STEPS = Number(argOf("--steps", "1500"));
  const BATCH = Number(argOf("--batch", "32"));
  const LR = Number(argOf("--lr", "3e-3"));
  const WARMUP = Number(argOf("--warmup", "50"));
  const CKPT_EVERY = Number(argOf("--ckpt-every", "250"));
  const SEED = Number(argOf("--seed", "1234"));
  const CLIP = 1;

  const backend = await initTfjs();
  const { time, value: x } = readSeries(seriesFile, column);
  const n = x.length;
  const heldSeasons = Number(argOf("--heldout-seasons", String(Math.ceil((0.1 * n) / SEASON))));
  const h0 = n - heldSeasons * SEASON; // first held-out index
  const trainX = x.slice(0, h0);
  const stats = normKind === "zscore" ? meanStd(trainX) : meanStd(trainX.slice(1).map((v, t) => v - trainX[t]));
  const norm: Normalisation = { kind: normKind, mean: stats.mean, std: stats.std };
  const u = normalise(x, norm);
  const first = normKind === "zscore" ? 0 : 1; // first index with an input value
  // Training windows: inputs u[s..s+W-1], targets u[s+1..s+W], every target before the held-out part.
  const starts: number[] = [];
  for (let s = first; s + WINDOW <= h0 - 1; s++) starts.push(s);
  const heldTargets: number[] = [];
  for (let j = h0; j < n; j++) heldTargets.push(j);
  if (heldTargets[0] - WINDOW < first) throw new Error("the window is too long for this series");
  const log = (line: string) => {
    console.log(line);
    fs.mkdirSync(ckptDir, { recursive: true });
    fs.appendFileSync(path.join(ckptDir, "train.log"), line + "\n");
  };
  log(
    `backend ${backend}; ${repoRelative(seriesFile)}: ${n} points ${time[0]}..${time[n - 1]}; held out the last ${heldSeasons} seasons (${n - h0} points from ${time[h0]}); ` +
      `${norm.kind} mean ${norm.mean.toFixed(4)} std ${norm.std.toFixed(4)}; ${starts.length} training windows of ${WINDOW}`,
  );

  const model = buildForecaster(UNITS, SEED);
  const vars = trainableVariables(model);
  const opt = tf.train.adam(LR, 0.9, 0.999, 1e-7);
  let { step, seconds } = await resumeFromCheckpoint(ckptDir, model, opt, log);
  log(`model ${model.countParams()} parameters: 2 x lstm(${UNITS}), dense 1; ${STEPS} steps of ${BATCH} windows, Adam ${LR} cosine to ${+(LR / 10).toPrecision(6)}, clip ${CLIP}`);
  let t0 = Date.now();
  let lossSum = 0;
  let lossN = 0;
  while (step < STEPS) {
    const rand = seededRandom(SEED + step * 7919);
    const xb = new Float32Array(BATCH * WINDOW);
    const yb = new Float32Array(BATCH * WINDOW);
    for (let b = 0; b < BATCH; b++) {
      const s = starts[Math.floor(rand() * starts.length)];
      for (let k = 0; k < WINDOW; k++) {
        xb[b * WINDOW + k] = u[s + k];
        yb[b * WINDOW + k] = u[s + k + 1];
      }
    }
    setLearningRate(opt, lrAt(step, STEPS, LR, WARMUP));
    const xt = tf.tensor3d(xb, [BATCH, WINDOW, 1]);
    const yt = tf.tensor3d(yb, [BATCH, WINDOW, 1]);
    const lossT = trainStep(opt, vars, () => tf.mean(tf.square(tf.sub(model.apply(xt, { training: true }) as tf.Tensor, yt))) as tf.Scalar, CLIP);
    const loss = (await lossT.data())[0];
    tf.dispose([xt, yt, lossT]);
    step++;
    lossSum += loss;
    lossN++;
    const now = Date.now();
    seconds += (now - t0) / 1000;
    t0 = now;
    if (step % 50 === 0 || step === STEPS) {
      log(`step ${step} loss ${(lossSum / lossN).toFixed(4)} (normalised MSE, mean of last ${lossN}) lr ${lrAt(step, STEPS, LR, WARMUP).toExponential(2)} ${seconds.toFixed(0)} s, ${tf.memory().numTensors} tensors`);
      lossSum = 0;
      lossN = 0;
    }
    if (step % CKPT_EVERY === 0 || step === STEPS) {
      await saveCheckpoint(ckptDir, model, opt, { step, seconds, window: WINDOW, units: UNITS, batch: BATCH, steps: STEPS, seed: SEED });
      t0 = Date.now();
    }
  }

  const truth = heldTargets.map((j) => x[j]);
  const fc = await oneStepForecasts(model, x, u, heldTargets, WINDOW, norm);
  const mdl = errors(fc, truth);
  const last = errors(heldTargets.map((j) => x[j - 1]), truth);
  const seasonal = errors(heldTargets.map((j) => x[j - SEASON]), truth);
  const fmt = (e: ErrorFigures) => `MAE ${e.mae.toFixed(4)} RMSE ${e.rmse.toFixed(4)}`;
  log(`held-out one-step (${heldTargets.length} points): model ${fmt(mdl)}; last value ${fmt(last)}; seasonal naive ${fmt(seasonal)}`);

  const tfjsDir = path.join(outDir, "tfjs");
  fs.rmSync(tfjsDir, { recursive: true, force: true });
  const bytes = await saveLayersModel(model, tfjsDir);
  const back = await loadLayersModelFromDir(tfjsDir);
  const probe = tf.tensor3d(Float32Array.from(u.slice(first, first + 2 * 29)), [2, 29, 1]);
  const diff = await maxAbsDiff(model, back, probe);
  const fcBack = await oneStepForecasts(back, x, u, heldTargets, WINDOW, norm);
  probe.dispose();
  back.dispose();
  if (diff !== 0 || fcBack.some((v, i) => v !== fc[i])) throw new Error(`the saved model does not reproduce the trained one (max diff ${diff})`);
  log(`saved ${repoRelative(tfjsDir)} (${bytes} bytes of weights); reloaded: identical outputs`);

  const r = (e: ErrorFigures) => ({ mae: round(e.mae, 4), rmse: round(e.rmse, 4) });
  const config = {
    model_type: "seqlens-rnn",
    task: "forecast",
    cell: "lstm",
    layers: 2,
    units: UNITS,
    series: { file: path.basename(seriesFile), column, frequency, season: SEASON, heldoutFrom: time[h0], ...(valueUnits ? { valueUnits } : {}) },
    features: 1,
    window: WINDOW,
    normalisation: { kind: norm.kind, mean: norm.mean, std: norm.std },
    trainedWith: `TensorFlow.js ${tf.version.tfjs} (${backend})`,
    training: {
      points: h0,
      windows: starts.length,
      steps: STEPS,
      batch: BATCH,
      loss: "mean squared error of the normalised next value, every step of the window",
      optimizer: `Adam ${LR}, ${WARMUP} warm-up steps, cosine decay to ${+(LR / 10).toPrecision(6)}, gradient norm clipped at ${CLIP}`,
      seed: SEED,
      seconds: Math.round(seconds),
      parameters: model.countParams(),
    },
    metrics: {
      heldout: `one-step forecasts of the last ${heldSeasons} full seasons (${heldTargets.length} points, ${time[h0]} to ${time[n - 1]}), each from the ${WINDOW} steps before it (true values)`,
      heldoutPoints: heldTargets.length,
      model: r(mdl),
      lastValue: r(last),
      seasonalNaive: r(seasonal),
    },
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  log(`wrote ${repoRelative(path.join(outDir, "config.json"))}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
