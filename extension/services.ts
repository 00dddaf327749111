// What the extension's features share, made once at activation (nothing heavy: the engine process
// starts on the first request): the output channel, the engine host, the status bar, the Models view
// and the surprisal decorations. Each feature module registers its own commands, views and providers
// with these (extension.ts lists the features).
import * as vscode from "vscode";
import { MODELS_VIEW_ID } from "../protocol/models";
import { EngineHost } from "./engineHost";
import { activeModel } from "./models";
import { ModelsView } from "./modelsView";
import { SurprisalDecorations } from "./surprisal";

export interface Services {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  host: EngineHost;
  models: ModelsView;
  surprisal: SurprisalDecorations;
  /** The status bar: the active model · runtime · device, spinning while the model runs. */
  showStatus(busy?: boolean, device?: string): void;
}

/** A part of the extension: registers its commands, views, providers and panel serializers. */
export interface Feature {
  name: string;
  register(services: Services): vscode.Disposable[];
}

export function createServices(context: vscode.ExtensionContext): Services {
  const log = vscode.window.createOutputChannel("SeqLens", { log: true });
  const host = new EngineHost(context.extensionPath, log);
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.name = "SeqLens";
  status.command = `${MODELS_VIEW_ID}.focus`;
  const showStatus = (busy = false, device?: string) => {
    const m = activeModel(context.extensionPath);
    const name = "path" in m ? (m.path.split(/[\\/]/).pop() ?? m.path) : "no model";
    status.text = `${busy ? "$(loading~spin)" : "$(telescope)"} ${name} · onnx${device ? ` · ${device}` : ""}`;
    status.tooltip = busy ? "SeqLens is running the model" : "SeqLens: active model · runtime · device (click to pick a model)";
    status.show();
  };
  showStatus();
  const surprisal = new SurprisalDecorations(host);
  const models = new ModelsView(context.extensionPath, host);
  context.subscriptions.push(log, host, status, surprisal, models);
  return { context, log, host, models, surprisal, showStatus };
}
