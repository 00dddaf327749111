// Array literals: JSON, JavaScript and Python, flat (one series) or nested one level (rows of
// features), optionally assigned (`const xs = [...]`, `xs = [...]`) or wrapped in a call
// (`np.array([...])`). Comments and line breaks may sit between the elements.
import type { ErrorList } from "./seriesErrors";
import { Cells, Rows, columnName, numberedNames, type Table } from "./table";
import * as textLines from "./textLines";
import type { Lines } from "./textLines";

// Called per character: bound once (see textLines.ts).
const { isSpaceCode } = textLines;

// Optional `export const name: type =` / `let` / `var` / Python `name =`, optional call wrapper
// (`np.array(`, `new Float64Array(`), then the opening bracket.
const ARRAY_START_RE = /(?:(?:export\s+)?(?:const|let|var)\s+)?(?:([A-Za-z_$][\w$]*)\s*(?::[^=\n]*)?=\s*)?((?:new\s+)?[A-Za-z_$][\w$.]*\s*\(\s*)?\[/y;

/** Whether the text from `at` (the first non-space character) starts like an array literal. */
export function startsArray(text: string, at: number): boolean {
  ARRAY_START_RE.lastIndex = at;
  return ARRAY_START_RE.test(text);
}

/**
 * Reads the selection as an array literal when it starts like one (after its leading blank lines
 * and spaces); undefined when it does not, so another reader takes it.
 */
export function readArrayLiteral(lines: Lines, newList: () => ErrorList): Table | ErrorList | undefined {
  const { text, starts, first } = lines;
  let firstChar = starts[first];
  while (isSpaceCode(text.charCodeAt(firstChar))) firstChar++;
  ARRAY_START_RE.lastIndex = firstChar;
  const arrayStart = ARRAY_START_RE.exec(text);
  if (!arrayStart) return undefined;
  return scanArray(lines, ARRAY_START_RE.lastIndex - 1, arrayStart[1], arrayStart[2] !== undefined, newList());
}

function scanArray(lines: Lines, open: number, varName: string | undefined, wrapped: boolean, errors: ErrorList): Table | ErrorList {
  const { text, starts, first } = lines;
  const n = text.length;
  let line = first;
  while (line + 1 < starts.length && starts[line + 1] <= open) line++;
  const cells = new Cells(text);
  const rows = new Rows();
  let i = open + 1;
  let depth = 1;
  let top: "number" | "array" | undefined;
  let prev: "open" | "comma" | "value" = "open";
  let rowFirst = 0;
  let rowStart = 0;
  let rowLine = 0;
  let closed = false;
  const openLine = line;
  const snippet = (at: number) => text.slice(at, at + 20).split("\n")[0];
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      i++;
    } else if (isSpaceCode(c)) {
      i++;
    } else if (c === 35 || (c === 47 && text.charCodeAt(i + 1) === 47)) {
      // # or // comment
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? n : nl;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      // /* comment */
      const close = text.indexOf("*/", i + 2);
      const stop = close < 0 ? n : close + 2;
      for (let k = i; k < stop; k++) if (text.charCodeAt(k) === 10) line++;
      i = stop;
    } else if (c === 91) {
      // [
      if (depth >= 2) {
        errors.add(line, snippet(i), "Arrays nested deeper than two levels are not accepted; use rows of numbers: [[1, 2], [3, 4]].");
        return errors;
      }
      if (top === "number") {
        errors.add(line, snippet(i), "Numbers and nested arrays are mixed in one array; use either numbers or rows of numbers.");
        return errors;
      }
      if (prev === "value") errors.add(line, snippet(i), "A comma is missing before this row.");
      top = "array";
      depth = 2;
      rowFirst = cells.length;
      rowStart = i;
      rowLine = line;
      prev = "open";
      i++;
    } else if (c === 93) {
      // ]
      i++;
      if (depth === 1) {
        closed = true;
        break;
      }
      if (cells.length === rowFirst) errors.add(line, text.slice(rowStart, i), "An empty row; every row needs numbers.");
      rows.add(rowFirst, cells.length - rowFirst, rowLine, rowStart, i);
      depth = 1;
      prev = "value";
    } else if (c === 44) {
      // ,
      if (prev !== "value") errors.add(line, ",", "An empty element between commas.");
      prev = "comma";
      i++;
    } else {
      // An element: up to a comma, a bracket, the end of the line or a comment; quoted strings kept whole.
      const s = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 44 || d === 91 || d === 93 || d === 10 || d === 35 || (d === 47 && text.charCodeAt(i + 1) === 47)) break;
        if (d === 34 || d === 39) {
          const close = text.indexOf(String.fromCharCode(d), i + 1);
          const nl = text.indexOf("\n", i + 1);
          i = close < 0 || (nl >= 0 && nl < close) ? (nl < 0 ? n : nl) : close + 1;
          continue;
        }
        i++;
      }
      const k = cells.add(s, i, line);
      // In an array literal a quoted number is a string: keep the quotes so it is reported.
      if (text.charCodeAt(s) === 34) {
        let e = i;
        while (e > s && isSpaceCode(text.charCodeAt(e - 1))) e--;
        cells.setSpan(k, s, e);
      }
      if (prev === "value") errors.add(line, cells.text(k), "A comma is missing before this value.");
      if (depth === 1) {
        if (top === "array") {
          errors.add(line, cells.text(k), "Numbers and nested arrays are mixed in one array; use either numbers or rows of numbers.");
          return errors;
        }
        top = "number";
      }
      prev = "value";
    }
  }
  if (!closed) {
    errors.add(openLine, snippet(open), "The array opened here is not closed; a ] is missing.");
    return errors;
  }
  // After the array: the wrapper's closing parenthesis (and its other arguments), a semicolon, comments.
  let j = i;
  const skip = (re: RegExp): boolean => {
    re.lastIndex = j;
    if (!re.exec(text)) return false;
    j = re.lastIndex;
    return true;
  };
  skip(/\s*/y);
  const unclosedCall = wrapped && !skip(/(?:,[^[\]()]*(?:\([^()]*\)[^[\]()]*)*)?\)/y);
  skip(/\s*;?(?:\s|(?:\/\/|#)[^\n]*)*/y);
  if (unclosedCall) errors.add(line, snippet(i - 1), "The call around the array is not closed; a ) is missing.");
  else if (j < n) {
    let l = line;
    for (let k = i; k < j; k++) if (text.charCodeAt(k) === 10) l++;
    errors.add(l, snippet(j), wrapped ? "Unexpected text after the array; the selection should end with its closing parenthesis." : "Unexpected text after the array; select only the array.");
  }
  if (errors.total > 0) return errors;
  if (top === undefined) {
    errors.add(first, text.slice(open, i), "The array is empty.");
    return errors;
  }
  if (top === "number") return { format: "array", names: [varName ?? columnName(0)], hasHeader: false, named: varName !== undefined, cells };
  const width = rows.commonCount();
  return { format: "array", names: numberedNames(width), hasHeader: false, named: false, cells, rows, allFeatures: true };
}
