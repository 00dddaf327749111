// "Write an int8 Copy" (extension/modelCommands.ts) with `vscode` stood in for: its notification has
// Cancel, a cancel reaches the engine request's signal, and a cancelled copy is said as information,
// not as an error; a copy that fails for another reason is an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineError } from "../../protocol/errors";
import { installVscodeMock, vscode as vscodeMock } from "./vscodeMock";

installVscodeMock();
const shown: { info: string[]; error: string[]; progress: { title: string; cancellable?: boolean }[] } = { info: [], error: [], progress: [] };
/** What the next notification's Cancel does: pressed once the task has started, or never. */
let pressCancel = false;
Object.assign(vscodeMock, { ProgressLocation: { Notification: 15 } });
Object.assign(vscodeMock.window, {
  showInputBox: async () => "/tmp/out-int8",
  showInformationMessage: async (m: string) => void shown.info.push(m),
  showErrorMessage: async (m: string) => void shown.error.push(m),
  withProgress: async (opts: { title: string; cancellable?: boolean }, task: (p: unknown, token: unknown) => Promise<unknown>) => {
    shown.progress.push(opts);
    const listeners: (() => void)[] = [];
    const token = { isCancellationRequested: false, onCancellationRequested: (l: () => void) => (listeners.push(l), { dispose() {} }) };
    const run = task({ report() {} }, token);
    if (pressCancel) {
      await new Promise((r) => setImmediate(r));
      token.isCancellationRequested = true;
      for (const l of listeners) l();
    }
    return run;
  },
});
/* eslint-disable @typescript-eslint/no-require-imports */
const { quantizeModel } = require("../../extension/modelCommands") as typeof import("../../extension/modelCommands");
/* eslint-enable @typescript-eslint/no-require-imports */

/** Services whose engine holds a quantize request until its signal aborts (then CANCELLED), or fails it with `fail`. */
function services(fail?: EngineError) {
  const seen: { method: string; params: unknown; aborted: () => boolean }[] = [];
  const engine = {
    request: (method: string, params: unknown, opts?: { signal?: AbortSignal }) => {
      seen.push({ method, params, aborted: () => !!opts?.signal?.aborted });
      if (fail) return Promise.reject(fail);
      return new Promise((_resolve, reject) => opts?.signal?.addEventListener("abort", () => reject(new EngineError("CANCELLED", `${method} was cancelled`)), { once: true }));
    },
  };
  const status: boolean[] = [];
  return { seen, status, s: { host: { get: () => engine }, log: { info() {}, warn() {}, error() {} }, showStatus: (busy?: boolean) => void status.push(!!busy) } };
}

test("Cancel on the int8 copy's notification cancels the engine request and says so as information", async () => {
  shown.info.length = shown.error.length = shown.progress.length = 0;
  pressCancel = true;
  const { seen, status, s } = services();
  await quantizeModel(s as never, async () => "/models/tiny-gpt");
  assert.deepEqual(shown.progress, [{ location: 15, title: "SeqLens: writing an int8 copy", cancellable: true }]);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].method, "quantize");
  assert.deepEqual(seen[0].params, { model: "/models/tiny-gpt", out: "/tmp/out-int8" });
  assert.equal(seen[0].aborted(), true, "the request's signal was aborted");
  assert.deepEqual(shown.error, []);
  assert.deepEqual(shown.info, ["SeqLens: the int8 copy was cancelled; nothing of it was left in /tmp/out-int8."]);
  assert.deepEqual(status, [true, false], "the status bar's busy mark is paired");
});

test("an int8 copy that fails for another reason is an error, not a cancel", async () => {
  shown.info.length = shown.error.length = shown.progress.length = 0;
  pressCancel = false;
  const { s } = services(new EngineError("BAD_INPUT", "/tmp/out-int8 exists and is not empty: pick a new folder for the int8 copy (nothing is overwritten)"));
  await quantizeModel(s as never, async () => "/models/tiny-gpt");
  assert.deepEqual(shown.info, []);
  assert.deepEqual(shown.error, ["SeqLens: /tmp/out-int8 exists and is not empty: pick a new folder for the int8 copy (nothing is overwritten)"]);
});
