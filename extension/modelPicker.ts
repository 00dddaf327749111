// Which models SeqLens offers: for a comparison (a quick pick of the bundled checkpoints, the
// active and configured models, the Models view's folders, each .onnx checkpoint inside their
// onnx/ folders, the same weights on TensorFlow.js; or a folder picked by hand), and which models a
// panel restored after a window reload may run (only those SeqLens offers itself).
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { activeModel, bundledModels, isRecurrentFolder, recurrentSamples } from "./models";
import type { Services } from "./services";
import { setting } from "./commands";

/** The folders SeqLens offers without asking: samples, the active model, configured ones, the Models view's. */
export async function offeredFolders(services: Services): Promise<string[]> {
  const extensionPath = services.context.extensionPath;
  const active = activeModel(extensionPath);
  const inTree = (await services.models.getChildren()).map((i) => i.modelPath); // the Models view's, workspace folders among them
  return [
    ...new Set([
      ...bundledModels(extensionPath),
      ...("path" in active ? [active.path] : []),
      ...setting<string[]>("models", []),
      ...inTree,
      ...recurrentSamples(extensionPath),
    ]),
  ];
}

/** Whether `model` (a folder, one of its onnx/ checkpoints, or `tfjs:<folder>`) is one SeqLens offers. */
export function isOffered(model: string, folders: string[]): boolean {
  const spec = model.startsWith("tfjs:") ? model.slice("tfjs:".length) : model;
  if (folders.includes(spec)) return true;
  // a checkpoint inside an offered folder's onnx/
  return spec.endsWith(".onnx") && path.basename(path.dirname(spec)) === "onnx" && folders.includes(path.dirname(path.dirname(spec)));
}

/** A model for a comparison, picked from what SeqLens offers or from a folder the user browses to. */
export async function pickModel(services: Services, title: string, exclude?: string): Promise<string | undefined> {
  const items: (vscode.QuickPickItem & { model?: string })[] = [];
  for (const f of await offeredFolders(services)) {
    const onnxDir = path.join(f, "onnx");
    const files = fs.existsSync(onnxDir) ? fs.readdirSync(onnxDir).filter((n) => n.endsWith(".onnx")) : [];
    if (files.length <= 1) items.push({ label: path.basename(f), description: f, model: f });
    else for (const file of files) items.push({ label: `${path.basename(f)} · ${file}`, description: path.join(onnxDir, file), model: path.join(onnxDir, file) });
    // the same weights on TensorFlow.js: a parity check of the two runtimes
    if (files.length > 0 && !isRecurrentFolder(f)) items.push({ label: `${path.basename(f)} · TensorFlow.js`, description: "the same weights on TensorFlow.js (parity with ONNX)", model: `tfjs:${f}` });
  }
  const browse = { label: "$(folder-opened) Another model folder…", model: undefined };
  const pick = await vscode.window.showQuickPick([...items.filter((i) => i.model !== exclude), browse], { title, placeHolder: "a model folder (config.json, tokenizer.json, onnx/model.onnx) or one of its checkpoints" });
  if (!pick) return undefined;
  if (pick.model) return pick.model;
  const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, filters: { ONNX: ["onnx"] }, title });
  return chosen?.[0]?.fsPath;
}
