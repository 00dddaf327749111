// Encoder-decoders (Marian, T5, BART, M2M-100 ...) in optimum's seq2seq layout, run by
// onnxruntime-node (Seq2SeqModel): config.json (is_encoder_decoder, or an encoder-decoder's
// model_type), onnx/encoder_model.onnx and onnx/decoder_model.onnx (optionally
// onnx/decoder_with_past_model.onnx for the KV cache) or, in their place, the two merged into
// onnx/decoder_model_merged.onnx (as optimum and transformers.js folders often have it; the separate
// files win when there are both), tokenizer.json.
import { isEncoderDecoderConfig, Seq2SeqModel } from "../models/seq2seq";
import type { ModelCandidate, ModelFamily } from "./family";

export const seq2seqOnnx: ModelFamily = {
  name: "seq2seq-onnx",
  describe: 'a folder with config.json (is_encoder_decoder, or model_type "marian", "t5", "bart" …), onnx/encoder_model.onnx, onnx/decoder_model.onnx (and decoder_with_past_model.onnx for the KV cache) or onnx/decoder_model_merged.onnx, and tokenizer.json',
  match(c: ModelCandidate): boolean {
    if (!isEncoderDecoderConfig(c.config)) return false;
    return c.has("onnx/encoder_model.onnx") && (c.has("onnx/decoder_model.onnx") || c.has("onnx/decoder_model_merged.onnx"));
  },
  open: (c, opts) => Seq2SeqModel.load(c.dir, opts.providers, seq2seqOnnx.name),
};
