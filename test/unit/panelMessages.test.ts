// Messages from a webview are untrusted: the validator accepts the protocol and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePanelMessage } from "../../engine/protocol";

test("well-formed panel messages pass", () => {
  for (const m of [
    { type: "ready" },
    { type: "getAttention", requestId: 3, layer: 1, head: 2 },
    { type: "getAttention", requestId: 3, layer: 1, head: 2, view: true },
    { type: "getNextToken", requestId: 4, position: 10, topK: 10, temperature: 0.7 },
    { type: "revealToken", index: 0 },
    { type: "rerun" },
    { type: "exportData", format: "csv" },
    { type: "exportPng", dataUrl: "data:image/png;base64,iVBORw0KGgo=" },
  ]) {
    const r = parsePanelMessage(m);
    assert.ok(r.ok, JSON.stringify(r));
  }
});

test("malformed panel messages are refused with a reason", () => {
  const bad: [unknown, RegExp][] = [
    [null, /message/],
    ["ready", /message/],
    [{ type: "nope" }, /type/],
    [{ type: "getAttention", requestId: 1, layer: -1, head: 0 }, /layer/],
    [{ type: "getAttention", requestId: 1, layer: 0.5, head: 0 }, /layer/],
    [{ type: "getAttention", requestId: 1, layer: "0", head: 0 }, /layer/],
    [{ type: "getAttention", requestId: 1, layer: 0, head: 0, view: "yes" }, /view/],
    [{ type: "getNextToken", requestId: 1, position: 0, topK: 1000, temperature: 1 }, /topK/],
    [{ type: "getNextToken", requestId: 1, position: 0, topK: 5, temperature: 0 }, /temperature/],
    [{ type: "revealToken", index: 1, model: "/etc/passwd" }, /model/], // no extra keys: a path never rides along
    [{ type: "exportPng", dataUrl: "file:///etc/passwd" }, /dataUrl/],
    [{ type: "exportData", format: "xml" }, /format/],
  ];
  for (const [m, why] of bad) {
    const r = parsePanelMessage(m);
    assert.equal(r.ok, false, JSON.stringify(m));
    if (!r.ok) assert.match(r.reason, why, `${JSON.stringify(m)} -> ${r.reason}`);
  }
});
