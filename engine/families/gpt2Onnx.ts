// GPT-2-shaped decoders in the Hugging Face / optimum layout, run by onnxruntime-node (DecoderModel):
// config.json with GPT-2's keys, tokenizer.json, tokenizer_config.json and onnx/model.onnx (or the
// path of that .onnx). A config.json with another model_type but GPT-2's keys opens here too.
import { DecoderModel } from "../models/decoder";
import type { ModelCandidate, ModelFamily } from "./family";

/** config.json's keys for the shape of a GPT-2 decoder. */
const GPT2_KEYS = ["n_layer", "n_head", "n_embd"];

export const gpt2Onnx: ModelFamily = {
  name: "gpt2-onnx",
  describe: 'a folder with config.json (model_type "gpt2", or GPT-2\'s n_layer, n_head and n_embd), tokenizer.json, tokenizer_config.json and onnx/model.onnx',
  match(c: ModelCandidate): boolean {
    if (c.isFile && !c.path.endsWith(".onnx")) return false;
    if (!c.config || c.modelType === "seqlens-rnn") return false;
    return c.modelType === "gpt2" || GPT2_KEYS.every((k) => k in c.config!);
  },
  open: (c, opts) => DecoderModel.load(c.path, opts.providers, gpt2Onnx.name),
};
