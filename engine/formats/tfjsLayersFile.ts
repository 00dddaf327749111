// A TensorFlow.js LayersModel read from its files (model.json and the weight files its manifest
// names), with no file:// handler needed (that one comes with tfjs-node).
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { EngineError } from "../../protocol/errors";
import { quietly } from "../runtime/tfjs/backend";

export async function loadLayersModelFile(modelJson: string): Promise<tf.LayersModel> {
  let json: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string };
  try {
    json = JSON.parse(fs.readFileSync(modelJson, "utf8"));
  } catch (e) {
    throw new EngineError("MODEL_INVALID", `${modelJson}: not a TensorFlow.js model.json (${(e as Error).message})`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new EngineError("MODEL_INVALID", `${modelJson}: not a TensorFlow.js LayersModel (no modelTopology or weightsManifest)`);
  if (json.format === "graph-model") throw new EngineError("MODEL_INVALID", `${modelJson}: a TensorFlow.js GraphModel; the gate probe reads LayersModels (layers with their weights)`);
  const dir = path.dirname(modelJson);
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const f = path.join(dir, p);
      if (!fs.existsSync(f)) throw new EngineError("MODEL_NOT_FOUND", `${modelJson}: weight file ${p} is missing`);
      buffers.push(fs.readFileSync(f));
    }
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const b of buffers) {
    weightData.set(b, o);
    o += b.byteLength;
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const expected = weightSpecs.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * (w.dtype === "float32" || w.dtype === "int32" || w.dtype === undefined ? 4 : 1), 0);
  if (expected !== total) throw new EngineError("MODEL_INVALID", `${modelJson}: the weight files hold ${total} bytes, the manifest needs ${expected} (truncated or mismatched weights)`);
  try {
    return await quietly(() => tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs, weightData: weightData.buffer })));
  } catch (e) {
    throw new EngineError("MODEL_INVALID", `${modelJson}: TensorFlow.js could not build the model (${(e as Error).message})`);
  }
}

/** The bytes of a LayersModel on disk: its model.json and the weight files its manifest names. */
export function layersModelBytes(modelJson: string): number {
  let paths: string[] = [];
  try {
    const json = JSON.parse(fs.readFileSync(modelJson, "utf8")) as { weightsManifest?: { paths: string[] }[] };
    paths = (json.weightsManifest ?? []).flatMap((g) => g.paths);
  } catch {
    // the model loaded, so this does not happen; count model.json alone
  }
  const dir = path.dirname(modelJson);
  return [modelJson, ...paths.map((p) => path.join(dir, p))].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}
