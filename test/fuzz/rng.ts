// The fuzz campaign's random numbers: a small seeded generator (sfc32), one stream per case derived
// from the campaign's seed, the target's name and the case's index, so any case can be run again
// alone from those three (`npm run fuzz -- --seed S --target T --case I`).

/** sfc32: a small, fast generator with a 128-bit state (PractRand-clean); 32-bit outputs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b = 0x9e3779b9, c = 0x243f6a88, d = 0xb7e15162) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    for (let i = 0; i < 12; i++) this.u32(); // mix the seed through the state
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** A whole number in [0, n) (n ≥ 1). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A whole number in [lo, hi] (both included). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** One of the entries, chosen with the given weights. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((s, [w]) => s + w, 0);
    let r = this.float() * total;
    for (const [w, v] of entries) {
      r -= w;
      if (r < 0) return v;
    }
    return entries[entries.length - 1][1];
  }

  /** A size in 0..max that is usually small (log-uniform) and now and then max itself. */
  size(max: number): number {
    if (this.chance(0.05)) return max;
    return Math.min(max, Math.floor(Math.exp(this.float() * Math.log(max + 1))) - 1);
  }
}

/** FNV-1a of a string, 32 bits. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The random stream of case `index` of `target` in the campaign seeded `seed`. */
export function caseRng(seed: number, target: string, index: number): Rng {
  return new Rng(seed >>> 0, hashString(target), index >>> 0, 0x5eed1e55);
}

/** A fresh campaign seed (for the long run; the bounded run in the tests uses a fixed one). */
export function randomSeed(): number {
  return (Math.random() * 4294967296) >>> 0;
}
