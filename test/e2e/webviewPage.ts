// A webview bundle on a plain page in Debian's chromium, without VS Code: the panel's own page and CSP
// (extension/panelPage.ts), a stand-in for the webview API that records what the panel sends
// (window.sent), the theme's variables set on the body (through the CSSOM, as the CSP asks), and
// tests and benchmarks post the host's messages to it. Every CSP violation the page reports is kept
// (violations()).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { chromium, Browser, Page } from "playwright-core";
import { panelPageHtml } from "../../extension/panelPage";
import { ROOT } from "../helpers";

export const DARK = { "--vscode-editor-background": "#1e1e1e", "--vscode-foreground": "#cccccc", "--vscode-charts-orange": "#d18616", "--vscode-charts-blue": "#3794ff", "--vscode-focusBorder": "#007fd4" };
/** Dark High Contrast's colours (VS Code's hc-black theme). */
export const HC = { "--vscode-editor-background": "#000000", "--vscode-foreground": "#ffffff", "--vscode-descriptionForeground": "#ffffff", "--vscode-charts-orange": "#ffa500", "--vscode-charts-blue": "#3794ff", "--vscode-charts-green": "#89d185", "--vscode-focusBorder": "#f38518", "--vscode-contrastBorder": "#6fc3df", "--vscode-panel-border": "#6fc3df" };
export const THEMES = { dark: () => DARK, light: () => LIGHT, hc: () => HC } as const;
export const LIGHT = { "--vscode-editor-background": "#ffffff", "--vscode-foreground": "#3b3b3b", "--vscode-charts-orange": "#d18616", "--vscode-charts-blue": "#1a85ff", "--vscode-focusBorder": "#005fb8" };

export interface PanelPage {
  page: Page;
  browser: Browser;
  post(msg: unknown): Promise<void>;
  sent(): Promise<Record<string, unknown>[]>;
  /** The CSP violations reported so far: securitypolicyviolation events and chromium's console lines about them. */
  violations(): Promise<CspViolation[]>;
  close(): Promise<void>;
}

export interface CspViolation {
  /** "event" (a securitypolicyviolation event) or "console" (chromium's console message). */
  from: "event" | "console";
  /** The directive broken (style-src-attr, style-src-elem, script-src-elem, ...); the console's text for a console line. */
  directive: string;
  /** What was blocked: "inline", "eval" or a URL. */
  blocked: string;
  /** The first characters of the inline text, where the directive asks for them ('report-sample'). */
  sample: string;
  /** The element it came from (tag.class#id, inside shadow roots too), for an event. */
  where: string;
}

/** Records securitypolicyviolation events before any of the page's own code runs. */
function recordViolations() {
  const w = window as unknown as { cspViolations: CspViolation[] };
  w.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    const el = e.composedPath()[0];
    const where = el instanceof Element ? `${el.localName}${el.id ? `#${el.id}` : ""}${[...el.classList].map((c) => `.${c}`).join("")}` : String(el);
    w.cspViolations.push({ from: "event", directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample, where });
  });
}

export async function openPanelPage(bundle: string, element: string, vars: Record<string, string> = DARK, viewport = { width: 1100, height: 900 }): Promise<PanelPage> {
  const js = fs.readFileSync(path.join(ROOT, "dist", "webview", `${bundle}.js`));
  // the page's body as a theme leaves it: no margin, the editor's background, the theme's variables
  const body = { margin: "0", background: vars["--vscode-editor-background"], ...vars };
  let origin = "";
  const server = http.createServer((req, res) => {
    if (req.url === `/${bundle}.js`) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(js);
      return;
    }
    if (req.url !== "/") {
      res.writeHead(404);
      res.end();
      return;
    }
    // The panel's page with a fresh nonce, and one more script by that nonce before the app: the
    // stand-in for the webview API and the theme (as VS Code sets its variables, through the CSSOM).
    const nonce = crypto.randomBytes(16).toString("base64");
    const stub = `<script nonce="${nonce}">window.sent=[];window.acquireVsCodeApi=()=>({postMessage:(m)=>window.sent.push(m),getState:()=>undefined,setState:()=>{}});
for (const [k, v] of Object.entries(${JSON.stringify(body)})) document.body.style.setProperty(k, v);</script>`;
    const html = panelPageHtml({ cspSource: origin, nonce, script: `${origin}/${bundle}.js`, element, title: bundle }).replace("<body>\n", `<body>\n${stub}\n`);
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const url = `${origin}/`;
  // SwiftShader gives WebGL without a GPU (Chromium asks for the flag since it stopped falling back to it on its own).
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = await browser.newPage({ viewport });
  const consoleViolations: CspViolation[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) consoleViolations.push({ from: "console", directive: m.text(), blocked: "", sample: "", where: "" });
  });
  await page.addInitScript(recordViolations);
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === "ready"));
  return {
    page,
    browser,
    post: (msg) => page.evaluate((m) => window.postMessage(m, "*"), msg as Record<string, unknown>),
    sent: () => page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent),
    violations: async () => [...(await page.evaluate(() => (window as unknown as { cspViolations: CspViolation[] }).cspViolations)), ...consoleViolations],
    close: async () => {
      await browser.close();
      server.close();
    },
  };
}

/**
 * Waits until the page expression `expr` is truthy, checking once a frame. Under the panel's CSP
 * (no 'unsafe-eval') Playwright's waitForFunction cannot evaluate a string predicate in the page;
 * page.evaluate goes through the debugger protocol, which the CSP does not govern.
 */
export async function waitForExpression(page: import("playwright-core").Page, expr: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expr))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expr}`);
    await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => resolve(0)))");
  }
}
