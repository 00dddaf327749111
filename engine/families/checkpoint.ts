// Training checkpoints without ONNX: a folder with config.json and model.safetensors (or the shards
// model.safetensors.index.json names), as save_pretrained and a Trainer's checkpoint-N/ write them,
// for GPT-2, the Llama-shaped decoders and BERT-style masked LMs. SeqLens builds the ONNX graph
// itself from the weights (formats/checkpointExport.ts, cached by the weights' hash) and runs it as
// that family's ONNX folder would run; the tokenizer is the folder's, or its parent's (a Trainer's
// output folder).
import { CHECKPOINT_MODEL_TYPES, checkpointToOnnx } from "../formats/checkpointExport";
import { openModelFolder } from "../formats/modelFolder";
import { INDEX_FILE, openCheckpointWeights, SINGLE_FILE } from "../formats/safetensors";
import { DecoderModel } from "../models/decoder";
import type { ModelCandidate, ModelFamily } from "./family";

export const checkpoint: ModelFamily = {
  name: "checkpoint",
  describe: `a folder with config.json (model_type ${CHECKPOINT_MODEL_TYPES.slice(0, 4).map((t) => `"${t}"`).join(", ")} …) and model.safetensors or model.safetensors.index.json, without onnx/model.onnx (the graph is built from the weights)`,
  match(c: ModelCandidate): boolean {
    if (c.isFile || c.has("onnx/model.onnx") || c.modelType === undefined) return false;
    if (!(CHECKPOINT_MODEL_TYPES as readonly string[]).includes(c.modelType)) return false;
    return c.has(SINGLE_FILE) || c.has(INDEX_FILE);
  },
  async open(c, opts) {
    const weights = openCheckpointWeights(c.dir);
    let built;
    try {
      built = checkpointToOnnx(c.dir, weights);
    } finally {
      weights.close();
    }
    // without a tokenizer.json here or in the parent folder, the model reads token ids only
    const folder = openModelFolder(c.dir, { onnxFile: built.onnxFile, tokenizerInParent: true });
    return DecoderModel.open(folder, opts.providers, checkpoint.name, built.architecture === "bert" ? "masked" : "causal", { form: "checkpoint" });
  },
};
