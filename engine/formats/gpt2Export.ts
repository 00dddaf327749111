// Exports GPT-2-architecture weights (Hugging Face names, Conv1D layout [in, out]) as an ONNX
// decoder with a KV cache, in the layout optimum and transformers.js use:
//   inputs  input_ids [batch, seq], attention_mask [batch, past+seq], position_ids [batch, seq],
//           past_key_values.{i}.key|value [batch, heads, past, head_dim]
//   outputs logits [batch, seq, vocab], present.{i}.key|value [batch, heads, past+seq, head_dim]
// Only plain ops (Gather, MatMul, Softmax, LayerNormalization, Tanh, ...; opset 17), so attention
// probabilities stay visible as the output of one Softmax per layer. With `kvCache: false` there are
// no past inputs and no present outputs (a decoder that recomputes the whole sequence each step).
import { DataType, GraphBuilder } from "./onnxBuilder";

export interface Gpt2ExportConfig {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
}

export type WeightLookup = (name: string) => { shape: number[]; data: Float32Array };

export const OPSET = 17;
/** Added to the scores of masked (future or padded) keys before the Softmax. */
export const MASK_VALUE = -1e9;

export function exportGpt2Onnx(cfg: Gpt2ExportConfig, weight: WeightLookup, metadata: Record<string, string> = {}, opts: { kvCache?: boolean } = {}): Uint8Array {
  const kvCache = opts.kvCache ?? true;
  const g = new GraphBuilder();
  const d = cfg.n_embd;
  const H = cfg.n_head;
  const hd = d / H;
  if (!Number.isInteger(hd)) throw new Error(`n_embd ${d} is not divisible by n_head ${H}`);
  const w = (name: string, shape?: number[]) => {
    const t = weight(name);
    if (shape && t.shape.join(",") !== shape.join(",")) throw new Error(`weight ${name} has shape [${t.shape}], expected [${shape}]`);
    return g.weight(name, t.shape, t.data);
  };
  const FLOAT = DataType.FLOAT;
  const INT64 = DataType.INT64;
  const inputIds = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const attentionMask = g.input("attention_mask", INT64, ["batch_size", "total_sequence_length"]);
  const positionIds = g.input("position_ids", INT64, ["batch_size", "sequence_length"]);
  const past: [string, string][] = [];
  for (let i = 0; kvCache && i < cfg.n_layer; i++) {
    past.push([
      g.input(`past_key_values.${i}.key`, FLOAT, ["batch_size", H, "past_sequence_length", hd]),
      g.input(`past_key_values.${i}.value`, FLOAT, ["batch_size", H, "past_sequence_length", hd]),
    ]);
  }

  // Embeddings: token + learned position.
  const wte = w("transformer.wte.weight", [cfg.vocab_size, d]);
  const wpe = w("transformer.wpe.weight", [cfg.n_positions, d]);
  const tok = g.op("Gather", [wte, inputIds], "/transformer/wte/Gather", { axis: 0 });
  const pos = g.op("Gather", [wpe, positionIds], "/transformer/wpe/Gather", { axis: 0 });
  let x = g.op("Add", [tok, pos], "/transformer/embeddings/Add"); // [B, T, d]

  // Additive mask [B, 1, T, P+T]: 0 where key j is visible to query i (j <= P + i and not padding), else MASK_VALUE.
  const i0 = g.int64s("const_0", [0], []);
  const i1 = g.int64s("const_1", [1], []);
  const axes01 = g.int64s("const_axes_0_1", [0, 1]);
  const axes12 = g.int64s("const_axes_1_2", [1, 2]);
  const axis1 = g.int64s("const_axis_1", [1]);
  const shapeMask = g.op("Shape", [attentionMask], "/mask/Shape");
  const total = g.op("Gather", [shapeMask, i1], "/mask/total/Gather", { axis: 0 }); // scalar P+T
  const shapeIds = g.op("Shape", [inputIds], "/mask/ids/Shape");
  const seq = g.op("Gather", [shapeIds, i1], "/mask/seq/Gather", { axis: 0 });
  const pastLen = g.op("Sub", [total, seq], "/mask/past/Sub");
  const keyIdx = g.op("Range", [i0, total, i1], "/mask/keys/Range"); // [P+T]
  const queryIdx = g.op("Range", [pastLen, total, i1], "/mask/queries/Range"); // [T]
  const causal = g.op("LessOrEqual", [
    g.op("Unsqueeze", [keyIdx, g.int64s("const_axis_0", [0])], "/mask/keys/Unsqueeze"), // [1, P+T]
    g.op("Unsqueeze", [queryIdx, axis1], "/mask/queries/Unsqueeze"), // [T, 1]
  ], "/mask/causal/LessOrEqual"); // [T, P+T]
  const notPadded = g.op("Cast", [g.op("Unsqueeze", [attentionMask, axes12], "/mask/pad/Unsqueeze")], "/mask/pad/Cast", { to: DataType.BOOL }); // [B, 1, 1, P+T]
  const allowed = g.op("And", [g.op("Unsqueeze", [causal, axes01], "/mask/causal/Unsqueeze"), notPadded], "/mask/And"); // [B, 1, T, P+T]
  const additiveMask = g.op("Where", [allowed, g.floatScalar("const_zero", 0), g.floatScalar("const_mask_value", MASK_VALUE)], "/mask/Where");

  const splitSizes = g.int64s("const_split_qkv", [d, d, d]);
  const headsShape = g.int64s("const_heads_shape", [0, 0, H, hd]);
  const mergedShape = g.int64s("const_merged_shape", [0, 0, d]);
  const scale = g.floatScalar("const_attn_scale", 1 / Math.sqrt(hd));
  const geluC = g.floatScalar("const_gelu_sqrt_2_over_pi", Math.sqrt(2 / Math.PI));
  const geluK = g.floatScalar("const_gelu_0_044715", 0.044715);
  const half = g.floatScalar("const_half", 0.5);
  const one = g.floatScalar("const_one", 1);
  const eps = cfg.layer_norm_epsilon;

  const presents: string[] = [];
  for (let i = 0; i < cfg.n_layer; i++) {
    const p = `transformer.h.${i}.`;
    const n = `/transformer/h.${i}`;
    const ln1 = g.op("LayerNormalization", [x, w(p + "ln_1.weight", [d]), w(p + "ln_1.bias", [d])], `${n}/ln_1/LayerNormalization`, { axis: -1, epsilon: { float: eps } });
    const qkv = g.op("Add", [g.op("MatMul", [ln1, w(p + "attn.c_attn.weight", [d, 3 * d])], `${n}/attn/c_attn/MatMul`), w(p + "attn.c_attn.bias", [3 * d])], `${n}/attn/c_attn/Add`);
    const [q, k, v] = g.node("Split", [qkv, splitSizes], `${n}/attn/Split`, { axis: 2 }, 3);
    const toHeads = (t: string, what: string) =>
      g.op("Transpose", [g.op("Reshape", [t, headsShape], `${n}/attn/${what}/Reshape`)], `${n}/attn/${what}/Transpose`, { perm: [0, 2, 1, 3] }); // [B, H, T, hd]
    const qh = toHeads(q, "query");
    const presentK = kvCache ? g.rename(g.op("Concat", [past[i][0], toHeads(k, "key")], `${n}/attn/key/Concat`, { axis: 2 }), `present.${i}.key`) : toHeads(k, "key");
    const presentV = kvCache ? g.rename(g.op("Concat", [past[i][1], toHeads(v, "value")], `${n}/attn/value/Concat`, { axis: 2 }), `present.${i}.value`) : toHeads(v, "value");
    if (kvCache) presents.push(presentK, presentV);
    const kT = g.op("Transpose", [presentK], `${n}/attn/key/TransposeForScores`, { perm: [0, 1, 3, 2] }); // [B, H, hd, P+T]
    const scores = g.op("Mul", [g.op("MatMul", [qh, kT], `${n}/attn/scores/MatMul`), scale], `${n}/attn/scores/Mul`);
    const masked = g.op("Add", [scores, additiveMask], `${n}/attn/scores/AddMask`);
    const probs = g.op("Softmax", [masked], `${n}/attn/Softmax`, { axis: -1 }); // [B, H, T, P+T]
    const ctx = g.op("MatMul", [probs, presentV], `${n}/attn/context/MatMul`); // [B, H, T, hd]
    const merged = g.op("Reshape", [g.op("Transpose", [ctx], `${n}/attn/context/Transpose`, { perm: [0, 2, 1, 3] }), mergedShape], `${n}/attn/context/Reshape`);
    const attnOut = g.op("Add", [g.op("MatMul", [merged, w(p + "attn.c_proj.weight", [d, d])], `${n}/attn/c_proj/MatMul`), w(p + "attn.c_proj.bias", [d])], `${n}/attn/c_proj/Add`);
    x = g.op("Add", [x, attnOut], `${n}/attn/residual/Add`);
    const ln2 = g.op("LayerNormalization", [x, w(p + "ln_2.weight", [d]), w(p + "ln_2.bias", [d])], `${n}/ln_2/LayerNormalization`, { axis: -1, epsilon: { float: eps } });
    const fc = g.op("Add", [g.op("MatMul", [ln2, w(p + "mlp.c_fc.weight", [d, 4 * d])], `${n}/mlp/c_fc/MatMul`), w(p + "mlp.c_fc.bias", [4 * d])], `${n}/mlp/c_fc/Add`);
    // GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const cube = g.op("Mul", [fc, g.op("Mul", [fc, fc], `${n}/mlp/gelu/Square`)], `${n}/mlp/gelu/Cube`);
    const inner = g.op("Mul", [g.op("Add", [fc, g.op("Mul", [cube, geluK], `${n}/mlp/gelu/MulK`)], `${n}/mlp/gelu/AddCube`), geluC], `${n}/mlp/gelu/MulC`);
    const gelu = g.op("Mul", [g.op("Mul", [fc, half], `${n}/mlp/gelu/Half`), g.op("Add", [g.op("Tanh", [inner], `${n}/mlp/gelu/Tanh`), one], `${n}/mlp/gelu/AddOne`)], `${n}/mlp/gelu/Mul`);
    const mlpOut = g.op("Add", [g.op("MatMul", [gelu, w(p + "mlp.c_proj.weight", [4 * d, d])], `${n}/mlp/c_proj/MatMul`), w(p + "mlp.c_proj.bias", [d])], `${n}/mlp/c_proj/Add`);
    x = g.op("Add", [x, mlpOut], `${n}/mlp/residual/Add`);
  }
  const xf = g.op("LayerNormalization", [x, w("transformer.ln_f.weight", [d]), w("transformer.ln_f.bias", [d])], "/transformer/ln_f/LayerNormalization", { axis: -1, epsilon: { float: eps } });
  // Tied output projection: logits = ln_f(x) @ wte^T (the transpose is folded once at session start).
  const wteT = g.op("Transpose", [wte], "/lm_head/Transpose", { perm: [1, 0] });
  const logits = g.rename(g.op("MatMul", [xf, wteT], "/lm_head/MatMul"), "logits");
  g.output(logits, FLOAT, ["batch_size", "sequence_length", cfg.vocab_size]);
  for (const name of presents) g.output(name, FLOAT, ["batch_size", H, "total_sequence_length", hd]);
  return g.model("gpt2", OPSET, "seqlens", metadata);
}
