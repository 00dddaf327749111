// The models the engine holds open, by family and path: every request for a model reuses one load
// (requests that arrive while it loads wait for the same one); a failed load is forgotten, so the
// next request tries again. The service and the recurrent service share one.
import { EngineError } from "../../protocol/errors";
import type { LoadedModel, ModelFamily, OpenOptions } from "./family";
import { modelCandidate, resolveFamily, splitSpec } from "./index";

/** Hooks for the progress and log of a load. */
export interface LoadReport {
  loading?(path: string, family: ModelFamily): void;
  loaded?(model: LoadedModel, ms: number): void;
}

export class LoadedModels {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  /** The family each spec resolved to (resolving may read a graph's operators). */
  private readonly families = new Map<string, ModelFamily>();

  constructor(private readonly opts: OpenOptions) {}

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
    const key = `${f.name}|${specKey(spec)}`;
    let m = this.models.get(key);
    if (!m) {
      const opened = f;
      m = (async () => {
        const c = modelCandidate(spec);
        report.loading?.(c.path, opened);
        const t0 = performance.now();
        const loaded = await opened.open(c, this.opts);
        report.loaded?.(loaded, performance.now() - t0);
        return loaded;
      })();
      this.models.set(key, m);
      m.catch(() => {
        // a failed load is tried again next time, the path resolved again
        this.models.delete(key);
        this.families.delete(specKey(spec));
      });
    }
    return m;
  }
}

/** The spec with its path made absolute, its prefix kept. */
function specKey(spec: string): string {
  const { prefix, path } = splitSpec(spec);
  return prefix === undefined ? path : `${prefix}:${path}`;
}
