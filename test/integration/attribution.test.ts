// "Why this token": feature ablation (the engine's `attribute`, `seqlens attribute`) against an
// independent loop over positions on the TensorFlow.js GPT-2 of the same weights, against PyTorch's
// loop on the Llama- and Qwen2-shaped fixtures (test/fixtures/hf/<name>/interp.json "ablation",
// from make_interp_fixtures.py), against direct forward passes of the engine's own model, on a
// Llama-shaped and a bare graph, and its refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { EngineService } from "../../engine/service";
import { readInitializers } from "../../engine/formats/onnxWeights";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { gpt2Forward, hfNamesToWeights } from "../../engine/runtime/tfjs/gpt2";
import type { Progress } from "../../protocol/engine";
import type { DifferentiableDecoder } from "../../engine/runtime/tfjs/differentiable";
import { CLI_JS, code, heldoutText, metricOfRow, ROOT, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const HF = path.join(ROOT, "test", "fixtures", "hf");
const EOS = 4095;


test("feature ablation equals a plain loop over positions on the TensorFlow.js GPT-2 of the same weights (<= 1e-3), with and without a foil", async () => {
  await initTfjs();
  const s = new EngineService({ providers: "cpu" });
  const model = await s.model(SAMPLE_MODEL);
  const c = model.config;
  const ids = model.tokenizer.encode(heldoutText(600)).slice(0, 40);
  assert.equal(ids.length, 40);
  const weights = readInitializers(path.join(SAMPLE_MODEL, "onnx", "model.onnx"));
  const cfg = { vocabSize: c.vocab_size, nPositions: c.n_positions, nEmbd: c.n_embd, nLayer: c.n_layer, nHead: c.n_head, layerNormEpsilon: c.layer_norm_epsilon ?? 1e-5 };
  const w = hfNamesToWeights(cfg, (n) => weights.get(n)!);
  const V = c.vocab_size;
  const lastRow = (input: number[]) =>
    tf.tidy(() => {
      const o = gpt2Forward(cfg, w, tf.tensor2d(input, [1, input.length], "int32"), {});
      return o.logits.dataSync().slice((input.length - 1) * V, input.length * V) as Float32Array;
    });
  const real = lastRow(ids);
  const ranked = Array.from(real.keys()).sort((a, b) => real[b] - real[a]);
  const [top, second] = ranked;
  const reference = (foil?: number) => {
    const base = metricOfRow(real, top, foil);
    return ids.map((_, j) => {
      const ablated = ids.slice();
      ablated[j] = EOS;
      return base - metricOfRow(lastRow(ablated), top, foil);
    });
  };
  for (const foil of [undefined, second]) {
    const r = await s.call("attribute", { model: SAMPLE_MODEL, ids, ...(foil !== undefined ? { foil } : {}) }, ctx);
    assert.equal(r.target.id, top, "the default target is the model's top next token");
    assert.equal(r.metric, foil === undefined ? "logprob" : "logit-diff");
    assert.deepEqual(r.baseline, { id: EOS, text: "<|endoftext|>", kind: "eos" }, "tiny-gpt has no pad token: eos is the default");
    assert.equal(r.position, 40);
    assert.equal(r.runs, 41);
    const ref = reference(foil);
    assert.equal(r.scores.length, 40);
    let worst = 0;
    r.scores.forEach((sc, j) => {
      assert.equal(sc.position, j);
      assert.equal(sc.text, model.tokenizer.tokenText(ids[j]));
      worst = Math.max(worst, Math.abs(sc.score - ref[j]));
    });
    assert.ok(worst <= 1e-3, `scores differ from the TensorFlow.js loop by ${worst}`);
    // not vacuous: the scores spread over a range far wider than the tolerance
    const spread = Math.max(...ref) - Math.min(...ref);
    assert.ok(spread > 0.5, `spread ${spread}`);
    console.log(`ablation vs TensorFlow.js loop (${foil === undefined ? "log-prob" : "logit difference"}): max |diff| ${worst.toExponential(2)}, scores spread ${spread.toFixed(2)}`);
  }
});

interface TorchAblation {
  position: number;
  baseline: number;
  target: number;
  foil: number;
  logprob: { base: number; scores: number[] };
  logitDiff: { base: number; scores: number[] };
}

test("feature ablation equals PyTorch's loop over positions (<= 1e-4) on llama-gqa and qwen2-tied, with and without a foil", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const name of ["llama-gqa", "qwen2-tied"]) {
    const model = path.join(HF, name);
    const interp = JSON.parse(fs.readFileSync(path.join(model, "interp.json"), "utf8"));
    const ids: number[] = interp.ids;
    const ref: TorchAblation = interp.ablation;
    const T = ids.length;
    assert.equal(ref.position, T);
    // without a foil the engine picks the baseline (eos: these tokenizers have no pad) and the
    // target (the top next token), which must be PyTorch's; with one both are given
    const cases = [
      { params: {}, want: ref.logprob, metric: "logprob", baseline: { id: ref.baseline, text: "<|endoftext|>", kind: "eos" } },
      { params: { target: ref.target, foil: ref.foil, baseline: ref.baseline }, want: ref.logitDiff, metric: "logit-diff", baseline: { id: ref.baseline, text: "<|endoftext|>", kind: "id" } },
    ];
    for (const c of cases) {
      const r = await s.call("attribute", { model, ids, ...c.params }, ctx);
      assert.equal(r.method, "ablation");
      assert.equal(r.metric, c.metric);
      assert.equal(r.target.id, ref.target, `${name}: the target is PyTorch's top next token`);
      assert.equal(r.foil?.id, c.metric === "logit-diff" ? ref.foil : undefined);
      assert.deepEqual(r.baseline, c.baseline);
      assert.equal(r.position, T);
      assert.equal(r.runs, T + 1);
      assert.ok(Math.abs(r.base - c.want.base) <= 1e-4, `${name} ${c.metric}: base ${r.base} vs PyTorch's ${c.want.base}`);
      assert.equal(r.scores.length, T);
      let worst = 0;
      r.scores.forEach((sc, i) => {
        assert.equal(sc.position, i);
        const d = Math.abs(sc.score - c.want.scores[i]);
        assert.ok(d <= 1e-4, `${name} ${c.metric} position ${i}: ${sc.score} vs PyTorch's ${c.want.scores[i]}`);
        worst = Math.max(worst, d);
      });
      // not vacuous: PyTorch's scores spread far wider than the tolerance
      const spread = Math.max(...c.want.scores) - Math.min(...c.want.scores);
      assert.ok(spread > 1, `${name} ${c.metric}: spread ${spread}`);
      console.log(`ablation vs PyTorch on ${name} (${c.metric}): max |diff| ${worst.toExponential(2)}, base diff ${Math.abs(r.base - c.want.base).toExponential(2)}, scores spread ${spread.toFixed(2)}`);
    }
  }
});

test("a score is base minus the metric of a direct forward with that token replaced; a token replaced by itself scores 0; position i explains token i", async () => {
  const s = new EngineService({ providers: "cpu" });
  const model = await s.model(SAMPLE_MODEL);
  const V = model.config.vocab_size;
  const text = "export function clamp(value: number, lo: number, hi: number): number {\n    return Math.min(hi, Math.max(lo, value));\n}";
  const ids = model.tokenizer.encode(text);
  const T = ids.length;
  const row = async (input: number[]) => (await model.forward(input, {})).logits.slice((input.length - 1) * V, input.length * V);
  // the next token after the text, explained against the token "x"
  const r = await s.call("attribute", { model: SAMPLE_MODEL, text, foil: "x" }, ctx);
  const foil = model.tokenizer.encode("x")[0];
  assert.equal(r.foil!.id, foil);
  const base = metricOfRow(await row(ids), r.target.id, foil);
  assert.ok(Math.abs(r.base - base) < 1e-4, `${r.base} vs ${base}`);
  for (const j of [0, 1, Math.floor(T / 2), T - 1]) {
    const ablated = ids.slice();
    ablated[j] = EOS;
    const direct = base - metricOfRow(await row(ablated), r.target.id, foil);
    assert.ok(Math.abs(r.scores[j].score - direct) < 1e-4, `position ${j}: ${r.scores[j].score} vs ${direct}`);
  }
  // position i: the token actually at i, from the tokens before it only
  const i = 20;
  const at = await s.call("attribute", { model: SAMPLE_MODEL, text, position: i }, ctx);
  assert.equal(at.target.id, ids[i]);
  assert.equal(at.scores.length, i);
  assert.ok(Math.abs(at.base - metricOfRow(await row(ids.slice(0, i)), ids[i])) < 1e-4);
  // the baseline that is the token at position k itself: nothing changes there, and only there
  const k = 7;
  const self = await s.call("attribute", { model: SAMPLE_MODEL, text, position: i, baseline: ids[k] }, ctx);
  assert.equal(self.baseline.kind, "id");
  assert.ok(Math.abs(self.scores[k].score) < 1e-6, `self-replacement scored ${self.scores[k].score}`);
  const others = self.scores.filter((x) => x.position !== k && ids[x.position] !== ids[k]);
  assert.ok(others.every((x) => Math.abs(x.score) > 1e-6), "every other replacement changes the prediction");
});

test("an identifier being typed again: among the tokens before the word in progress, the earlier identifier carries the largest positive score", async () => {
  // tiny-gpt copies weakly: its strongest evidence is always the token just before (the partial
  // word itself), so the word in progress ("myVa", tokens 11..14) is left out of the comparison
  const s = new EngineService({ providers: "cpu" });
  const text = "const myValue = 3;\nreturn myVa";
  const r = await s.call("attribute", { model: SAMPLE_MODEL, text }, ctx);
  assert.deepEqual(r.tokens.map((t) => t.text), ["con", "st", " m", "y", "Value", " =", " 3", ";", "\n", "re", "turn", " m", "y", "V", "a"]);
  const before = r.scores.filter((x) => x.position < 11).sort((a, b) => b.score - a.score);
  assert.equal(before[0].text, "Value");
  assert.equal(before[0].position, 4);
  assert.ok(before[0].score > 0 && before[0].score > before[1].score + 0.05, JSON.stringify(before.slice(0, 3)));
});

test("bad input: an unknown target, an empty text, a position out of range, a missing baseline, a zero baseline without an interventions copy, a recurrent model", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = "let x = 1;";
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, target: "notAToken" }, ctx), code("BAD_INPUT", /^target "notAToken" is not one token of this model's vocabulary \(it reads as \d+ tokens: .*\); give a single token/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, target: 5000 }, ctx), code("BAD_INPUT", /target token id 5000 is outside the vocabulary \(0\.\.4095\)/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text: "" }, ctx), code("BAD_INPUT", /the text is empty/));
  const T = (await s.call("attribute", { model: SAMPLE_MODEL, text }, ctx)).tokens.length;
  for (const position of [0, T + 1, 2.5]) await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, position }, ctx), code("BAD_INPUT", new RegExp(`^position must be an integer in 1\\.\\.${T} `)));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, baseline: "mask" }, ctx), code("BAD_INPUT", /^the tokenizer has no mask token to use as the baseline: it has eos \(4095\), unk \(4095\); pick one of those or give a token id$/));
  await assert.rejects(s.call("attribute", { model: `tfjs:${SAMPLE_MODEL}`, text, baseline: "zero" }, ctx), code("UNSUPPORTED", /a zero-embedding baseline is fed through the residual-stream edits of the graph's interventions copy, which this model has none of \(it is not an ONNX graph\); give a baseline token/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, method: "saliency" as never }, ctx), code("BAD_INPUT", /method must be "ablation", "grad-x-input" or "integrated-gradients"/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, target: "x", foil: "x" }, ctx), code("BAD_INPUT", /the foil is the target/));
  const lstm = path.join(ROOT, "samples", "models", "char-lstm");
  await assert.rejects(s.call("attribute", { model: lstm, text }, ctx), code("INCOMPATIBLE", /is a recurrent model .*pick a decoder model/));
});

test("a zero-embedding baseline equals a loop on the TensorFlow.js twins with that token's embedding zeroed, positions kept (<= 1e-3): GPT-2 (learned positions) and Llama (rotary)", async () => {
  await initTfjs();
  const s = new EngineService({ providers: "cpu" });
  for (const [name, model] of [["tiny-gpt", SAMPLE_MODEL], ["llama-gqa", path.join(HF, "llama-gqa")]] as const) {
    const m = await s.model(model);
    const ids = m.tokenizer.encode("function add(a, b) {\n  return a + b;\n}\nconst total = add(").slice(0, 24);
    const T = ids.length;
    const twin = (await s.open(`tfjs:${model}`, ctx)) as unknown as DifferentiableDecoder;
    const V = twin.vocabSize;
    // the twin's last-position logits with token j's embedding zeroed (none: j = -1)
    const lastRow = (j: number) =>
      tf.tidy(() => {
        const mask = tf.tensor3d(Array.from({ length: T }, (_, i) => (i === j ? 0 : 1)), [1, T, 1]);
        const tok = tf.gather(twin.tokenEmbeddings, tf.tensor1d(ids, "int32")).reshape([1, T, twin.width]).mul(mask) as tf.Tensor3D;
        return twin.unembed(twin.blocks(tok)).dataSync().slice((T - 1) * V, T * V) as Float32Array;
      });
    const r = await s.call("attribute", { model, ids, baseline: "zero" }, ctx);
    assert.deepEqual(r.baseline, { text: "", kind: "zero" });
    assert.equal(r.scores.length, T);
    const real = lastRow(-1);
    const base = metricOfRow(real, r.target.id);
    let worst = 0;
    const ref = ids.map((_, j) => base - metricOfRow(lastRow(j), r.target.id));
    r.scores.forEach((sc, j) => (worst = Math.max(worst, Math.abs(sc.score - ref[j]))));
    assert.ok(worst <= 1e-3, `${name}: zero-embedding scores differ from the twin's loop by ${worst}`);
    // not vacuous: the scores spread far wider than the tolerance, and differ from an eos baseline's
    const spread = Math.max(...ref) - Math.min(...ref);
    assert.ok(spread > 0.1, `${name}: spread ${spread}`);
    const eos = await s.call("attribute", { model, ids, baseline: "eos" }, ctx);
    assert.ok(eos.scores.some((x, j) => Math.abs(x.score - r.scores[j].score) > 0.01), `${name}: the zero embedding scored as eos`);
    console.log(`zero-embedding ablation vs the TensorFlow.js twin on ${name}: max |diff| ${worst.toExponential(2)}, spread ${spread.toFixed(2)}`);
  }
});

test("family-agnostic: a Llama-shaped graph (grouped-query KV cache), a bare graph on ids and the TensorFlow.js twin", async () => {
  const s = new EngineService({ providers: "cpu" });
  const cases = [
    { model: path.join(HF, "llama-gqa"), input: { text: "function add(a, b) {\n    return a + b;\n}" } },
    { model: path.join(HF, "gpt-bare", "model.onnx"), input: { ids: [17, 301, 45, 499, 8, 230, 77, 412, 3, 150], baseline: 0 } },
    { model: `tfjs:${SAMPLE_MODEL}`, input: { text: "let total = 0;" } },
  ];
  for (const c of cases) {
    const r = await s.call("attribute", { model: c.model, ...c.input }, ctx);
    const T = r.tokens.length;
    assert.equal(r.position, T);
    assert.equal(r.scores.length, T);
    assert.ok(r.scores.every((x) => Number.isFinite(x.score)), c.model);
    assert.ok(r.scores.some((x) => Math.abs(x.score) > 1e-3), `${c.model}: some token matters`);
    // the metric of the real input is a log-probability, and each ablated one too
    assert.ok(r.base < 0 && r.scores.every((x) => r.base - x.score <= 1e-6), c.model);
    // one score against a direct forward of that decoder
    const m = (await s.open(c.model, ctx)) as unknown as { forward(ids: number[], o: object): Promise<{ logits: Float32Array }>; config: { vocab_size: number }; tokenizer: { encode(t: string): number[] } };
    const ids = r.tokens.map((t) => t.id);
    const V = m.config.vocab_size;
    const j = Math.floor(T / 2);
    const ablated = ids.slice();
    ablated[j] = r.baseline.id!;
    const lg = (await m.forward(ablated, {})).logits;
    const direct = r.base - metricOfRow(lg.slice((T - 1) * V, T * V), r.target.id);
    assert.ok(Math.abs(r.scores[j].score - direct) < 1e-4, `${c.model} position ${j}: ${r.scores[j].score} vs ${direct}`);
  }
});

test("a cancelled attribution ends with CANCELLED at its next run, after progress in steps (a batch of ablated inputs a step)", async () => {
  const s = new EngineService({ providers: "cpu" });
  const ac = new AbortController();
  const seen: Progress[] = [];
  const ids = (await s.model(SAMPLE_MODEL)).tokenizer.encode(heldoutText(2000)).slice(0, 200);
  const run = s.call("attribute", { model: SAMPLE_MODEL, ids }, {
    ...ctx,
    signal: ac.signal,
    progress: (p: Progress) => {
      seen.push(p);
      if (p.kind === "steps" && p.done > 1) ac.abort();
    },
  });
  await assert.rejects(run, code("CANCELLED", /^attribute was cancelled$/));
  // the real run, then the first batch (several ablated inputs at once), then nothing more
  const steps = seen.map((p) => (p.kind === "steps" ? [p.done, p.total] : p.kind));
  assert.equal(steps.length, 2, JSON.stringify(steps));
  assert.deepEqual(steps[0], [1, 201]);
  const [done, total] = steps[1] as number[];
  assert.ok(total === 201 && done > 2 && done < 201, `after the first batch: ${done} of ${total}`);
});

test("seqlens attribute --json: target, foil, method, metric, baseline and one score per earlier token; a table without --json", () => {
  const text = "const myValue = 3;\nreturn myVa";
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_JS, "attribute", "--model", SAMPLE_MODEL, "--text", text, ...args, "--ep", "cpu"], { encoding: "utf8", timeout: 120_000 });
  const r = cli("--foil", "l", "--baseline", "eos", "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(j).sort(), ["base", "baseline", "computedBy", "foil", "method", "metric", "ms", "position", "scores", "target"]);
  assert.deepEqual(j.target, { id: 117, text: "u" });
  assert.deepEqual(j.foil, { id: 108, text: "l" });
  assert.equal(j.method, "ablation");
  assert.equal(j.metric, "logit-diff");
  assert.deepEqual(j.baseline, { id: EOS, text: "<|endoftext|>", kind: "eos" });
  assert.equal(j.scores.length, 15);
  assert.deepEqual(Object.keys(j.scores[0]).sort(), ["position", "score", "text"]);
  assert.equal(j.scores.map((x: { text: string }) => x.text).join(""), text);
  const table = cli("--top", "3");
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^why "u" at token 15: ln p\("u"\) = -\d\.\d{3}\n/);
  assert.equal(table.stdout.split("\n").filter((l) => /^\s+\d+\s+"/.test(l)).length, 3);
  assert.match(table.stdout, /\n\s+14\s+"a"\s+\+\d\.\d{4}\s+█{20}\n/);
  const bad = cli("--baseline", "nothing");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--baseline must be pad, eos, mask, unk, zero \(the zero embedding\) or a token id/);
});
