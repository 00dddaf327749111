// Shared paths and fixtures for the tests.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineError } from "../protocol/errors";

export const ROOT = path.resolve(__dirname, "..");
export const SAMPLE_MODEL = process.env.SEQLENS_TEST_MODEL ?? path.join(ROOT, "samples", "models", "tiny-gpt");
export const EARLY_MODEL = path.join(ROOT, "samples", "models", "tiny-gpt-early");
export const DATA_DIR = path.join(ROOT, "samples", "data", "ts-lib");
export const ENGINE_JS = path.join(ROOT, "dist", "engine.js");
export const CLI_JS = path.join(ROOT, "bin", "seqlens.js");

// Probe copies go to a fresh cache for each test run.
process.env.SEQLENS_CACHE_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-test-cache-"));

export function heldoutText(chars = 1000): string {
  return fs.readFileSync(path.join(DATA_DIR, "heldout.txt"), "utf8").slice(0, chars);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `seqlens-${prefix}-`));
}

/** A copy of a model folder whose files can be damaged by a test. */
export function copyModel(src = SAMPLE_MODEL): string {
  const dst = tempDir("model");
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

/**
 * The sample decoder's weights exported again by the project's exporter without a KV cache (no past
 * inputs, no present outputs): a decoder that recomputes the whole sequence for every token.
 */
export async function noKvCacheCopy(src = SAMPLE_MODEL): Promise<string> {
  const { readInitializers } = await import("../engine/formats/onnxWeights");
  const { exportGpt2Onnx } = await import("../engine/formats/gpt2Export");
  const dst = copyModel(src);
  const file = path.join(dst, "onnx", "model.onnx");
  const weights = readInitializers(file);
  const c = JSON.parse(fs.readFileSync(path.join(dst, "config.json"), "utf8"));
  const bytes = exportGpt2Onnx({ vocab_size: c.vocab_size, n_positions: c.n_positions, n_embd: c.n_embd, n_layer: c.n_layer, n_head: c.n_head, layer_norm_epsilon: c.layer_norm_epsilon }, (name) => weights.get(name)!, {}, { kvCache: false });
  fs.writeFileSync(file, bytes);
  return dst;
}

/** An assert.rejects check: an EngineError with `c` as its code (and a message matching `re`). */
export const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof EngineError && e.code === c && (!re || re.test(e.message));

/** ln p(target) or logit(target) − logit(foil) of one row of logits, in float64 (an independent reading of the engine's metric). */
export function metricOfRow(row: Float32Array, target: number, foil?: number): number {
  if (foil !== undefined) return row[target] - row[foil];
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return row[target] - max - Math.log(sum);
}
