// An encoder-decoder (Marian, T5, BART ...) in optimum's seq2seq layout, run by onnxruntime-node:
// onnx/encoder_model.onnx (input_ids, attention_mask -> last_hidden_state), onnx/decoder_model.onnx
// (encoder_attention_mask, input_ids, encoder_hidden_states -> logits, present.*) and, when there,
// onnx/decoder_with_past_model.onnx (one token after past_key_values.{i}.decoder/encoder.*); or, as
// optimum and transformers.js folders often have it, the two decoders as one
// onnx/decoder_model_merged.onnx: an If on the bool input use_cache_branch [1] (false: the no-past
// decoder, the past inputs empty [1, H, 0, hd]; true: the with-past one, whose present.*.encoder.*
// are empty constants, so the encoder's cache from the first pass is kept). The separate files win
// when a folder has both. Each graph runs as its probe copy, so the encoder's self-attention and the
// decoder's self- and cross-attention come out as the graphs' own Softmax outputs (a merged
// decoder's from its no-past branch, through the If); a decoder Softmax is cross-attention when the
// values it weighs come from the encoder (encoder_hidden_states or the encoder's cached keys and
// values).
import * as fs from "node:fs";
import * as path from "node:path";
import type * as ortTypes from "onnxruntime-node";
import type { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import type { Device, ExecutionProvider } from "../../protocol/basics";
import type { Capability, ModelInfo } from "../../protocol/models";
import type { LoadedModel } from "../families/family";
import { checkShapeRanges, CONFIG_LIMITS, normalizeConfig } from "../formats/modelFolder";
import { branchOf } from "../formats/branchAttention";
import { prepareProbe, type ProbeGraph } from "../formats/onnxProbe";
import { folderFile } from "../formats/folderPaths";
import { decodeOnnx } from "../formats/onnxWeights";
import { openSession, type OpenSession, ort, ortVersion } from "../runtime/onnx/session";
import { TextTokenizer } from "../tokenize/tokenizer";

/** What generation needs from config.json and generation_config.json (the latter wins). */
export interface Seq2SeqConfig {
  model_type: string;
  encoderLayers: number;
  decoderLayers: number;
  /** Attention heads of the encoder and of the decoder. */
  encoderHeads: number;
  decoderHeads: number;
  d_model: number;
  /** The width of a decoder attention head (T5's d_kv, else d_model / heads). */
  decoderHeadDim: number;
  vocab_size: number;
  /** The longest source the model takes (its position table; T5's relative positions have none: 512). */
  n_positions: number;
  decoder_start_token_id: number;
  eos_token_id?: number;
  pad_token_id?: number;
  /** Forced as the last token when the target reaches max_length. */
  forced_eos_token_id?: number;
  /** Token sequences never generated (single ids banned outright; longer ones when their prefix was just written). */
  bad_words_ids: number[][];
  max_length: number;
}

/** One graph's probe: its session and which of its outputs are which attention. */
interface Graph {
  file: string;
  probe: ProbeGraph;
  opened: OpenSession;
  /** Self-attention Softmax outputs in layer order. */
  self: string[];
  /** Cross-attention Softmax outputs in layer order (decoders). */
  cross: string[];
  inputs: Set<string>;
  /** A merged decoder: no-past and with-past branches of an If on use_cache_branch. */
  merged: boolean;
  /** [heads, head width] of each past_key_values.* input, where the graph fixes them. */
  pastShapes: Map<string, [number | undefined, number | undefined]>;
}

export interface EncoderOutput {
  hidden: ortTypes.Tensor; // [1, S, d]
  attention?: Float32Array[]; // per layer [H, S, S]
}

export interface DecoderStep {
  logits: Float32Array; // [T, V]
  selfAttention?: Float32Array[]; // per layer [H, T, T]
  crossAttention?: Float32Array[]; // per layer [H, T, S]
  /** present.{i}.decoder.* and (first full pass) present.{i}.encoder.*, renamed past_key_values.* */
  cache?: Map<string, ortTypes.Tensor>;
}

const ENCODER_DECODER_TYPES = new Set(["marian", "t5", "mt5", "bart", "mbart", "pegasus", "m2m_100", "nllb", "blenderbot", "blenderbot-small", "fsmt", "longt5", "umt5", "led", "plbart"]);

export function isEncoderDecoderConfig(config: Record<string, unknown> | undefined): boolean {
  if (!config) return false;
  return config.is_encoder_decoder === true || (typeof config.model_type === "string" && ENCODER_DECODER_TYPES.has(config.model_type));
}

/** A count config.json gives under one of `keys` (else `fallback`), at most `max` (checked before anything is sized from it). */
function int(config: Record<string, unknown>, keys: string[], file: string, fallback?: number, max = 4_000_000): number {
  const key = keys.find((k) => config[k] !== undefined && config[k] !== null);
  const v = key === undefined ? fallback : config[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new EngineError("MODEL_INVALID", `${file}: "${key ?? keys[0]}" must be a non-negative integer (got ${JSON.stringify(v)})`);
  if (v > max) throw new EngineError("MODEL_INVALID", `${file}: "${key ?? keys[0]}" = ${v} is past any model SeqLens can run (at most ${max.toLocaleString("en-US")})`);
  return v;
}

/** A JSON file of the model folder, if it is there (a link out of the folder is refused before it is read). */
function readJson(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(folderFile(path.dirname(file), file), "utf8");
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;
  } catch (e) {
    throw new EngineError("MODEL_INVALID", `${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** config.json and generation_config.json as what generation needs. */
export function seq2seqConfig(dir: string): Seq2SeqConfig {
  const file = path.join(dir, "config.json");
  const c = readJson(file);
  if (!c) throw new EngineError("MODEL_INVALID", `${dir}: no config.json`);
  const gen = readJson(path.join(dir, "generation_config.json")) ?? {};
  const merged: Record<string, unknown> = { ...c, ...gen };
  // every size the file gives checked under its own name before anything is read or sized from it
  checkShapeRanges(c, file);
  for (const k of ["decoder_layers", "num_decoder_layers", "encoder_layers"]) if (c[k] !== undefined && c[k] !== null) int(c, [k], file, undefined, CONFIG_LIMITS.n_layer);
  for (const k of ["decoder_attention_heads", "encoder_attention_heads"]) if (c[k] !== undefined && c[k] !== null) int(c, [k], file, undefined, CONFIG_LIMITS.n_head);
  const shape = normalizeConfig(
    {
      ...c,
      n_positions: c.max_position_embeddings ?? c.n_positions ?? 512,
      n_head: c.n_head ?? c.num_heads ?? c.decoder_attention_heads ?? c.encoder_attention_heads,
      n_layer: c.n_layer ?? c.decoder_layers ?? c.num_decoder_layers ?? c.num_layers,
    },
    file,
  );
  const decoderLayers = int(c, ["decoder_layers", "num_decoder_layers"], file, shape.n_layer, CONFIG_LIMITS.n_layer);
  const encoderLayers = int(c, ["encoder_layers", "num_layers"], file, shape.n_layer, CONFIG_LIMITS.n_layer);
  const encoderHeads = int(c, ["encoder_attention_heads", "num_heads"], file, shape.n_head, CONFIG_LIMITS.n_head);
  const decoderHeads = int(c, ["decoder_attention_heads", "num_heads"], file, shape.n_head, CONFIG_LIMITS.n_head);
  const start = int(merged, ["decoder_start_token_id"], file, typeof merged.bos_token_id === "number" ? merged.bos_token_id : undefined);
  const bad = merged.bad_words_ids;
  const badWords = Array.isArray(bad) ? bad.filter((w): w is number[] => Array.isArray(w) && w.length > 0 && w.every((x) => Number.isInteger(x) && x >= 0)) : [];
  const opt = (k: string) => (typeof merged[k] === "number" && Number.isInteger(merged[k]) ? (merged[k] as number) : undefined);
  const eos = Array.isArray(merged.eos_token_id) ? (merged.eos_token_id[0] as number) : opt("eos_token_id");
  return {
    model_type: shape.model_type,
    encoderLayers,
    decoderLayers,
    encoderHeads,
    decoderHeads,
    d_model: shape.n_embd,
    decoderHeadDim: typeof c.d_kv === "number" && Number.isInteger(c.d_kv) && c.d_kv > 0 ? c.d_kv : Math.floor(shape.n_embd / Math.max(1, decoderHeads)),
    vocab_size: shape.vocab_size,
    n_positions: shape.n_positions,
    decoder_start_token_id: start,
    eos_token_id: eos,
    pad_token_id: opt("pad_token_id"),
    forced_eos_token_id: opt("forced_eos_token_id"),
    bad_words_ids: badWords,
    max_length: opt("max_length") ?? 512,
  };
}

/** Which Softmax outputs weigh values that come from the encoder (cross-attention). */
function crossOutputs(graph: onnx.IGraphProto, attentionOutputs: string[]): Set<string> {
  const producers = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of graph.node ?? []) {
    for (const o of n.output ?? []) producers.set(o, n);
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const attention = new Set(attentionOutputs);
  // Upstream of a tensor without passing through an attention: not into a Softmax, and not through
  // a MatMul that weighs values by attention (that is where the encoder's values enter the stream).
  const fromEncoder = (t: string): boolean => {
    const seen = new Set<string>();
    const stack = [t];
    while (stack.length > 0 && seen.size < 5000) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      if (x === "encoder_hidden_states" || /^past_key_values\.\d+\.encoder\./.test(x)) return true;
      const p = producers.get(x);
      if (!p || p.opType === "Softmax") continue;
      if (p.opType === "MatMul" && weighsValues(p.input![0])) continue;
      for (const i of p.input ?? []) if (i) stack.push(i);
    }
    return false;
  };
  const weighsValues = (t: string): boolean => {
    for (let depth = 0; depth < 4; depth++) {
      if (attention.has(t)) return true;
      const p = producers.get(t);
      if (!p || (p.opType !== "Cast" && p.opType !== "Identity")) return false;
      t = p.input![0];
    }
    return false;
  };
  const cross = new Set<string>();
  for (const out of attentionOutputs) {
    let t = out;
    for (let depth = 0; depth < 4; depth++) {
      const mm = (consumers.get(t) ?? []).find((c) => c.opType === "MatMul" && c.input![0] === t);
      if (mm) {
        if (fromEncoder(mm.input![1])) cross.add(out);
        break;
      }
      const through = (consumers.get(t) ?? []).find((c) => c.opType === "Cast" || c.opType === "Identity");
      if (!through) break;
      t = through.output![0];
    }
  }
  return cross;
}

/** The static size of dimension `i` of a graph input, if the graph fixes it. */
function staticDim(v: onnx.IValueInfoProto, i: number): number | undefined {
  const d = v.type?.tensorType?.shape?.dim?.[i];
  const n = d?.dimValue === undefined || d?.dimValue === null ? NaN : Number(d.dimValue);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

async function openGraph(file: string, providers: ExecutionProvider[], kind: "encoder" | "decoder"): Promise<Graph> {
  const probe = prepareProbe(file, undefined);
  const graph = decodeOnnx(file, fs.readFileSync(file)).graph!;
  const merged = probe.inputNames.includes("use_cache_branch");
  // a merged decoder's attention outputs are its no-past branch's Softmax outputs: classify them there
  const ifNode = merged ? (graph.node ?? []).find((n) => n.opType === "If" && (n.output ?? []).includes("logits")) : undefined;
  const scope = (ifNode && branchOf(ifNode, "else_branch")) || graph;
  const cross = kind === "decoder" ? crossOutputs(scope, probe.attentionOutputs) : new Set<string>();
  const opened = await openSession(probe.file, providers);
  const pastShapes = new Map((graph.input ?? []).filter((v) => v.name?.startsWith("past_key_values.")).map((v) => [v.name!, [staticDim(v, 1), staticDim(v, 3)] as [number | undefined, number | undefined]]));
  return {
    file,
    probe,
    opened,
    self: probe.attentionOutputs.filter((o) => !cross.has(o)),
    cross: probe.attentionOutputs.filter((o) => cross.has(o)),
    inputs: new Set(probe.inputNames),
    merged,
    pastShapes,
  };
}

const ids64 = (ids: number[]) => new (ort().Tensor)("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length]);
const ones64 = (n: number) => new (ort().Tensor)("int64", new BigInt64Array(n).fill(1n), [1, n]);
const flag = (v: boolean) => new (ort().Tensor)("bool", [v], [1]);

export class Seq2SeqModel implements LoadedModel {
  readonly capabilities: readonly Capability[];

  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly family: string,
    readonly config: Seq2SeqConfig,
    readonly tokenizer: TextTokenizer,
    private readonly encoder: Graph,
    private readonly decoder: Graph,
    /** The one-token decoder after a cache: decoder_with_past_model.onnx, or the merged decoder itself. */
    private readonly withPast: Graph | undefined,
    private readonly fileBytes: number,
  ) {
    const attention = encoder.self.length > 0 || decoder.self.length > 0 ? (["selfAttention"] as const) : [];
    // not "tokens": that capability's API is a decoder's (families/capabilities.ts); inspectSeq2seq reads the source
    this.capabilities = [...attention, ...(decoder.cross.length > 0 ? (["crossAttention"] as const) : []), "generate", ...(withPast ? (["kvCache"] as const) : [])];
  }

  static async load(dir: string, providers: ExecutionProvider[], family: string): Promise<Seq2SeqModel> {
    const config = seq2seqConfig(dir);
    const file = (name: string) => folderFile(dir, path.join(dir, "onnx", name));
    const need = (name: string) => {
      if (!fs.existsSync(file(name))) throw new EngineError("MODEL_NOT_FOUND", `${dir}: no onnx/${name} (an encoder-decoder folder holds onnx/encoder_model.onnx and onnx/decoder_model.onnx or onnx/decoder_model_merged.onnx, as optimum exports them)`);
      return file(name);
    };
    const separate = fs.existsSync(file("decoder_model.onnx")) || !fs.existsSync(file("decoder_model_merged.onnx"));
    const tokenizerJson = readJson(path.join(dir, "tokenizer.json"));
    const tokenizer = new TextTokenizer(tokenizerJson, readJson(path.join(dir, "tokenizer_config.json")) ?? {}, dir, config.eos_token_id);
    const encoder = await openGraph(need("encoder_model.onnx"), providers, "encoder");
    const decoder = await openGraph(need(separate ? "decoder_model.onnx" : "decoder_model_merged.onnx"), providers, "decoder");
    let withPast: Graph | undefined;
    if (decoder.merged) withPast = decoder.pastShapes.size > 0 ? decoder : undefined;
    else if (fs.existsSync(file("decoder_with_past_model.onnx"))) withPast = await openGraph(file("decoder_with_past_model.onnx"), providers, "decoder");
    for (const [g, names] of [[encoder, ["input_ids"]], [decoder, ["input_ids", "encoder_hidden_states"]]] as const) {
      for (const n of names) if (!g.inputs.has(n)) throw new EngineError("MODEL_INVALID", `${g.file}: the graph has no "${n}" input (inputs: ${[...g.inputs].join(", ")})`);
    }
    if (decoder.self.length !== config.decoderLayers && decoder.self.length > 0) {
      throw new EngineError("MODEL_INVALID", `${path.join(dir, "config.json")} says ${config.decoderLayers} decoder layers, but ${decoder.file} has ${decoder.self.length} self-attention layers (Softmax nodes): the graph decides, so config.json does not describe this model`);
    }
    if (encoder.self.length !== config.encoderLayers && encoder.self.length > 0) {
      throw new EngineError("MODEL_INVALID", `${path.join(dir, "config.json")} says ${config.encoderLayers} encoder layers, but ${encoder.file} has ${encoder.self.length} attention layers (Softmax nodes): the graph decides, so config.json does not describe this model`);
    }
    const bytes = [...new Set([encoder, decoder, withPast])].reduce((a, g) => a + (g ? fs.statSync(g.file).size : 0), 0);
    return new Seq2SeqModel(dir, path.basename(dir), family, config, tokenizer, encoder, decoder, withPast, bytes);
  }

  get device(): Device {
    return this.decoder.opened.device;
  }

  get hasKvCache(): boolean {
    return this.withPast !== undefined;
  }

  lacks(c: Capability): string | undefined {
    if (c === "crossAttention") return `no Softmax in ${this.decoder.file} weighs values from the encoder`;
    return undefined;
  }

  checkIds(ids: number[]): void {
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= this.config.vocab_size) throw new EngineError("BAD_INPUT", `token id ${id} is outside the vocabulary (0..${this.config.vocab_size - 1})`);
  }

  info(): ModelInfo {
    const c = this.config;
    return {
      path: this.dir,
      name: this.name,
      family: this.family,
      capabilities: [...this.capabilities],
      modelType: c.model_type,
      nLayer: c.decoderLayers,
      nHead: c.decoderHeads,
      nKvHead: c.decoderHeads,
      headDim: c.decoderHeadDim,
      nEmbd: c.d_model,
      vocabSize: c.vocab_size,
      nPositions: c.n_positions,
      parameters: this.encoder.probe.parameters + this.decoder.probe.parameters,
      runtime: `onnxruntime-node ${ortVersion()}`,
      device: this.device,
      executionProviders: this.decoder.opened.providers,
      threads: this.decoder.opened.threads,
      hasKvCache: this.hasKvCache,
      attention: {
        found: this.decoder.cross.length > 0,
        layers: this.decoder.self.length,
        note: `${this.graphsNote()}; encoder ${c.encoderLayers} layers x ${c.encoderHeads} heads (self-attention ${this.encoder.self.length > 0 ? "found" : "not found"}); decoder ${c.decoderLayers} layers x ${c.decoderHeads} heads (self-attention ${this.decoder.self.length}, cross-attention ${this.decoder.cross.length} layers found)`,
      },
      embeddings: { input: !!this.encoder.probe.tokenEmbedding, output: "none" },
      fileBytes: this.fileBytes,
    };
  }

  /** Which graphs run: the encoder, and the decoder files. */
  private graphsNote(): string {
    const rel = (g: Graph) => path.relative(this.dir, g.file).split(path.sep).join("/");
    const decoders = this.decoder.merged
      ? `${rel(this.decoder)} (merged: its If on use_cache_branch holds the no-past and the with-past decoder)`
      : this.withPast
        ? `${rel(this.decoder)} and ${rel(this.withPast)}`
        : `${rel(this.decoder)} (no KV cache)`;
    return `graphs ${rel(this.encoder)}, ${decoders}`;
  }

  /** Empty past_key_values.* for a merged decoder's no-past pass: [1, H, 0, hd]. */
  private emptyPasts(g: Graph, feeds: Record<string, ortTypes.Tensor>): void {
    for (const [name, [h, hd]] of g.pastShapes) {
      feeds[name] = new (ort().Tensor)("float32", new Float32Array(0), [1, h ?? this.config.decoderHeads, 0, hd ?? this.config.decoderHeadDim]);
    }
  }

  /** The source through the encoder. */
  async encode(ids: number[], opts: { attention?: boolean } = {}): Promise<EncoderOutput> {
    this.checkIds(ids);
    if (ids.length > this.config.n_positions) throw new EngineError("BAD_INPUT", `${ids.length} source tokens exceed the model's ${this.config.n_positions} positions`);
    const g = this.encoder;
    const feeds: Record<string, ortTypes.Tensor> = { input_ids: ids64(ids) };
    if (g.inputs.has("attention_mask")) feeds.attention_mask = ones64(ids.length);
    const fetch = ["last_hidden_state", ...(opts.attention ? g.self : [])];
    const out = await g.opened.session.run(feeds, fetch);
    if (!out.last_hidden_state) throw new EngineError("MODEL_INVALID", `${g.file}: no last_hidden_state output`);
    return { hidden: out.last_hidden_state, attention: opts.attention ? g.self.map((n) => this.heads(out[n], this.config.encoderHeads, ids.length, ids.length, n)) : undefined };
  }

  /** The whole target (start token first) over the encoded source: logits and, on request, attention and the cache. */
  async decode(target: number[], enc: EncoderOutput, opts: { attention?: boolean; wantCache?: boolean } = {}): Promise<DecoderStep> {
    this.checkIds(target);
    const g = this.decoder;
    const S = enc.hidden.dims[1];
    const feeds: Record<string, ortTypes.Tensor> = { input_ids: ids64(target), encoder_hidden_states: enc.hidden };
    if (g.inputs.has("encoder_attention_mask")) feeds.encoder_attention_mask = ones64(S);
    if (g.inputs.has("attention_mask")) feeds.attention_mask = ones64(target.length);
    if (g.merged) {
      feeds.use_cache_branch = flag(false);
      this.emptyPasts(g, feeds);
    }
    const presents = opts.wantCache ? g.probe.outputNames.filter((n) => n.startsWith("present.")) : [];
    const fetch = ["logits", ...(opts.attention ? [...g.self, ...g.cross] : []), ...presents];
    const out = await g.opened.session.run(feeds, fetch);
    const T = target.length;
    return {
      logits: this.logitsOf(out.logits, T),
      selfAttention: opts.attention ? g.self.map((n) => this.heads(out[n], this.config.decoderHeads, T, T, n)) : undefined,
      crossAttention: opts.attention ? g.cross.map((n) => this.heads(out[n], this.config.decoderHeads, T, S, n)) : undefined,
      cache: opts.wantCache ? new Map(presents.map((n) => [n.replace(/^present\./, "past_key_values."), out[n]])) : undefined,
    };
  }

  /**
   * One token after `cache` (decoder_with_past_model.onnx, or the merged decoder's with-past branch):
   * its logits and the cache grown by it. The encoder's keys and values stay those of the first pass.
   */
  async step(id: number, enc: EncoderOutput, cache: Map<string, ortTypes.Tensor>): Promise<DecoderStep> {
    const g = this.withPast;
    if (!g) throw new EngineError("UNSUPPORTED", `${this.dir}: no onnx/decoder_with_past_model.onnx or onnx/decoder_model_merged.onnx, so there is no KV cache`);
    this.checkIds([id]);
    const S = enc.hidden.dims[1];
    const feeds: Record<string, ortTypes.Tensor> = { input_ids: ids64([id]) };
    if (g.inputs.has("encoder_attention_mask")) feeds.encoder_attention_mask = ones64(S);
    if (g.inputs.has("encoder_hidden_states")) feeds.encoder_hidden_states = enc.hidden;
    if (g.merged) feeds.use_cache_branch = flag(true);
    for (const name of g.inputs) {
      if (!name.startsWith("past_key_values.")) continue;
      const t = cache.get(name);
      if (!t) throw new EngineError("MODEL_INVALID", `${g.file}: the cache has no ${name} (the first pass of ${this.decoder.file} did not output present.${name.slice("past_key_values.".length)})`);
      feeds[name] = t;
    }
    // a merged decoder's with-past branch gives the encoder's presents as empty placeholders
    const presents = g.probe.outputNames.filter((n) => n.startsWith("present.") && !/^present\.\d+\.encoder\./.test(n));
    const out = await g.opened.session.run(feeds, ["logits", ...presents]);
    const next = new Map(cache);
    for (const n of presents) next.set(n.replace(/^present\./, "past_key_values."), out[n]);
    return { logits: this.logitsOf(out.logits, 1), cache: next };
  }

  private logitsOf(t: ortTypes.Tensor, T: number): Float32Array {
    const V = this.config.vocab_size;
    if (t.type !== "float32" || t.dims.length !== 3 || t.dims[1] !== T || t.dims[2] < V) throw new EngineError("MODEL_INVALID", `logits have type ${t.type} and shape [${t.dims}], expected float32 [1, ${T}, ${V}]`);
    if (t.dims[2] === V) return t.data as Float32Array;
    const W = t.dims[2];
    const out = new Float32Array(T * V);
    for (let r = 0; r < T; r++) out.set((t.data as Float32Array).subarray(r * W, r * W + V), r * V);
    return out;
  }

  private heads(t: ortTypes.Tensor, H: number, q: number, k: number, name: string): Float32Array {
    const [b, h, tq, tk] = t.dims;
    if (t.dims.length !== 4 || b !== 1 || h !== H || tq !== q || tk !== k) throw new EngineError("MODEL_INVALID", `the attention Softmax ${name} has shape [${t.dims}], not [1, ${H}, ${q}, ${k}]`);
    return t.data as Float32Array;
  }

  async dispose(): Promise<void> {
    for (const g of new Set([this.encoder, this.decoder, this.withPast])) await g?.opened.session.release();
  }
}
