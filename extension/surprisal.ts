// In-editor surprisal: marks each inspected token by -log2 p(token) under the model, with a hover that
// gives the token's bits on the scale, the model's top-5 predictions there and the actual token's rank,
// and a status-bar item (while the marks are on) whose tooltip is the scale's legend.
//
// The marks never colour the text's background: behind a theme's token colours any tint strong enough
// to see would push some under 4.5:1 (Light Modern's teal #267f99 is 4.59:1 on white, Dark Modern's
// #d16969 4.66:1 on #1f1f1f; `maxTintAlpha` works out what each theme kind allows, and it is too little
// to show). So a token is underlined instead, the underline thicker and warmer the more surprising the
// token, in colours with 3:1 or more against the editor background (WCAG's contrast for graphics).
import * as vscode from "vscode";
import type { Methods } from "../protocol/engine";
import type { TokenInfo } from "../protocol/basics";
import { visibleWhitespace } from "../protocol/text";
import { EngineHost } from "./engineHost";
import { composite, contrast, hexRgb, type RGB } from "../protocol/contrast";

type Surprisal = Methods["surprisal"]["result"];

/** Bits per bucket edge: 0-1, 1-2, 2-4, 4-8, 8-12, 12+. */
export const BUCKETS = [1, 2, 4, 8, 12];

export function bucketOf(bits: number): number {
  let b = 0;
  while (b < BUCKETS.length && bits >= BUCKETS[b]) b++;
  return b;
}

/** A bucket's range in words: "0–1 bits", "12 bits or more". */
export function bucketLabel(b: number): string {
  const lo = b === 0 ? 0 : BUCKETS[b - 1];
  return b >= BUCKETS.length ? `${lo} bits or more` : `${lo}–${BUCKETS[b]} bit${BUCKETS[b] === 1 ? "" : "s"}`;
}

// ---- colour arithmetic: protocol/contrast.ts ----

/**
 * The editor backgrounds and token colours of VS Code's default themes, by the kind a decoration's
 * options name: `dark` is Dark Modern, Dark+ and Dark High Contrast; `light` is Light Modern, Light+ and
 * Light High Contrast. (Light+'s #ee0000, 4.53:1 on white, is the lowest a theme itself ships.)
 */
export const THEME_SAMPLES: Record<"dark" | "light", { theme: string; background: string; tokens: string[] }[]> = {
  dark: [
    { theme: "Dark Modern", background: "#1f1f1f", tokens: ["#cccccc", "#569cd6", "#c586c0", "#4ec9b0", "#dcdcaa", "#9cdcfe", "#ce9178", "#b5cea8", "#6a9955", "#4fc1ff", "#d16969", "#d7ba7d"] },
    { theme: "Dark+", background: "#1e1e1e", tokens: ["#d4d4d4", "#569cd6", "#c586c0", "#4ec9b0", "#dcdcaa", "#9cdcfe", "#ce9178", "#b5cea8", "#6a9955", "#4fc1ff", "#d16969", "#d7ba7d"] },
    { theme: "Dark High Contrast", background: "#000000", tokens: ["#ffffff", "#569cd6", "#c586c0", "#4ec9b0", "#dcdcaa", "#9cdcfe", "#ce9178", "#b5cea8", "#7ca668", "#4fc1ff", "#d16969", "#d7ba7d"] },
  ],
  light: [
    { theme: "Light Modern", background: "#ffffff", tokens: ["#3b3b3b", "#0000ff", "#af00db", "#267f99", "#795e26", "#001080", "#a31515", "#098658", "#008000", "#0070c1", "#811f3f", "#ee0000"] },
    { theme: "Light+", background: "#ffffff", tokens: ["#000000", "#0000ff", "#af00db", "#267f99", "#795e26", "#001080", "#a31515", "#098658", "#008000", "#0070c1", "#811f3f", "#ee0000"] },
    { theme: "Light High Contrast", background: "#ffffff", tokens: ["#292929", "#0f4a85", "#b5200d", "#185e73", "#5e2cbc", "#001080", "#096d48", "#515151", "#02715d"] },
  ],
};

/** Text contrast a decoration must leave (WCAG AA); and graphics' (an underline) against the background. */
export const TEXT_CONTRAST = 4.5;
export const MARK_CONTRAST = 3;

/**
 * The strongest opacity of `tint` behind text that keeps every token colour of every sample theme at
 * `min` or more against the composite (0 when none does; to the nearest 0.005).
 */
export function maxTintAlpha(tint: RGB, samples: { background: string; tokens: string[] }[], min = TEXT_CONTRAST): number {
  let best = 0;
  for (let a = 0.005; a <= 1.0001; a += 0.005) {
    const ok = samples.every((s) => s.tokens.every((t) => contrast(hexRgb(t), composite(tint, a, hexRgb(s.background))) >= min));
    if (!ok) break;
    best = a;
  }
  return +best.toFixed(3);
}

/** The tint a background would use (the underline's strongest colour): shown only if its theme kind allows at least this much. */
const VISIBLE_TINT = 0.04;

/** Underline colours per bucket 1-5 (bucket 0, under a bit, is not marked), warmer with more bits. */
export const MARK_COLOURS: Record<"dark" | "light", string[]> = {
  dark: ["#b8a443", "#e2c541", "#f0a030", "#f27535", "#f14c4c"],
  light: ["#8a7500", "#8a6100", "#b35300", "#c23400", "#c50f1f"],
};
/** Underline styles per bucket 1-5: dotted then solid, thicker with more bits. */
export const MARK_STYLES: { style: string; width: number }[] = [
  { style: "dotted", width: 1 },
  { style: "solid", width: 1 },
  { style: "solid", width: 2 },
  { style: "solid", width: 2 },
  { style: "solid", width: 3 },
];

/** The decoration options of bucket `b` (0-5). */
export function decorationOptions(b: number): vscode.DecorationRenderOptions {
  if (b === 0) return {};
  const { style, width } = MARK_STYLES[b - 1];
  const kind = (k: "dark" | "light"): vscode.ThemableDecorationRenderOptions => {
    const colour = MARK_COLOURS[k][b - 1];
    // a tint behind the most surprising tokens, only where the themes' token colours leave room for one
    const alpha = b >= 4 ? maxTintAlpha(hexRgb(colour), THEME_SAMPLES[k]) * (b === 5 ? 1 : 0.6) : 0;
    return { borderColor: colour, ...(alpha >= VISIBLE_TINT ? { backgroundColor: `${colour}${Math.round(alpha * 255).toString(16).padStart(2, "0")}` } : {}) };
  };
  return {
    borderStyle: `none none ${style} none`,
    borderWidth: `0 0 ${width}px 0`,
    ...(b >= 4 ? { overviewRulerColor: MARK_COLOURS.dark[b - 1] } : {}),
    dark: kind("dark"),
    light: kind("light"),
  };
}

/** Whether the editor shows a dark or a light theme (high contrast included), for the legend's swatches. */
function themeKind(): "dark" | "light" {
  const k = (vscode.window as Partial<typeof vscode.window>).activeColorTheme?.kind;
  // ColorThemeKind: 1 Light, 2 Dark, 3 HighContrast (dark), 4 HighContrastLight
  return k === 1 || k === 4 ? "light" : "dark";
}

/** The scale as one line: "0–1 bits unmarked · ┈ 1–2 · ─ 2–4 · ━ 4–8 · ━ 8–12 · ▬ 12 bits or more". */
export function scaleLine(): string {
  const glyph = ["┈", "─", "━", "━", "▬"];
  return `unmarked under ${BUCKETS[0]} bit · ${BUCKETS.map((_, i) => `${glyph[i]} ${bucketLabel(i + 1).replace(" bits", "").replace(" or more", "+")}`).join(" · ")} bits`;
}

/** The legend as Markdown: one line a bucket, with a swatch of its underline in the current theme's colour. */
export function legendMarkdown(kind: "dark" | "light" = themeKind()): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.supportHtml = true;
  md.appendMarkdown(`**SeqLens surprisal** (−log₂ p of each token after the text before it): the more surprising, the thicker and warmer the underline.\n\n`);
  md.appendMarkdown(`- under ${BUCKETS[0]} bit: not marked\n`);
  MARK_STYLES.forEach((m, i) => {
    const swatch = m.style === "dotted" ? "┈┈┈" : m.width >= 3 ? "▬▬▬" : m.width === 2 ? "━━━" : "───";
    md.appendMarkdown(`- <span style="color:${MARK_COLOURS[kind][i]};">${swatch}</span> ${bucketLabel(i + 1)} (${m.width} px ${m.style})\n`);
  });
  md.appendMarkdown(`\nHover a marked token for its bits and the model's top predictions. Click to turn the marks off.`);
  return md;
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
  private readonly types = [0, 1, 2, 3, 4, 5].map((b) => vscode.window.createTextEditorDecorationType(decorationOptions(b)));
  private shown?: { range: InspectedRange; data: Surprisal };
  /** A document whose marks are held back while another set of underlines is on it (Why This Token?'s). */
  private yieldedTo?: string;
  private readonly disposables: vscode.Disposable[] = [];

  /** `legend`: a status-bar item that shows the scale while the marks are on (none in tests). */
  constructor(
    private readonly host: EngineHost,
    private readonly legend?: vscode.StatusBarItem,
  ) {
    this.disposables.push(
      vscode.languages.registerHoverProvider({ scheme: "file" }, { provideHover: (doc, pos) => this.hover(doc, pos) }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.range.uri) this.clear(); // offsets are stale
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.paint()),
    );
    if (legend) {
      legend.name = "SeqLens surprisal";
      legend.command = "seqlens.toggleSurprisal";
    }
  }

  get enabled(): boolean {
    return this.on;
  }

  async toggle(range: InspectedRange | undefined): Promise<void> {
    this.on = !this.on;
    await vscode.commands.executeCommand("setContext", "seqlens.surprisalOn", this.on);
    if (this.on && range) await this.update(range);
    else this.clear();
    this.showLegend();
  }

  /** Called after each inspection. */
  async update(range: InspectedRange): Promise<void> {
    if (!this.on) return;
    const data = await this.host.get().request("surprisal", { handle: range.handle, topK: 5 });
    this.shown = { range, data };
    this.paint();
    this.showLegend();
    this.host.log.info(`surprisal: mean ${data.meanBits.toFixed(2)} bits/token over ${range.tokens.length} tokens`);
  }

  /** The status bar's legend: shown while the marks are on, its tooltip the scale. */
  private showLegend(): void {
    const item = this.legend;
    if (!item) return;
    if (!this.on) {
      item.hide();
      return;
    }
    const mean = this.shown ? ` · mean ${this.shown.data.meanBits.toFixed(1)} bits` : "";
    const held = this.held ? " · hidden under Why" : "";
    item.text = `$(symbol-color) surprisal 1–${BUCKETS.at(-1)}+ bits${mean}${held}`;
    item.tooltip = legendMarkdown();
    item.accessibilityInformation = { label: `SeqLens surprisal marks: ${scaleLine()}${mean}. Click to turn them off.` };
    item.show();
  }

  /**
   * Holds the marks back on document `uri` (both draw underlines, and one set would cover the other)
   * until called with another document or none; the hover and the legend say so meanwhile.
   */
  yieldTo(uri: string | undefined): void {
    this.yieldedTo = uri;
    this.paint();
    this.showLegend();
  }

  /** Whether the marks shown are held back (see yieldTo). */
  get held(): boolean {
    return !!this.shown && this.shown.range.uri === this.yieldedTo;
  }

  private paint(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const buckets: vscode.DecorationOptions[][] = this.types.map(() => []);
      const s = this.shown;
      if (s && editor.document.uri.toString() === s.range.uri && s.range.uri !== this.yieldedTo) {
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
    if (!this.on || !s || doc.uri.toString() !== s.range.uri || this.held) return undefined;
    const offset = doc.offsetAt(pos) - s.range.start;
    const i = s.range.tokens.findIndex((t) => offset >= t.start && offset < t.end);
    if (i < 0) return undefined;
    const t = s.range.tokens[i];
    const d = s.data.tokens[i];
    const show = (x: string) => "`" + visibleWhitespace(x).replace(/`/g, "'") + "`";
    const md = new vscode.MarkdownString();
    if (d.bits === null) md.appendMarkdown(`**SeqLens** · token ${show(t.text)} is the first: nothing predicts it.`);
    else {
      const b = bucketOf(d.bits);
      md.appendMarkdown(`**SeqLens** · ${show(t.text)}: surprisal **${d.bits.toFixed(2)} bits**, p = ${d.p!.toFixed(4)}, rank **${d.rank}**\n\n`);
      md.appendMarkdown(`Marked as ${bucketLabel(b)}${b === 0 ? " (not underlined)" : ` (${MARK_STYLES[b - 1].width} px ${MARK_STYLES[b - 1].style} underline)`}. Scale: ${scaleLine()}.\n\n`);
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
