// CSV and TSV: cells separated by a comma, a semicolon or a tab, quoted fields (which may hold
// the separator and doubled quotes), with or without a header row.
import type { ErrorList } from "./seriesErrors";
import { Cells, Rows, columnName, headerNames, isHeaderRow, numberedNames, type Table } from "./table";
import * as textLines from "./textLines";
import type { Lines } from "./textLines";

// Called per character and per line: bound once (see textLines.ts).
const { isBlank, isSpaceCode } = textLines;

/** The separator found outside quotes on more than half of the first 200 non-blank lines; ties: tab, semicolon, comma. */
export function detectDelimiter({ text, starts, ends, first, last }: Lines): "," | ";" | "\t" | undefined {
  let sampled = 0;
  let tabs = 0;
  let semis = 0;
  let commas = 0;
  for (let i = first; i <= last && sampled < 200; i++) {
    if (isBlank(text, starts[i], ends[i])) continue;
    sampled++;
    let inQuote = false;
    let t = false;
    let s = false;
    let c = false;
    for (let k = starts[i]; k < ends[i]; k++) {
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
function splitDelimitedLine(cells: Cells, start: number, end: number, delim: number, line: number): string | undefined {
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

export function readDelimited(lines: Lines, delimiter: "," | ";" | "\t", newList: () => ErrorList): Table | ErrorList {
  const { text, starts, ends, first, last } = lines;
  const delim = delimiter.charCodeAt(0);
  const structure = newList();
  const cells = new Cells(text);
  const rows = new Rows();
  let hasHeader = false;
  let headerNamesList: string[] = [];
  for (let i = first; i <= last; i++) {
    if (isBlank(text, starts[i], ends[i])) continue;
    const k = cells.length;
    const error = splitDelimitedLine(cells, starts[i], ends[i], delim, i);
    if (error) {
      structure.add(i, text.slice(starts[i], ends[i]).trim(), error);
      continue;
    }
    const count = cells.length - k;
    if (i === first) {
      hasHeader = isHeaderRow(cells, k, count);
      if (hasHeader) {
        headerNamesList = headerNames(cells, k, count);
        continue;
      }
    }
    rows.add(k, count, i, starts[i], ends[i]);
  }
  if (structure.total > 0) return structure;
  if (hasHeader) {
    if (rows.length === 0) {
      structure.add(first, text.slice(starts[first], ends[first]).trim(), "Only a header row, no data below it.");
      return structure;
    }
    return { format: "csv", delimiter, names: headerNamesList, hasHeader, headerLine: first, named: true, cells, rows };
  }
  // One line of separated values: a series in reading order.
  if (rows.length === 1) return { format: "csv", delimiter, names: [columnName(0)], hasHeader: false, named: false, cells };
  const width = rows.commonCount();
  return { format: "csv", delimiter, names: numberedNames(width), hasHeader: false, named: false, cells, rows };
}
