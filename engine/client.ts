// The typed client for the engine process. It forks the engine on first use, numbers requests,
// routes progress events, forwards cancellation, and turns every failure into a typed EngineError:
// if the process dies, pending requests fail with PROCESS_DIED and the next request forks a
// fresh process.
//
// It also watches the engine while requests are pending (engine/process.ts sends a heartbeat from a
// worker thread on its own pipe, each beat saying how long ago the engine's event loop last ran):
// - no sign of life for `hangMs` (a stopped or wedged process): the engine is killed, its requests
//   fail with PROCESS_DIED saying so, and the next request starts a new one;
// - the event loop blocked for `busyMs` (a synchronous computation that never ends): the same;
// - a cancelled request the engine has not answered after `cancelGraceMs` settles here as
//   CANCELLED (the caller is not kept waiting), and if the engine's event loop stays blocked for
//   `cancelKillMs` after the cancel (work that cannot see the cancel), the engine is restarted.
// Handles (inspections, gates runs) carry the number of the engine process that made them, so a
// handle from an engine that has since stopped is refused (UNKNOWN_HANDLE) rather than read from a
// new engine whose handle of the same name is another result.
import { ChildProcess, fork } from "node:child_process";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { EngineError } from "../protocol/errors";
import { FromEngine, Method, Params, Progress, Result, ToEngine } from "../protocol/engine";

export interface CallOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

interface Pending {
  method: Method;
  resolve: (v: unknown) => void;
  reject: (e: EngineError) => void;
  onProgress?: (p: Progress) => void;
  cleanup: () => void;
  /** When the caller cancelled it (Date.now()). */
  cancelledAt?: number;
}

/** Why an engine process ended, as the client's `onStop` hears it. */
export interface EngineStop {
  pid?: number;
  /** The engine's number, as its handles carry it ("...@n"). */
  engine: number;
  /** What happened, as a clause: "was killed by SIGKILL", "stopped responding (no sign of life for 10 s)". */
  why: string;
  /** The client ended it: it hung, its loop was blocked too long, or a cancelled run could not stop. */
  killedByClient: boolean;
  /** Requests that were pending and failed. */
  lost: number;
}

export interface EngineClientOptions {
  /** Path of the bundled engine entry (dist/engine.js). */
  enginePath?: string;
  /** Execution providers for the engine ("cpu", "cuda,cpu", "auto"). */
  providers?: string;
  onLog?: (level: "info" | "warn" | "error", message: string) => void;
  /** Called after an engine process ended while this client used it (not after dispose()). */
  onStop?: (stop: EngineStop) => void;
  env?: NodeJS.ProcessEnv;
  /** How often the engine sends its heartbeat (ms, default 1000). */
  heartbeatMs?: number;
  /** No sign of life from the engine for this long while a request is pending: it is killed (ms, default 10 s). */
  hangMs?: number;
  /** A newly started engine has this long for its first sign of life, on top of `hangMs` (ms, default 20 s). */
  startupMs?: number;
  /** The engine's event loop blocked for this long while a request is pending: it is killed (ms, default 300 s). */
  busyMs?: number;
  /** A cancelled request the engine has not answered by then settles here as cancelled (ms, default 2 s). */
  cancelGraceMs?: number;
  /** The engine's event loop still blocked this long after a cancel: it is restarted to stop that work (ms, default 10 s). */
  cancelKillMs?: number;
}

/** Defaults of the watch, in ms. */
export const ENGINE_WATCH = { heartbeatMs: 1000, hangMs: 10_000, startupMs: 20_000, busyMs: 300_000, cancelGraceMs: 2000, cancelKillMs: 10_000 };

/** Engine processes forked by any client in this process: the number a handle is tagged with. */
let forks = 0;

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** What the client knows of the running engine process. */
interface Running {
  child: ChildProcess;
  /** Its number among all forks (tags its handles). */
  n: number;
  startedAt: number;
  /** When its last heartbeat came (undefined until the first), and its last message. */
  beatAt?: number;
  messageAt?: number;
  /** When its event loop last ran, as far as the client knows. */
  loopAt?: number;
}

export class EngineClient {
  private engine?: Running;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Requests settled here as cancelled that the engine is still working on: id -> when cancelled. */
  private readonly orphans = new Map<number, { method: Method; at: number }>();
  /** Since when requests have been pending without a break (the watch's clock when nothing else is known). */
  private busySince = 0;
  private watchTimer?: NodeJS.Timeout;
  private exits = 0;
  /** Set while dispose() ends the engine: nothing to report then. */
  private disposed = false;
  private readonly watch: typeof ENGINE_WATCH;

  constructor(private readonly opts: EngineClientOptions = {}) {
    const w = { ...ENGINE_WATCH };
    for (const k of Object.keys(w) as (keyof typeof ENGINE_WATCH)[]) {
      const v = opts[k];
      if (typeof v === "number" && Number.isFinite(v) && v > 0) w[k] = v;
    }
    this.watch = w;
  }

  /** The engine process's pid, if one is running. */
  get pid(): number | undefined {
    return this.engine?.child.pid;
  }

  /** How many engine processes have exited (crashed or killed) so far. */
  get restarts(): number {
    return this.exits;
  }

  /** How long the engine's event loop has not run, as far as its heartbeat tells (undefined before the first beat). */
  get loopBlockedMs(): number | undefined {
    const e = this.engine;
    return e?.beatAt === undefined || e.loopAt === undefined ? undefined : Math.max(0, Date.now() - e.loopAt);
  }

  /** Requests waiting for the engine (for a status bar). */
  get pendingCount(): number {
    return this.pending.size;
  }

  private start(): Running {
    if (this.engine) return this.engine;
    this.disposed = false;
    const enginePath = this.opts.enginePath ?? path.join(__dirname, "engine.js");
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.opts.env, SEQLENS_HEARTBEAT_FD: "4", SEQLENS_HEARTBEAT_MS: String(this.watch.heartbeatMs) };
    if (this.opts.providers) env.SEQLENS_EP = this.opts.providers;
    const child = fork(enginePath, [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc", "pipe"], env });
    const running: Running = { child, n: ++forks, startedAt: Date.now() };
    this.engine = running;
    child.on("message", (msg: FromEngine) => {
      running.messageAt = running.loopAt = Date.now();
      this.onMessage(msg);
    });
    this.readBeats(running, child.stdio[4] as Readable | null);
    child.on("exit", (code, signal) => this.gone(running, signal ? `was killed by ${signal}` : `exited with code ${code}`, false));
    child.on("error", (e) => this.gone(running, `failed: ${e.message}`, false));
    return running;
  }

  /** Each line on the heartbeat pipe: the ms since the engine's event loop last ran. */
  private readBeats(running: Running, pipe: Readable | null): void {
    if (!pipe) return;
    let rest = "";
    pipe.setEncoding("utf8");
    pipe.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      const lag = Number(lines[lines.length - 1]);
      if (lines.length === 0 || !Number.isFinite(lag)) return;
      const now = Date.now();
      running.beatAt = now;
      running.loopAt = Math.max(running.loopAt ?? 0, now - lag);
    });
    pipe.on("error", () => undefined);
    (pipe as Readable & { unref?: () => void }).unref?.();
  }

  /** The engine process `running` ended (or is being ended): its pending requests fail with `why`. */
  private gone(running: Running, why: string, killedByClient: boolean, cancelled?: Set<number>): void {
    if (this.engine !== running) return;
    this.engine = undefined;
    this.exits++;
    this.orphans.clear();
    const lost = this.pending.size;
    const err = new EngineError("PROCESS_DIED", `the engine ${why}; the request was lost: run it again (a new engine starts)`);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.cleanup();
      p.reject(cancelled?.has(id) ? new EngineError("CANCELLED", `${p.method} was cancelled (the engine was restarted to stop it)`) : err);
    }
    this.stopWatch();
    if (!this.disposed) {
      this.opts.onLog?.(killedByClient ? "warn" : "error", `the engine (pid ${running.child.pid}) ${why}${lost ? `; ${lost} request${lost === 1 ? " was" : "s were"} lost` : ""}`);
      this.opts.onStop?.({ pid: running.child.pid, engine: running.n, why, killedByClient, lost });
    }
  }

  /** Kills the engine now (it hung, or work must stop) and fails its pending requests with `why`. */
  private kill(why: string, cancelled?: Set<number>): void {
    const running = this.engine;
    if (!running) return;
    this.gone(running, why, true, cancelled);
    try {
      running.child.kill("SIGKILL"); // a stopped process takes SIGKILL too
    } catch {
      /* already gone */
    }
  }

  private startWatch(): void {
    if (this.watchTimer) return;
    this.watchTimer = setInterval(() => this.check(), this.checkEveryMs);
    this.watchTimer.unref();
  }

  /** How often the watch looks. */
  private get checkEveryMs(): number {
    return Math.min(1000, this.watch.hangMs / 4, this.watch.cancelGraceMs / 2);
  }

  private stopWatch(): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  /** The watch, while requests are pending or cancelled ones are still being worked on. */
  private check(): void {
    const running = this.engine;
    if (!running || (this.pending.size === 0 && this.orphans.size === 0)) {
      this.stopWatch();
      return;
    }
    const now = Date.now();
    // cancelled requests the engine has not answered: settle them here
    for (const [id, p] of this.pending) {
      if (p.cancelledAt !== undefined && now - p.cancelledAt >= this.watch.cancelGraceMs) {
        this.pending.delete(id);
        p.cleanup();
        this.orphans.set(id, { method: p.method, at: p.cancelledAt });
        p.reject(new EngineError("CANCELLED", `${p.method} was cancelled`));
      }
    }
    // Judged after this turn's input is read: when this process's own event loop was held up, the
    // engine's beats and messages of meanwhile are waiting to be read, and they come first.
    setImmediate(() => this.judge(running));
  }

  /** Whether the engine hung, or must be restarted to stop a cancelled run; ends it then. */
  private judge(running: Running): void {
    if (this.engine !== running) return;
    const now = Date.now();
    if (this.pending.size > 0) {
      if (running.beatAt !== undefined) {
        // it beats: silence is a stopped or wedged process; beats with an old loop time, a loop that never yields
        const silent = now - Math.max(running.beatAt, running.messageAt ?? 0, this.busySince);
        if (silent >= this.watch.hangMs) return this.kill(`stopped responding (no sign of life for ${seconds(silent)}) and was restarted`);
        const blocked = now - Math.max(running.loopAt ?? 0, this.busySince);
        if (blocked >= this.watch.busyMs) return this.kill(`was busy for ${seconds(blocked)} without a break and was restarted`);
      } else if (running.messageAt === undefined) {
        // not a word since it was started
        const silent = now - Math.max(running.startedAt, this.busySince);
        if (silent >= this.watch.startupMs + this.watch.hangMs) return this.kill(`did not start (no sign of life for ${seconds(silent)}) and was stopped`);
      } else if (now - running.startedAt >= this.watch.startupMs) {
        // no heartbeat from this engine (a platform without its pipe): its messages are all there is
        // to go on, and a long computation sends none, so only the busy bound applies
        const silent = now - Math.max(running.messageAt, this.busySince);
        if (silent >= this.watch.busyMs) return this.kill(`stopped responding (no sign of life for ${seconds(silent)}) and was restarted`);
      }
    }
    // a cancelled run that cannot see its cancel (the event loop has not run since): restart the engine
    let latestCancel = 0;
    for (const o of this.orphans.values()) latestCancel = Math.max(latestCancel, o.at);
    for (const p of this.pending.values()) if (p.cancelledAt !== undefined) latestCancel = Math.max(latestCancel, p.cancelledAt);
    if (latestCancel > 0 && running.loopAt !== undefined && running.loopAt < latestCancel && now - latestCancel >= this.watch.cancelKillMs) {
      const cancelled = new Set([...this.pending].filter(([, p]) => p.cancelledAt !== undefined).map(([id]) => id));
      const what = [...new Set([...this.orphans.values(), ...[...cancelled].map((id) => this.pending.get(id)!)].map((o) => o.method))].join(", ");
      this.opts.onLog?.("info", `cancelled ${what || "work"}: the engine's event loop has not run for ${seconds(now - running.loopAt)}; restarting the engine to stop it`);
      return this.kill(`was restarted to stop a cancelled run that could not stop by itself`, cancelled);
    }
    if (this.pending.size === 0 && this.orphans.size === 0) this.stopWatch();
  }

  private onMessage(msg: FromEngine): void {
    if (msg.type === "log") {
      this.opts.onLog?.(msg.level, msg.message);
      return;
    }
    if (msg.type === "ready") return;
    const orphan = this.orphans.get(msg.id);
    if (orphan && msg.type === "response") {
      this.orphans.delete(msg.id); // settled here already (the engine logs how it ended)
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === "progress") {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    p.cleanup();
    if (msg.ok) p.resolve(this.tagHandles(msg.result, this.engine?.n ?? 0));
    else p.reject(new EngineError(msg.error.code, msg.error.message));
  }

  /** Handles in a result (`handle`, and a comparison's `handles` and `gates`) tagged with the engine's number. */
  private tagHandles(result: unknown, n: number, depth = 0): unknown {
    if (depth > 3 || typeof result !== "object" || result === null || Array.isArray(result) || ArrayBuffer.isView(result)) return result;
    const r = result as Record<string, unknown>;
    for (const [k, v] of Object.entries(r)) {
      if (k === "handle" && typeof v === "string") r[k] = `${v}@${n}`;
      else if ((k === "handles" || k === "gates") && Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string")) r[k] = v.map((x) => `${x}@${n}`);
      else if (typeof v === "object" && v !== null && !Array.isArray(v)) this.tagHandles(v, n, depth + 1);
    }
    return result;
  }

  /** `params` with its handle as the engine knows it; an EngineError when the handle is from an engine that has stopped. */
  private untagHandle(method: Method, params: unknown, n: number | undefined): unknown {
    if (typeof params !== "object" || params === null || typeof (params as { handle?: unknown }).handle !== "string") return params;
    const handle = (params as { handle: string }).handle;
    const m = /^(.+)@(\d+)$/.exec(handle);
    if (!m) return params;
    if (Number(m[2]) !== n) {
      throw new EngineError("UNKNOWN_HANDLE", `this result (${m[1]}) was held by an engine that has since stopped, so ${method} cannot read it: run the command again`);
    }
    return { ...(params as object), handle: m[1] };
  }

  request<M extends Method>(method: M, params: Params<M>, options: CallOptions = {}): Promise<Result<M>> {
    return new Promise<Result<M>>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new EngineError("CANCELLED", `${method} was cancelled`));
        return;
      }
      // a handle from an engine that has stopped is refused before any engine is started for it
      let sendParams: unknown;
      try {
        sendParams = this.untagHandle(method, params, this.engine?.n);
      } catch (e) {
        reject(e as EngineError);
        return;
      }
      const running = this.start();
      const id = this.nextId++;
      const onAbort = () => {
        const p = this.pending.get(id);
        if (p && p.cancelledAt === undefined) p.cancelledAt = Date.now();
        this.send({ type: "cancel", id });
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (this.pending.size === 0) this.busySince = Date.now();
      this.pending.set(id, {
        method,
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: options.onProgress,
        cleanup: () => options.signal?.removeEventListener("abort", onAbort),
      });
      let sent = false;
      let why = "the engine process is not reachable";
      try {
        sent = this.send({ type: "request", id, method, params: sendParams } as ToEngine, running.child, true);
      } catch (e) {
        why = `the request could not be sent: ${(e as Error).message}`;
      }
      if (!sent) {
        this.pending.get(id)?.cleanup();
        this.pending.delete(id);
        reject(new EngineError(why.startsWith("the request") ? "BAD_INPUT" : "PROCESS_DIED", why));
        return;
      }
      this.startWatch();
    });
  }

  private send(msg: ToEngine, child = this.engine?.child, rethrow = false): boolean {
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
    const running = this.engine;
    if (running) {
      this.disposed = true;
      running.child.kill();
      try {
        running.child.kill("SIGCONT"); // a stopped engine (SIGSTOP) takes its SIGTERM once it runs
      } catch {
        /* no such signal here */
      }
      // a stopped (SIGSTOP) or wedged engine does not heed SIGTERM
      setTimeout(() => {
        if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGKILL");
      }, 2000).unref();
    }
  }
}
