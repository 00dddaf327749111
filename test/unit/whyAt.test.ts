// The argument the Inspector passes to SeqLens: Why This Token? (a range of a document to explain),
// told apart from what the editor's menus pass the same command (a URI, nothing), with `vscode`
// stood in for (test/unit/vscodeMock.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { installVscodeMock, Uri } from "./vscodeMock";

installVscodeMock();
/* eslint-disable @typescript-eslint/no-require-imports */
const why = require("../../extension/why") as typeof import("../../extension/why");
/* eslint-enable @typescript-eslint/no-require-imports */

test("a range to explain is taken; a menu's URI, nothing, or a malformed range is not (the command then explains the editor's selection)", () => {
  assert.deepEqual(why.whyAtOf({ uri: "file:///w/a.ts", start: 0, end: 12 }), { uri: "file:///w/a.ts", start: 0, end: 12 });
  assert.deepEqual(why.whyAtOf({ uri: "file:///w/a.ts", start: 40, end: 41, extra: true }), { uri: "file:///w/a.ts", start: 40, end: 41 }, "only the three fields are kept");
  assert.equal(why.whyAtOf(undefined), undefined);
  assert.equal(why.whyAtOf(Uri.file("/w/a.ts")), undefined, "the editor's context menu passes the file's URI");
  assert.equal(why.whyAtOf("file:///w/a.ts"), undefined);
  assert.equal(why.whyAtOf({ uri: "file:///w/a.ts", start: 5, end: 5 }), undefined, "an empty range");
  assert.equal(why.whyAtOf({ uri: "file:///w/a.ts", start: 9, end: 3 }), undefined, "end before start");
  assert.equal(why.whyAtOf({ uri: "file:///w/a.ts", start: -1, end: 3 }), undefined);
  assert.equal(why.whyAtOf({ uri: "file:///w/a.ts", start: 0.5, end: 3 }), undefined);
  assert.equal(why.whyAtOf({ uri: 7, start: 0, end: 3 }), undefined);
});
