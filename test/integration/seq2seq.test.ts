// Encoder-decoders checked against PyTorch: the fixtures in test/fixtures/seq2seq (a Marian-like and
// a T5-like model, exported by torch.onnx.export in optimum's layout) carry PyTorch's greedy ids,
// step probabilities and the three attentions over source and target.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { CLI_JS, tempDir } from "../helpers";
import { SEQ2SEQ_FIXTURES, seq2seqAttentionDiff, seq2seqReference as reference } from "../seq2seqReference";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const DIR = SEQ2SEQ_FIXTURES;

/** A copy of a fixture folder with config.json / generation_config.json changed. */
function withConfig(name: string, change: Record<string, unknown>): string {
  const dir = path.join(tempDir("seq2seq-cfg"), name);
  fs.cpSync(path.join(DIR, name), dir, { recursive: true });
  for (const f of ["config.json", "generation_config.json"]) {
    const file = path.join(dir, f);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), ...change }, null, 2));
  }
  return dir;
}

for (const name of ["marian-tiny", "t5-tiny"]) {
  test(`${name}: greedy target ids and their probabilities as PyTorch's, with and without the KV cache`, async () => {
    const s = new EngineService({ providers: "cpu" });
    const model = path.join(DIR, name);
    const ref = reference(name);
    const info = await s.call("info", { model }, ctx);
    assert.equal(info.family, "seq2seq-onnx");
    for (const c of ["crossAttention", "selfAttention", "generate", "kvCache"] as const) assert.ok(info.capabilities.includes(c), `${c} in ${info.capabilities}`);
    assert.deepEqual(ref.greedy, ref.greedyWithCache);
    for (const useCache of [true, false]) {
      const g = await s.call("generate", { model, text: ref.sourceText, maxTokens: 12, greedy: true, useCache }, ctx);
      assert.deepEqual(g.tokens.map((t) => t.id), ref.greedy, `${useCache ? "with" : "without"} the cache`);
      g.tokens.forEach((t, i) => assert.ok(Math.abs(t.p - ref.stepTop5[i][0].p) < 1e-5, `step ${i}: p ${t.p} vs ${ref.stepTop5[i][0].p}`));
      assert.equal(g.stoppedBy, "maxTokens");
    }
  });

  test(`${name}: encoder, decoder and cross-attention over source x target, and the next tokens, as PyTorch's`, async () => {
    const s = new EngineService({ providers: "cpu" });
    const model = path.join(DIR, name);
    const ref = reference(name);
    const r = await s.call("inspectSeq2seq", { model, text: ref.sourceText, targetIds: ref.targetIds, topK: 10 }, ctx);
    assert.deepEqual(r.source.map((t) => t.id), ref.sourceIds);
    assert.deepEqual(r.target.map((t) => t.id), ref.targetIds);
    assert.ok(r.target[0].special, "the decoder start token is marked");
    assert.equal(r.generated, false);
    // source tokens point at their words in the text
    for (const t of r.source) if (!t.special) assert.equal(ref.sourceText.slice(t.start, t.end).toLowerCase(), t.text.toLowerCase());
    const worst = await seq2seqAttentionDiff(s, r.handle, ref);
    assert.ok(worst <= 1e-5, `attention differs from PyTorch's by ${worst}`);
    assert.deepEqual(r.next.map((t) => t.id), ref.next.map((t) => t.id));
    r.next.forEach((t, i) => assert.ok(Math.abs(t.p - ref.next[i].p) < 1e-5));
    // no target given: the greedy translation is the target
    const g = await s.call("inspectSeq2seq", { model, text: ref.sourceText, maxTokens: 12 }, ctx);
    assert.equal(g.generated, true);
    assert.deepEqual(g.target.map((t) => t.id), ref.targetIds);
    await assert.rejects(s.call("seq2seqAttention", { handle: r.handle, kind: "cross", layer: 9, head: 0 }, ctx), /outside the cross attention's/);
  });
}

test("marian-tiny: bad_words_ids are never written, forced_eos_token_id ends the target at max_length", async () => {
  const s = new EngineService({ providers: "cpu" });
  const ref = reference("marian-tiny");
  // ban the first greedy token: the second most likely comes instead
  const banned = withConfig("marian-tiny", { bad_words_ids: [[199], [ref.greedy[0]]] });
  const b = await s.call("generate", { model: banned, text: ref.sourceText, maxTokens: 3, greedy: true }, ctx);
  assert.equal(b.tokens[0].id, ref.stepTop5[0][1].id);
  assert.ok(b.tokens.every((t) => t.id !== ref.greedy[0] && t.id !== 199));
  // max_length 6: the decoder input (start token first) reaches 5 after 4 tokens, so the 5th is EOS
  const forced = withConfig("marian-tiny", { max_length: 6 });
  const f = await s.call("generate", { model: forced, text: ref.sourceText, maxTokens: 12, greedy: true }, ctx);
  assert.deepEqual(f.tokens.map((t) => t.id), ref.greedy.slice(0, 4));
  assert.equal(f.stoppedBy, "eos");
});

test("seqlens inspect --json on an encoder-decoder: source, target (start token first), the three attentions, next", () => {
  const ref = reference("t5-tiny");
  const r = spawnSync(process.execPath, [CLI_JS, "inspect", "--model", path.join(DIR, "t5-tiny"), "--text", ref.sourceText, "--target-ids", ref.targetIds.slice(1).join(","), "--json", "--ep", "cpu"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(j).sort(), ["crossAttention", "decoderAttention", "device", "encoderAttention", "model", "next", "source", "target"].sort());
  assert.deepEqual(j.target.map((t: { id: number }) => t.id), ref.targetIds);
  const [S, T] = [ref.sourceIds.length, ref.targetIds.length];
  assert.deepEqual([j.encoderAttention.length, j.encoderAttention[0].length, j.encoderAttention[0][0].length, j.encoderAttention[0][0][0].length], [2, 4, S, S]);
  assert.deepEqual([j.decoderAttention[0][0].length, j.decoderAttention[0][0][0].length], [T, T]);
  assert.deepEqual([j.crossAttention[1][3].length, j.crossAttention[1][3][0].length], [T, S]);
  assert.ok(Math.abs(j.crossAttention[1][3][5][2] - ref.crossAttention[1][3][5][2]) < 1e-5);
  assert.deepEqual(j.next.map((t: { id: number }) => t.id), ref.next.map((t) => t.id));
  const g = spawnSync(process.execPath, [CLI_JS, "generate", "--model", path.join(DIR, "t5-tiny"), "--text", ref.sourceText, "--max-tokens", "12", "--greedy", "--json", "--ep", "cpu"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(g.status, 0, g.stderr);
  const gj = JSON.parse(g.stdout);
  assert.deepEqual(gj.tokens.map((t: { id: number }) => t.id), ref.greedy);
  assert.equal(typeof gj.text, "string");
});

test("a word outside a WordLevel vocabulary is its <unk> token, with or without tokenizer_config.json, and points at the word in the text", async () => {
  const s = new EngineService({ providers: "cpu" });
  const bare = path.join(tempDir("seq2seq-unk"), "m");
  fs.cpSync(path.join(DIR, "marian-tiny"), bare, { recursive: true });
  fs.rmSync(path.join(bare, "tokenizer_config.json"));
  const text = "The zebra sees the dog";
  for (const model of [path.join(DIR, "marian-tiny"), bare]) {
    const r = await s.call("inspectSeq2seq", { model, text, maxTokens: 2 }, ctx);
    assert.deepEqual(r.source.map((t) => t.id), [2, 1, 72, 2, 6, 0]);
    assert.equal(text.slice(r.source[1].start, r.source[1].end), "zebra");
  }
});
