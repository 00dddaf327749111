// A Llama-shaped decoder (Llama, Mistral, Qwen2/3, Phi-3) on TensorFlow.js: the weights of a model
// folder's ONNX graph (formats/llamaWeights.ts finds them by node path and by name), or of a
// training checkpoint's safetensors when the folder has no graph, run by runtime/tfjs/llama.ts.
// It is the differentiable copy the gradient attribution uses for the llama-onnx and checkpoint
// families; compared against the ONNX model it is a parity check of two runtimes on one set of
// weights. Named "tfjs:<folder>" wherever a model path is taken (families/llamaTfjs.ts).
import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";
import { LLAMA_MODEL_TYPES, llamaConfigFrom, ropeInvFreq } from "../formats/llamaExport";
import { checkpointLlamaWeights, onnxLlamaWeights } from "../formats/llamaWeights";
import { openModelFolder } from "../formats/modelFolder";
import { INDEX_FILE, openCheckpointWeights, SINGLE_FILE } from "../formats/safetensors";
import { initTfjs } from "../runtime/tfjs/backend";
import { type LlamaConfig, llamaBlocks, llamaForward, llamaGradientBytes, llamaLogits, llamaTensors, type LlamaWeights, llamaWeightsFrom } from "../runtime/tfjs/llama";
import { TextTokenizer } from "../tokenize/tokenizer";
import { TfjsTwin } from "./tfjsTwin";

export class TfjsLlamaDecoder extends TfjsTwin<LlamaConfig, LlamaWeights> {
  readonly norm = "rmsnorm" as const;

  /**
   * The copy of the Llama-shaped model at `p`: a folder with onnx/model.onnx (or the .onnx file
   * itself) reads the graph's weights; a checkpoint folder (config.json and model.safetensors or
   * its index, no graph) reads the checkpoint's. UNSUPPORTED for a model_type or a config.json
   * setting the copy does not run, MODEL_INVALID naming a weight it cannot find.
   */
  static async load(p: string, family = "llama-tfjs"): Promise<TfjsLlamaDecoder> {
    const abs = path.resolve(p);
    const dir = fs.existsSync(abs) && fs.statSync(abs).isDirectory() ? abs : undefined;
    const checkpoint = dir !== undefined && !fs.existsSync(path.join(dir, "onnx", "model.onnx")) && [SINGLE_FILE, INDEX_FILE].some((f) => fs.existsSync(path.join(dir, f)));
    // a checkpoint has no graph: its weights file stands in for it in the folder's checks
    const weightsFile = checkpoint ? path.join(dir, fs.existsSync(path.join(dir, SINGLE_FILE)) ? SINGLE_FILE : INDEX_FILE) : undefined;
    const folder = openModelFolder(p, checkpoint ? { onnxFile: weightsFile, tokenizerInParent: true } : {});
    const configFile = path.join(folder.dir, "config.json");
    const raw = JSON.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>;
    if (!(LLAMA_MODEL_TYPES as readonly string[]).includes(folder.config.model_type)) {
      throw new EngineError("UNSUPPORTED", `${configFile}: model_type ${JSON.stringify(folder.config.model_type)}: the TensorFlow.js copy runs the Llama-shaped model types ${LLAMA_MODEL_TYPES.join(", ")}`);
    }
    const c = llamaConfigFrom(raw, configFile);
    const rotaryDim = Math.floor(c.head_dim! * (c.partial_rotary_factor ?? 1));
    const cfg: LlamaConfig = {
      vocabSize: c.vocab_size,
      nEmbd: c.hidden_size,
      nInner: c.intermediate_size,
      nLayer: c.num_hidden_layers,
      nHead: c.num_attention_heads,
      nKvHead: c.num_key_value_heads ?? c.num_attention_heads,
      headDim: c.head_dim!,
      rmsNormEps: c.rms_norm_eps,
      invFreq: ropeInvFreq(c, rotaryDim),
      rotaryDim,
      ...(c.sliding_windows ? { slidingWindows: c.sliding_windows } : {}),
    };
    const tokenizer = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.dir, folder.config.eos_token_id);
    const backend = await initTfjs();
    let parameters = 0;
    const optional = { qkvBias: c.qkv_bias, oBias: c.o_bias, mlpBias: c.mlp_bias, qkNorm: c.qk_norm, tied: c.tie_word_embeddings };
    let weights: LlamaWeights;
    if (checkpoint) {
      const source = openCheckpointWeights(dir!);
      try {
        weights = llamaWeightsFrom(cfg, checkpointLlamaWeights(dir!, source), optional, (n) => (parameters += n));
      } finally {
        source.close();
      }
    } else {
      weights = llamaWeightsFrom(cfg, onnxLlamaWeights(folder.onnxFile), optional, (n) => (parameters += n));
    }
    return new TfjsLlamaDecoder(folder.dir, `${folder.name} (tfjs)`, folder.config, tokenizer, cfg, weights, backend, parameters, folder.onnxFile, family);
  }

  // ---- DifferentiableDecoder: what the gradient attribution needs ----

  get tokenEmbeddings(): tf.Tensor2D {
    return this.weights.embed;
  }
  protected get head(): "own" | "tied" {
    return this.weights.lmHead ? "own" : "tied";
  }
  protected run(ids: tf.Tensor2D, attention: boolean) {
    return llamaForward(this.cfg, this.weights, ids, { attention });
  }
  blocks(tok: tf.Tensor3D): tf.Tensor2D {
    return llamaBlocks(this.cfg, this.weights, tok).final;
  }
  unembed(final: tf.Tensor2D): tf.Tensor2D {
    return llamaLogits(this.weights, final);
  }
  gradientBytesPerSequence(T: number): number {
    return llamaGradientBytes(this.cfg, T);
  }

  dispose(): void {
    tf.dispose(llamaTensors(this.weights));
  }
}
