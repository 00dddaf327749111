// What a model folder may name: SeqLens reads only files inside the folder it is pointed at. A file a
// folder's contents name (a TensorFlow.js manifest's weight files, a safetensors index's shards, an
// ONNX graph's external data) and a file SeqLens looks for in the folder (config.json, the
// tokenizer's files, onnx/model.onnx) must lie inside it: a name that is absolute or climbs out with
// `..`, and a symbolic link (a file's, or a folder's on the way) whose target lies outside, are
// refused with MODEL_INVALID naming the path, before anything is read from it.
//
// One layout is let through: the Hugging Face hub cache, where a snapshot folder
// (models--ORG--NAME/snapshots/REVISION/) holds links into the repository's own blobs/ folder
// (models--ORG--NAME/blobs/HASH), a real folder beside snapshots/.
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";

/** Whether `p` lies strictly inside `dir` (both absolute, spelt alike). */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Whether `name` (a path a file in the folder writes) is absolute on any system, or holds a NUL. */
export function isAbsoluteName(name: string): boolean {
  return path.isAbsolute(name) || path.win32.isAbsolute(name) || name.includes("\0");
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * The hub cache's blobs/ folder of the repository whose snapshot `realDir` (a real path) lies in,
 * when that folder is a real one (not itself a link); undefined elsewhere.
 */
function hubBlobs(realDir: string): string | undefined {
  for (let d = realDir; path.dirname(d) !== d; d = path.dirname(d)) {
    if (path.basename(path.dirname(d)) !== "snapshots") continue;
    const blobs = path.join(path.dirname(path.dirname(d)), "blobs");
    try {
      const s = fs.lstatSync(blobs);
      return s.isDirectory() && !s.isSymbolicLink() ? blobs : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Where `file` really lies when that is outside the folder `dir` (a symbolic link, of the file or of
 * a folder on the way, leading out); undefined when it lies inside (or is not there).
 */
export function escapesFolder(dir: string, file: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const realDir = realpath(dir);
  const real = realpath(file);
  if (isInside(realDir, real)) return undefined;
  const blobs = hubBlobs(realDir);
  if (blobs && path.dirname(real) === blobs) return undefined;
  return real;
}

/** The refusal of a link out of the model's folder. */
function linkOut(file: string, real: string, dir: string): EngineError {
  return new EngineError("MODEL_INVALID", `${file} is a symbolic link to ${real}, outside the model's folder ${dir}: refused (SeqLens reads only files inside the folder it is given)`);
}

/**
 * `file`, a file SeqLens looks for in the model folder `dir` (config.json, tokenizer.json,
 * onnx/model.onnx ...), checked before it is read: MODEL_INVALID when it is a symbolic link (or lies
 * under one) leading outside the folder. A file that is not there passes (the caller says it is missing).
 */
export function folderFile(dir: string, file: string): string {
  const abs = path.resolve(file);
  const absDir = path.resolve(dir);
  if (!isInside(absDir, abs)) throw new EngineError("MODEL_INVALID", `${abs} lies outside the model's folder ${absDir}: refused (SeqLens reads only files inside the folder it is given)`);
  const real = escapesFolder(absDir, abs);
  if (real !== undefined) throw linkOut(abs, real, absDir);
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new EngineError("MODEL_INVALID", `${abs} is a folder where the model's folder should have a file`);
  return abs;
}

/**
 * The file a name written in `owner` (a manifest or an index inside the folder `dir`) stands for,
 * relative to `dir`, checked before anything reads it: an absolute name, one that climbs out of `dir`
 * with `..`, or a symbolic link leading out is refused (MODEL_INVALID naming `what` and the name). A
 * file that is not there is returned as it is (the caller says it is missing).
 */
export function namedFile(owner: string, dir: string, name: unknown, what: string): string {
  const absDir = path.resolve(dir);
  const refuse = (why: string) => new EngineError("MODEL_INVALID", `${owner}: ${what} ${JSON.stringify(name)} ${why}: refused (it must lie in the model's folder ${absDir})`);
  if (typeof name !== "string" || name === "") throw new EngineError("MODEL_INVALID", `${owner}: ${what} ${JSON.stringify(name)} is not a file name`);
  if (isAbsoluteName(name)) throw refuse("is an absolute path");
  const file = path.resolve(absDir, name);
  if (!isInside(absDir, file)) throw refuse("leads outside the model's folder");
  const real = escapesFolder(absDir, file);
  if (real !== undefined) throw refuse(`is a symbolic link to ${real}, outside the model's folder`);
  return file;
}
