// What a fuzz target is: a name, where its cases run, a deadline per case, and a function from a
// case's random stream to a verdict. Targets that run in this process run in a worker thread (a
// case past its deadline is stopped by terminating the worker); targets that drive the engine run
// beside the engine process (a case past its deadline kills the engine and starts a new one).
import type { ProblemKind } from "./bars";
import type { FuzzEngine } from "./engine";
import type { Rng } from "./rng";

/** A broken bar: a crash, an untyped failure, a message that is not a sentence, or a wrong answer. */
export interface Problem {
  kind: ProblemKind | "wrong";
  problem: string;
}

export interface Verdict {
  /** What was tried, short enough for a report. */
  input: string;
  /** "accepted": it ran; "refused": it was turned down with a typed error or a validator's reason. */
  outcome: "accepted" | "refused";
  /** The bars this case broke; empty when it passed. */
  problems: Problem[];
}

export interface EngineEnv {
  engine: FuzzEngine;
  /** A new empty folder under the campaign's temp folder. */
  tempDir(prefix: string): string;
  /** Aborted when the case passes its deadline (a target that starts its own processes kills them). */
  signal: AbortSignal;
  /** Says what the case is trying before it runs (what a hang is reported with). */
  note(input: string): void;
}

export interface InProcessTarget {
  name: string;
  where: "worker";
  /** Most milliseconds one case may take. */
  deadlineMs: number;
  /** Cases 0..fixed-1 are the target's fixed edge cases (the same in every campaign); the rest are random. */
  fixed: number;
  /** `note` says what the case is trying before it runs (what a hang is reported with). */
  run(rng: Rng, index: number, note: (input: string) => void): Verdict | Promise<Verdict>;
}

export interface EngineTarget {
  name: string;
  where: "engine";
  deadlineMs: number;
  fixed: number;
  run(rng: Rng, index: number, env: EngineEnv): Promise<Verdict>;
}

export type Target = InProcessTarget | EngineTarget;

/** A verdict builder: problems are added as the case finds them. */
export class CaseLog {
  readonly problems: Problem[] = [];
  outcome: Verdict["outcome"] = "accepted";
  /** `note`: told the input at once, so that a case that never returns is reported with it. */
  constructor(
    public input: string,
    note?: (input: string) => void,
  ) {
    note?.(input);
  }

  add(kind: Problem["kind"], problem: string): void {
    this.problems.push({ kind, problem });
  }

  /** Adds a "wrong" problem unless `ok`. */
  expect(ok: boolean, problem: string | (() => string)): void {
    if (!ok) this.add("wrong", typeof problem === "string" ? problem : problem());
  }

  verdict(): Verdict {
    return { input: this.input, outcome: this.outcome, problems: this.problems };
  }
}
