// Generation and inspection for encoder-decoders: the source through the encoder once, then the
// target one token at a time from the decoder start token (through the decoder's KV cache when the
// folder has decoder_with_past_model.onnx or a merged decoder_model_merged.onnx, else the whole
// target again each step), with the configs' bad_words_ids never written and forced_eos_token_id
// forced where the target reaches max_length, as Hugging Face's generate does.
import type * as ortTypes from "onnxruntime-node";
import { EngineError } from "../protocol/errors";
import type { GeneratedToken, GenerateParams, GenerateResult } from "../protocol/completion";
import type { TokenInfo } from "../protocol/basics";
import type { Seq2SeqInspectResult } from "../protocol/seq2seq";
import { chooseToken, checkSampling, isGreedy } from "./generate";
import type { EncoderOutput, Seq2SeqModel } from "./models/seq2seq";
import { probabilityOf, softmax, topIndices } from "./probes/nextToken";
import { seededRandom } from "./random";
import { encodeHead } from "./tokenize/tail";

/** The logits of the next target token with what the configs forbid or force applied (a copy). */
export function processLogits(model: Seq2SeqModel, logits: Float32Array, written: number[]): Float32Array {
  const c = model.config;
  const out = logits.slice();
  for (const bad of c.bad_words_ids) {
    const last = bad[bad.length - 1];
    if (last >= out.length) continue;
    const prefix = bad.slice(0, -1);
    // a longer bad word is banned only right after its prefix
    if (prefix.every((id, i) => written[written.length - prefix.length + i] === id)) out[last] = -Infinity;
  }
  // the decoder input so far is `written` (start token first); at max_length - 1 the next must be EOS
  if (c.forced_eos_token_id !== undefined && written.length === c.max_length - 1 && c.forced_eos_token_id < out.length) {
    out.fill(-Infinity);
    out[c.forced_eos_token_id] = 0;
  }
  return out;
}

/** Steps through the decoder: the logits after `written`, with or without the KV cache. */
class TargetSteps {
  private cache?: Map<string, ortTypes.Tensor>;

  constructor(
    private readonly model: Seq2SeqModel,
    private readonly enc: EncoderOutput,
    private readonly useCache: boolean,
  ) {}

  async next(written: number[]): Promise<Float32Array> {
    const V = this.model.config.vocab_size;
    if (this.useCache && this.cache) {
      const out = await this.model.step(written[written.length - 1], this.enc, this.cache);
      this.cache = out.cache;
      return out.logits;
    }
    const out = await this.model.decode(written, this.enc, { wantCache: this.useCache });
    if (this.useCache) this.cache = out.cache;
    return out.logits.subarray((written.length - 1) * V, written.length * V);
  }
}

function sourceIds(model: Seq2SeqModel, p: { text?: string; ids?: number[] }): { ids: number[]; truncated?: GenerateResult["truncated"] } {
  const max = model.config.n_positions;
  // a long text is cut before it is tokenized: only its start is read (engine/tokenize/tail.ts)
  const head = p.ids?.length ? undefined : p.text ? encodeHead(model.tokenizer, p.text, max) : undefined;
  let ids = p.ids?.length ? p.ids.slice() : (head?.ids ?? []);
  if (ids.length === 0) throw new EngineError("BAD_INPUT", p.text === undefined && p.ids === undefined ? "the source is empty: select the text to translate (or give --text/--ids)" : "the source produced no tokens");
  model.checkIds(ids);
  if (head?.cut) {
    const n = head.cut.approxTokens;
    return { ids, truncated: { droppedTokens: n, notice: `the source has ${p.text!.length.toLocaleString("en-US")} characters, more than the model's ${max} positions; the last ${head.cut.chars.toLocaleString("en-US")} characters (about ${n.toLocaleString("en-US")} tokens) were dropped (only the start was tokenized)` } };
  }
  if (ids.length > max) {
    const dropped = ids.length - max;
    // keep the start of the source and its end-of-sequence token
    ids = [...ids.slice(0, max - 1), ids[ids.length - 1]];
    return { ids, truncated: { droppedTokens: dropped, notice: `the source has ${ids.length + dropped} tokens, more than the model's ${max} positions; ${dropped} before its last were dropped` } };
  }
  return { ids };
}

/** Greedy or sampled target tokens after the source, each with the model's own probability of it. */
export async function generateSeq2seq(model: Seq2SeqModel, p: GenerateParams, onToken: (t: GeneratedToken, index: number, delta: string) => void, signal: AbortSignal): Promise<GenerateResult> {
  const t0 = performance.now();
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 1) throw new EngineError("BAD_INPUT", `max tokens must be a positive integer (got ${p.maxTokens})`);
  checkSampling(p, model.config.vocab_size);
  const greedy = isGreedy(p);
  const seed = greedy ? undefined : (p.seed ?? Math.floor(Math.random() * 2 ** 31));
  const rand = seededRandom(seed ?? 0);
  const src = sourceIds(model, p);
  const enc = await model.encode(src.ids);
  const promptMs = performance.now() - t0;
  const steps = new TargetSteps(model, enc, (p.useCache ?? true) && model.hasKvCache);
  const written = [model.config.decoder_start_token_id];
  const tokens: GeneratedToken[] = [];
  let stoppedBy: GenerateResult["stoppedBy"] = "maxTokens";
  const tLoop = performance.now();
  const eos = model.config.eos_token_id;
  while (tokens.length < p.maxTokens) {
    if (signal.aborted) {
      stoppedBy = "cancelled";
      break;
    }
    if (written.length >= model.config.max_length) {
      stoppedBy = "context";
      break;
    }
    const raw = await steps.next(written);
    const id = chooseToken(processLogits(model, raw, written), { ...p, greedy }, rand);
    if ((p.stopAtEos ?? true) && id === eos) {
      stoppedBy = "eos";
      break;
    }
    // the model's own probability of the token (before bad words and forced EOS are applied)
    const tok: GeneratedToken = { id, text: model.tokenizer.tokenText(id), p: probabilityOf(raw, id) };
    tokens.push(tok);
    written.push(id);
    onToken(tok, tokens.length - 1, (tokens.length > 1 ? " " : "") + tok.text);
  }
  const loopMs = performance.now() - tLoop;
  return {
    text: model.tokenizer.decode(tokens.map((t) => t.id)),
    tokens,
    promptTokens: src.ids.length,
    truncated: src.truncated,
    stoppedBy,
    greedy,
    seed,
    device: model.device,
    ms: { prompt: promptMs, perToken: tokens.length > 0 ? loopMs / tokens.length : 0, total: performance.now() - t0 },
  };
}

/** What an encoder-decoder inspection keeps for its slices. */
export interface Seq2SeqInspection {
  encoder?: Float32Array[];
  decoder?: Float32Array[];
  cross?: Float32Array[];
  S: number;
  T: number;
  encoderHeads: number;
  decoderHeads: number;
}

/** Tokens of ids with offsets in `text` when given (the source), else the tokens' own text. */
function tokensOf(model: Seq2SeqModel, ids: number[], text?: string): TokenInfo[] {
  return model.tokenizer.withOffsets(ids, text);
}

/**
 * The attentions over a source and a target: the given one (text or ids, the decoder start token
 * put first, an end-of-sequence token at its end dropped: the inspection asks what comes after), or
 * the greedy translation.
 */
export async function inspectSeq2seq(
  model: Seq2SeqModel,
  p: { text?: string; ids?: number[]; target?: string; targetIds?: number[]; topK?: number; maxTokens?: number },
  signal: AbortSignal,
): Promise<{ result: Omit<Seq2SeqInspectResult, "handle" | "model" | "ms">; kept: Seq2SeqInspection }> {
  const c = model.config;
  const src = sourceIds(model, p);
  const enc = await model.encode(src.ids, { attention: true });
  let target: number[];
  let generated = false;
  if (p.targetIds?.length || p.target) {
    target = p.targetIds?.length ? p.targetIds.slice() : model.tokenizer.encode(p.target!);
    model.checkIds(target);
    if (target[0] !== c.decoder_start_token_id) target.unshift(c.decoder_start_token_id);
    if (target.length > 1 && target[target.length - 1] === c.eos_token_id) target.pop();
  } else {
    const g = await generateSeq2seq(model, { model: "", ids: src.ids, maxTokens: p.maxTokens ?? 64, greedy: true }, () => {}, signal);
    target = [c.decoder_start_token_id, ...g.tokens.map((t) => t.id)];
    generated = true;
  }
  if (target.length > c.max_length) throw new EngineError("BAD_INPUT", `the target has ${target.length} tokens, more than the model's max_length of ${c.max_length}`);
  if (signal.aborted) throw new EngineError("CANCELLED", "inspect was cancelled");
  const out = await model.decode(target, enc, { attention: true });
  const V = c.vocab_size;
  const T = target.length;
  // the model's own distributions (generation applies bad words and forced EOS when it chooses)
  const probs = softmax(out.logits.subarray((T - 1) * V, T * V), 1);
  const topK = Math.max(1, Math.min(p.topK ?? 10, V));
  const next = topIndices(probs, topK).map((id) => ({ id, token: model.tokenizer.tokenText(id), p: probs[id] }));
  const targetP: (number | null)[] = target.map((id, i) => (i === 0 ? null : softmax(out.logits.subarray((i - 1) * V, i * V), 1)[id]));
  const targetTokens = tokensOf(model, target).map((t, i) => (i === 0 ? { ...t, special: true } : t));
  return {
    result: {
      device: model.device,
      source: tokensOf(model, src.ids, p.ids?.length ? undefined : p.text),
      target: targetTokens,
      generated,
      encoderLayers: c.encoderLayers,
      decoderLayers: c.decoderLayers,
      encoderHeads: c.encoderHeads,
      decoderHeads: c.decoderHeads,
      attention: { encoder: !!enc.attention?.length, decoder: !!out.selfAttention?.length, cross: !!out.crossAttention?.length },
      next,
      targetP,
      truncated: src.truncated,
    },
    kept: { encoder: enc.attention, decoder: out.selfAttention, cross: out.crossAttention, S: src.ids.length, T, encoderHeads: c.encoderHeads, decoderHeads: c.decoderHeads },
  };
}

/** One layer and head of a kept inspection, [rows, cols]. */
export function seq2seqSlice(k: Seq2SeqInspection, kind: "encoder" | "decoder" | "cross", layer: number, head: number): { shape: number[]; data: Float32Array } {
  const layers = k[kind];
  if (!layers || layers.length === 0) throw new EngineError("NO_ATTENTION", `this model's graphs show no ${kind === "cross" ? "cross-" : `${kind} self-`}attention`);
  const H = kind === "encoder" ? k.encoderHeads : k.decoderHeads;
  if (layer >= layers.length || head >= H) throw new EngineError("BAD_INPUT", `layer ${layer}, head ${head} is outside the ${kind} attention's ${layers.length} layers x ${H} heads`);
  const [rows, cols] = kind === "encoder" ? [k.S, k.S] : kind === "decoder" ? [k.T, k.T] : [k.T, k.S];
  return { shape: [rows, cols], data: layers[layer].slice(head * rows * cols, (head + 1) * rows * cols) };
}
