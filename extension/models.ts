// Which model an inspection uses: the `seqlens.activeModel` setting, else the bundled sample.
// In an untrusted workspace a model inside the workspace is not loaded (bundled samples still are).
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";

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

export function activeModel(extensionPath: string): { path: string } | { error: string } {
  const setting = vscode.workspace.getConfiguration("seqlens").get<string>("activeModel", "").trim();
  if (!setting) return { path: bundledModels(extensionPath)[0] };
  const folders = vscode.workspace.workspaceFolders ?? [];
  const resolved = path.isAbsolute(setting) ? setting : folders.length > 0 ? path.join(folders[0].uri.fsPath, setting) : path.resolve(setting);
  const inWorkspace = folders.some((f) => !path.relative(f.uri.fsPath, resolved).startsWith(".."));
  if (inWorkspace && !vscode.workspace.isTrusted) {
    return { error: `SeqLens does not load models from an untrusted workspace (${resolved}): trust the workspace, or use a bundled sample.` };
  }
  return { path: canonical(resolved) };
}
