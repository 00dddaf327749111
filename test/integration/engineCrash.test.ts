// The engine process when things go wrong, through the typed client: a stopped engine (SIGSTOP) is
// found by its missing heartbeat, killed and replaced; a long synchronous computation is not taken
// for a hang, but one past the busy bound is; a cancelled run whose engine loop does not run is
// stopped by a restart; a handle from an engine that has stopped is refused; two clients (two windows) and
// racing requests in one get their own results; a cancel of each kind of long operation frees the
// caller and, where the engine can stop part-way, stops the work.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineClient, type EngineClientOptions, type EngineStop } from "../../engine/client";
import { EngineError } from "../../protocol/errors";
import type { Method, Params, Progress } from "../../protocol/engine";
import { FakeDocument, installVscodeMock, Position, Range, Uri, vscode as vscodeMock } from "../unit/vscodeMock";
import { ENGINE_JS, EARLY_MODEL, heldoutText, noKvCacheCopy, ROOT, SAMPLE_MODEL, tempDir } from "../helpers";

const SERIES_MODEL = path.join(ROOT, "samples", "models", "co2-lstm");
const CHAR_MODEL = path.join(ROOT, "samples", "models", "char-lstm");
/** A long series (the forecast test's input). */
const LONG_SERIES = Array.from({ length: 4000 }, (_, i) => [Math.sin(i / 10)]);
/**
 * Text whose input gradients (one synchronous TensorFlow.js tape through every step of the character
 * LSTM) hold the engine's event loop for about two seconds. TensorFlow.js gates runs no longer do:
 * they go in chunks of steps with a break between.
 */
const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `let x${i} = ${i};\n`).join("").slice(0, 400);

function client(opts: EngineClientOptions = {}): EngineClient & { logs: string[]; stops: EngineStop[] } {
  const logs: string[] = [];
  const stops: EngineStop[] = [];
  const c = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu", onLog: (_l, m) => logs.push(m), onStop: (s) => stops.push(s), ...opts });
  return Object.assign(c, { logs, stops });
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof EngineError && e.code === code && (!re || re.test(e.message));

/** Resolves once `pid` is no longer a process (kill(pid, 0) fails), polling every 20 ms up to `ms`. */
async function gone(pid: number, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves when `f()` holds, polling every 10 ms; rejects after `ms`. */
async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs `p` while sampling how long the engine's event loop had not run; the longest such stretch seen. */
async function longestBlock<T>(c: EngineClient, p: Promise<T>): Promise<{ result: T; blockedMs: number }> {
  let blockedMs = 0;
  const timer = setInterval(() => (blockedMs = Math.max(blockedMs, c.loopBlockedMs ?? 0)), 20);
  try {
    return { result: await p, blockedMs };
  } finally {
    clearInterval(timer);
  }
}

test("a stopped engine (SIGSTOP) is found within the hang bound, killed and replaced; the next request works", async () => {
  const c = client({ hangMs: 1500, heartbeatMs: 100 });
  try {
    await c.request("info", { model: SAMPLE_MODEL });
    await until(() => c.loopBlockedMs !== undefined, 10_000, "the engine's first heartbeat");
    const pid = c.pid!;
    process.kill(pid, "SIGSTOP");
    const t0 = Date.now();
    await assert.rejects(c.request("inspect", { model: SAMPLE_MODEL, text: "const a = 1;" }), isCode("PROCESS_DIED", /stopped responding \(no sign of life for [\d.]+ s\) and was restarted.*run it again/));
    const took = Date.now() - t0;
    // found after the bound, and not much later: the watch looks at least every hangMs / 4
    assert.ok(took >= 1500 && took < 1500 + 1500, `found after ${took} ms`);
    assert.ok(await gone(pid), "the stopped engine was killed");
    assert.deepEqual(
      c.stops.map((s) => [s.pid, s.killedByClient, s.lost]),
      [[pid, true, 1]],
    );
    const r = await c.request("inspect", { model: SAMPLE_MODEL, text: "const a = 1;" });
    assert.ok(r.tokens.length > 0);
    assert.notEqual(c.pid, pid);
    assert.equal(c.restarts, 1);
  } finally {
    c.dispose();
  }
});

test("a long synchronous computation is not a hang (the heartbeat comes from a worker thread), but one past the busy bound is stopped", async () => {
  // How long the engine's event loop stays blocked in a TensorFlow.js gradient tape, with the default bounds.
  const probe = client({ heartbeatMs: 50 });
  let block: number;
  try {
    await probe.request("gradients", { model: CHAR_MODEL, text: LONG_TEXT.slice(0, 20) }); // loaded
    ({ blockedMs: block } = await longestBlock(probe, probe.request("gradients", { model: CHAR_MODEL, text: LONG_TEXT })));
  } finally {
    probe.dispose();
  }
  assert.ok(block >= 800, `the run blocked the engine's loop for ${block} ms: too short to tell a busy engine from a stopped one`);

  // A hang bound well under that block (and over four beats): the worker's beats keep coming, so the run completes.
  const patient = client({ heartbeatMs: 50, hangMs: Math.round(block / 4) });
  try {
    await patient.request("gradients", { model: CHAR_MODEL, text: LONG_TEXT.slice(0, 20) });
    const { result, blockedMs } = await longestBlock(patient, patient.request("gradients", { model: CHAR_MODEL, text: LONG_TEXT }));
    assert.equal(result.steps, LONG_TEXT.length);
    assert.ok(blockedMs > block / 4, `blocked ${blockedMs} ms, more than the hang bound ${Math.round(block / 4)} ms`);
    assert.equal(patient.restarts, 0);
  } finally {
    patient.dispose();
  }

  // A busy bound under it: the engine is stopped and replaced, and says why.
  const strict = client({ heartbeatMs: 50, busyMs: Math.round(block / 4) });
  try {
    await strict.request("gradients", { model: CHAR_MODEL, text: LONG_TEXT.slice(0, 20) });
    const pid = strict.pid!;
    await assert.rejects(strict.request("gradients", { model: CHAR_MODEL, text: LONG_TEXT }), isCode("PROCESS_DIED", /was busy for [\d.]+ s without a break and was restarted/));
    assert.ok(await gone(pid));
    assert.equal((await strict.request("ping", {})).pid, strict.pid);
    assert.notEqual(strict.pid, pid);
  } finally {
    strict.dispose();
  }
});

test("cancelling a run whose engine loop does not run (it cannot see the cancel): the caller is freed after the grace, and the engine is restarted to stop the work", async () => {
  // the hang bound far off: what ends this engine is the cancel
  const c = client({ heartbeatMs: 100, hangMs: 60_000, cancelGraceMs: 300, cancelKillMs: 800 });
  try {
    await c.request("info", { model: SAMPLE_MODEL });
    const pid = c.pid!;
    // as a synchronous computation that never yields: the engine's event loop does not run
    process.kill(pid, "SIGSTOP");
    const ac = new AbortController();
    const run = c.request("inspect", { model: SAMPLE_MODEL, text: heldoutText(1000) }, { signal: ac.signal });
    const ping = c.request("ping", {}); // queued behind it: lost with the engine
    const t0 = Date.now();
    ac.abort();
    await assert.rejects(run, isCode("CANCELLED", /inspect was cancelled/));
    const freed = Date.now() - t0;
    assert.ok(freed >= 300 && freed < 300 + 700, `the caller was freed ${freed} ms after the cancel`);
    await assert.rejects(ping, isCode("PROCESS_DIED", /was restarted to stop a cancelled run that could not stop by itself; the request was lost: run it again/));
    const restarted = Date.now() - t0;
    assert.ok(restarted >= 800 && restarted < 800 + 1500, `restarted ${restarted} ms after the cancel`);
    assert.ok(await gone(pid), "the engine that could not stop was killed");
    assert.ok(c.logs.some((m) => /^cancelled inspect: the engine's event loop has not run for [\d.]+ s; restarting the engine to stop it$/.test(m)), c.logs.join("\n"));
    assert.equal((await c.request("inspect", { model: SAMPLE_MODEL, text: "x" })).tokens.length, 1);
  } finally {
    c.dispose();
  }
});

test("a handle from an engine that has stopped is refused with a sentence, never read from the new engine's result of the same name", async () => {
  const c = client();
  try {
    const a = await c.request("inspect", { model: SAMPLE_MODEL, text: "let alpha = [1, 2, 3];" });
    process.kill(c.pid!, "SIGKILL");
    await until(() => c.restarts === 1, 5000, "the exit");
    // a panel letting go of what it showed: refused here, and no engine is started for it
    await assert.rejects(c.request("release", { handle: a.handle }), isCode("UNKNOWN_HANDLE"));
    assert.equal(c.pid, undefined);
    const b = await c.request("inspect", { model: SAMPLE_MODEL, text: "x" });
    // the engines name their first inspections alike; the client tells them apart
    assert.equal(a.handle.replace(/@\d+$/, ""), b.handle.replace(/@\d+$/, ""));
    assert.notEqual(a.handle, b.handle);
    await assert.rejects(c.request("attention", { handle: a.handle, layer: 0, head: 0 }), isCode("UNKNOWN_HANDLE", /held by an engine that has since stopped.*run the command again/));
    await assert.rejects(c.request("nextToken", { handle: a.handle, position: 0 }), isCode("UNKNOWN_HANDLE"));
    const slice = await c.request("attention", { handle: b.handle, layer: 0, head: 0 });
    assert.deepEqual(slice.shape, [b.tokens.length, b.tokens.length]);
  } finally {
    c.dispose();
  }
});

test("two clients at once (two windows) each get their own results, and one engine's crash leaves the other's requests alone", async () => {
  const texts = ["interface Shape { area(): number; }", "const xs = [1, 2, 3].map((x) => x * 2);"];
  // references, one at a time
  const ref = client();
  const expected: { tokens: string[]; attention: Float32Array[] }[] = [];
  try {
    for (const text of texts) {
      const r = await ref.request("inspect", { model: SAMPLE_MODEL, text });
      const attention = [];
      for (let h = 0; h < 4; h++) attention.push((await ref.request("attention", { handle: r.handle, layer: 1, head: h })).data);
      expected.push({ tokens: r.tokens.map((t) => t.text), attention });
    }
  } finally {
    ref.dispose();
  }
  const [w1, w2] = [client(), client()];
  try {
    // interleaved: each window inspects its text and asks for every head of layer 1, all at once
    const windows = [w1, w2].map(async (w, i) => {
      const r = await w.request("inspect", { model: SAMPLE_MODEL, text: texts[i] });
      const slices = await Promise.all([0, 1, 2, 3].map((h) => w.request("attention", { handle: r.handle, layer: 1, head: h })));
      return { tokens: r.tokens.map((t) => t.text), attention: slices.map((s) => s.data) };
    });
    const got = await Promise.all(windows);
    assert.notEqual(w1.pid, w2.pid);
    got.forEach((g, i) => {
      assert.deepEqual(g.tokens, expected[i].tokens, `window ${i + 1}'s tokens`);
      g.attention.forEach((a, h) => assert.deepEqual(Array.from(a), Array.from(expected[i].attention[h]), `window ${i + 1}, head ${h}`));
    });
    // window 1's engine dies mid-request; window 2's request in flight meanwhile is answered
    let tokens = 0;
    const dying = w1.request("generate", { model: SAMPLE_MODEL, text: "interface A {", maxTokens: 200, useCache: false }, { onProgress: (p) => p.kind === "token" && ++tokens === 2 && process.kill(w1.pid!, "SIGKILL") });
    const other = w2.request("generate", { model: SAMPLE_MODEL, text: "interface A {", maxTokens: 20, greedy: true });
    await assert.rejects(dying, isCode("PROCESS_DIED", /killed by SIGKILL/));
    const r2 = await other;
    assert.equal(r2.tokens.length, 20);
    assert.equal(w2.restarts, 0);
    assert.equal((await w1.request("inspect", { model: SAMPLE_MODEL, text: texts[0] })).tokens.length, expected[0].tokens.length);
  } finally {
    w1.dispose();
    w2.dispose();
  }
});

test("racing requests in one client: each answered with its own result, a fast one overtaking a slow one", async () => {
  const c = client();
  try {
    const r = await c.request("inspect", { model: SAMPLE_MODEL, text: heldoutText(400) });
    const heads: [number, number][] = [
      [0, 1],
      [3, 2],
      [2, 0],
      [1, 3],
    ];
    const ref: { data: Float32Array }[] = [];
    for (const [layer, head] of heads) ref.push(await c.request("attention", { handle: r.handle, layer, head }));
    const order: string[] = [];
    // a slow projection first, then the slices: the slices come back before it
    const slow = c.request("project", { model: SAMPLE_MODEL, method: "umap", dims: 2 }).then((p) => (order.push("project"), p));
    const fast = heads.map(([layer, head]) => c.request("attention", { handle: r.handle, layer, head }).then((s) => (order.push(`attention ${layer}.${head}`), s)));
    const slices = await Promise.all(fast);
    const projection = await slow;
    assert.equal(order.indexOf("project"), heads.length, order.join(", "));
    slices.forEach((s, i) => assert.deepEqual(Array.from(s.data), Array.from(ref[i].data), `layer ${heads[i][0]} head ${heads[i][1]}`));
    assert.equal(projection.points.length, 4096);
  } finally {
    c.dispose();
  }
});

/** One long operation of each kind, how to cancel it, and whether the engine stops it part-way. */
interface Kind {
  name: string;
  method: Method;
  params: () => Params<Method>;
  /** Cancel at the first progress event (else as soon as it is sent). */
  atProgress?: (p: Progress) => boolean;
  /** The engine stops it part-way (else it runs to its end, or is stopped by a restart). */
  stops: boolean;
}

test("a cancel of each kind of long operation frees the caller at once, and the engine stops the work where it can", async () => {
  const text = heldoutText(3000);
  const out = tempDir("quantize");
  const noCache = await noKvCacheCopy();
  const kinds: Kind[] = [
    { name: "Inspect Selection", method: "inspect", params: () => ({ model: SAMPLE_MODEL, text, maxTokens: 512 }), stops: true },
    { name: "logit lens (Show Embeddings)", method: "lens", params: () => ({ model: SAMPLE_MODEL, text, maxTokens: 512 }), stops: true },
    { name: "generation", method: "generate", params: () => ({ model: SAMPLE_MODEL, text: "interface A {", maxTokens: 300, useCache: false }), atProgress: (p) => p.kind === "token", stops: true },
    // without a KV cache each token runs the whole prompt: the cancel lands inside the completion
    { name: "completion", method: "complete", params: () => ({ model: noCache, prefix: text.slice(0, 1500), maxTokens: 48 }), stops: true },
    { name: "UMAP (Embeddings panel)", method: "project", params: () => ({ model: SAMPLE_MODEL, method: "umap", dims: 3 }), atProgress: (p) => p.kind === "steps", stops: true },
    { name: "Compare Models", method: "compare", params: () => ({ modelA: SAMPLE_MODEL, modelB: EARLY_MODEL, text, maxTokens: 512 }), stops: true },
    { name: "Show Gates (ONNX)", method: "gates", params: () => ({ model: CHAR_MODEL, text }), stops: true },
    { name: "Show Gates (series)", method: "forecast", params: () => ({ model: SERIES_MODEL, values: LONG_SERIES.slice(0, 2000), horizon: 24 }), stops: true },
    { name: "int8 copy", method: "quantize", params: () => ({ model: SAMPLE_MODEL, out: path.join(out, "int8") }), stops: true },
  ];
  const c = client({ cancelGraceMs: 1000 });
  try {
    await c.request("info", { model: SAMPLE_MODEL });
    const table: string[] = [];
    const outcomes = new Map<string, string>();
    let stopped = 0;
    for (const k of kinds) {
      const ac = new AbortController();
      let cancelledAt = 0;
      const cancel = () => {
        if (cancelledAt) return;
        cancelledAt = Date.now();
        ac.abort();
      };
      const logsBefore = c.logs.length;
      const p = c.request(k.method, k.params() as never, { signal: ac.signal, onProgress: (pr) => k.atProgress?.(pr) && cancel() });
      if (!k.atProgress) setImmediate(cancel);
      let outcome: string;
      try {
        const r = (await p) as { stoppedBy?: string };
        outcome = `a result${r.stoppedBy ? ` stopped by ${r.stoppedBy}` : ""}`;
      } catch (e) {
        outcome = e instanceof EngineError ? e.code : String(e);
      }
      const freedMs = Date.now() - cancelledAt;
      // the engine says how the work ended once it has (it may outlast the caller's wait); a full
      // result means the work ended before the cancel reached it, and then there is nothing to say
      const word = () => c.logs.slice(logsBefore).find((m) => m.startsWith(`cancelled ${k.method}:`));
      if (outcome !== "a result") await until(() => word() !== undefined, 60_000, `the engine's word on the cancelled ${k.method}`);
      const said = word() ?? "the work ended before the cancel came";
      table.push(`${k.name}: ${outcome} ${freedMs} ms after the cancel; engine: ${said}`);
      outcomes.set(k.method, outcome);
      // a run that stops part-way ends as cancelled; one that cannot may still hand over its result if
      // it ends within the grace. A quick run (Inspect on a small model) may also end before the cancel
      // reaches the engine: then the engine has nothing to stop and says nothing.
      const beforeCancel = outcome === "a result" && word() === undefined;
      if (k.stops && !beforeCancel) {
        assert.ok(outcome === "CANCELLED" || outcome === "a result stopped by cancelled", `${k.name}: ${outcome}`);
        assert.match(said, /stopped \d+ ms after the cancel/, k.name);
        stopped++;
      } else assert.ok(outcome === "CANCELLED" || outcome === "a result" || outcome === "a result stopped by cancelled", `${k.name}: ${outcome}`);
      assert.ok(freedMs < 1000 + 800, `${k.name}: the caller waited ${freedMs} ms after the cancel`);
      assert.equal(c.restarts, 0, k.name);
    }
    // the long ones (lens, generation, completion, UMAP, compare, gates, forecasts, int8 copies) are cancelled part-way on any machine
    assert.ok(stopped >= kinds.filter((k) => k.stops).length - 1, `only ${stopped} runs were stopped part-way:\n${table.join("\n")}`);
    // a cancelled int8 copy leaves nothing; one that ended before its cancel came is whole
    assert.equal(fs.existsSync(path.join(out, "int8")), outcomes.get("quantize") === "a result", `int8 copy: ${outcomes.get("quantize")}`);
    if (outcomes.get("quantize") === "a result") assert.equal(fs.existsSync(path.join(out, "int8", "onnx", "model.onnx")), true);
    console.log(table.join("\n"));
  } finally {
    c.dispose();
  }
});

// ---- Races in one panel: the Inspector's host side with `vscode` stood in for and the real engine. ----

installVscodeMock();
Object.assign(vscodeMock, {
  ThemeColor: class {
    constructor(readonly id: string) {}
  },
});
Object.assign(vscodeMock.window, { onDidChangeTextEditorSelection: () => ({ dispose() {} }) });
/* eslint-disable @typescript-eslint/no-require-imports */
const { InspectorPanel } = require("../../extension/inspectorPanel") as typeof import("../../extension/inspectorPanel");
/* eslint-enable @typescript-eslint/no-require-imports */

/** A document the panel reads the selection from (FakeDocument has getText). */
const Doc = FakeDocument;

/** A webview panel stand-in: what the host posted, and a way to send it the page's messages. */
function fakePanel() {
  const posted: { type: string; [k: string]: unknown }[] = [];
  let receive: (m: unknown) => unknown = () => undefined;
  const panel = {
    webview: {
      options: {},
      html: "",
      cspSource: "vscode-resource:",
      asWebviewUri: (u: unknown) => u,
      postMessage: (m: { type: string }) => (posted.push(m), Promise.resolve(true)),
      onDidReceiveMessage: (cb: (m: unknown) => unknown) => ((receive = cb), { dispose() {} }),
    },
    iconPath: undefined as unknown,
    onDidDispose: () => ({ dispose() {} }),
    reveal: () => undefined,
  };
  return { panel, posted, send: (m: unknown) => receive(m) };
}

/** The services the panel uses, over a client whose answers to chosen requests are held until released. */
function fakeServices(real: EngineClient, hold: (method: string, params: Record<string, unknown>) => Promise<void> | undefined) {
  const engine = {
    request: (method: Method, params: Params<Method>, opts?: { signal?: AbortSignal }) =>
      real.request(method, params, opts).then(async (r) => {
        await hold(method, params as Record<string, unknown>);
        return r;
      }),
  };
  return {
    context: { extensionUri: Uri.file(ROOT), extensionPath: ROOT },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    host: { get: () => engine, onDidStop: () => ({ dispose() {} }) },
    models: { loaded: () => Promise.resolve() },
    surprisal: { update: () => Promise.resolve() },
    showStatus: () => undefined,
  };
}

/** A promise and its resolve. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

test("in one panel: an Inspect superseded by a newer one never shows over it, and two head requests answered out of order each get their own slice", async () => {
  const real = client();
  try {
    const text = "interface Shape {\n  area(): number;\n}\nconst circle = { r: 2 };\n";
    const doc = new Doc(Uri.file(path.join(tempDir("race"), "shapes.ts")), text);
    const first = new Range(new Position(0, 0), new Position(2, 1));
    const second = new Range(new Position(3, 0), new Position(3, 24));
    // the first inspection's answer is held until the second is shown; the first head slice's until the second's is posted
    const firstAnswer = gate();
    const firstArrived = gate();
    const secondSlicePosted = gate();
    const services = fakeServices(real, (method, params) => {
      if (method === "inspect" && params.text === doc.getText(first)) {
        firstArrived.open();
        return firstAnswer.promise;
      }
      if (method === "attention" && params.layer === 0 && params.head === 1) return secondSlicePosted.promise;
      return undefined;
    });
    const { panel, posted, send } = fakePanel();
    const p = new InspectorPanel(panel as never, services as never);
    const older = p.inspect(doc as never, first as never, SAMPLE_MODEL);
    await firstArrived.promise; // the engine has answered the first; the panel has not seen it yet
    const newer = await p.inspect(doc as never, second as never, SAMPLE_MODEL);
    firstAnswer.open();
    await assert.rejects(older, isCode("CANCELLED", /superseded/));
    const shown = posted.filter((m) => m.type === "inspection") as unknown as { view: { text: string; handle: string } }[];
    assert.deepEqual(
      shown.map((m) => m.view.text),
      [doc.getText(second)],
      "only the newer inspection was shown",
    );
    assert.equal(shown[0].view.handle, newer!.handle);

    // two head requests, the first answered last
    const expected = new Map<string, Float32Array>();
    for (const [layer, head] of [
      [0, 1],
      [3, 2],
    ]) expected.set(`${layer}.${head}`, (await real.request("attention", { handle: newer!.handle, layer, head })).data);
    const a = send({ type: "getAttention", requestId: 11, layer: 0, head: 1 });
    const b = Promise.resolve(send({ type: "getAttention", requestId: 12, layer: 3, head: 2 })).then(() => secondSlicePosted.open());
    await Promise.all([a, b]);
    const replies = posted.filter((m) => m.type === "attention") as unknown as { requestId: number; layer: number; head: number; data: Float32Array; shape: number[] }[];
    assert.deepEqual(
      replies.map((r) => r.requestId),
      [12, 11],
      "answered out of order",
    );
    for (const r of replies) {
      assert.equal(r.requestId, r.layer === 0 ? 11 : 12);
      assert.deepEqual(Array.from(r.data), Array.from(expected.get(`${r.layer}.${r.head}`)!), `request ${r.requestId}: its own head`);
    }
    assert.equal(posted.filter((m) => m.type === "error").length, 0, JSON.stringify(posted.filter((m) => m.type === "error")));
    p.dispose();
  } finally {
    real.dispose();
  }
});
