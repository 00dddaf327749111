// The bounds every engine request is held to, as both sides read them: their defaults, and sizes in
// the units people write ("2GB", "512 MB"). The engine enforces them (engine/limits.ts); the
// extension reads them from its settings and starts the engine with them.

/** How many steps of a series a request reads at once unless it says otherwise. */
export const DEFAULT_MAX_STEPS = 20_000;

/** The memory a request may need unless told otherwise: 2 GiB. */
export const DEFAULT_MEMORY_BUDGET = 2 * 2 ** 30;

/** How long a request may run unless told otherwise (ms). */
export const DEFAULT_DEADLINE_MS = 120_000;

const UNITS: Record<string, number> = { "": 1, b: 1, k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40 };

/** "2GB", "512 MB", "1.5g", "2147483648" as bytes (binary units: 1 GB = 2^30 bytes); undefined when it is not a size. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

/** Bytes as people read them: "2 GB", "1.3 GB", "640 MB" (binary units). */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(bytes >= 10 * 2 ** 30 ? 0 : 1).replace(/\.0$/, "")} GB`;
  if (bytes >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)} MB`;
  if (bytes >= 2 ** 10) return `${Math.round(bytes / 2 ** 10)} KB`;
  return `${bytes} bytes`;
}
