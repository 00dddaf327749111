// Turns the text of an editor selection into a numeric series for the sequence models:
//   - CSV with comma, semicolon or tab separators, with or without a header row, quoted fields
//     (./csvReader.ts);
//   - an array literal (JSON, JavaScript, Python), flat or nested as rows of features,
//     optionally assigned (`const xs = [...]`, `xs = [...]`) or wrapped (`np.array([...])`)
//     (./arrayLiteral.ts);
//   - one number per line, or numbers separated by spaces, several per line (./whitespaceReader.ts).
// Every value keeps the characters it came from, so the editor can highlight the step under the
// pointer. Bad input is reported with its line, never dropped: any error means no series at all.
// A long series can be read a window at a time (`maxSteps`, `window`, `fromStep`): every row is
// still checked, but only the window's rows become values.
// Pure TypeScript: no vscode, no dependencies beyond the language.
//
// This file picks the reader. The line formats are read as a stream (./lineScanner.ts), one line's
// cells at a time; an array literal is read whole (./arrayLiteral.ts into ./table.ts). What they
// share: the number grammar (./numberScanner.ts), the problem lists (./seriesErrors.ts), the rows
// (./rows.ts); ./tableResult.ts turns any reader's rows into the result.
import { readArrayLiteral, startsArray } from "./arrayLiteral";
import { scanLines } from "./lineScanner";
import { tableRows } from "./rows";
import { DEFAULT_MAX_ERRORS, ErrorList, failure, mergeErrors } from "./seriesErrors";
import type { ParsedSeries, ParseSeriesOptions } from "./seriesTypes";
import { finishRows } from "./tableResult";
import * as textLines from "./textLines";

export type {
  ColumnInfo,
  ParsedSeries,
  ParsedSeriesErrors,
  ParsedSeriesNeedsColumn,
  ParsedSeriesValues,
  ParseSeriesOptions,
  SeriesError,
  SeriesFormat,
  SeriesSource,
} from "./seriesTypes";
export type { SeriesWindow, WindowOptions } from "./window";
export { DEFAULT_MAX_STEPS, ENGINE_ASK, seriesWindow, windowNotice } from "./window";
export { parseNumber } from "./numberScanner";
export { DEFAULT_MAX_ERRORS, describeBadNumber } from "./seriesErrors";

// Called per character and per line: bound once (see textLines.ts).
const { isSpaceCode, splitLines } = textLines;

/**
 * Reads the selection's text as a series. Returns the values with their sources; or, when a table
 * has several numeric columns and none was chosen, the columns to ask about; or every problem found
 * (line, text, reason), and then no values at all.
 */
export function parseSeries(text: string, options: ParseSeriesOptions = {}): ParsedSeries {
  const lineOffset = options.lineOffset ?? 0;
  const cap = Math.max(1, options.maxErrors ?? DEFAULT_MAX_ERRORS);
  const newList = () => new ErrorList(cap, lineOffset);

  // The first line that holds anything, and its first character.
  let from = 0;
  let line = 0;
  let at = -1;
  while (from <= text.length) {
    const nl = text.indexOf("\n", from);
    const end = nl < 0 ? text.length : nl;
    let k = from;
    while (k < end && isSpaceCode(text.charCodeAt(k))) k++;
    if (k < end) {
      at = k;
      break;
    }
    if (nl < 0) break;
    from = nl + 1;
    line++;
  }
  if (at < 0) return failure("The selection is empty: select numbers (one per line, a CSV table or an array literal).");

  if (startsArray(text, at)) {
    const array = readArrayLiteral(splitLines(text)!, newList)!;
    if (array instanceof ErrorList) return mergeErrors([array], cap)!;
    return finishRows(tableRows(array), options, [], newList, cap);
  }
  const scanned = scanLines(text, from, line, options, newList);
  if ("errors" in scanned) return mergeErrors(scanned.errors, cap)!;
  return finishRows(scanned.source, options, [scanned.blank], newList, cap);
}
