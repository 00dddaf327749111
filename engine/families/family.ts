// A model family: one kind of model SeqLens opens (a GPT-2 ONNX folder, its TensorFlow.js twin, a
// recurrent ONNX or TensorFlow.js model ...). As Netron has one factory per format, a family first
// says cheaply whether a path is one of its models (`match`: the listing, config.json and, when it
// must, the graph's operator types), then loads it (`open`). The loaded model declares what it can
// be asked for (its capabilities); the engine dispatches on those. The registry is families/index.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Device, ExecutionProvider } from "../../protocol/basics";
import { EngineError } from "../../protocol/errors";
import type { Capability, ModelInfo } from "../../protocol/models";
import { folderFile } from "../formats/folderPaths";
import { decodeOnnx } from "../formats/onnxWeights";

/** A model as a family opened it: what it is and what it can be asked for. */
export interface LoadedModel {
  readonly name: string;
  /** The family that opened it, e.g. "gpt2-onnx". */
  readonly family: string;
  readonly capabilities: readonly Capability[];
  readonly device: Device;
  /** Why it runs on another device than asked, if it does. */
  readonly fallback?: string;
  /** Why the model lacks a capability, when it can say (e.g. the note on the attention it did not find). */
  lacks?(capability: Capability): string | undefined;
  info(): ModelInfo;
  dispose(): void | Promise<void>;
}

export interface OpenOptions {
  /** Execution providers for onnxruntime sessions. */
  providers: ExecutionProvider[];
}

export interface ModelFamily {
  /** Short and stable, e.g. "gpt2-onnx"; a loaded model and ModelInfo carry it. */
  readonly name: string;
  /** One line: what a path needs to be one of this family's models (shown when nothing matches). */
  readonly describe: string;
  /** A spec prefix that selects this family alone, e.g. "tfjs" for "tfjs:<folder>". */
  readonly prefix?: string;
  /** Whether the candidate is one of this family's models: cheap, never loads weights or sessions. */
  match(candidate: ModelCandidate): boolean;
  open(candidate: ModelCandidate, opts: OpenOptions): Promise<LoadedModel>;
}

/** What a family looks at to decide: the path, its files, its config.json and, on demand, the graph's operators. */
export class ModelCandidate {
  /** The absolute path (without the spec's prefix). */
  readonly path: string;
  /** The folder the model lives in: the path itself, or for a file the folder around it (above onnx/ or tfjs/). */
  readonly dir: string;
  readonly isFile: boolean;
  /** The folder's config.json, parsed; undefined when there is none. */
  readonly config?: Record<string, unknown>;
  private readonly operatorsOf = new Map<string, Set<string>>();

  /**
   * @param spec   the model as given ("samples/models/tiny-gpt", "tfjs:samples/models/tiny-gpt")
   * @param prefix the family prefix the spec starts with, if any ("tfjs")
   */
  constructor(
    readonly spec: string,
    readonly prefix?: string,
  ) {
    this.path = path.resolve(prefix === undefined ? spec : spec.slice(prefix.length + 1));
    if (!fs.existsSync(this.path)) throw new EngineError("MODEL_NOT_FOUND", `model folder not found: ${this.path}`);
    this.isFile = fs.statSync(this.path).isFile();
    let dir = this.isFile ? path.dirname(this.path) : this.path;
    if (this.isFile && (path.basename(dir) === "onnx" || path.basename(dir) === "tfjs")) dir = path.dirname(dir);
    this.dir = dir;
    const cfg = path.join(dir, "config.json");
    if (fs.existsSync(cfg)) {
      let parsed: unknown;
      // (a config.json that is a link out of the folder is refused, not caught below)
      folderFile(dir, cfg);
      try {
        parsed = JSON.parse(fs.readFileSync(cfg, "utf8"));
      } catch (e) {
        throw new EngineError("MODEL_INVALID", `${cfg}: not valid JSON (${(e as Error).message})`);
      }
      this.config = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    }
  }

  /** config.json's model_type, when it names one. */
  get modelType(): string | undefined {
    const t = this.config?.model_type;
    return typeof t === "string" ? t : undefined;
  }

  /** Whether `rel` (a path relative to the model's folder) exists. */
  has(rel: string): boolean {
    return fs.existsSync(path.join(this.dir, rel));
  }

  /** The first of `rels` (relative to the model's folder) that exists, as an absolute path. */
  first(...rels: string[]): string | undefined {
    return rels.map((r) => path.join(this.dir, r)).find((f) => fs.existsSync(f));
  }

  /** The files and folders in the model's folder. */
  listing(): string[] {
    return fs.readdirSync(this.dir);
  }

  /** The operator types of the ONNX graph in `file`, read once (a corrupt file throws MODEL_INVALID). */
  operators(file: string): Set<string> {
    let ops = this.operatorsOf.get(file);
    if (!ops) {
      // a graph the folder holds must lie in it; the path the user named is read as named
      const graph = decodeOnnx(file, fs.readFileSync(path.resolve(file) === this.path ? file : folderFile(this.dir, file))).graph!;
      ops = new Set((graph.node ?? []).map((n) => n.opType ?? ""));
      this.operatorsOf.set(file, ops);
    }
    return ops;
  }
}
