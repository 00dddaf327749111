// What every TensorFlow.js twin of a decoder is (the GPT-2 one, models/tfjsDecoder.ts; the
// Llama-shaped one, models/tfjsLlamaDecoder.ts): a model folder's weights run on TensorFlow.js, with
// tokens, attention and next-token logits from one forward pass, and the parts the gradient
// attribution differentiates (runtime/tfjs/differentiable.ts). A twin says only how its own
// architecture runs: its forward, blocks, head, memory estimate and weights.
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { EngineError } from "../../protocol/errors";
import type { Capability, ModelInfo } from "../../protocol/models";
import type { LoadedModel } from "../families/family";
import { checkVocabularyIds, configShape, type DecoderConfig } from "../formats/modelFolder";
import type { DifferentiableDecoder } from "../runtime/tfjs/differentiable";
import type { TextTokenizer } from "../tokenize/tokenizer";
import type { Decoder } from "./decoder";

/** The architecture numbers every twin's config has. */
export interface TwinShape {
  vocabSize: number;
  nEmbd: number;
  nLayer: number;
}

export abstract class TfjsTwin<Cfg extends TwinShape, Weights> implements Decoder, LoadedModel, DifferentiableDecoder {
  readonly device = "cpu" as const;
  /** Attention comes from the TensorFlow.js forward itself. */
  readonly probe = { attentionOutputs: ["tfjs"], attentionNote: undefined as string | undefined };
  /** Tokens, attention and next-token logits: one forward pass, no KV cache, no lens copy. */
  readonly capabilities: readonly Capability[] = ["tokens", "selfAttention", "nextToken"];
  abstract readonly norm: "layernorm" | "rmsnorm";

  protected constructor(
    readonly dir: string,
    readonly name: string,
    readonly config: DecoderConfig,
    readonly tokenizer: TextTokenizer,
    /** The architecture and weights, read by the gradient attribution (probes/attributionGradients.ts). */
    readonly cfg: Cfg,
    readonly weights: Weights,
    readonly backend: string,
    protected readonly parameters: number,
    /** The file the weights were read from: the ONNX graph, or a checkpoint's safetensors. */
    protected readonly weightsFile: string,
    readonly family: string,
  ) {}

  /** The logits [1·T, vocab] (and each layer's attention when asked) of `ids` [1, T]; called inside tf.tidy. */
  protected abstract run(ids: tf.Tensor2D, attention: boolean): { logits: tf.Tensor; attention?: tf.Tensor[] };
  /** Whether the head is a matrix of its own or the token embedding's transpose. */
  protected abstract get head(): "own" | "tied";
  abstract readonly tokenEmbeddings: tf.Tensor2D;
  abstract blocks(tok: tf.Tensor3D): tf.Tensor2D;
  abstract unembed(final: tf.Tensor2D): tf.Tensor2D;
  abstract gradientBytesPerSequence(T: number): number;
  abstract dispose(): void;

  get width(): number {
    return this.cfg.nEmbd;
  }
  get vocabSize(): number {
    return this.cfg.vocabSize;
  }
  get nLayer(): number {
    return this.cfg.nLayer;
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
      embeddings: { input: true, output: this.head },
      fileBytes: fs.statSync(this.weightsFile).size,
    };
  }

  checkIds(ids: number[]): void {
    checkVocabularyIds(this.config, ids);
  }

  /** One forward pass, read out: its values, the tensors freed. */
  async forward(ids: number[], opts: { attention?: boolean } = {}): Promise<{ logits: Float32Array; attention?: Float32Array[] }> {
    this.checkIds(ids);
    if (ids.length > this.config.n_positions) throw new EngineError("BAD_INPUT", `${ids.length} tokens exceed the model's context of ${this.config.n_positions}`);
    const want = !!opts.attention;
    const out = tf.tidy(() => {
      const o = this.run(tf.tensor2d(ids, [1, ids.length], "int32"), want);
      return { logits: o.logits, attention: o.attention ?? [] };
    }) as { logits: tf.Tensor; attention: tf.Tensor[] };
    try {
      const logits = (await out.logits.data()) as Float32Array;
      const attention = want ? await Promise.all(out.attention.map(async (a) => (await a.data()) as Float32Array)) : undefined;
      return { logits, attention };
    } finally {
      out.logits.dispose();
      for (const a of out.attention) a.dispose();
    }
  }
}
