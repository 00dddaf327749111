// What the commands that run the model share: the text they run on, and running with a
// cancellable progress notification whose failure is shown once (a cancellation is not a failure).
import * as vscode from "vscode";
import { EngineError, errorMessage, isCancelled } from "../protocol/errors";
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

/** Whether `e` is a request lost because the engine process ended (crashed, killed, or hung and restarted). */
export function isEngineLost(e: unknown): boolean {
  return e instanceof EngineError && e.code === "PROCESS_DIED";
}

/** The sentence for a failure of `title` ("inspecting"): a lost request says what was lost and that running again works. */
export function failureMessage(title: string, e: unknown): string {
  return isEngineLost(e) ? `${title} stopped: ${errorMessage(e)}` : errorMessage(e);
}

/**
 * Runs `work` under a progress notification titled `title` with a Cancel button, the status bar
 * spinning meanwhile. A failure is shown as an error message (and to `onFailure`, e.g. for the panel
 * to show it too) and logged; a cancellation is neither. Resolves to undefined then.
 */
export async function withEngineProgress<T>(
  services: Services,
  title: string,
  work: (token: vscode.CancellationToken, progress: vscode.Progress<{ message?: string; increment?: number }>) => Promise<T>,
  opts: { cancellable?: boolean; onFailure?: (message: string, e: unknown) => void } = {},
): Promise<T | undefined> {
  services.showStatus(true);
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `SeqLens: ${title}`, cancellable: opts.cancellable ?? true }, (progress, token) => work(token, progress));
  } catch (e) {
    if (!isCancelled(e)) {
      const message = failureMessage(title, e);
      void vscode.window.showErrorMessage(`SeqLens: ${message}`);
      services.log.error(message);
      opts.onFailure?.(message, e);
    }
    return undefined;
  } finally {
    services.showStatus(false);
  }
}

/** Reads a configuration value of SeqLens. */
export function setting<T>(key: string, fallback: T): T {
  return vscode.workspace.getConfiguration("seqlens").get<T>(key, fallback);
}
