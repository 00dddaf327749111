// What every SeqLens panel's host side shares, written once: showing one panel of a kind (reused by
// later runs), its page with a CSP nonce, checking each message from the webview with the feature's
// schema and dispatching it to a typed handler, typed error replies, the engine handles it holds,
// disposal, and bringing it back after a window reload (its serializer). A panel file holds only
// what is its own: its handlers, what it runs and what it shows.
import * as v from "valibot";
import * as vscode from "vscode";
import { EngineError, errorMessage, isCancelled } from "../protocol/errors";
import type { Checked, ErrorReply } from "../protocol/schema";
import type { Services } from "./services";
import { webviewHtml } from "./webviewHtml";

/** What a kind of panel is: its view type, title, webview bundle and the check of its messages. */
export interface PanelKind<ToHost extends { type: string }> {
  viewType: string;
  title: string;
  /** dist/webview/<bundle>.js, whose app is the custom element `element`. */
  bundle: string;
  element: string;
  /** Keep the page (and its canvases) alive while the panel is hidden. */
  retainContextWhenHidden?: boolean;
  parse: (raw: unknown) => Checked<ToHost>;
}

/** One handler per message type of the panel, each given the message already checked. */
export type Handlers<ToHost extends { type: string }> = { [K in ToHost["type"]]: (msg: Extract<ToHost, { type: K }>) => unknown };

/** What the registry of open panels needs of a panel. */
interface OpenPanel {
  readonly panel: vscode.WebviewPanel;
}

/** The open panel of each kind: one of each, reused by later runs. */
const open = new Map<string, OpenPanel>();

/** The open panel of a kind, if any. */
export function openPanel<P extends OpenPanel>(kind: { viewType: string }): P | undefined {
  return open.get(kind.viewType) as P | undefined;
}

/** The open panel of `kind` revealed beside the editor (focus stays in the editor), or a new one. */
export function showPanel<P extends OpenPanel>(kind: { viewType: string; title: string; retainContextWhenHidden?: boolean }, create: (panel: vscode.WebviewPanel) => P): P {
  const current = open.get(kind.viewType) as P | undefined;
  if (current) {
    current.panel.reveal(vscode.ViewColumn.Beside, true);
    return current;
  }
  const panel = vscode.window.createWebviewPanel(kind.viewType, kind.title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { retainContextWhenHidden: kind.retainContextWhenHidden ?? false });
  return create(panel);
}

export abstract class PanelHost<ToHost extends { type: string }, FromHost extends { type: string }> implements vscode.Disposable {
  protected readonly disposables: vscode.Disposable[] = [];
  /** Engine handles (inspections, gates runs) this panel shows; released when replaced or closed. */
  private handles: string[] = [];
  private disposed = false;
  protected abstract readonly handlers: Handlers<ToHost>;

  constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly kind: PanelKind<ToHost>,
    protected readonly services: Services,
  ) {
    open.set(kind.viewType, this);
    const { extensionUri } = services.context;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview")] };
    panel.webview.html = webviewHtml(panel.webview, extensionUri, kind.bundle, kind.element, kind.title);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "seqlens.svg");
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw) => this.receive(raw)),
    );
  }

  protected post(msg: FromHost): void {
    if (!this.disposed) void this.panel.webview.postMessage(msg);
  }

  /** The message that shows what the panel holds now, sent again when its page (re)loads. */
  protected abstract snapshot(): FromHost | undefined;

  /** The page has loaded (first time, or again after being hidden): show it what there is. */
  protected ready(): void {
    const m = this.snapshot();
    if (m) this.post(m);
  }

  /** Holds `handles` from now on, releasing the ones held before. */
  protected hold(handles: string[]): void {
    this.release();
    this.handles = handles;
  }

  private release(): void {
    const client = this.handles.length ? this.services.host.get() : undefined;
    for (const h of this.handles) void client!.request("release", { handle: h }).catch(() => undefined);
    this.handles = [];
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = this.kind.parse(raw);
    if (!parsed.ok) {
      this.services.log.warn(`ignored a malformed message from ${this.kind.title}: ${parsed.reason}`);
      return;
    }
    const msg = parsed.message;
    try {
      await (this.handlers[msg.type as ToHost["type"]] as (m: ToHost) => unknown)(msg);
    } catch (e) {
      const reply: ErrorReply = {
        type: "error",
        requestId: "requestId" in msg && typeof msg.requestId === "number" ? msg.requestId : undefined,
        message: isCancelled(e) ? "cancelled" : errorMessage(e),
        ...(e instanceof EngineError ? { code: e.code } : {}),
      };
      this.post(reply as unknown as FromHost); // every feature's host-to-panel union has the error reply
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (open.get(this.kind.viewType) === this) open.delete(this.kind.viewType);
    this.release();
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * Brings a kind of panel back after a window reload. The saved state comes back from the webview,
 * so it is checked with `schema` and `restorable` (a file document, a model SeqLens offers) before
 * anything runs; a panel whose state fails the check comes back empty, with a line in the log.
 */
export function registerPanelSerializer<P, R extends { uri: string }>(
  services: Services,
  kind: PanelKind<{ type: string }>,
  opts: { create: (panel: vscode.WebviewPanel) => P; schema: v.GenericSchema<unknown, R>; restorable: (r: R) => boolean | Promise<boolean>; restore: (panel: P, r: R) => Promise<unknown> },
): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(kind.viewType, {
    async deserializeWebviewPanel(webviewPanel: vscode.WebviewPanel, state: unknown) {
      const panel = opts.create(webviewPanel);
      const saved = typeof state === "object" && state !== null ? (state as { host?: unknown }).host : undefined;
      if (saved === undefined) return;
      const r = v.safeParse(opts.schema, saved);
      if (!r.success || vscode.Uri.parse(r.output.uri).scheme !== "file" || !(await opts.restorable(r.output))) {
        services.log.warn(`not restoring ${kind.title}: its saved state names a model or document SeqLens does not offer`);
        return;
      }
      try {
        await opts.restore(panel, r.output);
      } catch (e) {
        services.log.warn(`could not restore ${kind.title}: ${errorMessage(e)}`);
      }
    },
  });
}
