// What "Show Gates" runs on: the selection as a numeric series (a CSV column — asking which when
// there are several —, an array literal, one number per line, whitespace separated) or as text for a
// character model, with the reason for the choice and the other reading the user can ask for.
// A CSV selection that starts below the file's header line gets its column names from that line.
// Bad numbers are reported with their line numbers in the Problems view and one message; nothing is
// silently dropped.
import * as vscode from "vscode";
import type { EngineClient } from "../engine/client";
import type { GatesReading, StepWindow } from "../protocol/gates";

/** A series: its rows, and each row's [start, end) offsets in the text of `range`. */
export type GatesInput =
  | { kind: "text"; text: string; reading: GatesReading; range: vscode.Range }
  | { kind: "series"; rows: number[][]; sourceStart: Int32Array; sourceEnd: Int32Array; column?: number; reading: GatesReading; range: vscode.Range; window?: StepWindow };

/** A decimal number. One way to match each digit string: `\d+\.?\d*` backtracks quadratically on a long run of digits that fails. */
const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A date or a time of day: 2020-01-31, 2020-01, 2020-01-31T12:00:00Z, 31/01/2020, 12:30. */
const DATE = /^(?:\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;
/** Names of a time, date or index axis (as the engine's reader knows them). */
const TIME_NAME = /^(?:t|time|times|timestamp|datetime|date|dates|day|days|week|weeks|month|months|year|years|index|idx|step|steps|period|ds)(?!\p{L})/iu;
/** `const xs =`, `xs: number[] =`, `xs = np.array(` and the like before an array literal. */
const ASSIGNMENT = /^\s*(?:(?:const|let|var)\s+)?[\w.$]+\s*(?::[^=]+)?=\s*(?:[\w.]+\()?/;
/** The most rows the column picker looks at to describe the columns (the engine reads them all). */
const SUMMARY_ROWS = 50_000;

/** A line of numbers only (brackets, quotes and separators aside; dates and times beside them are a time axis). */
function numericLine(line: string): boolean {
  const cells = line.split(/[\s,;[\]()]+/).map((c) => c.replace(/^"|"$/g, "")).filter((c) => c !== "");
  return cells.some((c) => NUMBER.test(c)) && cells.every((c) => NUMBER.test(c) || DATE.test(c));
}

/** A cell that reads as a column name: starts with a letter, an underscore or a bracket, and is not a missing-value word. */
function isName(cell: string): boolean {
  return /^[\p{L}_([{#]/u.test(cell) && !/^(nan|inf|infinity|null|none|na|n\/a|nil|undefined|missing)$/i.test(cell);
}

/** The separator found on more than half of the first 200 non-blank lines; ties: tab, semicolon, comma. */
export function detectDelimiter(lines: string[]): "," | ";" | "\t" | undefined {
  const sample = lines.filter((l) => l.trim() !== "").slice(0, 200);
  const count = (d: string) => sample.filter((l) => l.replace(/"[^"]*"/g, "").includes(d)).length;
  const [t, s, c] = ["\t", ";", ","].map(count);
  const best = Math.max(t, s, c);
  if (best * 2 <= sample.length || best === 0) return undefined;
  return t === best ? "\t" : s === best ? ";" : ",";
}

/** One CSV line's cells: spaces and one pair of quotes around each removed, doubled quotes undone. */
export function splitCells(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      if (quoted && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === delimiter && !quoted) {
      cells.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  cells.push(cur.trim());
  return cells;
}

/** A header line: two or more cells, each a name (no numbers), split by `delimiter`. */
export function isHeaderLine(line: string, delimiter: string | undefined): boolean {
  if (!delimiter) return false;
  const cells = splitCells(line, delimiter);
  return cells.length >= 2 && cells.every((c) => c === "" || isName(c)) && cells.some((c) => c !== "");
}

/** Mostly numbers: most non-empty lines hold only numbers (a header line and a few bad cells allowed); the first 200 lines decide. */
export function looksNumeric(text: string): boolean {
  const lines = text.slice(0, 200_000).split(/\r?\n/, 200).filter((l) => l.trim() !== "");
  if (lines.length === 0) return false;
  lines[0] = lines[0].replace(ASSIGNMENT, "");
  // A CSV header line over the numbers is not a reason to read the selection as text.
  const body = lines.length > 1 && isHeaderLine(lines[0], detectDelimiter(lines)) ? lines.slice(1) : lines;
  const numeric = body.filter(numericLine);
  return numeric.length >= Math.max(1, body.length * 0.6);
}

/**
 * The header line to read a CSV selection's column names from when the selection starts below it:
 * the document's first line, when it is a header with as many cells as the selection's first row,
 * and the selection is not itself headed. Undefined otherwise.
 */
export function headerAbove(firstDocumentLine: string, selection: string, selectionStartLine: number): string | undefined {
  if (selectionStartLine <= 0) return undefined;
  const lines = selection.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) return undefined;
  const delimiter = detectDelimiter(lines);
  if (!delimiter || isHeaderLine(lines[0], delimiter) || !isHeaderLine(firstDocumentLine, delimiter)) return undefined;
  return splitCells(firstDocumentLine, delimiter).length === splitCells(lines[0], delimiter).length ? firstDocumentLine.replace(/^\ufeff/, "") : undefined;
}

/** What the column picker says about one column of a CSV selection. */
export interface ColumnSummary {
  index: number;
  /** The header's name, or `column N` (1-based) without one. */
  name: string;
  named: boolean;
  /** Most cells are numbers: the series can come from here (the cells that are not numbers are listed). */
  numeric: boolean;
  /** Cells of a numeric column that are not numbers: 1-based document line and the cell's text (the first few). */
  bad: { line: number; text: string }[];
  badCount: number;
  /** The first few cells as written. */
  samples: string[];
  /** Why the column looks like the time axis (its name, its dates, its evenly rising numbers); absent when it does not. */
  time?: string;
  /** Rows looked at (at most 50,000), and the 1-based document lines of the first and the last. */
  rows: number;
  lines: [number, number];
}

function fmtStep(v: number): string {
  return String(+v.toPrecision(4));
}

/** Strictly increasing by a near-constant step: the step, else undefined. */
function evenStep(values: number[]): number | undefined {
  if (values.length < 3) return undefined;
  const diffs: number[] = [];
  for (let i = 1; i < values.length; i++) {
    const d = values[i] - values[i - 1];
    if (!(d > 0)) return undefined;
    diffs.push(d);
  }
  const sorted = [...diffs].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  // Calendar steps (months of 28 to 31 days, business days over weekends) vary: within a third of the median.
  return diffs.every((d) => Math.abs(d - median) <= median / 3) ? median : undefined;
}

/**
 * The columns of a CSV selection, described for the column picker: names (from the selection's
 * header line or `header`, the document's first line), a few sample cells, whether each is numeric
 * (and which cells are not), and whether it looks like the time axis. `firstLine`: the 1-based
 * document line of the selection's first line. Undefined when the selection is not a table.
 */
export function summarizeColumns(text: string, firstLine: number, header?: string): ColumnSummary[] | undefined {
  const all = text.split(/\r?\n/, SUMMARY_ROWS + 1);
  const nonBlank = all.filter((l) => l.trim() !== "");
  const delimiter = detectDelimiter(nonBlank);
  if (!delimiter) return undefined;
  let names: string[] | undefined = header !== undefined ? splitCells(header, delimiter) : undefined;
  const rows: { line: number; cells: string[] }[] = [];
  for (let i = 0; i < all.length && rows.length < SUMMARY_ROWS; i++) {
    if (all[i].trim() === "") continue;
    if (names === undefined && rows.length === 0 && isHeaderLine(all[i], delimiter)) {
      names = splitCells(all[i], delimiter);
      continue;
    }
    rows.push({ line: firstLine + i, cells: splitCells(all[i], delimiter) });
  }
  const width = names?.length ?? Math.max(0, ...rows.map((r) => r.cells.length));
  return Array.from({ length: width }, (_, j) => {
    const name = names?.[j]?.replace(/^\ufeff/, "") || `column ${j + 1}`;
    const named = !!names?.[j];
    const cells = rows.filter((r) => r.cells.length === width).map((r) => ({ line: r.line, text: r.cells[j] }));
    const numbers = cells.filter((c) => NUMBER.test(c.text));
    const dates = cells.filter((c) => DATE.test(c.text));
    const numeric = numbers.length > 0 && numbers.length * 2 > cells.length;
    const notNumbers = numeric ? cells.filter((c) => !NUMBER.test(c.text)) : [];
    let time: string | undefined;
    if (numeric && notNumbers.length === 0) {
      const step = evenStep(numbers.map((c) => Number(c.text)));
      if (named && TIME_NAME.test(name.trim()) && step !== undefined) time = `the time axis by its name, rising by ${fmtStep(step)} a row`;
      else if (step !== undefined && (!named || TIME_NAME.test(name.trim()))) time = `the time axis by its values: they rise evenly, by ${fmtStep(step)} a row`;
    } else if (dates.length === cells.length && cells.length > 0) {
      const ms = dates.map((c) => Date.parse(c.text));
      time = ms.every((v, i) => !Number.isNaN(v) && (i === 0 || v > ms[i - 1])) ? `the time axis: dates from ${dates[0].text} to ${dates[dates.length - 1].text}` : "dates";
    } else if (named && TIME_NAME.test(name.trim()) && !numeric) time = `the time axis by its name`;
    return { index: j, name, named, numeric, bad: notNumbers.slice(0, 3), badCount: notNumbers.length, samples: cells.slice(0, 3).map((c) => c.text), time, rows: cells.length, lines: [cells[0]?.line ?? firstLine, cells[cells.length - 1]?.line ?? firstLine] };
  });
}

/** "numeric except line 17: "abc"" and the like: what the picker says about a column's kind. */
export function describeColumn(c: ColumnSummary): string {
  const samples = c.samples.map((s) => JSON.stringify(s)).join(", ") + (c.rows > c.samples.length ? ", …" : "");
  let kind: string;
  if (c.numeric && c.badCount === 0) kind = "numeric";
  else if (c.numeric) {
    const listed = c.bad.map((b) => `line ${b.line}: ${JSON.stringify(b.text)}`).join(", ");
    kind = c.badCount === 1 ? `numeric except ${listed}` : `numeric except ${c.badCount} cells (${listed}${c.badCount > c.bad.length ? ", …" : ""})`;
  } else kind = c.time === "dates" || c.time?.startsWith("the time axis: dates") ? "dates" : "text";
  return `${kind} · ${samples}`;
}

/** Says why a selection that is not numbers is read as text: its first line with letters, or that it is a header line alone. */
export function textReason(text: string): string {
  const lines = text.split(/\r?\n/);
  const nonBlank = lines.filter((l) => l.trim() !== "");
  if (nonBlank.length === 0) return "the selection is empty";
  if (nonBlank.length === 1 && isHeaderLine(nonBlank[0], detectDelimiter(nonBlank))) {
    const cells = splitCells(nonBlank[0], detectDelimiter(nonBlank)!);
    const names = cells.slice(0, 6).map((n) => JSON.stringify(n.length > 40 ? `${n.slice(0, 39)}…` : n)).join(", ") + (cells.length > 6 ? `, and ${cells.length - 6} more` : "");
    return `the selection is a header line (${names}) with no numbers under it`;
  }
  const i = lines.findIndex((l) => /\p{L}/u.test(l) && !numericLine(l));
  const shown = i >= 0 ? lines[i].trim() : "";
  return i >= 0 ? `the selection has letters, not only numbers (its line ${i + 1}: ${JSON.stringify(shown.length > 40 ? `${shown.slice(0, 39)}…` : shown)})` : "most of its lines are not numbers";
}

/** Messages, the column question and the Problems view: VS Code's by default, stood in for by tests. */
export interface GatesInputUi {
  pickColumn(items: ColumnPickItem[], placeHolder: string): Promise<ColumnPickItem | undefined>;
  error(message: string): void;
  /** The problems of a bad series, shown in the Problems view (1-based document lines); [] clears them. */
  problems(uri: vscode.Uri, list: { line: number; message: string }[]): void;
}

export interface ColumnPickItem {
  label: string;
  description: string;
  detail?: string;
  index: number;
}

export function vscodeUi(diagnostics: vscode.DiagnosticCollection, doc: Pick<vscode.TextDocument, "lineAt" | "lineCount">): GatesInputUi {
  return {
    pickColumn: (items, placeHolder) => Promise.resolve(vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true })),
    error: (message) => void vscode.window.showErrorMessage(message),
    problems: (uri, list) => {
      if (list.length === 0) return diagnostics.delete(uri);
      diagnostics.set(
        uri,
        list.map((p) => {
          const d = new vscode.Diagnostic(doc.lineAt(Math.max(0, Math.min(p.line - 1, doc.lineCount - 1))).range, `SeqLens: ${p.message}`, vscode.DiagnosticSeverity.Error);
          d.source = "SeqLens";
          return d;
        }),
      );
    },
  };
}

export type GatesDocument = Pick<vscode.TextDocument, "getText" | "lineAt" | "lineCount" | "uri" | "offsetAt" | "positionAt">;

export interface ReadOptions {
  /** The CSV column chosen before (a window reload). */
  column?: number;
  /** The reading the user asked for ("read as a series" / "read as text"); otherwise the selection decides. */
  as?: "text" | "series";
  /** Of a series longer than the engine reads at once: the window to read, counted back from the end (0, the default: the last). */
  window?: number;
  /** Cancels the reading (the engine's parse of a long selection). */
  signal?: AbortSignal;
}

/** The numeric rows under a header-only selection: the block of non-blank lines below it, or undefined when they are not numbers. */
function tableBelow(doc: GatesDocument, headerLine: number): vscode.Range | undefined {
  let last = headerLine;
  while (last + 1 < doc.lineCount && doc.lineAt(last + 1).text.trim() !== "") last++;
  if (last === headerLine) return undefined;
  const sample = Array.from({ length: Math.min(20, last - headerLine) }, (_, k) => doc.lineAt(headerLine + 1 + k).text).join("\n");
  if (!looksNumeric(sample)) return undefined;
  return new vscode.Range(new vscode.Position(headerLine, 0), new vscode.Position(last, doc.lineAt(last).text.length));
}

/** The other reading a text selection can have: a series, when a column of it is numbers (or the table under its header line is). */
function seriesOffer(doc: GatesDocument, range: vscode.Range, text: string): GatesReading["other"] {
  const nonBlank = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (nonBlank.length === 1 && isHeaderLine(nonBlank[0], detectDelimiter(nonBlank))) {
    const below = tableBelow(doc, range.start.line + text.slice(0, text.indexOf(nonBlank[0])).split("\n").length - 1);
    return below ? { kind: "series", label: `Read the table under it (lines ${below.start.line + 1}–${below.end.line + 1}) as a series` } : undefined;
  }
  const cols = summarizeColumns(text, range.start.line + 1);
  const numeric = cols?.filter((c) => c.numeric && c.rows >= 2);
  if (numeric?.length) return { kind: "series", label: numeric.length === 1 && cols!.length > 1 ? `Read column ${JSON.stringify(numeric[0].name)} as a series` : "Read as a series" };
  return nonBlank.length > 1 && nonBlank.filter(numericLine).length * 2 >= nonBlank.length ? { kind: "series", label: "Read as a series" } : undefined;
}

/**
 * Reads the selection. Returns undefined when the user cancelled the column choice or the numbers
 * had errors (already reported, with their lines in the Problems view).
 */
export async function readGatesInput(doc: GatesDocument, range: vscode.Range, client: Pick<EngineClient, "request">, ui: GatesInputUi, options: ReadOptions = {}): Promise<GatesInput | undefined> {
  let text = doc.getText(range);
  ui.problems(doc.uri, []);
  const numeric = looksNumeric(text);
  if (options.as === "text" || (options.as !== "series" && !numeric)) {
    const reason = options.as === "text" ? (numeric ? "you asked for it (the selection is numbers)" : textReason(text)) : textReason(text);
    const other = numeric ? { kind: "series" as const, label: "Read as a series" } : seriesOffer(doc, range, text);
    return { kind: "text", text, range, reading: { kind: "text", reason: `Read as text for the character model: ${reason}.`, ...(other ? { other } : {}) } };
  }
  // A header line alone, read as a series: the table under it.
  const nonBlank = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (nonBlank.length === 1 && isHeaderLine(nonBlank[0], detectDelimiter(nonBlank))) {
    const below = tableBelow(doc, range.start.line + text.slice(0, text.indexOf(nonBlank[0])).split("\n").length - 1);
    if (below) {
      range = below;
      text = doc.getText(range);
    }
  }

  // The selection from its first non-blank line, with the document's header line above it when it has none.
  const lead = /^(?:[ \t]*\r?\n)*/.exec(text)![0];
  const leadLines = lead.split("\n").length - 1;
  const firstLine = range.start.line + leadLines; // 0-based document line of the selection's first row
  const body = text.slice(lead.length);
  const startsAtLine = range.start.character === 0 || leadLines > 0 || doc.lineAt(range.start.line).text.slice(0, range.start.character).trim() === "";
  const header = startsAtLine ? headerAbove(doc.lineAt(0).text, body, firstLine) : undefined;
  const parseText = header !== undefined ? `${header}\n${body}` : body;
  /** Offsets in parseText minus shift: offsets in the selection's text. */
  const shift = header !== undefined ? header.length + 1 - lead.length : -lead.length;
  const lineOffset = header !== undefined ? firstLine - 1 : firstLine;
  const summary = summarizeColumns(body, firstLine + 1, header);

  // The numbers are read in the engine process: a huge selection never holds up the editor.
  const parse = (column?: number) => client.request("parseSeries", { text: parseText, lineOffset, ...(column !== undefined ? { column } : {}), ...(options.window ? { window: options.window } : {}) }, { signal: options.signal });
  let parsed = await parse(options.column);
  let chosenBecause = "";
  if (!parsed.ok && parsed.needsColumn) {
    const cols = parsed.columns;
    const info = (i: number) => summary?.[i];
    const series = cols.filter((c) => c.numeric && !c.isTime && !info(c.index)?.time);
    if (series.length === 1 && options.column === undefined) {
      // The others are the time axis, known by their values when the header did not say.
      const time = cols.filter((c) => c.index !== series[0].index && info(c.index)?.time);
      chosenBecause = time.map((c) => `${JSON.stringify(info(c.index)!.name)} is ${info(c.index)!.time}`).join("; ");
      parsed = await parse(series[0].index);
    } else {
      const listed = [...series, ...cols.filter((c) => c.numeric && !series.includes(c))];
      if (listed.length === 0) {
        // nothing to pick from (a column chosen before that is gone, or no numeric column): say why
        ui.error(`SeqLens: ${parsed.message}`);
        return undefined;
      }
      const items: ColumnPickItem[] = listed.map((c) => {
        const s = info(c.index);
        const name = s?.name ?? c.name;
        const where = s?.named || !/^column \d+$/.test(name) ? `column ${c.index + 1} · ` : "";
        const time = s?.time ?? (c.isTime ? "the time axis" : undefined);
        return { label: name, description: `${where}${s ? describeColumn(s) : "numeric"}`, ...(time ? { detail: `Looks like ${time}.` } : {}), index: c.index };
      });
      const rows = summary?.[0]?.rows;
      const lines = summary?.[0]?.lines;
      const names = header !== undefined ? `; names from the header on line 1` : "";
      const pick = await ui.pickColumn(items, `Which column is the series? ${listed.length} numeric columns${rows !== undefined && lines && rows < SUMMARY_ROWS ? `, ${rows} rows (lines ${lines[0]}–${lines[1]})` : ""}${names}.`);
      if (!pick) return undefined;
      parsed = await parse(pick.index);
    }
  }
  if (!parsed.ok) {
    if (parsed.needsColumn) {
      ui.error(`SeqLens: ${parsed.message}`);
      return undefined;
    }
    // With the header line put above the selection, the engine counts it as line `firstLine`: it is line 1.
    const fix = (s: string) => (header !== undefined ? s.replace(`the header on line ${firstLine}`, "the header on line 1") : s);
    ui.problems(doc.uri, parsed.errors.map((e) => ({ line: e.line, message: fix(e.reason) })));
    const total = parsed.errors.length + parsed.more;
    if (total === 0) {
      ui.error(`SeqLens: ${fix(parsed.message)}`);
      return undefined;
    }
    // One list of the problems (the engine's message repeats the first one: it is not used here).
    const listed = parsed.errors.slice(0, 3).map((e) => `On line ${e.line}${e.text ? ` (${JSON.stringify(e.text)})` : ""}: ${fix(e.reason)}`).join(" ");
    const rest = total > 3 ? ` ${total - 3} more in the Problems view.` : "";
    ui.error(`SeqLens: nothing was run; ${total} problem${total === 1 ? "" : "s"} in the selection. ${listed}${rest}`);
    return undefined;
  }
  const n = parsed.values.length;
  const sourceStart = Int32Array.from(parsed.sourceStart, (o) => o - shift);
  const sourceEnd = Int32Array.from(parsed.sourceEnd, (o) => o - shift);
  const base = doc.offsetAt(range.start);
  const lineOf = (o: number) => doc.positionAt(base + o).line + 1;
  const colName = parsed.columnIndex !== undefined ? (summary?.[parsed.columnIndex]?.name ?? `column ${parsed.columnIndex + 1}`) : undefined;
  const headerNote = header !== undefined ? ` Column names from the header on line 1, above the selection.` : summary && summary.some((c) => c.named) ? ` The header line (line ${firstLine + 1}) is names, not a row.` : "";
  const timeCols = summary?.filter((c) => c.time && c.index !== parsed.columnIndex && c.time !== "dates") ?? [];
  const timeNote = chosenBecause ? ` ${chosenBecause[0].toUpperCase()}${chosenBecause.slice(1)}.` : timeCols.length ? ` ${timeCols.map((c) => `${JSON.stringify(c.name)} is ${c.time}`).join("; ")}.` : "";
  const what = colName !== undefined ? `column ${JSON.stringify(colName)}, ` : "";
  const reading: GatesReading = {
    kind: "series",
    reason: `Read as a series: ${what}${n} row${n === 1 ? "" : "s"} (lines ${lineOf(sourceStart[0])}–${lineOf(sourceStart[n - 1])}).${headerNote}${timeNote}`,
    rows: n,
    ...(colName !== undefined ? { column: colName } : {}),
    ...(/\p{L}/u.test(text) || options.as === "series" ? { other: { kind: "text" as const, label: "Read as text instead" } } : {}),
  };
  return { kind: "series", rows: Array.from(parsed.values, (v) => [v]), sourceStart, sourceEnd, column: parsed.columnIndex, reading, range, ...(parsed.window ? { window: parsed.window } : {}) };
}
