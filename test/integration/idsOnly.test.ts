// A model folder without its tokenizer files still runs on token ids: without tokenizer.json the
// model reads ids only (text is refused with a sentence that says so, tokens show as ⟨id⟩) and
// gives the same numbers as with it; without tokenizer_config.json, tokenizer.json alone reads text.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { EngineError } from "../../protocol/errors";
import { SAMPLE_MODEL, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

function without(name: string, files: string[]): string {
  const dir = path.join(tempDir("ids-only"), name);
  fs.cpSync(SAMPLE_MODEL, dir, { recursive: true });
  for (const f of files) fs.rmSync(path.join(dir, f));
  return dir;
}

test("without tokenizer.json: ids give the same tokens' numbers as the full folder, text is refused with what to do", async () => {
  const s = new EngineService({ providers: "cpu" });
  const bare = without("no-tokenizer", ["tokenizer.json", "tokenizer_config.json"]);
  const ids = [445, 400, 1100, 366, 10, 20];
  const a = await s.call("inspect", { model: SAMPLE_MODEL, ids, topK: 5 }, ctx);
  const b = await s.call("inspect", { model: bare, ids, topK: 5 }, ctx);
  assert.deepEqual(b.tokens.map((t) => t.text), ids.map((id) => `⟨${id}⟩`));
  assert.deepEqual(b.next!.top.map((t) => t.id), a.next!.top.map((t) => t.id));
  b.next!.top.forEach((t, i) => assert.ok(Math.abs(t.p - a.next!.top[i].p) < 1e-6, `${t.p} vs ${a.next!.top[i].p}`));
  const [sa, sb] = await Promise.all([s.call("attention", { handle: a.handle, layer: 3, head: 2 }, ctx), s.call("attention", { handle: b.handle, layer: 3, head: 2 }, ctx)]);
  assert.deepEqual(Array.from(sb.data), Array.from(sa.data));
  await assert.rejects(s.call("inspect", { model: bare, text: "interface Shape" }, ctx), (e: unknown) => e instanceof EngineError && e.code === "TOKENIZER" && /no tokenizer\.json, so this model reads token ids only \(give --ids/.test(e.message));
});

test("without tokenizer_config.json: tokenizer.json alone tokenizes text as the full folder does", async () => {
  const s = new EngineService({ providers: "cpu" });
  const text = "interface Shape {\n  readonly kind: string;\n}";
  const a = await s.call("inspect", { model: SAMPLE_MODEL, text }, ctx);
  const b = await s.call("inspect", { model: without("no-tokenizer-config", ["tokenizer_config.json"]), text }, ctx);
  assert.deepEqual(b.tokens, a.tokens);
});
