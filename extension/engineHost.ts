// The extension's handle on the engine process: created on first use (never at activation), with
// the execution providers and limits from the settings, logging to the SeqLens output channel.
// Changing one of those settings restarts the engine at its next request (the new one is started
// with them). When an engine process ends (a crash, a kill, a hang the client detected) `onDidStop`
// fires: what panels showed from it is gone, and the next request starts a new engine.
import * as path from "node:path";
import * as vscode from "vscode";
import { EngineClient, type EngineStop } from "../engine/client";
import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_STEPS, DEFAULT_MEMORY_BUDGET, formatBytes, parseBytes } from "../protocol/limits";

/** What the engine is started with, from the settings. */
export interface EngineSettings {
  providers: string;
  /** Bytes a request may need (seqlens.memoryBudget). */
  memoryBudget: number;
  /** Steps of a series read at once (seqlens.maxSteps). */
  maxSteps: number;
  /** ms a request may run, 0 for none (seqlens.requestDeadlineSeconds). */
  deadlineMs: number;
  /** ms a pending request waits for a sign of life from the engine (seqlens.engineHangSeconds). */
  hangMs?: number;
  /** Sentences about settings that could not be used (their defaults were). */
  problems: string[];
}

/**
 * The engine's settings from `config` (the "seqlens" section). A value that cannot be used is
 * replaced by its default and named in `problems`, so a typo never stops the engine from starting.
 * SEQLENS_ENGINE_HANG_MS in the environment, when set, stands in for seqlens.engineHangSeconds.
 */
export function engineSettings(config: Pick<vscode.WorkspaceConfiguration, "get">, env: NodeJS.ProcessEnv = process.env): EngineSettings {
  const problems: string[] = [];
  const providers = config.get<string>("executionProviders", "auto");
  const rawBudget = config.get<unknown>("memoryBudget", "2GB");
  let memoryBudget = typeof rawBudget === "string" ? parseBytes(rawBudget) : typeof rawBudget === "number" && rawBudget > 0 ? rawBudget * 2 ** 20 : undefined;
  if (memoryBudget !== undefined && memoryBudget < 64 * 2 ** 20) memoryBudget = undefined;
  if (memoryBudget === undefined) {
    problems.push(`seqlens.memoryBudget ${JSON.stringify(rawBudget)} is not a size of at least 64MB (such as "2GB" or "512MB"); using ${formatBytes(DEFAULT_MEMORY_BUDGET)}`);
    memoryBudget = DEFAULT_MEMORY_BUDGET;
  }
  const whole = (key: string, fallback: number, min: number, what: string): number => {
    const v = config.get<unknown>(key, fallback);
    if (typeof v === "number" && Number.isFinite(v) && v >= min) return v;
    problems.push(`seqlens.${key} ${JSON.stringify(v)} is not ${what}; using ${fallback}`);
    return fallback;
  };
  const maxSteps = Math.floor(whole("maxSteps", DEFAULT_MAX_STEPS, 1, "a whole number of at least 1"));
  const deadlineMs = Math.round(whole("requestDeadlineSeconds", DEFAULT_DEADLINE_MS / 1000, 0, "a number of seconds (0: no deadline)") * 1000);
  const fromEnv = Number(env.SEQLENS_ENGINE_HANG_MS);
  const hangSeconds = whole("engineHangSeconds", 10, 2, "a number of seconds of at least 2");
  const hangMs = Number.isFinite(fromEnv) && fromEnv >= 1000 ? fromEnv : Math.round(hangSeconds * 1000);
  return { providers, memoryBudget, maxSteps, deadlineMs, hangMs, problems };
}

/** The environment the engine process is started with for `s`. */
export function engineEnv(s: EngineSettings): Record<string, string> {
  return { SEQLENS_MEMORY_BUDGET: String(s.memoryBudget), SEQLENS_MAX_STEPS: String(s.maxSteps), SEQLENS_DEADLINE_MS: String(s.deadlineMs) };
}

function sameSettings(a: EngineSettings, b: EngineSettings): boolean {
  return a.providers === b.providers && a.memoryBudget === b.memoryBudget && a.maxSteps === b.maxSteps && a.deadlineMs === b.deadlineMs && a.hangMs === b.hangMs;
}

export class EngineHost implements vscode.Disposable {
  private client?: EngineClient;
  private settings?: EngineSettings;
  private warned = "";
  private readonly stopped = new vscode.EventEmitter<EngineStop>();
  /** An engine process ended while requests could still use it (not a restart for new settings). */
  readonly onDidStop = this.stopped.event;

  constructor(
    private readonly extensionPath: string,
    readonly log: vscode.LogOutputChannel,
  ) {}

  /** The settings the running engine was started with (undefined before the first request). */
  get current(): EngineSettings | undefined {
    return this.settings;
  }

  get(): EngineClient {
    const settings = engineSettings(vscode.workspace.getConfiguration("seqlens"));
    const problems = settings.problems.join("; ");
    if (problems && problems !== this.warned) {
      this.log.warn(problems);
      void vscode.window.showWarningMessage(`SeqLens: ${problems}.`);
    }
    this.warned = problems;
    if (this.client && this.settings && !sameSettings(this.settings, settings)) {
      this.log.info(`engine settings changed (providers ${settings.providers}, memory budget ${formatBytes(settings.memoryBudget)}, ${settings.maxSteps} steps at once, deadline ${settings.deadlineMs / 1000} s): restarting the engine`);
      this.client.dispose();
      this.client = undefined;
    }
    if (!this.client) {
      this.settings = settings;
      const client: EngineClient = new EngineClient({
        enginePath: path.join(this.extensionPath, "dist", "engine.js"),
        providers: settings.providers,
        env: engineEnv(settings),
        hangMs: settings.hangMs,
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
