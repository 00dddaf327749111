// What the gradient attribution (probes/attributionGradients.ts) needs of a TensorFlow.js decoder:
// its token embedding table, the blocks and final norm run on token embeddings given as a tensor (so
// that a gradient can be taken with respect to them), the output projection, and the memory one
// sequence holds through a forward and backward pass. The GPT-2 twin (models/tfjsDecoder.ts) and the
// Llama-shaped twin (models/tfjsLlamaDecoder.ts) each provide it, through models/tfjsTwin.ts.
import type * as tf from "@tensorflow/tfjs";

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
