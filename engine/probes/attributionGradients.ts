// Gradient × input and integrated gradients: a prediction attributed to each earlier token through
// the gradient of the metric with respect to that token's embedding. They need a differentiable
// copy of the model (runtime/tfjs/differentiable.ts): the TensorFlow.js GPT-2 (runtime/tfjs/gpt2.ts),
// which is the model itself when it was opened as "tfjs:<folder>", or the twin of a GPT-2 ONNX
// folder; the TensorFlow.js Llama (runtime/tfjs/llama.ts) for a Llama-shaped ONNX folder or
// checkpoint (the same weights, read from the ONNX file or the safetensors). The gradient is taken
// with respect to the token embeddings (the rows of the embedding table gathered for the input)
// only: positions (GPT-2's learned ones, added after; Llama's rotary ones) are held fixed.
import * as tf from "@tensorflow/tfjs";
import { DEFAULT_IG_STEPS, MAX_IG_STEPS, type AttributeResult, type BaselineToken } from "../../protocol/attribution";
import { EngineError } from "../../protocol/errors";
import { checkBudget } from "../limits";
import { type DifferentiableDecoder, isDifferentiable } from "../runtime/tfjs/differentiable";
import type { LoadedModel } from "../families/family";
import { DecoderModel, type Decoder } from "../models/decoder";
import { LLAMA_MODEL_TYPES } from "../formats/llamaExport";
import { baselineTokens, metricAt, resolveBaseline } from "./attribution";

export type GradientMethod = "grad-x-input" | "integrated-gradients";

export interface GradientOptions {
  method: GradientMethod;
  /** The prediction explained: made after ids[0..position−1]; 1..ids.length. */
  position: number;
  /** Absent: the model's top prediction on the real prefix. */
  target?: number;
  foil?: number;
  /** Integrated gradients' starting point: a token's embedding at every position, or the zero embedding. */
  baseline?: { id: number } | "zero";
  /** Integrated gradients: the number of points on the path (midpoint rule). */
  steps?: number;
  /** Bytes one request may hold: sets how many path points run in one forward/backward. */
  memoryBudget: number;
  /** The most path points run together (the budget may allow fewer). */
  maxBatch?: number;
  /** Called with f(input) before any gradient is taken (to check the copy against the model it stands in for). */
  checkBase?: (base: number, target: number) => void | Promise<void>;
  signal?: AbortSignal;
  /** After each forward or batch of gradients: `done` of `total` sequences evaluated. */
  onStep?: (done: number, total: number) => void;
}

export interface Completeness {
  /** The attributions summed over the positions. */
  sum: number;
  /** f(input) − f(baseline): what the sum should equal, as the number of steps grows. */
  delta: number;
  /** |sum − delta| / |delta|. */
  relError: number;
  /** f(baseline): the metric with every token embedding replaced by the baseline. */
  baselineMetric: number;
}

export interface GradientResult {
  target: number;
  /** The metric on the real input, as the differentiable copy computes it. */
  base: number;
  /** One per position 0..position−1. */
  scores: number[];
  /** Gradient × input: the L2 norm of the gradient at each position's embedding. */
  norms?: number[];
  completeness?: Completeness;
  /** Sequences evaluated: forward passes, and one forward and backward per path point. */
  runs: number;
  /** How many path points ran together in one forward/backward. */
  batch: number;
}

/**
 * The differentiable copy of `model`: itself when it is a TensorFlow.js decoder, else the
 * TensorFlow.js twin opened by `open` as "tfjs:<folder>": the GPT-2 one for a GPT-2 ONNX decoder,
 * the Llama one for a Llama-shaped ONNX decoder (its graph's weights) or checkpoint (its
 * safetensors). UNSUPPORTED with a sentence for any other model, or when the twin cannot be made
 * from the model's weights.
 */
export async function differentiableCopy(model: LoadedModel, open: (spec: string) => Promise<LoadedModel>): Promise<LoadedModel & Decoder & DifferentiableDecoder> {
  if (isDifferentiable(model)) return model as LoadedModel & Decoder & DifferentiableDecoder;
  const none = (why: string) => new EngineError("UNSUPPORTED", `${model.name} (${model.family}): gradients need a differentiable copy; this model has none (${why}): use method ablation`);
  const llama = model instanceof DecoderModel && (LLAMA_MODEL_TYPES as readonly string[]).includes(model.config.model_type);
  if (!(model instanceof DecoderModel) || (model.config.model_type !== "gpt2" && !llama) || model.form === "bare") {
    const kind = model instanceof DecoderModel ? (model.form === "bare" ? "a bare graph without config.json" : `model_type ${JSON.stringify(model.config.model_type)}`) : "not a decoder folder";
    throw none(`the TensorFlow.js copies run GPT-2 and Llama-shaped (${LLAMA_MODEL_TYPES.join(", ")}) folders only; this is ${kind}`);
  }
  // a checkpoint's copy reads its safetensors; an ONNX folder's, the graph the model runs
  const spec = `tfjs:${llama && model.form !== "checkpoint" ? model.onnxFile : model.dir}`;
  let twin: LoadedModel;
  try {
    twin = await open(spec);
  } catch (e) {
    if (e instanceof EngineError && e.code !== "CANCELLED") throw none(`its TensorFlow.js copy could not be made: ${e.message}`);
    throw e;
  }
  if (!isDifferentiable(twin)) throw new EngineError("INTERNAL", `${spec} opened as ${twin.family}, not a TensorFlow.js decoder`);
  return twin as LoadedModel & Decoder & DifferentiableDecoder;
}

/**
 * The metric per sequence of a batch of token embeddings [S, T, d]: ln p(target) or logit(target) −
 * logit(foil) at row T−1, as a tensor [S]. Only that row is projected onto the vocabulary.
 */
function metricOf(m: DifferentiableDecoder, x: tf.Tensor3D, target: number, foil: number | undefined): tf.Tensor1D {
  const [S, T, d] = x.shape;
  const final = m.blocks(x).reshape([S, T, d]);
  const last = final.slice([0, T - 1, 0], [S, 1, d]).reshape([S, d]);
  const logits = m.unembed(last as tf.Tensor2D); // [S, V]
  const at = (id: number) => logits.slice([0, id], [S, 1]).reshape([S]);
  if (foil !== undefined) return at(target).sub(at(foil)) as tf.Tensor1D;
  return at(target).sub(tf.logSumExp(logits, 1)) as tf.Tensor1D;
}

/** The gradient of the summed metric of a batch with respect to its token embeddings (each sequence's own, as they do not interact). */
function gradOf(m: DifferentiableDecoder, x: tf.Tensor3D, target: number, foil: number | undefined): tf.Tensor3D {
  return tf.grad((e: tf.Tensor) => metricOf(m, e as tf.Tensor3D, target, foil).sum())(x) as tf.Tensor3D;
}

/**
 * Gradient × input or integrated gradients of the prediction at `position` on the TensorFlow.js
 * decoder `m`. Gradient × input: score_i = Σ_k ∂f/∂e_ik · e_ik (e_i the token embedding at position
 * i). Integrated gradients: score_i = Σ_k (e_ik − b_ik) · mean over the path points α_s = (s + ½)/n
 * of ∂f/∂e_ik at b + α_s (e − b), the points run in batches that fit the memory budget; the scores
 * then sum to about f(e) − f(b) (completeness). Cancellation is checked between batches.
 */
export async function gradientAttribution(m: DifferentiableDecoder, ids: number[], o: GradientOptions): Promise<GradientResult> {
  const p = o.position;
  const d = m.width;
  const V = m.vocabSize;
  const prefix = ids.slice(0, p);
  const cancelled = () => {
    if (o.signal?.aborted) throw new EngineError("CANCELLED", "attribute was cancelled");
  };
  const ig = o.method === "integrated-gradients";
  const steps = ig ? (o.steps ?? DEFAULT_IG_STEPS) : 1;
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_IG_STEPS) throw new EngineError("BAD_INPUT", `steps must be a whole number in 1..${MAX_IG_STEPS} (the points on the integration path; ${DEFAULT_IG_STEPS} is the default), got ${steps}`);
  const perSeq = m.gradientBytesPerSequence(p);
  checkBudget(
    `the gradient of a prediction after ${p.toLocaleString("en-US")} tokens`,
    perSeq,
    o.memoryBudget,
    `the activations of ${m.nLayer} layers kept for the backward pass, and their gradients`,
    "explain an earlier position or give fewer tokens (maxTokens), raise the memory budget (seqlens.memoryBudget, --memory-budget), or use method ablation",
  );
  const batch = Math.max(1, Math.min(steps, o.maxBatch ?? 16, Math.floor(o.memoryBudget / perSeq)));
  const total = ig ? steps + 2 : 2;
  let done = 0;
  const step = (n: number) => {
    done += n;
    o.onStep?.(done, total);
  };
  cancelled();

  const embeds = tf.tidy(() => tf.gather(m.tokenEmbeddings, tf.tensor1d(prefix, "int32")).reshape([1, p, d])) as tf.Tensor3D;
  try {
    // The real input: the target (when not given) and f(e).
    const realLogits = tf.tidy(() => m.unembed(m.blocks(embeds).slice([p - 1, 0], [1, d])));
    const row = (await realLogits.data()) as Float32Array;
    realLogits.dispose();
    let target = o.target;
    if (target === undefined) {
      target = 0;
      for (let i = 1; i < V; i++) if (row[i] > row[target]) target = i;
    }
    if (o.foil === target) throw new EngineError("BAD_INPUT", `the foil is the target (token ${target}): the logit difference is 0 whatever the input; pick another foil`);
    const t = target;
    const base = metricOfRow(row, t, o.foil);
    await o.checkBase?.(base, t);
    step(1);

    if (!ig) {
      cancelled();
      const grad = tf.tidy(() => gradOf(m, embeds, t, o.foil));
      const g = (await grad.data()) as Float32Array;
      const e = (await embeds.data()) as Float32Array;
      grad.dispose();
      const scores: number[] = [];
      const norms: number[] = [];
      for (let i = 0; i < p; i++) {
        let s = 0;
        let n = 0;
        for (let k = i * d; k < (i + 1) * d; k++) {
          s += g[k] * e[k];
          n += g[k] * g[k];
        }
        scores.push(s);
        norms.push(Math.sqrt(n));
      }
      step(1);
      return { target: t, base, scores, norms, runs: 2, batch: 1 };
    }

    // Integrated gradients along the straight line from the baseline to the input.
    const baseline = tf.tidy(() =>
      o.baseline === undefined || o.baseline === "zero"
        ? tf.zeros([1, p, d])
        : tf.gather(m.tokenEmbeddings, tf.tensor1d([o.baseline.id], "int32")).reshape([1, 1, d]).tile([1, p, 1]),
    ) as tf.Tensor3D;
    const diff = embeds.sub(baseline) as tf.Tensor3D;
    try {
      const fb = tf.tidy(() => metricOf(m, baseline, t, o.foil));
      const baselineMetric = (await fb.data())[0];
      fb.dispose();
      step(1);
      const acc = new Float64Array(p * d);
      for (let s0 = 0; s0 < steps; s0 += batch) {
        cancelled();
        const n = Math.min(batch, steps - s0);
        const alphas = Array.from({ length: n }, (_, j) => (s0 + j + 0.5) / steps);
        const gsum = tf.tidy(() => {
          const points = baseline.add(tf.tensor3d(alphas, [n, 1, 1]).mul(diff)) as tf.Tensor3D;
          return gradOf(m, points, t, o.foil).sum(0);
        });
        const g = (await gsum.data()) as Float32Array;
        gsum.dispose();
        for (let k = 0; k < acc.length; k++) acc[k] += g[k];
        step(n);
        // let a cancel request arrive between batches
        await new Promise((r) => setImmediate(r));
      }
      const dv = (await diff.data()) as Float32Array;
      const scores: number[] = [];
      for (let i = 0; i < p; i++) {
        let s = 0;
        for (let k = i * d; k < (i + 1) * d; k++) s += dv[k] * acc[k];
        scores.push(s / steps);
      }
      const sum = scores.reduce((a, b) => a + b, 0);
      const delta = base - baselineMetric;
      return {
        target: t,
        base,
        scores,
        completeness: { sum, delta, relError: Math.abs(sum - delta) / Math.max(Math.abs(delta), 1e-12), baselineMetric },
        runs: steps + 2,
        batch,
      };
    } finally {
      tf.dispose([baseline, diff]);
    }
  } finally {
    embeds.dispose();
  }
}

/** ln p(target) or logit(target) − logit(foil) of one row of logits, in float64. */
function metricOfRow(row: Float32Array, target: number, foil: number | undefined): number {
  if (foil !== undefined) return row[target] - row[foil];
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return row[target] - max - Math.log(sum);
}

export interface AttributeByGradients {
  method: GradientMethod;
  position: number;
  target?: number;
  foil?: number;
  baseline?: BaselineToken | "zero" | number;
  steps?: number;
  memoryBudget: number;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void;
  /** Opens a model spec ("tfjs:<folder>"), as the engine does. */
  open: (spec: string) => Promise<LoadedModel>;
}

/**
 * The engine's `attribute` by a gradient method on `model` (which must have a differentiable copy),
 * as the result the protocol describes without the input's tokens and time. When a copy stands in
 * for the model, the model's own metric on the real input is computed first (it also picks the
 * default target) and the copy's must agree with it.
 */
export async function attributeByGradients(
  model: LoadedModel & Decoder,
  ids: number[],
  texts: string[],
  o: AttributeByGradients,
): Promise<Omit<AttributeResult, "tokens" | "truncated" | "ms">> {
  const tok = model.tokenizer;
  const V = model.config.vocab_size;
  const ig = o.method === "integrated-gradients";
  if (!ig && o.baseline !== undefined && o.baseline !== "zero") {
    throw new EngineError("BAD_INPUT", `gradient × input multiplies the gradient by the token's embedding itself (its baseline is the zero embedding), so it takes no baseline token: leave baseline out, or use method integrated-gradients to start from ${typeof o.baseline === "number" ? `token ${o.baseline}` : `the ${o.baseline} token`}`);
  }
  if (!ig && o.steps !== undefined) throw new EngineError("BAD_INPUT", `steps is the number of points on integrated gradients' path; gradient × input takes one gradient: leave steps out, or use method integrated-gradients`);
  const twin = await differentiableCopy(model, o.open);
  // integrated gradients start from the zero embedding by default, except on RMSNorm models (see
  // DifferentiableDecoder.norm): from the baseline token ablation would use, where the tokenizer names one
  const tokenStart = ig && o.baseline === undefined && twin.norm === "rmsnorm" && Object.keys(baselineTokens(tok)).some((k) => k !== "mask");
  const baseline = !ig || o.baseline === "zero" || (o.baseline === undefined && !tokenStart) ? undefined : resolveBaseline(tok, V, o.baseline);
  const standIn = twin !== model;
  let target = o.target;
  let own: number | undefined;
  if (standIn) {
    const logits = (await model.forward(ids.slice(0, o.position), {})).logits;
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[(o.position - 1) * V + i] > logits[(o.position - 1) * V + best]) best = i;
    target ??= best;
    if (o.foil !== target) own = metricAt(logits, V, o.position - 1, target, o.foil);
  }
  let agreement: number | undefined;
  const what = ig ? "integrated gradients" : "gradient × input";
  const r = await gradientAttribution(twin, ids, {
    method: o.method,
    position: o.position,
    target,
    foil: o.foil,
    baseline: baseline ? { id: baseline.id } : "zero",
    steps: o.steps,
    memoryBudget: o.memoryBudget,
    signal: o.signal,
    checkBase: (base) => {
      if (own === undefined) return;
      agreement = Math.abs(base - own);
      if (agreement > 1e-3 * Math.max(1, Math.abs(own))) {
        throw new EngineError("UNSUPPORTED", `${model.name} (${model.family}): its TensorFlow.js copy gives ${base.toFixed(5)} for the metric on this input where the model gives ${own.toFixed(5)}, so the copy's gradients would not explain this model: use method ablation`);
      }
    },
    onStep: (done, total) => o.progress?.(done, total, ig ? `integrated gradients: ${Math.max(0, done - 2)} of ${total - 2} path points` : `${what}: ${done} of ${total} passes`),
  });
  const info = twin.info();
  return {
    target: { id: r.target, text: tok.tokenText(r.target) },
    ...(o.foil !== undefined ? { foil: { id: o.foil, text: tok.tokenText(o.foil) } } : {}),
    method: o.method,
    metric: o.foil === undefined ? "logprob" : "logit-diff",
    baseline: baseline ? { id: baseline.id, text: tok.tokenText(baseline.id), kind: baseline.kind } : { text: "", kind: "zero" },
    position: o.position,
    base: r.base,
    scores: r.scores.map((score, i) => ({ position: i, text: texts[i], score, ...(r.norms ? { norm: r.norms[i] } : {}) })),
    runs: r.runs,
    ...(r.completeness ? { completeness: { ...r.completeness, steps: o.steps ?? DEFAULT_IG_STEPS } } : {}),
    computedBy: { name: twin.name, family: twin.family, runtime: info.runtime, gradientOf: "token embeddings", ...(agreement !== undefined ? { agreement } : {}) },
  };
}
