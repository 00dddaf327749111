// The engine's bounds on any input: a memory budget (what a request may need, estimated before
// anything is allocated: a request over it is refused with the figure), how many steps of a series
// a request reads at once, and a per-request deadline. Each comes from the engine's options, else
// its environment (SEQLENS_MEMORY_BUDGET, SEQLENS_MAX_STEPS, SEQLENS_DEADLINE_MS), else a default.
import { EngineError, type ErrorCode } from "../protocol/errors";
import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_STEPS, DEFAULT_MEMORY_BUDGET, formatBytes, parseBytes } from "../protocol/limits";

export { DEFAULT_DEADLINE_MS, DEFAULT_MAX_STEPS, DEFAULT_MEMORY_BUDGET, formatBytes, parseBytes };

/**
 * The error code of a request that ran past its deadline. protocol/errors.ts does not list it yet;
 * the client rebuilds an error with any code it is sent.
 */
export const DEADLINE: ErrorCode = "DEADLINE";

export interface Limits {
  /** Bytes a request may need. */
  memoryBudget: number;
  /** Steps of a series (or characters of a character model's text) read at once, unless a request says otherwise. */
  maxSteps: number;
  /** Milliseconds a request may run; 0 for no deadline. */
  deadlineMs: number;
}

/** The limits from `given`, else the environment, else the defaults; a bad value is a BAD_INPUT error naming where it came from. */
export function limitsFrom(given: Partial<Limits> = {}, env: NodeJS.ProcessEnv = process.env): Limits {
  const fromEnv = (name: string, parse: (s: string) => number | undefined, what: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const v = parse(raw);
    if (v === undefined) throw new EngineError("BAD_INPUT", `${name}=${JSON.stringify(raw)} is not ${what}`);
    return v;
  };
  const whole = (min: number) => (s: string) => (/^\s*\d+\s*$/.test(s) && Number(s) >= min ? Number(s) : undefined);
  const memoryBudget = given.memoryBudget ?? fromEnv("SEQLENS_MEMORY_BUDGET", parseBytes, "a size (such as 2GB or 512MB)") ?? DEFAULT_MEMORY_BUDGET;
  const maxSteps = given.maxSteps ?? fromEnv("SEQLENS_MAX_STEPS", whole(1), "a whole number of steps of at least 1") ?? DEFAULT_MAX_STEPS;
  const deadlineMs = given.deadlineMs ?? fromEnv("SEQLENS_DEADLINE_MS", whole(0), "a whole number of milliseconds (0: no deadline)") ?? DEFAULT_DEADLINE_MS;
  if (!(memoryBudget > 0)) throw new EngineError("BAD_INPUT", `the memory budget must be a positive size (got ${memoryBudget})`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new EngineError("BAD_INPUT", `the most steps at once must be a whole number of at least 1 (got ${maxSteps})`);
  if (!Number.isInteger(deadlineMs) || deadlineMs < 0) throw new EngineError("BAD_INPUT", `the deadline must be a whole number of milliseconds, 0 for none (got ${deadlineMs})`);
  return { memoryBudget, maxSteps, deadlineMs };
}

/**
 * Refuses, before anything is allocated, work estimated to need more than the budget: a TOO_LARGE
 * error with the figure, what it is made of, and what to do (`fix`).
 */
export function checkBudget(what: string, bytes: number, budget: number, breakdown: string, fix: string): void {
  if (bytes <= budget) return;
  throw new EngineError("TOO_LARGE", `${what} would need about ${formatBytes(bytes)} (${breakdown}), more than the memory budget of ${formatBytes(budget)}: ${fix}`);
}

/** What a model's forward pass needs to hold (see forwardBytes). */
export interface ForwardShape {
  n_layer: number;
  n_head: number;
  n_embd: number;
  vocab_size: number;
}

/**
 * The bytes a forward pass on T tokens holds: every layer's attention [L, H, T, T] (when asked
 * for), the logits [T, vocab] (every layer's with the logit lens) and the hidden states, twice (the
 * runtime's outputs and what is made of them); `parts` says what they are made of.
 */
export function forwardBytes(c: ForwardShape, T: number, o: { attention?: boolean; lens?: boolean }): { bytes: number; parts: string } {
  const attention = o.attention ? c.n_layer * c.n_head * T * T * 4 : 0;
  const logits = (o.lens ? c.n_layer + 1 : 1) * T * c.vocab_size * 4;
  const hidden = (c.n_layer + 1) * T * c.n_embd * 4;
  const parts = [o.attention ? `attention ${formatBytes(attention)}` : "", `logits ${formatBytes(logits)}`, `hidden states ${formatBytes(hidden)}`].filter(Boolean).join(", ");
  return { bytes: 2 * (attention + logits + hidden), parts: `${parts}, twice` };
}

const FEWER_TOKENS = "give fewer tokens (maxTokens), or raise the memory budget (seqlens.memoryBudget, --memory-budget)";

/** Refuses, before it runs, a forward pass on T tokens whose outputs would not fit the memory budget. */
export function checkForwardBudget(what: string, c: ForwardShape, T: number, budget: number, o: { attention?: boolean; lens?: boolean }): void {
  const { bytes, parts } = forwardBytes(c, T, o);
  checkBudget(`${what} ${T.toLocaleString("en-US")} tokens`, bytes, budget, parts, FEWER_TOKENS);
}

/** Refuses, before either runs, two forward passes held at once (a comparison) that would not fit the memory budget. */
export function checkPairBudget(what: string, a: { c: ForwardShape; T: number }, b: { c: ForwardShape; T: number }, budget: number, o: { attention?: boolean }): void {
  const [fa, fb] = [forwardBytes(a.c, a.T, o), forwardBytes(b.c, b.T, o)];
  checkBudget(`${what} ${a.T.toLocaleString("en-US")} tokens`, fa.bytes + fb.bytes, budget, `first model: ${fa.parts}; second model: ${fb.parts}`, FEWER_TOKENS);
}
