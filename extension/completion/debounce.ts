// How long to wait after a keystroke before asking for a completion: the configured delay, longer
// while the user types fast (a little over their usual gap between keys, so a burst of typing is
// not interrupted by generations that would be thrown away), at most four times the setting.

export class AdaptiveDebounce {
  private last?: number;
  private readonly gaps: number[] = [];

  constructor(
    private base: number,
    private readonly window = 8,
  ) {}

  setBase(ms: number): void {
    this.base = Math.max(0, ms);
  }

  /** A keystroke (a document change) at `now` (ms). Pauses of a second or more are not typing. */
  keystroke(now: number): void {
    if (this.last !== undefined) {
      const gap = now - this.last;
      if (gap >= 0 && gap < 1000) {
        this.gaps.push(gap);
        if (this.gaps.length > this.window) this.gaps.shift();
      }
    }
    this.last = now;
  }

  /** The delay to wait now: the setting, or 1.25 x the median recent gap when that is longer, capped at 4 x the setting. */
  delay(): number {
    if (this.gaps.length < 3) return this.base;
    const sorted = [...this.gaps].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    return Math.min(Math.max(this.base, 1.25 * median), 4 * this.base);
  }
}
