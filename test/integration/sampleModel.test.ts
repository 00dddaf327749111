// The bundled model meets its bars, measured with the engine (onnxruntime) rather than the
// training script: held-out bits per byte, better than its early checkpoint, folder size.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DecoderModel } from "../../engine/models/decoder";
import { DATA_DIR, EARLY_MODEL, ROOT, SAMPLE_MODEL } from "../helpers";

async function heldoutBitsPerByte(dir: string, windows: number): Promise<number> {
  const model = await DecoderModel.load(dir, ["cpu"]);
  const text = fs.readFileSync(path.join(DATA_DIR, "heldout.txt"), "utf8");
  const ids = model.tokenizer.encode(text);
  const V = model.config.vocab_size;
  const T = model.config.n_positions;
  let nats = 0;
  let bytes = 0;
  for (let w = 0; w < windows && (w + 1) * T + 1 <= ids.length; w++) {
    const x = ids.slice(w * T, (w + 1) * T + 1);
    const { logits } = await model.forward(x.slice(0, T));
    for (let t = 0; t < T; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      let max = -Infinity;
      for (const v of row) if (v > max) max = v;
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      nats += max + Math.log(sum) - row[x[t + 1]];
      bytes += model.tokenizer.tokenBytes(x[t + 1]).length;
    }
  }
  await model.dispose();
  return nats / Math.LN2 / bytes;
}

test("held-out bits per byte: final <= 2.5 and better than the early checkpoint", async () => {
  const final = await heldoutBitsPerByte(SAMPLE_MODEL, Infinity);
  const early = await heldoutBitsPerByte(EARLY_MODEL, Infinity);
  console.log(`held-out (all windows of 512 tokens): final ${final.toFixed(3)} bits/byte, early ${early.toFixed(3)} bits/byte`);
  assert.ok(final <= 2.5, `final model: ${final} bits/byte`);
  assert.ok(final < early, `final ${final} is not better than early ${early}`);
});

test("the sample folders together are at most 20 MB", () => {
  const size = (p: string): number => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).reduce((a, f) => a + size(path.join(p, f)), 0) : fs.statSync(p).size);
  const total = size(path.join(ROOT, "samples", "models"));
  assert.ok(total <= 20e6, `samples/models is ${total} bytes`);
});
