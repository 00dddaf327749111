// The TensorFlow.js copy of a Llama-shaped decoder (TfjsLlamaDecoder): the weights of a llama-onnx
// folder's graph, or of a checkpoint folder's safetensors, run by the project's TensorFlow.js
// Llama (runtime/tfjs/llama.ts), named "tfjs:<folder>". The gradient attribution differentiates
// it; compared against the ONNX model it is a parity check of two runtimes.
import { LLAMA_MODEL_TYPES } from "../formats/llamaExport";
import { INDEX_FILE, SINGLE_FILE } from "../formats/safetensors";
import { TfjsLlamaDecoder } from "../models/tfjsLlamaDecoder";
import type { ModelCandidate, ModelFamily } from "./family";

export const llamaTfjs: ModelFamily = {
  name: "llama-tfjs",
  prefix: "tfjs",
  describe: `"tfjs:<folder>" for a llama-onnx or checkpoint folder of model_type ${LLAMA_MODEL_TYPES.join(", ")}, its weights run on TensorFlow.js (the differentiable copy)`,
  match(c: ModelCandidate): boolean {
    if (c.modelType === undefined || !(LLAMA_MODEL_TYPES as readonly string[]).includes(c.modelType)) return false;
    if (c.isFile) return c.path.endsWith(".onnx");
    return c.has("onnx/model.onnx") || c.has(SINGLE_FILE) || c.has(INDEX_FILE);
  },
  open: (c) => TfjsLlamaDecoder.load(c.path, llamaTfjs.name),
};
