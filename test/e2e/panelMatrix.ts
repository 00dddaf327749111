// Every panel at three widths in three themes, in the real host: the browser window is sized so
// the panel's webview is 400, 700 or 1,200 px wide (the editor beside it keeps its share); at each the
// layout checks run (test/e2e/layoutChecks.ts) and a screenshot of the panel is kept. And the panel
// keeps keyboard focus when clicked: a key typed after a click leaves the user's document unchanged.
import * as path from "node:path";
import type { Frame, Page } from "playwright-core";
import { ARTIFACTS, type Host, nextPaint, runCommand, setThemeIn } from "./host";
import { formatReport, layoutReport } from "./layoutChecks";

export const WIDTHS = [400, 700, 1200];
/** The workbench's theme names, and ours for the screenshots. */
export const MATRIX_THEMES: [string, string][] = [
  ["Dark Modern", "dark"],
  ["Light Modern", "light"],
  ["Dark High Contrast", "hc"],
];

/** The on-page box of the webview whose content is `frame`. */
async function webviewBox(frame: Frame): Promise<{ x: number; y: number; width: number; height: number }> {
  // the content frame sits in the webview's own iframe: the outer one is positioned in the workbench
  let el = await frame.frameElement();
  let f: Frame | null = frame.parentFrame();
  let box = (await el.boundingBox())!;
  while (f && f.parentFrame()) {
    el = await f.frameElement();
    f = f.parentFrame();
    box = (await el.boundingBox()) ?? box;
  }
  return box;
}

/**
 * Sizes the browser window so the webview of `frame` is `width` px wide, and waits for the panel to
 * lay out again. The workbench shares a resize among its editor groups, so the window's change is
 * found by the secant method from what one change did to the panel.
 */
export async function setPanelWidth(page: Page, frame: Frame, width: number): Promise<void> {
  let ratio = 1; // panel px per window px
  for (let i = 0; i < 8; i++) {
    const now = await frame.evaluate(() => document.documentElement.clientWidth);
    if (Math.abs(now - width) <= 1) break;
    const vp = page.viewportSize()!;
    const next = Math.max(480, Math.min(4000, Math.round(vp.width + (width - now) / ratio)));
    if (next === vp.width) break;
    await page.setViewportSize({ width: next, height: vp.height });
    await frame.waitForFunction((w) => document.documentElement.clientWidth !== w, now, { timeout: 5000 }).catch(() => undefined);
    const after = await frame.evaluate(() => document.documentElement.clientWidth);
    if (after !== now) ratio = Math.max(0.1, Math.min(1, (after - now) / (next - vp.width)));
  }
  // ResizeObservers fire before the next paint; a panel that re-fits repaints on that frame
  await nextPaint(frame);
  await nextPaint(frame);
}

export interface MatrixOptions {
  /** Brings the panel to the state to check (a tab, a selection) after each theme change. */
  prepare?: (frame: Frame) => Promise<void>;
  /** Waits until the panel shows what it should after a resize (a repaint it marks). */
  settled?: (frame: Frame) => Promise<void>;
  /** Views of the panel (tabs) checked at each width and theme: name and how to show it. */
  views?: { name: string; show: (frame: Frame) => Promise<void> }[];
}

/** The matrix for one panel whose webview is `frame` and editor tab `tabTitle`. Returns the failures, one paragraph per case. */
export async function panelMatrix(host: Host, frame: Frame, panel: string, tabTitle: string | RegExp, opts: MatrixOptions = {}): Promise<string[]> {
  const { page } = host;
  const failures: string[] = [];
  await page.locator(".tab", { hasText: tabTitle }).first().click();
  const original = page.viewportSize()!;
  try {
    for (const [theme, short] of MATRIX_THEMES) {
      const current = await frame.evaluate(() => document.body.className);
      const want = short === "hc" ? /vscode-high-contrast/ : short === "light" ? /vscode-light/ : /vscode-dark/;
      if (!want.test(current)) await setThemeIn(page, frame, theme);
      await opts.prepare?.(frame);
      for (const width of WIDTHS)
        for (const view of opts.views ?? [{ name: "", show: async () => undefined }]) {
          await view.show(frame);
          await setPanelWidth(page, frame, width);
          await opts.settled?.(frame);
          const name = view.name ? `${panel}-${view.name}` : panel;
          const got = await frame.evaluate(() => document.documentElement.clientWidth);
          const r = await layoutReport(frame);
          const box = await webviewBox(frame);
          await page.screenshot({ path: path.join(ARTIFACTS, `matrix-${name}-${short}-${width}.png`), clip: { x: box.x, y: box.y, width: Math.min(box.width, page.viewportSize()!.width - box.x), height: Math.min(box.height, page.viewportSize()!.height - box.y) } });
          const text = formatReport(r);
          if (Math.abs(got - width) > 2) failures.push(`${name} ${short} ${width}px: the panel is ${got} px wide`);
          if (r.counted.texts < 5) failures.push(`${name} ${short} ${width}px: only ${r.counted.texts} text boxes on screen (is the panel showing anything?)`);
          if (text) failures.push(`${name} ${short} ${width}px:\n${text}`);
        }
    }
  } finally {
    await page.setViewportSize(original);
  }
  return failures;
}

/** Clicks each of `selectors` (in the panel's frame; the first match of each) and types a key: the user's document must stay unchanged. (Click what does nothing but take focus: a button that opens a save dialog leaves the workbench modal.) */
export async function clickThenType(page: Page, frame: Frame, selectors: string[]): Promise<string[]> {
  const failures: string[] = [];
  for (const s of selectors) {
    const target = frame.locator(s).first();
    if (!(await target.count())) {
      failures.push(`nothing matches ${s}`);
      continue;
    }
    await target.click();
    await page.keyboard.type("x");
    if (await page.locator(".tab.dirty").count()) {
      failures.push(`after a click on ${s}, the key went to a document`);
      await runCommand(page, "Undo");
    }
  }
  return failures;
}
