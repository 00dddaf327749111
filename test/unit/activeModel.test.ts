// `seqlens.activeModel` naming a folder that is not there, with `vscode` stood in for
// (test/unit/vscodeMock.ts): the check warns once per bad value with a way to pick a model, the status
// bar says "not found" with the reason, the Models view lists it with a warning and ticks nothing, and
// Inspect gets an error naming the path; a folder that is there gives none of that.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installVscodeMock, state, Uri, vscode } from "./vscodeMock";

installVscodeMock();
// what the stand-in lacks and these modules use
Object.assign(vscode, { ThemeColor: class { constructor(readonly id: string) {} } });
/* eslint-disable @typescript-eslint/no-require-imports */
const models = require("../../extension/models") as typeof import("../../extension/models");
const { ModelsView } = require("../../extension/modelsView") as typeof import("../../extension/modelsView");
const { activeModelCheck, PICK_MODEL, OPEN_SETTING } = require("../../extension/modelCommands") as typeof import("../../extension/modelCommands");
const { statusBarView } = require("../../extension/services") as typeof import("../../extension/services");
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, "..", "..");

function workspace(): string {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-active-")));
  fs.mkdirSync(path.join(ws, "models", "gpt", "onnx"), { recursive: true });
  fs.writeFileSync(path.join(ws, "models", "gpt", "config.json"), '{"model_type": "gpt2"}');
  fs.writeFileSync(path.join(ws, "models", "gpt", "onnx", "model.onnx"), "");
  state.settings.clear();
  state.isTrusted = true;
  state.workspaceFolders = [{ uri: Uri.file(ws) }];
  return ws;
}

/** A check whose warnings and actions are recorded. */
function recordedCheck(answer?: string) {
  const warnings: { message: string; actions: string[] }[] = [];
  const acted: string[] = [];
  const check = activeModelCheck(
    ROOT,
    (message, ...actions) => (warnings.push({ message, actions }), Promise.resolve(answer)),
    (a) => acted.push(a),
  );
  return { check, warnings, acted };
}

const noHost = { get: () => assert.fail("listing models must not start the engine"), log: { info() {} } };
const icon = (i: { iconPath?: unknown }) => (i.iconPath as { id: string } | undefined)?.id;

test("an activeModel folder that exists: no warning, the status bar names it, the Models view ticks it", async () => {
  const ws = workspace();
  try {
    state.settings.set("seqlens.activeModel", "models/gpt");
    const { check, warnings } = recordedCheck();
    const s = check();
    assert.equal(s.status, "ok");
    assert.equal(s.path, path.join(ws, "models", "gpt"));
    assert.deepEqual(warnings, []);
    assert.deepEqual(models.activeModel(ROOT), { path: path.join(ws, "models", "gpt") });
    const bar = statusBarView(s);
    assert.equal(bar.warning, false);
    assert.equal(bar.text, "$(telescope) gpt · onnx");
    const items = await new ModelsView(ROOT, noHost as never).getChildren();
    const ticked = items.filter((i) => icon(i) === "pass-filled");
    assert.deepEqual(ticked.map((i) => i.modelPath), [path.join(ws, "models", "gpt")]);
    assert.ok(items.every((i) => !i.missing && icon(i) !== "warning"));
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test("an activeModel folder that does not exist: one warning with a way to pick a model, 'not found' in the status bar, a warning and no tick in the Models view, an error for Inspect", async () => {
  const ws = workspace();
  try {
    const gone = path.join(ws, "models", "deleted-model");
    state.settings.set("seqlens.activeModel", gone);
    const { check, warnings, acted } = recordedCheck(PICK_MODEL);
    const s = check();
    assert.equal(s.status, "missing");
    assert.ok(s.status === "missing" && s.reason.includes(gone), JSON.stringify(s));
    // said once, however often the settings change while the value stays the same
    check();
    check();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /seqlens\.activeModel does not exist/);
    assert.ok(warnings[0].message.includes(gone));
    assert.deepEqual(warnings[0].actions, [PICK_MODEL, OPEN_SETTING]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(acted, [PICK_MODEL], "the warning's button picks a model");
    // Inspect Selection refuses with the same reason instead of asking the engine
    const r = models.activeModel(ROOT);
    assert.ok("error" in r && r.error.includes(gone) && /Select Model/.test(r.error), JSON.stringify(r));
    // the status bar: a warning, the reason in its tooltip, a click picks a model
    const bar = statusBarView(s);
    assert.equal(bar.warning, true);
    assert.equal(bar.text, "$(warning) deleted-model · not found");
    assert.ok(bar.tooltip.includes(gone));
    assert.equal(bar.command, "seqlens.selectModel");
    // the Models view: listed with a warning, nothing ticked
    const items = await new ModelsView(ROOT, noHost as never).getChildren();
    assert.equal(items.filter((i) => icon(i) === "pass-filled").length, 0, "nothing is marked active");
    const item = items.find((i) => i.modelPath === gone);
    assert.ok(item, "the missing model is listed");
    assert.equal(icon(item), "warning");
    assert.equal(item.description, "not found · setting");
    assert.ok(item.missing?.includes(gone));
    assert.equal(item.command?.command, "seqlens.selectModel");
    // a relative path says where it was read from
    state.settings.set("seqlens.activeModel", "models/typo");
    const rel = check();
    assert.ok(rel.status === "missing" && rel.reason.includes(path.join(ws, "models", "typo")) && /read from the workspace folder/.test(rel.reason), JSON.stringify(rel));
    assert.equal(warnings.length, 2, "a new bad value is said again");
    // fixed, then the first mistake made again: said again
    state.settings.set("seqlens.activeModel", "models/gpt");
    assert.equal(check().status, "ok");
    state.settings.set("seqlens.activeModel", gone);
    check();
    assert.equal(warnings.length, 3);
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test("an activeModel inside an untrusted workspace is 'not loaded', not 'not found'", () => {
  const ws = workspace();
  try {
    state.settings.set("seqlens.activeModel", "models/gpt");
    state.isTrusted = false;
    const { check, warnings } = recordedCheck();
    const s = check();
    assert.equal(s.status, "untrusted");
    assert.deepEqual(warnings, [], "the trust prompt is VS Code's to show");
    assert.equal(statusBarView(s).text, "$(warning) gpt · not loaded");
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});
