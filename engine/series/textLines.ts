// The selection's lines, found once and shared by every reader: where each starts and ends, and
// the first and last that hold anything.
//
// The readers call isSpaceCode per character and isBlank per line, so they bind them once as
// module constants (`const { isSpaceCode } = textLines`) rather than importing them by name: where
// these files run as CommonJS (tsx: the tests and the benches), every use of a named import is a
// call through two getters, and in these loops that made parsing a million numbers 1.2 to 1.7
// times slower. The engine's bundle calls them directly either way.

/** Spaces inside a line: space, tab, CR, BOM, no-break space, vertical tab, form feed. */
export function isSpaceCode(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 0xfeff || c === 0xa0 || c === 11 || c === 12;
}

/** Only spaces in text[start, end). */
export function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpaceCode(text.charCodeAt(i))) return false;
  return true;
}

export interface Lines {
  text: string;
  starts: Int32Array;
  ends: Int32Array; // without the line break (\n or \r\n)
  first: number; // first and last non-blank lines, 0-based
  last: number;
}

/** Finds the lines of `text` (\n or \r\n); undefined when every line is blank. */
export function splitLines(text: string): Lines | undefined {
  let lineCount = 1;
  for (let p = text.indexOf("\n"); p >= 0; p = text.indexOf("\n", p + 1)) lineCount++;
  const starts = new Int32Array(lineCount);
  const ends = new Int32Array(lineCount);
  for (let i = 0, pos = 0; i < lineCount; i++) {
    const nl = i === lineCount - 1 ? text.length : text.indexOf("\n", pos);
    starts[i] = pos;
    ends[i] = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    pos = nl + 1;
  }
  let first = 0;
  while (first < lineCount && isBlank(text, starts[first], ends[first])) first++;
  if (first === lineCount) return undefined;
  let last = lineCount - 1;
  while (isBlank(text, starts[last], ends[last])) last--;
  return { text, starts, ends, first, last };
}
