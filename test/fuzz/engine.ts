// The engine process the fuzz cases talk to: the real one (dist/engine.js, forked by EngineClient),
// so a case that kills it is a crash. Requests never reject here: each gives the result or the
// error. A case past its deadline kills the engine (that exit is expected) and the next case starts
// a new one; an exit nobody asked for is a crash of the case that was running.
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineClient } from "../../engine/client";
import type { Method, Params, Result } from "../../protocol/engine";

export const ROOT = path.resolve(__dirname, "..", "..");
export const ENGINE_JS = path.join(ROOT, "dist", "engine.js");

export type Answer<M extends Method> = { ok: true; result: Result<M>; ms: number } | { ok: false; error: unknown; ms: number };

export class FuzzEngine {
  private client: EngineClient;
  private exitsSeen = 0;
  /** Engines killed because a case ran past its deadline. */
  kills = 0;
  /** The largest resident size seen, in bytes. */
  peakRss = 0;

  constructor(private readonly cacheDir: string) {
    if (!fs.existsSync(ENGINE_JS)) throw new Error(`${ENGINE_JS} is missing: run \`npm run build\` first`);
    this.client = this.newClient();
  }

  private newClient(): EngineClient {
    this.exitsSeen = 0;
    return new EngineClient({ enginePath: ENGINE_JS, providers: "cpu", env: { SEQLENS_CACHE_DIR: this.cacheDir, SEQLENS_EP: "cpu" } });
  }

  async request<M extends Method>(method: M, params: Params<M>): Promise<Answer<M>> {
    const t0 = performance.now();
    try {
      const result = await this.client.request(method, params);
      return { ok: true, result, ms: performance.now() - t0 };
    } catch (error) {
      return { ok: false, error, ms: performance.now() - t0 };
    }
  }

  /** Exits of the engine since the last call that nobody asked for (0 when it is alive and well). */
  unexpectedExits(): number {
    const n = this.client.restarts - this.exitsSeen;
    this.exitsSeen = this.client.restarts;
    return n;
  }

  /** Whether the engine answers a ping; also samples its resident size. */
  async alive(): Promise<boolean> {
    const r = await this.request("ping", {});
    this.sampleRss();
    return r.ok;
  }

  /** The engine's resident size now (bytes), 0 when it is not running. */
  sampleRss(): number {
    const pid = this.client.pid;
    if (!pid) return 0;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      const rss = m ? Number(m[1]) * 1024 : 0;
      this.peakRss = Math.max(this.peakRss, rss);
      return rss;
    } catch {
      return 0;
    }
  }

  /** Kills the engine (a case ran past its deadline, or it holds too much); the next request starts a new one. */
  restart(): void {
    this.kills++;
    const old = this.client;
    this.client = this.newClient();
    old.dispose();
    const pid = old.pid;
    if (pid) {
      try {
        process.kill(pid, "SIGKILL"); // a hung engine may not heed SIGTERM
      } catch {
        // already gone
      }
    }
  }

  dispose(): void {
    const pid = this.client.pid;
    this.client.dispose();
    if (pid) setTimeout(() => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 2000).unref();
  }
}
