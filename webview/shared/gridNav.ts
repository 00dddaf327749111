// Keyboard moves of a grid of focusable cells with one tab stop (a roving tabindex, as the WAI-ARIA
// grid pattern has it): the arrow keys move by one cell, Home and End to the ends of the row. The
// logit attribution grid and the activation patching grids move their tab stop with it.

/** Where `key` moves the tab stop from (row, col) in a rows × cols grid, clamped to it; undefined for a key that does not move it. */
export function gridMove(key: string, row: number, col: number, rows: number, cols: number): [number, number] | undefined {
  const moves: Record<string, [number, number]> = { ArrowRight: [row, col + 1], ArrowLeft: [row, col - 1], ArrowDown: [row + 1, col], ArrowUp: [row - 1, col], Home: [row, 0], End: [row, cols - 1] };
  const to = moves[key];
  if (!to) return undefined;
  return [Math.max(0, Math.min(rows - 1, to[0])), Math.max(0, Math.min(cols - 1, to[1]))];
}
