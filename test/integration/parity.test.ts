// The ONNX export against the TensorFlow.js reference forward pass of the same architecture,
// loading the same weights (the ONNX file's own initializers), on held-out text.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { DecoderModel } from "../../engine/models/decoder";
import { readInitializers } from "../../engine/formats/onnxWeights";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { gpt2Forward, hfNamesToWeights } from "../../engine/runtime/tfjs/gpt2";
import { heldoutText, SAMPLE_MODEL } from "../helpers";

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test("ONNX (onnxruntime) and TensorFlow.js agree on held-out text: logits <= 1e-4, attention <= 1e-5", async () => {
  const backend = await initTfjs();
  const model = await DecoderModel.load(SAMPLE_MODEL, ["cpu"]);
  const c = model.config;
  const ids = model.tokenizer.encode(heldoutText(4000)).slice(0, 256);
  assert.equal(ids.length, 256);
  const onnxOut = await model.forward(ids, { attention: true, hidden: true });

  const weights = readInitializers(path.join(SAMPLE_MODEL, "onnx", "model.onnx"));
  const cfg = { vocabSize: c.vocab_size, nPositions: c.n_positions, nEmbd: c.n_embd, nLayer: c.n_layer, nHead: c.n_head, layerNormEpsilon: c.layer_norm_epsilon ?? 1e-5 };
  const w = hfNamesToWeights(cfg, (n) => {
    const t = weights.get(n);
    assert.ok(t, `initializer ${n} missing`);
    return t;
  });
  const ref = tf.tidy(() => {
    const o = gpt2Forward(cfg, w, tf.tensor2d(ids, [1, ids.length], "int32"), { attention: true, hidden: true });
    return { logits: o.logits.dataSync().slice(), attention: o.attention!.map((a) => a.dataSync().slice()), last: o.hidden![o.hidden!.length - 1].dataSync().slice() };
  });
  const dLogits = maxAbsDiff(onnxOut.logits, ref.logits);
  const dAtt = Math.max(...onnxOut.attention!.map((a, l) => maxAbsDiff(a, ref.attention[l])));
  const dHidden = maxAbsDiff(onnxOut.lastHidden!, ref.last);
  console.log(`parity on ${ids.length} held-out tokens (tfjs ${backend}): logits ${dLogits.toExponential(2)}, attention ${dAtt.toExponential(2)}, last hidden ${dHidden.toExponential(2)}`);
  assert.ok(dLogits <= 1e-4, `logits differ by ${dLogits}`);
  assert.ok(dAtt <= 1e-5, `attention differs by ${dAtt}`);
  assert.ok(dHidden <= 1e-4, `last hidden state differs by ${dHidden}`);
  // The comparison is not vacuous: the logits vary over a wide range.
  assert.ok(Math.max(...onnxOut.logits.subarray(0, 4096)) - Math.min(...onnxOut.logits.subarray(0, 4096)) > 5);
  await model.dispose();
});
