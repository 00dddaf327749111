// Which paths name recurrent models: light (fs only), so the extension host can ask without loading
// a runtime.
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Whether a path names a recurrent model rather than a decoder folder: a SeqLens recurrent sample
 * (config.json with model_type "seqlens-rnn"), a TensorFlow.js model.json (or a folder with one and
 * no decoder config), or a single .onnx / .json file (decoders are folders).
 */
export function isRecurrentModel(p: string): boolean {
  try {
    if (fs.existsSync(p) && fs.statSync(p).isFile()) return p.endsWith(".onnx") || p.endsWith(".json");
    const cfg = path.join(p, "config.json");
    if (fs.existsSync(cfg)) return (JSON.parse(fs.readFileSync(cfg, "utf8")) as { model_type?: string }).model_type === "seqlens-rnn";
    return fs.existsSync(path.join(p, "model.json")) || fs.existsSync(path.join(p, "tfjs", "model.json"));
  } catch {
    return false;
  }
}
