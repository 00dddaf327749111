// The long fuzz campaign (`npm run fuzz`): every target of test/fuzz for a time, from a random seed
// (printed first, so any failure can be run again), with a JSON summary on stdout: cases per
// target, failures, crashes, hangs, and each kind of failure with a case that reproduces it.
// Needs the built engine (`npm run build`). Exit status 1 when any bar was broken.
//
//   npm run fuzz                                    5 minutes over all targets, a random seed
//   npm run fuzz -- --time 60 --seed 7              one minute, seed 7
//   npm run fuzz -- --target series,models --count 500
//   npm run fuzz -- --seed 7 --target models --case 41   one case again, its verdict in full
import { runCampaign } from "../test/fuzz/harness";
import { randomSeed } from "../test/fuzz/rng";
import { TARGETS } from "../test/fuzz/targets/index";

/** How much of the time each target gets (the engine targets are slower per case). */
const SHARE: Record<string, number> = { messages: 1, "cli-args": 1, selections: 2, series: 2, "inspect-text": 2, models: 5, cli: 2 };

function args(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    if (i + 1 < argv.length) m.set(a, argv[++i]);
    else throw new Error(`${a} needs a value`);
  }
  return m;
}

function number(m: Map<string, string>, name: string): number | undefined {
  const v = m.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number 0 or more (got ${JSON.stringify(v)})`);
  return n;
}

async function main(): Promise<number> {
  const opts = args(process.argv.slice(2));
  const seed = number(opts, "--seed") ?? randomSeed();
  const targets = opts.get("--target")?.split(",").filter(Boolean) ?? TARGETS.map((t) => t.name);
  const unknown = targets.filter((t) => !TARGETS.some((x) => x.name === t));
  if (unknown.length) throw new Error(`no target ${unknown.join(", ")} (targets: ${TARGETS.map((t) => t.name).join(", ")})`);
  const seconds = number(opts, "--time") ?? 300;
  const onlyCase = number(opts, "--case");
  const count = number(opts, "--count") ?? Infinity;
  const total = targets.reduce((s, t) => s + (SHARE[t] ?? 1), 0);
  const timeMs = Object.fromEntries(targets.map((t) => [t, onlyCase !== undefined ? 600_000 : (seconds * 1000 * (SHARE[t] ?? 1)) / total]));
  process.stderr.write(`seqlens fuzz: seed ${seed}, ${onlyCase !== undefined ? `case ${onlyCase} of ${targets.join(", ")}` : `${seconds} s over ${targets.join(", ")}`}\n`);
  const summary = await runCampaign({
    seed,
    targets,
    count,
    timeMs,
    onlyCase,
    onFailure: (f) => process.stderr.write(`FAIL ${f.target} case ${f.case} [${f.kind}] ${f.problem.split("\n")[0].slice(0, 300)}\n  input: ${f.input.slice(0, 300)}\n  again: ${f.reproduce}\n`),
  });
  process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  process.stderr.write(`seqlens fuzz: seed ${seed}: ${summary.cases} cases, ${summary.failures} failures, ${summary.crashes} crashes, ${summary.hangs} hangs, ${summary.writtenOutside.length} files written outside the temp folder\n`);
  return summary.failures + summary.writtenOutside.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`seqlens fuzz: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
