// Head ablation: attention heads switched off in the interventions copy (onnxInterventions.ts), by
// scaling their channels of the merged head output z to 0 before the output projection ("zero"), or
// to 0 plus their mean over the positions of this same input from an unablated run ("mean"). The
// logits of the ablated run, and the KL divergence of its next-token distributions from the clean
// run's.
import { EngineError } from "../../protocol/errors";
import type { AblationMode, HeadRef } from "../../protocol/interventions";
import type { DecoderModel } from "../models/decoder";
import { floatValues } from "../runtime/onnx/tensors";

export interface HeadAblationResult {
  /** [T, vocab] */
  logits: Float32Array;
  /** Per layer [heads, T, T], when the copy computes the probe's attention outputs. */
  attention?: Float32Array[];
}

/** BAD_INPUT naming the bad head, and the ranges, when a layer or head index is outside the model. */
export function checkHeads(heads: HeadRef[], nLayer: number, nHead: number): void {
  for (const { layer, head } of heads) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= nLayer || !Number.isInteger(head) || head < 0 || head >= nHead) {
      throw new EngineError("BAD_INPUT", `head ${layer}.${head} is not in this model: layers are 0..${nLayer - 1} and heads 0..${nHead - 1} (give them as layer.head, such as 0.1)`);
    }
  }
}

export async function ablateHeads(model: DecoderModel, ids: number[], heads: HeadRef[], mode: AblationMode): Promise<HeadAblationResult> {
  const g = await model.interventions();
  checkHeads(heads, g.blocks.length, g.nHead);
  const d = g.headDim;
  const HD = g.nHead * d;
  const T = ids.length;
  const layers = [...new Set(heads.map((h) => h.layer))];
  // the means of z over positions, from a clean run of the same input
  const means = new Map<number, Float32Array>();
  if (mode === "mean") {
    const out = await model.runInterventions(ids, new Map(), layers.map((l) => g.blocks[l].z));
    for (const l of layers) {
      const z = floatValues(out[g.blocks[l].z], g.blocks[l].z);
      const m = new Float32Array(HD);
      for (let t = 0; t < T; t++) for (let j = 0; j < HD; j++) m[j] += z[t * HD + j] / T;
      means.set(l, m);
    }
  }
  const edits = new Map<string, Float32Array>();
  for (const { layer, head } of heads) {
    const b = g.blocks[layer];
    const scale = edits.get(b.scale) ?? new Float32Array(HD).fill(1);
    const shift = edits.get(b.shift) ?? new Float32Array(HD);
    for (let j = head * d; j < (head + 1) * d; j++) {
      scale[j] = 0;
      shift[j] = mode === "mean" ? means.get(layer)![j] : 0;
    }
    edits.set(b.scale, scale);
    edits.set(b.shift, shift);
  }
  const out = await model.runInterventions(ids, edits, [g.logits, ...g.attentionOutputs]);
  const V = model.config.vocab_size;
  const raw = floatValues(out[g.logits], g.logits);
  const width = raw.length / T;
  const logits = width === V ? raw : Float32Array.from({ length: T * V }, (_, i) => raw[Math.floor(i / V) * width + (i % V)]);
  const attention = g.attentionOutputs.length > 0 ? g.attentionOutputs.map((name) => floatValues(out[name], name)) : undefined;
  return { logits, attention };
}

/** KL(clean || ablated) of the softmax of each row, in nats. */
export function klPerRow(clean: Float32Array, ablated: Float32Array, rows: number, vocab: number): number[] {
  const logSoftmax = (x: Float32Array, o: number) => {
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) max = Math.max(max, x[o + i]);
    let s = 0;
    for (let i = 0; i < vocab; i++) s += Math.exp(x[o + i] - max);
    const lse = max + Math.log(s);
    return Float64Array.from({ length: vocab }, (_, i) => x[o + i] - lse);
  };
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const p = logSoftmax(clean, r * vocab);
    const q = logSoftmax(ablated, r * vocab);
    let kl = 0;
    for (let i = 0; i < vocab; i++) kl += Math.exp(p[i]) * (p[i] - q[i]);
    out.push(Math.max(0, kl));
  }
  return out;
}
