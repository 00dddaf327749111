// What every fuzz case is held to: a failure is a typed EngineError (or a validator's reason) whose
// message is a sentence a user can act on; nothing is written outside the campaign's temp folder.
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError, type ErrorCode } from "../../protocol/errors";

/** Every code an EngineError may carry (the type's members, checked below to be all of them). */
export const ERROR_CODES = ["BAD_INPUT", "MODEL_NOT_FOUND", "MODEL_INVALID", "TOKENIZER", "NO_ATTENTION", "NO_EMBEDDINGS", "INCOMPATIBLE", "NO_LENS", "UNSUPPORTED", "TOO_LARGE", "UNKNOWN_HANDLE", "CANCELLED", "PROCESS_DIED", "DEADLINE", "INTERNAL"] as const satisfies readonly ErrorCode[];
// A code added to ErrorCode and not here fails to compile.
const everyCode: Exclude<ErrorCode, (typeof ERROR_CODES)[number]> extends never ? true : false = true;
void everyCode;

/** The longest message that is still a sentence (longer ones echo the input back). */
export const MAX_MESSAGE_CHARS = 4000;

/**
 * A message may begin with the file or folder it is about (`/models/x/config.json: …`, `/models/x
 * holds no …`), as a compiler's does; after that it starts with a word, a number, a quoted name or a
 * command-line flag.
 */
const PATH_PREFIX = /^(?:\/|[A-Za-z]:[\\/])[^\n]*?(?:: |\s(?=\p{L}))/u;

/** Why `message` is not a sentence a user can act on; undefined when it is one. */
export function sentenceProblem(message: unknown): string | undefined {
  if (typeof message !== "string") return `the message is ${message === null ? "null" : typeof message}, not a string`;
  const m = message.trim();
  if (m.length < 10) return `the message ${JSON.stringify(m)} is too short to say what went wrong`;
  if (m.length > MAX_MESSAGE_CHARS) return `the message is ${m.length} characters long (it echoes the input back?): ${JSON.stringify(m.slice(0, 120))}…`;
  const body = m.replace(PATH_PREFIX, "");
  if (!/^(?:[\p{L}\p{N}"'`«“]|--?[^\s:]*:? )/u.test(body)) return `the message does not start with a word: ${JSON.stringify(m.slice(0, 200))}`;
  // "undefined" or "[object Object]" inside quotes, or in a path, is the input echoed back, not the code's own words
  const own = m.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/(^|[\s(])\/[^\s,;)]*/g, "$1PATH");
  if (/\bundefined\b/.test(own)) return `the message says "undefined": ${JSON.stringify(m.slice(0, 300))}`;
  if (/\[object \w*\]/.test(own)) return `the message says "[object …]": ${JSON.stringify(m.slice(0, 300))}`;
  if (/\n\s*at \S.*:\d+:\d+\)?$/m.test(m) || /\bat (?:async )?[\w.<>$]+ \((?:file:\/\/|node:|\/)[^)]*:\d+:\d+\)/.test(m)) return `the message holds a stack trace: ${JSON.stringify(m.slice(0, 300))}`;
  if (/^(?:TypeError|RangeError|ReferenceError|SyntaxError|Error): /.test(body) || /Cannot read propert(?:y|ies) of|is not a function|is not iterable|Maximum call stack/.test(m)) return `the message is a JavaScript exception, not a sentence for the user: ${JSON.stringify(m.slice(0, 300))}`;
  return undefined;
}

export type ProblemKind = "crash" | "untyped" | "message";

/**
 * What is wrong with `e` as the way a request failed; undefined when it is a typed EngineError whose
 * message is a sentence. PROCESS_DIED is a crash (the engine must never die); INTERNAL is the engine's
 * catch-all for an exception it did not expect, so it counts as untyped.
 */
export function errorProblem(e: unknown): { kind: ProblemKind; problem: string } | undefined {
  if (!(e instanceof EngineError)) {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { kind: "untyped", problem: `not an EngineError: ${what.slice(0, 300)}` };
  }
  if (!(ERROR_CODES as readonly string[]).includes(e.code)) return { kind: "untyped", problem: `an unknown error code ${JSON.stringify(e.code)}: ${e.message.slice(0, 300)}` };
  if (e.code === "PROCESS_DIED") return { kind: "crash", problem: e.message };
  if (e.code === "INTERNAL") return { kind: "untyped", problem: `INTERNAL (an exception the engine did not expect): ${e.message.slice(0, 300)}` };
  const s = sentenceProblem(e.message);
  return s ? { kind: "message", problem: `${e.code}: ${s}` } : undefined;
}

// ---- nothing written outside the temp folder ----

/** Every file and folder under `roots` with its size and modification time (a missing root is listed as missing). */
export function snapshot(roots: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      out.set(p, "missing");
      return;
    }
    if (st.isDirectory()) {
      out.set(p, "dir");
      for (const f of fs.readdirSync(p)) walk(path.join(p, f));
    } else out.set(p, `${st.size}:${st.mtimeMs}`);
  };
  for (const r of roots) walk(r);
  return out;
}

/** What changed between two snapshots: added, removed and changed paths. */
export function snapshotChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [p, v] of after) {
    const was = before.get(p);
    if (was === undefined || (was === "missing" && v !== "missing")) changes.push(`written: ${p}`);
    else if (was !== v) changes.push(v === "missing" ? `removed: ${p}` : `changed: ${p}`);
  }
  for (const p of before.keys()) if (!after.has(p)) changes.push(`removed: ${p}`);
  return changes;
}
