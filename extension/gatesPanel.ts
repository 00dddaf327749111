// The Gates panel: per-step gates of a recurrent model on the selection (and, for a series model,
// its forecasts). The host runs the engine, keeps where each step came from in the document, and
// answers the panel's requests for one [T, H] slice at a time; every panel message is validated.
import * as vscode from "vscode";
import { pngBytes, saveExport, webviewHtml } from "./webviewHtml";
import { EngineError } from "../protocol/errors";
import { GatesHostToPanel, GatesPanelToHost, GatesView, parseGatesMessage } from "../protocol/gates";
import { EngineHost } from "./engineHost";
import type { GatesInput } from "./gatesInput";

export const GATES_VIEW_TYPE = "seqlens.gates";
/** The most text "find in the document" runs a character model over. */
const MAX_DOCUMENT_CHARS = 200_000;

interface Shown {
  view: GatesView;
  model: string;
  /** The text a character model read (for gradient norms). */
  text?: string;
  uri: string;
  /** Step -> [start, end) document offsets of what the step read. */
  spans: [number, number][];
}

export class GatesPanel implements vscode.Disposable {
  static current?: GatesPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private shown?: Shown;
  private readonly highlight = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("editor.findMatchHighlightBackground"),
    border: "1px solid",
    borderColor: new vscode.ThemeColor("editor.findMatchBorder"),
  });

  static show(extensionUri: vscode.Uri, host: EngineHost, gradientModels: string[] = []): GatesPanel {
    if (GatesPanel.current) {
      GatesPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return GatesPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(GATES_VIEW_TYPE, "SeqLens Gates", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { retainContextWhenHidden: false });
    return new GatesPanel(panel, extensionUri, host, gradientModels);
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly host: EngineHost,
    /** The bundled LSTM and SimpleRNN character samples, for the vanishing-gradient chart. */
    private readonly gradientModels: string[] = [],
  ) {
    GatesPanel.current = this;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview")] };
    panel.webview.html = this.html();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "seqlens.svg");
    this.disposables.push(
      this.highlight,
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
    );
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.extensionUri, "gates", "seqlens-gates", "SeqLens Gates");
  }

  private post(msg: GatesHostToPanel): void {
    void this.panel.webview.postMessage(msg);
  }

  /** Runs the model on the selection and shows its gates (and forecasts for a series model). */
  async run(doc: vscode.TextDocument, range: vscode.Range, input: GatesInput, model: string, token?: vscode.CancellationToken): Promise<GatesView | undefined> {
    const ac = new AbortController();
    token?.onCancellationRequested(() => ac.abort());
    const client = this.host.get();
    const base = doc.offsetAt(range.start);
    let view: GatesView;
    const restore = { uri: doc.uri.toString(), start: base, end: doc.offsetAt(range.end), model, ...(input.kind === "series" && input.column !== undefined ? { column: input.column } : {}) };
    const preferRuntime = vscode.workspace.getConfiguration("seqlens").get<"onnx" | "tfjs">("gatesRuntime", "onnx");
    if (input.kind === "series") {
      const horizon = vscode.workspace.getConfiguration("seqlens").get<number>("forecastHorizon", 24);
      const f = await client.request("forecast", { model, values: input.rows, horizon, preferRuntime }, { signal: ac.signal });
      const { gates, model: _m, ...forecast } = f;
      void _m;
      view = { gates, forecast, restore, gradients: false };
    } else {
      view = { gates: await client.request("gates", { model, text: input.text, preferRuntime }, { signal: ac.signal }), restore, gradients: this.gradientModels.length > 0 };
    }
    // Where each step came from: a character of the text, or a row's number in the series.
    const spans: [number, number][] = view.gates.source.map((src) => {
      if (input.kind === "text") return [base + src, base + src + Math.max(1, [...input.text.slice(src, src + 2)][0]?.length ?? 1)];
      return [base + input.sourceStart[src], base + input.sourceEnd[src]];
    });
    if (this.shown) void client.request("release", { handle: this.shown.view.gates.handle }).catch(() => undefined);
    this.shown = { view, model, uri: doc.uri.toString(), spans, text: input.kind === "text" ? input.text : undefined };
    this.post({ type: "gates", view });
    const bad = view.gates.layers.filter((l) => !l.check.ok);
    this.host.log.info(`gates ${view.gates.name} (${view.gates.runtime}) on ${view.gates.steps} steps of ${doc.uri.fsPath}: ${view.gates.ms.run.toFixed(1)} ms`);
    if (bad.length) {
      void vscode.window.showWarningMessage(
        `SeqLens: the recomputed hidden states of ${bad.map((l) => `layer ${l.layer} (${l.direction})`).join(", ")} differ from the runtime's output (by up to ${Math.max(...bad.map((l) => l.check.maxAbsDiff)).toExponential(2)}): those gates are marked as not trustworthy.`,
      );
    }
    return view;
  }

  private revealRange(from: number, to: number, select: boolean): void {
    const s = this.shown;
    if (!s || from >= s.spans.length) return;
    const a = s.spans[from][0];
    const b = s.spans[Math.min(to, s.spans.length - 1)][1];
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
    if (!editor) return;
    const range = new vscode.Range(editor.document.positionAt(a), editor.document.positionAt(b));
    editor.setDecorations(this.highlight, [range]);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    if (select) void vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, selection: range, preserveFocus: false });
  }

  /** The cursor inside the inspected text selects that step in the panel. */
  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const s = this.shown;
    if (!s || e.textEditor.document.uri.toString() !== s.uri) return;
    const off = e.textEditor.document.offsetAt(e.selections[0].active);
    const step = s.spans.findIndex(([a, b]) => off >= a && off < b);
    if (step >= 0) this.post({ type: "selectStep", step });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseGatesMessage(raw);
    if (!parsed.ok) {
      this.host.log.warn(`ignored a malformed message from the Gates panel: ${parsed.reason}`);
      return;
    }
    const msg: GatesPanelToHost = parsed.message;
    const s = this.shown;
    try {
      switch (msg.type) {
        case "ready":
          if (s) this.post({ type: "gates", view: s.view });
          return;
        case "getSlice": {
          if (!s) return;
          const slice = await this.host.get().request("gateSlice", { handle: s.view.gates.handle, index: msg.index, name: msg.name });
          this.post({ type: "slice", requestId: msg.requestId, index: msg.index, name: msg.name, shape: slice.shape, data: slice.data });
          return;
        }
        case "revealStep":
          this.revealRange(msg.step, msg.step, false);
          return;
        case "revealSpan":
          this.revealRange(msg.from, msg.to, true);
          return;
        case "exportCsv":
          await saveExport(async () => Buffer.from(await this.csv(msg.index)), "seqlens-gates", "csv");
          return;
        case "findInDocument": {
          if (!s?.text) return;
          const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
          const text = doc.getText();
          if (text.length > MAX_DOCUMENT_CHARS) throw new EngineError("TOO_LARGE", `the document has ${text.length.toLocaleString("en-US")} characters; searching it runs the model over all of them (at most ${MAX_DOCUMENT_CHARS.toLocaleString("en-US")})`);
          const client = this.host.get();
          const run = await client.request("gates", { model: s.model, text, runtime: s.view.gates.runtime });
          try {
            // The engine keeps the run and finds the places: only their step ranges come back.
            const { runs } = await client.request("gateFiring", { handle: run.handle, index: msg.index, name: msg.name, units: msg.units, threshold: msg.threshold, limit: 500 });
            const matches = runs.map(([a, b]) => {
              const from = run.source[a];
              const to = run.source[b] + 1;
              return { from, to, line: doc.positionAt(from).line + 1, text: text.slice(from, Math.min(to, from + 60)) };
            });
            this.post({ type: "documentMatches", requestId: msg.requestId, steps: run.steps, matches });
          } finally {
            void client.request("release", { handle: run.handle }).catch(() => undefined);
          }
          return;
        }
        case "revealOffsets": {
          if (!s) return;
          const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
          const len = doc.getText().length;
          const range = new vscode.Range(doc.positionAt(Math.min(msg.from, len)), doc.positionAt(Math.min(msg.to, len)));
          const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
          const editor = await vscode.window.showTextDocument(doc, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, selection: range, preserveFocus: false });
          editor.setDecorations(this.highlight, [range]);
          editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
          return;
        }
        case "getGradients": {
          if (!s?.text) return;
          const series = [];
          let target = "";
          for (const model of this.gradientModels) {
            const g = await this.host.get().request("gradients", { model, text: s.text, step: Math.min(msg.step, s.view.gates.steps - 1) });
            series.push({ name: g.name, cell: g.cell, norms: g.norms });
            target = g.target;
          }
          this.post({ type: "gradients", requestId: msg.requestId, outputStep: Math.min(msg.step, s.view.gates.steps - 1), target, series });
          return;
        }
        case "exportPng":
          await saveExport(pngBytes(msg.dataUrl), "seqlens-gates", "png");
          return;
      }
    } catch (e) {
      this.post({ type: "error", requestId: "requestId" in msg ? msg.requestId : undefined, message: e instanceof EngineError ? e.message : String(e) });
    }
  }

  /** One row per step: the step's input and every gate and state of every unit of one direction. */
  async csv(index: number): Promise<string> {
    const s = this.shown;
    if (!s) return "";
    const l = s.view.gates.layers[index];
    if (!l) throw new EngineError("BAD_INPUT", `no direction ${index}`);
    const client = this.host.get();
    const data = new Map<string, Float32Array>();
    for (const n of l.names) data.set(n, (await client.request("gateSlice", { handle: s.view.gates.handle, index, name: n })).data);
    const header = ["step", "input", ...l.names.flatMap((n) => Array.from({ length: l.units }, (_, u) => `${n}_${u}`))];
    const rows = [header.join(",")];
    for (let t = 0; t < s.view.gates.steps; t++) {
      const cells = [String(t), JSON.stringify(s.view.gates.labels[t])];
      for (const n of l.names) for (let u = 0; u < l.units; u++) cells.push(String(data.get(n)![t * l.units + u]));
      rows.push(cells.join(","));
    }
    return rows.join("\n") + "\n";
  }

  dispose(): void {
    if (GatesPanel.current === this) GatesPanel.current = undefined;
    if (this.shown) void this.host.get().request("release", { handle: this.shown.view.gates.handle }).catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}
