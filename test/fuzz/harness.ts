// The fuzz campaign: each target's cases, bounded by a count and a time, each case by its deadline;
// the bars checked on every case (no crash, no hang, typed failures with sentences) and once over
// the whole run (nothing written outside the temp folder). Every case is reproducible from the
// campaign's seed, the target's name and the case's index.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { snapshot, snapshotChanges } from "./bars";
import { FuzzEngine, ROOT } from "./engine";
import { caseRng } from "./rng";
import type { EngineEnv, EngineTarget, InProcessTarget, Problem, Verdict } from "./target";
import { TARGETS } from "./targets/index";
import type { WorkerJob, WorkerMessage } from "./worker";

export interface CampaignOptions {
  seed: number;
  /** The targets to run (by name; all when absent). */
  targets?: readonly string[];
  /** Cases per target, the fixed edge cases included (Infinity: as many as the time allows). */
  count: number | Readonly<Record<string, number>>;
  /** Milliseconds per target. */
  timeMs: number | Readonly<Record<string, number>>;
  /** Only this case of each target run (to reproduce one). */
  onlyCase?: number;
  /** Called on each failing case as it is found. */
  onFailure?: (f: Failure) => void;
  /** The engine's resident size past which it is restarted between cases (bytes; default 3 GiB). */
  engineRssLimit?: number;
}

export interface Failure {
  target: string;
  case: number;
  kind: Problem["kind"] | "hang";
  problem: string;
  input: string;
  reproduce: string;
}

export interface TargetSummary {
  cases: number;
  accepted: number;
  refused: number;
  /** Cases that broke a bar (crashes and hangs included). */
  failures: number;
  crashes: number;
  hangs: number;
  ms: number;
  /** The slowest case, milliseconds. */
  slowestMs: number;
}

export interface Finding {
  target: string;
  kind: Failure["kind"];
  /** Cases that failed this way. */
  count: number;
  first: Failure;
}

export interface CampaignSummary {
  seed: number;
  ms: number;
  cases: number;
  failures: number;
  crashes: number;
  hangs: number;
  /** Files written, changed or removed outside the campaign's temp folder. */
  writtenOutside: string[];
  /** Engine restarts because it held more than the limit between cases, with the case after which it did. */
  engineRestartsForMemory: string[];
  enginePeakRssMiB: number;
  targets: Record<string, TargetSummary>;
  /** Failures grouped by target, kind and the problem's wording (numbers and paths aside), most frequent first. */
  findings: Finding[];
}

/** What changes between failures of one bug: numbers, quoted text, paths. */
function signature(f: Failure): string {
  return `${f.target}|${f.kind}|${f.problem.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/(?:\/[\w.@+-]+)+/g, "PATH").replace(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, "N").slice(0, 160)}`;
}

/** What the campaign must not touch: the samples, the test fixtures, the engine's default cache, the repository's top level. */
function guarded(): string[] {
  return [path.join(ROOT, "samples"), path.join(ROOT, "test", "fixtures"), path.join(os.homedir(), ".cache", "seqlens")];
}

function topLevel(): Set<string> {
  return new Set(fs.readdirSync(ROOT));
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignSummary> {
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-fuzz-"));
  const before = snapshot(guarded());
  const rootBefore = topLevel();
  const summary: CampaignSummary = { seed: opts.seed, ms: 0, cases: 0, failures: 0, crashes: 0, hangs: 0, writtenOutside: [], engineRestartsForMemory: [], enginePeakRssMiB: 0, targets: {}, findings: [] };
  const groups = new Map<string, Finding>();
  const per = <T>(v: T | Readonly<Record<string, T>>, name: string, dflt: T): T => (typeof v === "object" && v !== null ? ((v as Record<string, T>)[name] ?? dflt) : (v as T));
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUncaught);
  const engine = new FuzzEngine(path.join(tmp, "engine-cache"));
  let tempCount = 0;
  const tempDir = (prefix: string) => fs.mkdtempSync(path.join(tmp, `${prefix.replace(/[^\w-]/g, "_")}-${tempCount++}-`));

  try {
    const chosen = opts.targets ? opts.targets.map((n) => TARGETS.find((t) => t.name === n) ?? fail(`no target ${n} (targets: ${TARGETS.map((t) => t.name).join(", ")})`)) : TARGETS;
    for (const target of chosen) {
      const s: TargetSummary = { cases: 0, accepted: 0, refused: 0, failures: 0, crashes: 0, hangs: 0, ms: 0, slowestMs: 0 };
      summary.targets[target.name] = s;
      const from = opts.onlyCase ?? 0;
      const to = opts.onlyCase !== undefined ? opts.onlyCase + 1 : per(opts.count, target.name, Infinity);
      const endAt = Date.now() + per(opts.timeMs, target.name, 10_000);
      const started = Date.now();
      const record = (index: number, verdict: Verdict | undefined, ms: number, hang?: string, noted?: string) => {
        s.cases++;
        s.slowestMs = Math.max(s.slowestMs, ms);
        const problems: { kind: Failure["kind"]; problem: string }[] = verdict ? [...verdict.problems] : [];
        if (hang) problems.push({ kind: "hang", problem: hang });
        if (verdict && !hang) s[verdict.outcome]++;
        if (problems.length === 0) return;
        s.failures++;
        if (problems.some((p) => p.kind === "crash")) s.crashes++;
        if (hang) s.hangs++;
        for (const p of problems) {
          const f: Failure = { target: target.name, case: index, kind: p.kind, problem: p.problem, input: verdict?.input ?? noted ?? `case ${index}`, reproduce: `npm run fuzz -- --seed ${opts.seed} --target ${target.name} --case ${index}` };
          opts.onFailure?.(f);
          const key = signature(f);
          const g = groups.get(key);
          if (g) g.count++;
          else groups.set(key, { target: target.name, kind: f.kind, count: 1, first: f });
        }
      };
      if (target.where === "worker") await runInWorker(target, opts.seed, from, to, endAt, record);
      else await runWithEngine(target, opts.seed, from, to, endAt, engine, tempDir, record, summary, opts.engineRssLimit ?? 3 * 2 ** 30);
      for (const e of uncaught.splice(0)) record(-1, { input: "outside any case", outcome: "refused", problems: [{ kind: "crash", problem: `uncaught in the test process: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` }] }, 0);
      s.ms = Date.now() - started;
    }
  } finally {
    engine.dispose();
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUncaught);
  }
  summary.writtenOutside = snapshotChanges(before, snapshot(guarded()));
  for (const f of topLevel()) if (!rootBefore.has(f)) summary.writtenOutside.push(`written: ${path.join(ROOT, f)}`);
  summary.enginePeakRssMiB = Math.round(engine.peakRss / 2 ** 20);
  for (const s of Object.values(summary.targets)) {
    summary.cases += s.cases;
    summary.failures += s.failures;
    summary.crashes += s.crashes;
    summary.hangs += s.hangs;
  }
  summary.findings = [...groups.values()].sort((a, b) => b.count - a.count);
  summary.ms = Date.now() - t0;
  fs.rmSync(tmp, { recursive: true, force: true });
  return summary;
}

function fail(message: string): never {
  throw new Error(message);
}

/** tsx's require hook, by its full path (a worker resolves it from the current folder, wherever the campaign was started). */
const TSX_CJS = require.resolve("tsx/cjs");

type Record_ = (index: number, verdict: Verdict | undefined, ms: number, hang?: string, noted?: string) => void;

/** An in-process target's cases in a worker thread; a case past its deadline terminates the worker and the next one goes on. */
async function runInWorker(target: InProcessTarget, seed: number, from: number, to: number, endAt: number, record: Record_): Promise<void> {
  let next = from;
  while (next < to && Date.now() < endAt) {
    const shared = new SharedArrayBuffer(16);
    const watch = new Float64Array(shared);
    watch[0] = -1;
    const job: WorkerJob = { target: target.name, seed, from: next, to, endAt, shared };
    next = await new Promise<number>((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, "worker.ts"), { workerData: job, execArgv: ["--require", TSX_CJS], resourceLimits: { maxOldGenerationSizeMb: 4096 } });
      let settled = false;
      let last = job.from;
      const noted = new Map<number, string>();
      const finish = (n: number) => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        void worker.terminate();
        resolve(n);
      };
      const timer = setInterval(() => {
        const i = watch[0];
        if (i >= 0) ran = true;
        if (i >= 0 && Date.now() - watch[1] > target.deadlineMs) {
          record(i, undefined, Date.now() - watch[1], `case ${i} still running after ${target.deadlineMs} ms (its deadline): the worker was stopped`, noted.get(i));
          finish(i + 1);
        }
      }, 25);
      worker.on("message", (m: WorkerMessage) => {
        if (settled) return;
        ran = true;
        if (m.type === "input") noted.set(m.index, m.input);
        else if (m.type === "case") {
          last = m.index + 1;
          noted.delete(m.index);
          record(m.index, m.verdict, m.ms);
        } else finish(m.next);
      });
      let ran = false;
      worker.on("error", (e) => {
        if (settled) return;
        if (!ran && watch[0] < 0) {
          // it died before its first case: the harness is broken, not the code under test
          settled = true;
          clearInterval(timer);
          reject(e);
          return;
        }
        const i = watch[0] >= 0 ? watch[0] : last;
        record(i, { input: noted.get(i) ?? `case ${i}`, outcome: "refused", problems: [{ kind: "crash", problem: `the worker died: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` }] }, 0);
        finish(i + 1);
      });
      worker.on("exit", () => finish(last));
    });
  }
}

/** An engine target's cases beside the engine process; a case past its deadline kills the engine, an exit nobody asked for is a crash. */
async function runWithEngine(target: EngineTarget, seed: number, from: number, to: number, endAt: number, engine: FuzzEngine, tempDir: (p: string) => string, record: Record_, summary: CampaignSummary, rssLimit: number): Promise<void> {
  for (let i = from; i < to && Date.now() < endAt; i++) {
    const ac = new AbortController();
    let noted: string | undefined;
    const env: EngineEnv = { engine, tempDir, signal: ac.signal, note: (input) => (noted = input.slice(0, 2000)) };
    engine.unexpectedExits();
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"hang">((resolve) => (timer = setTimeout(() => resolve("hang"), target.deadlineMs)));
    const running = Promise.resolve().then(() => target.run(caseRng(seed, target.name, i), i, env));
    const got = await Promise.race([running.catch((e: unknown): Verdict => ({ input: noted ?? `case ${i}`, outcome: "refused", problems: [{ kind: "crash", problem: `the target threw: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split("\n").slice(1, 4).join("\n")}` : String(e)}` }] })), deadline]);
    clearTimeout(timer);
    const ms = performance.now() - t0;
    if (got === "hang") {
      ac.abort();
      running.catch(() => {});
      engine.restart();
      record(i, undefined, ms, `case ${i} still running after ${target.deadlineMs} ms (its deadline): the engine was killed and restarted`, noted);
      continue;
    }
    // The engine must be alive after every case (an exit after it answered counts too).
    const ping = await Promise.race([engine.alive(), new Promise<"hang">((resolve) => (timer = setTimeout(() => resolve("hang"), 20_000)))]);
    clearTimeout(timer);
    const exits = engine.unexpectedExits();
    if (ping === "hang") {
      engine.restart();
      record(i, got, ms, `the engine did not answer a ping within 20 s after case ${i}`);
      continue;
    }
    if (exits > 0 && !got.problems.some((p) => p.kind === "crash")) got.problems.push({ kind: "crash", problem: `the engine process exited during or after the case (${exits} exit${exits === 1 ? "" : "s"})` });
    record(i, got, ms);
    const rss = engine.sampleRss();
    if (rss > rssLimit) {
      summary.engineRestartsForMemory.push(`${target.name} case ${i}: ${Math.round(rss / 2 ** 20)} MiB`);
      engine.restart();
      engine.kills--; // not a hang
    }
  }
}
