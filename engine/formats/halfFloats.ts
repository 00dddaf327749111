// 16-bit floats to float32: float16 (IEEE half) through a table of all 65536 values, bfloat16 by
// widening its bits (the upper half of a float32). ONNX graphs exported in float16 keep their
// weights so, and onnxruntime hands float16 tensors back as their bits (a Uint16Array) or, where the
// platform has one, a Float16Array.
/** One float16's value (bits as an integer). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let table: Float32Array | undefined;

/** float16 bits to float32 values (exact: every float16 is a float32). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32(h);
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** bfloat16 bits to float32 values (exact: bfloat16 is float32 without its low 16 bits). */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

/** 16-bit words from little-endian bytes (copied when `bytes` is not 2-aligned). */
export function uint16Words(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0 && bytes.byteLength % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const copy = new Uint8Array(bytes.byteLength - (bytes.byteLength % 2));
  copy.set(bytes.subarray(0, copy.length));
  return new Uint16Array(copy.buffer);
}
