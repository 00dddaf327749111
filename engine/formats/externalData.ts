// ONNX tensors whose bytes live outside the graph file (onnx.proto's ExternalDataInfo): the tensor
// has data_location EXTERNAL and external_data entries "location" (a path relative to the folder of
// the .onnx file), "offset" and "length" (bytes; length absent: to the end of the file). Exports
// over 2 GiB, and many smaller ones, keep their weights in `model.onnx_data` or one file per tensor.
//
// Every location is checked before anything reads it or hands the graph to onnxruntime: absolute,
// or leading outside the model's folder once `..` and symbolic links are resolved, is refused; so
// is a missing file, or an offset / length past its end.
//
// onnxruntime (1.30) resolves locations against the folder of the model file it opens and refuses
// any that leave it, symbolic links included (it compares canonical paths). A modified copy of the
// graph (the probe and lens copies) therefore lives in its own cache folder with the data files
// hard-linked beside it under their own locations: the same bytes on disk, nothing copied. Where
// no hard link can be made (the cache on another file system, or a file the user may not link),
// small data files are copied and large ones refused, naming SEQLENS_CACHE_DIR.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { escapesFolder, isAbsoluteName, isInside } from "./folderPaths";

/** One tensor's external bytes, checked: `file` is the real path of the data file, inside the model's folder. */
export interface ExternalRef {
  /** What the error messages call it: `initializer NAME`, or the tensor of a node attribute. */
  what: string;
  /** The location as the graph writes it, normalised (forward slashes, no `.`). */
  location: string;
  file: string;
  offset: number;
  length: number;
}

const DT = onnx.TensorProto.DataType;
/** Bytes per element of the fixed-size data types (strings have no fixed size). */
const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [DT.FLOAT]: 4, [DT.UINT8]: 1, [DT.INT8]: 1, [DT.UINT16]: 2, [DT.INT16]: 2, [DT.INT32]: 4, [DT.INT64]: 8, [DT.BOOL]: 1,
  [DT.FLOAT16]: 2, [DT.DOUBLE]: 8, [DT.UINT32]: 4, [DT.UINT64]: 8, [DT.COMPLEX64]: 8, [DT.COMPLEX128]: 16, [DT.BFLOAT16]: 2,
};

export function isExternal(t: onnx.ITensorProto): boolean {
  return t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
}

function byteCount(value: string | undefined, key: string, what: string, onnxFile: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new EngineError("MODEL_INVALID", `${onnxFile}: ${what} has external data ${key} "${value}" (expected a byte count)`);
  return Number(value);
}

/**
 * Checks where `t` keeps its bytes (relative to the folder of `onnxFile`) and that the file holds
 * them; `what` names the tensor in errors (default: `initializer NAME`).
 */
export function externalRef(onnxFile: string, t: onnx.ITensorProto, what = `initializer ${t.name}`): ExternalRef {
  const info = new Map((t.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
  const location = info.get("location");
  if (!location) throw new EngineError("MODEL_INVALID", `${onnxFile}: ${what} is stored as external data without a location`);
  const dir = path.dirname(path.resolve(onnxFile));
  const refuse = (why: string) => new EngineError("MODEL_INVALID", `${onnxFile}: ${what} keeps its weights at "${location}", ${why}: refused (external data must lie in the model's folder, ${dir})`);
  if (isAbsoluteName(location)) throw refuse("an absolute path");
  const lexical = path.resolve(dir, location);
  if (!isInside(dir, lexical)) throw refuse("which leads outside the model's folder");
  if (!fs.existsSync(lexical)) throw new EngineError("MODEL_INVALID", `${onnxFile}: the external data file ${lexical} (of ${what}) is missing`);
  // the file itself, or a folder on the way, may be a link: where it really lies decides
  const outside = escapesFolder(dir, lexical);
  if (outside !== undefined) throw refuse(`a symbolic link to ${outside}, outside the model's folder`);
  const file = fs.realpathSync(lexical);
  const stat = fs.statSync(file);
  if (!stat.isFile()) throw new EngineError("MODEL_INVALID", `${onnxFile}: the external data of ${what}, ${lexical}, is not a file`);
  const offset = byteCount(info.get("offset"), "offset", what, onnxFile) ?? 0;
  const length = byteCount(info.get("length"), "length", what, onnxFile) ?? Math.max(0, stat.size - offset);
  if (offset + length > stat.size) {
    throw new EngineError("MODEL_INVALID", `${onnxFile}: the external data file ${lexical} is ${stat.size} bytes, but ${what} reads bytes ${offset}..${offset + length} of it (truncated?)`);
  }
  const size = ELEMENT_BYTES[t.dataType ?? 0];
  const elements = (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
  if (size !== undefined && elements * size !== length) {
    throw new EngineError("MODEL_INVALID", `${onnxFile}: ${what} has shape [${(t.dims ?? []).join(", ")}] (${elements * size} bytes) but ${length} bytes in ${lexical}`);
  }
  return { what, location: path.relative(dir, lexical).split(path.sep).join("/"), file, offset, length };
}

/** Every tensor of the model stored as external data (initializers, sparse ones, node attributes, subgraphs), checked. */
export function externalRefs(onnxFile: string, model: onnx.IModelProto): ExternalRef[] {
  const refs: ExternalRef[] = [];
  const tensor = (t: onnx.ITensorProto | null | undefined, what: string) => {
    if (t && isExternal(t)) refs.push(externalRef(onnxFile, t, what));
  };
  const graph = (g: onnx.IGraphProto | null | undefined) => {
    if (!g) return;
    for (const t of g.initializer ?? []) tensor(t, `initializer ${t.name}`);
    for (const s of g.sparseInitializer ?? []) {
      tensor(s.values, `sparse initializer ${s.values?.name}`);
      tensor(s.indices, `the indices of sparse initializer ${s.values?.name}`);
    }
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        const what = `the tensor of attribute ${a.name} of node ${n.name || n.opType}`;
        tensor(a.t, what);
        for (const t of a.tensors ?? []) tensor(t, what);
        graph(a.g);
        for (const sub of a.graphs ?? []) graph(sub);
      }
    }
  };
  graph(model.graph);
  return refs;
}

/** Reads `length` bytes at `offset` of `file` into `into` (a view of the same length). */
function readInto(file: string, offset: number, into: Uint8Array): void {
  const fd = fs.openSync(file, "r");
  try {
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(fd, into, done, Math.min(into.length - done, 1 << 30), offset + done);
      if (n === 0) throw new EngineError("MODEL_INVALID", `${file} ended at byte ${offset + done}, before the ${into.length} bytes read from ${offset} (truncated?)`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The bytes of one external tensor, read from its file when asked (nothing else of the file is read). */
export function readExternalBytes(ref: ExternalRef): Uint8Array {
  const out = new Uint8Array(ref.length);
  readInto(ref.file, ref.offset, out);
  return out;
}

/** The floats of an external FLOAT tensor of `onnxFile`, read straight into their array. */
export function externalFloats(onnxFile: string, t: onnx.ITensorProto): Float32Array {
  const ref = externalRef(onnxFile, t);
  const out = new Float32Array(ref.length / 4);
  readInto(ref.file, ref.offset, new Uint8Array(out.buffer));
  return out;
}

/** The graph file of an ONNX model, decoded, with its external tensors checked and its cache key. */
export interface OnnxGraphFile {
  bytes: Uint8Array;
  refs: ExternalRef[];
  /**
   * SHA-256 (hex) naming the model in caches. Without external data, of the .onnx bytes. With it,
   * of the graph bytes and each data file's location, size and modification time: hashing the
   * data itself would read gigabytes on every load, and a data file rewritten in place changes its
   * mtime.
   */
  key: string;
}

export function graphKey(bytes: Uint8Array, refs: ExternalRef[]): string {
  const h = crypto.createHash("sha256").update(bytes);
  if (refs.length === 0) return h.digest("hex");
  for (const [location, file] of dataFiles(refs)) {
    const s = fs.statSync(file);
    h.update(`\n${location}\t${s.size}\t${s.mtimeMs}`);
  }
  return h.digest("hex");
}

/** The data files the refs read, by location (sorted). */
function dataFiles(refs: ExternalRef[]): [string, string][] {
  return [...new Map(refs.map((r) => [r.location, r.file])).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The largest total of data files copied into a cache folder when they cannot be hard-linked. */
export const COPY_LIMIT_BYTES = 256 * 2 ** 20;

/**
 * Where a modified copy of a graph goes in `cache`: `NAME.onnx` when it has no external data, else
 * `NAME/model.onnx` in a folder of its own, where its data files are linked.
 */
export function copyPath(cache: string, name: string, refs: ExternalRef[]): string {
  return refs.length === 0 ? path.join(cache, `${name}.onnx`) : path.join(cache, name, "model.onnx");
}

/**
 * Writes a modified copy of `source` (its graph, `encode()`d) at `file` (from copyPath) unless it is
 * there; the external data files are hard-linked beside it (copied when small and no link can be
 * made). Built under a temporary name and renamed, so a reader never sees half a copy.
 */
export function writeGraphCopy(file: string, source: { onnxFile: string; refs: ExternalRef[] }, encode: () => Uint8Array, copyLimit = COPY_LIMIT_BYTES): void {
  if (fs.existsSync(file)) return;
  const tag = `${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
  if (source.refs.length === 0) {
    const tmp = `${file}.${tag}`;
    fs.writeFileSync(tmp, encode());
    fs.renameSync(tmp, file);
    return;
  }
  const dir = path.dirname(file);
  const tmpDir = `${dir}.${tag}`;
  fs.mkdirSync(tmpDir, { recursive: true });
  try {
    const files = dataFiles(source.refs);
    const unlinked: [string, string][] = [];
    let copied = 0;
    for (const [location, from] of files) {
      const to = path.join(tmpDir, ...location.split("/"));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      try {
        fs.linkSync(from, to);
        continue;
      } catch (e) {
        unlinked.push([from, `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
      }
      copied += fs.statSync(from).size;
      if (copied > copyLimit) {
        throw new EngineError(
          "UNSUPPORTED",
          `${source.onnxFile}: cannot hard-link its external data ${unlinked.map(([f, why]) => `${f} (${why})`).join(", ")} into the cache folder ${path.dirname(dir)}, and copying it is past ${(copyLimit / 2 ** 20).toFixed(0)} MiB. onnxruntime reads external data only from the folder of the graph it opens (not through symbolic links): set SEQLENS_CACHE_DIR to a folder on the same file system as the model`,
        );
      }
      fs.copyFileSync(from, to);
    }
    fs.writeFileSync(path.join(tmpDir, path.basename(file)), encode());
    fs.writeFileSync(path.join(tmpDir, "source.json"), JSON.stringify({ graph: path.resolve(source.onnxFile) }));
    try {
      fs.renameSync(tmpDir, dir);
    } catch (e) {
      // another process made the same copy first: use theirs
      if (!fs.existsSync(file)) throw e;
    }
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  dropStaleCopies(dir, source.onnxFile);
}

/**
 * The linked copies of earlier versions of the same graph (same kind, `probe-` or `lens-`, same
 * source file, another name) are removed: their hard links would keep the old data files on disk.
 */
function dropStaleCopies(dir: string, onnxFile: string): void {
  const parent = path.dirname(dir);
  const kind = /^[a-z]+-/.exec(path.basename(dir))?.[0];
  if (!kind) return;
  const graph = path.resolve(onnxFile);
  for (const name of fs.readdirSync(parent)) {
    const other = path.join(parent, name);
    if (other === dir || !name.startsWith(kind) || name.endsWith(".tmp")) continue;
    try {
      const src = JSON.parse(fs.readFileSync(path.join(other, "source.json"), "utf8")) as { graph?: string };
      if (src.graph === graph) fs.rmSync(other, { recursive: true, force: true });
    } catch {
      // not a linked copy (a flat .onnx copy, or one being written): left alone
    }
  }
}

/**
 * Moves every external tensor of `model` (read from beside `onnxFile`) into the graph itself, for a
 * copy written elsewhere without its data files; refused when the graph would pass protobuf's 2 GiB.
 */
export function inlineExternalData(onnxFile: string, model: onnx.IModelProto, graphBytes: number): void {
  const tensors: onnx.ITensorProto[] = [];
  const graph = (g: onnx.IGraphProto | null | undefined) => {
    if (!g) return;
    for (const t of g.initializer ?? []) if (isExternal(t)) tensors.push(t);
    for (const s of g.sparseInitializer ?? []) for (const t of [s.values, s.indices]) if (t && isExternal(t)) tensors.push(t);
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        for (const t of [a.t, ...(a.tensors ?? [])]) if (t && isExternal(t)) tensors.push(t);
        graph(a.g);
        for (const sub of a.graphs ?? []) graph(sub);
      }
    }
  };
  graph(model.graph);
  const refs = tensors.map((t) => externalRef(onnxFile, t));
  const total = refs.reduce((a, r) => a + r.length, graphBytes);
  if (total >= 2 ** 31) throw new EngineError("UNSUPPORTED", `${onnxFile}: with its ${refs.length} external tensors inside, the new graph would be ${(total / 2 ** 30).toFixed(2)} GiB, past the 2 GiB an ONNX file can hold`);
  tensors.forEach((t, i) => {
    t.rawData = readExternalBytes(refs[i]);
    t.externalData = [];
    delete t.dataLocation; // absent, as in a graph written with its weights inside
  });
}
