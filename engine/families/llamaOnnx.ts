// Llama-shaped decoders (Llama, Mistral, Qwen2/3, Phi-3 ...) in the Hugging Face / optimum layout,
// run by onnxruntime-node (DecoderModel): config.json with Hugging Face's keys (num_hidden_layers,
// num_attention_heads, num_key_value_heads, hidden_size ...), onnx/model.onnx (or the path of that
// .onnx) and, when text is to be read, tokenizer.json. RMSNorm, rotary positions, SwiGLU and
// grouped-query attention live in the graph; the engine reads attention per query head from the
// graph's Softmax outputs and sizes the KV cache by the key/value heads.
import { DecoderModel } from "../models/decoder";
import type { ModelCandidate, ModelFamily } from "./family";

/** config.json model_types of decoders with Llama's shape (pre-RMSNorm, rotary, gated MLP, optional GQA). */
export const LLAMA_TYPES = new Set(["llama", "mistral", "mixtral", "qwen2", "qwen3", "phi3", "granite", "olmo", "olmo2", "smollm3", "internlm2", "yi", "deepseek", "cohere", "starcoder2"]);

export const llamaOnnx: ModelFamily = {
  name: "llama-onnx",
  describe: `a folder with config.json (model_type ${[...LLAMA_TYPES].slice(0, 5).map((t) => `"${t}"`).join(", ")} …), onnx/model.onnx and tokenizer.json (without it, token ids only)`,
  match(c: ModelCandidate): boolean {
    if (c.isFile && !c.path.endsWith(".onnx")) return false;
    if (c.modelType === undefined || !LLAMA_TYPES.has(c.modelType)) return false;
    return c.isFile || c.has("onnx/model.onnx");
  },
  open: (c, opts) => DecoderModel.load(c.path, opts.providers, llamaOnnx.name),
};
