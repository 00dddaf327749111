// A bare .onnx transformer: no config.json around it. What a config would say is read from the
// graph and one tiny run of it: layers are the attention Softmax nodes, heads and the vocabulary the
// shapes of their outputs and of the logits, causal or not whether the first token sees the second,
// the width the token embedding's, the context the position table's rows. Text is read when a
// tokenizer.json sits beside the file; otherwise token ids only.
import * as fs from "node:fs";
import * as path from "node:path";
import type * as ortTypes from "onnxruntime-node";
import { EngineError } from "../../protocol/errors";
import type { DecoderConfig, ModelFolder } from "../formats/modelFolder";
import { folderFile } from "../formats/folderPaths";
import { prepareProbe, type ProbeGraph } from "../formats/onnxProbe";
import { decodeOnnx } from "../formats/onnxWeights";
import { DecoderModel } from "../models/decoder";
import { openSession, ort, ortDetail } from "../runtime/onnx/session";
import type { ModelCandidate, ModelFamily } from "./family";

/** The context assumed when the graph has no position table to read it from. */
const DEFAULT_CONTEXT = 2048;

/** What a bare graph is, measured: its config, and whether it is causal. */
export interface MeasuredGraph {
  config: DecoderConfig;
  causal: boolean;
}

/** The graph's shape from its probe and one run of three tokens (id 0). */
export async function measureBareGraph(file: string, probe: ProbeGraph): Promise<MeasuredGraph> {
  const T = ort().Tensor;
  const n = 3;
  const feeds: Record<string, ortTypes.Tensor> = {};
  for (const name of probe.inputNames) {
    if (name === "input_ids" || name === "token_type_ids") feeds[name] = new T("int64", new BigInt64Array(n), [1, n]);
    else if (name === "attention_mask") feeds[name] = new T("int64", new BigInt64Array(n).fill(1n), [1, n]);
    else if (name === "position_ids") feeds[name] = new T("int64", BigInt64Array.from([0n, 1n, 2n]), [1, n]);
    else throw new EngineError("MODEL_INVALID", `${file}: a bare graph (no config.json beside it) with the input "${name}": SeqLens feeds input_ids, attention_mask, position_ids and token_type_ids only; put the model's config.json beside it`);
  }
  const opened = await openSession(probe.file, ["cpu"]);
  let out: ortTypes.InferenceSession.OnnxValueMapType;
  try {
    out = await opened.session.run(feeds, ["logits", ...probe.attentionOutputs]);
  } catch (e) {
    throw new EngineError("MODEL_INVALID", `${file}: a run of ${n} tokens failed (${ortDetail(e)}); the file is damaged or is not a graph SeqLens can run`);
  } finally {
    await opened.session.release();
  }
  const logits = out.logits;
  if (logits.dims.length !== 3 || logits.dims[1] !== n) throw new EngineError("MODEL_INVALID", `${file}: logits have shape [${logits.dims}], not [batch, sequence, vocabulary]`);
  const vocab = logits.dims[2];
  let heads = 0;
  let causal = probe.attentionOutputs.length > 0;
  for (const name of probe.attentionOutputs) {
    const a = out[name];
    if (a.dims.length !== 4 || a.dims[2] !== n || a.dims[3] !== n) throw new EngineError("MODEL_INVALID", `${file}: the attention Softmax ${name} has shape [${a.dims}], not [batch, heads, ${n}, ${n}]`);
    if (heads !== 0 && a.dims[1] !== heads) throw new EngineError("MODEL_INVALID", `${file}: attention layers have ${heads} and ${a.dims[1]} heads`);
    heads = a.dims[1];
    const p = a.data as Float32Array;
    // causal: no head lets a token see a later one
    for (let h = 0; h < heads && causal; h++) for (let q = 0; q < n; q++) for (let k = q + 1; k < n; k++) if (p[(h * n + q) * n + k] > 1e-12) causal = false;
  }
  const width = probe.tokenEmbedding?.shape[1];
  if (width === undefined) throw new EngineError("MODEL_INVALID", `${file}: no token embedding found (an initializer gathered by input_ids), so the model's width is unknown; put its config.json beside it`);
  const config: DecoderConfig = {
    model_type: causal ? "bare-decoder" : "bare-encoder",
    n_layer: probe.attentionOutputs.length,
    n_head: heads,
    n_kv_head: heads,
    head_dim: heads > 0 ? Math.floor(width / heads) : 0,
    n_embd: width,
    vocab_size: vocab,
    n_positions: positionRows(file, width, probe) ?? DEFAULT_CONTEXT,
  };
  return { config, causal };
}

/** Rows of the position table: a 2-D initializer of the model's width gathered by something other than input_ids. */
function positionRows(file: string, width: number, probe: ProbeGraph): number | undefined {
  const graph = decodeOnnx(file, fs.readFileSync(file)).graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, (t.dims ?? []).map(Number)]));
  const embRows = probe.tokenEmbedding?.shape[0];
  for (const node of graph.node ?? []) {
    if (node.opType !== "Gather" || node.input![1] === "input_ids") continue;
    const dims = inits.get(node.input![0]);
    if (dims?.length === 2 && dims[1] === width && dims[0] !== embRows) return dims[0];
  }
  return undefined;
}

/** A tokenizer file beside the graph, if there is one (a link out of its folder is refused). */
function readJsonIfThere(file: string): object | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(folderFile(path.dirname(file), file), "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EngineError("TOKENIZER", `${file}: not valid JSON (${(e as Error).message})`);
  }
}

export const bareOnnx: ModelFamily = {
  name: "bare-onnx",
  describe: "an .onnx file without config.json whose graph takes input_ids, outputs logits and shows attention as Softmax nodes (text when a tokenizer.json is beside it, else token ids)",
  match(c: ModelCandidate): boolean {
    if (!c.isFile || !c.path.endsWith(".onnx") || c.config !== undefined) return false;
    return c.operators(c.path).has("Softmax");
  },
  async open(c, opts) {
    const probe = prepareProbe(c.path, undefined);
    if (!probe.inputNames.includes("input_ids")) throw new EngineError("MODEL_INVALID", `${c.path}: the graph has no "input_ids" input (inputs: ${probe.inputNames.join(", ")})`);
    if (probe.hasKvCache) throw new EngineError("MODEL_INVALID", `${c.path}: a bare graph with a KV cache (past_key_values inputs) needs its config.json beside it to size the cache`);
    const { config, causal } = await measureBareGraph(c.path, probe);
    const dir = path.dirname(c.path);
    const folder: ModelFolder = {
      dir,
      name: path.basename(c.path),
      config,
      onnxFile: c.path,
      tokenizerJson: readJsonIfThere(path.join(dir, "tokenizer.json")),
      tokenizerConfig: readJsonIfThere(path.join(dir, "tokenizer_config.json")) ?? {},
    };
    return DecoderModel.open(folder, opts.providers, bareOnnx.name, causal ? "causal" : "encoder", { claims: false, form: "bare" });
  },
};
