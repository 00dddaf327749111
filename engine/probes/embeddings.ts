// Embeddings of the inspected tokens: the input-embedding row of each token (read from the
// graph's token-embedding initializer) and the last hidden state at each position.
import { EngineError } from "../../protocol/errors";
import { SliceResult } from "../../protocol/basics";

export function inputEmbeddingRows(table: { shape: number[]; data: Float32Array } | undefined, ids: number[]): SliceResult {
  if (!table) throw new EngineError("BAD_INPUT", "this model's graph has no token-embedding initializer gathered by input_ids");
  const d = table.shape[1];
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, i) => out.set(table.data.subarray(id * d, (id + 1) * d), i * d));
  return { shape: [ids.length, d], data: out };
}

export function hiddenStates(hidden: Float32Array | undefined, length: number): SliceResult {
  if (!hidden) throw new EngineError("BAD_INPUT", "this model's graph has no hidden state feeding its logits");
  return { shape: [length, hidden.length / length], data: hidden.slice() };
}
