// Attention probabilities from com.microsoft fused attention operators (GroupQueryAttention,
// MultiHeadAttention, Attention), which published Llama / Qwen ONNX builds use (onnxruntime-genai's
// model builder, onnxruntime's transformers optimizer) and which hide the Softmax. The probe copy
// (onnxProbe.ts) gets one graph output per fused node, in graph order, of shape
// [batch, num_heads (query heads), q_len, total_len], taken one of two ways:
//
// - "qk-output": the operator's own QK output, where onnxruntime 1.30's CPU kernel has one.
//   GroupQueryAttention with qk_output = 2 writes output_qk (output 3) after its softmax: the
//   probabilities themselves (scale, softcap, attention_bias, causal / local window and smooth
//   softmax applied; keys past the causal limit are 0). (qk_output = 1 writes the scaled scores with
//   attention_bias added but the masked keys set to 0, not -inf, so they cannot be softmaxed as
//   they are; it is not used.) MultiHeadAttention writes qk (output 3): the scaled scores with
//   attention_bias and the causal / padding masks added, before the softmax; the copy adds the
//   Softmax. The Attention operator has no QK output.
// - "recomputed": softmax(Q Kᵀ · scale + mask) rebuilt in plain operators from the node's own
//   inputs and outputs: the keys from its present output (already rotated, every position the
//   queries see), the queries from its query input (for GroupQueryAttention with do_rotary = 1
//   turned with cos_cache / sin_cache at the positions the operator uses, past_len + i; for
//   Attention projected with its packed weights and bias), kv heads repeated for grouped-query
//   attention, then the same scale, softcap, attention_bias and causal / window / padding masks.
//
// A node neither way covers gets a note naming it and why; then no attention is exposed (the
// layers would be misnumbered) and everything else (logits, generation) still works.
//
// "auto" takes the QK output where the CPU kernel has it, unless CUDA runs the session (its
// GroupQueryAttention has no QK output), and recomputes otherwise. SEQLENS_FUSED_ATTENTION =
// "qk-output" | "recompute" forces one way (for tests).
import { onnx } from "onnx-proto";
import { DataType, GraphBuilder, type AttrValue } from "./onnxBuilder";

export const FUSED_ATTENTION_OPS = ["GroupQueryAttention", "MultiHeadAttention", "Attention"] as const;
export type FusedAttentionOp = (typeof FUSED_ATTENTION_OPS)[number];
export type FusedAttentionMode = "auto" | "qk-output" | "recompute";
export type FusedAttentionSource = "qk-output" | "recomputed";

export interface FusedAttentionRecovery {
  /** Graph outputs of the probabilities [batch, heads, q, total] in layer order; empty when a node could not be recovered. */
  outputs: string[];
  /** How they were taken ("recomputed" when any layer was). */
  source?: FusedAttentionSource;
  /** How each node was recovered, or why it was not. */
  notes: string[];
  /** The fused attention nodes found. */
  nodes: number;
  /** What was done to the copy, for its cache name. */
  recipe: string;
}

const MS_DOMAINS = new Set(["com.microsoft"]);
const FLOAT = DataType.FLOAT;
const INT64 = DataType.INT64;
/** What a masked score becomes before the softmax (exp underflows to exactly 0). */
const MASKED = -1e30;
const INT64_MAX = Number.MAX_SAFE_INTEGER;

/** The mode from SEQLENS_FUSED_ATTENTION, else "auto". */
export function fusedAttentionMode(): FusedAttentionMode {
  const v = process.env.SEQLENS_FUSED_ATTENTION;
  return v === "qk-output" || v === "recompute" ? v : "auto";
}

/** The com.microsoft fused attention nodes of a graph, in graph order. */
export function fusedAttentionNodes(graph: onnx.IGraphProto): onnx.INodeProto[] {
  return (graph.node ?? []).filter((n) => MS_DOMAINS.has(n.domain ?? "") && (FUSED_ATTENTION_OPS as readonly string[]).includes(n.opType ?? ""));
}

// ---- node attributes and tensor ranks --------------------------------------------------------

function attribute(n: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}
function intAttr(n: onnx.INodeProto, name: string, fallback: number): number {
  const a = attribute(n, name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
}
function floatAttr(n: onnx.INodeProto, name: string, fallback: number): number {
  const a = attribute(n, name);
  return a?.f === undefined || a.f === null ? fallback : a.f;
}
function stringAttr(n: onnx.INodeProto, name: string): string | undefined {
  const s = attribute(n, name)?.s;
  return s ? new TextDecoder().decode(s) : undefined;
}
function setIntAttr(n: onnx.INodeProto, name: string, value: number): void {
  const rest = (n.attribute ?? []).filter((a) => a.name !== name);
  n.attribute = [...rest, { name, type: onnx.AttributeProto.AttributeType.INT, i: value }];
}
const input = (n: onnx.INodeProto, i: number): string => n.input?.[i] ?? "";
const output = (n: onnx.INodeProto, i: number): string => n.output?.[i] ?? "";

/** Names a node's output `i` (padding the list with absent ones) if it has no name yet; returns the name. */
function ensureOutput(n: onnx.INodeProto, i: number, name: string): string {
  const outs = [...(n.output ?? [])];
  while (outs.length <= i) outs.push("");
  if (!outs[i]) outs[i] = name;
  n.output = outs;
  return outs[i];
}

/** What the graph says about its tensors: ranks (graph inputs, value_info, initializers, through Cast / Identity) and consumers. */
class GraphFacts {
  private readonly infos = new Map<string, onnx.IValueInfoProto>();
  private readonly initializers = new Map<string, onnx.ITensorProto>();
  private readonly producers = new Map<string, onnx.INodeProto>();
  readonly consumers = new Map<string, onnx.INodeProto[]>();
  readonly names = new Set<string>();

  constructor(graph: onnx.IGraphProto) {
    for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) if (v.name) this.infos.set(v.name, v);
    for (const t of graph.initializer ?? []) {
      this.initializers.set(t.name!, t);
      this.names.add(t.name!);
    }
    for (const v of graph.input ?? []) this.names.add(v.name!);
    for (const n of graph.node ?? []) {
      for (const o of n.output ?? []) {
        this.producers.set(o, n);
        this.names.add(o);
      }
      for (const i of n.input ?? []) {
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
      if (n.name) this.names.add(n.name);
    }
  }

  rank(name: string, depth = 0): number | undefined {
    const dims = this.infos.get(name)?.type?.tensorType?.shape?.dim;
    if (dims) return dims.length;
    const init = this.initializers.get(name);
    if (init) return (init.dims ?? []).length;
    const p = this.producers.get(name);
    if (p && depth < 8 && (p.opType === "Cast" || p.opType === "Identity") && !p.domain) return this.rank(p.input![0], depth + 1);
    return undefined;
  }

  /** The element type the graph declares for a tensor, if it does. */
  elemType(name: string): number | undefined {
    const t = this.infos.get(name)?.type?.tensorType?.elemType ?? this.initializers.get(name)?.dataType;
    return t ? Number(t) : undefined;
  }

  /** The static dims of an initializer. */
  initializerDims(name: string): number[] | undefined {
    const t = this.initializers.get(name);
    return t ? (t.dims ?? []).map(Number) : undefined;
  }

  unique(base: string): string {
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }
}

// ---- plain-operator pieces -------------------------------------------------------------------

/** Helpers over a GraphBuilder whose nodes are spliced into the model (all nodes float32 or int64 / bool). */
class Ops {
  private counter = 0;
  /** Types to declare for tensors the copy names (value_info). */
  readonly declared: onnx.IValueInfoProto[] = [];
  constructor(
    readonly g: GraphBuilder,
    private readonly facts: GraphFacts,
    private readonly prefix: string,
  ) {}
  private name(what: string): string {
    return this.facts.unique(`${this.prefix}/${what}_${this.counter++}`);
  }
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.g.op(type, inputs, this.name(type), attrs);
  }
  ints(values: number[], scalar = false): string {
    return this.g.int64s(this.name("const"), values, scalar ? [] : [values.length]);
  }
  float(value: number): string {
    return this.g.floatScalar(this.name("const"), value);
  }
  declare(name: string, elemType: number): void {
    this.declared.push({ name, type: { tensorType: { elemType } } });
  }
  toFloat(t: string): string {
    return this.op("Cast", [t], { to: FLOAT });
  }
  toInt64(t: string): string {
    return this.op("Cast", [t], { to: INT64 });
  }
  /** Dimension i of t: a scalar int64. */
  dim(t: string, i: number): string {
    return this.op("Gather", [this.op("Shape", [t]), this.ints([i], true)], { axis: 0 });
  }
  /** Dimensions [from, to) of t: a 1-D int64. */
  dims(t: string, from: number, to: number): string {
    return this.op("Slice", [this.op("Shape", [t]), this.ints([from]), this.ints([to]), this.ints([0])]);
  }
  slice(t: string, starts: string, ends: string, axis: number): string {
    return this.op("Slice", [t, starts, ends, this.ints([axis])]);
  }
  unsqueeze(t: string, axes: number[]): string {
    return this.op("Unsqueeze", [t, this.ints(axes)]);
  }
  /** A scalar int64 as a 1-D [1]. */
  vec(scalar: string): string {
    return this.unsqueeze(scalar, [0]);
  }
  range(n: string): string {
    return this.op("Range", [this.ints([0], true), n, this.ints([1], true)]);
  }
}

interface ScoreSpec {
  /** Queries [B, H, S, hd], float. */
  q: string;
  /** Keys [B, KV, T, hd], float (T: every position the queries see). */
  k: string;
  heads: number;
  kvHeads: number;
  /** The scale attribute (0: 1 / sqrt(head_dim)). */
  scale: number;
  softcap?: number;
  /** Added to the scores: [B or 1, H or 1, S, T]. */
  bias?: string;
  /** Bool [B or 1, 1 or H, S, T]: which keys each query sees. */
  visible?: string;
}

/** softmax(Q Kᵀ · scale (+ softcap, bias, mask)) over the keys: [B, H, S, T] float. */
function probabilities(o: Ops, s: ScoreSpec): string {
  const nRep = s.heads / s.kvHeads;
  let k = s.k;
  if (nRep > 1) {
    // [B, KV, T, hd] -> [B, KV, nRep, T, hd] -> [B, H, T, hd]: query head h reads kv head floor(h / nRep)
    const tiled = o.op("Tile", [o.unsqueeze(k, [2]), o.ints([1, 1, nRep, 1, 1])]);
    k = o.op("Reshape", [tiled, o.op("Concat", [o.dims(s.k, 0, 1), o.ints([s.heads, -1]), o.dims(s.k, 3, 4)], { axis: 0 })]);
  }
  const scale = s.scale !== 0 ? o.float(s.scale) : o.op("Reciprocal", [o.op("Sqrt", [o.toFloat(o.dims(s.q, 3, 4))])]);
  let scores = o.op("Mul", [o.op("MatMul", [s.q, o.op("Transpose", [k], { perm: [0, 1, 3, 2] })]), scale]);
  if (s.softcap && s.softcap > 0) scores = o.op("Mul", [o.op("Tanh", [o.op("Div", [scores, o.float(s.softcap)])]), o.float(s.softcap)]);
  if (s.bias) scores = o.op("Add", [scores, o.toFloat(s.bias)]);
  if (s.visible) scores = o.op("Where", [s.visible, scores, o.float(MASKED)]);
  return o.op("Softmax", [scores], { axis: -1 });
}

/**
 * Which keys each query sees, [B or 1, 1, S, T] bool: key j <= the query's position qpos (causal),
 * j > qpos - window (a local window of `window` keys), j < keyLimit[b] (right padding).
 * qpos: [B or 1, S] int64; keys: T scalar int64.
 */
function visibleKeys(o: Ops, qpos: string, keys: string, opts: { causal: boolean; window?: number; keyLimit?: string }): string | undefined {
  const keyIdx = o.unsqueeze(o.range(keys), [0, 1, 2]); // [1, 1, 1, T]
  const q = o.unsqueeze(qpos, [1, 3]); // [B, 1, S, 1]
  const parts: string[] = [];
  if (opts.causal) parts.push(o.op("LessOrEqual", [keyIdx, q]));
  if (opts.causal && opts.window && opts.window > 0) parts.push(o.op("Greater", [keyIdx, o.op("Sub", [q, o.ints([opts.window], true)])]));
  if (opts.keyLimit) parts.push(o.op("Less", [keyIdx, o.unsqueeze(opts.keyLimit, [1, 2, 3])]));
  if (parts.length === 0) return undefined;
  return parts.reduce((a, b) => o.op("And", [a, b]));
}

/** Query positions [1, S]: offset + i (offset a scalar int64). */
function positionsFrom(o: Ops, offset: string, seq: string): string {
  return o.unsqueeze(o.op("Add", [o.range(seq), offset]), [0]);
}

// ---- per operator ----------------------------------------------------------------------------

type Plan = { how: FusedAttentionSource; apply: (o: Ops) => string; detail: string } | { why: string };

interface PlanContext {
  facts: GraphFacts;
  mode: FusedAttentionMode;
  /** CUDA may run the node: its kernels have no QK output to switch on. */
  cuda: boolean;
  /** The default domain's opset. */
  opset: number;
  layer: number;
}

const describe = (n: onnx.INodeProto) => `node ${JSON.stringify(n.name || output(n, 0))} (${n.opType})`;

function planGqa(n: onnx.INodeProto, c: PlanContext): Plan {
  const heads = intAttr(n, "num_heads", 0);
  const kvHeads = intAttr(n, "kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads !== 0) return { why: `num_heads ${heads} / kv_num_heads ${kvHeads} are not grouped heads` };
  const slidingCache = intAttr(n, "sliding_window_cache", 0) === 1;
  const quantized = (stringAttr(n, "k_quant_type") ?? "NONE") !== "NONE" || (stringAttr(n, "v_quant_type") ?? "NONE") !== "NONE" || intAttr(n, "kv_cache_bit_width", 0) > 0;
  const qkOutput = intAttr(n, "qk_output", 0);
  const qkName = output(n, 3);
  const qkUsed = qkName !== "" && (c.facts.consumers.get(qkName) ?? []).length > 0;

  // (a) the kernel's own probabilities
  const qkWhy = slidingCache
    ? "the CPU kernel has no qk_output with sliding_window_cache = 1"
    : c.cuda
      ? "CUDA's GroupQueryAttention has no qk_output"
      : qkUsed && qkOutput !== 2
        ? `its output_qk (qk_output = ${qkOutput}) feeds other nodes`
        : undefined;
  if (c.mode !== "recompute" && !qkWhy) {
    return {
      how: "qk-output",
      detail: "qk_output = 2 (its softmax output)",
      apply: (o) => {
        setIntAttr(n, "qk_output", 2);
        return o.toFloat(ensureOutput(n, 3, c.facts.unique(`seqlens/attention/${c.layer}/output_qk`)));
      },
    };
  }
  if (c.mode === "qk-output") return { why: qkWhy ?? "qk-output was not asked for" };

  // (b) recomputed from its inputs
  const refuse = [
    slidingCache && "sliding_window_cache = 1 (a windowed cache)",
    quantized && "a quantized KV cache",
    (intAttr(n, "smooth_softmax", 0) === 1 || input(n, 11)) && "smooth softmax / head_sink",
    input(n, 9) && "position_ids input",
    (input(n, 14) || input(n, 15)) && "q_norm_weight / k_norm_weight inputs",
    c.opset < 13 && `opset ${c.opset} (< 13)`,
    intAttr(n, "do_rotary", 0) === 1 && (!input(n, 7) || !input(n, 8)) && "do_rotary without cos_cache / sin_cache",
  ].filter(Boolean);
  if (refuse.length > 0) return { why: `${qkWhy ? `${qkWhy}, and ` : ""}${refuse.join(", ")} is not recomputed` };
  return {
    how: "recomputed",
    detail: "recomputed from query, present_key and seqlens_k",
    apply: (o) => {
      const packed = input(n, 1) === "";
      let q = o.toFloat(input(n, 0)); // [B, S, H*hd] or packed [B, S, (H+2KV)*hd]
      q = o.op("Reshape", [q, o.ints([0, 0, packed ? heads + 2 * kvHeads : heads, -1])]);
      if (packed) q = o.slice(q, o.ints([0]), o.ints([heads]), 2); // [B, S, H, hd]
      const seq = o.dim(q, 1);
      const seqlensK = o.toInt64(input(n, 5)); // [B]
      const total = o.toInt64(input(n, 6)); // scalar (batch max)
      // the first prompt (S == total) sits at 0..S-1; later steps at past_len + i, past_len = seqlens_k + 1 - S
      const past = o.op("Where", [o.op("Equal", [seq, total]), o.ints([0], true), o.op("Sub", [o.op("Add", [seqlensK, o.ints([1], true)]), seq])]); // [B]
      const qpos = o.op("Add", [o.unsqueeze(past, [1]), o.unsqueeze(o.range(seq), [0])]); // [B, S]
      if (intAttr(n, "do_rotary", 0) === 1) q = rotary(o, q, qpos, input(n, 7), input(n, 8), intAttr(n, "rotary_interleaved", 0) === 1);
      q = o.op("Transpose", [q], { perm: [0, 2, 1, 3] }); // [B, H, S, hd]
      const presentKey = ensureOutput(n, 1, c.facts.unique(`seqlens/attention/${c.layer}/present_key`));
      // the buffer may be longer than total_sequence_length (shared past / present)
      const k = o.slice(o.toFloat(presentKey), o.ints([0]), o.vec(total), 2); // [B, KV, T, hd]
      const window = intAttr(n, "local_window_size", -1);
      const visible = visibleKeys(o, qpos, total, { causal: intAttr(n, "causal", 1) !== 0, window: window > 0 ? window : undefined, keyLimit: o.op("Add", [seqlensK, o.ints([1], true)]) });
      return probabilities(o, { q, k, heads, kvHeads, scale: floatAttr(n, "scale", 0), softcap: floatAttr(n, "softcap", 0), bias: input(n, 10) || undefined, visible });
    },
  };
}

/** x [B, S, H, hd] turned at positions [B, S] with cos / sin caches [max_pos, rot/2] (the first rot channels; the rest pass). */
function rotary(o: Ops, x: string, positions: string, cosCache: string, sinCache: string, interleaved: boolean): string {
  const half = o.dims(cosCache, 1, 2); // [1]
  const rot = o.op("Mul", [half, o.ints([2])]);
  const cos = o.unsqueeze(o.op("Gather", [o.toFloat(cosCache), positions], { axis: 0 }), [2]); // [B, S, 1, rot/2]
  const sin = o.unsqueeze(o.op("Gather", [o.toFloat(sinCache), positions], { axis: 0 }), [2]);
  const rest = o.slice(x, rot, o.ints([INT64_MAX]), 3);
  let turned: string;
  if (!interleaved) {
    // (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)
    const x1 = o.slice(x, o.ints([0]), half, 3);
    const x2 = o.slice(x, half, rot, 3);
    const r1 = o.op("Sub", [o.op("Mul", [x1, cos]), o.op("Mul", [x2, sin])]);
    const r2 = o.op("Add", [o.op("Mul", [x2, cos]), o.op("Mul", [x1, sin])]);
    turned = o.op("Concat", [r1, r2], { axis: 3 });
  } else {
    // pairs (x[2i], x[2i+1])
    const xr = o.slice(x, o.ints([0]), rot, 3);
    const pairs = o.op("Reshape", [xr, o.op("Concat", [o.dims(xr, 0, 3), half, o.ints([2])], { axis: 0 })]); // [B, S, H, rot/2, 2]
    const even = o.slice(pairs, o.ints([0]), o.ints([1]), 4);
    const odd = o.slice(pairs, o.ints([1]), o.ints([2]), 4);
    const c5 = o.unsqueeze(cos, [4]);
    const s5 = o.unsqueeze(sin, [4]);
    const re = o.op("Sub", [o.op("Mul", [even, c5]), o.op("Mul", [odd, s5])]);
    const ro = o.op("Add", [o.op("Mul", [odd, c5]), o.op("Mul", [even, s5])]);
    turned = o.op("Reshape", [o.op("Concat", [re, ro], { axis: 4 }), o.op("Shape", [xr])]);
  }
  return o.op("Concat", [turned, rest], { axis: 3 });
}

function planMha(n: onnx.INodeProto, c: PlanContext): Plan {
  const heads = intAttr(n, "num_heads", 0);
  if (heads <= 0) return { why: `num_heads ${heads}` };
  const qkName = output(n, 3);
  const qkWhy = c.cuda ? "CUDA's MultiHeadAttention may not write its qk output" : undefined;
  if (c.mode !== "recompute" && !qkWhy) {
    return {
      how: "qk-output",
      detail: "its qk output (scaled scores with the masks added) through a Softmax",
      apply: (o) => {
        const qk = ensureOutput(n, 3, qkName || c.facts.unique(`seqlens/attention/${c.layer}/qk`));
        // its type is not bound to the inputs', so onnxruntime cannot infer it: declare the query's
        if (!qkName) o.declare(qk, c.facts.elemType(input(n, 0)) ?? FLOAT);
        return o.op("Softmax", [o.toFloat(qk)], { axis: -1 });
      },
    };
  }
  if (c.mode === "qk-output") return { why: qkWhy ?? "qk-output was not asked for" };
  const padMask = input(n, 4);
  const padRank = padMask ? c.facts.rank(padMask) : undefined;
  const refuse = [
    input(n, 8) && "past_sequence_length (a shared past / present buffer)",
    input(n, 9) && "cache_indirection (beam search)",
    padMask && padRank !== 2 && padRank !== 3 && `key_padding_mask of rank ${padRank ?? "unknown"} (a [batch, total] or [batch, q, total] 0/1 mask is)`,
    input(n, 1) === "" && "packed QKV query",
    c.opset < 13 && `opset ${c.opset} (< 13)`,
  ].filter(Boolean);
  if (refuse.length > 0) return { why: `${qkWhy ? `${qkWhy}, and ` : ""}${refuse.join(", ")} is not recomputed` };
  return {
    how: "recomputed",
    detail: "recomputed from query (+ bias) and present_key",
    apply: (o) => {
      let q = o.toFloat(input(n, 0)); // [B, S, H*hd]
      if (input(n, 3)) {
        // bias [hidden + hidden + v_hidden]: the query's part comes first
        q = o.op("Add", [q, o.slice(o.toFloat(input(n, 3)), o.ints([0]), o.dims(q, 2, 3), 0)]);
      }
      q = o.op("Transpose", [o.op("Reshape", [q, o.ints([0, 0, heads, -1])])], { perm: [0, 2, 1, 3] }); // [B, H, S, hd]
      const k = o.toFloat(ensureOutput(n, 1, c.facts.unique(`seqlens/attention/${c.layer}/present_key`))); // [B, H, T, hd]
      const seq = o.dim(q, 2);
      const keys = o.dim(k, 2);
      const causal = intAttr(n, "unidirectional", 0) === 1;
      let visible = causal ? visibleKeys(o, positionsFrom(o, o.op("Sub", [keys, seq]), seq), keys, { causal: true }) : undefined;
      if (padMask) {
        const m = o.op("Cast", [padMask], { to: DataType.BOOL });
        const pad = padRank === 2 ? o.unsqueeze(m, [1, 2]) : o.unsqueeze(m, [1]); // [B, 1, 1 or S, T]
        visible = visible ? o.op("And", [visible, pad]) : pad;
      }
      return probabilities(o, { q, k, heads, kvHeads: heads, scale: floatAttr(n, "scale", 0), bias: input(n, 5) || undefined, visible });
    },
  };
}

function planAttention(n: onnx.INodeProto, c: PlanContext): Plan {
  const heads = intAttr(n, "num_heads", 0);
  if (heads <= 0) return { why: `num_heads ${heads}` };
  const noQk = "the Attention operator has no QK output";
  if (c.mode === "qk-output") return { why: noQk };
  const mask = input(n, 3);
  const maskRank = mask ? c.facts.rank(mask) : undefined;
  const sizes = (attribute(n, "qkv_hidden_sizes")?.ints ?? []).map(Number);
  const wDims = c.facts.initializerDims(input(n, 1));
  const refuse = [
    intAttr(n, "do_rotary", 0) === 1 && "do_rotary = 1",
    intAttr(n, "past_present_share_buffer", 0) === 1 && "past_present_share_buffer = 1",
    input(n, 6) && "past_sequence_length",
    mask && maskRank !== 2 && `mask_index of rank ${maskRank ?? "unknown"} (only a raw [batch, total] 0/1 mask is; a 1-D one holds key lengths or end / start positions, which the graph does not tell apart)`,
    sizes.length > 0 && sizes.length !== 3 && `qkv_hidden_sizes [${sizes}]`,
    sizes.length === 0 && !wDims && "weights that are not an initializer (their split is unknown) without qkv_hidden_sizes",
    c.opset < 13 && `opset ${c.opset} (< 13)`,
  ].filter(Boolean);
  if (refuse.length > 0) return { why: `${noQk}, and ${refuse.join(", ")} is not recomputed` };
  const [dq, dk] = sizes.length === 3 ? sizes : [wDims![1] / 3, wDims![1] / 3];
  return {
    how: "recomputed",
    detail: "recomputed from input @ weights (+ bias) and present",
    apply: (o) => {
      let qkv = o.op("MatMul", [o.toFloat(input(n, 0)), o.toFloat(input(n, 1))]); // [B, S, dq + dk + dv]
      if (input(n, 2)) qkv = o.op("Add", [qkv, o.toFloat(input(n, 2))]);
      const heads4 = (t: string) => o.op("Transpose", [o.op("Reshape", [t, o.ints([0, 0, heads, -1])])], { perm: [0, 2, 1, 3] });
      const q = heads4(o.slice(qkv, o.ints([0]), o.ints([dq]), 2)); // [B, H, S, hd]
      let k: string;
      if (input(n, 4)) {
        // present [2, B, H, T, hd]: its keys
        const present = ensureOutput(n, 1, c.facts.unique(`seqlens/attention/${c.layer}/present`));
        k = o.op("Gather", [present, o.ints([0], true)], { axis: 0 });
      } else k = heads4(o.slice(qkv, o.ints([dq]), o.ints([dq + dk]), 2));
      const seq = o.dim(q, 2);
      const keys = o.dim(k, 2);
      const causal = intAttr(n, "unidirectional", 0) === 1;
      let visible = causal ? visibleKeys(o, positionsFrom(o, o.op("Sub", [keys, seq]), seq), keys, { causal: true }) : undefined;
      if (mask) {
        const m = o.unsqueeze(o.op("Cast", [mask], { to: DataType.BOOL }), [1, 2]); // [B, 1, 1, T]
        visible = visible ? o.op("And", [visible, m]) : m;
      }
      return probabilities(o, { q, k, heads, kvHeads: heads, scale: floatAttr(n, "scale", 0), bias: input(n, 5) || undefined, visible });
    },
  };
}

// ---- the recovery ----------------------------------------------------------------------------

/**
 * Adds, to `model` (the probe copy, changed in place), the nodes that compute each fused attention
 * node's probabilities [batch, heads, q, total] and returns their names (the caller makes them graph
 * outputs), when every node can be recovered; otherwise changes nothing and says why for each node
 * that cannot. `cuda`: CUDA may run the session.
 */
export function recoverFusedAttention(model: onnx.IModelProto, opts: { mode?: FusedAttentionMode; cuda?: boolean } = {}): FusedAttentionRecovery {
  const mode = opts.mode ?? fusedAttentionMode();
  const graph = model.graph!;
  const nodes = fusedAttentionNodes(graph);
  const facts = new GraphFacts(graph);
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  const plans = nodes.map((n, layer): Plan => {
    const c: PlanContext = { facts, mode, cuda: !!opts.cuda, opset, layer };
    if (n.opType === "GroupQueryAttention") return planGqa(n, c);
    if (n.opType === "MultiHeadAttention") return planMha(n, c);
    return planAttention(n, c);
  });
  const failed = plans.flatMap((p, i) => ("why" in p ? [`${describe(nodes[i])}: ${p.why}`] : []));
  const recipe = `fused:${mode}:${opts.cuda ? "cuda" : "cpu"}`;
  if (nodes.length === 0) return { outputs: [], notes: [], nodes: 0, recipe };
  if (failed.length > 0) return { outputs: [], notes: failed, nodes: nodes.length, recipe };

  const g = new GraphBuilder();
  const outputs: string[] = [];
  const notes: string[] = [];
  plans.forEach((p, layer) => {
    if ("why" in p) return;
    const o = new Ops(g, facts, `seqlens/attention/${layer}`);
    const probs = p.apply(o);
    graph.valueInfo = [...(graph.valueInfo ?? []), ...o.declared];
    const name = facts.unique(`seqlens/attention/${layer}/probs`);
    g.rename(probs, name);
    outputs.push(name);
    notes.push(`${describe(nodes[layer])}: ${p.detail}`);
  });
  const parts = g.parts();
  graph.node!.push(...parts.nodes);
  graph.initializer!.push(...parts.initializers);
  const recomputed = plans.some((p) => "how" in p && p.how === "recomputed");
  return { outputs, source: recomputed ? "recomputed" : "qk-output", notes, nodes: nodes.length, recipe: `${recipe}:${plans.map((p) => ("how" in p ? p.how : "-")).join(",")}` };
}
