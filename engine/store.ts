// Inspections keep their full tensors here, in the engine process; clients ask for slices by
// handle. The oldest inspections are dropped past a limit.
import { AttentionTensor } from "./probes/attention";
import { DecoderModel } from "./models/decoder";
import { EngineError } from "../protocol/errors";
import { TokenInfo } from "../protocol/basics";

/** What an inspection needs of its model: a decoder, or a recurrent character model's vocabulary. */
export interface InspectedModel {
  readonly config: { vocab_size: number };
  readonly tokenizer: { tokenText(id: number): string };
  readonly probe?: { tokenEmbedding?: DecoderModel["probe"]["tokenEmbedding"] };
}

export interface Inspection {
  handle: string;
  model: InspectedModel;
  ids: number[];
  tokens: TokenInfo[];
  logits: Float32Array; // [T, vocab]
  attention?: AttentionTensor;
  attentionNote?: string; // why there is no attention
  lastHidden?: Float32Array; // [T, d]
}

function bytesOf(it: Omit<Inspection, "handle">): number {
  return it.logits.byteLength + (it.lastHidden?.byteLength ?? 0) + (it.attention?.layers.reduce((a, l) => a + l.byteLength, 0) ?? 0);
}

/** Least recently used inspections go first, past a count or a byte budget. */
export class InspectionStore {
  private readonly items = new Map<string, Inspection & { bytes: number }>();
  private next = 1;
  private bytes = 0;
  constructor(
    private readonly limit = 16,
    private readonly maxBytes = 1024 * 2 ** 20,
  ) {}

  add(item: Omit<Inspection, "handle">): Inspection {
    const handle = `inspection-${this.next++}`;
    const full = { ...item, handle, bytes: bytesOf(item) };
    this.items.set(handle, full);
    this.bytes += full.bytes;
    while (this.items.size > 1 && (this.items.size > this.limit || this.bytes > this.maxBytes)) this.release(this.items.keys().next().value as string);
    return full;
  }

  get(handle: string): Inspection {
    const it = this.items.get(handle);
    if (!it) throw new EngineError("UNKNOWN_HANDLE", `no inspection ${JSON.stringify(handle)} (released, or dropped for newer ones): inspect again`);
    this.items.delete(handle); // most recently used last
    this.items.set(handle, it);
    return it;
  }

  release(handle: string): boolean {
    const it = this.items.get(handle);
    if (!it) return false;
    this.bytes -= it.bytes;
    return this.items.delete(handle);
  }
}
