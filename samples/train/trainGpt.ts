// Trains the bundled tiny GPT (GPT-2 architecture) on the TypeScript lib corpus with TensorFlow.js.
// Fixed seed, held-out split, resumes from its last checkpoint, reports held-out bits per byte
// next to a byte-unigram baseline and gzip -9. Writes safetensors checkpoints that
// exportSample.ts turns into model folders.
//
//   npx tsx samples/train/trainGpt.ts [--steps 800] [--early-step 100] [--batch 4] [--seq 512] [--ckpt-dir DIR]
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { Tokenizer } from "@huggingface/tokenizers";
import { DATA_DIR } from "./corpus";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { Gpt2Config, Gpt2Weights, gpt2Forward, hfNamesToWeights, weightsToHfNames } from "../../engine/runtime/tfjs/gpt2";
import { readSafetensors, writeSafetensors } from "../../engine/formats/safetensors";
import { seededRandom } from "../../engine/random";

const here = path.dirname(new URL(import.meta.url).pathname);
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};

export const CKPT_DIR = path.resolve(arg("--ckpt-dir", path.join(here, ".ckpt")));

export const CONFIG: Gpt2Config = { vocabSize: 4096, nPositions: 512, nEmbd: 128, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5 };
const SEED = 1234;
const BATCH = Number(arg("--batch", "8"));
const SEQ = Number(arg("--seq", "256"));
const STEPS = Number(arg("--steps", "3000"));
const EARLY_STEP = Number(arg("--early-step", "300"));
const LR = 3e-3;
const WARMUP = 100;
const EVAL_EVERY = Number(arg("--eval-every", "250"));
const CKPT_EVERY = 50;

function initWeights(cfg: Gpt2Config): Map<string, { shape: number[]; data: Float32Array }> {
  const rand = seededRandom(SEED);
  const normal = (n: number, std: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = Math.max(rand(), 1e-12);
      const v = rand();
      const r = Math.sqrt(-2 * Math.log(u)) * std;
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  };
  const d = cfg.nEmbd;
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (n: string, shape: number[], data: Float32Array) => m.set(n, { shape, data });
  const ones = (k: number) => new Float32Array(k).fill(1);
  const zeros = (k: number) => new Float32Array(k);
  put("transformer.wte.weight", [cfg.vocabSize, d], normal(cfg.vocabSize * d, 0.02));
  put("transformer.wpe.weight", [cfg.nPositions, d], normal(cfg.nPositions * d, 0.01));
  const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
  for (let i = 0; i < cfg.nLayer; i++) {
    const p = `transformer.h.${i}.`;
    put(p + "ln_1.weight", [d], ones(d)); put(p + "ln_1.bias", [d], zeros(d));
    put(p + "attn.c_attn.weight", [d, 3 * d], normal(3 * d * d, 0.02)); put(p + "attn.c_attn.bias", [3 * d], zeros(3 * d));
    put(p + "attn.c_proj.weight", [d, d], normal(d * d, projStd)); put(p + "attn.c_proj.bias", [d], zeros(d));
    put(p + "ln_2.weight", [d], ones(d)); put(p + "ln_2.bias", [d], zeros(d));
    put(p + "mlp.c_fc.weight", [d, 4 * d], normal(4 * d * d, 0.02)); put(p + "mlp.c_fc.bias", [4 * d], zeros(4 * d));
    put(p + "mlp.c_proj.weight", [4 * d, d], normal(4 * d * d, projStd)); put(p + "mlp.c_proj.bias", [d], zeros(d));
  }
  put("transformer.ln_f.weight", [d], ones(d)); put("transformer.ln_f.bias", [d], zeros(d));
  return m;
}

/** Trainable variables with stable names, so optimizer state saved by name maps back on resume. */
function asVariables(w: Gpt2Weights): { weights: Gpt2Weights; list: tf.Variable[] } {
  const list: tf.Variable[] = [];
  const v = <T extends tf.Tensor>(t: T, name: string): T => {
    const x = tf.variable(t, true, name);
    t.dispose();
    list.push(x);
    return x as unknown as T;
  };
  const layers = w.layers.map((L, i) => {
    const o = {} as Record<string, tf.Tensor>;
    for (const [k, t] of Object.entries(L)) o[k] = v(t as tf.Tensor, `h${i}.${k}`);
    return o as unknown as Gpt2Weights["layers"][number];
  });
  return { weights: { wte: v(w.wte, "wte"), wpe: v(w.wpe, "wpe"), layers, lnfg: v(w.lnfg, "lnfg"), lnfb: v(w.lnfb, "lnfb") }, list };
}

function lossOf(cfg: Gpt2Config, w: Gpt2Weights, x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  const { logits } = gpt2Forward(cfg, w, x);
  const flat = logits.reshape([-1, cfg.vocabSize]) as tf.Tensor2D;
  const labels = tf.oneHot(y.reshape([-1]) as tf.Tensor1D, cfg.vocabSize);
  return tf.logSoftmax(flat).mul(labels).sum().div(-flat.shape[0]) as tf.Scalar; // mean nats per token
}

/** Mean held-out loss in nats per token over non-overlapping windows, and the bytes those tokens cover. */
export async function heldoutNats(cfg: Gpt2Config, w: Gpt2Weights, ids: Int32Array, seq: number, maxWindows = Infinity): Promise<{ nats: number; tokens: number }> {
  let total = 0;
  let count = 0;
  for (let s = 0, k = 0; s + seq + 1 <= ids.length && k < maxWindows; s += seq, k++) {
    const l = tf.tidy(() => {
      const x = tf.tensor2d(ids.subarray(s, s + seq), [1, seq], "int32");
      const y = tf.tensor2d(ids.subarray(s + 1, s + seq + 1), [1, seq], "int32");
      return lossOf(cfg, w, x, y);
    });
    total += (await l.data())[0] * seq;
    count += seq;
    l.dispose();
  }
  return { nats: total / count, tokens: count };
}

export function byteUnigramBits(train: Buffer, heldout: Buffer): number {
  const counts = new Float64Array(256).fill(1); // add-one smoothing
  for (const b of train) counts[b]++;
  const total = counts.reduce((a, b) => a + b, 0);
  let bits = 0;
  for (const b of heldout) bits -= Math.log2(counts[b] / total);
  return bits / heldout.length;
}

async function main() {
  const backend = await initTfjs();
  const tokDir = path.join(DATA_DIR, "tokenizer");
  const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(path.join(tokDir, "tokenizer.json"), "utf8")), JSON.parse(fs.readFileSync(path.join(tokDir, "tokenizer_config.json"), "utf8")));
  const trainText = fs.readFileSync(path.join(DATA_DIR, "train.txt"), "utf8");
  const heldText = fs.readFileSync(path.join(DATA_DIR, "heldout.txt"), "utf8");
  const trainIds = Int32Array.from(tokenizer.encode(trainText).ids);
  const heldIds = Int32Array.from(tokenizer.encode(heldText).ids);
  const heldBytes = Buffer.byteLength(heldText);
  const bytesPerToken = heldBytes / heldIds.length;
  const unigram = byteUnigramBits(Buffer.from(trainText), Buffer.from(heldText));
  const gzipBits = (zlib.gzipSync(Buffer.from(heldText), { level: 9 }).length * 8) / heldBytes;
  console.log(`backend ${backend}; train ${trainIds.length} tokens, held-out ${heldIds.length} tokens (${bytesPerToken.toFixed(2)} bytes/token)`);
  console.log(`baselines on held-out: byte unigram ${unigram.toFixed(3)} bits/byte, gzip -9 ${gzipBits.toFixed(3)} bits/byte`);

  fs.mkdirSync(CKPT_DIR, { recursive: true });
  const lastFile = path.join(CKPT_DIR, "last.safetensors");
  let step = 0;
  let init = initWeights(CONFIG);
  let adamState: Map<string, { shape: number[]; data: Float32Array }> | undefined;
  if (fs.existsSync(lastFile)) {
    const { tensors, metadata } = readSafetensors(lastFile);
    step = Number(metadata.step);
    init = new Map([...tensors].filter(([k]) => k.startsWith("transformer.")));
    adamState = new Map([...tensors].filter(([k]) => k.startsWith("adam.")));
    console.log(`resuming from step ${step}`);
  }
  const { weights, list } = asVariables(hfNamesToWeights(CONFIG, (n) => init.get(n)!));
  const opt = tf.train.adam(LR, 0.9, 0.95, 1e-8);
  const lrAt = (s: number) => (s < WARMUP ? (LR * (s + 1)) / WARMUP : 0.1 * LR + 0.9 * LR * 0.5 * (1 + Math.cos((Math.PI * (s - WARMUP)) / Math.max(1, STEPS - WARMUP))));
  const varNames = list.map((v) => v.name);
  if (adamState && adamState.size > 0) {
    // tfjs's Adam restores its moments by position: iteration, every first moment, every second moment.
    const m = varNames.map((n) => adamState.get(`adam.m.${n}`));
    const v = varNames.map((n) => adamState.get(`adam.v.${n}`));
    if ([...m, ...v].every((t) => t !== undefined)) {
      const named = [{ name: "iter", tensor: tf.scalar(step) }];
      varNames.forEach((n, i) => named.push({ name: `${n}/m`, tensor: tf.tensor(m[i]!.data, m[i]!.shape) }));
      varNames.forEach((n, i) => named.push({ name: `${n}/v`, tensor: tf.tensor(v[i]!.data, v[i]!.shape) }));
      await opt.setWeights(named);
    } else {
      console.log("the checkpoint's optimizer state does not name these variables: Adam moments start afresh");
    }
  }
  const save = async (file: string, s: number) => {
    const m = weightsToHfNames(weights);
    const w = await opt.getWeights();
    for (const nt of w.slice(1)) {
      const [vn, kind] = [nt.name.slice(0, nt.name.lastIndexOf("/")), nt.name.slice(nt.name.lastIndexOf("/") + 1)];
      m.set(`adam.${kind}.${vn}`, { shape: nt.tensor.shape.slice(), data: (await nt.tensor.data()) as Float32Array });
    }
    writeSafetensors(file, m, { step: String(s), config: JSON.stringify(CONFIG), seed: String(SEED) });
  };
  const rand = seededRandom(SEED + step * 7919);
  const log = path.join(CKPT_DIR, "train.log");
  const t0 = Date.now();
  for (; step < STEPS; ) {
    (opt as unknown as { learningRate: number }).learningRate = lrAt(step);
    const xb = new Int32Array(BATCH * SEQ);
    const yb = new Int32Array(BATCH * SEQ);
    for (let b = 0; b < BATCH; b++) {
      const s = Math.floor(rand() * (trainIds.length - SEQ - 1));
      xb.set(trainIds.subarray(s, s + SEQ), b * SEQ);
      yb.set(trainIds.subarray(s + 1, s + SEQ + 1), b * SEQ);
    }
    const lossT = tf.tidy(() => {
      const x = tf.tensor2d(xb, [BATCH, SEQ], "int32");
      const y = tf.tensor2d(yb, [BATCH, SEQ], "int32");
      const { value, grads } = tf.variableGrads(() => lossOf(CONFIG, weights, x, y), list);
      // clip the global gradient norm at 1
      const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => g.square().sum())));
      const scale = tf.minimum(1, tf.div(1, norm.add(1e-6)));
      const clipped: tf.NamedTensorMap = {};
      for (const [k, g] of Object.entries(grads)) clipped[k] = g.mul(scale);
      opt.applyGradients(clipped as never);
      return value;
    });
    const loss = (await lossT.data())[0];
    lossT.dispose();
    step++;
    if (step % 10 === 0) {
      const line = `step ${step} loss ${loss.toFixed(3)} nats/token (${(loss / Math.LN2 / bytesPerToken).toFixed(3)} bits/byte train) lr ${lrAt(step).toExponential(2)} ${((Date.now() - t0) / 1000).toFixed(0)} s`;
      console.log(line);
      fs.appendFileSync(log, line + "\n");
    }
    if (step % CKPT_EVERY === 0 || step === STEPS || step === EARLY_STEP) await save(lastFile, step);
    if (step === EARLY_STEP) fs.copyFileSync(lastFile, path.join(CKPT_DIR, "early.safetensors"));
    if (step % EVAL_EVERY === 0 || step === STEPS) {
      const { nats } = await heldoutNats(CONFIG, weights, heldIds, SEQ, 40);
      const line = `eval step ${step}: held-out ${(nats / Math.LN2 / bytesPerToken).toFixed(3)} bits/byte (first 40 windows)`;
      console.log(line);
      fs.appendFileSync(log, line + "\n");
    }
  }
  fs.copyFileSync(lastFile, path.join(CKPT_DIR, "final.safetensors"));
  const { nats } = await heldoutNats(CONFIG, weights, heldIds, SEQ);
  const bpb = nats / Math.LN2 / bytesPerToken;
  const summary = { steps: STEPS, batch: BATCH, seq: SEQ, backend, heldoutBitsPerByte: bpb, heldoutNatsPerToken: nats, byteUnigramBitsPerByte: unigram, gzip9BitsPerByte: gzipBits, seconds: (Date.now() - t0) / 1000 };
  fs.writeFileSync(path.join(CKPT_DIR, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  console.log(`final held-out: ${bpb.toFixed(3)} bits/byte (byte unigram ${unigram.toFixed(3)}, gzip -9 ${gzipBits.toFixed(3)})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
