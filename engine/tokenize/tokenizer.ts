// Tokenization with @huggingface/tokenizers, plus the byte and character offsets of each token
// in the input text (the library gives ids and token strings only).
import { Tokenizer } from "@huggingface/tokenizers";
import { EngineError } from "../../protocol/errors";
import { TokenInfo } from "../../protocol/basics";
import { unicodeToBytes } from "./byteLevel";
import { checkTokenizerShape } from "./tokenizerShape";

export class TextTokenizer {
  /** The Hugging Face tokenizer; absent for a model folder without tokenizer.json (token ids only). */
  private readonly tok?: Tokenizer;
  private readonly byteLevel: boolean;
  private readonly byteOf = unicodeToBytes();
  private readonly idToToken: Map<number, string>;
  readonly vocabSize: number;
  readonly eosId?: number;
  /** The tokenizer's mask token ([MASK], <mask>), for models with a masked-LM head. */
  readonly maskId?: number;
  /** Ids of the special tokens (added tokens marked special: [CLS], [SEP], <s>, </s> ...). */
  readonly specialIds = new Set<number>();
  /** The vocabulary's unknown token (<unk>, [UNK]), when it names one. */
  readonly unkId?: number;
  /** The word-piece continuation prefix ("##"), when the vocabulary has one. */
  private readonly continuingPrefix?: string;
  /** The name the tokenizer's config gives it (name_or_path), if any. */
  readonly name?: string;
  /** The merge rules in order, joined (two tokenizers with one vocabulary but other merges split text differently). */
  private readonly mergesKey: string;

  /**
   * @param tokenizerJson undefined: the folder has no tokenizer.json, so the model takes token ids
   *   only; text is refused with a message saying so, and a token shows as ⟨id⟩.
   */
  constructor(
    tokenizerJson: object | undefined,
    tokenizerConfig: object,
    private readonly source: string,
    fallbackEosId?: number,
  ) {
    if (tokenizerJson !== undefined) {
      checkTokenizerShape(tokenizerJson, source);
      try {
        this.tok = new Tokenizer(tokenizerJson as never, tokenizerConfig as never);
      } catch (e) {
        // the library's own words where it has them; a JavaScript error deep inside it says nothing to a user
        const why = e instanceof TypeError || e instanceof RangeError ? "one of its parts has a shape the library does not read" : (e as Error).message;
        throw new EngineError("TOKENIZER", `${source}: tokenizer.json could not be loaded: ${why}`);
      }
    }
    const tj = (tokenizerJson ?? {}) as { model?: { vocab?: Record<string, number> | [string, number][]; continuing_subword_prefix?: string }; added_tokens?: { id: number; content: string; special?: boolean }[]; decoder?: { type?: string } };
    this.idToToken = new Map();
    const vocab = tj.model?.vocab ?? {};
    // WordPiece/BPE/WordLevel keep a {token: id} map; Unigram a [token, score] list whose index is the id
    if (Array.isArray(vocab)) vocab.forEach((entry, id) => this.idToToken.set(id, Array.isArray(entry) ? String(entry[0]) : String(entry)));
    else for (const [t, id] of Object.entries(vocab)) this.idToToken.set(id, t);
    for (const a of tj.added_tokens ?? []) {
      this.idToToken.set(a.id, a.content);
      if (a.special) this.specialIds.add(a.id);
    }
    this.continuingPrefix = tj.model?.continuing_subword_prefix ?? undefined;
    const unk = (tj.model as { unk_token?: string } | undefined)?.unk_token ?? (tokenizerConfig as { unk_token?: string | { content: string } }).unk_token;
    const unkText = typeof unk === "string" ? unk : unk?.content;
    if (unkText !== undefined) for (const [id, t] of this.idToToken) if (t === unkText) this.unkId = id;
    this.vocabSize = this.idToToken.size;
    this.byteLevel = tj.decoder?.type === "ByteLevel";
    const eos = (tokenizerConfig as { eos_token?: string | { content: string } }).eos_token;
    const eosText = typeof eos === "string" ? eos : eos?.content;
    if (eosText !== undefined) for (const [id, t] of this.idToToken) if (t === eosText) this.eosId = id;
    this.eosId ??= fallbackEosId; // config.json's eos_token_id
    const mask = (tokenizerConfig as { mask_token?: string | { content: string } }).mask_token;
    const maskText = typeof mask === "string" ? mask : (mask?.content ?? [...this.specialIds].map((id) => this.idToToken.get(id)).find((t) => t === "[MASK]" || t === "<mask>"));
    if (maskText !== undefined) for (const [id, t] of this.idToToken) if (t === maskText) this.maskId = id;
    const cfg = tokenizerConfig as { name_or_path?: string; _name_or_path?: string };
    this.name = cfg.name_or_path ?? cfg._name_or_path;
    const merges = (tj.model as { merges?: unknown[] } | undefined)?.merges ?? [];
    this.mergesKey = merges.map((m) => (Array.isArray(m) ? m.join(" ") : String(m))).join("\n");
  }

  /** The first way `other` tokenizes differently from this one, as a sentence; undefined when they are the same. */
  firstDifference(other: TextTokenizer): string | undefined {
    if (!this.tok !== !other.tok) return `one model has a tokenizer.json and the other does not`;
    if (this.byteLevel !== other.byteLevel) return `one tokenizer is byte-level and the other is not`;
    const ids = new Set([...this.idToToken.keys(), ...other.idToToken.keys()]);
    for (const id of [...ids].sort((a, b) => a - b)) {
      const a = this.idToToken.get(id);
      const b = other.idToToken.get(id);
      if (a !== b) return `token ${id} is ${a === undefined ? "missing" : JSON.stringify(a)} in the first and ${b === undefined ? "missing" : JSON.stringify(b)} in the second`;
    }
    if (this.mergesKey !== other.mergesKey) return "the vocabularies are the same but the merge rules differ";
    return undefined;
  }

  /** Whether text can be tokenized (the folder has a tokenizer.json), not only token ids given. */
  get readsText(): boolean {
    return this.tok !== undefined;
  }

  encode(text: string): number[] {
    if (!this.tok) throw new EngineError("TOKENIZER", `${this.source}: no tokenizer.json, so this model reads token ids only (give --ids, or put the tokenizer.json it was trained with beside config.json)`);
    const enc = this.tok.encode(text);
    if (!enc.ids.some((id) => id === undefined || id === null)) return enc.ids;
    // a word the vocabulary lacks, from a model type the library reads loosely (WordLevel without
    // tokenizer_config.json's unk_token): the vocabulary's own unknown token, else say which words
    if (this.unkId !== undefined) return enc.ids.map((id) => (id === undefined || id === null ? this.unkId! : id));
    const missing = enc.ids.flatMap((id, i) => (id === undefined || id === null ? [JSON.stringify(enc.tokens[i])] : []));
    throw new EngineError("TOKENIZER", `${this.source}: the tokenizer has no id for ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""} and names no unknown token`);
  }

  /** The exact text of the ids: no special tokens skipped, no clean-up of spaces. Without a tokenizer, ⟨id⟩ for each. */
  decode(ids: number[]): string {
    if (ids.length === 0) return "";
    if (!this.tok) return ids.map((id) => `⟨${id}⟩`).join("");
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenString(id: number): string | undefined {
    return this.idToToken.get(id);
  }

  /** The raw bytes a token stands for (byte-level vocabularies), or its decoded text's bytes. */
  tokenBytes(id: number): Uint8Array {
    if (!this.tok) return new TextEncoder().encode(`⟨${id}⟩`);
    const s = this.idToToken.get(id);
    if (s === undefined) return new Uint8Array(0);
    if (this.byteLevel && ![...s].some((c) => !this.byteOf.has(c))) return Uint8Array.from([...s], (c) => this.byteOf.get(c)!);
    return new TextEncoder().encode(this.decode([id]));
  }

  /** A token's text for display: its bytes decoded, a partial UTF-8 sequence shown as U+FFFD. */
  tokenText(id: number): string {
    return new TextDecoder().decode(this.tokenBytes(id));
  }

  /**
   * Token infos with offsets. For text that round-trips (byte-level BPE) offsets come from each
   * token's bytes; otherwise from decoding growing prefixes.
   */
  withOffsets(ids: number[], text: string | undefined): TokenInfo[] {
    const bytesPerToken = ids.map((id) => this.tokenBytes(id));
    const source = text ?? this.decode(ids);
    const sourceBytes = new TextEncoder().encode(source);
    // byte index -> char (UTF-16) index of the character that holds it
    const charAt = new Int32Array(sourceBytes.length + 1);
    {
      let b = 0;
      let c = 0;
      for (const ch of source) {
        const n = new TextEncoder().encode(ch).length;
        for (let k = 0; k < n; k++) charAt[b + k] = c;
        b += n;
        c += ch.length;
      }
      charAt[sourceBytes.length] = source.length;
    }
    const total = bytesPerToken.reduce((a, b) => a + b.length, 0);
    const exact = total === sourceBytes.length && this.byteLevel;
    if (!exact && text !== undefined && !this.byteLevel) {
      const found = this.findInText(ids, source);
      if (found) return found;
    }
    const out: TokenInfo[] = [];
    let byte = 0;
    let prevChars = 0;
    ids.forEach((id, i) => {
      const tb = bytesPerToken[i];
      let start: number, end: number, byteStart: number, byteEnd: number;
      if (exact) {
        byteStart = byte;
        byteEnd = byte + tb.length;
        byte = byteEnd;
        start = charAt[byteStart];
        // end: past the character holding the token's last byte
        end = tb.length === 0 ? start : byteEnd >= sourceBytes.length ? source.length : charAt[byteEnd] > charAt[byteEnd - 1] ? charAt[byteEnd] : nextCharStart(charAt, byteEnd, source.length);
      } else {
        const upto = this.decode(ids.slice(0, i + 1)).length;
        start = prevChars;
        end = Math.max(start, Math.min(upto, source.length));
        prevChars = end;
        byteStart = new TextEncoder().encode(source.slice(0, start)).length;
        byteEnd = byteStart + new TextEncoder().encode(source.slice(start, end)).length;
      }
      out.push({ id, text: new TextDecoder().decode(tb), start, end, byteStart, byteEnd, ...(this.specialIds.has(id) ? { special: true } : {}) });
    });
    return out;
  }

  /**
   * Offsets for a tokenizer that normalizes its input (lower-cases, strips accents, marks word
   * starts: WordPiece, Unigram, WordLevel): each token's surface (without "##" or "▁") is looked for
   * in the normalized text from where the previous one ended; a special token the tokenizer added
   * ([CLS], [SEP]) takes no room. Undefined when a token is not found (the caller falls back).
   */
  private findInText(ids: number[], source: string): TokenInfo[] | undefined {
    const lower = source.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
    // NFD and removing marks can change the length: map back only when it did not
    const haystack = lower.length === source.length ? lower : source.toLowerCase();
    const out: TokenInfo[] = [];
    let at = 0;
    const bytesBefore = (i: number) => Buffer.byteLength(source.slice(0, i));
    for (const id of ids) {
      const raw = this.idToToken.get(id) ?? "";
      const special = this.specialIds.has(id);
      let surface = raw;
      if (this.continuingPrefix && surface.startsWith(this.continuingPrefix) && surface.length > this.continuingPrefix.length) surface = surface.slice(this.continuingPrefix.length);
      surface = surface.replace(/^[▁Ġ]+/, "").toLowerCase();
      let start = -1;
      if (surface.length > 0) {
        const k = haystack.indexOf(surface, at);
        // only across whitespace from where the last token ended
        if (k >= 0 && /^\s*$/.test(haystack.slice(at, k))) start = k;
      }
      if (start < 0) {
        const unknown = id === this.unkId || raw === "[UNK]" || raw === "<unk>";
        if (!special && !unknown && surface.length > 0) return undefined;
        // an unknown token takes the next non-space run (the word the vocabulary lacks); another special one no room
        const ws = /^\s*/.exec(haystack.slice(at))![0].length;
        const s0 = at + ws;
        const e0 = unknown ? s0 + (/^\S+/.exec(source.slice(s0))?.[0].length ?? 0) : s0;
        out.push({ id, text: raw, start: s0, end: e0, byteStart: bytesBefore(s0), byteEnd: bytesBefore(e0), ...(special && !unknown ? { special: true } : {}) });
        at = e0;
        continue;
      }
      const end = start + surface.length;
      out.push({ id, text: source.slice(start, end), start, end, byteStart: bytesBefore(start), byteEnd: bytesBefore(end) });
      at = end;
    }
    return out;
  }
}

function nextCharStart(charAt: Int32Array, byte: number, total: number): number {
  const c = charAt[byte - 1];
  for (let b = byte; b < charAt.length; b++) if (charAt[b] > c) return charAt[b];
  return total;
}
