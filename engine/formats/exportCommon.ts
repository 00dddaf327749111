// Pieces the checkpoint exporters share (llamaExport, bertExport): reading torch weights into the
// layout ONNX MatMul wants, telling which optional tensors a checkpoint has, and the additive
// attention mask of a decoder (causal + padding, optionally a sliding window).
import { DataType, GraphBuilder } from "./onnxBuilder";
import { MASK_VALUE, type WeightLookup } from "./gpt2Export";

/** Whether the checkpoint has a tensor. */
export type WeightPresence = (name: string) => boolean;

/**
 * `has` when the caller gave one, else a lookup that counts a tensor as present when `weight` returns
 * it (a lookup that throws or returns nothing for a name means the checkpoint lacks it).
 */
export function presence(weight: WeightLookup, has?: WeightPresence): WeightPresence {
  if (has) return has;
  const seen = new Map<string, boolean>();
  return (name) => {
    let found = seen.get(name);
    if (found === undefined) {
      try {
        found = weight(name) !== undefined;
      } catch {
        found = false;
      }
      seen.set(name, found);
    }
    return found;
  };
}

/** A row-major [rows, cols] matrix as [cols, rows]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  if (data.length !== rows * cols) throw new Error(`transpose: [${rows}, ${cols}] needs ${rows * cols} values, got ${data.length}`);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return out;
}

/** Reads `name`, checking its shape; plain Error naming the tensor when the shape differs. */
export function checkedWeight(weight: WeightLookup, name: string, shape: number[]): Float32Array {
  const t = weight(name);
  if (!t) throw new Error(`weight ${name} is missing`);
  if (t.shape.join(",") !== shape.join(",")) throw new Error(`weight ${name} has shape [${t.shape}], expected [${shape}]`);
  return t.data;
}

/**
 * The additive mask [B, 1, T, P+T] of a decoder: 0 where key j is visible to query i (j <= P + i,
 * attention_mask[j] = 1 and, with a window w, P + i - j < w), else MASK_VALUE. Query i is the
 * (P + i)-th position of the cache (P = past length = total - sequence length).
 */
export function decoderMask(g: GraphBuilder, inputIds: string, attentionMask: string, prefix: string, slidingWindow?: number): string {
  const i0 = g.int64s(`${prefix}/const_0`, [0], []);
  const i1 = g.int64s(`${prefix}/const_1`, [1], []);
  const shapeMask = g.op("Shape", [attentionMask], `${prefix}/Shape`);
  const total = g.op("Gather", [shapeMask, i1], `${prefix}/total/Gather`, { axis: 0 });
  const seq = g.op("Gather", [g.op("Shape", [inputIds], `${prefix}/ids/Shape`), i1], `${prefix}/seq/Gather`, { axis: 0 });
  const pastLen = g.op("Sub", [total, seq], `${prefix}/past/Sub`);
  const keyIdx = g.op("Unsqueeze", [g.op("Range", [i0, total, i1], `${prefix}/keys/Range`), g.int64s(`${prefix}/const_axis_0`, [0])], `${prefix}/keys/Unsqueeze`); // [1, P+T]
  const queryIdx = g.op("Unsqueeze", [g.op("Range", [pastLen, total, i1], `${prefix}/queries/Range`), g.int64s(`${prefix}/const_axis_1`, [1])], `${prefix}/queries/Unsqueeze`); // [T, 1]
  let visible = g.op("LessOrEqual", [keyIdx, queryIdx], `${prefix}/causal/LessOrEqual`); // [T, P+T]
  if (slidingWindow !== undefined) {
    // key j is inside the window of query i when i - j < w, i.e. j > i - w
    const lowest = g.op("Sub", [queryIdx, g.int64s(`${prefix}/const_window`, [slidingWindow], [])], `${prefix}/window/Sub`);
    visible = g.op("And", [visible, g.op("Greater", [keyIdx, lowest], `${prefix}/window/Greater`)], `${prefix}/window/And`);
  }
  const notPadded = g.op("Cast", [g.op("Unsqueeze", [attentionMask, g.int64s(`${prefix}/const_axes_1_2`, [1, 2])], `${prefix}/pad/Unsqueeze`)], `${prefix}/pad/Cast`, { to: DataType.BOOL }); // [B, 1, 1, P+T]
  const allowed = g.op("And", [g.op("Unsqueeze", [visible, g.int64s(`${prefix}/const_axes_0_1`, [0, 1])], `${prefix}/causal/Unsqueeze`), notPadded], `${prefix}/And`); // [B, 1, T, P+T]
  return g.op("Where", [allowed, g.floatScalar(`${prefix}/const_zero`, 0), g.floatScalar(`${prefix}/const_mask_value`, MASK_VALUE)], `${prefix}/Where`);
}
