// A panel app's one connection to the extension host: VS Code's webview API (acquired once a page),
// typed posts, requests matched to the host's replies by requestId (latest wins per key, progress,
// cancellation), a typed stream of the host's other messages, the panel's saved state, and "ready".

/** VS Code's webview API as a page sees it. `acquireVsCodeApi()` throws when called a second time. */
interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

let vscodeApi: VsCodeApi | undefined;
/** The page's webview API, acquired on first use. */
function vscode(): VsCodeApi {
  return (vscodeApi ??= acquireVsCodeApi());
}

type Message = { type: string };
/** `M` without its requestId (each member of a union on its own). */
type WithoutId<M> = M extends unknown ? Omit<M, "requestId"> : never;
/** The panel's messages that ask the host for something: those that carry a requestId. */
type RequestType<ToHost extends Message> = Extract<ToHost, { requestId: number }>["type"];
/** The host's messages that answer a request: those that carry a requestId, less errors and progress. */
type AnswerType<FromHost extends Message> = Exclude<Extract<FromHost, { requestId: number }>["type"], "error" | "progress">;

/** Which host message answers each request type, e.g. `{ getAttention: "attention" }`. */
export type ReplyMap<ToHost extends Message, FromHost extends Message> = Partial<Record<RequestType<ToHost>, AnswerType<FromHost>>>;
/** A request as the app writes it: one of the mapped request types, without its requestId. */
export type RequestOf<ToHost, R> = WithoutId<Extract<ToHost, { requestId: number; type: keyof R }>>;
/** The host's reply to request `M`. */
export type ReplyTo<FromHost, R, M extends Message> = Extract<FromHost, { type: NonNullable<R[M["type"] & keyof R]> }>;
/** The host's progress message, where the feature has one. */
export type ProgressOf<FromHost> = Extract<FromHost, { type: "progress" }>;

export interface RequestOptions<ToHost, FromHost> {
  /**
   * Latest wins: a newer request with the same key supersedes this one. Its promise then resolves to
   * `undefined` and its reply, when it comes, settles nothing (it goes to `on()` like any other).
   */
  latest?: string;
  /** Called with each progress message that carries this request's id. */
  onProgress?: (progress: ProgressOf<FromHost>) => void;
  /** The message that cancels this request on the host: posted when it is superseded while in flight. */
  cancel?: (requestId: number) => ToHost;
}

export interface Connection<ToHost extends Message, FromHost extends Message, State, R extends ReplyMap<ToHost, FromHost>> {
  /** Posts a message to the host as it is. */
  post(msg: ToHost): void;
  /**
   * Posts `msg` with a fresh requestId; the promise resolves with the host's reply that carries that
   * id, or rejects with an Error holding the message (and the engine's error code, as `code`) of an
   * `{ type: "error", requestId }` reply.
   * With `latest`, it resolves to `undefined` when a newer request with the same key supersedes it.
   */
  request<M extends RequestOf<ToHost, R>>(msg: M, opts: RequestOptions<ToHost, FromHost> & { latest: string }): Promise<ReplyTo<FromHost, R, M> | undefined>;
  request<M extends RequestOf<ToHost, R>>(msg: M, opts?: RequestOptions<ToHost, FromHost>): Promise<ReplyTo<FromHost, R, M>>;
  /** Supersedes the request in flight under `key`, if any, as a newer one would (posting its cancel message). */
  supersede(key: string): void;
  /**
   * Calls `handler` with each host message of `type` that answers no request in flight (those without
   * a requestId, and replies to superseded requests). Returns the unsubscribe. The first subscription
   * has "ready" posted to the host, once, after the code that subscribed has run.
   */
  on<K extends FromHost["type"]>(type: K, handler: (msg: Extract<FromHost, { type: K }>) => void): () => void;
  /** What VS Code keeps for the panel across reloads (getState / setState). */
  state: State | undefined;
}

/** A request waiting for its reply. */
interface InFlight<ToHost, FromHost> {
  resolve(reply: FromHost | undefined): void;
  reject(e: Error): void;
  key?: string;
  onProgress?: (progress: ProgressOf<FromHost>) => void;
  cancel?: (requestId: number) => ToHost;
}

/**
 * Connects a panel app to the extension host. `ToHost` and `FromHost` are a feature's message unions
 * from protocol/, `State` what the panel saves, `R` which reply answers which request.
 */
export function connect<ToHost extends Message, FromHost extends Message, State, R extends ReplyMap<ToHost, FromHost> = ReplyMap<ToHost, FromHost>>(): Connection<ToHost, FromHost, State, R> {
  const api = vscode();
  const inFlight = new Map<number, InFlight<ToHost, FromHost>>();
  /** The request in flight under each latest-wins key. */
  const latest = new Map<string, number>();
  const handlers = new Map<string, Set<(msg: FromHost) => void>>();
  let lastId = 0;
  let readyQueued = false;

  const finish = (requestId: number): InFlight<ToHost, FromHost> | undefined => {
    const req = inFlight.get(requestId);
    if (!req) return undefined;
    inFlight.delete(requestId);
    if (req.key !== undefined && latest.get(req.key) === requestId) latest.delete(req.key);
    return req;
  };

  const supersede = (key: string): void => {
    const requestId = latest.get(key);
    if (requestId === undefined) return;
    const req = finish(requestId);
    if (req?.cancel) api.postMessage(req.cancel(requestId));
    req?.resolve(undefined);
  };

  window.addEventListener("message", (e: MessageEvent<FromHost>) => {
    const msg = e.data;
    if (typeof msg?.type !== "string") return;
    const requestId = (msg as { requestId?: unknown }).requestId;
    if (typeof requestId === "number" && inFlight.has(requestId)) {
      if (msg.type === "progress") inFlight.get(requestId)!.onProgress?.(msg as ProgressOf<FromHost>);
      else if (msg.type === "error") {
        const { message, code } = msg as { message?: string; code?: string };
        finish(requestId)!.reject(Object.assign(new Error(message ?? "error"), code ? { code } : {}));
      }
      else finish(requestId)!.resolve(msg);
      return;
    }
    for (const handler of handlers.get(msg.type) ?? []) handler(msg);
  });

  return {
    post: (msg) => api.postMessage(msg),
    request(msg: RequestOf<ToHost, R>, opts: RequestOptions<ToHost, FromHost> = {}) {
      if (opts.latest !== undefined) supersede(opts.latest);
      const requestId = ++lastId;
      return new Promise<FromHost | undefined>((resolve, reject) => {
        inFlight.set(requestId, { resolve, reject, key: opts.latest, onProgress: opts.onProgress, cancel: opts.cancel });
        if (opts.latest !== undefined) latest.set(opts.latest, requestId);
        api.postMessage({ ...msg, requestId });
      }) as Promise<never>;
    },
    supersede,
    on(type, handler) {
      const h = handler as (msg: FromHost) => void;
      const set = handlers.get(type) ?? new Set();
      handlers.set(type, set.add(h));
      if (!readyQueued) {
        readyQueued = true;
        queueMicrotask(() => api.postMessage({ type: "ready" }));
      }
      return () => void set.delete(h);
    },
    get state() {
      return api.getState() as State | undefined;
    },
    set state(s: State | undefined) {
      api.setState(s);
    },
  };
}
