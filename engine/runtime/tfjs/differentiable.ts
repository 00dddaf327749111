// What the gradient attribution (probes/attributionGradients.ts) needs of a TensorFlow.js decoder:
// its token embedding table, the blocks and final norm run on token embeddings given as a tensor (so
// that a gradient can be taken with respect to them), the output projection, and the memory one
// sequence holds through a forward and backward pass. The GPT-2 twin (models/tfjsDecoder.ts) and the
// Llama-shaped twin (models/tfjsLlamaDecoder.ts) each provide it.
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import type { ModelInfo } from "../../../protocol/models";
import { configShape } from "../../formats/modelFolder";

export interface DifferentiableDecoder {
  /** The token embedding table [vocab, d]: the input the gradient is taken with respect to is rows of it. */
  readonly tokenEmbeddings: tf.Tensor2D;
  readonly width: number;
  readonly vocabSize: number;
  readonly nLayer: number;
  /**
   * The blocks' norm. RMSNorm(αx) jumps from 0 to x/rms(x) within α ≈ √eps / rms(x), so the zero
   * embedding is a poor start for integrated gradients there: its default start is a token instead.
   */
  readonly norm: "layernorm" | "rmsnorm";
  /**
   * The blocks and the final norm on token embeddings [B, T, d] (positions, learned or rotary, are
   * added inside and held fixed): the normed final residual stream [B*T, d]. Call inside tf.tidy.
   */
  blocks(tok: tf.Tensor3D): tf.Tensor2D;
  /** The output projection of normed rows [N, d]: logits [N, vocab]. Call inside tf.tidy. */
  unembed(final: tf.Tensor2D): tf.Tensor2D;
  /** Bytes one sequence of T tokens holds through a forward and backward pass (for the memory budget). */
  gradientBytesPerSequence(T: number): number;
}

export function isDifferentiable(m: object): m is DifferentiableDecoder {
  const d = m as Partial<DifferentiableDecoder>;
  return typeof d.blocks === "function" && typeof d.unembed === "function" && typeof d.gradientBytesPerSequence === "function" && d.tokenEmbeddings !== undefined;
}

/**
 * One forward pass of a TensorFlow.js decoder on a sequence, read out: `run` builds the logits (and
 * each layer's attention when asked) inside tf.tidy; their values are read and the tensors freed.
 */
export async function readForward(run: () => { logits: tf.Tensor; attention?: tf.Tensor[] }, attention: boolean): Promise<{ logits: Float32Array; attention?: Float32Array[] }> {
  const out = tf.tidy(() => {
    const o = run();
    return { logits: o.logits, attention: o.attention ?? [] };
  }) as { logits: tf.Tensor; attention: tf.Tensor[] };
  try {
    const logits = (await out.logits.data()) as Float32Array;
    const maps = attention ? await Promise.all(out.attention.map(async (a) => (await a.data()) as Float32Array)) : undefined;
    return { logits, attention: maps };
  } finally {
    out.logits.dispose();
    for (const a of out.attention) a.dispose();
  }
}

/** What a TensorFlow.js twin says of itself (ModelInfo): the same for every twin but its head and weights file. */
export function tfjsTwinInfo(m: { dir: string; name: string; family: string; capabilities: readonly string[]; config: Parameters<typeof configShape>[0]; backend: string }, o: { parameters: number; output: "own" | "tied"; weightsFile: string }): ModelInfo {
  return {
    path: m.dir,
    name: m.name,
    family: m.family,
    capabilities: [...m.capabilities] as ModelInfo["capabilities"],
    ...configShape(m.config),
    parameters: o.parameters,
    runtime: `TensorFlow.js ${tf.version.tfjs} (${m.backend})`,
    device: "cpu",
    executionProviders: ["cpu"],
    threads: 1,
    hasKvCache: false,
    attention: { found: true, layers: m.config.n_layer },
    embeddings: { input: true, output: o.output },
    fileBytes: fs.statSync(o.weightsFile).size,
  };
}
