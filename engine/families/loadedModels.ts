// The models the engine holds open, by family and path: every request for a model reuses one load
// (requests that arrive while it loads wait for the same one); a failed load is forgotten, so the
// next request tries again. The service and the recurrent service share one.
//
// At most `maxOpen` models stay open (default 8): opening another releases the least recently used
// loaded one (a fuzz run over 1,100 distinct folders held 3 GiB when none was ever released). A load
// in progress is never released, nor the model just asked for. The next request for a released
// model loads it again. A request or an inspection that still holds a released model keeps working:
// its sessions wait for the runs in flight before they let go, and a run after the release opens
// the graph again (runtime/onnx/session.ts ReleasableSession, RecurrentModel.using). A TensorFlow.js
// GPT-2 twin frees its weights when released; its forward reads them in one synchronous step, and a
// request runs it right after opening it, when it is the most recently used model.
import { EngineError } from "../../protocol/errors";
import type { LoadedModel, ModelFamily, OpenOptions } from "./family";
import { modelCandidate, resolveFamily, splitSpec } from "./index";

/** Hooks for the progress and log of a load. */
export interface LoadReport {
  loading?(path: string, family: ModelFamily): void;
  loaded?(model: LoadedModel, ms: number): void;
}

/** Models kept open unless told otherwise. */
export const DEFAULT_MAX_OPEN = 8;

interface Entry {
  promise: Promise<LoadedModel>;
  /** Set once the load succeeded (only such an entry is released). */
  model?: LoadedModel;
  /** The spec's key in `families`. */
  specKey: string;
}

export class LoadedModels {
  /** Open and opening models, least recently used first (a use moves an entry to the end). */
  private readonly models = new Map<string, Entry>();
  /** The family each spec resolved to (resolving may read a graph's operators). */
  private readonly families = new Map<string, ModelFamily>();
  readonly maxOpen: number;
  /** Models released to keep within maxOpen. */
  released = 0;
  private readonly releasing = new Set<Promise<void>>();

  constructor(
    private readonly opts: OpenOptions,
    cache: { maxOpen?: number } = {},
  ) {
    const max = cache.maxOpen ?? DEFAULT_MAX_OPEN;
    if (!Number.isInteger(max) || max < 1) throw new EngineError("BAD_INPUT", `the number of models kept open must be a whole number of 1 or more (got ${max})`);
    this.maxOpen = max;
  }

  /** Models open or being opened now. */
  get size(): number {
    return this.models.size;
  }

  /** The family `spec` resolves to (see families/index.ts), remembered once found. */
  familyOf(spec: string): ModelFamily {
    const key = specKey(spec);
    let f = this.families.get(key);
    if (!f) {
      f = resolveFamily(spec);
      this.families.set(key, f);
    }
    return f;
  }

  /** The model `spec` names, opened by `family` when given, else by the family it resolves to. */
  open(spec: string, family?: ModelFamily, report: LoadReport = {}): Promise<LoadedModel> {
    if (typeof spec !== "string" || spec.length === 0) throw new EngineError("BAD_INPUT", "model must be a non-empty string");
    let f: ModelFamily;
    try {
      f = family ?? this.familyOf(spec);
    } catch (e) {
      return Promise.reject(e);
    }
    const sk = specKey(spec);
    const key = `${f.name}|${sk}`;
    const found = this.models.get(key);
    if (found) {
      // most recently used last
      this.models.delete(key);
      this.models.set(key, found);
      return found.promise;
    }
    const opened = f;
    const entry: Entry = {
      specKey: sk,
      promise: (async () => {
        const c = modelCandidate(spec);
        report.loading?.(c.path, opened);
        const t0 = performance.now();
        const loaded = await opened.open(c, this.opts);
        report.loaded?.(loaded, performance.now() - t0);
        return loaded;
      })(),
    };
    this.models.set(key, entry);
    entry.promise.then(
      (m) => {
        entry.model = m;
        this.evict();
      },
      () => {
        // a failed load is tried again next time, the path resolved again
        if (this.models.get(key) === entry) this.models.delete(key);
        this.families.delete(sk);
      },
    );
    this.evict();
    return entry.promise;
  }

  /** Releases the least recently used loaded models past maxOpen (never the most recent, nor a load in progress). */
  private evict(): void {
    const keys = [...this.models.keys()];
    let over = this.models.size - this.maxOpen;
    for (const key of keys.slice(0, -1)) {
      if (over <= 0) break;
      const entry = this.models.get(key)!;
      if (!entry.model) continue;
      this.models.delete(key);
      if (![...this.models.values()].some((e) => e.specKey === entry.specKey)) this.families.delete(entry.specKey);
      this.released++;
      over--;
      const done = Promise.resolve()
        .then(() => entry.model!.dispose())
        .catch(() => {
          // a release that fails frees what it can; the model is no longer reachable from here
        })
        .finally(() => this.releasing.delete(done));
      this.releasing.add(done);
    }
  }

  /** Resolves when the releases begun so far have ended (a model in use ends its release when its runs do). */
  async releasesEnded(): Promise<void> {
    await Promise.all([...this.releasing]);
  }
}

/** The spec with its path made absolute, its prefix kept. */
function specKey(spec: string): string {
  const { prefix, path } = splitSpec(spec);
  return prefix === undefined ? path : `${prefix}:${path}`;
}
