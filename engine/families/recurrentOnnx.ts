// Recurrent models in ONNX, run by onnxruntime-node (RecurrentModel): an .onnx file whose graph has
// LSTM, GRU or RNN operators, a SeqLens sample folder (config.json with model_type "seqlens-rnn" and
// onnx/model.onnx), or a folder without config.json holding such a graph as onnx/model.onnx.
import { RECURRENT_OPS } from "../formats/onnxRecurrent";
import { RecurrentModel } from "../models/recurrent";
import type { ModelCandidate, ModelFamily } from "./family";

function hasRecurrentOperators(c: ModelCandidate, file: string): boolean {
  for (const op of c.operators(file)) if (op in RECURRENT_OPS) return true;
  return false;
}

export const recurrentOnnx: ModelFamily = {
  name: "recurrent-onnx",
  describe: 'an .onnx file with LSTM, GRU or RNN operators, or a folder with config.json (model_type "seqlens-rnn") and onnx/model.onnx',
  match(c: ModelCandidate): boolean {
    if (c.isFile) return c.path.endsWith(".onnx") && hasRecurrentOperators(c, c.path);
    const file = c.first("onnx/model.onnx", "model.onnx");
    if (!file) return false;
    if (c.modelType === "seqlens-rnn") return true;
    return c.config === undefined && hasRecurrentOperators(c, file);
  },
  open: (c) => RecurrentModel.open(c.path, "onnx", recurrentOnnx.name),
};
