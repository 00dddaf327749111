// npm start: a real VS Code (code-server on 127.0.0.1) with SeqLens installed from the freshly
// packaged VSIX and samples/workspace open. Prints the URL and runs until Ctrl+C.
//   npm start [-- --port 8080]
import * as path from "node:path";
import { startCodeServer, VSIX } from "./codeServer";

const ROOT = path.resolve(__dirname, "..");

async function main() {
  const i = process.argv.indexOf("--port");
  const port = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT ?? 0) || undefined;
  const server = await startCodeServer(path.join(ROOT, "samples", "workspace"), {}, { port, vsix: VSIX });
  console.log(`\nSeqLens is running in VS Code (code-server): open\n\n  ${server.url}\n\nSelect some code and run "SeqLens: Inspect Selection" (Ctrl+Alt+I). Ctrl+C stops it.`);
  const stop = () => {
    server.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  setInterval(() => undefined, 1 << 30);
}

main().catch((e) => {
  console.error(`seqlens start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
