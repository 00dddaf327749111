// Bounded input through the engine process and the CLI: a 200,000-row series is read a window at
// a time and the engine's peak memory stays where a 20,000-row series puts it; the CLI names the
// window and how to ask for the others, checks every row, refuses what is over the memory budget;
// a character model's long text and a megabyte on one line are cut, with offsets into the whole.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { EngineClient } from "../../engine/client";
import { gatesBytes } from "../../engine/recurrentService";
import { CLI_JS, ENGINE_JS, ROOT, SAMPLE_MODEL, tempDir } from "../helpers";

const CO2 = path.join(ROOT, "samples", "models", "co2-lstm");
const CHAR_LSTM = path.join(ROOT, "samples", "models", "char-lstm");
const MiB = 2 ** 20;

/** The Mauna Loa CO2 record repeated end to end, its trend carried on: n rows of [month, ppm]. */
function co2Rows(n: number): [number, number][] {
  const lines = fs.readFileSync(path.join(ROOT, "samples", "data", "timeseries", "co2_mauna_loa_monthly.csv"), "utf8").trim().split("\n").slice(1);
  const co2 = lines.map((l) => Number(l.split(",")[1]));
  const rise = co2[co2.length - 1] - co2[0] + (co2[co2.length - 1] - co2[co2.length - 13]);
  return Array.from({ length: n }, (_, i) => [i, Math.round((co2[i % co2.length] + Math.floor(i / co2.length) * rise) * 1000) / 1000]);
}

const status = (pid: number, field: "VmHWM" | "VmRSS") => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
/** Starts the process's peak RSS (VmHWM) again from its present RSS. */
const resetPeak = (pid: number) => fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI_JS, ...args, "--ep", "cpu"], { encoding: "utf8", timeout: 300_000, maxBuffer: 512 * MiB });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("gates on a 200,000-row series: the last 20,000 rows are read, and the engine's peak memory is what 20,000 rows take", async () => {
  const client = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  try {
    await client.request("info", { model: CO2 });
    const pid = client.pid!;
    const rows = co2Rows(200_000).map((r) => [r[1]]);
    // a series the window holds whole, then ten times as long
    resetPeak(pid);
    const short = await client.request("gates", { model: CO2, values: rows.slice(-20_000), runtime: "onnx" });
    const peakShort = status(pid, "VmHWM");
    await client.request("release", { handle: short.handle });
    assert.equal(short.window, undefined);
    resetPeak(pid);
    const long = await client.request("gates", { model: CO2, values: rows, runtime: "onnx" });
    const peakLong = status(pid, "VmHWM");
    assert.equal(long.steps, 19_999); // the model reads differences of the 20,000 rows
    assert.deepEqual({ ...long.window, notice: undefined }, { from: 180_000, to: 200_000, total: 200_000, index: 0, count: 10, size: 20_000, unit: "rows", notice: undefined });
    assert.equal(long.window!.notice, "rows 180,001–200,000 of 200,000 (the last 20,000); earlier rows: window 1 to window 9");
    assert.equal(long.source[0], 180_001);
    assert.equal(long.source[long.steps - 1], 199_999);
    assert.equal(long.labels[long.steps - 1], String(rows[199_999][0]));
    assert.ok(long.layers.every((l) => l.check.ok));
    // The window's gates are the gates of its 20,000 rows alone.
    const windowed = await client.request("gateSlice", { handle: long.handle, index: 1, name: "hidden" });
    const again = await client.request("gates", { model: CO2, values: rows.slice(-20_000), runtime: "onnx" });
    assert.deepEqual((await client.request("gateSlice", { handle: again.handle, index: 1, name: "hidden" })).data, windowed.data);
    // Bound: the longer request adds its 200,000 rows as they cross the pipe (about 60 bytes a row
    // as JavaScript arrays, 12 MB) to what the window takes; never the 200,000 steps' gates (about
    // 2 GB at the 10.4 KB a step measured for this model), nor more than 128 MB above the short run.
    const whole = gatesBytes(200_000, 2, 64);
    assert.ok(whole > 2000 * MiB);
    assert.ok(peakLong - peakShort < 128 * MiB, `peak ${(peakShort / MiB).toFixed(0)} MiB for 20,000 rows, ${(peakLong / MiB).toFixed(0)} MiB for 200,000`);
    assert.ok(peakLong < 1024 * MiB, `the engine peaked at ${(peakLong / MiB).toFixed(0)} MiB`);
  } finally {
    client.dispose();
  }
});

test("seqlens gates --series: the window and how to ask for the others; every row checked; the budget refuses before it runs", () => {
  const dir = tempDir("bounds");
  const rows = co2Rows(200_000);
  const csv = path.join(dir, "co2-200k.csv");
  fs.writeFileSync(csv, `month,ppm\n${rows.map((r) => r.join(",")).join("\n")}\n`);

  const r = cli(["gates", "--model", CO2, "--series", csv, "--max-steps", "2000", "--window", "3", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "seqlens: notice: read rows 192,001–194,000 of 200,000 (window 3: 2,000 rows counted back from the end, 0 the last); earlier rows: --window 4 to --window 99; later rows: --window 2 to --window 0\n");
  const out = JSON.parse(r.stdout) as { steps: number; labels: string[]; window: { from: number; to: number; total: number; index: number; count: number }; layers: { steps: Record<string, number[]>[] }[] };
  assert.deepEqual(out.window, { from: 192_000, to: 194_000, total: 200_000, index: 3, count: 100 });
  assert.equal(out.steps, 1999);
  assert.deepEqual(out.labels, rows.slice(192_001, 194_000).map((x) => String(x[1])));
  assert.equal(out.layers.length, 2);
  assert.equal(out.layers[1].steps.length, 1999);
  assert.deepEqual(Object.keys(out.layers[1].steps[0]), ["x", "input", "forget", "candidate", "output", "cell", "hidden"]);
  assert.equal(out.layers[1].steps[0].hidden.length, 64);

  // a bad cell far before the window is still an error, with its line
  const bad = path.join(dir, "bad.csv");
  const lines = fs.readFileSync(csv, "utf8").split("\n");
  lines[10] = "9,n/a";
  fs.writeFileSync(bad, lines.join("\n"));
  const e = cli(["gates", "--model", CO2, "--series", bad]);
  assert.equal(e.code, 1);
  assert.equal(e.stderr, `seqlens: error: ${bad}: 1 problem in the selection; line 11: "n/a" marks a missing value; fill it in or remove the row (column "ppm").\n  line 11: "n/a": "n/a" marks a missing value; fill it in or remove the row (column "ppm").\n`);

  // every row at once is over a 512 MB budget: refused with the figure, before the model runs
  const big = cli(["gates", "--model", CO2, "--series", csv, "--max-steps", "200000", "--memory-budget", "512MB"]);
  assert.equal(big.code, 1);
  assert.match(big.stderr, /^seqlens: error: the gates on 200,000 steps of co2-lstm would need about 2 GB \(2 recurrent layers of up to 64 units, about 11 KB a step\), more than the memory budget of 512 MB: read fewer steps at once/);
  assert.equal(cli(["gates", "--model", CO2, "--series", csv, "--memory-budget", "lots"]).code, 2);
  assert.equal(cli(["gates", "--model", CO2, "--series", csv, "--window", "100"]).code, 1);
});

test("a character model's long text is read a window of characters at a time, its offsets into the whole text", async () => {
  const client = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  try {
    const text = "function f(x) {\n  return x * 2; // ünïcödé 🙂\n}\n".repeat(800);
    const chars = Array.from(text);
    const r = await client.request("gates", { model: CHAR_LSTM, text, maxSteps: 1000, window: 2 });
    const to = chars.length - 2000;
    assert.deepEqual({ from: r.window!.from, to: r.window!.to, total: r.window!.total, unit: r.window!.unit }, { from: to - 1000, to, total: chars.length, unit: "characters" });
    assert.equal(r.steps, 1000);
    assert.deepEqual(r.labels, chars.slice(to - 1000, to));
    for (let t = 0; t < r.steps; t++) assert.equal(text.slice(r.source[t], r.source[t] + r.labels[t].length), r.labels[t]);
  } finally {
    client.dispose();
  }
});

test("seqlens inspect --file on a megabyte on one line: the last 512 tokens, offsets into the file, a notice in characters", () => {
  const dir = tempDir("bounds");
  const file = path.join(dir, "one-line.b64");
  let x = 11;
  const raw = Buffer.alloc(786_432);
  for (let i = 0; i < raw.length; i++) raw[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  const text = raw.toString("base64");
  fs.writeFileSync(file, text);
  const r = cli(["inspect", "--model", SAMPLE_MODEL, "--file", file, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { tokens: { id: number; text: string; start: number; end: number }[]; truncated: { droppedTokens: number; notice: string } };
  assert.equal(out.tokens.length, 512);
  assert.equal(out.tokens[511].end, text.length);
  assert.equal(out.tokens.map((t) => t.text).join(""), text.slice(out.tokens[0].start));
  assert.match(r.stderr, /^seqlens: notice: the input has 1,048,576 characters, more than the 512 tokens allowed; the first [\d,]+ characters \(about [\d,]+ tokens\) were dropped \(truncated from the left; only the end was tokenized\)\n$/);
  assert.equal(out.truncated.notice, /notice: (.*)\n/.exec(r.stderr)![1]);
});
