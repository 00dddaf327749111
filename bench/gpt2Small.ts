// A GPT-2-small-shaped decoder (124M parameters: 12 layers, 12 heads, width 768, vocabulary 50,257,
// 1,024 positions) with seeded random weights, written by the project's ONNX exporter
// (engine/formats/gpt2Export.ts) with tiny-gpt's tokenizer, for the benches that need a model of
// that size (completionBench.ts, attributionBench.ts). Built once into the folder given.
import * as fs from "node:fs";
import * as path from "node:path";
import { exportGpt2Onnx, type Gpt2ExportConfig } from "../engine/formats/gpt2Export";
import { seededRandom } from "../engine/random";

const ROOT = path.resolve(__dirname, "..");
const TINY = path.join(ROOT, "samples", "models", "tiny-gpt");
export const GPT2_SMALL: Gpt2ExportConfig = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, layer_norm_epsilon: 1e-5 };
const CFG = GPT2_SMALL;

/** GPT-2 small's shapes with random weights (the tiny model's tokenizer: its ids are the first 4,096). */
export function buildGpt2Small(dir: string): void {
  if (fs.existsSync(path.join(dir, "onnx", "model.onnx"))) return;
  const rnd = seededRandom(124);
  const d = CFG.n_embd;
  const shapes = new Map<string, number[]>([
    ["transformer.wte.weight", [CFG.vocab_size, d]],
    ["transformer.wpe.weight", [CFG.n_positions, d]],
    ["transformer.ln_f.weight", [d]],
    ["transformer.ln_f.bias", [d]],
  ]);
  for (let i = 0; i < CFG.n_layer; i++) {
    const p = `transformer.h.${i}.`;
    for (const [n, s] of [["ln_1.weight", [d]], ["ln_1.bias", [d]], ["attn.c_attn.weight", [d, 3 * d]], ["attn.c_attn.bias", [3 * d]], ["attn.c_proj.weight", [d, d]], ["attn.c_proj.bias", [d]], ["ln_2.weight", [d]], ["ln_2.bias", [d]], ["mlp.c_fc.weight", [d, 4 * d]], ["mlp.c_fc.bias", [4 * d]], ["mlp.c_proj.weight", [4 * d, d]], ["mlp.c_proj.bias", [d]]] as const) shapes.set(p + n, [...s]);
  }
  const weight = (name: string) => {
    const shape = shapes.get(name)!;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (/ln_[12f]\.weight$/.test(name)) data.fill(1);
    else if (!/\.bias$/.test(name)) for (let i = 0; i < n; i++) data[i] = (rnd() - 0.5) * 0.04;
    // rows past the tokenizer's 4,096 tokens score 0: greedy picks stay tokens it can print
    if (name === "transformer.wte.weight") data.fill(0, 4096 * d);
    return { shape, data };
  };
  const bytes = exportGpt2Onnx(CFG, weight, { source: "bench/completionBench.ts (random weights)" });
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), bytes);
  const tinyCfg = JSON.parse(fs.readFileSync(path.join(TINY, "config.json"), "utf8"));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...tinyCfg, vocab_size: CFG.vocab_size, n_positions: CFG.n_positions, n_ctx: CFG.n_positions, n_embd: d, n_layer: CFG.n_layer, n_head: CFG.n_head }, null, 2));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
}

