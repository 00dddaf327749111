// Vanishing gradients, made visible: for one output step t, the norm of the gradient of that output
// with respect to each earlier input step s ≤ t, ‖∂y_t / ∂x_s‖, computed by TensorFlow.js through
// the model's own layers. For a character model x_s is the embedding of the character at s and y_t
// the log-probability of the character that follows t in the text (or of the model's top guess at
// the last step); for a series model x_s is the input at s and y_t the output at t.
import * as tf from "@tensorflow/tfjs";
import { EngineError } from "../../protocol/errors";

export interface GradientNorms {
  outputStep: number;
  /** norms[s] for s = 0..T-1 (zero after the output step: the model is causal). */
  norms: number[];
  /** What y_t is. */
  target: string;
}

/** The layers after the input (and after the Embedding, whose output is differentiated instead). */
function chain(model: tf.LayersModel): { embedding?: tf.layers.Layer; rest: tf.layers.Layer[] } {
  const layers = model.layers.filter((l) => l.getClassName() !== "InputLayer");
  for (let i = 1; i < layers.length; i++) {
    const inbound = (layers[i] as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes;
    if (inbound.length !== 1 || inbound[0].inboundLayers.length !== 1 || inbound[0].inboundLayers[0] !== layers[i - 1]) {
      throw new EngineError("MODEL_INVALID", `gradient norms need a plain chain of layers; ${layers[i].name} does not take ${layers[i - 1].name}'s output`);
    }
  }
  return layers[0]?.getClassName() === "Embedding" ? { embedding: layers[0], rest: layers.slice(1) } : { rest: layers };
}

/**
 * @param input ids [1, T] (int32) for a model that starts with an Embedding, else values [1, T, F]
 * @param nextIds for a character model: the id that follows each step in the text (-1 where none)
 */
export function gradientNorms(model: tf.LayersModel, input: tf.Tensor, outputStep: number, nextIds?: number[]): GradientNorms {
  const { embedding, rest } = chain(model);
  const T = input.shape[1]!;
  if (!Number.isInteger(outputStep) || outputStep < 0 || outputStep >= T) throw new EngineError("BAD_INPUT", `output step must be in 0..${T - 1} (got ${outputStep})`);
  let target = "";
  const result = tf.tidy(() => {
    const x = embedding ? (embedding.apply(input) as tf.Tensor) : input.toFloat();
    const f = (xs: tf.Tensor): tf.Scalar => {
      let h = xs;
      for (const l of rest) h = l.apply(h) as tf.Tensor;
      if (h.shape.length !== 3) throw new EngineError("MODEL_INVALID", "gradient norms need an output at every step (the last recurrent layer returns sequences)");
      const out = h.slice([0, outputStep, 0], [1, 1, h.shape[2]!]).reshape([h.shape[2]!]);
      if (!embedding) {
        target = "the output at that step";
        return out.sum() as tf.Scalar;
      }
      const logp = tf.logSoftmax(out);
      const next = nextIds?.[outputStep] ?? -1;
      const id = next >= 0 ? next : (logp.argMax().dataSync()[0] as number);
      target = next >= 0 ? "log p of the next character in the text" : "log p of the model's most likely next character";
      return logp.slice([id], [1]).sum() as tf.Scalar; // (a gather's gradient needs a kernel the wasm backend lacks)
    };
    const g = tf.grad(f)(x); // [1, T, D]
    return g.norm("euclidean", 2).reshape([T]);
  });
  const norms = Array.from(result.dataSync());
  result.dispose();
  return { outputStep, norms, target };
}
