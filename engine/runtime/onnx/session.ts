// onnxruntime-node sessions: execution providers from a setting or flag (default: CUDA when its
// provider library is installed and an NVIDIA GPU is present, else CPU), intra-op threads = physical
// cores, and the device actually used; a session that can be released while its model is in use;
// onnxruntime's failures as errors that name the file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";
import type * as ortTypes from "onnxruntime-node";
import { Device, ExecutionProvider } from "../../../protocol/basics";
import { EngineError } from "../../../protocol/errors";

const load = createRequire(__filename);
let ortModule: typeof ortTypes | undefined;

export function ort(): typeof ortTypes {
  ortModule ??= load("onnxruntime-node") as typeof ortTypes;
  return ortModule;
}

export function ortVersion(): string {
  try {
    return (load("onnxruntime-node/package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Physical cores: distinct (physical id, core id) pairs in /proc/cpuinfo, else the logical count. */
export function physicalCores(): number {
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    const cores = new Set<string>();
    for (const block of info.split(/\n\s*\n/)) {
      const phys = /physical id\s*:\s*(\d+)/.exec(block)?.[1];
      const core = /core id\s*:\s*(\d+)/.exec(block)?.[1];
      if (phys !== undefined && core !== undefined) cores.add(`${phys}:${core}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux
  }
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** True when onnxruntime-node's CUDA provider library is installed next to its binding. */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = path.dirname(load.resolve("onnxruntime-node/package.json"));
    const binDir = path.join(pkg, "bin", "napi-v6", process.platform, process.arch);
    return fs.existsSync(binDir) && fs.readdirSync(binDir).some((f) => f.includes("providers_cuda"));
  } catch {
    return false;
  }
}

export function nvidiaGpuPresent(): boolean {
  return fs.existsSync("/dev/nvidia0") || fs.existsSync("/proc/driver/nvidia/version");
}

export function defaultProviders(): ExecutionProvider[] {
  return cudaProviderInstalled() && nvidiaGpuPresent() ? ["cuda", "cpu"] : ["cpu"];
}

/** Parses "cuda,cpu" (from a setting, CLI flag or SEQLENS_EP); empty means the default. */
export function parseProviders(spec: string | undefined): ExecutionProvider[] {
  if (!spec || spec === "auto") return defaultProviders();
  const list = spec.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const p of list) if (p !== "cpu" && p !== "cuda") throw new EngineError("BAD_INPUT", `unknown execution provider "${p}" (use cpu, cuda or auto)`);
  return list as ExecutionProvider[];
}

export interface OpenSession {
  session: ortTypes.InferenceSession;
  device: Device;
  providers: ExecutionProvider[];
  threads: number;
  /** Why a requested provider was not used (CUDA failed to start), if so. */
  fallback?: string;
}

/**
 * Thread spinning: on during a run (a decode step's many small kernels go about 8% faster), and
 * stopped when the run ends (session.force_spinning_stop), so an idle session's threads never take
 * the cores from the next session's run (comparing two models ran each forward 1.5x slower while
 * they spun between runs). SEQLENS_ORT_SPIN=0 turns spinning off altogether (a machine whose cores
 * are busy with other work).
 */
function spinning(): Record<string, unknown> {
  if (process.env.SEQLENS_ORT_SPIN === "0") return { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } };
  return { session: { intra_op: { allow_spinning: "1" }, inter_op: { allow_spinning: "1" }, force_spinning_stop: "1" } };
}

/**
 * onnxruntime's words on a failure, cut to what a user can read: the first line, without the source
 * file and C++ function it may start with ("/onnxruntime_src/onnxruntime/core/graph/model.cc:202
 * onnxruntime::Model::Model(…) Unsupported model IR version: 24, …") or an "[ONNXRuntimeError] : 1 :
 * FAIL : " code, at most 300 characters.
 */
export function ortDetail(e: unknown): string {
  let s = (e instanceof Error ? e.message : String(e)).split("\n")[0].trim();
  s = s.replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, "");
  s = s.replace(/^\S+\.(?:cc|cpp|cu|h):\d+\s+/, "").replace(/^[\w:~<>]+\([^)]*\)\s*(?:const\s+)?/, "");
  if (s.length === 0) s = "no reason given";
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}

/**
 * The error for a graph onnxruntime would not load or run: MODEL_INVALID naming the file and saying
 * it is damaged or not a graph SeqLens can run, with onnxruntime's first line as the detail; TOO_LARGE
 * when onnxruntime ran out of memory. An EngineError passes through unchanged.
 */
export function ortFailure(file: string, e: unknown, when: "load" | "run"): EngineError {
  if (e instanceof EngineError) return e;
  const detail = ortDetail(e);
  if (/failed to allocate|bad_alloc|out of memory/i.test(detail)) return new EngineError("TOO_LARGE", `${file}: onnxruntime ran out of memory ${when === "load" ? "loading" : "running"} this graph (${detail}): give it a shorter input, or close other programs`);
  return new EngineError("MODEL_INVALID", `${file}: onnxruntime could not ${when} this graph (${detail}); the file is damaged or is not a graph SeqLens can run: export the model again`);
}

/**
 * An onnxruntime session that the model holding it may release while it is still in use (the
 * engine keeps a bounded number of models open and releases the least recently used:
 * families/loadedModels.ts). onnxruntime-node runs a session on the main thread, in a setImmediate
 * after run() returns, so no release lands inside a run; but one between run() and that moment, or
 * between two runs of one request, failed the run with "Session already disposed.". Here a release
 * waits for the runs in flight, and a run after a release opens the session again from the same file
 * with the same options, so a request or an inspection that holds the model keeps working.
 */
export class ReleasableSession implements ortTypes.InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ortTypes.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ortTypes.InferenceSession.ValueMetadata[];
  /** Times the session was opened again after a release. */
  reopened = 0;
  private inner: ortTypes.InferenceSession | undefined;
  private reopening: Promise<ortTypes.InferenceSession> | undefined;
  private inFlight = 0;
  private releaseWanted = false;
  /** Called when a release put off by runs in flight has been done. */
  private readonly afterRelease: (() => void)[] = [];

  constructor(
    session: ortTypes.InferenceSession,
    private readonly reopen: () => Promise<ortTypes.InferenceSession>,
  ) {
    this.inner = session;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.inputMetadata = session.inputMetadata;
    this.outputMetadata = session.outputMetadata;
  }

  /** Whether the native session is released now (a run would open it again). */
  get released(): boolean {
    return this.inner === undefined;
  }

  run(feeds: ortTypes.InferenceSession.FeedsType, options?: ortTypes.InferenceSession.RunOptions): Promise<ortTypes.InferenceSession.ReturnType>;
  run(feeds: ortTypes.InferenceSession.FeedsType, fetches: ortTypes.InferenceSession.FetchesType, options?: ortTypes.InferenceSession.RunOptions): Promise<ortTypes.InferenceSession.ReturnType>;
  async run(feeds: ortTypes.InferenceSession.FeedsType, fetchesOrOptions?: ortTypes.InferenceSession.FetchesType | ortTypes.InferenceSession.RunOptions, options?: ortTypes.InferenceSession.RunOptions): Promise<ortTypes.InferenceSession.ReturnType> {
    this.inFlight++;
    try {
      const session = this.inner ?? (await this.openAgain());
      return await session.run(feeds, fetchesOrOptions as ortTypes.InferenceSession.FetchesType, options);
    } finally {
      if (--this.inFlight === 0 && this.releaseWanted) await this.releaseNow();
    }
  }

  /** Releases the native session now, or after the runs in flight when there are any (the promise then resolves after it). */
  async release(): Promise<void> {
    if (this.inFlight === 0) return this.releaseNow();
    this.releaseWanted = true;
    return new Promise<void>((resolve) => this.afterRelease.push(resolve));
  }

  startProfiling(): void {
    this.inner?.startProfiling();
  }

  endProfiling(): void {
    this.inner?.endProfiling();
  }

  private openAgain(): Promise<ortTypes.InferenceSession> {
    this.reopening ??= this.reopen().then(
      (s) => {
        this.inner = s;
        this.reopened++;
        this.reopening = undefined;
        return s;
      },
      (e: unknown) => {
        this.reopening = undefined;
        throw e;
      },
    );
    return this.reopening;
  }

  private async releaseNow(): Promise<void> {
    this.releaseWanted = false;
    const waiting = this.afterRelease.splice(0);
    const s = this.inner;
    this.inner = undefined;
    try {
      await s?.release();
    } finally {
      for (const done of waiting) done();
    }
  }
}

export async function openSession(file: string, providers: ExecutionProvider[]): Promise<OpenSession> {
  const threads = physicalCores();
  const errors: string[] = [];
  const create = (eps: ExecutionProvider[]) =>
    ort().InferenceSession.create(file, {
      executionProviders: eps,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      extra: spinning(),
    });
  // Try the list as given; if CUDA fails to initialise, fall back to CPU and say why.
  const attempts = providers.includes("cuda") ? [providers, ["cpu" as const]] : [providers];
  let last: unknown;
  for (const eps of attempts) {
    try {
      const created = await create(eps);
      const session = new ReleasableSession(created, () => create(eps).catch((e: unknown) => Promise.reject(ortFailure(file, e, "load"))));
      return { session, device: eps[0] === "cuda" ? "cuda" : "cpu", providers: eps, threads, fallback: errors.length ? `CUDA did not start, running on CPU: ${errors.join("; ")}` : undefined };
    } catch (e) {
      last = e;
      errors.push(`${eps.join(",")}: ${ortDetail(e)}`);
    }
  }
  if (attempts.length === 1) throw ortFailure(file, last, "load");
  throw new EngineError("MODEL_INVALID", `${file}: onnxruntime could not load this graph (${errors.join("; ")}); the file is damaged or is not a graph SeqLens can run: export the model again`);
}
