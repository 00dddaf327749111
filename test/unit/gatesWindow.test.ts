// The Gates panel's windows of a long selection (webview/gates/windowNav.ts): the notice, the windows
// offered either side, agreeing with the engine's own numbering (engine/series/window.ts); and which
// host messages are a cancel, said as a notice rather than an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seriesWindow, windowNotice } from "../../engine/series/window";
import type { StepWindow } from "../../protocol/gates";
import { windowNav } from "../../webview/gates/windowNav";

/** The engine's window k of `total` steps read `size` at a time, as a result carries it. */
function engineWindow(total: number, size: number, k: number, unit: "rows" | "characters" = "rows"): StepWindow {
  const w = seriesWindow(total, { maxSteps: size, window: k });
  assert.equal(typeof w, "object");
  const sw = w as Exclude<typeof w, string>;
  return { ...sw, unit, notice: windowNotice(sw) };
}

test("windows of 50,000 rows read 20,000 at a time: the last, the one before, and the first (10,000 rows), each offering its neighbours", () => {
  const last = windowNav(engineWindow(50_000, 20_000, 0));
  assert.equal(last.notice, "Rows 30,001–50,000 of 50,000 shown (the last 20,000): the model reads at most 20,000 rows at once.");
  assert.deepEqual(last.earlier, { window: 1, steps: 20_000, label: "◀ earlier 20,000 rows" });
  assert.equal(last.later, undefined);

  const middle = windowNav(engineWindow(50_000, 20_000, 1));
  assert.equal(middle.notice, "Rows 10,001–30,000 of 50,000 shown (window 2 of 3 counted from the end): the model reads at most 20,000 rows at once.");
  assert.deepEqual(middle.earlier, { window: 2, steps: 10_000, label: "◀ earlier 10,000 rows" });
  assert.deepEqual(middle.later, { window: 0, steps: 20_000, label: "later 20,000 rows ▶" });

  const first = windowNav(engineWindow(50_000, 20_000, 2));
  assert.equal(first.notice, "Rows 1–10,000 of 50,000 shown (window 3 of 3 counted from the end): the model reads at most 20,000 rows at once.");
  assert.equal(first.earlier, undefined);
  assert.deepEqual(first.later, { window: 1, steps: 20_000, label: "later 20,000 rows ▶" });
});

test("the windows the panel offers are the engine's windows, step for step, over every window of several lengths", () => {
  for (const [total, size] of [
    [20_001, 20_000],
    [40_000, 20_000],
    [45_678, 1000],
    [7, 3],
  ]) {
    const count = Math.ceil(total / size);
    let covered = 0;
    for (let k = 0; k < count; k++) {
      const w = engineWindow(total, size, k);
      covered += w.to - w.from;
      const nav = windowNav(w);
      if (nav.earlier) {
        const e = engineWindow(total, size, nav.earlier.window);
        assert.equal(e.to, w.from, "the earlier window ends where this one starts");
        assert.equal(nav.earlier.steps, e.to - e.from);
      } else assert.equal(w.from, 0);
      if (nav.later) {
        const l = engineWindow(total, size, nav.later.window);
        assert.equal(l.from, w.to, "the later window starts where this one ends");
        assert.equal(nav.later.steps, l.to - l.from);
      } else assert.equal(w.to, total);
    }
    assert.equal(covered, total, "the windows cover every step once");
  }
});

test("a text read a window of characters at a time says characters; a window asked for by its first step offers the windows around it", () => {
  const t = windowNav(engineWindow(250_000, 100_000, 0, "characters"));
  assert.equal(t.notice, "Characters 150,001–250,000 of 250,000 shown (the last 100,000): the model reads at most 100,000 characters at once.");
  assert.equal(t.earlier?.label, "◀ earlier 100,000 characters");
  const w = seriesWindow(50_000, { maxSteps: 20_000, fromStep: 5000 }) as Exclude<ReturnType<typeof seriesWindow>, string>;
  const nav = windowNav({ ...w, unit: "rows", notice: "" });
  assert.equal(nav.notice, "Rows 5,001–25,000 of 50,000 shown (20,000 from step 5,000): the model reads at most 20,000 rows at once.");
  // its last step lies in window 1 (rows 10,001-30,000): earlier is window 2, later window 0
  assert.equal(nav.earlier?.window, 2);
  assert.equal(nav.later?.window, 0);
});
