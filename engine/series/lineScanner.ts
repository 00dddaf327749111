// The line formats (CSV / TSV, one number per line, numbers separated by spaces) read as a stream:
// the text is scanned line by line and only one line's cells are held at a time, so a series of
// millions of rows costs what its window does, plus counts and the listed problems.
//
// A first scan finds the shape: the separator, the header, how many cells the rows have, how many
// rows there are, and the problems in the structure (an empty line inside the data, a quote not
// closed). It leaves a mark every few thousand rows, so a later scan of a window starts near it.
import { detectDelimiter, splitDelimitedLine } from "./csvReader";
import type { RowSource, RowView } from "./rows";
import type { ErrorList } from "./seriesErrors";
import type { ParseSeriesOptions, SeriesFormat } from "./seriesTypes";
import { Cells, columnName, headerNames, isHeaderRow, numberedNames } from "./table";
import * as textLines from "./textLines";
import { splitWords } from "./whitespaceReader";

// Called per character and per line: bound once (see textLines.ts).
const { isBlank, isSpaceCode } = textLines;

/** Rows between marks. */
const MARK_EVERY = 4096;

/** A line start a scan can begin at: its offset, its line number, and the index of its first row. */
interface Mark {
  offset: number;
  line: number;
  row: number;
  /** Whitespace: the lines with words before this one (`row` counts the words). */
  lineRow?: number;
}

/** The shape a first scan found, or the problems that stop the reading. */
export type ScannedLines = { source: RowSource; blank: ErrorList } | { errors: ErrorList[] };

/**
 * Reads the lines of `text` from `from` (the first non-blank line's start; `firstLine` its number)
 * as CSV when a separator is found, else as numbers separated by whitespace.
 */
export function scanLines(text: string, from: number, firstLine: number, options: ParseSeriesOptions, newList: () => ErrorList): ScannedLines {
  const delimiter = detectDelimiter(text, from);
  const blank = newList();
  const structure = newList();
  const cells = new Cells(text);
  const marks: Mark[] = [];
  const delim = delimiter?.charCodeAt(0) ?? 0;

  // Blank lines are problems only when data follows them: held until then.
  let pendingBlank: number[] = [];
  let pendingExtra = 0;
  const BLANK = "An empty line inside the data; remove it, or select only the data.";

  // CSV: rows by line, the most common count of cells (the first to reach it, as rows come).
  // Whitespace: the count every line shares (-1 none yet, -2 when they differ), and all words.
  let firstSeen = false;
  let hasHeader = false;
  let header: string[] = [];
  let headerLine = -1;
  let firstLineIsHeader = false; // whitespace: the first line reads as names
  let firstDataLine = -1;
  let rows = 0;
  let words = 0;
  let width = -1;
  const seen = new Map<number, number>();
  let common = -1;
  let commonSeen = 0;
  let lastMarkBucket = -1;

  let line = firstLine;
  for (let pos = from; pos <= text.length; line++) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = text.length;
    const start = pos;
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    pos = nl + 1;
    if (isBlank(text, start, end)) {
      if (blank.items.length + pendingBlank.length < blank.cap) pendingBlank.push(line);
      else pendingExtra++;
      continue;
    }
    if (pendingBlank.length > 0 || pendingExtra > 0) {
      for (const l of pendingBlank) blank.add(l, "", BLANK);
      blank.total += pendingExtra;
      pendingBlank = [];
      pendingExtra = 0;
    }
    cells.clear();
    if (delimiter) {
      const first = !firstSeen;
      firstSeen = true;
      // Only the count matters here: a line without quotes has one cell more than separators.
      let count = first ? -1 : countUnquoted(text, start, end, delim);
      if (count < 0) {
        const error = splitDelimitedLine(cells, start, end, delim, line);
        if (error) {
          structure.add(line, text.slice(start, end).trim(), error);
          continue;
        }
        count = cells.length;
      }
      if (first && isHeaderRow(cells, 0, count)) {
        hasHeader = true;
        header = headerNames(cells, 0, count);
        headerLine = line;
        continue;
      }
      const bucket = Math.floor(rows / MARK_EVERY);
      if (bucket !== lastMarkBucket) {
        marks.push({ offset: start, line, row: rows });
        lastMarkBucket = bucket;
      }
      if (firstDataLine < 0) firstDataLine = line;
      rows++;
      words += count;
      const n = (seen.get(count) ?? 0) + 1;
      seen.set(count, n);
      if (n > commonSeen) {
        commonSeen = n;
        common = count;
      }
    } else {
      const n = firstSeen ? countWords(text, start, end) : splitWords(cells, start, end, line);
      if (n === 0) continue;
      if (!firstSeen) {
        firstSeen = true;
        headerLine = line;
        firstLineIsHeader = isHeaderRow(cells, 0, n);
        if (firstLineIsHeader) header = headerNames(cells, 0, n);
      }
      // Marks for a flat list (rows are words) and for a table (rows are lines), the first two
      // lines always (a header may be the first).
      const bucket = Math.floor(words / MARK_EVERY);
      if (rows < 2 || bucket !== lastMarkBucket || rows % MARK_EVERY === 0) {
        marks.push({ offset: start, line, row: words, lineRow: rows });
        lastMarkBucket = bucket;
      }
      rows++;
      words += n;
      if (width === -1) width = n;
      else if (width !== n) width = -2;
    }
  }
  if (structure.total > 0) return { errors: [blank, structure] };

  if (delimiter) {
    if (hasHeader && rows === 0) {
      structure.add(headerLine, text.slice(from, lineEnd(text, from)).trim(), "Only a header row, no data below it.");
      return { errors: [blank, structure] };
    }
    const base = { format: "csv" as SeriesFormat, delimiter, text };
    if (hasHeader) return { source: lineRows({ ...base, names: header, hasHeader, headerLine, named: true, flat: false }, marks, rows, "csv", delim), blank };
    // One line of separated values: a series in reading order.
    if (rows === 1) return { source: lineRows({ ...base, names: [columnName(0)], hasHeader: false, named: false, flat: true }, marks, words, "csv", delim), blank };
    return { source: lineRows({ ...base, names: numberedNames(common), hasHeader: false, named: false, flat: false }, marks, rows, "csv", delim), blank };
  }

  const format: SeriesFormat = width === 1 ? "lines" : "whitespace";
  // A table's rows are lines (after the header's); a flat list's are words.
  const byLines = (skip: number) => marks.flatMap((m) => (m.lineRow! >= skip ? [{ offset: m.offset, line: m.line, row: m.lineRow! - skip }] : []));
  if (width > 0 && words > width && firstLineIsHeader) {
    return { source: lineRows({ format, text, names: header, hasHeader: true, headerLine, named: true, flat: false }, byLines(1), rows - 1, "words", 0), blank };
  }
  if (width > 1 && (options.columns === "all" || options.column !== undefined)) {
    return { source: lineRows({ format, text, names: numberedNames(width), hasHeader: false, named: false, flat: false }, byLines(0), rows, "words", 0), blank };
  }
  return { source: lineRows({ format, text, names: [columnName(0)], hasHeader: false, named: false, flat: true }, marks, words, "words", 0), blank };
}

/** The cells of a line with no double quote (one more than its separators); -1 when it has a quote. */
function countUnquoted(text: string, start: number, end: number, delim: number): number {
  let n = 1;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === delim) n++;
    else if (c === 34) return -1;
  }
  return n;
}

/** How many words (runs of non-space characters) text[start, end) holds. */
function countWords(text: string, start: number, end: number): number {
  let n = 0;
  let inWord = false;
  for (let i = start; i < end; i++) {
    const space = isSpaceCode(text.charCodeAt(i));
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

function lineEnd(text: string, from: number): number {
  const nl = text.indexOf("\n", from);
  const e = nl < 0 ? text.length : nl;
  return e > from && text.charCodeAt(e - 1) === 13 ? e - 1 : e;
}

type Shape = Omit<RowSource, "rowCount" | "scan">;

/** The rows of the scanned lines: a table's lines (CSV or words), or a flat list's cells in reading order. */
function lineRows(shape: Shape, marks: Mark[], rowCount: number, split: "csv" | "words", delim: number): RowSource {
  const { text, flat } = shape;
  const cells = new Cells(text);
  const view: RowView = { cells, first: 0, count: 1, line: 0, start: 0, end: 0 };
  return {
    ...shape,
    rowCount,
    scan(visit, from = 0, to = rowCount) {
      if (from >= to) return;
      // the last mark at or before `from`
      let lo = 0;
      let hi = marks.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (marks[mid].row <= from) lo = mid;
        else hi = mid - 1;
      }
      const mark = marks[lo];
      let r = mark.row;
      let line = mark.line;
      for (let pos = mark.offset; pos <= text.length && r < to; line++) {
        let nl = text.indexOf("\n", pos);
        if (nl < 0) nl = text.length;
        const start = pos;
        const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        pos = nl + 1;
        if (isBlank(text, start, end)) continue;
        cells.clear();
        if (split === "csv") splitDelimitedLine(cells, start, end, delim, line);
        else if (splitWords(cells, start, end, line) === 0) continue;
        const n = cells.length;
        if (flat) {
          if (r + n <= from) {
            r += n;
            continue;
          }
          view.count = 1;
          view.line = line;
          for (let k = 0; k < n && r < to; k++, r++) {
            if (r < from) continue;
            view.first = k;
            view.start = cells.start(k);
            view.end = cells.end(k);
            visit(r, view);
          }
          continue;
        }
        if (r >= from) {
          view.first = 0;
          view.count = n;
          view.line = line;
          view.start = split === "csv" ? start : cells.start(0);
          view.end = split === "csv" ? end : cells.end(n - 1);
          visit(r, view);
        }
        r++;
      }
    },
  };
}
