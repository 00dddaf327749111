// Cancelling the long runs on recurrent models (ONNX and TensorFlow.js) and the int8 copy, through the
// typed client and a real engine process: the engine stops the work part-way (it says so, with how
// long after the cancel), the caller hears CANCELLED well before the client's own grace would free it
// and the same engine answers the next request, and a cancelled int8 copy leaves nothing behind: the
// folder it made is removed, a folder that was there is left as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineClient } from "../../engine/client";
import { DataType, GraphBuilder } from "../../engine/formats/onnxBuilder";
import { EngineError } from "../../protocol/errors";
import type { Method, Params, Progress } from "../../protocol/engine";
import { ENGINE_JS, ROOT, SAMPLE_MODEL, tempDir } from "../helpers";

const SERIES_MODEL = path.join(ROOT, "samples", "models", "co2-lstm");

/** 20,001 rows of a rising wave: the engine reads the last 20,000 steps at once. */
const LONG_SERIES = Array.from({ length: 20_001 }, (_, i) => [300 + i * 0.01 + Math.sin(i / 6)]);

/** A client whose own grace is far off: a CANCELLED that comes sooner is the engine's answer. */
function client(): EngineClient & { logs: string[] } {
  const logs: string[] = [];
  const c = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu", onLog: (_l, m) => logs.push(m), cancelGraceMs: 20_000, cancelKillMs: 60_000 });
  return Object.assign(c, { logs });
}

/** Resolves when `f()` holds, polling every 10 ms; rejects after `ms`. */
async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Cancelled {
  /** ms from the cancel to the caller's CANCELLED. */
  settledMs: number;
  /** ms from the cancel to the engine's stop, as the engine measured it. */
  stoppedMs: number;
  error: EngineError;
}

/**
 * Runs `method` and cancels it `afterMs` after it is sent (or at the first progress event that
 * `atProgress` picks); the outcome must be a CANCELLED the engine sent after stopping part-way.
 */
async function cancelRun<M extends Method>(c: EngineClient & { logs: string[] }, method: M, params: Params<M>, opts: { afterMs?: number; atProgress?: (p: Progress) => boolean }): Promise<Cancelled> {
  const ac = new AbortController();
  let cancelledAt = 0;
  const cancel = () => {
    if (cancelledAt) return;
    cancelledAt = Date.now();
    ac.abort();
  };
  const logsBefore = c.logs.length;
  const run = c.request(method, params, { signal: ac.signal, onProgress: (p) => opts.atProgress?.(p) && cancel() });
  const timer = opts.atProgress ? undefined : setTimeout(cancel, opts.afterMs ?? 100);
  let error: unknown;
  try {
    await run;
  } catch (e) {
    error = e;
  } finally {
    clearTimeout(timer);
  }
  const settledMs = Date.now() - cancelledAt;
  assert.ok(cancelledAt > 0, `${method} ended before it was cancelled`);
  assert.ok(error instanceof EngineError && error.code === "CANCELLED", `${method}: expected CANCELLED, got ${String(error)}`);
  assert.equal(error.message, `${method} was cancelled`);
  const word = () => c.logs.slice(logsBefore).find((m) => m.startsWith(`cancelled ${method}:`));
  await until(() => word() !== undefined, 10_000, `the engine's word on the cancelled ${method}`);
  const m = /^cancelled \w+: stopped (\d+) ms after the cancel$/.exec(word()!);
  assert.ok(m, `${method}: the engine did not stop part-way: ${word()}`);
  return { settledMs, stoppedMs: Number(m[1]), error };
}

test("gates and forecasts on 20,000 steps (ONNX) stop part-way when cancelled 100 ms in, and the caller hears it well under a second later", async () => {
  const c = client();
  try {
    // loaded first, so the cancel lands in the run itself
    await c.request("forecast", { model: SERIES_MODEL, values: LONG_SERIES.slice(0, 200), runtime: "onnx", horizon: 2 });
    // the whole run, for scale
    const t0 = Date.now();
    const full = await c.request("gates", { model: SERIES_MODEL, values: LONG_SERIES, runtime: "onnx" });
    const fullMs = Date.now() - t0;
    assert.equal(full.steps, 19_999); // 20,000 rows read, differences
    assert.ok(fullMs > 200, `the whole run took ${fullMs} ms: too short to cancel part-way`);
    void c.request("release", { handle: full.handle });

    const gates = await cancelRun(c, "gates", { model: SERIES_MODEL, values: LONG_SERIES, runtime: "onnx" }, { afterMs: 100 });
    const forecast = await cancelRun(c, "forecast", { model: SERIES_MODEL, values: LONG_SERIES, runtime: "onnx", horizon: 24 }, { afterMs: 100 });
    console.log(`gates (ONNX, 20,000 steps, ${fullMs} ms whole): settled ${gates.settledMs} ms after the cancel, the engine stopped ${gates.stoppedMs} ms after it`);
    console.log(`forecast (ONNX, 20,000 rows): settled ${forecast.settledMs} ms after the cancel, the engine stopped ${forecast.stoppedMs} ms after it`);
    for (const [name, r] of [
      ["gates", gates],
      ["forecast", forecast],
    ] as const) {
      assert.ok(r.settledMs < 1000, `${name}: the caller waited ${r.settledMs} ms`);
      assert.ok(r.stoppedMs < 1000, `${name}: the engine stopped ${r.stoppedMs} ms after the cancel`);
    }
    assert.equal(c.restarts, 0);
    // the engine is free at once: a run after the cancels gives the same numbers as before them
    const again = await c.request("gates", { model: SERIES_MODEL, values: LONG_SERIES.slice(-500), runtime: "onnx" });
    assert.equal(again.steps, 499);
  } finally {
    c.dispose();
  }
});

test("gates in TensorFlow.js on 20,000 steps stop part-way when cancelled a second in, and the same engine answers the next request", async () => {
  const c = client();
  try {
    // loaded first, so the cancel lands in the run itself
    await c.request("gates", { model: SERIES_MODEL, values: LONG_SERIES.slice(0, 50), runtime: "tfjs" });
    const { pid } = await c.request("ping", {});
    const r = await cancelRun(c, "gates", { model: SERIES_MODEL, values: LONG_SERIES, runtime: "tfjs" }, { afterMs: 1000 });
    console.log(`gates (TensorFlow.js, 20,000 steps, cancelled 1 s in): settled ${r.settledMs} ms after the cancel, the engine stopped ${r.stoppedMs} ms after it`);
    // the engine's own stop, between chunks of steps: well before the client's grace (20 s) would free the caller
    assert.ok(r.settledMs < 5000, `the caller waited ${r.settledMs} ms`);
    assert.ok(r.stoppedMs < 5000, `the engine stopped ${r.stoppedMs} ms after the cancel`);
    assert.equal(c.restarts, 0);
    // no restart: the same process answers, and runs the next request
    assert.equal((await c.request("ping", {})).pid, pid);
    const again = await c.request("gates", { model: SERIES_MODEL, values: LONG_SERIES.slice(-300), runtime: "tfjs" });
    assert.equal(again.steps, 299);
    assert.ok(again.layers.every((l) => l.check.ok));
    assert.equal(c.restarts, 0);
  } finally {
    c.dispose();
  }
});

/** A model folder (the tiny sample's config and tokenizer) whose graph is a chain of `n` MatMuls by float weights [k, k]. */
function manyMatMuls(n: number, k: number): string {
  const dir = tempDir("quantize-src");
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(SAMPLE_MODEL, f), path.join(dir, f));
  const g = new GraphBuilder();
  let x = g.input("x", DataType.FLOAT, [1, k]);
  for (let i = 0; i < n; i++) {
    const w = new Float32Array(k * k);
    for (let j = 0; j < w.length; j++) w[j] = Math.sin(j * 0.37 + i) * 0.05;
    x = g.op("MatMul", [x, g.weight(`w${i}`, [k, k], w)], `mm${i}`);
  }
  g.rename(x, "y");
  g.output("y", DataType.FLOAT, [1, k]);
  fs.mkdirSync(path.join(dir, "onnx"));
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), g.model("chain", 17, "test"));
  return dir;
}

test("a cancelled int8 copy stops part-way and removes the folder it made; a folder that was there (empty) stays, empty", async () => {
  const model = manyMatMuls(40, 512);
  const c = client();
  try {
    // a new folder two levels down: the first folder the copy made goes, with all in it
    const base = tempDir("quantize-out");
    const fresh = path.join(base, "new", "int8");
    const atSecond = (p: Progress) => p.kind === "steps" && p.done >= 2;
    const a = await cancelRun(c, "quantize", { model, out: fresh }, { atProgress: atSecond });
    assert.equal(fs.existsSync(path.join(base, "new")), false, "the folders the copy made are removed");
    assert.deepEqual(fs.readdirSync(base), []);

    // an empty folder the user made: it stays, and stays empty
    const existing = path.join(base, "mine");
    fs.mkdirSync(existing);
    const b = await cancelRun(c, "quantize", { model, out: existing }, { atProgress: atSecond });
    assert.equal(fs.statSync(existing).isDirectory(), true, "the folder that was there is left");
    assert.deepEqual(fs.readdirSync(existing), [], "and nothing the copy wrote is left in it");
    console.log(`int8 copy (40 MatMuls of 512 x 512): settled ${a.settledMs} / ${b.settledMs} ms after the cancel, the engine stopped ${a.stoppedMs} / ${b.stoppedMs} ms after it`);
    for (const r of [a, b]) assert.ok(r.settledMs < 1000, `the caller waited ${r.settledMs} ms`);

    // not cancelled, into the same folder: the whole copy, every weight quantised
    const steps: number[] = [];
    const done = await c.request("quantize", { model, out: existing }, { onProgress: (p) => p.kind === "steps" && steps.push(p.done) });
    assert.equal(done.quantized, 40);
    assert.deepEqual(steps, Array.from({ length: 40 }, (_, i) => i + 1));
    assert.deepEqual(fs.readdirSync(existing).sort(), ["config.json", "onnx", "tokenizer.json", "tokenizer_config.json"]);
    assert.deepEqual(fs.readdirSync(path.join(existing, "onnx")), ["model.onnx"]);
    assert.equal(c.restarts, 0);
  } finally {
    c.dispose();
  }
});
