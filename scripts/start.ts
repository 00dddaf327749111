// npm start: a real VS Code with SeqLens on samples/workspace, after `npm run package` has built it.
//   - With a local VS Code (`code` on the PATH): a new window with this checkout as the extension under
//     development (nothing is installed into the user's profile), opened on samples/workspace.
//   - Otherwise the embedded default: code-server on 127.0.0.1 (installed on first use into .e2e-host/)
//     with SeqLens installed from the freshly packaged VSIX; prints the URL and runs until Ctrl+C.
//   npm start [-- --port 8080]      SEQLENS_HOST=code-server npm start   forces the embedded default
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startCodeServer, VSIX } from "./codeServer";

const ROOT = path.resolve(__dirname, "..");
const WORKSPACE = path.join(ROOT, "samples", "workspace");

/** The local VS Code CLI on the PATH, if there is one (code-server's own `code-server` is not it). */
export function localCodeCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SEQLENS_HOST === "code-server") return undefined;
  const names = process.platform === "win32" ? ["code.cmd", "code.exe"] : ["code"];
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const n of names) {
      const f = path.join(dir, n);
      try {
        fs.accessSync(f, fs.constants.X_OK);
        if (fs.statSync(f).isFile()) return f;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function openInLocalCode(code: string): void {
  const args = ["--new-window", `--extensionDevelopmentPath=${ROOT}`, WORKSPACE];
  const r = spawnSync(code, args, { stdio: "inherit", shell: process.platform === "win32" });
  if (r.status !== 0) throw new Error(`${code} ${args.join(" ")} exited with ${r.status ?? r.signal}`);
  console.log(`\nSeqLens is running in your VS Code (${code}): a new window on samples/workspace with SeqLens loaded from this checkout.\nSelect some code and run "SeqLens: Inspect Selection" (Ctrl+Alt+I).`);
}

async function openInCodeServer(): Promise<void> {
  const i = process.argv.indexOf("--port");
  const port = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT ?? 0) || undefined;
  // First use installs the host (Debian's chromium and headers, Node 24, code-server) into .e2e-host/.
  const setup = spawnSync("bash", [path.join(ROOT, "test", "e2e", "setup-host.sh")], { stdio: "inherit" });
  if (setup.status !== 0) throw new Error("installing code-server failed (see above)");
  const server = await startCodeServer(WORKSPACE, {}, { port, vsix: VSIX });
  console.log(`\nSeqLens is running in VS Code (code-server): open\n\n  ${server.url}\n\nSelect some code and run "SeqLens: Inspect Selection" (Ctrl+Alt+I). Ctrl+C stops it.`);
  const stop = () => {
    server.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  setInterval(() => undefined, 1 << 30);
}

async function main() {
  const code = localCodeCli();
  if (code) openInLocalCode(code);
  else await openInCodeServer();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`seqlens start: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
