// Attention probabilities per layer and head, as the graph's own Softmax computed them:
// [layer][head][query][key], causal rows that sum to 1.
import { EngineError } from "../../protocol/errors";
import { SliceResult } from "../../protocol/basics";

export interface AttentionTensor {
  layers: Float32Array[]; // each [heads, T, T]
  heads: number;
  length: number; // T
}

export function attentionSlice(att: AttentionTensor, layer: number, head: number): SliceResult {
  if (!Number.isInteger(layer) || layer < 0 || layer >= att.layers.length) throw new EngineError("BAD_INPUT", `layer ${layer} is out of range (0..${att.layers.length - 1})`);
  if (!Number.isInteger(head) || head < 0 || head >= att.heads) throw new EngineError("BAD_INPUT", `head ${head} is out of range (0..${att.heads - 1})`);
  const T = att.length;
  return { shape: [T, T], data: att.layers[layer].slice(head * T * T, (head + 1) * T * T) };
}

export function attentionAll(att: AttentionTensor, capBytes: number): SliceResult {
  const T = att.length;
  const bytes = att.layers.length * att.heads * T * T * 4;
  if (bytes > capBytes) {
    throw new EngineError("TOO_LARGE", `all attention is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the ${(capBytes / 2 ** 20).toFixed(0)} MiB cap: ask for one layer and head at a time (attention slices) or raise the cap`);
  }
  const data = new Float32Array(att.layers.length * att.heads * T * T);
  att.layers.forEach((l, i) => data.set(l, i * l.length));
  return { shape: [att.layers.length, att.heads, T, T], data };
}

/** Largest deviation from the invariants: rows sum to 1 and no weight on future keys. */
export function attentionInvariantError(att: AttentionTensor): { rowSum: number; future: number } {
  const T = att.length;
  let rowSum = 0;
  let future = 0;
  for (const l of att.layers) {
    for (let h = 0; h < att.heads; h++) {
      for (let q = 0; q < T; q++) {
        let s = 0;
        for (let k = 0; k < T; k++) {
          const v = l[(h * T + q) * T + k];
          s += v;
          if (k > q) future = Math.max(future, Math.abs(v));
        }
        rowSum = Math.max(rowSum, Math.abs(s - 1));
      }
    }
  }
  return { rowSum, future };
}
