// How long the extension host's event loop stalls while something runs elsewhere, and whether a
// stall was work in this process or this process waiting for a CPU: a short timer ticks, and for
// the longest gap between ticks the process's own CPU time over that gap is kept beside it.
export interface StallReport {
  /** The longest event-loop stall: the longest gap between ticks, less the tick interval. */
  maxStallMs: number;
  /** CPU time this process (all its threads) used during that gap. */
  cpuInMaxStallMs: number;
  /** CPU time this process used over the whole measurement, and its wall time. */
  cpuMs: number;
  wallMs: number;
}

export class StallMeter {
  private timer?: NodeJS.Timeout;
  private readonly t0 = performance.now();
  private readonly cpu0 = process.cpuUsage();
  private last = this.t0;
  private lastCpu = this.cpu0;
  private max = 0;
  private cpuInMax = 0;

  constructor(private readonly intervalMs = 2) {
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  private tick(): void {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const stall = now - this.last - this.intervalMs;
    if (stall > this.max) {
      this.max = stall;
      this.cpuInMax = (cpu.user + cpu.system - this.lastCpu.user - this.lastCpu.system) / 1000;
    }
    this.last = now;
    this.lastCpu = cpu;
  }

  stop(): StallReport {
    this.tick();
    clearInterval(this.timer);
    const c = process.cpuUsage(this.cpu0);
    return { maxStallMs: Math.max(0, this.max), cpuInMaxStallMs: this.cpuInMax, cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - this.t0 };
  }
}
