// The command line: its argument parser in process (thousands of argument lists), and the built CLI
// run as a user runs it (`node bin/seqlens.js …`, a bounded number of times) on commands, flags and
// values valid and hostile, with models, files and output folders that exist or not. The process
// exits 0, 1 (a typed error: one "seqlens: error: <sentence>") or 2 (usage: "seqlens: <sentence>"
// and the usage), never by a signal, never with a stack trace, within its deadline; --json output
// that succeeded is JSON.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { sentenceProblem } from "../bars";
import { ROOT } from "../engine";
import type { Rng } from "../rng";
import { CaseLog, type EngineTarget, type InProcessTarget, type Verdict } from "../target";
import { describe, EDGE_NUMBERS, hostileString } from "../values";

const CLI = path.join(ROOT, "bin", "seqlens.js");
const MODELS = path.join(ROOT, "samples", "models");

const COMMANDS = ["inspect", "generate", "complete", "info", "gates", "forecast", "project", "neighbours", "lens", "compare", "quantize", "attribute", "dla", "patch", "help"];
/** The "why" commands run the model once per token (or per patched position): each case gets a deadline, past which the engine stops with a typed error. */
const ONE_RUN_PER_TOKEN = new Set(["attribute", "dla", "patch"]);
const BOOLEAN_FLAGS = ["--json", "--greedy", "--no-cache", "--help", "-h"];
const NUMBER_FLAGS = ["--top-k", "--max-tokens", "--temperature", "--top-p", "--seed", "--horizon", "--dims", "--layer", "--k", "--alternatives", "--max-ms", "--max-steps", "--window", "--from-step", "--deadline", "--position", "--steps", "--top"];
const CHOICE_FLAGS: Record<string, string[]> = {
  "--method": ["pca", "umap", "tsne", "ablation", "grad-x-input", "integrated-gradients"],
  "--matrix": ["input", "output"],
  "--metric": ["cosine", "euclidean"],
  "--stop-at": ["line", "block"],
  "--runtime": ["onnx", "tfjs"],
  "--ep": ["cpu", "auto"],
};

function numberText(rng: Rng): string {
  return rng.weighted<() => string>([
    [4, () => String(rng.range(0, 12))],
    [3, () => String(rng.pick(EDGE_NUMBERS))],
    [1, () => rng.pick(["abc", "", " ", "1e999", "0x10", "-0", "1_000", "1,5", "٣", "NaN", "+5", ".5", "5.", "1e-400"])],
  ])();
}

// ---- in process: the argument parser ----

/** What parseArgs should make of argv, read independently: flags without values, "--x v" pairs, repeats as "--x#2". */
function expectedParse(argv: string[]): { command: string; opts: Map<string, string> } | "usage" {
  const [command, ...rest] = argv;
  const opts = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (BOOLEAN_FLAGS.includes(a)) opts.set(a, "true");
    else if (a.startsWith("--")) {
      if (i + 1 >= rest.length) return "usage";
      let key = a;
      for (let n = 2; opts.has(key); n++) key = `${a}#${n}`;
      opts.set(key, rest[++i]);
    } else return "usage";
  }
  return { command: command ?? "", opts };
}

function randomArgv(rng: Rng): string[] {
  const argv: string[] = [];
  if (rng.chance(0.95)) argv.push(rng.chance(0.8) ? rng.pick(COMMANDS) : hostileString(rng, 12));
  for (let n = rng.size(10); n > 0; n--) {
    const r = rng.float();
    if (r < 0.2) argv.push(rng.pick(BOOLEAN_FLAGS));
    else if (r < 0.75) argv.push(rng.pick([...NUMBER_FLAGS, ...Object.keys(CHOICE_FLAGS), "--model", "--text", "--file", "--ids", "--values", "--series", "--out", "--token", "--plus", "--minus", "--memory-budget"]), rng.chance(0.5) ? numberText(rng) : hostileString(rng, 24));
    else if (r < 0.9) argv.push(rng.pick(["--", "---", "-", "--=", "--model=x", "-x", "--proto__", "--__proto__", "--constructor", "--hasOwnProperty"]));
    else argv.push(hostileString(rng, 16));
  }
  return argv;
}

type CliModule = typeof import("../../../engine/cli");
let cliModule: CliModule | undefined;

export const cliArgsTarget: InProcessTarget = {
  name: "cli-args",
  where: "worker",
  deadlineMs: 5_000,
  fixed: 0,
  run(rng, _index, note) {
    cliModule ??= require("../../../engine/cli") as CliModule; // eslint-disable-line @typescript-eslint/no-require-imports
    const argv = randomArgv(rng);
    const log = new CaseLog(`parseArgs ${describe(argv, 300)}`, note);
    const want = expectedParse(argv);
    try {
      const got = cliModule.parseArgs(argv);
      log.expect(want !== "usage", "parsed an argument list that has a flag without its value or a stray argument");
      if (want !== "usage") {
        log.expect(got.command === want.command, () => `command ${JSON.stringify(got.command)}, expected ${JSON.stringify(want.command)}`);
        log.expect(got.opts.size === want.opts.size && [...want.opts].every(([k, v]) => got.opts.get(k) === v), () => `options ${describe([...got.opts])}, expected ${describe([...want.opts])}`);
        log.expect(Object.getPrototypeOf(got.opts) === Map.prototype, "the options are not a plain Map");
      }
    } catch (e) {
      log.outcome = "refused";
      const isUsage = e instanceof Error && e.constructor.name === "CliUsageError";
      if (!isUsage) log.add("untyped", `parseArgs threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a usage error`);
      else {
        const s = sentenceProblem(e.message);
        if (s) log.add("message", s);
      }
      log.expect(want === "usage", () => `refused an argument list it should take: ${(e as Error).message}`);
    }
    return log.verdict();
  },
};

// ---- the built CLI, run as a process ----

interface Files {
  dir: string;
  textFile: string;
  csvFile: string;
  emptyDir: string;
}

function makeFiles(rng: Rng, dir: string): Files {
  const textFile = path.join(dir, "input.txt");
  fs.writeFileSync(textFile, rng.chance(0.8) ? `function f(x) {\n  return ${hostileString(rng, 40)};\n}\n` : hostileString(rng, 2000));
  const csvFile = path.join(dir, "series.csv");
  const rows = Array.from({ length: rng.size(300) }, (_, i) => (rng.chance(0.97) ? `${i},${(Math.sin(i / 5) * 10 + rng.float()).toFixed(3)}` : `${i},${rng.pick(["NaN", "", "abc", "1e308", "-Infinity", "1;2"])}`));
  fs.writeFileSync(csvFile, (rng.chance(0.7) ? "time,value\n" : "") + rows.join(rng.pick(["\n", "\r\n"])));
  const emptyDir = path.join(dir, "empty");
  fs.mkdirSync(emptyDir);
  return { dir, textFile, csvFile, emptyDir };
}

function modelArg(rng: Rng, f: Files): string {
  return rng.weighted<() => string>([
    [5, () => path.join(MODELS, "tiny-gpt")],
    [2, () => path.join(MODELS, "co2-lstm")],
    [2, () => path.join(MODELS, "char-lstm")],
    [1, () => `tfjs:${path.join(MODELS, "tiny-gpt")}`],
    [1, () => path.join(f.dir, "missing-model")],
    [1, () => f.emptyDir],
    [1, () => f.textFile],
    [1, () => rng.pick(["", "x", ".", "/", "tfjs:", "tfjs:/nonexistent", hostileString(rng, 12)])],
  ])();
}

function valueFor(flag: string, rng: Rng, f: Files): string {
  if (CHOICE_FLAGS[flag]) return rng.chance(0.9) ? rng.pick(CHOICE_FLAGS[flag]) : hostileString(rng, 8);
  if (NUMBER_FLAGS.includes(flag)) return numberText(rng);
  switch (flag) {
    case "--model":
      return modelArg(rng, f);
    case "--text":
    case "--suffix":
    case "--target":
    case "--foil":
    case "--clean":
    case "--corrupted":
      return rng.chance(0.7) ? rng.pick(["let x = 1;", "hello world", "1, 2, 3", "0.5\n1.5\n2.5\n3.5"]) : hostileString(rng, 200);
    case "--file":
      return rng.pick([f.textFile, f.csvFile, f.emptyDir, path.join(f.dir, "nope.txt"), ""]);
    case "--series":
      return rng.pick([f.csvFile, f.csvFile, f.textFile, path.join(f.dir, "nope.csv"), f.emptyDir]);
    case "--ids":
    case "--target-ids":
    case "--clean-ids":
    case "--corrupted-ids":
      return rng.pick(["1,2,3", "0", "", ",", "a,b", "-1", "1.5", "4095,4096", "1e9", String(2 ** 53), Array.from({ length: 700 }, (_, i) => i % 4096).join(",")]);
    case "--values":
      return rng.pick(["1,2,3,4,5", "315.4,316.3,316.9,317.6", "NaN,1", "1e308,-1e308,1e308", "", "1;2;3", "[1,2,3]", "0".repeat(50)]);
    case "--memory-budget":
      return rng.pick(["2GB", "512MB", "1", "0", "-1GB", "1e99", "lots", "", "1.5GB", "100kb"]);
    case "--out":
      return rng.pick([path.join(f.dir, `out-${rng.int(1000)}`), f.emptyDir, f.textFile, "relative-out", ""]);
    case "--token":
    case "--plus":
    case "--minus":
      return rng.pick(["the", " x", "function", "", "\ud800", "zzzzzzzzzz"]);
    case "--baseline":
      return rng.pick(["pad", "eos", "mask", "unk", "zero", "0", "4095", "-1", "99999", ""]);
    case "--per":
      return rng.pick(["residual", "head", "neuron", ""]);
    default:
      return hostileString(rng, 16);
  }
}

/** A command line a user might type (or mistype): mostly a real command with fitting flags, some of them wrong. */
function commandLine(rng: Rng, f: Files): string[] {
  const command = rng.chance(0.9) ? rng.pick(COMMANDS.filter((c) => c !== "help")) : rng.pick(["help", "", "--help", "INSPECT", "constructor", "__proto__", hostileString(rng, 10)]);
  const argv = [command];
  const flags = new Set<string>(["--model"]);
  if (command === "compare") flags.add("--model#2");
  const byCommand: Record<string, string[]> = {
    inspect: ["--text", "--file", "--ids", "--top-k", "--target", "--target-ids", "--max-tokens"],
    generate: ["--text", "--max-tokens", "--greedy", "--temperature", "--top-k", "--top-p", "--seed", "--no-cache"],
    complete: ["--text", "--file", "--suffix", "--max-tokens", "--max-ms", "--stop-at", "--alternatives"],
    info: [],
    gates: ["--text", "--series", "--values", "--runtime", "--max-steps", "--window", "--from-step"],
    forecast: ["--series", "--values", "--horizon", "--runtime", "--max-steps", "--window", "--from-step"],
    project: ["--method", "--dims", "--matrix", "--text", "--series", "--layer"],
    neighbours: ["--token", "--plus", "--minus", "--k", "--metric", "--matrix"],
    lens: ["--text", "--file", "--ids", "--top-k"],
    compare: ["--text", "--file"],
    quantize: ["--out"],
    attribute: ["--text", "--file", "--ids", "--position", "--target", "--foil", "--baseline", "--method", "--steps", "--top"],
    dla: ["--text", "--file", "--ids", "--position", "--target", "--foil", "--top"],
    patch: ["--clean", "--corrupted", "--clean-ids", "--corrupted-ids", "--metric", "--per", "--layer"],
  };
  for (const fl of Object.hasOwn(byCommand, command) ? byCommand[command] : []) if (rng.chance(0.5)) flags.add(fl);
  if (rng.chance(0.3)) flags.add(rng.pick([...NUMBER_FLAGS, ...Object.keys(CHOICE_FLAGS), "--text", "--values"]));
  if (rng.chance(0.5)) flags.add("--json");
  for (const fl of flags) {
    if (fl === "--ep") continue;
    const name = fl.replace(/#\d+$/, "");
    if (BOOLEAN_FLAGS.includes(name)) argv.push(name);
    else argv.push(name, valueFor(name, rng, f));
  }
  // UMAP and t-SNE of the whole vocabulary take minutes by design: only on a selection here.
  const m = argv.indexOf("--method");
  if (m >= 0 && argv[m + 1] !== "pca" && !argv.includes("--text") && !argv.includes("--series")) argv[m + 1] = "pca";
  if (rng.chance(0.1)) argv.push(rng.pick(["--bogus", "stray", "--json", "--model"]));
  if (rng.chance(0.05)) argv.push("--ep", rng.pick(["cpu", "bogus", ""]));
  if (rng.chance(0.1)) argv.push(...(rng.chance(0.5) ? ["--memory-budget", valueFor("--memory-budget", rng, f)] : ["--deadline", rng.pick(["30", "0.001", "-1", "x", ""])]));
  if (ONE_RUN_PER_TOKEN.has(command) && !argv.includes("--deadline")) argv.push("--deadline", "15");
  return argv.map((a) => a.replace(/\0/g, "\\0")); // a command line cannot hold NUL
}

/** The most of stdout kept (an inspection's attention as JSON is tens of megabytes); past it, the JSON is not checked. */
const STDOUT_CAP = 256 * 2 ** 20;

function runCli(argv: string[], cwd: string, signal: AbortSignal): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; killed: boolean; cut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...argv], { cwd, env: { ...process.env, SEQLENS_EP: "cpu", SEQLENS_CACHE_DIR: path.join(cwd, "cache") }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let killed = false;
    let cut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < STDOUT_CAP) stdout += d;
      else cut = true;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = stderr.length < 1e6 ? stderr + d : stderr));
    const kill = () => {
      killed = true;
      try {
        process.kill(-child.pid!, "SIGKILL"); // the CLI and the engine it started
      } catch {
        // gone
      }
    };
    signal.addEventListener("abort", kill, { once: true });
    child.on("close", (code, sig) => {
      signal.removeEventListener("abort", kill);
      resolve({ code, signal: sig, stdout, stderr, killed, cut });
    });
  });
}

export const cliTarget: EngineTarget = {
  name: "cli",
  where: "engine",
  deadlineMs: 60_000,
  fixed: 0,
  async run(rng, _index, env): Promise<Verdict> {
    const dir = env.tempDir("cli");
    const files = makeFiles(rng, dir);
    const argv = commandLine(rng, files);
    const log = new CaseLog(`seqlens ${argv.map((a) => describe(a, 60)).join(" ")}`, env.note);
    const r = await runCli(argv, dir, env.signal);
    if (r.killed) return log.verdict(); // the harness records the hang
    const lines = r.stderr.split("\n").filter((l) => l !== "" && !/^\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[[WE]/.test(l));
    if (r.signal || (r.code !== 0 && r.code !== 1 && r.code !== 2)) {
      log.add("crash", `the CLI ended with ${r.signal ? `signal ${r.signal}` : `exit code ${r.code}`}: ${r.stderr.slice(-600)}`);
      return log.verdict();
    }
    log.expect(!/^\s+at .+:\d+:\d+\)?$/m.test(r.stderr), () => `a stack trace on stderr: ${r.stderr.slice(0, 600)}`);
    if (r.code === 0) {
      if (!r.cut && argv.includes("--json") && argv[0] !== "help" && !argv.includes("--help") && !argv.includes("-h")) {
        try {
          JSON.parse(r.stdout);
        } catch {
          log.add("wrong", `exit 0 with --json, but stdout is not JSON: ${describe(r.stdout.slice(0, 300))}`);
        }
      }
      return log.verdict();
    }
    log.outcome = "refused";
    if (r.code === 1) {
      const first = lines.findIndex((l) => l.startsWith("seqlens: error: "));
      if (first < 0) log.add("untyped", `exit 1 without "seqlens: error: …" on stderr: ${describe(r.stderr.slice(0, 600))}`);
      else {
        const s = sentenceProblem(lines[first].slice("seqlens: error: ".length));
        if (s) log.add("message", s);
      }
      // a gates run whose recomputed gates differ from the runtime's exits 1 after printing them
      if (argv[0] === "gates" && first < 0 && /MISMATCH/.test(r.stdout)) log.problems.length = 0;
    } else {
      const first = lines[0] ?? "";
      if (first.startsWith("seqlens: ")) {
        const s = sentenceProblem(first.slice("seqlens: ".length));
        if (s) log.add("message", s);
      } else log.expect(first === "" || first.startsWith("usage:"), () => `exit 2 with an unexpected first line on stderr: ${describe(first)}`);
      log.expect(/usage:/.test(r.stderr) || /usage:/.test(r.stdout), "exit 2 without the usage");
    }
    return log.verdict();
  },
};
