// Training checkpoints without ONNX: config.json + model.safetensors (or shards) in Hugging Face
// naming. SeqLens builds the graph from the weights; its numbers are those of the ONNX export of the
// same weights (the PyTorch fixtures), and two checkpoints of one run compare.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { openCheckpointWeights, writeShardedSafetensors, type NamedTensor } from "../../engine/formats/safetensors";
import { cacheDir } from "../../engine/formats/onnxProbe";
import { ROOT, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const HF = path.join(ROOT, "test", "fixtures", "hf");

/** A Trainer's output: out/tokenizer*.json, out/checkpoint-N/{config.json, weights} (no ONNX). */
function trainerRun(fixture: string, steps: { name: string; scale?: number; dtype?: "F32" | "F16" | "BF16"; sharded?: boolean }[]): string {
  const out = tempDir(`run-${fixture}`);
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) if (fs.existsSync(path.join(HF, fixture, f))) fs.copyFileSync(path.join(HF, fixture, f), path.join(out, f));
  const src = openCheckpointWeights(path.join(HF, fixture));
  for (const step of steps) {
    const dir = path.join(out, step.name);
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(HF, fixture, "config.json"), path.join(dir, "config.json"));
    const tensors = new Map<string, NamedTensor>();
    for (const n of src.names()) {
      const data = src.read(n);
      // a later checkpoint: the MLPs moved on
      tensors.set(n, { shape: src.shape(n), data: step.scale !== undefined && n.includes("mlp") ? data.map((x) => x * step.scale!) : data });
    }
    writeShardedSafetensors(dir, tensors, { maxShardBytes: step.sharded ? 600_000 : 1e12, dtype: step.dtype ?? "F32" });
    if (!step.sharded) {
      // one shard: name it as save_pretrained does
      const [only] = fs.readdirSync(dir).filter((f) => f.endsWith(".safetensors"));
      fs.renameSync(path.join(dir, only), path.join(dir, "model.safetensors"));
      fs.rmSync(path.join(dir, "model.safetensors.index.json"), { force: true });
    }
  }
  src.close();
  return out;
}

test("a Llama checkpoint folder (tokenizer in the Trainer's output folder) runs as its ONNX export does", async () => {
  const s = new EngineService({ providers: "cpu" });
  const run = trainerRun("llama-gqa", [{ name: "checkpoint-500" }]);
  const ckpt = path.join(run, "checkpoint-500");
  const onnx = path.join(HF, "llama-gqa");
  const info = await s.call("info", { model: ckpt }, ctx);
  assert.equal(info.family, "checkpoint");
  assert.equal(info.form, "checkpoint");
  assert.deepEqual([info.nLayer, info.nHead, info.nKvHead], [3, 4, 2]);
  const text = "She opened the window and saw";
  const [a, b] = [await s.call("inspect", { model: ckpt, text, topK: 5 }, ctx), await s.call("inspect", { model: onnx, text, topK: 5 }, ctx)];
  assert.deepEqual(a.tokens, b.tokens, "the parent folder's tokenizer");
  assert.deepEqual(a.next!.top.map((t) => t.id), b.next!.top.map((t) => t.id));
  a.next!.top.forEach((t, i) => assert.ok(Math.abs(t.p - b.next!.top[i].p) < 1e-5));
  for (let l = 0; l < 3; l++) {
    for (let h = 0; h < 4; h++) {
      const [x, y] = [await s.call("attention", { handle: a.handle, layer: l, head: h }, ctx), await s.call("attention", { handle: b.handle, layer: l, head: h }, ctx)];
      x.data.forEach((w, i) => assert.ok(Math.abs(w - y.data[i]) < 1e-5, `layer ${l} head ${h}`));
    }
  }
  const [g, r] = [await s.call("generate", { model: ckpt, text, maxTokens: 12, greedy: true }, ctx), await s.call("generate", { model: onnx, text, maxTokens: 12, greedy: true }, ctx)];
  assert.deepEqual(g.tokens.map((t) => t.id), r.tokens.map((t) => t.id));
  // the graph is built once and cached by the weights' hash: a second engine reuses it
  const built = () => fs.readdirSync(cacheDir()).filter((f) => f.startsWith("checkpoint-llama-"));
  const before = built();
  await new EngineService({ providers: "cpu" }).call("info", { model: ckpt }, ctx);
  assert.deepEqual(built(), before);
});

test("checkpoint-500 against checkpoint-1000 (sharded, F16) in the Compare panel's method: same tokens, the later MLPs change the predictions", async () => {
  const s = new EngineService({ providers: "cpu" });
  const run = trainerRun("llama-gqa", [{ name: "checkpoint-500" }, { name: "checkpoint-1000", scale: 1.5, dtype: "F16", sharded: true }]);
  assert.ok(fs.existsSync(path.join(run, "checkpoint-1000", "model.safetensors.index.json")));
  const r = await s.call("compare", { modelA: path.join(run, "checkpoint-500"), modelB: path.join(run, "checkpoint-1000"), text: "She opened the window and saw the sea" }, ctx);
  assert.ok(r.tokens.length >= 8, `${r.tokens.length} tokens`);
  assert.ok(r.attentionComparable);
  assert.ok(r.summary.meanJs! > 1e-4, `mean JS ${r.summary.meanJs}`);
  assert.notEqual(r.summary.meanLoss[0], r.summary.meanLoss[1]);
  const same = await s.call("compare", { modelA: path.join(run, "checkpoint-500"), modelB: path.join(run, "checkpoint-500"), text: "She opened the window" }, ctx);
  assert.equal(same.summary.meanJs, 0);
});

test("a BF16 Qwen2 checkpoint (tied head, no lm_head.weight) and a BERT checkpoint: as their ONNX exports", async () => {
  const s = new EngineService({ providers: "cpu" });
  const q = path.join(trainerRun("qwen2-tied", [{ name: "checkpoint-1", dtype: "BF16" }]), "checkpoint-1");
  const [a, b] = [await s.call("inspect", { model: q, ids: [83, 325, 2703, 299, 277], topK: 5 }, ctx), await s.call("inspect", { model: path.join(HF, "qwen2-tied"), ids: [83, 325, 2703, 299, 277], topK: 5 }, ctx)];
  assert.deepEqual(a.next!.top.map((t) => t.id), b.next!.top.map((t) => t.id));
  a.next!.top.forEach((t, i) => assert.ok(Math.abs(t.p - b.next!.top[i].p) < 1e-5));
  const bert = path.join(trainerRun("bert-mlm", [{ name: "checkpoint-7" }]), "checkpoint-7");
  const text = "the [MASK] sat on the [MASK] by the door .";
  const [c, d] = [await s.call("inspect", { model: bert, text, topK: 10 }, ctx), await s.call("inspect", { model: path.join(HF, "bert-mlm"), text, topK: 10 }, ctx)];
  assert.equal((await s.call("info", { model: bert }, ctx)).capabilities.includes("fillMask"), true);
  assert.deepEqual(c.masks!.map((m) => m.top.map((t) => t.id)), d.masks!.map((m) => m.top.map((t) => t.id)));
});

test("a checkpoint with a tensor missing is refused naming the tensor and the file", async () => {
  const s = new EngineService({ providers: "cpu" });
  const dir = path.join(trainerRun("llama-gqa", [{ name: "checkpoint-2" }]), "checkpoint-2");
  const src = openCheckpointWeights(dir);
  const tensors = new Map<string, NamedTensor>();
  for (const n of src.names()) if (n !== "model.layers.1.mlp.up_proj.weight") tensors.set(n, { shape: src.shape(n), data: src.read(n) });
  src.close();
  fs.rmSync(path.join(dir, "model.safetensors"));
  writeShardedSafetensors(dir, tensors, { maxShardBytes: 1e12 });
  await assert.rejects(s.call("info", { model: dir }, ctx), /model\.layers\.1\.mlp\.up_proj\.weight/);
});
