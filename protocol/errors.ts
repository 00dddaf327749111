// The typed errors every side shares: the engine throws them, the client rebuilds them from a
// response, the extension shows their message and the panels receive it.

export type ErrorCode =
  | "BAD_INPUT" // the request itself is wrong: empty text, ids outside the vocabulary, bad numbers
  | "MODEL_NOT_FOUND" // no such folder or file
  | "MODEL_INVALID" // corrupt or truncated model file, bad config.json
  | "TOKENIZER" // tokenizer missing or unreadable
  | "NO_ATTENTION" // the graph has no recognisable attention Softmax
  | "NO_EMBEDDINGS" // no token-embedding matrix found in the graph
  | "INCOMPATIBLE" // two models that cannot be compared (the message names the first difference)
  | "NO_LENS" // the graph's residual stream / final layer norm could not be found for the logit lens
  | "UNSUPPORTED" // the model cannot do what was asked (a capability it does not declare)
  | "TOO_LARGE" // a whole-tensor request over the size cap, or an input over the memory budget
  | "DEADLINE" // the request ran past the engine's per-request deadline
  | "UNKNOWN_HANDLE" // an inspection that was released or never existed
  | "CANCELLED"
  | "PROCESS_DIED" // the engine process exited while the request was pending
  | "INTERNAL";

export interface EngineErrorData {
  code: ErrorCode;
  message: string;
}

export class EngineError extends Error implements EngineErrorData {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
  toJSON(): EngineErrorData {
    return { code: this.code, message: this.message };
  }
}

/** Whether `e` is the cancellation of a request (the user pressed Cancel): nothing to report. */
export function isCancelled(e: unknown): boolean {
  return e instanceof EngineError && e.code === "CANCELLED";
}

/** The sentence to show for any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
