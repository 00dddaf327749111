// The Models tree in the SeqLens view container: bundled samples, model folders found in the
// workspace (config.json + onnx/*.onnx, or a TensorFlow.js model.json) and paths from `seqlens.models`. Picking one makes it
// active; once loaded, each shows its runtime, device and size.
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import type { ModelInfo } from "../protocol/models";
import { EngineHost } from "./engineHost";
import { activeModelState, bundledModels, canonical, isRecurrentFolder, ModelFormat, modelFolders, recurrentSamples, untrustedReason } from "./models";

export class ModelItem extends vscode.TreeItem {
  constructor(
    readonly modelPath: string,
    readonly origin: "sample" | "workspace" | "setting",
    info: ModelInfo | undefined,
    active: boolean,
    format?: ModelFormat,
    /** A recurrent model (LSTM/GRU/RNN): used by Show Gates rather than Inspect Selection. */
    readonly recurrent = false,
    /** Why the model cannot be used (a setting naming a folder that does not exist): shown with a warning, never ticked. */
    readonly missing?: string,
  ) {
    super(path.basename(modelPath), vscode.TreeItemCollapsibleState.None);
    this.id = modelPath;
    this.resourceUri = vscode.Uri.file(modelPath);
    this.contextValue = `seqlens.model.${origin}`;
    this.iconPath = new vscode.ThemeIcon(active ? "pass-filled" : "circuit-board");
    const loaded = info ? `${info.form === "checkpoint" ? "checkpoint" : /onnx/i.test(info.runtime) ? "onnx" : "tfjs"} · ${info.family} · ${info.device} · ${(info.fileBytes / 2 ** 20).toFixed(1)} MiB · ${(info.parameters / 1e6).toFixed(2)} M params` : format ? `${format} · ${origin}` : origin;
    this.description = loaded;
    this.tooltip = new vscode.MarkdownString(`**${path.basename(modelPath)}** (${origin})\n\n${modelPath}${info ? `\n\n${info.nLayer} layers, ${info.nHead} heads${info.nKvHead && info.nKvHead !== info.nHead ? ` (${info.nKvHead} kv)` : ""}, ${info.nEmbd} dims, context ${info.nPositions}; ${info.runtime} on ${info.device}` : ""}`);
    if (recurrent && !info) this.description = `recurrent${format ? ` · ${format}` : ""} · ${origin}`;
    this.tooltip = recurrent ? new vscode.MarkdownString(`**${path.basename(modelPath)}** (${origin}, recurrent: used by *SeqLens: Show Gates*)\n\n${modelPath}`) : this.tooltip;
    this.command = { command: "seqlens.useModel", title: "Use this model", arguments: [this] };
    if (missing) {
      this.iconPath = new vscode.ThemeIcon("warning", new vscode.ThemeColor("list.warningForeground"));
      this.description = `not found · ${origin}`;
      this.tooltip = new vscode.MarkdownString(`**${path.basename(modelPath)}** (${origin}): not found\n\n${missing}\n\nClick to pick another model.`);
      this.contextValue = `seqlens.model.missing`;
      this.command = { command: "seqlens.selectModel", title: "Pick a model" };
    }
  }
}

export class ModelsView implements vscode.TreeDataProvider<ModelItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly infos = new Map<string, ModelInfo>();

  constructor(
    private readonly extensionPath: string,
    private readonly host: EngineHost,
  ) {}

  refresh(): void {
    this.changed.fire();
  }

  /** Called when a model has been loaded by the engine: show its runtime, device and size. */
  async loaded(modelPath: string): Promise<void> {
    if (this.infos.has(modelPath)) return; // shown already: no request and no tree refresh per inspection
    try {
      this.infos.set(modelPath, await this.host.get().request("info", { model: modelPath }));
      this.refresh();
    } catch {
      // the error was already reported where the model was used
    }
  }

  getTreeItem(item: ModelItem): vscode.TreeItem {
    return item;
  }

  async getChildren(): Promise<ModelItem[]> {
    const active = activeModelState(this.extensionPath);
    // a missing active model is listed with its warning, and nothing is ticked
    const activePath = active.status === "ok" ? active.path : undefined;
    const seen = new Set<string>();
    const items: ModelItem[] = [];
    const gatesModel = vscode.workspace.getConfiguration("seqlens").get<string>("gatesModel", "").trim();
    const add = (raw: string, origin: ModelItem["origin"], format?: ModelFormat, missing?: string) => {
      const p = canonical(raw);
      if (seen.has(p)) return;
      seen.add(p);
      // a path from the settings that is not there: listed with why, so the user sees the setting is wrong
      const gone = missing ?? (origin === "setting" ? untrustedReason(p) : undefined) ?? (origin === "setting" && !p.startsWith("tfjs:") && !fs.existsSync(p) ? `${p} does not exist.` : undefined);
      const recurrent = !gone && isRecurrentFolder(p);
      items.push(new ModelItem(p, origin, recurrent || gone ? undefined : this.infos.get(p), !gone && (recurrent ? gatesModel !== "" && canonical(gatesModel) === p : p === activePath), format, recurrent, gone));
    };
    for (const p of bundledModels(this.extensionPath)) add(p, "sample");
    for (const p of recurrentSamples(this.extensionPath)) add(p, "sample", "onnx");
    if (vscode.workspace.isTrusted) {
      const found = await vscode.workspace.findFiles("**/{config,model}.json", "**/node_modules/**", 400);
      for (const m of modelFolders(found.map((u) => u.fsPath))) add(m.path, "workspace", m.format);
    }
    for (const p of vscode.workspace.getConfiguration("seqlens").get<string[]>("models", [])) add(p, "setting");
    if (activePath) add(activePath, "setting"); // an active model set by path shows too
    else if (active.status !== "ok") add(active.path, "setting", undefined, active.reason);
    return items;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
