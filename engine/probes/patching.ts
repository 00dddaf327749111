// Activation patching: how much of a clean run's prediction an activation carries. Two inputs of
// equal token length, clean and corrupted (say two call sites that differ in one identifier), and
// a metric m = logit(target) − logit(foil) at the last position. Each patched run is the corrupted
// input with one activation replaced by the clean run's value, through the interventions copy's
// edit inputs (onnxInterventions.ts): the residual stream entering block l at position p, or one
// head's z at layer l (at one position, or at every position). Each grid entry is the patched run's
// metric, normalised as (m − m_corrupted) / (m_clean − m_corrupted): 0 is no restoration, 1 the
// clean prediction.
//
// Work saved, without changing a number: an entry whose clean and corrupted activations are the
// same bits is the corrupted run itself (its metric is m_corrupted, no run). With a KV cache in the
// graph, a run that patches positions p.. only runs the tokens from p on, after the corrupted run's
// cache for the tokens before it (which a patch there cannot change). Patched runs go in batches,
// as many as the caller's memory share allows, each projecting only its last position onto the
// vocabulary where the copy can (onnxInterventions.ts).
import { EngineError } from "../../protocol/errors";
import type * as ortTypes from "onnxruntime-node";
import { cacheUpTo, lastLogits, presentCache, type DecoderModel } from "../models/decoder";
import { editShape, type EditTensor } from "../formats/onnxInterventions";
import { floatValues } from "../runtime/onnx/tensors";

export type PatchPer = "residual" | "head";

/** What the grid's rows and columns are. */
export type PatchAxes = ["layer", "position"] | ["head", "position"] | ["layer", "head"];

export interface PatchOptions {
  clean: number[];
  corrupted: number[];
  target: number;
  foil: number;
  /** "residual": [layer][position]; "head" with `layer`: [head][position] at that layer; "head" without: [layer][head], each head patched at every position. */
  per: PatchPer;
  layer?: number;
  /** The most sequences one run may hold. */
  maxBatch: number;
  signal?: AbortSignal;
  /** After each batch: grid entries done of `total`. */
  onStep?: (done: number, total: number) => void;
}

export interface PatchGrid {
  axes: PatchAxes;
  /** Normalised: (m − m_corrupted) / (m_clean − m_corrupted). */
  grid: number[][];
  /** The patched runs' metrics. */
  raw: number[][];
  cleanMetric: number;
  corruptedMetric: number;
  /** Grid entries computed by a patched run (the rest patched in the corrupted run's own value). */
  patched: number;
  /** Runs of the graph, the clean and corrupted ones included. */
  runs: number;
}

interface Task {
  row: number;
  col: number;
  layer: number;
  /** Channels of the activation patched: all of them, or one head's [from, to). */
  from: number;
  to: number;
  /** The positions patched, ascending. */
  positions: number[];
}

/** BAD_INPUT unless the two inputs have the same number of tokens and some token differs. */
export function checkPair(clean: number[], corrupted: number[]): void {
  if (clean.length !== corrupted.length) {
    throw new EngineError("BAD_INPUT", `the clean input has ${clean.length} tokens and the corrupted one ${corrupted.length}: activation patching needs two inputs of the same token length (change the corrupted text so it tokenizes to as many tokens as the clean one)`);
  }
}

export async function activationPatching(model: DecoderModel, o: PatchOptions): Promise<PatchGrid> {
  checkPair(o.clean, o.corrupted);
  const g = await model.interventions();
  const L = g.blocks.length;
  const H = g.nHead;
  const d = g.headDim;
  const HD = H * d;
  const D = g.width;
  const T = o.clean.length;
  if (o.layer !== undefined && (!Number.isInteger(o.layer) || o.layer < 0 || o.layer >= L)) {
    throw new EngineError("BAD_INPUT", `layer ${o.layer} is not in this model: its layers are 0..${L - 1}`);
  }
  const perHead = o.per === "head";
  const acts = g.blocks.map((b) => (perHead ? b.z : b.resid));
  const width = perHead ? HD : D;
  const kv = model.probe.hasKvCache;
  const presents = kv ? Array.from({ length: L }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat() : [];
  const fetch = [g.logits, ...acts];
  const clean = await model.runInterventions(o.clean, new Map(), fetch, { lastOnly: true });
  const corrupt = await model.runInterventions(o.corrupted, new Map(), [...fetch, ...presents], { lastOnly: true });
  let runs = 2;
  const shape = editShape(clean[acts[0]].dims, T, width, acts[0]);
  const rows = (out: ortTypes.InferenceSession.OnnxValueMapType, name: string) => floatValues(out[name], name);
  /** The metric of each of `batch` sequences of `len` tokens: at its last position. */
  const metricOf = (out: ortTypes.InferenceSession.OnnxValueMapType, batch: number, len: number): number[] => {
    const { data, stride, row } = lastLogits(out, g.logits, batch, len);
    return Array.from({ length: batch }, (_, b) => data[row(b) * stride + o.target] - data[row(b) * stride + o.foil]);
  };
  const [mc, mx] = [metricOf(clean, 1, T)[0], metricOf(corrupt, 1, T)[0]];
  if (Math.abs(mc - mx) <= 1e-6 * Math.max(1, Math.abs(mc))) {
    const same = o.clean.every((id, i) => id === o.corrupted[i]);
    throw new EngineError(
      "BAD_INPUT",
      same
        ? `the clean and corrupted inputs are the same ${T} tokens: there is nothing to patch; give a corrupted input that differs from the clean one (such as one identifier changed)`
        : `the metric is ${mc.toFixed(6)} on both the clean and the corrupted input, so how much a patch restores, (m − m_corrupted) / (m_clean − m_corrupted), is undefined: pick metric tokens whose logit difference the corruption changes, or another corrupted input`,
    );
  }

  // the grid's tasks; an entry whose clean and corrupted activations are the same bits needs no run
  const cleanActs = acts.map((a) => rows(clean, a));
  const corruptActs = acts.map((a) => rows(corrupt, a));
  const differs = (l: number, p: number, from: number, to: number) => {
    const [c, x] = [cleanActs[l], corruptActs[l]];
    for (let j = p * width + from; j < p * width + to; j++) if (c[j] !== x[j] && !(Number.isNaN(c[j]) && Number.isNaN(x[j]))) return true;
    return false;
  };
  const axes: PatchAxes = !perHead ? ["layer", "position"] : o.layer !== undefined ? ["head", "position"] : ["layer", "head"];
  const nRows = !perHead ? L : o.layer !== undefined ? H : L;
  const nCols = !perHead ? T : o.layer !== undefined ? T : H;
  const raw = Array.from({ length: nRows }, () => new Array<number>(nCols).fill(mx));
  const tasks: Task[] = [];
  const all = Array.from({ length: T }, (_, p) => p);
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) {
      const t: Task = !perHead
        ? { row: r, col: c, layer: r, from: 0, to: D, positions: [c] }
        : o.layer !== undefined
          ? { row: r, col: c, layer: o.layer, from: r * d, to: (r + 1) * d, positions: [c] }
          : { row: r, col: c, layer: r, from: c * d, to: (c + 1) * d, positions: all.filter((p) => differs(r, p, c * d, (c + 1) * d)) };
      if (t.positions.length > 0 && t.positions.some((p) => differs(t.layer, p, t.from, t.to))) tasks.push(t);
    }
  }

  // batches: tasks whose first patched position is close, run from the earliest of them
  tasks.sort((a, b) => a.positions[0] - b.positions[0] || a.layer - b.layer);
  const total = nRows * nCols;
  let done = total - tasks.length;
  o.onStep?.(done, total);
  const maxBatch = Math.max(1, Math.floor(o.maxBatch));
  for (let i = 0; i < tasks.length; ) {
    if (o.signal?.aborted) throw new EngineError("CANCELLED", "activation patching was cancelled");
    const start = kv ? tasks[i].positions[0] : 0;
    const slack = Math.floor((T - start) / 4);
    let j = i + 1;
    while (j < tasks.length && j - i < maxBatch && (!kv || tasks[j].positions[0] - start <= slack)) j++;
    const group = tasks.slice(i, j);
    const B = group.length;
    const len = T - start;
    const edits = new Map<string, EditTensor>();
    for (const [b, t] of group.entries()) {
      const blk = g.blocks[t.layer];
      const [keepName, valueName] = perHead ? [blk.scale, blk.shift] : [blk.residKeep, blk.residValue];
      // per head the keep is per channel; the residual's is one number per row
      const keepWidth = perHead ? width : 1;
      let keep = edits.get(keepName);
      let value = edits.get(valueName);
      if (!keep || !value) {
        keep = { data: new Float32Array(B * len * keepWidth).fill(1), dims: shape(B, len, keepWidth) };
        value = { data: new Float32Array(B * len * width), dims: shape(B, len, width) };
        edits.set(keepName, keep);
        edits.set(valueName, value);
      }
      const src = cleanActs[t.layer];
      for (const p of t.positions) {
        const row = b * len + (p - start);
        if (perHead) keep.data.fill(0, row * width + t.from, row * width + t.to);
        else keep.data[row] = 0;
        value.data.set(src.subarray(p * width + t.from, p * width + t.to), row * width + t.from);
      }
    }
    const past = start > 0 ? cacheUpTo(presentCache(corrupt, L, T), start) : undefined;
    const out = await model.runInterventions(o.corrupted.slice(start), edits, [g.logits], { past, batch: B, lastOnly: true });
    runs++;
    const m = metricOf(out, B, len);
    group.forEach((t, b) => (raw[t.row][t.col] = m[b]));
    done += B;
    o.onStep?.(done, total);
    i = j;
  }
  // + 0: an unpatched entry is 0, not −0
  const grid = raw.map((row) => row.map((m) => (m - mx) / (mc - mx) + 0));
  return { axes, grid, raw, cleanMetric: mc, corruptedMetric: mx, patched: tasks.length, runs };
}

