// From a reader's rows to the result: which columns are numbers and which is the time axis, the
// column to return (asked for, or the only candidate; several mean a question), every problem in
// the rows and the columns used, and the values with their sources, for the window of rows asked
// for. Every row is read once for the columns and the problems, holding counts and the listed
// problems only; then the window's rows are read again for their values.
import * as numberScanner from "./numberScanner";
import type { RowSource } from "./rows";
import { describeBadNumber, failure, mergeErrors, ErrorList } from "./seriesErrors";
import type { ColumnInfo, ParsedSeries, ParsedSeriesValues, ParseSeriesOptions, SeriesSource } from "./seriesTypes";
import { columnName, isHeaderName } from "./table";
import { isPartial, seriesWindow } from "./window";

// Called per cell: bound once (see textLines.ts).
const { DATE_RE } = numberScanner;

const TIME_NAME_RE = /^(?:t|time|times|timestamp|datetime|date|dates|day|days|week|weeks|month|months|year|years|index|idx|step|steps|period|ds)(?!\p{L})/iu;
const NON_FINITE_RE = /\b(nan|inf|infinity)\b/i;

function isTimeName(name: string): boolean {
  return TIME_NAME_RE.test(name.trim());
}

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

/** A column's cells that are not numbers: the first `cap` (line, text) and how many in all. */
class BadCells {
  lines: number[] = [];
  texts: string[] = [];
  total = 0;
  constructor(private readonly cap: number) {}
  add(line: number, text: string): void {
    this.total++;
    if (this.lines.length < this.cap) {
      this.lines.push(line);
      this.texts.push(text);
    }
  }
}

/**
 * The result for a reader's rows. `earlier`: problems found before (empty lines inside the data),
 * listed with its own; `newList` makes a list with the caller's cap and line offset.
 */
export function finishRows(src: RowSource, options: ParseSeriesOptions, earlier: ErrorList[], newList: () => ErrorList, cap: number): ParsedSeries {
  const { names, text } = src;
  const width = names.length;
  const nRows = src.rowCount;
  const lineOffset = options.lineOffset ?? 0;

  // Every row once: per column, how many cells are numbers, meant as numbers (NaN, 1,000) or text;
  // whether a time-like column increases; the cells that are not numbers; the ragged rows.
  const good = new Array<number>(width).fill(0);
  const meantAsNumber = new Array<number>(width).fill(0);
  const textual = new Array<number>(width).fill(0);
  const bad = names.map(() => new BadCells(cap));
  const timeLike = names.map((name, j) => src.hasHeader && nRows > 1 && (name === columnName(j) || isTimeName(name)));
  // an empty header cell: a row index, as R and pandas write them
  const numIncreasing = timeLike.slice();
  const dateIncreasing = timeLike.map((t, j) => t && names[j] !== columnName(j));
  const lastNum = new Array<number>(width).fill(-Infinity);
  const lastDate = new Array<number>(width).fill(-Infinity);
  const ragged = { lines: [] as number[], texts: [] as string[], counts: [] as number[], total: 0 };
  const timeCols = timeLike.flatMap((t, j) => (t ? [j] : []));
  src.scan((_, row) => {
    const { cells, first, count } = row;
    if (count !== width) {
      ragged.total++;
      if (ragged.lines.length < cap) {
        ragged.lines.push(row.line);
        ragged.texts.push(text.slice(row.start, row.end).trim());
        ragged.counts.push(count);
      }
      for (const j of timeCols) numIncreasing[j] = dateIncreasing[j] = false;
      return;
    }
    for (let j = 0; j < width; j++) {
      const v = cells.value(first + j);
      if (numIncreasing[j]) {
        if (v > lastNum[j]) lastNum[j] = v;
        else numIncreasing[j] = false;
      }
      if (dateIncreasing[j]) {
        const d = Date.parse(cells.text(first + j));
        if (d > lastDate[j]) lastDate[j] = d;
        else dateIncreasing[j] = false;
      }
      if (!Number.isNaN(v)) {
        good[j]++;
        continue;
      }
      const t = cells.text(first + j);
      bad[j].add(cells.line(first + j), t);
      if (t === "") continue;
      if ((isHeaderName(t) && !NON_FINITE_RE.test(t)) || DATE_RE.test(t)) textual[j]++;
      else meantAsNumber[j]++;
    }
  });
  const columns: ColumnInfo[] = names.map((name, j) => {
    const numeric = good[j] + meantAsNumber[j] > 0 && good[j] + meantAsNumber[j] >= textual[j];
    const isTime = timeLike[j] && (numeric ? numIncreasing[j] : dateIncreasing[j]);
    return { index: j, name, numeric, isTime };
  });

  const expected = src.headerLine !== undefined ? `the header on line ${src.headerLine + 1 + lineOffset} has` : "most rows have";
  const raggedReason = (k: number): string =>
    k < width ? `This row has ${k} ${k === 1 ? "value" : "values"} but ${expected} ${width}; a cell is missing.` : `This row has ${k} values but ${expected} ${width}; there is an extra cell.`;
  const raggedOnly = (): ErrorList => {
    const list = newList();
    ragged.lines.forEach((line, i) => list.add(line, ragged.texts[i], raggedReason(ragged.counts[i])));
    list.total = ragged.total;
    return list;
  };
  const needs = (message: string): ParsedSeries => mergeErrors([...earlier, raggedOnly()], cap) ?? { ok: false, needsColumn: true, format: src.format, columns, message };
  const nameList = (cols: ColumnInfo[]) => shortList(cols.map((c) => c.name));
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
  if (src.allFeatures) features = columns.map((c) => c.index);
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
      const time = columns.filter((c) => c.isTime).map((c) => `"${shortName(c.name)}"`);
      const timeNote = time.length > 0 ? ` ${shortList(time)} ${time.length === 1 ? "looks" : "look"} like the time axis.` : "";
      return needs(`The selection has ${numericCols.length} numeric columns (${nameList(numericCols)}); choose one.${timeNote}`);
    } else if (width === 1) chosen = 0; // its cells are reported below
    else return mergeErrors([...earlier, raggedOnly()], cap) ?? failure(`No column of numbers in the selection (columns: ${nameList(columns)}).`);
  }

  // Errors: ragged rows, and bad cells in the columns used.
  const used = [...new Set([chosen, ...(features ?? [])])].sort((a, b) => a - b);
  const mention = width === 1 ? () => "" : src.named ? (j: number) => ` (column "${names[j]}")` : (j: number) => ` (${names[j]})`;
  const cellErrors = used.map((j) => {
    const list = newList();
    bad[j].lines.forEach((line, i) => list.add(line, bad[j].texts[i], describeBadNumber(bad[j].texts[i]).replace(/\.$/, `${mention(j)}.`)));
    list.total = bad[j].total;
    return list;
  });
  const failed = mergeErrors([...earlier, raggedOnly(), ...cellErrors], cap);
  if (failed) return failed;
  if (nRows === 0) return failure("No numbers in the selection.");

  const w = seriesWindow(nRows, options);
  if (typeof w === "string") return failure(w);
  const n = w.to - w.from;
  // The window's rows again: their values and where each came from.
  const values = new Array<number>(n);
  const sources: SeriesSource[] = new Array(n);
  const featureRows: number[][] | undefined = features ? new Array(n) : undefined;
  const time = columns.find((c) => c.isTime);
  const times: number[] | undefined = time ? new Array(n) : undefined;
  const rowSpans = !!features && !src.flat;
  const arrayRows = src.format === "array";
  src.scan(
    (r, row) => {
      const i = r - w.from;
      const { cells, first } = row;
      values[i] = cells.value(first + chosen!);
      if (rowSpans && arrayRows) sources[i] = { line: row.line + 1 + lineOffset, start: row.start, end: row.end };
      else if (rowSpans) {
        const a = first + used[0];
        const b = first + used[used.length - 1];
        sources[i] = { line: cells.line(a) + 1 + lineOffset, start: cells.start(a), end: cells.end(b) };
      } else {
        const k = first + chosen!;
        sources[i] = { line: cells.line(k) + 1 + lineOffset, start: cells.start(k), end: cells.end(k) };
      }
      if (featureRows) featureRows[i] = features!.map((j) => cells.value(first + j));
      if (times) times[i] = time!.numeric ? cells.value(first + time!.index) : Date.parse(cells.text(first + time!.index));
    },
    w.from,
    w.to,
  );
  const result: ParsedSeriesValues = { ok: true, format: src.format, hasHeader: src.hasHeader, values, sources };
  if (src.delimiter) result.delimiter = src.delimiter;
  if (src.named || width > 1) {
    result.columnName = names[chosen];
    result.columnIndex = chosen;
  }
  if (!src.flat) result.columns = columns;
  if (features) {
    result.features = featureRows;
    result.featureNames = features.map((j) => names[j]);
  }
  if (time) {
    result.time = times;
    result.timeName = time.name;
  }
  if (isPartial(w)) result.window = w;
  return result;
}

/** Names a message lists before it says how many more there are (a table may have thousands of columns). */
const LISTED_NAMES = 8;
/** Characters of a column's name a message quotes. */
const NAME_CHARS = 40;

function shortName(name: string): string {
  return name.length > NAME_CHARS ? `${name.slice(0, NAME_CHARS - 1)}…` : name;
}

/** The first few names (each cut to a readable length), then "and N more". */
function shortList(names: string[]): string {
  const shown = names.slice(0, LISTED_NAMES).map(shortName).join(", ");
  return names.length > LISTED_NAMES ? `${shown} and ${(names.length - LISTED_NAMES).toLocaleString("en-US")} more` : shown;
}
