// Recurrent models as TensorFlow.js LayersModels (RecurrentModel): a model.json (LSTM, GRU or
// SimpleRNN layers, Bidirectional or not), or a folder with model.json or tfjs/model.json and either
// no config.json or a SeqLens one (model_type "seqlens-rnn"). A sample folder with an ONNX copy too
// opens as recurrent-onnx; its TensorFlow.js copy is asked for with runtime "tfjs".
import { RecurrentModel } from "../models/recurrent";
import type { ModelCandidate, ModelFamily } from "./family";

export const recurrentTfjs: ModelFamily = {
  name: "recurrent-tfjs",
  describe: 'a TensorFlow.js LayersModel (model.json) with LSTM, GRU or SimpleRNN layers, or a folder with tfjs/model.json (and config.json with model_type "seqlens-rnn", or none)',
  match(c: ModelCandidate): boolean {
    if (c.isFile) return c.path.endsWith(".json");
    if (!c.has("model.json") && !c.has("tfjs/model.json")) return false;
    return c.config === undefined || c.modelType === "seqlens-rnn";
  },
  open: (c) => RecurrentModel.open(c.path, "tfjs", recurrentTfjs.name),
};
