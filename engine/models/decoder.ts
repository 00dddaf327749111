// A decoder-only language model from a model folder, run with onnxruntime-node on its probe copy.
// One forward pass returns logits and, on request, attention probabilities, the last hidden state
// and the KV cache.
import * as fs from "node:fs";
import * as path from "node:path";
import type * as ortTypes from "onnxruntime-node";
import { checkVocabularyIds, configShape, DecoderConfig, ModelFolder, openModelFolder } from "../formats/modelFolder";
import { prepareProbe, ProbeGraph } from "../formats/onnxProbe";
import { LensGraph, prepareLens } from "../formats/onnxLens";
import { EditTensor, InterventionsGraph, interventionFeeds, prepareInterventions } from "../formats/onnxInterventions";
import { EngineError } from "../../protocol/errors";
import { Device, ExecutionProvider } from "../../protocol/basics";
import { Capability, ModelInfo } from "../../protocol/models";
import type { LoadedModel } from "../families/family";
import { openSession, OpenSession, ort, ortVersion } from "../runtime/onnx/session";
import { emptyFloatTensor, floatTensorType, floatValues } from "../runtime/onnx/tensors";
import { TextTokenizer } from "../tokenize/tokenizer";

export type DecoderKind = "causal" | "masked" | "encoder";

export interface KvCache {
  length: number; // tokens held
  tensors: Map<string, ortTypes.Tensor>; // past_key_values.{i}.key|value
}

export interface ForwardOutput {
  logits: Float32Array; // [T, vocab]
  attention?: Float32Array[]; // per layer [heads, T, past+T]
  attentionError?: string; // why attention is missing although the graph seemed to have it
  lastHidden?: Float32Array; // [T, d]
  cache?: KvCache;
}

/** One run of the lens copy: per residual stream i = 0..n_layer, [T, d] and, when asked, [T, vocab]. */
export interface LensOutput {
  residuals: Float32Array[];
  logits?: Float32Array[];
}

/**
 * What every decoder offers, the ONNX one (DecoderModel) and its TensorFlow.js twin: text to token
 * ids, and a forward pass to next-token logits and, where found, attention.
 */
export interface Decoder {
  readonly name: string;
  readonly dir: string;
  readonly config: DecoderConfig;
  readonly tokenizer: TextTokenizer;
  readonly device: Device;
  readonly probe: { attentionOutputs: string[]; attentionNote?: string; tokenEmbedding?: { shape: number[]; data: Float32Array } };
  checkIds(ids: number[]): void;
  forward(ids: number[], opts: { attention?: boolean; hidden?: boolean }): Promise<{ logits: Float32Array; attention?: Float32Array[]; attentionError?: string; lastHidden?: Float32Array }>;
}

export class DecoderModel implements Decoder, LoadedModel {
  private lens?: Promise<{ graph: LensGraph; opened: OpenSession }>;
  private interventionsCopy?: Promise<{ graph: InterventionsGraph; opened: OpenSession }>;
  /**
   * Tokens, next-token logits, generation and completion, the logit lens (its copy of the graph is
   * built on first use: NO_LENS then if the graph has another shape), and what the graph shows:
   * attention, a KV cache, a token-embedding matrix.
   */
  readonly capabilities: readonly Capability[];

  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly config: DecoderConfig,
    readonly tokenizer: TextTokenizer,
    readonly probe: ProbeGraph,
    private readonly opened: OpenSession,
    readonly fileBytes: number,
    readonly onnxFile: string,
    private readonly providers: ExecutionProvider[],
    readonly family: string,
    /**
     * "causal": a decoder (next token, generation); "masked": a bidirectional encoder with a
     * masked-LM head (fill-mask); "encoder": a bidirectional graph with logits and nothing more
     * known (a bare .onnx: the distribution at each position, no generation).
     */
    readonly kind: DecoderKind = "causal",
  ) {
    const attention = probe.attentionOutputs.length > 0 ? (["selfAttention"] as const) : [];
    const embeddings = probe.tokenEmbedding?.shape.length === 2 ? (["embeddings"] as const) : [];
    this.capabilities =
      kind === "masked"
        ? ["tokens", ...attention, "fillMask", ...embeddings]
        : kind === "encoder"
          ? ["tokens", ...attention, "nextToken", ...embeddings]
          : ["tokens", ...attention, "nextToken", "generate", ...(probe.hasKvCache ? (["kvCache"] as const) : []), ...embeddings, "lens", "completion"];
  }

  /** Opens a model folder (or the .onnx inside one); `family` names the family that asked (families/gpt2Onnx.ts). */
  static async load(p: string, providers: ExecutionProvider[], family = "gpt2-onnx", kind: DecoderKind = "causal"): Promise<DecoderModel> {
    return DecoderModel.open(openModelFolder(p), providers, family, kind);
  }

  /**
   * Opens a model from its parts: a folder's config (or one read from a bare graph), its tokenizer
   * files, and the .onnx to run (the folder's, or one SeqLens built from a checkpoint's weights).
   * `claims`: whether config.json's numbers are checked against the graph (not when the graph is their source).
   */
  static async open(folder: ModelFolder, providers: ExecutionProvider[], family: string, kind: DecoderKind, opts: { claims?: boolean; form?: "onnx-folder" | "checkpoint" | "bare" } = {}): Promise<DecoderModel> {
    const tokenizer = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.dir, folder.config.eos_token_id);
    const cfg = folder.config;
    if (tokenizer.vocabSize > cfg.vocab_size) {
      throw new EngineError("TOKENIZER", `${folder.dir}: tokenizer.json has ${tokenizer.vocabSize} tokens but config.json says vocab_size = ${cfg.vocab_size} (wrong tokenizer for this model?)`);
    }
    const probe = prepareProbe(folder.onnxFile, opts.claims === false ? undefined : { ...cfg, configFile: path.join(folder.dir, "config.json") }, { cuda: providers.includes("cuda") });
    for (const need of ["input_ids"]) {
      if (!probe.inputNames.includes(need)) throw new EngineError("MODEL_INVALID", `${folder.onnxFile}: the graph has no "${need}" input (inputs: ${probe.inputNames.join(", ")})`);
    }
    const opened = await openSession(probe.file, providers);
    const model = new DecoderModel(folder.dir, folder.name, cfg, tokenizer, probe, opened, fs.statSync(folder.onnxFile).size, folder.onnxFile, providers, family, kind);
    model.form = opts.form ?? "onnx-folder";
    if (opts.claims !== false) {
      try {
        await model.checkHeads(path.join(folder.dir, "config.json"));
      } catch (e) {
        await opened.session.release().catch(() => undefined);
        throw e;
      }
    }
    return model;
  }

  /** What the user pointed at (ModelInfo.form). */
  form: "onnx-folder" | "checkpoint" | "bare" = "onnx-folder";

  get device() {
    return this.opened.device;
  }

  /** Why the session runs on another device than asked, if it does. */
  get fallback(): string | undefined {
    return this.opened.fallback;
  }

  get headDim(): number {
    return this.config.head_dim;
  }

  lacks(c: Capability): string | undefined {
    if (c === "selfAttention") return this.probe.attentionNote;
    if (c === "embeddings") return "no token-embedding matrix found in the graph (an initializer gathered by input_ids)";
    return undefined;
  }

  info(): ModelInfo {
    return {
      path: this.dir,
      name: this.name,
      family: this.family,
      capabilities: [...this.capabilities],
      ...configShape(this.config),
      parameters: this.probe.parameters,
      runtime: `onnxruntime-node ${ortVersion()}`,
      device: this.opened.device,
      executionProviders: this.opened.providers,
      threads: this.opened.threads,
      hasKvCache: this.probe.hasKvCache,
      attention: { found: this.probe.attentionOutputs.length > 0, layers: this.probe.attentionOutputs.length, note: this.probe.attentionNote, source: this.probe.attentionSource },
      embeddings: { input: !!this.probe.tokenEmbedding, output: this.probe.unembedding ? "own" : this.probe.tiedEmbeddings ? "tied" : "none" },
      fileBytes: this.fileBytes,
      form: this.form,
    };
  }

  checkIds(ids: number[]): void {
    checkVocabularyIds(this.config, ids);
  }

  /** No tokens held, in the element type of the graph's past_key_values inputs (float32, or float16 in a float16 export). */
  emptyCache(): KvCache {
    const type = floatTensorType(this.probe.kvCacheElemType, `${this.onnxFile}: the KV cache (past_key_values.*)`);
    const tensors = new Map<string, ortTypes.Tensor>();
    for (let i = 0; i < this.config.n_layer; i++) {
      for (const kv of ["key", "value"]) tensors.set(`past_key_values.${i}.${kv}`, emptyFloatTensor(type, [1, this.config.n_kv_head, 0, this.headDim]));
    }
    return { length: 0, tensors };
  }

  /** The graph's inputs for `ids` after `past`: ids, the mask, positions, token types and the cache, as the graph takes them. */
  private feedsFor(ids: number[], past?: KvCache): Record<string, ortTypes.Tensor> {
    const T = ort().Tensor;
    const n = ids.length;
    const pastLen = past?.length ?? 0;
    const feeds: Record<string, ortTypes.Tensor> = { input_ids: new T("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [1, n]) };
    const inputs = new Set(this.probe.inputNames);
    if (inputs.has("attention_mask")) feeds.attention_mask = new T("int64", new BigInt64Array(pastLen + n).fill(1n), [1, pastLen + n]);
    if (inputs.has("position_ids")) feeds.position_ids = new T("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(pastLen + i)), [1, n]);
    if (inputs.has("token_type_ids")) feeds.token_type_ids = new T("int64", new BigInt64Array(n), [1, n]);
    if (past) for (const [k, v] of past.tensors) if (inputs.has(k)) feeds[k] = v;
    return feeds;
  }

  /**
   * The query heads config.json claims against the graph's attention (one token run once): a graph
   * whose attention has another number of heads is refused with both numbers.
   */
  private async checkHeads(configFile: string): Promise<void> {
    const name = this.probe.attentionOutputs[0];
    if (!name) return;
    const out = await this.opened.session.run(this.feedsFor([0], this.probe.hasKvCache ? this.emptyCache() : undefined), [name]);
    const heads = out[name].dims[1];
    if (out[name].dims.length === 4 && heads !== this.config.n_head) {
      const key = this.config.source_keys?.n_head ?? "n_head";
      throw new EngineError("MODEL_INVALID", `${configFile} says ${key} = ${this.config.n_head}, but the graph's attention has ${heads} heads in ${this.onnxFile}: the graph decides, so config.json does not describe this model`);
    }
  }

  /** Runs `ids` after `cache` (empty when absent). */
  async forward(ids: number[], opts: { cache?: KvCache; attention?: boolean; hidden?: boolean; wantCache?: boolean } = {}): Promise<ForwardOutput> {
    this.checkIds(ids);
    const past = opts.cache ?? (this.probe.hasKvCache ? this.emptyCache() : undefined);
    const pastLen = past?.length ?? 0;
    const n = ids.length;
    if (pastLen + n > this.config.n_positions) throw new EngineError("BAD_INPUT", `${pastLen + n} tokens exceed the model's context of ${this.config.n_positions}`);
    const feeds = this.feedsFor(ids, past);
    const fetch = ["logits"];
    if (opts.attention) fetch.push(...this.probe.attentionOutputs);
    if (opts.hidden && this.probe.lastHiddenOutput) fetch.push(this.probe.lastHiddenOutput);
    const presentNames: string[] = [];
    if (opts.wantCache && this.probe.hasKvCache) {
      for (let i = 0; i < this.config.n_layer; i++) for (const kv of ["key", "value"]) presentNames.push(`present.${i}.${kv}`);
      fetch.push(...presentNames);
    }
    const out = await this.opened.session.run(feeds, fetch);
    const lg = out.logits;
    if ((lg.type !== "float32" && lg.type !== "float16") || lg.dims.length !== 3 || lg.dims[1] !== n || lg.dims[2] < this.config.vocab_size) {
      throw new EngineError("MODEL_INVALID", `logits have type ${lg.type} and shape [${lg.dims}], expected float32 or float16 [1, ${n}, ${this.config.vocab_size}]`);
    }
    const V = this.config.vocab_size;
    // a float16 graph's outputs are read as float32 (exactly); its present.* go back in as they came
    const lgData = floatValues(lg, "logits");
    const logits = lg.dims[2] === V ? lgData : stripPadding(lgData, n, lg.dims[2], V);
    const result: ForwardOutput = { logits };
    if (opts.attention && this.probe.attentionOutputs.length > 0) {
      const layers: Float32Array[] = [];
      for (const [layer, name] of this.probe.attentionOutputs.entries()) {
        const t = out[name];
        const [b, h, q, k] = t.dims;
        if (t.dims.length !== 4 || b !== 1 || h !== this.config.n_head || q !== n || k !== pastLen + n) {
          result.attentionError = `the ${this.probe.attentionSource === "softmax" ? "Softmax" : "attention output"} taken for attention in layer ${layer} (${name}) has shape [${t.dims}], not [batch=1, heads=${this.config.n_head}, query=${n}, key=${pastLen + n}]: attention is not shown for this model`;
          break;
        }
        layers.push(floatValues(t, name));
      }
      if (!result.attentionError) result.attention = layers;
    }
    if (opts.hidden && this.probe.lastHiddenOutput) result.lastHidden = floatValues(out[this.probe.lastHiddenOutput], this.probe.lastHiddenOutput);
    if (presentNames.length > 0) {
      const tensors = new Map<string, ortTypes.Tensor>();
      presentNames.forEach((name) => tensors.set(name.replace("present.", "past_key_values."), out[name]));
      result.cache = { length: pastLen + n, tensors };
    }
    return result;
  }

  /**
   * Runs the lens copy (built and opened on first use): the residual stream entering each block and
   * the final layer norm, and with `decode` each of them through ln_f and the output projection.
   */
  async lensForward(ids: number[], opts: { decode: boolean }): Promise<LensOutput> {
    this.checkIds(ids);
    if (ids.length > this.config.n_positions) throw new EngineError("BAD_INPUT", `${ids.length} tokens exceed the model's context of ${this.config.n_positions}`);
    if (!this.lens) {
      const graph = prepareLens(this.onnxFile, this.config.n_layer);
      this.lens = openSession(graph.file, this.providers).then((opened) => ({ graph, opened }));
      this.lens.catch(() => (this.lens = undefined));
    }
    const { graph, opened } = await this.lens;
    const n = ids.length;
    const feeds = this.feedsFor(ids, this.probe.hasKvCache ? this.emptyCache() : undefined);
    const fetch = [...graph.residualOutputs, ...(opts.decode ? graph.lensOutputs : [])];
    const out = await opened.session.run(feeds, [...new Set(fetch)]);
    const V = this.config.vocab_size;
    const residuals = graph.residualOutputs.map((name) => floatValues(out[name], name));
    if (!opts.decode) return { residuals };
    const logits = graph.lensOutputs.map((name) => {
      const t = out[name];
      const width = t.dims[t.dims.length - 1];
      const data = floatValues(t, name);
      return width === V ? data : stripPadding(data, n, width, V);
    });
    return { residuals, logits };
  }

  /** The interventions copy (onnxInterventions.ts), built and opened on first use: NO_LENS if the graph has another shape. */
  async interventions(): Promise<InterventionsGraph> {
    if (!this.interventionsCopy) {
      const graph = prepareInterventions(this.onnxFile, this.config.n_layer, this.config.n_head, this.probe.attentionOutputs);
      this.interventionsCopy = openSession(graph.file, this.providers).then((opened) => ({ graph, opened }));
      this.interventionsCopy.catch(() => (this.interventionsCopy = undefined));
    }
    return (await this.interventionsCopy).graph;
  }

  /**
   * Runs `ids` through the interventions copy, with its edit inputs by name (those not given: no
   * edit; interventionFeeds), fetching `fetch`. `past`: a batch-1 KV cache the ids follow (from
   * this copy's present.* outputs). `batch`: the same ids (and past) `batch` times, for edits that
   * differ per batch row. `rows`: instead of `ids` repeated, these ids (each as long as `ids`), one
   * sequence each, after the same past. `lastOnly`: the logits of each sequence's last position
   * only, where the copy can pick them ([batch, V]; lastLogits reads either shape).
   */
  async runInterventions(ids: number[], edits: Map<string, Float32Array | EditTensor>, fetch: string[], opts: { past?: KvCache; batch?: number; rows?: number[][]; lastOnly?: boolean } = {}): Promise<ortTypes.InferenceSession.OnnxValueMapType> {
    this.checkIds(ids);
    for (const r of opts.rows ?? []) {
      if (r.length !== ids.length) throw new EngineError("INTERNAL", `a batch row of ${r.length} tokens beside ${ids.length}`);
      this.checkIds(r);
    }
    const pastLen = opts.past?.length ?? 0;
    if (pastLen + ids.length > this.config.n_positions) throw new EngineError("BAD_INPUT", `${pastLen + ids.length} tokens exceed the model's context of ${this.config.n_positions}`);
    const graph = await this.interventions();
    const { opened } = await this.interventionsCopy!;
    const T = ort().Tensor;
    const feeds = this.feedsFor(ids, opts.past ?? (this.probe.hasKvCache ? this.emptyCache() : undefined));
    const batch = opts.rows?.length ?? opts.batch ?? 1;
    if (batch > 1) {
      // every input the graph takes per sequence has batch 1 here: repeated `batch` times
      for (const [name, t] of Object.entries(feeds)) feeds[name] = new T(t.type as "float32", repeated(t.data as Float32Array, batch), [batch, ...t.dims.slice(1)]);
    }
    if (opts.rows) feeds.input_ids = new T("int64", BigInt64Array.from(opts.rows.flat(), (v) => BigInt(v)), [batch, ids.length]);
    for (const [name, x] of interventionFeeds(graph, edits)) feeds[name] = new T("float32", x.data, x.dims);
    if (graph.logitRows) {
      const n = ids.length;
      const rows = opts.lastOnly ? Array.from({ length: batch }, (_, b) => b * n + n - 1) : Array.from({ length: batch * n }, (_, r) => r);
      feeds[graph.logitRows] = new T("int64", BigInt64Array.from(rows, (r) => BigInt(r)), [rows.length]);
    }
    return opened.session.run(feeds, [...new Set(fetch)]);
  }

  async dispose(): Promise<void> {
    await this.opened.session.release();
    if (this.lens) await (await this.lens).opened.session.release().catch(() => {});
    if (this.interventionsCopy) await (await this.interventionsCopy).opened.session.release().catch(() => {});
  }
}

/**
 * Each sequence's last-position logits in a run of the interventions copy of `batch` sequences of
 * `len` tokens, asked with lastOnly or not: the values, the values per row (the vocabulary,
 * padded where the graph pads it) and the row of sequence b.
 */
export function lastLogits(out: ortTypes.InferenceSession.OnnxValueMapType, name: string, batch: number, len: number): { data: Float32Array; stride: number; row: (b: number) => number } {
  const t = out[name];
  const stride = t.dims[t.dims.length - 1];
  const data = floatValues(t, name);
  const rows = data.length / stride;
  if (rows === batch) return { data, stride, row: (b) => b };
  if (rows === batch * len) return { data, stride, row: (b) => b * len + len - 1 };
  throw new EngineError("INTERNAL", `${name} has shape [${t.dims}]: neither ${batch} rows nor ${batch} × ${len}`);
}

/** The KV cache a run returned in its present.{i}.key|value outputs (`length` tokens), as the past_key_values of a next run. */
export function presentCache(out: ortTypes.InferenceSession.OnnxValueMapType, nLayer: number, length: number): KvCache {
  const tensors = new Map<string, ortTypes.Tensor>();
  for (let i = 0; i < nLayer; i++) for (const kv of ["key", "value"]) tensors.set(`past_key_values.${i}.${kv}`, out[`present.${i}.${kv}`]);
  return { length, tensors };
}

/** The first `n` tokens of a KV cache: each past_key_values tensor [batch, heads, length, headDim] cut along its length. */
export function cacheUpTo(cache: KvCache, n: number): KvCache {
  const T = ort().Tensor;
  const tensors = new Map<string, ortTypes.Tensor>();
  for (const [name, t] of cache.tensors) {
    const [b, h, len, d] = t.dims;
    if (t.dims.length !== 4 || len !== cache.length || n > len) throw new EngineError("INTERNAL", `the KV cache tensor ${name} has shape [${t.dims}], not [batch, heads, ${cache.length}, head_dim]`);
    const src = t.data as Float32Array | Uint16Array;
    const out = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(b * h * n * d);
    for (let k = 0; k < b * h; k++) out.set(src.subarray(k * len * d, (k * len + n) * d), k * n * d);
    tensors.set(name, new T(t.type as "float32", out as Float32Array, [b, h, n, d]));
  }
  return { length: n, tensors };
}

/** A typed array's values `times` times over, in an array of its own kind. */
function repeated<A extends Float32Array>(one: A, times: number): A {
  const out = new (one.constructor as new (n: number) => A)(one.length * times);
  for (let i = 0; i < times; i++) out.set(one, i * one.length);
  return out;
}

/** Logits of a vocabulary padded past vocab_size: keep the first `vocab` of each row. */
function stripPadding(data: Float32Array, rows: number, width: number, vocab: number): Float32Array {
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * width, r * width + vocab), r * vocab);
  return out;
}
