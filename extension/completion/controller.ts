// What the inline completions do, apart from VS Code: per model, load it first (no completion
// while it loads, and nothing waits for it); serve what the type-ahead cache already has; wait
// the adaptive debounce; keep at most one request in the engine (a newer one cancels the older,
// which stops between two tokens); and report the state for the status bar.
import type { EngineClient } from "../../engine/client";
import { EngineError } from "../../protocol/errors";
import { ModelInfo } from "../../protocol/models";
import type { CompleteResult } from "../../protocol/completion";
import { AdaptiveDebounce } from "./debounce";
import { TAIL_CHARS, TypeAheadCache } from "./typeAhead";

/** The part of VS Code's CancellationToken used here. */
export interface CancelLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface CompletionSettings {
  enabled: boolean;
  debounceMs: number;
  maxTokens: number;
  maxMs: number;
  stopAt: "line" | "block";
  excludeLanguages: string[];
}

export type CompletionState =
  | { kind: "off"; why: string }
  /** On, the model not loaded yet (it loads at the first keystroke). */
  | { kind: "idle"; model: string }
  | { kind: "loading"; model: string }
  | { kind: "ready"; model: string; kvCache: boolean }
  | { kind: "generating"; model: string; kvCache: boolean }
  | { kind: "error"; model: string; message: string }
  /** A completion was lost because the engine stopped; the next keystroke starts a new engine. */
  | { kind: "lost"; model: string; message: string };

export interface SuggestQuery {
  model: string;
  uri: string;
  languageId: string;
  /** The cursor's offset in the document. */
  offset: number;
  /** The text before the cursor (the end of it is enough: see prefixChars). */
  prefix: string;
  /** The text after the cursor on its line. */
  suffix: string;
}

export interface Suggestion {
  /** What to show at the cursor. */
  text: string;
  /** The completion it comes from, made at `offset` after `prefix`; `typed` of it was typed since. */
  result: CompleteResult;
  offset: number;
  typed: string;
  fromCache: boolean;
  /** ms: the debounce waited, from the end of the debounce to the suggestion (0 from the cache), and from the last document change. */
  timing: { debounce: number; request: number; sinceChange: number };
}

interface ModelEntry {
  state: "loading" | "ready" | "error";
  info?: ModelInfo;
  message?: string;
  /** When loading failed (it is tried again RETRY_MS later). */
  failedAt?: number;
}

/** A model that failed to load is tried again after this long (the engine may have restarted, the folder been mended). */
const RETRY_MS = 10_000;

export class CompletionController {
  readonly cache = new TypeAheadCache();
  private readonly debounce: AdaptiveDebounce;
  private readonly models = new Map<string, ModelEntry>();
  private inflight?: { abort: AbortController; done: Promise<unknown> };
  /** The newest suggest() past its debounce: an older one that was waiting gives way. */
  private ticket = 0;
  /** Bumped by reset(): work begun before it neither reports state nor fills the cache. */
  private epoch = 0;
  /** Requests sent to the engine, and the last one's result, cancelled ones included (for tests and the bench). */
  requests = 0;
  last?: CompleteResult;

  constructor(
    private readonly engine: () => Pick<EngineClient, "request">,
    private readonly settings: () => CompletionSettings,
    private readonly onState: (s: CompletionState) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.debounce = new AdaptiveDebounce(settings().debounceMs);
  }

  private lastChange = 0;

  /** A document change at the cursor: typing speed for the debounce. */
  keystroke(): void {
    this.lastChange = this.now();
    this.debounce.keystroke(this.lastChange);
  }

  /** How much text before the cursor to send: about six characters per token of the model's context. */
  prefixChars(model: string): number {
    return Math.max(TAIL_CHARS, 6 * (this.models.get(model)?.info?.nPositions ?? 1024));
  }

  /** Forgets loaded models and cached completions (the active model or the settings changed). */
  reset(): void {
    this.epoch++;
    this.models.clear();
    this.cache.clear();
    this.inflight?.abort.abort();
  }

  /** The model's state; starts loading it (in the background) the first time. */
  ensureModel(model: string): ModelEntry {
    const m = this.models.get(model);
    if (m && !(m.state === "error" && this.now() - m.failedAt! >= RETRY_MS)) return m;
    const entry: ModelEntry = { state: "loading" };
    this.models.set(model, entry);
    this.onState({ kind: "loading", model });
    const current = () => this.models.get(model) === entry; // not reset or replaced since
    this.engine()
      .request("info", { model })
      .then(
        (info) => {
          entry.state = "ready";
          entry.info = info;
          if (current()) this.onState({ kind: "ready", model, kvCache: info.hasKvCache });
        },
        (e) => {
          entry.state = "error";
          entry.failedAt = this.now();
          entry.message = e instanceof Error ? e.message : String(e);
          if (current()) this.onState({ kind: "error", model, message: entry.message });
        },
      );
    return entry;
  }

  async suggest(q: SuggestQuery, cancel: CancelLike): Promise<Suggestion | undefined> {
    const s = this.settings();
    if (!s.enabled || s.excludeLanguages.includes(q.languageId)) return undefined;
    const m = this.ensureModel(q.model);
    if (m.state !== "ready") return undefined; // loading (nothing waits for it) or failed
    const hit = this.cache.lookup(q.model, q.uri, q.offset, q.prefix, q.suffix);
    if (hit && hit.rest.trim() === "") return undefined;
    if (hit) return { text: hit.rest, result: hit.entry.result, offset: hit.entry.offset, typed: hit.typed, fromCache: true, timing: { debounce: 0, request: 0, sinceChange: this.now() - this.lastChange } };
    this.debounce.setBase(s.debounceMs);
    const wait = this.debounce.delay();
    if (!(await sleep(wait, cancel))) return undefined;
    // At most one request in the engine: the older one is cancelled (it stops between two tokens),
    // and of several waiting for it only the newest goes on.
    const t0 = this.now();
    const ticket = ++this.ticket;
    const epoch = this.epoch;
    while (this.inflight) {
      this.inflight.abort.abort();
      await this.inflight.done.catch(() => undefined);
      if (ticket !== this.ticket) return undefined;
    }
    if (cancel.isCancellationRequested || ticket !== this.ticket || epoch !== this.epoch) return undefined;
    const abort = new AbortController();
    const onCancel = cancel.onCancellationRequested(() => abort.abort());
    const kvCache = m.info!.hasKvCache;
    this.onState({ kind: "generating", model: q.model, kvCache });
    this.requests++;
    const call = this.engine().request("complete", { model: q.model, prefix: q.prefix.slice(-this.prefixChars(q.model)), suffix: q.suffix, maxTokens: s.maxTokens, maxMs: s.maxMs, stopAt: s.stopAt }, { signal: abort.signal });
    const flight = { abort, done: call };
    this.inflight = flight;
    try {
      const result = await call;
      this.last = result;
      // Kept even when this request was cancelled after it finished: typing on may still use it.
      if (result.stoppedBy !== "cancelled" && epoch === this.epoch) this.cache.put(q.model, q.uri, q.offset, q.prefix, q.suffix, result);
      // nothing to show: cancelled, or only whitespace (a blank line is not worth a suggestion)
      if (cancel.isCancellationRequested || result.stoppedBy === "cancelled" || result.text.trim() === "" || epoch !== this.epoch) return undefined;
      return { text: result.text, result, offset: q.offset, typed: "", fromCache: false, timing: { debounce: wait, request: this.now() - t0, sinceChange: this.now() - this.lastChange } };
    } catch (e) {
      if (e instanceof EngineError && e.code === "CANCELLED") return undefined;
      throw e;
    } finally {
      onCancel.dispose();
      if (this.inflight === flight) {
        this.inflight = undefined;
        if (epoch === this.epoch) this.onState({ kind: "ready", model: q.model, kvCache });
      }
    }
  }
}

/** Waits `ms`; false if cancelled first. */
function sleep(ms: number, cancel: CancelLike): Promise<boolean> {
  if (cancel.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const sub = cancel.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve(false);
    });
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(true);
    }, ms);
  });
}
