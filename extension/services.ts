// What the extension's features share, made once at activation (nothing heavy: the engine process
// starts on the first request): the output channel, the engine host, the status bar, the Models view
// and the surprisal decorations. Each feature module registers its own commands, views and providers
// with these (extension.ts lists the features).
import * as vscode from "vscode";
import { MODELS_VIEW_ID } from "../protocol/models";
import { EngineHost } from "./engineHost";
import { activeModelState, type ActiveModelState } from "./models";
import { ModelsView } from "./modelsView";
import { SurprisalDecorations } from "./surprisal";

export interface Services {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  host: EngineHost;
  models: ModelsView;
  surprisal: SurprisalDecorations;
  /**
   * The status bar: the active model · runtime · device (the last one a run reported), spinning while
   * a run is in flight; a warning when the model is not there. `busy` true starts a run, false ends
   * one (pair them), undefined only redraws.
   */
  showStatus(busy?: boolean, device?: string): void;
}

/** A part of the extension: registers its commands, views, providers and panel serializers. */
export interface Feature {
  name: string;
  register(services: Services): vscode.Disposable[];
}

/** What the status bar says of the active model (`busy`: while it runs; `device`: where it ran last). */
export function statusBarView(m: ActiveModelState, busy = false, device?: string): { text: string; tooltip: string; warning: boolean; command: string } {
  const name = m.path.split(/[\\/]/).pop() || m.path;
  // a model that is not there (or not loaded here) is never shown as if it were loaded
  if (m.status !== "ok") return { text: `$(warning) ${name} · ${m.status === "missing" ? "not found" : "not loaded"}`, tooltip: `SeqLens: ${m.reason}\n\nClick to pick a model.`, warning: true, command: "seqlens.selectModel" };
  return {
    text: `${busy ? "$(loading~spin)" : "$(telescope)"} ${name} · onnx${device ? ` · ${device}` : ""}`,
    tooltip: busy ? "SeqLens is running the model" : `SeqLens: active model · runtime · device (click to pick a model)\n\n${m.path}`,
    warning: false,
    command: `${MODELS_VIEW_ID}.focus`,
  };
}

export function createServices(context: vscode.ExtensionContext): Services {
  const log = vscode.window.createOutputChannel("SeqLens", { log: true });
  const host = new EngineHost(context.extensionPath, log);
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.name = "SeqLens";
  status.command = `${MODELS_VIEW_ID}.focus`;
  // Spinning while any run is in flight: each showStatus(true) is ended by one showStatus(false)
  // (withEngineProgress pairs them in a finally, so a failed or lost run never leaves it spinning).
  let running = 0;
  let lastDevice: string | undefined;
  const showStatus = (busy?: boolean, device?: string) => {
    if (busy === true) running++;
    else if (busy === false) running = Math.max(0, running - 1);
    if (device) lastDevice = device;
    const v = statusBarView(activeModelState(context.extensionPath), running > 0, lastDevice);
    status.text = v.text;
    status.tooltip = v.tooltip;
    status.command = v.command;
    status.backgroundColor = v.warning ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
    status.accessibilityInformation = v.warning ? { label: v.tooltip } : undefined;
    status.show();
  };
  showStatus();
  const surprisalLegend = vscode.window.createStatusBarItem("seqlens.surprisal", vscode.StatusBarAlignment.Right, 99);
  const surprisal = new SurprisalDecorations(host, surprisalLegend);
  const models = new ModelsView(context.extensionPath, host);
  context.subscriptions.push(log, host, status, surprisalLegend, surprisal, models);
  return { context, log, host, models, surprisal, showStatus };
}
