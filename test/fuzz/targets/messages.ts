// Every webview message type of every panel (the parse…Message validators), what a panel saves for
// a window reload (the …Restore schemas), and every engine method's parameters (checkParams): valid
// messages, the same broken one way (a field dropped or of the wrong type, numbers at the edges,
// extra keys, "__proto__" and "constructor"), and hostile values. Each validator must accept exactly
// what its schema means (read independently in schemaGen.ts), never throw, hand back no more than
// the schema names, leave Object.prototype alone, and say why it refused in a sentence.
import type * as v from "valibot";
import { errorProblem, sentenceProblem } from "../bars";
import { checkParams, paramSchemas, type Method } from "../../../protocol/engine";
import { CompareRestore, ComparePanelMessage, parseCompareMessage } from "../../../protocol/compare";
import { EmbeddingsPanelMessage, EmbeddingsRestore, parseEmbeddingsMessage } from "../../../protocol/embeddings";
import { GatesPanelMessage, GatesRestore, parseGatesMessage } from "../../../protocol/gates";
import { InspectorPanelMessage, InspectorRestore, parseInspectorMessage } from "../../../protocol/inspector";
import { validator, type Checked } from "../../../protocol/schema";
import type { Rng } from "../rng";
import { fits, mutate, readable, validValue } from "../schemaGen";
import { CaseLog, type InProcessTarget, type Verdict } from "../target";
import { describe, hostileValue } from "../values";

interface Validated {
  name: string;
  schema: v.GenericSchema;
  parse: (raw: unknown) => Checked<unknown>;
}

/** The panels' validators as the host runs them, and the restore schemas as the serializers check them. */
export const PANEL_VALIDATORS: readonly Validated[] = [
  { name: "inspector message", schema: InspectorPanelMessage, parse: parseInspectorMessage },
  { name: "gates message", schema: GatesPanelMessage, parse: parseGatesMessage },
  { name: "embeddings message", schema: EmbeddingsPanelMessage, parse: parseEmbeddingsMessage },
  { name: "compare message", schema: ComparePanelMessage, parse: parseCompareMessage },
  { name: "inspector restore", schema: InspectorRestore, parse: validator(InspectorRestore) },
  { name: "gates restore", schema: GatesRestore, parse: validator(GatesRestore) },
  { name: "embeddings restore", schema: EmbeddingsRestore, parse: validator(EmbeddingsRestore) },
  { name: "compare restore", schema: CompareRestore, parse: validator(CompareRestore) },
];

const METHODS = Object.keys(paramSchemas) as Method[];
const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).length;

/** The keys an accepted value may have: the schema's entries (for a variant, the chosen option's). */
function allowedKeys(schema: v.GenericSchema, out: Record<string, unknown>): Set<string> | undefined {
  const n = schema as unknown as { type: string; key?: string; entries?: Record<string, unknown>; options?: { entries: Record<string, { literal?: unknown }> }[] };
  if (n.entries) return new Set(Object.keys(n.entries));
  if (n.type === "variant") {
    const o = n.options!.find((x) => x.entries[n.key!].literal === out[n.key!]);
    return o ? new Set(Object.keys(o.entries)) : undefined;
  }
  return undefined;
}

function checkAccepted(log: CaseLog, schema: v.GenericSchema, out: unknown): void {
  log.expect(typeof out === "object" && out !== null && Object.getPrototypeOf(out) === Object.prototype, () => `accepted a value that is not a plain object: ${describe(out)}`);
  if (typeof out !== "object" || out === null) return;
  const o = out as Record<string, unknown>;
  const allowed = allowedKeys(schema, o);
  if (allowed) for (const k of Object.keys(o)) log.expect(allowed.has(k), () => `handed back a key the schema does not name: ${JSON.stringify(k)}`);
  log.expect(!Object.hasOwn(o, "polluted") && (o as { polluted?: unknown }).polluted === undefined, "handed back a value that reads a field from a poisoned prototype");
  if (readable(schema)) log.expect(fits(schema, out), () => `handed back a value its own schema does not accept: ${describe(out)}`);
}

function prototypeIntact(log: CaseLog): void {
  const polluted = ({} as { polluted?: unknown }).polluted !== undefined || Object.getOwnPropertyNames(Object.prototype).length !== PROTO_KEYS;
  log.expect(!polluted, "Object.prototype was changed");
}

/** A message for `schema`: valid (a third of the time), broken one way or several, or hostile outright. */
function messageFor(schema: v.GenericSchema, rng: Rng, hints = {}): { value: unknown; how: string } {
  const r = rng.float();
  if (r < 0.05) return { value: hostileValue(rng, 3), how: "a hostile value" };
  const valid = validValue(schema, rng, hints);
  if (r < 0.35) return { value: valid, how: "valid" };
  return mutate(schema, valid, rng);
}

function panelCase(rng: Rng, note: (input: string) => void): Verdict {
  const target = rng.pick(PANEL_VALIDATORS);
  const { value, how } = messageFor(target.schema, rng);
  const log = new CaseLog(`${target.name}, ${how}: ${describe(value)}`, note);
  let r: Checked<unknown>;
  try {
    r = target.parse(value);
  } catch (e) {
    log.add("untyped", `the validator threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of refusing`);
    return log.verdict();
  }
  const meant = fits(target.schema, value);
  if (r.ok) {
    checkAccepted(log, target.schema, r.message);
    log.expect(meant, "accepted a value its schema is not meant to accept");
  } else {
    log.outcome = "refused";
    log.expect(!meant, () => `refused a value its schema is meant to accept (${r.ok ? "" : r.reason.slice(0, 300)})`);
    const s = sentenceProblem(r.reason);
    if (s) log.add("message", s);
  }
  prototypeIntact(log);
  return log.verdict();
}

function paramsCase(rng: Rng, note: (input: string) => void): Verdict {
  const method: string = rng.chance(0.03) ? rng.pick(["", "__proto__", "constructor", "toString", "hasOwnProperty", "inspect ", "INSPECT"]) : rng.pick(METHODS);
  const schema = Object.hasOwn(paramSchemas, method) ? (paramSchemas as Record<string, v.GenericSchema>)[method] : undefined;
  const { value, how } = schema ? messageFor(schema, rng, { model: (g: Rng) => g.pick(["/nonexistent/model", "samples/models/tiny-gpt", "x"]) }) : { value: {}, how: "unknown method" };
  const log = new CaseLog(`checkParams(${JSON.stringify(method)}), ${how}: ${describe(value)}`, note);
  try {
    const out = checkParams(method as Method, value);
    if (schema) checkAccepted(log, schema, out);
    else log.add("wrong", `accepted the unknown method ${JSON.stringify(method)}`);
    if (schema && readable(schema)) log.expect(fits(schema, value), "accepted parameters the method's schema is not meant to accept");
  } catch (e) {
    log.outcome = "refused";
    const p = errorProblem(e);
    if (p) log.add(p.kind, p.problem);
    else log.expect((e as { code?: string }).code === "BAD_INPUT", () => `refused with ${(e as { code?: string }).code}, not BAD_INPUT`);
    if (schema && readable(schema)) log.expect(!fits(schema, value), () => `refused parameters the method's schema is meant to accept: ${(e as Error).message.slice(0, 300)}`);
  }
  prototypeIntact(log);
  return log.verdict();
}

export const messagesTarget: InProcessTarget = {
  name: "messages",
  where: "worker",
  deadlineMs: 5_000,
  fixed: 0,
  run: (rng, _index, note) => (rng.chance(0.7) ? panelCase(rng, note) : paramsCase(rng, note)),
};
