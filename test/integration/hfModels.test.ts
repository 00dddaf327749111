// Models as users have them, checked against PyTorch: the fixtures in test/fixtures/hf were written
// by torch.onnx.export from PyTorch modules that follow the Hugging Face reference code (see that
// folder's README), with PyTorch's own attention, logits, greedy ids and logit lens beside them.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { ROOT, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const HF = path.join(ROOT, "test", "fixtures", "hf");

interface Top {
  id: number;
  p: number;
}
interface Reference {
  text?: string;
  ids: number[];
  attention: number[][][][];
  top5?: Top[];
  greedy?: number[];
  greedyWithCache?: number[];
  lens?: { residual: number; top5: Top[] }[];
  masks?: { position: number; top: Top[] }[];
  textNoMask?: string;
  idsNoMask?: number[];
  whatWouldGoHere?: { position: number; top: Top[] }[];
}

const reference = (name: string): Reference => JSON.parse(fs.readFileSync(path.join(HF, name, "reference.json"), "utf8"));

/** Every entry of the engine's attention within `tol` of PyTorch's [layer][head][q][k]. */
async function attentionAgrees(s: EngineService, handle: string, want: number[][][][], tol = 1e-5): Promise<number> {
  let worst = 0;
  for (let l = 0; l < want.length; l++) {
    for (let h = 0; h < want[l].length; h++) {
      const got = await s.call("attention", { handle, layer: l, head: h }, ctx);
      const T = want[l][h].length;
      assert.deepEqual(got.shape, [T, T]);
      for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) worst = Math.max(worst, Math.abs(got.data[q * T + k] - want[l][h][q][k]));
    }
  }
  assert.ok(worst <= tol, `attention differs from PyTorch's by ${worst}`);
  return worst;
}

function sameTop(got: { id: number; p: number }[], want: Top[], what: string, tol = 1e-5): void {
  assert.deepEqual(got.slice(0, want.length).map((t) => t.id), want.map((t) => t.id), what);
  want.forEach((t, i) => assert.ok(Math.abs(got[i].p - t.p) <= tol, `${what}: p of ${t.id} ${got[i].p} vs ${t.p}`));
}

for (const name of ["llama-gqa", "qwen2-tied"]) {
  test(`${name}: attention per query head, next token, greedy ids with and without the KV cache and the logit lens agree with PyTorch`, async () => {
    const s = new EngineService({ providers: "cpu" });
    const model = path.join(HF, name);
    const ref = reference(name);
    const info = await s.call("info", { model }, ctx);
    const cfg = JSON.parse(fs.readFileSync(path.join(model, "config.json"), "utf8"));
    assert.equal(info.family, "llama-onnx");
    assert.deepEqual([info.nLayer, info.nHead, info.nKvHead, info.headDim], [cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads]);
    assert.ok(info.nKvHead < info.nHead, "grouped-query attention");
    const r = await s.call("inspect", { model, text: ref.text, topK: 5 }, ctx);
    assert.deepEqual(r.tokens.map((t) => t.id), ref.ids, "the text tokenizes to PyTorch's ids");
    assert.equal(r.nHead, cfg.num_attention_heads);
    await attentionAgrees(s, r.handle, ref.attention);
    sameTop(r.next!.top, ref.top5!, "next token");
    for (const useCache of [true, false]) {
      const g = await s.call("generate", { model, ids: ref.ids, maxTokens: 12, greedy: true, useCache }, ctx);
      assert.deepEqual(g.tokens.map((t) => t.id), ref.greedy, `greedy ids ${useCache ? "with" : "without"} the KV cache`);
    }
    const lens = await s.call("lens", { model, ids: ref.ids, topK: 5 }, ctx);
    assert.equal(lens.layers.length, ref.lens!.length);
    ref.lens!.forEach((row) => sameTop(lens.layers[row.residual][ref.ids.length - 1], row.top5, `lens residual ${row.residual} (through the model's own final RMSNorm and head)`, 1e-4));
  });
}

test("bert-mlm: bidirectional attention, fill-mask at each [MASK], and 'what would go here' agree with PyTorch; special tokens marked", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = path.join(HF, "bert-mlm");
  const ref = reference("bert-mlm");
  const info = await s.call("info", { model }, ctx);
  assert.equal(info.family, "bert-onnx");
  assert.ok(info.capabilities.includes("fillMask") && !info.capabilities.includes("generate") && !info.capabilities.includes("nextToken"), info.capabilities.join(","));
  const r = await s.call("inspect", { model, text: ref.text, topK: 10 }, ctx);
  assert.deepEqual(r.tokens.map((t) => t.id), ref.ids);
  assert.equal(r.next, undefined);
  assert.deepEqual(r.tokens.map((t) => !!t.special), ref.ids.map((_, i) => i === 0 || i === ref.ids.length - 1), "[CLS] and [SEP] are special");
  // each token's offsets point at its text in the input (special ones are zero width)
  for (const t of r.tokens) if (!t.special) assert.equal(ref.text!.slice(t.start, t.end).toLowerCase(), t.text.toLowerCase().replace(/^##/, ""));
  assert.equal(r.maskToken?.text, "[MASK]");
  await attentionAgrees(s, r.handle, ref.attention);
  // bidirectional: the first word sees the last one
  const a0 = await s.call("attention", { handle: r.handle, layer: 0, head: 0 }, ctx);
  assert.ok(a0.data[1 * ref.ids.length + ref.ids.length - 2] > 0, "no causal triangle");
  assert.deepEqual(r.masks!.map((m) => m.position), ref.masks!.map((m) => m.position));
  r.masks!.forEach((m, i) => sameTop(m.top, ref.masks![i].top, `mask at ${m.position}`));
  // no mask: "what would the model put here?" masks the token and runs again
  const plain = await s.call("inspect", { model, text: ref.textNoMask, topK: 10 }, ctx);
  assert.deepEqual(plain.tokens.map((t) => t.id), ref.idsNoMask);
  assert.deepEqual(plain.masks, []);
  for (const w of ref.whatWouldGoHere!) {
    const f = await s.call("fillMask", { handle: plain.handle, position: w.position, topK: 10 }, ctx);
    sameTop(f.top, w.top, `what would go at ${w.position}`);
    assert.equal(f.actual?.id, ref.idsNoMask![w.position]);
  }
});

for (const [name, causal] of [["gpt-bare", true], ["bert-bare", false]] as const) {
  test(`${name}/model.onnx without a config: ${causal ? "causal" : "bidirectional"}, shape from the graph, numbers as PyTorch's`, async () => {
    const s = new EngineService({ providers: "cpu" });
    const model = path.join(HF, name, "model.onnx");
    const ref = reference(name);
    const info = await s.call("info", { model }, ctx);
    assert.equal(info.family, "bare-onnx");
    assert.equal(info.modelType, causal ? "bare-decoder" : "bare-encoder");
    assert.equal(info.nLayer, ref.attention.length);
    assert.equal(info.nHead, ref.attention[0].length);
    const r = await s.call("inspect", { model, ids: ref.ids, topK: 5 }, ctx);
    await attentionAgrees(s, r.handle, ref.attention);
    sameTop(r.next!.top, ref.top5!, "next token from the last position");
    if (causal) {
      const g = await s.call("generate", { model, ids: ref.ids, maxTokens: 12, greedy: true }, ctx);
      assert.deepEqual(g.tokens.map((t) => t.id), ref.greedy);
      // the logit lens through a LayerNorm exported as ReduceMean / Sub / Pow / Sqrt / Div / Mul / Add
      const lens = await s.call("lens", { model, ids: ref.ids, topK: 5 }, ctx);
      ref.lens!.forEach((row) => sameTop(lens.layers[row.residual][ref.ids.length - 1], row.top5, `lens residual ${row.residual}`, 1e-4));
    } else assert.ok(!info.capabilities.includes("generate"));
  });
}

test("llama-gqa: a config.json that disagrees with the graph on kv heads, layers or head width is refused with both numbers", async () => {
  const s = new EngineService({ providers: "cpu" });
  const withConfig = (change: Record<string, unknown>) => {
    const dir = path.join(tempDir("llama-cfg"), "m");
    fs.cpSync(path.join(HF, "llama-gqa"), dir, { recursive: true });
    const file = path.join(dir, "config.json");
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), ...change }));
    return dir;
  };
  await assert.rejects(s.call("info", { model: withConfig({ num_key_value_heads: 4 }) }, ctx), /says num_key_value_heads = 4, but the graph's KV cache has 2 heads/);
  await assert.rejects(s.call("info", { model: withConfig({ num_hidden_layers: 40 }) }, ctx), /says num_hidden_layers = 40, but the graph has 3 attention layers/);
  await assert.rejects(s.call("info", { model: withConfig({ head_dim: 32 }) }, ctx), /says head_dim = 32, but the graph's KV cache has heads of 16/);
  await assert.rejects(s.call("info", { model: withConfig({ num_attention_heads: 6 }) }, ctx), /says num_attention_heads = 6, but the graph's attention has 4 heads/);
  await assert.rejects(s.call("info", { model: withConfig({ num_attention_heads: 3 }) }, ctx), /3 query heads cannot share 2 key\/value heads evenly/);
});

test("llama-gqa: inline completion runs on a Llama-shaped decoder as on GPT-2 (the greedy tokens up to the line's end)", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = path.join(HF, "llama-gqa");
  const ref = reference("llama-gqa");
  const c = await s.call("complete", { model, prefix: ref.text!, maxTokens: 6, stopAt: "line" }, ctx);
  const g = await s.call("generate", { model, text: ref.text!, maxTokens: 6, greedy: true }, ctx);
  assert.ok(c.tokens.length >= 1);
  assert.deepEqual(c.tokens.map((t) => t.id), g.tokens.slice(0, c.tokens.length).map((t) => t.id));
});

test("llama-gqa in the Embeddings view's methods: its own token embedding and untied head projected, nearest tokens by the embedding rows, the residual stream of a text", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = path.join(HF, "llama-gqa");
  const w = (await import("../../engine/formats/safetensors")).openCheckpointWeights(model);
  const embed = w.read("model.embed_tokens.weight");
  w.close();
  const vocab = await s.call("project", { model, method: "pca", dims: 2 }, ctx);
  assert.equal(vocab.points.length, 4096);
  const head = await s.call("project", { model, method: "pca", dims: 2, matrix: "output" }, ctx);
  assert.equal(head.points.length, 4096);
  // nearest rows of the token embedding by cosine, checked against the safetensors rows
  const d = 64;
  const cos = (a: number, b: number) => {
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < d; i++) {
      ab += embed[a * d + i] * embed[b * d + i];
      aa += embed[a * d + i] ** 2;
      bb += embed[b * d + i] ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  };
  const n = await s.call("neighbours", { model, plus: [299], k: 3 }, ctx);
  const want = Array.from({ length: 4096 }, (_, id) => id).filter((id) => id !== 299).sort((a, b) => cos(299, b) - cos(299, a)).slice(0, 3);
  assert.deepEqual(n.neighbours.map((x) => x.id), want);
  const ctxProj = await s.call("project", { model, method: "pca", dims: 2, text: "She opened the window", layer: 2 }, ctx);
  assert.equal(ctxProj.source, "contextual");
  assert.ok(ctxProj.points.length >= 4);
});
