// "Why this token?" in the editor: a prediction attributed to the tokens before it (the engine's
// `attribute`, feature ablation), drawn on those tokens in the editor. With a selection, its last
// token is explained from the ones before it; with only a cursor, the model's next-token prediction
// there (shown after the cursor with its probability). Each earlier token is underlined by how much
// replacing it with the baseline token changes the log-probability of the explained token: one hue
// for tokens that raised it, another for those that lowered it, thicker for a larger share of the
// strongest effect. A hover gives a token's number; the status bar item is the legend (click: off).
//
// Like the surprisal marks (extension/surprisal.ts) the marks are underlines, not background tints:
// a tint strong enough to see would push some theme token colours under 4.5:1. The underline colours
// have 3:1 or more against the default themes' backgrounds (a test checks it).
import * as vscode from "vscode";
import { BASELINE_TOKENS, baselineWords, type AttributeResult, type BaselineToken } from "../protocol/attribution";
import type { TokenInfo } from "../protocol/basics";
import { visibleWhitespace } from "../protocol/text";
import { withEngineProgress, setting } from "./commands";
import { activeModel } from "./models";
import type { Feature, Services } from "./services";

/** Strength buckets by share of the scale (see whyScale): under the first is not marked. */
export const WHY_SHARES = [0.1, 0.35, 0.7];

/** The share of effects the scale sits at: one token (the one just before the prediction) often dwarfs the rest. */
export const WHY_QUANTILE = 0.9;

/**
 * The effect the marks are scaled to: the 90th percentile of |score| (the largest when that is 0),
 * so that one dominant token does not leave every other unmarked; anything above it is marked strongest.
 */
export function whyScale(scores: readonly number[]): number {
  const a = scores.map(Math.abs).filter(Number.isFinite).sort((x, y) => x - y);
  if (a.length === 0) return 0;
  const q = a[Math.min(a.length - 1, Math.floor(WHY_QUANTILE * (a.length - 1)))];
  return q > 0 ? q : a[a.length - 1];
}

/** Colours of the marks: [raised, lowered] × 3 strengths, per theme kind (3:1 or more on the backgrounds). */
export const WHY_COLOURS: Record<"dark" | "light", { raised: string[]; lowered: string[] }> = {
  dark: { raised: ["#3f9f8f", "#4ec9b0", "#73e6cf"], lowered: ["#b267c9", "#d18af0", "#e7b3ff"] },
  light: { raised: ["#2b7a6e", "#18695e", "#0b5247"], lowered: ["#9a3fb5", "#82259f", "#6a0d87"] },
};
const WIDTHS = [1, 2, 3];

/** Which mark a score gets: 0 none, 1..3 raised (stronger), -1..-3 lowered. */
export function whyBucket(score: number, maxAbs: number): number {
  if (!(maxAbs > 0) || !Number.isFinite(score)) return 0;
  const share = Math.min(1, Math.abs(score) / maxAbs);
  let b = 0;
  while (b < WHY_SHARES.length && share >= WHY_SHARES[b]) b++;
  return score > 0 ? b : -b;
}

/** The decoration of bucket `b` (±1..3). */
export function whyDecoration(b: number): vscode.DecorationRenderOptions {
  const k = Math.abs(b) - 1;
  const side = b > 0 ? "raised" : "lowered";
  return {
    borderStyle: `none none ${k === 0 ? "dotted" : "solid"} none`,
    borderWidth: `0 0 ${WIDTHS[k]}px 0`,
    dark: { borderColor: WHY_COLOURS.dark[side][k] },
    light: { borderColor: WHY_COLOURS.light[side][k] },
  };
}

/** What the command explains in `doc`: the text sent, where it starts, and which token is explained. */
export interface WhyRequest {
  text: string;
  start: number;
  /** -1: the last token of the text (a selection's); undefined: the next token after it (a cursor). */
  position?: number;
}

/** A baseline the seqlens.why.baseline setting may name ("default": the engine's pad, else eos, else unk). */
export function isBaselineChoice(x: unknown): x is BaselineToken | "zero" {
  return x === "zero" || (BASELINE_TOKENS as readonly unknown[]).includes(x);
}

/** Characters before the cursor sent at most (the engine cuts to the tokens it takes anyway). */
export const WHY_MAX_CHARS = 32_768;

export function whyRequest(doc: Pick<vscode.TextDocument, "getText" | "offsetAt">, selection: vscode.Selection): WhyRequest | undefined {
  if (!selection.isEmpty) {
    const text = doc.getText(selection);
    if (!text.trim()) return undefined;
    return { text, start: doc.offsetAt(selection.start), position: -1 };
  }
  const end = doc.offsetAt(selection.active);
  const start = Math.max(0, end - WHY_MAX_CHARS);
  const all = doc.getText();
  const text = all.slice(start, end);
  if (!text.trim()) return undefined;
  return { text, start };
}

interface Shown {
  uri: string;
  version: number;
  start: number;
  result: AttributeResult;
  /** The scale of the marks (whyScale). */
  maxAbs: number;
  /** The largest effect. */
  largest: number;
  /** Document offset where the explained token is (a selection's last token) or would be (after the cursor). */
  at: number;
}

const show = (x: string) => "`" + visibleWhitespace(x).replace(/`/g, "'") + "`";

/** The legend: what the two hues and three widths mean, for the explained token. */
export function whyLegend(r: AttributeResult, scale: number, largest: number, kind: "dark" | "light"): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.supportHtml = true;
  const what = r.metric === "logprob" ? `log p(${show(r.target.text)})` : `logit(${show(r.target.text)}) − logit(${show(r.foil!.text)})`;
  md.appendMarkdown(`**SeqLens · why ${show(r.target.text)}** — each earlier token replaced by ${baselineWords(r.baseline, show)}; the change in ${what}, in nats. Marks are scaled to the ${WHY_QUANTILE * 100}th-percentile effect, ${scale.toFixed(3)} (the largest: ${largest.toFixed(3)}).\n\n`);
  for (const side of ["raised", "lowered"] as const) {
    for (let k = WIDTHS.length - 1; k >= 0; k--) {
      const lo = WHY_SHARES[k];
      const hi = k + 1 < WHY_SHARES.length ? `${(WHY_SHARES[k + 1] * 100).toFixed(0)}%` : "100% or more";
      const swatch = k === 0 ? "┈┈┈" : k === 2 ? "▬▬▬" : "━━━";
      md.appendMarkdown(`- <span style="color:${WHY_COLOURS[kind][side][k]};">${swatch}</span> ${side} it: ${(lo * 100).toFixed(0)}% to ${hi} of the scale\n`);
    }
  }
  md.appendMarkdown(`\nUnder ${(WHY_SHARES[0] * 100).toFixed(0)}%: not marked. Ablation can mislead: the baseline token is itself a token the model reads. Click to clear.`);
  return md;
}

function themeKind(): "dark" | "light" {
  const k = (vscode.window as Partial<typeof vscode.window>).activeColorTheme?.kind;
  return k === 1 || k === 4 ? "light" : "dark";
}

export class WhyDecorations implements vscode.Disposable {
  private readonly buckets = [-3, -2, -1, 1, 2, 3];
  private readonly types = new Map(this.buckets.map((b) => [b, vscode.window.createTextEditorDecorationType(whyDecoration(b))]));
  /** The explained token: outlined (a selection's last token), or the prediction written after the cursor. */
  private readonly targetType = vscode.window.createTextEditorDecorationType({ borderStyle: "solid", borderWidth: "1px", borderColor: new vscode.ThemeColor("editorCursor.foreground") });
  private readonly predictionType = vscode.window.createTextEditorDecorationType({ after: { color: new vscode.ThemeColor("editorCodeLens.foreground"), margin: "0 0 0 1ch", fontStyle: "italic" } });
  private shown?: Shown;
  private readonly disposables: vscode.Disposable[] = [];

  /**
   * `legend`: the status-bar item that is the marks' legend (none in tests). `onMarks`: told the
   * document the marks are on, or undefined when they clear (the surprisal marks step aside there).
   */
  constructor(
    private readonly legend?: vscode.StatusBarItem,
    private readonly onMarks?: (uri: string | undefined) => void,
  ) {
    this.disposables.push(
      vscode.languages.registerHoverProvider({ scheme: "*" }, { provideHover: (doc, pos) => this.hover(doc, pos) }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.uri && e.contentChanges.length > 0) this.clear(); // offsets are stale
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.paint()),
    );
    if (legend) {
      legend.name = "SeqLens why";
      legend.command = "seqlens.clearWhy";
    }
  }

  /** What is shown (for tests): the result and the document it is on. */
  get current(): Shown | undefined {
    return this.shown;
  }

  set(doc: vscode.TextDocument, req: WhyRequest, result: AttributeResult): void {
    const maxAbs = whyScale(result.scores.map((s) => s.score));
    const largest = Math.max(0, ...result.scores.map((s) => Math.abs(s.score)).filter(Number.isFinite));
    const explained = result.tokens[result.position];
    const at = req.start + (explained ? explained.start : req.text.length);
    this.shown = { uri: doc.uri.toString(), version: doc.version, start: req.start, result, maxAbs, largest, at };
    this.onMarks?.(this.shown.uri);
    void vscode.commands.executeCommand("setContext", "seqlens.whyOn", true);
    this.paint();
    this.showLegend();
  }

  clear(): void {
    if (this.shown) this.onMarks?.(undefined);
    this.shown = undefined;
    void vscode.commands.executeCommand("setContext", "seqlens.whyOn", false);
    this.paint();
    this.showLegend();
  }

  private showLegend(): void {
    const item = this.legend;
    if (!item) return;
    const s = this.shown;
    if (!s) {
      item.hide();
      return;
    }
    const r = s.result;
    item.text = `$(lightbulb) why ${visibleWhitespace(r.target.text)}: raised · lowered`;
    item.tooltip = whyLegend(r, s.maxAbs, s.largest, themeKind());
    item.accessibilityInformation = { label: `SeqLens why ${r.target.text}: underlines in one hue raised its probability, in the other lowered it; thicker is a larger effect. Click to clear.` };
    item.show();
  }

  private paint(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const byBucket = new Map<number, vscode.DecorationOptions[]>(this.buckets.map((b) => [b, []]));
      const target: vscode.DecorationOptions[] = [];
      const prediction: vscode.DecorationOptions[] = [];
      const s = this.shown;
      if (s && editor.document.uri.toString() === s.uri) {
        const doc = editor.document;
        const range = (t: TokenInfo) => new vscode.Range(doc.positionAt(s.start + t.start), doc.positionAt(s.start + t.end));
        for (const a of s.result.scores) {
          const t = s.result.tokens[a.position];
          const b = whyBucket(a.score, s.maxAbs);
          if (b !== 0 && t && t.end > t.start) byBucket.get(b)!.push({ range: range(t) });
        }
        const explained = s.result.tokens[s.result.position];
        if (explained) target.push({ range: range(explained) });
        else {
          const p = doc.positionAt(s.at);
          prediction.push({ range: new vscode.Range(p, p), renderOptions: { after: { contentText: `→ ${visibleWhitespace(s.result.target.text)} ${(Math.exp(s.result.base) * 100).toFixed(1)}%` } } });
        }
      }
      for (const [b, type] of this.types) editor.setDecorations(type, byBucket.get(b)!);
      editor.setDecorations(this.targetType, target);
      editor.setDecorations(this.predictionType, prediction);
    }
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const s = this.shown;
    if (!s || doc.uri.toString() !== s.uri) return undefined;
    const offset = doc.offsetAt(pos) - s.start;
    const r = s.result;
    const a = r.scores.find((x) => {
      const t = r.tokens[x.position];
      return t && offset >= t.start && offset < t.end;
    });
    if (!a) return undefined;
    const t = r.tokens[a.position];
    const rank = [...r.scores].sort((x, y) => Math.abs(y.score) - Math.abs(x.score)).indexOf(a) + 1;
    const md = new vscode.MarkdownString();
    const what = r.metric === "logprob" ? `log p(${show(r.target.text)})` : `logit(${show(r.target.text)}) − logit(${show(r.foil!.text)})`;
    const change = a.score >= 0 ? `lowers ${what} by **${a.score.toFixed(3)}**` : `raises ${what} by **${(-a.score).toFixed(3)}**`;
    md.appendMarkdown(`**SeqLens · why ${show(r.target.text)}** · ${show(t.text)}: replacing it by ${r.baseline.kind === "zero" ? "the zero embedding" : show(r.baseline.text)} ${change} nats`);
    if (r.metric === "logprob") md.appendMarkdown(` (p ${(Math.exp(r.base) * 100).toFixed(1)}% → ${(Math.exp(r.base - a.score) * 100).toFixed(1)}%)`);
    md.appendMarkdown(`.\n\nRank **${rank}** of ${r.scores.length} tokens by the size of the effect; ${a.score >= 0 ? "it raised" : "it lowered"} the prediction.`);
    return new vscode.Hover(md, new vscode.Range(doc.positionAt(s.start + t.start), doc.positionAt(s.start + t.end)));
  }

  dispose(): void {
    for (const t of this.types.values()) t.dispose();
    this.targetType.dispose();
    this.predictionType.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** SeqLens: Why This Token? — on the active editor's selection or cursor, with the active model. */
export async function whyToken(services: Services, why: WhyDecorations, editor: vscode.TextEditor | undefined): Promise<AttributeResult | undefined> {
  if (!editor) {
    void vscode.window.showWarningMessage("SeqLens: open a file, and select a token (or put the cursor after some text) to ask why the model predicts it.");
    return undefined;
  }
  const req = whyRequest(editor.document, editor.selection);
  if (!req) {
    void vscode.window.showWarningMessage("SeqLens: nothing to explain here: select text whose last token to explain, or put the cursor after some text for the next-token prediction.");
    return undefined;
  }
  return explain(services, why, editor.document, req);
}

/** A range of a document to explain (its last token, from the ones before it), as a command argument: the Inspector's selected token. */
export interface WhyAt {
  uri: string;
  start: number;
  end: number;
}

/** `arg` when it is a WhyAt (a menu passes the command other things: a URI, nothing). */
export function whyAtOf(arg: unknown): WhyAt | undefined {
  if (typeof arg !== "object" || arg === null) return undefined;
  const a = arg as Record<string, unknown>;
  const offset = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0;
  return typeof a.uri === "string" && offset(a.start) && offset(a.end) && (a.end as number) > (a.start as number) ? { uri: a.uri, start: a.start as number, end: a.end as number } : undefined;
}

/** Why This Token? on `range` of `doc`, as on a selection of it: its last token explained from the ones before it. */
export async function whyRange(services: Services, why: WhyDecorations, doc: vscode.TextDocument, range: vscode.Range): Promise<AttributeResult | undefined> {
  const req = whyRequest(doc, new vscode.Selection(range.start, range.end));
  if (!req) {
    void vscode.window.showWarningMessage("SeqLens: nothing to explain here: the text up to the token is blank.");
    return undefined;
  }
  return explain(services, why, doc, req);
}

/** Runs the engine's attribution for `req` with the active model and marks `doc` with it. */
async function explain(services: Services, why: WhyDecorations, doc: vscode.TextDocument, req: WhyRequest): Promise<AttributeResult | undefined> {
  const model = activeModel(services.context.extensionPath);
  if ("error" in model) {
    void vscode.window.showErrorMessage(model.error);
    return undefined;
  }
  const version = doc.version;
  const result = await withEngineProgress(services, "explaining the prediction (feature ablation)", async (token) => {
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      const baseline = setting<string>("why.baseline", "default");
      return await services.host
        .get()
        .request("attribute", { model: model.path, text: req.text, ...(req.position !== undefined ? { position: req.position } : {}), ...(isBaselineChoice(baseline) ? { baseline } : {}), maxTokens: setting("why.maxTokens", 128) }, { signal: ac.signal });
    } finally {
      sub.dispose();
    }
  });
  if (!result) return undefined;
  if (doc.version !== version) {
    void vscode.window.showInformationMessage("SeqLens: the document changed while the prediction was explained; run Why This Token? again.");
    return undefined;
  }
  why.set(doc, req, result);
  services.log.info(`why ${JSON.stringify(result.target.text)}: ${result.scores.length} tokens ablated in ${result.runs} runs, ${result.ms.toFixed(0)} ms`);
  return result;
}

export const whyFeature: Feature = {
  name: "why",
  register(services: Services): vscode.Disposable[] {
    const legend = vscode.window.createStatusBarItem("seqlens.why", vscode.StatusBarAlignment.Right, 98);
    const why = new WhyDecorations(legend, (uri) => services.surprisal.yieldTo(uri));
    return [
      legend,
      why,
      vscode.commands.registerCommand("seqlens.whyToken", async (arg?: unknown) => {
        // from the Inspector: a range of a document; from the editor (keys, menus): its selection
        const at = whyAtOf(arg);
        if (!at) return whyToken(services, why, vscode.window.activeTextEditor);
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(at.uri));
        const len = doc.getText().length;
        return whyRange(services, why, doc, new vscode.Range(doc.positionAt(Math.min(at.start, len)), doc.positionAt(Math.min(at.end, len))));
      }),
      vscode.commands.registerCommand("seqlens.clearWhy", () => why.clear()),
    ];
  },
};
