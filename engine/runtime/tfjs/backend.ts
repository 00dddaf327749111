// TensorFlow.js backend selection: tfjs-node-gpu -> tfjs-node -> wasm -> cpu. The native
// backends are optional dependencies (their install downloads libtensorflow and fails offline),
// so each is tried and the first that loads wins. The backend in use is reported.
import * as tf from "@tensorflow/tfjs";
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
        else if (name === "wasm") load("@tensorflow/tfjs-backend-wasm");
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
