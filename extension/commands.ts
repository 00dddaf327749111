// What the commands that run the model share: the text they run on, and running with a
// cancellable progress notification whose failure is shown once (a cancellation is not a failure).
import * as vscode from "vscode";
import { errorMessage, isCancelled } from "../protocol/errors";
import { blockAround } from "./selectionRange";
import type { Services } from "./services";

/** The selection, or with none the paragraph or block around the cursor; undefined (and a message) if there is nothing. */
export function targetRange(editor: vscode.TextEditor | undefined): vscode.Range | undefined {
  if (!editor) {
    void vscode.window.showWarningMessage("SeqLens: open a file and select some text to inspect.");
    return undefined;
  }
  const doc = editor.document;
  if (!editor.selection.isEmpty) return editor.selection;
  const lines = Array.from({ length: doc.lineCount }, (_, i) => doc.lineAt(i).text);
  const block = blockAround(lines, editor.selection.active.line);
  if (!block) {
    void vscode.window.showWarningMessage("SeqLens: nothing to inspect here: select some text, or put the cursor in a paragraph or block.");
    return undefined;
  }
  return new vscode.Range(block.startLine, 0, block.endLine, doc.lineAt(block.endLine).text.length);
}

/**
 * Runs `work` under a progress notification titled `title` with a Cancel button. A failure is
 * shown as an error message and logged; a cancellation is neither. Resolves to undefined then.
 */
export async function withEngineProgress<T>(services: Services, title: string, work: (token: vscode.CancellationToken) => Promise<T>, opts: { cancellable?: boolean } = {}): Promise<T | undefined> {
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `SeqLens: ${title}`, cancellable: opts.cancellable ?? true }, (_p, token) => work(token));
  } catch (e) {
    if (!isCancelled(e)) {
      void vscode.window.showErrorMessage(`SeqLens: ${errorMessage(e)}`);
      services.log.error(errorMessage(e));
    }
    return undefined;
  }
}

/** Reads a configuration value of SeqLens. */
export function setting<T>(key: string, fallback: T): T {
  return vscode.workspace.getConfiguration("seqlens").get<T>(key, fallback);
}
