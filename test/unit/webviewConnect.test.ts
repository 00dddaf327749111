// A panel app's connection to the extension host (webview/shared/connect.ts) with a stand-in for
// VS Code's webview API and the page's window: replies settle the request whose id they carry,
// error replies reject it, latest-wins ignores an older reply, progress reaches its request,
// "ready" is posted once after the app subscribed, and the saved state round-trips.
import { beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import type { EmbeddingsHostToPanel, EmbeddingsPanelToHost } from "../../protocol/embeddings";
import type { InspectorHostToPanel, InspectorPanelToHost } from "../../protocol/inspector";
import { connect } from "../../webview/shared/connect";

type Sent = Record<string, unknown> & { type: string };
const page = globalThis as unknown as { window: EventTarget; acquireVsCodeApi: () => unknown };

/** What the panel posted, and the state VS Code keeps for it. */
let sent: Sent[] = [];
let saved: unknown;
let acquired = 0;
page.acquireVsCodeApi = () => {
  if (++acquired > 1) throw new Error("An instance of the VS Code API has already been acquired");
  return { postMessage: (m: Sent) => sent.push(structuredClone(m)), getState: () => saved, setState: (s: unknown) => (saved = s) };
};

beforeEach(() => {
  page.window = new EventTarget(); // a fresh page's listeners for each test
  sent = [];
  saved = undefined;
});

/** The host posts `msg` to the page. */
const fromHost = (msg: InspectorHostToPanel | EmbeddingsHostToPanel) => page.window.dispatchEvent(new MessageEvent("message", { data: msg }));
const asked = (type: string) => sent.filter((m) => m.type === type) as (Sent & { requestId: number })[];
const nextToken = (position: number) => ({ position, temperature: 1, top: [{ id: position, token: `t${position}`, p: 1 }], entropyBits: 0 });

type InspectorReplies = { getAttention: "attention"; getNextToken: "nextToken" };
const inspector = () => connect<InspectorPanelToHost, InspectorHostToPanel, { layer: number; host?: { uri: string } }, InspectorReplies>();

test("a reply settles the request whose id it carries, among several in flight; the ids go out as numbers on the messages", async () => {
  const host = inspector();
  const a = host.request({ type: "getNextToken", position: 1, topK: 5, temperature: 1 });
  const b = host.request({ type: "getNextToken", position: 2, topK: 5, temperature: 1 });
  const c = host.request({ type: "getAttention", layer: 0, head: 1 });
  const [ia, ib, ic] = sent.map((m) => m.requestId as number);
  assert.equal(new Set([ia, ib, ic]).size, 3);
  assert.deepEqual(sent[1], { type: "getNextToken", position: 2, topK: 5, temperature: 1, requestId: ib });
  fromHost({ type: "nextToken", requestId: ib, result: nextToken(2) });
  fromHost({ type: "attention", requestId: ic, layer: 0, head: 1, shape: [1, 1], data: new Float32Array([1]) });
  fromHost({ type: "nextToken", requestId: ia, result: nextToken(1) });
  assert.equal((await a).result.position, 1);
  assert.equal((await b).result.position, 2);
  assert.deepEqual(Array.from((await c).data), [1]);
});

test("an error reply rejects its request with the host's message and code; an error without a requestId goes to on()", async () => {
  const host = inspector();
  const errors: string[] = [];
  host.on("error", (m) => errors.push(m.message));
  const ok = host.request({ type: "getAttention", layer: 0, head: 0 });
  const bad = host.request({ type: "getAttention", layer: 9, head: 0 });
  fromHost({ type: "error", requestId: asked("getAttention")[1].requestId, message: "layer 9 is out of range (the model has 2)" });
  await assert.rejects(bad, (e: Error) => e instanceof Error && e.message === "layer 9 is out of range (the model has 2)");
  // a cancel carries the engine's code: the panel tells it from a failure by that, not by its words
  const cancelled = host.request({ type: "getAttention", layer: 1, head: 0 });
  fromHost({ type: "error", requestId: asked("getAttention")[2].requestId, message: "cancelled", code: "CANCELLED" });
  await assert.rejects(cancelled, (e: Error & { code?: string }) => e.message === "cancelled" && e.code === "CANCELLED");
  await assert.rejects(bad, (e: Error & { code?: string }) => e.code === undefined);
  fromHost({ type: "error", message: "the engine stopped" });
  assert.deepEqual(errors, ["the engine stopped"]);
  fromHost({ type: "attention", requestId: asked("getAttention")[0].requestId, layer: 0, head: 0, shape: [1, 1], data: new Float32Array([0.5]) });
  assert.equal((await ok).layer, 0);
});

test("latest wins: a newer request with the same key supersedes the older, whose reply is then ignored", async () => {
  const host = inspector();
  const seen: number[] = [];
  host.on("nextToken", (m) => seen.push(m.result.position)); // replies that settle nothing go here
  const older = host.request({ type: "getNextToken", position: 1, topK: 5, temperature: 1 }, { latest: "next" });
  const newer = host.request({ type: "getNextToken", position: 2, topK: 5, temperature: 1 }, { latest: "next" });
  const other = host.request({ type: "getNextToken", position: 3, topK: 5, temperature: 1 }, { latest: "another key" });
  const [io, inew, iother] = asked("getNextToken").map((m) => m.requestId);
  assert.equal(await older, undefined, "superseded: resolves to undefined at once");
  fromHost({ type: "nextToken", requestId: inew, result: nextToken(2) });
  fromHost({ type: "nextToken", requestId: io, result: nextToken(1) }); // late reply to the superseded request
  assert.equal((await newer)?.result.position, 2);
  assert.deepEqual(seen, [1]);
  // supersede() drops the request in flight under a key without asking again
  host.supersede("another key");
  assert.equal(await other, undefined);
  fromHost({ type: "nextToken", requestId: iother, result: nextToken(3) });
  assert.deepEqual(seen, [1, 3]);
});

test("progress reaches its request; a superseded request in flight is cancelled on the host", async () => {
  const host = connect<EmbeddingsPanelToHost, EmbeddingsHostToPanel, unknown, { project: "projection" }>();
  const progress: string[] = [];
  const opts = { latest: "projection", onProgress: (p: { message: string }) => progress.push(p.message), cancel: (requestId: number) => ({ type: "cancel" as const, requestId }) };
  const first = host.request({ type: "project", source: "vocabulary", method: "umap", dims: 2 }, opts);
  const id1 = asked("project")[0].requestId;
  fromHost({ type: "progress", requestId: id1, done: 1, total: 10, message: "UMAP: epoch 1" });
  const second = host.request({ type: "project", source: "vocabulary", method: "pca", dims: 2 }, opts);
  const id2 = asked("project")[1].requestId;
  assert.deepEqual(sent.map((m) => [m.type, m.requestId]), [["project", id1], ["cancel", id1], ["project", id2]]);
  assert.equal(await first, undefined);
  fromHost({ type: "progress", requestId: id1, done: 2, total: 10, message: "UMAP: epoch 2" }); // the cancelled run's: ignored
  fromHost({ type: "progress", requestId: id2, done: 1, total: 1, message: "PCA" });
  fromHost({ type: "projection", requestId: id2, source: "vocabulary", method: "pca", dims: 2, coords: new Float32Array(2), ids: new Int32Array(1), labels: ["a"], cached: false, ms: 1 });
  assert.equal((await second)?.method, "pca");
  assert.deepEqual(progress, ["UMAP: epoch 1", "PCA"]);
  // settled: superseding it now posts no cancel
  host.request({ type: "project", source: "vocabulary", method: "pca", dims: 3 }, opts);
  assert.equal(asked("cancel").length, 1);
});

test('"ready" is posted once, after the code that subscribed has run, so a message sent at once reaches a handler', async () => {
  const host = inspector();
  const got: string[] = [];
  host.on("stale", () => got.push("stale"));
  assert.equal(asked("ready").length, 0, "not before the app has subscribed");
  host.on("selectToken", (m) => got.push(`token ${m.index}`));
  await Promise.resolve();
  assert.deepEqual(sent, [{ type: "ready" }]);
  fromHost({ type: "selectToken", index: 4 }); // the host answers "ready" at once
  const off = host.on("selectToken", (m) => got.push(`again ${m.index}`));
  fromHost({ type: "selectToken", index: 5 });
  off();
  fromHost({ type: "selectToken", index: 6 });
  await Promise.resolve();
  assert.equal(asked("ready").length, 1);
  assert.deepEqual(got, ["token 4", "token 5", "again 5", "token 6"]);
});

test("the saved state round-trips through VS Code's getState/setState; the API is acquired once a page", () => {
  const host = inspector();
  assert.equal(host.state, undefined);
  host.state = { layer: 2, host: { uri: "file:///a.ts" } };
  assert.deepEqual(saved, { layer: 2, host: { uri: "file:///a.ts" } });
  assert.deepEqual(inspector().state, { layer: 2, host: { uri: "file:///a.ts" } }, "a second connection on the page reads the same state");
  assert.equal(acquired, 1);
});
