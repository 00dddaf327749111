// Inline completions (ghost text) from the active decoder, and their explanation: a hover on an
// accepted completion and "SeqLens: Explain Completion" list each token with its probability and
// the top alternatives; "Inspect This Completion" opens the Inspector on prompt + completion.
// The logic apart from VS Code is in controller.ts.
import * as path from "node:path";
import * as vscode from "vscode";
import { isRecurrentModel } from "../../protocol/modelPaths";
import type { CompleteResult } from "../../protocol/completion";
import { EngineError } from "../../protocol/errors";
import type { EngineHost } from "../engineHost";
import type { Feature } from "../services";
import { activeModel } from "../models";
import { CompletionController, CompletionSettings, CompletionState } from "./controller";

/** A completion as shown or accepted: where it starts in which document, and the prompt before it. */
interface Placed {
  uri: string;
  model: string;
  /** Where the completion's text starts. */
  start: vscode.Position;
  /** The text before it that was sent as the prompt (its end; line ends as \n). */
  prompt: string;
  languageId: string;
  result: CompleteResult;
}

/** The position `text` (line ends as \n) starts at when it ends at `end`. */
function startOf(document: vscode.TextDocument, end: vscode.Position, text: string): vscode.Position {
  const lines = text.split("\n");
  if (lines.length === 1) return new vscode.Position(end.line, Math.max(0, end.character - text.length));
  const line = Math.max(0, end.line - (lines.length - 1));
  return new vscode.Position(line, Math.max(0, document.lineAt(line).text.length - lines[0].length));
}

/** The position where `text` (line ends as \n) ends when it starts at `start`. */
function endOf(start: vscode.Position, text: string): vscode.Position {
  const lines = text.split("\n");
  return lines.length === 1 ? new vscode.Position(start.line, start.character + text.length) : new vscode.Position(start.line + lines.length - 1, lines[lines.length - 1].length);
}

/** A document's text with its line ends as \n, as the model reads it. */
const lf = (t: string) => t.replace(/\r\n/g, "\n");

/** A number setting as a number in [lo, hi] (settings.json is not held to the schema), else the default. */
function setting(c: vscode.WorkspaceConfiguration, key: string, dflt: number, lo: number, hi: number, integer = false): number {
  const v = c.get<unknown>(key, dflt);
  if (typeof v !== "number" || !Number.isFinite(v)) return dflt;
  const x = Math.min(hi, Math.max(lo, v));
  return integer ? Math.round(x) : x;
}

export function completionSettings(): CompletionSettings {
  const c = vscode.workspace.getConfiguration("seqlens.completion");
  const stopAt = c.get<string>("stopAt", "line");
  const exclude = c.get<unknown>("excludeLanguages", []);
  return {
    enabled: c.get<boolean>("enabled", true) !== false,
    debounceMs: setting(c, "debounceMs", 60, 0, 2000, true),
    maxTokens: setting(c, "maxTokens", 48, 1, 512, true),
    maxMs: setting(c, "maxMs", 400, 10, 10_000),
    stopAt: stopAt === "block" ? "block" : "line",
    excludeLanguages: Array.isArray(exclude) ? exclude.filter((x): x is string => typeof x === "string") : [],
  };
}

const pct = (p: number) => `${(100 * p).toFixed(p < 0.001 ? 2 : 1)}%`;
/** A token's text with its whitespace made visible (for the quick pick: plain text). */
const shown = (t: string) => t.replace(/\r/g, "␍").replace(/\n/g, "⏎").replace(/\t/g, "⇥").replace(/ /g, "·") || "∅";
/** The same as a Markdown code span inside a table cell: fenced past its longest run of backticks, pipes escaped (GFM tables). */
function code(t: string): string {
  const s = shown(t);
  const fence = "`".repeat(Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  const pad = s.startsWith("`") || s.endsWith("`") ? " " : "";
  return `${fence}${pad}${s.replace(/\|/g, "\\|")}${pad}${fence}`;
}

/** The explanation of a completion, as a Markdown table (the hover and the CLI say the same). */
export function explainMarkdown(p: Placed): vscode.MarkdownString {
  const r = p.result;
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: ["seqlens.inspectCompletion"] };
  md.appendMarkdown(`**SeqLens completion** · ${path.basename(p.model)} · ${r.tokens.length} tokens, stopped by ${r.stoppedBy}${r.kvCache ? "" : " · no KV cache"}\n\n`);
  md.appendMarkdown(`| token | p | alternatives |\n|---|---:|---|\n`);
  for (const t of r.tokens) md.appendMarkdown(`| ${code(t.text)} | ${pct(t.p)} | ${t.alternatives.map((a) => `${code(a.text)} ${pct(a.p)}`).join(" · ")} |\n`);
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
  /** The active model's check (files read), until the settings or the workspace trust change. */
  private modelChecked?: { path: string } | { off: string };

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
          this.modelChecked = undefined;
          this.controller.reset();
          this.showState(this.modelState());
        }
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.modelChecked = undefined;
        this.showState(this.modelState());
      }),
      vscode.commands.registerCommand("seqlens.completionAccepted", () => {
        if (this.shownLast) this.accepted = this.shownLast;
      }),
      vscode.commands.registerCommand("seqlens.explainCompletion", () => this.explain()),
      vscode.commands.registerCommand("seqlens.inspectCompletion", () => this.inspect()),
    );
    this.showState(this.modelState());
  }

  /** The active model if completions can use it, else why not (checked once, not at every keystroke). */
  private model(): { path: string } | { off: string } {
    return (this.modelChecked ??= this.checkModel());
  }

  private checkModel(): { path: string } | { off: string } {
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
    } else if (s.kind === "lost") {
      st.text = "$(warning) SeqLens: completion lost";
      st.tooltip = `SeqLens lost a completion from ${name}: ${s.message}. Type on: the next completion starts a new engine.`;
      st.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
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
    // Everything in \n line ends, as the model was trained: offsets count a line end as one character.
    const crlf = document.eol === vscode.EndOfLine.CRLF;
    const offset = document.offsetAt(position) - (crlf ? position.line : 0);
    const from = document.positionAt(Math.max(0, document.offsetAt(position) - this.controller.prefixChars(m.path)));
    const prefix = lf(document.getText(new vscode.Range(from, position)));
    if (prefix.trim() === "") return undefined;
    const suffix = document.lineAt(position.line).text.slice(position.character);
    try {
      const s = await this.controller.suggest({ model: m.path, uri: document.uri.toString(), languageId: document.languageId, offset, prefix, suffix }, token);
      if (!s || token.isCancellationRequested) return undefined;
      this.shownLast = { uri: document.uri.toString(), model: m.path, start: startOf(document, position, s.typed), prompt: prefix.slice(0, prefix.length - s.typed.length), languageId: document.languageId, result: s.result };
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
      if (e instanceof EngineError && e.code === "PROCESS_DIED") this.showState({ kind: "lost", model: m.path, message: e.message });
      return undefined;
    }
  }

  /** Where an accepted completion lies in the document, while its text is still there unchanged. */
  private placedRange(document: vscode.TextDocument, a: Placed | undefined): vscode.Range | undefined {
    if (!a || a.uri !== document.uri.toString()) return undefined;
    const range = document.validateRange(new vscode.Range(a.start, endOf(a.start, a.result.text)));
    return lf(document.getText(range)) === a.result.text ? range : undefined;
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const range = this.placedRange(document, this.accepted);
    if (!range || !range.contains(position)) return undefined;
    return new vscode.Hover(explainMarkdown(this.accepted!), range);
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
    const range = editor && p === this.accepted ? this.placedRange(editor.document, p) : undefined;
    let target: vscode.TextEditor;
    if (editor && range) {
      target = await vscode.window.showTextDocument(editor.document, editor.viewColumn);
      target.selection = new vscode.Selection(startOf(editor.document, range.start, p.prompt), range.end);
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

/** Ghost text from the active decoder; it loads the model on the first keystroke, not at activation. */
export const completionFeature: Feature = {
  name: "completion",
  register: (services) => [new InlineCompletions(services.context.extensionPath, services.host)],
};
