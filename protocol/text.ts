// How token text is shown: whitespace made visible. The panels, the editor's hovers and the CLI
// all write a token this one way.
export function visibleWhitespace(s: string): string {
  return s.replace(/ /g, "·").replace(/\t/g, "→").replace(/\r/g, "␍").replace(/\n/g, "↵");
}
