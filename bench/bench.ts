// npm run bench: engine timings on this machine, written to bench/results.json and printed as a
// table. Medians of several runs; the machine is noisy, so ratios measured in one run matter most.
//   inspect_ms            inspection (all layers and heads + top-k) at 64/256/512 tokens, engine time
//   generate_tokens_per_s with and without the KV cache, at 256 tokens of context
//   ort_matmul_gflops     a 512x512 float32 MatMul in onnxruntime, the machine's yardstick
//   compare_512           comparing the early and final tiny-GPT checkpoints on 512 tokens (two
//                         forwards with attention, divergences over the vocabulary, head changes)
//                         against one inspection of the same 512 tokens, interleaved, medians
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineService } from "../engine/service";
import { GraphBuilder, DataType } from "../engine/formats/onnxBuilder";
import { openSession, ort, ortVersion } from "../engine/runtime/onnx/session";
import { median } from "./stats";

const ROOT = path.resolve(__dirname, "..");
const MODEL = process.env.SEQLENS_BENCH_MODEL ?? path.join(ROOT, "samples", "models", "tiny-gpt");
const RUNS = Number(process.env.SEQLENS_BENCH_RUNS ?? 15);


async function matmulGflops(n: number): Promise<number> {
  const g = new GraphBuilder();
  g.input("a", DataType.FLOAT, [n, n]);
  g.input("b", DataType.FLOAT, [n, n]);
  g.rename(g.op("MatMul", ["a", "b"], "MatMul"), "c");
  g.output("c", DataType.FLOAT, [n, n]);
  const file = path.join(os.tmpdir(), `seqlens-bench-matmul-${n}.onnx`);
  fs.writeFileSync(file, g.model("matmul", 17, "seqlens-bench"));
  const { session } = await openSession(file, ["cpu"]);
  const T = ort().Tensor;
  const a = new T("float32", Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000), [n, n]);
  const b = new T("float32", Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000), [n, n]);
  for (let i = 0; i < 5; i++) await session.run({ a, b });
  const times: number[] = [];
  for (let i = 0; i < 3 * RUNS; i++) {
    const t0 = performance.now();
    await session.run({ a, b });
    times.push(performance.now() - t0);
  }
  await session.release();
  return (2 * n ** 3) / (median(times) / 1000) / 1e9;
}

/** Forward FLOPs of a GPT-2 decoder on T tokens (multiply-adds x 2): projections, attention, MLP, logits. */
function inspectFlops(c: { n_layer: number; n_embd: number; vocab_size: number }, T: number): number {
  const d = c.n_embd;
  const perLayer = 2 * T * d * 3 * d + 2 * T * T * d * 2 + 2 * T * d * d + 2 * T * d * 4 * d * 2;
  return c.n_layer * perLayer + 2 * T * d * c.vocab_size;
}

async function main() {
  const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
  const service = new EngineService({ providers: process.env.SEQLENS_EP ?? "auto" });
  const model = await service.model(MODEL);
  const text = fs.readFileSync(path.join(ROOT, "samples", "data", "ts-lib", "heldout.txt"), "utf8");
  const allIds = model.tokenizer.encode(text.slice(0, 20000));
  const gflops = await matmulGflops(512);

  const inspect: Record<string, number> = {};
  for (const T of [64, 256, 512]) {
    const ids = allIds.slice(0, T);
    for (let i = 0; i < 3; i++) await service.call("inspect", { model: MODEL, ids }, ctx);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await service.call("inspect", { model: MODEL, ids }, ctx);
      times.push(r.ms.total);
      await service.call("release", { handle: r.handle }, ctx);
    }
    inspect[String(T)] = median(times);
  }

  // Compare against inspect, interleaved so both see the same machine.
  const EARLY = path.join(ROOT, "samples", "models", "tiny-gpt-early");
  const ids512 = allIds.slice(0, 512);
  const cmpTimes: number[] = [];
  const inspTimes: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const r = await service.call("inspect", { model: MODEL, ids: ids512 }, ctx);
    await service.call("release", { handle: r.handle }, ctx);
    const c = await service.call("compare", { modelA: EARLY, modelB: MODEL, ids: ids512 }, ctx);
    for (const h of c.handles) await service.call("release", { handle: h }, ctx);
    if (i >= 2) {
      inspTimes.push(r.ms.total);
      cmpTimes.push(c.ms.total);
    }
  }
  const compare512 = { compare_ms: median(cmpTimes), inspect_ms: median(inspTimes), ratio: median(cmpTimes) / median(inspTimes) };

  const prompt = model.tokenizer.decode(allIds.slice(0, 256));
  const gen: Record<string, number> = {};
  const perToken: Record<string, number[]> = { kv_cache: [], no_cache: [] };
  for (let r = 0; r < 5; r++) {
    for (const [name, useCache] of [["kv_cache", true], ["no_cache", false]] as const) {
      const res = await service.call("generate", { model: MODEL, text: prompt, maxTokens: 32, greedy: true, useCache, stopAtEos: false }, ctx);
      perToken[name].push(res.ms.perToken);
    }
  }
  gen.kv_cache = 1000 / median(perToken.kv_cache);
  gen.no_cache = 1000 / median(perToken.no_cache);

  const flops256 = inspectFlops(model.config, 256);
  const achieved = flops256 / (inspect["256"] / 1000) / 1e9;
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version, runtime: `onnxruntime-node ${ortVersion()}`, device: model.device, threads: model.info().threads },
    model: { path: path.relative(ROOT, MODEL), parameters: model.probe.parameters },
    runs: RUNS,
    inspect_ms: inspect,
    generate_tokens_per_s: gen,
    kv_cache_speedup: gen.kv_cache / gen.no_cache,
    ort_matmul_gflops: gflops,
    inspect_256_gflops: achieved,
    inspect_256_fraction_of_matmul: achieved / gflops,
    compare_512: compare512,
    bars: { inspect_256_ms_max: 50, kv_cache_speedup_min: 5, compare_512_ratio_max: 2.2 },
    pass: { inspect_256: inspect["256"] <= 50, kv_cache_speedup: gen.kv_cache / gen.no_cache >= 5, compare_512: compare512.ratio <= 2.2 },
  };
  fs.writeFileSync(path.join(ROOT, "bench", "results.json"), JSON.stringify(results, null, 2) + "\n");
  const rows: [string, string, string][] = [
    ["inspect_ms @64", inspect["64"].toFixed(2), ""],
    ["inspect_ms @256", inspect["256"].toFixed(2), `<= 50 ${results.pass.inspect_256 ? "ok" : "FAIL"}`],
    ["inspect_ms @512", inspect["512"].toFixed(2), ""],
    ["generate tok/s, KV cache @256", gen.kv_cache.toFixed(1), ""],
    ["generate tok/s, no cache @256", gen.no_cache.toFixed(1), ""],
    ["KV cache speed-up", results.kv_cache_speedup.toFixed(1) + "x", `>= 5x ${results.pass.kv_cache_speedup ? "ok" : "FAIL"}`],
    ["compare @512 (early vs final), ms", compare512.compare_ms.toFixed(1), `${compare512.ratio.toFixed(2)}x inspect (${compare512.inspect_ms.toFixed(1)} ms) <= 2.2x ${results.pass.compare_512 ? "ok" : "FAIL"}`],
    ["ORT 512x512 matmul GFLOP/s", gflops.toFixed(1), ""],
    ["inspect @256 GFLOP/s", achieved.toFixed(2), `${(100 * results.inspect_256_fraction_of_matmul).toFixed(1)}% of matmul`],
  ];
  console.log(`SeqLens bench (${results.machine.cpus} cpus, ${results.machine.runtime}, ${results.machine.device}, medians of ${RUNS})`);
  for (const [k, v, note] of rows) console.log(`${k.padEnd(32)} ${v.padStart(10)}  ${note}`);
  console.log(`wrote ${path.relative(process.cwd(), path.join(ROOT, "bench", "results.json"))}`);
  const loaded = await service.model(MODEL);
  await loaded.dispose();
}

main().catch((e) => {
  console.error(`bench failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
