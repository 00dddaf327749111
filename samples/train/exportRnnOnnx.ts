// Writes onnx/model.onnx for a recurrent sample from its tfjs/model.json, with the ONNX LSTM / GRU /
// RNN operators (engine/formats/rnnExport.ts), and checks that onnxruntime's output equals
// TensorFlow.js's on a probe input.
//   npx tsx samples/train/exportRnnOnnx.ts samples/models/co2-lstm [more folders...]
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { exportRecurrentOnnx } from "../../engine/formats/rnnExport";
import { loadLayersModelFile } from "../../engine/formats/tfjsLayersFile";
import { initTfjs } from "../../engine/runtime/tfjs/backend";
import { ort } from "../../engine/runtime/onnx/session";

async function exportOne(dir: string): Promise<void> {
  const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  const model = await loadLayersModelFile(path.join(dir, "tfjs", "model.json"));
  const isText = config.task === "char-lm";
  const bytes = exportRecurrentOnnx(model, { outputName: isText ? "logits" : "y" });
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), bytes);
  // The same input through both runtimes.
  const T = 50;
  const session = await ort().InferenceSession.create(bytes);
  let expected: Float32Array;
  let got: Float32Array;
  if (isText) {
    const ids = Array.from({ length: T }, (_, t) => (t * 7 + 1) % config.vocab.length);
    expected = (model.predict(tf.tensor2d([ids], [1, T], "int32")) as tf.Tensor).dataSync() as Float32Array;
    got = (await session.run({ input_ids: new (ort().Tensor)("int64", BigInt64Array.from(ids.map(BigInt)), [1, T]) })).logits.data as Float32Array;
  } else {
    const xs = Array.from({ length: T }, (_, t) => Math.sin(t / 3));
    expected = (model.predict(tf.tensor3d([xs.map((v) => [v])])) as tf.Tensor).dataSync() as Float32Array;
    got = (await session.run({ x: new (ort().Tensor)("float32", Float32Array.from(xs), [1, T, 1]) })).y.data as Float32Array;
  }
  let max = 0;
  for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - expected[i]));
  if (!(max < 1e-4)) throw new Error(`${dir}: onnxruntime and TensorFlow.js differ by ${max}`);
  console.log(`${dir}/onnx/model.onnx: ${bytes.length} bytes; onnxruntime equals TensorFlow.js within ${max.toExponential(1)}`);
}

(async () => {
  await initTfjs();
  for (const dir of process.argv.slice(2)) await exportOne(dir);
})().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
