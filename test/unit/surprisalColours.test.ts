// The editor's surprisal and loss-difference marks keep code readable: whatever they put behind the text
// leaves every token colour of VS Code's default dark, light and high-contrast themes at 4.5:1 or more;
// their underlines stand out from the background at 3:1 or more; and the scale is stated where the user
// looks (the hover of a marked token, the status bar's legend while the marks are on).
import { test } from "node:test";
import assert from "node:assert/strict";
import { composite, contrast, hexRgb as rgb } from "../../protocol/contrast";
import { FakeDocument, FakeEditor, installVscodeMock, state, Uri } from "./vscodeMock";

installVscodeMock();
/* eslint-disable @typescript-eslint/no-require-imports */
const sp = require("../../extension/surprisal") as typeof import("../../extension/surprisal");
const { DELTA_MARKS, deltaDecorationOptions, STEPS } = require("../../extension/comparePanel") as typeof import("../../extension/comparePanel");
/* eslint-enable @typescript-eslint/no-require-imports */

const { THEME_SAMPLES, TEXT_CONTRAST, MARK_CONTRAST } = sp;
const KINDS = ["dark", "light"] as const;

/** The background the editor paints behind a token with these options: the tint (#rrggbbaa) over the theme's background. */
function behindText(opts: { backgroundColor?: unknown } | undefined, background: string): [number, number, number] {
  const bg = opts?.backgroundColor;
  if (bg === undefined) return rgb(background);
  assert.equal(typeof bg, "string");
  const m = /^#([0-9a-f]{6})([0-9a-f]{2})$/i.exec(bg as string);
  assert.ok(m, `a tint is #rrggbbaa: ${bg}`);
  return composite(rgb(`#${m[1]}`), parseInt(m[2], 16) / 255, rgb(background));
}

test("the sample themes: every token colour listed is readable on its own background to begin with", () => {
  for (const kind of KINDS)
    for (const s of THEME_SAMPLES[kind])
      for (const t of s.tokens) assert.ok(contrast(rgb(t), rgb(s.background)) >= TEXT_CONTRAST, `${s.theme}: ${t} is ${contrast(rgb(t), rgb(s.background)).toFixed(2)}:1 on ${s.background} before any mark`);
});

test("surprisal marks: the composite behind the text keeps every theme's token colours at 4.5:1 in dark, light and high contrast", () => {
  for (let b = 0; b <= sp.BUCKETS.length; b++) {
    const opts = sp.decorationOptions(b);
    for (const kind of KINDS) {
      const own = opts[kind];
      assert.equal(opts.backgroundColor, undefined, "no background outside the theme-kind options");
      for (const s of THEME_SAMPLES[kind]) {
        const behind = behindText(own, s.background);
        for (const t of s.tokens) {
          const c = contrast(rgb(t), behind);
          assert.ok(c >= TEXT_CONTRAST, `bucket ${b} in ${s.theme}: ${t} on ${behind} is ${c.toFixed(2)}:1`);
        }
      }
    }
  }
});

test("why the marks are underlines: an orange tint strong enough to see would take theme colours under 4.5:1", () => {
  const orange = rgb("#ff8c00");
  for (const kind of KINDS) {
    const a = sp.maxTintAlpha(orange, THEME_SAMPLES[kind]);
    assert.ok(a < 0.04, `${kind}: the strongest orange tint that keeps 4.5:1 is ${a}`);
    // the old decoration's strongest step (rgba(255, 110, 0, 0.6)) fails in both kinds
    const worst = Math.min(...THEME_SAMPLES[kind].flatMap((s) => s.tokens.map((t) => contrast(rgb(t), composite(rgb("#ff6e00"), 0.6, rgb(s.background))))));
    assert.ok(worst < 3, `${kind}: ${worst.toFixed(2)}:1 under the old orange`);
  }
  // a tint that only darkens a dark theme keeps its text readable: the search stops at 1 there
  assert.equal(sp.maxTintAlpha([0, 0, 0], THEME_SAMPLES.dark), 1);
});

test("surprisal underlines: 3:1 or more against every background, heavier with more bits", () => {
  let last = { rank: -1 };
  for (let b = 1; b <= sp.BUCKETS.length; b++) {
    const opts = sp.decorationOptions(b);
    assert.match(String(opts.borderStyle), /^none none (dotted|solid) none$/);
    const width = Number(/(\d+)px/.exec(String(opts.borderWidth))![1]);
    const rank = width * 2 + (/solid/.test(String(opts.borderStyle)) ? 1 : 0);
    assert.ok(rank > last.rank || sp.MARK_COLOURS.dark[b - 1] !== sp.MARK_COLOURS.dark[b - 2], `bucket ${b} looks different from bucket ${b - 1}`);
    assert.ok(rank >= last.rank, `bucket ${b} is no lighter than bucket ${b - 1}`);
    last = { rank };
    for (const kind of KINDS) {
      const colour = String(opts[kind]!.borderColor);
      for (const s of THEME_SAMPLES[kind]) assert.ok(contrast(rgb(colour), rgb(s.background)) >= MARK_CONTRAST, `bucket ${b} ${colour} on ${s.theme}: ${contrast(rgb(colour), rgb(s.background)).toFixed(2)}:1`);
    }
  }
  assert.deepEqual(sp.decorationOptions(0), {}, "under a bit: not marked");
});

test("Compare's loss-difference underlines: blue better, orange worse, 3:1 or more, nothing behind the text", () => {
  for (const dir of ["better", "worse"] as const)
    STEPS.forEach((_, i) => {
      const opts = deltaDecorationOptions(dir, i);
      for (const kind of KINDS) {
        assert.equal(opts[kind]!.backgroundColor, undefined);
        assert.equal(opts[kind]!.borderColor, DELTA_MARKS[dir][kind]);
        for (const s of THEME_SAMPLES[kind]) assert.ok(contrast(rgb(DELTA_MARKS[dir][kind]), rgb(s.background)) >= MARK_CONTRAST, `${dir} ${kind} on ${s.theme}`);
      }
    });
  const [r, , b] = rgb(DELTA_MARKS.better.dark);
  assert.ok(b > r, "better is blue");
  const [r2, , b2] = rgb(DELTA_MARKS.worse.dark);
  assert.ok(r2 > b2, "worse is orange");
});

test("the scale is stated: in the hover of a marked token and in the status bar's legend while the marks are on", async () => {
  state.settings.clear();
  state.visibleTextEditors = [];
  state.hoverProviders = [];
  const doc = new FakeDocument(Uri.file("/w/b.ts"), "class Foo {}");
  state.visibleTextEditors = [new FakeEditor(doc)];
  const tokens = [
    { id: 1, text: "class", start: 0, end: 5, byteStart: 0, byteEnd: 5 },
    { id: 2, text: " Foo", start: 5, end: 9, byteStart: 5, byteEnd: 9 },
  ];
  const data = { meanBits: 7.2, tokens: [{ bits: null, p: null, rank: null, top: [] }, { bits: 7.2, p: 2 ** -7.2, rank: 31, top: [{ id: 9, token: " Bar", p: 0.1 }] }] };
  const host = { get: () => ({ request: () => Promise.resolve(data) }), log: { info() {} } };
  const item = { text: "", tooltip: undefined as unknown, shown: false, name: "", command: "", accessibilityInformation: undefined as unknown, show() { this.shown = true; }, hide() { this.shown = false; } };
  const s = new sp.SurprisalDecorations(host as never, item as never);
  await s.toggle({ uri: doc.uri.toString(), start: 0, version: 1, handle: "h", tokens });
  const hover = state.hoverProviders[0].provideHover(doc, doc.positionAt(6)) as { contents: { value: string } };
  assert.match(hover.contents.value, /surprisal \*\*7\.20 bits\*\*/);
  assert.match(hover.contents.value, /Marked as 4–8 bits \(2 px solid underline\)/);
  assert.match(hover.contents.value, /Scale: unmarked under 1 bit · ┈ 1–2 · ─ 2–4 · ━ 4–8 · ━ 8–12 · ▬ 12\+ bits/);
  // the status bar's legend: on with the marks, each bucket in its colour, off with them
  assert.equal(item.shown, true);
  assert.equal(item.text, "$(symbol-color) surprisal 1–12+ bits · mean 7.2 bits");
  assert.equal(item.command, "seqlens.toggleSurprisal");
  const legend = (item.tooltip as { value: string; supportHtml?: boolean }).value;
  for (const [i, colour] of sp.MARK_COLOURS.dark.entries()) assert.ok(legend.includes(`<span style="color:${colour};">`) && legend.includes(sp.bucketLabel(i + 1)), `legend line ${i + 1}: ${legend}`);
  assert.match(legend, /under 1 bit: not marked/);
  assert.match(legend, /12 bits or more \(3 px solid\)/);
  await s.toggle(undefined);
  assert.equal(item.shown, false);
  s.dispose();
});
