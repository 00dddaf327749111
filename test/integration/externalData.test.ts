// ONNX weights kept as external data: the sample model's float initializers of 1 KiB or more moved
// to `model.onnx_data` (4096-aligned offsets) or to one file per tensor, as exporters over 2 GiB
// write them. The engine gives the same logits (exactly), attention, lens and embeddings as the
// original; the probe copy links the data file rather than copying it; quantize reads it; a location
// absolute or leading out of the model's folder, a missing or short data file, is refused naming it.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineService } from "../../engine/service";
import { DecoderModel } from "../../engine/models/decoder";
import { prepareLens } from "../../engine/formats/onnxLens";
import { decodeOnnx, initializerFloats, readInitializers } from "../../engine/formats/onnxWeights";
import { externalRefs, writeGraphCopy } from "../../engine/formats/externalData";
import { quantizeDynamic } from "../../engine/formats/quantize";
import { EngineError } from "../../protocol/errors";
import { copyModel, EARLY_MODEL, heldoutText, SAMPLE_MODEL, tempDir } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function graphOf(dir: string): onnx.ModelProto {
  const file = path.join(dir, "onnx", "model.onnx");
  return decodeOnnx(file, fs.readFileSync(file));
}

function writeGraph(dir: string, model: onnx.ModelProto): void {
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), onnx.ModelProto.encode(model).finish());
}

/**
 * Rewrites the model folder `dir` with every float initializer of `minBytes` or more (1 KiB) stored
 * as external data: in one file `onnx/model.onnx_data` at 4096-aligned offsets, or one file per
 * tensor under `onnx/weights/`. Returns how many tensors moved.
 */
function externalize(dir: string, layout: "one" | "per-tensor", minBytes = 1024): number {
  const model = graphOf(dir);
  const chunks: Buffer[] = [];
  let offset = 0;
  let moved = 0;
  for (const t of model.graph!.initializer!) {
    const data = initializerFloats(t);
    if (t.dataType !== FLOAT || !data || data.byteLength < minBytes) continue;
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let location: string;
    let at = 0;
    if (layout === "one") {
      const pad = (4096 - (offset % 4096)) % 4096;
      chunks.push(Buffer.alloc(pad), bytes);
      at = offset + pad;
      offset = at + bytes.length;
      location = "model.onnx_data";
    } else {
      location = `weights/${t.name!.replace(/[^\w.-]/g, "_")}.bin`;
      fs.mkdirSync(path.join(dir, "onnx", "weights"), { recursive: true });
      fs.writeFileSync(path.join(dir, "onnx", location), bytes);
    }
    t.externalData = [
      { key: "location", value: location },
      { key: "offset", value: String(at) },
      { key: "length", value: String(bytes.length) },
    ];
    t.rawData = new Uint8Array(0);
    t.floatData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    moved++;
  }
  if (layout === "one") fs.writeFileSync(path.join(dir, "onnx", "model.onnx_data"), Buffer.concat(chunks));
  writeGraph(dir, model);
  return moved;
}

/** A copy of the sample with its own output projection (an initializer lm_head.weight [d, V]: the token embedding's rows permuted). */
function untiedCopy(src = SAMPLE_MODEL): string {
  const dir = copyModel(src);
  const model = graphOf(dir);
  const g = model.graph!;
  const emb = g.initializer!.find((t) => t.name!.endsWith("wte.weight"))!;
  const wte = initializerFloats(emb)!;
  const [V, d] = emb.dims!.map(Number);
  const W = new Float32Array(d * V);
  for (let v = 0; v < V; v++) for (let i = 0; i < d; i++) W[i * V + v] = wte[((7 * v + 3) % V) * d + i];
  g.initializer!.push(onnx.TensorProto.create({ name: "lm_head.weight", dims: [d, V], dataType: FLOAT, rawData: new Uint8Array(W.buffer) }));
  g.node!.find((n) => n.output![0] === "logits")!.input![1] = "lm_head.weight";
  writeGraph(dir, model);
  return dir;
}

/** Bytes on disk under `dir` in files that share no inode with the files under `besides` (hard links of them count nothing). */
function ownBytesOnDisk(dir: string, besides: string): number {
  const inodes = (d: string): fs.Stats[] => fs.readdirSync(d).flatMap((f) => {
    const s = fs.lstatSync(path.join(d, f));
    return s.isDirectory() ? inodes(path.join(d, f)) : [s];
  });
  const shared = new Set(inodes(besides).map((s) => `${s.dev}:${s.ino}`));
  return inodes(dir).filter((s) => !shared.has(`${s.dev}:${s.ino}`)).reduce((a, s) => a + s.blocks * 512, 0);
}

async function refused(p: Promise<unknown> | (() => unknown), ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(
    typeof p === "function" ? async () => p() : p,
    (e: unknown) => {
      assert.ok(e instanceof EngineError, String(e));
      assert.equal(e.code, "MODEL_INVALID", e.message);
      for (const re of patterns) assert.match(e.message, re);
      return true;
    },
  );
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Logits, attention and last hidden state of one forward pass, the lens and the token embedding. */
async function numbers(dir: string, ids: number[]) {
  const model = await DecoderModel.load(dir, ["cpu"]);
  const f = await model.forward(ids, { attention: true, hidden: true });
  const lens = await model.lensForward(ids, { decode: true });
  const out = { logits: f.logits, attention: f.attention, lastHidden: f.lastHidden, lens, tokenEmbedding: model.probe.tokenEmbedding, unembedding: model.probe.unembedding, probeFile: model.probe.file };
  await model.dispose();
  return out;
}

for (const layout of ["one", "per-tensor"] as const) {
  test(`external data (${layout === "one" ? "one data file" : "one file per tensor"}): the same logits, attention, hidden state, lens and embeddings as the weights inside the graph`, async () => {
    const inline = untiedCopy();
    const dir = copyModel(inline);
    const moved = externalize(dir, layout);
    // wte, wpe, lm_head and per block c_attn (weight, bias), attn c_proj, c_fc (weight, bias), mlp c_proj
    assert.equal(moved, 3 + 4 * 6);
    assert.ok(fs.statSync(path.join(dir, "onnx", "model.onnx")).size < 100_000, "the graph keeps no weights");
    const ids = Array.from({ length: 40 }, (_, i) => (i * 97 + 5) % 4096);
    const a = await numbers(inline, ids);
    const b = await numbers(dir, ids);
    assert.deepEqual(b.logits, a.logits);
    assert.equal(b.attention!.length, 4);
    assert.deepEqual(b.attention, a.attention);
    assert.deepEqual(b.lastHidden, a.lastHidden);
    assert.deepEqual(b.lens.residuals, a.lens.residuals);
    assert.deepEqual(b.lens.logits, a.lens.logits);
    assert.deepEqual(b.tokenEmbedding, a.tokenEmbedding);
    assert.ok(b.unembedding, "the output projection is read from its external file");
    assert.deepEqual(b.unembedding, a.unembedding);
    // Every float initializer read back from its file as it was.
    const wa = readInitializers(path.join(inline, "onnx", "model.onnx"));
    const wb = readInitializers(path.join(dir, "onnx", "model.onnx"));
    assert.deepEqual([...wb.keys()].sort(), [...wa.keys()].sort());
    for (const [name, t] of wa) assert.deepEqual(wb.get(name), t, name);

    // Through the service: inspect, contextual and vocabulary embeddings, info.
    const s = new EngineService({ providers: "cpu" });
    const text = heldoutText(300);
    const strip = <T extends object>(r: T) => ({ ...r, ms: 0, cached: false, handle: "", model: "" });
    assert.deepEqual(strip(await s.call("project", { model: dir, method: "pca", text, layer: 2 }, ctx)), strip(await s.call("project", { model: inline, method: "pca", text, layer: 2 }, ctx)));
    assert.deepEqual(strip(await s.call("project", { model: dir, method: "pca", matrix: "output" }, ctx)), strip(await s.call("project", { model: inline, method: "pca", matrix: "output" }, ctx)));
    const info = await s.call("info", { model: dir }, ctx);
    assert.equal(info.parameters, (await s.call("info", { model: inline }, ctx)).parameters);
    assert.deepEqual(info.embeddings, { input: true, output: "own" });
  });
}

test("the probe and lens copies of a graph with external data hard-link the data files: nothing copied", async () => {
  for (const layout of ["one", "per-tensor"] as const) {
    const dir = copyModel();
    externalize(dir, layout);
    const onnxDir = path.join(dir, "onnx");
    const model = await DecoderModel.load(dir, ["cpu"]);
    const lens = prepareLens(path.join(onnxDir, "model.onnx"), 4);
    await model.dispose();
    const data = layout === "one" ? ["model.onnx_data"] : fs.readdirSync(path.join(onnxDir, "weights")).map((f) => `weights/${f}`);
    const dataBytes = data.reduce((a, f) => a + fs.statSync(path.join(onnxDir, f)).size, 0);
    assert.ok(dataBytes > 5e6, `${dataBytes} bytes of data`);
    for (const copy of [path.dirname(model.probe.file), path.dirname(lens.file)]) {
      assert.notEqual(copy, onnxDir);
      for (const f of data) {
        const linked = fs.lstatSync(path.join(copy, f));
        assert.ok(linked.isFile() && !linked.isSymbolicLink(), `${f} in the copy`);
        assert.equal(linked.ino, fs.statSync(path.join(onnxDir, f)).ino, `${f} is a hard link of the model's own`);
      }
      // On disk the copy is its graph (a few tens of KB), not another 5.5 MB of weights.
      const own = ownBytesOnDisk(copy, onnxDir);
      assert.ok(own < 200_000, `the copy holds ${own} bytes of its own`);
    }
  }
});

test("a data file rewritten in place gets a new probe copy (its size and mtime are in the cache key), and the old copy goes", async () => {
  // Every float initializer external (down to the scalar constants): the data file is all the weights.
  const dir = copyModel();
  externalize(dir, "one", 1);
  const early = copyModel(EARLY_MODEL);
  externalize(early, "one", 1);
  const ids = [1, 2, 3, 4, 5, 6, 7, 8];
  const before = await numbers(dir, ids);
  assert.ok(fs.existsSync(before.probeFile));
  const dataFile = path.join(dir, "onnx", "model.onnx_data");
  // The early checkpoint's weights, same shapes and offsets, written into the same file (the same inode).
  fs.writeFileSync(dataFile, fs.readFileSync(path.join(early, "onnx", "model.onnx_data")));
  const later = new Date(fs.statSync(dataFile).mtimeMs + 10_000);
  fs.utimesSync(dataFile, later, later);
  const after = await numbers(dir, ids);
  assert.notEqual(after.probeFile, before.probeFile);
  assert.ok(!fs.existsSync(path.dirname(before.probeFile)), "the stale copy (a hard link of the old data) is removed");
  assert.deepEqual(after.logits, (await numbers(EARLY_MODEL, ids)).logits);
  assert.notDeepEqual(after.logits, before.logits);
});

test("quantize reads external weights and writes a self-contained int8 graph with the same numbers as quantizing the original", async () => {
  const dir = copyModel();
  externalize(dir, "one");
  const s = new EngineService({ providers: "cpu" });
  const outA = path.join(tempDir("q"), "int8");
  const outB = path.join(tempDir("q"), "int8");
  const qa = await s.call("quantize", { model: SAMPLE_MODEL, out: outA }, ctx);
  const qb = await s.call("quantize", { model: dir, out: outB }, ctx);
  assert.equal(qb.quantized, 16);
  assert.equal(qb.kept, qa.kept);
  const g = graphOf(outB);
  assert.equal(g.graph!.initializer!.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL).length, 0);
  assert.deepEqual(fs.readdirSync(path.join(outB, "onnx")), ["model.onnx"]);
  assert.deepEqual(Buffer.compare(fs.readFileSync(path.join(outB, "onnx", "model.onnx")), fs.readFileSync(path.join(outA, "onnx", "model.onnx"))), 0);
  const ids = [10, 20, 30, 40];
  assert.deepEqual((await numbers(outB, ids)).logits, (await numbers(outA, ids)).logits);

  // Kept weights that would take the int8 graph past 2 GiB are refused before any is read (a sparse
  // data file: 2 GiB of a tensor no node reads). Kept: wte, wpe, the 8 biases of 1 KiB or more, it.
  const model = graphOf(dir);
  const dataFile = path.join(dir, "onnx", "model.onnx_data");
  const at = fs.statSync(dataFile).size;
  const big = 2 ** 29; // floats: 2 GiB
  fs.truncateSync(dataFile, at + big * 4);
  model.graph!.initializer!.push(onnx.TensorProto.create({ name: "unused_big", dims: [big], dataType: FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: "location", value: "model.onnx_data" }, { key: "offset", value: String(at) }, { key: "length", value: String(big * 4) }] }));
  writeGraph(dir, model);
  assert.throws(
    () => quantizeDynamic(path.join(dir, "onnx", "model.onnx")),
    (e: unknown) => e instanceof EngineError && e.code === "UNSUPPORTED" && /with its 11 external tensors inside, the new graph would be 2\.\d\d GiB, past the 2 GiB an ONNX file can hold/.test(e.message),
  );
});

test("a location that is absolute or leads out of the model's folder (through .. or a symbolic link) is refused naming it and the initializer", async () => {
  const cases: { location: string; prepare: (dir: string) => void }[] = [
    // the file is there (the model folder, above onnx/), so only the location is wrong
    { location: "../x", prepare: (dir) => fs.copyFileSync(path.join(dir, "onnx", "model.onnx_data"), path.join(dir, "x")) },
    { location: "/etc/passwd", prepare: () => {} },
    { location: "weights/../../x", prepare: (dir) => fs.copyFileSync(path.join(dir, "onnx", "model.onnx_data"), path.join(dir, "x")) },
    {
      location: "evil.bin",
      prepare: (dir) => {
        const outside = path.join(tempDir("outside"), "stolen.bin");
        fs.copyFileSync(path.join(dir, "onnx", "model.onnx_data"), outside);
        fs.symlinkSync(outside, path.join(dir, "onnx", "evil.bin"));
      },
    },
  ];
  for (const { location, prepare } of cases) {
    const dir = copyModel();
    externalize(dir, "one");
    prepare(dir);
    const model = graphOf(dir);
    const wte = model.graph!.initializer!.find((t) => t.name!.endsWith("wte.weight"))!;
    wte.externalData!.find((e) => e.key === "location")!.value = location;
    writeGraph(dir, model);
    const file = path.join(dir, "onnx", "model.onnx");
    const names = [new RegExp(`"${escape(location)}"`), new RegExp(escape(wte.name!))];
    await refused(DecoderModel.load(dir, ["cpu"]), ...names, /refused/);
    await refused(() => readInitializers(file), ...names);
    await refused(new EngineService({ providers: "cpu" }).call("quantize", { model: dir, out: path.join(tempDir("q"), "int8") }, ctx), ...names);
  }
  // A symbolic link that stays inside the folder is fine.
  const dir = copyModel();
  externalize(dir, "one");
  fs.renameSync(path.join(dir, "onnx", "model.onnx_data"), path.join(dir, "onnx", "real.bin"));
  fs.symlinkSync("real.bin", path.join(dir, "onnx", "model.onnx_data"));
  const ids = [3, 1, 4, 1, 5];
  assert.deepEqual((await numbers(dir, ids)).logits, (await numbers(SAMPLE_MODEL, ids)).logits);
});

test("a missing or short data file, or a length that disagrees with the shape, is refused naming the file", async () => {
  const dir = copyModel();
  externalize(dir, "one");
  const file = path.join(dir, "onnx", "model.onnx");
  const dataFile = path.join(dir, "onnx", "model.onnx_data");
  const full = fs.statSync(dataFile).size;
  fs.truncateSync(dataFile, full - 100);
  await refused(DecoderModel.load(dir, ["cpu"]), new RegExp(`external data file ${escape(dataFile)} is ${full - 100} bytes`), /truncated/);
  await refused(() => readInitializers(file), new RegExp(escape(dataFile)));
  fs.rmSync(dataFile);
  await refused(DecoderModel.load(dir, ["cpu"]), new RegExp(`${escape(dataFile)} \\(of initializer [^)]+\\) is missing`));

  const per = copyModel();
  externalize(per, "per-tensor");
  const model = graphOf(per);
  const t = model.graph!.initializer!.find((x) => x.name!.endsWith("wpe.weight"))!;
  t.externalData!.find((e) => e.key === "length")!.value = "1024";
  writeGraph(per, model);
  await refused(DecoderModel.load(per, ["cpu"]), new RegExp(`initializer ${escape(t.name!)} has shape \\[512, 128\\] \\(262144 bytes\\) but 1024 bytes`));
  t.externalData!.find((e) => e.key === "length")!.value = "-4";
  writeGraph(per, model);
  await refused(DecoderModel.load(per, ["cpu"]), /external data length "-4"/);
});

test("without a length the tensor reads to the end of its file; checks reach the tensors of node attributes", () => {
  const dir = copyModel();
  externalize(dir, "per-tensor");
  const file = path.join(dir, "onnx", "model.onnx");
  const model = graphOf(dir);
  for (const t of model.graph!.initializer!) if (t.externalData?.length) t.externalData = t.externalData.filter((e) => e.key === "location");
  const value = onnx.TensorProto.create({ name: "c", dims: [2], dataType: FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: "location", value: "../c.bin" }] });
  model.graph!.node!.push(onnx.NodeProto.create({ opType: "Constant", name: "const_c", output: ["c"], attribute: [onnx.AttributeProto.create({ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: value })] }));
  writeGraph(dir, model);
  const refs = () => externalRefs(file, decodeOnnx(file, fs.readFileSync(file)));
  assert.throws(refs, /the tensor of attribute value of node const_c keeps its weights at "\.\.\/c\.bin", which leads outside/);
  model.graph!.node!.pop();
  writeGraph(dir, model);
  const wpe = refs().find((r) => r.what.endsWith("wpe.weight"))!;
  assert.deepEqual([wpe.offset, wpe.length, wpe.location], [0, 512 * 128 * 4, "weights/transformer.wpe.weight.bin"]);
  assert.deepEqual(readInitializers(file), readInitializers(path.join(SAMPLE_MODEL, "onnx", "model.onnx")));
});

test("a cache on another file system (no hard link): small data files are copied, large ones refused naming SEQLENS_CACHE_DIR", async (t) => {
  const shm = "/dev/shm";
  if (!fs.existsSync(shm) || fs.statSync(shm).dev === fs.statSync(os.tmpdir()).dev) {
    t.skip("no second file system to put the cache on");
    return;
  }
  const dir = copyModel();
  externalize(dir, "one");
  const cache = fs.mkdtempSync(path.join(shm, "seqlens-cache-"));
  const saved = process.env.SEQLENS_CACHE_DIR;
  process.env.SEQLENS_CACHE_DIR = cache;
  try {
    const ids = [9, 8, 7];
    const b = await numbers(dir, ids);
    assert.ok(b.probeFile.startsWith(cache));
    const copied = fs.statSync(path.join(path.dirname(b.probeFile), "model.onnx_data"));
    assert.notEqual(copied.dev, fs.statSync(path.join(dir, "onnx", "model.onnx_data")).dev);
    assert.deepEqual(b.logits, (await numbers(SAMPLE_MODEL, ids)).logits);
    const file = path.join(dir, "onnx", "model.onnx");
    const refs = externalRefs(file, decodeOnnx(file, fs.readFileSync(file)));
    const target = path.join(cache, "probe-limit", "model.onnx");
    assert.throws(
      () => writeGraphCopy(target, { onnxFile: file, refs }, () => fs.readFileSync(file), 1e6),
      (e: unknown) => e instanceof EngineError && e.code === "UNSUPPORTED" && /cannot hard-link .*model\.onnx_data \(EXDEV\).* past 1 MiB.*SEQLENS_CACHE_DIR/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.dirname(target)));
    assert.deepEqual(fs.readdirSync(cache).filter((f) => f.endsWith(".tmp")), [], "no half-made copy left behind");
  } finally {
    process.env.SEQLENS_CACHE_DIR = saved;
    fs.rmSync(cache, { recursive: true, force: true });
  }
});
