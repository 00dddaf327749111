// The end-to-end host: scripts/codeServer.ts's code-server, and Debian's chromium driven by
// playwright-core on its workbench. Installed by test/e2e/setup-host.sh.
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, BrowserContext, Frame, FrameLocator, Page } from "playwright-core";
import { CodeServer, startCodeServer } from "../../scripts/codeServer";
import { ROOT } from "../helpers";

export { hostInstalled, VSIX } from "../../scripts/codeServer";
export const ARTIFACTS = path.join(ROOT, "test", "e2e", "artifacts");

export interface Host extends CodeServer {
  page: Page;
  context: BrowserContext;
  close(): Promise<void>;
}

/** code-server plus a headless chromium page on the workbench. */
export async function startHost(workspace: string, settings: Record<string, unknown> = {}, vsix?: string, opts: { workspaceTrust?: boolean } = {}): Promise<Host> {
  const server = await startCodeServer(workspace, settings, { vsix, ...opts });
  const context = await chromium.launchPersistentContext(path.join(server.dir, "chromium"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
  await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor({ timeout: 60_000 });
  return {
    ...server,
    page,
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      server.stop();
    },
  };
}

/** The SeqLens output channel's log of a host (found once, then read on each call). */
export function seqLensLog(hostDir: string): () => string {
  let file: string | undefined;
  const find = (dir: string): string | undefined => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, e.name);
      const f = e.isDirectory() ? find(p) : e.name === "SeqLens.log" ? p : undefined;
      if (f) return f;
    }
    return undefined;
  };
  return () => {
    file ??= find(path.join(hostDir, "data", "logs"));
    return file ? fs.readFileSync(file, "utf8") : "";
  };
}

/** Runs a command by its palette title, retrying while extension commands register; returns when (Date.now()) it was picked. */
export async function runCommand(page: Page, title: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget .quick-input-box input");
    // The row whose label starts with the title (other rows match fuzzily).
    const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: new RegExp(`^${escaped}`) }).first();
    try {
      // a palette that closes as it opens (focus moving between the workbench and a webview) is opened again
      await input.fill(`>${title}`, { timeout: 5000 });
      await row.waitFor({ timeout: 1500 });
      const at = Date.now();
      await row.click();
      return at;
    } catch {
      await page.keyboard.press("Escape");
      await page.waitForTimeout(500);
    }
  }
  throw new Error(`command "${title}" never appeared in the palette`);
}

/** Opens `name` in the first editor group (whichever group had focus: a panel's group may have it). */
export async function openFile(page: Page, name: string): Promise<void> {
  await runCommand(page, "View: Focus First Editor Group");
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget .quick-input-box input");
  await input.waitFor();
  await input.fill(name);
  // Enter opens the focused row: wait until the filter has put the file there (the list of recent
  // files shows it before it is filtered, below another file)
  await page.locator(".quick-input-widget .monaco-list-row.focused", { hasText: name }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(`.tab.active`, { hasText: name }).first().waitFor().catch(async (e) => {
    await page.screenshot({ path: path.join(ARTIFACTS, `failure-open-${name}.png`) });
    throw e;
  });
  await page.locator(".monaco-editor .view-lines").first().waitFor();
}

/** Selects whole lines [from, to] (1-based) in the active editor. */
export async function selectLines(page: Page, from: number, to: number): Promise<void> {
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+G");
  await page.keyboard.type(String(from));
  await page.keyboard.press("Enter");
  await page.keyboard.press("Home");
  await page.keyboard.press("Home"); // to column 1 even on indented lines
  for (let i = from; i < to; i++) await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+End");
}

/** The Inspector webview's content frame. */
export function inspectorFrame(page: Page): FrameLocator {
  return page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
}

/** The frame that holds a webview's app element (webview content sits in nested iframes). */
export async function webviewFrame(page: Page, element: string): Promise<Frame> {
  for (let i = 0; i < 200; i++) {
    for (const f of page.frames()) {
      if (await f.locator(element).count().catch(() => 0)) return f;
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`the webview with <${element}> did not appear`);
}

export function inspectorContentFrame(page: Page): Promise<Frame> {
  return webviewFrame(page, "seqlens-inspector");
}

export function statusBarSelection(page: Page) {
  return page.locator(".statusbar-item", { hasText: /Ln \d+, Col \d+/ }).first();
}

/** Switches the colour theme through the palette (code-server does not re-read settings.json live). */
export async function setTheme(page: Page, theme: string): Promise<void> {
  await runCommand(page, "Preferences: Color Theme");
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: "Modern" }).first().waitFor();
  await page.keyboard.type(theme);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: theme }).first().waitFor();
  await page.keyboard.press("Enter");
}

/** Resolves after the frame has painted twice more (what was just changed is on screen). */
export async function nextPaint(frame: Frame): Promise<void> {
  await frame.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

/** Switches the theme and waits until the webview in `frame` has it (its editor background changed) and has painted. */
export async function setThemeIn(page: Page, frame: Frame, theme: string): Promise<void> {
  const before = await frame.evaluate(() => getComputedStyle(document.body).getPropertyValue("--vscode-editor-background"));
  await setTheme(page, theme);
  await frame.waitForFunction((b) => getComputedStyle(document.body).getPropertyValue("--vscode-editor-background") !== b, before, { timeout: 15_000 });
  await nextPaint(frame);
}
