// The engine process: forked by engine/client.ts, it serves EngineService over Node IPC with the
// "advanced" serialization, so typed arrays cross as typed arrays, not JSON.
import { EngineError } from "../protocol/errors";
import { FromEngine, ToEngine } from "../protocol/engine";
import { EngineService } from "./service";

function send(msg: FromEngine): void {
  process.send?.(msg);
}

export function serve(): void {
  let service: EngineService | undefined;
  let startError: EngineError | undefined;
  try {
    service = new EngineService({ providers: process.env.SEQLENS_EP });
  } catch (e) {
    // e.g. an unknown execution provider in a setting: every request gets the reason
    startError = e instanceof EngineError ? e : new EngineError("INTERNAL", String(e));
  }
  const running = new Map<number, AbortController>();
  process.on("message", (raw: ToEngine) => {
    if (!raw || typeof raw !== "object") return;
    if (raw.type === "cancel") {
      running.get(raw.id)?.abort();
      return;
    }
    if (raw.type !== "request") return;
    const { id, method, params } = raw;
    const ac = new AbortController();
    running.set(id, ac);
    const ctx = {
      signal: ac.signal,
      progress: (progress: import("../protocol/engine").Progress) => send({ type: "progress", id, progress }),
      log: (level: "info" | "warn" | "error", message: string) => send({ type: "log", level, message }),
    };
    (service ? service.call(method, params as never, ctx) : Promise.reject(startError))
      .then((result) => send({ type: "response", id, ok: true, result }))
      .catch((e: unknown) => {
        const err = e instanceof EngineError ? e.toJSON() : { code: "INTERNAL" as const, message: e instanceof Error ? e.message : String(e) };
        send({ type: "response", id, ok: false, error: err });
      })
      .finally(() => running.delete(id));
  });
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", pid: process.pid });
}

if (require.main === module) serve();
