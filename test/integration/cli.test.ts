// The CLI's JSON, checked against the engine's own numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { CLI_JS, EARLY_MODEL, heldoutText, SAMPLE_MODEL } from "../helpers";

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI_JS, ...args, "--ep", "cpu"], { encoding: "utf8", timeout: 120_000, maxBuffer: 256 * 2 ** 20 });
}

function run(args: string[]): unknown {
  const r = cli(...args);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("seqlens inspect --json: tokens, attention [layer][head][query][key], top-10 next", () => {
  const text = "interface Foo {\n    bar: string;\n}";
  const out = run(["inspect", "--model", SAMPLE_MODEL, "--text", text, "--json"]) as {
    tokens: { id: number; text: string; start: number; end: number }[];
    attention: number[][][][];
    next: { id: number; token: string; p: number }[];
    device: string;
  };
  assert.equal(out.device, "cpu");
  assert.equal(out.tokens.map((t) => text.slice(t.start, t.end)).join(""), text);
  assert.equal(out.tokens.map((t) => t.text).join(""), text);
  const T = out.tokens.length;
  assert.equal(out.attention.length, 4);
  assert.equal(out.attention[0].length, 4);
  assert.equal(out.attention[0][0].length, T);
  assert.equal(out.attention[0][0][T - 1].length, T);
  for (const row of out.attention[3][1]) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  assert.equal(out.next.length, 10);
  assert.ok(out.next[0].p >= out.next[9].p);
});

test("seqlens inspect --ids gives the same tokens as --text", () => {
  const a = run(["inspect", "--model", SAMPLE_MODEL, "--text", "let x = 1;", "--json"]) as { tokens: { id: number; text: string }[]; next: unknown };
  const b = run(["inspect", "--model", SAMPLE_MODEL, "--ids", a.tokens.map((t) => t.id).join(","), "--json"]) as { tokens: { id: number; text: string }[]; next: unknown };
  assert.deepEqual(b.tokens.map((t) => t.text), a.tokens.map((t) => t.text));
  assert.deepEqual(b.next, a.next);
});

test("seqlens generate --greedy --json: the continuation only, token by token", () => {
  const out = run(["generate", "--model", SAMPLE_MODEL, "--text", "interface Foo {", "--max-tokens", "12", "--greedy", "--json"]) as { text: string; tokens: { id: number; text: string; p: number }[] };
  assert.equal(out.tokens.length, 12);
  assert.equal(out.text, out.tokens.map((t) => t.text).join(""));
  for (const t of out.tokens) assert.ok(t.p > 0 && t.p <= 1);
});

test("seqlens info --json: architecture, parameters, runtime, device", () => {
  const info = run(["info", "--model", SAMPLE_MODEL, "--json"]) as Record<string, unknown>;
  assert.equal(info.modelType, "gpt2");
  assert.equal(info.nLayer, 4);
  assert.equal(info.device, "cpu");
  assert.match(String(info.runtime), /^onnxruntime-node \d/);
  assert.equal(info.hasKvCache, true);
  // wte 4096x128 + wpe 512x128 + 4 blocks of 12 d^2 + 13 d + final LayerNorm 2d
  assert.equal(info.parameters, 4096 * 128 + 512 * 128 + 4 * (12 * 128 * 128 + 13 * 128) + 2 * 128);
});

test("seqlens lens --json: [layer][position] top-5, the last layer the model's own next token; project --text --layer --json", () => {
  const text = "export function add(a: number, b: number) {";
  const lens = JSON.parse(cli("lens", "--model", SAMPLE_MODEL, "--text", text, "--json").stdout);
  const inspect = JSON.parse(cli("inspect", "--model", SAMPLE_MODEL, "--text", text, "--top-k", "5", "--json").stdout);
  assert.equal(lens.layers.length, 5);
  assert.equal(lens.layers[0].length, inspect.tokens.length);
  for (const row of lens.layers) for (const cell of row) {
    assert.equal(cell.length, 5);
    for (const c of cell) assert.deepEqual(Object.keys(c).sort(), ["id", "p", "token"]);
  }
  const last = lens.layers[4][inspect.tokens.length - 1];
  assert.deepEqual(last.map((c: { id: number }) => c.id), inspect.next.map((c: { id: number }) => c.id));
  const proj = JSON.parse(cli("project", "--model", SAMPLE_MODEL, "--method", "pca", "--text", text, "--layer", "2", "--dims", "3", "--json").stdout);
  assert.equal(proj.points.length, inspect.tokens.length);
  assert.deepEqual(Object.keys(proj.points[0]).sort(), ["id", "label", "position", "x", "y", "z"]);
  assert.equal(proj.layer, 2);
  const bad = cli("project", "--model", SAMPLE_MODEL, "--method", "mds");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--method must be pca, umap or tsne/);
});

test("seqlens compare --json: the summary and each token's losses, KL both ways and JS; two --model are needed", () => {
  const text = heldoutText(800);
  const r = JSON.parse(cli("compare", "--model", EARLY_MODEL, "--model", SAMPLE_MODEL, "--text", text, "--json").stdout);
  assert.equal(r.mode, "token");
  assert.equal(r.summary.meanLoss.length, 2);
  assert.ok(r.summary.meanLoss[1] < r.summary.meanLoss[0]);
  assert.ok(Array.isArray(r.summary.changedHeads) && r.summary.changedHeads.length === 16);
  assert.deepEqual(Object.keys(r.tokens[1]).sort(), ["end", "id", "js", "kl", "loss", "start", "text"]);
  assert.equal(r.tokens[0].loss[0], null);
  assert.equal(r.tokens[1].kl.length, 2);
  const one = cli("compare", "--model", SAMPLE_MODEL, "--text", text);
  assert.equal(one.status, 2);
  assert.match(one.stderr, /compare needs two --model \(got 1\)/);
});

test("seqlens complete --json: the editor's completion at a cursor, each token with its probability and alternatives", () => {
  const r = cli("complete", "--model", SAMPLE_MODEL, "--text", "interface Array<T> {\n    slice(start?: number, ", "--suffix", "): T[];", "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.stoppedBy, "suffix");
  assert.equal(j.kvCache, true);
  assert.ok(j.text.length > 0 && !j.text.includes(")"), JSON.stringify(j.text));
  assert.equal(j.tokens.map((t: { text: string }) => t.text).join("").slice(0, j.text.length), j.text);
  for (const t of j.tokens) assert.ok(t.p > 0 && t.alternatives.length === 5 && t.alternatives.every((a: { p: number }) => a.p <= t.p));
  const bad = cli("complete", "--model", SAMPLE_MODEL, "--text", "x", "--stop-at", "paragraph");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--stop-at is line or block/);
});
