// Training TensorFlow.js Layers models for the samples: arguments, saving a LayersModel as
// model.json + weights.bin, checkpoints (model, Adam state, step) and resuming, one clipped training
// step, the learning-rate schedule, and a wasm kernel the embedding's gradient needs.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";

const here = path.dirname(new URL(import.meta.url).pathname);
export const REPO_ROOT = path.resolve(here, "../..");

export function argOf(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

/** A path as written into project files: relative to the repository root, with forward slashes. */
export function repoRelative(p: string): string {
  return path.relative(REPO_ROOT, path.resolve(p)).split(path.sep).join("/");
}

// ---------------------------------------------------------------------------------------------
// Saving and loading tfjs LayersModels as model.json + weights.bin without tfjs-node.

export interface LayersModelFiles {
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

function concatWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (Array.isArray(data)) {
    const total = data.reduce((n, b) => n + b.byteLength, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const b of data) {
      out.set(new Uint8Array(b), o);
      o += b.byteLength;
    }
    return out;
  }
  return new Uint8Array(data as ArrayBuffer);
}

/** Serialises a LayersModel into the files of a tfjs "layers-model" folder (one weights shard). */
export async function layersModelFiles(model: tf.LayersModel): Promise<LayersModelFiles> {
  let files: LayersModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      files = {
        modelJson: {
          modelTopology: a.modelTopology,
          format: "layers-model",
          generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          weightsManifest: [{ paths: ["weights.bin"], weights: a.weightSpecs ?? [] }],
        },
        weights: concatWeightData(a.weightData),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!files) throw new Error("the model was not saved");
  return files;
}

export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<number> {
  const { modelJson, weights } = await layersModelFiles(model);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "model.json"), JSON.stringify(modelJson) + "\n");
  fs.writeFileSync(path.join(dir, "weights.bin"), weights);
  return weights.byteLength;
}

/** Loads a folder written by saveLayersModel (model.json + the shards its manifest names). */
export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of modelJson.weightsManifest as tf.io.WeightsManifestConfig) {
    specs.push(...group.weights);
    for (const p of group.paths) parts.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData }));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: the model folder, the Adam state and the step.

export interface CheckpointState {
  step: number;
  [k: string]: unknown;
}

export async function saveCheckpoint(dir: string, model: tf.LayersModel, opt: tf.Optimizer, state: CheckpointState): Promise<void> {
  const tmp = dir + ".tmp";
  fs.rmSync(tmp, { recursive: true, force: true });
  await saveLayersModel(model, tmp);
  const ow = await opt.getWeights();
  const entries: { name: string; shape: number[] }[] = [];
  const chunks: Buffer[] = [];
  for (const { name, tensor } of ow) {
    entries.push({ name, shape: tensor.shape.slice() });
    const d = (await tensor.data()) as Float32Array;
    chunks.push(Buffer.from(new Float32Array(d).buffer));
  }
  tf.dispose(ow.filter((w) => w.name === "iter").map((w) => w.tensor)); // a fresh scalar; the moments are the optimizer's own
  fs.writeFileSync(path.join(tmp, "optimizer.bin"), Buffer.concat(chunks));
  fs.writeFileSync(path.join(tmp, "state.json"), JSON.stringify({ ...state, optimizer: entries }, null, 2) + "\n");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

/** Restores model weights and Adam moments; returns the saved state, or undefined if there is none. */
export async function loadCheckpoint(dir: string, model: tf.LayersModel, opt: tf.Optimizer): Promise<CheckpointState | undefined> {
  if (!fs.existsSync(path.join(dir, "state.json"))) return undefined;
  const saved = await loadLayersModelFromDir(dir);
  model.setWeights(saved.getWeights());
  saved.dispose();
  const state = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")) as CheckpointState & { optimizer: { name: string; shape: number[] }[] };
  const bin = fs.readFileSync(path.join(dir, "optimizer.bin"));
  const f32 = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let o = 0;
  const named: { name: string; tensor: tf.Tensor }[] = state.optimizer.map(({ name, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(f32.slice(o, o + n), shape);
    o += n;
    return { name, tensor: t };
  });
  // tfjs's Adam matches its moments to variables by position, so gradients must always be applied
  // in the same variable order (model.trainableWeights order).
  await opt.setWeights(named);
  return state;
}

/** Applies one clipped Adam step of `lossFn` over `vars`, in their fixed order; returns the loss. */
export function trainStep(opt: tf.Optimizer, vars: tf.Variable[], lossFn: () => tf.Scalar, clipNorm: number): tf.Scalar {
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(lossFn, vars);
    const norm = tf.sqrt(tf.addN(vars.map((v) => grads[v.name].square().sum())));
    const scale = tf.minimum(1, tf.div(clipNorm, norm.add(1e-6)));
    opt.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name].mul(scale) })));
    return value;
  });
}

export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Cosine decay from `lr` to lr/10 after a linear warm-up. */
export function lrAt(step: number, total: number, lr: number, warmup: number): number {
  if (step < warmup) return (lr * (step + 1)) / warmup;
  return 0.1 * lr + 0.9 * lr * 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(1, total - warmup)));
}

export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

/** Runs `model` on `x` and compares with `reference` outputs; returns the largest absolute difference. */
export async function maxAbsDiff(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): Promise<number> {
  const ya = a.predict(x) as tf.Tensor;
  const yb = b.predict(x) as tf.Tensor;
  const d = (await tf.max(tf.abs(tf.sub(ya, yb))).data())[0];
  tf.dispose([ya, yb]);
  return d;
}

/**
 * The wasm backend has no UnsortedSegmentSum kernel, which the gradient of Gather (the Embedding
 * lookup) needs. This registers a plain TypeScript one for it (only used while training).
 */
export function registerWasmSegmentSum(): void {
  if (tf.getBackend() !== "wasm" || tf.getKernel("UnsortedSegmentSum", "wasm")) return;
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as {
        readSync(id: unknown): ArrayLike<number>;
        makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
      };
      const x = inputs.x as tf.TensorInfo;
      const ids = inputs.segmentIds as tf.TensorInfo;
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
      if (x.dtype !== "float32") throw new Error("UnsortedSegmentSum (wasm, samples/train): float32 only");
      const xv = b.readSync(x.dataId);
      const iv = b.readSync(ids.dataId);
      const nIds = ids.shape.reduce((p, q) => p * q, 1);
      const tail = x.shape.slice(ids.shape.length);
      const inner = tail.reduce((p, q) => p * q, 1);
      const out = b.makeOutput([numSegments, ...tail], "float32");
      const ov = b.typedArrayFromHeap(out);
      ov.fill(0);
      for (let i = 0; i < nIds; i++) {
        const s = iv[i];
        if (s < 0 || s >= numSegments) continue;
        for (let k = 0; k < inner; k++) ov[s * inner + k] += xv[i * inner + k];
      }
      return out;
    },
  });
}


/** Resumes from the last checkpoint in `dir` if there is one: the step and training seconds so far. */
export async function resumeFromCheckpoint(dir: string, model: tf.LayersModel, opt: tf.Optimizer, log: (s: string) => void): Promise<{ step: number; seconds: number }> {
  const resumed = await loadCheckpoint(dir, model, opt);
  if (!resumed) return { step: 0, seconds: 0 };
  const seconds = Number(resumed.seconds ?? 0);
  log(`resuming from step ${resumed.step} (${seconds.toFixed(0)} s of training so far)`);
  return { step: resumed.step, seconds };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
