// Activation patching (engine/probes/patching.ts) through the interventions copy's edit inputs:
// the residual and per-head grids against PyTorch's patching loop
// (test/fixtures/hf/<name>/interp.json "patching", from make_interp_fixtures.py), the copy's
// unedited and fully patched runs, the refusals, cancelling, and the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { floatValues } from "../../engine/runtime/onnx/tensors";
import type { Progress } from "../../protocol/engine";
import { CLI_JS, code, ROOT, SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const HF = path.join(ROOT, "test", "fixtures", "hf");

interface Patching {
  clean: number[];
  corrupted: number[];
  target: number;
  foil: number;
  cleanMetric: number;
  corruptedMetric: number;
  residual: number[][];
  headLayer: number;
  heads: number[][];
  headsAllPositions: number[][];
}

const reference = (name: string): Patching => JSON.parse(fs.readFileSync(path.join(HF, name, "interp.json"), "utf8")).patching;
const maxDiff = (a: number[][], b: number[][]) => {
  assert.equal(a.length, b.length);
  let d = 0;
  a.forEach((row, i) => {
    assert.equal(row.length, b[i].length);
    row.forEach((x, j) => (d = Math.max(d, Math.abs(x - b[i][j]))));
  });
  return d;
};
const normalise = (ref: Patching, raw: number[][]) => raw.map((row) => row.map((m) => (m - ref.corruptedMetric) / (ref.cleanMetric - ref.corruptedMetric)));

/** n token ids of a repeating pattern (all under 500, the smallest vocabulary here), and the same with the token at `at` changed. */
function pair(n: number, at: number): { clean: number[]; corrupted: number[] } {
  const clean = Array.from({ length: n }, (_, i) => (i * 37 + 11) % 500);
  const corrupted = clean.slice();
  corrupted[at] = (clean[at] + 250) % 500;
  return { clean, corrupted };
}

test("the residual and per-head patching grids equal PyTorch's patching loop (<= 1e-4) on llama-gqa and qwen2-tied", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const name of ["llama-gqa", "qwen2-tied"]) {
    const ref = reference(name);
    const model = path.join(HF, name);
    const base = { model, clean: ref.clean, corrupted: ref.corrupted, metric: { target: ref.target, foil: ref.foil } };
    const r = await s.call("patch", base, ctx);
    assert.deepEqual(r.axes, ["layer", "position"]);
    assert.equal(r.per, "residual");
    assert.ok(Math.abs(r.cleanMetric - ref.cleanMetric) <= 1e-4, `${name}: clean ${r.cleanMetric} vs ${ref.cleanMetric}`);
    assert.ok(Math.abs(r.corruptedMetric - ref.corruptedMetric) <= 1e-4, `${name}: corrupted ${r.corruptedMetric} vs ${ref.corruptedMetric}`);
    assert.ok(maxDiff(r.raw, ref.residual) <= 1e-4, `${name} residual: ${maxDiff(r.raw, ref.residual)}`);
    assert.ok(maxDiff(r.grid, normalise(ref, ref.residual)) <= 1e-4, `${name} residual normalised: ${maxDiff(r.grid, normalise(ref, ref.residual))}`);
    assert.deepEqual(r.differ, [ref.clean.findIndex((id, i) => id !== ref.corrupted[i])]);
    assert.equal(r.tokens.length, ref.clean.length);
    // layer 0 differs only where the tokens do; the later layers from there on
    assert.equal(r.patched, 1 + (ref.residual.length - 1) * (ref.clean.length - r.differ[0]));

    const h = await s.call("patch", { ...base, per: "head", layer: ref.headLayer }, ctx);
    assert.deepEqual(h.axes, ["head", "position"]);
    assert.equal(h.layer, ref.headLayer);
    assert.ok(maxDiff(h.raw, ref.heads) <= 1e-4, `${name} heads at layer ${ref.headLayer}: ${maxDiff(h.raw, ref.heads)}`);
    assert.ok(maxDiff(h.grid, normalise(ref, ref.heads)) <= 1e-4);

    const all = await s.call("patch", { ...base, per: "head" }, ctx);
    assert.deepEqual(all.axes, ["layer", "head"]);
    assert.ok(maxDiff(all.raw, ref.headsAllPositions) <= 1e-4, `${name} heads at every position: ${maxDiff(all.raw, ref.headsAllPositions)}`);
    assert.ok(maxDiff(all.grid, normalise(ref, ref.headsAllPositions)) <= 1e-4);
  }
});

test("the copy's unedited run (and a batch of three) gives the original logits, and patching every position of block 0's residual gives the clean metric (<= 1e-5)", async () => {
  const s = new EngineService({ providers: "cpu" });
  for (const m of [SAMPLE_MODEL, path.join(HF, "llama-gqa"), path.join(HF, "gpt-bare", "model.onnx")]) {
    const model = await s.model(m);
    const g = await model.interventions();
    const { clean, corrupted } = pair(12, 5);
    const original = (await model.forward(clean, {})).logits;
    const V = model.config.vocab_size;
    const one = floatValues((await model.runInterventions(clean, new Map(), [g.logits]))[g.logits], "logits");
    const width = one.length / clean.length;
    const rowsOf = (x: Float32Array, b: number) => Array.from({ length: clean.length * V }, (_, i) => x[b * clean.length * width + Math.floor(i / V) * width + (i % V)]);
    const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((d, x, i) => Math.max(d, Math.abs(x - b[i])), 0);
    assert.ok(diff(rowsOf(one, 0), original) <= 1e-5, m);
    const three = floatValues((await model.runInterventions(clean, new Map(), [g.logits], { batch: 3 }))[g.logits], "logits");
    for (const b of [0, 1, 2]) assert.ok(diff(rowsOf(three, b), original) <= 1e-5, `${m} batch row ${b}`);
    // the clean residual entering block 0 in place of the corrupted one everywhere: the clean run
    const resid0 = (await model.runInterventions(clean, new Map(), [g.blocks[0].resid]))[g.blocks[0].resid];
    const value = { data: floatValues(resid0, "resid"), dims: [...resid0.dims] };
    const keep = { data: new Float32Array(value.data.length / g.width), dims: [...resid0.dims.slice(0, -1), 1] };
    const edits = new Map([[g.blocks[0].residKeep, keep], [g.blocks[0].residValue, value]]);
    const patched = floatValues((await model.runInterventions(corrupted, edits, [g.logits]))[g.logits], "logits");
    const plain = floatValues((await model.runInterventions(corrupted, new Map(), [g.logits]))[g.logits], "logits");
    assert.ok(diff(patched, one) <= 1e-5, `${m}: ${diff(patched, one)}`);
    assert.ok(diff(plain, one) > 1e-3, `${m}: the corruption changes the logits`);
  }
});

test("tiny-gpt: a 4 × T residual grid, 0 before the changed token, 1 at it in layer 0, progress to the end; per head at a layer and at every position", async () => {
  const s = new EngineService({ providers: "cpu" });
  const { clean, corrupted } = pair(48, 20);
  const events: Progress[] = [];
  const r = await s.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target: 10, foil: 20 } }, { ...ctx, progress: (p: Progress) => events.push(p) });
  assert.equal(r.grid.length, 4);
  assert.ok(r.grid.every((row) => row.length === 48 && row.every(Number.isFinite)));
  assert.notEqual(r.cleanMetric, r.corruptedMetric);
  for (let l = 0; l < 4; l++) for (let p = 0; p < 20; p++) assert.equal(r.grid[l][p], 0, `layer ${l} position ${p}`);
  for (let p = 0; p < 48; p++) if (p !== 20) assert.equal(r.grid[0][p], 0);
  // in layer 0 only position 20 differs: patching it is the whole clean input
  assert.ok(Math.abs(r.grid[0][20] - 1) <= 1e-5, `grid[0][20] = ${r.grid[0][20]}`);
  assert.ok(Math.abs(r.raw[0][20] - r.cleanMetric) <= 1e-5);
  // later layers carry the change at later positions too
  assert.ok(r.grid.slice(1).some((row) => row.slice(21).some((x) => Math.abs(x) > 0.01)));
  assert.equal(r.patched, 1 + 3 * 28);
  const steps = events.filter((e): e is Extract<Progress, { kind: "steps" }> => e.kind === "steps");
  assert.ok(steps.length >= 2);
  assert.deepEqual([steps.at(-1)!.done, steps.at(-1)!.total], [4 * 48, 4 * 48]);
  assert.ok(steps.every((e, i) => i === 0 || e.done >= steps[i - 1].done));

  const h = await s.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target: 10, foil: 20 }, per: "head", layer: 2 }, ctx);
  assert.deepEqual(h.axes, ["head", "position"]);
  assert.equal(h.grid.length, 4);
  assert.ok(h.grid.every((row) => row.length === 48 && row.slice(0, 20).every((x) => x === 0)));
  const all = await s.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target: 10, foil: 20 }, per: "head" }, ctx);
  assert.deepEqual(all.axes, ["layer", "head"]);
  assert.ok(all.grid.length === 4 && all.grid.every((row) => row.length === 4 && row.some((x) => x !== 0)));
});

test("a graph without a KV cache (bare GPT-2) patches full-length runs: block 0 at the changed token restores the clean metric", async () => {
  const s = new EngineService({ providers: "cpu" });
  const { clean, corrupted } = pair(10, 3);
  const bare = path.join(HF, "gpt-bare", "model.onnx");
  const r = await s.call("patch", { model: bare, clean, corrupted, metric: { target: 1, foil: 2 } }, ctx);
  assert.equal(r.grid.length, 2);
  assert.ok(Math.abs(r.grid[0][3] - 1) <= 1e-5, `grid[0][3] = ${r.grid[0][3]}`);
  assert.ok(r.grid[1].slice(0, 3).every((x) => x === 0));
});

test("refusals: unequal lengths, the same inputs, tokens not in the vocabulary, the same token twice, a bad layer", async () => {
  const s = new EngineService({ providers: "cpu" });
  const m = SAMPLE_MODEL;
  const metric = { target: 10, foil: 20 };
  await assert.rejects(s.call("patch", { model: m, clean: [1, 2, 3, 4], corrupted: [1, 2, 3], metric }, ctx), code("BAD_INPUT", /the clean input has 4 tokens and the corrupted one 3: activation patching needs two inputs of the same token length/));
  await assert.rejects(s.call("patch", { model: m, clean: "const a = 1;", corrupted: "const a = 1;", metric }, ctx), code("BAD_INPUT", /the clean and corrupted inputs are the same \d+ tokens: there is nothing to patch/));
  await assert.rejects(s.call("patch", { model: m, clean: [1, 2, 3], corrupted: [1, 5, 3], metric: { target: 99999, foil: 20 } }, ctx), code("BAD_INPUT", /target token id 99999 is outside the vocabulary \(0\.\.4095\)/));
  await assert.rejects(s.call("patch", { model: m, clean: [1, 2, 3], corrupted: [1, 5, 3], metric: { target: 10, foil: "a whole sentence of words" } }, ctx), code("BAD_INPUT", /foil "a whole sentence of words" is not one token of this model's vocabulary/));
  await assert.rejects(s.call("patch", { model: m, clean: [1, 2, 3], corrupted: [1, 5, 3], metric: { target: 10, foil: 10 } }, ctx), code("BAD_INPUT", /the metric's two tokens are the same/));
  await assert.rejects(s.call("patch", { model: m, clean: [1, 2, 3], corrupted: [1, 5, 3], metric, per: "head", layer: 4 }, ctx), code("BAD_INPUT", /layer 4 is not in this model: its layers are 0\.\.3/));
  await assert.rejects(s.call("patch", { model: m, clean: [1, 2, 3], corrupted: [1, 5, 3], metric, layer: 1 }, ctx), code("BAD_INPUT", /a layer is given for per "residual"/));
  await assert.rejects(s.call("patch", { model: m, clean: [1, 2, 3], corrupted: [1, 5, 3], metric, per: "mlp" as "head" }, ctx), code("BAD_INPUT", /per must be "residual" or "head"/));
  await assert.rejects(s.call("patch", { model: path.join(HF, "bert-mlm"), clean: "the cat", corrupted: "the dog", metric: { target: 1, foil: 2 } }, ctx), code("UNSUPPORTED"));
});

test("cancelling during the grid stops it with CANCELLED", async () => {
  const s = new EngineService({ providers: "cpu" });
  const { clean, corrupted } = pair(64, 1);
  const ac = new AbortController();
  let steps = 0;
  const run = s.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: { target: 10, foil: 20 } }, {
    signal: ac.signal,
    log: () => {},
    progress: (p: Progress) => {
      if (p.kind !== "steps") return;
      steps++;
      ac.abort();
    },
  });
  await assert.rejects(run, code("CANCELLED", /activation patching was cancelled/));
  assert.equal(steps, 1);
});

test("without a metric the engine measures the clean run's top next token against the corrupted run's (the clean run's second when they agree), as the editor's command does", async () => {
  const s = new EngineService({ providers: "cpu" });
  const pairs = [
    ["function add(a, b) {\n  return a + b;\n}\nconst total = add(", "function sub(a, b) {\n  return a + b;\n}\nconst total = add("],
    ["let count = 1;\ncount", "let value = 1;\ncount"],
  ];
  for (const [clean, corrupted] of pairs) {
    const top = async (text: string) => (await s.call("inspect", { model: SAMPLE_MODEL, text, topK: 2 }, ctx)).next!.top;
    const [c, x] = [await top(clean), await top(corrupted)];
    const want = { target: c[0].id, foil: x[0].id !== c[0].id ? x[0].id : c[1].id };
    const r = await s.call("patch", { model: SAMPLE_MODEL, clean, corrupted }, ctx);
    assert.deepEqual({ target: r.target.id, foil: r.foil.id }, want, clean);
    const given = await s.call("patch", { model: SAMPLE_MODEL, clean, corrupted, metric: want }, ctx);
    assert.deepEqual(r.grid, given.grid);
  }
});

test("seqlens patch --json gives the grid and its extras; the default metric; the table and a bad --metric", () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_JS, ...args, "--ep", "cpu"], { encoding: "utf8", timeout: 120_000 });
  const clean = "function add(a, b) {\n  return a + b;\n}\nconst total = add(";
  const corrupted = "function sub(a, b) {\n  return a + b;\n}\nconst total = add(";
  const j = cli("patch", "--model", SAMPLE_MODEL, "--clean", clean, "--corrupted", corrupted, "--metric", "10-20", "--json");
  assert.equal(j.status, 0, j.stderr);
  const r = JSON.parse(j.stdout);
  assert.deepEqual(r.axes, ["layer", "position"]);
  assert.equal(r.grid.length, 4);
  assert.equal(r.grid[0].length, r.tokens.length);
  assert.ok(r.grid.flat().every((x: number) => typeof x === "number" && Number.isFinite(x)));
  assert.equal(r.raw.length, 4);
  assert.deepEqual([r.target.id, r.foil.id], [10, 20]);
  assert.ok(r.differ.length >= 1);
  assert.equal(typeof r.cleanMetric, "number");
  assert.equal(typeof r.corruptedMetric, "number");
  const h = cli("patch", "--model", SAMPLE_MODEL, "--clean", clean, "--corrupted", corrupted, "--metric", "10-20", "--per", "head", "--layer", "1", "--json");
  assert.equal(h.status, 0, h.stderr);
  const hr = JSON.parse(h.stdout);
  assert.deepEqual(hr.axes, ["head", "position"]);
  assert.equal(hr.layer, 1);
  assert.equal(hr.grid.length, 4);
  const table = cli("patch", "--model", SAMPLE_MODEL, "--clean", clean, "--corrupted", corrupted, "--metric", "10-20");
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /activation patching: logit\(".*"\) - logit\(".*"\) = -?\d+\.\d{4} clean, -?\d+\.\d{4} corrupted/);
  assert.match(table.stdout, /^layer 3 .*\d\.\d{3}$/m);
  // no --metric: the clean run's top next token against the corrupted run's top (its second when they agree)
  const auto = cli("patch", "--model", SAMPLE_MODEL, "--clean", clean, "--corrupted", corrupted, "--json");
  assert.equal(auto.status, 0, auto.stderr);
  const ar = JSON.parse(auto.stdout);
  assert.equal(ar.grid.length, 4);
  assert.notEqual(ar.target.id, ar.foil.id);
  assert.ok(ar.cleanMetric > ar.corruptedMetric, `the default metric favours the clean run: ${ar.cleanMetric} vs ${ar.corruptedMetric}`);
  const bad = cli("patch", "--model", SAMPLE_MODEL, "--clean", clean, "--corrupted", corrupted, "--metric", "10");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--metric takes two tokens as "TOKEN_A-TOKEN_B" \(got "10"\)/);
  const uneven = cli("patch", "--model", SAMPLE_MODEL, "--clean", "a b c", "--corrupted", "a b c d e f", "--metric", "10-20");
  assert.equal(uneven.status, 1);
  assert.match(uneven.stderr, /activation patching needs two inputs of the same token length/);
});
