// Completion logic that needs no model: where a completion stops, the type-ahead cache, the
// adaptive debounce.
import { test } from "node:test";
import assert from "node:assert/strict";
import { completionCut } from "../../engine/completion";
import { TAIL_CHARS, TypeAheadCache } from "../../extension/completion/typeAhead";
import { AdaptiveDebounce } from "../../extension/completion/debounce";
import type { CompleteResult } from "../../protocol/completion";

const line = { stopAt: "line" as const, suffix: "", lineText: "    foo(" };

test("line: stops at the first newline; a completion that begins with a newline runs to the end of the next line", () => {
  assert.equal(completionCut("abc", line), undefined);
  assert.deepEqual(completionCut("abc);\n  x", line), { text: "abc);", stop: "line" });
  assert.equal(completionCut("\n    return", line), undefined);
  assert.deepEqual(completionCut("\n    return x;\n}", line), { text: "\n    return x;", stop: "line" });
  assert.deepEqual(completionCut("  \n  y\n", line), { text: "  \n  y", stop: "line" });
});

test("suffix: the completion stops before it writes the text after the cursor; a closing bracket only when the completion did not open it", () => {
  const o = { stopAt: "block" as const, suffix: ")", lineText: "  foo(" };
  assert.deepEqual(completionCut("a, b)", o), { text: "a, b", stop: "suffix" });
  assert.equal(completionCut("bar(1)", o), undefined); // its own bracket
  assert.deepEqual(completionCut("bar(1))", o), { text: "bar(1)", stop: "suffix" });
  assert.deepEqual(completionCut("x) => y", { ...o, suffix: ") {" }), { text: "x", stop: "suffix" }); // the bracket is enough
  assert.deepEqual(completionCut("a, items.length - 1", { ...o, suffix: "items.length);" }), { text: "a, ", stop: "suffix" }); // the first eight characters
  assert.deepEqual(completionCut("x + y; // sum", { ...o, suffix: "  ; // sum" }), { text: "x + y", stop: "suffix" });
  // with text after the cursor the completion stays on its line, even from an empty start
  assert.deepEqual(completionCut("\nnext", { ...o, suffix: "; z" }), { text: "", stop: "line" });
});

test("block: stops at a blank line or before a line indented less than the cursor's", () => {
  const o = { stopAt: "block" as const, suffix: "", lineText: "    " };
  assert.equal(completionCut("if (x) {\n        y();\n    }", o), undefined); // the last line is not finished yet
  assert.deepEqual(completionCut("if (x) {\n        y();\n    }\n}\n", o), { text: "if (x) {\n        y();\n    }", stop: "block" });
  assert.deepEqual(completionCut("a();\n    b();\n\n    c();", o), { text: "a();\n    b();", stop: "block" });
  assert.deepEqual(completionCut("a();\n  \nb", o), { text: "a();", stop: "block" }); // whitespace-only is blank
});

const result = (text: string): CompleteResult => ({ text, tokens: [], generated: 1, stoppedBy: "line", promptTokens: 1, kvCache: true, device: "cpu", ms: { prompt: 0, perToken: 0, total: 0 } });

test("type-ahead: typing the predicted characters serves the rest; anything else, an edit before, or another suffix misses", () => {
  const c = new TypeAheadCache(3);
  const before = "x".repeat(300) + "const total = ";
  c.put("m", "u", 314, before, ";", result("items.length"));
  assert.deepEqual(c.lookup("m", "u", 314, before, ";")?.rest, "items.length"); // asked again at the same place
  const hit = c.lookup("m", "u", 319, before + "items", ";");
  assert.equal(hit?.typed, "items");
  assert.equal(hit?.rest, ".length");
  assert.equal(c.lookup("m", "u", 319, before + "itemz", ";"), undefined); // typed something else
  assert.equal(c.lookup("m", "u", 326, before + "items.length", ";"), undefined); // used up
  assert.equal(c.lookup("m", "u", 319, before + "items", ""), undefined); // the text after the cursor changed
  assert.equal(c.lookup("other", "u", 319, before + "items", ";"), undefined);
  assert.equal(c.lookup("m", "v", 319, before + "items", ";"), undefined);
  const edited = "y" + before.slice(1, -20) + "q" + before.slice(-19); // a change inside the remembered tail
  assert.equal(c.lookup("m", "u", 319, edited + "items", ";"), undefined);
  assert.ok(TAIL_CHARS < before.length);
  // LRU: the oldest of four goes; a hit counts as a use
  c.put("m", "u", 1, "a", "", result("1"));
  c.put("m", "u", 2, "b", "", result("2"));
  assert.ok(c.lookup("m", "u", 314, before, ";")); // the first one used again
  c.put("m", "u", 3, "c", "", result("3"));
  assert.equal(c.size, 3);
  assert.equal(c.lookup("m", "u", 1, "a", ""), undefined);
  assert.ok(c.lookup("m", "u", 314, before, ";"));
});

test("debounce: the setting while typing slowly; a little over the usual gap between keys while typing fast, at most 4x", () => {
  const d = new AdaptiveDebounce(60);
  assert.equal(d.delay(), 60);
  let t = 0;
  for (let i = 0; i < 10; i++) d.keystroke((t += 1500)); // pauses are not typing
  assert.equal(d.delay(), 60);
  for (let i = 0; i < 10; i++) d.keystroke((t += 100));
  assert.equal(d.delay(), 125);
  for (let i = 0; i < 10; i++) d.keystroke((t += 30));
  assert.equal(d.delay(), 60);
  for (let i = 0; i < 10; i++) d.keystroke((t += 900));
  assert.equal(d.delay(), 240);
});
