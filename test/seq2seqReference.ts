// The PyTorch numbers of the encoder-decoder fixtures (test/fixtures/seq2seq/*/reference.json) and
// the comparison of an inspection's three attentions with them, for the tests that read them.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineService } from "../engine/service";
import { ROOT } from "./helpers";

export const SEQ2SEQ_FIXTURES = path.join(ROOT, "test", "fixtures", "seq2seq");

interface Top {
  id: number;
  p: number;
}

export interface Seq2SeqReference {
  sourceText: string;
  sourceIds: number[];
  greedy: number[];
  greedyWithCache: number[];
  targetIds: number[];
  encoderAttention: number[][][][];
  decoderAttention: number[][][][];
  crossAttention: number[][][][];
  next: Top[];
  stepTop5: Top[][];
}

export function seq2seqReference(name: string): Seq2SeqReference {
  return JSON.parse(fs.readFileSync(path.join(SEQ2SEQ_FIXTURES, name, "reference.json"), "utf8"));
}

/** The largest difference between an inspection's encoder, decoder and cross-attention and PyTorch's (each slice's shape checked). */
export async function seq2seqAttentionDiff(s: EngineService, handle: string, ref: Seq2SeqReference): Promise<number> {
  const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
  let worst = 0;
  for (const [kind, want] of [["encoder", ref.encoderAttention], ["decoder", ref.decoderAttention], ["cross", ref.crossAttention]] as const) {
    for (let l = 0; l < want.length; l++) {
      for (let h = 0; h < want[l].length; h++) {
        const got = await s.call("seq2seqAttention", { handle, kind, layer: l, head: h }, ctx);
        assert.deepEqual(got.shape, [want[l][h].length, want[l][h][0].length], `${kind} shape`);
        const cols = got.shape[1];
        want[l][h].forEach((row, q) => row.forEach((w, k) => (worst = Math.max(worst, Math.abs(got.data[q * cols + k] - w)))));
      }
    }
  }
  return worst;
}
