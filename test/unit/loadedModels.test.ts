// The open models are a bounded cache: at most maxOpen stay open, the least recently used is
// released, a released one opens again when asked for, and a model in use is not released under
// the run that uses it (nor is an onnxruntime session under its runs).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { LoadedModels } from "../../engine/families/loadedModels";
import { RecurrentModel } from "../../engine/models/recurrent";
import { openSession, ort, ReleasableSession } from "../../engine/runtime/onnx/session";
import { ROOT, tempDir } from "../helpers";

const CO2 = path.join(ROOT, "samples", "models", "co2-lstm");
const VALUES = Array.from({ length: 40 }, (_, i) => [315 + Math.sin(i / 2) + i / 12]);

/** `n` copies of the CO2 LSTM, each its own folder (its own model to the cache). */
function copies(n: number): string[] {
  const root = tempDir("lru");
  return Array.from({ length: n }, (_, i) => {
    const dir = path.join(root, `co2-${i}`);
    fs.cpSync(CO2, dir, { recursive: true, filter: (src) => !src.endsWith("README.md") });
    return dir;
  });
}

async function outputOf(m: RecurrentModel): Promise<Float32Array> {
  return (await m.run(m.encode({ values: VALUES }))).output;
}

test("ten models through a cache of three: at most three held, the least recently used released, a released one opens again", async () => {
  const cache = new LoadedModels({ providers: ["cpu"] }, { maxOpen: 3 });
  const dirs = copies(10);
  const opened: RecurrentModel[] = [];
  let most = 0;
  for (const dir of dirs) {
    opened.push((await cache.open(dir)) as RecurrentModel);
    most = Math.max(most, cache.size);
  }
  await cache.releasesEnded();
  assert.equal(most, 3);
  assert.equal(cache.size, 3);
  assert.equal(cache.released, 7);
  assert.deepEqual(opened.map((m) => m.released), [true, true, true, true, true, true, true, false, false, false]);

  // a use makes a model the most recent: opening another then releases the next oldest
  assert.equal(await cache.open(dirs[7]), opened[7]);
  const reference = await outputOf(opened[7]);
  const again = (await cache.open(dirs[0])) as RecurrentModel;
  await cache.releasesEnded();
  assert.notEqual(again, opened[0], "a released model is loaded anew");
  assert.deepEqual([opened[7].released, opened[8].released, opened[9].released], [false, true, false]);
  assert.equal(cache.size, 3);
  // the model loaded again computes what the others (the same weights) do
  assert.deepEqual(await outputOf(again), reference);
});

test("a model in use is not released under its run: the release waits for it, and a later run opens the model again", async () => {
  const cache = new LoadedModels({ providers: ["cpu"] }, { maxOpen: 3 });
  const [a, ...others] = copies(4);
  const model = (await cache.open(a)) as RecurrentModel;
  const enc = model.encode({ values: VALUES });
  const reference = (await model.run(enc)).output;
  // the run starts; before it ends three other models are opened, which makes `model` the least recently used of four
  const running = model.run(enc);
  const loads = others.map((d) => cache.open(d));
  // released at once from the cache (the next request loads it anew); its run goes on
  assert.equal(cache.size, 3);
  assert.equal(cache.released, 1);
  assert.equal(model.released, false, "not while its run is in flight");
  await Promise.all(loads);
  const result = await running;
  assert.deepEqual(result.output, reference, "the run finished on the model it started on");
  await cache.releasesEnded();
  assert.equal(model.released, true, "released once its run ended");
  // an inspection or request that still holds the model: its next run opens it again
  assert.deepEqual((await model.run(enc)).output, reference);
  assert.equal(model.reopened, 1);
  assert.equal(model.released, false);
  await model.dispose();
  assert.equal(model.released, true);
});

test("an onnxruntime session released while a run is pending finishes the run, then a run after the release opens it again", async () => {
  const opened = await openSession(path.join(CO2, "onnx", "model.onnx"), ["cpu"]);
  const session = opened.session as ReleasableSession;
  assert.ok(session instanceof ReleasableSession);
  const feed = { [session.inputNames[0]]: new (ort().Tensor)("float32", Float32Array.from(VALUES.flat()), [1, VALUES.length, 1]) };
  const reference = (await session.run(feed))[session.outputNames[0]].data as Float32Array;
  // onnxruntime-node runs the session in a setImmediate after run() returns: a plain release here failed the run ("Session already disposed.")
  const pending = session.run(feed);
  const released = session.release();
  assert.equal(session.released, false, "the release waits for the run");
  assert.deepEqual((await pending)[session.outputNames[0]].data, reference);
  await released;
  assert.equal(session.released, true);
  assert.deepEqual((await session.run(feed))[session.outputNames[0]].data, reference);
  assert.equal(session.reopened, 1);
  await session.release();
  await session.release(); // twice is harmless
  assert.equal(session.released, true);
});

test("loads in progress are never released: the cache holds more than maxOpen until they end", async () => {
  const cache = new LoadedModels({ providers: ["cpu"] }, { maxOpen: 2 });
  const loads = copies(3).map((d) => cache.open(d));
  assert.equal(cache.size, 3);
  assert.equal(cache.released, 0);
  const models = (await Promise.all(loads)) as RecurrentModel[];
  await cache.releasesEnded();
  assert.equal(cache.size, 2);
  assert.equal(cache.released, 1);
  assert.deepEqual(models.map((m) => m.released), [true, false, false]);
});

test("the cache's size must be a whole number of 1 or more", () => {
  assert.throws(() => new LoadedModels({ providers: ["cpu"] }, { maxOpen: 0 }), /whole number of 1 or more \(got 0\)/);
  assert.equal(new LoadedModels({ providers: ["cpu"] }).maxOpen, 8);
});
