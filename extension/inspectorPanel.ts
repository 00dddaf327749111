// The Inspector: one webview panel beside the editor, reused by later runs. The host side runs the
// engine and answers the panel's requests for slices; every message from the panel is validated.
import * as vscode from "vscode";
import { pngBytes, saveExport, webviewHtml } from "./webviewHtml";
import { EngineError } from "../protocol/errors";
import { InspectorHostToPanel, InspectionView, parseInspectorMessage, InspectorPanelToHost } from "../protocol/inspector";
import { EngineHost } from "./engineHost";
import { attentionNested } from "../protocol/inspector";
import { tokenAt } from "./selectionRange";
import type { InspectedRange } from "./surprisal";

export const INSPECTOR_VIEW_TYPE = "seqlens.inspector";

/** What a panel remembers across a window reload (VS Code keeps it with the webview's state). */
export interface InspectorState {
  uri: string;
  start: number; // document offsets of the inspected text
  end: number;
  model: string;
}

interface Current {
  view: InspectionView;
  uri: string;
  start: number;
  end: number;
  version: number;
  model: string;
}

export class InspectorPanel implements vscode.Disposable {
  static current?: InspectorPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private shown?: Current;
  /** The layer and head the panel's heatmap asked for last: sent along with the next inspection. */
  private viewSlice = { layer: 0, head: 0 };

  static show(extensionUri: vscode.Uri, host: EngineHost, onInspected?: (panel: InspectorPanel) => void): InspectorPanel {
    if (InspectorPanel.current) {
      InspectorPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return InspectorPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(INSPECTOR_VIEW_TYPE, "SeqLens Inspector", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
    return new InspectorPanel(panel, extensionUri, host, onInspected);
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly host: EngineHost,
    private readonly onInspected: (panel: InspectorPanel) => void = () => {},
  ) {
    InspectorPanel.current = this;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview")] };
    panel.webview.html = this.html();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "seqlens.svg");
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.uri && e.document.version !== this.shown.version) this.post({ type: "stale", stale: true });
      }),
    );
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.extensionUri, "inspector", "seqlens-inspector", "SeqLens Inspector");
  }

  post(msg: InspectorHostToPanel): void {
    void this.panel.webview.postMessage(msg);
  }

  /** Runs the engine on `range` of `document` and shows the result. */
  async inspect(document: vscode.TextDocument, range: vscode.Range, model: string, token?: vscode.CancellationToken): Promise<InspectionView | undefined> {
    const text = document.getText(range);
    const maxTokens = vscode.workspace.getConfiguration("seqlens").get<number>("maxTokens", 512);
    const topK = vscode.workspace.getConfiguration("seqlens").get<number>("topK", 10);
    const ac = new AbortController();
    token?.onCancellationRequested(() => ac.abort());
    const client = this.host.get();
    const t0 = Date.now();
    const r = await client.request("inspect", { model, text, topK, maxTokens, slice: this.viewSlice }, { signal: ac.signal });
    const view: InspectionView = {
      handle: r.handle,
      modelName: model.split(/[\\/]/).pop() ?? model,
      device: r.device,
      text,
      tokens: r.tokens,
      nLayer: r.nLayer,
      nHead: r.nHead,
      attentionAvailable: r.attentionAvailable,
      next: r.next,
      attention: r.slice,
      truncated: r.truncated,
      ms: { run: r.ms.run, total: Date.now() - t0 },
    };
    if (this.shown) void client.request("release", { handle: this.shown.view.handle }).catch(() => undefined);
    this.shown = { view, uri: document.uri.toString(), start: document.offsetAt(range.start), end: document.offsetAt(range.end), version: document.version, model };
    this.post({ type: "inspection", view, restore: this.state()! });
    this.onInspected(this);
    this.host.log.info(`inspected ${r.tokens.length} tokens of ${document.uri.fsPath} with ${view.modelName} on ${r.device}: engine ${r.ms.run.toFixed(1)} ms, total ${view.ms.total} ms`);
    return view;
  }

  /** Runs again on a saved range (re-run after an edit, restore after a reload), clamped to the document as it is now. */
  async reinspect(s: InspectorState): Promise<InspectionView | undefined> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
    const len = doc.getText().length;
    return this.inspect(doc, new vscode.Range(doc.positionAt(Math.min(s.start, len)), doc.positionAt(Math.min(s.end, len))), s.model);
  }

  /** The inspected range, for editor decorations. */
  inspected(): InspectedRange | undefined {
    const s = this.shown;
    return s ? { uri: s.uri, start: s.start, version: s.version, handle: s.view.handle, tokens: s.view.tokens } : undefined;
  }

  state(): InspectorState | undefined {
    return this.shown ? { uri: this.shown.uri, start: this.shown.start, end: this.shown.end, model: this.shown.model } : undefined;
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const s = this.shown;
    if (!s || e.textEditor.document.uri.toString() !== s.uri || e.textEditor.document.version !== s.version) return;
    const offset = e.textEditor.document.offsetAt(e.selections[0].active);
    if (offset < s.start || offset > s.end) return;
    const i = tokenAt(s.view.tokens, offset - s.start);
    if (i >= 0) this.post({ type: "selectToken", index: i });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseInspectorMessage(raw);
    if (!parsed.ok) {
      this.host.log.warn(`ignored a malformed message from the Inspector: ${parsed.reason}`);
      return;
    }
    const msg: InspectorPanelToHost = parsed.message;
    const s = this.shown;
    try {
      switch (msg.type) {
        case "ready":
          if (s) this.post({ type: "inspection", view: s.view, restore: this.state()! });
          return;
        case "getAttention": {
          if (!s) return;
          if (msg.view) this.viewSlice = { layer: msg.layer, head: msg.head };
          const slice = await this.host.get().request("attention", { handle: s.view.handle, layer: msg.layer, head: msg.head });
          this.post({ type: "attention", requestId: msg.requestId, layer: msg.layer, head: msg.head, shape: slice.shape, data: slice.data });
          return;
        }
        case "getNextToken": {
          if (!s) return;
          const result = await this.host.get().request("nextToken", { handle: s.view.handle, position: msg.position, topK: msg.topK, temperature: msg.temperature });
          this.post({ type: "nextToken", requestId: msg.requestId, result });
          return;
        }
        case "revealToken": {
          if (!s || msg.index >= s.view.tokens.length) return;
          const t = s.view.tokens[msg.index];
          const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
          const doc = visible?.document ?? (await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri)));
          const range = new vscode.Range(doc.positionAt(s.start + t.start), doc.positionAt(s.start + t.end));
          // The selection is set as the editor is shown, in one step.
          const editor = await vscode.window.showTextDocument(doc, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false, selection: range });
          editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
          return;
        }
        case "rerun": {
          if (!s) return;
          await this.reinspect(this.state()!);
          this.post({ type: "stale", stale: false });
          return;
        }
        case "exportData":
        case "exportPng":
          await this.export(msg);
          return;
      }
    } catch (e) {
      const message = e instanceof EngineError ? e.message : String(e);
      this.post({ type: "error", requestId: "requestId" in msg ? msg.requestId : undefined, message });
    }
  }

  private async export(msg: Extract<InspectorPanelToHost, { type: "exportData" | "exportPng" }>): Promise<void> {
    const s = this.shown;
    if (!s) return;
    if (msg.type === "exportPng") return saveExport(pngBytes(msg.dataUrl), "seqlens-inspection", "png");
    if (msg.format === "csv") {
      return saveExport(Buffer.from(["index,id,text,start,end", ...s.view.tokens.map((t, i) => `${i},${t.id},${JSON.stringify(t.text)},${t.start},${t.end}`)].join("\n") + "\n"), "seqlens-inspection", "csv");
    }
    // JSON: attention goes along when it fits under the transfer cap (seqlens.attentionTransferCapMB);
    // it is fetched once the user has picked where to save.
    return saveExport(
      async () => {
        let attention: number[][][][] | string | null = null;
        if (s.view.attentionAvailable) {
          const capBytes = vscode.workspace.getConfiguration("seqlens").get<number>("attentionTransferCapMB", 64) * 2 ** 20;
          try {
            const all = await this.host.get().request("attentionAll", { handle: s.view.handle, capBytes });
            attention = attentionNested(all);
          } catch (e) {
            attention = e instanceof EngineError ? e.message : String(e);
          }
        }
        return Buffer.from(JSON.stringify({ model: s.view.modelName, device: s.view.device, text: s.view.text, tokens: s.view.tokens, attention, next: s.view.next }, null, 2));
      },
      "seqlens-inspection",
      "json",
    );
  }

  dispose(): void {
    if (InspectorPanel.current === this) InspectorPanel.current = undefined;
    if (this.shown) void this.host.get().request("release", { handle: this.shown.view.handle }).catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}
