// The typed client for the engine process. It forks the engine on first use, numbers requests,
// routes progress events, forwards cancellation, and turns every failure into a typed EngineError:
// if the process dies, pending requests fail with PROCESS_DIED and the next request forks a
// fresh process.
import { ChildProcess, fork } from "node:child_process";
import * as path from "node:path";
import { EngineError } from "../protocol/errors";
import { FromEngine, Method, Params, Progress, Result, ToEngine } from "../protocol/engine";

export interface CallOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: EngineError) => void;
  onProgress?: (p: Progress) => void;
  cleanup: () => void;
}

export interface EngineClientOptions {
  /** Path of the bundled engine entry (dist/engine.js). */
  enginePath?: string;
  /** Execution providers for the engine ("cpu", "cuda,cpu", "auto"). */
  providers?: string;
  onLog?: (level: "info" | "warn" | "error", message: string) => void;
  env?: NodeJS.ProcessEnv;
}

export class EngineClient {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exits = 0;

  constructor(private readonly opts: EngineClientOptions = {}) {}

  /** The engine process's pid, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How many engine processes have exited (crashed or killed) so far. */
  get restarts(): number {
    return this.exits;
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const enginePath = this.opts.enginePath ?? path.join(__dirname, "engine.js");
    const env = { ...process.env, ...this.opts.env };
    if (this.opts.providers) env.SEQLENS_EP = this.opts.providers;
    const child = fork(enginePath, [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"], env });
    this.child = child;
    child.on("message", (msg: FromEngine) => this.onMessage(msg));
    const onGone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.exits++;
      const err = new EngineError("PROCESS_DIED", `the engine process ${why}; the request was lost (the next request starts a new engine)`);
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.cleanup();
        p.reject(err);
      }
    };
    child.on("exit", (code, signal) => onGone(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    child.on("error", (e) => onGone(`failed: ${e.message}`));
    return child;
  }

  private onMessage(msg: FromEngine): void {
    if (msg.type === "log") {
      this.opts.onLog?.(msg.level, msg.message);
      return;
    }
    if (msg.type === "ready") return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === "progress") {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    p.cleanup();
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new EngineError(msg.error.code, msg.error.message));
  }

  request<M extends Method>(method: M, params: Params<M>, options: CallOptions = {}): Promise<Result<M>> {
    return new Promise<Result<M>>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new EngineError("CANCELLED", `${method} was cancelled`));
        return;
      }
      const id = this.nextId++;
      const child = this.start();
      const onAbort = () => this.send({ type: "cancel", id });
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: options.onProgress,
        cleanup: () => options.signal?.removeEventListener("abort", onAbort),
      });
      let sent = false;
      let why = "the engine process is not reachable";
      try {
        sent = this.send({ type: "request", id, method, params }, child, true);
      } catch (e) {
        why = `the request could not be sent: ${(e as Error).message}`;
      }
      if (!sent) {
        this.pending.get(id)?.cleanup();
        this.pending.delete(id);
        reject(new EngineError(why.startsWith("the request") ? "BAD_INPUT" : "PROCESS_DIED", why));
      }
    });
  }

  private send(msg: ToEngine, child = this.child, rethrow = false): boolean {
    if (!child || !child.connected) return false;
    try {
      child.send(msg);
      return true;
    } catch (e) {
      if (rethrow) throw e; // e.g. params that cannot be serialised
      return false;
    }
  }

  /** Stops the engine process; pending requests fail with PROCESS_DIED. */
  dispose(): void {
    const c = this.child;
    if (c) {
      c.kill();
    }
  }
}
