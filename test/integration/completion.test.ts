// Code completion with the sample decoder, in the engine and through the controller the inline
// completions use (with the real engine process): stop conditions, cancellation within one token,
// a decoder without a KV cache, no completion while the model loads, type-ahead from the cache,
// one request in flight.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineService } from "../../engine/service";
import { EngineClient } from "../../engine/client";
import { DecoderModel } from "../../engine/models/decoder";
import { complete } from "../../engine/completion";
import { CancelLike, CompletionController, CompletionSettings, CompletionState } from "../../extension/completion/controller";
import { ENGINE_JS, heldoutText, noKvCacheCopy, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const DOC = "interface Array<T> {\n    /**\n     * Gets or sets the";

test("line: the completion is greedy generation up to the end of the line, with each token's probability and alternatives", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("complete", { model: SAMPLE_MODEL, prefix: DOC, maxTokens: 48 }, ctx);
  const g = await s.call("generate", { model: SAMPLE_MODEL, text: DOC, maxTokens: r.generated, greedy: true }, ctx);
  assert.equal(r.stoppedBy, "line");
  assert.ok(r.text.length > 0 && !r.text.includes("\n"), JSON.stringify(r.text));
  assert.equal(r.text, g.text.slice(0, g.text.indexOf("\n")));
  assert.equal(r.text, r.tokens.map((t) => t.text).join("").slice(0, r.text.length));
  // independently: one forward over prompt + completion (no KV cache) predicts each completion token with the same p
  const ids = (await s.model(SAMPLE_MODEL)).tokenizer.encode(DOC);
  assert.equal(ids.length, r.promptTokens);
  const insp = await s.call("inspect", { model: SAMPLE_MODEL, ids: [...ids, ...r.tokens.map((t) => t.id)] }, ctx);
  for (const [i, t] of r.tokens.entries()) {
    const nt = await s.call("nextToken", { handle: insp.handle, position: ids.length - 1 + i, topK: 1 }, ctx);
    assert.equal(nt.top[0].id, t.id, `token ${i} is the full forward's argmax`);
    assert.ok(Math.abs(nt.top[0].p - t.p) < 1e-5, `token ${i}: ${t.p} vs ${nt.top[0].p}`);
  }
  r.tokens.forEach((t, i) => {
    assert.equal(t.id, g.tokens[i].id);
    assert.ok(Math.abs(t.p - g.tokens[i].p) < 1e-9, `token ${i}`);
    assert.equal(t.alternatives.length, 5);
    // greedy: the chosen token is the most likely; alternatives follow in order
    assert.ok(t.alternatives.every((a, k) => a.p <= t.p && (k === 0 || a.p <= t.alternatives[k - 1].p) && a.id !== t.id));
  });
});

test("block, suffix, max tokens, max milliseconds, and bad input", async () => {
  const s = new EngineService({ providers: "cpu" });
  const block = await s.call("complete", { model: SAMPLE_MODEL, prefix: "interface Array<T> {\n    ", stopAt: "block", maxTokens: 200 }, ctx);
  assert.ok(["block", "maxTokens"].includes(block.stoppedBy), block.stoppedBy);
  assert.ok(block.text.includes("\n") && !/\n[ \t]*\n/.test(block.text), JSON.stringify(block.text));
  for (const l of block.text.split("\n").slice(1)) assert.ok(/^ {4}/.test(l), `a line indented less than the cursor's: ${JSON.stringify(l)}`);
  // the text after the cursor: where the model writes the closing parenthesis that is already
  // there, the completion stops before it
  const prefix = "interface Array<T> {\n    slice(start?: number, ";
  const free = await s.call("generate", { model: SAMPLE_MODEL, text: prefix, maxTokens: 30, greedy: true }, ctx);
  let depth = 0;
  let close = -1;
  for (let i = 0; i < free.text.length && close < 0; i++) {
    if (free.text[i] === "(") depth++;
    else if (free.text[i] === ")" && depth-- === 0) close = i;
  }
  assert.ok(close > 0 && !free.text.slice(0, close).includes("\n"), `the model should close the parenthesis on the line: ${JSON.stringify(free.text)}`);
  const withSuffix = await s.call("complete", { model: SAMPLE_MODEL, prefix, suffix: "): T[];", maxTokens: 30 }, ctx);
  assert.equal(withSuffix.stoppedBy, "suffix");
  assert.equal(withSuffix.text, free.text.slice(0, close));
  const three = await s.call("complete", { model: SAMPLE_MODEL, prefix: "interface Array<T> {\n    ", stopAt: "block", maxTokens: 3 }, ctx);
  assert.equal(three.generated, 3);
  assert.equal(three.stoppedBy, "maxTokens");
  const quick = await s.call("complete", { model: SAMPLE_MODEL, prefix: heldoutText(1500), stopAt: "block", maxTokens: 100, maxMs: 0.001 }, ctx);
  assert.equal(quick.stoppedBy, "maxMs");
  assert.equal(quick.generated, 1); // the first token is always made (the budget is checked before each next one)
  await assert.rejects(s.call("complete", { model: SAMPLE_MODEL, prefix: "", maxTokens: 5 }, ctx), /nothing before the cursor/);
  await assert.rejects(s.call("complete", { model: SAMPLE_MODEL, prefix: "x", maxTokens: 0 }, ctx), /max tokens must be a positive integer/);
  // longer than the context: the end of the text is kept, with room for the new tokens
  const long = await s.call("complete", { model: SAMPLE_MODEL, prefix: heldoutText(20000), maxTokens: 16 }, ctx);
  assert.ok(long.truncated && long.promptTokens === 512 - 16, JSON.stringify(long.truncated));
  assert.notEqual(long.stoppedBy, "context", "the budget, not the context, ended it");
  const one = await s.call("complete", { model: SAMPLE_MODEL, prefix: heldoutText(20000), maxTokens: 1 }, ctx);
  assert.equal(one.stoppedBy, "maxTokens");
  // a long budget keeps three quarters of the context for the prompt
  const big = await s.call("complete", { model: SAMPLE_MODEL, prefix: heldoutText(20000), maxTokens: 300, maxMs: 5 }, ctx);
  assert.equal(big.promptTokens, 384);
  await assert.rejects(s.call("complete", { model: SAMPLE_MODEL, prefix: "x", maxTokens: 4, alternatives: 2.5 }, ctx), /alternatives must be an integer/);
});

test("cancelling stops generation within one token", async () => {
  const model = await DecoderModel.load(SAMPLE_MODEL, ["cpu"]);
  const ac = new AbortController();
  const forward = model.forward.bind(model);
  let calls = 0;
  model.forward = async (ids, opts) => {
    const out = await forward(ids, opts);
    if (++calls === 4) ac.abort(); // as if the user typed while the fourth token was computed
    return out;
  };
  const r = await complete(model, { model: SAMPLE_MODEL, prefix: "interface Array<T> {\n    ", stopAt: "block", maxTokens: 200 }, ac.signal);
  assert.equal(r.stoppedBy, "cancelled");
  assert.equal(calls, 4);
  assert.equal(r.generated, 4);
  await model.dispose();
});

test("a decoder without a KV cache completes the same, recomputing the sequence each token, and says so", async () => {
  const dir = await noKvCacheCopy();
  const s = new EngineService({ providers: "cpu" });
  const info = await s.call("info", { model: dir }, ctx);
  assert.equal(info.hasKvCache, false);
  const p = { prefix: "interface Array<T> {\n    ", stopAt: "block" as const, maxTokens: 24 };
  const withCache = await s.call("complete", { model: SAMPLE_MODEL, ...p }, ctx);
  const without = await s.call("complete", { model: dir, ...p }, ctx);
  assert.equal(without.kvCache, false);
  assert.equal(withCache.kvCache, true);
  assert.equal(without.text, withCache.text);
  assert.deepEqual(without.tokens.map((t) => t.id), withCache.tokens.map((t) => t.id));
  without.tokens.forEach((t, i) => assert.ok(Math.abs(t.p - withCache.tokens[i].p) < 1e-4, `token ${i}: ${t.p} vs ${withCache.tokens[i].p}`));
});

const settings = (o: Partial<CompletionSettings> = {}): (() => CompletionSettings) => () => ({ enabled: true, debounceMs: 0, maxTokens: 32, maxMs: 5000, stopAt: "line", excludeLanguages: [], ...o });

/** A cancellation token the test cancels. */
function token(): CancelLike & { cancel(): void } {
  const listeners = new Set<() => void>();
  let cancelled = false;
  return {
    get isCancellationRequested() {
      return cancelled;
    },
    onCancellationRequested(l: () => void) {
      listeners.add(l);
      return { dispose: () => listeners.delete(l) };
    },
    cancel() {
      cancelled = true;
      for (const l of [...listeners]) l();
    },
  };
}

/** The real engine process, counting requests in flight at once. */
function countingClient() {
  const c = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  const stats = { inFlight: 0, maxInFlight: 0, complete: 0, info: 0 };
  let onComplete: (() => void)[] = [];
  const request: EngineClient["request"] = (method, params, opts) => {
    if (method === "complete") stats.complete++;
    if (method === "info") stats.info++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const reply = c.request(method, params, opts).finally(() => stats.inFlight--);
    if (method === "complete") for (const f of onComplete.splice(0)) f(); // the request is sent (IPC keeps the order of what follows)
    return reply;
  };
  /** Resolves when the next `complete` request has been sent to the engine; fails after `ms`. */
  const completeSent = (ms = 10_000): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        onComplete = onComplete.filter((f) => f !== done);
        reject(new Error(`no complete request was sent within ${ms} ms`));
      }, ms);
      onComplete.push(done);
    });
  return { client: { request }, stats, completeSent, dispose: () => c.dispose() };
}

async function untilReady(ctl: CompletionController, model: string) {
  for (let i = 0; i < 600 && ctl.ensureModel(model).state === "loading"; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(ctl.ensureModel(model).state, "ready");
}

const query = (prefix: string, suffix = "") => ({ model: SAMPLE_MODEL, uri: "file:///a.ts", languageId: "typescript", offset: prefix.length, prefix, suffix });

test("controller: no completion while the model loads; then one; typing its characters is served from the cache without a new generation", async () => {
  const { client, stats, dispose } = countingClient();
  const states: CompletionState["kind"][] = [];
  try {
    const ctl = new CompletionController(() => client, settings(), (s) => states.push(s.kind));
    assert.equal(await ctl.suggest(query(DOC), token()), undefined);
    // the first keystroke does not wait for the model: it has its answer while the model still loads
    assert.equal(ctl.ensureModel(SAMPLE_MODEL).state, "loading", "the first keystroke does not wait for the model");
    assert.deepEqual(stats, { inFlight: 1, maxInFlight: 1, complete: 0, info: 1 }, "only the model's info is asked for, and it has not come back");
    assert.deepEqual(states, ["loading"]);
    await untilReady(ctl, SAMPLE_MODEL);
    const first = await ctl.suggest(query(DOC), token());
    assert.ok(first && first.text.length > 3 && !first.fromCache, JSON.stringify(first));
    assert.equal(stats.complete, 1);
    assert.deepEqual(states.slice(-3), ["ready", "generating", "ready"]);
    // type the first three predicted characters, one at a time
    for (let k = 1; k <= 3; k++) {
      const s = await ctl.suggest(query(DOC + first.text.slice(0, k)), token());
      assert.ok(s?.fromCache, `after ${k} characters`);
      assert.equal(s!.text, first.text.slice(k));
    }
    assert.equal(stats.complete, 1, "no new generation while typing what was predicted");
    // typing something else asks again
    const other = await ctl.suggest(query(DOC + " zz"), token());
    assert.equal(other?.fromCache, false);
    assert.equal(stats.complete, 2);
    // excluded languages and the switch
    const off = new CompletionController(() => client, settings({ excludeLanguages: ["typescript"] }));
    off.ensureModel(SAMPLE_MODEL);
    await untilReady(off, SAMPLE_MODEL);
    assert.equal(await off.suggest(query(DOC), token()), undefined);
    assert.equal(stats.complete, 2);
  } finally {
    dispose();
  }
});

test("controller: a newer request cancels the older one in the engine (one in flight); cancelling during the debounce sends nothing", async () => {
  const { client, stats, completeSent, dispose } = countingClient();
  try {
    const ctl = new CompletionController(() => client, settings({ stopAt: "block", maxTokens: 400, debounceMs: 0 }));
    ctl.ensureModel(SAMPLE_MODEL);
    await untilReady(ctl, SAMPLE_MODEL);
    const long = "interface Array<T> {\n    ";
    const aSent = completeSent();
    const a = ctl.suggest(query(long), token());
    await aSent; // a's request is with the engine: a cancel sent now reaches it after the request
    // two more while it runs: both wait for it, only the newest goes on
    const b = ctl.suggest(query(long + "/**\n     * "), token());
    const c = ctl.suggest(query(long + "/**\n     * @"), token());
    assert.equal(await a, undefined, "the older request gave way");
    assert.equal(await b, undefined, "so did the one in between");
    assert.ok(await c);
    assert.equal(stats.maxInFlight, 1);
    assert.equal(stats.complete, 2, "a and c reached the engine, b never did");
    // a keystroke during the debounce cancels before anything is sent
    const slow = new CompletionController(() => client, settings({ debounceMs: 300 }));
    slow.ensureModel(SAMPLE_MODEL);
    await untilReady(slow, SAMPLE_MODEL);
    const before = stats.complete;
    const t = token();
    const pending = slow.suggest(query(DOC), t);
    setTimeout(() => t.cancel(), 50);
    assert.equal(await pending, undefined);
    assert.equal(stats.complete, before);
    assert.ok(ctl.last!.generated < 400);
    // cancelled while generating: the engine stops early
    const t2 = token();
    const genSent = completeSent();
    const gen = ctl.suggest(query(long), t2);
    await genSent; // with the engine: the cancel reaches it after the request
    t2.cancel();
    assert.equal(await gen, undefined);
    assert.equal(ctl.last?.stoppedBy, "cancelled");
    assert.ok(ctl.last!.generated < 400, String(ctl.last!.generated));
  } finally {
    dispose();
  }
});

test("controller: after a reset (the model or the settings changed) the old request neither reports state nor fills the cache; a model that failed to load is tried again later", async () => {
  const { client, stats, completeSent, dispose } = countingClient();
  let skew = 0;
  try {
    const states: string[] = [];
    const ctl = new CompletionController(() => client, settings({ stopAt: "block", maxTokens: 200 }), (s) => states.push(s.kind), () => performance.now() + skew);
    ctl.ensureModel(SAMPLE_MODEL);
    await untilReady(ctl, SAMPLE_MODEL);
    const aSent = completeSent();
    const a = ctl.suggest(query("interface Array<T> {\n    "), token());
    await aSent; // with the engine: reset's cancel reaches it after the request
    ctl.reset();
    const mark = states.length;
    assert.equal(await a, undefined);
    assert.deepEqual(states.slice(mark), [], "nothing reported for the model after the reset");
    assert.equal(ctl.cache.size, 0);
    // a folder that is not a model: an error, not retried at once, tried again after a while
    const missing = "/nonexistent/seqlens-model";
    ctl.ensureModel(missing);
    for (let i = 0; i < 100 && ctl.ensureModel(missing).state === "loading"; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(ctl.ensureModel(missing).state, "error");
    assert.match(ctl.ensureModel(missing).message!, /seqlens-model/);
    const infos = stats.info;
    ctl.ensureModel(missing);
    assert.equal(stats.info, infos, "no new attempt at once");
    skew += 10_000;
    assert.equal(ctl.ensureModel(missing).state, "loading");
    assert.equal(stats.info, infos + 1);
  } finally {
    dispose();
  }
});
