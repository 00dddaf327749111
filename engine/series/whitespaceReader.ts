// Numbers separated by whitespace, read line by line: one number per line (format "lines") or
// several per line (format "whitespace"). When every line has as many words and the first holds
// only names, it is a header. With several per line and a column (or every column) asked for, the
// lines are the rows of a table; otherwise the numbers are one series in reading order. The lines
// are read one at a time by ./lineScanner.ts; this file splits a line.
import type { Cells } from "./table";
import * as textLines from "./textLines";

// Called per character: bound once (see textLines.ts).
const { isSpaceCode } = textLines;

/** Splits text[start, end) at spaces and tabs into cells; returns how many it added. */
export function splitWords(cells: Cells, start: number, end: number, line: number): number {
  const text = cells.source;
  const k0 = cells.length;
  let k = start;
  while (k < end) {
    while (k < end && isSpaceCode(text.charCodeAt(k))) k++;
    if (k >= end) break;
    const s = k;
    while (k < end && !isSpaceCode(text.charCodeAt(k))) k++;
    cells.add(s, k, line);
  }
  return cells.length - k0;
}
