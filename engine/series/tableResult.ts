// From a reader's table to the result: which columns are numbers and which is the time axis, the
// column to return (asked for, or the only candidate; several mean a question), every problem in
// the rows and the columns used, and the values with their sources.
import { DATE_RE } from "./numberScanner";
import { describeBadNumber, failure, mergeErrors, type ErrorList } from "./seriesErrors";
import type { ColumnInfo, ParsedSeries, ParsedSeriesValues, ParseSeriesOptions, SeriesSource } from "./seriesTypes";
import { columnName, isHeaderName, type Table } from "./table";

const TIME_NAME_RE = /^(?:t|time|times|timestamp|datetime|date|dates|day|days|week|weeks|month|months|year|years|index|idx|step|steps|period|ds)(?!\p{L})/iu;

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

/**
 * The result for a reader's table. `earlier`: problems found before it (empty lines inside the
 * data), listed with its own; `newList` makes a list with the caller's cap and line offset.
 */
export function finishTable(table: Table, options: ParseSeriesOptions, earlier: ErrorList[], newList: () => ErrorList, cap: number): ParsedSeries {
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
