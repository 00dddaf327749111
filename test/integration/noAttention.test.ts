// A decoder graph without a visible attention Softmax (as with fused attention operators): the
// engine says so clearly and still gives tokens and next-token probabilities.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DataType, GraphBuilder } from "../../engine/formats/onnxBuilder";
import { EngineService } from "../../engine/service";
import { SAMPLE_MODEL, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

/** A bigram "model": logits = embedding(input_ids) @ W, no attention at all. */
function bigramModel(): string {
  const dir = tempDir("bigram");
  const V = 4096;
  const d = 8;
  const g = new GraphBuilder();
  g.input("input_ids", DataType.INT64, ["batch_size", "sequence_length"]);
  const wte = g.weight("wte", [V, d], Float32Array.from({ length: V * d }, (_, i) => Math.sin(i)));
  const w = g.weight("w_out", [d, V], Float32Array.from({ length: V * d }, (_, i) => Math.cos(i * 0.37)));
  const x = g.op("Gather", [wte, "input_ids"], "embed", { axis: 0 });
  g.rename(g.op("MatMul", [x, w], "lm_head"), "logits");
  g.output("logits", DataType.FLOAT, ["batch_size", "sequence_length", V]);
  fs.mkdirSync(path.join(dir, "onnx"));
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), g.model("bigram", 17, "test"));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model_type: "bigram", n_layer: 1, n_head: 1, n_embd: d, vocab_size: V, n_positions: 64 }));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(SAMPLE_MODEL, f), path.join(dir, f));
  return dir;
}

test("no attention in the graph: info says why, inspect works without it, attention requests get NO_ATTENTION", async () => {
  const dir = bigramModel();
  const s = new EngineService({ providers: "cpu" });
  const info = await s.call("info", { model: dir }, ctx);
  assert.equal(info.attention.found, false);
  assert.match(info.attention.note!, /no attention found \(no Softmax whose output multiplies the values/);
  assert.equal(info.hasKvCache, false);
  const r = await s.call("inspect", { model: dir, text: "const x = 1;" }, ctx);
  assert.equal(r.attentionAvailable, false);
  assert.equal(r.next!.top.length, 10);
  await assert.rejects(s.call("attention", { handle: r.handle, layer: 0, head: 0 }, ctx), (e: Error & { code?: string }) => e.code === "NO_ATTENTION" && /no attention found/.test(e.message));
  // Generation works without a KV cache (the whole sequence each step).
  const gen = await s.call("generate", { model: dir, text: "let", maxTokens: 5, greedy: true }, ctx);
  assert.equal(gen.tokens.length, 5);
});
