// The Models feature: the SeqLens view's tree of models and its commands (use, reveal, refresh),
// picking the active model, and writing an int8 copy of one (then offering to compare the two). And a
// check of `seqlens.activeModel` at activation and whenever it changes: a path that is not there is
// said once, with a way to pick a model (the status bar and the Models view show it as missing).
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { isCancelled } from "../protocol/errors";
import { withEngineProgress } from "./commands";
import { MODELS_VIEW_ID } from "../protocol/models";
import { modelItems, offeredFolders, pickModel } from "./modelPicker";
import { activeModelState, type ActiveModelState, isRecurrentFolder } from "./models";
import { ModelItem } from "./modelsView";
import type { Feature, Services } from "./services";

/**
 * Writes an int8 copy of a picked model into a folder the user names, then offers the comparison with
 * the original. The notification has Cancel: the engine stops and removes what it had written, and
 * the cancel is said as information (the user asked for it), not as an error.
 */
export async function quantizeModel(services: Pick<Services, "host" | "log" | "showStatus">, pick: () => Promise<string | undefined>): Promise<void> {
  const model = await pick();
  if (!model) return;
  const dir = fs.existsSync(model) && fs.statSync(model).isFile() ? path.dirname(path.dirname(model)) : model;
  const out = await vscode.window.showInputBox({ title: "SeqLens: folder for the int8 copy (new or empty)", value: `${dir.replace(/[\\/]+$/, "")}-int8` });
  if (!out) return;
  let cancelled = false;
  const r = await withEngineProgress(services as Services, "writing an int8 copy", async (token) => {
    const ac = new AbortController();
    const listener = token.onCancellationRequested(() => ac.abort());
    try {
      return await services.host.get().request("quantize", { model, out }, { signal: ac.signal });
    } catch (e) {
      if (isCancelled(e)) cancelled = true;
      throw e;
    } finally {
      listener.dispose();
    }
  });
  if (cancelled) {
    void vscode.window.showInformationMessage(`SeqLens: the int8 copy was cancelled; nothing of it was left in ${out}.`);
    return;
  }
  if (!r) return;
  const compare = "Compare with the original";
  const choice = await vscode.window.showInformationMessage(`SeqLens: wrote ${r.out}: ${r.quantized} MatMul weights to int8, ${(r.bytes[0] / 2 ** 20).toFixed(1)} → ${(r.bytes[1] / 2 ** 20).toFixed(1)} MiB.`, compare);
  if (choice === compare) await vscode.commands.executeCommand("seqlens.compareModels", model, r.out);
}

export const PICK_MODEL = "Pick a Model…";
export const OPEN_SETTING = "Open the Setting";

/**
 * Checks `seqlens.activeModel` and says once per bad value (a path that does not exist) that it is not
 * there, with a way to pick one. A value that is fine again forgets what was said, so the same mistake made
 * later is said again. Returns the check's state.
 */
export function activeModelCheck(extensionPath: string, warn: (message: string, ...actions: string[]) => Thenable<string | undefined>, act: (action: string) => unknown): () => ActiveModelState {
  let warned: string | undefined;
  return () => {
    const s = activeModelState(extensionPath);
    if (s.status !== "missing") {
      warned = undefined;
      return s;
    }
    if (warned === s.path) return s;
    warned = s.path;
    void Promise.resolve(warn(`SeqLens: ${s.reason} Inspect Selection needs a model folder (config.json, tokenizer.json, onnx/model.onnx).`, PICK_MODEL, OPEN_SETTING)).then((pick) => pick && act(pick));
    return s;
  };
}

export const modelsFeature: Feature = {
  name: "models",
  register: (services) => {
    const { models, context } = services;
    const check = activeModelCheck(
      context.extensionPath,
      (message, ...actions) => vscode.window.showWarningMessage(message, ...actions),
      (action) => (action === PICK_MODEL ? vscode.commands.executeCommand("seqlens.selectModel") : vscode.commands.executeCommand("workbench.action.openSettings", "seqlens.activeModel")),
    );
    check(); // at activation
    return [
      vscode.window.registerTreeDataProvider(MODELS_VIEW_ID, models),
      vscode.commands.registerCommand("seqlens.quantizeModel", () => quantizeModel(services, () => pickModel(services, "SeqLens: the model to write an int8 copy of"))),
      vscode.commands.registerCommand("seqlens.selectModel", async () => {
        // the decoders SeqLens offers (recurrent models are Show Gates'), each named by its folder
        const folders = (await offeredFolders(services)).filter((f) => !isRecurrentFolder(f) && fs.existsSync(f));
        const pick = await vscode.window.showQuickPick(modelItems(folders, context.extensionPath), { placeHolder: "The model to inspect with", matchOnDescription: true });
        if (pick?.model) {
          await vscode.workspace.getConfiguration("seqlens").update("activeModel", pick.model, vscode.ConfigurationTarget.Global);
          services.showStatus();
        }
      }),
      vscode.commands.registerCommand("seqlens.useModel", async (item: ModelItem) => {
        if (!(item instanceof ModelItem)) return;
        // A recurrent model is what Show Gates runs; a decoder what Inspect Selection runs.
        await vscode.workspace.getConfiguration("seqlens").update(item.recurrent ? "gatesModel" : "activeModel", item.modelPath, vscode.ConfigurationTarget.Global);
        models.refresh();
        services.showStatus();
      }),
      vscode.commands.registerCommand("seqlens.refreshModels", () => models.refresh()),
      vscode.commands.registerCommand("seqlens.revealModel", async (item: ModelItem) => {
        if (!(item instanceof ModelItem)) return;
        if (item.missing) {
          void vscode.window.showWarningMessage(`SeqLens: ${item.missing}`);
          return;
        }
        if (item.origin === "workspace") await vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(item.modelPath));
        else await vscode.commands.executeCommand("revealFileInOS", vscode.Uri.file(item.modelPath));
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("seqlens")) {
          if (e.affectsConfiguration("seqlens.activeModel")) check();
          services.showStatus();
          models.refresh();
        }
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        check();
        services.showStatus();
        models.refresh();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        // a relative setting is read from the first workspace folder
        check();
        services.showStatus();
      }),
    ];
  },
};
