// Text that a user might select and read as numbers, and text that only looks like it: columns of
// numbers with NaN, infinities, 1e308 and friends, tables with any separator (exotic spaces
// included), headers with hostile names, mixed and ragged columns, ten thousand columns, array
// literals flat, nested, deep and broken, very long lines, random bytes.
import type { Rng } from "./rng";
import { EXOTIC_SPACES, hostileString, randomUnits } from "./values";

/** Cells that are numbers, nearly numbers, or meant as missing values. */
const ODD_CELLS = ["NaN", "nan", "NAN", "Inf", "inf", "Infinity", "-Infinity", "+Infinity", "1e308", "-1e308", "1e309", "-1e309", "1.7976931348623157e308", "5e-324", "1e-400", "-0", "0", "", " ", "0x1F", "1_000", "1,5", "1.000,5", "١٢٣", "１２", "+.5", "5.", ".", "-", "+", "e5", "1e", "1e+", "−5", "1 000", "1'000", "$5", "5%", "null", "None", "NA", "N/A", "?", "true", "1/2", "2020-01-31", "12:30", "1e99999999999", "9".repeat(400), `0.${"0".repeat(400)}1`];

const SEPARATORS = [",", ";", "\t", "|", " ", "  ", ", ", " ; ", ...EXOTIC_SPACES];
const NEWLINES = ["\n", "\n", "\n", "\r\n", "\r", "\u2028", "\u0085"];

/** A number as written; with `odd`, now and then a cell that is not quite one. */
function number(rng: Rng, odd = true): string {
  return rng.weighted<() => string>([
    [8, () => (rng.float() * 200 - 100).toFixed(rng.int(6))],
    [3, () => String(rng.range(-1000, 1000))],
    [1, () => (rng.float() * 10 ** rng.range(-30, 30)).toExponential(rng.int(8))],
    [odd ? 1 : 0, () => rng.pick(ODD_CELLS)],
  ])();
}

function headerName(rng: Rng): string {
  return rng.pick(["time", "value", "date", "t", "x", "y", "temp", "__proto__", "constructor", "toString", "", " ", '"quoted, name"', '"', "ünïcödé", "1", "NaN", hostileString(rng, 12)]);
}

export interface SeriesText {
  text: string;
  how: string;
}

/** A selection to read as a series, and what kind it is. */
export function seriesText(rng: Rng): SeriesText {
  const nl = rng.chance(0.85) ? "\n" : rng.pick(NEWLINES);
  return rng.weighted<() => SeriesText>([
    [4, () => {
      const n = rng.size(3000);
      const clean = rng.chance(0.5);
      const lines = Array.from({ length: n }, () => (clean || rng.chance(0.97) ? number(rng, !clean) : rng.pick(ODD_CELLS)));
      return { text: lines.join(nl) + (rng.chance(0.3) ? nl : ""), how: `${n} ${clean ? "clean " : ""}numbers one per line` };
    }],
    [4, () => {
      const sep = rng.pick(SEPARATORS);
      const cols = rng.chance(0.05) ? 10_000 : rng.range(1, 8);
      const rows = cols > 100 ? rng.range(1, 20) : rng.size(2000);
      const clean = rng.chance(0.5);
      const kinds = Array.from({ length: cols }, () => rng.weighted([[6, "number"], [clean ? 0 : 1, "text"], [1, "date"], [1, "index"], [clean ? 0 : 1, "mixed"]] as const));
      const cell = (c: number, r: number): string => {
        switch (kinds[c]) {
          case "text":
            return rng.pick(["a", "b", "foo", "\"x, y\"", "\"a\"\"b\"", "\"multi\nline\"", hostileString(rng, 10)]);
          case "date":
            return `2020-${String(1 + (r % 12)).padStart(2, "0")}-01`;
          case "index":
            return String(r);
          case "mixed":
            return rng.chance(0.5) ? number(rng) : rng.pick(["abc", "", "NaN", "?"]);
          default:
            return number(rng, !clean);
        }
      };
      const lines: string[] = [];
      if (rng.chance(0.6)) lines.push(Array.from({ length: cols }, () => headerName(rng)).join(sep));
      for (let r = 0; r < rows; r++) {
        const width = !clean && rng.chance(0.03) ? rng.range(0, cols + 2) : cols; // ragged now and then
        lines.push(Array.from({ length: width }, (_, c) => cell(Math.min(c, cols - 1), r)).join(sep));
      }
      if (!clean && rng.chance(0.1)) lines.splice(rng.int(lines.length + 1), 0, "");
      return { text: (rng.chance(0.05) ? "\ufeff" : "") + lines.join(nl), how: `a ${clean ? "clean " : ""}table of ${rows} rows x ${cols} columns separated by ${JSON.stringify(sep)}` };
    }],
    [3, () => {
      const n = rng.size(2000);
      const nested = rng.chance(0.3);
      const items = Array.from({ length: n }, () => (nested ? `[${Array.from({ length: rng.range(1, 3) }, () => number(rng)).join(", ")}]` : rng.chance(0.95) ? number(rng) : rng.pick(["NaN", "Infinity", "None", "null", "undefined", "nan", "-inf", "float('nan')", "np.nan", "1,", "[", "]", "'1'", "\"2\"", "/* c */ 3", "// x\n4"])));
      let body = `[${items.join(rng.pick([", ", ",", ",\n  ", " ", "; "]))}${rng.chance(0.1) ? "," : ""}]`;
      if (rng.chance(0.1)) body = body.slice(0, rng.int(body.length)); // cut off
      const wrap = rng.pick(["", "const xs = ", "xs = np.array(", "let y: number[] = ", "data = torch.tensor(", "x="]);
      return { text: wrap + body + (wrap.endsWith("(") ? ")" : "") + (rng.chance(0.3) ? ";" : ""), how: `an array literal of ${n}${nested ? " rows" : ""}` };
    }],
    [1, () => {
      const depth = rng.pick([100, 1000, 10_000, 100_000]);
      return { text: `${"[".repeat(depth)}1${"]".repeat(rng.chance(0.8) ? depth : rng.int(depth))}`, how: `an array nested ${depth} deep` };
    }],
    [1, () => {
      const n = rng.pick([10_000, 100_000, 300_000]);
      const sep = rng.pick([",", " ", ";", "\t"]);
      return { text: Array.from({ length: n }, () => number(rng)).join(sep), how: `${n} numbers on one line separated by ${JSON.stringify(sep)}` };
    }],
    [1, () => {
      const digits = rng.pick([1000, 100_000, 1_000_000]);
      return { text: rng.pick(["", "-", "0."]) + "7".repeat(digits) + rng.pick(["", "e5", "e-999999", "\n1", "x", "\udfff7", "..5", "e", "7,"]) + rng.pick(["", "\n1\n2"]), how: `one number of ${digits} digits` };
    }],
    [2, () => {
      const n = rng.size(4096);
      return { text: rng.chance(0.5) ? randomUnits(rng, n) : Array.from({ length: n }, () => String.fromCharCode(rng.int(256))).join(""), how: `${n} random characters` };
    }],
    [1, () => ({ text: rng.pick(["", " ", "\n", "\n\n\n", "1", "-", ".", "\ud800", "\udc00", "1\ud8002", "\ufeff", "\u2028", "[]", "[[]]", "[,]", "{}", ",", ";;;", "\t\t", "1\n\n2", "a,b\n", "a,b\n1,2\n3", "0\r1\r2\r"]), how: "a tiny selection" })],
    [1, () => {
      const n = rng.size(500);
      const lines = Array.from({ length: n }, () => Array.from({ length: rng.range(1, 6) }, () => number(rng)).join(rng.pick(EXOTIC_SPACES)));
      return { text: lines.join(nl), how: `${n} lines of numbers separated by exotic spaces` };
    }],
  ])();
}

/** The ten-megabyte selections every campaign tries once (numbers one per line; a one-line table). */
export function hugeSeriesText(which: number): SeriesText {
  if (which === 0) {
    const line = "123.456\n";
    return { text: line.repeat(Math.ceil(10e6 / line.length)), how: "10 MB: 1.25 million numbers one per line" };
  }
  const cell = "1.5,";
  return { text: cell.repeat(Math.ceil(10e6 / cell.length)), how: "10 MB: 2.5 million numbers on one line" };
}
