// The inspected text as token chips, whitespace made visible; hover shows id, bytes, position.
// Click a chip to select it (and its range in the editor); arrow keys move between chips.
import { css, html, LitElement } from "lit";
import type { TokenInfo } from "../../protocol/basics";
import { visibleWhitespace } from "../../protocol/text";

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
    .strip { display: flex; flex-wrap: wrap; gap: 2px; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
    button {
      font: inherit; color: var(--vscode-editor-foreground); background: var(--vscode-editor-background);
      border: 1px solid var(--vscode-editorWidget-border, var(--vscode-panel-border, transparent)); border-radius: 3px; padding: 0 3px; cursor: pointer; white-space: pre;
    }
    button:hover { background: var(--vscode-list-hoverBackground); }
    button[aria-pressed="true"] { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); border-color: var(--vscode-focusBorder); }
    button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
    button.special { font-style: italic; border-style: dashed; color: var(--vscode-descriptionForeground, var(--vscode-editor-foreground)); }
  `;

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
    return html`<div class="strip" role="listbox" aria-label="Tokens">
      ${this.tokens.map(
        (t, i) => html`<button
          role="option"
          data-index=${i}
          aria-pressed=${i === this.selected ? "true" : "false"}
          aria-selected=${i === this.selected ? "true" : "false"}
          class=${t.special ? "special" : ""}
          title=${`#${i} id ${t.id}${t.special ? " · special token (added by the tokenizer, not in the text)" : ""} · bytes ${t.byteStart}–${t.byteEnd} · chars ${t.start}–${t.end}${this.titles?.[i] ? `\n${this.titles[i]}` : ""}`}
          style=${this.colours?.[i] ? `background:${this.colours[i]}` : ""}
          @click=${() => this.pick(i)}
          @mouseenter=${() => this.dispatchEvent(new CustomEvent("token-hover", { detail: { index: i }, bubbles: true, composed: true }))}
          @keydown=${(e: KeyboardEvent) => this.onKey(e, i)}
        >${visibleWhitespace(t.text)}</button>`,
      )}
    </div>`;
  }
}
customElements.define("seqlens-token-strip", TokenStrip);
