// TensorFlow.js backend selection: tfjs-node-gpu -> tfjs-node -> wasm -> cpu. The native
// backends are optional dependencies (their install downloads libtensorflow and fails offline),
// so each is tried and the first that loads wins. The backend in use is reported.
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";

export type TfjsBackendName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";
let chosen: Promise<TfjsBackendName> | undefined;

const load = createRequire(__filename);

export function initTfjs(prefer?: TfjsBackendName): Promise<TfjsBackendName> {
  chosen ??= (async () => {
    const order: TfjsBackendName[] = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];
    const candidates = prefer ? [prefer, ...order.filter((b) => b !== prefer)] : order;
    for (const name of candidates) {
      try {
        if (name === "tensorflow-gpu") load("@tensorflow/tfjs-node-gpu");
        else if (name === "tensorflow") load("@tensorflow/tfjs-node");
        else if (name === "wasm") {
          // The bundled engine carries the .wasm binaries beside it (dist/); from sources they are in node_modules.
          if (fs.existsSync(path.join(__dirname, "tfjs-backend-wasm.wasm"))) setWasmPaths(__dirname + path.sep);
        }
        if (await tf.setBackend(name === "tensorflow-gpu" ? "tensorflow" : name)) {
          await tf.ready();
          return name;
        }
      } catch {
        // not installed or failed to initialise: try the next one
      }
    }
    throw new Error("no TensorFlow.js backend could be initialised");
  })();
  return chosen;
}

/**
 * Runs `fn` with console.warn silenced: building a layer runs its initialisers (tfjs warns that an
 * orthogonal one is slow) even when the weights are then loaded, and the warning would reach the
 * CLI's output.
 */
export async function quietly<T>(fn: () => T | Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}
