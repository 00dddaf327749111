// safetensors: F16 / BF16 decoding against hand tables of bit patterns, encoding against a
// rounding done here by search (nearest value, ties to even), round trips of each dtype, lazy reads,
// sharded checkpoints, and every header or index the reader refuses, naming the file and tensor.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  f32ToBf16Bits,
  f32ToF16Bits,
  INDEX_FILE,
  MAX_HEADER_BYTES,
  NamedTensor,
  openCheckpointWeights,
  readSafetensors,
  SafetensorsFile,
  writeSafetensors,
  writeShardedSafetensors,
} from "../../engine/formats/safetensors";
import { EngineError } from "../../protocol/errors";
import { tempDir } from "../helpers";

/** A safetensors file written here byte by byte: the 8-byte length (or `declared`), the header text, the data. */
function rawFile(header: object | string, data: Uint8Array = new Uint8Array(0), declared?: bigint): string {
  const text = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declared ?? BigInt(text.length));
  const file = path.join(tempDir("st"), "t.safetensors");
  fs.writeFileSync(file, Buffer.concat([len, text, data]));
  return file;
}

const u16 = (...bits: number[]) => new Uint8Array(Uint16Array.from(bits).buffer);

test("F16 decodes by the hand table: 1, -2, 65504, the smallest subnormal, infinities, NaN, zeros", () => {
  const table: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 5.960464477539063e-8], // 2^-24
    [0x03ff, 6.097555160522461e-5], // the largest subnormal, 1023 * 2^-24
    [0x0400, 6.103515625e-5], // the smallest normal, 2^-14
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x7e00, NaN],
    [0x0000, 0],
    [0x8000, -0],
  ];
  const file = rawFile({ h: { dtype: "F16", shape: [table.length], data_offsets: [0, 2 * table.length] } }, u16(...table.map(([b]) => b)));
  const got = SafetensorsFile.open(file).read("h");
  table.forEach(([bits, want], i) => assert.ok(Object.is(got[i], want), `0x${bits.toString(16)}: ${got[i]} != ${want}`));
});

test("BF16 decodes by the hand table", () => {
  const table: [number, number][] = [
    [0x3f80, 1],
    [0xc000, -2],
    [0x4049, 3.140625],
    [0x7f7f, 3.3895313892515355e38],
    [0x0001, 2 ** -133],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x7fc0, NaN],
    [0x8000, -0],
  ];
  const file = rawFile({ b: { dtype: "BF16", shape: [table.length], data_offsets: [0, 2 * table.length] } }, u16(...table.map(([b]) => b)));
  const got = SafetensorsFile.open(file).read("b");
  table.forEach(([bits, want], i) => assert.ok(Object.is(got[i], want), `0x${bits.toString(16)}: ${got[i]} != ${want}`));
});

// The rounding worked out here differently from the encoder: every finite float16 value decoded from
// its fields, sorted; the nearest to x found by binary search, a tie going to the even bit pattern.
const f16Positive: { value: number; bits: number }[] = [];
for (let bits = 0; bits < 0x7c00; bits++) {
  const e = bits >> 10;
  const m = bits & 0x3ff;
  f16Positive.push({ value: e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15), bits });
}
function expectedF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const max = f16Positive[f16Positive.length - 1];
  // past 65504 + half an ulp (2^4) is infinity; exactly half goes to even, which is infinity (0x7c00)
  if (a >= max.value + 16) return sign | 0x7c00;
  let lo = 0;
  let hi = f16Positive.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (f16Positive[mid].value <= a) lo = mid;
    else hi = mid;
  }
  const [below, above] = [f16Positive[lo], f16Positive[hi]];
  if (a <= below.value) return sign | below.bits;
  const dl = a - below.value;
  const dh = above.value - a;
  return sign | (dl < dh ? below.bits : dh < dl ? above.bits : below.bits % 2 === 0 ? below.bits : above.bits);
}

function expectedBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (Number.isNaN(x)) return 0x7fc0;
  const down = u[0] & 0xffff0000;
  const lower = new Float32Array(new Uint32Array([down]).buffer)[0];
  const upper = new Float32Array(new Uint32Array([down + 0x10000]).buffer)[0]; // the next bfloat16 away from zero (an infinity past the largest)
  const dl = Math.abs(f[0] - lower);
  const dh = Math.abs(upper - f[0]);
  const pick = dl < dh ? down : dh < dl ? down + 0x10000 : (down >>> 16) % 2 === 0 ? down : down + 0x10000;
  return pick >>> 16;
}

function samples(): number[] {
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out = [0, -0, 1, -2, 65504, 65519.99, 65520, 70000, -1e9, Infinity, -Infinity, NaN, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -26, 1e-40];
  // ties: halfway between neighbours (even below, odd below)
  out.push(1 + 2 ** -11, 1 + 3 * 2 ** -11, 1024 + 0.5, 1025 + 0.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8);
  for (let i = 0; i < 20000; i++) out.push((rand() - 0.5) * 2 ** Math.floor(rand() * 60 - 30));
  return out.map((x) => Math.fround(x));
}

test("writing F16 and BF16 rounds to nearest, ties to even (checked against a search over every value)", () => {
  const xs = samples();
  for (const x of xs) {
    assert.equal(f32ToF16Bits(x), expectedF16(x), `f16 of ${x}`);
    assert.equal(f32ToBf16Bits(x), expectedBf16(x), `bf16 of ${x}`);
  }
  // the same through files: the stored bits, and the values read back
  const data = Float32Array.from(xs);
  for (const dtype of ["F16", "BF16"] as const) {
    const file = path.join(tempDir("st"), "w.safetensors");
    writeSafetensors(file, new Map([["x", { shape: [xs.length], data }]]), { note: "rounded" }, { dtype });
    const f = SafetensorsFile.open(file);
    assert.equal(f.info("x").dtype, dtype);
    assert.deepEqual(f.metadata, { note: "rounded" });
    const bits = new Uint16Array(f.readBytes("x").buffer);
    const want = xs.map(dtype === "F16" ? expectedF16 : expectedBf16);
    assert.deepEqual([...bits], want);
    // read back = the value of the expected bits, decoded here
    const back = f.read("x");
    xs.forEach((_, i) => {
      const w = want[i];
      const value = dtype === "BF16" ? new Float32Array(new Uint32Array([w << 16]).buffer)[0] : (w & 0x8000 ? -1 : 1) * ((w & 0x7c00) === 0x7c00 ? ((w & 0x3ff) ? NaN : Infinity) : (f16Positive[w & 0x7fff].value));
      assert.ok(Object.is(back[i], Math.fround(value)), `${dtype} ${xs[i]}: ${back[i]} != ${value}`);
    });
    f.close();
  }
});

test("round trips: F32 exactly, each tensor in its own dtype; I32 and I64 read as integers and floats; F64 narrowed", () => {
  const a = Float32Array.from({ length: 600 }, (_, i) => Math.fround(Math.sin(i) * 1000));
  const tensors = new Map<string, NamedTensor>([
    ["a.f32", { shape: [20, 30], data: a }],
    ["b.f16", { shape: [600], data: a, dtype: "F16" }],
    ["c.bf16", { shape: [2, 300], data: a, dtype: "BF16" }],
    ["d.scalar", { shape: [], data: Float32Array.of(-7.25) }],
    ["e.empty", { shape: [0, 4], data: new Float32Array(0) }],
  ]);
  const file = path.join(tempDir("st"), "r.safetensors");
  writeSafetensors(file, tensors, { step: "3" });
  const r = readSafetensors(file);
  assert.deepEqual(r.metadata, { step: "3" });
  assert.deepEqual(r.tensors.get("a.f32"), { shape: [20, 30], data: a });
  assert.deepEqual(r.tensors.get("b.f16")!.data, Float32Array.from(a, (x) => new Float32Array([expectedF16Value(x)])[0]));
  assert.deepEqual(r.tensors.get("c.bf16")!.data, Float32Array.from(a, (x) => new Float32Array(new Uint32Array([expectedBf16(x) << 16]).buffer)[0]));
  assert.deepEqual(r.tensors.get("d.scalar"), { shape: [], data: Float32Array.of(-7.25) });
  assert.deepEqual(r.tensors.get("e.empty"), { shape: [0, 4], data: new Float32Array(0) });

  const i32 = Int32Array.of(-3, 0, 2 ** 31 - 1, 16777216);
  const i64 = BigInt64Array.of(-5n, 2n ** 40n, 9007199254740993n);
  const f64 = Float64Array.of(Math.PI, -1e300);
  const data = Buffer.concat([Buffer.from(i32.buffer), Buffer.from(i64.buffer), Buffer.from(f64.buffer)]);
  const ints = rawFile(
    {
      i: { dtype: "I32", shape: [4], data_offsets: [0, 16] },
      l: { dtype: "I64", shape: [3], data_offsets: [16, 40] },
      d: { dtype: "F64", shape: [2], data_offsets: [40, 56] },
    },
    data,
  );
  const f = SafetensorsFile.open(ints);
  assert.deepEqual(f.readIntegers("i"), i32);
  assert.deepEqual(f.readIntegers("l"), i64);
  assert.deepEqual(f.read("i"), Float32Array.of(-3, 0, 2 ** 31, 16777216));
  assert.deepEqual(f.read("l"), Float32Array.of(-5, 2 ** 40, 9007199254740992));
  assert.deepEqual(f.read("d"), Float32Array.of(Math.fround(Math.PI), -Infinity));
  assert.throws(() => f.readIntegers("d"), /tensor "d" is F64, not an I32 or I64 tensor/);
  f.close();
  assert.throws(() => f.read("i"), (e: unknown) => e instanceof EngineError && /after close\(\)/.test(e.message));
});

function expectedF16Value(x: number): number {
  const w = expectedF16(x);
  return (w & 0x8000 ? -1 : 1) * f16Positive[w & 0x7fff].value;
}

test("reading is lazy: opening reads the header; a tensor's bytes are read when asked", () => {
  const file = path.join(tempDir("st"), "lazy.safetensors");
  writeSafetensors(file, new Map([["x", { shape: [4], data: Float32Array.of(1, 2, 3, 4) }], ["y", { shape: [2], data: Float32Array.of(5, 6) }]]));
  const f = SafetensorsFile.open(file);
  // Rewrite x's bytes in place after opening: the read sees the file as it is then.
  const at = f.info("x").begin;
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, new Uint8Array(Float32Array.of(9, 8, 7, 6).buffer), 0, 16, at);
  fs.closeSync(fd);
  assert.deepEqual(f.read("x"), Float32Array.of(9, 8, 7, 6));
  assert.deepEqual(f.read("y"), Float32Array.of(5, 6));
  assert.deepEqual(f.names().sort(), ["x", "y"]);
  f.close();
});

test("sharded checkpoints: written and read as one; a single model.safetensors too", () => {
  const tensors = new Map<string, NamedTensor>();
  for (let i = 0; i < 7; i++) tensors.set(`layer.${i}.weight`, { shape: [10, 10], data: Float32Array.from({ length: 100 }, (_, k) => i * 1000 + k), dtype: i % 3 === 0 ? "BF16" : undefined });
  tensors.set("embed", { shape: [50, 8], data: Float32Array.from({ length: 400 }, (_, k) => k / 8) });
  const dir = tempDir("shards");
  const shards = writeShardedSafetensors(dir, tensors, { maxShardBytes: 1000 });
  assert.ok(shards.length >= 4, shards.join(", "));
  assert.equal(shards[0], `model-00001-of-${String(shards.length).padStart(5, "0")}.safetensors`);
  const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), "utf8"));
  assert.equal(index.metadata.total_size, 7 * 400 - 3 * 200 + 1600);
  for (const target of [dir, path.join(dir, INDEX_FILE)]) {
    const w = openCheckpointWeights(target);
    assert.equal(w.files.length, shards.length);
    assert.deepEqual(w.names().sort(), [...tensors.keys()].sort());
    assert.deepEqual(w.shape("embed"), [50, 8]);
    assert.equal(w.dtype("layer.3.weight"), "BF16");
    assert.equal(w.dtype("layer.4.weight"), "F32");
    assert.deepEqual(w.read("layer.4.weight"), tensors.get("layer.4.weight")!.data);
    assert.deepEqual(w.read("embed"), tensors.get("embed")!.data);
    assert.deepEqual(w.read("layer.3.weight"), Float32Array.from(tensors.get("layer.3.weight")!.data, (x) => new Float32Array(new Uint32Array([expectedBf16(x) << 16]).buffer)[0]));
    assert.throws(() => w.read("nope"), /no tensor named "nope"/);
    w.close();
  }
  // model.safetensors is read when there is one
  const single = tempDir("single");
  writeSafetensors(path.join(single, "model.safetensors"), tensors, { format: "pt" }, { dtype: "F16" });
  const w = openCheckpointWeights(single);
  assert.deepEqual(w.metadata, { format: "pt" });
  assert.equal(w.dtype("embed"), "F16");
  assert.deepEqual(w.read("embed"), tensors.get("embed")!.data); // k / 8 for k < 400: exact in float16
  w.close();
  assert.throws(() => openCheckpointWeights(tempDir("empty")), (e: unknown) => e instanceof EngineError && e.code === "MODEL_NOT_FOUND" && /no model\.safetensors or model\.safetensors\.index\.json/.test(e.message));
});

/** Asserts `f` throws MODEL_INVALID (or `code`) with a message matching every pattern. */
function refused(f: () => unknown, patterns: RegExp[], code = "MODEL_INVALID"): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, code, e.message);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("headers refused, naming the file and the tensor", () => {
  const f4 = new Uint8Array(16);
  const ok = (extra: object = {}) => ({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, ...extra });
  const cases: [string, RegExp][] = [];
  const add = (file: string, re: RegExp) => cases.push([file, re]);
  const tiny = path.join(tempDir("st"), "tiny.safetensors");
  fs.writeFileSync(tiny, Buffer.from([1, 2, 3]));
  add(tiny, /shorter than its 8-byte header length/);
  add(rawFile(ok(), f4, BigInt(MAX_HEADER_BYTES) + 1n), /header says it is 100000001 bytes, past the 100000000 read/);
  add(rawFile(ok(), f4, 10_000n), /header says it is 10000 bytes, but the file has \d+ after its length/);
  add(rawFile("{not json", f4), /header is not JSON/);
  add(rawFile(Buffer.from([0x7b, 0xff, 0x7d]).toString("latin1"), f4), /header is not JSON/);
  add(rawFile("[1, 2]"), /header is not a JSON object/);
  add(rawFile(ok({ __metadata__: { n: 1 } }), f4), /"__metadata__" must map names to strings/);
  add(rawFile({ a: { dtype: "F13", shape: [4], data_offsets: [0, 16] } }, f4), /tensor "a" has dtype "F13", not one of BOOL, U8/);
  add(rawFile({ a: { dtype: "F32", shape: [-4], data_offsets: [0, 16] } }, f4), /tensor "a" has shape \[-4\]/);
  add(rawFile({ a: { dtype: "F32", shape: [1.5], data_offsets: [0, 16] } }, f4), /tensor "a" has shape \[1\.5\]/);
  add(rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [16, 0] } }, f4), /tensor "a" has data_offsets \[16,0\]/);
  add(rawFile({ a: { dtype: "F32", shape: [4] } }, f4), /tensor "a" has data_offsets undefined/);
  add(rawFile({ a: "F32" }, f4), /tensor "a" is not described by an object/);
  add(rawFile({ a: { dtype: "F16", shape: [4], data_offsets: [0, 16] } }, f4), /tensor "a" is F16 \[4\] \(8 bytes\) but data_offsets \[0, 16\] hold 16/);
  add(rawFile({ a: { dtype: "F32", shape: [2 ** 40, 2 ** 20], data_offsets: [0, 16] } }, f4), /tensor "a" has shape \[1099511627776, 1048576\], too large/);
  add(rawFile({ a: { dtype: "F32", shape: [8], data_offsets: [0, 32] } }, f4), /tensor "a" ends at byte 32 of the data, past its 16 bytes \(truncated\?\)/);
  add(rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, f4), /tensors "a" and "b" overlap \(bytes 8\.\.16 of the data\)/);
  add(rawFile({ a: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, f4), /bytes 0\.\.8 of the data belong to no tensor \(before "a"\)/);
  add(rawFile(ok(), new Uint8Array(20)), /4 bytes after the last tensor belong to no tensor/);
  add(rawFile({ "": { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f4), /a tensor has an empty name/);
  for (const [file, re] of cases) refused(() => SafetensorsFile.open(file), [new RegExp(`^${esc(file)}: `), re]);
  refused(() => readSafetensors(cases[3][0]), [/header is not JSON/]);
  refused(() => SafetensorsFile.open(path.join(tempDir("st"), "none.safetensors")), [/no such safetensors file/], "MODEL_NOT_FOUND");
  // a dtype the header may hold but read does not turn into floats
  const u8 = SafetensorsFile.open(rawFile({ m: { dtype: "U8", shape: [4], data_offsets: [0, 4] } }, new Uint8Array([1, 2, 3, 4])));
  refused(() => u8.read("m"), [/tensor "m" is U8; only F32, F16, BF16, F64, I32, I64 are read/], "UNSUPPORTED");
  assert.deepEqual(u8.readBytes("m"), new Uint8Array([1, 2, 3, 4]));
  refused(() => u8.read("n"), [/no tensor named "n"/]);
  u8.close();
});

test("sharded indexes refused: shards outside the folder (.., absolute, a symbolic link), missing, a tensor not in its shard, a malformed index", () => {
  const make = (edit: (index: { metadata: object; weight_map: Record<string, string> }, dir: string) => void): string => {
    const dir = tempDir("idx");
    writeShardedSafetensors(dir, new Map([["a", { shape: [64], data: new Float32Array(64) }], ["b", { shape: [64], data: new Float32Array(64) }]]), { maxShardBytes: 256 });
    const file = path.join(dir, INDEX_FILE);
    const index = JSON.parse(fs.readFileSync(file, "utf8"));
    edit(index, dir);
    fs.writeFileSync(file, JSON.stringify(index));
    return dir;
  };
  const outside = (dir: string) => {
    const other = tempDir("elsewhere");
    fs.copyFileSync(path.join(dir, "model-00002-of-00002.safetensors"), path.join(other, "x.safetensors"));
    return path.join(other, "x.safetensors");
  };
  const cases: [string, RegExp[]][] = [
    [make((ix, dir) => { fs.copyFileSync(path.join(dir, "model-00002-of-00002.safetensors"), path.join(dir, "..", "up.safetensors")); ix.weight_map.b = "../up.safetensors"; }), [/shard "\.\.\/up\.safetensors" \(of tensor "b"\) leads outside the folder: refused/]],
    [make((ix) => { ix.weight_map.b = "sub/../../up.safetensors"; }), [/shard "sub\/\.\.\/\.\.\/up\.safetensors" \(of tensor "b"\) leads outside the folder/]],
    [make((ix, dir) => { ix.weight_map.b = outside(dir); }), [/shard "\/.*x\.safetensors" \(of tensor "b"\) is an absolute path: refused/]],
    [make((ix) => { ix.weight_map.b = "/etc/passwd"; }), [/shard "\/etc\/passwd" \(of tensor "b"\) is an absolute path/]],
    [make((ix, dir) => { fs.symlinkSync(outside(dir), path.join(dir, "link.safetensors")); ix.weight_map.b = "link.safetensors"; }), [/shard "link\.safetensors" \(of tensor "b"\) is a symbolic link to .*x\.safetensors, outside the folder/]],
    [make((ix) => { ix.weight_map.b = "model-00009-of-00009.safetensors"; }), [/shard .*model-00009-of-00009\.safetensors \(of tensor "b"\) is missing/]],
    [make((ix) => { ix.weight_map.c = "model-00001-of-00002.safetensors"; }), [/tensor "c" is not in its shard .*model-00001-of-00002\.safetensors/]],
    [make((ix) => { (ix as { weight_map: unknown }).weight_map = ["a"]; }), [/expected \{"metadata": \{\.\.\.\}, "weight_map"/]],
    [make((ix) => { (ix.weight_map as Record<string, unknown>).b = 3; }), [/tensor "b" maps to 3, not a file name/]],
    [make((ix) => { (ix as { metadata: unknown }).metadata = "x"; }), [/"metadata" is not an object/]],
  ];
  for (const [dir, patterns] of cases) refused(() => openCheckpointWeights(dir), [new RegExp(`^${esc(path.join(dir, INDEX_FILE))}: `), ...patterns]);
  const broken = make(() => {});
  fs.writeFileSync(path.join(broken, INDEX_FILE), "{");
  refused(() => openCheckpointWeights(broken), [/model\.safetensors\.index\.json: not valid JSON/]);
  // a damaged shard is refused naming the shard
  const damaged = make(() => {});
  fs.truncateSync(path.join(damaged, "model-00002-of-00002.safetensors"), 100);
  refused(() => openCheckpointWeights(damaged), [new RegExp(`^${esc(path.join(damaged, "model-00002-of-00002.safetensors"))}: tensor "b" ends at byte 256`)]);
  // a symbolic link inside the folder is fine
  const inside = make((ix, dir) => { fs.renameSync(path.join(dir, "model-00002-of-00002.safetensors"), path.join(dir, "real.bin")); fs.symlinkSync("real.bin", path.join(dir, "model-00002-of-00002.safetensors")); });
  const w = openCheckpointWeights(inside);
  assert.deepEqual(w.read("b"), new Float32Array(64));
  w.close();
});
