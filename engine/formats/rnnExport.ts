// A TensorFlow.js LayersModel with recurrent layers written as ONNX with the LSTM / GRU / RNN
// operators (opset 14), so the same weights run in a second runtime and both gate probes can be
// compared. Supported chains: [Embedding] → (LSTM | GRU | SimpleRNN | Bidirectional(concat))+ →
// Dense* (on every step or on the last), Dropout skipped.
//
//   input_ids int64 [B, T] (with an Embedding) or x float [B, T, F]
//   → Gather → Transpose [T, B, I] → RNN (layout 0) → Y [T, D, B, U] → [T, B, D*U] → ...
//   → Transpose [B, T, U] → MatMul + Add (Dense) → output [B, T, N] (or [B, N] after a last-step layer)
//
// Keras keeps kernel [I, G*U] with gates i,f,c,o (LSTM) or z,r,h (GRU); ONNX wants W [D, G*U, I]
// with gates i,o,f,c or z,r,h. tfjs's GRU resets before the product (linear_before_reset = 0), and
// its hardSigmoid is ONNX's HardSigmoid with alpha 0.2, beta 0.5.
import * as tf from "@tensorflow/tfjs";
import { DataType, GraphBuilder } from "./onnxBuilder";
import { EngineError } from "../../protocol/errors";

/** For each ONNX gate slot, the Keras gate it takes. LSTM: ONNX i,o,f,c from Keras i,f,c,o. */
const KERAS_GATE_FOR_ONNX: Record<string, number[]> = { LSTM: [0, 3, 1, 2], GRU: [0, 1, 2], SimpleRNN: [0] };
const ONNX_OP: Record<string, string> = { LSTM: "LSTM", GRU: "GRU", SimpleRNN: "RNN" };

function onnxActivation(name: string): { name: string; alpha?: number; beta?: number } {
  switch (name) {
    case "hardSigmoid":
      return { name: "HardSigmoid", alpha: 0.2, beta: 0.5 };
    case "sigmoid":
      return { name: "Sigmoid" };
    case "tanh":
      return { name: "Tanh" };
    case "relu":
      return { name: "Relu" };
    case "linear":
      return { name: "Affine", alpha: 1, beta: 0 };
    case "softsign":
      return { name: "Softsign" };
    case "softplus":
      return { name: "Softplus" };
    case "elu":
      return { name: "Elu", alpha: 1 };
    default:
      throw new EngineError("MODEL_INVALID", `activation "${name}" has no ONNX recurrent-operator equivalent`);
  }
}

/** Keras [I, G*U] (x·W) to ONNX [G*U, I] rows in ONNX gate order. */
function toOnnxRows(m: Float32Array, rows: number, U: number, order: number[]): Float32Array {
  const G = order.length;
  const out = new Float32Array(G * U * rows);
  order.forEach((kg, og) => {
    for (let u = 0; u < U; u++) for (let r = 0; r < rows; r++) out[(og * U + u) * rows + r] = m[r * G * U + kg * U + u];
  });
  return out;
}

function toOnnxBias(b: Float32Array | undefined, U: number, order: number[]): Float32Array {
  const G = order.length;
  const out = new Float32Array(2 * G * U);
  if (b) order.forEach((kg, og) => out.set(b.subarray(kg * U, (kg + 1) * U), og * U));
  return out;
}

export interface RnnExportOptions {
  /** Output name: "logits" for a language model, "y" for a forecaster. */
  outputName?: string;
}

export function exportRecurrentOnnx(model: tf.LayersModel, opts: RnnExportOptions = {}): Uint8Array {
  const g = new GraphBuilder();
  const layers = model.layers;
  let cur: string; // current tensor name
  let layout: "btf" | "tbf"; // batch-first or time-first
  let width: number;
  let sequence = true; // [.., T, ..] present
  let i = 0;
  if (layers[0].getClassName() === "InputLayer") i++;
  if (layers[i]?.getClassName() === "Embedding") {
    const emb = layers[i];
    const [E] = emb.getWeights();
    const [V, D] = E.shape;
    const ids = g.input("input_ids", DataType.INT64, ["batch", "T"]);
    cur = g.op("Gather", [g.weight("embedding", [V, D], E.dataSync() as Float32Array), ids], "embedding_gather", { axis: 0 });
    layout = "btf";
    width = D;
    i++;
  } else {
    const shape = model.inputs[0].shape;
    width = shape[shape.length - 1] as number;
    cur = g.input("x", DataType.FLOAT, ["batch", "T", width]);
    layout = "btf";
  }
  let k = 0;
  for (; i < layers.length; i++) {
    const layer = layers[i];
    const cls = layer.getClassName();
    if (cls === "Dropout" || cls === "InputLayer") continue;
    const inner = cls === "Bidirectional" ? [(layer as unknown as { forwardLayer: tf.layers.Layer }).forwardLayer, (layer as unknown as { backwardLayer: tf.layers.Layer }).backwardLayer] : [layer];
    const rnnCls = inner[0].getClassName();
    if (ONNX_OP[rnnCls]) {
      if (!sequence) throw new EngineError("MODEL_INVALID", `layer ${layer.name}: a recurrent layer after one that returns only its last step cannot be exported`);
      if (cls === "Bidirectional" && ((layer.getConfig() as { mergeMode?: string }).mergeMode ?? "concat") !== "concat") {
        throw new EngineError("MODEL_INVALID", `layer ${layer.name}: only the "concat" merge mode of Bidirectional has an ONNX equivalent`);
      }
      const cfg = inner[0].getConfig() as { units: number; activation?: string; recurrentActivation?: string; returnSequences?: boolean; goBackwards?: boolean; useBias?: boolean };
      if (cls !== "Bidirectional" && cfg.goBackwards) throw new EngineError("MODEL_INVALID", `layer ${layer.name}: a lone layer with goBackwards returns its steps reversed; export it inside Bidirectional`);
      const U = cfg.units;
      const order = KERAS_GATE_FOR_ONNX[rnnCls];
      const D = inner.length;
      const Ws: Float32Array[] = [];
      const Rs: Float32Array[] = [];
      const Bs: Float32Array[] = [];
      for (const l of inner) {
        const [kernel, recurrent, bias] = l.getWeights();
        Ws.push(toOnnxRows(kernel.dataSync() as Float32Array, kernel.shape[0], U, order));
        Rs.push(toOnnxRows(recurrent.dataSync() as Float32Array, U, U, order));
        Bs.push(toOnnxBias(cfg.useBias === false ? undefined : (bias?.dataSync() as Float32Array), U, order));
      }
      const cat = (xs: Float32Array[]) => {
        const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
        let o = 0;
        for (const x of xs) {
          out.set(x, o);
          o += x.length;
        }
        return out;
      };
      const G = order.length;
      const act = cfg.activation ?? "tanh";
      const rec = cfg.recurrentActivation ?? "hardSigmoid";
      const perDir = (rnnCls === "LSTM" ? [rec, act, act] : rnnCls === "GRU" ? [rec, act] : [act]).map(onnxActivation);
      const acts = Array.from({ length: D }, () => perDir).flat();
      const alphas = acts.filter((a) => a.alpha !== undefined).map((a) => a.alpha!);
      const betas = acts.filter((a) => a.beta !== undefined).map((a) => a.beta!);
      if (layout === "btf") cur = g.op("Transpose", [cur], `to_time_major_${k}`, { perm: [1, 0, 2] });
      const attrs: Record<string, number | string | { strings: string[] } | { floats: number[] }> = {
        hidden_size: U,
        direction: D === 2 ? "bidirectional" : "forward",
        activations: { strings: acts.map((a) => a.name) },
      };
      if (alphas.length) attrs.activation_alpha = { floats: alphas };
      if (betas.length) attrs.activation_beta = { floats: betas };
      if (rnnCls === "GRU") attrs.linear_before_reset = 0;
      const [Y, Yh] = g.node(
        ONNX_OP[rnnCls],
        [cur, g.weight(`rnn${k}_W`, [D, G * U, width], cat(Ws)), g.weight(`rnn${k}_R`, [D, G * U, U], cat(Rs)), g.weight(`rnn${k}_B`, [D, 2 * G * U], cat(Bs))],
        `${layer.name}`,
        attrs,
        2,
      );
      width = D * U;
      if (cfg.returnSequences) {
        const tr = g.op("Transpose", [Y], `rnn${k}_y_transpose`, { perm: [0, 2, 1, 3] }); // [T, B, D, U]
        cur = g.op("Reshape", [tr, g.int64s(`rnn${k}_y_shape`, [0, 0, -1])], `rnn${k}_y_merge`); // [T, B, D*U]
        layout = "tbf";
      } else {
        const tr = g.op("Transpose", [Yh], `rnn${k}_h_transpose`, { perm: [1, 0, 2] }); // [B, D, U]
        cur = g.op("Reshape", [tr, g.int64s(`rnn${k}_h_shape`, [0, -1])], `rnn${k}_h_merge`); // [B, D*U]
        sequence = false;
      }
      k++;
    } else if (cls === "Dense" || cls === "TimeDistributed") {
      const dense = cls === "TimeDistributed" ? (layer as unknown as { layer: tf.layers.Layer }).layer : layer;
      if (dense.getClassName() !== "Dense") throw new EngineError("MODEL_INVALID", `layer ${layer.name}: TimeDistributed(${dense.getClassName()}) cannot be exported`);
      if (sequence && layout === "tbf") {
        cur = g.op("Transpose", [cur], `to_batch_major_${i}`, { perm: [1, 0, 2] });
        layout = "btf";
      }
      const [kernel, bias] = dense.getWeights();
      const [inW, outW] = kernel.shape;
      cur = g.op("MatMul", [cur, g.weight(`${dense.name}_kernel`, [inW, outW], kernel.dataSync() as Float32Array)], `${dense.name}_matmul`);
      if (bias) cur = g.op("Add", [cur, g.weight(`${dense.name}_bias`, [outW], bias.dataSync() as Float32Array)], `${dense.name}_bias_add`);
      const act = (dense.getConfig() as { activation?: string }).activation ?? "linear";
      if (act === "softmax") cur = g.op("Softmax", [cur], `${dense.name}_softmax`, { axis: -1 });
      else if (act === "relu" || act === "tanh" || act === "sigmoid") cur = g.op(act === "relu" ? "Relu" : act === "tanh" ? "Tanh" : "Sigmoid", [cur], `${dense.name}_${act}`);
      else if (act !== "linear") throw new EngineError("MODEL_INVALID", `layer ${dense.name}: activation ${act} cannot be exported`);
      width = outW;
    } else {
      throw new EngineError("MODEL_INVALID", `layer ${layer.name} (${cls}) cannot be exported to ONNX by SeqLens (supported: Embedding, LSTM, GRU, SimpleRNN, Bidirectional, Dense, Dropout)`);
    }
  }
  if (k === 0) throw new EngineError("MODEL_INVALID", "the model has no recurrent layer to export");
  if (sequence && layout === "tbf") cur = g.op("Transpose", [cur], "to_batch_major_out", { perm: [1, 0, 2] });
  const name = opts.outputName ?? "y";
  g.rename(cur, name);
  g.output(name, DataType.FLOAT, sequence ? ["batch", "T", width] : ["batch", width]);
  return g.model("seqlens_recurrent", 14, "seqlens", { source: "tensorflow.js layers model" });
}
