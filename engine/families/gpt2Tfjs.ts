// The TensorFlow.js twin of a GPT-2 ONNX folder (TfjsDecoder): the same weights, read from the ONNX
// file by their Hugging Face names and run by the project's TensorFlow.js GPT-2, named
// "tfjs:<folder>". Compared against the ONNX copy it is a parity check of two runtimes.
import { TfjsDecoder } from "../models/tfjsDecoder";
import type { ModelFamily } from "./family";

export const gpt2Tfjs: ModelFamily = {
  name: "gpt2-tfjs",
  prefix: "tfjs",
  describe: '"tfjs:<folder>" for a gpt2-onnx folder, its weights run on TensorFlow.js (a parity twin)',
  // The registry offers this family only specs that start with "tfjs:".
  match: () => true,
  open: (c) => TfjsDecoder.load(c.path, gpt2Tfjs.name),
};
