// seqlens: the command-line twin of the panels. It talks to the same engine process the
// extension uses.
//   seqlens inspect  --model PATH (--text STR | --file PATH | --ids 1,2,3) [--top-k N] [--json]
//   seqlens generate --model PATH --text STR --max-tokens N [--greedy | --temperature T --top-k K --top-p P --seed S] [--no-cache] [--json]
//   seqlens complete --model PATH (--text PREFIX | --file PATH) [--suffix STR] [--max-tokens N] [--max-ms MS] [--stop-at line|block] [--json]
//   seqlens info     --model PATH [--json]
//   seqlens gates    --model PATH (--text STR | --series CSV | --values 1.5,2,3) [--runtime onnx|tfjs] [--max-steps N] [--window K | --from-step S] [--json]
//   seqlens forecast --model PATH (--series CSV | --values ...) [--horizon N] [--runtime onnx|tfjs] [--max-steps N] [--window K | --from-step S] [--json]
//   seqlens project, neighbours, lens: see cliEmbeddings.ts
//   seqlens attribute: see cliAttribution.ts
//   seqlens dla, inspect --ablate: see cliDla.ts
//   seqlens patch: see cliPatch.ts
// Common: --ep cpu|cuda|auto (execution providers; also SEQLENS_EP), --memory-budget SIZE (also
// SEQLENS_MEMORY_BUDGET), --deadline SECONDS (also SEQLENS_DEADLINE_MS, in ms): passed to the engine.
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineClient } from "./client";
import { attentionNested } from "../protocol/inspector";
import { seq2seqAttentionNested, type Seq2SeqAttentionKind } from "../protocol/seq2seq";
import { EngineError } from "../protocol/errors";
import { parseProviders } from "./runtime/onnx/session";
import { CliUsageError, forecastCommand, gatesCommand, memoryBudgetOf, readTextFile, type Out } from "./cliRecurrent";
import { lensCommand, neighboursCommand, projectCommand } from "./cliEmbeddings";
import { compareCommand, quantizeCommand } from "./cliCompare";
import { attributeCommand } from "./cliAttribution";
import { ablateOf, dlaCommand } from "./cliDla";
import { patchCommand } from "./cliPatch";

const USAGE = `usage:
  seqlens inspect  --model PATH (--text STR | --file PATH | --ids 1,2,3) [--top-k N] [--json]
                   [--ablate L.H[,L.H] [--ablate-mode zero|mean]]   attention heads switched off (layer.head, from 0)
                   an encoder-decoder: the source, and [--target STR | --target-ids 0,5,9] (default: its greedy translation)
  seqlens generate --model PATH --text STR --max-tokens N [--greedy | --temperature T --top-k K --top-p P --seed S] [--no-cache] [--json]
  seqlens info     --model PATH [--json]
  seqlens gates    --model PATH (--text STR | --series CSV | --values 1.5,2,3) [--runtime onnx|tfjs] [--max-steps N] [--window K | --from-step S] [--json]
  seqlens forecast --model PATH (--series CSV | --values ...) [--horizon N] [--runtime onnx|tfjs] [--max-steps N] [--window K | --from-step S] [--json]
  seqlens project  --model PATH --method pca|umap|tsne [--dims 2|3] [--matrix input|output] [--text STR | --file PATH | --series CSV] [--layer N] [--json]
  seqlens neighbours --model PATH --token STR [--plus STR] [--minus STR] [--k N] [--metric cosine|euclidean] [--matrix input|output] [--json]
  seqlens lens     --model PATH (--text STR | --file PATH | --ids 1,2,3) [--top-k N] [--json]
  seqlens compare  --model A --model B (--text STR | --file PATH) [--json]
  seqlens quantize --model PATH --out NEW_FOLDER [--json]
  seqlens complete --model PATH (--text STR | --file PATH) [--suffix STR] [--max-tokens N] [--max-ms MS] [--stop-at line|block] [--alternatives N] [--json]
  seqlens attribute --model PATH (--text STR | --file PATH | --ids 1,2,3) [--position I] [--target TOKEN] [--foil TOKEN]
                   [--baseline pad|eos|mask|unk|zero|ID] [--method ablation|grad-x-input|integrated-gradients] [--steps N] [--top N] [--json]
                   why the model predicts token I (default: the next token after the input): each earlier token's share
  seqlens dla      --model PATH (--text STR | --file PATH | --ids 1,2,3) [--position I] [--target TOKEN] [--foil TOKEN] [--top N] [--json]
                   the logit of token I split into the embeddings, each attention head and each MLP (direct logit attribution)
  seqlens patch    --model PATH (--clean STR | --clean-ids 1,2,3) (--corrupted STR | --corrupted-ids 1,2,4) --metric "TOKEN_A-TOKEN_B"
                   [--per residual|head [--layer L]] [--json]
                   how much of the clean prediction each activation restores when patched into the corrupted run (activation patching)
options: --ep cpu|cuda|auto   execution providers (default auto: CUDA when installed and a GPU is present)
         --memory-budget SIZE  the most memory a request may need, such as 2GB or 512MB (default 2GB): larger inputs are refused
         --deadline SECONDS    how long a request may run (default 120; 0: no deadline)
         --max-steps N         the most rows of a series (or characters for a character model) read at once (default 20000);
                               a longer one is read a window at a time: the last rows, or --window K (1: the rows before those, ...)
                               or the rows from --from-step S (0-based)`;

const FLAGS = new Set(["--json", "--greedy", "--no-cache", "--help", "-h"]);

export function parseArgs(argv: string[]): { command: string; opts: Map<string, string> } {
  const [command, ...rest] = argv;
  const opts = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (FLAGS.has(a)) opts.set(a, "true");
    else if (a.startsWith("--")) {
      if (i + 1 >= rest.length) throw new UsageError(`${/^--[\w-]+$/.test(a) ? a : quoted(a)} needs a value`);
      // a flag given again is kept as "--flag#2", "--flag#3" ... (compare's two --model, neighbours' --plus)
      let key = a;
      for (let n = 2; opts.has(key); n++) key = `${a}#${n}`;
      opts.set(key, rest[++i]);
    } else throw new UsageError(`unexpected argument ${quoted(a)}`);
  }
  return { command: command ?? "", opts };
}

/** An argument as the user can read it back: quoted, anything but printable ASCII escaped (a terminal would act on control and bidirectional characters). */
function quoted(a: string): string {
  return JSON.stringify(a).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const UsageError = CliUsageError;

function need(opts: Map<string, string>, name: string): string {
  const v = opts.get(name);
  if (v === undefined) throw new UsageError(`${name} is required`);
  return v;
}

function num(opts: Map<string, string>, name: string): number | undefined {
  const v = opts.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number (got ${JSON.stringify(v)})`);
  return n;
}

/** The engine's limits from the flags, as its environment. */
function limitsEnv(opts: Map<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  if (opts.has("--memory-budget")) env.SEQLENS_MEMORY_BUDGET = String(memoryBudgetOf(opts));
  const deadline = opts.get("--deadline");
  if (deadline !== undefined) {
    const s = Number(deadline);
    if (deadline.trim() === "" || !Number.isFinite(s) || s < 0) throw new UsageError(`--deadline must be a number of seconds, 0 for none (got ${JSON.stringify(deadline)})`);
    env.SEQLENS_DEADLINE_MS = String(Math.round(s * 1000));
  }
  const steps = opts.get("--max-steps");
  if (steps !== undefined) {
    if (!/^\d+$/.test(steps.trim()) || Number(steps) < 1) throw new UsageError(`--max-steps must be a whole number of at least 1 (got ${JSON.stringify(steps)})`);
    env.SEQLENS_MAX_STEPS = steps.trim();
  }
  return env;
}

function readText(opts: Map<string, string>): { text?: string; ids?: number[] } {
  if (opts.has("--ids")) {
    const ids = need(opts, "--ids").split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    if (ids.some((n) => !Number.isInteger(n))) throw new UsageError("--ids must be comma-separated integers");
    return { ids };
  }
  if (opts.has("--file")) {
    const f = path.resolve(need(opts, "--file"));
    if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw new EngineError("BAD_INPUT", `no such file: ${f}`);
    return { text: readTextFile(f, "--file", memoryBudgetOf(opts)) };
  }
  if (opts.has("--text")) return { text: need(opts, "--text") };
  throw new UsageError("give the input with --text, --file or --ids");
}

const show = (s: string) => JSON.stringify(s).slice(1, -1);

export async function main(argv: string[], out: Out = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  let client: EngineClient | undefined;
  try {
    const { command, opts } = parseArgs(argv);
    if (command === "" || command === "help" || command === "--help" || command === "-h" || opts.has("--help") || opts.has("-h")) {
      out(USAGE + "\n");
      return command === "" ? 2 : 0;
    }
    const json = opts.has("--json");
    parseProviders(opts.get("--ep") ?? process.env.SEQLENS_EP); // a bad --ep is a usage error here, not an engine crash
    client = new EngineClient({ providers: opts.get("--ep"), env: limitsEnv(opts), onLog: (level, m) => level !== "info" && err(`seqlens: ${level}: ${m}\n`) });
    const model = need(opts, "--model");
    if (command === "gates") return await gatesCommand(client, opts, out, err);
    if (command === "forecast") return await forecastCommand(client, opts, out, err);
    if (command === "compare") return await compareCommand(client, opts, json, readText, out, err);
    if (command === "quantize") return await quantizeCommand(client, opts, model, json, out);
    if (command === "project") return await projectCommand(client, opts, model, json, readText, out, err);
    if (command === "neighbours") return await neighboursCommand(client, opts, model, json, out);
    if (command === "lens") return await lensCommand(client, opts, model, json, readText, out, err);
    if (command === "attribute") return await attributeCommand(client, opts, model, json, readText, out, err);
    if (command === "dla") return await dlaCommand(client, opts, model, json, readText, out, err);
    if (command === "patch") return await patchCommand(client, opts, model, json, out, err);
    if (command === "info") {
      const info = await client.request("info", { model });
      if (json) out(JSON.stringify(info, null, 2) + "\n");
      else {
        out(`${info.name} (${info.modelType}) at ${info.path}\n`);
        if (info.capabilities.includes("gates")) {
          out(`  ${info.nLayer} recurrent layers, up to ${info.nEmbd} units${info.vocabSize ? `, vocabulary ${info.vocabSize}` : ""}\n`);
          out(`  ${info.parameters.toLocaleString("en-US")} parameters, ${(info.fileBytes / 2 ** 20).toFixed(2)} MiB\n`);
          out(`  runtime ${info.runtime}, device ${info.device}\n`);
        } else {
          const kv = info.nKvHead && info.nKvHead !== info.nHead ? ` (${info.nKvHead} key/value heads: grouped-query attention)` : "";
          out(`  ${info.nLayer} layers, ${info.nHead} heads${kv}, ${info.nEmbd} dims, vocabulary ${info.vocabSize}, context ${info.nPositions}\n`);
          out(`  ${info.parameters.toLocaleString("en-US")} parameters, ${(info.fileBytes / 2 ** 20).toFixed(1)} MiB onnx, KV cache ${info.hasKvCache ? "yes" : "no"}\n`);
          out(`  runtime ${info.runtime}, device ${info.device} (providers ${info.executionProviders.join(",")}, ${info.threads} threads)\n`);
          const source = { softmax: "the graph's Softmax outputs", "qk-output": "the fused attention ops' own QK output", recomputed: "recomputed from the fused attention ops' inputs" }[info.attention.source ?? "softmax"];
          out(`  attention: ${info.attention.found ? `${info.attention.layers} layers, from ${source}` : info.attention.note}${info.attention.found && info.attention.note ? ` (${info.attention.note})` : ""}\n`);
        }
        const form = info.form && { "onnx-folder": "an ONNX model folder", checkpoint: "a training checkpoint (the graph built from its weights)", bare: "a bare .onnx (shape read from the graph)", tfjs: "a TensorFlow.js folder", sample: "a sample" }[info.form];
        out(`  family ${info.family}${form ? `, ${form}` : ""}: ${info.capabilities.join(", ")}\n`);
      }
      return 0;
    }
    if (command === "inspect") {
      const input = readText(opts);
      const topK = num(opts, "--top-k") ?? 10;
      const ablation = ablateOf(opts);
      if ((await client.request("info", { model })).family === "seq2seq-onnx") {
        if (ablation.ablate) throw new UsageError("--ablate switches heads off in a decoder's graph; an encoder-decoder is not supported");
        return await inspectSeq2seqCommand(client, model, input, opts, topK, json, out, err);
      }
      const r = await client.request("inspect", { model, ...input, topK, ...ablation });
      if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
      let attention: number[][][][] | null = null;
      if (json && r.attentionAvailable) {
        const all = await client.request("attentionAll", { handle: r.handle });
        attention = attentionNested(all);
      }
      if (json) {
        out(JSON.stringify({
          model: r.model,
          device: r.device,
          tokens: r.tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end, ...(t.special ? { special: true } : {}) })),
          attention,
          ...(r.next ? { next: r.next.top } : {}),
          ...(r.masks ? { masks: r.masks.map((m) => ({ position: m.position, top: m.top.map((t) => ({ id: t.id, text: t.token, p: t.p })), entropyBits: m.entropyBits })) } : {}),
          ...(r.ablation ? { ablation: { heads: r.ablation.heads, mode: r.ablation.mode, klFromClean: r.ablation.klFromClean, klPerPosition: r.ablation.klPerPosition, cleanNext: r.ablation.cleanNext.top, attentionFrom: r.ablation.attentionFrom } } : {}),
          ...(r.truncated ? { truncated: r.truncated } : {}),
        }) + "\n");
      } else {
        out(`${r.tokens.length} tokens, ${r.nLayer} layers x ${r.nHead} heads, ${r.ms.run.toFixed(1)} ms on ${r.device}\n`);
        out(r.tokens.map((t) => `[${t.id}:${show(t.text)}]`).join(" ") + "\n");
        if (r.ablation) out(`heads switched off (${r.ablation.mode}): ${r.ablation.heads.map((h) => `${h.layer}.${h.head}`).join(", ")}; KL from the unablated next token ${r.ablation.klFromClean.toFixed(4)} nats\n`);
        if (r.next) {
          out(`next token (entropy ${r.next.entropyBits.toFixed(2)} bits):\n`);
          for (const t of r.next.top) out(`  ${(t.p * 100).toFixed(2).padStart(6)}%  ${show(t.token)}\n`);
        }
        if (r.masks && r.masks.length === 0) out(`no ${r.maskToken ? show(r.maskToken.text) : "mask"} token in the input: put one where the model should fill in\n`);
        for (const m of r.masks ?? []) {
          out(`${show(r.maskToken?.text ?? "mask")} at token ${m.position} (entropy ${m.entropyBits.toFixed(2)} bits):\n`);
          for (const t of m.top) out(`  ${(t.p * 100).toFixed(2).padStart(6)}%  ${show(t.token)}\n`);
        }
        if (!r.attentionAvailable) err(`seqlens: notice: no attention in this model's graph\n`);
      }
      return 0;
    }
    if (command === "generate") {
      const { text, ids } = readText(opts);
      const maxTokens = num(opts, "--max-tokens");
      if (maxTokens === undefined) throw new UsageError("--max-tokens is required");
      const greedy = opts.has("--greedy") ? true : undefined; // sampling when --temperature/--top-k/--top-p are given
      const r = await client.request(
        "generate",
        { model, text, ids, maxTokens, greedy, temperature: num(opts, "--temperature"), topK: num(opts, "--top-k"), topP: num(opts, "--top-p"), seed: num(opts, "--seed"), useCache: !opts.has("--no-cache") },
        { onProgress: (p) => !json && p.kind === "token" && out(p.delta) },
      );
      if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
      if (json) out(JSON.stringify({ text: r.text, tokens: r.tokens.map((t) => ({ id: t.id, text: t.text, p: t.p })), device: r.device, stoppedBy: r.stoppedBy, ...(r.seed !== undefined ? { seed: r.seed } : {}) }) + "\n");
      else out(`\n[${r.tokens.length} tokens, ${r.ms.perToken.toFixed(2)} ms/token on ${r.device}, ${r.greedy ? "greedy" : `sampled with seed ${r.seed}`}, stopped by ${r.stoppedBy}]\n`);
      return 0;
    }
    if (command === "complete") {
      const prefix = readText(opts).text;
      if (prefix === undefined) throw new UsageError("complete needs --text or --file (the text before the cursor)");
      const stopAt = opts.has("--stop-at") ? opts.get("--stop-at") : undefined;
      if (stopAt !== undefined && stopAt !== "line" && stopAt !== "block") throw new UsageError("--stop-at is line or block");
      const r = await client.request("complete", { model, prefix, suffix: opts.get("--suffix"), maxTokens: num(opts, "--max-tokens") ?? 48, maxMs: num(opts, "--max-ms"), stopAt, alternatives: num(opts, "--alternatives") });
      if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
      if (json) out(JSON.stringify({ text: r.text, stoppedBy: r.stoppedBy, kvCache: r.kvCache, tokens: r.tokens.map((t) => ({ id: t.id, text: t.text, p: t.p, alternatives: t.alternatives })) }) + "\n");
      else {
        out(`${r.text}\n`);
        for (const t of r.tokens) out(`  ${JSON.stringify(t.text).padEnd(16)} ${(100 * t.p).toFixed(1).padStart(5)}%   ${t.alternatives.map((a) => `${JSON.stringify(a.text)} ${(100 * a.p).toFixed(1)}%`).join("  ")}\n`);
        out(`[${r.generated} tokens, ${r.ms.total.toFixed(1)} ms, stopped by ${r.stoppedBy}${r.kvCache ? "" : ", no KV cache"}]\n`);
      }
      return 0;
    }
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`seqlens: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    err(`seqlens: error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    client?.dispose();
  }
}

/** An encoder-decoder's inspection: source, target (decoder start first), the three attentions, the next tokens. */
async function inspectSeq2seqCommand(client: EngineClient, model: string, input: { text?: string; ids?: number[] }, opts: Map<string, string>, topK: number, json: boolean, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let targetIds: number[] | undefined;
  if (opts.has("--target-ids")) {
    targetIds = need(opts, "--target-ids").split(",").map((x) => x.trim()).filter(Boolean).map(Number);
    if (targetIds.some((n) => !Number.isInteger(n))) throw new UsageError("--target-ids must be comma-separated integers");
  }
  const r = await client.request("inspectSeq2seq", { model, ...input, target: opts.get("--target"), targetIds, topK, maxTokens: num(opts, "--max-tokens") });
  if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
  const all = (kind: Seq2SeqAttentionKind) => seq2seqAttentionNested((p) => client.request("seq2seqAttention", p), r, kind);
  const tok = (t: { id: number; text: string; start: number; end: number; special?: boolean }) => ({ id: t.id, text: t.text, start: t.start, end: t.end, ...(t.special ? { special: true } : {}) });
  if (json) {
    out(JSON.stringify({
      model: r.model,
      device: r.device,
      source: r.source.map(tok),
      target: r.target.map(tok),
      encoderAttention: await all("encoder"),
      decoderAttention: await all("decoder"),
      crossAttention: await all("cross"),
      next: r.next,
      ...(r.truncated ? { truncated: r.truncated } : {}),
    }) + "\n");
    return 0;
  }
  out(`source ${r.source.length} tokens: ${r.source.map((t) => `[${t.id}:${show(t.text)}]`).join(" ")}\n`);
  out(`target ${r.target.length} tokens${r.generated ? " (greedy)" : ""}: ${r.target.map((t) => `[${t.id}:${show(t.text)}]`).join(" ")}\n`);
  out(`encoder ${r.encoderLayers} x ${r.encoderHeads} heads, decoder ${r.decoderLayers} x ${r.decoderHeads} heads; cross-attention ${r.attention.cross ? "found" : "not found"}\n`);
  out(`next token:\n`);
  for (const t of r.next) out(`  ${(t.p * 100).toFixed(2).padStart(6)}%  ${show(t.token)}\n`);
  return 0;
}

export function run(): void {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) run();
