// Shared paths and fixtures for the tests.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

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
