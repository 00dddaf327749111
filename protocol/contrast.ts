// WCAG 2 colour arithmetic, one copy for the extension host and every panel: relative luminance,
// contrast ratios (text needs 4.5:1, graphics 3:1), mixing and compositing sRGB colours.
export type RGB = [number, number, number];

/** #rrggbb (or rrggbb) as channels 0-255. */
export function hexRgb(hex: string): RGB {
  const h = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as RGB;
}

/** WCAG relative luminance of an sRGB colour (channels 0-255). */
export function luminance([r, g, b]: readonly number[]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrast(a: readonly number[], b: readonly number[]): number {
  const [x, y] = [luminance(a), luminance(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** The colour k of the way from `from` to `to`. */
export function mix(from: RGB, to: RGB, k: number): RGB {
  return [0, 1, 2].map((i) => Math.round(from[i] + (to[i] - from[i]) * k)) as RGB;
}

/** `tint` at opacity `alpha` over `bg` (how a translucent background is seen). */
export function composite(tint: RGB, alpha: number, bg: RGB): RGB {
  return mix(bg, tint, alpha);
}

/** Black or white, whichever reads better on `bg` (one of them always reaches 4.5:1). */
export function blackOrWhiteOn(bg: RGB): RGB {
  return contrast(bg, [0, 0, 0]) >= contrast(bg, [255, 255, 255]) ? [0, 0, 0] : [255, 255, 255];
}
