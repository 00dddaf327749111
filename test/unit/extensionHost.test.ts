// Extension logic with `vscode` stood in for (test/unit/vscodeMock.ts): which model is active under
// Workspace Trust, what the Models tree lists, surprisal decorations and their hover.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FakeDocument, FakeEditor, installVscodeMock, Position, state, Uri } from "./vscodeMock";

installVscodeMock();
// Loaded after the stand-in is in place.
/* eslint-disable @typescript-eslint/no-require-imports */
const models = require("../../extension/models") as typeof import("../../extension/models");
const { ModelsView } = require("../../extension/modelsView") as typeof import("../../extension/modelsView");
const { SurprisalDecorations, bucketOf } = require("../../extension/surprisal") as typeof import("../../extension/surprisal");
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, "..", "..");

function reset(workspace?: string): void {
  state.settings.clear();
  state.isTrusted = true;
  state.workspaceFolders = workspace ? [{ uri: Uri.file(workspace) }] : [];
  state.visibleTextEditors = [];
}

/** A workspace with an ONNX model folder, a tfjs model, a model folder with both, and decoys. */
function workspaceWithModels(): string {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-ws-")));
  const put = (rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
    fs.writeFileSync(path.join(ws, rel), content);
  };
  const tfjs = JSON.stringify({ format: "layers-model", modelTopology: { class_name: "Sequential" }, weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: [] }] });
  put("models/gpt/config.json", "{}");
  put("models/gpt/onnx/model.onnx", "");
  put("models/lstm/model.json", tfjs);
  put("models/both/config.json", "{}");
  put("models/both/onnx/model.onnx", "");
  put("models/both/tfjs/model.json", tfjs);
  put("models/tfjs-only/config.json", "{}"); // a folder with config.json and only a tfjs/ export
  put("models/tfjs-only/tfjs/model.json", tfjs);
  put("app/config.json", '{"port": 8080}'); // not a model: no onnx/
  put("app/model.json", '{"name": "a data model"}'); // not a tfjs model
  put("node_modules/pkg/model.json", tfjs); // never searched
  return ws;
}

test("the active model: the bundled sample by default, a relative setting from the workspace, none from an untrusted workspace", () => {
  const ws = workspaceWithModels();
  try {
    reset(ws);
    assert.deepEqual(models.activeModel(ROOT), { path: models.bundledModels(ROOT)[0] });
    assert.ok(models.bundledModels(ROOT).every((p) => fs.existsSync(path.join(p, "config.json"))));
    state.settings.set("seqlens.activeModel", "models/gpt");
    assert.deepEqual(models.activeModel(ROOT), { path: path.join(ws, "models", "gpt") });
    state.isTrusted = false;
    const r = models.activeModel(ROOT);
    assert.ok("error" in r && /untrusted workspace/.test(r.error) && r.error.includes(path.join(ws, "models", "gpt")), JSON.stringify(r));
    // A model outside the workspace (a bundled sample by path) still loads when the workspace is untrusted.
    state.settings.set("seqlens.activeModel", models.bundledModels(ROOT)[1]);
    assert.deepEqual(models.activeModel(ROOT), { path: models.bundledModels(ROOT)[1] });
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test("the Models tree lists samples, ONNX and tfjs model folders in the workspace once each, and setting paths", async () => {
  const ws = workspaceWithModels();
  try {
    reset(ws);
    const extra = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-extra-")));
    state.settings.set("seqlens.models", [extra, path.join(ws, "models", "gpt")]); // the second is found in the workspace too
    const host = { get: () => assert.fail("listing models must not start the engine"), log: { info() {} } };
    const view = new ModelsView(ROOT, host as never);
    const items = await view.getChildren();
    const rel = (p: string) => (p.startsWith(ws) ? path.relative(ws, p) : p);
    assert.deepEqual(
      items.map((i) => [rel(i.modelPath), i.origin, i.description]),
      [
        [models.bundledModels(ROOT)[0], "sample", "sample"],
        [models.bundledModels(ROOT)[1], "sample", "sample"],
        // the recurrent samples (Show Gates), each with an ONNX and a tfjs copy
        ...models.recurrentSamples(ROOT).map((p) => [p, "sample", "recurrent · onnx · sample"]),
        ["models/both", "workspace", "onnx · workspace"],
        ["models/gpt", "workspace", "onnx · workspace"],
        ["models/lstm", "workspace", "recurrent · tfjs · workspace"],
        ["models/tfjs-only", "workspace", "tfjs · workspace"],
        [extra, "setting", "setting"],
      ],
    );
    assert.equal(items.filter((i) => i.iconPath && (i.iconPath as { id: string }).id === "pass-filled").length, 1, "exactly one model is marked active");
    // Untrusted: models inside the workspace are not listed (nor loaded); samples and settings are.
    state.isTrusted = false;
    const untrusted = await view.getChildren();
    assert.deepEqual(untrusted.map((i) => i.origin), ["sample", "sample", ...models.recurrentSamples(ROOT).map(() => "sample"), "setting", "setting"]);
    assert.ok(models.recurrentSamples(ROOT).some((p) => p.endsWith("co2-lstm")));
    fs.rmSync(extra, { recursive: true, force: true });
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test("surprisal: tokens are painted in buckets by bits, the hover gives the top predictions, an edit clears them", async () => {
  reset();
  const text = "let x = 1;\nlet y = 2;";
  const doc = new FakeDocument(Uri.file("/w/a.ts"), text);
  const editor = new FakeEditor(doc);
  state.visibleTextEditors = [editor];
  const tokens = [
    { id: 1, text: "let", start: 0, end: 3, byteStart: 0, byteEnd: 3 },
    { id: 2, text: " x", start: 3, end: 5, byteStart: 3, byteEnd: 5 },
    { id: 3, text: " =", start: 5, end: 7, byteStart: 5, byteEnd: 7 },
  ];
  const data = {
    meanBits: 5,
    tokens: [
      { bits: null, p: null, rank: null, top: [] },
      { bits: 9.5, p: 2 ** -9.5, rank: 40, top: [{ id: 7, token: " i", p: 0.2 }] },
      { bits: 0.5, p: 2 ** -0.5, rank: 1, top: [{ id: 3, token: " =", p: 2 ** -0.5 }, { id: 8, token: ":", p: 0.1 }] },
    ],
  };
  const requests: unknown[] = [];
  const host = { get: () => ({ request: (m: string, p: unknown) => (requests.push([m, p]), Promise.resolve(data)) }), log: { info() {} } };
  state.hoverProviders = [];
  const s = new SurprisalDecorations(host as never);
  const range = { uri: doc.uri.toString(), start: 4, version: 1, handle: "h1", tokens }; // the text starts at offset 4 of the document
  await s.toggle(range);
  assert.equal(state.contexts.get("seqlens.surprisalOn"), true);
  assert.deepEqual(requests, [["surprisal", { handle: "h1", topK: 5 }]]);
  // Each decoration type is one bucket; token 1 (9.5 bits) is in bucket 4 (8-12), token 2 (0.5 bits) in bucket 0.
  const painted = [...editor.decorations.values()].map((ranges) => ranges.map((r) => [doc.offsetAt(r.start), doc.offsetAt(r.end)]));
  assert.equal(bucketOf(9.5), 4);
  assert.equal(bucketOf(0.5), 0);
  assert.deepEqual(painted, [[[9, 11]], [], [], [], [[7, 9]], []]);
  const hover = state.hoverProviders[0].provideHover(doc, doc.positionAt(10)) as { contents: { value: string } };
  assert.match(hover.contents.value, /surprisal \*\*0\.50 bits\*\*/);
  assert.match(hover.contents.value, /rank \*\*1\*\*/);
  assert.match(hover.contents.value, /`·=` 70\.71% ← actual/);
  assert.equal(state.hoverProviders[0].provideHover(doc, new Position(1, 0)), undefined, "no hover outside the inspected tokens");
  // An edit makes the offsets stale: the decorations go.
  for (const l of state.listeners.changeDocument) l({ document: doc });
  assert.ok([...editor.decorations.values()].every((r) => r.length === 0));
  s.dispose();
});

test("Show Gates reads numbers as a series and anything else as text", () => {
  const { looksNumeric } = require("../../extension/gatesInput") as typeof import("../../extension/gatesInput"); // eslint-disable-line @typescript-eslint/no-require-imports
  assert.equal(looksNumeric('"time","value"\n1959,315.42\n1959.0833,316.31\n'), true);
  assert.equal(looksNumeric("[1, 2.5, -3e2]"), true);
  assert.equal(looksNumeric("const xs: number[] = [1, 2,\n  3, 4];"), true);
  assert.equal(looksNumeric("xs = np.array([1.0, 2.0, 3.5])"), true);
  assert.equal(looksNumeric("1 2 3\n4 5 6"), true);
  assert.equal(looksNumeric("1.5\n2.5\nNaN\n3.5\n\n4\nabc\n"), true); // mostly numbers: the bad cells get reported
  assert.equal(looksNumeric("interface Foo {\n  bar: number;\n}\n"), false);
  assert.equal(looksNumeric("let x = 1;\nlet y = 2;\n"), false);
  assert.equal(looksNumeric(""), false);
});
