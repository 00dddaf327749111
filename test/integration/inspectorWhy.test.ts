// The Inspector's "why" messages on its host side, with `vscode` stood in for and the real engine on
// the sample model: switching heads off runs the same text again with them off (the panel gets the
// ablated run, its KL equal to the engine's own, and the surprisal marks follow its handle), Restore
// all and a new Inspect switch them back on, a head the model lacks is refused; the logit attribution
// of the prediction after a token is the engine's for the inspection's own tokens; Why? runs the
// editor's command on the text up to and including the token, and refuses when the text changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { EngineClient } from "../../engine/client";
import type { Method, Params } from "../../protocol/engine";
import type { InspectionView } from "../../protocol/inspector";
import { FakeDocument, installVscodeMock, Position, Range, Uri, vscode as vscodeMock } from "../unit/vscodeMock";
import { ENGINE_JS, ROOT, SAMPLE_MODEL, tempDir } from "../helpers";

installVscodeMock();
const commands: { cmd: string; args: unknown[] }[] = [];
const docs = new Map<string, FakeDocument>();
Object.assign(vscodeMock, { ProgressLocation: { Notification: 15 }, ViewColumn: { One: 1, Beside: -2 } });
Object.assign(vscodeMock.window, {
  onDidChangeTextEditorSelection: () => ({ dispose() {} }),
  withProgress: (_o: unknown, task: (p: unknown, t: unknown) => Promise<unknown>) => task({ report() {} }, { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) }),
  showErrorMessage: () => Promise.resolve(undefined),
  showTextDocument: (doc: FakeDocument) => Promise.resolve({ document: doc, revealRange() {} }),
});
Object.assign(vscodeMock.workspace, { openTextDocument: (uri: Uri) => Promise.resolve(docs.get(uri.toString())) });
Object.assign(vscodeMock.commands, {
  executeCommand: (cmd: string, ...args: unknown[]) => {
    commands.push({ cmd, args });
    return Promise.resolve();
  },
});
/* eslint-disable @typescript-eslint/no-require-imports */
const { InspectorPanel } = require("../../extension/inspectorPanel") as typeof import("../../extension/inspectorPanel");
/* eslint-enable @typescript-eslint/no-require-imports */

type Posted = { type: string; [k: string]: unknown };

function fakePanel() {
  const posted: Posted[] = [];
  let receive: (m: unknown) => unknown = () => undefined;
  const panel = {
    webview: {
      options: {},
      html: "",
      cspSource: "vscode-resource:",
      asWebviewUri: (u: unknown) => u,
      postMessage: (m: Posted) => (posted.push(m), Promise.resolve(true)),
      onDidReceiveMessage: (cb: (m: unknown) => unknown) => ((receive = cb), { dispose() {} }),
    },
    iconPath: undefined as unknown,
    onDidDispose: () => ({ dispose() {} }),
    reveal: () => undefined,
  };
  return { panel, posted, send: (m: unknown) => receive(m) };
}

/** The panel's services over the real engine: what it asked the engine, and the handles the surprisal marks were asked for. */
function fakeServices(real: EngineClient) {
  const asked: { method: string; params: Record<string, unknown> }[] = [];
  const surprisalHandles: string[] = [];
  const engine = {
    request: (method: Method, params: Params<Method>, opts?: { signal?: AbortSignal }) => {
      asked.push({ method, params: params as Record<string, unknown> });
      return real.request(method, params, opts);
    },
  };
  const services = {
    context: { extensionUri: Uri.file(ROOT), extensionPath: ROOT },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    host: { get: () => engine, onDidStop: () => ({ dispose() {} }) },
    models: { loaded: () => Promise.resolve() },
    surprisal: {
      update: (r: { handle: string }) => {
        surprisalHandles.push(r.handle);
        return Promise.resolve();
      },
    },
    showStatus: () => undefined,
  };
  return { services, asked, surprisalHandles };
}

const TEXT = "function area(shape) {\n  return Math.PI * shape.radius ** 2;\n}\nconst total = area(circle) + area(";

const views = (posted: Posted[]) => posted.filter((m) => m.type === "inspection").map((m) => m.view as InspectionView);

async function setup() {
  const real = new EngineClient({ enginePath: ENGINE_JS, providers: "cpu" });
  const doc = new FakeDocument(Uri.file(path.join(tempDir("inspector-why"), "area.js")), TEXT);
  docs.set(doc.uri.toString(), doc);
  const { services, asked, surprisalHandles } = fakeServices(real);
  const { panel, posted, send } = fakePanel();
  const p = new InspectorPanel(panel as never, services as never);
  const range = new Range(new Position(0, 0), doc.positionAt(TEXT.length));
  const clean = (await p.inspect(doc as never, range as never, SAMPLE_MODEL))!;
  return { real, doc, p, posted, send, asked, surprisalHandles, clean, range };
}

test("heads switched off: the same text run again with them off, its KL the engine's; the surprisal marks follow; Restore all, a new Inspect and a head the model lacks", async () => {
  const s = await setup();
  try {
    const heads = [
      { layer: 3, head: 0 },
      { layer: 1, head: 2 },
      { layer: 1, head: 2 },
    ];
    await s.send({ type: "ablateHeads", heads, mode: "zero" });
    const ablated = views(s.posted).at(-1)!;
    // each head once, in order; the text and range the same
    assert.deepEqual(ablated.ablation?.heads, [
      { layer: 1, head: 2 },
      { layer: 3, head: 0 },
    ]);
    assert.equal(ablated.ablation?.mode, "zero");
    assert.equal(ablated.text, TEXT);
    assert.notEqual(ablated.handle, s.clean.handle);
    const sent = s.asked.filter((a) => a.method === "inspect").at(-1)!.params;
    assert.deepEqual(sent.ablate, ablated.ablation?.heads);
    assert.equal(sent.text, TEXT);
    // the engine's own numbers for the same run
    const direct = await s.real.request("inspect", { model: SAMPLE_MODEL, text: TEXT, ablate: ablated.ablation!.heads, ablateMode: "zero" });
    assert.ok(ablated.ablation!.klFromClean > 1e-6, `KL ${ablated.ablation!.klFromClean}`);
    assert.ok(Math.abs(ablated.ablation!.klFromClean - direct.ablation!.klFromClean) < 1e-6);
    assert.deepEqual(
      ablated.next!.top.map((t) => t.id),
      direct.next!.top.map((t) => t.id),
    );
    assert.ok(Math.abs(ablated.next!.top[0].p - s.clean.next!.top[0].p) > 1e-6 || ablated.next!.top[0].id !== s.clean.next!.top[0].id, "the next-token list moved");
    // the editor's surprisal marks are asked of the ablated run
    assert.equal(s.surprisalHandles.at(-1), ablated.handle);

    // mean over positions
    await s.send({ type: "ablateHeads", heads: ablated.ablation!.heads, mode: "mean" });
    const mean = views(s.posted).at(-1)!;
    assert.equal(mean.ablation?.mode, "mean");
    assert.notEqual(mean.ablation!.klFromClean, ablated.ablation!.klFromClean);
    // a re-run keeps them off
    await s.send({ type: "rerun" });
    assert.deepEqual(views(s.posted).at(-1)!.ablation?.heads, ablated.ablation!.heads);

    // Restore all
    await s.send({ type: "ablateHeads", heads: [], mode: "mean" });
    const restored = views(s.posted).at(-1)!;
    assert.equal(restored.ablation, undefined);
    assert.deepEqual(
      restored.next!.top.map((t) => [t.id, t.p.toFixed(6)]),
      s.clean.next!.top.map((t) => [t.id, t.p.toFixed(6)]),
    );

    // a head the model lacks: refused with what the model has, nothing run
    const before = s.asked.length;
    await s.send({ type: "ablateHeads", heads: [{ layer: 0, head: restored.nHead }], mode: "zero" });
    const err = s.posted.at(-1)!;
    assert.equal(err.type, "error");
    assert.match(err.message as string, new RegExp(`${restored.nLayer} layers of ${restored.nHead} heads: there is no head 0\\.${restored.nHead}`));
    assert.equal(s.asked.length, before);

    // a new Inspect starts with every head on
    await s.send({ type: "ablateHeads", heads: [{ layer: 0, head: 0 }], mode: "zero" });
    assert.ok(views(s.posted).at(-1)!.ablation);
    const fresh = (await s.p.inspect(s.doc as never, s.range as never, SAMPLE_MODEL))!;
    assert.equal(fresh.ablation, undefined);
    assert.equal(s.asked.filter((a) => a.method === "inspect").at(-1)!.params.ablate, undefined);
  } finally {
    s.p.dispose();
    s.real.dispose();
  }
});

test("logit attribution from the panel: the engine's for the inspection's own tokens, at the prediction after the token; the parts sum to the logit", async () => {
  const s = await setup();
  try {
    const T = s.clean.tokens.length;
    await s.send({ type: "getDla", requestId: 7, position: 5 });
    const reply = s.posted.at(-1)!;
    assert.equal(reply.type, "dla");
    assert.equal(reply.requestId, 7);
    const r = reply.result as import("../../protocol/interventions").DlaResult;
    assert.equal("tokens" in r, false, "the tokens are the inspection's: not sent again");
    assert.equal(r.position, 6);
    assert.equal(r.target.id, s.clean.tokens[6].id, "the default target: the token that follows");
    assert.equal(r.heads.length, s.clean.nLayer);
    assert.ok(r.heads.every((row) => row.length === s.clean.nHead));
    const sum = r.embed + r.heads.flat().reduce((a, b) => a + b, 0) + r.mlps.reduce((a, b) => a + b, 0) + r.attnBiases.reduce((a, b) => a + b, 0) + r.remainder;
    assert.ok(Math.abs(sum - r.logit) < 1e-4, `parts ${sum} vs logit ${r.logit}`);
    const direct = await s.real.request("dla", { model: SAMPLE_MODEL, ids: s.clean.tokens.map((t) => t.id), position: 6 });
    assert.deepEqual(r.heads, direct.heads);
    assert.equal(r.logit, direct.logit);

    // after the last token: the top prediction; with a foil, the difference
    const foil = s.clean.next!.top[1].id;
    await s.send({ type: "getDla", requestId: 8, position: T - 1, foil });
    const last = s.posted.at(-1)!.result as import("../../protocol/interventions").DlaResult;
    assert.equal(last.position, T);
    assert.equal(last.target.id, s.clean.next!.top[0].id);
    assert.equal(last.foil?.id, foil);
    assert.equal(last.metric, "logit-diff");

    // past the tokens: refused, saying what to do
    await s.send({ type: "getDla", requestId: 9, position: T });
    const err = s.posted.at(-1)!;
    assert.equal(err.type, "error");
    assert.equal(err.requestId, 9);
    assert.match(err.message as string, new RegExp(`${T} tokens, none at ${T}: pick a token`));
  } finally {
    s.p.dispose();
    s.real.dispose();
  }
});

test("Why? from the panel: the editor's command on the inspected text up to and including the token; refused once the text changed", async () => {
  const s = await setup();
  try {
    commands.length = 0;
    const i = 7;
    await s.send({ type: "whyToken", index: i });
    const call = commands.find((c) => c.cmd === "seqlens.whyToken");
    assert.ok(call, JSON.stringify(commands));
    assert.deepEqual(call.args, [{ uri: s.doc.uri.toString(), start: 0, end: s.clean.tokens[i].end }]);
    assert.equal(TEXT.slice(0, s.clean.tokens[i].end).endsWith(s.clean.tokens[i].text), true);

    s.doc.version++;
    commands.length = 0;
    await s.send({ type: "whyToken", index: i });
    assert.equal(commands.filter((c) => c.cmd === "seqlens.whyToken").length, 0);
    const err = s.posted.at(-1)!;
    assert.equal(err.type, "error");
    assert.match(err.message as string, /text changed since this inspection: re-run it/);
  } finally {
    s.p.dispose();
    s.real.dispose();
  }
});
