// The Compare panel, host side: two models on one selection. The engine compares them; the panel
// asks for each side's next-token distribution and attention slice by side (0 or 1); the editor
// colours each token by how much better or worse the second model predicts it.
import * as vscode from "vscode";
import { webviewHtml } from "./webviewHtml";
import { EngineError } from "../protocol/errors";
import { CompareHostToPanel, CompareResult, parseCompareMessage } from "../protocol/compare";
import { EngineHost } from "./engineHost";
import { tokenAt } from "./selectionRange";

export const COMPARE_VIEW_TYPE = "seqlens.compare";

interface Shown {
  result: CompareResult;
  uri: string;
  start: number;
  version: number;
  text: string;
}

/** Loss-difference decorations: five steps each way, from "a little" to "4 bits or more". */
const STEPS = [0.25, 0.5, 1, 2, 4];

export class ComparePanel implements vscode.Disposable {
  static current?: ComparePanel;
  private readonly disposables: vscode.Disposable[] = [];
  private shown?: Shown;
  private readonly better = STEPS.map((_, i) => vscode.window.createTextEditorDecorationType({ backgroundColor: `rgba(55, 148, 255, ${(0.12 + 0.1 * i).toFixed(2)})` }));
  private readonly worse = STEPS.map((_, i) => vscode.window.createTextEditorDecorationType({ backgroundColor: `rgba(241, 76, 76, ${(0.12 + 0.1 * i).toFixed(2)})` }));

  static show(extensionUri: vscode.Uri, host: EngineHost): ComparePanel {
    if (ComparePanel.current) {
      ComparePanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return ComparePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, "SeqLens Compare", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { retainContextWhenHidden: true });
    return new ComparePanel(panel, extensionUri, host);
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly host: EngineHost,
  ) {
    ComparePanel.current = this;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview")] };
    panel.webview.html = webviewHtml(panel.webview, extensionUri, "compare", "seqlens-compare", "SeqLens Compare");
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "seqlens.svg");
    this.disposables.push(
      ...this.better,
      ...this.worse,
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.uri) this.decorate(undefined); // offsets no longer hold
      }),
    );
  }

  post(msg: CompareHostToPanel): void {
    void this.panel.webview.postMessage(msg);
  }

  async compare(document: vscode.TextDocument, range: vscode.Range, modelA: string, modelB: string, token?: vscode.CancellationToken): Promise<CompareResult> {
    const text = document.getText(range);
    const ac = new AbortController();
    token?.onCancellationRequested(() => ac.abort());
    const maxTokens = vscode.workspace.getConfiguration("seqlens").get<number>("maxTokens", 512);
    const client = this.host.get();
    const result = await client.request("compare", { modelA, modelB, text, maxTokens }, { signal: ac.signal });
    if (this.shown) for (const h of this.shown.result.handles) void client.request("release", { handle: h }).catch(() => undefined);
    this.shown = { result, uri: document.uri.toString(), start: document.offsetAt(range.start), version: document.version, text };
    this.post({ type: "compare", view: { ...result, text } });
    this.decorate(vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.shown!.uri));
    this.host.log.info(`compared ${result.names.join(" and ")} on ${result.tokens.length} tokens (${result.mode}): mean loss ${result.summary.meanLoss.map((l) => l.toFixed(3)).join(" / ")} ${result.summary.unit}`);
    return result;
  }

  /** Colours each token in the editor by the second model's loss minus the first's (blue: better, red: worse). */
  private decorate(editor: vscode.TextEditor | undefined): void {
    const s = this.shown;
    const buckets = { better: STEPS.map(() => [] as vscode.DecorationOptions[]), worse: STEPS.map(() => [] as vscode.DecorationOptions[]) };
    if (editor && s && editor.document.version === s.version) {
      const doc = editor.document;
      s.result.tokens.forEach((t, i) => {
        const [a, b] = s.result.perToken[i].loss;
        if (a === null || b === null) return;
        const delta = b - a;
        const step = STEPS.filter((x) => Math.abs(delta) >= x).length - 1;
        if (step < 0) return;
        const range = new vscode.Range(doc.positionAt(s.start + t.start), doc.positionAt(s.start + t.end));
        const hover = new vscode.MarkdownString(`**SeqLens compare**: ${s.result.names[1]} ${delta < 0 ? "better" : "worse"} by ${Math.abs(delta).toFixed(2)} bits (${a.toFixed(2)} → ${b.toFixed(2)})`);
        (delta < 0 ? buckets.better : buckets.worse)[step].push({ range, hoverMessage: hover });
      });
    }
    for (const ed of editor ? [editor] : vscode.window.visibleTextEditors) {
      this.better.forEach((d, i) => ed.setDecorations(d, buckets.better[i]));
      this.worse.forEach((d, i) => ed.setDecorations(d, buckets.worse[i]));
    }
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const s = this.shown;
    if (!s || e.textEditor.document.uri.toString() !== s.uri || e.textEditor.document.version !== s.version) return;
    const offset = e.textEditor.document.offsetAt(e.selections[0].active) - s.start;
    if (offset < 0 || offset > s.text.length) return;
    const i = tokenAt(s.result.tokens, offset);
    if (i >= 0) this.post({ type: "selectPosition", index: i });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseCompareMessage(raw);
    if (!parsed.ok) {
      this.host.log.warn(`ignored a malformed message from the Compare panel: ${parsed.reason}`);
      return;
    }
    const msg = parsed.message;
    const s = this.shown;
    try {
      switch (msg.type) {
        case "ready":
          if (s) this.post({ type: "compare", view: { ...s.result, text: s.text } });
          return;
        case "getNextToken": {
          if (!s) return;
          const result = await this.host.get().request("nextToken", { handle: s.result.handles[msg.side], position: msg.position, topK: msg.topK });
          this.post({ type: "nextToken", requestId: msg.requestId, side: msg.side, result });
          return;
        }
        case "getAttention": {
          if (!s) return;
          const slice = await this.host.get().request("attention", { handle: s.result.handles[msg.side], layer: msg.layer, head: msg.head });
          this.post({ type: "attention", requestId: msg.requestId, side: msg.side, layer: msg.layer, head: msg.head, shape: slice.shape, data: slice.data });
          return;
        }
        case "getGate": {
          if (!s?.result.gates) return;
          const slice = await this.host.get().request("gateSlice", { handle: s.result.gates[msg.side], index: msg.index, name: msg.name });
          this.post({ type: "gate", requestId: msg.requestId, side: msg.side, index: msg.index, name: msg.name, shape: slice.shape, data: slice.data });
          return;
        }
        case "revealToken": {
          if (!s || msg.index >= s.result.tokens.length) return;
          const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
          if (!editor || editor.document.version !== s.version) return;
          const t = s.result.tokens[msg.index];
          const range = new vscode.Range(editor.document.positionAt(s.start + t.start), editor.document.positionAt(s.start + t.end));
          editor.selection = new vscode.Selection(range.start, range.end);
          editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
          return;
        }
      }
    } catch (e) {
      this.post({ type: "error", requestId: "requestId" in msg ? msg.requestId : undefined, message: e instanceof EngineError || e instanceof Error ? e.message : String(e) });
    }
  }

  dispose(): void {
    if (ComparePanel.current === this) ComparePanel.current = undefined;
    this.decorate(undefined);
    if (this.shown) for (const h of this.shown.result.handles) void this.host.get().request("release", { handle: h }).catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}
