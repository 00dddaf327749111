// The same decoder on TensorFlow.js: a GPT-2 model folder's weights, read from its ONNX file by
// their Hugging Face names, run by the project's TensorFlow.js GPT-2 (engine/runtime/tfjs/gpt2.ts).
// Compared against the ONNX copy it is a parity check of two runtimes on one set of weights.
// Named "tfjs:<folder>" wherever a model path is taken.
import * as tf from "@tensorflow/tfjs";
import { checkVocabularyIds, configShape, DecoderConfig, openModelFolder } from "../formats/modelFolder";
import { readInitializers } from "../formats/onnxWeights";
import * as fs from "node:fs";
import { EngineError } from "../../protocol/errors";
import type { Capability, ModelInfo } from "../../protocol/models";
import type { LoadedModel } from "../families/family";
import { initTfjs } from "../runtime/tfjs/backend";
import { Gpt2Config, gpt2Forward, Gpt2Weights, hfNamesToWeights } from "../runtime/tfjs/gpt2";
import { TextTokenizer } from "../tokenize/tokenizer";
import type { Decoder } from "./decoder";

export class TfjsDecoder implements Decoder, LoadedModel {
  readonly device = "cpu" as const;
  /** Attention comes from the TensorFlow.js forward itself. */
  readonly probe = { attentionOutputs: ["tfjs"], attentionNote: undefined as string | undefined };
  /** Tokens, attention and next-token logits: one forward pass, no KV cache, no lens copy. */
  readonly capabilities: readonly Capability[] = ["tokens", "selfAttention", "nextToken"];

  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly config: DecoderConfig,
    readonly tokenizer: TextTokenizer,
    private readonly cfg: Gpt2Config,
    private readonly weights: Gpt2Weights,
    readonly backend: string,
    private readonly parameters: number,
    private readonly onnxFile: string,
    readonly family: string,
  ) {}

  /** The twin of the GPT-2 folder `p`; `family` names the family that asked (families/gpt2Tfjs.ts). */
  static async load(p: string, family = "gpt2-tfjs"): Promise<TfjsDecoder> {
    const folder = openModelFolder(p);
    const c = folder.config;
    if (c.model_type !== "gpt2") throw new EngineError("MODEL_INVALID", `${folder.dir}: the TensorFlow.js twin runs GPT-2 models (config.json says model_type ${JSON.stringify(c.model_type)})`);
    const tokenizer = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.dir, c.eos_token_id);
    const backend = await initTfjs();
    const init = readInitializers(folder.onnxFile);
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

  info(): ModelInfo {
    return {
      path: this.dir,
      name: this.name,
      family: this.family,
      capabilities: [...this.capabilities],
      ...configShape(this.config),
      parameters: this.parameters,
      runtime: `TensorFlow.js ${tf.version.tfjs} (${this.backend})`,
      device: this.device,
      executionProviders: ["cpu"],
      threads: 1,
      hasKvCache: false,
      attention: { found: true, layers: this.config.n_layer },
      embeddings: { input: true, output: "tied" },
      fileBytes: fs.statSync(this.onnxFile).size,
    };
  }

  dispose(): void {
    const w = this.weights;
    tf.dispose([w.wte, w.wpe, w.lnfg, w.lnfb, ...w.layers.flatMap((l) => Object.values(l))]);
  }

  checkIds(ids: number[]): void {
    checkVocabularyIds(this.config, ids);
  }

  async forward(ids: number[], opts: { attention?: boolean } = {}): Promise<{ logits: Float32Array; attention?: Float32Array[] }> {
    this.checkIds(ids);
    if (ids.length > this.config.n_positions) throw new EngineError("BAD_INPUT", `${ids.length} tokens exceed the model's context of ${this.config.n_positions}`);
    const out = tf.tidy(() => {
      const o = gpt2Forward(this.cfg, this.weights, tf.tensor2d(ids, [1, ids.length], "int32"), { attention: opts.attention });
      return { logits: o.logits, attention: o.attention ?? [] };
    }) as { logits: tf.Tensor; attention: tf.Tensor[] };
    try {
      const logits = (await out.logits.data()) as Float32Array;
      const attention = opts.attention ? await Promise.all(out.attention.map(async (a) => (await a.data()) as Float32Array)) : undefined;
      return { logits, attention };
    } finally {
      out.logits.dispose();
      for (const a of out.attention) a.dispose();
    }
  }
}
