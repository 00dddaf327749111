// The Gates panel: per-step gates of a recurrent model on the selection (and, for a series model,
// its forecasts). The host runs the engine, keeps where each step came from in the document, and
// answers the panel's requests for one [T, H] slice at a time. Also its command, Show Gates. A
// selection longer than the engine reads at once is shown a window at a time (the last first); the
// panel asks for the others by their number (showWindow) and the host reads and runs that window.
import * as path from "node:path";
import * as vscode from "vscode";
import { EngineError } from "../protocol/errors";
import { GATES_VIEW_TYPE, GatesHostToPanel, GatesPanelToHost, GatesRestore, GatesView, parseGatesMessage } from "../protocol/gates";
import { setting, targetRange, withEngineProgress } from "./commands";
import { GatesInput, readGatesInput, ReadOptions, vscodeUi } from "./gatesInput";
import { recurrentSamples, untrustedReason } from "./models";
import { Handlers, PanelHost, PanelKind, registerPanelSerializer, showPanel } from "./panelHost";
import type { Feature, Services } from "./services";
import { pngBytes, saveExport } from "./webviewHtml";

export const GATES: PanelKind<GatesPanelToHost> = { viewType: GATES_VIEW_TYPE, title: "SeqLens Gates", bundle: "gates", element: "seqlens-gates", parse: parseGatesMessage };
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
  /** The selection Show Gates was given ([start, end) document offsets), for reading it the other way. */
  selection: [number, number];
  /** The reading the user asked for, if any (kept when another window is asked for). */
  as?: ReadOptions["as"];
  /** The window shown, counted back from the end (0: the last). */
  window: number;
}

export class GatesPanel extends PanelHost<GatesPanelToHost, GatesHostToPanel> {
  private shown?: Shown;
  /** The run in flight: a newer one cancels it. */
  private inflight?: AbortController;
  /** The editor selection the panel made last: its echo must not move the panel's step. */
  private selected?: vscode.Range;
  private readonly highlight = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("editor.findMatchHighlightBackground"),
    border: "1px solid",
    borderColor: new vscode.ThemeColor("editor.findMatchBorder"),
  });

  static show(services: Services, gradientModels: string[], diagnostics?: vscode.DiagnosticCollection): GatesPanel {
    return showPanel(GATES, (panel) => new GatesPanel(panel, services, gradientModels, diagnostics));
  }

  constructor(
    panel: vscode.WebviewPanel,
    services: Services,
    /** The bundled LSTM and SimpleRNN character samples, for the vanishing-gradient chart. */
    private readonly gradientModels: string[] = [],
    /** Where bad numbers are listed when the selection is read again as a series. */
    private readonly diagnostics?: vscode.DiagnosticCollection,
  ) {
    super(panel, GATES, services);
    this.disposables.push(this.highlight, vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)));
  }

  /** Shows why a run failed (the engine stopped, a bad model) in the panel, above what it shows. */
  failed(message: string): void {
    this.post({ type: "error", message });
  }

  protected snapshot(): GatesHostToPanel | undefined {
    return this.shown && { type: "gates", view: this.shown.view };
  }

  /**
   * Runs the model on the selection and shows its gates (and forecasts for a series model).
   * `selection`: what the user selected (the input's range may be the table under a header line);
   * `as`: the reading the user asked for, kept for a window reload.
   */
  async run(doc: vscode.TextDocument, input: GatesInput, model: string, token?: vscode.CancellationToken, selection: vscode.Range = input.range, as?: ReadOptions["as"], window = 0): Promise<GatesView | undefined> {
    const ac = new AbortController();
    token?.onCancellationRequested(() => ac.abort());
    // a newer run supersedes this one: the older is cancelled, and never shown over the newer
    this.inflight?.abort();
    this.inflight = ac;
    const client = this.services.host.get();
    const range = input.range;
    const base = doc.offsetAt(range.start);
    let view: GatesView;
    const restore = { uri: doc.uri.toString(), start: base, end: doc.offsetAt(range.end), model, ...(input.kind === "series" && input.column !== undefined ? { column: input.column } : {}), ...(as ? { as } : {}) };
    const preferRuntime = setting<"onnx" | "tfjs">("gatesRuntime", "onnx");
    if (input.kind === "series") {
      const horizon = setting("forecastHorizon", 24);
      const f = await client.request("forecast", { model, values: input.rows, horizon, preferRuntime }, { signal: ac.signal });
      const { gates, model: _m, ...forecast } = f;
      void _m;
      view = { gates, forecast, restore, gradients: false, reading: input.reading };
    } else {
      // the engine reads the window of the text (characters) itself
      view = { gates: await client.request("gates", { model, text: input.text, preferRuntime, ...(window ? { window } : {}) }, { signal: ac.signal }), restore, gradients: this.gradientModels.length > 0, reading: input.reading };
    }
    const shownWindow = input.kind === "series" ? input.window : view.gates.window;
    if (shownWindow) view.window = shownWindow;
    // Where each step came from: a character of the text, or a row's number in the series.
    const spans: [number, number][] = view.gates.source.map((src) => {
      if (input.kind === "text") return [base + src, base + src + Math.max(1, [...input.text.slice(src, src + 2)][0]?.length ?? 1)];
      return [base + input.sourceStart[src], base + input.sourceEnd[src]];
    });
    if (this.inflight !== ac) {
      void client.request("release", { handle: view.gates.handle }).catch(() => undefined);
      throw new EngineError("CANCELLED", "this gates run was superseded by a newer one");
    }
    this.hold([view.gates.handle]);
    this.shown = { view, model, uri: doc.uri.toString(), spans, text: input.kind === "text" ? input.text : undefined, selection: [doc.offsetAt(selection.start), doc.offsetAt(selection.end)], as, window: shownWindow?.index ?? 0 };
    this.post({ type: "gates", view });
    const bad = view.gates.layers.filter((l) => !l.check.ok);
    this.services.log.info(`gates ${view.gates.name} (${view.gates.runtime}) on ${view.gates.steps} steps of ${doc.uri.fsPath}: ${view.gates.ms.run.toFixed(1)} ms`);
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
    // The editor follows the panel; keyboard focus stays in the panel (its keys never reach the file).
    if (select) {
      this.selected = range;
      void vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, selection: range, preserveFocus: true });
    }
  }

  /** The cursor inside the inspected text selects that step in the panel. */
  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const s = this.shown;
    if (!s || e.textEditor.document.uri.toString() !== s.uri) return;
    // The selection the panel made (a span it revealed): the panel knows its step already.
    const mine = this.selected;
    this.selected = undefined;
    if (mine && e.selections[0].isEqual(mine)) return;
    const off = e.textEditor.document.offsetAt(e.selections[0].active);
    const step = s.spans.findIndex(([a, b]) => off >= a && off < b);
    if (step >= 0) this.post({ type: "selectStep", step });
  }

  protected readonly handlers: Handlers<GatesPanelToHost> = {
    ready: () => this.ready(),
    getSlice: async (msg) => {
      const s = this.shown;
      if (!s) return;
      const slice = await this.services.host.get().request("gateSlice", { handle: s.view.gates.handle, index: msg.index, name: msg.name });
      this.post({ type: "slice", requestId: msg.requestId, index: msg.index, name: msg.name, shape: slice.shape, data: slice.data });
    },
    revealStep: (msg) => this.revealRange(msg.step, msg.step, false),
    revealSpan: (msg) => this.revealRange(msg.from, msg.to, true),
    exportCsv: (msg) => saveExport(async () => Buffer.from(await this.csv(msg.index)), "seqlens-gates", "csv"),
    findInDocument: async (msg) => {
      const s = this.shown;
      if (!s?.text) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
      const text = doc.getText();
      if (text.length > MAX_DOCUMENT_CHARS) throw new EngineError("TOO_LARGE", `the document has ${text.length.toLocaleString("en-US")} characters; searching it runs the model over all of them (at most ${MAX_DOCUMENT_CHARS.toLocaleString("en-US")})`);
      const client = this.services.host.get();
      // the model over the whole document can take a while: a notification with Cancel meanwhile
      const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "SeqLens: running the model over the whole document", cancellable: true }, (_p, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        return client.request("gates", { model: s.model, text, runtime: s.view.gates.runtime }, { signal: ac.signal });
      });
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
    },
    revealOffsets: async (msg) => {
      const s = this.shown;
      if (!s) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
      const len = doc.getText().length;
      const range = new vscode.Range(doc.positionAt(Math.min(msg.from, len)), doc.positionAt(Math.min(msg.to, len)));
      const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
      this.selected = range;
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, selection: range, preserveFocus: true });
      editor.setDecorations(this.highlight, [range]);
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    },
    getGradients: async (msg) => {
      const s = this.shown;
      if (!s?.text) return;
      const series = [];
      let target = "";
      for (const model of this.gradientModels) {
        const g = await this.services.host.get().request("gradients", { model, text: s.text, step: Math.min(msg.step, s.view.gates.steps - 1), ...(s.window ? { window: s.window } : {}) });
        series.push({ name: g.name, cell: g.cell, norms: g.norms });
        target = g.target;
      }
      this.post({ type: "gradients", requestId: msg.requestId, outputStep: Math.min(msg.step, s.view.gates.steps - 1), target, series });
    },
    exportPng: (msg) => saveExport(pngBytes(msg.dataUrl), "seqlens-gates", "png"),
    readAs: async (msg) => {
      const s = this.shown;
      if (!s || !this.diagnostics) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
      const range = new vscode.Range(doc.positionAt(s.selection[0]), doc.positionAt(s.selection[1]));
      await readAndRun(this.services, this.diagnostics, this.gradientModels, doc, range, { as: msg.kind }, this);
    },
    showWindow: async (msg) => {
      const s = this.shown;
      if (!s || !this.diagnostics) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
      const range = new vscode.Range(doc.positionAt(s.selection[0]), doc.positionAt(s.selection[1]));
      const column = s.view.restore.column;
      await readAndRun(this.services, this.diagnostics, this.gradientModels, doc, range, { as: s.as, window: msg.window, ...(column !== undefined ? { column } : {}) }, this);
    },
  };

  /** One row per step: the step's input and every gate and state of every unit of one direction. */
  async csv(index: number): Promise<string> {
    const s = this.shown;
    if (!s) return "";
    const l = s.view.gates.layers[index];
    if (!l) throw new EngineError("BAD_INPUT", `no direction ${index}`);
    const client = this.services.host.get();
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
}

/** Show Gates: the selection read as text or numbers, run through the configured or default recurrent model. */
async function showGates(services: Services, diagnostics: vscode.DiagnosticCollection, gradientModels: string[], editor: vscode.TextEditor | undefined): Promise<void> {
  const range = targetRange(editor);
  if (!editor || !range) return;
  await readAndRun(services, diagnostics, gradientModels, editor.document, range, {});
}

/**
 * Reads `range` (the way `options.as` asks, else as the selection decides) and runs it in `panel` or
 * the Gates panel. The reading is inside the progress notification: a long selection shows progress
 * from the start, and Cancel stops its parse as well as the run.
 */
export async function readAndRun(services: Services, diagnostics: vscode.DiagnosticCollection, gradientModels: string[], doc: vscode.TextDocument, range: vscode.Range, options: ReadOptions, panel?: GatesPanel): Promise<void> {
  let shown = panel;
  await withEngineProgress(
    services,
    "computing gates",
    async (token) => {
      const ac = new AbortController();
      const listener = token.onCancellationRequested(() => ac.abort());
      let input: GatesInput | undefined;
      try {
        input = await readGatesInput(doc, range, services.host.get(), vscodeUi(diagnostics, doc), { ...options, signal: ac.signal });
      } finally {
        listener.dispose();
      }
      if (!input || token.isCancellationRequested) return undefined;
      const configured = setting<string>("gatesModel", "").trim();
      // A reading asked for in the panel runs the default model of that kind (the configured one reads one kind).
      // a model setting that points into an untrusted workspace is ignored, saying so
      const why = configured ? untrustedReason(configured) : undefined;
      if (why && !options.as) void vscode.window.showWarningMessage(`SeqLens: seqlens.gatesModel is ignored: ${why}`);
      const model = (options.as || why ? "" : configured) || defaultGatesModel(services, input.kind);
      shown ??= GatesPanel.show(services, gradientModels, diagnostics);
      return shown.run(doc, input, model, token, range, options.as, options.window ?? 0);
    },
    { onFailure: (message) => shown?.failed(message) },
  );
}

function defaultGatesModel(services: Services, kind: "text" | "series"): string {
  return path.join(services.context.extensionPath, "samples", "models", kind === "text" ? "char-lstm" : "co2-lstm");
}

export const gatesFeature: Feature = {
  name: "gates",
  register: (services) => {
    const diagnostics = vscode.languages.createDiagnosticCollection("seqlens");
    const gradientModels = ["char-lstm", "char-rnn"].map((n) => path.join(services.context.extensionPath, "samples", "models", n));
    return [
      diagnostics,
      vscode.commands.registerCommand("seqlens.showGates", () => showGates(services, diagnostics, gradientModels, vscode.window.activeTextEditor)),
      registerPanelSerializer(services, GATES, {
        create: (panel) => new GatesPanel(panel, services, gradientModels, diagnostics),
        schema: GatesRestore,
        // Only the recurrent samples, the default models and the configured one.
        restorable: (r) => {
          const configured = setting<string>("gatesModel", "").trim();
          return [...recurrentSamples(services.context.extensionPath), defaultGatesModel(services, "text"), defaultGatesModel(services, "series"), ...(configured && !untrustedReason(configured) ? [configured] : [])].includes(r.model);
        },
        restore: async (panel, r) => {
          const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(r.uri));
          const len = doc.getText().length;
          const range = new vscode.Range(doc.positionAt(Math.min(r.start, len)), doc.positionAt(Math.min(r.end, len)));
          const input = await readGatesInput(doc, range, services.host.get(), vscodeUi(diagnostics, doc), { column: r.column, as: r.as });
          if (input) await panel.run(doc, input, r.model, undefined, range, r.as);
        },
      }),
    ];
  },
};
