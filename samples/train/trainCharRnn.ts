// Trains a small character-level language model with a recurrent core (LSTM, GRU or simple RNN)
// on the TypeScript lib corpus with the TensorFlow.js Layers API, and writes a SeqLens recurrent
// sample folder: config.json (vocabulary, metrics) and tfjs/model.json + tfjs/weights.bin.
//
//   npx tsx samples/train/trainCharRnn.ts --cell lstm|gru|simple_rnn --out samples/models/char-lstm
//       [--steps 1200] [--units 128] [--embed 32] [--seq 100] [--batch 32] [--ckpt-dir DIR]
//
// Architecture: ids [batch, time] -> Embedding -> RNN (returnSequences) -> RNN (returnSequences)
// -> Dense(vocab) on every step (logits). The time axis has no fixed length.
// Checkpoints (model, Adam state, step) go to --ckpt-dir every --ckpt-every steps; running the same
// command again resumes from the last one. Held-out bits per character are measured on the first
// --eval-chars characters of heldout.txt in non-overlapping windows of --seq, state reset per window.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { DATA_DIR } from "./corpus";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { seededRandom } from "../../engine/random";
import { REPO_ROOT, argOf, repoRelative, saveLayersModel, loadLayersModelFromDir, saveCheckpoint, trainStep, trainableVariables, lrAt, setLearningRate, maxAbsDiff, registerWasmSegmentSum, resumeFromCheckpoint, round } from "./layersTraining";

// ---------------------------------------------------------------------------------------------
// The character language model.

export type CellKind = "lstm" | "gru" | "simple_rnn";
export const UNK = "\uFFFD";

/** Characters (code points) seen at least `minCount` times in `text`, in code-point order, after the unknown entry at id 0. */
export function buildVocab(text: string, minCount: number): string[] {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const kept = [...counts].filter(([ch, n]) => n >= minCount && ch !== UNK).map(([ch]) => ch);
  kept.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  return [UNK, ...kept];
}

export function encode(text: string, vocab: string[], unk: number): Int32Array {
  const index = new Map(vocab.map((c, i) => [c, i]));
  const out: number[] = [];
  for (const ch of text) out.push(index.get(ch) ?? unk);
  return Int32Array.from(out);
}

export function buildCharModel(cell: CellKind, vocabSize: number, embed: number, units: number, seed: number): tf.LayersModel {
  const ids = tf.input({ shape: [null], dtype: "int32", name: "ids" });
  const emb = tf.layers
    .embedding({ inputDim: vocabSize, outputDim: embed, name: "embedding", embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed }) })
    .apply(ids) as tf.SymbolicTensor;
  let h = emb;
  for (let i = 1; i <= 2; i++) {
    const common = {
      units,
      returnSequences: true,
      name: `${cell}_${i}`,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 10 * i }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 10 * i + 1 }),
    };
    const layer =
      cell === "lstm"
        ? tf.layers.lstm({ ...common, unitForgetBias: true }) // recurrentActivation: tfjs default (hardSigmoid)
        : cell === "gru"
          ? tf.layers.gru(common) // tfjs defaults (recurrentActivation hardSigmoid, reset gate before the product)
          : tf.layers.simpleRNN({ ...common, activation: "tanh" });
    h = layer.apply(h) as tf.SymbolicTensor;
  }
  const logits = tf.layers.dense({ units: vocabSize, name: "logits", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: ids, outputs: logits, name: `char_${cell}` });
}

/** Mean cross-entropy in nats per predicted character. */
function charLoss(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D, vocabSize: number, training: boolean): tf.Scalar {
  const logits = model.apply(x, { training }) as tf.Tensor3D;
  const flat = logits.reshape([-1, vocabSize]) as tf.Tensor2D;
  const labels = tf.oneHot(y.reshape([-1]) as tf.Tensor1D, vocabSize);
  return tf.logSoftmax(flat).mul(labels).sum().div(-flat.shape[0]) as tf.Scalar;
}

/** Held-out bits per character over non-overlapping windows of `seq` inputs (state reset per window). */
export async function heldoutBits(model: tf.LayersModel, ids: Int32Array, seq: number, vocabSize: number, batch = 25): Promise<{ bits: number; predicted: number }> {
  const starts: number[] = [];
  for (let s = 0; s + seq + 1 <= ids.length; s += seq) starts.push(s);
  let nats = 0;
  let count = 0;
  for (let i = 0; i < starts.length; i += batch) {
    const group = starts.slice(i, i + batch);
    const xb = new Int32Array(group.length * seq);
    const yb = new Int32Array(group.length * seq);
    group.forEach((s, b) => {
      xb.set(ids.subarray(s, s + seq), b * seq);
      yb.set(ids.subarray(s + 1, s + seq + 1), b * seq);
    });
    const l = tf.tidy(() => charLoss(model, tf.tensor2d(xb, [group.length, seq], "int32"), tf.tensor2d(yb, [group.length, seq], "int32"), vocabSize, false));
    nats += (await l.data())[0] * group.length * seq;
    count += group.length * seq;
    l.dispose();
  }
  return { bits: nats / count / Math.LN2, predicted: count };
}

/** Unigram over the vocabulary ids, counted on the training ids with add-one smoothing, scored on the same predicted positions. */
export function unigramBits(trainIds: Int32Array, ids: Int32Array, seq: number, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const i of trainIds) counts[i]++;
  const total = counts.reduce((a, b) => a + b, 0);
  let bits = 0;
  let n = 0;
  for (let s = 0; s + seq + 1 <= ids.length; s += seq) {
    for (let t = s + 1; t <= s + seq; t++) {
      bits -= Math.log2(counts[ids[t]] / total);
      n++;
    }
  }
  return bits / n;
}

async function main() {
  const cell = argOf("--cell", "lstm") as CellKind;
  if (!["lstm", "gru", "simple_rnn"].includes(cell)) throw new Error(`--cell must be lstm, gru or simple_rnn, not ${cell}`);
  const outDir = path.resolve(argOf("--out", path.join(REPO_ROOT, "samples/models", cell === "simple_rnn" ? "char-rnn" : `char-${cell}`)));
  const ckptDir = path.resolve(argOf("--ckpt-dir", path.join(REPO_ROOT, "samples", "train", ".ckpt", path.basename(outDir))));
  const STEPS = Number(argOf("--steps", "1200"));
  const UNITS = Number(argOf("--units", "128"));
  const EMBED = Number(argOf("--embed", "32"));
  const SEQ = Number(argOf("--seq", "100"));
  const BATCH = Number(argOf("--batch", "32"));
  const LR = Number(argOf("--lr", "3e-3"));
  const WARMUP = Number(argOf("--warmup", "50"));
  const MIN_COUNT = Number(argOf("--min-count", "10"));
  const EVAL_CHARS = Number(argOf("--eval-chars", "20000"));
  const EVAL_EVERY = Number(argOf("--eval-every", "200"));
  const CKPT_EVERY = Number(argOf("--ckpt-every", "50"));
  const CLIP = 1;
  const SEED = Number(argOf("--seed", "1234"));

  const backend = await initTfjs();
  registerWasmSegmentSum();
  const trainText = fs.readFileSync(path.join(DATA_DIR, "train.txt"), "utf8");
  const heldText = fs.readFileSync(path.join(DATA_DIR, "heldout.txt"), "utf8");
  const vocab = buildVocab(trainText, MIN_COUNT);
  const unk = 0;
  const V = vocab.length;
  const trainIds = encode(trainText, vocab, unk);
  const heldSlice = [...heldText].slice(0, EVAL_CHARS + 1).join("");
  const heldIds = encode(heldSlice, vocab, unk);
  const heldUnk = heldIds.reduce((n, i) => n + (i === unk ? 1 : 0), 0);
  const unigram = unigramBits(trainIds, heldIds, SEQ, V);
  const log = (line: string) => {
    console.log(line);
    fs.mkdirSync(ckptDir, { recursive: true });
    fs.appendFileSync(path.join(ckptDir, "train.log"), line + "\n");
  };
  log(`backend ${backend}; cell ${cell}; vocab ${V} (min count ${MIN_COUNT}); train ${trainIds.length} chars; held-out slice ${heldIds.length} chars (${heldUnk} unknown); unigram ${unigram.toFixed(3)} bits/char`);

  const model = buildCharModel(cell, V, EMBED, UNITS, SEED);
  const vars = trainableVariables(model);
  const params = model.countParams();
  const opt = tf.train.adam(LR, 0.9, 0.999, 1e-7);
  let { step, seconds } = await resumeFromCheckpoint(ckptDir, model, opt, log);
  log(`model ${params} parameters: embedding ${V}x${EMBED}, 2 x ${cell}(${UNITS}), dense ${V}; ${STEPS} steps of ${BATCH} x ${SEQ}, Adam ${LR} cosine to ${+(LR / 10).toPrecision(6)}, clip ${CLIP}`);

  let t0 = Date.now();
  let lossSum = 0;
  let lossN = 0;
  while (step < STEPS) {
    // batches depend only on the seed and the step, so a resumed run sees the same data
    const rand = seededRandom(SEED + step * 7919);
    const xb = new Int32Array(BATCH * SEQ);
    const yb = new Int32Array(BATCH * SEQ);
    for (let b = 0; b < BATCH; b++) {
      const s = Math.floor(rand() * (trainIds.length - SEQ - 1));
      xb.set(trainIds.subarray(s, s + SEQ), b * SEQ);
      yb.set(trainIds.subarray(s + 1, s + SEQ + 1), b * SEQ);
    }
    setLearningRate(opt, lrAt(step, STEPS, LR, WARMUP));
    const x = tf.tensor2d(xb, [BATCH, SEQ], "int32");
    const y = tf.tensor2d(yb, [BATCH, SEQ], "int32");
    const lossT = trainStep(opt, vars, () => charLoss(model, x, y, V, true), CLIP);
    const loss = (await lossT.data())[0];
    tf.dispose([x, y, lossT]);
    step++;
    lossSum += loss;
    lossN++;
    const now = Date.now();
    seconds += (now - t0) / 1000;
    t0 = now;
    if (step % 10 === 0 || step === STEPS) {
      log(`step ${step} loss ${(lossSum / lossN / Math.LN2).toFixed(3)} bits/char (train, mean of last ${lossN}) lr ${lrAt(step, STEPS, LR, WARMUP).toExponential(2)} ${seconds.toFixed(0)} s, ${tf.memory().numTensors} tensors`);
      lossSum = 0;
      lossN = 0;
    }
    if (step % EVAL_EVERY === 0 && step < STEPS) {
      const { bits } = await heldoutBits(model, heldIds.subarray(0, 5001), SEQ, V);
      log(`eval step ${step}: held-out ${bits.toFixed(3)} bits/char (first 5,000 characters)`);
      t0 = Date.now();
    }
    if (step % CKPT_EVERY === 0 || step === STEPS) {
      await saveCheckpoint(ckptDir, model, opt, { step, seconds, cell, units: UNITS, embed: EMBED, seq: SEQ, batch: BATCH, steps: STEPS, seed: SEED });
      t0 = Date.now();
    }
  }

  const { bits, predicted } = await heldoutBits(model, heldIds, SEQ, V);
  log(`final held-out: ${bits.toFixed(3)} bits/char over ${predicted} characters (unigram ${unigram.toFixed(3)})`);

  // The sample folder.
  const tfjsDir = path.join(outDir, "tfjs");
  fs.rmSync(tfjsDir, { recursive: true, force: true });
  const bytes = await saveLayersModel(model, tfjsDir);
  const back = await loadLayersModelFromDir(tfjsDir);
  const probe = tf.tensor2d(heldIds.subarray(0, 2 * 37), [2, 37], "int32");
  const diff = await maxAbsDiff(model, back, probe);
  const backBits = (await heldoutBits(back, heldIds, SEQ, V)).bits;
  probe.dispose();
  back.dispose();
  if (diff !== 0 || backBits !== bits) throw new Error(`the saved model does not reproduce the trained one (max diff ${diff}, ${backBits} vs ${bits} bits/char)`);
  log(`saved ${repoRelative(tfjsDir)} (${bytes} bytes of weights); reloaded: identical outputs`);
  const config = {
    model_type: "seqlens-rnn",
    task: "char-lm",
    cell,
    layers: 2,
    units: UNITS,
    embedding: EMBED,
    vocab,
    unk,
    trainedWith: `TensorFlow.js ${tf.version.tfjs} (${backend})`,
    training: {
      corpus: "samples/data/ts-lib/train.txt",
      steps: STEPS,
      batch: BATCH,
      sequenceLength: SEQ,
      optimizer: `Adam ${LR}, ${WARMUP} warm-up steps, cosine decay to ${+(LR / 10).toPrecision(6)}, gradient norm clipped at ${CLIP}`,
      seed: SEED,
      seconds: Math.round(seconds),
      parameters: params,
    },
    metrics: {
      heldout: { file: "samples/data/ts-lib/heldout.txt", characters: EVAL_CHARS, window: SEQ, predicted, stateReset: "per window", unknownCharacters: heldUnk },
      heldoutBitsPerChar: round(bits, 4),
      unigramBitsPerChar: round(unigram, 4),
    },
  };
  fs.writeFileSync(path.join(outDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  log(`wrote ${repoRelative(path.join(outDir, "config.json"))}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
