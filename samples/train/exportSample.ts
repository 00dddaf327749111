// Turns the training checkpoints into model folders in the optimum / transformers.js layout:
//   samples/models/tiny-gpt/        (final)   config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx
//   samples/models/tiny-gpt-early/  (early)   the same, from the early checkpoint
//
//   npx tsx samples/train/exportSample.ts [--checkpoint FILE --out DIR]
import * as fs from "node:fs";
import * as path from "node:path";
import { DATA_DIR } from "./corpus";
import { CKPT_DIR, CONFIG } from "./trainGpt";
import { readSafetensors } from "../../engine/formats/safetensors";
import { exportGpt2Onnx } from "../../engine/formats/gpt2Export";

const here = path.dirname(new URL(import.meta.url).pathname);
export const MODELS_DIR = path.resolve(here, "../models");

export function hfConfig(eosId: number): Record<string, unknown> {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: CONFIG.vocabSize,
    n_positions: CONFIG.nPositions,
    n_ctx: CONFIG.nPositions,
    n_embd: CONFIG.nEmbd,
    n_layer: CONFIG.nLayer,
    n_head: CONFIG.nHead,
    n_inner: null,
    activation_function: "gelu_new",
    layer_norm_epsilon: CONFIG.layerNormEpsilon,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    initializer_range: 0.02,
    bos_token_id: eosId,
    eos_token_id: eosId,
    tie_word_embeddings: true,
    use_cache: true,
  };
}

export function exportCheckpoint(checkpoint: string, out: string): void {
  const { tensors, metadata } = readSafetensors(checkpoint);
  const cfg = hfConfig(CONFIG.vocabSize - 1);
  const bytes = exportGpt2Onnx(
    { vocab_size: CONFIG.vocabSize, n_positions: CONFIG.nPositions, n_embd: CONFIG.nEmbd, n_layer: CONFIG.nLayer, n_head: CONFIG.nHead, layer_norm_epsilon: CONFIG.layerNormEpsilon },
    (name) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`${checkpoint}: no tensor ${name}`);
      return t;
    },
    { training_step: metadata.step ?? "unknown", source: "samples/train/trainGpt.ts" },
  );
  fs.mkdirSync(path.join(out, "onnx"), { recursive: true });
  fs.writeFileSync(path.join(out, "onnx", "model.onnx"), bytes);
  fs.writeFileSync(path.join(out, "config.json"), JSON.stringify(cfg, null, 2) + "\n");
  fs.writeFileSync(path.join(out, "generation_config.json"), JSON.stringify({ bos_token_id: cfg.bos_token_id, eos_token_id: cfg.eos_token_id }, null, 2) + "\n");
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(DATA_DIR, "tokenizer", f), path.join(out, f));
  console.log(`exported step ${metadata.step} of ${checkpoint} -> ${out} (${(bytes.length / 2 ** 20).toFixed(1)} MiB onnx)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const i = process.argv.indexOf("--checkpoint");
  if (i > 0) {
    exportCheckpoint(process.argv[i + 1], process.argv[process.argv.indexOf("--out") + 1]);
  } else {
    exportCheckpoint(path.join(CKPT_DIR, "final.safetensors"), path.join(MODELS_DIR, "tiny-gpt"));
    exportCheckpoint(path.join(CKPT_DIR, "early.safetensors"), path.join(MODELS_DIR, "tiny-gpt-early"));
  }
}
