// The engine process: forked by engine/client.ts, it serves EngineService over Node IPC with the
// "advanced" serialization, so typed arrays cross as typed arrays, not JSON.
//
// A heartbeat goes out on its own pipe (the fd in SEQLENS_HEARTBEAT_FD) from a worker thread, once
// every SEQLENS_HEARTBEAT_MS: each beat is how long ago the main event loop last ran. The worker is
// not held up by the main thread's work, so the client tells an engine that is stopped or gone
// (no beats: SIGSTOP, a wedged process) from one that is busy in a long synchronous computation
// (beats that say the loop has not run for a while: TensorFlow.js on the CPU, t-SNE between its
// yields), and gives each its own bound.
import * as fs from "node:fs";
import { Worker } from "node:worker_threads";
import { EngineError } from "../protocol/errors";
import { FromEngine, ToEngine } from "../protocol/engine";
import { EngineService } from "./service";

function send(msg: FromEngine): void {
  process.send?.(msg);
}

/** How often the main loop marks that it ran (ms): the finest lag a beat can report. */
const TICK_MS = 100;

/** The worker's code (CommonJS, run with `eval`: nothing to bundle). A beat that cannot be written ends the beats. */
const HEARTBEAT_WORKER = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const ticked = new Int32Array(workerData.ticked);
const t0 = workerData.t0;
const beat = () => {
  const lag = Math.max(0, Date.now() - t0 - Atomics.load(ticked, 0));
  try {
    fs.writeSync(workerData.fd, lag + "\\n");
  } catch (e) {
    if (e && e.code === "EAGAIN") return; // the reader is behind: the next beat says it again
    clearInterval(timer);
  }
};
const timer = setInterval(beat, workerData.everyMs);
beat();
`;

/** Starts the heartbeat when the client asked for one; returns whether it runs. */
export function startHeartbeat(env: NodeJS.ProcessEnv = process.env): boolean {
  const fd = Number(env.SEQLENS_HEARTBEAT_FD);
  if (!Number.isInteger(fd) || fd < 3) return false;
  try {
    if (!fs.fstatSync(fd).isSocket() && !fs.fstatSync(fd).isFIFO()) return false;
  } catch {
    return false;
  }
  const everyMs = Math.max(50, Number(env.SEQLENS_HEARTBEAT_MS) || 1000);
  const t0 = Date.now();
  const ticked = new Int32Array(new SharedArrayBuffer(4));
  setInterval(() => Atomics.store(ticked, 0, Date.now() - t0), TICK_MS).unref();
  // execArgv [] : nothing of the engine's own flags (a loader such as tsx's would slow the worker's start by seconds)
  const worker = new Worker(HEARTBEAT_WORKER, { eval: true, execArgv: [], workerData: { fd, everyMs, t0, ticked: ticked.buffer }, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 } });
  worker.unref();
  worker.on("error", (e) => send({ type: "log", level: "warn", message: `the engine's heartbeat stopped: ${e.message}` }));
  return true;
}

export function serve(): void {
  startHeartbeat();
  let service: EngineService | undefined;
  let startError: EngineError | undefined;
  try {
    service = new EngineService({ providers: process.env.SEQLENS_EP });
  } catch (e) {
    // e.g. an unknown execution provider in a setting: every request gets the reason
    startError = e instanceof EngineError ? e : new EngineError("INTERNAL", String(e));
  }
  /** Requests being served, and when a cancel for one came. */
  const running = new Map<number, { method: string; ac: AbortController; cancelledAt?: number }>();
  process.on("message", (raw: ToEngine) => {
    if (!raw || typeof raw !== "object") return;
    if (raw.type === "cancel") {
      const r = running.get(raw.id);
      if (r && r.cancelledAt === undefined) {
        r.cancelledAt = performance.now();
        r.ac.abort();
      }
      return;
    }
    if (raw.type !== "request") return;
    const { id, method, params } = raw;
    const ac = new AbortController();
    const entry: { method: string; ac: AbortController; cancelledAt?: number } = { method, ac };
    running.set(id, entry);
    const ctx = {
      signal: ac.signal,
      progress: (progress: import("../protocol/engine").Progress) => send({ type: "progress", id, progress }),
      log: (level: "info" | "warn" | "error", message: string) => send({ type: "log", level, message }),
    };
    /** After a cancel: whether the work stopped (an error, or a result that says it was cancelled) or ran to its end. */
    const afterCancel = (stopped: boolean) => {
      if (entry.cancelledAt === undefined) return;
      const ms = (performance.now() - entry.cancelledAt).toFixed(0);
      send({ type: "log", level: "info", message: stopped ? `cancelled ${method}: stopped ${ms} ms after the cancel` : `cancelled ${method}: it cannot stop part-way and ran to its end, ${ms} ms after the cancel` });
    };
    (service ? service.call(method, params as never, ctx) : Promise.reject(startError))
      .then((result) => {
        afterCancel((result as { stoppedBy?: unknown } | undefined)?.stoppedBy === "cancelled");
        send({ type: "response", id, ok: true, result });
      })
      .catch((e: unknown) => {
        afterCancel(true);
        const err = e instanceof EngineError ? e.toJSON() : { code: "INTERNAL" as const, message: e instanceof Error ? e.message : String(e) };
        send({ type: "response", id, ok: false, error: err });
      })
      .finally(() => running.delete(id));
  });
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", pid: process.pid });
}

if (require.main === module) serve();
