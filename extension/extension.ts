// The VS Code extension host entry. Thin glue: commands, the Inspector panel, the status bar.
// Activation loads nothing heavy: the engine process starts on the first inspection.
import { PerformanceObserver } from "node:perf_hooks";
import * as vscode from "vscode";
import { EngineError } from "../protocol/errors";
import { EngineHost } from "./engineHost";
import { INSPECTOR_VIEW_TYPE, InspectorPanel, InspectorState } from "./inspectorPanel";
import { activeModel, bundledModels, isRecurrentFolder, recurrentSamples } from "./models";
import { blockAround } from "./selectionRange";
import { StallMeter } from "./stallMeter";
import { SurprisalDecorations } from "./surprisal";
import { GATES_VIEW_TYPE, GatesPanel } from "./gatesPanel";
import type { GatesView } from "../protocol/gates";
import { readGatesInput } from "./gatesInput";
import * as path from "node:path";
import { ModelItem, ModelsView } from "./modelsView";
import { EMBEDDINGS_VIEW_TYPE, EmbeddingsPanel } from "./embeddingsPanel";
import { ComparePanel } from "./comparePanel";
import * as fs from "node:fs";
import type { EmbeddingsRestore } from "../protocol/embeddings";
import { InlineCompletions } from "./completion/inlineCompletions";

let host: EngineHost | undefined;
const moduleLoadedAt = performance.now();

export function activate(context: vscode.ExtensionContext): void {
  const activateStart = performance.now();
  const log = vscode.window.createOutputChannel("SeqLens", { log: true });
  host = new EngineHost(context.extensionPath, log);
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.name = "SeqLens";
  status.command = "seqlens.models.focus";
  const showStatus = (busy = false, device?: string) => {
    const m = activeModel(context.extensionPath);
    const name = "path" in m ? (m.path.split(/[\\/]/).pop() ?? m.path) : "no model";
    status.text = `${busy ? "$(loading~spin)" : "$(telescope)"} ${name} · onnx${device ? ` · ${device}` : ""}`;
    status.tooltip = busy ? "SeqLens is running the model" : "SeqLens: active model · runtime · device (click to pick a model)";
    status.show();
  };
  showStatus();
  const surprisal = new SurprisalDecorations(host);
  const models = new ModelsView(context.extensionPath, host);
  const onInspected = (p: InspectorPanel) => {
    const used = p.state()?.model; // the model this inspection ran on (the setting may have changed since)
    if (used) void models.loaded(used);
    const r = p.inspected();
    if (r) surprisal.update(r).catch((e) => log.warn(`surprisal: ${e instanceof Error ? e.message : e}`));
  };
  context.subscriptions.push(log, host, status, surprisal, models, vscode.window.registerTreeDataProvider("seqlens.models", models));
  // Ghost text from the active decoder; it loads the model on the first keystroke, not here.
  context.subscriptions.push(new InlineCompletions(context.extensionPath, host));

  /** The selection, or with none the paragraph or block around the cursor; undefined (and a message) if there is nothing. */
  const targetRange = (editor: vscode.TextEditor | undefined): vscode.Range | undefined => {
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
  };

  const gatesDiagnostics = vscode.languages.createDiagnosticCollection("seqlens");
  const gradientModels = ["char-lstm", "char-rnn"].map((n) => path.join(context.extensionPath, "samples", "models", n));
  context.subscriptions.push(gatesDiagnostics);
  const showGates = async (editor: vscode.TextEditor | undefined) => {
    const range = targetRange(editor);
    if (!editor || !range) return;
    const doc = editor.document;
    let input;
    try {
      input = await readGatesInput(doc, range, gatesDiagnostics, host!.get());
    } catch (e) {
      void vscode.window.showErrorMessage(`SeqLens: ${e instanceof Error ? e.message : e}`);
      return;
    }
    if (!input) return;
    const configured = vscode.workspace.getConfiguration("seqlens").get<string>("gatesModel", "").trim();
    const model = configured || path.join(context.extensionPath, "samples", "models", input.kind === "text" ? "char-lstm" : "co2-lstm");
    const panel = GatesPanel.show(context.extensionUri, host!, gradientModels);
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "SeqLens: computing gates", cancellable: true }, (_p, token) => panel.run(doc, range, input, model, token));
    } catch (e) {
      const message = e instanceof EngineError ? e.message : String(e);
      if (!(e instanceof EngineError && e.code === "CANCELLED")) void vscode.window.showErrorMessage(`SeqLens: ${message}`);
      log.error(message);
    }
  };

  const inspect = async (editor: vscode.TextEditor | undefined) => {
    const range = targetRange(editor);
    if (!editor || !range) return;
    const doc = editor.document;
    const model = activeModel(context.extensionPath);
    if ("error" in model) {
      void vscode.window.showErrorMessage(model.error);
      return;
    }
    const panel = InspectorPanel.show(context.extensionUri, host!, onInspected);
    showStatus(true);
    // How long the extension host's event loop stalls while the engine runs (it should not).
    const stall = new StallMeter();
    let gcMax = 0;
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMax = Math.max(gcMax, e.duration);
    });
    gc.observe({ entryTypes: ["gc"] });
    try {
      const view = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "SeqLens: inspecting", cancellable: true },
        (_progress, token) => panel.inspect(doc, range, model.path, token),
      );
      const s = stall.stop();
      gc.disconnect();
      // A stall during which this process barely ran was the OS running other processes, not work here.
      log.info(
        `extension host event loop during the inspection of ${view?.tokens.length ?? 0} tokens: max stall ${s.maxStallMs.toFixed(1)} ms ` +
          `(host CPU in it ${s.cpuInMaxStallMs.toFixed(1)} ms; host CPU ${s.cpuMs.toFixed(1)} ms over ${s.wallMs.toFixed(0)} ms; longest GC pause ${gcMax.toFixed(1)} ms)`,
      );
      showStatus(false, view?.device);
    } catch (e) {
      stall.stop();
      gc.disconnect();
      showStatus(false);
      const message = e instanceof EngineError ? e.message : String(e);
      if (!(e instanceof EngineError && e.code === "CANCELLED")) void vscode.window.showErrorMessage(`SeqLens: ${message}`);
      log.error(message);
    }
  };

  /**
   * Whether a panel's saved state names a file document and a model SeqLens offers itself (the state
   * comes back from the webview, so it is not trusted): only then is the panel shown again after a reload.
   */
  const restorable = <S extends { uri: string; start: number; end: number; model: string }>(st: S | undefined, what: string): st is S => {
    if (!st || typeof st.uri !== "string" || typeof st.model !== "string" || !Number.isInteger(st.start) || !Number.isInteger(st.end)) return false;
    const known = [...bundledModels(context.extensionPath), ...vscode.workspace.getConfiguration("seqlens").get<string[]>("models", [])];
    const active = activeModel(context.extensionPath);
    if ("path" in active) known.push(active.path);
    if (!known.includes(st.model) || vscode.Uri.parse(st.uri).scheme !== "file") {
      log.warn(`not restoring ${what}: its saved state names a model or document SeqLens does not offer`);
      return false;
    }
    return true;
  };
  /** The recurrent model whose h_t the Embeddings panel offers for text: seqlens.gatesModel, else the character LSTM. */
  const recurrentTextModel = () => vscode.workspace.getConfiguration("seqlens").get<string>("gatesModel", "").trim() || path.join(context.extensionPath, "samples", "models", "char-lstm");
  const showEmbeddings = async (editor: vscode.TextEditor | undefined) => {
    const model = activeModel(context.extensionPath);
    if ("error" in model) {
      void vscode.window.showErrorMessage(model.error);
      return;
    }
    // The selection (or the block around the cursor) gives the lens and the contextual points; with
    // no editor the panel still shows the vocabulary.
    const range = editor ? targetRange(editor) : undefined;
    const panel = EmbeddingsPanel.show(context.extensionUri, host!);
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "SeqLens: embeddings and logit lens", cancellable: true }, (_p, token) =>
        panel.show(range ? editor!.document : undefined, range, model.path, recurrentTextModel(), token),
      );
    } catch (e) {
      const message = e instanceof EngineError ? e.message : String(e);
      if (!(e instanceof EngineError && e.code === "CANCELLED")) void vscode.window.showErrorMessage(`SeqLens: ${message}`);
      log.error(message);
    }
  };

  /**
   * The decoders SeqLens offers for a comparison: the bundled checkpoints, the active model, the
   * configured ones, and every .onnx checkpoint inside their onnx/ folders; or a folder picked by hand.
   */
  const pickModel = async (title: string, exclude?: string): Promise<string | undefined> => {
    const active = activeModel(context.extensionPath);
    // decoders, then the recurrent samples (a pair of those is compared character by character)
    const inTree = (await models.getChildren()).map((i) => i.modelPath); // the Models view's, workspace folders among them
    const folders = [...new Set([...bundledModels(context.extensionPath), ...("path" in active ? [active.path] : []), ...vscode.workspace.getConfiguration("seqlens").get<string[]>("models", []), ...inTree, ...recurrentSamples(context.extensionPath)])];
    const items: (vscode.QuickPickItem & { model?: string })[] = [];
    for (const f of folders) {
      const onnxDir = path.join(f, "onnx");
      const files = fs.existsSync(onnxDir) ? fs.readdirSync(onnxDir).filter((n) => n.endsWith(".onnx")) : [];
      if (files.length <= 1) items.push({ label: path.basename(f), description: f, model: f });
      else for (const file of files) items.push({ label: `${path.basename(f)} · ${file}`, description: path.join(onnxDir, file), model: path.join(onnxDir, file) });
      // the same weights on TensorFlow.js: a parity check of the two runtimes
      if (files.length > 0 && !isRecurrentFolder(f)) items.push({ label: `${path.basename(f)} · TensorFlow.js`, description: "the same weights on TensorFlow.js (parity with ONNX)", model: `tfjs:${f}` });
    }
    const browse = { label: "$(folder-opened) Another model folder…", model: undefined };
    const pick = await vscode.window.showQuickPick([...items.filter((i) => i.model !== exclude), browse], { title, placeHolder: "a model folder (config.json, tokenizer.json, onnx/model.onnx) or one of its checkpoints" });
    if (!pick) return undefined;
    if (pick.model) return pick.model;
    const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, filters: { ONNX: ["onnx"] }, title });
    return chosen?.[0]?.fsPath;
  };

  const compareModels = async (editor: vscode.TextEditor | undefined, modelA?: string, modelB?: string) => {
    const range = targetRange(editor);
    if (!editor || !range) return;
    const a = typeof modelA === "string" ? modelA : await pickModel("SeqLens: Compare — the first model (A)");
    if (!a) return;
    const b = typeof modelB === "string" ? modelB : await pickModel(`SeqLens: Compare ${path.basename(a)} with… (B)`, a);
    if (!b) return;
    const panel = ComparePanel.show(context.extensionUri, host!);
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "SeqLens: comparing", cancellable: true }, (_p, token) => panel.compare(editor.document, range, a, b, token));
    } catch (e) {
      const message = e instanceof EngineError ? e.message : String(e);
      if (!(e instanceof EngineError && e.code === "CANCELLED")) void vscode.window.showErrorMessage(`SeqLens: ${message}`);
      log.error(message);
    }
  };

  const quantizeModel = async () => {
    const model = await pickModel("SeqLens: the model to write an int8 copy of");
    if (!model) return;
    const dir = fs.existsSync(model) && fs.statSync(model).isFile() ? path.dirname(path.dirname(model)) : model;
    const out = await vscode.window.showInputBox({ title: "SeqLens: folder for the int8 copy (new or empty)", value: `${dir.replace(/[\\/]+$/, "")}-int8` });
    if (!out) return;
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "SeqLens: writing an int8 copy" }, () => host!.get().request("quantize", { model, out }));
      const compare = "Compare with the original";
      const pick = await vscode.window.showInformationMessage(`SeqLens: wrote ${r.out}: ${r.quantized} MatMul weights to int8, ${(r.bytes[0] / 2 ** 20).toFixed(1)} → ${(r.bytes[1] / 2 ** 20).toFixed(1)} MiB.`, compare);
      if (pick === compare) await compareModels(vscode.window.activeTextEditor, model, r.out);
    } catch (e) {
      void vscode.window.showErrorMessage(`SeqLens: ${e instanceof Error ? e.message : e}`);
    }
  };

  context.subscriptions.push(
    vscode.commands.registerCommand("seqlens.compareModels", (a?: string, b?: string) => compareModels(vscode.window.activeTextEditor, a, b)),
    vscode.commands.registerCommand("seqlens.quantizeModel", () => quantizeModel()),
    // From the Models view: this model against one picked next.
    vscode.commands.registerCommand("seqlens.compareWith", async (item: ModelItem) => {
      if (!(item instanceof ModelItem)) return;
      const b = await pickModel(`SeqLens: Compare ${path.basename(item.modelPath)} with… (B)`, item.modelPath);
      if (b) await compareModels(vscode.window.activeTextEditor, item.modelPath, b);
    }),
    vscode.commands.registerCommand("seqlens.showEmbeddings", () => showEmbeddings(vscode.window.activeTextEditor)),
    vscode.commands.registerCommand("seqlens.inspectSelection", () => inspect(vscode.window.activeTextEditor)),
    vscode.commands.registerCommand("seqlens.showGates", () => showGates(vscode.window.activeTextEditor)),
    vscode.commands.registerCommand("seqlens.toggleSurprisal", async () => {
      try {
        await surprisal.toggle(InspectorPanel.current?.inspected());
        if (surprisal.enabled && !InspectorPanel.current?.inspected()) void vscode.window.showInformationMessage("SeqLens: surprisal is on; it colours the text of the next inspection.");
      } catch (e) {
        void vscode.window.showErrorMessage(`SeqLens: ${e instanceof Error ? e.message : e}`);
      }
    }),
    vscode.commands.registerCommand("seqlens.selectModel", async () => {
      const configured = vscode.workspace.getConfiguration("seqlens").get<string[]>("models", []);
      const picks = [...bundledModels(context.extensionPath), ...configured].map((p) => ({ label: p.split(/[\\/]/).pop() ?? p, description: p }));
      const pick = await vscode.window.showQuickPick(picks, { placeHolder: "Model to inspect with" });
      if (pick) {
        await vscode.workspace.getConfiguration("seqlens").update("activeModel", pick.description, vscode.ConfigurationTarget.Global);
        showStatus();
      }
    }),
    vscode.commands.registerCommand("seqlens.useModel", async (item: ModelItem) => {
      if (!(item instanceof ModelItem)) return;
      // A recurrent model is what Show Gates runs; a decoder what Inspect Selection runs.
      await vscode.workspace.getConfiguration("seqlens").update(item.recurrent ? "gatesModel" : "activeModel", item.modelPath, vscode.ConfigurationTarget.Global);
      models.refresh();
      showStatus();
    }),
    vscode.commands.registerCommand("seqlens.refreshModels", () => models.refresh()),
    vscode.commands.registerCommand("seqlens.revealModel", async (item: ModelItem) => {
      if (!(item instanceof ModelItem)) return;
      if (item.origin === "workspace") await vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(item.modelPath));
      else await vscode.commands.executeCommand("revealFileInOS", vscode.Uri.file(item.modelPath));
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("seqlens")) {
        showStatus();
        models.refresh();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => models.refresh()),
    vscode.window.registerWebviewPanelSerializer(GATES_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { host?: GatesView["restore"] } | undefined) {
        const restored = new GatesPanel(panel, context.extensionUri, host!, gradientModels);
        const s = state?.host;
        if (!s || typeof s.uri !== "string" || typeof s.model !== "string" || !Number.isInteger(s.start) || !Number.isInteger(s.end)) return;
        // The state comes back from the webview: only a file URI and a model SeqLens offers itself.
        const configured = vscode.workspace.getConfiguration("seqlens").get<string>("gatesModel", "").trim();
        const defaults = ["char-lstm", "co2-lstm"].map((n) => path.join(context.extensionPath, "samples", "models", n));
        const known = [...recurrentSamples(context.extensionPath), ...defaults, ...(configured ? [configured] : [])];
        if (!known.includes(s.model) || vscode.Uri.parse(s.uri).scheme !== "file") {
          log.warn("not restoring the Gates panel: its saved state names a model or document SeqLens does not offer");
          return;
        }
        try {
          const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
          const len = doc.getText().length;
          const range = new vscode.Range(doc.positionAt(Math.min(s.start, len)), doc.positionAt(Math.min(s.end, len)));
          const input = await readGatesInput(doc, range, gatesDiagnostics, host!.get(), Number.isInteger(s.column) ? s.column : undefined);
          if (input) await restored.run(doc, range, input, s.model);
        } catch (e) {
          log.warn(`could not restore the Gates panel: ${e instanceof Error ? e.message : e}`);
        }
      },
    }),
    vscode.window.registerWebviewPanelSerializer(EMBEDDINGS_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { host?: EmbeddingsRestore } | undefined) {
        const restored = new EmbeddingsPanel(panel, context.extensionUri, host!);
        const s = state?.host;
        if (!restorable(s, "the Embeddings panel")) return;
        try {
          await restored.restore(s, recurrentTextModel());
        } catch (e) {
          log.warn(`could not restore the Embeddings panel: ${e instanceof Error ? e.message : e}`);
        }
      },
    }),
    vscode.window.registerWebviewPanelSerializer(INSPECTOR_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { host?: InspectorState } | undefined) {
        const restored = new InspectorPanel(panel, context.extensionUri, host!, onInspected);
        const s = state?.host;
        if (!restorable(s, "the Inspector")) return;
        try {
          await restored.reinspect(s);
        } catch (e) {
          log.warn(`could not restore the Inspector: ${e instanceof Error ? e.message : e}`);
        }
      },
    }),
  );
  log.info(`activated in ${(performance.now() - activateStart).toFixed(1)} ms (module loaded ${(activateStart - moduleLoadedAt).toFixed(1)} ms before activate was called)`);
}

export function deactivate(): void {
  host?.dispose();
}
