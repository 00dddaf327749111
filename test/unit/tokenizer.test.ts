import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { TextTokenizer } from "../../engine/tokenize/tokenizer";
import { DATA_DIR, SAMPLE_MODEL } from "../helpers";

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"));
const tokenizer = new TextTokenizer(readJson(path.join(SAMPLE_MODEL, "tokenizer.json")), readJson(path.join(SAMPLE_MODEL, "tokenizer_config.json")), SAMPLE_MODEL);

test("the tokenizer round-trips the whole corpus (train and held-out)", () => {
  for (const f of ["train.txt", "heldout.txt"]) {
    const text = fs.readFileSync(path.join(DATA_DIR, f), "utf8");
    const ids = tokenizer.encode(text);
    assert.ok(ids.length > 1000);
    assert.ok(ids.length < Buffer.byteLength(text) / 2, "BPE should compress the corpus to fewer than half as many tokens as bytes");
    assert.equal(tokenizer.decode(ids), text);
  }
});

test("byte-level BPE round-trips text outside the corpus: accents, emoji, tabs, CRLF", () => {
  const text = "héllo\tw\u00f6rld\r\n  🙂 const x = `${a}`; // 中文\n";
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
});

test("token offsets tile the text: bytes and characters", () => {
  const text = "interface Foo<T> {\n  bar(x: T): void; // ünïcödé 🙂\n}\n";
  const ids = tokenizer.encode(text);
  const toks = tokenizer.withOffsets(ids, text);
  assert.equal(toks.length, ids.length);
  assert.equal(toks[0].byteStart, 0);
  assert.equal(toks[toks.length - 1].byteEnd, Buffer.byteLength(text));
  for (let i = 1; i < toks.length; i++) assert.equal(toks[i].byteStart, toks[i - 1].byteEnd);
  // A token made of whole characters maps back to exactly its text.
  const bytes = Buffer.from(text);
  for (const t of toks) {
    const piece = bytes.subarray(t.byteStart, t.byteEnd).toString("utf8");
    if (!piece.includes("\ufffd")) assert.equal(text.slice(t.start, t.end), piece);
  }
  // The emoji is split over several byte tokens: they all point at its two UTF-16 code units.
  const emojiAt = text.indexOf("🙂");
  const covering = toks.filter((t) => t.start <= emojiAt && t.end > emojiAt);
  assert.ok(covering.length >= 1);
  for (const t of covering) assert.ok(t.end >= emojiAt + 2);
});

test("the eos token is <|endoftext|>, last in the vocabulary", () => {
  assert.equal(tokenizer.eosId, 4095);
  assert.equal(tokenizer.tokenString(4095), "<|endoftext|>");
});
