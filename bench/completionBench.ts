// Generation speed of a GPT-2-small-shaped decoder (124M parameters, random weights, written by the
// project's ONNX exporter) with the KV cache, as float32 and as its int8 copy, beside the memory
// bandwidth measured in the same run: each token reads every weight once, so weight bytes per
// token over the memory bandwidth (the traffic of a large copy, read plus written) is about the
// fastest a token can be. Added to bench/results.json.
//   npx tsx bench/completionBench.ts        (part of npm run bench)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { quantizeDynamic } from "../engine/formats/quantize";
import { decodeOnnx } from "../engine/formats/onnxWeights";
import { EngineService } from "../engine/service";
import { buildGpt2Small } from "./gpt2Small";
import { copyBandwidth, median } from "./stats";

const ROOT = path.resolve(__dirname, "..");
const DIR = process.env.SEQLENS_BENCH_GPT2_DIR ?? path.join(os.tmpdir(), "seqlens-bench-gpt2-small");
const RUNS = Number(process.env.SEQLENS_BENCH_RUNS ?? 5);

function int8Copy(src: string, dst: string): void {
  if (fs.existsSync(path.join(dst, "onnx", "model.onnx"))) return;
  fs.mkdirSync(path.join(dst, "onnx"), { recursive: true });
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  fs.writeFileSync(path.join(dst, "onnx", "model.onnx"), quantizeDynamic(path.join(src, "onnx", "model.onnx")).bytes);
}

/** Bytes of weights one token reads: every matrix a MatMul multiplies by (the output projection reads all of wte). */
function weightBytesPerToken(file: string): { bytes: number; parameters: number } {
  const g = decodeOnnx(file, fs.readFileSync(file)).graph!;
  const size = new Map<string, { bytes: number; elements: number }>();
  for (const t of g.initializer ?? []) {
    const elements = (t.dims ?? []).map(Number).reduce((a, b) => a * b, 1);
    const per = t.dataType === onnx.TensorProto.DataType.FLOAT ? 4 : t.dataType === onnx.TensorProto.DataType.INT8 || t.dataType === onnx.TensorProto.DataType.UINT8 ? 1 : 4;
    size.set(t.name!, { bytes: elements * per, elements });
  }
  const transposed = new Map<string, string>();
  for (const n of g.node ?? []) if (n.opType === "Transpose" && size.has(n.input![0])) transposed.set(n.output![0], n.input![0]);
  let bytes = 0;
  for (const n of g.node ?? []) {
    if (n.opType !== "MatMul" && n.opType !== "MatMulInteger") continue;
    const w = size.get(n.input![1]) ?? size.get(transposed.get(n.input![1]) ?? "");
    if (w) bytes += w.bytes;
  }
  let parameters = 0;
  for (const t of g.initializer ?? []) if (t.dataType === onnx.TensorProto.DataType.FLOAT || t.dataType === onnx.TensorProto.DataType.INT8) parameters += size.get(t.name!)!.elements;
  return { bytes, parameters };
}


async function main() {
  const t0 = performance.now();
  buildGpt2Small(DIR);
  const int8Dir = `${DIR}-int8`;
  int8Copy(DIR, int8Dir);
  console.log(`GPT-2-small-shaped model ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${DIR})`);
  const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
  const service = new EngineService({ providers: "cpu" });
  const prompt = fs.readFileSync(path.join(ROOT, "samples", "data", "ts-lib", "heldout.txt"), "utf8").slice(0, 500);
  const bandwidth: number[] = [];
  const out: Record<string, { tokens_per_s: number; ms_per_token: number; weight_mib_per_token: number; bound_tokens_per_s: number }> = {};
  const parameters = weightBytesPerToken(path.join(DIR, "onnx", "model.onnx")).parameters;
  for (const [name, dir] of [["float32", DIR], ["int8", int8Dir]] as const) {
    const { bytes } = weightBytesPerToken(path.join(dir, "onnx", "model.onnx"));
    await service.call("generate", { model: dir, text: prompt, maxTokens: 8, greedy: true, stopAtEos: false }, ctx); // load and warm up
    const perToken: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bandwidth.push(copyBandwidth());
      const r = await service.call("generate", { model: dir, text: prompt, maxTokens: 32, greedy: true, stopAtEos: false }, ctx);
      perToken.push(r.ms.perToken);
    }
    out[name] = { tokens_per_s: 1000 / median(perToken), ms_per_token: median(perToken), weight_mib_per_token: bytes / 2 ** 20, bound_tokens_per_s: 0 };
  }
  // one bandwidth for both: the median of the copies between all the runs
  const bw = median(bandwidth);
  for (const r of Object.values(out)) r.bound_tokens_per_s = bw / (r.weight_mib_per_token * 2 ** 20);
  const file = path.join(ROOT, "bench", "results.json");
  const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  results.gpt2_small = { parameters, ...out, copy_traffic_gib_per_s: bw / 2 ** 30, bars: { tokens_per_s_min: 20 }, pass: { float32: out.float32.tokens_per_s >= 20, int8: out.int8.tokens_per_s >= 20 } };
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  console.log(`memory bandwidth (a copy: read + written) ${(bw / 2 ** 30).toFixed(1).padStart(5)} GiB/s (median of ${bandwidth.length})`);
  for (const [name, r] of Object.entries(out)) {
    console.log(`GPT-2 small (${(parameters / 1e6).toFixed(0)}M) ${name.padEnd(7)} KV cache ${r.tokens_per_s.toFixed(1).padStart(8)} tok/s  >= 20 ${r.tokens_per_s >= 20 ? "ok" : "FAIL"}; reads ${r.weight_mib_per_token.toFixed(0)} MiB of weights per token: at most ${r.bound_tokens_per_s.toFixed(1)} tok/s at that bandwidth (${((100 * r.tokens_per_s) / r.bound_tokens_per_s).toFixed(0)}% of it)`);
  }
}

main().catch((e) => {
  console.error(`completion bench failed: ${e instanceof Error ? e.stack : e}`);
  process.exit(1);
});
