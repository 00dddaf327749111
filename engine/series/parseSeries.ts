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
  /** The values of the time column, when there is one. */
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

/** A finite decimal number (integer, decimal, exponent, leading sign), or undefined. No separators, no hex. */
export function parseNumber(text: string): number | undefined {
  if (!NUMBER_RE.test(text)) return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

/** Why `text` is not accepted as a number, as a sentence. */
export function describeBadNumber(text: string): string {
  if (text === "") return "An empty cell; every row needs a value here.";
  if (/^[+-]?nan$/i.test(text) || /\bnan\b/i.test(text)) return "NaN is not a value the model can use; fill in or remove the missing value.";
  if (/^[+-]?inf(inity)?$/i.test(text) || /\binf(inity)?\b|_INFINITY\b/i.test(text)) return "Infinity is not a finite number.";
  if (NUMBER_RE.test(text)) return "Too large to be a finite number.";
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

class Cells {
  start: number[] = [];
  end: number[] = [];
  line: number[] = [];
  /** Text that differs from the cell's characters: a quoted field with doubled quotes. */
  override = new Map<number, string>();
  constructor(readonly source: string) {}
  get length(): number {
    return this.start.length;
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
    this.start.push(start);
    this.end.push(end);
    this.line.push(line);
    return this.start.length - 1;
  }
  text(k: number): string {
    return this.override.size > 0 && this.override.has(k) ? this.override.get(k)! : this.source.slice(this.start[k], this.end[k]);
  }
}

class Rows {
  first: number[] = []; // index of the row's first cell
  count: number[] = [];
  line: number[] = [];
  start: number[] = []; // span of the row: its line's content, or the brackets of a nested array
  end: number[] = [];
  get length(): number {
    return this.first.length;
  }
  add(first: number, count: number, line: number, start: number, end: number): void {
    this.first.push(first);
    this.count.push(count);
    this.line.push(line);
    this.start.push(start);
    this.end.push(end);
  }
  dropFirst(): void {
    this.first.shift();
    this.count.shift();
    this.line.shift();
    this.start.shift();
    this.end.shift();
  }
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

export function parseSeries(text: string, options: ParseSeriesOptions = {}): ParsedSeries {
  const lineOffset = options.lineOffset ?? 0;
  const cap = Math.max(1, options.maxErrors ?? DEFAULT_MAX_ERRORS);
  const newList = () => new ErrorList(cap, lineOffset);

  const starts: number[] = [];
  const ends: number[] = [];
  for (let pos = 0; ; ) {
    const nl = text.indexOf("\n", pos);
    const end = nl < 0 ? text.length : nl;
    starts.push(pos);
    ends.push(end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    if (nl < 0) break;
    pos = nl + 1;
  }
  let first = 0;
  while (first < starts.length && isBlank(text, starts[first], ends[first])) first++;
  if (first === starts.length) return failure("The selection is empty: select numbers (one per line, a CSV table or an array literal).");
  let last = starts.length - 1;
  while (isBlank(text, starts[last], ends[last])) last--;
  const lines: Lines = { text, starts, ends, first, last };

  let firstChar = starts[first];
  while (isSpaceCode(text.charCodeAt(firstChar))) firstChar++;
  ARRAY_START_RE.lastIndex = firstChar;
  const arrayStart = ARRAY_START_RE.exec(text);
  if (arrayStart) {
    const scanned = scanArray(text, ARRAY_START_RE.lastIndex - 1, first, arrayStart[1], arrayStart[2] !== undefined, newList());
    if (scanned instanceof ErrorList) return mergeErrors([scanned], cap)!;
    return finishTable(scanned, options, [], newList, cap);
  }

  // Empty lines inside the data.
  const blank = newList();
  for (let i = first + 1; i < last; i++) if (isBlank(text, starts[i], ends[i])) blank.add(i, "", "An empty line inside the data; remove it, or select only the data.");

  const delimiter = detectDelimiter(lines);
  const table = delimiter ? readDelimited(lines, delimiter, newList) : readTokens(lines, options);
  if (table instanceof ErrorList) return mergeErrors([blank, table], cap)!;
  if (typeof table === "string") return failure(table.replace("{line}", String(lineOffset + Number(/\d+/.exec(table)?.[0] ?? 0))));
  return finishTable(table, options, [blank], newList, cap);
}

interface Lines {
  text: string;
  starts: number[];
  ends: number[];
  first: number; // first and last non-blank lines, 0-based
  last: number;
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

function readDelimited(lines: Lines, delimiter: "," | ";" | "\t", newList: () => ErrorList): Table | ErrorList | string {
  const { text, starts, ends, first, last } = lines;
  const delim = delimiter.charCodeAt(0);
  const structure = newList();
  const cells = new Cells(text);
  const rows = new Rows();
  for (let i = first; i <= last; i++) {
    if (isBlank(text, starts[i], ends[i])) continue;
    const k = cells.length;
    const error = splitDelimitedLine(cells, starts[i], ends[i], delim, i);
    if (error) structure.add(i, text.slice(starts[i], ends[i]).trim(), error);
    else rows.add(k, cells.length - k, i, starts[i], ends[i]);
  }
  if (structure.total > 0) return structure;

  const head = rows.first[0];
  const headCount = rows.count[0];
  let hasHeader = false;
  for (let j = 0; j < headCount; j++) {
    const t = cells.text(head + j);
    if (!isHeaderName(t)) {
      hasHeader = false;
      break;
    }
    if (t !== "") hasHeader = true;
  }
  if (hasHeader) {
    const headerLine = rows.line[0];
    if (rows.length === 1) return `Only a header row (line ${headerLine + 1}{line}), no data below it.`;
    rows.dropFirst();
    return { format: "csv", delimiter, names: headerNames(cells, head, headCount), hasHeader, headerLine, named: true, cells, rows };
  }
  // One line of separated values: a series in reading order.
  if (rows.length === 1) return { format: "csv", delimiter, names: [columnName(0)], hasHeader: false, named: false, cells };
  const width = mostCommon(rows.count);
  return { format: "csv", delimiter, names: Array.from({ length: width }, (_, j) => columnName(j)), hasHeader: false, named: false, cells, rows };
}

function mostCommon(counts: number[]): number {
  const seen = new Map<number, number>();
  let best = counts[0];
  let bestCount = 0;
  for (const c of counts) {
    const n = (seen.get(c) ?? 0) + 1;
    seen.set(c, n);
    if (n > bestCount) {
      bestCount = n;
      best = c;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// One number per line, or whitespace-separated numbers

function readTokens(lines: Lines, options: ParseSeriesOptions): Table {
  const { text, starts, ends, first, last } = lines;
  const cells = new Cells(text);
  const rows = new Rows();
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
    rows.add(k0, n, i, cells.start[k0], cells.end[cells.length - 1]);
    if (width === -1) width = n;
    else if (width !== n) width = -2;
  }
  const format: SeriesFormat = width === 1 ? "lines" : "whitespace";
  let hasHeader = width > 0 && rows.length > 1;
  let named = false;
  for (let j = 0; hasHeader && j < width; j++) {
    const t = cells.text(j);
    hasHeader = isHeaderName(t);
    named ||= t !== "";
  }
  if (hasHeader && named) {
    const headerLine = rows.line[0];
    rows.dropFirst();
    return { format, names: headerNames(cells, 0, width), hasHeader, headerLine, named: true, cells, rows };
  }
  if (width > 1 && (options.columns === "all" || options.column !== undefined)) {
    return { format, names: Array.from({ length: width }, (_, j) => columnName(j)), hasHeader: false, named: false, cells, rows };
  }
  return { format, names: [columnName(0)], hasHeader: false, named: false, cells };
}

// ---------------------------------------------------------------------------------------------
// Array literals

// Optional `export const name: type =` / `let` / `var` / Python `name =`, optional call wrapper
// (`np.array(`, `new Float64Array(`), then the opening bracket.
const ARRAY_START_RE = /(?:(?:export\s+)?(?:const|let|var)\s+)?(?:([A-Za-z_$][\w$]*)\s*(?::[^=\n]*)?=\s*)?((?:new\s+)?[A-Za-z_$][\w$.]*\s*\(\s*)?\[/y;

function scanArray(text: string, open: number, firstLine: number, varName: string | undefined, wrapped: boolean, errors: ErrorList): Table | ErrorList {
  const n = text.length;
  let line = firstLine;
  for (let p = text.indexOf("\n", text.lastIndexOf("\n", firstLine === 0 ? 0 : open) + 1); p >= 0 && p < open; p = text.indexOf("\n", p + 1)) line++;
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
      if (cells.start[k] > s && text.charCodeAt(cells.start[k] - 1) === 34) {
        cells.start[k] = s + (text.slice(s, i).length - text.slice(s, i).trimStart().length);
        cells.end[k] = cells.start[k] + text.slice(cells.start[k], i).trimEnd().length;
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
    errors.add(line, snippet(open), "The array is not closed; a ] is missing.");
    return errors;
  }
  const rest = text.slice(i);
  const trailing = wrapped ? /^\s*(?:,[^[\]]*)?\)\s*;?\s*(?:(?:\/\/|#)[^\n]*\s*)*$/ : /^\s*;?\s*(?:(?:\/\/|#)[^\n]*\s*)*$/;
  if (!trailing.test(rest)) {
    const lead = /^\s*/.exec(rest)![0];
    let l = line;
    for (let k = 0; k < lead.length; k++) if (lead.charCodeAt(k) === 10) l++;
    errors.add(l, rest.slice(lead.length).split("\n")[0], wrapped ? "Unexpected text after the array; the selection should end with its closing parenthesis." : "Unexpected text after the array; select only the array.");
  }
  if (errors.total > 0) return errors;
  if (top === undefined) {
    errors.add(firstLine, text.slice(open, i), "The array is empty.");
    return errors;
  }
  if (top === "number") return { format: "array", names: [varName ?? columnName(0)], hasHeader: false, named: varName !== undefined, cells };
  const width = mostCommon(rows.count);
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

function strictlyIncreasing(values: ArrayLike<number>): boolean {
  for (let k = 0; k < values.length; k++) if (Number.isNaN(values[k]) || (k > 0 && !(values[k] > values[k - 1]))) return false;
  return true;
}

function finishTable(table: Table, options: ParseSeriesOptions, earlier: ErrorList[], newList: () => ErrorList, cap: number): ParsedSeries {
  const { cells, rows, names } = table;
  const width = names.length;
  const nRows = rows ? rows.length : cells.length;
  const lineOffset = options.lineOffset ?? 0;
  const rowFirst = (r: number) => (rows ? rows.first[r] : r);
  const rowCount = (r: number) => (rows ? rows.count[r] : 1);
  const rowLine = (r: number) => (rows ? rows.line[r] : cells.line[r]);

  // Parse every cell of every complete row once; NaN marks a cell that is not a number.
  const parsed = names.map(() => new Float64Array(nRows));
  const good = new Array<number>(width).fill(0);
  const numberish = new Array<number>(width).fill(0);
  const textual = new Array<number>(width).fill(0);
  for (let r = 0; r < nRows; r++) {
    if (rowCount(r) !== width) {
      for (let j = 0; j < width; j++) parsed[j][r] = NaN;
      continue;
    }
    const k0 = rowFirst(r);
    for (let j = 0; j < width; j++) {
      const t = cells.text(k0 + j);
      const v = parseNumber(t);
      if (v !== undefined) {
        parsed[j][r] = v;
        good[j]++;
        continue;
      }
      parsed[j][r] = NaN;
      if (t === "") continue;
      if (isHeaderName(t) && !/\b(nan|inf|infinity)\b/i.test(t)) textual[j]++;
      else numberish[j]++;
    }
  }
  const columns: ColumnInfo[] = names.map((name, j) => {
    const numeric = good[j] + numberish[j] > 0 && good[j] + numberish[j] >= textual[j];
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
  const rowText = (r: number): string => cells.source.slice(rows!.start[r], rows!.end[r]).trim();
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
      cellErrors.add(cells.line[k], t, describeBadNumber(t).replace(/\.$/, `${mention(j)}.`));
    }
  }
  const failed = mergeErrors([...earlier, cellErrors], cap);
  if (failed) return failed;
  if (nRows === 0) return failure("No numbers in the selection.");

  const values = Array.from(parsed[chosen]);
  const sources: SeriesSource[] = new Array(nRows);
  if (features && rows) {
    for (let r = 0; r < nRows; r++) {
      if (table.format === "array") sources[r] = { line: rows.line[r] + 1 + lineOffset, start: rows.start[r], end: rows.end[r] };
      else {
        const a = rows.first[r] + used[0];
        const b = rows.first[r] + used[used.length - 1];
        sources[r] = { line: cells.line[a] + 1 + lineOffset, start: cells.start[a], end: cells.end[b] };
      }
    }
  } else {
    for (let r = 0; r < nRows; r++) {
      const k = rowFirst(r) + chosen;
      sources[r] = { line: cells.line[k] + 1 + lineOffset, start: cells.start[k], end: cells.end[k] };
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
  const time = columns.find((c) => c.isTime && c.numeric);
  if (time) {
    result.time = Array.from(parsed[time.index]);
    result.timeName = time.name;
  }
  return result;
}
