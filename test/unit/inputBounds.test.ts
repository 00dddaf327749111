// Bounded input: a long text is cut before it is tokenized (the same tokens as tokenizing it all
// and cutting), a long series is read a window at a time (the same rows as reading it all, every
// row still checked), work over the memory budget is refused before it starts, and a request past
// the deadline fails with a typed error.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { TextTokenizer } from "../../engine/tokenize/tokenizer";
import { encodeHead, encodeTail, tokenizeInput, type TailTokenizer } from "../../engine/tokenize/tail";
import { parseSeries, seriesWindow, windowNotice, type ParsedSeries, type ParsedSeriesValues, type ParseSeriesOptions } from "../../engine/series/parseSeries";
import { checkBudget, formatBytes, limitsFrom, parseBytes } from "../../engine/limits";
import { gatesBytes } from "../../engine/recurrentService";
import { EngineService } from "../../engine/service";
import { EngineError } from "../../protocol/errors";
import { DATA_DIR, ROOT, SAMPLE_MODEL } from "../helpers";

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"));
const tokenizerOf = (dir: string) => {
  const cfg = path.join(dir, "tokenizer_config.json");
  return new TextTokenizer(readJson(path.join(dir, "tokenizer.json")), fs.existsSync(cfg) ? readJson(cfg) : {}, dir);
};
const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

/** A tokenizer that counts the characters it was asked to tokenize. */
function counting(tok: TextTokenizer): TailTokenizer & { chars: number } {
  const c = {
    chars: 0,
    encode: (text: string) => {
      c.chars += text.length;
      return tok.encode(text);
    },
    withOffsets: tok.withOffsets.bind(tok),
    decode: tok.decode.bind(tok),
  };
  return c;
}

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const corpus = fs.readFileSync(path.join(DATA_DIR, "heldout.txt"), "utf8");
const multiByte = Array.from({ length: 12_000 }, (_, i) => ["中文字符", "🙂", "héllo", " wörld", "\t", "\r\n", "  ", "ß", "𝔘𝔫𝔦", "x = 1;"][(i * 7) % 10]).join("");
const TEXTS: Record<string, string> = {
  "TypeScript source": corpus.slice(0, 120_000),
  "multi-byte UTF-8 (CJK, emoji, astral letters, CRLF)": multiByte,
  "a 1 MB base64 line": bytes(786_432, 7).toString("base64"),
  "long runs of spaces": `a${" ".repeat(40_000)}b c d\n`.repeat(3),
};

test("a long text's end is tokenized alone: the same tokens and offsets as tokenizing it all and cutting", () => {
  const tokenizers = { "byte-level BPE (tiny-gpt)": tokenizerOf(SAMPLE_MODEL), "Unigram (t5-tiny)": tokenizerOf(path.join(ROOT, "test", "fixtures", "seq2seq", "t5-tiny")) };
  for (const [tname, tok] of Object.entries(tokenizers)) {
    for (const [name, text] of Object.entries(TEXTS)) {
      const all = tok.encode(text);
      const allTokens = tok.withOffsets(all, text);
      for (const max of [64, 512]) {
        const c = counting(tok);
        const tail = encodeTail(c, text, max, { offsets: true });
        const what = `${tname}, ${name}, ${max} tokens`;
        // Unigram reads the base64 line as one word of a million characters (one unknown token):
        // past the largest window only the tail's tokens less the partial first are kept (here the
        // end-of-text token alone), never the partial word
        const oneWord = tname.startsWith("Unigram") && name.includes("base64");
        if (all.length <= max && !oneWord) {
          assert.deepEqual(tail.ids, all, what);
          continue;
        }
        // without a cut every token comes back, for the caller to cut as before
        const ids = tail.cut ? tail.ids : tail.ids.slice(-max);
        const tokens = tail.cut ? tail.tokens! : tail.tokens!.slice(-max);
        if (oneWord) assert.ok(tail.cut && tail.cut.chars === text.length, what);
        assert.equal(ids.length, oneWord ? 1 : max, what);
        assert.deepEqual(ids, all.slice(-ids.length), what);
        assert.deepEqual(tokens, allTokens.slice(-ids.length), `${what}: offsets in the whole text`);
        if (tail.cut) {
          assert.equal(tail.cut.chars, tail.tokens![0].start, what);
          assert.ok(tail.cut.approxTokens > 0, what);
        }
        // a megabyte on one line: only its end was read (two starts of a window of 4 characters a
        // token; one word grows the window to its largest, 2^18 characters, four times per round)
        const bound = oneWord ? (2 * 4 * 2 ** 18) / 3 + 2 * 2 ** 18 : 2 * (4 * max + 1031);
        if (text.length > 1e6) assert.ok(tail.cut && c.chars <= bound, `${what}: tokenized ${c.chars} of ${text.length} characters`);
        // a token's offsets are its own characters and bytes in the whole text
        const last = tokens[tokens.length - 1];
        assert.equal(last.end, text.length, what);
        assert.equal(last.byteEnd, Buffer.byteLength(text), what);
        // the first byte is in the first character (a byte-level token may start inside a character)
        const first = tokens[0];
        const before = Buffer.byteLength(text.slice(0, first.start));
        if (first.start < text.length) assert.ok(first.byteStart >= before && first.byteStart < before + Buffer.byteLength(String.fromCodePoint(text.codePointAt(first.start)!)), what);
      }
    }
  }
});

test("a long source's start is tokenized alone (encoder-decoders read the start): the same tokens as tokenizing it all and cutting", () => {
  const tokenizers = { "SentencePiece (marian-tiny)": tokenizerOf(path.join(ROOT, "test", "fixtures", "seq2seq", "marian-tiny")), "Unigram (t5-tiny)": tokenizerOf(path.join(ROOT, "test", "fixtures", "seq2seq", "t5-tiny")) };
  for (const [tname, tok] of Object.entries(tokenizers)) {
    for (const [name, text] of Object.entries(TEXTS)) {
      const all = tok.encode(text);
      for (const max of [64, 512]) {
        const c = counting(tok);
        const head = encodeHead(c, text, max);
        const what = `${tname}, ${name}, ${max} tokens`;
        // one word of a million characters (the base64 line): past the largest head its own tokens
        // less the last are kept, never more than the model takes
        const oneWord = name.includes("base64") && all.length < 16;
        if (!head.cut) {
          assert.deepEqual(head.ids, all, `${what}: tokenized whole`);
          continue;
        }
        assert.ok(head.ids.length <= max, what);
        if (!oneWord) {
          assert.equal(head.ids.length, max, what);
          // the whole text's first max - 1 tokens, then the token its encoding ends with
          assert.deepEqual(head.ids, [...all.slice(0, max - 1), all[all.length - 1]], what);
        }
        assert.equal(head.ids[head.ids.length - 1], all[all.length - 1], `${what}: ends with the closing token`);
        assert.ok(head.cut.chars > 0 && head.cut.chars < text.length && head.cut.approxTokens > 0, what);
        if (text.length > 1e6 && !oneWord) assert.ok(c.chars <= 2 * (4 * max + 1031), `${what}: tokenized ${c.chars} of ${text.length} characters`);
      }
    }
  }
});

test("the cut drops the partial first token: a tail starting inside a word keeps only whole tokens", () => {
  const tok = tokenizerOf(SAMPLE_MODEL);
  // 40,000 characters of one identifier: where the window starts it cuts through the word
  const text = `const x = ${"abcdefghij".repeat(4000)}Tail + 1;\n`.repeat(2);
  const all = tok.encode(text);
  const tail = encodeTail(tok, text, 256, { offsets: true });
  assert.ok(tail.cut, "the text is long enough to be cut");
  assert.deepEqual(tail.ids, all.slice(-256));
  // the first kept token starts where a token of the whole text starts
  const starts = new Set(tok.withOffsets(all, text).map((t) => t.start));
  assert.ok(starts.has(tail.tokens![0].start));
  // without offsets: the same ids, and where the kept text starts
  const idsOnly = encodeTail(tok, text, 256);
  assert.deepEqual(idsOnly.ids, tail.ids);
  assert.equal(idsOnly.cut!.chars, tail.cut!.chars);
});

test("tokenizeInput: a text over the context is cut before tokenizing, with a notice in characters and tokens", () => {
  const tok = tokenizerOf(SAMPLE_MODEL);
  const checked: number[][] = [];
  const model = { tokenizer: tok, checkIds: (ids: number[]) => void checked.push(ids) };
  const text = TEXTS["a 1 MB base64 line"];
  const r = tokenizeInput(model, { text }, 512);
  assert.equal(r.ids.length, 512);
  assert.equal(r.tokens[511].end, text.length);
  assert.equal(text.slice(r.tokens[0].start, r.tokens[511].end), tok.decode(r.ids));
  assert.deepEqual(checked, [r.ids], "only the kept ids are checked against the vocabulary");
  assert.ok(r.truncated);
  const dropped = r.tokens[0].start;
  assert.match(r.truncated.notice, new RegExp(`^the input has 1,048,576 characters, more than the 512 tokens allowed; the first ${dropped.toLocaleString("en-US")} characters \\(about [\\d,]+ tokens\\) were dropped \\(truncated from the left; only the end was tokenized\\)$`));
  // about as many tokens as the text holds before the cut, at the tail's rate
  const before = tok.encode(text.slice(0, dropped)).length;
  assert.ok(Math.abs(r.truncated.droppedTokens - before) / before < 0.05, `estimated ${r.truncated.droppedTokens}, counted ${before}`);
  // a text the model takes whole is not cut; one a little over is cut exactly, as before
  const short = tokenizeInput(model, { text: "let x = 1;" }, 512);
  assert.equal(short.truncated, undefined);
  const over = tokenizeInput(model, { text: "interface A { x: number; }\n".repeat(200) }, 512);
  assert.match(over.truncated!.notice, /^the input has \d+ tokens, more than the 512 allowed; the first \d+ were dropped \(truncated from the left\)$/);
});

// ---- series read a window at a time ----

function ok(r: ParsedSeries): ParsedSeriesValues {
  if (!r.ok) assert.fail(`expected a series, got: ${r.message}`);
  return r;
}

const value = (i: number) => ((i * 7919) % 1000) / 10 + i / 1000;
const SERIES: Record<string, [string, ParseSeriesOptions]> = {
  "CSV with a header and a time column": [`time,a,b\n${Array.from({ length: 50_003 }, (_, i) => `${i},${value(i).toFixed(3)},${value(i + 1).toFixed(3)}`).join("\n")}\n`, { columns: "all" }],
  "CSV without a header, a column asked for": [Array.from({ length: 50_003 }, (_, i) => `${value(i).toFixed(2)};${value(i + 7).toFixed(2)}`).join("\r\n"), { column: 1 }],
  "one number per line": [Array.from({ length: 50_003 }, (_, i) => value(i).toFixed(4)).join("\n"), {}],
  "numbers separated by spaces, read in order": [Array.from({ length: 50_003 }, (_, i) => value(i).toFixed(1) + (i % 9 === 8 ? "\n" : " ")).join(""), {}],
  "one line of comma-separated values": [Array.from({ length: 50_003 }, (_, i) => value(i).toFixed(1)).join(","), {}],
  "an array literal": [`const xs = [${Array.from({ length: 50_003 }, (_, i) => value(i).toFixed(2)).join(", ")}];`, {}],
};

test("a long series read a window at a time: each window's rows are the whole series' rows, with their sources", () => {
  for (const [name, [text, options]] of Object.entries(SERIES)) {
    const whole = ok(parseSeries(text, options));
    assert.equal(whole.values.length, 50_003, name);
    assert.equal(whole.window, undefined, `${name}: no window without maxSteps`);
    for (const [maxSteps, window] of [[20_000, 0], [20_000, 1], [20_000, 2], [4096, 5], [1, 0], [50_003, 0]]) {
      const r = ok(parseSeries(text, { ...options, maxSteps, window }));
      const to = 50_003 - window * maxSteps;
      const from = Math.max(0, to - maxSteps);
      const what = `${name}, ${maxSteps} at once, window ${window}`;
      assert.deepEqual(r.values, whole.values.slice(from, to), what);
      assert.deepEqual(r.sources, whole.sources.slice(from, to), what);
      assert.deepEqual(r.features, whole.features?.slice(from, to), what);
      assert.deepEqual(r.time, whole.time?.slice(from, to), what);
      assert.deepEqual(r.columns, whole.columns, `${what}: the columns are judged on every row`);
      if (from === 0 && to === 50_003) assert.equal(r.window, undefined, what);
      else assert.deepEqual(r.window, { from, to, total: 50_003, index: window, count: Math.ceil(50_003 / maxSteps), size: maxSteps }, what);
    }
    const r = ok(parseSeries(text, { ...options, maxSteps: 1000, fromStep: 12_345 }));
    assert.deepEqual(r.values, whole.values.slice(12_345, 13_345), `${name}: fromStep`);
    assert.deepEqual(r.sources, whole.sources.slice(12_345, 13_345), `${name}: fromStep`);
    assert.deepEqual(r.window, { from: 12_345, to: 13_345, total: 50_003, count: 51, size: 1000 });
  }
});

test("every row is checked, not only the window's: a bad cell far before it is reported with its line", () => {
  const rows = Array.from({ length: 100_000 }, (_, i) => `${i},${value(i).toFixed(3)}`);
  rows[4] = "4,abc";
  rows[70_000] = "70000,NaN";
  rows[99_998] = "99998,";
  const text = `time,value\n${rows.join("\n")}`;
  const r = parseSeries(text, { columns: "all", maxSteps: 1000, lineOffset: 10 });
  assert.equal(r.ok, false);
  if (r.ok || r.needsColumn) return;
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.text]),
    [
      [16, "abc"],
      [70_012, "NaN"],
      [100_010, ""],
    ],
  );
  assert.match(r.errors[1].reason, /NaN is not a value the model can use/);
  // ragged rows and empty lines anywhere, too
  const ragged = parseSeries(`${Array.from({ length: 30_000 }, (_, i) => (i === 3 ? "1,2,3" : i === 5 ? "" : `${i},${i}`)).join("\n")}`, { columns: "all", maxSteps: 10 });
  assert.equal(ragged.ok, false);
  if (ragged.ok || ragged.needsColumn) return;
  assert.deepEqual(ragged.errors.map((e) => e.line), [4, 6]);
  assert.match(ragged.errors[0].reason, /This row has 3 values but most rows have 2; there is an extra cell\./);
  assert.match(ragged.errors[1].reason, /An empty line inside the data/);
});

test("a window that does not exist is a sentence saying which do; counts and notices name the rows", () => {
  const text = Array.from({ length: 45 }, (_, i) => String(i)).join("\n");
  const past = parseSeries(text, { maxSteps: 10, window: 5 });
  assert.equal(past.ok, false);
  if (!past.ok) assert.equal(past.message, "There is no window 5: the series has 45 rows, 5 windows (0 to 4) of up to 10 rows, 0 the last.");
  const late = parseSeries(text, { maxSteps: 10, fromStep: 45 });
  if (!late.ok) assert.equal(late.message, "The first step 45 is past the last row: the series has 45 rows (steps 0 to 44).");
  else assert.fail("a first step past the end is refused");
  const ask = { window: (k: number) => `--window ${k}`, fromStep: (s: number) => `--from-step ${s}` };
  const w = seriesWindow(2_000_000, { maxSteps: 20_000 });
  assert.ok(typeof w !== "string");
  assert.equal(windowNotice(w, ask), "rows 1,980,001–2,000,000 of 2,000,000 (the last 20,000); earlier rows: --window 1 to --window 99");
  const w1 = seriesWindow(45, { maxSteps: 10, window: 4 });
  assert.ok(typeof w1 !== "string");
  assert.deepEqual([w1.from, w1.to], [0, 5]);
  assert.equal(windowNotice(w1, ask), "rows 1–5 of 45 (window 4: 5 rows counted back from the end, 0 the last); later rows: --window 3 to --window 0");
  const w2 = seriesWindow(45, { maxSteps: 10, fromStep: 20 });
  assert.ok(typeof w2 !== "string");
  assert.equal(windowNotice(w2, ask), "rows 21–30 of 45 (10 from step 20); earlier rows: --from-step 10; later rows: --from-step 30");
});

// ---- the memory budget and the deadline ----

test("sizes: --memory-budget and SEQLENS_MEMORY_BUDGET read as binary units; bad values are sentences", () => {
  assert.equal(parseBytes("2GB"), 2 * 2 ** 30);
  assert.equal(parseBytes("512 MB"), 512 * 2 ** 20);
  assert.equal(parseBytes("1.5g"), 1.5 * 2 ** 30);
  assert.equal(parseBytes("123456"), 123456);
  for (const bad of ["", "GB", "-1GB", "2 parsecs", "0"]) assert.equal(parseBytes(bad), undefined, bad);
  assert.equal(formatBytes(2 * 2 ** 30), "2 GB");
  assert.equal(formatBytes(1.34 * 2 ** 30), "1.3 GB");
  assert.equal(formatBytes(640 * 2 ** 20), "640 MB");
  assert.deepEqual(limitsFrom({}, {}), { memoryBudget: 2 * 2 ** 30, maxSteps: 20_000, deadlineMs: 120_000 });
  assert.deepEqual(limitsFrom({}, { SEQLENS_MEMORY_BUDGET: "256MB", SEQLENS_MAX_STEPS: "500", SEQLENS_DEADLINE_MS: "0" }), { memoryBudget: 256 * 2 ** 20, maxSteps: 500, deadlineMs: 0 });
  assert.throws(() => limitsFrom({}, { SEQLENS_MEMORY_BUDGET: "lots" }), (e: unknown) => e instanceof EngineError && e.code === "BAD_INPUT" && e.message === 'SEQLENS_MEMORY_BUDGET="lots" is not a size (such as 2GB or 512MB)');
  assert.throws(() => limitsFrom({}, { SEQLENS_MAX_STEPS: "0" }), /SEQLENS_MAX_STEPS="0" is not a whole number of steps of at least 1/);
  assert.throws(
    () => checkBudget("the gates on 2,000,000 steps", 3 * 2 ** 30, 2 * 2 ** 30, "10 KB a step", "read fewer steps"),
    (e: unknown) => e instanceof EngineError && e.code === "TOO_LARGE" && e.message === "the gates on 2,000,000 steps would need about 3 GB (10 KB a step), more than the memory budget of 2 GB: read fewer steps",
  );
});

test("the memory budget: gates and inspections over it are refused before they run, with the figure", async () => {
  const co2 = path.join(ROOT, "samples", "models", "co2-lstm");
  const s = new EngineService({ providers: "cpu", memoryBudget: 64 * 2 ** 20, deadlineMs: 0 });
  const values = Array.from({ length: 30_000 }, (_, i) => [320 + Math.sin(i / 6) + i / 1000]);
  // 20,000 steps of a 2-layer 64-unit LSTM: 20,000 x (2 x 64 x 80 + 512) bytes
  const need = gatesBytes(20_000, 2, 64);
  assert.equal(need, 20_000 * (2 * 64 * 80 + 512));
  await assert.rejects(
    s.call("gates", { model: co2, values, runtime: "onnx" }, ctx),
    (e: unknown) =>
      e instanceof EngineError &&
      e.code === "TOO_LARGE" &&
      e.message === `the gates on 20,000 steps of co2-lstm would need about ${formatBytes(need)} (2 recurrent layers of up to 64 units, about ${formatBytes(need / 20_000)} a step), more than the memory budget of 64 MB: read fewer steps at once (maxSteps, --max-steps), or raise the memory budget (--memory-budget, SEQLENS_MEMORY_BUDGET)`,
  );
  // within it: fewer steps at once run, and say which rows they are
  const r = await s.call("gates", { model: co2, values, runtime: "onnx", maxSteps: 3000, window: 2 }, ctx);
  assert.equal(r.steps, 2999); // the model reads differences
  assert.deepEqual({ from: r.window!.from, to: r.window!.to, total: r.window!.total, count: r.window!.count }, { from: 21_000, to: 24_000, total: 30_000, count: 10 });
  assert.equal(r.source[0], 21_001);
  assert.equal(r.source[r.steps - 1], 23_999);
  assert.match(r.window!.notice, /^rows 21,001–24,000 of 30,000 \(window 2: 3,000 rows counted back from the end, 0 the last\); earlier rows: window 3 to window 9; later rows: window 1 to window 0$/);
  // an inspection: attention, logits and hidden states of 512 tokens of tiny-gpt, twice
  const tiny = new EngineService({ providers: "cpu", memoryBudget: 16 * 2 ** 20, deadlineMs: 0 });
  await assert.rejects(tiny.call("inspect", { model: SAMPLE_MODEL, text: corpus.slice(0, 4000) }, ctx), (e: unknown) => e instanceof EngineError && e.code === "TOO_LARGE" && /^inspecting tiny-gpt on 512 tokens would need about 51 MB \(attention 16 MB, logits 8 MB, hidden states 1 MB, twice\), more than the memory budget of 16 MB: give fewer tokens \(maxTokens\)/.test(e.message));
  const few = await tiny.call("inspect", { model: SAMPLE_MODEL, text: corpus.slice(0, 4000), maxTokens: 128 }, ctx);
  assert.equal(few.tokens.length, 128);
  // a comparison holds both models' outputs at once: 512 tokens fit a 64 MB budget for one model
  // (51 MB) but not for two
  const pair = new EngineService({ providers: "cpu", memoryBudget: 64 * 2 ** 20, deadlineMs: 0 });
  const early = path.join(ROOT, "samples", "models", "tiny-gpt-early");
  assert.equal((await pair.call("inspect", { model: SAMPLE_MODEL, text: corpus.slice(0, 4000) }, ctx)).tokens.length, 512);
  await assert.rejects(
    pair.call("compare", { modelA: SAMPLE_MODEL, modelB: early, text: corpus.slice(0, 4000) }, ctx),
    (e: unknown) => e instanceof EngineError && e.code === "TOO_LARGE" && /^comparing tiny-gpt and tiny-gpt-early on 512 tokens would need about 101 MB \(first model: attention 16 MB, logits 8 MB, hidden states 1 MB, twice; second model: .*\), more than the memory budget of 64 MB: give fewer tokens/.test(e.message),
  );
  assert.equal((await pair.call("compare", { modelA: SAMPLE_MODEL, modelB: early, text: corpus.slice(0, 4000), maxTokens: 256 }, ctx)).tokens.length, 256);
});

test("the deadline: a request that runs past it fails with a DEADLINE error and its work stops", async () => {
  const s = new EngineService({ providers: "cpu", deadlineMs: 300 });
  let tokens = 0;
  const t0 = performance.now();
  await assert.rejects(
    s.call("generate", { model: SAMPLE_MODEL, text: "interface A {", maxTokens: 500, useCache: false, greedy: true }, { ...ctx, progress: (p) => p.kind === "token" && tokens++ }),
    (e: unknown) => e instanceof EngineError && e.code === ("DEADLINE" as EngineError["code"]) && /^generate ran past the engine's deadline of 0\.3 s and was stopped; give it less input, or raise the deadline \(--deadline, SEQLENS_DEADLINE_MS\)$/.test(e.message),
  );
  const stoppedAt = tokens;
  assert.ok(tokens < 500 && performance.now() - t0 < 5000);
  // A request within the deadline is not touched; while it runs, the one past its deadline (had it
  // not seen the signal) would go on making tokens between this one's steps.
  const next = await s.call("generate", { model: SAMPLE_MODEL, text: "interface B {", maxTokens: 8, useCache: false, greedy: true }, ctx);
  assert.equal(next.tokens.length, 8);
  assert.ok(tokens <= stoppedAt + 1, `${tokens - stoppedAt} tokens after the deadline`);
});
