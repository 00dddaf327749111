// The logit lens (nostalgebraist, 2020): the residual stream after each block decoded through the
// final layer norm and the unembedding, as if the model stopped there. Input: the lens copy's
// decoded logits per layer (engine/formats/onnxLens.ts), the last being the model's own logits.
// Out: for every layer and position the top tokens with their probabilities, and where the model's
// final prediction at that position ranks in that layer.
import { rankOf, softmax, topIndices } from "./nextToken";

export interface LensTable {
  /** [layer][position][k]: the top tokens of that layer's decoded distribution, most probable first. */
  top: { id: number; p: number }[][][];
  /** [layer][position]: rank (1 = top) of the final layer's top token in that layer's distribution. */
  finalRank: number[][];
  /** [layer][position]: that token's probability in that layer. */
  finalP: number[][];
}

export function logitLens(layers: Float32Array[], length: number, vocab: number, topK: number): LensTable {
  const last = layers[layers.length - 1];
  const finalTop = Array.from({ length }, (_, t) => topIndices(last.subarray(t * vocab, (t + 1) * vocab), 1)[0]);
  const top: LensTable["top"] = [];
  const finalRank: number[][] = [];
  const finalP: number[][] = [];
  for (const logits of layers) {
    const rowTop: { id: number; p: number }[][] = [];
    const rowRank: number[] = [];
    const rowP: number[] = [];
    for (let t = 0; t < length; t++) {
      const p = softmax(logits.subarray(t * vocab, (t + 1) * vocab));
      rowTop.push(topIndices(p, topK).map((id) => ({ id, p: p[id] })));
      rowRank.push(rankOf(p, finalTop[t]));
      rowP.push(p[finalTop[t]]);
    }
    top.push(rowTop);
    finalRank.push(rowRank);
    finalP.push(rowP);
  }
  return { top, finalRank, finalP };
}
