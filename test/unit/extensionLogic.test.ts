// Extension logic that does not need a VS Code host: what Inspect Selection runs on, token lookup.
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockAround, tokenAt } from "../../extension/selectionRange";

test("with no selection, the block around the cursor: lines between blank lines", () => {
  const lines = ["a", "b", "", "c", "d", "e", "", "", "f"];
  assert.deepEqual(blockAround(lines, 4), { startLine: 3, endLine: 5 });
  assert.deepEqual(blockAround(lines, 0), { startLine: 0, endLine: 1 });
  assert.deepEqual(blockAround(lines, 8), { startLine: 8, endLine: 8 });
  assert.equal(blockAround(lines, 2), undefined); // on a blank line: nothing to inspect
  assert.equal(blockAround([], 0), undefined);
  assert.deepEqual(blockAround(lines, 99), { startLine: 8, endLine: 8 }); // clamped to the last line
});

test("tokenAt finds the token holding a character offset", () => {
  const toks = [{ start: 0, end: 3 }, { start: 3, end: 4 }, { start: 4, end: 9 }];
  assert.equal(tokenAt(toks, 0), 0);
  assert.equal(tokenAt(toks, 3), 1);
  assert.equal(tokenAt(toks, 8), 2);
  assert.equal(tokenAt(toks, 9), -1);
});
