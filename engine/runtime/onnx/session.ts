// onnxruntime-node sessions: execution providers from a setting or flag (default: CUDA when its
// provider library is installed and an NVIDIA GPU is present, else CPU), intra-op threads = physical
// cores, and the device actually used.
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

export async function openSession(file: string, providers: ExecutionProvider[]): Promise<OpenSession> {
  const threads = physicalCores();
  const errors: string[] = [];
  // Try the list as given; if CUDA fails to initialise, fall back to CPU and say why.
  const attempts = providers.includes("cuda") ? [providers, ["cpu" as const]] : [providers];
  for (const eps of attempts) {
    try {
      const session = await ort().InferenceSession.create(file, {
        executionProviders: eps,
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: "all",
        extra: spinning(),
      });
      return { session, device: eps[0] === "cuda" ? "cuda" : "cpu", providers: eps, threads, fallback: errors.length ? `CUDA did not start, running on CPU: ${errors.join("; ")}` : undefined };
    } catch (e) {
      errors.push(`${eps.join(",")}: ${(e as Error).message}`);
    }
  }
  throw new EngineError("MODEL_INVALID", `could not open ${file} with onnxruntime (${errors.join("; ")})`);
}
