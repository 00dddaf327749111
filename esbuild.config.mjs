// Three kinds of bundle: the extension host (cjs, node), the engine process and CLI (cjs, node),
// and the webviews (esm, browser). `vscode`, `onnxruntime-node` and the TensorFlow.js packages stay
// external: they are loaded from node_modules at run time (native or wasm binaries live there).
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const external = ["vscode", "onnxruntime-node", "@tensorflow/*"];
const node = { bundle: true, platform: "node", format: "cjs", target: "node20", sourcemap: true, external, logLevel: "warning" };

const builds = [
  { ...node, entryPoints: { extension: "extension/extension.ts" }, outdir: "dist" },
  { ...node, entryPoints: { engine: "engine/process.ts", cli: "engine/cli.ts", bench: "bench/bench.ts" }, outdir: "dist" },
  {
    bundle: true, platform: "browser", format: "esm", target: "es2022", sourcemap: true, logLevel: "warning",
    entryPoints: { "webview/inspector": "webview/inspector/main.ts" }, outdir: "dist", minify: true,
  },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log("esbuild: watching");
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
