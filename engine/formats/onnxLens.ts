// The logit-lens copy of an ONNX decoder: the residual stream entering each block (and the one
// entering the final layer norm) become graph outputs, and each of them is also decoded through a
// copy of the model's own final LayerNormalization node and its own output projection. So every
// row of the lens is computed by the model's graph, with its weights, and the last row is the
// model's logits. A pre-LN transformer (GPT-2 and its kind) has 2 * n_layer + 1 LayerNormalization
// nodes in graph order: ln_1, ln_2 per block, then ln_f; the residual stream at block i is the
// input of the (2i)-th.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { EngineError } from "../../protocol/errors";
import { cacheDir } from "./onnxProbe";
import { decodeOnnx } from "./onnxWeights";

export interface LensGraph {
  /** Path of the lens copy to open with the runtime. */
  file: string;
  /** Residual stream outputs, [n_layer + 1]: index 0 is the input embedding plus positions. */
  residualOutputs: string[];
  /** Decoded logits per residual, [n_layer + 1]; the last is the model's own `logits`. */
  lensOutputs: string[];
}

const LENS_VERSION = 1;

/** Builds (or reuses from the cache) the lens copy of `onnxFile`; throws NO_LENS with the reason when the graph has another shape. */
export function prepareLens(onnxFile: string, nLayer: number): LensGraph {
  const bytes = fs.readFileSync(onnxFile);
  const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
  const file = path.join(cacheDir(), `lens-${sha256.slice(0, 32)}-v${LENS_VERSION}.onnx`);
  const model = decodeOnnx(onnxFile, bytes);
  const graph = model.graph!;
  const producers = new Map<string, onnx.INodeProto>();
  for (const n of graph.node!) for (const o of n.output ?? []) producers.set(o, n);
  const why = (reason: string) => new EngineError("NO_LENS", `${onnxFile}: the logit lens needs a pre-LN decoder whose logits are MatMul(LayerNormalization(x), W); ${reason}`);

  const lm = producers.get("logits");
  if (!lm || lm.opType !== "MatMul") throw why(`logits come from ${lm ? `a ${lm.opType} node` : "no node"}`);
  const lnF = producers.get(lm.input![0]);
  if (!lnF || lnF.opType !== "LayerNormalization") throw why(`the output projection reads ${lnF ? `a ${lnF.opType} node` : "a graph input"}, not a LayerNormalization`);
  const norms = graph.node!.filter((n) => n.opType === "LayerNormalization");
  if (norms.length !== 2 * nLayer + 1 || norms[norms.length - 1] !== lnF) {
    throw why(`found ${norms.length} LayerNormalization nodes, expected ${2 * nLayer + 1} (two per block for n_layer = ${nLayer}, then the final one)`);
  }
  const residualOutputs = Array.from({ length: nLayer + 1 }, (_, i) => norms[2 * i].input![0]);
  const lensOutputs = residualOutputs.map((_, i) => (i === nLayer ? "logits" : `seqlens_lens/${i}/logits`));

  if (!fs.existsSync(file)) {
    for (let i = 0; i < nLayer; i++) {
      const normed = `seqlens_lens/${i}/ln_f`;
      graph.node!.push(
        onnx.NodeProto.create({ opType: "LayerNormalization", name: `seqlens_lens/${i}/LayerNormalization`, input: [residualOutputs[i], ...lnF.input!.slice(1)], output: [normed], attribute: lnF.attribute, domain: lnF.domain }),
        onnx.NodeProto.create({ opType: "MatMul", name: `seqlens_lens/${i}/MatMul`, input: [normed, lm.input![1]], output: [lensOutputs[i]] }),
      );
    }
    const existing = new Set(graph.output!.map((o) => o.name));
    for (const name of [...residualOutputs, ...lensOutputs]) {
      if (!existing.has(name)) graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
      existing.add(name);
    }
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, onnx.ModelProto.encode(model).finish());
    fs.renameSync(tmp, file);
  }
  return { file, residualOutputs, lensOutputs };
}
