// Problems in the selection: each with its line, its text and a sentence saying what is wrong.
// Any problem means no series at all; the first `maxErrors` are listed, the rest counted.
import { DATE_RE, NUMBER_RE } from "./numberScanner";
import type { ParsedSeriesErrors, SeriesError } from "./seriesTypes";

/** How many problems are listed unless `maxErrors` says otherwise. */
export const DEFAULT_MAX_ERRORS = 50;

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
  // one way to match each digit (`\d+\.?\d*` backtracked quadratically on a million digits and "..5")
  if (/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%$/.test(text)) return "A percent sign is not accepted; write the number alone.";
  if (/^(["']).*\1$/s.test(text)) return "A quoted string, not a number; remove the quotes if it is meant as a number.";
  if (/\s/.test(text) && text.split(/\s+/).every((p) => NUMBER_RE.test(p))) return "Numbers without a separator between them; put a comma between them.";
  return "Not a number.";
}

/** The problems one reader or check finds; lines come in 0-based and go out 1-based plus `lineOffset`. */
export class ErrorList {
  items: SeriesError[] = [];
  total = 0;
  constructor(
    /** Most problems listed. */
    readonly cap: number,
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
export function mergeErrors(lists: ErrorList[], cap: number): ParsedSeriesErrors | undefined {
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

/** A failure with no line to point at: an empty selection, no column of numbers. */
export function failure(message: string): ParsedSeriesErrors {
  return { ok: false, needsColumn: false, errors: [], more: 0, message };
}
