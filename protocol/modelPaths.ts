// Which paths name recurrent models: light (fs only), so the extension host can ask without loading
// a runtime. The engine's model families decide for real (engine/families/); this agrees with them
// on every sample and layout (test/unit/families.test.ts).
import * as fs from "node:fs";
import * as path from "node:path";

/** config.json's model_type in `dir`: undefined without one, null when it names none or cannot be read. */
function modelType(dir: string): string | null | undefined {
  const cfg = path.join(dir, "config.json");
  if (!fs.existsSync(cfg)) return undefined;
  try {
    const t = (JSON.parse(fs.readFileSync(cfg, "utf8")) as { model_type?: unknown }).model_type;
    return typeof t === "string" ? t : null;
  } catch {
    return null;
  }
}

/**
 * Whether a path names a recurrent model rather than a decoder folder: a SeqLens recurrent sample
 * (config.json with model_type "seqlens-rnn"), a TensorFlow.js model.json (or a folder with one and
 * no decoder config), a folder with onnx/model.onnx and no config.json (a decoder needs one), or a
 * single .onnx / .json file — except a decoder folder's own onnx/<checkpoint>.onnx.
 */
export function isRecurrentModel(p: string): boolean {
  try {
    if (fs.existsSync(p) && fs.statSync(p).isFile()) {
      if (p.endsWith(".json")) return true;
      if (!p.endsWith(".onnx")) return false;
      const dir = path.dirname(p);
      // a checkpoint inside a model folder's onnx/: that folder's config.json says what it is
      const t = path.basename(dir) === "onnx" ? modelType(path.dirname(dir)) : undefined;
      return t === undefined || t === "seqlens-rnn";
    }
    const t = modelType(p);
    if (t !== undefined) return t === "seqlens-rnn";
    return fs.existsSync(path.join(p, "model.json")) || fs.existsSync(path.join(p, "tfjs", "model.json")) || fs.existsSync(path.join(p, "onnx", "model.onnx"));
  } catch {
    return false;
  }
}
