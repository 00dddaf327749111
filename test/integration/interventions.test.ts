// Head ablation and direct logit attribution by graph edits of the interventions copy
// (engine/formats/onnxInterventions.ts): the unedited copy against the original graph, zeroed and
// mean-ablated heads against PyTorch with those heads replaced before o_proj, DLA components
// against PyTorch's (test/fixtures/hf/<name>/interp.json, from make_interp_fixtures.py) and their
// sum against the logit, on a GPT-2 with LayerNorm and biases too, the refusals, and the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { prepareInterventions } from "../../engine/formats/onnxInterventions";
import { floatValues } from "../../engine/runtime/onnx/tensors";
import { lastLogits, presentCache } from "../../engine/models/decoder";
import { CLI_JS, code, ROOT, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const HF = path.join(ROOT, "test", "fixtures", "hf");
const TEXT = "function add(a, b) {\n  return a + b;\n}\nconst total = add(";

interface Interp {
  ids: number[];
  position: number;
  target: number;
  foil: number;
  ablations: { heads: [number, number][]; mode: "zero" | "mean"; lastLogits: number[] }[];
  dla: { embed: number; heads: number[][]; mlps: number[]; logit: number };
}

const interp = (name: string): Interp => JSON.parse(fs.readFileSync(path.join(HF, name, "interp.json"), "utf8"));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

test("the interventions copy with scale 1 and shift 0 gives the original graph's logits (<= 1e-5) on GPT-2, Llama, Qwen2 and a bare graph", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const m of [SAMPLE_MODEL, path.join(HF, "llama-gqa"), path.join(HF, "qwen2-tied"), path.join(HF, "gpt-bare", "model.onnx")]) {
    const model = await s.model(m);
    const ids = [5, 17, 99, 3, 42, 7, 250, 11];
    const g = await model.interventions();
    const clean = (await model.forward(ids, {})).logits;
    const out = await model.runInterventions(ids, new Map(), [g.logits, ...g.blocks.map((b) => b.z)]);
    assert.ok(maxDiff(floatValues(out[g.logits], "logits"), clean) <= 1e-5, m);
    // z is the merged heads' output: T rows of H·d
    assert.equal(out[g.blocks[0].z].data.length, ids.length * g.nHead * g.headDim, m);
    assert.equal(g.nHead, model.config.n_head, m);
  }
});

test("the copy's logits of each sequence's last position alone equal the logits' last row in a batch of different inputs (<= 1e-5), after a KV cache too", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const m of [SAMPLE_MODEL, path.join(HF, "llama-gqa"), path.join(HF, "qwen2-tied"), path.join(HF, "gpt-bare", "model.onnx")]) {
    const model = await s.model(m);
    const ids = [5, 17, 99, 3, 42, 7, 250, 11];
    const n = ids.length;
    const rows = [ids, [...ids.slice(0, 3), 1, ...ids.slice(4)], [2, ...ids.slice(1)]];
    const g = await model.interventions();
    assert.ok(g.logitRows, `${m}: the copy picks the rows its head projects`);
    const out = await model.runInterventions(ids, new Map(), [g.logits], { rows });
    const all = floatValues(out[g.logits], "logits");
    const V = model.config.vocab_size;
    assert.equal(all.length, rows.length * n * V, `${m}: every row's logits`);
    const lastOut = await model.runInterventions(ids, new Map(), [g.logits], { rows, lastOnly: true });
    assert.deepEqual(lastOut[g.logits].dims, [3, V], m);
    const last = lastLogits(lastOut, g.logits, 3, n);
    assert.equal(last.row(2), 2);
    assert.equal(lastLogits(out, g.logits, 3, n).row(2), 2 * n + n - 1);
    for (let b = 0; b < rows.length; b++) {
      const want = all.subarray((b * n + n - 1) * V, (b * n + n) * V);
      // each row is its own input: the same as running it alone
      const alone = (await model.forward(rows[b], {})).logits;
      assert.ok(maxDiff(want, alone.subarray((n - 1) * V, n * V)) <= 1e-5, `${m} row ${b}: batched vs alone`);
      assert.ok(maxDiff(last.data.subarray(b * V, (b + 1) * V), want) <= 1e-5, `${m} row ${b}`);
    }
    // the rows differ where their inputs do: row 1 changed token 3, so its prediction moved
    assert.ok(maxDiff(last.data.subarray(0, V), last.data.subarray(V, 2 * V)) > 1e-3, `${m}: rows 0 and 1 gave the same logits`);
    if (model.probe.hasKvCache) {
      // after the first 4 tokens' cache: the last 4 tokens of two rows, the second with token 5 changed
      const L = model.config.n_layer;
      const presents = Array.from({ length: L }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat();
      const head = await model.runInterventions(ids.slice(0, 4), new Map(), presents);
      const changed = [...ids.slice(0, 5), 1, ...ids.slice(6)];
      const tail = await model.runInterventions(ids.slice(4), new Map(), [g.logits], { past: presentCache(head, L, 4), rows: [ids.slice(4), changed.slice(4)], lastOnly: true });
      const t = lastLogits(tail, g.logits, 2, 4);
      const alone = (await model.forward(changed, {})).logits.subarray((n - 1) * V, n * V);
      assert.ok(maxDiff(t.data.subarray(0, V), last.data.subarray(0, V)) <= 1e-4, `${m}: after the cache, row 0`);
      assert.ok(maxDiff(t.data.subarray(V, 2 * V), alone) <= 1e-4, `${m}: after the cache, row 1`);
    }
  }
});

test("the descriptor reads each family's shapes: heads, head width, norm and unembedding", async () => {
  const s = new EngineService({ providers: "cpu" });
  const cases: [string, number, number, "layernorm" | "rmsnorm", boolean, number][] = [
    [SAMPLE_MODEL, 4, 32, "layernorm", true, 1e-5],
    [path.join(HF, "llama-gqa"), 4, 16, "rmsnorm", false, 1e-5],
    [path.join(HF, "qwen2-tied"), 6, 8, "rmsnorm", false, 1e-6],
    [path.join(HF, "gpt-bare", "model.onnx"), 2, 16, "layernorm", true, 1e-5],
  ];
  for (const [m, heads, d, norm, bias, eps] of cases) {
    const g = await (await s.model(m)).interventions();
    assert.equal(g.nHead, heads, m);
    assert.equal(g.headDim, d, m);
    assert.equal(g.norm.kind, norm, m);
    assert.ok(Math.abs(g.norm.epsilon - eps) < eps * 1e-6, `${m}: epsilon ${g.norm.epsilon}`);
    assert.equal(g.blocks.every((b) => (b.bias !== undefined) === bias), true, m);
    assert.equal(g.unembed.rows, g.width, m);
    assert.equal(g.blocks[0].wO.rows, heads * d, m);
    assert.equal(g.blocks[0].wO.cols, g.width, m);
  }
});

test("zeroed and mean-ablated heads give PyTorch's logits (<= 1e-4) on llama-gqa and qwen2-tied", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const name of ["llama-gqa", "qwen2-tied"]) {
    const ref = interp(name);
    const V = ref.ablations[0].lastLogits.length;
    const T = ref.ids.length;
    assert.ok(ref.ablations.length >= 6);
    for (const a of ref.ablations) {
      const r = await s.call("inspect", { model: path.join(HF, name), ids: ref.ids, ablate: a.heads.map(([layer, head]) => ({ layer, head })), ablateMode: a.mode }, ctx);
      // the inspection's own logits (what nextToken and surprisal read) are the ablated run's
      const row = (await s.call("nextToken", { handle: r.handle, position: T - 1, topK: V }, ctx)).top;
      const logits = new Float64Array(V);
      for (const t of row) logits[t.id] = Math.log(t.p);
      const refLog = logSoftmax(a.lastLogits);
      assert.ok(maxDiff(logits, refLog) <= 1e-4, `${name} ${JSON.stringify(a.heads)} ${a.mode}: log-probabilities differ by ${maxDiff(logits, refLog)}`);
      assert.ok(r.ablation && r.ablation.klFromClean > 0, `${name}: KL ${r.ablation?.klFromClean}`);
      assert.equal(r.ablation.klPerPosition.length, T);
      assert.equal(r.ablation.klPerPosition[T - 1], r.ablation.klFromClean);
      assert.equal(r.ablation.mode, a.mode);
      assert.equal(r.ablation.attentionFrom, "ablated");
      assert.notDeepEqual(r.next!.top.map((t) => t.p), r.ablation.cleanNext.top.map((t) => t.p));
    }
  }
});

/** log softmax of a row, in float64. */
function logSoftmax(row: number[]): Float64Array {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  return Float64Array.from(row, (x) => x - lse);
}

test("DLA equals PyTorch's components (<= 1e-4) on llama-gqa and qwen2-tied, and the parts plus the remainder are the logit difference", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const name of ["llama-gqa", "qwen2-tied"]) {
    const ref = interp(name);
    const r = await s.call("dla", { model: path.join(HF, name), ids: ref.ids, target: ref.target, foil: ref.foil }, ctx);
    assert.equal(r.position, ref.position);
    assert.equal(r.metric, "logit-diff");
    assert.equal(r.norm, "rmsnorm");
    assert.equal(r.heads.length, ref.dla.heads.length);
    r.heads.forEach((row, l) => row.forEach((v, h) => assert.ok(Math.abs(v - ref.dla.heads[l][h]) <= 1e-4, `${name} head ${l}.${h}: ${v} vs ${ref.dla.heads[l][h]}`)));
    r.mlps.forEach((v, l) => assert.ok(Math.abs(v - ref.dla.mlps[l]) <= 1e-4, `${name} mlp ${l}: ${v} vs ${ref.dla.mlps[l]}`));
    assert.ok(Math.abs(r.embed - ref.dla.embed) <= 1e-4);
    assert.ok(Math.abs(r.logit - ref.dla.logit) <= 1e-4);
    // no biases in these models: the remainder is rounding only
    assert.equal(r.biasTerm, 0);
    assert.ok(Math.abs(r.remainder) <= 1e-4, `${name}: remainder ${r.remainder}`);
    const sum = r.embed + r.heads.flat().reduce((a, b) => a + b, 0) + r.mlps.reduce((a, b) => a + b, 0) + r.attnBiases.reduce((a, b) => a + b, 0) + r.remainder;
    assert.ok(Math.abs(sum - r.logit) <= 1e-9);
  }
});

test("DLA on tiny-gpt (GPT-2: LayerNorm, biases, positions): remainder = beta·u + biases (<= 1e-4), defaults to the top prediction, and a position inside the text", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = await s.model(SAMPLE_MODEL);
  const ids = model.tokenizer.encode(TEXT);
  const T = ids.length;
  const r = await s.call("dla", { model: SAMPLE_MODEL, ids }, ctx);
  assert.equal(r.position, T);
  assert.equal(r.metric, "logit");
  assert.equal(r.norm, "layernorm");
  const clean = (await model.forward(ids, {})).logits;
  const V = model.config.vocab_size;
  const last = clean.subarray((T - 1) * V, T * V);
  assert.equal(r.target.id, last.indexOf(Math.max(...last)));
  assert.ok(Math.abs(r.logit - last[r.target.id]) <= 1e-5);
  assert.equal(r.heads.length, 4);
  assert.ok(r.heads.every((row) => row.length === 4));
  assert.ok(r.attnBiases.every((b) => b !== 0));
  assert.ok(Math.abs(r.biasTerm) > 1e-3, "GPT-2's ln_f beta has a share");
  assert.ok(Math.abs(r.remainder - r.biasTerm) <= 1e-4, `remainder ${r.remainder} vs biases ${r.biasTerm}`);
  // with a foil and inside the text: the target defaults to the token there
  const foil = (r.target.id + 1) % V;
  const inner = await s.call("dla", { model: SAMPLE_MODEL, ids, position: 5, foil }, ctx);
  assert.equal(inner.target.id, ids[5]);
  assert.equal(inner.position, 5);
  assert.ok(Math.abs(inner.logit - (clean[4 * V + ids[5]] - clean[4 * V + foil])) <= 1e-5);
  assert.ok(Math.abs(inner.remainder - inner.biasTerm) <= 1e-4);
});

test("DLA on a bare GPT-2 graph (a Gemm output projection) sums to the logit", async () => {
  const s = new EngineService({ providers: "cpu" });
  const r = await s.call("dla", { model: path.join(HF, "gpt-bare", "model.onnx"), ids: [1, 2, 3, 4, 5, 6], foil: 7 }, ctx);
  assert.equal(r.heads.length, 2);
  assert.ok(Math.abs(r.remainder - r.biasTerm) <= 1e-4, `remainder ${r.remainder} vs biases ${r.biasTerm}`);
});

test("head ablation on tiny-gpt: KL > 0, mean ablation differs from zero ablation, no heads is the clean run", async () => {
  const s = new EngineService({ providers: "cpu" });
  const clean = await s.call("inspect", { model: SAMPLE_MODEL, text: TEXT }, ctx);
  assert.equal(clean.ablation, undefined);
  const none = await s.call("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: [] }, ctx);
  assert.equal(none.ablation, undefined);
  assert.deepEqual(none.next!.top, clean.next!.top);
  const zero = await s.call("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: [{ layer: 1, head: 2 }, { layer: 3, head: 0 }] }, ctx);
  const mean = await s.call("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: [{ layer: 1, head: 2 }, { layer: 3, head: 0 }], ablateMode: "mean" }, ctx);
  assert.equal(zero.ablation!.mode, "zero");
  assert.ok(zero.ablation!.klFromClean > 0);
  assert.ok(mean.ablation!.klFromClean > 0);
  assert.notEqual(zero.ablation!.klFromClean, mean.ablation!.klFromClean);
  assert.deepEqual(zero.ablation!.cleanNext.top, clean.next!.top);
  assert.notDeepEqual(zero.next!.top, clean.next!.top);
  // attention of the ablated run: layer 0 is upstream of every ablated head and keeps the clean maps; layer 2 reads layer 1's change
  const a0 = await s.call("attention", { handle: zero.handle, layer: 0, head: 0 }, ctx);
  const c0 = await s.call("attention", { handle: clean.handle, layer: 0, head: 0 }, ctx);
  assert.ok(maxDiff(a0.data, c0.data) <= 1e-6);
  const a2 = await s.call("attention", { handle: zero.handle, layer: 2, head: 0 }, ctx);
  const c2 = await s.call("attention", { handle: clean.handle, layer: 2, head: 0 }, ctx);
  assert.ok(maxDiff(a2.data, c2.data) > 1e-4);
  assert.ok(zero.ablation!.klPerPosition.every((k) => k >= 0));
});

test("bad ablations and DLA inputs are refused with sentences", async () => {
  const s = new EngineService({ providers: "cpu" });
  await assert.rejects(s.call("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: [{ layer: 4, head: 0 }] }, ctx), code("BAD_INPUT", /head 4\.0 is not in this model: layers are 0\.\.3 and heads 0\.\.3/));
  await assert.rejects(s.call("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: [{ layer: 0, head: 9 }] }, ctx), code("BAD_INPUT", /heads 0\.\.3/));
  await assert.rejects(s.call("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: [{ layer: -1, head: 0 }] }, ctx), code("BAD_INPUT", /ablate/));
  await assert.rejects(s.call("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: [{ layer: 0, head: 0 }], ablateMode: "half" as "zero" }, ctx), code("BAD_INPUT", /ablateMode must be "zero" or "mean"/));
  await assert.rejects(s.call("dla", { model: SAMPLE_MODEL, text: TEXT, position: 0 }, ctx), code("BAD_INPUT", /position must be an integer in 1\.\./));
  await assert.rejects(s.call("dla", { model: SAMPLE_MODEL, text: TEXT, target: 5, foil: 5 }, ctx), code("BAD_INPUT", /the foil is the target/));
  await assert.rejects(s.call("dla", { model: SAMPLE_MODEL, text: TEXT, target: 99999 }, ctx), code("BAD_INPUT", /outside the vocabulary/));
  // a masked LM has no residual stream the copy reads: refused before any work
  await assert.rejects(s.call("dla", { model: path.join(HF, "bert-mlm"), text: "the cat" }, ctx), code("UNSUPPORTED", /cannot split a prediction/));
  await assert.rejects(s.call("inspect", { model: path.join(HF, "bert-mlm"), text: "the [MASK] sat", ablate: [{ layer: 0, head: 0 }] }, ctx), code("UNSUPPORTED", /cannot switch attention heads off/));
});

test("a graph of another shape: NO_LENS naming what was not found", () => {
  // BERT is post-norm: a LayerNorm sits on the stream after the embeddings, so no chain of block Adds follows it
  assert.throws(() => prepareInterventions(path.join(HF, "bert-mlm", "onnx", "model.onnx"), 2, 4), code("NO_LENS", /head ablation and direct logit attribution need a pre-norm decoder.*fewer than the 4 of 2 pre-norm blocks/));
});

test("seqlens dla --json and seqlens inspect --ablate --json give their shapes; a bad --ablate is a usage error", () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_JS, ...args, "--ep", "cpu"], { encoding: "utf8", timeout: 120_000 });
  const d = cli("dla", "--model", SAMPLE_MODEL, "--text", TEXT, "--foil", "7", "--json");
  assert.equal(d.status, 0, d.stderr);
  const j = JSON.parse(d.stdout);
  assert.equal(typeof j.embed, "number");
  assert.equal(j.heads.length, 4);
  assert.ok(j.heads.every((row: number[]) => row.length === 4 && row.every((x) => typeof x === "number")));
  assert.equal(j.mlps.length, 4);
  assert.equal(typeof j.remainder, "number");
  assert.equal(typeof j.logit, "number");
  assert.equal(j.foil.id, 7);
  assert.equal(j.metric, "logit-diff");
  const sum = j.embed + j.heads.flat().reduce((a: number, b: number) => a + b, 0) + j.mlps.reduce((a: number, b: number) => a + b, 0) + j.attnBiases.reduce((a: number, b: number) => a + b, 0) + j.remainder;
  assert.ok(Math.abs(sum - j.logit) <= 1e-9);
  const table = cli("dla", "--model", SAMPLE_MODEL, "--text", TEXT, "--top", "3");
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /direct logit attribution at token \d+: logit\(".*"\) = -?\d+\.\d{4}/);
  assert.match(table.stdout, /\(\d+ more; --top N or --json for all\)/);
  const a = cli("inspect", "--model", SAMPLE_MODEL, "--text", TEXT, "--ablate", "0.1,2.3", "--ablate-mode", "mean", "--json");
  assert.equal(a.status, 0, a.stderr);
  const k = JSON.parse(a.stdout);
  assert.deepEqual(k.ablation.heads, [{ layer: 0, head: 1 }, { layer: 2, head: 3 }]);
  assert.equal(k.ablation.mode, "mean");
  assert.ok(k.ablation.klFromClean > 0);
  assert.equal(k.ablation.klPerPosition.length, k.tokens.length);
  assert.equal(k.ablation.cleanNext.length, 10);
  assert.equal(k.next.length, 10);
  const bad = cli("inspect", "--model", SAMPLE_MODEL, "--text", TEXT, "--ablate", "1-2");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--ablate takes heads as layer\.head, comma-separated, such as 0\.1,2\.3 \(got "1-2"\)/);
  const range = cli("inspect", "--model", SAMPLE_MODEL, "--text", TEXT, "--ablate", "7.0");
  assert.equal(range.status, 1);
  assert.match(range.stderr, /head 7\.0 is not in this model: layers are 0\.\.3/);
});
