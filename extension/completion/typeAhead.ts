// The completions already generated, most recently used last, so typing the characters a
// suggestion predicted keeps serving the rest of it without generating again.
import type { CompleteResult } from "../../protocol/completion";

/** How much of the text before the cursor identifies where a completion was made. */
export const TAIL_CHARS = 256;

export interface CachedCompletion {
  model: string;
  /** The document and the cursor's offset in it when the completion was generated. */
  uri: string;
  offset: number;
  /** The last TAIL_CHARS characters before the cursor then. */
  tail: string;
  /** The text after the cursor on its line, then. */
  suffix: string;
  result: CompleteResult;
}

export interface TypeAheadHit {
  entry: CachedCompletion;
  /** What the user typed since (a prefix of the completion). */
  typed: string;
  /** What is left of the completion to show. */
  rest: string;
}

export class TypeAheadCache {
  private entries: CachedCompletion[] = [];

  constructor(private readonly capacity = 64) {}

  get size(): number {
    return this.entries.length;
  }

  put(model: string, uri: string, offset: number, prefix: string, suffix: string, result: CompleteResult): void {
    const entry = { model, uri, offset, tail: prefix.slice(-TAIL_CHARS), suffix, result };
    this.entries = this.entries.filter((e) => !(e.model === model && e.uri === uri && e.offset === offset && e.tail === entry.tail && e.suffix === suffix));
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /**
   * A completion made at or before this cursor in the same document, where everything typed since
   * is the start of the completion and the text before it is unchanged, with the same text after
   * the cursor; the most recently used first. Nothing when the completion is used up.
   * `prefix`: the text before the cursor (at least TAIL_CHARS plus what was typed, where there is that much).
   */
  lookup(model: string, uri: string, offset: number, prefix: string, suffix: string): TypeAheadHit | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      const k = offset - e.offset;
      if (e.model !== model || e.uri !== uri || e.suffix !== suffix || k < 0 || k >= e.result.text.length || k > prefix.length) continue;
      const typed = prefix.slice(prefix.length - k);
      if (!e.result.text.startsWith(typed) || !prefix.slice(0, prefix.length - k).endsWith(e.tail)) continue;
      this.entries.splice(i, 1);
      this.entries.push(e);
      return { entry: e, typed, rest: e.result.text.slice(k) };
    }
    return undefined;
  }

  clear(): void {
    this.entries = [];
  }
}
