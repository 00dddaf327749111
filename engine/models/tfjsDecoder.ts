// The same decoder on TensorFlow.js: a GPT-2 model folder's weights, read from its ONNX file by
// their Hugging Face names, run by the project's TensorFlow.js GPT-2 (engine/runtime/tfjs/gpt2.ts).
// Compared against the ONNX copy it is a parity check of two runtimes on one set of weights.
// Named "tfjs:<folder>" wherever a model path is taken.
import * as tf from "@tensorflow/tfjs";
import { DecoderConfig, openModelFolder } from "../formats/modelFolder";
import { readInitializers } from "../formats/onnxWeights";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";
import { initTfjs } from "../runtime/tfjs/backend";
import { Gpt2Config, gpt2Blocks, gpt2Forward, Gpt2Weights, hfNamesToWeights, matmul } from "../runtime/tfjs/gpt2";
import { TextTokenizer } from "../tokenize/tokenizer";
import { TfjsTwin } from "./tfjsTwin";

/**
 * The graph decides, the config informs (as onnxProbe's check for the ONNX runtime): the layers,
 * vocabulary, width and context config.json gives must agree with the GPT-2 weights, checked before
 * any TensorFlow.js tensor is made from them.
 */
function checkAgainstWeights(configFile: string, onnxFile: string, c: DecoderConfig, init: Map<string, { shape: number[] }>): void {
  const key = (k: keyof NonNullable<DecoderConfig["source_keys"]>) => c.source_keys?.[k] ?? k;
  const disagree = (k: keyof NonNullable<DecoderConfig["source_keys"]>, said: number, found: string) =>
    new EngineError("MODEL_INVALID", `${configFile} says ${key(k)} = ${said}, but ${found} in ${onnxFile}: the graph decides, so config.json does not describe this model`);
  const layers = new Set([...init.keys()].map((n) => /^transformer\.h\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined));
  if (layers.size > 0 && layers.size !== c.n_layer) throw disagree("n_layer", c.n_layer, `the weights have ${layers.size} layers (transformer.h.N)`);
  const wte = init.get("transformer.wte.weight")?.shape;
  if (wte?.length === 2 && wte[0] !== c.vocab_size) throw disagree("vocab_size", c.vocab_size, `the token embedding has ${wte[0]} rows`);
  if (wte?.length === 2 && wte[1] !== c.n_embd) throw disagree("n_embd", c.n_embd, `the token embedding is ${wte[1]} wide`);
  const wpe = init.get("transformer.wpe.weight")?.shape;
  if (wpe?.length === 2 && wpe[0] < c.n_positions) throw disagree("n_positions", c.n_positions, `the position table has ${wpe[0]} rows`);
}

export class TfjsDecoder extends TfjsTwin<Gpt2Config, Gpt2Weights> {
  readonly norm = "layernorm" as const;

  /** The twin of the GPT-2 folder `p`; `family` names the family that asked (families/gpt2Tfjs.ts). */
  static async load(p: string, family = "gpt2-tfjs"): Promise<TfjsDecoder> {
    const folder = openModelFolder(p);
    const c = folder.config;
    if (c.model_type !== "gpt2") throw new EngineError("MODEL_INVALID", `${folder.dir}: the TensorFlow.js twin runs GPT-2 models (config.json says model_type ${JSON.stringify(c.model_type)})`);
    const tokenizer = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.dir, c.eos_token_id);
    const backend = await initTfjs();
    const init = readInitializers(folder.onnxFile);
    checkAgainstWeights(path.join(folder.dir, "config.json"), folder.onnxFile, c, init);
    const cfg: Gpt2Config = { vocabSize: c.vocab_size, nPositions: c.n_positions, nEmbd: c.n_embd, nLayer: c.n_layer, nHead: c.n_head, layerNormEpsilon: c.layer_norm_epsilon ?? 1e-5 };
    let parameters = 0;
    const weights = hfNamesToWeights(cfg, (name) => {
      const t = init.get(name);
      if (!t) throw new EngineError("MODEL_INVALID", `${folder.onnxFile}: no initializer named ${name}: the TensorFlow.js twin reads weights by their Hugging Face GPT-2 names`);
      parameters += t.data.length;
      return t;
    });
    return new TfjsDecoder(folder.dir, `${folder.name} (tfjs)`, c, tokenizer, cfg, weights, backend, parameters, folder.onnxFile, family);
  }

  // ---- DifferentiableDecoder: what the gradient attribution needs ----

  get tokenEmbeddings(): tf.Tensor2D {
    return this.weights.wte;
  }
  protected get head(): "tied" {
    return "tied";
  }
  protected run(ids: tf.Tensor2D, attention: boolean) {
    return gpt2Forward(this.cfg, this.weights, ids, { attention });
  }
  blocks(tok: tf.Tensor3D): tf.Tensor2D {
    return gpt2Blocks(this.cfg, this.weights, tok).final;
  }
  unembed(final: tf.Tensor2D): tf.Tensor2D {
    return matmul(final, this.weights.wte.transpose()) as tf.Tensor2D;
  }
  /**
   * Every intermediate of each layer is kept for the backward pass and the gradients made from
   * them are held until the pass ends. Per layer about 220 floats per token and embedding dimension
   * (the MLP's 4d-wide intermediates, the projections, the norms, their gradients) and 12 per
   * attention score [H, T, T]; measured with tf.profile on the bundled tiny-gpt (peak 17 MB per
   * sequence at 40 tokens, 140 MB at 256), this is 10-20% above the peak.
   */
  gradientBytesPerSequence(T: number): number {
    const c = this.cfg;
    const perLayer = 220 * T * c.nEmbd + 12 * c.nHead * T * T;
    return 4 * (c.nLayer * perLayer + 4 * T * c.nEmbd + 4 * c.vocabSize);
  }

  dispose(): void {
    const w = this.weights;
    tf.dispose([w.wte, w.wpe, w.lnfg, w.lnfb, ...w.layers.flatMap((l) => Object.values(l))]);
  }
}
