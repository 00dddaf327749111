// "Why this token?" in the editor, with `vscode` stood in for (test/unit/vscodeMock.ts): which
// mark a score gets, what text a selection or a cursor sends, underline colours with 3:1 or more on
// every default theme's background, and a legend that names the token, the baseline and the scale.
import { test } from "node:test";
import assert from "node:assert/strict";
import { installVscodeMock, FakeDocument, Position, Range, Uri } from "./vscodeMock";
import { contrast, hexRgb } from "../../protocol/contrast";

installVscodeMock();
/* eslint-disable @typescript-eslint/no-require-imports */
const why = require("../../extension/why") as typeof import("../../extension/why");
const { THEME_SAMPLES } = require("../../extension/surprisal") as typeof import("../../extension/surprisal");
/* eslint-enable @typescript-eslint/no-require-imports */

test("a score's mark: by its share of the largest effect, its sign the hue", () => {
  assert.equal(why.whyBucket(0.05, 1), 0);
  assert.equal(why.whyBucket(0.1, 1), 1);
  assert.equal(why.whyBucket(0.5, 1), 2);
  assert.equal(why.whyBucket(1, 1), 3);
  assert.equal(why.whyBucket(-0.7, 1), -3);
  assert.equal(why.whyBucket(-0.2, 1), -1);
  assert.equal(why.whyBucket(0.3, 0), 0, "no effect anywhere: nothing marked");
  assert.equal(why.whyBucket(Number.NaN, 1), 0);
  assert.equal(why.whyBucket(5, 1), 3, "past the scale: the strongest");
});

test("the scale: the 90th-percentile effect, so one dominant token leaves the others marked", () => {
  const scores = [...Array.from({ length: 19 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1) * 0.01), 3];
  assert.equal(why.whyScale(scores), 0.18);
  assert.equal(why.whyScale([0, 0, 0, 0.5]), 0.5, "a scale of 0 falls back to the largest");
  assert.equal(why.whyScale([]), 0);
  const marked = scores.filter((s) => why.whyBucket(s, why.whyScale(scores)) !== 0).length;
  assert.ok(marked >= 15, `${marked} of 20 marked`);
});

test("underline colours: 3:1 or more on every default theme's background, raised and lowered told apart", () => {
  for (const kind of ["dark", "light"] as const) {
    for (const side of ["raised", "lowered"] as const)
      for (const c of why.WHY_COLOURS[kind][side])
        for (const s of THEME_SAMPLES[kind]) assert.ok(contrast(hexRgb(c), hexRgb(s.background)) >= 3, `${kind} ${side} ${c} on ${s.theme}: ${contrast(hexRgb(c), hexRgb(s.background)).toFixed(2)}`);
    // the strongest of each side differ from each other by more than the weakest differs from the background
    const [r, l] = [hexRgb(why.WHY_COLOURS[kind].raised[2]), hexRgb(why.WHY_COLOURS[kind].lowered[2])];
    assert.ok(Math.abs(r[0] - l[0]) + Math.abs(r[1] - l[1]) + Math.abs(r[2] - l[2]) > 150, `${kind}: the two hues are far apart`);
  }
});

test("what is sent: a selection explains its last token; a cursor the next token after the text before it (at most 32,768 characters)", () => {
  const text = "const fooBarBaz = 1;\nconsole.log(fooBar";
  const doc = new FakeDocument(Uri.file("/w/a.ts"), text) as unknown as import("vscode").TextDocument;
  const sel = (a: number, b: number) => {
    const [s, e] = [doc.positionAt(a), doc.positionAt(b)];
    return Object.assign(new Range(s, e), { isEmpty: a === b, active: e, anchor: s, start: s, end: e }) as unknown as import("vscode").Selection;
  };
  assert.deepEqual(why.whyRequest(doc, sel(6, 15)), { text: "fooBarBaz", start: 6, position: -1 });
  assert.deepEqual(why.whyRequest(doc, sel(text.length, text.length)), { text, start: 0 });
  assert.deepEqual(why.whyRequest(doc, sel(0, 0)), undefined, "nothing before the cursor");
  assert.deepEqual(why.whyRequest(doc, sel(5, 6)), undefined, "a selection of whitespace");
  const long = "x".repeat(40_000);
  const big = new FakeDocument(Uri.file("/w/b.ts"), long) as unknown as import("vscode").TextDocument;
  const r = why.whyRequest(big, Object.assign(new Range(new Position(0, 40_000), new Position(0, 40_000)), { isEmpty: true, active: new Position(0, 40_000) }) as never)!;
  assert.equal(r.text.length, why.WHY_MAX_CHARS);
  assert.equal(r.start, 40_000 - why.WHY_MAX_CHARS);
});

test("the legend names the explained token, the baseline, the metric and each mark's share", () => {
  const result = { target: { id: 7, text: "Baz" }, method: "ablation", metric: "logprob", baseline: { id: 0, text: "<|endoftext|>", kind: "eos" }, position: 3, base: -0.5, scores: [], tokens: [], runs: 4, ms: 1 } as unknown as import("../../protocol/attribution").AttributeResult;
  const md = why.whyLegend(result, 0.8123, 2.5, "dark").value;
  assert.match(md, /why `Baz`/);
  assert.match(md, /replaced by `<\|endoftext\|>` \(eos\)/);
  assert.match(md, /log p\(`Baz`\)/);
  assert.match(md, /scaled to the 90th-percentile effect, 0\.812 \(the largest: 2\.500\)/);
  assert.match(md, /raised it: 70% to 100% or more of the scale/);
  assert.match(md, /lowered it: 10% to 35% of the scale/);
  for (const c of [...why.WHY_COLOURS.dark.raised, ...why.WHY_COLOURS.dark.lowered]) assert.ok(md.includes(c), c);
});

test("the baseline setting: the kinds the engine takes pass, anything else is the engine's default; a zero embedding is named as such", () => {
  for (const b of ["pad", "eos", "mask", "unk", "zero"]) assert.equal(why.isBaselineChoice(b), true, b);
  for (const b of ["default", "", "Zero", 3, undefined, "none"]) assert.equal(why.isBaselineChoice(b), false, String(b));
  const result = { target: { id: 7, text: "Baz" }, method: "ablation", metric: "logprob", baseline: { text: "", kind: "zero" }, position: 3, base: -0.5, scores: [], tokens: [], runs: 4, ms: 1 } as unknown as import("../../protocol/attribution").AttributeResult;
  const md = why.whyLegend(result, 0.5, 1, "light").value;
  assert.match(md, /each earlier token replaced by the zero embedding; the change in log p\(`Baz`\)/);
});

test("the marks tell whoever listens where they are, so the surprisal marks step aside there, and when they clear", () => {
  const seen: (string | undefined)[] = [];
  const marks = new why.WhyDecorations(undefined, (uri) => seen.push(uri));
  const doc = new FakeDocument(Uri.file("/w/m.ts"), "let a = b;") as unknown as import("vscode").TextDocument;
  const result = { target: { id: 7, text: ";" }, method: "ablation", metric: "logprob", baseline: { id: 0, text: "<|endoftext|>", kind: "eos" }, position: 2, base: -0.5, scores: [{ position: 0, text: "let", score: 0.4 }, { position: 1, text: " a", score: -0.2 }], tokens: [{ id: 1, text: "let", start: 0, end: 3 }, { id: 2, text: " a", start: 3, end: 5 }], runs: 3, ms: 1 } as unknown as import("../../protocol/attribution").AttributeResult;
  marks.set(doc, { text: "let a", start: 0 }, result);
  marks.clear();
  marks.clear(); // nothing shown: no second word
  assert.deepEqual(seen, [doc.uri.toString(), undefined]);
  marks.dispose();
});
