// The engine's methods on recurrent models (LSTM, GRU, RNN from ONNX or TensorFlow.js): gates
// (every layer's gates on the user's text or series, kept here; the panel asks for one [T, H] slice
// at a time), gateSlice, gateFiring, forecast, gradients (input-gradient norms), hiddenStates (h_t
// per step, for the Embeddings panel) and charRun (a character model's next-character scores, for
// Compare).
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
}

export class RecurrentService {
  private readonly runs = new Map<string, GatesRun>();
  private next = 1;

  /**
   * @param keep   gates runs kept for slices (the oldest dropped first)
   * @param models the open models, shared with the engine service
   */
  constructor(
    private readonly keep = 8,
    private readonly models = new LoadedModels({ providers: ["cpu"] }),
  ) {}

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

  async gates(p: Params<"gates">): Promise<GatesResult> {
    const model = await this.modelFor(p.model, GATES, p.runtime, p.preferRuntime);
    if (p.text === undefined && p.values === undefined) throw new EngineError("BAD_INPUT", "gates needs text or values");
    return (await this.run(model, p.values === undefined ? { text: p.text! } : { values: checkRows(p.values) })).result;
  }

  /**
   * A character model on text, kept like a gates run, with its output: the scores of the next
   * character after each step [T, vocab] as logits (an output of probabilities is turned into its
   * logarithm) and the vocabulary (for comparing two of them).
   */
  async charRun(modelPath: string, text: string): Promise<{ result: GatesResult; logits: Float32Array; vocab: string[]; model: RecurrentModel }> {
    const model = await this.model(modelPath, { capability: "gates", what: "be compared character by character" });
    if (model.inputKind !== "text" || !model.config?.vocab) throw new EngineError("BAD_INPUT", `${model.name} reads a numeric series: comparing two series models is not available yet`);
    const { result, output, outputWidth } = await this.run(model, { text });
    if (outputWidth !== model.config.vocab.length) throw new EngineError("MODEL_INVALID", `${model.name}: the output has ${outputWidth} values per step but the vocabulary ${model.config.vocab.length}`);
    return { result, logits: asLogits(output, outputWidth), vocab: model.config.vocab, model };
  }

  private async run(model: RecurrentModel, input: { text: string } | { values: number[][] }): Promise<{ result: GatesResult; output: Float32Array; outputWidth: number }> {
    const t0 = performance.now();
    const enc = model.encode(input);
    const t1 = performance.now();
    const { layers, output, outputWidth } = await model.run(enc);
    const handle = `gates-${this.next++}`;
    const result: GatesResult = {
      handle,
      model: model.path,
      name: model.name,
      runtime: model.runtime,
      inputKind: model.inputKind,
      steps: enc.steps,
      source: enc.source,
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
    };
    this.runs.set(handle, { result, layers });
    while (this.runs.size > this.keep) this.runs.delete(this.runs.keys().next().value as string);
    return { result, output, outputWidth };
  }

  /**
   * The hidden state h_t at every step of one direction of one layer (`layer` indexes the run's
   * directions; default the last), as rows to project: the recurrent twin of a transformer's
   * residual stream.
   */
  async hiddenStates(p: { model: string; text?: string; values?: number[][]; layer?: number }): Promise<{ rows: Matrix; labels: string[]; source: number[]; layerNames: string[]; layer: number; inputKind: "text" | "series" }> {
    const model = await this.model(p.model, { capability: "gates", what: "project its hidden states" });
    if (p.text === undefined && p.values === undefined) throw new EngineError("BAD_INPUT", `${model.name} is a recurrent model: it has no token-embedding matrix to project; give it text or numbers for its hidden states`);
    const enc = model.encode(p.values !== undefined ? { values: checkRows(p.values) } : { text: p.text! });
    const { layers } = await model.run(enc);
    const layerNames = layers.map((l) => `layer ${l.layer} · ${l.direction} · ${l.cell} · ${l.units} units`);
    const layer = p.layer === undefined ? layers.length - 1 : p.layer;
    if (!Number.isInteger(layer) || layer < 0 || layer >= layers.length) throw new EngineError("BAD_INPUT", `layer must be an integer in 0..${layers.length - 1} (got ${JSON.stringify(p.layer)})`);
    const l = layers[layer];
    const hidden = l.values.hidden;
    if (!hidden) throw new EngineError("INTERNAL", `${l.cell} layer ${l.layer} reported no hidden state`);
    return { rows: { rows: l.steps, cols: l.units, data: hidden }, labels: enc.labels, source: enc.source, layerNames, layer, inputKind: model.inputKind };
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

  async forecast(p: Params<"forecast">): Promise<ForecastResult> {
    const model = await this.modelFor(p.model, { capability: "forecast", what: "forecast a series" }, p.runtime, p.preferRuntime);
    const rows = checkRows(p.values);
    const core = await forecast(model, rows, { horizon: p.horizon });
    const gates = await this.gates({ model: p.model, values: rows, runtime: model.runtime });
    return { model: model.path, series: rows.map((r) => r[0]), ...core, gates };
  }

  async gradients(p: Params<"gradients">): Promise<Result<"gradients">> {
    const model = await this.model(p.model, { capability: "gradients", what: "compute input gradients" }, "tfjs");
    const values = p.values === undefined ? undefined : checkRows(p.values);
    if (p.text === undefined && !values) throw new EngineError("BAD_INPUT", "gradients needs text or values");
    const enc = model.encode(values ? { values } : { text: p.text! });
    const step = p.step ?? enc.steps - 1;
    const g = model.gradientNorms(enc, step);
    return { model: model.path, name: model.name, cell: model.config?.cell ?? "", steps: enc.steps, outputStep: g.outputStep, norms: g.norms, target: g.target, labels: enc.labels };
  }

  release(handle: string): boolean {
    return this.runs.delete(handle);
  }
}

/** Rows of numbers (a bare list of numbers is one feature per row). */
function checkRows(v: unknown): number[][] {
  if (!Array.isArray(v) || v.length === 0) throw new EngineError("BAD_INPUT", "values must be a non-empty array of numbers or of rows of numbers");
  const rows = v.map((r, i) => {
    const row = Array.isArray(r) ? r : [r];
    if (row.length === 0 || !row.every((x) => typeof x === "number" && Number.isFinite(x))) throw new EngineError("BAD_INPUT", `values row ${i + 1} is not a row of finite numbers: ${JSON.stringify(r)}`);
    return row as number[];
  });
  return rows;
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
