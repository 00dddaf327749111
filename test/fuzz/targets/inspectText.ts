// The engine's inspection of a selection's text (what Inspect Selection sends): empty, one
// character, lone UTF-16 surrogates, control characters, ten megabytes on one line and on many,
// with top-k, temperature, token caps and attention slices at their edges; then the questions a
// panel asks of the inspection (attention, next token, surprisal, embeddings) with positions in and
// out of range. Also a character model's gates on text. An answer holds tokens whose offsets lie in
// the text, in order, no more than the model takes, and probabilities that are numbers.
import * as path from "node:path";
import { errorProblem, sentenceProblem } from "../bars";
import { ROOT } from "../engine";
import type { Answer } from "../engine";
import type { Method } from "../../../protocol/engine";
import type { Rng } from "../rng";
import { seriesText } from "../seriesText";
import { CaseLog, type EngineEnv, type EngineTarget, type Verdict } from "../target";
import { describe, EDGE_NUMBERS, hostileString, randomUnits } from "../values";

const TINY_GPT = path.join(ROOT, "samples", "models", "tiny-gpt");
const BERT = path.join(ROOT, "test", "fixtures", "hf", "bert-mlm");
const CHAR_LSTM = path.join(ROOT, "samples", "models", "char-lstm");

/** The texts every campaign tries first. */
const FIXED: readonly (() => { text: string; how: string })[] = [
  () => ({ text: "", how: "empty" }),
  () => ({ text: "x", how: "one character" }),
  () => ({ text: "\ud800", how: "a lone high surrogate" }),
  () => ({ text: "\udc00abc\ud83d", how: "lone surrogates at both ends" }),
  () => ({ text: "\u0000\u0001\u001b[31m\u007f\ufffe\uffff", how: "control characters" }),
  () => ({ text: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo".repeat(Math.ceil(10e6 / 35)), how: "10 MB on one line (base64)" }),
  () => ({ text: "let x = 12; // c\n".repeat(Math.ceil(10e6 / 17)), how: "10 MB of code, many lines" }),
];

function text(rng: Rng, index: number): { text: string; how: string } {
  if (index < FIXED.length) return FIXED[index]();
  return rng.weighted<() => { text: string; how: string }>([
    [3, () => ({ text: Array.from({ length: rng.size(300) }, () => rng.pick(["function f(x) {", "  return x + 1;", "}", "", "interface Array<T> {", "    /**", "     * Gets or sets the", "[MASK]", "<|endoftext|>", "<s>", "</s>", "[CLS]", hostileString(rng, 30)])).join("\n"), how: "code" })],
    [2, () => ({ text: randomUnits(rng, rng.size(20_000)), how: "random UTF-16" })],
    [1, () => seriesText(rng)],
    [1, () => ({ text: hostileString(rng, 200), how: "a hostile string" })],
    [1, () => ({ text: "a".repeat(rng.pick([511, 512, 513, 1024, 100_000])), how: "one letter repeated" })],
  ])();
}

function edge(rng: Rng, usual: () => number): number | undefined {
  if (rng.chance(0.5)) return undefined;
  return rng.chance(0.6) ? usual() : rng.pick(EDGE_NUMBERS.filter((x) => !Number.isNaN(x)));
}

function typedFailure<M extends Method>(log: CaseLog, what: string, r: Answer<M>): r is Extract<Answer<M>, { ok: true }> {
  if (r.ok) return true;
  const p = errorProblem(r.error);
  if (p) log.add(p.kind, `${what}: ${p.problem}`);
  return false;
}

function probabilities(log: CaseLog, what: string, top: { p: number }[], entropyBits: number): void {
  log.expect(top.every((t, i) => Number.isFinite(t.p) && t.p >= 0 && t.p <= 1 && (i === 0 || t.p <= top[i - 1].p + 1e-12)), () => `${what}: probabilities not numbers in [0, 1] in order: ${describe(top.map((t) => t.p))}`);
  log.expect(Number.isFinite(entropyBits) && entropyBits >= -1e-9, () => `${what}: entropy ${entropyBits}`);
}

async function inspectCase(rng: Rng, index: number, env: EngineEnv): Promise<Verdict> {
  const { text: t, how } = text(rng, index);
  if (index >= FIXED.length && rng.chance(0.15)) {
    // a character model's gates on the text (kept under 20,000 characters: a step costs memory)
    const tt = t.slice(0, 20_000);
    const log = new CaseLog(`gates on char-lstm, ${how}: ${describe(tt, 160)}`, env.note);
    const r = await env.engine.request("gates", { model: CHAR_LSTM, text: tt });
    if (!typedFailure(log, "gates", r)) {
      log.outcome = "refused";
      return log.verdict();
    }
    log.expect(r.result.steps === r.result.labels.length && r.result.steps === r.result.source.length, () => `${r.result.steps} steps, ${r.result.labels.length} labels, ${r.result.source.length} sources`);
    log.expect(r.result.source.every((o, i) => o >= 0 && o < tt.length && (i === 0 || o >= r.result.source[i - 1])), "a step's offset outside the text or out of order");
    await env.engine.request("release", { handle: r.result.handle });
    return log.verdict();
  }
  const model = index < FIXED.length || rng.chance(0.8) ? TINY_GPT : BERT;
  const params = {
    model,
    text: t,
    topK: edge(rng, () => rng.range(1, 50)),
    temperature: edge(rng, () => rng.pick([0.05, 0.5, 1, 2, 10])),
    maxTokens: edge(rng, () => rng.range(1, 600)),
    ...(rng.chance(0.3) ? { slice: { layer: rng.range(-1, 5), head: rng.range(-1, 5) } } : {}),
  };
  const { model: _m, text: _t, ...knobs } = params;
  const log = new CaseLog(`inspect ${path.basename(model)}, ${how}, ${describe(knobs)}: ${describe(t, 160)}`, env.note);
  const r = await env.engine.request("inspect", params);
  if (!typedFailure(log, "inspect", r)) {
    log.outcome = "refused";
    return log.verdict();
  }
  const ins = r.result;
  const T = ins.tokens.length;
  const cap = Math.min(params.maxTokens ?? Infinity, 512);
  log.expect(T >= 1 && T <= cap + 2, () => `${T} tokens for a cap of ${cap}`);
  log.expect(ins.tokens.every((k, i) => k.start >= 0 && k.start <= k.end && k.end <= t.length && (i === 0 || k.start >= ins.tokens[i - 1].start)), () => `token offsets outside the text or out of order: ${describe(ins.tokens.slice(0, 5))}`);
  if (ins.truncated) {
    const s = sentenceProblem(ins.truncated.notice);
    if (s) log.add("message", `the truncation notice: ${s}`);
    log.expect(ins.truncated.droppedTokens > 0, () => `a truncation that dropped ${ins.truncated!.droppedTokens} tokens`);
  }
  if (ins.next) probabilities(log, "next token", ins.next.top, ins.next.entropyBits);
  for (const m of ins.masks ?? []) probabilities(log, "mask", m.top, m.entropyBits);

  // what a panel asks next, in and out of range
  const pos = () => (rng.chance(0.8) ? rng.int(T) : rng.pick([-1, T, T + 1, 1e9, 0.5]));
  for (let q = rng.range(1, 4); q > 0; q--) {
    const which = rng.pick(["attention", "nextToken", "surprisal", "embeddings", "attentionAll"] as const);
    if (which === "attention") {
      const a = await env.engine.request("attention", { handle: ins.handle, layer: rng.chance(0.8) ? rng.int(ins.nLayer) : rng.pick([-1, ins.nLayer, 0.5, 1e9]), head: rng.chance(0.8) ? rng.int(ins.nHead) : rng.pick([-1, ins.nHead, 1e9]) });
      if (typedFailure(log, "attention", a)) log.expect(a.result.data.length === a.result.shape.reduce((x, y) => x * y, 1) && a.result.data.every(Number.isFinite), "an attention slice whose data does not fit its shape or is not finite");
    } else if (which === "nextToken" && ins.next) {
      const n = await env.engine.request("nextToken", { handle: ins.handle, position: pos(), topK: edge(rng, () => rng.range(1, 20)), temperature: edge(rng, () => 1) });
      if (typedFailure(log, "nextToken", n)) probabilities(log, "nextToken", n.result.top, n.result.entropyBits);
    } else if (which === "surprisal") {
      const s = await env.engine.request("surprisal", { handle: ins.handle, topK: edge(rng, () => rng.range(1, 10)) });
      if (typedFailure(log, "surprisal", s)) log.expect(Number.isFinite(s.result.meanBits), () => `mean surprisal ${s.result.meanBits}`);
    } else if (which === "embeddings") {
      const e = await env.engine.request("embeddings", { handle: ins.handle, kind: rng.pick(["input", "hidden"] as const) });
      typedFailure(log, "embeddings", e);
    } else {
      const a = await env.engine.request("attentionAll", { handle: ins.handle, capBytes: edge(rng, () => rng.pick([1, 1024, 64 * 2 ** 20])) });
      typedFailure(log, "attentionAll", a);
    }
  }
  const rel = await env.engine.request("release", { handle: ins.handle });
  typedFailure(log, "release", rel);
  const gone = await env.engine.request("nextToken", { handle: ins.handle, position: 0 });
  log.expect(!gone.ok && (gone.error as { code?: string }).code === "UNKNOWN_HANDLE", "a released inspection still answers");
  return log.verdict();
}

export const inspectTextTarget: EngineTarget = {
  name: "inspect-text",
  where: "engine",
  deadlineMs: 15_000,
  fixed: FIXED.length,
  run: inspectCase,
};
