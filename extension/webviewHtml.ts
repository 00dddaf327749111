// What every SeqLens webview panel shares: its page (one bundle, a strict CSP with a nonce, no
// remote resources, no inline style; built in panelPage.ts) and saving an export the user asked for.
import * as crypto from "node:crypto";
import * as vscode from "vscode";
import { panelPageHtml } from "./panelPage";

/** The page of a panel whose app is the custom element `element`, from dist/webview/<bundle>.js. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, bundle: string, element: string, title: string): string {
  const nonce = crypto.randomBytes(16).toString("base64");
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview", `${bundle}.js`));
  return panelPageHtml({ cspSource: webview.cspSource, nonce, script: script.toString(), element, title });
}

/** Asks where to save `bytes` (a save dialog, `name.ext` proposed) and writes them there. */
export async function saveExport(bytes: Uint8Array | (() => Promise<Uint8Array>), name: string, ext: string): Promise<void> {
  const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`${name}.${ext}`), filters: { [ext.toUpperCase()]: [ext] } });
  if (!target) return;
  await vscode.workspace.fs.writeFile(target, typeof bytes === "function" ? await bytes() : bytes);
  void vscode.window.showInformationMessage(`SeqLens: saved ${target.fsPath}`);
}

/** The bytes of a PNG data URL sent by a panel (validated as data:image/png;base64,... before). */
export function pngBytes(dataUrl: string): Uint8Array {
  return Buffer.from(dataUrl.slice("data:image/png;base64,".length), "base64");
}
