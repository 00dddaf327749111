// A model folder whose files name something outside it, through the engine in its own process and
// through the CLI: an ONNX graph whose external data, and a TensorFlow.js model whose weightsManifest,
// lead out of the folder (by "..", through a linked file, through a linked folder) get the typed
// MODEL_INVALID error naming the path, and nothing outside is read. The files outside are FIFOs with
// no writer: opening one for reading blocks, so an engine that read it would hang on the request
// instead of answering (each request is raced against a deadline that says so).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineClient } from "../../engine/client";
import { decodeOnnx } from "../../engine/formats/onnxWeights";
import { EngineError } from "../../protocol/errors";
import { CLI_JS, ENGINE_JS, ROOT, SAMPLE_MODEL, tempDir } from "../helpers";

/** A FIFO at `file`: stat and realpath see it; opening it for reading blocks until a writer comes, which never does. */
function fifo(file: string): string {
  execFileSync("mkfifo", [file]);
  assert.ok(fs.statSync(file).isFIFO());
  return file;
}

/** `p`, or a rejection saying the engine blocked (it opened a FIFO outside the folder) after `ms`. */
function beforeDeadline<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s: the engine is blocked opening a file outside the model's folder`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** The CLI on `args`: its exit status and stderr, or a failure when it has not ended in 60 s (blocked on a FIFO). */
function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...args, "--ep", "cpu"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`seqlens ${args.join(" ")}: no answer in 60 s: it is blocked opening a file outside the model's folder`));
    }, 60_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

interface Case {
  name: string;
  dir: string;
  message: string;
}

/** Copies of the sample decoder whose token embedding is external data at a location that leads out of the folder. */
function externalDataCases(): Case[] {
  const make = (name: string, location: string, prepare: (onnxDir: string, outside: string) => void, why: (outside: string) => string): Case => {
    const root = tempDir("escape-onnx");
    const dir = path.join(root, "model");
    const outside = path.join(root, "outside");
    fs.cpSync(SAMPLE_MODEL, dir, { recursive: true });
    fs.mkdirSync(outside);
    fifo(path.join(outside, "wte.fifo"));
    const onnxDir = path.join(dir, "onnx");
    const file = path.join(onnxDir, "model.onnx");
    const model = decodeOnnx(file, fs.readFileSync(file));
    const t = model.graph!.initializer!.find((x) => x.name!.endsWith("wte.weight"))!;
    const length = t.rawData!.length;
    t.externalData = [{ key: "location", value: location }, { key: "offset", value: "0" }, { key: "length", value: String(length) }];
    t.rawData = new Uint8Array(0);
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
    prepare(onnxDir, outside);
    return { name, dir, message: `${file}: initializer ${t.name} keeps its weights at "${location}", ${why(outside)}: refused (external data must lie in the model's folder, ${onnxDir})` };
  };
  return [
    make("external data at ../../outside", "../../outside/wte.fifo", () => {}, () => "which leads outside the model's folder"),
    make("external data through a linked file", "wte.bin", (onnxDir, outside) => fs.symlinkSync(path.join(outside, "wte.fifo"), path.join(onnxDir, "wte.bin")), (outside) => `a symbolic link to ${path.join(outside, "wte.fifo")}, outside the model's folder`),
    make("external data through a linked folder", "weights/wte.fifo", (onnxDir, outside) => fs.symlinkSync(outside, path.join(onnxDir, "weights")), (outside) => `a symbolic link to ${path.join(outside, "wte.fifo")}, outside the model's folder`),
  ];
}

/** Copies of the co2-lstm sample's TensorFlow.js model (no ONNX copy) whose weightsManifest leads out of tfjs/. */
function manifestCases(): Case[] {
  const make = (name: string, manifestPath: string, prepare: (tfjsDir: string, outside: string) => void, why: (outside: string) => string): Case => {
    const root = tempDir("escape-tfjs");
    const dir = path.join(root, "model");
    const outside = path.join(root, "outside");
    fs.cpSync(path.join(ROOT, "samples", "models", "co2-lstm"), dir, { recursive: true });
    fs.rmSync(path.join(dir, "onnx"), { recursive: true });
    fs.mkdirSync(outside);
    fifo(path.join(outside, "weights.fifo"));
    const tfjsDir = path.join(dir, "tfjs");
    const modelJson = path.join(tfjsDir, "model.json");
    const json = JSON.parse(fs.readFileSync(modelJson, "utf8"));
    json.weightsManifest[0].paths = [manifestPath];
    fs.writeFileSync(modelJson, JSON.stringify(json));
    prepare(tfjsDir, outside);
    return { name, dir, message: `${modelJson}: weight file ${JSON.stringify(manifestPath)} ${why(outside)}: refused (it must lie in the model's folder ${tfjsDir})` };
  };
  return [
    make("weightsManifest at ../../outside", "../../outside/weights.fifo", () => {}, () => "leads outside the model's folder"),
    make("weightsManifest with an absolute path", "/dev/zero", () => {}, () => "is an absolute path"),
    make("weightsManifest through a linked file", "weights.bin", (tfjsDir, outside) => (fs.rmSync(path.join(tfjsDir, "weights.bin")), fs.symlinkSync(path.join(outside, "weights.fifo"), path.join(tfjsDir, "weights.bin"))), (outside) => `is a symbolic link to ${path.join(outside, "weights.fifo")}, outside the model's folder`),
    make("weightsManifest through a linked folder", "shards/weights.fifo", (tfjsDir, outside) => fs.symlinkSync(outside, path.join(tfjsDir, "shards")), (outside) => `is a symbolic link to ${path.join(outside, "weights.fifo")}, outside the model's folder`),
  ];
}

test("through the engine process: external data and weightsManifest paths out of the folder are MODEL_INVALID naming the path, and nothing outside is opened", async () => {
  const c = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  try {
    for (const k of externalDataCases()) {
      await assert.rejects(beforeDeadline(c.request("inspect", { model: k.dir, text: "const a = 1;" }), k.name), (e: unknown) => e instanceof EngineError && e.code === "MODEL_INVALID" && e.message === k.message, k.name);
    }
    for (const k of manifestCases()) {
      await assert.rejects(beforeDeadline(c.request("gates", { model: k.dir, values: [[1], [2], [3]], runtime: "tfjs" }), k.name), (e: unknown) => e instanceof EngineError && e.code === "MODEL_INVALID" && e.message === k.message, k.name);
    }
    // the same engine still answers, on the sample: nothing was left hanging
    const info = await beforeDeadline(c.request("info", { model: SAMPLE_MODEL }), "info on the sample");
    assert.equal(info.nLayer, 4);
  } finally {
    c.dispose();
  }
});

test("through the CLI: the same refusals, exit status 1 with the message, never blocked on the file outside", async () => {
  const [onnxCase] = externalDataCases().slice(1);
  const r = await cli(["inspect", "--model", onnxCase.dir, "--text", "const a = 1;"]);
  assert.equal(r.status, 1, r.stderr);
  assert.ok(r.stderr.split("\n").includes(`seqlens: error: ${onnxCase.message}`), r.stderr);
  const tfjsCase = manifestCases()[3];
  const g = await cli(["gates", "--model", tfjsCase.dir, "--values", "1,2,3", "--runtime", "tfjs"]);
  assert.equal(g.status, 1, g.stderr);
  assert.ok(g.stderr.split("\n").includes(`seqlens: error: ${tfjsCase.message}`), g.stderr);
});
