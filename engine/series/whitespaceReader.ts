// Numbers separated by whitespace, read line by line: one number per line (format "lines") or
// several per line (format "whitespace"). When every line has as many words and the first holds
// only names, it is a header. With several per line and a column (or every column) asked for, the
// lines are the rows of a table; otherwise the numbers are one series in reading order.
import type { ParseSeriesOptions, SeriesFormat } from "./seriesTypes";
import { Cells, Rows, columnName, headerNames, isHeaderRow, numberedNames, type Table } from "./table";
import * as textLines from "./textLines";
import type { Lines } from "./textLines";

// Called per character: bound once (see textLines.ts).
const { isSpaceCode } = textLines;

/** Splits every line at spaces and tabs into cells; the problems are found later, cell by cell. */
export function readTokens(lines: Lines, options: ParseSeriesOptions): Table {
  const { text, starts, ends, first, last } = lines;
  const cells = new Cells(text);
  let width = -1; // the count shared by every line, or -2 when they differ
  for (let i = first; i <= last; i++) {
    const end = ends[i];
    const k0 = cells.length;
    let k = starts[i];
    while (k < end) {
      while (k < end && isSpaceCode(text.charCodeAt(k))) k++;
      if (k >= end) break;
      const s = k;
      while (k < end && !isSpaceCode(text.charCodeAt(k))) k++;
      cells.add(s, k, i);
    }
    const n = cells.length - k0;
    if (n === 0) continue;
    if (width === -1) width = n;
    else if (width !== n) width = -2;
  }
  const format: SeriesFormat = width === 1 ? "lines" : "whitespace";
  // Rows are lines; built only when the selection is read as a table.
  const rowsFrom = (k0: number): Rows => {
    const rows = new Rows();
    for (let k = k0; k < cells.length; ) {
      const line = cells.line(k);
      let e = k + 1;
      while (e < cells.length && cells.line(e) === line) e++;
      rows.add(k, e - k, line, cells.start(k), cells.end(e - 1));
      k = e;
    }
    return rows;
  };
  const hasHeader = width > 0 && cells.length > width && isHeaderRow(cells, 0, width);
  if (hasHeader) return { format, names: headerNames(cells, 0, width), hasHeader, headerLine: cells.line(0), named: true, cells, rows: rowsFrom(width) };
  if (width > 1 && (options.columns === "all" || options.column !== undefined)) {
    return { format, names: numberedNames(width), hasHeader: false, named: false, cells, rows: rowsFrom(0) };
  }
  return { format, names: [columnName(0)], hasHeader: false, named: false, cells };
}
