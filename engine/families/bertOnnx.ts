// Encoders with a masked-LM head (BERT, DistilBERT, RoBERTa and their kind) in the Hugging Face /
// optimum layout, run by onnxruntime-node: config.json, onnx/model.onnx whose logits are the
// masked-LM head's [batch, sequence, vocab], and tokenizer.json (its mask token: [MASK], <mask>).
// Attention is bidirectional; instead of a next token the model fills masks.
import { DecoderModel } from "../models/decoder";
import type { ModelCandidate, ModelFamily } from "./family";

/** config.json model_types of encoders with a masked-LM head whose graph SeqLens reads as BERT's. */
export const MASKED_LM_TYPES = new Set(["bert", "distilbert", "roberta", "xlm-roberta", "camembert", "electra", "albert", "modernbert"]);

export const bertOnnx: ModelFamily = {
  name: "bert-onnx",
  describe: `a folder with config.json (model_type ${[...MASKED_LM_TYPES].slice(0, 3).map((t) => `"${t}"`).join(", ")} …), onnx/model.onnx with masked-LM logits and tokenizer.json with its mask token`,
  match(c: ModelCandidate): boolean {
    if (c.isFile && !c.path.endsWith(".onnx")) return false;
    if (c.modelType === undefined || !MASKED_LM_TYPES.has(c.modelType)) return false;
    return c.isFile || c.has("onnx/model.onnx");
  },
  open: (c, opts) => DecoderModel.load(c.path, opts.providers, bertOnnx.name, "masked"),
};
