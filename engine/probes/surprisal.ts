// Surprisal of each inspected token under the model: -log2 p(token_t | tokens before it), read
// from the logits at the previous position. The first token has no prediction (null).
import { rankOf, softmax, topIndices } from "./nextToken";

export interface TokenSurprisal {
  bits: number | null;
  p: number | null;
  rank: number | null;
  top: { id: number; p: number }[]; // the model's top predictions for this position
}

export function surprisals(logits: Float32Array, vocab: number, ids: readonly number[], topK = 5): { tokens: TokenSurprisal[]; meanBits: number } {
  const out: TokenSurprisal[] = [{ bits: null, p: null, rank: null, top: [] }];
  let sum = 0;
  for (let t = 1; t < ids.length; t++) {
    const p = softmax(logits.subarray((t - 1) * vocab, t * vocab));
    const pt = p[ids[t]];
    const bits = -Math.log2(pt);
    sum += bits;
    out.push({ bits, p: pt, rank: rankOf(p, ids[t]), top: topIndices(p, topK).map((id) => ({ id, p: p[id] })) });
  }
  return { tokens: out, meanBits: ids.length > 1 ? sum / (ids.length - 1) : 0 };
}
