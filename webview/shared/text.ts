// How token text is shown: whitespace made visible (shared by the panels and the editor hover).
export function visibleWhitespace(s: string): string {
  return s.replace(/ /g, "·").replace(/\t/g, "→").replace(/\r/g, "␍").replace(/\n/g, "↵");
}
