// The attention of a Llama-shaped layer as one com.microsoft fused operator, in the layouts that
// published ONNX builds use (llamaExport.ts calls these with `attention: "gqa" | "mha"`):
//
// - "gqa", as onnxruntime-genai's model builder writes it: one GroupQueryAttention per layer on the
//   projected query, key and value ([batch, seq, heads * head_dim]), past_key / past_value
//   [batch, kv_heads, past, head_dim], seqlens_k (int32 [batch] = total_len - 1, from attention_mask)
//   and total_sequence_length (int32 scalar), cos_cache / sin_cache [max_positions, rotary_dim / 2];
//   do_rotary = 1 (the operator turns q and k itself at positions past_len + i), rotary_interleaved = 0.
//   Outputs the context [batch, seq, heads * head_dim] and present_key / present_value (rotated keys).
//   No position_ids input: the positions come from seqlens_k.
// - "mha", as onnxruntime's transformers optimizer writes it: the rotary embedding in plain operators
//   before the operator, then MultiHeadAttention on query, key, value ([batch, seq, hidden]) with the
//   decoder's additive mask as attention_bias and past_key / past_value [batch, heads, past, head_dim].
//   MultiHeadAttention has no grouped heads, so the kv heads are repeated before it and the present
//   outputs keep every n_rep-th head (the cache the graph returns stays [batch, kv_heads, ...]).
//
// onnxruntime 1.30's CPU GroupQueryAttention needs head_dim to be a multiple of 16.
import { EngineError } from "../../protocol/errors";
import { MASK_VALUE } from "./gpt2Export";
import { DataType, GraphBuilder, type OpsetImport } from "./onnxBuilder";

export type LlamaAttentionKind = "plain" | "gqa" | "mha";

export const MS_DOMAIN = "com.microsoft";
export const MS_OPSET: OpsetImport = { domain: MS_DOMAIN, version: 1 };

/** The inputs every GroupQueryAttention of the graph shares: seqlens_k, total_sequence_length and the rotary caches. */
export interface GqaShared {
  seqlensK: string;
  totalLength: string;
  cos: string;
  sin: string;
}

/**
 * seqlens_k = ReduceSum(attention_mask, 1) - 1 and total_sequence_length = attention_mask.shape[1]
 * (both int32), as the genai builder derives them, and cos / sin caches [maxPositions, rotaryDim / 2]
 * of position p * inv_freq (float32 products, as the plain export computes them).
 */
export function gqaSharedInputs(g: GraphBuilder, attentionMask: string, invFreq: Float32Array, maxPositions: number): GqaShared {
  const p = "/model/attn_mask_reformat";
  const sum = g.op("ReduceSum", [attentionMask, g.int64s(`${p}/const_axes_1`, [1])], `${p}/ReduceSum`, { keepdims: 0 }); // [B]
  const minus1 = g.op("Sub", [sum, g.int64s(`${p}/const_one`, [1], [])], `${p}/Sub`);
  const seqlensK = g.op("Cast", [minus1], `${p}/seqlens_k/Cast`, { to: DataType.INT32 });
  const total = g.op("Gather", [g.op("Shape", [attentionMask], `${p}/Shape`), g.int64s(`${p}/const_index_1`, [1], [])], `${p}/total/Gather`, { axis: 0 });
  const totalLength = g.op("Cast", [total], `${p}/total_seq_len/Cast`, { to: DataType.INT32 });
  const half = invFreq.length;
  if (half % 8 !== 0) throw new Error(`GroupQueryAttention needs a rotary width that is a multiple of 16 (onnxruntime's CPU kernel), not ${2 * half}`);
  // two tables of float32, checked before they are allocated: past what one ONNX file holds is refused
  if (!Number.isSafeInteger(maxPositions) || maxPositions <= 0 || 8 * maxPositions * half >= 2 ** 31) {
    throw new EngineError("TOO_LARGE", `the rotary cos / sin caches of ${maxPositions} positions x ${half} frequencies would be ${((8 * maxPositions * half) / 2 ** 30).toFixed(2)} GiB, past the 2 GiB an ONNX file can hold (max_position_embeddings too large)`);
  }
  const cosData = new Float32Array(maxPositions * half);
  const sinData = new Float32Array(maxPositions * half);
  for (let pos = 0; pos < maxPositions; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * invFreq[i]);
      cosData[pos * half + i] = Math.cos(angle);
      sinData[pos * half + i] = Math.sin(angle);
    }
  }
  return { seqlensK, totalLength, cos: g.weight("cos_cache", [maxPositions, half], cosData), sin: g.weight("sin_cache", [maxPositions, half], sinData) };
}

export interface FusedLayerIo {
  /** Node name prefix of the layer, e.g. "/model/layers.0". */
  prefix: string;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** The graph's past inputs of this layer (absent without a KV cache). */
  past?: [string, string];
  /** The graph output names the present key and value get (absent without a KV cache). */
  present?: [string, string];
  /** A sliding window (keys i - j < window are visible), if the layer has one. */
  window?: number | null;
}

/** One GroupQueryAttention on q [B, S, H*hd], k, v [B, S, KV*hd] (projected, not rotated); returns the context [B, S, H*hd]. */
export function gqaLayer(g: GraphBuilder, shared: GqaShared, io: FusedLayerIo, q: string, k: string, v: string): string {
  const name = `${io.prefix}/attn/GroupQueryAttention`;
  const attrs = {
    num_heads: io.heads,
    kv_num_heads: io.kvHeads,
    do_rotary: 1,
    rotary_interleaved: 0,
    scale: { float: 1 / Math.sqrt(io.headDim) },
    ...(io.window ? { local_window_size: io.window } : {}),
  };
  const [out, presentKey, presentValue] = g.node(
    "GroupQueryAttention",
    [q, k, v, io.past?.[0] ?? "", io.past?.[1] ?? "", shared.seqlensK, shared.totalLength, shared.cos, shared.sin],
    name,
    attrs,
    3,
    MS_DOMAIN,
  );
  if (io.present) {
    g.rename(presentKey, io.present[0]);
    g.rename(presentValue, io.present[1]);
  }
  return out;
}

/**
 * One MultiHeadAttention on q [B, H, S, hd] and kNew, vNew [B, KV, S, hd] (already rotated), with
 * `mask` [B, 1, S, P+S] as attention_bias; returns the context [B, S, H*hd].
 */
export function mhaLayer(g: GraphBuilder, io: FusedLayerIo, q: string, kNew: string, vNew: string, mask: string): string {
  const n = `${io.prefix}/attn`;
  const nRep = io.heads / io.kvHeads;
  const repeat = (t: string, what: string) => {
    if (nRep === 1) return t;
    const tiled = g.op("Tile", [g.op("Unsqueeze", [t, g.int64s(`${n}/${what}/const_axis_2`, [2])], `${n}/${what}/Unsqueeze`), g.int64s(`${n}/${what}/const_repeats`, [1, 1, nRep, 1, 1])], `${n}/${what}/Tile`);
    return g.op("Reshape", [tiled, g.int64s(`${n}/${what}/const_shape`, [0, io.heads, -1, io.headDim])], `${n}/${what}/Reshape`);
  };
  const merged = g.int64s(`${n}/const_bsh`, [0, 0, io.heads * io.headDim]);
  const toBsh = (t: string, what: string) => g.op("Reshape", [g.op("Transpose", [t], `${n}/${what}/Transpose`, { perm: [0, 2, 1, 3] }), merged], `${n}/${what}/ReshapeBsh`);
  const query = toBsh(q, "query");
  const key = toBsh(repeat(kNew, "key/repeat_kv"), "key");
  const value = toBsh(repeat(vNew, "value/repeat_kv"), "value");
  const pastKey = io.past ? repeat(io.past[0], "past_key/repeat_kv") : "";
  const pastValue = io.past ? repeat(io.past[1], "past_value/repeat_kv") : "";
  const [out, presentKey, presentValue] = g.node(
    "MultiHeadAttention",
    [query, key, value, "", "", mask, pastKey, pastValue],
    `${n}/MultiHeadAttention`,
    { num_heads: io.heads, scale: { float: 1 / Math.sqrt(io.headDim) }, mask_filter_value: { float: MASK_VALUE } },
    3,
    MS_DOMAIN,
  );
  if (io.present) {
    // the cache keeps the kv heads: every nRep-th of the repeated heads
    const keep = (t: string, to: string, what: string) => {
      if (nRep === 1) return g.rename(t, to);
      const heads = g.int64s(`${n}/${what}/const_kv_heads`, Array.from({ length: io.kvHeads }, (_, h) => h * nRep));
      return g.rename(g.op("Gather", [t, heads], `${n}/${what}/Gather`, { axis: 1 }), to);
    };
    keep(presentKey, io.present[0], "present_key");
    keep(presentValue, io.present[1], "present_value");
  }
  return out;
}
