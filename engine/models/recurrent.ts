// A recurrent model the gate probe runs: a SeqLens sample folder (config.json with model_type
// "seqlens-rnn", tfjs/model.json and/or onnx/model.onnx), a bare .onnx file with LSTM / GRU / RNN
// operators, or a TensorFlow.js LayersModel (model.json). It turns the user's input (text for a
// character model, numbers for a series model) into the model's input, runs it in its runtime and
// returns every layer's gates.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type * as ortTypes from "onnxruntime-common";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import type { Capability, ModelInfo } from "../../protocol/models";
import type { LoadedModel } from "../families/family";
import { folderFile } from "../formats/folderPaths";
import { layersModelBytes, loadLayersModelFile } from "../formats/tfjsLayersFile";
import { LayerGates, onnxGates, OnnxRecurrentModel, openOnnxRecurrent } from "../probes/gates/onnxGates";
import { CELLS, recurrentLayers, tfjsRun } from "../probes/gates/tfjsGates";
import { gradientNorms, GradientNorms } from "../probes/gradients";
import { ort, ortFailure, ortVersion, physicalCores } from "../runtime/onnx/session";
import { initTfjs } from "../runtime/tfjs/backend";
import type { Cell } from "./recurrentLayer";

export interface Normalisation {
  kind: "zscore" | "diff-zscore";
  mean: number;
  std: number;
}

export interface RecurrentConfig {
  model_type: "seqlens-rnn";
  task: "char-lm" | "forecast";
  cell: string;
  layers: number;
  units: number;
  vocab?: string[];
  unk?: number;
  series?: { file?: string; column?: string; frequency?: string; season?: number; heldoutFrom?: number };
  window?: number;
  features?: number;
  normalisation?: Normalisation;
  metrics?: Record<string, unknown>;
}

export type RecurrentRuntime = "onnx" | "tfjs";

/**
 * A seqlens-rnn config.json's values checked before anything is sized from them: a window of
 * -2147483648 ran the engine out of memory; a vocabulary that is not a list of strings failed deep in
 * a run. Each error names the key and the value.
 */
export function checkRecurrentConfig(c: Record<string, unknown>, file: string): RecurrentConfig {
  const bad = (key: string, want: string) => new EngineError("MODEL_INVALID", `${file}: "${key}" ${want} (${c[key] === undefined ? "it is missing" : `got ${JSON.stringify(c[key])?.slice(0, 60)}`})`);
  const whole = (key: string, max: number, optional: boolean) => {
    const v = c[key];
    if (v === undefined && optional) return;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) throw bad(key, `must be a whole number from 1 to ${max.toLocaleString("en-US")}`);
  };
  whole("layers", 64, true);
  whole("units", 65_536, true);
  whole("window", 1_000_000, true);
  whole("features", 10_000, true);
  if (c.task !== undefined && c.task !== "char-lm" && c.task !== "forecast") throw bad("task", 'must be "char-lm" or "forecast"');
  if (c.vocab !== undefined && (!Array.isArray(c.vocab) || c.vocab.length === 0 || c.vocab.length > 1_000_000 || !c.vocab.every((t) => typeof t === "string"))) throw bad("vocab", "must be a list of the characters the model reads");
  if (c.task === "char-lm" && c.vocab === undefined) throw bad("vocab", "is needed by a character model");
  const n = c.normalisation as Record<string, unknown> | undefined;
  if (n !== undefined) {
    if (typeof n !== "object" || n === null || (n.kind !== "zscore" && n.kind !== "diff-zscore") || typeof n.mean !== "number" || !Number.isFinite(n.mean) || typeof n.std !== "number" || !Number.isFinite(n.std) || n.std <= 0) {
      throw bad("normalisation", 'must be {kind: "zscore" or "diff-zscore", mean: a number, std: a number above 0}');
    }
  }
  return c as unknown as RecurrentConfig;
}

/** What the user gave: text for a character model, numbers (one row of features per step) for a series model. */
export type RecurrentInput = { text: string } | { values: number[][] };

/** The model's input, and for each step where it came from in the user's input. */
export interface EncodedInput {
  steps: number;
  /** Step -> index into the text (character offset) or the series (row). */
  source: number[];
  /** Step -> a label: the character, or the value(s). */
  labels: string[];
  /** The numbers the model reads at each step ([T, F]; character ids for a character model). */
  values: number[][];
}

/** The files a recurrent model was opened from, and what they hold. */
interface RecurrentFiles {
  /** The file the runtime runs (an .onnx or a model.json). */
  file: string;
  /** The runtimes the model has a copy for (a sample folder has both). */
  copies: RecurrentRuntime[];
  /** Recurrent layers in order (a bidirectional one once). */
  layers: { cell: Cell; units: number }[];
  parameters: number;
  /** The TensorFlow.js backend, for a model run there. */
  backend?: string;
}

export class RecurrentModel implements LoadedModel {
  /** Gates always; a character model's next-character scores or a series model's forecasts; gradients where there is a TensorFlow.js copy. */
  readonly capabilities: readonly Capability[];
  /** Recurrent models run on the CPU (their steps are small; the probe's products run in onnxruntime). */
  readonly device = "cpu" as const;

  private constructor(
    readonly path: string,
    readonly name: string,
    readonly runtime: RecurrentRuntime,
    readonly config: RecurrentConfig | undefined,
    readonly inputKind: "text" | "series",
    readonly features: number,
    private readonly files: RecurrentFiles,
    readonly family: string,
    private onnxModel?: OnnxRecurrentModel,
    private tfModel?: tf.LayersModel,
    private readonly onnxInput?: { name: string; layout: "btf" | "tbf" | "bt-ids" },
  ) {
    this.capabilities = ["gates", inputKind === "text" ? "nextToken" : "forecast", ...(files.copies.includes("tfjs") ? (["gradients"] as const) : [])];
  }

  /**
   * Opens the recurrent model at `p` in runtime `prefer` (an error when it has no copy for it), else
   * in ONNX when it has an ONNX copy. `family` names the family that asked (families/recurrent*.ts).
   */
  static async open(p: string, prefer?: RecurrentRuntime, family?: string): Promise<RecurrentModel> {
    const abs = path.resolve(p);
    if (!fs.existsSync(abs)) throw new EngineError("MODEL_NOT_FOUND", `model not found: ${abs}`);
    let dir = abs;
    let onnxFile: string | undefined;
    let tfjsFile: string | undefined;
    let config: RecurrentConfig | undefined;
    if (fs.statSync(abs).isFile()) {
      if (abs.endsWith(".onnx")) onnxFile = abs;
      else if (abs.endsWith(".json")) tfjsFile = abs;
      else throw new EngineError("MODEL_INVALID", `${abs}: expected a model folder, an .onnx file or a TensorFlow.js model.json`);
      dir = path.dirname(abs);
      if (path.basename(dir) === "onnx" || path.basename(dir) === "tfjs") dir = path.dirname(dir);
    } else {
      // the files of the folder must lie in it (a link out is refused before it is read)
      const cand = [path.join(abs, "onnx", "model.onnx"), path.join(abs, "model.onnx")].find((f) => fs.existsSync(f));
      const tj = [path.join(abs, "tfjs", "model.json"), path.join(abs, "model.json")].find((f) => fs.existsSync(f));
      onnxFile = cand && folderFile(abs, cand);
      tfjsFile = tj && folderFile(abs, tj);
    }
    const cfgFile = path.join(dir, "config.json");
    if (fs.existsSync(cfgFile)) {
      const text = fs.readFileSync(folderFile(dir, cfgFile), "utf8");
      let c: unknown;
      try {
        c = JSON.parse(text);
      } catch (e) {
        throw new EngineError("MODEL_INVALID", `${cfgFile}: not valid JSON (${(e as Error).message})`);
      }
      if (typeof c === "object" && c !== null && (c as { model_type?: unknown }).model_type === "seqlens-rnn") config = checkRecurrentConfig(c as Record<string, unknown>, cfgFile);
    }
    if (!onnxFile && !tfjsFile) throw new EngineError("MODEL_INVALID", `${abs}: no onnx/model.onnx or tfjs/model.json (the gate probe runs recurrent models from ONNX or TensorFlow.js)`);
    const runtime: RecurrentRuntime = prefer === "tfjs" && tfjsFile ? "tfjs" : prefer === "onnx" && onnxFile ? "onnx" : onnxFile ? "onnx" : "tfjs";
    if (prefer && prefer !== runtime) throw new EngineError("MODEL_INVALID", `${abs}: no ${prefer} model here (it has ${runtime})`);
    const name = path.basename(dir) === "" ? abs : fs.statSync(abs).isFile() && !config ? path.basename(abs) : path.basename(dir);
    const inputKind = config?.task === "char-lm" ? "text" : "series";
    const copies = [...(onnxFile ? (["onnx"] as const) : []), ...(tfjsFile ? (["tfjs"] as const) : [])];
    family ??= `recurrent-${runtime}`;
    if (runtime === "onnx") {
      const m = await openOnnx(onnxFile!);
      const inp = m.probe.inputs[0];
      if (!inp) throw new EngineError("MODEL_INVALID", `${onnxFile}: the graph has no input`);
      const isIds = inp.elemType === onnx.TensorProto.DataType.INT64 || inp.elemType === onnx.TensorProto.DataType.INT32;
      if (isIds && inputKind !== "text") throw new EngineError("MODEL_INVALID", `${onnxFile}: the input ${inp.name} takes token ids, but there is no config.json with a vocabulary to turn text into ids`);
      let layout: "btf" | "tbf" | "bt-ids" = "btf";
      if (isIds) layout = "bt-ids";
      else {
        // The first recurrent node reads the graph input directly: its layout says which axis is time.
        const first = m.probe.nodes[0];
        if (readsInputDirectly(onnxFile!, inp.name)) layout = first.layout === 0 ? "tbf" : "btf";
        else layout = inp.dims[0] === 1 || (typeof inp.dims[0] === "string" && /batch|^N$|^B$/i.test(inp.dims[0])) ? "btf" : "tbf";
      }
      if (isIds && config?.vocab) checkVocabulary(cfgFile, config.vocab.length, onnxFile!, embeddingRows(onnxFile!, inp.name));
      const F = isIds ? 1 : typeof inp.dims[2] === "number" ? inp.dims[2] : 1;
      const files: RecurrentFiles = { file: onnxFile!, copies, layers: m.probe.nodes.map((n) => ({ cell: n.cell, units: n.hiddenSize })), parameters: m.probe.parameters };
      return new RecurrentModel(abs, name, "onnx", config, inputKind, F, files, family, m, undefined, { name: inp.name, layout });
    }
    const backend = await initTfjs();
    const model = await loadLayersModelFile(tfjsFile!);
    if (inputKind === "text" && config?.vocab) {
      const embedding = model.layers.find((l) => l.getClassName() === "Embedding");
      const rows = (embedding?.getConfig() as { inputDim?: unknown } | undefined)?.inputDim;
      try {
        checkVocabulary(cfgFile, config.vocab.length, tfjsFile!, typeof rows === "number" ? rows : undefined);
      } catch (e) {
        model.dispose();
        throw e;
      }
    }
    const shape = model.inputs[0].shape;
    const F = inputKind === "text" ? 1 : ((shape[shape.length - 1] as number) ?? 1);
    const layers = recurrentLayers(model).map((l) => ({ cell: CELLS[l.directions[0].rnn.getClassName()], units: (l.directions[0].rnn.getConfig() as { units: number }).units }));
    return new RecurrentModel(abs, name, "tfjs", config, inputKind, F, { file: tfjsFile!, copies, layers, parameters: model.countParams(), backend }, family, undefined, model);
  }

  info(): ModelInfo {
    const { layers, file } = this.files;
    return {
      path: this.path,
      name: this.name,
      family: this.family,
      capabilities: [...this.capabilities],
      modelType: this.config?.model_type ?? [...new Set(layers.map((l) => l.cell))].join("+"),
      nLayer: layers.length,
      nHead: 0,
      nKvHead: 0,
      headDim: 0,
      nEmbd: Math.max(0, ...layers.map((l) => l.units)),
      vocabSize: this.config?.vocab?.length ?? 0,
      nPositions: 0,
      parameters: this.files.parameters,
      runtime: this.runtime === "onnx" ? `onnxruntime-node ${ortVersion()}` : `TensorFlow.js ${tf.version.tfjs} (${this.files.backend})`,
      device: "cpu",
      executionProviders: ["cpu"],
      threads: this.runtime === "onnx" ? physicalCores() : 1,
      hasKvCache: false,
      attention: { found: false, layers: 0, note: `${this.name} is a recurrent model: no attention; its gates show what it keeps and forgets at each step` },
      embeddings: { input: false, output: "none" },
      fileBytes: this.runtime === "onnx" ? fs.statSync(file).size : layersModelBytes(file),
    };
  }

  /** The user's input as the model's input. */
  encode(input: RecurrentInput): EncodedInput {
    if (this.inputKind === "text") {
      if (!("text" in input)) throw new EngineError("BAD_INPUT", `${this.name} is a character model: give it text, not numbers`);
      const vocab = this.config!.vocab!;
      const index = new Map(vocab.map((c, i) => [c, i]));
      const unk = this.config!.unk ?? 0;
      const chars = Array.from(input.text);
      if (chars.length === 0) throw new EngineError("BAD_INPUT", "the text is empty");
      const source: number[] = [];
      let off = 0;
      for (const c of chars) {
        source.push(off);
        off += c.length;
      }
      return { steps: chars.length, source, labels: chars, values: chars.map((c) => [index.get(c) ?? unk]) };
    }
    if (!("values" in input)) throw new EngineError("BAD_INPUT", `${this.name} reads a numeric series: select numbers (a CSV column, an array, one per line), not text`);
    const rows = input.values;
    if (rows.length === 0) throw new EngineError("BAD_INPUT", "the series is empty");
    const F = this.features;
    for (const [i, r] of rows.entries()) {
      if (r.length !== F) throw new EngineError("BAD_INPUT", `row ${i + 1} has ${r.length} values; ${this.name} reads ${F} per step`);
      if (!r.every((v) => Number.isFinite(v))) throw new EngineError("BAD_INPUT", `row ${i + 1} has a value that is not a finite number`);
    }
    const n = this.config?.normalisation;
    const label = (r: number[]) => r.map((v) => String(v)).join(", ");
    if (!n) return { steps: rows.length, source: rows.map((_, i) => i), labels: rows.map(label), values: rows };
    if (n.kind === "zscore") return { steps: rows.length, source: rows.map((_, i) => i), labels: rows.map(label), values: rows.map((r) => r.map((v) => (v - n.mean) / n.std)) };
    // diff-zscore: the model reads z-scored differences; step s reads x[s+1] - x[s].
    if (rows.length < 2) throw new EngineError("BAD_INPUT", `${this.name} reads differences: give it at least two values`);
    const values: number[][] = new Array(rows.length - 1);
    const source: number[] = new Array(rows.length - 1);
    for (let s = 0; s < rows.length - 1; s++) {
      const prev = rows[s];
      values[s] = rows[s + 1].map((v, f) => (v - prev[f] - n.mean) / n.std);
      source[s] = s + 1;
    }
    return { steps: rows.length - 1, source, labels: rows.slice(1).map(label), values };
  }

  /** Runs the model on an encoded input: every layer's gates, and the model's output [T, N]. */
  async run(enc: EncodedInput): Promise<{ layers: LayerGates[]; output: Float32Array; outputWidth: number }> {
    const T = enc.steps;
    if (this.runtime === "onnx") {
      const o = this.onnxInput!;
      const Tensor = ort().Tensor;
      let feed: ortTypes.Tensor;
      if (o.layout === "bt-ids") feed = new Tensor("int64", BigInt64Array.from(enc.values.map((r) => BigInt(r[0]))), [1, T]);
      else feed = new Tensor("float32", flatten(enc.values, this.features), o.layout === "tbf" ? [T, 1, this.features] : [1, T, this.features]);
      return this.using(async () => {
        const m = this.onnxModel!;
        let got: Awaited<ReturnType<typeof onnxGates>>;
        try {
          got = await onnxGates(m, { [o.name]: feed });
        } catch (e) {
          throw ortFailure(this.files.file, e, "run");
        }
        const first = m.probe.outputs.find((n) => !n.startsWith("seqlens_rnn"));
        const out = first ? got.outputs[first] : undefined;
        return { layers: got.layers, output: out ? (out.data as Float32Array) : new Float32Array(0), outputWidth: out ? Number(out.dims[out.dims.length - 1]) : 0 };
      });
    }
    return this.using(async () => {
      const model = this.tfModel!;
      const x = this.inputKind === "text" ? tf.tensor2d([enc.values.map((r) => r[0])], [1, T], "int32") : tf.tensor3d([enc.values]);
      try {
        // one pass: the gates and the output, layer by layer in chunks of steps (a cancel is heard between them)
        const { layers, output, outputShape } = await tfjsRun(model, x);
        return { layers, output, outputWidth: outputShape[outputShape.length - 1] };
      } finally {
        x.dispose();
      }
    });
  }

  /**
   * The model's output after the last step of each window (windows of encoded steps, all the same
   * length), in one batched run: [windows, N].
   */
  async predictWindows(windows: number[][][]): Promise<{ data: Float32Array; width: number }> {
    const B = windows.length;
    const W = windows[0]?.length ?? 0;
    const F = this.features;
    if (B === 0 || W === 0) return { data: new Float32Array(0), width: 0 };
    const flat = Float32Array.from(windows.flatMap((w) => w.flat()));
    let out: Float32Array;
    let dims: number[];
    if (this.runtime === "onnx") {
      const o = this.onnxInput!;
      if (o.layout === "bt-ids") throw new EngineError("BAD_INPUT", `${this.name} is a character model, not a forecaster`);
      const Tensor = ort().Tensor;
      const feed = o.layout === "tbf" ? new Tensor("float32", transposeBT(flat, B, W, F), [W, B, F]) : new Tensor("float32", flat, [B, W, F]);
      const got = await this.using(async () => {
        const m = this.onnxModel!;
        try {
          const res = await m.session.run({ [o.name]: feed });
          const first = m.probe.outputs.find((n) => !n.startsWith("seqlens_rnn"))!;
          return { data: res[first].data as Float32Array, dims: res[first].dims.map(Number) };
        } catch (e) {
          throw ortFailure(this.files.file, e, "run");
        }
      });
      out = got.data;
      dims = got.dims;
      if (o.layout === "tbf" && dims.length === 3) {
        out = transposeBT(out, dims[0], dims[1], dims[2]); // [T, B, N] -> [B, T, N]
        dims = [dims[1], dims[0], dims[2]];
      }
    } else {
      ({ out, dims } = await this.using(async () => {
        const x = tf.tensor3d(flat, [B, W, F]);
        const y = this.tfModel!.predict(x) as tf.Tensor;
        try {
          return { out: (await y.data()) as Float32Array, dims: y.shape as number[] };
        } finally {
          tf.dispose([x, y]);
        }
      }));
    }
    const N = dims[dims.length - 1];
    if (dims.length === 2) return { data: out, width: N };
    // [B, W, N]: the output after each window's last step
    const last = new Float32Array(B * N);
    for (let b = 0; b < B; b++) last.set(out.subarray((b * W + W - 1) * N, (b * W + W) * N), b * N);
    return { data: last, width: N };
  }

  /** ‖∂y_t/∂x_s‖ for every step s, through TensorFlow.js (the model's tfjs copy). */
  gradientNorms(enc: EncodedInput, outputStep: number): GradientNorms {
    // synchronous: no release can come between this check and the end of the computation
    if (this.released) throw new EngineError("UNKNOWN_HANDLE", `${this.name} was closed to free memory (more models were opened since): ask again, and it is opened anew`);
    if (!this.tfModel) throw new EngineError("BAD_INPUT", `${this.name}: gradient norms are computed by TensorFlow.js; open the model's tfjs copy (runtime "tfjs")`);
    const T = enc.steps;
    const ids = enc.values.map((r) => r[0]);
    const x = this.inputKind === "text" ? tf.tensor2d([ids], [1, T], "int32") : tf.tensor3d([enc.values]);
    try {
      return gradientNorms(this.tfModel, x, outputStep, this.inputKind === "text" ? ids.map((_, t) => (t + 1 < T ? ids[t + 1] : -1)) : undefined);
    } finally {
      x.dispose();
    }
  }

  /** Runs in flight on the model (a release waits for them), and whether one is waiting. */
  private busy = 0;
  private releaseWanted = false;
  /** Whether the runtime's model is released (a run opens it again). */
  released = false;
  /** Times the model was opened again after a release. */
  reopened = 0;
  private reopening?: Promise<void>;

  /**
   * Runs `f` on the runtime's model, opening it again first when it was released (an inspection or a
   * request that holds this model after the open models let it go), and holding off any release
   * until `f` ends: a run is never cut by a release (families/loadedModels.ts).
   */
  private async using<T>(f: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      if (this.released) await (this.reopening ??= this.openAgain().finally(() => (this.reopening = undefined)));
      return await f();
    } finally {
      if (--this.busy === 0 && this.releaseWanted) await this.releaseNow();
    }
  }

  private async openAgain(): Promise<void> {
    if (this.runtime === "onnx") this.onnxModel = await openOnnx(this.files.file);
    else this.tfModel = await loadLayersModelFile(this.files.file);
    this.released = false;
    this.reopened++;
  }

  private async releaseNow(): Promise<void> {
    this.releaseWanted = false;
    const waiting = this.afterRelease.splice(0);
    try {
      if (this.released) return;
      this.released = true;
      const tfModel = this.tfModel;
      const session = this.onnxModel?.session;
      this.tfModel = undefined;
      this.onnxModel = undefined;
      tfModel?.dispose();
      await session?.release();
    } finally {
      for (const done of waiting) done();
    }
  }

  /** Called when a release put off by runs in flight has been done. */
  private readonly afterRelease: (() => void)[] = [];

  /** Releases the runtime's model now, or when the runs in flight end (the promise then resolves after it). */
  async dispose(): Promise<void> {
    if (this.busy === 0) return this.releaseNow();
    this.releaseWanted = true;
    return new Promise<void>((resolve) => this.afterRelease.push(resolve));
  }
}

/** The ONNX recurrent model in `file` with its probe session; a graph onnxruntime will not load is MODEL_INVALID naming the file. */
async function openOnnx(file: string): Promise<OnnxRecurrentModel> {
  try {
    return await openOnnxRecurrent(file);
  } catch (e) {
    throw ortFailure(file, e, "load");
  }
}

/** Rows of the table the graph gathers by its input `name` (a character model's embedding), when it has one. */
function embeddingRows(file: string, name: string): number | undefined {
  const graph = onnx.ModelProto.decode(fs.readFileSync(file)).graph;
  const gather = (graph?.node ?? []).find((n) => n.opType === "Gather" && n.input?.[1] === name);
  const table = gather && (graph?.initializer ?? []).find((t) => t.name === gather.input![0]);
  const rows = table?.dims?.length === 2 ? Number(table.dims[0]) : undefined;
  return rows !== undefined && Number.isSafeInteger(rows) ? rows : undefined;
}

/**
 * A character model's vocabulary must have one character per row of its embedding: with more, a
 * character past the table fails the run (or reads zeros); with fewer, the scores of the next
 * character are labelled with the wrong characters.
 */
function checkVocabulary(configFile: string, vocab: number, modelFile: string, rows: number | undefined): void {
  if (rows === undefined || rows === vocab) return;
  throw new EngineError("MODEL_INVALID", `${configFile}: "vocab" has ${vocab.toLocaleString("en-US")} characters but the embedding in ${modelFile} has ${rows.toLocaleString("en-US")} rows: the vocabulary is not this model's (use the config.json the model was exported with)`);
}

/** Rows of F values as one Float32Array. */
function flatten(rows: number[][], F: number): Float32Array {
  const out = new Float32Array(rows.length * F);
  for (let t = 0; t < rows.length; t++) for (let f = 0; f < F; f++) out[t * F + f] = rows[t][f];
  return out;
}

/** [A, B, F] -> [B, A, F] */
function transposeBT(x: Float32Array, A: number, B: number, F: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) out.set(x.subarray((a * B + b) * F, (a * B + b + 1) * F), (b * A + a) * F);
  return out;
}

/** Whether some recurrent node of the graph reads the graph input `name` as its X, unchanged. */
function readsInputDirectly(file: string, name: string): boolean {
  const model = onnx.ModelProto.decode(fs.readFileSync(file));
  return (model.graph?.node ?? []).some((n) => ["LSTM", "GRU", "RNN"].includes(n.opType ?? "") && n.input?.[0] === name);
}
