// The registry: every model family SeqLens knows, in the order they are tried. The first whose
// `match` says yes opens the model; when none does, the error lists every family and what it needs.
// A new family is one file in this folder and one line in FAMILIES.
import * as path from "node:path";
import { EngineError } from "../../protocol/errors";
import { ModelCandidate, type ModelFamily } from "./family";
import { bareOnnx } from "./bareOnnx";
import { bertOnnx } from "./bertOnnx";
import { checkpoint } from "./checkpoint";
import { gpt2Onnx } from "./gpt2Onnx";
import { gpt2Tfjs } from "./gpt2Tfjs";
import { llamaOnnx } from "./llamaOnnx";
import { llamaTfjs } from "./llamaTfjs";
import { recurrentOnnx } from "./recurrentOnnx";
import { recurrentTfjs } from "./recurrentTfjs";
import { seq2seqOnnx } from "./seq2seqOnnx";

export const FAMILIES: readonly ModelFamily[] = [
  checkpoint,
  gpt2Onnx,
  llamaTfjs,
  gpt2Tfjs,
  llamaOnnx,
  bertOnnx,
  seq2seqOnnx,
  recurrentOnnx,
  recurrentTfjs,
  bareOnnx,
];

/** A spec split into the family prefix it starts with ("tfjs" in "tfjs:<folder>"), if any, and the absolute path. */
export function splitSpec(spec: string): { prefix?: string; path: string } {
  const prefix = FAMILIES.find((f) => f.prefix !== undefined && spec.startsWith(`${f.prefix}:`))?.prefix;
  return { prefix, path: path.resolve(prefix === undefined ? spec : spec.slice(prefix.length + 1)) };
}

/** What the families look at for `spec`; MODEL_NOT_FOUND when the path does not exist. */
export function modelCandidate(spec: string): ModelCandidate {
  return new ModelCandidate(spec, splitSpec(spec).prefix);
}

/** Every family and what it needs, on one line. */
export function knownFamilies(): string {
  return FAMILIES.map((f) => `${f.name}: ${f.describe}`).join("; ");
}

/**
 * The first family whose match takes `spec` (a family with a prefix only takes specs with it, and
 * only it does). MODEL_NOT_FOUND or MODEL_INVALID, listing every family, when none does.
 */
export function resolveFamily(spec: string | ModelCandidate): ModelFamily {
  const c = typeof spec === "string" ? modelCandidate(spec) : spec;
  const family = FAMILIES.find((f) => f.prefix === c.prefix && f.match(c));
  if (family) return family;
  throw unknownModel(c);
}

/** Why no family took the candidate, and what each one needs. */
function unknownModel(c: ModelCandidate): EngineError {
  const list = `SeqLens opens these model families: ${knownFamilies()}`;
  if (c.isFile) {
    const what = c.path.endsWith(".onnx") ? "an ONNX graph with neither LSTM, GRU or RNN operators nor attention (Softmax) nodes, and no model folder's config.json around it" : "not a model file SeqLens reads";
    return new EngineError("MODEL_INVALID", `${c.path}: ${what}. ${list}`);
  }
  if (c.modelType !== undefined) return new EngineError("MODEL_INVALID", `${path.join(c.dir, "config.json")} says model_type ${JSON.stringify(c.modelType)}, and no family opens this folder. ${list}`);
  if (c.config) return new EngineError("MODEL_INVALID", `${path.join(c.dir, "config.json")} names no model_type, and no family opens this folder. ${list}`);
  const files = c.listing();
  if (files.length === 0) return new EngineError("MODEL_NOT_FOUND", `${c.path} is an empty folder: no model here. ${list}`);
  const shown = files.slice(0, 6).join(", ") + (files.length > 6 ? ` and ${files.length - 6} more` : "");
  return new EngineError("MODEL_NOT_FOUND", `${c.path} holds no model SeqLens knows (it has ${shown}). ${list}`);
}
