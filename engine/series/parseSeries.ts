// Turns the text of an editor selection into a numeric series for the sequence models:
//   - CSV with comma, semicolon or tab separators, with or without a header row, quoted fields
//     (./csvReader.ts);
//   - an array literal (JSON, JavaScript, Python), flat or nested as rows of features,
//     optionally assigned (`const xs = [...]`, `xs = [...]`) or wrapped (`np.array([...])`)
//     (./arrayLiteral.ts);
//   - one number per line, or numbers separated by spaces, several per line (./whitespaceReader.ts).
// Every value keeps the characters it came from, so the editor can highlight the step under the
// pointer. Bad input is reported with its line, never dropped: any error means no series at all.
// Pure TypeScript: no vscode, no dependencies beyond the language.
//
// This file picks the reader. What the readers share: the lines (./textLines.ts), the number
// grammar (./numberScanner.ts), the table of cells they fill (./table.ts), the problem lists
// (./seriesErrors.ts); ./tableResult.ts turns any reader's table into the result.
import { readArrayLiteral } from "./arrayLiteral";
import { detectDelimiter, readDelimited } from "./csvReader";
import { DEFAULT_MAX_ERRORS, ErrorList, failure, mergeErrors } from "./seriesErrors";
import type { ParsedSeries, ParseSeriesOptions } from "./seriesTypes";
import { finishTable } from "./tableResult";
import * as textLines from "./textLines";
import { readTokens } from "./whitespaceReader";

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
export { parseNumber } from "./numberScanner";
export { DEFAULT_MAX_ERRORS, describeBadNumber } from "./seriesErrors";

// Called per line: bound once (see textLines.ts).
const { isBlank, splitLines } = textLines;

/**
 * Reads the selection's text as a series. Returns the values with their sources; or, when a table
 * has several numeric columns and none was chosen, the columns to ask about; or every problem found
 * (line, text, reason), and then no values at all.
 */
export function parseSeries(text: string, options: ParseSeriesOptions = {}): ParsedSeries {
  const lineOffset = options.lineOffset ?? 0;
  const cap = Math.max(1, options.maxErrors ?? DEFAULT_MAX_ERRORS);
  const newList = () => new ErrorList(cap, lineOffset);

  const lines = splitLines(text);
  if (!lines) return failure("The selection is empty: select numbers (one per line, a CSV table or an array literal).");
  const { starts, ends, first, last } = lines;

  const array = readArrayLiteral(lines, newList);
  if (array) {
    if (array instanceof ErrorList) return mergeErrors([array], cap)!;
    return finishTable(array, options, [], newList, cap);
  }

  // Empty lines inside the data.
  const blank = newList();
  for (let i = first + 1; i < last; i++) if (isBlank(text, starts[i], ends[i])) blank.add(i, "", "An empty line inside the data; remove it, or select only the data.");

  const delimiter = detectDelimiter(lines);
  const table = delimiter ? readDelimited(lines, delimiter, newList) : readTokens(lines, options);
  if (table instanceof ErrorList) return mergeErrors([blank, table], cap)!;
  return finishTable(table, options, [blank], newList, cap);
}
