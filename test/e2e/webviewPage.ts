// A webview bundle on a plain page in Debian's chromium, without VS Code: a stand-in for the webview
// API records what the panel sends (window.sent), the theme's variables are set on the body, and
// tests and benchmarks post the host's messages to it.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { chromium, Browser, Page } from "playwright-core";
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
  close(): Promise<void>;
}

export async function openPanelPage(bundle: string, element: string, vars: Record<string, string> = DARK, viewport = { width: 1100, height: 900 }): Promise<PanelPage> {
  const js = fs.readFileSync(path.join(ROOT, "dist", "webview", `${bundle}.js`));
  const style = Object.entries(vars).map(([k, v]) => `${k}:${v}`).join(";");
  const server = http.createServer((req, res) => {
    if (req.url === `/${bundle}.js`) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(js);
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!DOCTYPE html><html><body style="margin:0;background:${vars["--vscode-editor-background"]};${style}">
<script>window.sent=[];window.acquireVsCodeApi=()=>({postMessage:(m)=>window.sent.push(m),getState:()=>undefined,setState:()=>{}});</script>
<${element}></${element}><script type="module" src="/${bundle}.js"></script></body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  // SwiftShader gives WebGL without a GPU (Chromium asks for the flag since it stopped falling back to it on its own).
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = await browser.newPage({ viewport });
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { sent: { type: string }[] }).sent.some((m) => m.type === "ready"));
  return {
    page,
    browser,
    post: (msg) => page.evaluate((m) => window.postMessage(m, "*"), msg as Record<string, unknown>),
    sent: () => page.evaluate(() => (window as unknown as { sent: Record<string, unknown>[] }).sent),
    close: async () => {
      await browser.close();
      server.close();
    },
  };
}
