// Encoder-decoders (translation, summarisation): the selection is the source, the model writes the
// target. Engine methods (`seqlens inspect` and `seqlens generate` on an encoder-decoder folder) and
// the cross-attention view: target tokens x source tokens, per layer and head.
import * as v from "valibot";
import type { Device, SliceResult, TokenInfo, TopToken, Truncated } from "./basics";
import { handle, modelSpec, nonNegInt, num, numberArray } from "./schema";

/** Which attention of an encoder-decoder: the encoder's over the source, the decoder's over the target, or the decoder's over the source. */
export type Seq2SeqAttentionKind = "encoder" | "decoder" | "cross";

export interface Seq2SeqInspectResult {
  handle: string;
  model: string;
  device: Device;
  /** The source as the encoder read it (the tokenizer's end-of-sequence included). */
  source: TokenInfo[];
  /** The decoder's input: the decoder start token first, then the given or generated target. */
  target: TokenInfo[];
  /** Whether the target was generated (greedy) because none was given. */
  generated: boolean;
  encoderLayers: number;
  decoderLayers: number;
  encoderHeads: number;
  decoderHeads: number;
  /** Which attentions the graphs show. */
  attention: { encoder: boolean; decoder: boolean; cross: boolean };
  /** The top tokens after the last target token. */
  next: TopToken[];
  /** The probability of each target token after the ones before it (null for the start token). */
  targetP: (number | null)[];
  truncated?: Truncated;
  ms: { total: number };
}

export const seq2seqParams = {
  /** An encoder-decoder on a source: its attentions over the given target, or over its own greedy translation. */
  inspectSeq2seq: v.object({
    model: modelSpec,
    text: v.optional(v.string()),
    ids: v.optional(numberArray("ids")),
    target: v.optional(v.string()),
    targetIds: v.optional(numberArray("targetIds")),
    topK: v.optional(num),
    /** The most target tokens to generate when none is given (default 64). */
    maxTokens: v.optional(num),
  }),
  /** One attention of an inspection: [rows, cols] for a layer and head (rows: query tokens; cols: key tokens). */
  seq2seqAttention: v.object({ handle, kind: v.picklist(["encoder", "decoder", "cross"], 'kind must be "encoder", "decoder" or "cross"'), layer: nonNegInt, head: nonNegInt }),
};

export interface Seq2SeqResults {
  inspectSeq2seq: Seq2SeqInspectResult;
  seq2seqAttention: SliceResult;
}

/** Every layer and head of one attention as nested arrays [layer][head][row][col] (JSON exports), asked for one slice at a time; null when the graphs do not show it. */
export async function seq2seqAttentionNested(
  slice: (p: { handle: string; kind: Seq2SeqAttentionKind; layer: number; head: number }) => Promise<SliceResult>,
  r: Pick<Seq2SeqInspectResult, "handle" | "attention" | "encoderLayers" | "decoderLayers" | "encoderHeads" | "decoderHeads">,
  kind: Seq2SeqAttentionKind,
): Promise<number[][][][] | null> {
  if (!r.attention[kind]) return null;
  const [L, H] = kind === "encoder" ? [r.encoderLayers, r.encoderHeads] : [r.decoderLayers, r.decoderHeads];
  const layers: number[][][][] = [];
  for (let layer = 0; layer < L; layer++) {
    const heads: number[][][] = [];
    for (let head = 0; head < H; head++) {
      const { shape, data } = await slice({ handle: r.handle, kind, layer, head });
      heads.push(Array.from({ length: shape[0] }, (_, row) => Array.from(data.subarray(row * shape[1], (row + 1) * shape[1]))));
    }
    layers.push(heads);
  }
  return layers;
}
