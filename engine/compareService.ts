// Two decoders on one text. With one tokenizer they are compared token by token: per position the
// KL divergence both ways and JS of their next-token distributions, each one's loss, rank and
// probability of the actual token, and per head how their attention differs. With two tokenizers
// each one's loss is spread over the bytes of its tokens and the two are compared per byte. A pair
// that cannot be compared gets an error naming the first difference.
import type { Decoder } from "./models/decoder";
import { lossOverSpans, lossPerByte } from "./probes/compare";
import { attentionHeadJs, compareRows, RowsOut } from "./probes/compareKernel";
import { tokenizeInput, TokenizedInput } from "./probes/tokens";
import { EngineError } from "../protocol/errors";
import type { ComparedToken, CompareResult } from "../protocol/compare";
import type { InspectionStore } from "./store";
import { checkPairBudget } from "./limits";
import type { RecurrentService } from "./recurrentService";
import { stepTokens } from "./probes/tokens";

/** "token" when the two tokenize alike, "byte" when they do not; throws INCOMPATIBLE when they claim one tokenizer but differ. */
export function pairMode(a: Decoder, b: Decoder): { mode: "token" | "byte"; note?: string } {
  const diff = a.tokenizer.firstDifference(b.tokenizer);
  if (!diff) {
    if (a.config.vocab_size !== b.config.vocab_size) {
      throw new EngineError("INCOMPATIBLE", `${a.name} and ${b.name} share a tokenizer but not the vocabulary size of their outputs: vocab_size ${a.config.vocab_size} against ${b.config.vocab_size}`);
    }
    return { mode: "token" };
  }
  if (a.tokenizer.name !== undefined && a.tokenizer.name === b.tokenizer.name) {
    throw new EngineError("INCOMPATIBLE", `${a.name} and ${b.name} both name their tokenizer ${JSON.stringify(a.tokenizer.name)}, but ${diff}`);
  }
  return { mode: "byte", note: `${a.name} and ${b.name} tokenize differently (${diff}): their losses are compared per byte of the text, aligned by byte offsets` };
}

export async function compareModels(
  a: Decoder,
  b: Decoder,
  input: { text?: string; ids?: number[] },
  opts: { maxTokens?: number; store: InspectionStore; signal?: AbortSignal; memoryBudget?: number },
): Promise<CompareResult> {
  const t0 = performance.now();
  const { mode, note } = pairMode(a, b);
  const cap = Math.min(opts.maxTokens ?? Infinity, a.config.n_positions, b.config.n_positions);
  const inA = tokenizeInput(a, input, cap);
  let inB: TokenizedInput = inA;
  if (mode === "byte") {
    if (input.text === undefined) throw new EngineError("BAD_INPUT", "two models with different tokenizers are compared on text, not token ids");
    inB = tokenizeInput(b, input, cap);
    if (inA.truncated || inB.truncated) throw new EngineError("BAD_INPUT", `the text is longer than a model's context (${cap} tokens): select less to compare two tokenizers byte by byte`);
  }
  // attention is only compared over one tokenization
  const attention = mode === "token" && a.probe.attentionOutputs.length > 0 && b.probe.attentionOutputs.length > 0;
  // both passes' outputs are held at once (and stored for the panel's slices)
  if (opts.memoryBudget !== undefined) checkPairBudget(`comparing ${a.name} and ${b.name} on`, { c: a.config, T: inA.ids.length }, { c: b.config, T: inB.ids.length }, opts.memoryBudget, { attention });
  const t1 = performance.now();
  // one after the other: each session already uses every core
  const outA = await a.forward(inA.ids, { attention });
  const outB = await b.forward(inB.ids, { attention });
  const t2 = performance.now();
  if (opts.signal?.aborted) throw new EngineError("CANCELLED", "compare was cancelled");
  const T = inA.ids.length;
  const add = (m: Decoder, inp: TokenizedInput, out: typeof outA) =>
    opts.store.add({ model: { config: m.config, tokenizer: m.tokenizer }, ids: inp.ids, tokens: inp.tokens, logits: out.logits, attention: out.attention ? { layers: out.attention, heads: m.config.n_head, length: inp.ids.length } : undefined, attentionNote: out.attentionError ?? m.probe.attentionNote });
  const handles: [string, string] = [add(a, inA, outA).handle, add(b, inB, outB).handle];
  const V = a.config.vocab_size;
  /** Row t predicts token t + 1: the targets are the ids shifted by one (the last row has none). */
  const targets = (ids: number[]) => Array.from(ids, (_, t) => (t + 1 < ids.length ? ids[t + 1] : 0));
  const bits = (nats: number) => nats / Math.LN2;
  /** Token t's loss, p and rank from row t − 1 (null for the first token). */
  const side = (r: RowsOut, which: "A" | "B", t: number) => {
    if (t === 0) return { loss: null, p: null, rank: null };
    const nats = (which === "A" ? r.lossA : r.lossB)[t - 1];
    return { loss: bits(nats), p: Math.exp(-nats), rank: (which === "A" ? r.aboveA : r.aboveB)[t - 1] + 1 };
  };
  let perToken: ComparedToken[];
  let meanLoss: [number, number];
  let meanJs: number | undefined;
  if (mode === "token") {
    const rows = compareRows(outA.logits, outB.logits, T, V, targets(inA.ids));
    perToken = inA.ids.map((_, t) => {
      const [sa, sb] = [side(rows, "A", t), side(rows, "B", t)];
      return {
        loss: [sa.loss, sb.loss],
        kl: t === 0 ? null : [bits(rows.klAB[t - 1]), bits(rows.klBA[t - 1])],
        js: t === 0 ? null : bits(rows.js[t - 1]),
        rank: [sa.rank, sb.rank],
        p: [sa.p, sb.p],
      };
    });
    const n = Math.max(1, T - 1);
    meanLoss = [perToken.reduce((s, c) => s + (c.loss[0] ?? 0), 0) / n, perToken.reduce((s, c) => s + (c.loss[1] ?? 0), 0) / n];
    meanJs = perToken.reduce((s, c) => s + (c.js ?? 0), 0) / n;
  } else {
    const rowsA = compareRows(outA.logits, outA.logits, T, V, targets(inA.ids));
    const rowsB = compareRows(outB.logits, outB.logits, inB.ids.length, b.config.vocab_size, targets(inB.ids));
    const lossA = inA.ids.map((_, t) => side(rowsA, "A", t).loss);
    const lossB = inB.ids.map((_, t) => side(rowsB, "A", t).loss);
    const bytes = new TextEncoder().encode(input.text!).length;
    const perA = lossPerByte(inA.tokens, lossA, bytes);
    const perB = lossPerByte(inB.tokens, lossB, bytes);
    const bOverA = lossOverSpans(inA.tokens, perB);
    perToken = inA.ids.map((_, t) => ({ loss: [lossA[t], lossA[t] === null ? null : bOverA[t]], kl: null, js: null, rank: null, p: null }));
    // bits per byte over the bytes both models predicted
    let sa = 0;
    let sb = 0;
    let n = 0;
    for (let k = 0; k < bytes; k++) {
      if (Number.isNaN(perA[k]) || Number.isNaN(perB[k])) continue;
      sa += perA[k];
      sb += perB[k];
      n++;
    }
    meanLoss = [sa / Math.max(1, n), sb / Math.max(1, n)];
  }
  const changedTokens = perToken
    .map((c, index) => ({ index, text: inA.tokens[index].text, delta: c.loss[0] !== null && c.loss[1] !== null ? c.loss[1] - c.loss[0] : 0 }))
    .filter((c) => c.delta !== 0)
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta))
    .slice(0, 10);
  const comparable = mode === "token" && !!outA.attention && !!outB.attention && a.config.n_layer === b.config.n_layer && a.config.n_head === b.config.n_head;
  const changedHeads: CompareResult["summary"]["changedHeads"] = [];
  if (comparable) {
    const H = a.config.n_head;
    const js = attentionHeadJs(outA.attention!, outB.attention!, H, T);
    js.forEach((v, i) => changedHeads.push({ layer: Math.floor(i / H), head: i % H, meanJs: bits(v) }));
    changedHeads.sort((x, y) => y.meanJs - x.meanJs);
  }
  return {
    mode,
    note,
    names: [a.name, b.name],
    devices: [a.device, b.device],
    handles,
    tokens: inA.tokens,
    tokensB: mode === "byte" ? inB.tokens : undefined,
    perToken,
    summary: { meanLoss, unit: mode === "token" ? "bits/token" : "bits/byte", changedTokens, changedHeads, meanJs },
    nLayer: a.config.n_layer,
    nHead: a.config.n_head,
    attentionComparable: comparable,
    truncated: inA.truncated,
    ms: { run: t2 - t1, total: performance.now() - t0 },
  };
}

/**
 * Two recurrent character models on one text: the same vocabulary, compared character by
 * character (the distribution of the next character after each step), with each one's gates run
 * kept for the panel.
 */
export async function compareRecurrent(gates: RecurrentService, modelA: string, modelB: string, input: string | undefined, opts: { store: InspectionStore; maxChars?: number }): Promise<CompareResult> {
  const t0 = performance.now();
  if (input === undefined || input.length === 0) throw new EngineError("BAD_INPUT", "two character models are compared on text: give some");
  // the last maxChars characters, as decoders keep their last tokens
  const chars = Array.from(input);
  const cap = opts.maxChars ?? 4096;
  const dropped = Math.max(0, chars.length - cap);
  const text = dropped ? chars.slice(dropped).join("") : input;
  const truncated = dropped ? { droppedTokens: dropped, notice: `the text has ${chars.length} characters, more than the ${cap} compared; the first ${dropped} were dropped (truncated from the left)` } : undefined;
  const a = await gates.charRun(modelA, text);
  const b = await gates.charRun(modelB, text);
  const V = a.vocab.length;
  if (b.vocab.length !== V || a.vocab.some((c, i) => c !== b.vocab[i])) {
    const i = a.vocab.findIndex((c, k) => c !== b.vocab[k]);
    throw new EngineError("INCOMPATIBLE", `${a.model.name} and ${b.model.name} have different character vocabularies: entry ${i < 0 ? V : i} is ${JSON.stringify(a.vocab[i] ?? "missing")} in the first and ${JSON.stringify(b.vocab[i] ?? "missing")} in the second`);
  }
  const t1 = performance.now();
  const tokens = stepTokens(a.result.labels, a.result.source, "text");
  const T = tokens.length;
  const index = new Map(a.vocab.map((c, i) => [c, i]));
  const unk = a.model.config?.unk ?? 0;
  const ids = a.result.labels.map((c) => index.get(c) ?? unk);
  const [la, lb] = [a.logits, b.logits];
  const rows = compareRows(la, lb, T, V, ids.map((_, t) => (t + 1 < T ? ids[t + 1] : 0)));
  const bits = (nats: number) => nats / Math.LN2;
  const perToken: ComparedToken[] = ids.map((_, t) =>
    t === 0
      ? { loss: [null, null], kl: null, js: null, rank: [null, null], p: [null, null] }
      : {
          loss: [bits(rows.lossA[t - 1]), bits(rows.lossB[t - 1])],
          kl: [bits(rows.klAB[t - 1]), bits(rows.klBA[t - 1])],
          js: bits(rows.js[t - 1]),
          rank: [rows.aboveA[t - 1] + 1, rows.aboveB[t - 1] + 1],
          p: [Math.exp(-rows.lossA[t - 1]), Math.exp(-rows.lossB[t - 1])],
        },
  );
  // Both runs as inspections over the characters, so the panel asks for next-character distributions the same way.
  const charModel = { config: { vocab_size: V }, tokenizer: { tokenText: (id: number) => a.vocab[id] ?? "" } };
  const handles: [string, string] = [opts.store.add({ model: charModel, ids, tokens, logits: la }).handle, opts.store.add({ model: charModel, ids, tokens, logits: lb }).handle];
  const n = Math.max(1, T - 1);
  const meanLoss: [number, number] = [perToken.reduce((s, c) => s + (c.loss[0] ?? 0), 0) / n, perToken.reduce((s, c) => s + (c.loss[1] ?? 0), 0) / n];
  const changedTokens = perToken
    .map((c, i) => ({ index: i, text: tokens[i].text, delta: c.loss[0] !== null && c.loss[1] !== null ? c.loss[1] - c.loss[0] : 0 }))
    .filter((c) => c.delta !== 0)
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta))
    .slice(0, 10);
  return {
    mode: "token",
    names: [a.model.name, b.model.name],
    devices: ["cpu", "cpu"],
    handles,
    gates: [a.result.handle, b.result.handle],
    gateLayers: [a.result.layers, b.result.layers],
    tokens,
    perToken,
    summary: { meanLoss, unit: "bits/char", changedTokens, changedHeads: [], meanJs: perToken.reduce((s, c) => s + (c.js ?? 0), 0) / n },
    nLayer: 0,
    nHead: 0,
    attentionComparable: false,
    truncated,
    ms: { run: t1 - t0, total: performance.now() - t0 },
  };
}
