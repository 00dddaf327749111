// What a model folder may make SeqLens do: read only files inside it, size nothing from an absurd
// config value or a lying safetensors header, and (in the host) load nothing from an untrusted
// workspace. Each refusal is checked with its exact message, and for the paths that lead out, that
// the file outside was never opened (every fs call that opens a file is watched while the engine runs).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { syncBuiltinESMExports } from "node:module";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { escapesFolder, folderFile, namedFile } from "../../engine/formats/folderPaths";
import { loadLayersModelFile, layersModelBytes } from "../../engine/formats/tfjsLayersFile";
import { checkShapeRanges, normalizeConfig, openModelFolder } from "../../engine/formats/modelFolder";
import { decodeOnnx, readInitializers } from "../../engine/formats/onnxWeights";
import { openCheckpointWeights, SafetensorsFile, writeSafetensors } from "../../engine/formats/safetensors";
import { checkpointToOnnx } from "../../engine/formats/checkpointExport";
import { gqaSharedInputs } from "../../engine/formats/fusedExport";
import { GraphBuilder } from "../../engine/formats/onnxBuilder";
import { seq2seqConfig } from "../../engine/models/seq2seq";
import { modelCandidate } from "../../engine/families/index";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { ROOT, SAMPLE_MODEL, tempDir } from "../helpers";
import { installVscodeMock, state, Uri } from "./vscodeMock";

installVscodeMock();
/* eslint-disable @typescript-eslint/no-require-imports */
const nodeFs = require("node:fs") as typeof import("node:fs");
const models = require("../../extension/models") as typeof import("../../extension/models");
const { webviewHtml } = require("../../extension/webviewHtml") as typeof import("../../extension/webviewHtml");
/* eslint-enable @typescript-eslint/no-require-imports */

/** Asserts `fn` throws (or rejects with) an EngineError of `code` whose message is exactly `message`. */
async function refused(fn: () => unknown, code: string, message: string): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof EngineError, `expected an EngineError, got ${String(error)}`);
  assert.equal(error.message, message);
  assert.equal(error.code, code, error.message);
}

/**
 * The files `fn` opens (readFileSync, openSync, readFile, open, createReadStream, the promise API),
 * as real paths. The engine's modules call these through the fs module object, so they are seen.
 */
async function filesOpenedBy(fn: () => unknown): Promise<string[]> {
  const seen: string[] = [];
  const note = (p: unknown) => {
    if (typeof p !== "string" && !(p instanceof URL) && !Buffer.isBuffer(p)) return; // a descriptor: opened before
    const s = p instanceof URL ? p.pathname : String(p);
    try {
      seen.push(fs.realpathSync(s));
    } catch {
      seen.push(path.resolve(s));
    }
  };
  // the module object itself (the namespace this file imports has getters only)
  const f = nodeFs as unknown as Record<string, (...a: unknown[]) => unknown>;
  const p = nodeFs.promises as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved: [Record<string, (...a: unknown[]) => unknown>, string, (...a: unknown[]) => unknown][] = [];
  const wrap = (obj: Record<string, (...a: unknown[]) => unknown>, name: string) => {
    const orig = obj[name];
    saved.push([obj, name, orig]);
    obj[name] = function (this: unknown, ...args: unknown[]) {
      note(args[0]);
      return orig.apply(this, args);
    };
  };
  for (const n of ["readFileSync", "openSync", "readFile", "open", "createReadStream"]) wrap(f, n);
  for (const n of ["readFile", "open"]) wrap(p, n);
  syncBuiltinESMExports();
  try {
    await fn();
  } catch {
    // the refusal is checked by the caller
  } finally {
    for (const [obj, name, orig] of saved) obj[name] = orig;
    syncBuiltinESMExports();
  }
  return seen;
}

/** Asserts that nothing under `outside` was opened while `fn` ran. */
async function readsNothingIn(outside: string, fn: () => unknown): Promise<void> {
  const opened = await filesOpenedBy(fn);
  const real = fs.realpathSync(outside);
  assert.deepEqual(
    opened.filter((f) => f === real || f.startsWith(real + path.sep)),
    [],
    `opened outside the model's folder: ${opened.join(", ")}`,
  );
}

test("the watch sees what the engine's readers open (so the checks below can fail)", async () => {
  const opened = await filesOpenedBy(() => openModelFolder(SAMPLE_MODEL));
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) assert.ok(opened.includes(fs.realpathSync(path.join(SAMPLE_MODEL, f))), `${f} in ${opened.join(", ")}`);
  const weights = path.join(ROOT, "samples", "models", "co2-lstm", "tfjs", "weights.bin");
  assert.ok((await filesOpenedBy(() => loadLayersModelFile(path.join(path.dirname(weights), "model.json")))).includes(fs.realpathSync(weights)));
  await assert.rejects(readsNothingIn(path.dirname(weights), () => loadLayersModelFile(path.join(path.dirname(weights), "model.json"))), /opened outside the model's folder/);
  assert.deepEqual(await filesOpenedBy(() => undefined), []);
});

// ---- the path checks themselves ----

test("folderPaths: names that are absolute, climb out, or link out are refused naming the name; inside (a link too) passes", () => {
  const root = tempDir("fp");
  const dir = path.join(root, "model");
  const outside = path.join(root, "outside");
  fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "secret.bin"), "secret");
  fs.writeFileSync(path.join(dir, "w.bin"), "w");
  fs.symlinkSync(path.join(outside, "secret.bin"), path.join(dir, "out.bin"));
  fs.symlinkSync(outside, path.join(dir, "outdir"));
  fs.symlinkSync("w.bin", path.join(dir, "in.bin"));
  fs.mkdirSync(path.join(dir, "..odd"));
  fs.writeFileSync(path.join(dir, "..odd", "x.bin"), "x");
  const owner = path.join(dir, "model.json");
  const why = `: refused (it must lie in the model's folder ${dir})`;
  const cases: [unknown, string][] = [
    ["../outside/secret.bin", `${owner}: weight file "../outside/secret.bin" leads outside the model's folder${why}`],
    ["sub/../../outside/secret.bin", `${owner}: weight file "sub/../../outside/secret.bin" leads outside the model's folder${why}`],
    ["/etc/passwd", `${owner}: weight file "/etc/passwd" is an absolute path${why}`],
    ["C:\\Windows\\win.ini", `${owner}: weight file "C:\\\\Windows\\\\win.ini" is an absolute path${why}`],
    ["w.bin\u0000", `${owner}: weight file "w.bin\\u0000" is an absolute path${why}`],
    ["out.bin", `${owner}: weight file "out.bin" is a symbolic link to ${path.join(outside, "secret.bin")}, outside the model's folder${why}`],
    ["outdir/secret.bin", `${owner}: weight file "outdir/secret.bin" is a symbolic link to ${path.join(outside, "secret.bin")}, outside the model's folder${why}`],
    ["", `${owner}: weight file "" is not a file name`],
    [42, `${owner}: weight file 42 is not a file name`],
  ];
  for (const [name, message] of cases) {
    assert.throws(() => namedFile(owner, dir, name, "weight file"), (e: unknown) => e instanceof EngineError && e.code === "MODEL_INVALID" && e.message === message, String(name));
  }
  assert.equal(namedFile(owner, dir, "in.bin", "weight file"), path.join(dir, "in.bin"));
  assert.equal(namedFile(owner, dir, "sub/../w.bin", "weight file"), path.join(dir, "w.bin"));
  assert.equal(namedFile(owner, dir, "..odd/x.bin", "weight file"), path.join(dir, "..odd", "x.bin"), "a name starting with two dots is inside");
  assert.equal(namedFile(owner, dir, "missing.bin", "weight file"), path.join(dir, "missing.bin"), "a missing file is the caller's to report");
  assert.throws(() => folderFile(dir, path.join(dir, "out.bin")), { message: `${path.join(dir, "out.bin")} is a symbolic link to ${path.join(outside, "secret.bin")}, outside the model's folder ${dir}: refused (SeqLens reads only files inside the folder it is given)` });
  assert.throws(() => folderFile(dir, path.join(root, "else.json")), { message: `${path.join(root, "else.json")} lies outside the model's folder ${dir}: refused (SeqLens reads only files inside the folder it is given)` });
  // the folder itself reached through a link: its files are inside it
  fs.symlinkSync(dir, path.join(root, "alias"));
  assert.equal(folderFile(path.join(root, "alias"), path.join(root, "alias", "w.bin")), path.join(root, "alias", "w.bin"));
});

test("the Hugging Face hub cache: a snapshot's links into its repository's own blobs/ pass; blobs/ that is itself a link does not", () => {
  const root = tempDir("hub");
  const repo = path.join(root, "models--org--tiny");
  const snap = path.join(repo, "snapshots", "0123abcd");
  fs.mkdirSync(path.join(snap, "onnx"), { recursive: true });
  fs.mkdirSync(path.join(repo, "blobs"));
  for (const [name, blob] of [["config.json", "c0"], ["tokenizer.json", "t0"], ["tokenizer_config.json", "tc0"]] as const) {
    fs.copyFileSync(path.join(SAMPLE_MODEL, name), path.join(repo, "blobs", blob));
    fs.symlinkSync(path.join("..", "..", "blobs", blob), path.join(snap, name));
  }
  fs.copyFileSync(path.join(SAMPLE_MODEL, "onnx", "model.onnx"), path.join(repo, "blobs", "g0"));
  fs.symlinkSync(path.join("..", "..", "..", "blobs", "g0"), path.join(snap, "onnx", "model.onnx"));
  const folder = openModelFolder(snap);
  assert.equal(folder.config.n_layer, 4);
  assert.equal(folder.onnxFile, path.join(snap, "onnx", "model.onnx"));
  // a link to a blob of another repository is outside
  const other = path.join(root, "models--org--other", "blobs");
  fs.mkdirSync(other, { recursive: true });
  fs.copyFileSync(path.join(SAMPLE_MODEL, "tokenizer.json"), path.join(other, "t1"));
  fs.rmSync(path.join(snap, "tokenizer.json"));
  fs.symlinkSync(path.join(other, "t1"), path.join(snap, "tokenizer.json"));
  assert.equal(escapesFolder(snap, path.join(snap, "tokenizer.json")), path.join(other, "t1"));
  // blobs/ itself a link to somewhere else: nothing in it counts as the repository's
  const root2 = tempDir("hub");
  const repo2 = path.join(root2, "models--org--tiny");
  const snap2 = path.join(repo2, "snapshots", "r");
  const elsewhere = path.join(root2, "elsewhere");
  fs.mkdirSync(snap2, { recursive: true });
  fs.mkdirSync(elsewhere);
  fs.writeFileSync(path.join(elsewhere, "c0"), "{}");
  fs.symlinkSync(elsewhere, path.join(repo2, "blobs"));
  fs.symlinkSync(path.join("..", "..", "blobs", "c0"), path.join(snap2, "config.json"));
  assert.equal(escapesFolder(snap2, path.join(snap2, "config.json")), path.join(elsewhere, "c0"));
});

// ---- TensorFlow.js weightsManifest ----

/** A copy of the co2-lstm sample's TensorFlow.js model in `root/model`, its manifest naming `paths`, and a copy of its weights outside it. */
function tfjsFolder(paths: (dir: string, outside: string) => string[]): { dir: string; modelJson: string; outside: string; names: string[] } {
  const root = tempDir("tfjs");
  const dir = path.join(root, "model");
  const outside = path.join(root, "outside");
  fs.mkdirSync(dir);
  fs.mkdirSync(outside);
  const src = path.join(ROOT, "samples", "models", "co2-lstm", "tfjs");
  fs.copyFileSync(path.join(src, "weights.bin"), path.join(dir, "weights.bin"));
  fs.copyFileSync(path.join(src, "weights.bin"), path.join(outside, "weights.bin"));
  const json = JSON.parse(fs.readFileSync(path.join(src, "model.json"), "utf8"));
  const names = paths(dir, outside);
  json.weightsManifest[0].paths = names;
  const modelJson = path.join(dir, "model.json");
  fs.writeFileSync(modelJson, JSON.stringify(json));
  return { dir, modelJson, outside, names };
}

test("TensorFlow.js weightsManifest paths out of the model's folder (.., absolute, a linked file, a linked folder) are refused before any weight file is read", async () => {
  const cases: [(dir: string, outside: string) => string[], (dir: string, outside: string) => string][] = [
    [() => ["../outside/weights.bin"], (dir) => `"../outside/weights.bin" leads outside the model's folder: refused (it must lie in the model's folder ${dir})`],
    [(_, outside) => [path.join(outside, "weights.bin")], (dir, outside) => `${JSON.stringify(path.join(outside, "weights.bin"))} is an absolute path: refused (it must lie in the model's folder ${dir})`],
    [() => ["weights.bin", "x/../../outside/weights.bin"], (dir) => `"x/../../outside/weights.bin" leads outside the model's folder: refused (it must lie in the model's folder ${dir})`],
    [
      (dir, outside) => (fs.symlinkSync(path.join(outside, "weights.bin"), path.join(dir, "linked.bin")), ["linked.bin"]),
      (dir, outside) => `"linked.bin" is a symbolic link to ${path.join(outside, "weights.bin")}, outside the model's folder: refused (it must lie in the model's folder ${dir})`,
    ],
    [
      (dir, outside) => (fs.symlinkSync(outside, path.join(dir, "shards")), ["shards/weights.bin"]),
      (dir, outside) => `"shards/weights.bin" is a symbolic link to ${path.join(outside, "weights.bin")}, outside the model's folder: refused (it must lie in the model's folder ${dir})`,
    ],
  ];
  for (const [paths, message] of cases) {
    const { dir, modelJson, outside, names } = tfjsFolder(paths);
    await refused(() => loadLayersModelFile(modelJson), "MODEL_INVALID", `${modelJson}: weight file ${message(dir, outside)}`);
    await readsNothingIn(outside, () => loadLayersModelFile(modelJson));
    // the size the model's info reports counts only what lies inside
    const inside = names.includes("weights.bin") ? fs.statSync(path.join(dir, "weights.bin")).size : 0;
    assert.equal(layersModelBytes(modelJson), fs.statSync(modelJson).size + inside);
  }
  // a link that stays inside the folder loads, with the sample's parameters
  await initTfjs();
  const ok = tfjsFolder((dir) => (fs.renameSync(path.join(dir, "weights.bin"), path.join(dir, "real.bin")), fs.symlinkSync("real.bin", path.join(dir, "weights.bin")), ["weights.bin"]));
  const reference = await loadLayersModelFile(path.join(ROOT, "samples", "models", "co2-lstm", "tfjs", "model.json"));
  const m = await loadLayersModelFile(ok.modelJson);
  assert.equal(m.countParams(), reference.countParams());
  assert.ok(m.countParams() > 1000);
});

test("a TensorFlow.js manifest whose shapes do not match its files is refused before the files are read", async () => {
  const { modelJson, dir } = tfjsFolder(() => ["weights.bin"]);
  const json = JSON.parse(fs.readFileSync(modelJson, "utf8"));
  const size = fs.statSync(path.join(dir, "weights.bin")).size;
  json.weightsManifest[0].weights[0].shape = [1_000_000, 1_000_000];
  fs.writeFileSync(modelJson, JSON.stringify(json));
  const opened = await filesOpenedBy(() => loadLayersModelFile(modelJson));
  assert.deepEqual(opened, [fs.realpathSync(modelJson)], "only model.json is read");
  const w0 = json.weightsManifest[0].weights[0];
  await assert.rejects(loadLayersModelFile(modelJson), (e: unknown) => e instanceof EngineError && e.code === "MODEL_INVALID" && new RegExp(`the weight files hold ${size} bytes, the manifest needs \\d+ \\(truncated or mismatched weights\\)$`).test(e.message), w0.name);
  json.weightsManifest[0].weights[0].shape = [-4, 2];
  fs.writeFileSync(modelJson, JSON.stringify(json));
  await refused(() => loadLayersModelFile(modelJson), "MODEL_INVALID", `${modelJson}: weight ${JSON.stringify(w0.name)} has shape [-4,2] (expected a list of sizes >= 0)`);
});

// ---- files of a model folder ----

/** A copy of the sample decoder in `root/model`, and a folder `root/outside` beside it. */
function decoderCopy(): { root: string; dir: string; outside: string } {
  const root = tempDir("folder");
  const dir = path.join(root, "model");
  const outside = path.join(root, "outside");
  fs.cpSync(SAMPLE_MODEL, dir, { recursive: true });
  fs.mkdirSync(outside);
  return { root, dir, outside };
}

/** Moves `rel` of the model folder out of it, and leaves a symbolic link to it in its place. */
function linkOut(dir: string, outside: string, rel: string): string {
  const target = path.join(outside, path.basename(rel));
  fs.renameSync(path.join(dir, rel), target);
  fs.symlinkSync(target, path.join(dir, rel));
  return target;
}

test("config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx that link out of the folder (a file, or the onnx/ folder) are refused before they are read", async () => {
  const why = (dir: string) => `outside the model's folder ${dir}: refused (SeqLens reads only files inside the folder it is given)`;
  for (const rel of ["config.json", "tokenizer.json", "tokenizer_config.json", path.join("onnx", "model.onnx"), "onnx"]) {
    const { dir, outside } = decoderCopy();
    linkOut(dir, outside, rel);
    const file = rel === "onnx" ? path.join(dir, "onnx", "model.onnx") : path.join(dir, rel);
    const real = rel === "onnx" ? path.join(outside, "onnx", "model.onnx") : path.join(outside, path.basename(rel));
    const message = `${file} is a symbolic link to ${real}, ${why(dir)}`;
    await refused(() => openModelFolder(dir), "MODEL_INVALID", message);
    await readsNothingIn(outside, () => openModelFolder(dir));
    if (rel === "config.json") {
      // the first thing any family reads
      await refused(() => modelCandidate(dir), "MODEL_INVALID", message);
      await readsNothingIn(outside, () => modelCandidate(dir));
    }
  }
  // links that stay inside are fine
  const { dir } = decoderCopy();
  fs.renameSync(path.join(dir, "tokenizer.json"), path.join(dir, "tok.json"));
  fs.symlinkSync("tok.json", path.join(dir, "tokenizer.json"));
  assert.ok(openModelFolder(dir).tokenizerJson);
});

test("a recurrent model folder whose config.json or tfjs/model.json links out is refused", async () => {
  const { RecurrentModel } = await import("../../engine/models/recurrent");
  const root = tempDir("rnn");
  const dir = path.join(root, "model");
  const outside = path.join(root, "outside");
  fs.cpSync(path.join(ROOT, "samples", "models", "co2-lstm"), dir, { recursive: true });
  fs.mkdirSync(outside);
  fs.rmSync(path.join(dir, "onnx"), { recursive: true });
  const real = linkOut(dir, outside, path.join("tfjs", "model.json"));
  await refused(() => RecurrentModel.open(dir, "tfjs"), "MODEL_INVALID", `${path.join(dir, "tfjs", "model.json")} is a symbolic link to ${real}, outside the model's folder ${dir}: refused (SeqLens reads only files inside the folder it is given)`);
  await readsNothingIn(outside, () => RecurrentModel.open(dir, "tfjs"));
});

/** Writes initializer `name` of the decoder copy's graph to `rel` (relative to onnx/) as external data. */
function externalizeOne(dir: string, name: RegExp, rel: string): string {
  const file = path.join(dir, "onnx", "model.onnx");
  const model = decodeOnnx(file, fs.readFileSync(file));
  const t = model.graph!.initializer!.find((x) => name.test(x.name!))!;
  const bytes = Buffer.from(t.rawData!);
  fs.mkdirSync(path.dirname(path.join(dir, "onnx", rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, "onnx", rel), bytes);
  t.externalData = [{ key: "location", value: rel }, { key: "offset", value: "0" }, { key: "length", value: String(bytes.length) }];
  t.rawData = new Uint8Array(0);
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return t.name!;
}

test("ONNX external data in a folder that links out of the model's folder is refused, and the data outside is never opened", async () => {
  const { dir, outside } = decoderCopy();
  const name = externalizeOne(dir, /wte\.weight$/, "ext/wte.bin");
  const onnxDir = path.join(dir, "onnx");
  fs.renameSync(path.join(onnxDir, "ext"), path.join(outside, "ext"));
  fs.symlinkSync(path.join(outside, "ext"), path.join(onnxDir, "ext"));
  const file = path.join(onnxDir, "model.onnx");
  await refused(
    () => readInitializers(file),
    "MODEL_INVALID",
    `${file}: initializer ${name} keeps its weights at "ext/wte.bin", a symbolic link to ${path.join(outside, "ext", "wte.bin")}, outside the model's folder: refused (external data must lie in the model's folder, ${onnxDir})`,
  );
  await readsNothingIn(outside, () => readInitializers(file));
});

test("a recurrent ONNX graph with external data: read from inside its folder (the same forecasts as with the weights inside), refused when the location leads out", async () => {
  const { EngineService } = await import("../../engine/service");
  const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
  const sample = path.join(ROOT, "samples", "models", "co2-lstm");
  const values = Array.from({ length: 48 }, (_, i) => [315 + 0.12 * i + 2.5 * Math.sin((2 * Math.PI * i) / 12)]);
  // the forecasts read every weight (rnn1_R among them), and the gates' check says the recomputed states agree
  const gatesOf = async (model: string) => {
    const r = await new EngineService({ providers: "cpu" }).call("forecast", { model, values, horizon: 3, runtime: "onnx" }, ctx);
    return { oneStep: r.oneStep, multiStep: r.multiStep, checks: r.gates.layers.map((l) => l.check.ok) };
  };
  const copy = (location: string) => {
    const root = tempDir("rnn-ext");
    const dir = path.join(root, "model");
    fs.cpSync(sample, dir, { recursive: true });
    fs.mkdirSync(path.join(root, "outside"));
    const file = path.join(dir, "onnx", "model.onnx");
    const model = decodeOnnx(file, fs.readFileSync(file));
    const t = model.graph!.initializer!.find((x) => x.name === "rnn1_R")!;
    fs.writeFileSync(path.join(dir, "onnx", "r.bin"), t.rawData!);
    t.externalData = [{ key: "location", value: location }, { key: "length", value: String(t.rawData!.length) }];
    t.rawData = new Uint8Array(0);
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
    return { dir, file, outside: path.join(root, "outside") };
  };
  const inside = copy("r.bin");
  assert.deepEqual(await gatesOf(inside.dir), await gatesOf(sample));
  const out = copy("../../outside/r.bin");
  fs.copyFileSync(path.join(out.dir, "onnx", "r.bin"), path.join(out.outside, "r.bin"));
  await refused(() => gatesOf(out.dir), "MODEL_INVALID", `${out.file}: initializer rnn1_R keeps its weights at "../../outside/r.bin", which leads outside the model's folder: refused (external data must lie in the model's folder, ${path.join(out.dir, "onnx")})`);
  await readsNothingIn(out.outside, () => gatesOf(out.dir));
});

// ---- safetensors ----

/** A safetensors file of `header` (JSON) and `data`, with an explicit header length when given. */
function rawFile(header: object, data: Uint8Array, length?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(length ?? BigInt(json.length));
  const file = path.join(tempDir("st"), "x.safetensors");
  fs.writeFileSync(file, Buffer.concat([n, json, data]));
  return file;
}

test("safetensors headers that lie (offsets past the file, overlapping tensors, dtype x shape not the byte span, a header longer than the file) are refused with exact messages", async () => {
  const f16 = new Uint8Array(16);
  const cases: [string, (file: string) => string][] = [
    [rawFile({ a: { dtype: "F32", shape: [8], data_offsets: [0, 32] } }, f16), (f) => `${f}: tensor "a" ends at byte 32 of the data, past its 16 bytes (truncated?)`],
    [rawFile({ a: { dtype: "F32", shape: [1_000_000_000], data_offsets: [0, 4_000_000_000] } }, f16), (f) => `${f}: tensor "a" ends at byte 4000000000 of the data, past its 16 bytes (truncated?)`],
    [
      rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, f16),
      (f) => `${f}: tensors "a" and "b" overlap (bytes 8..16 of the data)`,
    ],
    [rawFile({ a: { dtype: "F16", shape: [4], data_offsets: [0, 16] } }, f16), (f) => `${f}: tensor "a" is F16 [4] (8 bytes) but data_offsets [0, 16] hold 16`],
    [rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f16, 10_000n), (f) => `${f}: the safetensors header says it is 10000 bytes, but the file has ${fs.statSync(f).size - 8} after its length (truncated, or not safetensors)`],
    [rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f16, 2n ** 63n), (f) => `${f}: the safetensors header says it is 9223372036854775808 bytes, past the 100000000 read`],
  ];
  for (const [file, message] of cases) await refused(() => SafetensorsFile.open(file), "MODEL_INVALID", message(file));
});

test("a checkpoint folder's model.safetensors, index or shards that link out of it are refused", async () => {
  const tensors = new Map([["a", { shape: [2], data: Float32Array.from([1, 2]) }]]);
  // model.safetensors a link out
  const root = tempDir("ckpt");
  const dir = path.join(root, "model");
  const outside = path.join(root, "outside");
  fs.mkdirSync(dir);
  fs.mkdirSync(outside);
  writeSafetensors(path.join(outside, "model.safetensors"), tensors);
  fs.symlinkSync(path.join(outside, "model.safetensors"), path.join(dir, "model.safetensors"));
  const single = path.join(dir, "model.safetensors");
  await refused(() => openCheckpointWeights(dir), "MODEL_INVALID", `${single} is a symbolic link to ${path.join(outside, "model.safetensors")}, outside the model's folder ${dir}: refused (SeqLens reads only files inside the folder it is given)`);
  await readsNothingIn(outside, () => openCheckpointWeights(dir));
  // a shard in a folder that links out
  fs.rmSync(single);
  fs.symlinkSync(outside, path.join(dir, "shards"));
  const index = path.join(dir, "model.safetensors.index.json");
  fs.writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: { a: "shards/model.safetensors" } }));
  await refused(
    () => openCheckpointWeights(dir),
    "MODEL_INVALID",
    `${index}: shard "shards/model.safetensors" (of tensor "a") is a symbolic link to ${path.join(outside, "model.safetensors")}, outside the folder: refused (shards must lie in ${dir})`,
  );
  await readsNothingIn(outside, () => openCheckpointWeights(dir));
});

// ---- config values ----

test("absurd config values are typed errors naming the key and the value, not allocations", () => {
  const file = "/m/config.json";
  const base = { model_type: "gpt2", n_layer: 4, n_head: 4, n_embd: 128, vocab_size: 4096, n_positions: 512 };
  const cases: [Record<string, unknown>, string][] = [
    [{ n_layer: 40000 }, `${file}: "n_layer" = 40000 is past any model SeqLens can run (at most 1,024)`],
    [{ n_embd: -1 }, `${file}: "n_embd" must be a positive integer (got -1)`],
    [{ vocab_size: 1e12 }, `${file}: "vocab_size" = 1000000000000 is past any model SeqLens can run (at most 4,000,000)`],
    [{ n_positions: 1e9 }, `${file}: "n_positions" = 1000000000 is past any model SeqLens can run (at most 4,194,304)`],
    [{ head_dim: 0 }, `${file}: "head_dim" must be a positive integer (got 0)`],
    [{ num_key_value_heads: 3 }, `${file}: 4 query heads cannot share 3 key/value heads evenly (num_key_value_heads must divide num_attention_heads)`],
    [{ n_layer: "4" }, `${file}: "n_layer" must be a positive integer (got "4")`],
    [{ n_head: 2.5 }, `${file}: "n_head" must be a positive integer (got 2.5)`],
    [{ n_embd: 130 }, `${file}: the width (130) is not divisible by the heads (4) and no head_dim is given`],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => normalizeConfig({ ...base, ...change }, file), (e: unknown) => e instanceof EngineError && e.code === "MODEL_INVALID" && e.message === message, JSON.stringify(change));
  }
  // the checkpoint exporters' keys are checked under their own names, whichever the model uses
  assert.throws(() => checkShapeRanges({ max_position_embeddings: 1e9 }, file), { message: `${file}: "max_position_embeddings" = 1000000000 is past any model SeqLens can run (at most 4,194,304)` });
  assert.throws(() => checkShapeRanges({ num_hidden_layers: -2 }, file), { message: `${file}: "num_hidden_layers" must be a positive integer (got -2)` });
  checkShapeRanges({ ...base, head_dim: null }, file);
});

test("a checkpoint whose config.json is absurd is refused before any weight is looked at; an encoder-decoder's own keys too", async () => {
  const untouched = new Proxy({}, { get: (_, k) => assert.fail(`the weights were asked for ${String(k)}`) }) as Parameters<typeof checkpointToOnnx>[1];
  const llama = { model_type: "llama", hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, intermediate_size: 128, vocab_size: 256 };
  for (const [config, message] of [
    [{ ...llama, max_position_embeddings: 1e9 }, `"max_position_embeddings" = 1000000000 is past any model SeqLens can run (at most 4,194,304)`],
    [{ ...llama, num_hidden_layers: 40000 }, `"num_hidden_layers" = 40000 is past any model SeqLens can run (at most 1,024)`],
    [{ model_type: "gpt2", n_layer: 4, n_head: 4, n_embd: -1, vocab_size: 10, n_positions: 8 }, `"n_embd" must be a positive integer (got -1)`],
  ] as const) {
    const dir = tempDir("absurd");
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
    await refused(() => checkpointToOnnx(dir, untouched), "MODEL_INVALID", `${path.join(dir, "config.json")}: ${message}`);
  }
  const s2s = tempDir("s2s");
  fs.writeFileSync(path.join(s2s, "config.json"), JSON.stringify({ model_type: "marian", d_model: 64, encoder_attention_heads: 4, decoder_attention_heads: 4, decoder_layers: 40000, encoder_layers: 2, vocab_size: 100, max_position_embeddings: 64 }));
  await refused(() => seq2seqConfig(s2s), "MODEL_INVALID", `${path.join(s2s, "config.json")}: "decoder_layers" = 40000 is past any model SeqLens can run (at most 1,024)`);
  // the rotary caches a fused export would allocate are sized before they are
  await refused(() => gqaSharedInputs(new GraphBuilder(), "attention_mask", new Float32Array(64), 1e9), "TOO_LARGE", "the rotary cos / sin caches of 1000000000 positions x 64 frequencies would be 476.84 GiB, past the 2 GiB an ONNX file can hold (max_position_embeddings too large)");
});

test("config values the graph contradicts are refused naming both numbers: the context past the position table (ONNX), and layers, vocabulary, width, context on the TensorFlow.js twin", async () => {
  const { prepareProbe } = await import("../../engine/formats/onnxProbe");
  const { TfjsDecoder } = await import("../../engine/models/tfjsDecoder");
  const configFile = path.join(SAMPLE_MODEL, "config.json");
  const graph = path.join(SAMPLE_MODEL, "onnx", "model.onnx");
  const cfg = normalizeConfig(JSON.parse(fs.readFileSync(configFile, "utf8")), configFile);
  const graphDecides = "the graph decides, so config.json does not describe this model";
  await refused(() => prepareProbe(graph, { ...cfg, n_positions: 1024, configFile }), "MODEL_INVALID", `${configFile} says n_positions = 1024, but the position table (gathered by position_ids) has 512 rows in ${graph}: ${graphDecides}`);
  assert.equal(prepareProbe(graph, { ...cfg, configFile }).attentionOutputs.length, 4, "the sample's own config agrees");
  for (const [change, found] of [
    [{ n_layer: 8 }, "n_layer = 8, but the weights have 4 layers (transformer.h.N)"],
    [{ vocab_size: 5000 }, "vocab_size = 5000, but the token embedding has 4096 rows"],
    [{ n_embd: 256 }, "n_embd = 256, but the token embedding is 128 wide"],
    [{ n_positions: 1024, n_ctx: 1024 }, "n_positions = 1024, but the position table has 512 rows"],
  ] as const) {
    const { dir } = decoderCopy();
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...JSON.parse(fs.readFileSync(configFile, "utf8")), ...change }));
    await refused(() => TfjsDecoder.load(dir), "MODEL_INVALID", `${path.join(dir, "config.json")} says ${found} in ${path.join(dir, "onnx", "model.onnx")}: ${graphDecides}`);
  }
});

// ---- Workspace Trust (extension/models.ts, with vscode stood in for) ----

test("Workspace Trust: a model inside an untrusted workspace (as written, relative, through a link, tfjs:) is not loaded; outside it, or trusted, it is", () => {
  const root = fs.realpathSync(tempDir("trust"));
  const ws = path.join(root, "ws");
  fs.mkdirSync(path.join(ws, "models", "gpt"), { recursive: true });
  fs.mkdirSync(path.join(ws, "..dots"));
  const away = path.join(root, "away");
  fs.mkdirSync(away);
  fs.symlinkSync(path.join(ws, "models", "gpt"), path.join(root, "link-in"));
  state.workspaceFolders = [{ uri: Uri.file(ws) }];
  state.settings.clear();
  try {
    state.isTrusted = false;
    const reason = (p: string) => `SeqLens does not load models from an untrusted workspace (${p}): trust the workspace, or use a bundled sample.`;
    assert.equal(models.untrustedReason(path.join(ws, "models", "gpt")), reason(path.join(ws, "models", "gpt")));
    assert.equal(models.untrustedReason("models/gpt"), reason(path.join(ws, "models", "gpt")));
    assert.equal(models.untrustedReason(`tfjs:${path.join(ws, "models", "gpt")}`), reason(path.join(ws, "models", "gpt")));
    assert.equal(models.untrustedReason(path.join(ws, "..dots")), reason(path.join(ws, "..dots")), "a folder named ..dots is inside");
    assert.equal(models.untrustedReason(ws), reason(ws), "the workspace folder itself");
    assert.equal(models.untrustedReason(path.join(root, "link-in")), reason(path.join(root, "link-in")), "a link from outside into the workspace");
    assert.equal(models.untrustedReason(away), undefined);
    assert.equal(models.untrustedReason(path.join(root, "ws-sibling")), undefined);
    // the active model setting: not loaded, with the sentence; the bundled sample when none is set
    state.settings.set("seqlens.activeModel", path.join(root, "link-in"));
    assert.deepEqual(models.activeModel(ROOT), { error: reason(path.join(root, "link-in")) });
    state.settings.set("seqlens.activeModel", "");
    assert.deepEqual(models.activeModel(ROOT), { path: models.bundledModels(ROOT)[0] });
    state.isTrusted = true;
    assert.equal(models.untrustedReason(path.join(ws, "models", "gpt")), undefined);
  } finally {
    state.isTrusted = true;
    state.workspaceFolders = [];
  }
});

// ---- what a webview may load ----

test("the webview page loads its own bundle only: default-src 'none', scripts by nonce, no eval, no inline style, no remote source", () => {
  const cspSource = "https://file+.vscode-resource.vscode-cdn.net";
  const webview = { cspSource, asWebviewUri: (u: Uri) => ({ toString: () => `${cspSource}${u.fsPath}` }) };
  const html = webviewHtml(webview as never, Uri.file("/ext") as never, "inspector", "seqlens-inspector", "SeqLens Inspector");
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
  assert.ok(csp, html);
  const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual([...directives.keys()].sort(), ["default-src", "font-src", "img-src", "script-src", "style-src"]);
  assert.deepEqual(directives.get("default-src"), ["'none'"], "no connect-src, frame-src, worker-src ...: all none");
  const nonce = /^'nonce-([A-Za-z0-9+/=]{24})'$/.exec(directives.get("script-src")!.join(" "))?.[1];
  assert.ok(nonce, `script-src is one nonce: ${directives.get("script-src")}`);
  assert.ok(!csp.includes("unsafe-eval") && !csp.includes("wasm-unsafe-eval"), csp);
  for (const [k, v] of directives) for (const s of v) assert.ok(["'none'", "data:", webview.cspSource].includes(s) || s.startsWith("'nonce-"), `${k} allows ${s}`);
  // no inline style either: the panels set styles through the CSSOM (webview/shared/cssProps.ts)
  assert.deepEqual(directives.get("style-src"), [webview.cspSource]);
  assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-hashes"), csp);
  // the only script is the panel's bundle, with the nonce
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  assert.deepEqual(scripts, [`<script type="module" nonce="${nonce}" src="${webview.cspSource}/ext/dist/webview/inspector.js">`]);
  assert.ok(!/<link\b|<style\b|<img\b|<iframe\b/.test(html), html);
});
