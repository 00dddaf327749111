// The Models feature: the SeqLens view's tree of models and its commands (use, reveal, refresh),
// picking the active model, and writing an int8 copy of one (then offering to compare the two).
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { errorMessage } from "../protocol/errors";
import { MODELS_VIEW_ID } from "../protocol/models";
import { setting } from "./commands";
import { pickModel } from "./modelPicker";
import { bundledModels } from "./models";
import { ModelItem } from "./modelsView";
import type { Feature, Services } from "./services";

/** Writes an int8 copy of a picked model into a folder the user names, then offers the comparison with the original. */
async function quantizeModel(services: Services): Promise<void> {
  const model = await pickModel(services, "SeqLens: the model to write an int8 copy of");
  if (!model) return;
  const dir = fs.existsSync(model) && fs.statSync(model).isFile() ? path.dirname(path.dirname(model)) : model;
  const out = await vscode.window.showInputBox({ title: "SeqLens: folder for the int8 copy (new or empty)", value: `${dir.replace(/[\\/]+$/, "")}-int8` });
  if (!out) return;
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "SeqLens: writing an int8 copy" }, () => services.host.get().request("quantize", { model, out }));
    const compare = "Compare with the original";
    const pick = await vscode.window.showInformationMessage(`SeqLens: wrote ${r.out}: ${r.quantized} MatMul weights to int8, ${(r.bytes[0] / 2 ** 20).toFixed(1)} → ${(r.bytes[1] / 2 ** 20).toFixed(1)} MiB.`, compare);
    if (pick === compare) await vscode.commands.executeCommand("seqlens.compareModels", model, r.out);
  } catch (e) {
    void vscode.window.showErrorMessage(`SeqLens: ${errorMessage(e)}`);
  }
}

export const modelsFeature: Feature = {
  name: "models",
  register: (services) => {
    const { models, context } = services;
    return [
      vscode.window.registerTreeDataProvider(MODELS_VIEW_ID, models),
      vscode.commands.registerCommand("seqlens.quantizeModel", () => quantizeModel(services)),
      vscode.commands.registerCommand("seqlens.selectModel", async () => {
        const picks = [...bundledModels(context.extensionPath), ...setting<string[]>("models", [])].map((p) => ({ label: p.split(/[\\/]/).pop() ?? p, description: p }));
        const pick = await vscode.window.showQuickPick(picks, { placeHolder: "Model to inspect with" });
        if (pick) {
          await vscode.workspace.getConfiguration("seqlens").update("activeModel", pick.description, vscode.ConfigurationTarget.Global);
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
        if (item.origin === "workspace") await vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(item.modelPath));
        else await vscode.commands.executeCommand("revealFileInOS", vscode.Uri.file(item.modelPath));
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("seqlens")) {
          services.showStatus();
          models.refresh();
        }
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => models.refresh()),
    ];
  },
};
