// What every reader produces: a table of cells, each cell a span of the selection's characters,
// rows as runs of cells, and the columns' names. finishRows (./tableResult.ts) turns it into the
// result.
import * as numberScanner from "./numberScanner";
import type { SeriesFormat } from "./seriesTypes";
import * as textLines from "./textLines";

// Called per cell and per character: bound once (see textLines.ts).
const { numberAt, parseNumber } = numberScanner;
const { isSpaceCode } = textLines;

export interface Table {
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

// Cells and rows are kept as parallel arrays of numbers, no object per cell, so a
// selection of a million numbers stays cheap. The streaming reader (./lineScanner.ts) keeps one
// line's cells at a time in a Cells it clears.

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

export class Cells {
  private readonly starts = new IntList();
  private readonly ends = new IntList();
  private readonly lines = new IntList();
  /** Text that differs from the cell's characters: a quoted field with doubled quotes. */
  override = new Map<number, string>();
  constructor(readonly source: string) {}
  get length(): number {
    return this.starts.length;
  }
  /** Empties the list, keeping its storage: a streaming reader reuses one for each line. */
  clear(): void {
    this.starts.length = 0;
    this.ends.length = 0;
    this.lines.length = 0;
    if (this.override.size > 0) this.override.clear();
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

export class Rows {
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

/** A column's name without a header: `column 1`, `column 2`, ... (1-based). */
export function columnName(i: number): string {
  return `column ${i + 1}`;
}

/** Looks like a column name rather than a value: starts with a letter, an underscore or a bracket, and is not a missing-value or non-finite word. */
export function isHeaderName(text: string): boolean {
  if (text === "") return true;
  if (!/^[\p{L}_([{#]/u.test(text)) return false;
  return !/^(nan|inf|infinity|null|none|na|n\/a|nil|undefined|missing)$/i.test(text);
}

/** `column 1` ... `column <width>`: the names of a table without a header. */
export function numberedNames(width: number): string[] {
  return Array.from({ length: width }, (_, j) => columnName(j));
}

/** A header row: every cell looks like a name (no cell is a number, nor meant as one), and some cell is not empty. */
export function isHeaderRow(cells: Cells, first: number, count: number): boolean {
  let named = false;
  for (let j = 0; j < count; j++) {
    const t = cells.text(first + j);
    if (!isHeaderName(t)) return false;
    named ||= t !== "";
  }
  return named;
}

/** The names in a header row of `count` cells from `first`; an empty cell gets its column's number. */
export function headerNames(cells: Cells, first: number, count: number): string[] {
  return Array.from({ length: count }, (_, j) => cells.text(first + j).replace(/^\ufeff/, "") || columnName(j));
}
