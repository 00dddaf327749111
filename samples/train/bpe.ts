// Trains a byte-level BPE tokenizer (the GPT-2 scheme) on the training corpus and writes it in the
// Hugging Face tokenizers format (tokenizer.json + tokenizer_config.json), which
// @huggingface/tokenizers, transformers.js and the Python `tokenizers` library all read.
//
//   npx tsx samples/train/bpe.ts [--vocab 4096] [--out DIR]
import * as fs from "node:fs";
import * as path from "node:path";
import { DATA_DIR } from "./corpus";
import { bytesToUnicode } from "../../engine/tokenize/byteLevel";

/** GPT-2's pre-tokenizer pattern, as the ByteLevel pre-tokenizer applies it (use_regex: true). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
export const END_OF_TEXT = "<|endoftext|>";

export interface TrainedBpe {
  vocab: Map<string, number>;
  merges: [string, string][];
}

export function trainBpe(text: string, vocabSize: number): TrainedBpe {
  const byteChar = bytesToUnicode();
  const enc = new TextEncoder();
  // 1. Pre-tokenize and count unique words, each a list of byte symbols.
  const wordCounts = new Map<string, number>();
  for (const m of text.matchAll(GPT2_PATTERN)) wordCounts.set(m[0], (wordCounts.get(m[0]) ?? 0) + 1);
  const symbols: string[] = [];
  const symbolId = new Map<string, number>();
  const intern = (s: string): number => {
    let id = symbolId.get(s);
    if (id === undefined) {
      id = symbols.length;
      symbols.push(s);
      symbolId.set(s, id);
    }
    return id;
  };
  // The 256 byte symbols come first, in byte order (GPT-2 orders them by its table; any fixed order works).
  for (let b = 0; b < 256; b++) intern(byteChar[b]);
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    words.push(Array.from(enc.encode(w), (b) => b));
    counts.push(c);
  }
  // 2. Pair statistics with an index from pair to the words that hold it.
  const pairKey = (a: number, b: number) => a * 1_000_003 + b;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addWordPairs = (wi: number, sign: number) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i], w[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[wi]);
      if (sign > 0) {
        let s = pairWords.get(k);
        if (!s) pairWords.set(k, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addWordPairs(wi, +1);

  const merges: [string, string][] = [];
  const target = vocabSize - 1; // one id is kept for <|endoftext|>
  while (symbols.length < target) {
    let best = -1;
    let bestCount = 0;
    for (const [k, c] of pairCount) {
      if (c > bestCount || (c === bestCount && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (best < 0 || bestCount < 2) break;
    const a = Math.floor(best / 1_000_003);
    const b = best % 1_000_003;
    const merged = intern(symbols[a] + symbols[b]);
    merges.push([symbols[a], symbols[b]]);
    const affected = pairWords.get(best) ?? new Set<number>();
    for (const wi of affected) {
      addWordPairs(wi, -1);
      const w = words[wi];
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = out;
      addWordPairs(wi, +1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
    for (const [k, c] of pairCount) if (c <= 0) pairCount.delete(k);
  }
  const vocab = new Map<string, number>();
  symbols.forEach((s, i) => vocab.set(s, i));
  return { vocab, merges };
}

/** The tokenizer.json document (Hugging Face tokenizers format) for a trained byte-level BPE. */
export function tokenizerJson(bpe: TrainedBpe): object {
  const eosId = bpe.vocab.size;
  const vocab: Record<string, number> = Object.fromEntries(bpe.vocab);
  vocab[END_OF_TEXT] = eosId;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      { id: eosId, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

export function tokenizerConfigJson(): object {
  return {
    tokenizer_class: "GPT2Tokenizer",
    add_bos_token: false,
    add_prefix_space: false,
    bos_token: END_OF_TEXT,
    eos_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
    model_max_length: 512,
    clean_up_tokenization_spaces: false,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const vocabSize = Number(arg("--vocab", "4096"));
  const out = path.resolve(arg("--out", path.join(DATA_DIR, "tokenizer")));
  const t0 = Date.now();
  const text = fs.readFileSync(path.join(DATA_DIR, "train.txt"), "utf8");
  const bpe = trainBpe(text, vocabSize);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "tokenizer.json"), JSON.stringify(tokenizerJson(bpe)));
  fs.writeFileSync(path.join(out, "tokenizer_config.json"), JSON.stringify(tokenizerConfigJson(), null, 2) + "\n");
  console.log(`bpe: ${bpe.vocab.size + 1} tokens (${bpe.merges.length} merges) in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${out}`);
}
