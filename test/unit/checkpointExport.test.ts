// checkpointToOnnx: a checkpoint folder (config.json + model.safetensors) dispatched on model_type,
// exported once into the cache and reused; GPT-2 checkpoints under Hugging Face names (with or
// without "transformer.") give the sample model's own logits; what it refuses, and how it says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { EngineError } from "../../protocol/errors";
import { checkpointToOnnx, gpt2ConfigFrom, type CheckpointWeights } from "../../engine/formats/checkpointExport";
import { readInitializers } from "../../engine/formats/onnxWeights";
import { openCheckpointWeights, writeSafetensors, writeShardedSafetensors } from "../../engine/formats/safetensors";
import { int64Tensor, maxAbsDiff, randomLlamaWeights, type RefLlamaConfig, safetensorsWeights, type Weights } from "../checkpointReference";
import { ROOT, SAMPLE_MODEL, tempDir } from "../helpers";

const TINY: RefLlamaConfig = { vocab: 23, d: 16, inter: 24, layers: 2, heads: 4, kvHeads: 2, headDim: 4, eps: 1e-6, theta: 10000, tied: false };
const TINY_CONFIG = {
  architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: 23, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 10000, rope_scaling: null, max_position_embeddings: 64, tie_word_embeddings: false, hidden_act: "silu",
};

/** A checkpoint folder: config.json and model.safetensors (F32). */
function checkpointDir(config: Record<string, unknown>, W: Weights): string {
  const dir = tempDir("checkpoint");
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  writeSafetensors(path.join(dir, "model.safetensors"), W);
  return dir;
}

/** The weights interface over a folder's model.safetensors, counting reads. */
function counted(dir: string): CheckpointWeights & { reads: number } {
  const w = safetensorsWeights(path.join(dir, "model.safetensors"));
  const out = { reads: 0, names: () => w.names(), shape: (n: string) => w.shape(n), read: (n: string) => (out.reads++, w.read(n)) };
  return out;
}

const refuses = (f: () => unknown, code: string, ...parts: (string | RegExp)[]) =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof EngineError, `not an EngineError: ${e}`);
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(typeof p === "string" ? e.message.includes(p) : p.test(e.message), `"${e.message}" lacks ${p}`);
    return true;
  });

test("GPT-2: a Hugging Face checkpoint of the sample model, with or without the transformer. prefix, gives the sample graph's logits exactly", async () => {
  const weights = readInitializers(path.join(SAMPLE_MODEL, "onnx", "model.onnx"));
  const hfNames: Weights = new Map([...weights].filter(([n]) => n.startsWith("transformer.")));
  assert.ok(hfNames.size >= 4 * 12 + 4);
  const config = JSON.parse(fs.readFileSync(path.join(SAMPLE_MODEL, "config.json"), "utf8"));
  const ids = [[40, 1000, 7, 300, 2500, 12, 99, 4000]];
  const feeds = (s: ort.InferenceSession) => {
    const f: Record<string, ort.Tensor> = { input_ids: int64Tensor(ort, ids), attention_mask: int64Tensor(ort, [ids[0].map(() => 1)]), position_ids: int64Tensor(ort, [ids[0].map((_, i) => i)]) };
    for (const name of s.inputNames.filter((n) => n.startsWith("past_key_values."))) f[name] = new ort.Tensor("float32", new Float32Array(0), [1, config.n_head, 0, config.n_embd / config.n_head]);
    return f;
  };
  const sample = await ort.InferenceSession.create(path.join(SAMPLE_MODEL, "onnx", "model.onnx"));
  const expected = (await sample.run(feeds(sample))).logits.data as Float32Array;
  // GPT2LMHeadModel's names, and GPT2Model's (no prefix), with the attention mask buffers HF checkpoints may carry
  const bare: Weights = new Map([...hfNames].map(([n, t]) => [n.slice("transformer.".length), t]));
  bare.set("h.0.attn.bias", { shape: [1, 1, 4, 4], data: new Float32Array(16).fill(1) });
  for (const W of [hfNames, bare]) {
    const dir = checkpointDir(config, W);
    const built = checkpointToOnnx(dir, safetensorsWeights(path.join(dir, "model.safetensors")));
    assert.deepEqual([built.modelType, built.architecture], ["gpt2", "gpt2"]);
    const s = await ort.InferenceSession.create(built.onnxFile);
    assert.equal(maxAbsDiff((await s.run(feeds(s))).logits.data as Float32Array, expected), 0);
  }
});

test("gpt2ConfigFrom refuses the GPT-2 variants the exporter does not build", () => {
  const base = { model_type: "gpt2", vocab_size: 50, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 };
  assert.deepEqual(gpt2ConfigFrom(base), { vocab_size: 50, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2, layer_norm_epsilon: 1e-5 });
  refuses(() => gpt2ConfigFrom({ ...base, n_inner: 48 }), "UNSUPPORTED", "n_inner = 48", "4 x n_embd (64)");
  refuses(() => gpt2ConfigFrom({ ...base, activation_function: "relu" }), "UNSUPPORTED", '"relu"');
  refuses(() => gpt2ConfigFrom({ ...base, scale_attn_by_inverse_layer_idx: true }), "UNSUPPORTED", "scale_attn_by_inverse_layer_idx");
  refuses(() => gpt2ConfigFrom({ ...base, tie_word_embeddings: false }), "UNSUPPORTED", "tie_word_embeddings");
  refuses(() => gpt2ConfigFrom({ ...base, n_head: 3 }), "MODEL_INVALID", "not divisible");
});

test("the export is cached under the hash of the weights, config.json and exporter version: a second open reads no tensor; another config or kvCache gives another file", async () => {
  const W = randomLlamaWeights(TINY, 5);
  const dir = checkpointDir(TINY_CONFIG, W);
  const first = counted(dir);
  const a = checkpointToOnnx(dir, first);
  assert.ok(first.reads >= W.size);
  assert.ok(fs.existsSync(a.onnxFile));
  assert.match(path.basename(a.onnxFile), /^checkpoint-llama-[0-9a-f]{32}\.onnx$/);
  const again = counted(dir);
  assert.equal(checkpointToOnnx(dir, again).onnxFile, a.onnxFile);
  assert.equal(again.reads, 0);
  // a changed config.json is another graph
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...TINY_CONFIG, rope_theta: 500 }));
  const b = checkpointToOnnx(dir, counted(dir));
  assert.notEqual(b.onnxFile, a.onnxFile);
  // without the KV cache: another file, no past inputs
  const c = checkpointToOnnx(dir, counted(dir), { kvCache: false });
  assert.notEqual(c.onnxFile, b.onnxFile);
  const s = await ort.InferenceSession.create(c.onnxFile);
  assert.deepEqual(s.inputNames, ["input_ids", "attention_mask", "position_ids"]);
  assert.deepEqual(s.outputNames, ["logits"]);
  // changed weights are another graph
  const W2 = randomLlamaWeights(TINY, 6);
  writeSafetensors(path.join(dir, "model.safetensors"), W2);
  assert.notEqual(checkpointToOnnx(dir, counted(dir), { kvCache: false }).onnxFile, c.onnxFile);
  const meta = onnx.ModelProto.decode(fs.readFileSync(c.onnxFile)).metadataProps!.map((p) => [p.key, p.value]);
  assert.deepEqual(Object.fromEntries(meta), { source: "seqlens checkpoint export", model_type: "llama", exporter_version: "1" });
});

test("weights from somewhere other than model.safetensors are hashed tensor by tensor", () => {
  const dir = tempDir("checkpoint-mem");
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(TINY_CONFIG));
  const mem = (W: Weights): CheckpointWeights => ({ names: () => [...W.keys()], shape: (n) => W.get(n)!.shape, read: (n) => W.get(n)!.data });
  const a = checkpointToOnnx(dir, mem(randomLlamaWeights(TINY, 7)));
  assert.equal(checkpointToOnnx(dir, mem(randomLlamaWeights(TINY, 7))).onnxFile, a.onnxFile);
  assert.notEqual(checkpointToOnnx(dir, mem(randomLlamaWeights(TINY, 8))).onnxFile, a.onnxFile);
});

test("refusals: an unknown model_type names what is supported; a missing tensor names it and the file; a wrong shape, a bad config.json", () => {
  const W = randomLlamaWeights(TINY, 5);
  const t5 = checkpointDir({ model_type: "t5", d_model: 16 }, W);
  refuses(() => checkpointToOnnx(t5, counted(t5)), "UNSUPPORTED", 'model_type "t5"', "gpt2, llama, mistral, qwen2, qwen3, phi3, bert, roberta, xlm-roberta", path.join(t5, "config.json"));
  const none = checkpointDir({ hidden_size: 16 }, W);
  refuses(() => checkpointToOnnx(none, counted(none)), "MODEL_INVALID", 'no "model_type"');
  const yarn = checkpointDir({ ...TINY_CONFIG, rope_scaling: { rope_type: "yarn", factor: 4 } }, W);
  refuses(() => checkpointToOnnx(yarn, counted(yarn)), "UNSUPPORTED", '"yarn"');

  const missing = checkpointDir(TINY_CONFIG, new Map([...W].filter(([n]) => n !== "model.layers.1.mlp.up_proj.weight")));
  refuses(() => checkpointToOnnx(missing, counted(missing)), "MODEL_INVALID", '"model.layers.1.mlp.up_proj.weight"', path.join(missing, "model.safetensors"));
  const tiedMissing = checkpointDir(TINY_CONFIG, new Map([...W].filter(([n]) => n !== "lm_head.weight")));
  refuses(() => checkpointToOnnx(tiedMissing, counted(tiedMissing)), "MODEL_INVALID", '"lm_head.weight"');
  const gpt2 = checkpointDir({ model_type: "gpt2", vocab_size: 23, n_positions: 8, n_embd: 16, n_layer: 1, n_head: 2 }, W);
  refuses(() => checkpointToOnnx(gpt2, counted(gpt2)), "MODEL_INVALID", '"transformer.wte.weight" (nor "wte.weight")', path.join(gpt2, "model.safetensors"));

  const wrong = checkpointDir({ ...TINY_CONFIG, num_key_value_heads: 4 }, W);
  refuses(() => checkpointToOnnx(wrong, counted(wrong)), "MODEL_INVALID", "model.layers.0.self_attn.k_proj.weight has shape [8,16], expected [16,16]", path.join(wrong, "model.safetensors"));

  const broken = checkpointDir(TINY_CONFIG, W);
  fs.writeFileSync(path.join(broken, "config.json"), "{ not json");
  refuses(() => checkpointToOnnx(broken, counted(broken)), "MODEL_INVALID", "not valid JSON");
  const noConfig = checkpointDir(TINY_CONFIG, W);
  fs.rmSync(path.join(noConfig, "config.json"));
  refuses(() => checkpointToOnnx(noConfig, counted(noConfig)), "MODEL_INVALID", "no config.json");
  refuses(() => checkpointToOnnx(path.join(noConfig, "nowhere"), counted(noConfig)), "MODEL_NOT_FOUND", "no such folder");
});

test("with the engine's checkpoint reader: qwen2-tied's BF16 model.safetensors gives the same graph as the test's reader, and a sharded BF16 checkpoint the same logits; a missing tensor names the index", { skip: fs.existsSync(path.join(ROOT, "test", "fixtures", "hf", "qwen2-tied", "model.safetensors")) ? false : "test/fixtures/hf/qwen2-tied is not there yet" }, async () => {
  const src = path.join(ROOT, "test", "fixtures", "hf", "qwen2-tied");
  const engineReader = openCheckpointWeights(src);
  const viaEngine = checkpointToOnnx(src, engineReader, { kvCache: false });
  engineReader.close();
  const testReader = safetensorsWeights(path.join(src, "model.safetensors"));
  const viaTest = checkpointToOnnx(src, testReader, { kvCache: false });
  assert.equal(viaEngine.onnxFile, viaTest.onnxFile); // the same key: the same file's bytes
  // the sharded copy (model-0000i-of-0000n.safetensors + index), built without the cache
  const dir = tempDir("checkpoint-sharded");
  fs.copyFileSync(path.join(src, "config.json"), path.join(dir, "config.json"));
  const tensors = new Map(testReader.names().map((n) => [n, { shape: testReader.shape(n), data: testReader.read(n) }]));
  const shards = writeShardedSafetensors(dir, tensors, { maxShardBytes: 20_000, dtype: "BF16" });
  assert.ok(shards.length > 2);
  const sharded = openCheckpointWeights(dir);
  const built = checkpointToOnnx(dir, sharded, { kvCache: false });
  sharded.close();
  assert.notEqual(built.onnxFile, viaTest.onnxFile);
  const ids = [[84, 325, 321, 275, 523, 277]];
  const run = async (file: string) => {
    const s = await ort.InferenceSession.create(file);
    return (await s.run({ input_ids: int64Tensor(ort, ids), attention_mask: int64Tensor(ort, [ids[0].map(() => 1)]), position_ids: int64Tensor(ort, [ids[0].map((_, i) => i)]) })).logits.data as Float32Array;
  };
  assert.equal(maxAbsDiff(await run(built.onnxFile), await run(viaTest.onnxFile)), 0);
  // drop one tensor from the index: the error names it and the index file
  const indexFile = path.join(dir, "model.safetensors.index.json");
  const index = JSON.parse(fs.readFileSync(indexFile, "utf8"));
  delete index.weight_map["model.layers.1.self_attn.v_proj.bias"];
  fs.writeFileSync(indexFile, JSON.stringify(index));
  const partial = openCheckpointWeights(dir);
  refuses(() => checkpointToOnnx(dir, partial), "MODEL_INVALID", '"model.layers.1.self_attn.v_proj.bias"', indexFile);
  partial.close();
});
