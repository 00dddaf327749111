// The Embeddings panel, host side: the active model's token embeddings and the hidden states of the
// selection projected (PCA, UMAP, t-SNE, in the engine with progress and cancellation), nearest
// neighbours and vector arithmetic in the full space, and the logit lens of the selection. Hover a
// point and the token is highlighted in the editor; move the cursor and the panel follows. Also its
// command, Show Embeddings & Logit Lens.
import * as path from "node:path";
import * as vscode from "vscode";
import { TokenInfo } from "../protocol/basics";
import { EMBEDDINGS_VIEW_TYPE, EmbeddingsHostToPanel, EmbeddingsPanelToHost, EmbeddingsRestore, EmbeddingsView, parseEmbeddingsMessage } from "../protocol/embeddings";
import { EngineError, errorMessage, isCancelled } from "../protocol/errors";
import { failureMessage, isEngineLost, setting, targetRange, withEngineProgress } from "./commands";
import { isOffered, offeredFolders } from "./modelPicker";
import { activeModel, untrustedReason } from "./models";
import { Handlers, PanelHost, PanelKind, registerPanelSerializer, showPanel } from "./panelHost";
import { tokenAt } from "./selectionRange";
import type { Feature, Services } from "./services";
import { pngBytes, saveExport } from "./webviewHtml";

export const EMBEDDINGS: PanelKind<EmbeddingsPanelToHost> = {
  viewType: EMBEDDINGS_VIEW_TYPE,
  title: "SeqLens Embeddings",
  bundle: "embeddings",
  element: "seqlens-embeddings",
  retainContextWhenHidden: true,
  parse: parseEmbeddingsMessage,
};
interface Shown {
  view: EmbeddingsView;
  model: string;
  /** The recurrent model for the selection's h_t, and its steps (characters) once projected. */
  recurrentModel?: string;
  steps: TokenInfo[];
  uri?: string;
  start: number;
  version: number;
  text: string;
}

export class EmbeddingsPanel extends PanelHost<EmbeddingsPanelToHost, EmbeddingsHostToPanel> {
  private shown?: Shown;
  private readonly running = new Map<number, AbortController>();
  private readonly hoverDecoration = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("editor.findMatchHighlightBackground"),
    borderColor: new vscode.ThemeColor("editor.findMatchBorder"),
    borderStyle: "solid",
    borderWidth: "1px",
  });

  static show(services: Services): EmbeddingsPanel {
    return showPanel(EMBEDDINGS, (panel) => new EmbeddingsPanel(panel, services));
  }

  constructor(panel: vscode.WebviewPanel, services: Services) {
    super(panel, EMBEDDINGS, services);
    this.disposables.push(this.hoverDecoration, vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)), { dispose: () => this.running.forEach((ac) => ac.abort()) });
  }

  /** Shows why a run failed (the engine stopped, a model without embeddings) in the panel. */
  failed(message: string): void {
    this.post({ type: "error", message });
  }

  protected snapshot(): EmbeddingsHostToPanel | undefined {
    return this.shown && { type: "view", view: this.shown.view };
  }

  /** Shows `range` of `document` (the lens of it; its tokens highlighted in the projector). */
  async show(document: vscode.TextDocument | undefined, range: vscode.Range | undefined, model: string, recurrentModel?: string, token?: vscode.CancellationToken): Promise<EmbeddingsView> {
    const client = this.services.host.get();
    const ac = new AbortController();
    token?.onCancellationRequested(() => ac.abort());
    const info = await client.request("info", { model }, { signal: ac.signal });
    const text = document && range ? document.getText(range) : "";
    const maxTokens = setting("maxTokens", 512);
    const view: EmbeddingsView = { modelName: info.name, layers: info.nLayer + 1, vocabSize: info.vocabSize, outputMatrix: info.embeddings.output, tokens: [] };
    if (text.trim().length > 0) {
      try {
        const lens = await client.request("lens", { model, text, maxTokens, topK: 5 }, { signal: ac.signal });
        view.tokens = lens.tokens;
        view.lens = lens;
        view.truncated = lens.truncated?.notice;
      } catch (e) {
        if (isCancelled(e) || isEngineLost(e)) throw e;
        view.lensError = errorMessage(e);
        // the projector still works; the tokens come from an inspection
        const r = await client.request("inspect", { model, text, maxTokens, topK: 1 }, { signal: ac.signal });
        view.tokens = r.tokens;
        void client.request("release", { handle: r.handle }).catch(() => undefined);
      }
    }
    if (view.tokens.length > 0 && recurrentModel) view.recurrentModel = recurrentModel.split(/[\\/]/).pop();
    if (document && range && text.length > 0) view.restore = { uri: document.uri.toString(), start: document.offsetAt(range.start), end: document.offsetAt(range.end), model };
    this.shown = { view, model, recurrentModel: view.recurrentModel ? recurrentModel : undefined, steps: [], uri: document?.uri.toString(), start: document && range ? document.offsetAt(range.start) : 0, version: document?.version ?? 0, text };
    this.post({ type: "view", view });
    return view;
  }

  /** Shows a saved selection again (after a window reload), clamped to the document as it is now. */
  async restore(r: EmbeddingsRestore, recurrentModel?: string): Promise<EmbeddingsView> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(r.uri));
    const len = doc.getText().length;
    return this.show(doc, new vscode.Range(doc.positionAt(Math.min(r.start, len)), doc.positionAt(Math.min(r.end, len))), r.model, recurrentModel);
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const s = this.shown;
    if (!s || e.textEditor.document.uri.toString() !== s.uri || e.textEditor.document.version !== s.version) return;
    // a selection's start: a token the panel revealed is selected start to end, and its end is the next token's start
    const sel = e.selections[0];
    const offset = e.textEditor.document.offsetAt(sel.isEmpty ? sel.active : sel.start) - s.start;
    if (offset < 0 || offset > s.text.length) return;
    const i = tokenAt(s.view.tokens, offset);
    if (i >= 0) this.post({ type: "selectPosition", index: i, step: tokenAt(s.steps, offset) });
  }

  /** The editor ranges of the selection's tokens at `positions`, in the editor showing it. */
  private ranges(positions: number[], of: "tokens" | "steps" = "tokens"): { editor?: vscode.TextEditor; ranges: vscode.Range[] } {
    const s = this.shown;
    if (!s?.uri) return { ranges: [] };
    const editor = vscode.window.visibleTextEditors.find((ed) => ed.document.uri.toString() === s.uri);
    if (!editor || editor.document.version !== s.version) return { editor, ranges: [] };
    const doc = editor.document;
    const list = of === "steps" ? s.steps : s.view.tokens;
    const ranges = positions.filter((i) => i >= 0 && i < list.length).map((i) => new vscode.Range(doc.positionAt(s.start + list[i].start), doc.positionAt(s.start + list[i].end)));
    return { editor, ranges };
  }

  private highlight(positions: number[], of: "tokens" | "steps" = "tokens"): void {
    const { editor, ranges } = this.ranges(positions, of);
    editor?.setDecorations(this.hoverDecoration, ranges);
  }

  protected readonly handlers: Handlers<EmbeddingsPanelToHost> = {
    ready: () => this.ready(),
    project: (msg) => this.project(msg),
    cancel: (msg) => this.running.get(msg.requestId)?.abort(),
    neighbours: async (msg) => {
      const s = this.shown;
      if (!s) return;
      const r = await this.services.host.get().request("neighbours", { model: s.model, plus: msg.plus, minus: msg.minus, k: msg.k, metric: msg.metric, matrix: msg.matrix });
      this.post({ type: "neighbours", requestId: msg.requestId, metric: r.metric, neighbours: r.neighbours });
    },
    hoverPosition: (msg) => this.highlight(msg.index >= 0 ? [msg.index] : [], msg.of),
    hoverToken: (msg) => {
      const s = this.shown;
      this.highlight(s && msg.id >= 0 ? s.view.tokens.flatMap((t, i) => (t.id === msg.id ? [i] : [])) : []);
    },
    revealPosition: (msg) => {
      const { editor, ranges } = this.ranges([msg.index], msg.of);
      if (!editor || ranges.length === 0) return;
      editor.selection = new vscode.Selection(ranges[0].start, ranges[0].end);
      editor.revealRange(ranges[0], vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    },
    exportPng: (msg) => saveExport(pngBytes(msg.dataUrl), "seqlens-embeddings", "png"),
  };

  private async project(msg: Extract<EmbeddingsPanelToHost, { type: "project" }>): Promise<void> {
    const s = this.shown;
    if (!s) return;
    if (msg.source !== "vocabulary" && s.view.tokens.length === 0) throw new EngineError("BAD_INPUT", "select some text and run SeqLens: Show Embeddings to see its hidden states");
    if (msg.source === "recurrent" && !s.recurrentModel) throw new EngineError("BAD_INPUT", "no recurrent model for this selection");
    const ac = new AbortController();
    this.running.set(msg.requestId, ac);
    try {
      const maxTokens = setting("maxTokens", 512);
      const params =
        msg.source === "vocabulary"
          ? { model: s.model, method: msg.method, dims: msg.dims, matrix: msg.matrix }
          : msg.source === "recurrent"
            ? { model: s.recurrentModel!, method: msg.method, dims: msg.dims, text: s.text, layer: msg.layer }
            : { model: s.model, method: msg.method, dims: msg.dims, text: s.text, layer: msg.layer, maxTokens };
      const r = await this.services.host
        .get()
        .request("project", params, {
          signal: ac.signal,
          onProgress: (p) => p.kind === "steps" && this.post({ type: "progress", requestId: msg.requestId, done: p.done, total: p.total, message: p.message }),
        })
        .catch((e: unknown) => {
          // what was lost, in the panel: "the UMAP projection stopped: the engine was killed by SIGKILL; …"
          throw isEngineLost(e) ? new EngineError("PROCESS_DIED", failureMessage(`the ${msg.method === "tsne" ? "t-SNE" : msg.method.toUpperCase()} projection`, e)) : e;
        });
      if (msg.source === "recurrent") s.steps = r.tokens ?? [];
      const n = r.points.length;
      const coords = new Float32Array(n * r.dims);
      const ids = new Int32Array(n);
      r.points.forEach((p, i) => {
        coords[i * r.dims] = p.x;
        coords[i * r.dims + 1] = p.y;
        if (r.dims === 3) coords[i * r.dims + 2] = p.z!;
        ids[i] = p.id;
      });
      this.post({ type: "projection", requestId: msg.requestId, source: msg.source, matrix: r.matrix, method: r.method, dims: r.dims, layer: r.layer, layerNames: r.layerNames, coords, ids, labels: r.points.map((p) => p.label), explained: r.explained, cached: r.cached, ms: r.ms });
    } finally {
      this.running.delete(msg.requestId);
    }
  }
}

/** The recurrent model whose h_t the Embeddings panel offers for text: seqlens.gatesModel, else the character LSTM. */
function recurrentTextModel(services: Services): string {
  const g = setting<string>("gatesModel", "").trim();
  return g && !untrustedReason(g) ? g : path.join(services.context.extensionPath, "samples", "models", "char-lstm");
}

/** Show Embeddings & Logit Lens: the active model's vocabulary, and the selection (or the block around the cursor) if there is one. */
async function showEmbeddings(services: Services, editor: vscode.TextEditor | undefined): Promise<void> {
  const model = activeModel(services.context.extensionPath);
  if ("error" in model) {
    void vscode.window.showErrorMessage(model.error);
    return;
  }
  // With no editor the panel still shows the vocabulary.
  const range = editor ? targetRange(editor) : undefined;
  const panel = EmbeddingsPanel.show(services);
  await withEngineProgress(services, "embeddings and logit lens", (token) => panel.show(range ? editor!.document : undefined, range, model.path, recurrentTextModel(services), token), { onFailure: (message) => panel.failed(message) });
}

export const embeddingsFeature: Feature = {
  name: "embeddings",
  register: (services) => [
    vscode.commands.registerCommand("seqlens.showEmbeddings", () => showEmbeddings(services, vscode.window.activeTextEditor)),
    registerPanelSerializer(services, EMBEDDINGS, {
      create: (panel) => new EmbeddingsPanel(panel, services),
      schema: EmbeddingsRestore,
      restorable: async (r) => isOffered(r.model, await offeredFolders(services)),
      restore: (panel, r) => panel.restore(r, recurrentTextModel(services)),
    }),
  ],
};
