// The engine's methods: opens models by their family (families/, cached), dispatches each method on
// what the model declares it can do (its capabilities), runs it, keeps inspections and answers for
// slices. Process-agnostic: engine/process.ts serves it over IPC, tests may call it directly.
// Every request is bounded (engine/limits.ts): a text is cut to what the model takes before it is
// tokenized (tokenize/tail.ts), a series is read a window of steps at a time, work estimated to
// need more than the memory budget is refused before it starts, and a request that runs past the
// deadline fails with a DEADLINE error (its work stops at its next check of the signal).
import * as fs from "node:fs";
import * as path from "node:path";
import { escapesFolder } from "./formats/folderPaths";
import { openModelFolder } from "./formats/modelFolder";
import { quantizeDynamicAsync } from "./formats/quantize";
import { attentionAll, attentionSlice, AttentionTensor } from "./probes/attention";
import { hiddenStates, inputEmbeddingRows } from "./probes/embeddings";
import { nextTokenAt } from "./probes/nextToken";
import { surprisals } from "./probes/surprisal";
import { stepTokens } from "./probes/tokens";
import { tokenizeInput } from "./tokenize/tail";
import { generate } from "./generate";
import { complete } from "./completion";
import { DecoderModel } from "./models/decoder";
import { Seq2SeqModel } from "./models/seq2seq";
import { generateSeq2seq, inspectSeq2seq, Seq2SeqInspection, seq2seqSlice } from "./translate";
import { DEFAULT_TRANSFER_CAP_BYTES, ExecutionProvider } from "../protocol/basics";
import { EngineError } from "../protocol/errors";
import { GeneratedToken } from "../protocol/completion";
import { checkParams, Method, Params, Progress, Result } from "../protocol/engine";
import { EmbeddingMatrix, ProjectedPoint, ProjectionMethod } from "../protocol/embeddings";
import { tsneProject, umapProject } from "./probes/manifold";
import { logitLens } from "./probes/logitLens";
import { argmaxAt, featureAblation, resolveBaseline, resolveToken } from "./probes/attribution";
import { ablateHeads, checkHeads, klPerRow } from "./probes/ablation";
import { directLogitAttribution } from "./probes/dla";
import { activationPatching, checkPair } from "./probes/patching";
import { attributeByGradients } from "./probes/attributionGradients";
import { compareModels, compareRecurrent } from "./compareService";
import { parseProviders } from "./runtime/onnx/session";
import { InspectionStore } from "./store";
import { Matrix, nearestRows, pcaProject, vectorSum } from "./probes/projection";
import { RecurrentService } from "./recurrentService";
import { parseSeries } from "./series/parseSeries";
import type { Capability } from "../protocol/models";
import { defaultMetric, type AblationMode, type HeadRef } from "../protocol/interventions";
import { can, CapabilityApi, serving } from "./families/capabilities";
import type { LoadedModel } from "./families/family";
import { LoadedModels } from "./families/loadedModels";
import { checkForwardBudget, DEADLINE, forwardBytes, limitsFrom, type Limits } from "./limits";
import { windowNotice } from "./series/window";

export interface CallContext {
  signal: AbortSignal;
  progress: (p: Progress) => void;
  log: (level: "info" | "warn" | "error", message: string) => void;
}

type Handler<M extends Method> = (params: Params<M>, ctx: CallContext) => Promise<Result<M>>;

function int(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new EngineError("BAD_INPUT", `${name} must be an integer in ${min}..${max} (got ${JSON.stringify(v)})`);
  return v;
}

function str(v: unknown, name: string): string {
  if (typeof v !== "string" || v.length === 0) throw new EngineError("BAD_INPUT", `${name} must be a non-empty string`);
  return v;
}

/** The model's input (token) embedding matrix, or with "output" its own unembedding, [vocab, d]. */
function embeddingMatrix(model: DecoderModel, which: EmbeddingMatrix = "input"): Matrix {
  if (which === "output") {
    const u = model.probe.unembedding;
    if (!u) {
      throw new EngineError(
        "NO_EMBEDDINGS",
        model.probe.tiedEmbeddings
          ? `${model.name}: the output projection is the token embedding (tied weights): the input matrix is the same one`
          : `${model.name}: no output-projection matrix found (the logits MatMul does not multiply by an initializer)`,
      );
    }
    return { rows: u.shape[0], cols: u.shape[1], data: u.data };
  }
  const e = model.probe.tokenEmbedding;
  if (!e || e.shape.length !== 2) throw new EngineError("NO_EMBEDDINGS", `${model.name}: no token-embedding matrix found in the graph (an initializer gathered by input_ids)`);
  return { rows: e.shape[0], cols: e.shape[1], data: e.data };
}

/** Rows projected by `method` (PCA, UMAP or t-SNE), with progress and cancellation for the long ones. */
async function projectRows(m: Matrix, method: ProjectionMethod, dims: 2 | 3, signal: AbortSignal, onProgress: (done: number, total: number, message: string) => void): Promise<{ coords: Float32Array; explained?: number[] }> {
  if (method === "pca") {
    const proj = pcaProject(m, dims);
    return { coords: proj.coords, explained: proj.explained };
  }
  const opts = { dims, signal, onProgress };
  return { coords: method === "umap" ? await umapProject(m, opts) : await tsneProject(m, opts) };
}

function pointAt(coords: Float32Array, dims: number, row: number, id: number, label: string): ProjectedPoint {
  const o = row * dims;
  return dims === 3 ? { id, label, x: coords[o], y: coords[o + 1], z: coords[o + 2] } : { id, label, x: coords[o], y: coords[o + 1] };
}

/**
 * Undoes a half-written int8 copy: removes `made`, the first folder the copy created (with all in
 * it), when there is one; the files in `written` otherwise (the copy went into a folder that was
 * there, empty, and stays).
 */
function removeMade(made: string | undefined, written: string[]): void {
  try {
    if (made) fs.rmSync(made, { recursive: true, force: true });
    for (const f of written) fs.rmSync(f, { force: true });
  } catch {
    // what cannot be removed stays; the error the caller sees is the one that stopped the copy
  }
}

export class EngineService {
  /** Vocabulary projections by model hash, method and dims. */
  private readonly projections = new Map<string, { coords: Float32Array; explained?: number[] }>();
  private readonly store = new InspectionStore();
  readonly providers: ExecutionProvider[];
  /** Every open model (decoders, their TensorFlow.js twins, recurrent models), by family and path. */
  private readonly models: LoadedModels;
  /** The methods on recurrent models: gates, forecasts, gradients, hidden states. */
  private readonly recurrent: RecurrentService;
  private readonly started = Date.now();
  /** Encoder-decoder inspections by handle (their attentions), the newest few. */
  private readonly seq2seqInspections = new Map<string, Seq2SeqInspection>();
  private seq2seqCount = 0;
  /** The memory budget, the steps read at once and the per-request deadline. */
  readonly limits: Limits;

  constructor(opts: { providers?: string } & Partial<Limits> = {}) {
    this.providers = parseProviders(opts.providers ?? process.env.SEQLENS_EP);
    this.limits = limitsFrom(opts);
    this.models = new LoadedModels({ providers: this.providers });
    this.recurrent = new RecurrentService(8, this.models, this.limits);
  }

  /** The model `p` names ("tfjs:<folder>" for a GPT-2 folder's TensorFlow.js twin), opened by its family once. */
  async open(p: unknown, ctx?: CallContext): Promise<LoadedModel> {
    return this.models.open(str(p, "model"), undefined, {
      loading: (where, family) => ctx?.progress({ kind: "phase", message: `loading ${where} (${family.name})` }),
      loaded: (m, ms) => {
        ctx?.log("info", `loaded ${m.name} (${m.family}) in ${ms.toFixed(0)} ms on ${m.device} (providers ${this.providers.join(",")})`);
        if (m.fallback) ctx?.log("warn", m.fallback);
      },
    });
  }

  /** The model `p` names as what capability `c` offers; UNSUPPORTED, saying what it has, when it lacks `c`. */
  async serving<C extends Capability>(p: unknown, c: C, what: string, ctx?: CallContext): Promise<LoadedModel & CapabilityApi[C]> {
    return serving(await this.open(p, ctx), c, what);
  }

  /** The ONNX decoder `p` names (for benchmarks and tests that reach into it). */
  async model(p: unknown, ctx?: CallContext): Promise<DecoderModel> {
    return this.serving(p, "generate", "run as a decoder", ctx);
  }

  /** One handler per method; `call` gives each its parameters already checked against the method's schema (protocol/), so none checks types or choices again. */
  readonly handlers: { [M in Method]: Handler<M> } = {
    ping: async () => ({ pid: process.pid, uptimeMs: Date.now() - this.started, limits: { ...this.limits } }),

    info: async (p, ctx) => (await this.open(p.model, ctx)).info(),

    inspect: async (p, ctx) => {
      const t0 = performance.now();
      const model = await this.serving(p.model, "tokens", "inspect text", ctx);
      const topK = p.topK === undefined ? 10 : int(p.topK, "topK", 1, model.config.vocab_size);
      const temperature = p.temperature ?? 1;
      if (typeof temperature !== "number" || !(temperature > 0)) throw new EngineError("BAD_INPUT", `temperature must be a positive number (got ${temperature})`);
      const maxTokens = p.maxTokens === undefined ? model.config.n_positions : Math.min(int(p.maxTokens, "maxTokens", 1), model.config.n_positions);
      const input = tokenizeInput(model, { text: p.text, ids: p.ids }, maxTokens);
      if (input.truncated) ctx.log("info", input.truncated.notice);
      const t1 = performance.now();
      const wantAttention = model.probe.attentionOutputs.length > 0;
      checkForwardBudget(`inspecting ${model.name} on`, model.config, input.ids.length, this.limits.memoryBudget, { attention: wantAttention });
      if (ctx.signal.aborted) throw new EngineError("CANCELLED", "inspect was cancelled");
      const out = await model.forward(input.ids, { attention: wantAttention, hidden: true });
      // heads switched off: the inspection's logits (and attention, where the copy gives it) are the ablated run's
      const heads = p.ablate ?? [];
      const ablated = heads.length > 0 ? await this.ablatedRun(model, input.ids, heads, p.ablateMode ?? "zero", ctx) : undefined;
      const t2 = performance.now();
      if (ctx.signal.aborted) throw new EngineError("CANCELLED", "inspect was cancelled");
      const T = input.ids.length;
      const cleanLogits = out.logits;
      if (ablated) {
        out.logits = ablated.logits;
        if (ablated.attention) out.attention = ablated.attention;
      }
      const attention: AttentionTensor | undefined = out.attention ? { layers: out.attention, heads: model.config.n_head, length: T } : undefined;
      const attentionNote = out.attentionError ?? model.probe.attentionNote;
      if (out.attentionError) ctx.log("warn", out.attentionError);
      const insp = this.store.add({ model, ids: input.ids, tokens: input.tokens, logits: out.logits, attention, attentionNote, lastHidden: out.lastHidden });
      const tokenText = (id: number) => model.tokenizer.tokenText(id);
      // a causal model's next token after the last position; a masked-LM's fillers at each mask token
      const masked = can(model, "fillMask");
      const maskId = model.tokenizer.maskId;
      const next = masked ? undefined : nextTokenAt(out.logits, model.config.vocab_size, T - 1, { topK, temperature, tokenText });
      const masks = masked ? input.ids.flatMap((id, i) => (id === maskId ? [nextTokenAt(out.logits, model.config.vocab_size, i, { topK, temperature, tokenText })] : [])) : undefined;
      ctx.log("info", `inspect ${model.name}: ${T} tokens in ${(t2 - t1).toFixed(1)} ms on ${model.device}`);
      const want = p.slice;
      const slice =
        attention && want && Number.isInteger(want.layer) && Number.isInteger(want.head) && want.layer >= 0 && want.layer < model.config.n_layer && want.head >= 0 && want.head < model.config.n_head
          ? { layer: want.layer, head: want.head, ...attentionSlice(attention, want.layer, want.head) }
          : undefined;
      return {
        handle: insp.handle,
        model: model.dir,
        device: model.device,
        tokens: input.tokens,
        truncated: input.truncated,
        nLayer: model.config.n_layer,
        nHead: model.config.n_head,
        nKvHead: model.config.n_kv_head,
        attentionAvailable: !!attention,
        ...(next ? { next } : {}),
        ...(masks ? { masks, ...(maskId !== undefined ? { maskToken: { id: maskId, text: tokenText(maskId) } } : {}) } : {}),
        slice,
        ...(ablated
          ? {
              ablation: (() => {
                const kl = klPerRow(cleanLogits, ablated.logits, T, model.config.vocab_size);
                return {
                  heads: heads.map(({ layer, head }) => ({ layer, head })),
                  mode: p.ablateMode ?? "zero",
                  klFromClean: kl[T - 1],
                  klPerPosition: kl,
                  cleanNext: nextTokenAt(cleanLogits, model.config.vocab_size, T - 1, { topK, temperature, tokenText }),
                  attentionFrom: ablated.attention ? ("ablated" as const) : ("clean" as const),
                };
              })(),
            }
          : {}),
        ms: { tokenize: t1 - t0, run: t2 - t1, total: performance.now() - t0 },
      };
    },

    attention: async (p) => {
      const insp = this.store.get(p.handle);
      if (!insp.attention) throw new EngineError("NO_ATTENTION", insp.attentionNote ?? "this inspection has no attention");
      return attentionSlice(insp.attention, p.layer, p.head);
    },

    attentionAll: async (p) => {
      const insp = this.store.get(p.handle);
      if (!insp.attention) throw new EngineError("NO_ATTENTION", insp.attentionNote ?? "this inspection has no attention");
      return attentionAll(insp.attention, p.capBytes ?? DEFAULT_TRANSFER_CAP_BYTES);
    },

    nextToken: async (p) => {
      const insp = this.store.get(p.handle);
      const T = insp.ids.length;
      const position = int(p.position, "position", 0, T - 1);
      const temperature = p.temperature ?? 1;
      if (typeof temperature !== "number" || !(temperature > 0)) throw new EngineError("BAD_INPUT", `temperature must be a positive number (got ${temperature})`);
      const model = insp.model;
      return nextTokenAt(insp.logits, model.config.vocab_size, position, {
        topK: p.topK === undefined ? 10 : int(p.topK, "topK", 1, model.config.vocab_size),
        temperature,
        actualId: position + 1 < T ? insp.ids[position + 1] : undefined,
        tokenText: (id) => model.tokenizer.tokenText(id),
      });
    },

    inspectSeq2seq: async (p, ctx) => {
      const t0 = performance.now();
      const model = await this.open(p.model, ctx);
      if (!(model instanceof Seq2SeqModel)) throw new EngineError("UNSUPPORTED", `${model.name} (${model.family}) is not an encoder-decoder: inspect it with inspect`);
      const topK = p.topK === undefined ? 10 : int(p.topK, "topK", 1, model.config.vocab_size);
      // the target cannot pass max_length (the decoder start token is one of it)
      const maxTokens = Math.min(p.maxTokens === undefined ? 64 : int(p.maxTokens, "maxTokens", 1), model.config.max_length - 1);
      const { result, kept } = await inspectSeq2seq(model, { ...p, topK, maxTokens }, ctx.signal);
      const handle = `seq2seq-${++this.seq2seqCount}`;
      this.seq2seqInspections.set(handle, kept);
      // the last few only: each holds every layer's attention
      for (const old of this.seq2seqInspections.keys()) if (this.seq2seqInspections.size > 8) this.seq2seqInspections.delete(old);
      return { ...result, handle, model: model.dir, ms: { total: performance.now() - t0 } };
    },

    seq2seqAttention: async (p) => {
      const kept = this.seq2seqInspections.get(p.handle);
      if (!kept) throw new EngineError("UNKNOWN_HANDLE", `no encoder-decoder inspection ${p.handle} (released, or dropped for newer ones): inspect again`);
      return seq2seqSlice(kept, p.kind, p.layer, p.head);
    },

    fillMask: async (p, ctx) => {
      const insp = this.store.get(p.handle);
      const model = insp.model;
      if (!(model instanceof DecoderModel) || !can(model, "fillMask")) throw new EngineError("UNSUPPORTED", `this inspection's model has no masked-LM head to fill a mask (ask nextToken for a causal model's distribution)`);
      const T = insp.ids.length;
      const position = int(p.position, "position", 0, T - 1);
      const temperature = p.temperature ?? 1;
      if (!(temperature > 0)) throw new EngineError("BAD_INPUT", `temperature must be a positive number (got ${temperature})`);
      const maskId = model.tokenizer.maskId;
      if (maskId === undefined) throw new EngineError("TOKENIZER", `${model.name}: the tokenizer names no mask token (mask_token in tokenizer_config.json), so no token can be masked`);
      const opts = { topK: p.topK === undefined ? 10 : int(p.topK, "topK", 1, model.config.vocab_size), temperature, tokenText: (id: number) => model.tokenizer.tokenText(id) };
      if (insp.ids[position] === maskId) return nextTokenAt(insp.logits, model.config.vocab_size, position, opts);
      // "what would the model put here?": that token masked, the input run again
      const ids = insp.ids.slice();
      ids[position] = maskId;
      if (ctx.signal.aborted) throw new EngineError("CANCELLED", "fill-mask was cancelled");
      const out = await model.forward(ids, {});
      return nextTokenAt(out.logits, model.config.vocab_size, position, { ...opts, actualId: insp.ids[position] });
    },

    embeddings: async (p) => {
      const insp = this.store.get(p.handle);
      if (p.kind === "input") return inputEmbeddingRows(insp.model.probe?.tokenEmbedding, insp.ids);
      return hiddenStates(insp.lastHidden, insp.ids.length);
    },

    release: async (p) => ({ released: this.store.release(p.handle) || this.recurrent.release(p.handle) }),

    surprisal: async (p) => {
      const insp = this.store.get(p.handle);
      const m = insp.model;
      const r = surprisals(insp.logits, m.config.vocab_size, insp.ids, p.topK === undefined ? 5 : int(p.topK, "topK", 1, 100));
      return { meanBits: r.meanBits, tokens: r.tokens.map((t) => ({ ...t, top: t.top.map((x) => ({ ...x, token: m.tokenizer.tokenText(x.id) })) })) };
    },

    generate: async (p, ctx) => {
      const opened = await this.open(p.model, ctx);
      if (opened instanceof Seq2SeqModel) {
        const res = await generateSeq2seq(opened, p, (token: GeneratedToken, index: number, delta: string) => ctx.progress({ kind: "token", token, index, delta }), ctx.signal);
        ctx.log("info", `generate ${opened.name}: ${res.tokens.length} target tokens, ${res.ms.perToken.toFixed(2)} ms/token on ${opened.device} (${p.useCache === false || !opened.hasKvCache ? "no cache" : "KV cache"})`);
        return res;
      }
      const model = serving(opened, "generate", "generate text");
      const res = await generate(model, p, (token: GeneratedToken, index: number, delta: string) => ctx.progress({ kind: "token", token, index, delta }), ctx.signal);
      ctx.log("info", `generate ${model.name}: ${res.tokens.length} tokens, ${res.ms.perToken.toFixed(2)} ms/token on ${model.device} (${p.useCache === false ? "no cache" : "KV cache"})`);
      return res;
    },

    complete: async (p, ctx) => {
      const model = await this.serving(p.model, "completion", "complete code", ctx);
      const r = await complete(model, p, ctx.signal);
      ctx.log("info", `complete ${model.name}: ${r.generated} tokens (${r.text.length} characters kept, stopped by ${r.stoppedBy}) in ${r.ms.total.toFixed(1)} ms, prompt ${r.promptTokens} tokens ${r.ms.prompt.toFixed(1)} ms, ${r.ms.perToken.toFixed(2)} ms/token${r.kvCache ? "" : " (no KV cache)"}`);
      return r;
    },

    gates: async (p, ctx) => {
      const r = await this.recurrent.gates(p, ctx.signal);
      if (r.window) ctx.log("info", `gates ${r.name}: ${r.window.notice}`);
      const bad = r.layers.filter((l) => !l.check.ok);
      ctx.log(bad.length ? "warn" : "info", `gates ${r.name} (${r.runtime}): ${r.steps} steps, ${r.layers.length} directions in ${r.ms.run.toFixed(1)} ms${bad.length ? `; recomputed states differ from the runtime's in ${bad.map((l) => `layer ${l.layer} ${l.direction} (${l.check.maxAbsDiff.toExponential(2)})`).join(", ")}` : ""}`);
      return r;
    },

    gateSlice: async (p) => this.recurrent.gateSlice(p),

    gateFiring: async (p) => this.recurrent.gateFiring(p),

    parseSeries: async (p) => {
      // Every row is checked; the values of the window asked for (the last maxSteps rows by default) come back.
      const r = parseSeries(p.text, { lineOffset: p.lineOffset, column: p.column, maxSteps: p.maxSteps ?? this.limits.maxSteps, window: p.window, fromStep: p.fromStep });
      if (!r.ok) return r;
      return {
        ok: true as const,
        values: Float64Array.from(r.values),
        sourceStart: Int32Array.from(r.sources, (x) => x.start),
        sourceEnd: Int32Array.from(r.sources, (x) => x.end),
        columnIndex: r.columnIndex,
        ...(r.window ? { window: { ...r.window, unit: "rows" as const, notice: windowNotice(r.window) } } : {}),
      };
    },

    project: async (p, ctx) => {
      const t0 = performance.now();
      const loaded = await this.open(p.model, ctx);
      if (can(loaded, "gates")) return this.projectRecurrent(p, ctx, t0);
      const vocabulary = p.text === undefined && p.ids === undefined;
      const model = vocabulary ? serving(loaded, "embeddings", "project its vocabulary") : serving(loaded, "lens", "project its residual stream");
      const method = p.method;
      const dims = p.dims ?? 2;
      const onSteps = (done: number, total: number, message: string) => ctx.progress({ kind: "steps", done, total, message });
      if (vocabulary) {
        const matrix = p.matrix ?? "input";
        const m = embeddingMatrix(model, matrix);
        const key = `${model.probe.sha256}|${matrix}|${method}|${dims}`;
        let hit = this.projections.get(key);
        const cached = !!hit;
        if (!hit) {
          hit = await projectRows(m, method, dims, ctx.signal, onSteps);
          this.projections.set(key, hit);
        }
        const coords = hit.coords;
        const points = Array.from({ length: m.rows }, (_, id) => pointAt(coords, dims, id, id, model.tokenizer.tokenText(id)));
        return { source: "vocabulary" as const, matrix, method, dims, points, explained: hit.explained, cached, ms: performance.now() - t0 };
      }
      const layers = model.config.n_layer + 1;
      const layer = p.layer === undefined ? layers - 1 : int(p.layer, "layer", 0, layers - 1);
      const maxTokens = p.maxTokens === undefined ? model.config.n_positions : Math.min(int(p.maxTokens, "maxTokens", 1), model.config.n_positions);
      const input = tokenizeInput(model, { text: p.text, ids: p.ids }, maxTokens);
      if (input.truncated) ctx.log("info", input.truncated.notice);
      const out = await model.lensForward(input.ids, { decode: false });
      const T = input.ids.length;
      const d = out.residuals[layer].length / T;
      const rows: Matrix = { rows: T, cols: d, data: out.residuals[layer] };
      const { coords, explained } = await projectRows(rows, method, dims, ctx.signal, onSteps);
      const points = input.tokens.map((tok, t) => ({ ...pointAt(coords, dims, t, tok.id, tok.text), position: t }));
      return { source: "contextual" as const, method, dims, points, explained, layer, layers, tokens: input.tokens, truncated: input.truncated, cached: false, ms: performance.now() - t0 };
    },

    compare: async (p, ctx) => {
      const [loadedA, loadedB] = await Promise.all([this.open(p.modelA, ctx), this.open(p.modelB, ctx)]);
      const rA = can(loadedA, "gates");
      const rB = can(loadedB, "gates");
      if (rA !== rB) throw new EngineError("INCOMPATIBLE", `the two models read different inputs: ${rA ? p.modelA : p.modelB} is a recurrent model and ${rA ? p.modelB : p.modelA} a transformer decoder`);
      if (rA) return compareRecurrent(this.recurrent, p.modelA, p.modelB, p.text, { store: this.store, maxChars: p.maxTokens === undefined ? undefined : int(p.maxTokens, "maxTokens", 1) });
      const [a, b] = [serving(loadedA, "tokens", "be compared token by token"), serving(loadedB, "tokens", "be compared token by token")];
      const maxTokens = p.maxTokens === undefined ? undefined : int(p.maxTokens, "maxTokens", 1);
      const r = await compareModels(a, b, { text: p.text, ids: p.ids }, { maxTokens, store: this.store, signal: ctx.signal, memoryBudget: this.limits.memoryBudget });
      if (r.truncated) ctx.log("info", r.truncated.notice);
      ctx.log("info", `compare ${a.name} / ${b.name} (${r.mode}): ${r.tokens.length} tokens in ${r.ms.total.toFixed(0)} ms; mean loss ${r.summary.meanLoss.map((v) => v.toFixed(3)).join(" / ")} ${r.summary.unit}`);
      return r;
    },

    quantize: async (p, ctx) => {
      const spec = str(p.model, "model");
      // the int8 copy quantises a transformer's MatMul weights; a recurrent model's are in its LSTM/GRU/RNN operators
      const family = this.models.familyOf(spec);
      if (family.name.startsWith("recurrent")) throw new EngineError("BAD_INPUT", `${spec} is a recurrent model (${family.name}): the int8 copy quantises the MatMul weights of transformer models, and a recurrent model's weights are in its LSTM, GRU or RNN operators; nothing was written`);
      const folder = openModelFolder(spec);
      const out = path.resolve(str(p.out, "out"));
      if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new EngineError("BAD_INPUT", `${out} exists and is not empty: pick a new folder for the int8 copy (nothing is overwritten)`);
      // The folder first (a path that cannot be written fails before the long work). A cancel, or any
      // failure, removes what this request made and nothing else: the first folder it created (the
      // copy's folder, or a parent of it that was not there), else the files it wrote into a folder
      // that was there and empty.
      const made = fs.mkdirSync(path.join(out, "onnx"), { recursive: true });
      const written: string[] = [];
      try {
        // the folder's other files (config, tokenizer, README ...) as they are; the graph quantised
        for (const f of fs.readdirSync(folder.dir)) {
          const src = path.join(folder.dir, f);
          // a file that is a link out of the folder is not the model's: not read, not copied
          if (fs.statSync(src).isFile() && escapesFolder(folder.dir, src) === undefined) {
            written.push(path.join(out, f));
            fs.copyFileSync(src, path.join(out, f));
          }
        }
        const q = await quantizeDynamicAsync(folder.onnxFile, { signal: ctx.signal, onProgress: (done, total) => ctx.progress({ kind: "steps", done, total, message: `quantising MatMul ${done} of ${total}` }) });
        const target = path.join(out, "onnx", "model.onnx");
        written.push(`${target}.tmp`);
        fs.writeFileSync(`${target}.tmp`, q.bytes);
        if (ctx.signal.aborted) throw new EngineError("CANCELLED", "quantize was cancelled");
        written.push(target);
        fs.renameSync(`${target}.tmp`, target);
        const bytes: [number, number] = [fs.statSync(folder.onnxFile).size, q.bytes.length];
        ctx.log("info", `quantised ${folder.name}: ${q.quantized} MatMul weights to int8 (${q.kept} kept float), ${(bytes[0] / 2 ** 20).toFixed(1)} -> ${(bytes[1] / 2 ** 20).toFixed(1)} MiB, written to ${out}`);
        return { out, quantized: q.quantized, kept: q.kept, bytes };
      } catch (e) {
        removeMade(made, written);
        throw e;
      }
    },

    lens: async (p, ctx) => {
      const t0 = performance.now();
      const model = await this.serving(p.model, "lens", "run the logit lens", ctx);
      const maxTokens = p.maxTokens === undefined ? model.config.n_positions : Math.min(int(p.maxTokens, "maxTokens", 1), model.config.n_positions);
      const topK = p.topK === undefined ? 5 : int(p.topK, "topK", 1, 50);
      const input = tokenizeInput(model, { text: p.text, ids: p.ids }, maxTokens);
      if (input.truncated) ctx.log("info", input.truncated.notice);
      checkForwardBudget(`the logit lens of ${model.name} on`, model.config, input.ids.length, this.limits.memoryBudget, { lens: true });
      const out = await model.lensForward(input.ids, { decode: true });
      if (ctx.signal.aborted) throw new EngineError("CANCELLED", "lens was cancelled");
      const T = input.ids.length;
      const table = logitLens(out.logits!, T, model.config.vocab_size, topK);
      const text = (id: number) => model.tokenizer.tokenText(id);
      const L = model.config.n_layer;
      ctx.log("info", `lens ${model.name}: ${T} tokens x ${L + 1} layers in ${(performance.now() - t0).toFixed(0)} ms`);
      return {
        tokens: input.tokens,
        truncated: input.truncated,
        layerNames: Array.from({ length: L + 1 }, (_, i) => (i === 0 ? "embeddings" : `block ${i - 1}`)),
        layers: table.top.map((row) => row.map((cell) => cell.map((c) => ({ id: c.id, token: text(c.id), p: c.p })))),
        finalRank: table.finalRank,
        finalP: table.finalP,
        ms: performance.now() - t0,
      };
    },

    attribute: async (p, ctx) => {
      const t0 = performance.now();
      const method = p.method ?? "ablation";
      const loaded = await this.open(p.model, ctx);
      if (can(loaded, "gates")) throw new EngineError("INCOMPATIBLE", `${loaded.name} is a recurrent model (${loaded.family}): attribution explains a transformer decoder's token prediction; pick a decoder model`);
      const model = serving(loaded, "tokens", "attribute a prediction to its input");
      if (!can(model, "nextToken")) throw new EngineError("UNSUPPORTED", `${model.name} (${model.family}) predicts no next token (it has ${model.capabilities.join(", ")}), so there is no prediction to attribute: pick a causal decoder`);
      const maxTokens = p.maxTokens === undefined ? model.config.n_positions : Math.min(int(p.maxTokens, "maxTokens", 1), model.config.n_positions);
      const input = tokenizeInput(model, { text: p.text, ids: p.ids }, maxTokens);
      if (input.truncated) ctx.log("info", input.truncated.notice);
      const T = input.ids.length;
      // a negative position counts from the end: -1 is the input's last token (explained from the ones before it)
      const asked = p.position !== undefined && Number.isInteger(p.position) && p.position < 0 ? T + p.position : p.position;
      if (asked !== undefined && (!Number.isInteger(asked) || asked < 1 || asked > T)) {
        throw new EngineError("BAD_INPUT", `position must be an integer in 1..${T} (the token explained, from the ${T} tokens of the input; ${T} is the next token after it), or -1..-${T - 1} counted back from the end, got ${p.position}`);
      }
      const position = asked ?? T;
      const V = model.config.vocab_size;
      const tok = model.tokenizer;
      const foil = p.foil === undefined ? undefined : resolveToken(tok, V, p.foil, "foil");
      // the default target: the token actually at `position`, or after the input the model's top prediction
      const given = p.target === undefined ? (position < T ? input.ids[position] : undefined) : resolveToken(tok, V, p.target, "target");
      if (method !== "ablation") {
        const g = await attributeByGradients(model, input.ids, input.tokens.map((t) => t.text), {
          method,
          position,
          target: given,
          foil,
          baseline: p.baseline,
          steps: p.steps,
          memoryBudget: this.limits.memoryBudget,
          signal: ctx.signal,
          progress: (done, total, message) => ctx.progress({ kind: "steps", done, total, message }),
          open: (spec) => this.open(spec, ctx),
        });
        const ms = performance.now() - t0;
        ctx.log("info", `attribute ${model.name}: ${method} over ${position} tokens on ${g.computedBy.name}, ${g.runs} sequences, ${ms.toFixed(0)} ms`);
        return { ...g, tokens: input.tokens, truncated: input.truncated, ms };
      }
      if (p.steps !== undefined) throw new EngineError("BAD_INPUT", `steps is the number of points on integrated gradients' path; feature ablation runs once per token: leave steps out, or use method integrated-gradients`);
      // a token in each one's place, or its token embedding zeroed (positions kept)
      const baseline = p.baseline === "zero" ? undefined : resolveBaseline(tok, V, p.baseline);
      checkForwardBudget(`attributing a prediction of ${model.name} on`, model.config, position, this.limits.memoryBudget, {});
      // one ablated input must fit the budget; a batch holds as many as fit (at most 32)
      const perRun = forwardBytes(model.config, position, {}).bytes;
      const r = await featureAblation(model, input.ids, {
        position,
        target: given,
        foil,
        baseline: baseline ? baseline.id : "zero",
        maxBatch: Math.max(1, Math.min(32, Math.floor(this.limits.memoryBudget / perRun))),
        signal: ctx.signal,
        onStep: (done, total) => ctx.progress({ kind: "steps", done, total, message: `ablating token ${Math.max(0, done - 1)} of ${total - 1}` }),
      });
      const target = r.target;
      const ms = performance.now() - t0;
      ctx.log("info", `attribute ${model.name}: ${position} tokens ablated in ${r.runs} runs, ${ms.toFixed(0)} ms`);
      return {
        target: { id: target, text: tok.tokenText(target) },
        ...(foil !== undefined ? { foil: { id: foil, text: tok.tokenText(foil) } } : {}),
        method,
        metric: foil === undefined ? ("logprob" as const) : ("logit-diff" as const),
        baseline: baseline ? { id: baseline.id, text: tok.tokenText(baseline.id), kind: baseline.kind } : { text: "", kind: "zero" as const },
        position,
        base: r.base,
        scores: r.scores.map((score, i) => ({ position: i, text: input.tokens[i].text, score })),
        tokens: input.tokens,
        truncated: input.truncated,
        runs: r.runs,
        computedBy: { name: model.name, family: model.family, runtime: model.info().runtime },
        ms,
      };
    },

    dla: async (p, ctx) => {
      const t0 = performance.now();
      const loaded = await this.open(p.model, ctx);
      if (can(loaded, "gates")) throw new EngineError("INCOMPATIBLE", `${loaded.name} is a recurrent model (${loaded.family}): direct logit attribution splits a transformer decoder's prediction into its heads and MLPs; pick a decoder model`);
      const model = serving(loaded, "lens", "split a prediction into its heads and MLPs (direct logit attribution needs the ONNX graph's residual stream)");
      const maxTokens = p.maxTokens === undefined ? model.config.n_positions : Math.min(int(p.maxTokens, "maxTokens", 1), model.config.n_positions);
      const input = tokenizeInput(model, { text: p.text, ids: p.ids }, maxTokens);
      if (input.truncated) ctx.log("info", input.truncated.notice);
      const T = input.ids.length;
      if (p.position !== undefined && (!Number.isInteger(p.position) || p.position < 1 || p.position > T)) {
        throw new EngineError("BAD_INPUT", `position must be an integer in 1..${T} (the token explained, from the ${T} tokens of the input; ${T} is the next token after it), got ${p.position}`);
      }
      const position = p.position ?? T;
      const V = model.config.vocab_size;
      const tok = model.tokenizer;
      const foil = p.foil === undefined ? undefined : resolveToken(tok, V, p.foil, "foil");
      const given = p.target === undefined ? (position < T ? input.ids[position] : undefined) : resolveToken(tok, V, p.target, "target");
      checkForwardBudget(`direct logit attribution of ${model.name} on`, model.config, position, this.limits.memoryBudget, { lens: true });
      if (ctx.signal.aborted) throw new EngineError("CANCELLED", "dla was cancelled");
      const r = await directLogitAttribution(model, input.ids, { position, target: given, foil });
      const g = await model.interventions();
      const ms = performance.now() - t0;
      ctx.log("info", `dla ${model.name}: position ${position} of ${T} tokens in ${ms.toFixed(0)} ms`);
      return {
        target: { id: r.target, text: tok.tokenText(r.target) },
        ...(foil !== undefined ? { foil: { id: foil, text: tok.tokenText(foil) } } : {}),
        metric: foil === undefined ? ("logit" as const) : ("logit-diff" as const),
        position,
        embed: r.embed,
        heads: r.heads,
        mlps: r.mlps,
        attnBiases: r.attnBiases,
        remainder: r.remainder,
        biasTerm: r.biasTerm,
        logit: r.logit,
        norm: g.norm.kind,
        tokens: input.tokens,
        truncated: input.truncated,
        ms,
      };
    },

    patch: async (p, ctx) => {
      const t0 = performance.now();
      const loaded = await this.open(p.model, ctx);
      if (can(loaded, "gates")) throw new EngineError("INCOMPATIBLE", `${loaded.name} is a recurrent model (${loaded.family}): activation patching replaces a transformer decoder's residual stream and attention heads; pick a decoder model`);
      const model = serving(loaded, "lens", "patch activations between two inputs (activation patching edits the ONNX graph's residual stream and attention heads)");
      const n = model.config.n_positions;
      const side = (x: string | number[]) => tokenizeInput(model, typeof x === "string" ? { text: x } : { ids: x }, n);
      const clean = side(p.clean);
      const corrupted = side(p.corrupted);
      for (const t of [clean.truncated, corrupted.truncated]) if (t) ctx.log("info", t.notice);
      checkPair(clean.ids, corrupted.ids);
      const T = clean.ids.length;
      const V = model.config.vocab_size;
      const tok = model.tokenizer;
      // the metric asked for, else the clean run's top next token against the corrupted run's (defaultMetric)
      const topTwo = async (ids: number[]) => {
        const lg = (await model.forward(ids, {})).logits;
        const row = lg.subarray((ids.length - 1) * V, ids.length * V);
        const first = argmaxAt(row, V, 0);
        let second = first === 0 ? 1 : 0;
        for (let i = 0; i < V; i++) if (i !== first && row[i] > row[second]) second = i;
        return [{ id: first }, { id: second }];
      };
      const chosen = p.metric ? undefined : defaultMetric(await topTwo(clean.ids), await topTwo(corrupted.ids));
      const target = chosen ? chosen.target : resolveToken(tok, V, p.metric!.target, "target");
      const foil = chosen ? chosen.foil : resolveToken(tok, V, p.metric!.foil, "foil");
      if (target === foil) throw new EngineError("BAD_INPUT", `the metric's two tokens are the same (token ${target}): logit(target) − logit(foil) is 0 whatever the input; give two different tokens, such as "A-B"`);
      const per = p.per ?? "residual";
      if (p.layer !== undefined && per !== "head") throw new EngineError("BAD_INPUT", `a layer is given for per "residual", which patches every layer: give per "head" to patch the heads of layer ${p.layer}, or leave the layer out`);
      if (p.layer !== undefined && (!Number.isInteger(p.layer) || p.layer < 0 || p.layer >= model.config.n_layer)) {
        throw new EngineError("BAD_INPUT", `layer ${p.layer} is not in this model: its layers are 0..${model.config.n_layer - 1}`);
      }
      // one patched run must fit the budget; a batch holds as many as fit (at most 32)
      checkForwardBudget(`activation patching of ${model.name} on`, model.config, T, this.limits.memoryBudget, { attention: true });
      const perRun = forwardBytes(model.config, T, { attention: true }).bytes;
      const maxBatch = Math.max(1, Math.min(32, Math.floor(this.limits.memoryBudget / perRun)));
      if (ctx.signal.aborted) throw new EngineError("CANCELLED", "activation patching was cancelled");
      const r = await activationPatching(model, {
        clean: clean.ids,
        corrupted: corrupted.ids,
        target,
        foil,
        per,
        layer: p.layer,
        maxBatch,
        signal: ctx.signal,
        onStep: (done, total) => ctx.progress({ kind: "steps", done, total, message: `patched ${done} of ${total}` }),
      });
      const ms = performance.now() - t0;
      ctx.log("info", `patch ${model.name}: ${r.axes.join(" × ")} grid, ${r.patched} entries patched in ${r.runs} runs, ${ms.toFixed(0)} ms`);
      return {
        per,
        ...(p.layer !== undefined ? { layer: p.layer } : {}),
        axes: r.axes,
        grid: r.grid,
        raw: r.raw,
        cleanMetric: r.cleanMetric,
        corruptedMetric: r.corruptedMetric,
        target: { id: target, text: tok.tokenText(target) },
        foil: { id: foil, text: tok.tokenText(foil) },
        tokens: clean.tokens,
        corruptedTokens: corrupted.tokens,
        differ: clean.ids.flatMap((id, i) => (id === corrupted.ids[i] ? [] : [i])),
        patched: r.patched,
        runs: r.runs,
        ms,
      };
    },

    neighbours: async (p, ctx) => {
      const model = await this.serving(p.model, "embeddings", "find nearest tokens in its vocabulary", ctx);
      const m = embeddingMatrix(model, p.matrix ?? "input");
      const metric = p.metric ?? "cosine";
      const minus = p.minus ?? [];
      const query = vectorSum(m, p.plus, minus);
      const k = p.k === undefined ? 10 : int(p.k, "k", 1, m.rows);
      const found = nearestRows(m, query, k, metric, new Set([...p.plus, ...minus]));
      return { metric, neighbours: found.map((f) => ({ id: f.row, token: model.tokenizer.tokenText(f.row), score: f.score })) };
    },

    forecast: async (p, ctx) => this.recurrent.forecast(p, ctx.signal),

    gradients: async (p, ctx) => this.recurrent.gradients(p, ctx.signal),
  };

  /** `ids` with `heads` switched off, for inspect: only a decoder whose graph the interventions copy reads. */
  private async ablatedRun(loaded: LoadedModel, ids: number[], heads: HeadRef[], mode: AblationMode, ctx: CallContext) {
    const model = serving(loaded, "lens", "switch attention heads off (head ablation edits the ONNX graph's attention output)");
    checkHeads(heads, model.config.n_layer, model.config.n_head);
    checkForwardBudget(`head ablation of ${model.name} on`, model.config, ids.length, this.limits.memoryBudget, { attention: model.probe.attentionOutputs.length > 0 });
    if (ctx.signal.aborted) throw new EngineError("CANCELLED", "inspect was cancelled");
    return ablateHeads(model, ids, heads, mode);
  }

  /** Contextual embeddings of a recurrent model: h_t per step of one direction of one layer. */
  private async projectRecurrent(p: Params<"project">, ctx: CallContext, t0: number): Promise<Result<"project">> {
    const method = p.method;
    const dims = p.dims ?? 2;
    const h = await this.recurrent.hiddenStates({ model: p.model, text: p.text, values: p.values, layer: p.layer }, ctx.signal);
    const { coords, explained } = await projectRows(h.rows, method, dims, ctx.signal, (done, total, message) => ctx.progress({ kind: "steps", done, total, message }));
    const tokens = stepTokens(h.labels, h.source, h.inputKind);
    const points = tokens.map((tok, t) => ({ ...pointAt(coords, dims, t, tok.id, tok.text), position: t }));
    return { source: "contextual", recurrent: true, method, dims, points, explained, layer: h.layer, layers: h.layerNames.length, layerNames: h.layerNames, tokens, cached: false, ms: performance.now() - t0 };
  }

  async call<M extends Method>(method: M, params: Params<M>, ctx: CallContext): Promise<Result<M>> {
    const h = Object.hasOwn(this.handlers, method) ? (this.handlers[method] as Handler<M>) : undefined;
    if (!h) throw new EngineError("BAD_INPUT", `unknown method ${JSON.stringify(method)}`);
    // The same schemas the panels' messages and the client's types come from (protocol/).
    const checked = checkParams(method, params);
    const ms = this.limits.deadlineMs;
    if (!ms) return h(checked, ctx);
    // Past the deadline the request fails, and its signal tells the work to stop at its next check.
    const expired = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired.abort();
        reject(new EngineError(DEADLINE, `${method} ran past the engine's deadline of ${Math.round(ms / 100) / 10} s and was stopped; give it less input, or raise the deadline (--deadline, SEQLENS_DEADLINE_MS)`));
      }, ms);
    });
    try {
      return await Promise.race([h(checked, { ...ctx, signal: AbortSignal.any([ctx.signal, expired.signal]) }), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
