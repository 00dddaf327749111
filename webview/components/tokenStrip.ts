// The inspected text as token chips, whitespace made visible; hover shows id, bytes, position.
// Click a chip to select it (and its range in the editor); arrow keys move between chips. Where a
// panel caps the strip's height (--seqlens-token-strip-max-height), a long text scrolls inside it
// with the selected chip kept in view, rather than pushing the panel down.
// A chip given a background colour on which the theme's text would fall below 4.5:1 gets black or
// white text, whichever reads better on it.
import { css, html, LitElement, PropertyValues } from "lit";
import type { TokenInfo } from "../../protocol/basics";
import { visibleWhitespace } from "../../protocol/text";
import { cssVar, parseColor } from "../shared/theme";
import { blackOrWhiteOn, contrast } from "../../protocol/contrast";
import { cssProps } from "../shared/cssProps";

export class TokenStrip extends LitElement {
  static override properties = { tokens: { attribute: false }, selected: { type: Number }, colours: { attribute: false }, titles: { attribute: false } };
  /** Optional background per token (the Compare panel colours by loss difference). */
  colours?: string[];
  /** Optional extra line per token's tooltip. */
  titles?: string[];
  tokens: TokenInfo[] = [];
  selected = -1;

  static override styles = css`
    :host { display: block; }
    .strip { display: flex; flex-wrap: wrap; gap: 2px; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); max-height: var(--seqlens-token-strip-max-height, none); overflow-y: auto; padding: 1px 1px 4px; box-sizing: border-box; position: relative; }
    button {
      font: inherit; color: var(--vscode-editor-foreground); background: var(--vscode-editor-background);
      border: 1px solid var(--vscode-editorWidget-border, var(--vscode-panel-border, transparent)); border-radius: 3px; padding: 0 3px; cursor: pointer; white-space: pre;
    }
    button:hover { background: var(--vscode-list-hoverBackground); }
    button[aria-pressed="true"] { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); border-color: var(--vscode-focusBorder); }
    button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
    button.special { font-style: italic; border-style: dashed; color: var(--vscode-descriptionForeground, var(--vscode-editor-foreground)); }
  `;

  private resizer?: ResizeObserver;

  override connectedCallback(): void {
    super.connectedCallback();
    // a new width rewraps the lines: the selected chip is brought back into view
    this.resizer = new ResizeObserver(() => this.revealSelected());
    this.resizer.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resizer?.disconnect();
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("selected") || changed.has("tokens")) this.revealSelected();
  }

  /** Scrolls the strip (not the page) so that the selected chip's line is in view, a whole line at the top. */
  private revealSelected() {
    const strip = this.renderRoot.querySelector<HTMLElement>(".strip");
    if (!strip) return;
    const chips = this.renderRoot.querySelectorAll<HTMLElement>("button");
    // a capped strip shows whole lines: its height a whole number of line pitches
    strip.style.maxHeight = "";
    const cap = parseFloat(getComputedStyle(strip).maxHeight);
    if (!Number.isFinite(cap) || strip.scrollHeight <= strip.clientHeight) return;
    const lines = [...new Set(Array.from(chips, (c) => c.offsetTop))];
    const pitch = (lines[lines.length - 1] - lines[0]) / Math.max(1, lines.length - 1);
    if (pitch > 0) strip.style.maxHeight = `${Math.ceil(Math.max(1, Math.floor((cap - 3) / pitch)) * pitch) + 3}px`;
    const chip = chips[this.selected];
    if (!chip) return;
    const lineTop = (el: HTMLElement) => el.offsetTop - 1; // offsets in the strip (its padding 1 px)
    const top = lineTop(chip);
    if (top < strip.scrollTop) strip.scrollTop = top;
    else if (top + chip.offsetHeight + 1 > strip.scrollTop + strip.clientHeight) {
      // the chip's line at the bottom, a whole line at the top
      const want = top + chip.offsetHeight + 1 - strip.clientHeight;
      const tops = Array.from(this.renderRoot.querySelectorAll<HTMLElement>("button"), lineTop).filter((t) => t >= want);
      strip.scrollTop = Math.min(top, ...tops);
    } else {
      // in view: align a partly shown top line
      const tops = Array.from(this.renderRoot.querySelectorAll<HTMLElement>("button"), lineTop).filter((t) => t >= strip.scrollTop);
      const next = Math.min(...tops);
      if (next > strip.scrollTop && next <= top) strip.scrollTop = next;
    }
  }

  private pick(i: number) {
    this.dispatchEvent(new CustomEvent("token-select", { detail: { index: i }, bubbles: true, composed: true }));
  }

  private onKey(e: KeyboardEvent, i: number) {
    const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : -1;
    if (next >= 0 && next < this.tokens.length) {
      e.preventDefault();
      this.pick(next);
      (this.renderRoot.querySelectorAll("button")[next] as HTMLButtonElement | undefined)?.focus();
    }
  }

  override render() {
    const fg = this.colours ? parseColor(cssVar("--vscode-editor-foreground", cssVar("--vscode-foreground", "#cccccc"))) : undefined;
    const textOn = (bg: string) => {
      const c = fg && parseColor(bg.trim());
      if (!fg || !c || contrast(c, fg) >= 4.5) return undefined;
      return `rgb(${blackOrWhiteOn(c).join(",")})`;
    };
    return html`<div class="strip" role="listbox" aria-label="Tokens">
      ${this.tokens.map(
        (t, i) => html`<button
          role="option"
          data-index=${i}
          aria-pressed=${i === this.selected ? "true" : "false"}
          aria-selected=${i === this.selected ? "true" : "false"}
          class=${t.special ? "special" : ""}
          title=${`#${i} id ${t.id}${t.special ? " · special token (added by the tokenizer, not in the text)" : ""} · bytes ${t.byteStart}–${t.byteEnd} · chars ${t.start}–${t.end}${this.titles?.[i] ? `\n${this.titles[i]}` : ""}`}
          ${cssProps(this.colours?.[i] ? { background: this.colours[i], color: textOn(this.colours[i]) } : {})}
          @click=${() => this.pick(i)}
          @mouseenter=${() => this.dispatchEvent(new CustomEvent("token-hover", { detail: { index: i }, bubbles: true, composed: true }))}
          @keydown=${(e: KeyboardEvent) => this.onKey(e, i)}
        >${visibleWhitespace(t.text)}</button>`,
      )}
    </div>`;
  }
}
customElements.define("seqlens-token-strip", TokenStrip);
