// What the result is built from (./tableResult.ts): the table's shape (names, header, format) and
// its rows, visited in order, one at a time. A reader that keeps every cell (an array literal:
// ./arrayLiteral.ts, through a Table) and the streaming reader that keeps one line
// (./lineScanner.ts) both give this, so a series of any length is read once and only the window
// asked for is turned into values.
import type { SeriesFormat } from "./seriesTypes";
import type { Cells, Table } from "./table";

/** One row: `count` cells of `cells` from `first`, its line and the span of its text. Reused from row to row: read it in the visit. */
export interface RowView {
  cells: Cells;
  first: number;
  count: number;
  /** 0-based line in the selection. */
  line: number;
  /** Span of the row: its line's content, a nested array's brackets, or the cell (a flat list). */
  start: number;
  end: number;
}

export interface RowSource {
  format: SeriesFormat;
  delimiter?: "," | ";" | "\t";
  names: string[];
  hasHeader: boolean;
  headerLine?: number;
  /** Names are real (a header, or an array's variable name), so the result carries them. */
  named: boolean;
  /** A nested array literal: every column is a feature. */
  allFeatures?: boolean;
  /** A flat list: every cell is a row of one value, and the result has no `columns`. */
  flat: boolean;
  /** The text the cells' offsets point into. */
  text: string;
  rowCount: number;
  /** Visits rows [from, to) in order. */
  scan(visit: (r: number, row: RowView) => void, from?: number, to?: number): void;
}

/** The rows of a reader's table held whole. */
export function tableRows(table: Table): RowSource {
  const { cells, rows } = table;
  const view: RowView = { cells, first: 0, count: 1, line: 0, start: 0, end: 0 };
  return {
    format: table.format,
    delimiter: table.delimiter,
    names: table.names,
    hasHeader: table.hasHeader,
    headerLine: table.headerLine,
    named: table.named,
    allFeatures: table.allFeatures,
    flat: !rows,
    text: cells.source,
    rowCount: rows ? rows.length : cells.length,
    scan(visit, from = 0, to = rows ? rows.length : cells.length) {
      for (let r = from; r < to; r++) {
        if (rows) {
          view.first = rows.first(r);
          view.count = rows.count(r);
          view.line = rows.line(r);
          view.start = rows.start(r);
          view.end = rows.end(r);
        } else {
          view.first = r;
          view.line = cells.line(r);
          view.start = cells.start(r);
          view.end = cells.end(r);
        }
        visit(r, view);
      }
    },
  };
}
