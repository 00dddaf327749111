// Messages from a webview are untrusted: the validator accepts the protocol and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInspectorMessage } from "../../protocol/inspector";

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
    const r = parseInspectorMessage(m);
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
    const r = parseInspectorMessage(m);
    assert.equal(r.ok, false, JSON.stringify(m));
    if (!r.ok) assert.match(r.reason, why, `${JSON.stringify(m)} -> ${r.reason}`);
  }
});

test("Gates panel messages: the protocol passes, anything else is refused with a reason", async () => {
  const { parseGatesMessage: parseGatesPanelMessage } = await import("../../protocol/gates");
  for (const m of [
    { type: "ready" },
    { type: "getSlice", requestId: 1, index: 0, name: "forget" },
    { type: "getSlice", requestId: 1, index: 2, name: "x" },
    { type: "revealStep", step: 10 },
    { type: "revealSpan", from: 3, to: 9 },
    { type: "exportCsv", index: 1 },
    { type: "getGradients", requestId: 4, step: 20 },
    { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [3, 17], threshold: 0.5 },
    { type: "revealOffsets", from: 100, to: 140 },
  ]) assert.ok(parseGatesPanelMessage(m).ok, JSON.stringify(m));
  const bad: [unknown, RegExp][] = [
    [{ type: "getSlice", requestId: 1, index: 0, name: "../../etc/passwd" }, /name/],
    [{ type: "getSlice", requestId: 1, index: -1, name: "forget" }, /index/],
    [{ type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [], threshold: 0.5 }, /units/],
    [{ type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [1], threshold: "0.5" }, /threshold/],
    [{ type: "revealOffsets", from: 1, to: 2, uri: "file:///etc/passwd" }, /uri/],
    [{ type: "exportPng", dataUrl: "javascript:alert(1)" }, /dataUrl/],
  ];
  for (const [m, why] of bad) {
    const r = parseGatesPanelMessage(m);
    assert.equal(r.ok, false, JSON.stringify(m));
    if (!r.ok) assert.match(r.reason, why, `${JSON.stringify(m)} -> ${r.reason}`);
  }
});
