// What "Inspect Selection" runs on: the selection, or with none, the paragraph or block around
// the cursor (the lines between the nearest blank lines). Pure functions of the text, so they are
// tested without VS Code.

export interface LineRange {
  startLine: number;
  endLine: number; // inclusive
}

/** Lines of the block around `line`: expands up and down until a blank line or the document's edge. */
export function blockAround(lines: readonly string[], line: number): LineRange | undefined {
  if (lines.length === 0 || Number.isNaN(line)) return undefined;
  const at = Math.min(Math.max(Math.trunc(line), 0), lines.length - 1); // a line between lines, or past the ends, is the nearest
  const blank = (i: number) => lines[i].trim().length === 0;
  if (blank(at)) return undefined;
  let startLine = at;
  let endLine = at;
  while (startLine > 0 && !blank(startLine - 1)) startLine--;
  while (endLine < lines.length - 1 && !blank(endLine + 1)) endLine++;
  return { startLine, endLine };
}

/** Index of the token that holds character offset `offset` (relative to the inspected text). */
export function tokenAt(tokens: readonly { start: number; end: number }[], offset: number): number {
  for (let i = 0; i < tokens.length; i++) if (offset >= tokens[i].start && offset < tokens[i].end) return i;
  return -1;
}
