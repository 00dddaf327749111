// Messages and engine parameters made from the protocol's own valibot schemas: a valid value of a
// schema, the same value broken one way (a field dropped, of the wrong type, out of range, an extra
// or poisonous key), and an independent reading of what the schema is meant to accept, to hold the
// validators to: every value it accepts and only those.
import type * as v from "valibot";
import type { Rng } from "./rng";
import { EDGE_NUMBERS, HOSTILE_KEYS, hostileObject, hostileString, hostileValue, ownKeys } from "./values";

/** The parts of a valibot schema this reads (as the library lays them out). */
interface Node {
  type: string;
  entries?: Record<string, Node>;
  options?: readonly (Node | string | number)[];
  key?: string;
  literal?: unknown;
  wrapped?: Node;
  item?: Node;
  pipe?: readonly { kind: string; type: string; requirement?: unknown }[];
}

const node = (s: v.GenericSchema | Node): Node => s as unknown as Node;

function rule(n: Node, type: string): unknown {
  return n.pipe?.find((a) => a.kind === "validation" && a.type === type)?.requirement;
}

/** Strings the regexes of the protocol accept: gate names, PNG data URLs. */
const REGEX_SAMPLES = ["forget", "input", "x", "h", "abcdefghijklmnop", "data:image/png;base64,", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==", "data:image/png;base64,AAAA"];

/** Values the generator uses for fields it has a better idea about than the schema (models, handles, text). */
export type Hints = Partial<Record<string, (rng: Rng) => unknown>>;

/** A value `schema` accepts (what a well-behaved panel or caller sends). */
export function validValue(schema: v.GenericSchema | Node, rng: Rng, hints: Hints = {}, key = ""): unknown {
  const n = node(schema);
  const hint = hints[key];
  if (hint) return hint(rng);
  switch (n.type) {
    case "strict_object":
    case "object": {
      const entries: [string, unknown][] = [];
      for (const [k, e] of Object.entries(n.entries!)) {
        if (e.type === "optional" && rng.chance(0.4)) continue;
        entries.push([k, validValue(e, rng, hints, k)]);
      }
      return Object.fromEntries(entries);
    }
    case "variant":
    case "union":
      return validValue(rng.pick(n.options as Node[]), rng, hints, key);
    case "optional":
      return validValue(n.wrapped!, rng, hints, key);
    case "literal":
      return n.literal;
    case "picklist":
      return rng.pick(n.options as (string | number)[]);
    case "boolean":
      return rng.chance(0.5);
    case "number": {
      const min = (rule(n, "min_value") as number | undefined) ?? -1e6;
      const max = (rule(n, "max_value") as number | undefined) ?? 1e6;
      const integer = n.pipe?.some((a) => a.type === "integer");
      const x = rng.pick([min, max, min + (max - min) * rng.float(), Math.max(min, Math.min(max, rng.range(0, 8)))]);
      return integer ? Math.max(Math.ceil(min), Math.min(Math.floor(max), Math.round(x))) : x;
    }
    case "string": {
      const regex = rule(n, "regex") as RegExp | undefined;
      const maxLen = (rule(n, "max_length") as number | undefined) ?? 64;
      const minLen = (rule(n, "min_length") as number | undefined) ?? 0;
      if (regex) return rng.pick(REGEX_SAMPLES.filter((s) => regex.test(s) && s.length <= maxLen && s.length >= minLen));
      for (;;) {
        const s = hostileString(rng, Math.min(maxLen, 64));
        if (s.length >= minLen && s.length <= maxLen) return s;
      }
    }
    case "array": {
      const minLen = (rule(n, "min_length") as number | undefined) ?? 0;
      const maxLen = Math.min((rule(n, "max_length") as number | undefined) ?? 8, minLen + 8);
      return Array.from({ length: rng.range(minLen, maxLen) }, () => validValue(n.item!, rng, hints));
    }
    case "custom":
      // numberArray / numberRows: any numbers, NaN and infinities included (they are numbers)
      return key === "values" ? Array.from({ length: rng.size(40) }, () => [rng.chance(0.9) ? rng.float() * 10 : rng.pick(EDGE_NUMBERS)]) : Array.from({ length: rng.size(12) }, () => (rng.chance(0.8) ? rng.int(5000) : rng.pick(EDGE_NUMBERS)));
    default:
      throw new Error(`schemaGen: no generator for valibot's ${n.type}`);
  }
}

/**
 * Whether `value` is what `schema` means to accept, read independently of valibot: an object's own
 * keys (a strict object has no others), each of the right type, numbers not NaN, integers whole,
 * bounds and lengths kept, regexes matched.
 */
export function fits(schema: v.GenericSchema | Node, value: unknown): boolean {
  const n = node(schema);
  switch (n.type) {
    case "strict_object":
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
      const o = value as Record<string, unknown>;
      for (const [k, e] of Object.entries(n.entries!)) {
        const has = Object.hasOwn(o, k) && o[k] !== undefined;
        if (!has) {
          if (e.type === "optional") continue;
          return false;
        }
        if (!fits(e, o[k])) return false;
      }
      return n.type === "object" || Object.keys(o).every((k) => Object.hasOwn(n.entries!, k));
    }
    case "variant": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
      const tag = (value as Record<string, unknown>)[n.key!];
      const option = (n.options as Node[]).find((o) => o.entries![n.key!].literal === tag);
      return option !== undefined && fits(option, value);
    }
    case "union":
      return (n.options as Node[]).some((o) => fits(o, value));
    case "optional":
      return value === undefined || fits(n.wrapped!, value);
    case "literal":
      return value === n.literal;
    case "picklist":
      return (n.options as unknown[]).includes(value);
    case "boolean":
      return typeof value === "boolean";
    case "number": {
      if (typeof value !== "number" || Number.isNaN(value)) return false;
      const min = rule(n, "min_value") as number | undefined;
      const max = rule(n, "max_value") as number | undefined;
      if (n.pipe?.some((a) => a.type === "integer") && !Number.isInteger(value)) return false;
      return (min === undefined || value >= min) && (max === undefined || value <= max);
    }
    case "string": {
      if (typeof value !== "string") return false;
      const regex = rule(n, "regex") as RegExp | undefined;
      const maxLen = rule(n, "max_length") as number | undefined;
      const minLen = rule(n, "min_length") as number | undefined;
      return (maxLen === undefined || value.length <= maxLen) && (minLen === undefined || value.length >= minLen) && (regex === undefined || regex.test(value));
    }
    case "array": {
      if (!Array.isArray(value)) return false;
      const maxLen = rule(n, "max_length") as number | undefined;
      const minLen = rule(n, "min_length") as number | undefined;
      return (maxLen === undefined || value.length <= maxLen) && (minLen === undefined || value.length >= minLen) && Array.from(value).every((x) => fits(n.item!, x)); // holes are missing items
    }
    default:
      throw new Error(`schemaGen: no reading of valibot's ${n.type}`);
  }
}

/** Whether the schema can be read by `fits` all the way down (custom checks cannot). */
export function readable(schema: v.GenericSchema | Node): boolean {
  const n = node(schema);
  if (n.type === "custom") return false;
  if (n.entries) return Object.values(n.entries).every(readable);
  if (n.type === "variant" || n.type === "union") return (n.options as Node[]).every(readable);
  if (n.wrapped) return readable(n.wrapped);
  if (n.item) return readable(n.item);
  return true;
}

/** A value of the wrong kind for `n` (a number for a string, an object for a number, NaN ...). */
function wrongType(n: Node, rng: Rng): unknown {
  const pool: unknown[] = [null, true, "1", "", [], {}, [1], NaN, hostileObject(rng)];
  if (n.type !== "number") pool.push(rng.pick(EDGE_NUMBERS));
  if (n.type !== "string") pool.push(hostileString(rng, 16));
  return rng.pick(pool);
}

/** A number at or past the edges of a numeric field: huge, negative, fractional, infinite, NaN. */
function edgeNumber(n: Node, rng: Rng): number {
  const min = rule(n, "min_value") as number | undefined;
  const max = rule(n, "max_value") as number | undefined;
  return rng.pick([...EDGE_NUMBERS, ...(min !== undefined ? [min - 1, min - 0.5, min - 1e-9] : []), ...(max !== undefined ? [max + 1, max + 0.5, max * 10] : [])]);
}

/** `value` (an object made by validValue) broken one way, and how. */
export function mutate(schema: v.GenericSchema | Node, value: unknown, rng: Rng): { value: unknown; how: string } {
  if (typeof value !== "object" || value === null) return { value: hostileValue(rng), how: "replaced by a hostile value" };
  const variant = node(schema);
  const tag = (value as Record<string, unknown>)[variant.key ?? "type"];
  const n = variant.type === "variant" ? ((variant.options as Node[]).find((o) => o.entries![variant.key!].literal === tag) ?? variant) : variant;
  const keys = Object.keys(n.entries ?? {});
  if (keys.length === 0) return { value: rng.chance(0.5) ? hostileValue(rng) : ownKeys([...Object.entries(value), [rng.pick(HOSTILE_KEYS), hostileValue(rng, 1)]]), how: "an extra key or a hostile value" };
  const o = { ...(value as Record<string, unknown>) };
  const k = rng.pick(keys);
  const entries = n.entries!;
  const e = entries[k].type === "optional" ? entries[k].wrapped! : entries[k];
  switch (rng.int(9)) {
    case 0:
      delete o[k];
      return { value: o, how: `without ${k}` };
    case 1:
      o[k] = wrongType(e, rng);
      return { value: o, how: `${k} of the wrong type` };
    case 2:
      if (e.type === "number") {
        o[k] = edgeNumber(e, rng);
        return { value: o, how: `${k} at an edge` };
      }
      o[k] = hostileValue(rng);
      return { value: o, how: `${k} hostile` };
    case 3: {
      const extra = rng.pick(HOSTILE_KEYS);
      return { value: ownKeys([...Object.entries(o), [extra, hostileValue(rng, 1)]]), how: `with an extra key ${JSON.stringify(extra)}` };
    }
    case 4:
      // poison through the prototype: an own "__proto__" key holding an object with the fields
      return { value: ownKeys([...Object.entries(o).filter(([x]) => x !== k), ["__proto__", { [k]: o[k], polluted: true }]]), how: `${k} moved into an own "__proto__" key` };
    case 5:
      o.type = rng.chance(0.5) ? hostileString(rng, 20) : wrongType(entries.type ?? n, rng);
      return { value: o, how: "type replaced" };
    case 6:
      return { value: rng.pick([null, undefined, [], "ready", 0, [o], JSON.stringify(o)]), how: "not an object" };
    case 7:
      if (e.type === "string") {
        o[k] = rng.pick(["", "x".repeat(rng.pick([100, 5000, 60_000])), "\ud800", "data:image/png;base64,!!", "../../etc/passwd", "FORGET", "forget1"]);
        return { value: o, how: `${k} an odd string` };
      }
      o[k] = rng.pick([Object.create(null), new Array(3), [undefined], { valueOf: 1 }]);
      return { value: o, how: `${k} an odd object` };
    default: {
      const n2 = rng.range(1, 3);
      let cur: unknown = o;
      const hows: string[] = [];
      for (let i = 0; i < n2; i++) {
        const m = mutate(schema, cur, rng);
        cur = m.value;
        hows.push(m.how);
      }
      return { value: cur, how: hows.join(", ") };
    }
  }
}
