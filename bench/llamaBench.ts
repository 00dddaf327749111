// A Llama-shaped decoder of Qwen2.5-0.5B's shape (model_type qwen2: 24 layers, 14 query heads over
// 2 key/value heads of 64, hidden 896, MLP 4864, vocabulary 151,936, tied embeddings, q/k/v
// biases; 494M parameters, 1.84 GiB as float32) with seeded random weights, written by the
// project's exporter (engine/formats/llamaExport.ts) as onnx/model.onnx with its weights in
// onnx/model.onnx_data (external data), and measured through the engine process as the extension
// runs it (dist/engine.js, CPU):
//   inspect_512          one inspection of 512 tokens (next-token top-10, every layer's attention)
//                        then all of that attention fetched in one piece (24 x 14 x 512 x 512
//                        floats, 336 MiB): wall time seen by the client, the engine's own times,
//                        the engine process's peak RSS during each run (VmHWM, reset per run), and
//                        the forward's GFLOP/s beside onnxruntime's on one MatMul of the MLP's shape
//   generate             greedy, KV cache, 64 new tokens after a 32-token prompt: tokens per
//                        second beside the memory-bandwidth bound measured in the same run (each
//                        token reads every MatMul weight once, the tied embedding again as the
//                        output projection; bytes per token / the traffic of a one-thread copy, as
//                        completionBench.ts; the same copy on all cores at once is reported beside it)
//   transformers_js      @huggingface/transformers (onnxruntime-node in Node) on the same folder,
//                        the same prompt ids, greedy, 64 tokens, in pairs with the engine's runs;
//                        its token ids must be the engine's
// The machine may be shared: each measured run waits (up to SEQLENS_BENCH_QUIET_WAIT_S, 10 s) for
// the CPUs to be idle, and records how many cores other processes kept busy while it ran
// (other_cores). The model folder is built once and cached in the OS temp folder (rebuilt when the
// exporter's sources change; about 2 GB, 20-30 s), the engine's probe copy of it beside it in
// `<folder>-engine-cache` (hard links). Added to bench/results.json.
//   npx tsx bench/llamaBench.ts             (part of npm run bench; needs dist/engine.js: npm run build)
// SEQLENS_BENCH_QWEN2_DIR: the model folder; SEQLENS_BENCH_RUNS: runs of each measurement (default 5).
import { fork } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { onnx } from "onnx-proto";
import { DataType, GraphBuilder } from "../engine/formats/onnxBuilder";
import { openSession, ort } from "../engine/runtime/onnx/session";
import { exportLlamaOnnx, llamaConfigFrom } from "../engine/formats/llamaExport";
import { seededRandom } from "../engine/random";
import { EngineClient } from "../engine/client";
import { copyBandwidth, median } from "./stats";

const ROOT = path.resolve(__dirname, "..");
const TINY = path.join(ROOT, "samples", "models", "tiny-gpt");
const DIR = process.env.SEQLENS_BENCH_QWEN2_DIR ?? path.join(os.tmpdir(), "seqlens-bench-qwen2-0.5b");
const ENGINE_JS = path.join(ROOT, "dist", "engine.js");
const RUNS = Number(process.env.SEQLENS_BENCH_RUNS ?? 5);
const PROMPT_TOKENS = 32;
const NEW_TOKENS = 64;
const INSPECT_TOKENS = 512;
/** The tokenizer's ids (tiny-gpt's 4,096): rows of the embedding past them are 0, so greedy picks stay printable. */
const TOKENIZER_VOCAB = 4096;
const EOS = 4095;
const STD = 0.02;
const SEED = 0x5eed;
/** Each external tensor starts at a multiple of this (the allocation granularity onnxruntime maps files at). */
const ALIGN = 65536;
/** Before each measured run, wait (at most this long) until other processes leave the CPUs idle: the machine may be shared. */
const QUIET_WAIT_S = Number(process.env.SEQLENS_BENCH_QUIET_WAIT_S ?? 10);

/** Qwen2.5-0.5B's config.json, its bos / eos the tokenizer's end-of-text. */
const CONFIG = {
  architectures: ["Qwen2ForCausalLM"],
  attention_dropout: 0,
  bos_token_id: EOS,
  eos_token_id: EOS,
  hidden_act: "silu",
  hidden_size: 896,
  head_dim: 64,
  initializer_range: STD,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: "qwen2",
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: "float32",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
  // transformers.js: the graph keeps its weights in onnx/model.onnx_data
  "transformers.js_config": { use_external_data_format: true },
};

/** What the cached folder was built from: the config, the seed and the exporter's sources. */
function buildKey(): string {
  const h = crypto.createHash("sha256").update(JSON.stringify({ CONFIG, STD, SEED, ALIGN, TOKENIZER_VOCAB, v: 1 }));
  for (const f of ["llamaExport.ts", "exportCommon.ts", "onnxBuilder.ts", "gpt2Export.ts"]) h.update(fs.readFileSync(path.join(ROOT, "engine", "formats", f)));
  return h.digest("hex").slice(0, 16);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Hugging Face names and torch shapes of every tensor of the checkpoint. */
function checkpointShapes(): Map<string, number[]> {
  const d = CONFIG.hidden_size;
  const q = CONFIG.num_attention_heads * CONFIG.head_dim;
  const kv = CONFIG.num_key_value_heads * CONFIG.head_dim;
  const I = CONFIG.intermediate_size;
  const shapes = new Map<string, number[]>([
    ["model.embed_tokens.weight", [CONFIG.vocab_size, d]],
    ["model.norm.weight", [d]],
  ]);
  for (let i = 0; i < CONFIG.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    for (const [n, s] of [
      ["input_layernorm.weight", [d]],
      ["post_attention_layernorm.weight", [d]],
      ["self_attn.q_proj.weight", [q, d]],
      ["self_attn.q_proj.bias", [q]],
      ["self_attn.k_proj.weight", [kv, d]],
      ["self_attn.k_proj.bias", [kv]],
      ["self_attn.v_proj.weight", [kv, d]],
      ["self_attn.v_proj.bias", [kv]],
      ["self_attn.o_proj.weight", [d, q]],
      ["mlp.gate_proj.weight", [I, d]],
      ["mlp.up_proj.weight", [I, d]],
      ["mlp.down_proj.weight", [d, I]],
    ] as const)
      shapes.set(p + n, [...s]);
  }
  return shapes;
}

/**
 * Writes the model folder (in the build child process): the exporter's graph, its initializers then
 * moved to onnx/model.onnx_data. Each tensor is generated when the exporter asks for it (seeded by
 * its name) and dropped after; what stays is the exporter's encoded graph and the builder's copy of
 * the weights, about twice the model at the peak (the exporter returns one encoded buffer).
 */
function buildModel(dir: string, key: string): void {
  const t0 = performance.now();
  const shapes = checkpointShapes();
  const uniform = STD * Math.sqrt(12); // a uniform distribution of standard deviation STD
  const weight = (name: string) => {
    const shape = shapes.get(name);
    if (!shape) throw new Error(`no tensor ${name} in the checkpoint`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (/norm\.weight$/.test(name)) return { shape, data: data.fill(1) };
    const rnd = seededRandom(fnv1a(name) ^ SEED);
    const fill = name === "model.embed_tokens.weight" ? TOKENIZER_VOCAB * CONFIG.hidden_size : n;
    for (let i = 0; i < fill; i++) data[i] = (rnd() - 0.5) * uniform;
    return { shape, data };
  };
  const cfg = llamaConfigFrom(CONFIG);
  let bytes: Uint8Array | undefined = exportLlamaOnnx(cfg, weight, { source: "bench/llamaBench.ts (random weights)" }, { has: (n) => shapes.has(n) });
  const exportS = (performance.now() - t0) / 1000;
  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, "onnx"), { recursive: true });
  const model = onnx.ModelProto.decode(bytes); // the raw data are views of `bytes`
  const graphBytes = bytes.length;
  const fd = fs.openSync(path.join(tmp, "onnx", "model.onnx_data"), "w");
  let offset = 0;
  let external = 0;
  try {
    for (const t of model.graph!.initializer ?? []) {
      const raw = t.rawData;
      if (!raw || raw.length < 1024) continue; // scalars and shapes stay in the graph
      offset = Math.ceil(offset / ALIGN) * ALIGN;
      for (let done = 0; done < raw.length; ) done += fs.writeSync(fd, raw, done, Math.min(raw.length - done, 1 << 28), offset + done);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: "location", value: "model.onnx_data" },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(raw.length) },
      ];
      delete (t as { rawData?: Uint8Array }).rawData;
      offset += raw.length;
      external++;
    }
  } finally {
    fs.closeSync(fd);
  }
  bytes = undefined;
  fs.writeFileSync(path.join(tmp, "onnx", "model.onnx"), onnx.ModelProto.encode(model).finish());
  fs.writeFileSync(path.join(tmp, "config.json"), JSON.stringify(CONFIG, null, 2) + "\n");
  fs.writeFileSync(path.join(tmp, "generation_config.json"), JSON.stringify({ bos_token_id: EOS, eos_token_id: EOS, do_sample: false }, null, 2) + "\n");
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(TINY, f), path.join(tmp, f));
  const build = {
    key,
    build_s: (performance.now() - t0) / 1000,
    export_s: exportS,
    exporter_graph_mib: graphBytes / 2 ** 20,
    external_tensors: external,
    data_mib: offset / 2 ** 20,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  };
  fs.writeFileSync(path.join(tmp, "seqlens-bench-build.json"), JSON.stringify(build, null, 2) + "\n");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

interface BuildInfo {
  key: string;
  build_s: number;
  export_s: number;
  exporter_graph_mib: number;
  external_tensors: number;
  data_mib: number;
  peak_rss_mib: number;
}

/** The cached folder, built in a child process (its memory returned when it exits) when missing or stale. */
async function ensureModel(): Promise<BuildInfo & { cached: boolean }> {
  const key = buildKey();
  const marker = path.join(DIR, "seqlens-bench-build.json");
  if (fs.existsSync(marker)) {
    const info = JSON.parse(fs.readFileSync(marker, "utf8")) as BuildInfo;
    if (info.key === key) return { ...info, cached: true };
  }
  console.log(`building the Qwen2.5-0.5B-shaped model in ${DIR} (about 2 GB, a minute or two) ...`);
  const child = fork(__filename, ["--build", key], { stdio: "inherit" });
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  if (code !== 0) throw new Error(`building the model failed (exit code ${code})`);
  return { ...(JSON.parse(fs.readFileSync(marker, "utf8")) as BuildInfo), cached: false };
}

/** Bytes of weights one token reads: each MatMul's initializer operand (through a Transpose: the tied embedding as the output projection). */
function weightBytesPerToken(file: string): { bytes: number; parameters: number; matmuls: number } {
  const g = onnx.ModelProto.decode(fs.readFileSync(file)).graph!;
  const size = new Map<string, number>();
  let parameters = 0;
  for (const t of g.initializer ?? []) {
    const elements = (t.dims ?? []).map(Number).reduce((a, b) => a * b, 1);
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    size.set(t.name!, elements * 4);
    if ((t.dims ?? []).length > 0) parameters += elements;
  }
  const transposed = new Map<string, string>();
  for (const n of g.node ?? []) if (n.opType === "Transpose" && size.has(n.input![0])) transposed.set(n.output![0], n.input![0]);
  let bytes = 0;
  let matmuls = 0;
  for (const n of g.node ?? []) {
    if (n.opType !== "MatMul") continue;
    const w = size.get(n.input![1]) ?? size.get(transposed.get(n.input![1]) ?? "");
    if (w) {
      bytes += w;
      matmuls++;
    }
  }
  return { bytes, parameters, matmuls };
}


/** The same copy in `threads` worker threads at once: their summed traffic (what more than one core can move). */
async function parallelCopyBandwidth(threads: number): Promise<number> {
  const n = 32 * 2 ** 20;
  const code = `const { parentPort } = require("node:worker_threads");
    const a = new Float32Array(${n}).fill(1), b = new Float32Array(${n});
    b.set(a);
    parentPort.on("message", (k) => { for (let i = 0; i < k; i++) b.set(a); parentPort.postMessage(k); });`;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true }));
  try {
    const round = (k: number) => Promise.all(workers.map((w) => new Promise((resolve) => (w.once("message", resolve), w.postMessage(k)))));
    await round(1);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await round(5);
      times.push(performance.now() - t0);
    }
    return (threads * 5 * 2 * 4 * n) / (median(times) / 1000);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** onnxruntime's float32 MatMul [512, 896] x [896, 4864] (the MLP's shape at 512 tokens, the weight a prepacked initializer), GFLOP/s, with the engine's session settings. */
async function matmulGflops(): Promise<number> {
  const [m, k, n] = [512, 896, 4864];
  const g = new GraphBuilder();
  g.input("a", DataType.FLOAT, [m, k]);
  const rnd = seededRandom(7);
  const w = g.weight("w", [k, n], Float32Array.from({ length: k * n }, () => rnd() - 0.5));
  g.rename(g.op("MatMul", ["a", w], "MatMul"), "c");
  g.output("c", DataType.FLOAT, [m, n]);
  const file = path.join(os.tmpdir(), `seqlens-bench-matmul-${m}x${k}x${n}.onnx`);
  fs.writeFileSync(file, g.model("matmul", 17, "seqlens-bench"));
  const { session } = await openSession(file, ["cpu"]);
  const a = new (ort().Tensor)("float32", Float32Array.from({ length: m * k }, () => rnd() - 0.5), [m, k]);
  for (let i = 0; i < 3; i++) await session.run({ a });
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await session.run({ a });
    times.push(performance.now() - t0);
  }
  await session.release();
  return (2 * m * k * n) / (median(times) / 1000) / 1e9;
}

/** CPU time (clock ticks) of the whole machine, busy and in all, from /proc/stat. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const [, ...v] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = v.map(Number);
    const busy = user + nice + system + irq + softirq + (steal || 0);
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/** CPU time (clock ticks) of a process, all its threads. */
function processTicks(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the machine has been idle for half a second (under 10% busy), at most QUIET_WAIT_S; whether it was. */
async function waitQuiet(): Promise<{ quiet: boolean; waitedMs: number }> {
  const t0 = performance.now();
  if (!machineTicks()) return { quiet: true, waitedMs: 0 };
  while (true) {
    const a = machineTicks()!;
    await sleep(500);
    const b = machineTicks()!;
    if (b.busy - a.busy < 0.1 * (b.total - a.total)) return { quiet: true, waitedMs: performance.now() - t0 };
    if (performance.now() - t0 > QUIET_WAIT_S * 1000) return { quiet: false, waitedMs: performance.now() - t0 };
  }
}

/**
 * Runs `fn` after waiting for a quiet machine, and says how many cores other processes (not the
 * bench, not the engine) kept busy on average while it ran: a run beside someone's test suite is slower.
 */
async function measured<T>(pids: number[], fn: () => Promise<T>): Promise<{ value: T; otherCores: number; quietBefore: boolean }> {
  const { quiet } = await waitQuiet();
  const cores = os.cpus().length;
  const m0 = machineTicks();
  const own0 = pids.reduce((s, p) => s + processTicks(p), 0);
  const value = await fn();
  const m1 = machineTicks();
  const own1 = pids.reduce((s, p) => s + processTicks(p), 0);
  const otherCores = m0 && m1 ? Math.max(0, (m1.busy - m0.busy - (own1 - own0)) / (m1.total - m0.total)) * cores : NaN;
  return { value, otherCores, quietBefore: quiet };
}

/** VmRSS and VmHWM (peak) of a process, MiB (Linux). */
function memory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) / 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/** Resets a process's peak RSS to its current RSS (Linux 4.0+: clear_refs 5). */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Tokens per second of the tokens after the first (the first also reads the prompt), from when each arrived. */
function decodeRate(stamps: number[]): number {
  return (stamps.length - 1) / ((stamps[stamps.length - 1] - stamps[0]) / 1000);
}

const mib = (x: number) => `${x.toFixed(0)} MiB`;

async function main() {
  const build = await ensureModel();
  console.log(
    build.cached
      ? `Qwen2.5-0.5B-shaped model cached in ${DIR}`
      : `Qwen2.5-0.5B-shaped model built in ${build.build_s.toFixed(1)} s (export ${build.export_s.toFixed(1)} s, peak RSS ${mib(build.peak_rss_mib)}) in ${DIR}`,
  );
  if (!fs.existsSync(ENGINE_JS)) throw new Error(`${path.relative(process.cwd(), ENGINE_JS)} is missing: run npm run build first`);
  const onnxFile = path.join(DIR, "onnx", "model.onnx");
  const w = weightBytesPerToken(onnxFile);
  const tjs = await import("@huggingface/transformers");
  tjs.env.allowRemoteModels = false;
  tjs.env.useFSCache = false;
  const tokenizer = await tjs.AutoTokenizer.from_pretrained(TINY, { local_files_only: true });
  const text = fs.readFileSync(path.join(ROOT, "samples", "data", "ts-lib", "heldout.txt"), "utf8");
  const allIds = tokenizer.encode(text.slice(0, 20000), { add_special_tokens: false });
  const inspectIds = allIds.slice(0, INSPECT_TOKENS);
  const promptIds = allIds.slice(1000, 1000 + PROMPT_TOKENS);
  if (inspectIds.length < INSPECT_TOKENS || promptIds.length < PROMPT_TOKENS) throw new Error("the sample text is too short");

  // The engine process, its probe copies beside the model (hard links need the same file system).
  const logs: string[] = [];
  const client = new EngineClient({
    enginePath: ENGINE_JS,
    providers: "cpu",
    env: { SEQLENS_CACHE_DIR: process.env.SEQLENS_CACHE_DIR ?? `${DIR}-engine-cache` },
    onLog: (level, message) => logs.push(`${level}: ${message}`),
  });
  try {
    await client.request("ping", {});
    const pid = client.pid!;
    const before = memory(pid);
    let t0 = performance.now();
    const info = await client.request("info", { model: DIR });
    const loadMs = performance.now() - t0;
    const afterLoad = memory(pid);
    console.log(`engine: loaded in ${(loadMs / 1000).toFixed(1)} s (${info.family}, ${info.threads} threads, ${info.parameters} parameters), RSS ${afterLoad ? mib(afterLoad.rss) : "?"}, peak while loading ${afterLoad ? mib(afterLoad.peak) : "?"}`);

    const pids = [pid, process.pid];
    const others = (runs: { other_cores: number }[]) => ({ median_other_cores: median(runs.map((r) => r.other_cores)), runs_beside_others: runs.filter((r) => r.other_cores > 0.25).length });

    // 1. Inspect 512 tokens, then every layer's attention in one piece.
    const cap = 2 ** 30;
    const peakReset = resetPeak(pid);
    const inspectOnce = async () => {
      if (peakReset) resetPeak(pid);
      const t = performance.now();
      const r = await client.request("inspect", { model: DIR, ids: inspectIds, topK: 10 });
      const tInspect = performance.now() - t;
      const a = await client.request("attentionAll", { handle: r.handle, capBytes: cap });
      const wall = performance.now() - t;
      const peak = memory(pid)?.peak ?? NaN;
      await client.request("release", { handle: r.handle });
      const [L, H, Q, K] = a.shape;
      if (L !== CONFIG.num_hidden_layers || H !== CONFIG.num_attention_heads || Q !== INSPECT_TOKENS || K !== INSPECT_TOKENS) throw new Error(`attention has shape [${a.shape}]`);
      return { wall_ms: wall, inspect_wall_ms: tInspect, attention_fetch_ms: wall - tInspect, engine_run_ms: r.ms.run, engine_total_ms: r.ms.total, engine_peak_rss_mib: peak, attentionMiB: a.data.byteLength / 2 ** 20 };
    };
    await inspectOnce(); // warm-up (the first run sizes the session's arenas)
    const inspectRuns: (Awaited<ReturnType<typeof inspectOnce>> & { other_cores: number; quiet_before: boolean })[] = [];
    for (let i = 0; i < RUNS; i++) {
      const m = await measured(pids, inspectOnce);
      inspectRuns.push({ ...m.value, other_cores: m.otherCores, quiet_before: m.quietBefore });
    }
    const rssAfterInspect = memory(pid)?.rss ?? NaN;
    const gflops = (await measured([process.pid], matmulGflops)).value;
    // forward FLOPs: every MatMul weight once per token (multiply-adds x 2), and Q.K and P.V over the full square
    const flops = 2 * INSPECT_TOKENS * (w.bytes / 4) + 4 * CONFIG.num_hidden_layers * CONFIG.num_attention_heads * CONFIG.head_dim * INSPECT_TOKENS ** 2;
    const col = <K extends keyof (typeof inspectRuns)[number]>(k: K) => median(inspectRuns.map((r) => r[k] as number));
    const inspect = {
      tokens: INSPECT_TOKENS,
      attention_mib: inspectRuns[0].attentionMiB,
      wall_ms: col("wall_ms"),
      inspect_wall_ms: col("inspect_wall_ms"),
      attention_fetch_ms: col("attention_fetch_ms"),
      engine_run_ms: col("engine_run_ms"),
      engine_total_ms: col("engine_total_ms"),
      engine_peak_rss_mib: peakReset ? col("engine_peak_rss_mib") : Math.max(...inspectRuns.map((r) => r.engine_peak_rss_mib)),
      engine_peak_rss_note: peakReset ? "VmHWM reset before each run" : "VmHWM since the engine started (could not reset it)",
      forward_gflop: flops / 1e9,
      forward_gflops: flops / (col("engine_run_ms") / 1000) / 1e9,
      ort_matmul_512x896x4864_gflops: gflops,
      fraction_of_matmul: flops / (col("engine_run_ms") / 1000) / 1e9 / gflops,
      ...others(inspectRuns),
      runs: inspectRuns.map(({ attentionMiB: _, ...r }) => r),
    };
    console.log(`inspect ${INSPECT_TOKENS} + all attention: ${inspect.wall_ms.toFixed(0)} ms (engine run ${inspect.engine_run_ms.toFixed(0)} ms, attention fetch ${inspect.attention_fetch_ms.toFixed(0)} ms), engine peak RSS ${mib(inspect.engine_peak_rss_mib)}`);

    // 2 and 3. Generation: the engine's and transformers.js's runs in pairs (alternating which goes first), each
    // after a quiet wait, the copy bandwidth measured before each pair.
    const selfBefore = memory(process.pid);
    t0 = performance.now();
    const tjsModel = await tjs.AutoModelForCausalLM.from_pretrained(DIR, { local_files_only: true, dtype: "fp32", device: "cpu" });
    const tjsLoadMs = performance.now() - t0;
    const selfAfter = memory(process.pid);
    console.log(`transformers.js: loaded in ${(tjsLoadMs / 1000).toFixed(1)} s, this process's RSS ${selfBefore ? mib(selfBefore.rss) : "?"} -> ${selfAfter ? mib(selfAfter.rss) : "?"}`);
    const inputIds = new tjs.Tensor("int64", BigInt64Array.from(promptIds, (v) => BigInt(v)), [1, PROMPT_TOKENS]);
    const attentionMask = new tjs.Tensor("int64", new BigInt64Array(PROMPT_TOKENS).fill(1n), [1, PROMPT_TOKENS]);

    const engineGen = async (maxTokens: number) => {
      const stamps: number[] = [];
      const t = performance.now();
      const r = await client.request("generate", { model: DIR, ids: promptIds, maxTokens, greedy: true, stopAtEos: false }, { onProgress: (p) => p.kind === "token" && stamps.push(performance.now()) });
      return { ids: r.tokens.map((x) => x.id), wall: performance.now() - t, stamps, perTokenMs: r.ms.perToken, promptMs: r.ms.prompt };
    };
    const tjsGen = async (maxTokens: number) => {
      const stamps: number[] = [];
      let puts = 0;
      // the first put is the prompt, then one per new token
      const streamer = { put: () => (puts++ > 0 ? stamps.push(performance.now()) : 0), end: () => {} };
      const t = performance.now();
      const out = (await tjsModel.generate({
        input_ids: inputIds,
        attention_mask: attentionMask,
        streamer: streamer as never,
        generation_config: { max_new_tokens: maxTokens, min_new_tokens: null, do_sample: false, eos_token_id: null } as never,
      })) as { tolist(): bigint[][] };
      const wall = performance.now() - t;
      return { ids: out.tolist()[0].map(Number).slice(PROMPT_TOKENS), wall, stamps };
    };
    await engineGen(8); // warm-up
    await tjsGen(8);
    const bandwidth: number[] = [];
    const engineRuns: (Awaited<ReturnType<typeof engineGen>> & { other_cores: number; quiet_before: boolean })[] = [];
    const tjsRuns: (Awaited<ReturnType<typeof tjsGen>> & { other_cores: number; quiet_before: boolean })[] = [];
    for (let i = 0; i < RUNS; i++) {
      const ours = async () => {
        const m = await measured(pids, async () => (bandwidth.push(copyBandwidth()), engineGen(NEW_TOKENS)));
        engineRuns.push({ ...m.value, other_cores: m.otherCores, quiet_before: m.quietBefore });
      };
      const theirs = async () => {
        const m = await measured(pids, () => tjsGen(NEW_TOKENS));
        tjsRuns.push({ ...m.value, other_cores: m.otherCores, quiet_before: m.quietBefore });
      };
      if (i % 2 === 0) await ours().then(theirs);
      else await theirs().then(ours);
    }
    await tjsModel.dispose();
    const bw2 = (await measured([process.pid], () => parallelCopyBandwidth(os.cpus().length))).value;

    const bw = median(bandwidth);
    const bound = bw / w.bytes;
    const engineIds = engineRuns[0].ids;
    const tjsIds = tjsRuns[0].ids;
    const sameIds = engineIds.length === NEW_TOKENS && engineRuns.every((r) => r.ids.join() === engineIds.join()) && tjsRuns.every((r) => r.ids.join() === engineIds.join());
    const firstDiff = engineIds.findIndex((id, i) => id !== tjsIds[i]);
    const engineTokS = 1000 / median(engineRuns.map((r) => r.perTokenMs));
    const engineStreamTokS = median(engineRuns.map((r) => decodeRate(r.stamps)));
    const tjsTokS = median(tjsRuns.map((r) => decodeRate(r.stamps)));
    // the ratio of each pair (run one after the other, on the same machine state), median over the pairs
    const ratio = median(engineRuns.map((r, i) => decodeRate(r.stamps) / decodeRate(tjsRuns[i].stamps)));
    const generate = {
      prompt_tokens: PROMPT_TOKENS,
      new_tokens: NEW_TOKENS,
      tokens_per_s: engineTokS,
      ms_per_token: 1000 / engineTokS,
      tokens_per_s_as_streamed: engineStreamTokS,
      prompt_ms: median(engineRuns.map((r) => r.promptMs)),
      wall_ms: median(engineRuns.map((r) => r.wall)),
      weight_bytes_per_token: w.bytes,
      weight_mib_per_token: w.bytes / 2 ** 20,
      weight_bytes_counted: `the right operand of each of the graph's ${w.matmuls} MatMuls that is a weight: q, k, v, o, gate, up, down in each of ${CONFIG.num_hidden_layers} layers, and the tied embedding [${CONFIG.vocab_size}, ${CONFIG.hidden_size}] as the output projection (biases, norms and the embedding row gathered are left out)`,
      copy_traffic_gib_per_s: bw / 2 ** 30,
      bound_tokens_per_s: bound,
      fraction_of_bound: engineTokS / bound,
      // the same copy on every core at once: more than one thread reads weights, so a token can beat the one-thread bound
      copy_traffic_all_cores_gib_per_s: bw2 / 2 ** 30,
      bound_all_cores_tokens_per_s: bw2 / w.bytes,
      ...others(engineRuns),
      runs: engineRuns.map((r) => ({ tokens_per_s: 1000 / r.perTokenMs, tokens_per_s_as_streamed: decodeRate(r.stamps), prompt_ms: r.promptMs, wall_ms: r.wall, other_cores: r.other_cores, quiet_before: r.quiet_before })),
      copy_traffic_gib_per_s_runs: bandwidth.map((b) => b / 2 ** 30),
    };
    const transformersJs = {
      version: (tjs as { env: { version?: string } }).env.version ?? "unknown",
      load_ms: tjsLoadMs,
      tokens_per_s: tjsTokS,
      wall_ms: median(tjsRuns.map((r) => r.wall)),
      rss_after_load_mib: selfAfter && selfBefore ? selfAfter.rss - selfBefore.rss : NaN,
      ...others(tjsRuns),
      runs: tjsRuns.map((r) => ({ tokens_per_s: decodeRate(r.stamps), wall_ms: r.wall, other_cores: r.other_cores, quiet_before: r.quiet_before })),
      same_token_ids: sameIds,
      ...(firstDiff >= 0 ? { first_difference_at: firstDiff } : {}),
      seqlens_over_transformers_js: ratio,
      seqlens_over_transformers_js_runs: engineRuns.map((r, i) => decodeRate(r.stamps) / decodeRate(tjsRuns[i].stamps)),
    };
    const results = {
      shape: "Qwen2.5-0.5B (model_type qwen2), random weights",
      parameters: w.parameters,
      runs: RUNS,
      folder_bytes: { graph: fs.statSync(onnxFile).size, data: fs.statSync(path.join(DIR, "onnx", "model.onnx_data")).size },
      build: { ...build, key: undefined },
      engine: { load_ms: loadMs, rss_after_load_mib: afterLoad?.rss, peak_rss_while_loading_mib: afterLoad?.peak, rss_before_load_mib: before?.rss, rss_after_inspect_mib: rssAfterInspect, threads: info.threads, device: info.device },
      inspect_512: inspect,
      generate,
      transformers_js: transformersJs,
      bars: { tokens_per_s_fraction_of_bound_min: 0.7, seqlens_over_transformers_js_min: 1 },
      pass: { fraction_of_bound: generate.fraction_of_bound >= 0.7, over_transformers_js: ratio >= 1, same_token_ids: sameIds },
    };
    const file = path.join(ROOT, "bench", "results.json");
    const all = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    all.qwen2_0_5b = results;
    fs.writeFileSync(file, JSON.stringify(all, null, 2) + "\n");

    const ok = (b: boolean) => (b ? "ok" : "FAIL");
    console.log(`Qwen2.5-0.5B-shaped (${(w.parameters / 1e6).toFixed(0)}M, random weights), medians of ${RUNS}:`);
    console.log(`  inspect ${INSPECT_TOKENS} tokens + all attention (${inspect.attention_mib.toFixed(0)} MiB)  ${inspect.wall_ms.toFixed(0).padStart(6)} ms   engine peak RSS ${mib(inspect.engine_peak_rss_mib)}; forward ${inspect.engine_run_ms.toFixed(0)} ms = ${inspect.forward_gflops.toFixed(0)} GFLOP/s (${(100 * inspect.fraction_of_matmul).toFixed(0)}% of a ${gflops.toFixed(0)} GFLOP/s MatMul), attention transfer ${inspect.attention_fetch_ms.toFixed(0)} ms`);
    console.log(`  generate (KV cache, greedy)          ${engineTokS.toFixed(2).padStart(6)} tok/s  reads ${w.bytes / 2 ** 20 > 0 ? (w.bytes / 2 ** 20).toFixed(0) : "?"} MiB of weights per token: at most ${bound.toFixed(2)} tok/s at ${(bw / 2 ** 30).toFixed(1)} GiB/s (${(100 * generate.fraction_of_bound).toFixed(0)}% of it, >= 70% ${ok(results.pass.fraction_of_bound)}; ${generate.bound_all_cores_tokens_per_s.toFixed(2)} tok/s at all cores' ${(bw2 / 2 ** 30).toFixed(1)} GiB/s)`);
    console.log(`  transformers.js ${transformersJs.version}                ${tjsTokS.toFixed(2).padStart(6)} tok/s  SeqLens ${engineStreamTokS.toFixed(2)} tok/s as streamed: ${ratio.toFixed(2)}x, median of pairs (>= 1 ${ok(results.pass.over_transformers_js)}); same token ids ${ok(sameIds)}${firstDiff >= 0 ? ` (first difference at ${firstDiff})` : ""}`);
    const beside = inspect.runs_beside_others + generate.runs_beside_others + transformersJs.runs_beside_others;
    if (beside > 0) console.log(`  ${beside} of ${3 * RUNS} runs shared the CPUs with other processes (over a quarter of a core on average; other_cores in the results)`);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    client.dispose();
  }
  if (process.env.SEQLENS_BENCH_VERBOSE) for (const l of logs) console.log(l);
}

if (process.argv[2] === "--build") {
  try {
    buildModel(DIR, process.argv[3]);
  } catch (e) {
    console.error(`building the model failed: ${e instanceof Error ? e.stack : e}`);
    process.exit(1);
  }
} else {
  main().catch((e) => {
    console.error(`llama bench failed: ${e instanceof Error ? e.stack : e}`);
    process.exit(1);
  });
}
