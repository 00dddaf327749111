// The interventions copy of an ONNX decoder: head ablation and direct logit attribution (DLA) by
// graph edits, for any decoder whose residual stream the logit lens finds (onnxLens.ts). In each
// block the attention component of the stream (the non-stream input of the block's first Add) is
// traced back through a bias Add and Reshapes to its output projection, a MatMul by an initializer
// [H·d, D] or a Gemm; the projection's data input is the merged per-head output z [.., H·d]. The
// copy multiplies z by a scale and adds a shift before the projection,
//   z' = z * seqlens_head_scale/l + seqlens_head_shift/l
// and the residual stream entering each block l (what its norm and its residual Add read) likewise,
//   r' = r * seqlens_resid_keep/l + seqlens_resid_value/l
// These inputs have no declared shape: anything that broadcasts against z or r. Per channel [H·d],
// scale 0 on a head's d channels switches it off (zero ablation), and scale 0 with its mean as the
// shift replaces it by its mean; shaped like z or r ([1, T, ..] or [T, ..], and a batch of them),
// 0 and another run's values at chosen rows patch those positions in (activation patching). Fed
// scalars 1 and 0 (interventionFeeds), the copy computes the original logits exactly. Outputs
// added: each block's z (before the edit), each block's MLP component (the non-stream input of its
// second Add), the residual entering each block (before the edit; block 0's is the embeddings, with
// positions where the model adds them), the token embedding alone, the residual entering the final
// norm, and the attention probabilities the probe found, where the graph has them. An input picks
// the rows of the final residual the head projects onto the vocabulary (each sequence's last, for
// one prediction each). The descriptor also carries what DLA needs from the weights: each W_O and
// its bias, the final norm (LayerNorm with gamma and beta, or RMSNorm with gamma; epsilon) and the
// unembedding W_U [D, V] with its bias.
import * as fs from "node:fs";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { cacheDir } from "./onnxProbe";
import { initializerFloats, readOnnxGraph } from "./onnxWeights";
import { declaredType, inferElementTypes } from "./onnxTypes";
import { copyPath, writeGraphCopy } from "./externalData";
import { between, residualChain } from "./onnxLens";

const INTERVENTIONS_VERSION = 4;
const DT = onnx.TensorProto.DataType;
/** The input that picks the rows the head projects, and what it adds for them. */
const LOGIT_ROWS = "seqlens_logit_rows";
/** Ops a head may have between the final residual and the logits for its rows to be picked first: each works row by row. */
const ROWWISE_OPS = new Set(["LayerNormalization", "SimplifiedLayerNormalization", "ReduceMean", "Pow", "Mul", "Div", "Add", "Sub", "Sqrt", "Reciprocal", "Cast", "MatMul", "Gemm", "Transpose", "Identity", "Tanh", "Softcap"]);

/** A matrix read from the graph's weights, row-major. */
export interface WeightMatrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

export interface FinalNorm {
  /** "layernorm": gamma·(x − mean)/sqrt(var + eps) + beta; "rmsnorm": gamma·x/sqrt(mean(x²) + eps). */
  kind: "layernorm" | "rmsnorm";
  gamma: Float32Array;
  beta?: Float32Array;
  epsilon: number;
}

export interface InterventionBlock {
  /** z, the merged heads' output entering the output projection, [.., T, H·d]: before the edit. */
  z: string;
  /** Graph inputs (float32, any shape that broadcasts against z): z' = z * scale + shift. */
  scale: string;
  shift: string;
  /** The residual entering the block, [.., T, D]: before the edit. */
  resid: string;
  /** Graph inputs (float32, any shape that broadcasts against resid): r' = r * keep + value. */
  residKeep: string;
  residValue: string;
  /** The block's MLP output added to the stream, [.., T, D]. */
  mlp: string;
  /** W_O as [H·d, D] (a Gemm's transB read transposed). */
  wO: WeightMatrix;
  /** The output projection's bias [D], if it has one. */
  bias?: Float32Array;
}

export interface InterventionsGraph {
  /** Path of the copy to open with the runtime. */
  file: string;
  nHead: number;
  /** Width of one head: (H·d) / H. */
  headDim: number;
  /** Width of the residual stream, D. */
  width: number;
  blocks: InterventionBlock[];
  /** The residual entering block 0 (token embedding, plus positions where the graph adds them). */
  embed: string;
  /** The token embedding alone (the Gather of input_ids): `embed` itself where no positions are added to it. */
  tokenEmbed: string;
  /** The residual entering the final norm. */
  finalResidual: string;
  logits: string;
  /**
   * The graph input (int64 [k]) that picks which rows of the final residual, flattened to
   * [batch · T, D], the final norm and the head project: the logits are then [k, V]. Feed every
   * row for all the logits, or each sequence's last for one prediction each, so a batch of runs
   * that need one prediction each does not project every position onto the vocabulary (the
   * runtime runs every node of the graph, whichever outputs are fetched). Absent when the head has
   * an op that does not work row by row (a Reshape to a shape from elsewhere, say): the logits are
   * then every row's, shaped as the original graph shapes them.
   */
  logitRows?: string;
  /** The probe's attention outputs that the original graph computes (all of them, or none). */
  attentionOutputs: string[];
  norm: FinalNorm;
  /** W_U as [D, V]; a tied head reads the embedding through the graph's own Transpose. */
  unembed: WeightMatrix;
  unembedBias?: Float32Array;
}

/**
 * Builds (or reuses from the cache) the interventions copy of `onnxFile` and reads the weights DLA
 * needs; NO_LENS naming what was not found when the graph has another shape. `attention`: the
 * probe's attention output names, added as outputs when the original graph computes each of them.
 */
export function prepareInterventions(onnxFile: string, nLayer: number, nHead: number, attention: string[] = []): InterventionsGraph {
  const { model, refs, key } = readOnnxGraph(onnxFile);
  const file = copyPath(cacheDir(), `interventions-${key.slice(0, 32)}-v${INTERVENTIONS_VERSION}`, refs);
  const graph = model.graph!;
  const why = (reason: string) =>
    new EngineError("NO_LENS", `${onnxFile}: head ablation and direct logit attribution need a pre-norm decoder whose blocks add an attention output projection and an MLP to a residual stream of Adds, with logits MatMul(norm(x), W); ${reason}`);
  const producers = new Map<string, onnx.INodeProto>();
  for (const n of graph.node!) for (const o of n.output ?? []) producers.set(o, n);
  const inits = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) inits.set(t.name, t);
  const weight = (name: string, what: string): { dims: number[]; data: Float32Array } => {
    const t = inits.get(name);
    const data = t && initializerFloats(t, onnxFile);
    if (!t || !data) throw why(`${what} (${name}) is not a float initializer`);
    return { dims: (t.dims ?? []).map(Number), data };
  };

  if (!producers.has("logits")) throw why("no node computes logits");
  const { residuals: chain, consumers } = residualChain(graph, why);
  if (chain.length < 2 * nLayer + 1) throw why(`the residual stream from the token embedding has ${chain.length - 1} Adds, fewer than the ${2 * nLayer} of ${nLayer} pre-norm blocks`);
  const last = chain.length - 1;
  const first = last - 2 * nLayer;
  /** The input of the Add that makes chain[i] which is not chain[i − 1]. */
  const branch = (i: number): string => {
    const add = producers.get(chain[i])!;
    const other = add.input!.find((x) => x !== chain[i - 1]);
    if (other === undefined) throw why(`the Add making ${chain[i]} adds the stream to itself`);
    return other;
  };

  const blocks: InterventionBlock[] = [];
  let width = 0;
  let projWidth = 0;
  for (let l = 0; l < nLayer; l++) {
    const attn = branch(first + 2 * l + 1);
    const mlp = branch(first + 2 * l + 2);
    const proj = outputProjection(attn, producers, inits);
    if (!proj) throw why(`block ${l}'s attention output ${attn} does not come from an output projection (a MatMul by a weight, or a Gemm, maybe followed by a bias Add and Reshapes)`);
    const w = weight(proj.weight, `block ${l}'s attention output projection`);
    if (w.dims.length !== 2) throw why(`block ${l}'s output projection weight ${proj.weight} has shape [${w.dims}], not a matrix`);
    const wO = proj.transposed ? transpose(w.data, w.dims[0], w.dims[1]) : { rows: w.dims[0], cols: w.dims[1], data: w.data };
    if (width === 0) [projWidth, width] = [wO.rows, wO.cols];
    if (wO.rows !== projWidth || wO.cols !== width) throw why(`block ${l}'s output projection is [${wO.rows}, ${wO.cols}], block 0's [${projWidth}, ${width}]`);
    if (projWidth % nHead !== 0) throw why(`the output projection reads ${projWidth} channels, not a multiple of the ${nHead} heads`);
    const bias = proj.bias === undefined ? undefined : weight(proj.bias, `block ${l}'s output projection bias`).data;
    if (bias && bias.length !== width) throw why(`block ${l}'s output projection bias has ${bias.length} values, not ${width}`);
    blocks.push({ z: proj.z, scale: `seqlens_head_scale/${l}`, shift: `seqlens_head_shift/${l}`, resid: chain[first + 2 * l], residKeep: `seqlens_resid_keep/${l}`, residValue: `seqlens_resid_value/${l}`, mlp, wO, bias });
  }

  // the head: logits = MatMul(norm(x), W_U) (+ bias), W_U an initializer [D, V], the Transpose of one [V, D], or a Gemm's
  let headNode = producers.get("logits")!;
  let unembedBias: Float32Array | undefined;
  if (headNode.opType === "Add") {
    const b = headNode.input!.find((x) => inits.has(x));
    const other = headNode.input!.find((x) => !inits.has(x));
    if (b === undefined || other === undefined || !producers.has(other)) throw why("logits are an Add that is not a bias added to the output projection");
    unembedBias = weight(b, "the output projection's bias").data;
    headNode = producers.get(other)!;
  }
  if (headNode.opType !== "MatMul" && headNode.opType !== "Gemm") throw why(`the logits come from a ${headNode.opType} node, not a MatMul by the unembedding (an int8 copy's quantised head is not read)`);
  const normOut = headNode.input![0];
  let unembed: WeightMatrix | undefined;
  const bName = headNode.input![1];
  const transB = headNode.opType === "Gemm" && attr(headNode, "transB") === 1;
  if (inits.has(bName)) {
    const w = weight(bName, "the unembedding");
    unembed = transB ? transpose(w.data, w.dims[0], w.dims[1]) : { rows: w.dims[0], cols: w.dims[1], data: w.data };
  } else {
    const t = producers.get(bName);
    const perm = t?.attribute?.find((a) => a.name === "perm")?.ints?.map(Number);
    if (t?.opType === "Transpose" && inits.has(t.input![0]) && (!perm || (perm[0] === 1 && perm[1] === 0)) && !transB) {
      const w = weight(t.input![0], "the tied unembedding");
      unembed = transpose(w.data, w.dims[0], w.dims[1]);
    }
  }
  if (!unembed) throw why(`the output projection's weight ${bName} is neither an initializer nor the Transpose of one`);
  if (unembed.rows !== width) throw why(`the unembedding is [${unembed.rows}, ${unembed.cols}], not [${width}, vocabulary]`);
  if (headNode.opType === "Gemm" && headNode.input![2]) unembedBias = weight(headNode.input![2], "the output projection's bias").data;

  const norm = finalNorm(between(chain[last], normOut, graph, producers, consumers), inits, producers, width, onnxFile, why);

  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx")?.version ?? 0);
  const head = between(chain[last], "logits", graph, producers, consumers);
  const logitRows = opset >= 11 && head.length > 0 && head.every((n) => ROWWISE_OPS.has(n.opType ?? "") && (n.domain ?? "") === "") ? LOGIT_ROWS : undefined;
  const types = inferElementTypes(graph);
  const attentionOutputs = attention.length > 0 && attention.every((a) => producers.has(a)) ? attention : [];
  if (!fs.existsSync(file)) {
    const editNodes = (x: string, mul: string, add: string): void => {
      const added: onnx.INodeProto[] = [];
      const xType = types.get(x) ?? DT.FLOAT;
      const edited = `${x}/seqlens_edited`;
      // graph inputs the caller always feeds (scalars 1 and 0 when nothing is edited: interventionFeeds);
      // not initializers that are also inputs, which onnxruntime warns about on every open. No shape:
      // a per-channel vector and a per-position tensor both broadcast against x.
      for (const name of [mul, add]) graph.input!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DT.FLOAT } } }));
      let [m, a] = [mul, add];
      if (xType !== DT.FLOAT) {
        // a float16 graph: the edit is computed in its type
        for (const name of [mul, add]) added.push(onnx.NodeProto.create({ name: `${name}/Cast`, opType: "Cast", input: [name], output: [`${name}/cast`], attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: xType }] }));
        [m, a] = [`${mul}/cast`, `${add}/cast`];
      }
      // every reader of x reads x' instead
      for (const n of consumers.get(x) ?? []) n.input = n.input!.map((y) => (y === x ? edited : y));
      added.push(onnx.NodeProto.create({ name: `${x}/seqlens_mul`, opType: "Mul", input: [x, m], output: [`${x}/seqlens_scaled`] }));
      added.push(onnx.NodeProto.create({ name: `${x}/seqlens_add`, opType: "Add", input: [`${x}/seqlens_scaled`, a], output: [edited] }));
      // right after x's producer, so the node list stays in topological order
      graph.node!.splice(graph.node!.indexOf(producers.get(x)!) + 1, 0, ...added);
    };
    for (const b of blocks) {
      editNodes(b.z, b.scale, b.shift);
      editNodes(b.resid, b.residKeep, b.residValue);
    }
    if (logitRows) {
      // the final residual as [batch · T, D], the rows asked for, and the head reading those
      const shape = `${LOGIT_ROWS}/shape`;
      const flat = `${LOGIT_ROWS}/flat`;
      const picked = `${LOGIT_ROWS}/residual`;
      graph.input!.push(onnx.ValueInfoProto.create({ name: LOGIT_ROWS, type: { tensorType: { elemType: DT.INT64, shape: { dim: [{ dimParam: "rows" }] } } } }));
      graph.initializer!.push(onnx.TensorProto.create({ name: shape, dataType: DT.INT64, dims: [2], int64Data: [-1, width] }));
      graph.node!.push(onnx.NodeProto.create({ name: `${LOGIT_ROWS}/Reshape`, opType: "Reshape", input: [chain[last], shape], output: [flat] }));
      graph.node!.push(onnx.NodeProto.create({ name: `${LOGIT_ROWS}/Gather`, opType: "Gather", input: [flat, LOGIT_ROWS], output: [picked], attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 0 }] }));
      for (const n of head) n.input = n.input!.map((x) => (x === chain[last] ? picked : x));
      // [k, V] now: the declared shape goes, the type stays
      for (const o of graph.output!) if (o.name === "logits" && o.type?.tensorType) o.type.tensorType.shape = null;
      // the head's nodes after the ones they now read
      const moved = new Set(head);
      graph.node = [...graph.node!.filter((n) => !moved.has(n)), ...head];
    }
    const existing = new Set(graph.output!.map((o) => o.name));
    const logitsType = declaredType(graph.output!.find((o) => o.name === "logits"));
    for (const name of [...blocks.flatMap((b) => [b.z, b.mlp, b.resid]), chain[0], chain[last], ...attentionOutputs]) {
      const elemType = types.get(name) ?? (logitsType === DT.FLOAT ? logitsType : undefined);
      if (!existing.has(name)) graph.output!.push(onnx.ValueInfoProto.create(elemType ? { name, type: { tensorType: { elemType } } } : { name }));
      existing.add(name);
    }
    writeGraphCopy(file, { onnxFile, refs }, () => onnx.ModelProto.encode(model).finish());
  }
  return { file, nHead, headDim: projWidth / nHead, width, blocks, embed: chain[first], tokenEmbed: chain[0], finalResidual: chain[last], logits: "logits", logitRows, attentionOutputs, norm, unembed, unembedBias };
}

/**
 * The dims of an edit tensor for `batch` sequences of `len` tokens and `cols` channels, from the
 * activation's dims in a batch-1 run of T tokens: [1, T, W] (batch first) or [T, W] (rows flattened).
 */
export function editShape(dims: readonly number[], T: number, width: number, name: string): (batch: number, len: number, cols: number) => number[] {
  if (dims.length === 3 && dims[0] === 1 && dims[1] === T && dims[2] === width) return (batch, len, cols) => [batch, len, cols];
  if (dims.length === 2 && dims[0] === T && dims[1] === width) return (batch, len, cols) => [batch * len, cols];
  throw new EngineError("NO_LENS", `the edits read ${name} as [1, ${T}, ${width}] or [${T}, ${width}], but the graph gives it as [${dims}]: this graph's activations cannot be edited`);
}

/** A feed for one of the copy's edit inputs: values and their shape. */
export interface EditTensor {
  data: Float32Array;
  dims: number[];
}

/**
 * The edit feeds of every block: the given ones (a Float32Array is a vector, [length]), and scalars
 * 1 and 0 (no edit) for the rest.
 */
export function interventionFeeds(g: InterventionsGraph, given: Map<string, Float32Array | EditTensor> = new Map()): Map<string, EditTensor> {
  const out = new Map<string, EditTensor>();
  const one = { data: Float32Array.of(1), dims: [] };
  const zero = { data: Float32Array.of(0), dims: [] };
  for (const b of g.blocks) {
    for (const [name, dflt] of [[b.scale, one], [b.shift, zero], [b.residKeep, one], [b.residValue, zero]] as const) {
      const x = given.get(name);
      out.set(name, x === undefined ? dflt : x instanceof Float32Array ? { data: x, dims: [x.length] } : x);
    }
  }
  return out;
}

function attr(n: onnx.INodeProto, name: string): number | undefined {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? Number(a.i ?? 0) : undefined;
}

function transpose(data: Float32Array, rows: number, cols: number): WeightMatrix {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return { rows: cols, cols: rows, data: out };
}

/**
 * From an attention component back to its output projection: through Reshape, Identity and a
 * bias Add (an initializer added) to a MatMul whose weight is an initializer, or a Gemm (its C the
 * bias). z is the projection's data input.
 */
function outputProjection(from: string, producers: Map<string, onnx.INodeProto>, inits: Map<string, onnx.ITensorProto>): { z: string; weight: string; transposed: boolean; bias?: string } | undefined {
  let cur = from;
  let bias: string | undefined;
  for (let depth = 0; depth < 6; depth++) {
    const n = producers.get(cur);
    if (!n) return undefined;
    const ins = n.input ?? [];
    if (n.opType === "MatMul" && inits.has(ins[1]) && producers.has(ins[0])) return { z: ins[0], weight: ins[1], transposed: false, bias };
    if (n.opType === "Gemm" && inits.has(ins[1]) && producers.has(ins[0]) && !attr(n, "transA")) {
      if (ins[2] && bias !== undefined) return undefined;
      return { z: ins[0], weight: ins[1], transposed: attr(n, "transB") === 1, bias: ins[2] || bias };
    }
    if (n.opType === "Reshape" || n.opType === "Identity") cur = ins[0];
    else if (n.opType === "Add" && bias === undefined && ins.length === 2 && ins.some((x) => inits.has(x)) && ins.some((x) => producers.has(x))) {
      bias = ins.find((x) => inits.has(x));
      cur = ins.find((x) => producers.has(x))!;
    } else return undefined;
  }
  return undefined;
}

/** A scalar constant: an initializer or a Constant node's value. */
function scalarOf(name: string, inits: Map<string, onnx.ITensorProto>, producers: Map<string, onnx.INodeProto>): number | undefined {
  const t = inits.get(name) ?? producers.get(name)?.attribute?.find((a) => a.name === "value" && producers.get(name)!.opType === "Constant")?.t ?? undefined;
  if (!t) return undefined;
  const v = initializerFloats(t);
  return v && v.length === 1 ? v[0] : undefined;
}

/**
 * The final norm from the nodes between the last residual and the head: one LayerNormalization (or
 * SimplifiedLayerNormalization / RMSNormalization) node, or an exported one: ReduceMean, Sub, Pow,
 * ReduceMean, Add(eps), Sqrt, Div, Mul(gamma), Add(beta) for LayerNorm, the same without the Sub and
 * the beta for RMSNorm.
 */
function finalNorm(nodes: onnx.INodeProto[], inits: Map<string, onnx.ITensorProto>, producers: Map<string, onnx.INodeProto>, width: number, onnxFile: string, why: (r: string) => EngineError): FinalNorm {
  const vec = (name: string | undefined, what: string) => {
    const t = name === undefined ? undefined : inits.get(name);
    const data = t && initializerFloats(t, onnxFile);
    if (!data || data.length !== width) throw why(`the final norm's ${what} (${name ?? "none"}) is not ${width} float values`);
    return data;
  };
  const fused = nodes.find((n) => n.opType === "LayerNormalization" || n.opType === "SimplifiedLayerNormalization" || n.opType === "RMSNormalization");
  if (fused) {
    const epsAttr = fused.attribute?.find((a) => a.name === "epsilon");
    const epsilon = epsAttr?.f ?? 1e-5;
    const kind = fused.opType === "LayerNormalization" ? "layernorm" : "rmsnorm";
    return { kind, gamma: vec(fused.input![1], "scale"), beta: kind === "layernorm" && fused.input![2] ? vec(fused.input![2], "bias") : undefined, epsilon };
  }
  const means = nodes.filter((n) => n.opType === "ReduceMean");
  if (means.length === 0 || !nodes.some((n) => n.opType === "Sqrt")) throw why(`no final norm between the last residual and the logits (found ${nodes.map((n) => n.opType).join(", ") || "nothing"})`);
  const kind = nodes.some((n) => n.opType === "Sub") && means.length >= 2 ? "layernorm" : "rmsnorm";
  const meanOuts = new Set(means.map((n) => n.output![0]));
  const epsAdd = nodes.find((n) => n.opType === "Add" && n.input!.some((x) => meanOuts.has(x)));
  const epsilon = epsAdd && scalarOf(epsAdd.input!.find((x) => !meanOuts.has(x))!, inits, producers);
  if (epsilon === undefined) throw why("the final norm's epsilon (a constant added to the mean before the Sqrt) was not found");
  const isVec = (x: string) => (inits.get(x)?.dims ?? []).map(Number).reduce((a, b) => a * b, 1) === width && inits.has(x);
  const gammaMul = nodes.filter((n) => n.opType === "Mul" && n.input!.some(isVec)).pop();
  if (!gammaMul) throw why("the final norm's scale (a Mul by a weight of the stream's width) was not found");
  const gamma = vec(gammaMul.input!.find(isVec), "scale");
  const betaAdd = nodes.filter((n) => n.opType === "Add" && n.input!.some(isVec)).pop();
  if (kind === "rmsnorm" && betaAdd) throw why("the final norm divides by the root mean square but also adds a bias");
  return { kind, gamma, beta: betaAdd ? vec(betaAdd.input!.find(isVec), "bias") : undefined, epsilon };
}
