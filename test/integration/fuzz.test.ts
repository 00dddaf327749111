// The bounded fuzz campaign (test/fuzz/): a fixed seed, a fixed number of cases per target and a
// time cap of about a minute, over CLI arguments, model folders, series text, editor selections and
// the engine's inspection of text, and every webview message. The bars: no crash (the engine
// process never dies, nothing throws uncaught), no case past its deadline, every failure a typed
// error whose message is a sentence, nothing written outside the temp folder. `npm run fuzz` runs
// the same targets longer from a random seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCampaign, type CampaignSummary } from "../fuzz/harness";
import { TARGETS } from "../fuzz/targets/index";

const SEED = 20_417;

/** Cases per target (the fixed edge cases first), and the seconds each may take at most (about a minute in all; a run takes half that). */
const PLAN: Record<string, { count: number; seconds: number }> = {
  messages: { count: 3000, seconds: 5 },
  "cli-args": { count: 1500, seconds: 4 },
  selections: { count: 50, seconds: 10 },
  series: { count: 150, seconds: 10 },
  "inspect-text": { count: 40, seconds: 10 },
  models: { count: 200, seconds: 15 },
  cli: { count: 8, seconds: 7 },
};

function report(s: CampaignSummary): string {
  const lines = s.findings.map((f) => `  ${f.count} x ${f.target} [${f.kind}] ${f.first.problem.split("\n")[0].slice(0, 240)}\n      input: ${f.first.input.slice(0, 240)}\n      again: ${f.first.reproduce}`);
  return `seed ${s.seed}: ${s.cases} cases, ${s.failures} failures, ${s.crashes} crashes, ${s.hangs} hangs\n${lines.join("\n")}${s.writtenOutside.length ? `\n  written outside the temp folder:\n    ${s.writtenOutside.join("\n    ")}` : ""}`;
}

test("the bounded fuzz campaign: no crash, no hang, typed failures with sentences, nothing written outside the temp folder", { timeout: 180_000 }, async () => {
  assert.deepEqual(Object.keys(PLAN).sort(), TARGETS.map((t) => t.name).sort(), "the plan covers every target");
  const summary = await runCampaign({
    seed: SEED,
    count: Object.fromEntries(Object.entries(PLAN).map(([k, v]) => [k, v.count])),
    timeMs: Object.fromEntries(Object.entries(PLAN).map(([k, v]) => [k, v.seconds * 1000])),
  });
  const figures = Object.entries(summary.targets).map(([name, t]) => `${name}: ${t.cases} cases (${t.accepted} accepted, ${t.refused} refused) in ${(t.ms / 1000).toFixed(1)} s, slowest ${(t.slowestMs / 1000).toFixed(2)} s`);
  console.log(`fuzz, seed ${SEED}:\n  ${figures.join("\n  ")}\n  engine peak RSS ${summary.enginePeakRssMiB} MiB`);

  assert.deepEqual(summary.writtenOutside, [], report(summary));
  assert.equal(summary.crashes, 0, report(summary));
  assert.equal(summary.hangs, 0, report(summary));
  assert.equal(summary.failures, 0, report(summary));
  // every target ran its fixed edge cases and a share of random ones, and both answers were seen
  for (const t of TARGETS) {
    const s = summary.targets[t.name];
    assert.ok(s.cases >= Math.min(PLAN[t.name].count, t.fixed + 5), `${t.name} ran ${s.cases} cases in its ${PLAN[t.name].seconds} s`);
    if (t.name !== "cli") assert.ok(s.accepted > 0 && s.refused > 0, `${t.name}: ${s.accepted} accepted and ${s.refused} refused; a target that only ever accepts or only refuses tries too little`);
  }
});

// What earlier campaigns found in the validators, the selection readers and the argument parser, fixed:
// each case as the campaign met it.
test("found by the campaign: validator reasons are short sentences, selections never stall on a long number, arguments are quoted", async () => {
  const { parseGatesMessage } = await import("../../protocol/gates");
  const { parseInspectorMessage } = await import("../../protocol/inspector");
  const { sentenceProblem } = await import("../fuzz/bars");
  // a 60,000-character value is not echoed back; "__proto__" and a missing field are named as such
  const long = parseGatesMessage({ type: "getSlice", requestId: 2, index: 1e-320, name: "x".repeat(60_000), length: undefined });
  assert.ok(!long.ok && long.reason.length < 600, long.ok ? "" : `${long.reason.length} characters`);
  assert.equal(long.ok ? "" : long.reason, `index: expected integer, got 1e-320; name: expected /^[a-z]{1,16}$/, got "${"x".repeat(40)}…"; length: not a field it may have`);
  const proto = parseInspectorMessage(JSON.parse('{"type":"rerun","__proto__":{"polluted":1}}'));
  assert.equal(proto.ok ? "" : proto.reason, 'field "__proto__": not a field it may have');
  const missing = parseInspectorMessage({ type: "getAttention", requestId: 1, head: 0 });
  assert.equal(missing.ok ? "" : missing.reason, "layer: missing");
  for (const r of [long, proto, missing]) assert.equal(r.ok ? "accepted" : sentenceProblem(r.reason), undefined);

  const { installVscodeMock } = await import("../unit/vscodeMock");
  installVscodeMock();
  const gi = await import("../../extension/gatesInput");
  const { blockAround } = await import("../../extension/selectionRange");
  // a number of a million digits with one bad character: read in linear time (the old pattern backtracked quadratically)
  const t0 = performance.now();
  const digits = `-${"7".repeat(500_000)}\udfff${"7".repeat(500_000)}`;
  gi.looksNumeric(digits);
  gi.summarizeColumns(`a,b\n1,${"7".repeat(200_000)}x\n2,3`, 1);
  assert.ok(performance.now() - t0 < 2000, `${(performance.now() - t0).toFixed(0)} ms`);
  // a header line of thousands of names is described by its first few
  const reason = gi.textReason(Array.from({ length: 3000 }, (_, i) => `name${i}`).join(","));
  assert.match(reason, /^the selection is a header line \("name0", "name1", "name2", "name3", "name4", "name5", and 2994 more\) with no numbers under it$/);
  // the block around a cursor line that is not a whole number
  assert.equal(blockAround(["a", "b"], Number.NaN), undefined);
  assert.deepEqual(blockAround(["a", "b", "", "c"], 0.5), { startLine: 0, endLine: 1 });
  assert.deepEqual(blockAround(["a", "b", "", "c"], Infinity), { startLine: 3, endLine: 3 });

  // a column remembered from before that is not there any more: said, not an empty column picker
  const { Position, Range, Uri } = await import("../unit/vscodeMock");
  const { parseSeries } = await import("../../engine/series/parseSeries");
  const text = "x\nx";
  const lines = text.split("\n");
  const doc = { uri: Uri.file("/x.txt"), lineCount: 2, lineAt: (n: number) => ({ text: lines[n], range: new Range(new Position(n, 0), new Position(n, 1)) }), getText: () => "x", offsetAt: (p: { line: number; character: number }) => p.line * 2 + p.character, positionAt: (o: number) => new Position(Math.floor(o / 2), o % 2) };
  const client = { request: (_m: string, p: { text: string; lineOffset?: number; column?: number }) => Promise.resolve(parseSeries(p.text, { lineOffset: p.lineOffset, column: p.column })) };
  const said: string[] = [];
  let picked = 0;
  const ui = { pickColumn: () => (picked++, Promise.resolve(undefined)), error: (m: string) => said.push(m), problems: () => {} };
  type Args = Parameters<typeof gi.readGatesInput>;
  const input = await gi.readGatesInput(doc as unknown as Args[0], new Range(new Position(1, 0), new Position(1, 1)) as unknown as Args[1], client as unknown as Args[2], ui as unknown as Args[3], { as: "series", column: 99 });
  assert.equal(input, undefined);
  assert.equal(picked, 0, "no column picker with nothing in it");
  assert.equal(said.length, 1);
  assert.match(said[0], /^SeqLens: There is no column 99\b/);

  // the CLI quotes an argument it cannot use, escaping what a terminal would act on
  const { parseArgs } = await import("../../engine/cli");
  assert.throws(() => parseArgs(["lens", "--\u202e+9\r\n"]), { message: '"--\\u202e+9\\r\\n" needs a value' });
  assert.throws(() => parseArgs(["lens", "--model"]), { message: "--model needs a value" });
  assert.throws(() => parseArgs(["lens", "stray\u0007"]), { message: 'unexpected argument "stray\\u0007"' });
});
