// Where a long run on a recurrent model lets a cancel in. The engine hears a cancel as a message on
// its event loop, so a run must give the loop a turn (setImmediate, not a microtask) before it looks
// at its signal. The request's signal reaches the probes through an async context set around the run
// (`cancellable`), so the layers between (the model's own run) need not pass it along.
import { AsyncLocalStorage } from "node:async_hooks";
import { EngineError } from "../../../protocol/errors";

interface Scope {
  signal: AbortSignal;
  /** The method, for the error: "gates" gives "gates was cancelled". */
  what: string;
}

const scope = new AsyncLocalStorage<Scope>();

/** Runs `work` with `signal` as the signal every checkpoint inside it looks at; without a signal, as it is. */
export function cancellable<T>(signal: AbortSignal | undefined, what: string, work: () => Promise<T>): Promise<T> {
  return signal ? scope.run({ signal, what }, work) : work();
}

/** The CANCELLED error of `what`. */
export function cancelled(what: string): EngineError {
  return new EngineError("CANCELLED", `${what} was cancelled`);
}

/**
 * Gives the event loop a turn, then throws CANCELLED if the run was cancelled meanwhile. `signal`
 * and `what` default to those of the enclosing `cancellable`; outside one, nothing is awaited.
 */
export async function checkpoint(signal?: AbortSignal, what?: string): Promise<void> {
  const s = scope.getStore();
  const sig = signal ?? s?.signal;
  if (!sig) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (sig.aborted) throw cancelled(what ?? s?.what ?? "the run");
}

/** Whether the enclosing `cancellable` has a signal (work can then be cut into chunks worth checking between). */
export function inCancellable(): boolean {
  return scope.getStore() !== undefined;
}
