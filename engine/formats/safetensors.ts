// safetensors: an 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
// {dtype, shape, data_offsets: [begin, end]} (offsets into the bytes after the header) plus an
// optional "__metadata__" of strings, then the raw little-endian tensor bytes, in one piece with no
// holes. Reading is lazy: opening a file reads and checks its header only; a tensor's bytes are read
// when it is asked for. F32, F16 and BF16 read as Float32Array (I32 and I64 too, and exactly as
// integers); a sharded checkpoint (model.safetensors.index.json and its shards) reads as one.
import { bfloat16ToFloat32, f16BitsToF32, float16ToFloat32 } from "./halfFloats";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";
import { escapesFolder, folderFile } from "./folderPaths";

export type SafetensorsDtype = "BOOL" | "U8" | "I8" | "F8_E4M3" | "F8_E5M2" | "I16" | "U16" | "F16" | "BF16" | "I32" | "U32" | "F32" | "F64" | "I64" | "U64";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 };

/** The dtypes `read` turns into floats. */
const READABLE = ["F32", "F16", "BF16", "F64", "I32", "I64"] as const;

/** The dtypes the writer writes (from float32 values; F16 and BF16 rounded to nearest, ties to even). */
export type WrittenDtype = "F32" | "F16" | "BF16";

/** The longest header read (as the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
  /** How the writer stores it (the writer's own default when absent). */
  dtype?: WrittenDtype;
}

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

// ---- float16 / bfloat16 <-> float32 ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits nearest `x` (ties to even); overflow to infinity, NaN stays NaN (quiet). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // a float16 subnormal (or zero): the value in units of 2^-24
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // a carry into the exponent is right (up to infinity)
  return sign | r;
}


/** The bfloat16 bits nearest `x` (ties to even); NaN stays NaN (quiet). */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}


export { f16BitsToF32 };

// ---- reading ----

function invalid(file: string, what: string): EngineError {
  return new EngineError("MODEL_INVALID", `${file}: ${what}`);
}

function readAt(fd: number, file: string, position: number, into: Uint8Array): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (n === 0) throw invalid(file, `ends at byte ${position + done}, inside the ${into.length} bytes read from ${position} (truncated?)`);
    done += n;
  }
}

/** Checks a parsed header against the file's data size; the tensors by name, with absolute byte ranges. */
function checkHeader(file: string, header: unknown, dataStart: number, fileSize: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw invalid(file, "the safetensors header is not a JSON object");
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const dataSize = fileSize - dataStart;
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info) || Object.values(info).some((v) => typeof v !== "string")) throw invalid(file, `"__metadata__" must map names to strings`);
      metadata = info as Record<string, string>;
      continue;
    }
    const bad = (why: string) => invalid(file, `tensor "${name}" ${why}`);
    if (name === "") throw invalid(file, "a tensor has an empty name");
    if (typeof info !== "object" || info === null || Array.isArray(info)) throw bad("is not described by an object {dtype, shape, data_offsets}");
    const { dtype, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) throw bad(`has dtype ${JSON.stringify(dtype)}, not one of ${Object.keys(DTYPE_BYTES).join(", ")}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`has shape ${JSON.stringify(shape)} (expected a list of sizes >= 0)`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0) || offsets[0] > offsets[1]) {
      throw bad(`has data_offsets ${JSON.stringify(offsets)} (expected [begin, end] with 0 <= begin <= end)`);
    }
    const [begin, end] = offsets as [number, number];
    let bytes = DTYPE_BYTES[dtype as SafetensorsDtype];
    for (const d of shape as number[]) {
      bytes *= d;
      if (!Number.isSafeInteger(bytes)) throw bad(`has shape [${shape.join(", ")}], too large`);
    }
    if (end - begin !== bytes) throw bad(`is ${dtype} [${shape.join(", ")}] (${bytes} bytes) but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    if (end > dataSize) throw bad(`ends at byte ${end} of the data, past its ${dataSize} bytes (truncated?)`);
    tensors.set(name, { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end });
  }
  // The data is the tensors one after another: no overlap, no hole, nothing after the last.
  const sorted = [...tensors.entries()].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  let previous: string | undefined;
  for (const [name, t] of sorted) {
    if (t.begin < at) throw invalid(file, `tensors "${previous}" and "${name}" overlap (bytes ${t.begin - dataStart}..${at - dataStart} of the data)`);
    if (t.begin > at) throw invalid(file, `bytes ${at - dataStart}..${t.begin - dataStart} of the data belong to no tensor (before "${name}")`);
    at = t.end;
    previous = name;
  }
  if (at !== fileSize) throw invalid(file, `${fileSize - at} bytes after the last tensor belong to no tensor`);
  return { tensors, metadata };
}

/** One safetensors file, open: its header read and checked; tensors read when asked. */
export class SafetensorsFile {
  private fd: number | undefined;

  private constructor(
    readonly file: string,
    fd: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.fd = fd;
  }

  static open(file: string): SafetensorsFile {
    if (!fs.existsSync(file)) throw new EngineError("MODEL_NOT_FOUND", `${file}: no such safetensors file`);
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) throw invalid(file, "not a safetensors file (shorter than its 8-byte header length)");
      const head = new Uint8Array(8);
      readAt(fd, file, 0, head);
      const n = Buffer.from(head.buffer).readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES)) throw invalid(file, `the safetensors header says it is ${n} bytes, past the ${MAX_HEADER_BYTES} read`);
      if (8n + n > BigInt(size)) throw invalid(file, `the safetensors header says it is ${n} bytes, but the file has ${size - 8} after its length (truncated, or not safetensors)`);
      const bytes = new Uint8Array(Number(n));
      readAt(fd, file, 8, bytes);
      let header: unknown;
      try {
        header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      } catch (e) {
        throw invalid(file, `the safetensors header is not JSON (${(e as Error).message})`);
      }
      const { tensors, metadata } = checkHeader(file, header, 8 + Number(n), size);
      return new SafetensorsFile(file, fd, tensors, metadata);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw invalid(this.file, `no tensor named "${name}"`);
    return t;
  }

  /** The tensor's bytes as stored (little-endian). */
  readBytes(name: string): Uint8Array {
    const t = this.info(name);
    if (this.fd === undefined) throw new EngineError("INTERNAL", `${this.file}: read "${name}" after close()`);
    const out = new Uint8Array(t.end - t.begin);
    readAt(this.fd, this.file, t.begin, out);
    return out;
  }

  /** The tensor's values as float32: F32 as stored, F16 / BF16 / F64 converted, I32 / I64 as the nearest float32. */
  read(name: string): Float32Array {
    const t = this.info(name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    switch (t.dtype) {
      case "F32": {
        const out = new Float32Array(n);
        if (this.fd === undefined) throw new EngineError("INTERNAL", `${this.file}: read "${name}" after close()`);
        readAt(this.fd, this.file, t.begin, new Uint8Array(out.buffer));
        return out;
      }
      case "F16": {
        return float16ToFloat32(new Uint16Array(this.readBytes(name).buffer));
      }
      case "BF16":
        return bfloat16ToFloat32(new Uint16Array(this.readBytes(name).buffer));
      case "F64":
        return Float32Array.from(new Float64Array(this.readBytes(name).buffer));
      case "I32":
        return Float32Array.from(new Int32Array(this.readBytes(name).buffer));
      case "I64":
        return Float32Array.from(new BigInt64Array(this.readBytes(name).buffer), (v) => Number(v));
      default:
        throw new EngineError("UNSUPPORTED", `${this.file}: tensor "${name}" is ${t.dtype}; only ${READABLE.join(", ")} are read`);
    }
  }

  /** An integer tensor's values exactly: I32 as Int32Array, I64 as BigInt64Array. */
  readIntegers(name: string): Int32Array | BigInt64Array {
    const t = this.info(name);
    if (t.dtype === "I32") return new Int32Array(this.readBytes(name).buffer);
    if (t.dtype === "I64") return new BigInt64Array(this.readBytes(name).buffer);
    throw new EngineError("UNSUPPORTED", `${this.file}: tensor "${name}" is ${t.dtype}, not an I32 or I64 tensor`);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads every tensor of `file` as float32 (F32, F16, BF16, F64, I32, I64), with its metadata. */
export function readSafetensors(file: string): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  const f = SafetensorsFile.open(file);
  try {
    const tensors = new Map<string, NamedTensor>();
    for (const [name, t] of f.tensors) tensors.set(name, { shape: t.shape, data: f.read(name) });
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    f.close();
  }
}

// ---- a checkpoint folder: model.safetensors, or model.safetensors.index.json and its shards ----

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

export interface CheckpointWeights {
  /** The files read (one, or the shards). */
  readonly files: string[];
  /** The single file's "__metadata__", or the index's "metadata" (numbers and all). */
  readonly metadata: Readonly<Record<string, unknown>>;
  names(): string[];
  shape(name: string): number[];
  dtype(name: string): SafetensorsDtype;
  /** The tensor's values as float32, read from its file now. */
  read(name: string): Float32Array;
  close(): void;
}

/**
 * The weights of a checkpoint folder (or one .safetensors file, or an index file): model.safetensors
 * when there is one, else the shards model.safetensors.index.json names. Every shard's header is
 * read and checked now; shard names that are absolute or lead outside the folder are refused.
 */
export function openCheckpointWeights(p: string): CheckpointWeights {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) throw new EngineError("MODEL_NOT_FOUND", `${abs}: not found`);
  const isFile = fs.statSync(abs).isFile();
  const dir = isFile ? path.dirname(abs) : abs;
  // the file the user named is read as named; the folder's own files must lie in it
  const single = isFile ? (abs.endsWith(".json") ? undefined : abs) : folderFile(dir, path.join(dir, SINGLE_FILE));
  if (single && fs.existsSync(single)) {
    const f = SafetensorsFile.open(single);
    return {
      files: [single],
      metadata: f.metadata,
      names: () => f.names(),
      shape: (name) => [...f.info(name).shape],
      dtype: (name) => f.info(name).dtype,
      read: (name) => f.read(name),
      close: () => f.close(),
    };
  }
  const indexFile = isFile ? abs : folderFile(dir, path.join(dir, INDEX_FILE));
  if (!fs.existsSync(indexFile)) throw new EngineError("MODEL_NOT_FOUND", `${dir}: no ${SINGLE_FILE} or ${INDEX_FILE}`);
  let index: unknown;
  try {
    index = JSON.parse(fs.readFileSync(indexFile, "utf8"));
  } catch (e) {
    throw invalid(indexFile, `not valid JSON (${(e as Error).message})`);
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof index !== "object" || index === null || Array.isArray(index) || typeof map !== "object" || map === null || Array.isArray(map)) {
    throw invalid(indexFile, `expected {"metadata": {...}, "weight_map": {tensor name: shard file}}`);
  }
  const metadata = (index as { metadata?: unknown }).metadata ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) throw invalid(indexFile, `"metadata" is not an object`);
  const shards = new Map<string, SafetensorsFile>();
  const owner = new Map<string, SafetensorsFile>();
  try {
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== "string" || shard === "") throw invalid(indexFile, `tensor "${name}" maps to ${JSON.stringify(shard)}, not a file name`);
      if (!shards.has(shard)) {
        const refuse = (why: string) => invalid(indexFile, `shard "${shard}" (of tensor "${name}") ${why}: refused (shards must lie in ${dir})`);
        if (path.isAbsolute(shard) || path.win32.isAbsolute(shard) || shard.includes("\0")) throw refuse("is an absolute path");
        const file = path.resolve(dir, shard);
        const rel = path.relative(dir, file);
        if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) throw refuse("leads outside the folder");
        if (!fs.existsSync(file)) throw invalid(indexFile, `shard ${file} (of tensor "${name}") is missing`);
        const real = escapesFolder(dir, file);
        if (real !== undefined) throw refuse(`is a symbolic link to ${real}, outside the folder`);
        shards.set(shard, SafetensorsFile.open(file));
      }
      const f = shards.get(shard)!;
      if (!f.tensors.has(name)) throw invalid(indexFile, `tensor "${name}" is not in its shard ${f.file}`);
      owner.set(name, f);
    }
  } catch (e) {
    for (const f of shards.values()) f.close();
    throw e;
  }
  const of = (name: string) => {
    const f = owner.get(name);
    if (!f) throw invalid(indexFile, `no tensor named "${name}"`);
    return f;
  };
  return {
    files: [...shards.values()].map((f) => f.file),
    metadata: metadata as Record<string, unknown>,
    names: () => [...owner.keys()],
    shape: (name) => [...of(name).info(name).shape],
    dtype: (name) => of(name).info(name).dtype,
    read: (name) => of(name).read(name),
    close: () => shards.forEach((f) => f.close()),
  };
}

// ---- writing ----

function tensorBytes(name: string, t: NamedTensor, dtype: WrittenDtype): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) throw new Error(`safetensors: ${name} has shape [${t.shape}] but ${t.data.length} values`);
  if (dtype === "F32") return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const bits = new Uint16Array(n);
  const convert = dtype === "F16" ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < n; i++) bits[i] = convert(t.data[i]);
  return new Uint8Array(bits.buffer);
}

/**
 * Writes `tensors` (in name order) to `file` through a temporary file; each as its own dtype, else
 * `opts.dtype` (F32 by default). F16 and BF16 round to nearest, ties to even.
 */
export function writeSafetensors(file: string, tensors: Map<string, NamedTensor>, metadata: Record<string, string> = {}, opts: { dtype?: WrittenDtype } = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const names = [...tensors.keys()].sort();
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const dtype = t.dtype ?? opts.dtype ?? "F32";
    const bytes = tensorBytes(name, t, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    for (const b of [length, headerBytes, ...parts]) fs.writeSync(fd, b);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Writes a sharded checkpoint into `dir` as Hugging Face does: model-0000i-of-0000n.safetensors,
 * each up to `maxShardBytes` (a tensor larger than that gets a shard of its own), and
 * model.safetensors.index.json ({"metadata": {"total_size"}, "weight_map"}). Returns the shard names.
 */
export function writeShardedSafetensors(dir: string, tensors: Map<string, NamedTensor>, opts: { maxShardBytes: number; dtype?: WrittenDtype; metadata?: Record<string, string> }): string[] {
  const groups: string[][] = [[]];
  let size = 0;
  let total = 0;
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * DTYPE_BYTES[t.dtype ?? opts.dtype ?? "F32"];
    if (size > 0 && size + bytes > opts.maxShardBytes) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1].push(name);
    size += bytes;
    total += bytes;
  }
  fs.mkdirSync(dir, { recursive: true });
  const width = 5;
  const shardName = (i: number) => `model-${String(i + 1).padStart(width, "0")}-of-${String(groups.length).padStart(width, "0")}.safetensors`;
  const weightMap: Record<string, string> = {};
  groups.forEach((names, i) => {
    writeSafetensors(path.join(dir, shardName(i)), new Map(names.map((n) => [n, tensors.get(n)!])), opts.metadata ?? { format: "pt" }, { dtype: opts.dtype });
    for (const n of names) weightMap[n] = shardName(i);
  });
  fs.writeFileSync(path.join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + "\n");
  return groups.map((_, i) => shardName(i));
}
