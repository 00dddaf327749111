// The graph decides, the config informs: a config.json whose shape disagrees with the ONNX graph is
// refused with both numbers (not believed, as "40000 layers x 4 heads" was), and absurd values are
// refused before anything is sized from them. The sample tiny-gpt (4 layers, 4 heads, 128 wide,
// 4,096 tokens, a KV cache) copied with one key changed at a time.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { EngineError } from "../../protocol/errors";
import { SAMPLE_MODEL, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const config = JSON.parse(fs.readFileSync(path.join(SAMPLE_MODEL, "config.json"), "utf8")) as Record<string, unknown>;

/** A copy of the sample whose config.json has `change` applied. */
function withConfig(name: string, change: Record<string, unknown>): string {
  const dir = path.join(tempDir("config-graph"), name);
  fs.cpSync(SAMPLE_MODEL, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...config, ...change }, null, 2));
  return dir;
}

function refused(about: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, "MODEL_INVALID", e.message);
    assert.match(e.message, about);
    return true;
  };
}

test("the sample's own config agrees with its graph", async () => {
  const info = await new EngineService({ providers: "cpu" }).call("info", { model: SAMPLE_MODEL }, ctx);
  assert.deepEqual([info.nLayer, info.nHead, info.nEmbd, info.vocabSize], [config.n_layer, config.n_head, config.n_embd, config.vocab_size]);
});

test("a config that disagrees with the graph is refused, naming both numbers", async () => {
  const s = new EngineService({ providers: "cpu" });
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["layers", { n_layer: 40 }, /says n_layer = 40, but the graph has 4 attention layers/],
    ["fewer-layers", { n_layer: 2 }, /says n_layer = 2, but the graph has 4 attention layers/],
    ["heads", { n_head: 8 }, /says n_head = 8, but the graph's KV cache has 4 heads/],
    ["width", { n_embd: 256, n_head: 4 }, /says n_embd = 256, but the graph's KV cache has 4 heads of 32 \(128\)/],
    ["vocabulary", { vocab_size: 5000 }, /says vocab_size = 5000, but the token embedding has 4096 rows/],
  ];
  for (const [name, change, about] of cases) {
    await assert.rejects(s.call("inspect", { model: withConfig(name, change), text: "interface Shape {" }, ctx), refused(about), name);
  }
});

test("absurd config values are refused before anything is sized from them", async () => {
  const s = new EngineService({ providers: "cpu" });
  await assert.rejects(s.call("info", { model: withConfig("huge-layers", { n_layer: 40000 }) }, ctx), refused(/"n_layer" = 40000 is past any model SeqLens can run \(at most 1,024\)/));
  await assert.rejects(s.call("info", { model: withConfig("huge-vocab", { vocab_size: 2 ** 31 }) }, ctx), refused(/"vocab_size" = 2147483648 is past/));
  await assert.rejects(s.call("info", { model: withConfig("negative", { n_head: -4 }) }, ctx), refused(/"n_head" must be a positive integer \(got -4\)/));
});
