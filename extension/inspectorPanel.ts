// The Inspector: one webview panel beside the editor, reused by later runs. The host side runs the
// engine on the selection and answers the panel's requests for slices. Also the commands that
// belong to it: Inspect Selection, and the surprisal colouring of what it inspected.
import { seq2seqAttentionNested, type Seq2SeqAttentionKind } from "../protocol/seq2seq";
import { PerformanceObserver } from "node:perf_hooks";
import * as vscode from "vscode";
import { EngineError, errorMessage, isCancelled } from "../protocol/errors";
import type { AblationMode, HeadRef } from "../protocol/interventions";
import {
  attentionNested,
  INSPECTOR_VIEW_TYPE,
  InspectionView,
  InspectorHostToPanel,
  InspectorPanelToHost,
  InspectorRestore,
  inspectorAttribution,
  parseInspectorMessage,
  type PatchView,
} from "../protocol/inspector";
import { setting, targetRange, withEngineProgress } from "./commands";
import { isOffered, offeredFolders } from "./modelPicker";
import { activeModel } from "./models";
import { patchActivations, patchHeads, patchResidual } from "./patchActivations";
import { Handlers, openPanel, PanelHost, PanelKind, registerPanelSerializer, showPanel } from "./panelHost";
import { tokenAt } from "./selectionRange";
import type { Feature, Services } from "./services";
import { StallMeter } from "./stallMeter";
import type { InspectedRange } from "./surprisal";
import type { WhyAt } from "./why";
import type { AttributeResult } from "../protocol/attribution";
import { pngBytes, saveExport } from "./webviewHtml";

export const INSPECTOR: PanelKind<InspectorPanelToHost> = { viewType: INSPECTOR_VIEW_TYPE, title: "SeqLens Inspector", bundle: "inspector", element: "seqlens-inspector", parse: parseInspectorMessage };

interface Current {
  view: InspectionView;
  uri: string;
  start: number;
  end: number;
  version: number;
  model: string;
}

export class InspectorPanel extends PanelHost<InspectorPanelToHost, InspectorHostToPanel> {
  private shown?: Current;
  /** The inspection in flight: a newer one cancels it, and its result is never shown over the newer one's. */
  private inflight?: AbortController;
  /** Heads the panel switched off: each inspection of the same range and model runs with them off. */
  private ablation?: { heads: HeadRef[]; mode: AblationMode };
  /** Activation patching shown (SeqLens: Patch Activations), with the model it ran on. */
  private patchShown?: { view: PatchView; model: string };
  /** The layer and head the panel's heatmap asked for last: sent along with the next inspection. */
  private viewSlice = { layer: 0, head: 0 };
  /** The heatmap cell under the pointer, shown in the editor: its query token and its key token. */
  private readonly hoverQuery = vscode.window.createTextEditorDecorationType({
    border: "1px solid",
    borderColor: new vscode.ThemeColor("focusBorder"),
    backgroundColor: new vscode.ThemeColor("editor.wordHighlightStrongBackground"),
  });
  private readonly hoverKey = vscode.window.createTextEditorDecorationType({
    border: "1px dashed",
    borderColor: new vscode.ThemeColor("charts.orange"),
    backgroundColor: new vscode.ThemeColor("editor.findMatchHighlightBackground"),
  });

  static get current(): InspectorPanel | undefined {
    return openPanel<InspectorPanel>(INSPECTOR);
  }

  static show(services: Services): InspectorPanel {
    return showPanel(INSPECTOR, (panel) => new InspectorPanel(panel, services));
  }

  constructor(panel: vscode.WebviewPanel, services: Services) {
    super(panel, INSPECTOR, services);
    this.disposables.push(
      this.hoverQuery,
      this.hoverKey,
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.uri && e.document.version !== this.shown.version) this.post({ type: "stale", stale: true });
      }),
      // the engine that held this inspection's tensors is gone: its attention and predictions with it
      // (only the engine that made it: a late word about an older engine says nothing of a newer result)
      services.host.onDidStop((stop) => {
        if (this.shown && this.shown.view.handle.endsWith(`@${stop.engine}`)) this.markStale(`The engine ${stop.why}: this inspection's attention and predictions went with it. Re-run to see them again.`);
      }),
    );
  }

  /** Marks what the panel shows as no longer the answer (a re-run failed), saying why; with nothing shown, shows why as an error. */
  markStale(reason: string): void {
    if (this.shown) this.post({ type: "stale", stale: true, reason });
    else this.post({ type: "error", message: reason });
  }

  /** Whether the panel shows an inspection. */
  get hasResult(): boolean {
    return this.shown !== undefined;
  }

  protected snapshot(): InspectorHostToPanel | undefined {
    return this.shown && { type: "inspection", view: this.shown.view, restore: this.state()! };
  }

  /** The page (re)loaded: the inspection, then the activation patching shown. */
  protected override ready(): void {
    super.ready();
    if (this.patchShown) this.post({ type: "patch", patch: this.patchShown.view });
  }

  /** Shows activation patching of two selections (beside whatever inspection is shown). */
  showPatch(view: PatchView, model: string): void {
    this.patchShown = { view, model };
    this.post({ type: "patch", patch: view });
  }

  /** Runs `work` under a progress notification; a failure or cancellation is the panel's error reply too. */
  private async patchRun<T>(title: string, work: (token: vscode.CancellationToken, progress: vscode.Progress<{ message?: string; increment?: number }>) => Promise<T>): Promise<T> {
    let failure: string | undefined;
    const r = await withEngineProgress(this.services, title, work, { onFailure: (message) => (failure = message) });
    if (r === undefined) throw failure === undefined ? new EngineError("CANCELLED", "cancelled") : new Error(failure);
    return r;
  }

  /** Runs the engine on `range` of `document` and shows the result; the heads switched off stay off only with `keepAblation` (a re-run). */
  async inspect(document: vscode.TextDocument, range: vscode.Range, model: string, token?: vscode.CancellationToken, keepAblation = false): Promise<InspectionView | undefined> {
    const text = document.getText(range);
    const ac = new AbortController();
    token?.onCancellationRequested(() => ac.abort());
    // a newer inspection supersedes this one: the older is cancelled, and never shown over the newer
    this.inflight?.abort();
    this.inflight = ac;
    const superseded = () => this.inflight !== ac;
    const t0 = Date.now();
    // a new inspection starts with every head on; a re-run keeps those switched off
    if (!keepAblation) this.ablation = undefined;
    const ablate = this.ablation;
    const engine = this.services.host.get();
    if ((await engine.request("info", { model }, { signal: ac.signal })).family === "seq2seq-onnx") {
      const view = await this.inspectSeq2seq(text, model, ac.signal, t0);
      if (superseded()) return this.dropSuperseded(view.handle);
      return this.show(document, range, model, view);
    }
    const r = await engine.request(
      "inspect",
      { model, text, topK: setting("topK", 10), maxTokens: setting("maxTokens", 512), slice: this.viewSlice, ...(ablate ? { ablate: ablate.heads, ablateMode: ablate.mode } : {}) },
      { signal: ac.signal },
    );
    if (superseded()) return this.dropSuperseded(r.handle);
    const view: InspectionView = {
      handle: r.handle,
      modelName: model.split(/[\\/]/).pop() ?? model,
      device: r.device,
      text,
      tokens: r.tokens,
      nLayer: r.nLayer,
      nHead: r.nHead,
      nKvHead: r.nKvHead,
      attentionAvailable: r.attentionAvailable,
      ...(r.next ? { next: r.next } : {}),
      ...(r.masks ? { masks: r.masks, ...(r.maskToken ? { maskToken: r.maskToken } : {}) } : {}),
      attention: r.slice,
      ...(r.ablation ? { ablation: r.ablation } : {}),
      truncated: r.truncated,
      ms: { run: r.ms.run, total: Date.now() - t0 },
    };
    this.hold([r.handle]);
    return this.show(document, range, model, view);
  }

  /** A result that came back after a newer inspection started: released, never shown. */
  private dropSuperseded(handle: string): never {
    void this.services.host.get().request("release", { handle }).catch(() => undefined);
    throw new EngineError("CANCELLED", "this inspection was superseded by a newer one");
  }

  /** Shows an inspection of `range`: the panel, the Models view, and the editor's surprisal colours. */
  private show(document: vscode.TextDocument, range: vscode.Range, model: string, view: InspectionView): InspectionView {
    this.highlightHover(); // the old inspection's tokens
    this.shown = { view, uri: document.uri.toString(), start: document.offsetAt(range.start), end: document.offsetAt(range.end), version: document.version, model };
    this.post(this.snapshot()!);
    void this.services.models.loaded(model);
    const inspected = this.inspected();
    // surprisal is -log2 p of each token after the ones before it: a causal model's
    if (inspected && view.next) this.services.surprisal.update(inspected).catch((e) => this.services.log.warn(`surprisal: ${errorMessage(e)}`));
    this.services.log.info(`inspected ${view.tokens.length} tokens of ${document.uri.fsPath} with ${view.modelName} on ${view.device}: engine ${view.ms.run.toFixed(1)} ms, total ${view.ms.total} ms`);
    return view;
  }

  /** An encoder-decoder on the selection: the source, its greedy translation as the target, the attentions by slice. */
  private async inspectSeq2seq(text: string, model: string, signal: AbortSignal, t0: number): Promise<InspectionView> {
    const r = await this.services.host.get().request("inspectSeq2seq", { model, text, topK: setting("topK", 10), maxTokens: Math.min(setting("maxTokens", 512), 128) }, { signal });
    return {
      handle: r.handle,
      modelName: model.split(/[\\/]/).pop() ?? model,
      device: r.device,
      text,
      tokens: r.source,
      nLayer: r.decoderLayers,
      nHead: r.decoderHeads,
      attentionAvailable: r.attention.cross || r.attention.encoder || r.attention.decoder,
      seq2seq: { target: r.target, generated: r.generated, encoderLayers: r.encoderLayers, decoderLayers: r.decoderLayers, encoderHeads: r.encoderHeads, decoderHeads: r.decoderHeads, attention: r.attention, next: r.next, targetP: r.targetP },
      truncated: r.truncated,
      ms: { run: r.ms.total, total: Date.now() - t0 },
    };
  }

  /** Runs again on a saved range (re-run after an edit, restore after a reload), clamped to the document as it is now. */
  async reinspect(s: InspectorRestore, token?: vscode.CancellationToken): Promise<InspectionView | undefined> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
    const len = doc.getText().length;
    return this.inspect(doc, new vscode.Range(doc.positionAt(Math.min(s.start, len)), doc.positionAt(Math.min(s.end, len))), s.model, token, true);
  }

  /** The inspected range, for editor decorations. */
  inspected(): InspectedRange | undefined {
    const s = this.shown;
    return s ? { uri: s.uri, start: s.start, version: s.version, handle: s.view.handle, tokens: s.view.tokens } : undefined;
  }

  state(): InspectorRestore | undefined {
    const s = this.shown;
    const off = s?.view.ablation;
    return s ? { uri: s.uri, start: s.start, end: s.end, model: s.model, ...(off ? { ablation: { heads: off.heads, mode: off.mode } } : {}) } : undefined;
  }

  /** After a window reload: the saved range run again, with the heads that were off switched off again. */
  async restore(s: InspectorRestore): Promise<InspectionView | undefined> {
    this.ablation = s.ablation && s.ablation.heads.length > 0 ? { heads: s.ablation.heads, mode: s.ablation.mode } : undefined;
    return this.reinspect(s);
  }

  /**
   * Marks the query and key tokens of the heatmap cell under the pointer in the editors that show the
   * inspected text (no focus change, no scrolling); without indices, clears the marks.
   */
  private highlightHover(query?: number, key?: number): void {
    const s = this.shown;
    const range = (doc: vscode.TextDocument, i: number | undefined) => {
      const t = i === undefined ? undefined : s?.view.tokens[i];
      return t && s ? [new vscode.Range(doc.positionAt(s.start + t.start), doc.positionAt(s.start + t.end))] : [];
    };
    for (const editor of vscode.window.visibleTextEditors) {
      const doc = editor.document;
      const current = s && doc.uri.toString() === s.uri && doc.version === s.version;
      editor.setDecorations(this.hoverQuery, current ? range(doc, query) : []);
      editor.setDecorations(this.hoverKey, current ? range(doc, key) : []);
    }
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const s = this.shown;
    if (!s || e.textEditor.document.uri.toString() !== s.uri || e.textEditor.document.version !== s.version) return;
    // a selection's start (a token the panel revealed is selected start to end: its end is the next token's start)
    const sel = e.selections[0];
    const offset = e.textEditor.document.offsetAt(sel.isEmpty ? sel.active : sel.start);
    if (offset < s.start || offset > s.end) return;
    const i = tokenAt(s.view.tokens, offset - s.start);
    if (i >= 0) this.post({ type: "selectToken", index: i });
  }

  protected readonly handlers: Handlers<InspectorPanelToHost> = {
    ready: () => this.ready(),
    getAttention: async (msg) => {
      const s = this.shown;
      if (!s) return;
      if (msg.view) this.viewSlice = { layer: msg.layer, head: msg.head };
      const slice = await this.services.host.get().request("attention", { handle: s.view.handle, layer: msg.layer, head: msg.head });
      this.post({ type: "attention", requestId: msg.requestId, layer: msg.layer, head: msg.head, shape: slice.shape, data: slice.data });
    },
    getSeq2seqAttention: async (msg) => {
      const s = this.shown;
      if (!s?.view.seq2seq) return;
      const slice = await this.services.host.get().request("seq2seqAttention", { handle: s.view.handle, kind: msg.kind, layer: msg.layer, head: msg.head });
      this.post({ type: "seq2seqAttention", requestId: msg.requestId, kind: msg.kind, layer: msg.layer, head: msg.head, shape: slice.shape, data: slice.data });
    },
    getNextToken: async (msg) => {
      const s = this.shown;
      if (!s) return;
      const result = await this.services.host.get().request("nextToken", { handle: s.view.handle, position: msg.position, topK: msg.topK, temperature: msg.temperature });
      this.post({ type: "nextToken", requestId: msg.requestId, result });
    },
    getFillMask: async (msg) => {
      const s = this.shown;
      if (!s) return;
      const result = await this.services.host.get().request("fillMask", { handle: s.view.handle, position: msg.position, topK: msg.topK, temperature: msg.temperature });
      this.post({ type: "fillMask", requestId: msg.requestId, result });
    },
    revealToken: async (msg) => {
      const s = this.shown;
      if (!s || msg.index >= s.view.tokens.length) return;
      const t = s.view.tokens[msg.index];
      const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
      const doc = visible?.document ?? (await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri)));
      const range = new vscode.Range(doc.positionAt(s.start + t.start), doc.positionAt(s.start + t.end));
      // The selection is set as the editor is shown, in one step; focus stays in the panel, so a key
      // typed next (the panel's [ ] , .) acts on the panel and never lands in the user's file.
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: true, selection: range });
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    },
    hoverTokens: (msg) => this.highlightHover(msg.query, msg.key),
    rerun: async () => {
      if (!this.shown) return;
      await this.reinspect(this.state()!);
      this.post({ type: "stale", stale: false });
    },
    ablateHeads: async (msg) => {
      const s = this.shown;
      if (!s || s.view.seq2seq) return;
      const bad = msg.heads.find((h) => h.layer >= s.view.nLayer || h.head >= s.view.nHead);
      if (bad) throw new EngineError("BAD_INPUT", `${s.view.modelName} has ${s.view.nLayer} layers of ${s.view.nHead} heads: there is no head ${bad.layer}.${bad.head}; re-run the inspection and switch a head of its thumbnails off`);
      // each head once, in layer then head order (the line that names them reads in that order)
      const heads = [...new Map(msg.heads.map((h) => [`${h.layer}.${h.head}`, { layer: h.layer, head: h.head }])).values()].sort((a, b) => a.layer - b.layer || a.head - b.head);
      const asked = heads.length > 0 ? { heads, mode: msg.mode } : undefined;
      this.ablation = asked;
      const restore = this.state()!;
      let failure = "it was cancelled";
      const view = await withEngineProgress(this.services, heads.length > 0 ? "running with heads switched off" : "running with every head on", (token) => this.reinspect(restore, token), {
        onFailure: (message) => (failure = message),
      });
      // failed or cancelled (not superseded by a newer switch): the heads off are those of the run shown
      if (!view && this.ablation === asked) {
        const shown = this.shown?.view.ablation;
        this.ablation = shown ? { heads: shown.heads, mode: shown.mode } : undefined;
        this.post({ type: "error", message: `${heads.length > 0 ? "Switching heads off" : "Switching the heads back on"} did not finish (${failure.replace(/\.$/, "")}); the heads marked off are those of the run shown.` });
      }
    },
    getDla: async (msg) => {
      const s = this.shown;
      if (!s || s.view.seq2seq || !s.view.next) throw new EngineError("INCOMPATIBLE", "logit attribution explains a causal model's next-token prediction: inspect with a decoder model");
      if (msg.position >= s.view.tokens.length) throw new EngineError("BAD_INPUT", `the inspection has ${s.view.tokens.length} tokens, none at ${msg.position}: pick a token in the strip`);
      // the inspection's own tokens, so the positions are the panel's
      const { tokens: _tokens, ...result } = await this.services.host.get().request("dla", {
        model: s.model,
        ids: s.view.tokens.map((t) => t.id),
        position: msg.position + 1,
        ...(msg.target !== undefined ? { target: msg.target } : {}),
        ...(msg.foil !== undefined ? { foil: msg.foil } : {}),
        maxTokens: s.view.tokens.length,
      });
      this.post({ type: "dla", requestId: msg.requestId, result });
    },
    whyToken: async (msg) => {
      const s = this.shown;
      if (!s || s.view.seq2seq || msg.index >= s.view.tokens.length) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
      if (doc.version !== s.version) throw new EngineError("BAD_INPUT", "The text changed since this inspection: re-run it, then ask Why? again.");
      // the editor shows the marks: open it beside the panel, focus staying here
      const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri);
      if (!visible) await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: true });
      const at: WhyAt = { uri: s.uri, start: s.start, end: s.start + s.view.tokens[msg.index].end };
      const r = await vscode.commands.executeCommand<AttributeResult | undefined>("seqlens.whyToken", at);
      // the panel draws the same numbers on its own strip (the result's tokens: the setting may cut the start)
      if (r) this.post({ type: "attribution", attribution: inspectorAttribution(r) });
    },
    setPatchMetric: async (msg) => {
      const shown = this.patchShown;
      if (!shown) throw new EngineError("BAD_INPUT", "No activation patching is shown: run SeqLens: Patch Activations on two selections.");
      if (msg.target === msg.foil) throw new EngineError("BAD_INPUT", "The metric's two tokens are the same: pick two different tokens.");
      const v = shown.view;
      const inputs = { model: shown.model, modelName: v.modelName, clean: v.clean, corrupted: v.corrupted };
      const view = await this.patchRun("patching activations with another metric", (token, progress) =>
        patchResidual(this.services, inputs, token, progress, { target: msg.target, foil: msg.foil, candidates: v.candidates, defaults: v.defaultMetric }),
      );
      // a newer Patch Activations replaced what this re-ran
      if (this.patchShown !== shown) throw new EngineError("CANCELLED", "superseded by a newer activation patching");
      this.patchShown = { view, model: shown.model };
      this.post({ type: "patch", requestId: msg.requestId, patch: view });
    },
    getPatchHeads: async (msg) => {
      const shown = this.patchShown;
      if (!shown) throw new EngineError("BAD_INPUT", "No activation patching is shown: run SeqLens: Patch Activations on two selections.");
      const layers = shown.view.result.grid.length;
      if (msg.layer >= layers) throw new EngineError("BAD_INPUT", `${shown.view.modelName} has ${layers} layers: there is no layer ${msg.layer}`);
      const result = await this.patchRun(`patching the heads of layer ${msg.layer}`, (token, progress) => patchHeads(this.services, shown.model, shown.view, msg.layer, token, progress));
      this.post({ type: "patchHeads", requestId: msg.requestId, result });
    },
    clearPatch: () => {
      this.patchShown = undefined;
    },
    exportData: (msg) => this.exportData(msg.format),
    exportPng: (msg) => saveExport(pngBytes(msg.dataUrl), "seqlens-inspection", "png"),
  };

  /** An encoder-decoder inspection as `seqlens inspect --json` writes it: source, target, the three attentions, next. */
  private async seq2seqExport(view: InspectionView): Promise<Record<string, unknown>> {
    const q = view.seq2seq!;
    const slice = (p: { handle: string; kind: Seq2SeqAttentionKind; layer: number; head: number }) => this.services.host.get().request("seq2seqAttention", p);
    const all = (kind: Seq2SeqAttentionKind) => seq2seqAttentionNested(slice, { ...q, handle: view.handle }, kind);
    return {
      model: view.modelName,
      device: view.device,
      text: view.text,
      source: view.tokens,
      target: q.target,
      encoderAttention: await all("encoder"),
      decoderAttention: await all("decoder"),
      crossAttention: await all("cross"),
      next: q.next,
    };
  }

  private async exportData(format: "json" | "csv"): Promise<void> {
    const s = this.shown;
    if (!s) return;
    if (format === "csv") {
      return saveExport(Buffer.from(["index,id,text,start,end", ...s.view.tokens.map((t, i) => `${i},${t.id},${JSON.stringify(t.text)},${t.start},${t.end}`)].join("\n") + "\n"), "seqlens-inspection", "csv");
    }
    // JSON: attention goes along when it fits under the transfer cap (seqlens.attentionTransferCapMB);
    // it is fetched once the user has picked where to save.
    return saveExport(
      async () => {
        if (s.view.seq2seq) return Buffer.from(JSON.stringify(await this.seq2seqExport(s.view), null, 2));
        let attention: number[][][][] | string | null = null;
        if (s.view.attentionAvailable) {
          try {
            attention = attentionNested(await this.services.host.get().request("attentionAll", { handle: s.view.handle, capBytes: setting("attentionTransferCapMB", 64) * 2 ** 20 }));
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
}

/** `s` ending as a sentence does. */
function sentence(s: string): string {
  return /[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`;
}

/** Inspect Selection on the active model, logging how long the extension host's event loop stalled meanwhile (it should not). */
async function inspectSelection(services: Services, editor: vscode.TextEditor | undefined): Promise<void> {
  const range = targetRange(editor);
  if (!editor || !range) return;
  const model = activeModel(services.context.extensionPath);
  if ("error" in model) {
    void vscode.window.showErrorMessage(model.error);
    const current = InspectorPanel.current;
    current?.markStale(`Inspect did not run: ${sentence(model.error)}${current.hasResult ? " What is shown is the previous result." : ""}`);
    return;
  }
  const panel = InspectorPanel.show(services);
  services.showStatus(true);
  const stall = new StallMeter();
  let gcMax = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMax = Math.max(gcMax, e.duration);
  });
  gc.observe({ entryTypes: ["gc"] });
  const view = await withEngineProgress(services, "inspecting", async (token) => {
    try {
      return await panel.inspect(editor.document, range, model.path, token);
    } catch (e) {
      if (!isCancelled(e)) panel.markStale(`Inspect failed: ${sentence(errorMessage(e))}${panel.hasResult ? " What is shown is the previous result." : ""}`);
      throw e;
    }
  });
  const s = stall.stop();
  gc.disconnect();
  services.showStatus(false, view?.device);
  if (!view) return;
  // A stall during which this process barely ran was the OS running other processes, not work here.
  services.log.info(
    `extension host event loop during the inspection of ${view.tokens.length} tokens: max stall ${s.maxStallMs.toFixed(1)} ms ` +
      `(host CPU in it ${s.cpuInMaxStallMs.toFixed(1)} ms; host CPU ${s.cpuMs.toFixed(1)} ms over ${s.wallMs.toFixed(0)} ms; longest GC pause ${gcMax.toFixed(1)} ms)`,
  );
}

export const inspectorFeature: Feature = {
  name: "inspector",
  register: (services) => [
    vscode.commands.registerCommand("seqlens.inspectSelection", () => inspectSelection(services, vscode.window.activeTextEditor)),
    vscode.commands.registerCommand("seqlens.patchActivations", () => patchActivations(services, vscode.window.activeTextEditor, (view, model) => InspectorPanel.show(services).showPatch(view, model))),
    vscode.commands.registerCommand("seqlens.toggleSurprisal", async () => {
      try {
        const inspected = InspectorPanel.current?.inspected();
        await services.surprisal.toggle(inspected);
        if (services.surprisal.enabled && !inspected) void vscode.window.showInformationMessage("SeqLens: surprisal is on; it colours the text of the next inspection.");
      } catch (e) {
        void vscode.window.showErrorMessage(`SeqLens: ${errorMessage(e)}`);
      }
    }),
    registerPanelSerializer(services, INSPECTOR, {
      create: (panel) => new InspectorPanel(panel, services),
      schema: InspectorRestore,
      restorable: async (r) => isOffered(r.model, await offeredFolders(services)),
      restore: (panel, r) => panel.restore(r),
    }),
  ],
};
