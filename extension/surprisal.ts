// In-editor surprisal: colours each inspected token by -log2 p(token) under the model, with a
// hover that gives the model's top-5 predictions at that position and the actual token's rank.
import * as vscode from "vscode";
import type { Methods } from "../protocol/engine";
import type { TokenInfo } from "../protocol/basics";
import { visibleWhitespace } from "../protocol/text";
import { EngineHost } from "./engineHost";

type Surprisal = Methods["surprisal"]["result"];

/** Bits per bucket edge: 0-1, 1-2, 2-4, 4-8, 8-12, 12+. */
export const BUCKETS = [1, 2, 4, 8, 12];

export function bucketOf(bits: number): number {
  let b = 0;
  while (b < BUCKETS.length && bits >= BUCKETS[b]) b++;
  return b;
}

export interface InspectedRange {
  uri: string;
  start: number; // document offset of the inspected text
  version: number;
  handle: string;
  tokens: TokenInfo[];
}

export class SurprisalDecorations implements vscode.Disposable {
  private on = false;
  private readonly types = [0.0, 0.1, 0.2, 0.32, 0.45, 0.6].map((alpha) =>
    vscode.window.createTextEditorDecorationType({ backgroundColor: `rgba(255, 110, 0, ${alpha})`, borderRadius: "2px" }),
  );
  private shown?: { range: InspectedRange; data: Surprisal };
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: EngineHost) {
    this.disposables.push(
      vscode.languages.registerHoverProvider({ scheme: "file" }, { provideHover: (doc, pos) => this.hover(doc, pos) }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.range.uri) this.clear(); // offsets are stale
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.paint()),
    );
  }

  get enabled(): boolean {
    return this.on;
  }

  async toggle(range: InspectedRange | undefined): Promise<void> {
    this.on = !this.on;
    await vscode.commands.executeCommand("setContext", "seqlens.surprisalOn", this.on);
    if (this.on && range) await this.update(range);
    else this.clear();
  }

  /** Called after each inspection. */
  async update(range: InspectedRange): Promise<void> {
    if (!this.on) return;
    const data = await this.host.get().request("surprisal", { handle: range.handle, topK: 5 });
    this.shown = { range, data };
    this.paint();
    this.host.log.info(`surprisal: mean ${data.meanBits.toFixed(2)} bits/token over ${range.tokens.length} tokens`);
  }

  private paint(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const buckets: vscode.DecorationOptions[][] = this.types.map(() => []);
      const s = this.shown;
      if (s && editor.document.uri.toString() === s.range.uri) {
        s.range.tokens.forEach((t, i) => {
          const bits = s.data.tokens[i]?.bits;
          if (bits === null || bits === undefined || t.end <= t.start) return;
          const range = new vscode.Range(editor.document.positionAt(s.range.start + t.start), editor.document.positionAt(s.range.start + t.end));
          buckets[bucketOf(bits)].push({ range });
        });
      }
      this.types.forEach((type, b) => editor.setDecorations(type, buckets[b]));
    }
  }

  private clear(): void {
    this.shown = undefined;
    this.paint();
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const s = this.shown;
    if (!this.on || !s || doc.uri.toString() !== s.range.uri) return undefined;
    const offset = doc.offsetAt(pos) - s.range.start;
    const i = s.range.tokens.findIndex((t) => offset >= t.start && offset < t.end);
    if (i < 0) return undefined;
    const t = s.range.tokens[i];
    const d = s.data.tokens[i];
    const show = (x: string) => "`" + visibleWhitespace(x).replace(/`/g, "'") + "`";
    const md = new vscode.MarkdownString();
    if (d.bits === null) md.appendMarkdown(`**SeqLens** · token ${show(t.text)} is the first: nothing predicts it.`);
    else {
      md.appendMarkdown(`**SeqLens** · ${show(t.text)}: surprisal **${d.bits.toFixed(2)} bits**, p = ${d.p!.toFixed(4)}, rank **${d.rank}**\n\n`);
      md.appendMarkdown(`Top predictions here:\n\n`);
      for (const x of d.top) md.appendMarkdown(`- ${show(x.token)} ${(x.p * 100).toFixed(2)}%${x.id === t.id ? " ← actual" : ""}\n`);
    }
    const range = new vscode.Range(doc.positionAt(s.range.start + t.start), doc.positionAt(s.range.start + t.end));
    return new vscode.Hover(md, range);
  }

  dispose(): void {
    for (const t of this.types) t.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
