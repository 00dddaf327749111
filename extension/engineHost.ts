// The extension's handle on the engine process: created on first use (never at activation), with
// the execution providers from the settings, logging to the SeqLens output channel. When an engine
// process ends (a crash, a kill, a hang the client detected) `onDidStop` fires: what panels showed
// from it is gone, and the next request starts a new engine.
import * as path from "node:path";
import * as vscode from "vscode";
import { EngineClient, type EngineStop } from "../engine/client";

/** ms: how long a pending request waits for a sign of life from the engine (SEQLENS_ENGINE_HANG_MS; the client's default otherwise). */
function hangMs(): number | undefined {
  const v = Number(process.env.SEQLENS_ENGINE_HANG_MS);
  return Number.isFinite(v) && v >= 1000 ? v : undefined;
}

export class EngineHost implements vscode.Disposable {
  private client?: EngineClient;
  private providers?: string;
  private readonly stopped = new vscode.EventEmitter<EngineStop>();
  /** An engine process ended while requests could still use it (not a restart for new settings). */
  readonly onDidStop = this.stopped.event;

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
      const client: EngineClient = new EngineClient({
        enginePath: path.join(this.extensionPath, "dist", "engine.js"),
        providers,
        hangMs: hangMs(),
        onLog: (level, message) => (level === "error" ? this.log.error(message) : level === "warn" ? this.log.warn(message) : this.log.info(message)),
        onStop: (stop) => {
          if (this.client === client) this.stopped.fire(stop);
        },
      });
      this.client = client;
    }
    return this.client;
  }

  dispose(): void {
    this.client?.dispose();
    this.stopped.dispose();
  }
}
