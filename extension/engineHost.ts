// The extension's handle on the engine process: created on first use (never at activation), with
// the execution providers from the settings, logging to the SeqLens output channel.
import * as path from "node:path";
import * as vscode from "vscode";
import { EngineClient } from "../engine/client";

export class EngineHost implements vscode.Disposable {
  private client?: EngineClient;
  private providers?: string;

  constructor(
    private readonly extensionPath: string,
    readonly log: vscode.LogOutputChannel,
  ) {}

  get(): EngineClient {
    const providers = vscode.workspace.getConfiguration("seqlens").get<string>("executionProviders", "auto");
    if (this.client && providers !== this.providers) {
      this.log.info(`execution providers changed to ${providers}: restarting the engine`);
      this.client.dispose();
      this.client = undefined;
    }
    if (!this.client) {
      this.providers = providers;
      this.client = new EngineClient({
        enginePath: path.join(this.extensionPath, "dist", "engine.js"),
        providers,
        onLog: (level, message) => (level === "error" ? this.log.error(message) : level === "warn" ? this.log.warn(message) : this.log.info(message)),
      });
    }
    return this.client;
  }

  dispose(): void {
    this.client?.dispose();
  }
}
