// Which models SeqLens offers: for a comparison (a quick pick of the bundled checkpoints, the
// active and configured models, the Models view's folders, each .onnx checkpoint inside their
// onnx/ folders, the same weights on TensorFlow.js; or a folder picked by hand), and which models a
// panel restored after a window reload may run (only those SeqLens offers itself). A pick names each
// model by its folder (and config's model_type) and says where it lies in a few words: "bundled
// sample", a path in the workspace, a path from the home folder; never the whole install path.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { activeModel, bundledModels, canonical, isRecurrentFolder, recurrentSamples, untrustedReason } from "./models";
import type { Services } from "./services";
import { setting } from "./commands";

/** The folders SeqLens offers without asking: samples, the active model, configured ones, the Models view's. */
export async function offeredFolders(services: Services): Promise<string[]> {
  const extensionPath = services.context.extensionPath;
  const active = activeModel(extensionPath);
  const inTree = (await services.models.getChildren()).filter((i) => !i.missing).map((i) => i.modelPath); // the Models view's, workspace folders among them
  return [
    ...new Set([
      ...bundledModels(extensionPath),
      ...("path" in active ? [active.path] : []),
      ...setting<string[]>("models", []),
      ...inTree,
      ...recurrentSamples(extensionPath),
    ]),
  ].filter((f) => untrustedReason(f) === undefined);
}

/** Whether `model` (a folder, one of its onnx/ checkpoints, or `tfjs:<folder>`) is one SeqLens offers. */
export function isOffered(model: string, folders: string[]): boolean {
  const spec = model.startsWith("tfjs:") ? model.slice("tfjs:".length) : model;
  if (folders.includes(spec)) return true;
  // a checkpoint inside an offered folder's onnx/
  return spec.endsWith(".onnx") && path.basename(path.dirname(spec)) === "onnx" && folders.includes(path.dirname(path.dirname(spec)));
}

/** A model as the user knows it: its folder's name; a checkpoint as folder · file; the TensorFlow.js copy as folder · TensorFlow.js. */
export function modelName(model: string): string {
  if (model.startsWith("tfjs:")) return `${path.basename(model.slice("tfjs:".length))} · TensorFlow.js`;
  if (model.endsWith(".onnx") && path.basename(path.dirname(model)) === "onnx") return `${path.basename(path.dirname(path.dirname(model)))} · ${path.basename(model)}`;
  return path.basename(model.replace(/[\\/]+$/, "")) || model;
}

/** Where a model folder lies, short: "bundled sample", its path in the workspace, or its path with ~ for the home folder. */
export function shortLocation(folder: string, extensionPath: string): string {
  const inside = (root: string): string | undefined => {
    const rel = path.relative(root, folder);
    return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : undefined;
  };
  const samples = [extensionPath, canonical(extensionPath)].map((e) => path.join(e, "samples"));
  if (samples.some((d) => inside(d) !== undefined)) return "bundled sample";
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    const rel = inside(f.uri.fsPath);
    if (rel !== undefined) return `workspace: ${rel.split(path.sep).join("/")}`;
  }
  const home = os.homedir();
  const rel = home ? inside(home) : undefined;
  return rel !== undefined ? `~/${rel.split(path.sep).join("/")}` : folder;
}

/** The model_type a folder's config.json names (gpt2, llama, bert, seqlens-rnn …), if it names one. */
function modelType(folder: string): string | undefined {
  try {
    const file = path.join(folder, "config.json");
    if (!fs.existsSync(file) || fs.statSync(file).size > 2 ** 20) return undefined;
    const t = (JSON.parse(fs.readFileSync(file, "utf8")) as { model_type?: unknown }).model_type;
    return typeof t === "string" && t ? t : undefined;
  } catch {
    return undefined;
  }
}

export type ModelPickItem = vscode.QuickPickItem & { model?: string };

/**
 * Quick-pick items for `folders`: one per folder, or one per checkpoint where its onnx/ holds several,
 * and (with `tfjs`) the same weights on TensorFlow.js. Label: the model's name; description: its kind and
 * where it lies, short (the whole path is matched when filtering, and is shown for a folder outside the
 * workspace and the home folder only).
 */
export function modelItems(folders: string[], extensionPath: string, opts: { tfjs?: boolean } = {}): ModelPickItem[] {
  const items: ModelPickItem[] = [];
  for (const f of folders) {
    const onnxDir = path.join(f, "onnx");
    const files = fs.existsSync(onnxDir) ? fs.readdirSync(onnxDir).filter((n) => n.endsWith(".onnx")) : [];
    const kind = modelType(f);
    const where = shortLocation(f, extensionPath);
    const description = [kind, where].filter(Boolean).join(" · ");
    if (files.length <= 1) items.push({ label: modelName(f), description, model: f });
    else for (const file of files) items.push({ label: modelName(path.join(onnxDir, file)), description, model: path.join(onnxDir, file) });
    // the same weights on TensorFlow.js: a parity check of the two runtimes
    if (opts.tfjs && files.length > 0 && !isRecurrentFolder(f)) items.push({ label: modelName(`tfjs:${f}`), description: `parity with ONNX · ${where}`, model: `tfjs:${f}` });
  }
  return items;
}

/**
 * A model for a comparison, picked from what SeqLens offers or from a folder the user browses to. The
 * title says which step it is (it is a two-step pick); the placeholder what to do.
 */
export async function pickModel(services: Services, title: string, exclude?: string): Promise<string | undefined> {
  const items = modelItems(await offeredFolders(services), services.context.extensionPath, { tfjs: true });
  const browse: ModelPickItem = { label: "$(folder-opened) Another model folder…", description: "config.json, tokenizer.json, onnx/*.onnx", model: undefined };
  const pick = await vscode.window.showQuickPick([...items.filter((i) => i.model !== exclude), browse], { title, placeHolder: "Pick a model, or type to filter", matchOnDescription: true });
  if (!pick) return undefined;
  if (pick.model) return pick.model;
  const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, filters: { ONNX: ["onnx"] }, title });
  const picked = chosen?.[0]?.fsPath;
  const why = picked && untrustedReason(picked);
  if (why) {
    void vscode.window.showErrorMessage(why);
    return undefined;
  }
  return picked;
}
