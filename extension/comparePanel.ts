// The Compare panel, host side: two models on one selection. The engine compares them; the panel
// asks for each side's next-token distribution and attention slice by side (0 or 1); the editor
// colours each token by how much better or worse the second model predicts it. Also its commands,
// Compare Models… and the Models view's Compare with….
import * as vscode from "vscode";
import { EngineError } from "../protocol/errors";
import { COMPARE_VIEW_TYPE, CompareHostToPanel, ComparePanelToHost, CompareRestore, CompareResult, parseCompareMessage } from "../protocol/compare";
import { setting, targetRange, withEngineProgress } from "./commands";
import { isOffered, modelName, offeredFolders, pickModel } from "./modelPicker";
import { ModelItem } from "./modelsView";
import { Handlers, PanelHost, PanelKind, registerPanelSerializer, showPanel } from "./panelHost";
import { tokenAt } from "./selectionRange";
import type { Feature, Services } from "./services";
import { MARK_STYLES } from "./surprisal";

export const COMPARE: PanelKind<ComparePanelToHost> = { viewType: COMPARE_VIEW_TYPE, title: "SeqLens Compare", bundle: "compare", element: "seqlens-compare", retainContextWhenHidden: true, parse: parseCompareMessage };
interface Shown {
  result: CompareResult;
  restore: CompareRestore;
  uri: string;
  start: number;
  version: number;
  text: string;
}

/** Loss-difference decorations: five steps each way, from "a little" to "4 bits or more". */
export const STEPS = [0.25, 0.5, 1, 2, 4];
/**
 * Underline colours (dark and light theme kinds, high contrast included): blue where B predicts the token
 * better, orange where worse, as the panel's diverging ramp. An underline, not a background: a tint
 * behind the text strong enough to see would take some of the theme's token colours under 4.5:1 (see
 * surprisal.ts); these have 3:1 or more against the editor background.
 */
export const DELTA_MARKS = { better: { dark: "#4daafc", light: "#005fb8" }, worse: { dark: "#e8912d", light: "#b35300" } };

/** The decoration options of step `i` (0-4) of one direction. */
export function deltaDecorationOptions(direction: "better" | "worse", i: number): vscode.DecorationRenderOptions {
  const { style, width } = MARK_STYLES[i];
  return {
    borderStyle: `none none ${style} none`,
    borderWidth: `0 0 ${width}px 0`,
    dark: { borderColor: DELTA_MARKS[direction].dark },
    light: { borderColor: DELTA_MARKS[direction].light },
    ...(i >= 3 ? { overviewRulerColor: DELTA_MARKS[direction].dark } : {}),
  };
}

export class ComparePanel extends PanelHost<ComparePanelToHost, CompareHostToPanel> {
  private shown?: Shown;
  /** The comparison in flight: a newer one cancels it. */
  private inflight?: AbortController;
  private readonly better = STEPS.map((_, i) => vscode.window.createTextEditorDecorationType(deltaDecorationOptions("better", i)));
  private readonly worse = STEPS.map((_, i) => vscode.window.createTextEditorDecorationType(deltaDecorationOptions("worse", i)));

  static show(services: Services): ComparePanel {
    return showPanel(COMPARE, (panel) => new ComparePanel(panel, services));
  }

  constructor(panel: vscode.WebviewPanel, services: Services) {
    super(panel, COMPARE, services);
    this.disposables.push(
      { dispose: () => this.decorate(undefined) },
      ...this.better,
      ...this.worse,
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.uri) this.decorate(undefined); // offsets no longer hold
      }),
    );
  }

  /** Shows why a comparison failed (the engine stopped, models that do not match) in the panel. */
  failed(message: string): void {
    this.post({ type: "error", message });
  }

  protected snapshot(): CompareHostToPanel | undefined {
    return this.shown && { type: "compare", view: { ...this.shown.result, text: this.shown.text }, restore: this.shown.restore };
  }

  /** Compares again on a saved range (after a window reload), clamped to the document as it is now. */
  async restore(r: CompareRestore): Promise<CompareResult> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(r.uri));
    const len = doc.getText().length;
    return this.compare(doc, new vscode.Range(doc.positionAt(Math.min(r.start, len)), doc.positionAt(Math.min(r.end, len))), r.modelA, r.modelB);
  }

  async compare(document: vscode.TextDocument, range: vscode.Range, modelA: string, modelB: string, token?: vscode.CancellationToken): Promise<CompareResult> {
    const text = document.getText(range);
    const ac = new AbortController();
    token?.onCancellationRequested(() => ac.abort());
    // a newer comparison supersedes this one: the older is cancelled, and never shown over the newer
    this.inflight?.abort();
    this.inflight = ac;
    const client = this.services.host.get();
    const result = await client.request("compare", { modelA, modelB, text, maxTokens: setting("maxTokens", 512) }, { signal: ac.signal });
    if (this.inflight !== ac) {
      for (const handle of [...result.handles, ...(result.gates ?? [])]) void client.request("release", { handle }).catch(() => undefined);
      throw new EngineError("CANCELLED", "this comparison was superseded by a newer one");
    }
    this.hold([...result.handles, ...(result.gates ?? [])]);
    const restore = { uri: document.uri.toString(), start: document.offsetAt(range.start), end: document.offsetAt(range.end), modelA, modelB };
    this.shown = { result, restore, uri: restore.uri, start: restore.start, version: document.version, text };
    this.post(this.snapshot()!);
    this.decorate(vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.shown!.uri));
    this.services.log.info(`compared ${result.names.join(" and ")} on ${result.tokens.length} tokens (${result.mode}): mean loss ${result.summary.meanLoss.map((l) => l.toFixed(3)).join(" / ")} ${result.summary.unit}`);
    return result;
  }

  /** Underlines each token in the editor by the second model's loss minus the first's (blue: better, orange: worse). */
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
        const hover = new vscode.MarkdownString(
          `**SeqLens compare**: ${s.result.names[1]} ${delta < 0 ? "better" : "worse"} by ${Math.abs(delta).toFixed(2)} bits (${a.toFixed(2)} → ${b.toFixed(2)})\n\n` +
            `Underline: blue where ${s.result.names[1]} predicts the token better than ${s.result.names[0]}, orange where worse; thicker for ${STEPS.join(", ")}+ bits of difference.`,
        );
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

  protected readonly handlers: Handlers<ComparePanelToHost> = {
    ready: () => this.ready(),
    getNextToken: async (msg) => {
      const s = this.shown;
      if (!s) return;
      const result = await this.services.host.get().request("nextToken", { handle: s.result.handles[msg.side], position: msg.position, topK: msg.topK, ...(msg.temperature !== undefined ? { temperature: msg.temperature } : {}) });
      this.post({ type: "nextToken", requestId: msg.requestId, side: msg.side, result });
    },
    getAttention: async (msg) => {
      const s = this.shown;
      if (!s) return;
      const slice = await this.services.host.get().request("attention", { handle: s.result.handles[msg.side], layer: msg.layer, head: msg.head });
      this.post({ type: "attention", requestId: msg.requestId, side: msg.side, layer: msg.layer, head: msg.head, shape: slice.shape, data: slice.data });
    },
    getGate: async (msg) => {
      const s = this.shown;
      if (!s?.result.gates) return;
      const slice = await this.services.host.get().request("gateSlice", { handle: s.result.gates[msg.side], index: msg.index, name: msg.name });
      this.post({ type: "gate", requestId: msg.requestId, side: msg.side, index: msg.index, name: msg.name, shape: slice.shape, data: slice.data });
    },
    revealToken: (msg) => {
      const s = this.shown;
      if (!s || msg.index >= s.result.tokens.length) return;
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
      if (!editor || editor.document.version !== s.version) return;
      const t = s.result.tokens[msg.index];
      const range = new vscode.Range(editor.document.positionAt(s.start + t.start), editor.document.positionAt(s.start + t.end));
      editor.selection = new vscode.Selection(range.start, range.end);
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    },
  };
}

/** Compare Models…: the selection under two models, picked here unless given. */
async function compareModels(services: Services, editor: vscode.TextEditor | undefined, modelA?: string, modelB?: string): Promise<void> {
  const range = targetRange(editor);
  if (!editor || !range) return;
  const a = typeof modelA === "string" ? modelA : await pickModel(services, "SeqLens: Compare — the first model (A)");
  if (!a) return;
  const b = typeof modelB === "string" ? modelB : await pickModel(services, `SeqLens: Compare ${modelName(a)} with… (B)`, a);
  if (!b) return;
  const panel = ComparePanel.show(services);
  await withEngineProgress(services, "comparing", (token) => panel.compare(editor.document, range, a, b, token), { onFailure: (message) => panel.failed(message) });
}

export const compareFeature: Feature = {
  name: "compare",
  register: (services) => [
    vscode.commands.registerCommand("seqlens.compareModels", (a?: string, b?: string) => compareModels(services, vscode.window.activeTextEditor, a, b)),
    // From the Models view: this model against one picked next.
    vscode.commands.registerCommand("seqlens.compareWith", async (item: ModelItem) => {
      if (!(item instanceof ModelItem)) return;
      if (item.missing) {
        void vscode.window.showWarningMessage(`SeqLens: ${item.missing}`);
        return;
      }
      const b = await pickModel(services, `SeqLens: Compare ${modelName(item.modelPath)} with… (B)`, item.modelPath);
      if (b) await compareModels(services, vscode.window.activeTextEditor, item.modelPath, b);
    }),
    registerPanelSerializer(services, COMPARE, {
      create: (panel) => new ComparePanel(panel, services),
      schema: CompareRestore,
      restorable: async (r) => {
        const folders = await offeredFolders(services);
        return isOffered(r.modelA, folders) && isOffered(r.modelB, folders);
      },
      restore: (panel, r) => panel.restore(r),
    }),
  ],
};
