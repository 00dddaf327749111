// CSV and TSV: cells separated by a comma, a semicolon or a tab, quoted fields (which may hold
// the separator and doubled quotes), with or without a header row. The lines are read one at a
// time by ./lineScanner.ts; this file finds the separator and splits a line.
import type { Cells } from "./table";
import * as textLines from "./textLines";

// Called per character and per line: bound once (see textLines.ts).
const { isBlank, isSpaceCode } = textLines;

/**
 * The separator found outside quotes on more than half of the first 200 non-blank lines from
 * `from` (a line start); ties: tab, semicolon, comma.
 */
export function detectDelimiter(text: string, from = 0): "," | ";" | "\t" | undefined {
  let sampled = 0;
  let tabs = 0;
  let semis = 0;
  let commas = 0;
  for (let pos = from; pos <= text.length && sampled < 200; ) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = text.length;
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    const start = pos;
    pos = nl + 1;
    if (isBlank(text, start, end)) continue;
    sampled++;
    let inQuote = false;
    let t = false;
    let s = false;
    let c = false;
    for (let k = start; k < end; k++) {
      const ch = text.charCodeAt(k);
      if (ch === 34) inQuote = !inQuote;
      else if (!inQuote) {
        if (ch === 9) t = true;
        else if (ch === 59) s = true;
        else if (ch === 44) c = true;
      }
    }
    if (t) tabs++;
    if (s) semis++;
    if (c) commas++;
  }
  const best = Math.max(tabs, semis, commas);
  if (best * 2 <= sampled) return undefined;
  return tabs === best ? "\t" : semis === best ? ";" : ",";
}

/** Splits one line into cells (quoted cells may hold the separator and doubled quotes); returns an error sentence or undefined. */
export function splitDelimitedLine(cells: Cells, start: number, end: number, delim: number, line: number): string | undefined {
  const text = cells.source;
  let i = start;
  for (;;) {
    while (i < end && text.charCodeAt(i) !== delim && isSpaceCode(text.charCodeAt(i))) i++;
    if (i < end && text.charCodeAt(i) === 34) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0 || j >= end) return "A quoted field is not closed; add the closing quote.";
        if (j + 1 < end && text.charCodeAt(j + 1) === 34) {
          escaped = true;
          j += 2;
          continue;
        }
        break;
      }
      const k = cells.add(i, j + 1, line);
      if (escaped) cells.override.set(k, cells.text(k).replace(/""/g, '"'));
      let after = j + 1;
      while (after < end && text.charCodeAt(after) !== delim && isSpaceCode(text.charCodeAt(after))) after++;
      if (after >= end) return undefined;
      if (text.charCodeAt(after) !== delim) return "Text after a closing quote; put a separator after the quoted field.";
      i = after + 1;
      continue;
    }
    let j = i;
    while (j < end && text.charCodeAt(j) !== delim) j++;
    cells.add(i, j, line);
    if (j >= end) return undefined;
    i = j + 1;
  }
}
