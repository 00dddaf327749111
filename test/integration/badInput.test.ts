// Every bad input gets a one-line error naming the file or value, and a non-zero exit from the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLI_JS, copyModel, SAMPLE_MODEL } from "../helpers";

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_JS, ...args, "--ep", "cpu"], { encoding: "utf8", timeout: 60_000, maxBuffer: 256 * 2 ** 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function expectError(args: string[], pattern: RegExp): void {
  const r = cli(args);
  assert.notEqual(r.code, 0, `expected failure, got: ${r.stdout}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^seqlens: error: /);
  assert.match(lines[0], pattern);
}

test("missing model folder", () => expectError(["inspect", "--model", "/nonexistent/model", "--text", "x"], /model folder not found: \/nonexistent\/model/));

test("truncated .onnx", () => {
  const dir = copyModel();
  const f = path.join(dir, "onnx", "model.onnx");
  const bytes = fs.readFileSync(f);
  fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 3)));
  expectError(["inspect", "--model", dir, "--text", "x"], /model\.onnx is not a valid ONNX model \(corrupt or truncated/);
});

test("corrupt .onnx (random bytes)", () => {
  const dir = copyModel();
  const junk = Buffer.alloc(4096);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24;
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), junk);
  expectError(["info", "--model", dir], /model\.onnx (is not a valid ONNX model|holds no ONNX graph)/);
});

test("missing tokenizer", () => {
  const dir = copyModel();
  fs.rmSync(path.join(dir, "tokenizer.json"));
  expectError(["inspect", "--model", dir, "--text", "x"], /no tokenizer\.json/);
});

test("wrong tokenizer: more tokens than the model's vocabulary", () => {
  const dir = copyModel();
  const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  for (let i = 0; i < 100; i++) tj.model.vocab[`extra_${i}`] = 4096 + i;
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tj));
  expectError(["inspect", "--model", dir, "--text", "x"], /tokenizer\.json has 4196 tokens but config\.json says vocab_size = 4096/);
});

test("broken config.json", () => {
  const dir = copyModel();
  fs.writeFileSync(path.join(dir, "config.json"), '{"n_layer": 4,');
  expectError(["info", "--model", dir], /config\.json: not valid JSON/);
});

test("empty text", () => expectError(["inspect", "--model", SAMPLE_MODEL, "--text", ""], /the text is empty/));

test("ids outside the vocabulary", () => expectError(["inspect", "--model", SAMPLE_MODEL, "--ids", "1,2,99999"], /token id 99999 is outside the vocabulary \(0\.\.4095\)/));

test("text longer than the context is truncated from the left, with a notice", () => {
  const text = "interface A { x: number; }\n".repeat(200);
  const r = cli(["inspect", "--model", SAMPLE_MODEL, "--text", text, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /notice: the input has \d+ tokens, more than the 512 allowed; the first \d+ were dropped \(truncated from the left\)/);
  const out = JSON.parse(r.stdout);
  assert.equal(out.tokens.length, 512);
  assert.equal(out.tokens[511].end, text.length);
});

test("unknown execution provider", () => {
  const r = spawnSync(process.execPath, [CLI_JS, "info", "--model", SAMPLE_MODEL, "--ep", "tpu"], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), 'seqlens: error: unknown execution provider "tpu" (use cpu, cuda or auto)');
});

test("bad sampling settings", () => {
  expectError(["generate", "--model", SAMPLE_MODEL, "--text", "x", "--max-tokens", "3", "--temperature", "0"], /temperature must be a positive number \(got 0\)/);
  expectError(["generate", "--model", SAMPLE_MODEL, "--text", "x", "--max-tokens", "3", "--top-k", "2.5"], /top-k must be an integer/);
  expectError(["generate", "--model", SAMPLE_MODEL, "--text", "x", "--max-tokens", "0"], /max tokens must be a positive integer/);
});

test("usage errors exit 2 with the usage", () => {
  const r = cli(["inspect"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--model is required/);
  assert.match(execFileSync(process.execPath, [CLI_JS, "--help"], { encoding: "utf8" }), /seqlens inspect/);
});
