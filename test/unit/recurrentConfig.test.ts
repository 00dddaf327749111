// A recurrent model's config.json is checked before anything is sized from it (the fuzz campaign
// found a window of -2147483648 running the engine out of memory), and the number scanner stays
// linear on long digit runs (its old pattern backtracked quadratically).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkRecurrentConfig } from "../../engine/models/recurrent";
import { NUMBER_RE } from "../../engine/series/numberScanner";
import { ROOT } from "../helpers";

test("every bundled recurrent config passes; absurd values are refused naming the key and the value", () => {
  for (const m of ["co2-lstm", "char-lstm", "char-gru", "char-rnn", "nottingham-temp-lstm"]) {
    const c = JSON.parse(fs.readFileSync(path.join(ROOT, "samples", "models", m, "config.json"), "utf8"));
    assert.equal(checkRecurrentConfig(c, m), c);
  }
  const base = { model_type: "seqlens-rnn", task: "forecast", layers: 2, units: 64, window: 24, features: 1, normalisation: { kind: "zscore", mean: 0, std: 1 } };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ window: -2147483648 }, /"window" must be a whole number from 1 to 1,000,000 \(got -2147483648\)/],
    [{ window: 1.5 }, /"window" must be a whole number/],
    [{ layers: 0 }, /"layers" must be a whole number from 1 to 64 \(got 0\)/],
    [{ units: "64" }, /"units" must be a whole number .*\(got "64"\)/],
    [{ features: 1e9 }, /"features" must be a whole number from 1 to 10,000/],
    [{ normalisation: { kind: "zscore", mean: 0, std: 0 } }, /"normalisation" must be/],
    [{ normalisation: { kind: "minmax", mean: 0, std: 1 } }, /"normalisation" must be/],
    [{ task: "char-lm", vocab: {} }, /"vocab" must be a list of the characters/],
    [{ task: "char-lm", vocab: undefined }, /"vocab" is needed by a character model/],
    [{ task: "translate" }, /"task" must be "char-lm" or "forecast"/],
  ];
  for (const [change, message] of cases) assert.throws(() => checkRecurrentConfig({ ...base, ...change }, "m/config.json"), (e: Error & { code?: string }) => e.code === "MODEL_INVALID" && message.test(e.message) && e.message.startsWith("m/config.json: "));
});

test("the number pattern reads what it should and is linear on a million digits with a bad end", () => {
  for (const s of ["1", "-2.5", "+.5", "3.", "1e10", "6.02E-23"]) assert.ok(NUMBER_RE.test(s), s);
  for (const s of ["", ".", "1..2", "e5", "1e", "--1", "1,5"]) assert.ok(!NUMBER_RE.test(s), s);
  const long = "1".repeat(1_000_000) + "x";
  const t0 = performance.now();
  assert.equal(NUMBER_RE.test(long), false);
  const ms = performance.now() - t0;
  // linear: a few ms per million characters; the old pattern took over 30 s here
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
});
