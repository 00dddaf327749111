// Autoregressive generation with the KV cache (or without: the whole sequence again each step),
// greedy or sampled (temperature, top-k, top-p, seed), cancellable between tokens, streaming each
// token as it comes.
import { DecoderModel, KvCache } from "./models/decoder";
import { probabilityOf, softmax, topIndices } from "./probes/nextToken";
import { EngineError } from "../protocol/errors";
import { GeneratedToken, GenerateParams, GenerateResult } from "../protocol/completion";
import { seededRandom } from "./random";
import { encodeTail } from "./tokenize/tail";

// The training scripts (samples/train/) take it from here.

/** Greedy unless asked to sample, or given a sampling setting. */
export function isGreedy(p: GenerateParams): boolean {
  return p.greedy ?? (p.temperature === undefined && p.topK === undefined && p.topP === undefined);
}

/** Checks the sampling settings; a bad one is a BAD_INPUT error, never a silent default. */
export function checkSampling(p: GenerateParams, vocab: number): void {
  if (p.temperature !== undefined && !(typeof p.temperature === "number" && p.temperature > 0 && Number.isFinite(p.temperature))) {
    throw new EngineError("BAD_INPUT", `temperature must be a positive number (got ${p.temperature}); use greedy decoding for temperature 0`);
  }
  if (p.topK !== undefined && !(Number.isInteger(p.topK) && p.topK >= 1 && p.topK <= vocab)) throw new EngineError("BAD_INPUT", `top-k must be an integer in 1..${vocab} (got ${p.topK})`);
  if (p.topP !== undefined && !(typeof p.topP === "number" && p.topP > 0 && p.topP <= 1)) throw new EngineError("BAD_INPUT", `top-p must be in (0, 1] (got ${p.topP})`);
  if (p.seed !== undefined && !Number.isInteger(p.seed)) throw new EngineError("BAD_INPUT", `seed must be an integer (got ${p.seed})`);
}

/** The most likely token (the first of equal ones). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export function chooseToken(logits: Float32Array, p: GenerateParams, rand: () => number): number {
  if (isGreedy(p)) return argmax(logits);
  const probs = softmax(logits, p.temperature ?? 1);
  let candidates = topIndices(probs, p.topK && p.topK > 0 ? p.topK : probs.length);
  if (p.topP !== undefined && p.topP < 1) {
    let mass = 0;
    const kept: number[] = [];
    for (const id of candidates) {
      kept.push(id);
      mass += probs[id];
      if (mass >= p.topP) break;
    }
    candidates = kept;
  }
  const total = candidates.reduce((a, id) => a + probs[id], 0);
  let r = rand() * total;
  for (const id of candidates) {
    r -= probs[id];
    if (r <= 0) return id;
  }
  return candidates[candidates.length - 1];
}

/**
 * One token at a time: the logits of the token after `ids`, then after each token pushed; through
 * the KV cache (the prompt once, then one token per step) when `useCache`, else the whole sequence
 * each step.
 */
export class TokenSteps {
  private cache?: KvCache;
  private started = false;
  private readonly all: number[];

  constructor(
    private readonly model: DecoderModel,
    ids: number[],
    private readonly useCache: boolean,
  ) {
    this.all = ids.slice();
  }

  /** Tokens so far, the prompt included. */
  get length(): number {
    return this.all.length;
  }

  async next(): Promise<Float32Array> {
    const V = this.model.config.vocab_size;
    const input = this.useCache && this.started ? [this.all[this.all.length - 1]] : this.all;
    const out = await this.model.forward(input, this.useCache ? { cache: this.cache, wantCache: true } : {});
    if (this.useCache) this.cache = out.cache;
    this.started = true;
    return out.logits.subarray((input.length - 1) * V, input.length * V);
  }

  push(id: number): void {
    this.all.push(id);
  }
}

export async function generate(
  model: DecoderModel,
  p: GenerateParams,
  onToken: (t: GeneratedToken, index: number, delta: string) => void,
  signal: AbortSignal,
): Promise<GenerateResult> {
  const t0 = performance.now();
  if (!p.text && !p.ids?.length) throw new EngineError("BAD_INPUT", "the prompt is empty");
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 1) throw new EngineError("BAD_INPUT", `max tokens must be a positive integer (got ${p.maxTokens})`);
  checkSampling(p, model.config.vocab_size);
  const greedy = isGreedy(p);
  const seed = greedy ? undefined : (p.seed ?? Math.floor(Math.random() * 2 ** 31));
  const ctx = model.config.n_positions;
  const maxNew = Math.min(p.maxTokens, ctx - 1);
  // A long prompt's end only is tokenized: at most the context's worth of its last tokens.
  const tail = p.ids?.length ? undefined : encodeTail(model.tokenizer, p.text!, ctx);
  let ids = tail ? tail.ids : p.ids!.slice();
  model.checkIds(ids);
  if (ids.length === 0) throw new EngineError("BAD_INPUT", "the prompt produced no tokens");
  let truncated: GenerateResult["truncated"];
  // Make room for the new tokens, but keep at least half the context of prompt: past that,
  // generation stops at the context limit instead.
  const keep = Math.min(ids.length, Math.max(ctx - maxNew, Math.floor(ctx / 2)));
  const dropped = ids.length - keep;
  if (dropped > 0 || tail?.cut) {
    ids = ids.slice(dropped);
    const cut = tail?.cut;
    const total = dropped + (cut?.approxTokens ?? 0);
    const untokenized = cut ? ` (about: the first ${cut.chars.toLocaleString("en-US")} characters were not tokenized)` : "";
    truncated = { droppedTokens: total, notice: `the prompt was truncated from the left by ${total} tokens${untokenized} to fit the context of ${ctx} with room to generate` };
  }
  const useCache = (p.useCache ?? true) && model.probe.hasKvCache;
  const rand = seededRandom(seed ?? 0);
  const utf8 = new TextDecoder("utf-8", { fatal: false });
  const tokens: GeneratedToken[] = [];
  const steps = new TokenSteps(model, ids, useCache);
  let stoppedBy: GenerateResult["stoppedBy"] = "maxTokens";
  let promptMs = 0;
  const tLoop = performance.now();
  for (let step = 0; step < maxNew; step++) {
    if (signal.aborted) {
      stoppedBy = "cancelled";
      break;
    }
    const tStep = performance.now();
    const last = await steps.next();
    if (step === 0) promptMs = performance.now() - tStep;
    const id = chooseToken(last, { ...p, greedy }, rand);
    const prob = probabilityOf(last, id);
    const tok: GeneratedToken = { id, text: model.tokenizer.tokenText(id), p: prob };
    if ((p.stopAtEos ?? true) && id === model.tokenizer.eosId) {
      stoppedBy = "eos";
      break;
    }
    tokens.push(tok);
    steps.push(id);
    onToken(tok, tokens.length - 1, utf8.decode(model.tokenizer.tokenBytes(id), { stream: true }));
    if (steps.length >= ctx) {
      stoppedBy = step + 1 < maxNew ? "context" : "maxTokens";
      break;
    }
  }
  const loopMs = performance.now() - tLoop;
  return {
    text: model.tokenizer.decode(tokens.map((t) => t.id)),
    tokens,
    promptTokens: ids.length,
    truncated,
    stoppedBy,
    greedy,
    seed,
    device: model.device,
    ms: { prompt: promptMs, perToken: tokens.length > 1 ? (loopMs - promptMs) / (tokens.length - 1) : loopMs, total: performance.now() - t0 },
  };
}
