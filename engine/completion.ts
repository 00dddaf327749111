// Code completion from a decoder: greedy, token by token, cancellable between tokens, stopping at
// the end of the line or block, where the completion starts to repeat the text after the cursor,
// at end of text, or at a token or time budget. Each kept token comes with its probability and the
// top alternatives, so the editor can explain the completion.
import type { DecoderModel } from "./models/decoder";
import { argmax, TokenSteps } from "./generate";
import { softmax, topIndices } from "./probes/nextToken";
import { EngineError } from "../protocol/errors";
import { encodeTail } from "./tokenize/tail";
import type { CompleteParams, CompleteResult, CompletionStop, CompletionToken } from "../protocol/completion";

const CLOSERS: Record<string, string> = { ")": "(", "]": "[", "}": "{" };

/** The leading whitespace of a line. */
export function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/**
 * Where the completion's text should end, or undefined to go on generating.
 *   suffix:   the rest of the cursor's line; once the completion starts to write it (see suffixAt),
 *             the completion stops before it
 *   stopAt:   "line": at the first newline (unless nothing but whitespace came before it: then at the
 *             end of the next line); "block": at a blank line, or before a line indented less than
 *             the cursor's line
 *   lineText: the cursor's line up to the cursor (for the indentation of the block)
 */
export function completionCut(text: string, o: { stopAt: "line" | "block"; suffix: string; lineText: string }): { text: string; stop: CompletionStop } | undefined {
  const needle = o.suffix.trim();
  if (needle) {
    const at = suffixAt(text, needle);
    if (at >= 0) return { text: text.slice(0, at), stop: "suffix" };
  }
  // With text after the cursor the completion stays on the cursor's line, even when it is empty.
  const stopAt = needle ? "line" : o.stopAt;
  if (stopAt === "line") {
    const first = text.indexOf("\n");
    if (first < 0) return undefined;
    if (needle || text.slice(0, first).trim() !== "") return { text: text.slice(0, first), stop: "line" };
    const second = text.indexOf("\n", first + 1);
    return second < 0 ? undefined : { text: text.slice(0, second), stop: "line" };
  }
  const base = indentOf(o.lineText).length;
  const lines = text.split("\n");
  let offset = lines[0].length + 1;
  for (let i = 1; i < lines.length - 1; i++) {
    // lines[i] is complete (a newline follows it)
    const line = lines[i];
    if (line.trim() === "" || indentOf(line).length < base) return { text: text.slice(0, offset - 1), stop: "block" };
    offset += line.length + 1;
  }
  return undefined;
}

/**
 * Where the completion starts to repeat `needle` (the text after the cursor, trimmed): a closing
 * bracket there is repeated by the first closing bracket the completion did not open itself; other
 * text by its first (up to) eight characters.
 */
function suffixAt(text: string, needle: string): number {
  const open = CLOSERS[needle[0]];
  if (!open) return text.indexOf(needle.slice(0, 8));
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === open) depth++;
    else if (c === needle[0]) {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

export async function complete(model: DecoderModel, p: CompleteParams, signal: AbortSignal): Promise<CompleteResult> {
  const t0 = performance.now();
  if (typeof p.prefix !== "string" || p.prefix.length === 0) throw new EngineError("BAD_INPUT", "nothing before the cursor to complete");
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 1) throw new EngineError("BAD_INPUT", `max tokens must be a positive integer (got ${p.maxTokens})`);
  if (p.maxMs !== undefined && !(p.maxMs > 0)) throw new EngineError("BAD_INPUT", `max milliseconds must be positive (got ${p.maxMs})`);
  const stopAt = p.stopAt ?? "line";
  if (stopAt !== "line" && stopAt !== "block") throw new EngineError("BAD_INPUT", `stopAt must be "line" or "block" (got ${JSON.stringify(stopAt)})`);
  if (p.alternatives !== undefined && !(Number.isInteger(p.alternatives) && p.alternatives >= 0 && p.alternatives <= 20)) throw new EngineError("BAD_INPUT", `alternatives must be an integer in 0..20 (got ${p.alternatives})`);
  const alternatives = p.alternatives ?? 5;
  const ctx = model.config.n_positions;
  const maxNew = Math.min(p.maxTokens, ctx - 1);
  // The prompt is the end of the text before the cursor, leaving room for the new tokens, but never
  // less than three quarters of the context: a long completion stops at the context's end instead.
  // A long prefix's end only is tokenized: at most the context's worth of its last tokens.
  const tail = encodeTail(model.tokenizer, p.prefix, ctx);
  let ids = tail.ids;
  if (ids.length === 0) throw new EngineError("BAD_INPUT", "the text before the cursor produced no tokens");
  const room = Math.min(maxNew, Math.floor(ctx / 4));
  let truncated: CompleteResult["truncated"];
  if (ids.length + room > ctx || tail.cut) {
    const dropped = Math.max(0, ids.length + room - ctx);
    ids = ids.slice(dropped);
    const cut = tail.cut;
    truncated = {
      droppedTokens: dropped + (cut?.approxTokens ?? 0),
      notice: `the text before the cursor was cut to its last ${ids.length} tokens (the model's context is ${ctx})${cut ? `; the first ${cut.chars.toLocaleString("en-US")} characters (about ${cut.approxTokens.toLocaleString("en-US")} tokens) were not tokenized` : ""}`,
    };
  }
  const lineText = p.prefix.slice(p.prefix.lastIndexOf("\n") + 1);
  const suffix = (p.suffix ?? "").split("\n")[0];
  const kvCache = model.probe.hasKvCache;
  const utf8 = new TextDecoder("utf-8", { fatal: false });
  const tokens: CompletionToken[] = [];
  let text = "";
  const steps = new TokenSteps(model, ids, kvCache);
  let stoppedBy: CompletionStop = "maxTokens";
  let promptMs = 0;
  let generated = 0;
  const tLoop = performance.now(); // after tokenizing: per-token figures are generation alone
  for (let step = 0; step < maxNew; step++) {
    if (signal.aborted) {
      stoppedBy = "cancelled";
      break;
    }
    // the first token is always made, so a slow model still completes something
    if (step > 0 && p.maxMs !== undefined && performance.now() - t0 >= p.maxMs) {
      stoppedBy = "maxMs";
      break;
    }
    const tStep = performance.now();
    const row = await steps.next();
    if (step === 0) promptMs = performance.now() - tStep;
    const probs = softmax(row, 1);
    const id = argmax(row);
    generated++;
    if (id === model.tokenizer.eosId) {
      stoppedBy = "eos";
      break;
    }
    const delta = utf8.decode(model.tokenizer.tokenBytes(id), { stream: true });
    const alts = topIndices(probs, alternatives + 1)
      .filter((a) => a !== id)
      .slice(0, alternatives)
      .map((a) => ({ id: a, text: model.tokenizer.tokenText(a), p: probs[a] }));
    tokens.push({ id, text: model.tokenizer.tokenText(id), start: text.length, end: text.length + delta.length, p: probs[id], alternatives: alts });
    text += delta;
    steps.push(id);
    const cut = completionCut(text, { stopAt, suffix, lineText });
    if (cut) {
      text = cut.text;
      stoppedBy = cut.stop;
      break;
    }
    if (steps.length >= ctx && step + 1 < maxNew) {
      stoppedBy = "context";
      break;
    }
  }
  // Only the tokens that reach into the kept text, clipped to it.
  const kept = tokens.filter((t) => t.start < text.length).map((t) => ({ ...t, end: Math.min(t.end, text.length) }));
  const loopMs = performance.now() - tLoop;
  return {
    text,
    tokens: kept,
    generated,
    stoppedBy,
    promptTokens: ids.length,
    truncated,
    kvCache,
    device: model.device,
    ms: { prompt: promptMs, perToken: generated > 1 ? (loopMs - promptMs) / (generated - 1) : loopMs, total: performance.now() - t0 },
  };
}
