// What "Show Gates" runs on: the selection as a numeric series (a CSV column — asking which when
// there are several —, an array literal, one number per line, whitespace separated) or as text for a
// character model. Bad numbers are reported with their line numbers in the Problems view and a
// message; nothing is silently dropped.
import * as vscode from "vscode";
import type { EngineClient } from "../engine/client";

/** A series: its rows, and each row's [start, end) offsets in the selection text. */
export type GatesInput = { kind: "text"; text: string } | { kind: "series"; rows: number[][]; sourceStart: Int32Array; sourceEnd: Int32Array; column?: number };

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** `const xs =`, `xs: number[] =`, `xs = np.array(` and the like before an array literal. */
const ASSIGNMENT = /^\s*(?:(?:const|let|var)\s+)?[\w.$]+\s*(?::[^=]+)?=\s*(?:[\w.]+\()?/;

/** A line of numbers only (brackets, quotes and separators aside). */
function numericLine(line: string): boolean {
  const cells = line.split(/[\s,;[\]()]+/).map((c) => c.replace(/^"|"$/g, "")).filter((c) => c !== "");
  return cells.length > 0 && cells.every((c) => NUMBER.test(c));
}

/** Mostly numbers: most non-empty lines hold only numbers (a header line and a few bad cells allowed); the first 200 lines decide. */
export function looksNumeric(text: string): boolean {
  const lines = text.slice(0, 200_000).split(/\r?\n/, 200).filter((l) => l.trim() !== "");
  if (lines.length === 0) return false;
  lines[0] = lines[0].replace(ASSIGNMENT, "");
  const numeric = lines.filter(numericLine);
  return numeric.length >= Math.max(1, lines.length * 0.6);
}

/**
 * Reads the selection. Returns undefined when the user cancelled the column choice or the numbers
 * had errors (already reported, with their lines in the Problems view).
 */
export async function readGatesInput(doc: vscode.TextDocument, range: vscode.Range, diagnostics: vscode.DiagnosticCollection, client: EngineClient, column?: number): Promise<GatesInput | undefined> {
  const text = doc.getText(range);
  diagnostics.delete(doc.uri);
  if (!looksNumeric(text)) return { kind: "text", text };
  const lineOffset = range.start.line;
  // The numbers are read in the engine process: a huge selection never holds up the editor.
  let parsed = await client.request("parseSeries", { text, lineOffset, column });
  if (!parsed.ok && parsed.needsColumn) {
    const choices = parsed.columns.filter((c) => c.numeric && !c.isTime);
    const pick = await vscode.window.showQuickPick(
      choices.map((c) => ({ label: c.name, description: `column ${c.index + 1}`, index: c.index })),
      { placeHolder: `${parsed.message} Which column is the series?` },
    );
    if (!pick) return undefined;
    parsed = await client.request("parseSeries", { text, lineOffset, column: pick.index });
  }
  if (!parsed.ok) {
    if (parsed.needsColumn) return undefined;
    const list = parsed.errors.map((e) => {
      const line = e.line - 1; // 1-based document line (lineOffset applied)
      const d = new vscode.Diagnostic(doc.lineAt(Math.min(line, doc.lineCount - 1)).range, `SeqLens: ${e.reason}`, vscode.DiagnosticSeverity.Error);
      d.source = "SeqLens";
      return d;
    });
    diagnostics.set(doc.uri, list);
    const first = parsed.errors.slice(0, 3).map((e) => `line ${e.line}: ${e.reason}`).join("; ");
    void vscode.window.showErrorMessage(`SeqLens: ${parsed.message} ${first}${parsed.errors.length + parsed.more > 3 ? ` (and ${parsed.errors.length + parsed.more - 3} more in the Problems view)` : ""}`);
    return undefined;
  }
  return { kind: "series", rows: Array.from(parsed.values, (v) => [v]), sourceStart: parsed.sourceStart, sourceEnd: parsed.sourceEnd, column: parsed.columnIndex };
}
