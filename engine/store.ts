// Inspections keep their full tensors here, in the engine process; clients ask for slices by
// handle. The oldest inspections are dropped past a limit.
import { AttentionTensor } from "./probes/attention";
import { DecoderModel } from "./models/decoder";
import { EngineError, TokenInfo } from "./protocol";

export interface Inspection {
  handle: string;
  model: DecoderModel;
  ids: number[];
  tokens: TokenInfo[];
  logits: Float32Array; // [T, vocab]
  attention?: AttentionTensor;
  lastHidden?: Float32Array; // [T, d]
}

export class InspectionStore {
  private readonly items = new Map<string, Inspection>();
  private next = 1;
  constructor(private readonly limit = 16) {}

  add(item: Omit<Inspection, "handle">): Inspection {
    const handle = `inspection-${this.next++}`;
    const full = { ...item, handle };
    this.items.set(handle, full);
    while (this.items.size > this.limit) this.items.delete(this.items.keys().next().value as string);
    return full;
  }

  get(handle: string): Inspection {
    const it = this.items.get(handle);
    if (!it) throw new EngineError("UNKNOWN_HANDLE", `no inspection ${JSON.stringify(handle)} (released, or dropped after ${this.limit} newer ones): inspect again`);
    return it;
  }

  release(handle: string): boolean {
    return this.items.delete(handle);
  }
}
