// Two models on the same text: how their next-token distributions differ at each position (KL in
// both directions and Jensen-Shannon, in bits), each model's loss on the actual tokens, how their
// attention differs per head, and, when their tokenizers differ, the loss of each per byte of the
// text so the two can be set side by side.
import type { TokenInfo } from "../../protocol/basics";

const LN2 = Math.log(2);

export interface RowDivergence {
  klAB: number; // KL(A || B), bits
  klBA: number; // KL(B || A), bits
  js: number; // Jensen-Shannon divergence, bits (0..1)
}

/** KL both ways and JS between softmax(a) and softmax(b), from logits, in bits. */
export function rowDivergence(a: ArrayLike<number>, b: ArrayLike<number>): RowDivergence {
  const n = a.length;
  let ma = -Infinity;
  let mb = -Infinity;
  for (let i = 0; i < n; i++) {
    if (a[i] > ma) ma = a[i];
    if (b[i] > mb) mb = b[i];
  }
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    sa += Math.exp(a[i] - ma);
    sb += Math.exp(b[i] - mb);
  }
  const lsa = ma + Math.log(sa);
  const lsb = mb + Math.log(sb);
  let klAB = 0;
  let klBA = 0;
  let js = 0;
  for (let i = 0; i < n; i++) {
    const la = a[i] - lsa;
    const lb = b[i] - lsb;
    const pa = Math.exp(la);
    const pb = Math.exp(lb);
    const d = la - lb;
    klAB += pa * d;
    klBA -= pb * d;
    const pm = 0.5 * (pa + pb);
    if (pm > 0) {
      const lm = Math.log(pm);
      if (pa > 0) js += 0.5 * pa * (la - lm);
      if (pb > 0) js += 0.5 * pb * (lb - lm);
    }
  }
  return { klAB: Math.max(0, klAB) / LN2, klBA: Math.max(0, klBA) / LN2, js: Math.max(0, js) / LN2 };
}

/** JS divergence (bits) between two probability rows (attention rows: already normalised). */
export function jsOfProbabilities(p: ArrayLike<number>, q: ArrayLike<number>, n = p.length): number {
  let js = 0;
  for (let i = 0; i < n; i++) {
    const m = 0.5 * (p[i] + q[i]);
    if (m <= 0) continue;
    if (p[i] > 0) js += 0.5 * p[i] * Math.log(p[i] / m);
    if (q[i] > 0) js += 0.5 * q[i] * Math.log(q[i] / m);
  }
  return Math.max(0, js) / LN2;
}

/** −log2 p(token t) from the logits at position t − 1 (null for t = 0), with the token's rank and p. */
export function tokenLosses(logits: Float32Array, vocab: number, ids: readonly number[]): { bits: (number | null)[]; p: (number | null)[]; rank: (number | null)[] } {
  const bits: (number | null)[] = [null];
  const p: (number | null)[] = [null];
  const rank: (number | null)[] = [null];
  for (let t = 1; t < ids.length; t++) {
    const row = logits.subarray((t - 1) * vocab, t * vocab);
    let m = -Infinity;
    for (let i = 0; i < vocab; i++) if (row[i] > m) m = row[i];
    let s = 0;
    for (let i = 0; i < vocab; i++) s += Math.exp(row[i] - m);
    const target = row[ids[t]];
    const lp = target - m - Math.log(s);
    let r = 1;
    for (let i = 0; i < vocab; i++) if (row[i] > target || (row[i] === target && i < ids[t])) r++;
    bits.push(-lp / LN2);
    p.push(Math.exp(lp));
    rank.push(r);
  }
  return { bits, p, rank };
}

/**
 * Per head, the mean over query rows of the JS divergence between the two models' attention rows
 * (causal: row q has q + 1 keys). `a`, `b`: per layer [heads, T, T].
 */
export function headChanges(a: Float32Array[], b: Float32Array[], heads: number, length: number): { layer: number; head: number; meanJs: number }[] {
  const out: { layer: number; head: number; meanJs: number }[] = [];
  const T = length;
  for (let l = 0; l < Math.min(a.length, b.length); l++) {
    for (let h = 0; h < heads; h++) {
      let sum = 0;
      for (let q = 0; q < T; q++) {
        const o = (h * T + q) * T;
        sum += jsOfProbabilities(a[l].subarray(o, o + q + 1), b[l].subarray(o, o + q + 1));
      }
      out.push({ layer: l, head: h, meanJs: sum / T });
    }
  }
  return out.sort((x, y) => y.meanJs - x.meanJs);
}

/** Each token's loss spread evenly over its UTF-8 bytes: bits per byte of the text (NaN where no prediction). */
export function lossPerByte(tokens: readonly TokenInfo[], bits: readonly (number | null)[], totalBytes: number): Float64Array {
  const out = new Float64Array(totalBytes).fill(NaN);
  tokens.forEach((t, i) => {
    const n = t.byteEnd - t.byteStart;
    const b = bits[i];
    if (n <= 0 || b === null) return;
    for (let k = t.byteStart; k < t.byteEnd && k < totalBytes; k++) out[k] = b / n;
  });
  return out;
}

/** The other model's loss over each of `tokens`' byte spans (null where part of the span has none). */
export function lossOverSpans(tokens: readonly TokenInfo[], perByte: Float64Array): (number | null)[] {
  return tokens.map((t) => {
    let s = 0;
    for (let k = t.byteStart; k < t.byteEnd; k++) {
      if (Number.isNaN(perByte[k])) return null;
      s += perByte[k];
    }
    return t.byteEnd > t.byteStart ? s : null;
  });
}
