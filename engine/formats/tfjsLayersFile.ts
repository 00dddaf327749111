// A TensorFlow.js LayersModel read from its files (model.json and the weight files its manifest
// names), with no file:// handler needed (that one comes with tfjs-node).
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { EngineError } from "../../protocol/errors";
import { quietly } from "../runtime/tfjs/backend";
import { escapesFolder, isAbsoluteName, isInside, namedFile } from "./folderPaths";

export async function loadLayersModelFile(modelJson: string): Promise<tf.LayersModel> {
  let json: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string };
  try {
    json = JSON.parse(fs.readFileSync(modelJson, "utf8"));
  } catch (e) {
    throw new EngineError("MODEL_INVALID", `${modelJson}: not a TensorFlow.js model.json (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new EngineError("MODEL_INVALID", `${modelJson}: model.json is not a TensorFlow.js model (expected an object with modelTopology and weightsManifest; it holds ${json === null ? "null" : Array.isArray(json) ? "a list" : `a ${typeof json}`})`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new EngineError("MODEL_INVALID", `${modelJson}: not a TensorFlow.js LayersModel (no modelTopology or weightsManifest)`);
  if (json.format === "graph-model") throw new EngineError("MODEL_INVALID", `${modelJson}: a TensorFlow.js GraphModel; the gate probe reads LayersModels (layers with their weights)`);
  const dir = path.dirname(modelJson);
  // Every weight file is checked, and the bytes the manifest needs against their sizes, before any is read.
  const files: string[] = [];
  for (const group of json.weightsManifest) {
    if (typeof group !== "object" || group === null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new EngineError("MODEL_INVALID", `${modelJson}: a weightsManifest entry is not {paths: [...], weights: [...]}`);
    for (const p of group.paths) {
      const f = namedFile(modelJson, dir, p, "weight file");
      if (!fs.existsSync(f)) throw new EngineError("MODEL_NOT_FOUND", `${modelJson}: weight file ${p} is missing`);
      if (!fs.statSync(f).isFile()) throw new EngineError("MODEL_INVALID", `${modelJson}: weight file ${p} is not a file`);
      files.push(f);
    }
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  let expected = 0;
  for (const w of weightSpecs) {
    const shape = (w as { shape?: unknown } | null)?.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new EngineError("MODEL_INVALID", `${modelJson}: weight ${JSON.stringify(w?.name)} has shape ${JSON.stringify(shape)} (expected a list of sizes >= 0)`);
    expected += (shape as number[]).reduce((x, y) => x * y, 1) * (w.dtype === "float32" || w.dtype === "int32" || w.dtype === undefined ? 4 : 1);
    if (!Number.isSafeInteger(expected)) throw new EngineError("MODEL_INVALID", `${modelJson}: the manifest's weights add up past any file (weight ${JSON.stringify(w.name)} has shape [${shape.join(", ")}])`);
  }
  const total = files.reduce((a, f) => a + fs.statSync(f).size, 0);
  if (expected !== total) throw new EngineError("MODEL_INVALID", `${modelJson}: the weight files hold ${total} bytes, the manifest needs ${expected} (truncated or mismatched weights)`);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const f of files) {
    const b = fs.readFileSync(f);
    if (o + b.byteLength > total) throw new EngineError("MODEL_INVALID", `${f} grew while it was read`);
    weightData.set(b, o);
    o += b.byteLength;
  }
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
  const dir = path.resolve(path.dirname(modelJson));
  // only the files the load read (inside the folder)
  const files = paths.filter((p) => typeof p === "string" && !isAbsoluteName(p) && isInside(dir, path.resolve(dir, p))).map((p) => path.resolve(dir, p));
  return [modelJson, ...files.filter((f) => escapesFolder(dir, f) === undefined)].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}
