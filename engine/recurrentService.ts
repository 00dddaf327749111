// The engine's methods on recurrent models (LSTM, GRU, RNN from ONNX or TensorFlow.js): gates
// (every layer's gates on the user's text or series, kept here; the panel asks for one [T, H] slice
// at a time), gateSlice, gateFiring, forecast, gradients (input-gradient norms), hiddenStates (h_t
// per step, for the Embeddings panel) and charRun (a character model's next-character scores, for
// Compare).
//
// Every method reads at most `maxSteps` steps of its input (the engine's limit, or the request's
// own): a longer series is read a window of rows at a time, the last unless another is asked for,
// and a character model's longer text a window of characters; the result says which (`window`)
// and its `source` points into the whole input. Before a model runs, the memory its steps will take
// is estimated and a request over the memory budget is refused with the figure; the runs kept for
// slices are dropped oldest first when they hold more than half the budget.
//
// Every long method takes the request's signal: it is looked at (after giving the event loop a turn,
// so the cancel can arrive) between the encoding, the runtime's run, each layer and direction, the
// phases of each direction's gates, and every chunk of forecast windows, and a cancelled run ends
// with CANCELLED ("gates was cancelled").
import type { Matrix } from "./probes/projection";
import { EngineError } from "../protocol/errors";
import { ForecastResult, GatesResult } from "../protocol/gates";
import { Params, Result } from "../protocol/engine";
import { SliceResult } from "../protocol/basics";
import { RecurrentModel, RecurrentRuntime } from "./models/recurrent";
import { forecast } from "./probes/forecast";
import { valueNames } from "./probes/gates/gates";
import { firingRuns } from "../protocol/firing";
import type { LayerGates } from "./probes/gates/onnxGates";
import { serving } from "./families/capabilities";
import type { ModelFamily } from "./families/family";
import { LoadedModels } from "./families/loadedModels";
import { recurrentOnnx } from "./families/recurrentOnnx";
import { recurrentTfjs } from "./families/recurrentTfjs";
import { checkBudget, formatBytes, limitsFrom, type Limits } from "./limits";
import { ENGINE_ASK, seriesWindow, windowNotice, type SeriesWindow, type WindowOptions } from "./series/window";
import type { StepWindow } from "../protocol/gates";
import { cancellable, checkpoint } from "./probes/gates/checkpoint";

/** The recurrent families by runtime: a model asked for in one runtime is opened by its family. */
const BY_RUNTIME: Record<RecurrentRuntime, ModelFamily> = { onnx: recurrentOnnx, tfjs: recurrentTfjs };

/** What a method needs of the model: a capability, and the words for the error when it lacks it. */
interface Need {
  capability: "gates" | "forecast" | "gradients";
  what: string;
}

const GATES: Need = { capability: "gates", what: "run the gate probe" };

interface GatesRun {
  result: GatesResult;
  layers: LayerGates[];
  /** What its arrays hold. */
  bytes: number;
}

/** The user's input cut to the window read: the input, where it starts in the whole, and the window when it is one. */
interface WindowedInput {
  input: { text: string } | { values: number[][] };
  /** Characters (text) or rows (values) before the window. */
  offset: number;
  window?: StepWindow;
  steps: number;
}

/**
 * Bytes a run of `steps` steps takes, estimated from the model's shape before it runs: per step and
 * recurrent layer, 20 floats per unit (an LSTM's four gates, cell and hidden state kept; its
 * pre-activations, the previous states and the runtime's outputs while they are computed), and
 * 512 bytes for the step's input, label and source. Measured on the 2-layer 64-unit LSTM sample:
 * the engine grew by 10.0 KB a step at 20,000 steps and 10.4 KB at 50,000; this says 10.7 KB.
 */
export function gatesBytes(steps: number, layers: number, units: number): number {
  return steps * (Math.max(1, layers) * Math.max(1, units) * 20 * 4 + 512);
}

export class RecurrentService {
  private readonly runs = new Map<string, GatesRun>();
  private next = 1;

  /**
   * @param keep   gates runs kept for slices (the oldest dropped first)
   * @param models the open models, shared with the engine service
   * @param limits the memory budget and the steps read at once
   */
  constructor(
    private readonly keep = 8,
    private readonly models = new LoadedModels({ providers: ["cpu"] }),
    private readonly limits: Limits = limitsFrom(),
  ) {}

  /**
   * The part of the input a request reads: the window of at most `maxSteps` steps it asks for
   * (the last by default), with a notice when it leaves steps out. Rows are checked in the window only.
   */
  private windowed(model: RecurrentModel, p: { text?: string; values?: unknown } & WindowOptions): WindowedInput {
    const size = p.maxSteps ?? this.limits.maxSteps;
    const opts = { maxSteps: size, window: p.window, fromStep: p.fromStep };
    if (p.values !== undefined) {
      if (!Array.isArray(p.values) || p.values.length === 0) throw new EngineError("BAD_INPUT", "values must be a non-empty array of numbers or of rows of numbers");
      const w = windowOf(p.values.length, opts, "rows");
      const rows = checkRows(w ? p.values.slice(w.from, w.to) : p.values, w?.from ?? 0);
      return { input: { values: rows }, offset: w?.from ?? 0, window: w, steps: rows.length };
    }
    const text = p.text ?? "";
    if (model.inputKind !== "text" || text.length <= size) return { input: { text }, offset: 0, steps: text.length };
    // steps are characters (code points): the window's in code points, cut at their offsets
    const total = codePoints(text, 0, text.length);
    const w = windowOf(total, opts, "characters");
    if (!w) return { input: { text }, offset: 0, steps: total };
    const from = codePointOffset(text, w.from, total);
    const to = codePointOffset(text, w.to, total);
    return { input: { text: text.slice(from, to) }, offset: from, window: w, steps: w.to - w.from };
  }

  /** Refuses a run whose estimated memory is over the budget, before the model runs. */
  private checkMemory(model: RecurrentModel, steps: number, what: string, factor = 1): void {
    const info = model.info();
    const bytes = gatesBytes(steps, info.nLayer, info.nEmbd) * factor;
    checkBudget(
      `${what} on ${steps.toLocaleString("en-US")} steps of ${model.name}`,
      bytes,
      this.limits.memoryBudget,
      `${info.nLayer} recurrent layers of up to ${info.nEmbd} units, about ${formatBytes(bytes / Math.max(1, steps))} a step`,
      "read fewer steps at once (maxSteps, --max-steps), or raise the memory budget (--memory-budget, SEQLENS_MEMORY_BUDGET)",
    );
  }

  /** The model, in `runtime` if given; else in `prefer` when the model has that copy, else its default. */
  async modelFor(p: string, need: Need, runtime?: RecurrentRuntime, prefer?: RecurrentRuntime): Promise<RecurrentModel> {
    if (runtime || !prefer) return this.model(p, need, runtime);
    try {
      return await this.model(p, need, prefer);
    } catch (e) {
      if (e instanceof EngineError && e.code === "MODEL_INVALID" && /no (onnx|tfjs) model here/.test(e.message)) return this.model(p, need);
      throw e;
    }
  }

  /**
   * The recurrent model at `p`, opened by the family it resolves to, or with `runtime` by that
   * runtime's recurrent family (MODEL_INVALID when it has no copy for it); UNSUPPORTED when the
   * model lacks what `need` names.
   */
  async model(p: string, need: Need = GATES, runtime?: RecurrentRuntime): Promise<RecurrentModel> {
    if (typeof p !== "string" || !p) throw new EngineError("BAD_INPUT", "model must be a path");
    if (runtime !== undefined && runtime !== "onnx" && runtime !== "tfjs") throw new EngineError("BAD_INPUT", `runtime must be "onnx" or "tfjs" (got ${JSON.stringify(runtime)})`);
    const resolved = this.models.familyOf(p);
    const family = runtime && Object.values(BY_RUNTIME).includes(resolved) ? BY_RUNTIME[runtime] : resolved;
    return serving(await this.models.open(p, family), need.capability, need.what);
  }

  async gates(p: Params<"gates">, signal?: AbortSignal): Promise<GatesResult> {
    const model = await this.modelFor(p.model, GATES, p.runtime, p.preferRuntime);
    if (p.text === undefined && p.values === undefined) throw new EngineError("BAD_INPUT", "gates needs text or values");
    const w = this.windowed(model, p);
    this.checkMemory(model, w.steps, "the gates");
    return cancellable(signal, "gates", async () => (await this.run(model, w)).result);
  }

  /**
   * A character model on text, kept like a gates run, with its output: the scores of the next
   * character after each step [T, vocab] as logits (an output of probabilities is turned into its
   * logarithm) and the vocabulary (for comparing two of them).
   */
  async charRun(modelPath: string, text: string, signal?: AbortSignal): Promise<{ result: GatesResult; logits: Float32Array; vocab: string[]; model: RecurrentModel }> {
    const model = await this.model(modelPath, { capability: "gates", what: "be compared character by character" });
    if (model.inputKind !== "text" || !model.config?.vocab) throw new EngineError("BAD_INPUT", `${model.name} reads a numeric series: comparing two series models is not available yet`);
    const w = this.windowed(model, { text });
    this.checkMemory(model, w.steps, "comparing");
    const { result, output, outputWidth } = await cancellable(signal, "compare", () => this.run(model, w));
    if (outputWidth !== model.config.vocab.length) throw new EngineError("MODEL_INVALID", `${model.name}: the output has ${outputWidth} values per step but the vocabulary ${model.config.vocab.length}`);
    return { result, logits: asLogits(output, outputWidth), vocab: model.config.vocab, model };
  }

  private async run(model: RecurrentModel, w: WindowedInput): Promise<{ result: GatesResult; output: Float32Array; outputWidth: number }> {
    const t0 = performance.now();
    await checkpoint();
    const enc = model.encode(w.input);
    await checkpoint();
    const t1 = performance.now();
    const { layers, output, outputWidth } = await model.run(enc);
    // the last look: a run cancelled while its last part ran is not kept
    await checkpoint();
    const handle = `gates-${this.next++}`;
    const source = w.offset ? enc.source.map((s) => s + w.offset) : enc.source;
    const result: GatesResult = {
      handle,
      model: model.path,
      name: model.name,
      runtime: model.runtime,
      inputKind: model.inputKind,
      steps: enc.steps,
      source,
      labels: enc.labels,
      layers: layers.map((l, index) => ({
        index,
        layer: l.layer,
        direction: l.direction,
        cell: l.cell,
        units: l.units,
        inputSize: l.inputSize,
        activations: l.activations,
        names: valueNames(l.cell),
        check: l.check,
      })),
      ms: { run: performance.now() - t1, total: performance.now() - t0 },
      ...(w.window ? { window: w.window } : {}),
    };
    const bytes = layers.reduce((sum, l) => sum + l.input.byteLength + Object.values(l.values).reduce((a, v) => a + v.byteLength, 0), 0);
    this.runs.set(handle, { result, layers, bytes });
    // the newest few, and no more than half the budget (the newest is kept whatever it holds)
    let held = [...this.runs.values()].reduce((sum, r) => sum + r.bytes, 0);
    for (const [h, r] of this.runs) {
      if (this.runs.size <= 1 || (this.runs.size <= this.keep && held <= this.limits.memoryBudget / 2)) break;
      this.runs.delete(h);
      held -= r.bytes;
    }
    return { result, output, outputWidth };
  }

  /**
   * The hidden state h_t at every step of one direction of one layer (`layer` indexes the run's
   * directions; default the last), as rows to project: the recurrent twin of a transformer's
   * residual stream.
   */
  async hiddenStates(p: { model: string; text?: string; values?: number[][]; layer?: number } & WindowOptions, signal?: AbortSignal): Promise<{ rows: Matrix; labels: string[]; source: number[]; layerNames: string[]; layer: number; inputKind: "text" | "series"; window?: StepWindow }> {
    const model = await this.model(p.model, { capability: "gates", what: "project its hidden states" });
    if (p.text === undefined && p.values === undefined) throw new EngineError("BAD_INPUT", `${model.name} is a recurrent model: it has no token-embedding matrix to project; give it text or numbers for its hidden states`);
    const w = this.windowed(model, p);
    this.checkMemory(model, w.steps, "the hidden states");
    const enc = model.encode(w.input);
    const { layers } = await cancellable(signal, "project", async () => {
      await checkpoint();
      const r = await model.run(enc);
      await checkpoint();
      return r;
    });
    const layerNames = layers.map((l) => `layer ${l.layer} · ${l.direction} · ${l.cell} · ${l.units} units`);
    const layer = p.layer === undefined ? layers.length - 1 : p.layer;
    if (!Number.isInteger(layer) || layer < 0 || layer >= layers.length) throw new EngineError("BAD_INPUT", `layer must be an integer in 0..${layers.length - 1} (got ${JSON.stringify(p.layer)})`);
    const l = layers[layer];
    const hidden = l.values.hidden;
    if (!hidden) throw new EngineError("INTERNAL", `${l.cell} layer ${l.layer} reported no hidden state`);
    const source = w.offset ? enc.source.map((s) => s + w.offset) : enc.source;
    return { rows: { rows: l.steps, cols: l.units, data: hidden }, labels: enc.labels, source, layerNames, layer, inputKind: model.inputKind, ...(w.window ? { window: w.window } : {}) };
  }

  gateSlice(p: Params<"gateSlice">): SliceResult {
    const run = this.runs.get(p.handle);
    if (!run) throw new EngineError("UNKNOWN_HANDLE", `no gates run ${JSON.stringify(p.handle)} (dropped for newer ones): run the gates again`);
    const l = run.layers[p.index];
    if (!l) throw new EngineError("BAD_INPUT", `direction index ${p.index} is out of range (0..${run.layers.length - 1})`);
    // "input" is the LSTM's input gate; the layer's input sequence is "x".
    const data = p.name === "x" ? l.input : l.values[p.name];
    if (!data) throw new EngineError("BAD_INPUT", `${l.cell} layer ${l.layer} (${l.direction}) has no "${p.name}" (it has ${["x", ...Object.keys(l.values)].join(", ")})`);
    return { shape: [l.steps, p.name === "x" ? l.inputSize : l.units], data };
  }

  gateFiring(p: Params<"gateFiring">): Result<"gateFiring"> {
    const { data, shape } = this.gateSlice(p);
    const H = shape[1];
    if (!Array.isArray(p.units) || p.units.length === 0 || p.units.some((u) => !Number.isInteger(u) || u < 0 || u >= H)) throw new EngineError("BAD_INPUT", `units must be a non-empty list of units in 0..${H - 1}`);
    if (typeof p.threshold !== "number" || !Number.isFinite(p.threshold)) throw new EngineError("BAD_INPUT", "threshold must be a number");
    return { runs: firingRuns(data, H, shape[0], p.units, p.threshold).slice(0, p.limit ?? 500) };
  }

  async forecast(p: Params<"forecast">, signal?: AbortSignal): Promise<ForecastResult> {
    const model = await this.modelFor(p.model, { capability: "forecast", what: "forecast a series" }, p.runtime, p.preferRuntime);
    const w = this.windowed(model, p);
    this.checkMemory(model, w.steps, "forecasting");
    const rows = (w.input as { values: number[][] }).values;
    const { core, gates } = await cancellable(signal, "forecast", async () => ({ core: await forecast(model, rows, { horizon: p.horizon }), gates: (await this.run(model, w)).result }));
    return { model: model.path, series: rows.map((r) => r[0]), ...core, gates, ...(w.window ? { window: w.window } : {}) };
  }

  async gradients(p: Params<"gradients">, signal?: AbortSignal): Promise<Result<"gradients">> {
    const model = await this.model(p.model, { capability: "gradients", what: "compute input gradients" }, "tfjs");
    if (p.text === undefined && p.values === undefined) throw new EngineError("BAD_INPUT", "gradients needs text or values");
    const w = this.windowed(model, p);
    // the tape keeps every step's activations and their gradients: TensorFlow.js's wasm heap ran out
    // (and aborted, leaving the backend unusable) past about 2,000 steps of the bundled LSTM
    if (w.steps > GRADIENT_MAX_STEPS) {
      throw new EngineError("TOO_LARGE", `input gradients through ${w.steps.toLocaleString("en-US")} steps of ${model.name}: TensorFlow.js keeps every step on its tape, so at most ${GRADIENT_MAX_STEPS.toLocaleString("en-US")} steps are read at once; select fewer, or read a window of them (maxSteps, --max-steps)`);
    }
    this.checkMemory(model, w.steps, "input gradients", 4);
    const enc = model.encode(w.input);
    const step = p.step ?? enc.steps - 1;
    // TensorFlow.js takes the gradient of the whole window in one synchronous call: the signal is
    // looked at before it and after it (a cancelled run's result is not sent)
    await checkpoint(signal, "gradients");
    const g = model.gradientNorms(enc, step);
    await checkpoint(signal, "gradients");
    return { model: model.path, name: model.name, cell: model.config?.cell ?? "", steps: enc.steps, outputStep: g.outputStep, norms: g.norms, target: g.target, labels: enc.labels, ...(w.window ? { window: w.window } : {}) };
  }

  release(handle: string): boolean {
    return this.runs.delete(handle);
  }
}

/** The most steps input gradients go back through at once (one synchronous tape: about 14 s at 1,000 steps of the bundled LSTM). */
export const GRADIENT_MAX_STEPS = 1000;

/** Rows of numbers (a bare list of numbers is one feature per row); `offset`: rows before these, for the row numbers in errors. */
function checkRows(v: unknown, offset = 0): number[][] {
  if (!Array.isArray(v) || v.length === 0) throw new EngineError("BAD_INPUT", "values must be a non-empty array of numbers or of rows of numbers");
  const rows = v.map((r, i) => {
    const row = Array.isArray(r) ? r : [r];
    if (row.length === 0 || !row.every((x) => typeof x === "number" && Number.isFinite(x))) throw new EngineError("BAD_INPUT", `values row ${offset + i + 1} is not a row of finite numbers: ${JSON.stringify(r).slice(0, 200)}`);
    return row as number[];
  });
  return rows;
}

/** The window of `total` steps the options ask for, with its notice; undefined when it is all of them. */
function windowOf(total: number, opts: WindowOptions, unit: "rows" | "characters"): StepWindow | undefined {
  const w: SeriesWindow | string = seriesWindow(total, opts);
  if (typeof w === "string") throw new EngineError("BAD_INPUT", w);
  if (w.from === 0 && w.to === total) return undefined;
  return { ...w, unit, notice: windowNotice(w, ENGINE_ASK, unit) };
}

/** Whether text[i] is the second half of a surrogate pair (so not a code point of its own). */
function pairTail(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0xdc00 || c > 0xdfff || i === 0) return false;
  const p = text.charCodeAt(i - 1);
  return p >= 0xd800 && p <= 0xdbff;
}

/** Code points in text[from, to) (a character model's steps, as Array.from counts them). */
function codePoints(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (!pairTail(text, i)) n++;
  return n;
}

/** The offset of code point `k` of `total` in `text` (text.length for k = total), walked from the nearer end. */
function codePointOffset(text: string, k: number, total: number): number {
  if (k >= total) return text.length;
  if (k <= total - k) {
    let n = -1;
    for (let i = 0; i < text.length; i++) if (!pairTail(text, i) && ++n === k) return i;
    return text.length;
  }
  let n = total;
  for (let i = text.length - 1; i >= 0; i--) if (!pairTail(text, i) && --n === k) return i;
  return 0;
}
/** Rows that are all non-negative and sum to 1 are probabilities (a softmax output): their logs; anything else is taken as logits. */
export function asLogits(out: Float32Array, width: number): Float32Array {
  const rows = out.length / width;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let i = r * width; i < (r + 1) * width; i++) {
      if (out[i] < 0) return out;
      sum += out[i];
    }
    if (Math.abs(sum - 1) > 1e-3) return out;
  }
  return Float32Array.from(out, (p) => Math.log(Math.max(p, 1e-30)));
}
