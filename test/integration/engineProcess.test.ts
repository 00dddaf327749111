// The engine in its own process, through the typed client: cancellation, a killed process, restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineClient } from "../../engine/client";
import { EngineError } from "../../protocol/errors";
import { ENGINE_JS, SAMPLE_MODEL } from "../helpers";

test("cancel mid-generation: the request ends early with the tokens so far", async () => {
  const c = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  try {
    const ac = new AbortController();
    let seen = 0;
    const r = await c.request("generate", { model: SAMPLE_MODEL, text: "interface A {", maxTokens: 400, greedy: true, useCache: false }, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.kind === "token" && ++seen === 5) ac.abort();
      },
    });
    assert.equal(r.stoppedBy, "cancelled");
    // The engine checks between tokens; the tokens after the 5th are those made while the cancel
    // message crossed the process boundary.
    assert.ok(r.tokens.length >= 5 && r.tokens.length < 40, `cancel took effect after ${r.tokens.length} tokens`);
  } finally {
    c.dispose();
  }
});

test("kill the engine mid-request: a typed PROCESS_DIED error, and the next request works in a new process", async () => {
  const c = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  try {
    await c.request("info", { model: SAMPLE_MODEL });
    const firstPid = c.pid!;
    let tokens = 0;
    const pending = c.request("generate", { model: SAMPLE_MODEL, text: "interface A {", maxTokens: 400, useCache: false }, {
      onProgress: (p) => {
        if (p.kind === "token" && ++tokens === 3) process.kill(firstPid, "SIGKILL");
      },
    });
    await assert.rejects(pending, (e: unknown) => e instanceof EngineError && e.code === "PROCESS_DIED" && /SIGKILL/.test(e.message));
    const again = await c.request("inspect", { model: SAMPLE_MODEL, text: "const a = 1;" });
    assert.ok(again.tokens.length > 0);
    assert.notEqual(c.pid, firstPid);
    assert.equal(c.restarts, 1);
  } finally {
    c.dispose();
  }
});

test("errors cross the process as typed values; an aborted signal cancels before sending", async () => {
  const c = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  try {
    await assert.rejects(c.request("inspect", { model: SAMPLE_MODEL, text: "" }), (e: unknown) => e instanceof EngineError && e.code === "BAD_INPUT");
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(c.request("ping", {}, { signal: ac.signal }), (e: unknown) => e instanceof EngineError && e.code === "CANCELLED");
    // typed arrays cross as typed arrays
    const r = await c.request("inspect", { model: SAMPLE_MODEL, text: "let x: number;" });
    const slice = await c.request("attention", { handle: r.handle, layer: 0, head: 0 });
    assert.ok(slice.data instanceof Float32Array);
    assert.equal(slice.data.length, r.tokens.length ** 2);
  } finally {
    c.dispose();
  }
});
