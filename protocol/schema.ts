// The valibot pieces every feature's schemas are built from, and the one way a message or a set
// of engine parameters is checked: the typed value, or every problem as a sentence with its path.
import * as v from "valibot";

export const nonNegInt = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000));
/** Any number; ranges that depend on the model (layers, vocabulary) are checked where the model is known. */
export const num = v.number();
export const posInt = v.pipe(v.number(), v.integer(), v.minValue(1));
/** A model: a folder or file path (or `tfjs:<folder>`). Never taken from a webview message. */
export const modelSpec = v.pipe(v.string("model must be a non-empty string"), v.minLength(1, "model must be a non-empty string"));
export const handle = v.pipe(v.string("handle must be a string"), v.minLength(1, "handle must be a non-empty string"));
/** A PNG a panel exports, as a data URL. */
export const pngDataUrl = v.pipe(v.string(), v.maxLength(50_000_000), v.regex(/^data:image\/png;base64,[A-Za-z0-9+/]*={0,2}$/, "a PNG as a base64 data URL"));
/** A name of a gate, state or the layer input ("x"): letters only, never a path. */
export const gateName = v.pipe(v.string(), v.regex(/^[a-z]{1,16}$/));

/**
 * An array of numbers checked in one loop (valibot's per-item pipeline costs microseconds an item;
 * token ids and series can be millions long).
 */
export const numberArray = (what: string) =>
  v.custom<number[]>((x) => {
    if (!Array.isArray(x)) return false;
    for (let i = 0; i < x.length; i++) if (typeof x[i] !== "number") return false;
    return true;
  }, `${what} must be an array of numbers`);

/** Rows of numbers (a series with one or more features), checked in one loop. */
export const numberRows = (what: string) =>
  v.custom<number[][]>((x) => {
    if (!Array.isArray(x)) return false;
    for (let i = 0; i < x.length; i++) {
      const row = x[i];
      if (!Array.isArray(row)) return false;
      for (let j = 0; j < row.length; j++) if (typeof row[j] !== "number") return false;
    }
    return true;
  }, `${what} must be an array of rows of numbers`);

export type Checked<T> = { ok: true; message: T } | { ok: false; reason: string };

/** The longest wording of one problem (a value echoed back may be megabytes long), and the most problems listed. */
const ISSUE_CHARS = 200;
const MAX_ISSUES = 5;

/** A value in a problem's wording: short, and never the whole of a long string. */
function shown(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (x === null) return "null";
  return typeof x === "object" ? "an object" : typeof x === "number" || typeof x === "boolean" ? String(x) : `a ${typeof x}`;
}

/**
 * Valibot's issues as sentences naming their field (`whole` when it is the value itself): a field
 * that is missing, one the value must not have, or what was expected; the first few, each cut short.
 */
export function issuesText(issues: readonly v.BaseIssue<unknown>[], whole: string): string {
  const one = (i: v.BaseIssue<unknown>) => {
    const dot = v.getDotPath(i);
    const where = !dot ? whole : /^[A-Za-z][\w$]*(?:\.[\w$]+)*$/.test(dot) ? dot : `field ${JSON.stringify(dot).slice(0, 60)}`;
    const key = i.path?.[i.path.length - 1]?.key;
    let text: string;
    if (i.input === undefined) text = i.expected === JSON.stringify(key) ? "missing" : `missing (expected ${i.expected})`;
    else if (i.expected === "never") text = "not a field it may have";
    else if (!i.message.startsWith("Invalid ")) text = i.message; // the schema's own words
    else text = `expected ${i.expected ?? i.type.replace(/_/g, " ")}, got ${i.type.endsWith("_length") ? `length ${i.received}` : shown(i.input)}`;
    const s = `${where}: ${text}`;
    if (s.length <= ISSUE_CHARS) return s;
    const cut = /[\ud800-\udbff]/.test(s[ISSUE_CHARS - 2]) ? ISSUE_CHARS - 2 : ISSUE_CHARS - 1;
    return `${s.slice(0, cut)}…`;
  };
  const listed = issues.slice(0, MAX_ISSUES).map(one).join("; ");
  return issues.length > MAX_ISSUES ? `${listed}; and ${issues.length - MAX_ISSUES} more` : listed;
}

/** A validator for untrusted input: the typed value, or every problem as a sentence with its path. */
export function validator<S extends v.GenericSchema>(schema: S): (raw: unknown) => Checked<v.InferOutput<S>> {
  return (raw) => {
    const r = v.safeParse(schema, raw);
    if (r.success) return { ok: true, message: r.output };
    return { ok: false, reason: issuesText(r.issues, "message") };
  };
}

/** The reply a panel gets when what it asked for failed (every feature's host-to-panel union has it). */
export interface ErrorReply {
  type: "error";
  requestId?: number;
  message: string;
  /** The engine's error code where it had one (protocol/errors.ts): "CANCELLED" is a cancel, not a failure. */
  code?: string;
}

/**
 * What a panel keeps in its webview state so the host can show it again after a window reload: a
 * range of a document and the model. It comes back from the webview, so it is checked like a message.
 */
export const rangeRestore = {
  uri: v.pipe(v.string(), v.maxLength(4096)),
  start: nonNegInt,
  end: nonNegInt,
};
