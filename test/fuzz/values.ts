// Hostile values the targets build their inputs from: numbers at the edges, strings with what breaks
// parsers (lone surrogates, control characters, exotic spaces, prototype keys), JSON of the wrong
// shape, and byte mutations of files (bit flips, truncation, splices).
import type { Rng } from "./rng";

/** Numbers that break arithmetic, sizes and integer checks. */
export const EDGE_NUMBERS: readonly number[] = [
  0, -0, 1, -1, 2, 3, 7, 0.5, -0.5, 1.5, 1e-320, 5e-324, 1e308, -1e308, 1.7976931348623157e308, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER,
  2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53, 1e9, 1e12, 65535, 65536, 4095, 4096, 4097, 1_000_000, 1_000_001, NaN, Infinity, -Infinity,
];

/** Keys that poison objects built from untrusted JSON, and keys that look like ours. */
export const HOSTILE_KEYS: readonly string[] = ["__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty", "__defineGetter__", "", " ", "type", "then", "length", "0", "-1", "NaN", "\u0000", "é", "💥"];

/** Spaces and breaks a tokenizer or a number reader may not expect. */
export const EXOTIC_SPACES: readonly string[] = ["\u00a0", "\u2002", "\u2003", "\u2009", "\u200a", "\u200b", "\u202f", "\u205f", "\u3000", "\ufeff", "\u2028", "\u2029", "\u0085", "\u000b", "\u000c", "\r", "\t"];

/** Characters that break text handling: lone surrogates, controls, combining marks, wide and right-to-left text. */
const NASTY_CHARS: readonly string[] = ["\ud800", "\udfff", "\udc00\ud800", "\u0000", "\u0001", "\u001b[31m", "\u007f", "\ufffd", "\ufffe", "\uffff", "\u0301", "\u200d", "\u202e", "😀", "👩‍👩‍👧", "𝟘", "ﷺ", "ǅ", "ß", "İ", "\\", '"', "'", "`", "${x}", "%s", "%n", "{{", "</script>", "\r\n", "\n", "\t", " ", ",", ";", "|", "[", "]", "{", "}", "e", "E", "+", "-", ".", "0", "9"];

/** A random BMP-or-astral code unit sequence of `n` UTF-16 units, lone surrogates allowed. */
export function randomUnits(rng: Rng, n: number): string {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(rng.chance(0.7) ? rng.range(0x20, 0x7e) : rng.int(0x10000));
  let s = "";
  for (let i = 0; i < out.length; i += 8192) s += String.fromCharCode(...out.slice(i, i + 8192));
  return s;
}

/** A string that is likely to upset something: short, long, with surrogates, controls, spaces. */
export function hostileString(rng: Rng, maxLen = 64): string {
  switch (rng.int(8)) {
    case 0:
      return "";
    case 1:
      return rng.pick(NASTY_CHARS);
    case 2:
      return rng.pick(HOSTILE_KEYS);
    case 3:
      return randomUnits(rng, rng.size(maxLen));
    case 4:
      return Array.from({ length: rng.size(maxLen) }, () => rng.pick(NASTY_CHARS)).join("");
    case 5:
      return rng.pick(["undefined", "null", "NaN", "Infinity", "-Infinity", "1e999", "0x10", "1_000", "true", "[object Object]", "../../etc/passwd", "/dev/zero", "C:\\Windows", "~/", "file:///etc/passwd"]);
    case 6:
      return String(rng.pick(EDGE_NUMBERS));
    default:
      return "x".repeat(rng.size(maxLen));
  }
}

/** Any JSON-ish value: numbers at the edges, hostile strings, arrays and objects (hostile keys), nested to `depth`. */
export function hostileValue(rng: Rng, depth = 2): unknown {
  switch (rng.int(depth > 0 ? 9 : 6)) {
    case 0:
      return rng.pick(EDGE_NUMBERS);
    case 1:
      return hostileString(rng);
    case 2:
      return rng.pick([null, undefined, true, false]);
    case 3:
      return rng.range(-3, 1000);
    case 4:
      return (rng.float() - 0.5) * 10 ** rng.range(-5, 12);
    case 5:
      return rng.pick([{}, [], "", 0, -1]);
    case 6:
      return Array.from({ length: rng.size(8) }, () => hostileValue(rng, depth - 1));
    case 7:
      return hostileObject(rng, depth - 1);
    default:
      return deepNest(rng.size(200));
  }
}

/** An object with random (often hostile) own keys, made with JSON.parse so "__proto__" is an own key. */
export function hostileObject(rng: Rng, depth = 1): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (let i = rng.size(6); i > 0; i--) entries.push([rng.chance(0.5) ? rng.pick(HOSTILE_KEYS) : hostileString(rng, 12), hostileValue(rng, depth)]);
  return ownKeys(entries);
}

/** An object whose keys are all own properties, "__proto__" included (as JSON.parse makes them). */
export function ownKeys(entries: readonly [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

/** [[[...]]] nested `n` deep. */
export function deepNest(n: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

// ---- bytes ----

/** A copy of `bytes` damaged one of several ways, and how. */
export function mutateBytes(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(bytes);
  const n = b.length;
  switch (rng.int(7)) {
    case 0: {
      const at = rng.int(n + 1);
      return { bytes: b.subarray(0, at), how: `truncated to ${at} of ${n} bytes` };
    }
    case 1: {
      const flips = rng.range(1, 32);
      for (let i = 0; i < flips; i++) b[rng.int(n)] ^= 1 << rng.int(8);
      return { bytes: b, how: `${flips} bits flipped` };
    }
    case 2: {
      // flips in the first bytes, where formats keep their headers and lengths
      const flips = rng.range(1, 8);
      const span = Math.min(n, 256);
      for (let i = 0; i < flips; i++) b[rng.int(span)] ^= 1 << rng.int(8);
      return { bytes: b, how: `${flips} bits flipped in the first ${span} bytes` };
    }
    case 3: {
      const at = rng.int(n);
      const len = rng.size(4096);
      for (let i = at; i < Math.min(n, at + len); i++) b[i] = rng.pick([0, 0xff, rng.int(256)]);
      return { bytes: b, how: `${len} bytes at ${at} overwritten` };
    }
    case 4: {
      const at = rng.int(n);
      const len = rng.size(n - at);
      return { bytes: new Uint8Array([...b.subarray(0, at), ...b.subarray(at + len)]), how: `${len} bytes cut at ${at}` };
    }
    case 5: {
      const junk = new Uint8Array(rng.size(65536));
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      return { bytes: junk, how: `replaced by ${junk.length} random bytes` };
    }
    default: {
      const at = rng.int(n);
      const len = rng.size(1024);
      const dup = b.subarray(rng.int(n), rng.int(n) + len);
      const out = new Uint8Array(n + dup.length);
      out.set(b.subarray(0, at), 0);
      out.set(dup, at);
      out.set(b.subarray(at), at + dup.length);
      return { bytes: out, how: `${dup.length} bytes spliced in at ${at}` };
    }
  }
}

/** A short description of a value for a report (never the whole of a long string). */
export function describe(v: unknown, max = 160): string {
  let s: string;
  try {
    s = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x === undefined ? "<undefined>" : typeof x === "string" && x.length > 40 ? `${x.slice(0, 40)}…(${x.length})` : x)) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}
