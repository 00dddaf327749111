// The recurrent layers of a TensorFlow.js / Keras LayersModel (LSTM, GRU, SimpleRNN, and
// Bidirectional wrappers of them): found in the model, read into the canonical form the gate probe
// uses, and stepped through a sequence a chunk at a time. Keras keeps the weights as the probe wants
// them: kernel [I, G*U] and recurrent_kernel [U, G*U] with gates in the order i,f,c,o (LSTM) or
// z,r,h (GRU), and one bias [G*U]. The activations are the layer's own (tfjs's LSTM and GRU default
// to hardSigmoid for the gates).
//
// A layer is stepped by a twin (same config and weights, every step and the last state returned),
// `chunk` steps at a time with the state one chunk ends in given to the next as its initial state:
// the same steps as one run over the whole sequence, and between chunks the event loop gets a turn
// (TensorFlow.js's CPU and wasm kernels hold it while they run), so a cancel is heard.
import * as tf from "@tensorflow/tfjs";
import { EngineError } from "../../../protocol/errors";
import { quietly } from "../../runtime/tfjs/backend";
import { activation, Cell, Direction, RecurrentDirection } from "../../models/recurrentLayer";
import { checkpoint } from "./checkpoint";

/** Keras recurrent layer classes and their cells. */
export const CELLS: Record<string, Cell> = { LSTM: "lstm", GRU: "gru", SimpleRNN: "simple_rnn" };

export interface RecurrentLayer {
  layer: tf.layers.Layer; // the layer in the model (an RNN or a Bidirectional wrapper)
  directions: { rnn: tf.layers.Layer; direction: Direction }[];
}

/** The model's recurrent layers in order, each with its one or two directions. */
export function recurrentLayers(model: tf.LayersModel): RecurrentLayer[] {
  const out: RecurrentLayer[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (CELLS[cls]) {
      const goBackwards = Boolean((layer.getConfig() as { goBackwards?: boolean }).goBackwards);
      out.push({ layer, directions: [{ rnn: layer, direction: goBackwards ? "reverse" : "forward" }] });
    } else if (cls === "Bidirectional") {
      const b = layer as unknown as { forwardLayer: tf.layers.Layer; backwardLayer: tf.layers.Layer };
      out.push({ layer, directions: [{ rnn: b.forwardLayer, direction: "forward" }, { rnn: b.backwardLayer, direction: "reverse" }] });
    }
  }
  return out;
}

/** The canonical form of one Keras recurrent layer. */
export function kerasDirection(rnn: tf.layers.Layer, direction: Direction): RecurrentDirection {
  const cell = CELLS[rnn.getClassName()];
  if (!cell) throw new EngineError("MODEL_INVALID", `layer ${rnn.name} (${rnn.getClassName()}) is not an LSTM, GRU or SimpleRNN`);
  const cfg = rnn.getConfig() as { units: number; activation?: string; recurrentActivation?: string; useBias?: boolean; resetAfter?: boolean };
  const weights = rnn.getWeights();
  const [kernel, recurrent, bias] = weights;
  const [I, GU] = kernel.shape;
  const U = cfg.units;
  if (recurrent.shape[0] !== U || recurrent.shape[1] !== GU) throw new EngineError("MODEL_INVALID", `layer ${rnn.name}: recurrent kernel is [${recurrent.shape}], expected [${U}, ${GU}]`);
  const act = cfg.activation ?? "tanh";
  const rec = cfg.recurrentActivation ?? "hardSigmoid";
  const gate = cell === "simple_rnn" ? activation(act) : activation(rec);
  const candidate = activation(act);
  return {
    cell,
    direction,
    inputSize: I,
    units: U,
    W: kernel.dataSync() as Float32Array,
    R: recurrent.dataSync() as Float32Array,
    bW: cfg.useBias === false || !bias ? new Float32Array(GU) : (bias.dataSync() as Float32Array),
    bR: new Float32Array(GU),
    f: gate,
    g: candidate,
    h: candidate,
    activationNames: cell === "simple_rnn" ? [act] : cell === "gru" ? [rec, act] : [rec, act, act],
    linearBeforeReset: false,
  };
}

/** Steps a recurrent layer runs at once: between chunks a cancel can come in (about a tenth of a second each on a 64-unit LSTM). */
export const TWIN_CHUNK = 256;

/** The same layer returning every step's hidden state and its last state, with the same weights. */
export function sequenceTwin(rnn: tf.layers.Layer, x: tf.Tensor): Promise<tf.layers.Layer> {
  return quietly(() => {
    const cfg = { ...(rnn.getConfig() as Record<string, unknown>), returnSequences: true, returnState: true, stateful: false, name: `${rnn.name}_seqlens_twin` };
    const cls = rnn.getClassName();
    const twin = cls === "LSTM" ? tf.layers.lstm(cfg as never) : cls === "GRU" ? tf.layers.gru(cfg as never) : tf.layers.simpleRNN(cfg as never);
    tf.tidy(() => void twin.apply(x.slice([0, 0, 0], [1, 1, x.shape[2]!]))); // builds its weights
    twin.setWeights(rnn.getWeights());
    return twin;
  });
}

/**
 * The twin's hidden state at every step of x [1, T, I], in processing order (a layer that goes
 * backwards starts at the last step), `chunk` steps at a time: each chunk starts from the state the
 * one before ended in.
 */
export async function twinSequence(twin: tf.layers.Layer, x: tf.Tensor, backwards: boolean, chunk = TWIN_CHUNK): Promise<tf.Tensor> {
  const [, T, I] = x.shape as number[];
  const parts: tf.Tensor[] = [];
  let state: tf.Tensor[] | undefined;
  try {
    for (let done = 0; done < T; done += chunk) {
      const n = Math.min(chunk, T - done);
      const from = backwards ? T - done - n : done;
      const out = tf.tidy(() => {
        const xs = x.slice([0, from, 0], [1, n, I]);
        return twin.apply(xs, state ? { initialState: state } : {}) as tf.Tensor[];
      });
      if (state) tf.dispose(state);
      parts.push(out[0]);
      state = out.slice(1);
      await checkpoint();
    }
    return parts.length === 1 ? parts[0].clone() : tf.concat(parts, 1);
  } finally {
    tf.dispose(parts);
    if (state) tf.dispose(state);
  }
}
