// The styles the Inspector's "why" parts share (the logit attribution grid, the attribution strip,
// the patching grid): a 12 px block, the legend above, the readout line that says the number under
// the pointer or focus, the list of the largest values, code in the editor's font, muted notes.
import { css } from "lit";

export const readoutStyles = css`
  :host { display: block; font-size: 12px; }
  .legend { margin: 4px 0 6px; }
  .readout { margin-top: 6px; min-height: 1.4em; }
  .top { margin: 4px 0 0; padding-left: 1.4em; }
  .top li { margin: 1px 0; }
  code { font-family: var(--vscode-editor-font-family, monospace); }
  .muted { color: var(--vscode-descriptionForeground, var(--vscode-foreground)); }
`;
