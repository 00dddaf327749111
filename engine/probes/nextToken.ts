// Next-token distribution at one position: softmax of the logits at a temperature, top-k with
// probabilities, entropy over the whole vocabulary, and the actual next token's rank and probability.
import { NextTokenResult, TopToken } from "../../protocol/basics";
import { EngineError } from "../../protocol/errors";
import { logSumExp } from "./compareKernel";

/** Softmax of logits / temperature, computed stably in float64. */
export function softmax(logits: Float32Array, temperature = 1): Float64Array {
  const t = temperature > 0 ? temperature : 1;
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    p[i] = Math.exp((logits[i] - max) / t);
    sum += p[i];
  }
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/**
 * softmax(logits)[id] without building the distribution: for a large vocabulary through the SIMD
 * kernel's log-sum-exp (a generated token's p at 151,936 tokens: 0.2 ms instead of 1.9), else one
 * max pass and one sum pass in float64.
 */
export function probabilityOf(logits: Float32Array, id: number): number {
  if (logits.length >= 16_384) return Math.exp(logits[id] - logSumExp(logits));
  return probabilityOfExact(logits, id);
}

function probabilityOfExact(logits: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.exp(logits[id] - max) / sum;
}

export function entropyBits(p: Float64Array): number {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log2(v);
  return h;
}

/** Indices of the k largest values, largest first (ties by lower index). */
export function topIndices(p: ArrayLike<number>, k: number): number[] {
  const n = Math.min(k, p.length);
  const heap: number[] = [];
  for (let i = 0; i < p.length; i++) {
    if (heap.length < n) {
      heap.push(i);
      if (heap.length === n) heap.sort((a, b) => p[a] - p[b] || b - a);
    } else if (p[i] > p[heap[0]]) {
      heap[0] = i;
      heap.sort((a, b) => p[a] - p[b] || b - a);
    }
  }
  return heap.sort((a, b) => p[b] - p[a] || a - b);
}

export function rankOf(p: Float64Array, id: number): number {
  let rank = 1;
  for (let i = 0; i < p.length; i++) if (p[i] > p[id] || (p[i] === p[id] && i < id)) rank++;
  return rank;
}

/** A distribution from NaN or infinite logits is no distribution: say the model's output is broken rather than show NaN. */
export function checkFinite(row: Float32Array, position: number): void {
  for (let i = 0; i < row.length; i++) {
    if (!Number.isFinite(row[i])) throw new EngineError("MODEL_INVALID", `the model's output at token #${position} holds ${Number.isNaN(row[i]) ? "NaN" : "infinite"} values (logit ${i}): its weights may be corrupt`);
  }
}

export function nextTokenAt(
  logits: Float32Array, // [T, vocab]
  vocab: number,
  position: number,
  opts: { topK: number; temperature: number; actualId?: number; tokenText: (id: number) => string },
): NextTokenResult {
  const row = logits.subarray(position * vocab, (position + 1) * vocab);
  checkFinite(row, position);
  const p = softmax(row, opts.temperature);
  const top: TopToken[] = topIndices(p, opts.topK).map((id) => ({ id, token: opts.tokenText(id), p: p[id] }));
  const result: NextTokenResult = { position, temperature: opts.temperature, top, entropyBits: entropyBits(p) };
  if (opts.actualId !== undefined) result.actual = { id: opts.actualId, token: opts.tokenText(opts.actualId), rank: rankOf(p, opts.actualId), p: p[opts.actualId] };
  return result;
}
