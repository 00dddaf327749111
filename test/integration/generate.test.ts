import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineService } from "../../engine/service";
import { SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

test("KV-cache generation equals no-cache generation token for token (greedy and sampled)", async () => {
  const s = new EngineService({ providers: "cpu" });
  const prompt = "interface PromiseLike<T> {\n    /**\n     * Attaches callbacks";
  for (const sampling of [{ greedy: true }, { greedy: false, temperature: 0.9, topK: 40, topP: 0.95, seed: 42 }]) {
    const withCache = await s.call("generate", { model: SAMPLE_MODEL, text: prompt, maxTokens: 48, useCache: true, ...sampling }, ctx);
    const noCache = await s.call("generate", { model: SAMPLE_MODEL, text: prompt, maxTokens: 48, useCache: false, ...sampling }, ctx);
    assert.equal(withCache.tokens.length, 48);
    assert.deepEqual(withCache.tokens.map((t) => t.id), noCache.tokens.map((t) => t.id));
    for (let i = 0; i < 48; i++) assert.ok(Math.abs(withCache.tokens[i].p - noCache.tokens[i].p) < 1e-4);
    assert.equal(withCache.text, withCache.tokens.map((t) => t.text).join(""));
  }
});

test("sampling with the same seed repeats, another seed differs", async () => {
  const s = new EngineService({ providers: "cpu" });
  const p = { model: SAMPLE_MODEL, text: "declare var ", maxTokens: 24, greedy: false, temperature: 1.2 };
  const a = await s.call("generate", { ...p, seed: 1 }, ctx);
  const b = await s.call("generate", { ...p, seed: 1 }, ctx);
  const c = await s.call("generate", { ...p, seed: 2 }, ctx);
  assert.equal(a.text, b.text);
  assert.notEqual(a.text, c.text);
});

test("generation streams each token and stops at the context limit", async () => {
  const s = new EngineService({ providers: "cpu" });
  const streamed: number[] = [];
  const r = await s.call("generate", { model: SAMPLE_MODEL, text: "x".repeat(3000), maxTokens: 8 }, { ...ctx, progress: (p) => p.kind === "token" && streamed.push(p.token.id) });
  assert.deepEqual(streamed, r.tokens.map((t) => t.id));
  assert.ok(r.truncated && r.truncated.droppedTokens > 0);
  assert.ok(r.promptTokens + r.tokens.length <= 512);
});
