// Feature ablation: a prediction attributed to each earlier token by replacing that token with a
// baseline token and running the model again. Any decoder that gives next-token logits serves (the
// ONNX families, a bare graph, the TensorFlow.js twin): it needs nothing but forward(ids). The
// decoders run one sequence at a time, so the ablated inputs run one after another, each the
// prefix up to the explained position only (the tokens after it cannot change that prediction);
// an ONNX graph with a KV cache reuses the real run's cache for the tokens before the ablated one.
import { EngineError } from "../../protocol/errors";
import type { BaselineToken } from "../../protocol/attribution";
import type * as ortTypes from "onnxruntime-node";
import { DecoderModel, type Decoder, type KvCache } from "../models/decoder";
import { ort } from "../runtime/onnx/session";
import type { TextTokenizer } from "../tokenize/tokenizer";

/** What the score measures at one row of logits: ln p(target), or logit(target) − logit(foil). */
export function metricAt(logits: Float32Array, vocab: number, row: number, target: number, foil?: number): number {
  const o = row * vocab;
  if (foil !== undefined) return logits[o + target] - logits[o + foil];
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[o + i] > max) max = logits[o + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[o + i] - max);
  return logits[o + target] - max - Math.log(sum);
}

/** The id of the largest logit in a row. */
export function argmaxAt(logits: Float32Array, vocab: number, row: number): number {
  const o = row * vocab;
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[o + i] > logits[o + best]) best = i;
  return best;
}

/** The names a tokenizer's padding token goes by (tokenizer.json marks it special). */
const PAD_NAMES = new Set(["<pad>", "[PAD]", "<|pad|>", "<|padding|>", "<|endofpad|>"]);

type BaselineTokenizer = Pick<TextTokenizer, "eosId" | "maskId" | "unkId" | "specialIds" | "tokenString">;

/** The special tokens a tokenizer names, by baseline kind. */
export function baselineTokens(tok: BaselineTokenizer): Partial<Record<BaselineToken, number>> {
  const pad = [...tok.specialIds].find((id) => PAD_NAMES.has(tok.tokenString(id) ?? ""));
  const found: Partial<Record<BaselineToken, number>> = {};
  if (pad !== undefined) found.pad = pad;
  if (tok.eosId !== undefined) found.eos = tok.eosId;
  if (tok.maskId !== undefined) found.mask = tok.maskId;
  if (tok.unkId !== undefined) found.unk = tok.unkId;
  return found;
}

/**
 * The baseline token: the one asked for (a kind the tokenizer names, or an id), or by default pad,
 * else eos, else unk. BAD_INPUT naming what the tokenizer has when it lacks the one asked for.
 */
export function resolveBaseline(tok: BaselineTokenizer, vocab: number, asked: BaselineToken | number | undefined): { id: number; kind: BaselineToken | "id" } {
  if (typeof asked === "number") {
    if (!Number.isInteger(asked) || asked < 0 || asked >= vocab) throw new EngineError("BAD_INPUT", `baseline token id ${asked} is outside the vocabulary (0..${vocab - 1})`);
    return { id: asked, kind: "id" };
  }
  const found = baselineTokens(tok);
  const has = Object.entries(found).map(([k, id]) => `${k} (${id})`);
  const hasText = has.length ? `it has ${has.join(", ")}` : "it names none of pad, eos, mask or unk";
  if (asked !== undefined) {
    const id = found[asked];
    if (id === undefined) throw new EngineError("BAD_INPUT", `the tokenizer has no ${asked} token to use as the baseline: ${hasText}; pick one of those or give a token id`);
    return { id, kind: asked };
  }
  for (const kind of ["pad", "eos", "unk"] as const) if (found[kind] !== undefined) return { id: found[kind], kind };
  throw new EngineError("BAD_INPUT", `the tokenizer names no pad, eos or unk token to use as the baseline: give the baseline as a token id`);
}

/**
 * A token given as its id or its text: text that the tokenizer reads as exactly one token, else a
 * vocabulary entry with that text. BAD_INPUT saying what the text splits into otherwise.
 */
export function resolveToken(tok: Pick<TextTokenizer, "encode" | "tokenText" | "tokenString">, vocab: number, given: string | number, what: string): number {
  if (typeof given === "number") {
    if (!Number.isInteger(given) || given < 0 || given >= vocab) throw new EngineError("BAD_INPUT", `${what} token id ${given} is outside the vocabulary (0..${vocab - 1})`);
    return given;
  }
  const ids = tok.encode(given);
  if (ids.length === 1) return ids[0];
  for (let id = 0; id < vocab; id++) if (tok.tokenString(id) === given || tok.tokenText(id) === given) return id;
  const parts = ids.map((id) => JSON.stringify(tok.tokenText(id))).join(" ");
  throw new EngineError("BAD_INPUT", `${what} ${JSON.stringify(given)} is not one token of this model's vocabulary (it reads as ${ids.length} tokens: ${parts}); give a single token, such as its first, or a token id`);
}

export interface AblationOptions {
  /** The prediction explained: made after ids[0..position−1]; 1..ids.length. */
  position: number;
  /** Absent: the model's top prediction on the real prefix. */
  target?: number;
  foil?: number;
  baseline: number;
  signal?: AbortSignal;
  /** After each run: `done` of `total`. */
  onStep?: (done: number, total: number) => void;
}

export interface AblationResult {
  target: number;
  base: number;
  /** One per position 0..position−1. */
  scores: number[];
  runs: number;
}

/**
 * Feature ablation over the prefix: the metric on the real prefix, then once per earlier position
 * with that token replaced by the baseline; score = metric(real) − metric(ablated). Cancellation is
 * checked between runs.
 */
export async function featureAblation(model: Decoder, ids: number[], o: AblationOptions): Promise<AblationResult> {
  const p = o.position;
  const V = model.config.vocab_size;
  const prefix = ids.slice(0, p);
  const cancelled = () => {
    if (o.signal?.aborted) throw new EngineError("CANCELLED", "attribute was cancelled");
  };
  cancelled();
  // With a KV cache the real run's keys and values of tokens 0..j−1 are reused when token j is
  // ablated (they do not depend on it): each ablated run computes only tokens j..p−1, half the work.
  const cached = model instanceof DecoderModel && model.probe.hasKvCache ? model : undefined;
  let real: Float32Array;
  let cache: KvCache | undefined;
  if (cached) ({ logits: real, cache } = await cached.forward(prefix, { wantCache: true }));
  else real = (await model.forward(prefix, {})).logits;
  const target = o.target ?? argmaxAt(real, V, p - 1);
  if (o.foil === target) throw new EngineError("BAD_INPUT", `the foil is the target (token ${target}): the logit difference is 0 whatever the input; pick another foil`);
  const base = metricAt(real, V, p - 1, target, o.foil);
  const total = p + 1;
  o.onStep?.(1, total);
  const scores: number[] = [];
  for (let j = 0; j < p; j++) {
    cancelled();
    let m: number;
    if (cached && cache) {
      const rest = prefix.slice(j);
      rest[0] = o.baseline;
      const out = await cached.forward(rest, { cache: j === 0 ? cached.emptyCache() : cacheUpTo(cache, j) });
      m = metricAt(out.logits, V, rest.length - 1, target, o.foil);
    } else {
      const ablated = prefix.slice();
      ablated[j] = o.baseline;
      m = metricAt((await model.forward(ablated, {})).logits, V, p - 1, target, o.foil);
    }
    scores.push(base - m);
    o.onStep?.(j + 2, total);
  }
  return { target, base, scores, runs: total };
}

/** The first `n` tokens of a KV cache: each past_key_values tensor [1, heads, length, headDim] cut along its length. */
export function cacheUpTo(cache: KvCache, n: number): KvCache {
  const T = ort().Tensor;
  const tensors = new Map<string, ortTypes.Tensor>();
  for (const [name, t] of cache.tensors) {
    const [b, h, len, d] = t.dims;
    if (t.dims.length !== 4 || b !== 1 || len !== cache.length || n > len) throw new EngineError("INTERNAL", `the KV cache tensor ${name} has shape [${t.dims}], not [1, heads, ${cache.length}, head_dim]`);
    const src = t.data as Float32Array | Uint16Array;
    const out = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(h * n * d);
    for (let k = 0; k < h; k++) out.set(src.subarray(k * len * d, (k * len + n) * d), k * n * d);
    tensors.set(name, new T(t.type as "float32", out as Float32Array, [1, h, n, d]));
  }
  return { length: n, tensors };
}
