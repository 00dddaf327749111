// Which model an inspection uses: the `seqlens.activeModel` setting, else the bundled sample.
// In an untrusted workspace a model inside the workspace is not loaded (bundled samples still are).
// Also: which folders in a workspace are models (ONNX model folders and TensorFlow.js model.json).
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { isRecurrentModel } from "../protocol/modelPaths";

/** One spelling per folder (the extension folder may be a link), so a model is listed once. */
export function canonical(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

export function bundledModels(extensionPath: string): string[] {
  return ["tiny-gpt", "tiny-gpt-early"].map((n) => canonical(path.join(extensionPath, "samples", "models", n)));
}

/** The bundled recurrent samples (config.json with model_type "seqlens-rnn"), for Show Gates. */
export function recurrentSamples(extensionPath: string): string[] {
  const dir = path.join(extensionPath, "samples", "models");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((n) => path.join(dir, n))
    .filter((p) => isRecurrentFolder(p))
    .map(canonical)
    .sort();
}

/** A recurrent model folder (the engine's test, so the Models view and the engine agree). */
export function isRecurrentFolder(p: string): boolean {
  return fs.existsSync(p) && fs.statSync(p).isDirectory() && isRecurrentModel(p);
}

/**
 * What `seqlens.activeModel` names, checked: "ok" (the bundled sample when it is empty), "untrusted" (a
 * model inside an untrusted workspace, not loaded) or "missing" (nothing at that path). `reason` says why
 * in a sentence the status bar, the Models view and the warning show.
 */
export type ActiveModelState =
  | { status: "ok"; path: string; setting: string }
  | { status: "untrusted" | "missing"; path: string; setting: string; reason: string };

/** `p` is `root` or lies under it (both absolute). */
function within(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** A model spec's path (without its tfjs: prefix), absolute: a relative one is read from the first workspace folder. */
export function specPath(spec: string): string {
  const p = spec.startsWith("tfjs:") ? spec.slice("tfjs:".length) : spec;
  const folders = vscode.workspace.workspaceFolders ?? [];
  return path.isAbsolute(p) ? p : folders.length > 0 ? path.join(folders[0].uri.fsPath, p) : path.resolve(p);
}

/**
 * Whether the path lies in one of the workspace's folders, as written or once symbolic links are
 * resolved (a link from outside into the workspace is inside; so is one to a folder inside it).
 */
export function inWorkspace(p: string): boolean {
  const forms = [path.resolve(p), canonical(p)];
  return (vscode.workspace.workspaceFolders ?? []).some((f) => [f.uri.fsPath, canonical(f.uri.fsPath)].some((root) => forms.some((x) => within(root, x))));
}

/**
 * Why SeqLens does not load the model `spec` (a path, or tfjs:<path>): it lies inside a workspace that
 * is not trusted. Undefined when it may be loaded (a trusted workspace, or a model outside it).
 */
export function untrustedReason(spec: string): string | undefined {
  if (vscode.workspace.isTrusted) return undefined;
  const p = specPath(spec);
  return inWorkspace(p) ? `SeqLens does not load models from an untrusted workspace (${p}): trust the workspace, or use a bundled sample.` : undefined;
}

export function activeModelState(extensionPath: string): ActiveModelState {
  const setting = vscode.workspace.getConfiguration("seqlens").get<string>("activeModel", "").trim();
  if (!setting) return { status: "ok", path: bundledModels(extensionPath)[0], setting };
  // a TensorFlow.js copy of a folder is named tfjs:<folder>
  const prefix = setting.startsWith("tfjs:") ? "tfjs:" : "";
  const spec = setting.slice(prefix.length);
  const folders = vscode.workspace.workspaceFolders ?? [];
  const resolved = specPath(spec);
  const untrusted = untrustedReason(resolved);
  if (untrusted) return { status: "untrusted", path: prefix + resolved, setting, reason: untrusted };
  if (!fs.existsSync(resolved)) {
    const from = path.isAbsolute(spec) ? "" : ` (${JSON.stringify(spec)} read from ${folders.length > 0 ? "the workspace folder" : "the current folder"})`;
    return { status: "missing", path: prefix + resolved, setting, reason: `The model in seqlens.activeModel does not exist: ${resolved}${from}.` };
  }
  return { status: "ok", path: prefix + canonical(resolved), setting };
}

/** The model an inspection runs, or why there is none to run (untrusted, or not there). */
export function activeModel(extensionPath: string): { path: string } | { error: string } {
  const s = activeModelState(extensionPath);
  if (s.status === "ok") return { path: s.path };
  return { error: s.status === "missing" ? `SeqLens: ${s.reason} Pick a model (SeqLens: Select Model…) or correct the setting.` : s.reason };
}

export type ModelFormat = "onnx" | "tfjs" | "checkpoint";

/** A TensorFlow.js model.json (LayersModel or GraphModel): a topology and a weights manifest. */
function isTfjsModelJson(file: string): boolean {
  try {
    if (fs.statSync(file).size > 64 * 2 ** 20) return false; // a topology, not weights: never this big
    const j = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    return typeof j === "object" && j !== null && typeof j.modelTopology === "object" && Array.isArray(j.weightsManifest);
  } catch {
    return false;
  }
}

/**
 * The model folders among files found in a workspace (config.json and model.json paths): a folder with
 * config.json and onnx/*.onnx is an ONNX model, one with config.json and model.safetensors (or its index) a
 * training checkpoint; a folder with a TensorFlow.js model.json is a tfjs model,
 * listed as its parent when it is the tfjs/ folder of a model folder (one entry per model).
 */
export function modelFolders(found: string[]): { path: string; format: ModelFormat }[] {
  const out = new Map<string, ModelFormat>();
  for (const f of found) {
    const dir = path.dirname(f);
    if (path.basename(f) === "config.json") {
      const onnxDir = path.join(dir, "onnx");
      if (fs.existsSync(onnxDir) && fs.readdirSync(onnxDir).some((n) => n.endsWith(".onnx"))) out.set(dir, "onnx");
      // a training checkpoint (save_pretrained, a Trainer's checkpoint-N): SeqLens builds its graph
      else if (["model.safetensors", "model.safetensors.index.json"].some((w) => fs.existsSync(path.join(dir, w)))) out.set(dir, "checkpoint");
    } else if (path.basename(f) === "model.json" && isTfjsModelJson(f)) {
      const parent = path.dirname(dir);
      const folder = path.basename(dir) === "tfjs" && fs.existsSync(path.join(parent, "config.json")) ? parent : dir;
      if (!out.has(folder)) out.set(folder, "tfjs");
    }
  }
  return [...out].map(([p, format]) => ({ path: p, format })).sort((a, b) => a.path.localeCompare(b.path));
}
