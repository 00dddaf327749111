// GPT-2's reversible map between bytes and printable characters, used by byte-level BPE
// vocabularies (the ByteLevel pre-tokenizer and decoder of Hugging Face tokenizers).

/** table[byte] = the printable character that stands for it. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table: string[] = new Array(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i])));
  return table;
}

/** The inverse: character -> byte. */
export function unicodeToBytes(): Map<string, number> {
  return new Map(bytesToUnicode().map((c, b) => [c, b]));
}
