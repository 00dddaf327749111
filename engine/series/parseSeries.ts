// Turns the text of an editor selection into a numeric series for the sequence models:
//   - CSV with comma, semicolon or tab separators, with or without a header row, quoted fields;
//   - an array literal (JSON, JavaScript, Python), flat or nested as rows of features,
//     optionally assigned (`const xs = [...]`, `xs = [...]`) or wrapped (`np.array([...])`);
//   - one number per line;
//   - numbers separated by spaces, several per line.
// Every value keeps the characters it came from, so the editor can highlight the step under the
// pointer. Bad input is reported with its line, never dropped: any error means no series at all.
// Pure TypeScript: no vscode, no dependencies beyond the language.

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

export interface ParseSeriesOptions {
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

export const DEFAULT_MAX_ERRORS = 50;

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** A date or a time of day: 2020-01-31, 2020-01, 2020-01-31T12:00:00Z, 31/01/2020, 12:30. */
const DATE_RE = /^(?:\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

/** A finite decimal number (integer, decimal, exponent, leading sign), or undefined. No separators, no hex. */
export function parseNumber(text: string): number | undefined {
  const v = numberAt(text, 0, text.length);
  return Number.isNaN(v) ? undefined : v;
}

/** Why `text` is not accepted as a number, as a sentence. */
export function describeBadNumber(text: string): string {
  if (text === "") return "An empty cell; every row needs a value here.";
  if (/^[+-]?nan$/i.test(text) || /\bnan\b/i.test(text)) return "NaN is not a value the model can use; fill in or remove the missing value.";
  if (/^[+-]?inf(inity)?$/i.test(text) || /\binf(inity)?\b|_INFINITY\b/i.test(text)) return "Infinity is not a finite number.";
  if (NUMBER_RE.test(text)) return "Too large to be a finite number.";
  if (DATE_RE.test(text)) return "A date or time, not a number; choose a numeric column.";
  if (/^(null|none|na|n\/a|nil|undefined|missing|-|\?|\.)$/i.test(text)) return `"${text}" marks a missing value; fill it in or remove the row.`;
  if (/^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(text)) return `Thousands separators are not accepted; write ${text.replace(/,/g, "")} without the commas.`;
  if (/^[+-]?\d{1,3}(?:['\u2019\u00a0\u202f]\d{3})+(?:[.,]\d+)?$/.test(text) || /^[+-]?\d{1,3}(?:\.\d{3}){2,}(?:,\d+)?$/.test(text)) return "Thousands separators are not accepted; write the digits without them.";
  if (/^[+-]?\d*,\d+$/.test(text)) return `A decimal comma is not accepted; write ${text.replace(",", ".")} with a decimal point.`;
  if (/^[+-]?\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?$/.test(text)) return "Digit separators (_) are not accepted; write the digits without them.";
  if (/^[+-]?0[xXbBoO][0-9a-fA-F_]+$/.test(text)) return "Hexadecimal, octal and binary literals are not accepted; write the decimal value.";
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?%$/.test(text)) return "A percent sign is not accepted; write the number alone.";
  if (/^(["']).*\1$/s.test(text)) return "A quoted string, not a number; remove the quotes if it is meant as a number.";
  if (/\s/.test(text) && text.split(/\s+/).every((p) => NUMBER_RE.test(p))) return "Numbers without a separator between them; put a comma between them.";
  return "Not a number.";
}

// ---------------------------------------------------------------------------------------------
// Internal shapes: cells and rows kept as parallel arrays of numbers, no object per cell, so a
// selection of a million numbers stays cheap.

/** A growable list of 32-bit integers. */
class IntList {
  data = new Int32Array(256);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
}

class Cells {
  private readonly starts = new IntList();
  private readonly ends = new IntList();
  private readonly lines = new IntList();
  /** Text that differs from the cell's characters: a quoted field with doubled quotes. */
  override = new Map<number, string>();
  constructor(readonly source: string) {}
  get length(): number {
    return this.starts.length;
  }
  start(k: number): number {
    return this.starts.data[k];
  }
  end(k: number): number {
    return this.ends.data[k];
  }
  line(k: number): number {
    return this.lines.data[k];
  }
  setSpan(k: number, start: number, end: number): void {
    this.starts.data[k] = start;
    this.ends.data[k] = end;
  }
  /** Adds source[start, end) less surrounding spaces and one pair of double quotes; returns its index. */
  add(start: number, end: number, line: number): number {
    const s = this.source;
    while (start < end && isSpaceCode(s.charCodeAt(start))) start++;
    while (end > start && isSpaceCode(s.charCodeAt(end - 1))) end--;
    if (end - start >= 2 && s.charCodeAt(start) === 34 && s.charCodeAt(end - 1) === 34) {
      start++;
      end--;
      while (start < end && isSpaceCode(s.charCodeAt(start))) start++;
      while (end > start && isSpaceCode(s.charCodeAt(end - 1))) end--;
    }
    this.starts.push(start);
    this.ends.push(end);
    this.lines.push(line);
    return this.starts.length - 1;
  }
  text(k: number): string {
    return this.override.size > 0 && this.override.has(k) ? this.override.get(k)! : this.source.slice(this.starts.data[k], this.ends.data[k]);
  }
  /** The cell's number, or NaN when it is not a finite decimal number. */
  value(k: number): number {
    if (this.override.size > 0 && this.override.has(k)) return parseNumber(this.override.get(k)!) ?? NaN;
    return numberAt(this.source, this.starts.data[k], this.ends.data[k]);
  }
}

class Rows {
  private readonly firsts = new IntList(); // index of the row's first cell
  private readonly counts = new IntList();
  private readonly lines = new IntList();
  private readonly starts = new IntList(); // span of the row: its line's content, or the brackets of a nested array
  private readonly ends = new IntList();
  get length(): number {
    return this.firsts.length;
  }
  first(r: number): number {
    return this.firsts.data[r];
  }
  count(r: number): number {
    return this.counts.data[r];
  }
  line(r: number): number {
    return this.lines.data[r];
  }
  start(r: number): number {
    return this.starts.data[r];
  }
  end(r: number): number {
    return this.ends.data[r];
  }
  add(first: number, count: number, line: number, start: number, end: number): void {
    this.firsts.push(first);
    this.counts.push(count);
    this.lines.push(line);
    this.starts.push(start);
    this.ends.push(end);
  }
  /** The most common number of cells in a row. */
  commonCount(): number {
    const seen = new Map<number, number>();
    let best = this.counts.data[0];
    let bestSeen = 0;
    for (let r = 0; r < this.length; r++) {
      const c = this.counts.data[r];
      const n = (seen.get(c) ?? 0) + 1;
      seen.set(c, n);
      if (n > bestSeen) {
        bestSeen = n;
        best = c;
      }
    }
    return best;
  }
}

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The number written in text[start, end), or NaN: the same grammar and value as parseNumber without
 * making a string. Up to 15 significant digits and a decimal exponent within 22, m / 10^k is exact
 * in both operands, so one correctly rounded division gives what Number() gives; anything longer
 * goes to Number().
 */
function numberAt(text: string, start: number, end: number): number {
  let i = start;
  let negative = false;
  let c = text.charCodeAt(i);
  if (i < end && (c === 43 || c === 45)) {
    negative = c === 45;
    c = text.charCodeAt(++i);
  }
  let mantissa = 0;
  let digits = 0; // significant digits taken into the mantissa
  let intDigits = 0;
  let fracDigits = 0;
  let scale = 0; // power of ten to apply to the mantissa
  while (i < end && c >= 48 && c <= 57) {
    if (digits > 0 || c !== 48) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
    }
    intDigits++;
    c = text.charCodeAt(++i);
  }
  if (i < end && c === 46) {
    c = text.charCodeAt(++i);
    while (i < end && c >= 48 && c <= 57) {
      if (digits > 0 || c !== 48) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
      }
      scale--;
      fracDigits++;
      c = text.charCodeAt(++i);
    }
  }
  if (intDigits + fracDigits === 0) return NaN;
  if (i < end && (c === 101 || c === 69)) {
    c = text.charCodeAt(++i);
    let expNegative = false;
    if (c === 43 || c === 45) {
      expNegative = c === 45;
      c = text.charCodeAt(++i);
    }
    let exp = 0;
    let expDigits = 0;
    while (i < end && c >= 48 && c <= 57) {
      exp = exp < 1e6 ? exp * 10 + (c - 48) : exp;
      expDigits++;
      c = text.charCodeAt(++i);
    }
    if (expDigits === 0) return NaN;
    scale += expNegative ? -exp : exp;
  }
  if (i !== end) return NaN;
  if (digits <= 15 && scale >= -22 && scale <= 22) {
    const v = scale < 0 ? mantissa / POWERS_OF_TEN[-scale] : mantissa * POWERS_OF_TEN[scale];
    return negative ? -v : v;
  }
  const v = Number(text.slice(start, end));
  return Number.isFinite(v) ? v : NaN;
}

interface Table {
  format: SeriesFormat;
  delimiter?: "," | ";" | "\t";
  names: string[];
  hasHeader: boolean;
  headerLine?: number;
  /** Names are real (a header, or an array's variable name), so the result carries them. */
  named: boolean;
  cells: Cells;
  /** Absent for a flat list: then every cell is a row of one value, and the result has no `columns`. */
  rows?: Rows;
  /** A nested array literal: every column is a feature. */
  allFeatures?: boolean;
}

class ErrorList {
  items: SeriesError[] = [];
  total = 0;
  constructor(
    private readonly cap: number,
    private readonly lineOffset: number,
  ) {}
  /** `line` is the 0-based line in the selection. */
  add(line: number, text: string, reason: string): void {
    this.total++;
    if (this.items.length < this.cap) this.items.push({ line: line + 1 + this.lineOffset, text: clip(text), reason });
  }
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Each list holds its first `cap` errors in line order, so the first `cap` of the union are among them. */
function mergeErrors(lists: ErrorList[], cap: number): ParsedSeriesErrors | undefined {
  const total = lists.reduce((s, l) => s + l.total, 0);
  if (total === 0) return undefined;
  const errors = lists
    .flatMap((l) => l.items)
    .sort((a, b) => a.line - b.line)
    .slice(0, cap);
  const first = errors[0];
  return {
    ok: false,
    needsColumn: false,
    errors,
    more: total - errors.length,
    message: `${total} problem${total === 1 ? "" : "s"} in the selection; line ${first.line}: ${first.reason}`,
  };
}

function failure(message: string): ParsedSeriesErrors {
  return { ok: false, needsColumn: false, errors: [], more: 0, message };
}

function isSpaceCode(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 0xfeff || c === 0xa0 || c === 11 || c === 12;
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpaceCode(text.charCodeAt(i))) return false;
  return true;
}

function columnName(i: number): string {
  return `column ${i + 1}`;
}

/** Looks like a column name rather than a value: starts with a letter, an underscore or a bracket, and is not a missing-value or non-finite word. */
function isHeaderName(text: string): boolean {
  if (text === "") return true;
  if (!/^[\p{L}_([{#]/u.test(text)) return false;
  return !/^(nan|inf|infinity|null|none|na|n\/a|nil|undefined|missing)$/i.test(text);
}

function headerNames(cells: Cells, first: number, count: number): string[] {
  return Array.from({ length: count }, (_, j) => cells.text(first + j).replace(/^\ufeff/, "") || columnName(j));
}

const TIME_NAME_RE = /^(?:t|time|times|timestamp|datetime|date|dates|day|days|week|weeks|month|months|year|years|index|idx|step|steps|period|ds)(?!\p{L})/iu;

function isTimeName(name: string): boolean {
  return TIME_NAME_RE.test(name.trim());
}

// ---------------------------------------------------------------------------------------------
// Entry point

interface Lines {
  text: string;
  starts: Int32Array;
  ends: Int32Array; // without the line break (\n or \r\n)
  first: number; // first and last non-blank lines, 0-based
  last: number;
}

/**
 * Reads the selection's text as a series. Returns the values with their sources; or, when a table
 * has several numeric columns and none was chosen, the columns to ask about; or every problem found
 * (line, text, reason), and then no values at all.
 */
export function parseSeries(text: string, options: ParseSeriesOptions = {}): ParsedSeries {
  const lineOffset = options.lineOffset ?? 0;
  const cap = Math.max(1, options.maxErrors ?? DEFAULT_MAX_ERRORS);
  const newList = () => new ErrorList(cap, lineOffset);

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
  if (first === lineCount) return failure("The selection is empty: select numbers (one per line, a CSV table or an array literal).");
  let last = lineCount - 1;
  while (isBlank(text, starts[last], ends[last])) last--;
  const lines: Lines = { text, starts, ends, first, last };

  let firstChar = starts[first];
  while (isSpaceCode(text.charCodeAt(firstChar))) firstChar++;
  ARRAY_START_RE.lastIndex = firstChar;
  const arrayStart = ARRAY_START_RE.exec(text);
  if (arrayStart) {
    const scanned = scanArray(lines, ARRAY_START_RE.lastIndex - 1, arrayStart[1], arrayStart[2] !== undefined, newList());
    if (scanned instanceof ErrorList) return mergeErrors([scanned], cap)!;
    return finishTable(scanned, options, [], newList, cap);
  }

  // Empty lines inside the data.
  const blank = newList();
  for (let i = first + 1; i < last; i++) if (isBlank(text, starts[i], ends[i])) blank.add(i, "", "An empty line inside the data; remove it, or select only the data.");

  const delimiter = detectDelimiter(lines);
  const table = delimiter ? readDelimited(lines, delimiter, newList) : readTokens(lines, options);
  if (table instanceof ErrorList) return mergeErrors([blank, table], cap)!;
  return finishTable(table, options, [blank], newList, cap);
}

// ---------------------------------------------------------------------------------------------
// CSV

/** The separator found outside quotes on more than half of the first 200 non-blank lines; ties: tab, semicolon, comma. */
function detectDelimiter({ text, starts, ends, first, last }: Lines): "," | ";" | "\t" | undefined {
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

function readDelimited(lines: Lines, delimiter: "," | ";" | "\t", newList: () => ErrorList): Table | ErrorList {
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
      // A header: no cell is a number (nor meant as one), and some cell is not empty.
      let named = false;
      hasHeader = true;
      for (let j = 0; j < count && hasHeader; j++) {
        const t = cells.text(k + j);
        hasHeader = isHeaderName(t);
        named ||= t !== "";
      }
      hasHeader &&= named;
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
  return { format: "csv", delimiter, names: Array.from({ length: width }, (_, j) => columnName(j)), hasHeader: false, named: false, cells, rows };
}

// ---------------------------------------------------------------------------------------------
// One number per line, or whitespace-separated numbers

function readTokens(lines: Lines, options: ParseSeriesOptions): Table {
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
  let hasHeader = width > 0 && cells.length > width;
  let named = false;
  for (let j = 0; hasHeader && j < width; j++) {
    const t = cells.text(j);
    hasHeader = isHeaderName(t);
    named ||= t !== "";
  }
  if (hasHeader && named) return { format, names: headerNames(cells, 0, width), hasHeader, headerLine: cells.line(0), named: true, cells, rows: rowsFrom(width) };
  if (width > 1 && (options.columns === "all" || options.column !== undefined)) {
    return { format, names: Array.from({ length: width }, (_, j) => columnName(j)), hasHeader: false, named: false, cells, rows: rowsFrom(0) };
  }
  return { format, names: [columnName(0)], hasHeader: false, named: false, cells };
}

// ---------------------------------------------------------------------------------------------
// Array literals

// Optional `export const name: type =` / `let` / `var` / Python `name =`, optional call wrapper
// (`np.array(`, `new Float64Array(`), then the opening bracket.
const ARRAY_START_RE = /(?:(?:export\s+)?(?:const|let|var)\s+)?(?:([A-Za-z_$][\w$]*)\s*(?::[^=\n]*)?=\s*)?((?:new\s+)?[A-Za-z_$][\w$.]*\s*\(\s*)?\[/y;

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
  return { format: "array", names: Array.from({ length: width }, (_, j) => columnName(j)), hasHeader: false, named: false, cells, rows, allFeatures: true };
}

// ---------------------------------------------------------------------------------------------
// Columns, choice, errors and the result

function resolveColumn(column: string | number, names: string[]): number | undefined {
  if (typeof column === "number") return Number.isInteger(column) && column >= 0 && column < names.length ? column : undefined;
  const exact = names.indexOf(column);
  if (exact >= 0) return exact;
  const lower = column.trim().toLowerCase();
  const loose = names.findIndex((name) => name.trim().toLowerCase() === lower);
  if (loose >= 0) return loose;
  if (/^\d+$/.test(column.trim())) return resolveColumn(Number(column.trim()), names);
  return undefined;
}

/** A plain array (JSON-serialisable) of a typed array's values; a loop is faster than Array.from here. */
function toArray(values: Float64Array): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

function strictlyIncreasing(values: ArrayLike<number>): boolean {
  for (let k = 0; k < values.length; k++) if (Number.isNaN(values[k]) || (k > 0 && !(values[k] > values[k - 1]))) return false;
  return true;
}

function finishTable(table: Table, options: ParseSeriesOptions, earlier: ErrorList[], newList: () => ErrorList, cap: number): ParsedSeries {
  const { cells, rows, names } = table;
  const width = names.length;
  const nRows = rows ? rows.length : cells.length;
  const lineOffset = options.lineOffset ?? 0;
  // Without rows (a flat list) every cell is a row of one value.
  const rowFirst = (r: number) => (rows ? rows.first(r) : r);
  const rowCount = (r: number) => (rows ? rows.count(r) : 1);
  const rowLine = (r: number) => (rows ? rows.line(r) : cells.line(r));

  // Read every cell of every complete row once; NaN marks a cell that is not a number.
  const parsed = names.map(() => new Float64Array(nRows));
  const good = new Array<number>(width).fill(0);
  const meantAsNumber = new Array<number>(width).fill(0);
  const textual = new Array<number>(width).fill(0);
  for (let r = 0; r < nRows; r++) {
    if (rowCount(r) !== width) {
      for (let j = 0; j < width; j++) parsed[j][r] = NaN;
      continue;
    }
    const k0 = rowFirst(r);
    for (let j = 0; j < width; j++) {
      const v = cells.value(k0 + j);
      parsed[j][r] = v;
      if (!Number.isNaN(v)) {
        good[j]++;
        continue;
      }
      const t = cells.text(k0 + j);
      if (t === "") continue;
      if ((isHeaderName(t) && !/\b(nan|inf|infinity)\b/i.test(t)) || DATE_RE.test(t)) textual[j]++;
      else meantAsNumber[j]++;
    }
  }
  const columns: ColumnInfo[] = names.map((name, j) => {
    const numeric = good[j] + meantAsNumber[j] > 0 && good[j] + meantAsNumber[j] >= textual[j];
    let isTime = false;
    const unnamed = name === columnName(j); // an empty header cell: a row index, as R and pandas write them
    if (table.hasHeader && nRows > 1 && (unnamed || isTimeName(name))) {
      if (numeric) isTime = strictlyIncreasing(parsed[j]);
      else if (!unnamed) isTime = strictlyIncreasing(Array.from({ length: nRows }, (_, r) => (rowCount(r) === width ? Date.parse(cells.text(rowFirst(r) + j)) : NaN)));
    }
    return { index: j, name, numeric, isTime };
  });

  const expected = table.headerLine !== undefined ? `the header on line ${table.headerLine + 1 + lineOffset} has` : "most rows have";
  const raggedReason = (k: number): string =>
    k < width ? `This row has ${k} ${k === 1 ? "value" : "values"} but ${expected} ${width}; a cell is missing.` : `This row has ${k} values but ${expected} ${width}; there is an extra cell.`;
  const rowText = (r: number): string => cells.source.slice(rows!.start(r), rows!.end(r)).trim();
  const raggedOnly = (): ErrorList => {
    const list = newList();
    for (let r = 0; r < nRows; r++) if (rowCount(r) !== width) list.add(rowLine(r), rowText(r), raggedReason(rowCount(r)));
    return list;
  };
  const needs = (message: string): ParsedSeries => mergeErrors([...earlier, raggedOnly()], cap) ?? { ok: false, needsColumn: true, format: table.format, columns, message };
  const nameList = (cols: ColumnInfo[]) => cols.map((c) => c.name).join(", ");
  const candidates = columns.filter((c) => c.numeric && !c.isTime);

  let chosen: number | undefined;
  if (options.column !== undefined) {
    chosen = resolveColumn(options.column, names);
    if (chosen === undefined) {
      const what = typeof options.column === "number" ? `column ${options.column} (0-based)` : `column named "${options.column}"`;
      return needs(`There is no ${what}; the columns are ${nameList(columns)}.`);
    }
  }
  let features: number[] | undefined;
  if (table.allFeatures) features = columns.map((c) => c.index);
  else if (options.columns === "all") {
    const numericCols = candidates.length > 0 ? candidates : columns.filter((c) => c.numeric);
    features = numericCols.length > 0 ? numericCols.map((c) => c.index) : chosen !== undefined ? [chosen] : width === 1 ? [0] : undefined;
    if (!features) return mergeErrors([...earlier, raggedOnly()], cap) ?? failure(`No column of numbers in the selection (columns: ${nameList(columns)}).`);
  }
  if (chosen === undefined) {
    const numericCols = candidates.length > 0 ? candidates : columns.filter((c) => c.numeric);
    if (features) chosen = features[0];
    else if (numericCols.length === 1) chosen = numericCols[0].index;
    else if (numericCols.length > 1) {
      const time = columns.filter((c) => c.isTime).map((c) => `"${c.name}"`);
      const timeNote = time.length > 0 ? ` ${time.join(", ")} ${time.length === 1 ? "looks" : "look"} like the time axis.` : "";
      return needs(`The selection has ${numericCols.length} numeric columns (${nameList(numericCols)}); choose one.${timeNote}`);
    } else if (width === 1) chosen = 0; // its cells are reported below
    else return mergeErrors([...earlier, raggedOnly()], cap) ?? failure(`No column of numbers in the selection (columns: ${nameList(columns)}).`);
  }

  // Errors: ragged rows, and bad cells in the columns used.
  const used = [...new Set([chosen, ...(features ?? [])])].sort((a, b) => a - b);
  const mention = width === 1 ? () => "" : table.named ? (j: number) => ` (column "${names[j]}")` : (j: number) => ` (${names[j]})`;
  const cellErrors = newList();
  for (let r = 0; r < nRows; r++) {
    if (rowCount(r) !== width) {
      cellErrors.add(rowLine(r), rowText(r), raggedReason(rowCount(r)));
      continue;
    }
    for (const j of used) {
      if (!Number.isNaN(parsed[j][r])) continue;
      const k = rowFirst(r) + j;
      const t = cells.text(k);
      cellErrors.add(cells.line(k), t, describeBadNumber(t).replace(/\.$/, `${mention(j)}.`));
    }
  }
  const failed = mergeErrors([...earlier, cellErrors], cap);
  if (failed) return failed;
  if (nRows === 0) return failure("No numbers in the selection.");

  const values = toArray(parsed[chosen]);
  const sources: SeriesSource[] = new Array(nRows);
  if (features && rows) {
    for (let r = 0; r < nRows; r++) {
      if (table.format === "array") sources[r] = { line: rows.line(r) + 1 + lineOffset, start: rows.start(r), end: rows.end(r) };
      else {
        const a = rows.first(r) + used[0];
        const b = rows.first(r) + used[used.length - 1];
        sources[r] = { line: cells.line(a) + 1 + lineOffset, start: cells.start(a), end: cells.end(b) };
      }
    }
  } else {
    for (let r = 0; r < nRows; r++) {
      const k = rowFirst(r) + chosen;
      sources[r] = { line: cells.line(k) + 1 + lineOffset, start: cells.start(k), end: cells.end(k) };
    }
  }
  const result: ParsedSeriesValues = { ok: true, format: table.format, hasHeader: table.hasHeader, values, sources };
  if (table.delimiter) result.delimiter = table.delimiter;
  if (table.named || width > 1) {
    result.columnName = names[chosen];
    result.columnIndex = chosen;
  }
  if (rows) result.columns = columns;
  if (features) {
    const cols = features.map((j) => parsed[j]);
    result.features = Array.from({ length: nRows }, (_, r) => cols.map((col) => col[r]));
    result.featureNames = features.map((j) => names[j]);
  }
  const time = columns.find((c) => c.isTime);
  if (time) {
    result.time = time.numeric ? toArray(parsed[time.index]) : Array.from({ length: nRows }, (_, r) => Date.parse(cells.text(rowFirst(r) + time.index)));
    result.timeName = time.name;
  }
  return result;
}
