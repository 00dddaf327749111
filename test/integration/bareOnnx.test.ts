// A bare .onnx (no config.json around it): what a config would say is read from the graph and one
// tiny run of it, and the model gives the numbers of the same weights in their model folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { EngineError } from "../../protocol/errors";
import { noKvCacheCopy, SAMPLE_MODEL, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

/** The sample decoder's graph (without a KV cache) alone in a folder, optionally with its tokenizer beside it. */
async function bareCopy(withTokenizer: boolean): Promise<string> {
  const folder = await noKvCacheCopy();
  const dir = tempDir(withTokenizer ? "bare-tok" : "bare");
  const file = path.join(dir, "decoder.onnx");
  fs.copyFileSync(path.join(folder, "onnx", "model.onnx"), file);
  if (withTokenizer) fs.copyFileSync(path.join(SAMPLE_MODEL, "tokenizer.json"), path.join(dir, "tokenizer.json"));
  return file;
}

test("a bare decoder graph: layers, heads, vocabulary, width, context and causality read from the graph", async () => {
  const s = new EngineService({ providers: "cpu" });
  const info = await s.call("info", { model: await bareCopy(false) }, ctx);
  const folder = await s.call("info", { model: SAMPLE_MODEL }, ctx);
  assert.equal(info.family, "bare-onnx");
  assert.equal(info.modelType, "bare-decoder");
  assert.deepEqual([info.nLayer, info.nHead, info.nKvHead, info.headDim, info.nEmbd, info.vocabSize, info.nPositions], [folder.nLayer, folder.nHead, folder.nKvHead, folder.headDim, folder.nEmbd, folder.vocabSize, folder.nPositions]);
  assert.ok(info.capabilities.includes("generate") && info.capabilities.includes("selfAttention"), info.capabilities.join(","));
});

test("a bare decoder graph on ids: the same next tokens and attention as its model folder; text refused without a tokenizer, read with one", async () => {
  const s = new EngineService({ providers: "cpu" });
  const ids = [445, 400, 1100, 366, 10, 20, 31];
  const bare = await bareCopy(false);
  const a = await s.call("inspect", { model: SAMPLE_MODEL, ids, topK: 5 }, ctx);
  const b = await s.call("inspect", { model: bare, ids, topK: 5 }, ctx);
  assert.deepEqual(b.next!.top.map((t) => t.id), a.next!.top.map((t) => t.id));
  b.next!.top.forEach((t, i) => assert.ok(Math.abs(t.p - a.next!.top[i].p) < 1e-5, `${t.p} vs ${a.next!.top[i].p}`));
  for (const [layer, head] of [[0, 0], [3, 2]]) {
    const [sa, sb] = await Promise.all([s.call("attention", { handle: a.handle, layer, head }, ctx), s.call("attention", { handle: b.handle, layer, head }, ctx)]);
    sb.data.forEach((x, i) => assert.ok(Math.abs(x - sa.data[i]) < 1e-5, `layer ${layer} head ${head} entry ${i}: ${x} vs ${sa.data[i]}`));
  }
  await assert.rejects(s.call("inspect", { model: bare, text: "let x" }, ctx), (e: unknown) => e instanceof EngineError && e.code === "TOKENIZER" && /reads token ids only/.test(e.message));
  const withTok = await bareCopy(true);
  const c = await s.call("inspect", { model: withTok, text: "interface Shape {", topK: 5 }, ctx);
  const d = await s.call("inspect", { model: SAMPLE_MODEL, text: "interface Shape {", topK: 5 }, ctx);
  assert.deepEqual(c.tokens, d.tokens);
  assert.deepEqual(c.next!.top.map((t) => t.id), d.next!.top.map((t) => t.id));
  const g = await s.call("generate", { model: withTok, text: "interface Shape {", maxTokens: 8, greedy: true }, ctx);
  const h = await s.call("generate", { model: SAMPLE_MODEL, text: "interface Shape {", maxTokens: 8, greedy: true }, ctx);
  assert.deepEqual(g.tokens.map((t) => t.id), h.tokens.map((t) => t.id));
});
