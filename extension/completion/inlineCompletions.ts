// Inline completions (ghost text) from the active decoder, and their explanation: a hover on an
// accepted completion and "SeqLens: Explain Completion" list each token with its probability and
// the top alternatives; "Inspect This Completion" opens the Inspector on prompt + completion.
// The logic apart from VS Code is in controller.ts.
import * as path from "node:path";
import * as vscode from "vscode";
import { isRecurrentModel } from "../../engine/formats/recurrentPath";
import type { CompleteResult } from "../../engine/protocolCompletion";
import type { EngineHost } from "../engineHost";
import { activeModel } from "../models";
import { CompletionController, CompletionSettings, CompletionState } from "./controller";

/** A completion as shown or accepted: where it starts in which document, and the prompt before it. */
interface Placed {
  uri: string;
  model: string;
  /** Offset where the completion's text starts. */
  start: number;
  /** The text before it that was sent as the prompt (its end). */
  prompt: string;
  languageId: string;
  result: CompleteResult;
}

export function completionSettings(): CompletionSettings {
  const c = vscode.workspace.getConfiguration("seqlens.completion");
  const stopAt = c.get<string>("stopAt", "line");
  return {
    enabled: c.get<boolean>("enabled", true),
    debounceMs: c.get<number>("debounceMs", 60),
    maxTokens: c.get<number>("maxTokens", 48),
    maxMs: c.get<number>("maxMs", 400),
    stopAt: stopAt === "block" ? "block" : "line",
    excludeLanguages: c.get<string[]>("excludeLanguages", []),
  };
}

const pct = (p: number) => `${(100 * p).toFixed(p < 0.001 ? 2 : 1)}%`;
/** A token's text as code in Markdown: whitespace made visible. */
const shown = (t: string) => (t.replace(/\n/g, "⏎").replace(/\t/g, "⇥").replace(/ /g, "·") || "∅").replace(/[|`\\]/g, (c) => `\\${c}`);

/** The explanation of a completion, as a Markdown table (the hover and the CLI say the same). */
export function explainMarkdown(p: Placed): vscode.MarkdownString {
  const r = p.result;
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: ["seqlens.inspectCompletion"] };
  md.appendMarkdown(`**SeqLens completion** · ${path.basename(p.model)} · ${r.tokens.length} tokens, stopped by ${r.stoppedBy}${r.kvCache ? "" : " · no KV cache"}\n\n`);
  md.appendMarkdown(`| token | p | alternatives |\n|---|---:|---|\n`);
  for (const t of r.tokens) md.appendMarkdown(`| \`${shown(t.text)}\` | ${pct(t.p)} | ${t.alternatives.map((a) => `\`${shown(a.text)}\` ${pct(a.p)}`).join(" · ")} |\n`);
  md.appendMarkdown(`\n[Inspect this completion](command:seqlens.inspectCompletion)`);
  return md;
}

export class InlineCompletions implements vscode.InlineCompletionItemProvider, vscode.HoverProvider, vscode.Disposable {
  readonly controller: CompletionController;
  private readonly status: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  /** The completion shown last, and the one accepted last. */
  private shownLast?: Placed;
  private accepted?: Placed;

  constructor(
    private readonly extensionPath: string,
    private readonly host: EngineHost,
  ) {
    this.status = vscode.window.createStatusBarItem("seqlens.completion", vscode.StatusBarAlignment.Right, 99);
    this.status.name = "SeqLens completions";
    this.status.command = "seqlens.explainCompletion";
    this.controller = new CompletionController(() => host.get(), completionSettings, (s) => this.showState(s));
    this.disposables.push(
      this.status,
      vscode.languages.registerInlineCompletionItemProvider({ pattern: "**" }, this),
      vscode.languages.registerHoverProvider({ pattern: "**" }, this),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document && e.contentChanges.length > 0) this.controller.keystroke();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("seqlens.activeModel") || e.affectsConfiguration("seqlens.executionProviders") || e.affectsConfiguration("seqlens.completion")) {
          this.controller.reset();
          this.showState(this.modelState());
        }
      }),
      vscode.commands.registerCommand("seqlens.completionAccepted", () => {
        if (this.shownLast) this.accepted = this.shownLast;
      }),
      vscode.commands.registerCommand("seqlens.explainCompletion", () => this.explain()),
      vscode.commands.registerCommand("seqlens.inspectCompletion", () => this.inspect()),
    );
    this.showState(this.modelState());
  }

  /** The active model if completions can use it, else why not. */
  private model(): { path: string } | { off: string } {
    if (!completionSettings().enabled) return { off: "completions are turned off (seqlens.completion.enabled)" };
    const m = activeModel(this.extensionPath);
    if ("error" in m) return { off: m.error };
    if (isRecurrentModel(m.path)) return { off: `the active model ${path.basename(m.path)} is not a decoder` };
    return m;
  }

  private modelState(): CompletionState {
    const m = this.model();
    return "off" in m ? { kind: "off", why: m.off } : { kind: "idle", model: m.path };
  }

  private showState(s: CompletionState): void {
    const st = this.status;
    st.backgroundColor = undefined;
    if (s.kind === "off") {
      st.hide();
      return;
    }
    const name = path.basename(s.model);
    if (s.kind === "idle") {
      st.text = "$(sparkle) SeqLens";
      st.tooltip = `SeqLens completions from ${name}: it loads when you type. Click to explain the last completion.`;
    } else if (s.kind === "loading") {
      st.text = "$(sync~spin) SeqLens: loading";
      st.tooltip = `SeqLens is loading ${name} for completions (none are offered until it has loaded)`;
    } else if (s.kind === "generating") {
      st.text = `$(loading~spin) SeqLens: completing${s.kvCache ? "" : " (no KV cache)"}`;
      st.tooltip = `SeqLens is generating a completion with ${name}`;
    } else if (s.kind === "ready") {
      st.text = `$(sparkle) SeqLens${s.kvCache ? "" : ": no KV cache, slower"}`;
      st.tooltip = s.kvCache ? `SeqLens completions from ${name}. Click to explain the last completion.` : `SeqLens completions from ${name}, which has no KV cache: each token recomputes the whole prompt, so completions are slower. Click to explain the last completion.`;
    } else {
      st.text = "$(warning) SeqLens: no completions";
      st.tooltip = `SeqLens cannot complete with ${name}: ${s.message}`;
      st.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
    }
    st.show();
  }

  async provideInlineCompletionItems(document: vscode.TextDocument, position: vscode.Position, _context: vscode.InlineCompletionContext, token: vscode.CancellationToken): Promise<vscode.InlineCompletionItem[] | undefined> {
    const m = this.model();
    if ("off" in m) return undefined;
    const offset = document.offsetAt(position);
    const from = document.positionAt(Math.max(0, offset - this.controller.prefixChars(m.path)));
    const prefix = document.getText(new vscode.Range(from, position));
    if (prefix.trim() === "") return undefined;
    const suffix = document.lineAt(position.line).text.slice(position.character);
    try {
      const s = await this.controller.suggest({ model: m.path, uri: document.uri.toString(), languageId: document.languageId, offset, prefix, suffix }, token);
      if (!s || token.isCancellationRequested) return undefined;
      this.shownLast = { uri: document.uri.toString(), model: m.path, start: s.offset, prompt: prefix.slice(0, prefix.length - s.typed.length), languageId: document.languageId, result: s.result };
      const r = s.result;
      if (!s.fromCache) {
        this.host.log.info(
          `completion: ${r.generated} tokens, ${s.text.length} characters (stopped by ${r.stoppedBy}) ${s.timing.request.toFixed(1)} ms after a ${s.timing.debounce.toFixed(0)} ms debounce, ` +
            `${s.timing.sinceChange.toFixed(1)} ms after the edit; prompt ${r.promptTokens} tokens in ${r.ms.prompt.toFixed(1)} ms, ${r.ms.perToken.toFixed(2)} ms per token${r.kvCache ? "" : " (no KV cache)"}`,
        );
      }
      return [new vscode.InlineCompletionItem(s.text, new vscode.Range(position, position), { command: "seqlens.completionAccepted", title: "SeqLens: completion accepted" })];
    } catch (e) {
      this.host.log.warn(`completion: ${e instanceof Error ? e.message : e}`);
      return undefined;
    }
  }

  /** The accepted completion under the cursor, while its text is still there unchanged. */
  private acceptedAt(document: vscode.TextDocument, position: vscode.Position): Placed | undefined {
    const a = this.accepted;
    if (!a || a.uri !== document.uri.toString()) return undefined;
    const o = document.offsetAt(position);
    const end = a.start + a.result.text.length;
    if (o < a.start || o > end) return undefined;
    return document.getText(new vscode.Range(document.positionAt(a.start), document.positionAt(end))) === a.result.text ? a : undefined;
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const a = this.acceptedAt(document, position);
    if (!a) return undefined;
    return new vscode.Hover(explainMarkdown(a), new vscode.Range(document.positionAt(a.start), document.positionAt(a.start + a.result.text.length)));
  }

  private async explain(): Promise<void> {
    const p = this.shownLast ?? this.accepted;
    if (!p) {
      void vscode.window.showInformationMessage("SeqLens: no completion has been shown yet. Type in a file: the ghost text is a completion.");
      return;
    }
    const inspect = { label: "$(telescope) Inspect this completion", detail: "the Inspector on the prompt and the completion" };
    const items: vscode.QuickPickItem[] = p.result.tokens.map((t) => ({
      label: shown(t.text),
      description: pct(t.p),
      detail: t.alternatives.length ? `alternatives: ${t.alternatives.map((a) => `${shown(a.text)} ${pct(a.p)}`).join("   ")}` : undefined,
    }));
    const pick = await vscode.window.showQuickPick([...items, inspect], { title: `SeqLens: the completion ${JSON.stringify(p.result.text.slice(0, 40))}, token by token (probability, then the alternatives)` });
    if (pick === inspect) await this.inspect(p);
  }

  /** The Inspector on the prompt + completion: in the document when it was accepted there, else in a new untitled one. */
  private async inspect(p = this.accepted ?? this.shownLast): Promise<void> {
    if (!p) {
      void vscode.window.showInformationMessage("SeqLens: no completion to inspect yet.");
      return;
    }
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === p.uri);
    const doc = editor?.document;
    const end = p.start + p.result.text.length;
    let target: vscode.TextEditor;
    if (editor && doc && p === this.accepted && doc.getText(new vscode.Range(doc.positionAt(p.start), doc.positionAt(end))) === p.result.text) {
      target = await vscode.window.showTextDocument(doc, editor.viewColumn);
      target.selection = new vscode.Selection(doc.positionAt(Math.max(0, p.start - p.prompt.length)), doc.positionAt(end));
    } else {
      const untitled = await vscode.workspace.openTextDocument({ content: p.prompt + p.result.text, language: p.languageId });
      target = await vscode.window.showTextDocument(untitled, { preview: false, viewColumn: vscode.ViewColumn.Beside });
      target.selection = new vscode.Selection(new vscode.Position(0, 0), untitled.positionAt(untitled.getText().length));
    }
    await vscode.commands.executeCommand("seqlens.inspectSelection");
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
