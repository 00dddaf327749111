// Gradient × input and integrated gradients (the engine's `attribute`, `seqlens attribute`) on the
// TensorFlow.js GPT-2: the scores against central finite differences of the metric, computed by
// plain forward passes on perturbed token embeddings; integrated gradients' completeness; the
// ONNX model explained through its TensorFlow.js twin; cancellation and the refusals. (The
// Llama-shaped twin: llamaTwin.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { EngineService } from "../../engine/service";
import { TfjsDecoder } from "../../engine/models/tfjsDecoder";
import { gpt2Blocks } from "../../engine/runtime/tfjs/gpt2";
import type { Progress } from "../../protocol/engine";
import { CLI_JS, code, heldoutText, metricOfRow, ROOT, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const HF = path.join(ROOT, "test", "fixtures", "hf");
const TWIN = `tfjs:${SAMPLE_MODEL}`;
const EOS = 4095;

/**
 * The metric of the prediction after T tokens given as token embeddings [T, d], by a plain forward
 * pass of the TensorFlow.js GPT-2 (no gradient), and the token embeddings of `ids`.
 */
async function plainMetric(s: EngineService) {
  const twin = (await s.open(TWIN, ctx)) as TfjsDecoder;
  const d = twin.cfg.nEmbd;
  const wte = twin.weights.wte.dataSync() as Float32Array;
  const embeddings = (ids: number[]) => {
    const e = new Float32Array(ids.length * d);
    ids.forEach((id, i) => e.set(wte.subarray(id * d, (id + 1) * d), i * d));
    return e;
  };
  const f = (e: Float32Array, target: number, foil?: number) => {
    const T = e.length / d;
    const row = tf.tidy(() => {
      const final = gpt2Blocks(twin.cfg, twin.weights, tf.tensor3d(e, [1, T, d])).final;
      return tf.matMul(final.slice([T - 1, 0], [1, d]), twin.weights.wte, false, true).dataSync() as Float32Array;
    });
    return metricOfRow(row, target, foil);
  };
  return { twin, d, embeddings, f };
}

/** `e` with token i's embedding scaled by (1 + t): moving along the token's own direction. */
function scaled(e: Float32Array, d: number, i: number, t: number): Float32Array {
  const out = e.slice();
  for (let k = i * d; k < (i + 1) * d; k++) out[k] *= 1 + t;
  return out;
}

test("gradient × input equals the central finite difference of the metric along each token's own embedding (relative error <= 1e-2), with and without a foil", async () => {
  const s = new EngineService({ providers: "cpu" });
  const { twin, d, embeddings, f } = await plainMetric(s);
  const ids = twin.tokenizer.encode(heldoutText(600)).slice(0, 40);
  assert.equal(ids.length, 40);
  const e = embeddings(ids);
  // d/dt f(e with e_i scaled by 1 + t) at t = 0 is Σ_k ∂f/∂e_ik · e_ik: the score itself. ε = 1e-2:
  // the truncation error (∝ ε²) and float32 rounding in the difference (∝ 1/ε) are both near 1e-4.
  // The error is relative to |difference|, or to 0.01 for a token whose score is smaller than that.
  const eps = 1e-2;
  for (const foil of [undefined, 108]) {
    const r = await s.call("attribute", { model: TWIN, ids, method: "grad-x-input", ...(foil !== undefined ? { foil } : {}) }, ctx);
    assert.equal(r.method, "grad-x-input");
    assert.deepEqual(r.baseline, { text: "", kind: "zero" });
    assert.equal(r.scores.length, 40);
    assert.equal(r.runs, 2);
    assert.equal(r.computedBy.name, "tiny-gpt (tfjs)");
    assert.equal(r.computedBy.gradientOf, "token embeddings");
    assert.equal(r.computedBy.agreement, undefined, "the model is the TensorFlow.js GPT-2 itself");
    assert.ok(Math.abs(r.base - f(e, r.target.id, foil)) < 1e-4, `base ${r.base}`);
    // the tokens whose scores are largest, and the first, middle and last ones
    const byMagnitude = r.scores.slice().sort((a, b) => Math.abs(b.score) - Math.abs(a.score)).map((x) => x.position);
    const checked = [...new Set([...byMagnitude.slice(0, 4), 0, 20, 39])];
    let worst = 0;
    for (const i of checked) {
      const fd = (f(scaled(e, d, i, eps), r.target.id, foil) - f(scaled(e, d, i, -eps), r.target.id, foil)) / (2 * eps);
      const rel = Math.abs(fd - r.scores[i].score) / Math.max(Math.abs(fd), 1e-2);
      worst = Math.max(worst, rel);
      assert.ok(rel <= 1e-2, `token ${i}: gradient × input ${r.scores[i].score} vs finite difference ${fd}`);
      // Cauchy–Schwarz: |g · e| <= |g| |e|
      let en = 0;
      for (let k = i * d; k < (i + 1) * d; k++) en += e[k] * e[k];
      assert.ok(Math.abs(r.scores[i].score) <= r.scores[i].norm! * Math.sqrt(en) * (1 + 1e-6));
    }
    // not vacuous: the scores differ by far more than the tolerance
    const spread = Math.max(...r.scores.map((x) => x.score)) - Math.min(...r.scores.map((x) => x.score));
    assert.ok(spread > 0.2, `spread ${spread}`);
    console.log(`gradient × input vs central differences (${foil === undefined ? "log-prob" : "logit difference"}), ${checked.length} tokens: worst relative error ${worst.toExponential(2)}, spread ${spread.toFixed(3)}`);
  }
});

test("integrated gradients, 64 steps, 40 tokens: the scores sum to f(input) − f(baseline) within 1%, with and without a foil, from the zero embedding and from eos", async () => {
  const s = new EngineService({ providers: "cpu" });
  const { twin, embeddings, f } = await plainMetric(s);
  const ids = twin.tokenizer.encode(heldoutText(600)).slice(0, 40);
  const e = embeddings(ids);
  const cases = [{ foil: undefined, baseline: undefined }, { foil: 108, baseline: undefined }, { foil: undefined, baseline: "eos" as const }];
  for (const c of cases) {
    const r = await s.call("attribute", { model: TWIN, ids, method: "integrated-gradients", ...(c.foil !== undefined ? { foil: c.foil } : {}), ...(c.baseline ? { baseline: c.baseline } : {}) }, ctx);
    const k = r.completeness!;
    assert.equal(k.steps, 64);
    assert.equal(r.runs, 66);
    // f(baseline) from a plain forward on the baseline embeddings
    const b = c.baseline ? embeddings(ids.map(() => EOS)) : new Float32Array(e.length);
    assert.deepEqual(r.baseline, c.baseline ? { id: EOS, text: "<|endoftext|>", kind: "eos" } : { text: "", kind: "zero" });
    assert.ok(Math.abs(k.baselineMetric - f(b, r.target.id, c.foil)) < 1e-4, `f(baseline) ${k.baselineMetric}`);
    assert.ok(Math.abs(k.delta - (r.base - k.baselineMetric)) < 1e-9);
    const sum = r.scores.reduce((a, x) => a + x.score, 0);
    assert.ok(Math.abs(sum - k.sum) < 1e-9);
    assert.ok(Math.abs(k.relError - Math.abs(sum - k.delta) / Math.abs(k.delta)) < 1e-12);
    assert.ok(Math.abs(k.delta) > 0.5, `delta ${k.delta}: the baseline changes the prediction`);
    assert.ok(k.relError <= 0.01, `|sum − delta| / |delta| = ${k.relError} (sum ${k.sum}, delta ${k.delta})`);
    console.log(`integrated gradients, 64 steps, ${c.foil === undefined ? "log-prob" : "logit difference"}, ${c.baseline ?? "zero"} baseline: sum ${k.sum.toFixed(4)}, delta ${k.delta.toFixed(4)}, relative error ${(k.relError * 100).toFixed(3)}%`);
  }
});

test("integrated gradients with one step is the gradient at the midpoint times (input − baseline): each score equals the central difference there", async () => {
  const s = new EngineService({ providers: "cpu" });
  const { twin, d, embeddings, f } = await plainMetric(s);
  const ids = twin.tokenizer.encode(heldoutText(600)).slice(0, 24);
  const e = embeddings(ids);
  const r = await s.call("attribute", { model: TWIN, ids, method: "integrated-gradients", steps: 1 }, ctx);
  assert.equal(r.completeness!.steps, 1);
  assert.equal(r.runs, 3);
  // from the zero embedding the midpoint is e/2, and (e − 0) · ∇f(e/2) along token i is the
  // derivative of f(e/2 with token i's embedding scaled by 1 + 2t) at t = 0
  const half = e.map((x) => x / 2);
  const eps = 1e-2;
  let worst = 0;
  for (const i of [0, 5, 11, 17, 23]) {
    const fd = (f(scaled(half, d, i, 2 * eps), r.target.id) - f(scaled(half, d, i, -2 * eps), r.target.id)) / (2 * eps);
    const rel = Math.abs(fd - r.scores[i].score) / Math.max(Math.abs(fd), 1e-2);
    worst = Math.max(worst, rel);
    assert.ok(rel <= 1e-2, `token ${i}: ${r.scores[i].score} vs ${fd}`);
  }
  // and the sum: the derivative of f(t · e) at t = 1/2
  const all = (t: number) => f(e.map((x) => x * t), r.target.id);
  const fdSum = (all(0.5 + eps) - all(0.5 - eps)) / (2 * eps);
  assert.ok(Math.abs(fdSum - r.completeness!.sum) <= 1e-2 * Math.abs(fdSum), `sum ${r.completeness!.sum} vs ${fdSum}`);
  // one step is far from complete, 64 are not: the same prediction converges
  const many = await s.call("attribute", { model: TWIN, ids, method: "integrated-gradients", steps: 64 }, ctx);
  assert.ok(many.completeness!.relError < r.completeness!.relError, `${many.completeness!.relError} vs ${r.completeness!.relError}`);
  console.log(`integrated gradients, 1 step vs central differences at the midpoint: worst relative error ${worst.toExponential(2)}; completeness 1 step ${(r.completeness!.relError * 100).toFixed(1)}%, 64 steps ${(many.completeness!.relError * 100).toFixed(3)}%`);
});

test("a GPT-2 ONNX folder is explained through its TensorFlow.js twin: the same scores, the twin named, its metric agreeing with the model's", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = "const myValue = 3;\nreturn myVa";
  for (const method of ["grad-x-input", "integrated-gradients"] as const) {
    const onnx = await s.call("attribute", { model: SAMPLE_MODEL, text, method, steps: method === "integrated-gradients" ? 16 : undefined }, ctx);
    const twin = await s.call("attribute", { model: TWIN, text, method, steps: method === "integrated-gradients" ? 16 : undefined }, ctx);
    assert.equal(onnx.computedBy.name, "tiny-gpt (tfjs)");
    assert.equal(onnx.computedBy.family, "gpt2-tfjs");
    assert.match(onnx.computedBy.runtime, /^TensorFlow\.js /);
    assert.ok(onnx.computedBy.agreement !== undefined && onnx.computedBy.agreement < 1e-4, `agreement ${onnx.computedBy.agreement}`);
    assert.equal(onnx.target.id, twin.target.id);
    assert.deepEqual(onnx.scores, twin.scores);
    // ablation is computed by the model itself
    const ab = await s.call("attribute", { model: SAMPLE_MODEL, text }, ctx);
    assert.deepEqual({ name: ab.computedBy.name, family: ab.computedBy.family }, { name: "tiny-gpt", family: "gpt2-onnx" });
  }
  // the explained position and the target carry over: token 10 of the text, from the ten before it
  const ids = (await s.model(SAMPLE_MODEL)).tokenizer.encode(text);
  const at = await s.call("attribute", { model: SAMPLE_MODEL, text, position: 10, method: "grad-x-input" }, ctx);
  assert.equal(at.target.id, ids[10]);
  assert.equal(at.scores.length, 10);
});

test("a cancelled integrated-gradients run ends with CANCELLED at its next batch, after progress in steps", async () => {
  const s = new EngineService({ providers: "cpu" });
  const ac = new AbortController();
  const seen: Progress[] = [];
  const ids = (await s.model(SAMPLE_MODEL)).tokenizer.encode(heldoutText(2000)).slice(0, 100);
  const run = s.call("attribute", { model: TWIN, ids, method: "integrated-gradients" }, {
    ...ctx,
    signal: ac.signal,
    progress: (p: Progress) => {
      seen.push(p);
      if (p.kind === "steps" && p.done > 2) ac.abort();
    },
  });
  await assert.rejects(run, code("CANCELLED", /^attribute was cancelled$/));
  // the real input, the baseline, then one batch of 16 path points (the memory budget allows more)
  // (the twin's loading is reported as a phase before these)
  assert.deepEqual(seen.filter((p) => p.kind === "steps").map((p) => (p.kind === "steps" ? [p.done, p.total] : p.kind)), [[1, 66], [2, 66], [18, 66]]);
  assert.ok(seen.every((p) => p.kind === "steps" || (p.kind === "phase" && /^loading .*\(gpt2-tfjs\)$/.test(p.message))), JSON.stringify(seen.filter((p) => p.kind !== "steps")));
});

test("refusals: models without a differentiable copy, a budget too small, steps and baselines where they do not apply", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = "let x = 1;";
  // (Llama-shaped folders have a copy now: test/integration/llamaTwin.test.ts); a bare graph has no config.json to build one from
  await assert.rejects(s.call("attribute", { model: path.join(HF, "gpt-bare", "model.onnx"), ids: [17, 301, 45], method: "integrated-gradients" }, ctx), code("UNSUPPORTED", new RegExp(`^model\\.onnx \\(bare-onnx\\): gradients need a differentiable copy; this model has none \\(the TensorFlow\\.js copies run GPT-2 and Llama-shaped \\(llama, mistral, qwen2, qwen3, phi3\\) folders only; this is a bare graph without config\\.json\\): use method ablation$`)));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, method: "integrated-gradients", steps: 0 }, ctx), code("BAD_INPUT", /^steps must be a whole number in 1\.\.4096 /));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, method: "integrated-gradients", steps: 2.5 }, ctx), code("BAD_INPUT", /^steps must be a whole number/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, steps: 8 }, ctx), code("BAD_INPUT", /^steps is the number of points on integrated gradients' path; feature ablation runs once per token/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, method: "grad-x-input", steps: 8 }, ctx), code("BAD_INPUT", /gradient × input takes one gradient/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, method: "grad-x-input", baseline: "eos" }, ctx), code("BAD_INPUT", /^gradient × input multiplies the gradient by the token's embedding itself .* use method integrated-gradients to start from the eos token$/));
  await assert.rejects(s.call("attribute", { model: SAMPLE_MODEL, text, method: "integrated-gradients", baseline: "mask" }, ctx), code("BAD_INPUT", /^the tokenizer has no mask token/));
  const small = new EngineService({ providers: "cpu", memoryBudget: 4 * 2 ** 20 });
  await assert.rejects(small.call("attribute", { model: SAMPLE_MODEL, ids: Array.from({ length: 40 }, (_, i) => 100 + i), method: "grad-x-input" }, ctx), code("TOO_LARGE", /^the gradient of a prediction after 40 tokens would need about [\d.]+ MB .*more than the memory budget of 4 MB: .*use method ablation$/));
});

test("seqlens attribute --method integrated-gradients --steps N: completeness and the model that computed the gradients, in JSON and in the table", () => {
  const text = "const myValue = 3;\nreturn myVa";
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_JS, "attribute", "--model", SAMPLE_MODEL, "--text", text, ...args, "--ep", "cpu"], { encoding: "utf8", timeout: 120_000 });
  const r = cli("--method", "integrated-gradients", "--steps", "32", "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.method, "integrated-gradients");
  assert.deepEqual(j.baseline, { text: "", kind: "zero" });
  assert.equal(j.completeness.steps, 32);
  assert.ok(Math.abs(j.completeness.sum - j.scores.reduce((a: number, x: { score: number }) => a + x.score, 0)) < 1e-9);
  assert.ok(j.completeness.relError < 0.01, JSON.stringify(j.completeness));
  assert.equal(j.computedBy.name, "tiny-gpt (tfjs)");
  assert.equal(j.scores.length, 15);
  const table = cli("--method", "integrated-gradients", "--steps", "8", "--baseline", "eos", "--top", "3");
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /\ngradients on tiny-gpt \(tfjs\) \(TensorFlow\.js [\d.]+ \(\w+\)\) standing in for the model \(its metric agrees to [\d.e+-]+\), with respect to the token embeddings \(positions held fixed\), 10 passes in \d+ ms\n/);
  assert.match(table.stdout, /\nintegrated gradients from <\|endoftext\|> \(eos, id 4095\): score = .* over 8 points on the path\n/);
  assert.match(table.stdout, /\ncompleteness: the scores sum to -?\d+\.\d{4}; f\(input\) - f\(baseline\) = -?\d+\.\d{4} \(relative error \d+\.\d{2}%\)\n/);
  const gxi = cli("--method", "grad-x-input", "--json");
  assert.equal(gxi.status, 0, gxi.stderr);
  const g = JSON.parse(gxi.stdout);
  assert.equal(g.completeness, undefined);
  assert.ok(g.scores.every((x: { norm: number }) => x.norm > 0));
  const bad = cli("--method", "integrated-gradients", "--baseline", "nothing");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--baseline must be pad, eos, mask, unk, zero \(the zero embedding\) or a token id \(got "nothing"\)/);
});
