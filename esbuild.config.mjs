// Three kinds of bundle: the extension host (cjs, node), the engine process and CLI (cjs, node),
// and the webviews (esm, browser). `vscode`, `onnxruntime-node` and the TensorFlow.js packages stay
// external: they are loaded from node_modules at run time (native or wasm binaries live there).
import * as esbuild from "esbuild";

import * as fs from "node:fs";
import asc from "assemblyscript/asc";

const watch = process.argv.includes("--watch");

const external = ["vscode", "onnxruntime-node", "@tensorflow/*"];
const node = { bundle: true, platform: "node", format: "cjs", target: "node20", sourcemap: true, external, logLevel: "warning" };
// The engine bundles TensorFlow.js (pure JavaScript and wasm); only the optional native backends stay
// external. The wasm binaries are copied beside the bundle.
const engineExternal = ["vscode", "onnxruntime-node", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"];

const builds = [
  { ...node, entryPoints: { extension: "extension/extension.ts" }, outdir: "dist" },
  { ...node, external: engineExternal, entryPoints: { engine: "engine/process.ts", cli: "engine/cli.ts", bench: "bench/bench.ts" }, outdir: "dist" },
  {
    bundle: true, platform: "browser", format: "esm", target: "es2022", sourcemap: true, logLevel: "warning",
    // one bundle per panel: every webview/<panel>/main.ts becomes dist/webview/<panel>.js
    entryPoints: Object.fromEntries(fs.readdirSync("webview").filter((d) => fs.existsSync(`webview/${d}/main.ts`)).map((d) => [`webview/${d}`, `webview/${d}/main.ts`])), outdir: "dist", minify: true,
    loader: { ".css": "text" },
  },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log("esbuild: watching");
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
fs.mkdirSync("dist", { recursive: true });
// The comparison kernels (AssemblyScript -> WebAssembly SIMD), loaded by the engine from beside its bundle.
const kernels = await asc.main(["kernels/divergence.ts", "-O3", "--runtime", "stub", "--noAssert", "--enable", "simd", "-o", "dist/seqlens-kernels.wasm"]);
if (kernels.error) throw kernels.error;
for (const f of ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"]) {
  fs.copyFileSync(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, `dist/${f}`);
}
