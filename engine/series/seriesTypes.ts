// The shapes parseSeries (./parseSeries.ts) takes and returns: its options, the series with the
// characters each value came from, the column question, and the problems found.
import type { SeriesWindow, WindowOptions } from "./window";

export type SeriesFormat = "csv" | "array" | "lines" | "whitespace";

/** Where a value (or a row of features) came from: 1-based line, character offsets in the selection text. */
export interface SeriesSource {
  line: number;
  start: number;
  end: number;
}

export interface SeriesError {
  /** 1-based line in the selection, plus `lineOffset`. */
  line: number;
  /** The offending text (at most 80 characters; "" for an empty line). */
  text: string;
  /** A sentence saying what is wrong. */
  reason: string;
}

export interface ColumnInfo {
  /** 0-based position in the row. */
  index: number;
  /** The header's name; without a header `column 1`, `column 2`, ... (1-based). */
  name: string;
  /** Most of its cells are numbers (NaN, Infinity and the like count as meant to be numbers). */
  numeric: boolean;
  /** A time, date or index axis: named like one (or unnamed) and strictly increasing. Never the default choice. */
  isTime: boolean;
}

export interface ParseSeriesOptions extends WindowOptions {
  /** The column to return as `values`: its header name, or its 0-based index (a number or a string of digits). */
  column?: string | number;
  /** "all": also return every numeric non-time column as `features` ([step][feature]). */
  columns?: "all";
  /** Added to every reported line: the number of document lines above the selection. */
  lineOffset?: number;
  /** Most errors listed; the rest are counted in `more`. Default 50. */
  maxErrors?: number;
}

export interface ParsedSeriesValues {
  ok: true;
  format: SeriesFormat;
  /** The separator of a CSV selection. */
  delimiter?: "," | ";" | "\t";
  hasHeader: boolean;
  /** Name of the returned column: the header's, or the variable's for an assigned array literal. */
  columnName?: string;
  /** 0-based index of the returned column in the table. */
  columnIndex?: number;
  /** Every column of a table (CSV, nested arrays, whitespace table with a header). */
  columns?: ColumnInfo[];
  /** The single series: the chosen column; with features and no `column`, the first feature. */
  values: number[];
  /** One per step: the number's exact characters, or, when `features` is present, the span of the row's used cells. */
  sources: SeriesSource[];
  /** [step][feature]: with `columns: "all"` or for a nested array literal. */
  features?: number[][];
  featureNames?: string[];
  /** The time column's values, when there is one: its numbers, or for dates milliseconds since 1970 (Date.parse). */
  time?: number[];
  timeName?: string;
  /**
   * Set when `maxSteps` left rows out: the rows [from, to) of `total` returned (values, sources,
   * features and time hold these rows only). Every row was still checked for problems.
   */
  window?: SeriesWindow;
}

export interface ParsedSeriesNeedsColumn {
  ok: false;
  needsColumn: true;
  format: SeriesFormat;
  columns: ColumnInfo[];
  message: string;
}

export interface ParsedSeriesErrors {
  ok: false;
  needsColumn: false;
  /** The first `maxErrors` problems, in line order. Empty for an empty selection. */
  errors: SeriesError[];
  /** How many more problems were found than listed. */
  more: number;
  message: string;
}

export type ParsedSeries = ParsedSeriesValues | ParsedSeriesNeedsColumn | ParsedSeriesErrors;
