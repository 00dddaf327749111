// One direction of one recurrent layer in a single canonical form, whatever format it came from
// (Keras / TensorFlow.js layers, the ONNX LSTM / GRU / RNN operators): the weights the runtime
// itself uses, rearranged, never re-trained or approximated.
//
//   LSTM  gates in the order i (input), f (forget), c (candidate C̃), o (output):
//           i = f(x·W_i + h·R_i + b_i [+ p_i ⊙ c_prev])     f = f(x·W_f + h·R_f + b_f [+ p_f ⊙ c_prev])
//           C̃ = g(x·W_c + h·R_c + b_c)                      c = f ⊙ c_prev + i ⊙ C̃
//           o = f(x·W_o + h·R_o + b_o [+ p_o ⊙ c])          h = o ⊙ h(c)
//   GRU   gates z (update), r (reset), h̃ (candidate):
//           z = f(x·W_z + h·R_z + b_z)                      r = f(x·W_r + h·R_r + b_r)
//           h̃ = g(x·W_h + bW_h + (r ⊙ h_prev)·R_h + bR_h)   (linear_before_reset = 0; Keras)
//           h̃ = g(x·W_h + bW_h + r ⊙ (h_prev·R_h + bR_h))   (linear_before_reset = 1; PyTorch)
//           h = (1 - z) ⊙ h̃ + z ⊙ h_prev
//   SimpleRNN / RNN:  h = f(x·W + h_prev·R + b)
// f, g, h are the layer's own activations (tfjs's LSTM defaults to hardSigmoid for f, for example).
import { EngineError } from "../../protocol/errors";

export type Cell = "lstm" | "gru" | "simple_rnn";
export type Direction = "forward" | "reverse";

/** Gate names in canonical order, per cell. */
export const GATES: Record<Cell, readonly string[]> = {
  lstm: ["input", "forget", "candidate", "output"],
  gru: ["update", "reset", "candidate"],
  simple_rnn: ["hidden"],
};

export type Activation = ((x: number) => number) & { kind?: { name: string; alpha: number; beta: number } };

export interface RecurrentDirection {
  cell: Cell;
  direction: Direction;
  inputSize: number; // I
  units: number; // H
  /** [I, G*H] row-major, gate-major columns in canonical order: pre = x·W. */
  W: Float32Array;
  /** [H, G*H] row-major: pre += h_prev·R. */
  R: Float32Array;
  /** [G*H] biases on the input and the recurrent side (Keras has one: bR is zero). */
  bW: Float32Array;
  bR: Float32Array;
  /** LSTM peepholes (ONNX P), each [H]. */
  peephole?: { i: Float32Array; o: Float32Array; f: Float32Array };
  /** Gate activation f, candidate activation g, output activation h (LSTM); GRU uses f, g; RNN uses f. */
  f: Activation;
  g: Activation;
  h: Activation;
  activationNames: string[];
  /** ONNX `clip`: pre-activations are clipped to [-clip, clip]. */
  clip?: number;
  /** ONNX `input_forget`: f = 1 - i. */
  inputForget?: boolean;
  /** GRU: ONNX `linear_before_reset` (PyTorch's form); Keras is false. */
  linearBeforeReset?: boolean;
  /** Initial state, [H] each; zeros when absent. */
  initialH?: Float32Array;
  initialC?: Float32Array;
}

export function gateCount(cell: Cell): number {
  return GATES[cell].length;
}

const sigmoid: Activation = (x) => 1 / (1 + Math.exp(-x));

/**
 * An activation by name, as ONNX's recurrent operators and Keras spell them, with ONNX's
 * activation_alpha / activation_beta where the function takes them.
 */
export function activation(name: string, alpha?: number, beta?: number): Activation {
  const fn = activationFn(name, alpha, beta);
  // Tagged, so loops over whole arrays can run the common ones inline.
  const tagged: Activation = (x: number) => fn(x);
  tagged.kind = { name: name.toLowerCase().replace(/_/g, ""), alpha: alpha ?? (name.toLowerCase() === "hardsigmoid" ? 0.2 : 1), beta: beta ?? (name.toLowerCase() === "hardsigmoid" ? 0.5 : 0) };
  return tagged;
}

function activationFn(name: string, alpha?: number, beta?: number): (x: number) => number {
  switch (name.toLowerCase().replace(/_/g, "")) {
    case "sigmoid":
      return sigmoid;
    case "tanh":
      return Math.tanh;
    case "relu":
      return (x) => (x > 0 ? x : 0);
    case "linear":
      return (x) => x;
    case "hardsigmoid": {
      const a = alpha ?? 0.2;
      const b = beta ?? 0.5;
      return (x) => Math.max(0, Math.min(1, a * x + b));
    }
    case "affine": {
      const a = alpha ?? 1;
      const b = beta ?? 0;
      return (x) => a * x + b;
    }
    case "leakyrelu": {
      const a = alpha ?? 0.01;
      return (x) => (x >= 0 ? x : a * x);
    }
    case "thresholdedrelu": {
      const a = alpha ?? 1;
      return (x) => (x > a ? x : 0);
    }
    case "scaledtanh": {
      const a = alpha ?? 1;
      const b = beta ?? 1;
      return (x) => a * Math.tanh(b * x);
    }
    case "elu": {
      const a = alpha ?? 1;
      return (x) => (x >= 0 ? x : a * (Math.exp(x) - 1));
    }
    case "softsign":
      return (x) => x / (1 + Math.abs(x));
    case "softplus":
      return (x) => Math.log1p(Math.exp(x));
    case "selu": {
      const a = 1.6732632423543772;
      const s = 1.0507009873554805;
      return (x) => s * (x >= 0 ? x : a * (Math.exp(x) - 1));
    }
    case "swish":
    case "silu":
      return (x) => x / (1 + Math.exp(-x));
    default:
      throw new EngineError("MODEL_INVALID", `recurrent activation "${name}" is not supported (supported: sigmoid, tanh, relu, linear, hardSigmoid, affine, leakyRelu, thresholdedRelu, scaledTanh, elu, softsign, softplus, selu, swish)`);
  }
}
