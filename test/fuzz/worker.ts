// A worker thread that runs one in-process target's cases, so that a case stuck in a loop can be
// stopped: before each case it writes the case's index and start time where the harness watches
// them, and the harness terminates the worker when a case passes its deadline.
import { parentPort, workerData } from "node:worker_threads";
import { caseRng } from "./rng";
import { TARGETS } from "./targets/index";
import type { Verdict } from "./target";

export interface WorkerJob {
  target: string;
  seed: number;
  from: number;
  /** One past the last case to run. */
  to: number;
  /** Date.now() after which no case is started. */
  endAt: number;
  /** [case index, Date.now() at its start] of the case running; the index is -1 between cases. */
  shared: SharedArrayBuffer;
}

export type WorkerMessage = { type: "input"; index: number; input: string } | { type: "case"; index: number; verdict: Verdict; ms: number } | { type: "done"; next: number };

async function main(job: WorkerJob): Promise<void> {
  const target = TARGETS.find((t) => t.name === job.target);
  if (!target || target.where !== "worker") throw new Error(`no in-process target ${job.target}`);
  const now = new Float64Array(job.shared);
  let i = job.from;
  for (; i < job.to && Date.now() < job.endAt; i++) {
    now[1] = Date.now();
    now[0] = i;
    const t0 = performance.now();
    let verdict: Verdict;
    try {
      const index = i;
      verdict = await target.run(caseRng(job.seed, target.name, i), i, (input) => parentPort!.postMessage({ type: "input", index, input: input.slice(0, 2000) } satisfies WorkerMessage));
    } catch (e) {
      // The target's own checks never throw: a throw is the code under test throwing through them.
      verdict = { input: `case ${i}`, outcome: "refused", problems: [{ kind: "crash", problem: `uncaught ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split("\n").slice(1, 4).join("\n")}` : String(e)}` }] };
    }
    now[0] = -1;
    parentPort!.postMessage({ type: "case", index: i, verdict, ms: performance.now() - t0 } satisfies WorkerMessage);
  }
  parentPort!.postMessage({ type: "done", next: i } satisfies WorkerMessage);
}

void main(workerData as WorkerJob);
