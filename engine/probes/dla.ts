// Direct logit attribution: the residual stream entering the final norm at one position, split into
// the parts the blocks added to it (the embeddings, each attention head's z_h·W_O[h] through its
// slice of the output projection, each projection's bias, each MLP's output), each projected onto
// the unembedding direction W_U[:, target] (minus W_U[:, foil]) through the final norm with its
// scale frozen at that position, as TransformerLens does: LayerNorm centres each part and divides
// it by the position's sigma, RMSNorm divides it by the position's root mean square; both multiply
// by gamma. What the parts leave (the norm's beta·u, the unembedding's bias and float rounding) is
// the remainder, logit − sum of the parts. Read from one run of the interventions copy.
import { EngineError } from "../../protocol/errors";
import { lastLogits, type DecoderModel } from "../models/decoder";
import { floatValues } from "../runtime/onnx/tensors";
import { argmaxAt } from "./attribution";

export interface DlaOptions {
  /** The prediction explained: made after ids[0..position−1]; 1..ids.length (the residual at row position − 1). */
  position: number;
  /** Absent: the model's top prediction there. */
  target?: number;
  foil?: number;
}

export interface DlaParts {
  target: number;
  embed: number;
  /** [layer][head] */
  heads: number[][];
  mlps: number[];
  /** Each block's attention output-projection bias (0 where it has none): a term of its own. */
  attnBiases: number[];
  /** The norm's bias and the unembedding's bias on the direction (part of the remainder). */
  biasTerm: number;
  remainder: number;
  /** logit(target), or logit(target) − logit(foil). */
  logit: number;
}

export async function directLogitAttribution(model: DecoderModel, ids: number[], o: DlaOptions): Promise<DlaParts> {
  const g = await model.interventions();
  const V = model.config.vocab_size;
  const p = o.position - 1;
  const prefix = ids.slice(0, o.position);
  const out = await model.runInterventions(prefix, new Map(), [g.logits, g.embed, g.finalResidual, ...g.blocks.flatMap((b) => [b.z, b.mlp])], { lastOnly: true });
  const D = g.width;
  const HD = g.nHead * g.headDim;
  const row = (name: string, cols: number): Float32Array => {
    const data = floatValues(out[name], name);
    if (data.length !== prefix.length * cols) throw new EngineError("INTERNAL", `${name} has ${data.length} values, not ${prefix.length} rows of ${cols}`);
    return data.subarray(p * cols, (p + 1) * cols);
  };
  const read = lastLogits(out, g.logits, 1, prefix.length);
  const [logits, width, logitsRow] = [read.data, read.stride, read.row(0)];
  const target = o.target ?? argmaxAt(logits, V, logitsRow, width);
  if (o.foil === target) throw new EngineError("BAD_INPUT", `the foil is the target (token ${target}): the logit difference is 0 whatever the input; pick another foil`);
  const U = g.unembed;
  if (target >= U.cols || (o.foil !== undefined && o.foil >= U.cols)) throw new EngineError("BAD_INPUT", `token ${Math.max(target, o.foil ?? 0)} is outside the unembedding's ${U.cols} columns`);
  // the direction u and the frozen-norm readout w = gamma·u / scale (centred for LayerNorm)
  const x = row(g.finalResidual, D);
  let mean = 0;
  if (g.norm.kind === "layernorm") mean = x.reduce((a, b) => a + b, 0) / D;
  let sq = 0;
  for (let i = 0; i < D; i++) sq += (x[i] - mean) ** 2;
  const scale = Math.sqrt(sq / D + g.norm.epsilon);
  const u = new Float64Array(D);
  for (let i = 0; i < D; i++) u[i] = U.data[i * U.cols + target] - (o.foil === undefined ? 0 : U.data[i * U.cols + o.foil]);
  const w = new Float64Array(D);
  for (let i = 0; i < D; i++) w[i] = (g.norm.gamma[i] * u[i]) / scale;
  if (g.norm.kind === "layernorm") {
    const wm = w.reduce((a, b) => a + b, 0) / D;
    for (let i = 0; i < D; i++) w[i] -= wm;
  }
  const dot = (c: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < D; i++) s += c[i] * w[i];
    return s;
  };
  const embed = dot(row(g.embed, D));
  const heads: number[][] = [];
  const mlps: number[] = [];
  const attnBiases: number[] = [];
  for (const b of g.blocks) {
    const z = row(b.z, HD);
    // W_O·w once per block, then each head's d channels of z against it
    const ow = new Float64Array(HD);
    for (let r = 0; r < HD; r++) {
      let s = 0;
      const o2 = r * D;
      for (let c = 0; c < D; c++) s += b.wO.data[o2 + c] * w[c];
      ow[r] = s;
    }
    heads.push(
      Array.from({ length: g.nHead }, (_, h) => {
        let s = 0;
        for (let j = h * g.headDim; j < (h + 1) * g.headDim; j++) s += z[j] * ow[j];
        return s;
      }),
    );
    attnBiases.push(b.bias ? dot(b.bias) : 0);
    mlps.push(dot(row(b.mlp, D)));
  }
  let biasTerm = 0;
  if (g.norm.beta) for (let i = 0; i < D; i++) biasTerm += g.norm.beta[i] * u[i];
  if (g.unembedBias) biasTerm += g.unembedBias[target] - (o.foil === undefined ? 0 : g.unembedBias[o.foil]);
  const at = (id: number) => logits[logitsRow * width + id];
  const logit = at(target) - (o.foil === undefined ? 0 : at(o.foil));
  const sum = embed + heads.flat().reduce((a, b) => a + b, 0) + mlps.reduce((a, b) => a + b, 0) + attnBiases.reduce((a, b) => a + b, 0);
  return { target, embed, heads, mlps, attnBiases, biasTerm, remainder: logit - sum, logit };
}
