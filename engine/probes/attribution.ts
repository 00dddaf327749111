// Feature ablation: a prediction attributed to each earlier token by replacing that token with a
// baseline token and running the model again. Any decoder that gives next-token logits serves (the
// ONNX families, a bare graph, the TensorFlow.js twin): it needs nothing but forward(ids). Each
// ablated input is the prefix up to the explained position only (the tokens after it cannot change
// that prediction). An ONNX decoder whose interventions copy can be built (onnxInterventions.ts)
// runs the ablated inputs in batches, as many as the caller's memory share allows, and projects
// only the last position of each onto the vocabulary; with a KV cache in the graph, a batch of ablations j0..j1
// runs the tokens from j0 on after the real run's cache for the tokens before j0 (which they cannot
// change). Other decoders run one ablated input after another, the KV cache reused the same way.
import { EngineError } from "../../protocol/errors";
import type { BaselineToken } from "../../protocol/attribution";
import { cacheUpTo, DecoderModel, lastLogits, presentCache, type Decoder, type KvCache } from "../models/decoder";
import { editShape, type InterventionsGraph } from "../formats/onnxInterventions";
import { floatValues } from "../runtime/onnx/tensors";
import type { TextTokenizer } from "../tokenize/tokenizer";

/**
 * What the score measures at one row of logits: ln p(target), or logit(target) − logit(foil).
 * `stride`: the values per row, where the graph pads the vocabulary past `vocab`.
 */
export function metricAt(logits: Float32Array, vocab: number, row: number, target: number, foil?: number, stride = vocab): number {
  const o = row * stride;
  if (foil !== undefined) return logits[o + target] - logits[o + foil];
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[o + i] > max) max = logits[o + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[o + i] - max);
  return logits[o + target] - max - Math.log(sum);
}

/** The id of the largest logit in a row (`stride` values per row). */
export function argmaxAt(logits: Float32Array, vocab: number, row: number, stride = vocab): number {
  const o = row * stride;
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[o + i] > logits[o + best]) best = i;
  return best;
}

/** The most tokens one batched run of ablated inputs holds (rows × their length). */
const BATCH_TOKENS = 4096;
/**
 * The most multiply-adds of the blocks' weights one batched run holds, about 12 · layers · width²
 * a token (about a second on two cores): a cancel waits for at most one such run, and a larger
 * model runs fewer ablated inputs at once (GPT-2 small: about 1,200 tokens a run).
 */
const BATCH_WORK = 1e11;

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
  /** The token put in place of each one, or "zero": its token embedding replaced by zeros (positions kept; the interventions copy only). */
  baseline: number | "zero";
  signal?: AbortSignal;
  /** The most ablated inputs one run may hold (batched runs only); 1 when absent. */
  maxBatch?: number;
  /** After each run: `done` of `total` inputs. */
  onStep?: (done: number, total: number) => void;
}

export interface AblationResult {
  target: number;
  base: number;
  /** One per position 0..position−1. */
  scores: number[];
  /** Sequences run: the real prefix and one per position. */
  runs: number;
  /** Whether the ablated inputs ran in batches through the interventions copy. */
  batched: boolean;
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
  if (model instanceof DecoderModel) {
    const g = await model.interventions().catch((e: unknown) => {
      if (e instanceof EngineError && e.code === "NO_LENS") return undefined;
      throw e;
    });
    if (g) return batchedAblation(model, prefix, o, cancelled);
  }
  const baseline = o.baseline;
  if (baseline === "zero") {
    throw new EngineError("UNSUPPORTED", `${model.name}: a zero-embedding baseline is fed through the residual-stream edits of the graph's interventions copy, which this model has none of (it is ${model instanceof DecoderModel ? "a graph whose residual stream was not found" : "not an ONNX graph"}); give a baseline token (pad, eos, mask, unk or an id)`);
  }
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
      rest[0] = baseline;
      const out = await cached.forward(rest, { cache: j === 0 ? cached.emptyCache() : cacheUpTo(cache, j) });
      m = metricAt(out.logits, V, rest.length - 1, target, o.foil);
    } else {
      const ablated = prefix.slice();
      ablated[j] = baseline;
      m = metricAt((await model.forward(ablated, {})).logits, V, p - 1, target, o.foil);
    }
    scores.push(base - m);
    o.onStep?.(j + 2, total);
  }
  return { target, base, scores, runs: total, batched: false };
}

/**
 * Feature ablation through the interventions copy: the real prefix once (its last logits and its
 * KV cache), then the ablated inputs in batches, each reading its last position's logits alone. A
 * batch holds ablations j0..j1 (at most maxBatch, BATCH_TOKENS tokens and BATCH_WORK, and j1 − j0 at
 * most an eighth of the tokens left, so little is recomputed): each row is the prefix from j0 with
 * its token j replaced, after the real cache for tokens 0..j0−1 (from 0 without a cache in the graph).
 */
async function batchedAblation(model: DecoderModel, prefix: number[], o: AblationOptions, cancelled: () => void): Promise<AblationResult> {
  const g = await model.interventions();
  const p = prefix.length;
  const V = model.config.vocab_size;
  const L = model.config.n_layer;
  const kv = model.probe.hasKvCache;
  const presents = kv ? Array.from({ length: L }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat() : [];
  const zero = o.baseline === "zero";
  const real = await model.runInterventions(prefix, new Map(), [g.logits, ...presents, ...(zero ? [g.embed, g.tokenEmbed] : [])], { lastOnly: true });
  const r = lastLogits(real, g.logits, 1, p);
  if (r.stride < V) throw new EngineError("MODEL_INVALID", `the logits have shape [${real[g.logits].dims}], fewer than the ${V} tokens of the vocabulary`);
  const target = o.target ?? argmaxAt(r.data, V, r.row(0), r.stride);
  if (o.foil === target) throw new EngineError("BAD_INPUT", `the foil is the target (token ${target}): the logit difference is 0 whatever the input; pick another foil`);
  const base = metricAt(r.data, V, r.row(0), target, o.foil, r.stride);
  const cache = kv ? presentCache(real, L, p) : undefined;
  // a zero embedding: the residual entering block 0 becomes what the graph adds to the token
  // embedding there (the position's embedding, or nothing), by block 0's residual edit
  const D = g.width;
  const positional = zero ? positionalPart(real, g, p) : undefined;
  const shape = zero ? editShape(real[g.embed].dims, p, D, g.embed) : undefined;
  const total = p + 1;
  o.onStep?.(1, total);
  const maxBatch = Math.max(1, Math.floor(o.maxBatch ?? 1));
  const batchTokens = Math.min(BATCH_TOKENS, Math.floor(BATCH_WORK / (12 * L * model.config.n_embd ** 2)));
  const scores: number[] = [];
  for (let j = 0; j < p; ) {
    cancelled();
    const start = kv ? j : 0;
    const len = p - start;
    // rows j..k−1 each recompute tokens start..row−1 for nothing: at most an eighth of the tokens left
    const slack = kv ? Math.floor(len / 8) : p;
    let k = j + 1;
    while (k < p && k - j < maxBatch && (k - j + 1) * len <= batchTokens && k - start <= slack) k++;
    const B = k - j;
    const past = cache && start > 0 ? cacheUpTo(cache, start) : undefined;
    let run;
    if (positional && shape) {
      // every row the real tokens; row b's token j + b has its embedding zeroed
      const keep = { data: new Float32Array(B * len).fill(1), dims: shape(B, len, 1) };
      const value = { data: new Float32Array(B * len * D), dims: shape(B, len, D) };
      for (let b = 0; b < B; b++) {
        const at = b * len + (j + b - start);
        keep.data[at] = 0;
        value.data.set(positional.subarray((j + b) * D, (j + b + 1) * D), at * D);
      }
      const blk = g.blocks[0];
      run = await model.runInterventions(prefix.slice(start), new Map([[blk.residKeep, keep], [blk.residValue, value]]), [g.logits], { past, batch: B, lastOnly: true });
    } else {
      const rows: number[][] = [];
      for (let a = j; a < k; a++) {
        const row = prefix.slice(start);
        row[a - start] = o.baseline as number;
        rows.push(row);
      }
      run = await model.runInterventions(prefix.slice(start), new Map(), [g.logits], { past, rows, lastOnly: true });
    }
    const out = lastLogits(run, g.logits, B, len);
    for (let b = 0; b < B; b++) scores.push(base - metricAt(out.data, V, out.row(b), target, o.foil, out.stride));
    j = k;
    o.onStep?.(j + 1, total);
  }
  return { target, base, scores, runs: total, batched: true };
}

/**
 * What the graph adds to each token's embedding before block 0, [p, D]: the residual entering block
 * 0 less the token embedding (the position embedding; zeros where nothing is added, as in a
 * Llama-shaped graph, whose rotary positions act inside attention).
 */
function positionalPart(out: Awaited<ReturnType<DecoderModel["runInterventions"]>>, g: InterventionsGraph, p: number): Float32Array {
  const D = g.width;
  if (g.embed === g.tokenEmbed) return new Float32Array(p * D);
  const resid = floatValues(out[g.embed], g.embed);
  const tok = floatValues(out[g.tokenEmbed], g.tokenEmbed);
  if (resid.length !== p * D || tok.length !== p * D) throw new EngineError("NO_LENS", `the token embedding ${g.tokenEmbed} has ${tok.length} values and the residual entering block 0 ${resid.length}, not ${p} rows of ${D}: a zero embedding cannot be put in this graph; give a baseline token`);
  const out2 = new Float32Array(p * D);
  for (let i = 0; i < out2.length; i++) out2[i] = resid[i] - tok[i];
  return out2;
}
