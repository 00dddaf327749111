// Model folders a user did not write, opened through the engine: copies of the samples (a GPT-2
// ONNX folder, a Qwen2 training checkpoint of safetensors, the co2 and character LSTMs with their
// ONNX and TensorFlow.js copies, a bare .onnx) with config.json values negative, huge, of the wrong
// type or missing; truncated and bit-flipped graphs and weights; tokenizer.json cut short, without
// its model, with vocabularies of the wrong shape; safetensors headers whose offsets and sizes lie;
// external data and weight files that point outside the folder (.., absolute paths, symbolic
// links). Each folder is asked for its info and then what its kind of model does (inspect,
// generate, gates, forecast). A failure is a typed error with a sentence; a path that leads out of
// the folder is refused, naming it; a model that opens reports the shape of its graph, not what a
// config.json claims.
import * as fs from "node:fs";
import * as path from "node:path";
import { onnx } from "onnx-proto";
import { errorProblem } from "../bars";
import { ROOT } from "../engine";
import type { Rng } from "../rng";
import { CaseLog, type EngineEnv, type EngineTarget, type Verdict } from "../target";
import { describe, EDGE_NUMBERS, hostileValue, mutateBytes } from "../values";

interface Base {
  name: string;
  /** Where the copy comes from, and the files left out of it. */
  src: string;
  skip?: string[];
  kind: "decoder" | "checkpoint" | "series" | "char" | "bare";
}

const BASES: readonly Base[] = [
  { name: "tiny-gpt", src: path.join(ROOT, "samples", "models", "tiny-gpt"), kind: "decoder" },
  { name: "qwen2-checkpoint", src: path.join(ROOT, "test", "fixtures", "hf", "qwen2-tied"), skip: ["onnx", "reference.json"], kind: "checkpoint" },
  { name: "co2-lstm", src: path.join(ROOT, "samples", "models", "co2-lstm"), skip: ["README.md"], kind: "series" },
  { name: "char-lstm", src: path.join(ROOT, "samples", "models", "char-lstm"), skip: ["README.md"], kind: "char" },
  { name: "gpt-bare", src: path.join(ROOT, "test", "fixtures", "hf", "gpt-bare"), skip: ["reference.json"], kind: "bare" },
];

/** Keys a config.json may hold (the ones the engine reads under any of their names, and the recurrent samples'). */
const CONFIG_KEYS = ["n_layer", "num_hidden_layers", "n_head", "num_attention_heads", "n_embd", "hidden_size", "d_model", "vocab_size", "n_positions", "max_position_embeddings", "n_ctx", "num_key_value_heads", "head_dim", "model_type", "architectures", "tie_word_embeddings", "bos_token_id", "eos_token_id", "layer_norm_epsilon", "rms_norm_eps", "rope_theta", "intermediate_size", "layers", "units", "features", "cell", "window", "vocab", "unk", "embedding", "task", "normalisation", "series", "torch_dtype", "use_cache"];

/** The values a hostile or careless config.json holds. */
function configValue(rng: Rng): unknown {
  return rng.weighted<() => unknown>([
    [4, () => rng.pick([-1, 0, 1, 3, 5, 40_000, 1e9, 2 ** 31, 2 ** 53, 1e308, -1e308, 0.5, 4.000001])],
    [2, () => rng.pick(EDGE_NUMBERS)],
    [2, () => rng.pick(["4", "", "gpt2", "llama", "bert", "t5", "seqlens-rnn", "lstm", "gru", "__proto__", null, true, [], {}, [4], { n: 4 }])],
    [1, () => hostileValue(rng, 2)],
  ])();
}

/** JSON text that is not the object it should be. */
function brokenJson(rng: Rng, text: string): { text: string; how: string } {
  return rng.weighted<() => { text: string; how: string }>([
    [3, () => ({ text: text.slice(0, rng.int(text.length)), how: "cut short" })],
    [1, () => ({ text: rng.pick(["", "null", "[]", "1", '"x"', "{", "}", "{}", "\ufeff" + text, "[".repeat(100_000), `{"a":${"[".repeat(5000)}`]), how: "not an object" })],
    [1, () => ({ text: text.replace(/"([^"]+)":/, '"$1":1,"$1":'), how: "a key twice" })],
    [1, () => ({ text: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80, 0xc0]).toString("latin1") + text, how: "bytes that are not UTF-8 first" })],
  ])();
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

function writeJson(file: string, v: unknown): void {
  fs.writeFileSync(file, JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? (Number.isNaN(x) ? "NaN" : x > 0 ? 1e999 : -1e999) : x)).replace(/"(-?)1e999"/g, "$11e999"));
}

/** Sets `key` on a parsed JSON object, "__proto__" included (as JSON text makes it: an own key). */
function setKey(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---- the mutations: each damages one file of the copy and says how ----

type Mutation = (rng: Rng, dir: string, env: EngineEnv) => string | undefined;

function mutateConfig(rng: Rng, dir: string): string | undefined {
  const file = path.join(dir, "config.json");
  if (!fs.existsSync(file)) return undefined;
  if (rng.chance(0.2)) {
    const b = brokenJson(rng, fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, b.text);
    return `config.json ${b.how}`;
  }
  const c = readJson(file);
  const present = Object.keys(c);
  const hows: string[] = [];
  for (let n = rng.range(1, 3); n > 0; n--) {
    const key = rng.chance(0.7) && present.length ? rng.pick(present.filter((k) => CONFIG_KEYS.includes(k)).concat(present.slice(0, 3))) : rng.pick([...CONFIG_KEYS, "__proto__", "constructor"]);
    if (rng.chance(0.25)) {
      delete c[key];
      hows.push(`without ${key}`);
    } else {
      const value = key === "__proto__" ? { n_layer: 40_000, model_type: "gpt2", polluted: true } : configValue(rng);
      setKey(c, key, value);
      hows.push(`${key} = ${describe(value, 60)}`);
    }
  }
  writeJson(file, c);
  return `config.json: ${hows.join(", ")}`;
}

function mutateTokenizer(rng: Rng, dir: string): string | undefined {
  const file = path.join(dir, "tokenizer.json");
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, "utf8");
  if (rng.chance(0.25)) {
    const b = brokenJson(rng, text);
    fs.writeFileSync(file, b.text);
    return `tokenizer.json ${b.how}`;
  }
  const t = JSON.parse(text) as { model?: { type?: unknown; vocab?: Record<string, unknown> | unknown; merges?: unknown }; added_tokens?: unknown[]; [k: string]: unknown };
  const how = rng.weighted<() => string>([
    [2, () => (delete t.model, "without model")],
    [1, () => ((t.model!.type = rng.pick(["WordPiece", "Unigram", "WordLevel", "BPE2", "", 5, null])), `model.type ${describe(t.model!.type)}`)],
    [2, () => ((t.model!.vocab = rng.pick([[], 5, null, "x", [["a", 1]], {}])), `model.vocab ${describe(t.model!.vocab)}`)],
    [3, () => {
      const v = t.model!.vocab as Record<string, unknown>;
      const keys = Object.keys(v);
      const value = rng.pick([-1, 4096, 1e9, 2 ** 31, 0.5, "7", null, NaN, 1e308]);
      const k = rng.chance(0.8) ? rng.pick(keys) : rng.pick(["__proto__", "constructor", "", "\ud800"]);
      setKey(v, k, value);
      return `vocab[${describe(k)}] = ${describe(value)}`;
    }],
    [1, () => {
      const v = t.model!.vocab as Record<string, unknown>;
      for (let i = 0; i < 50_000; i++) v[`extra_${i}`] = 4096 + i;
      return "50,000 more tokens than the model has";
    }],
    [2, () => ((t.model!.merges = rng.pick([5, "a b", [1, 2], [["a"]], ["a"], ["a b c d"], null, [["\ud800", "x"]]])), `model.merges ${describe(t.model!.merges)}`)],
    [2, () => ((t.added_tokens = rng.pick<unknown>([[{ id: 1e9, content: "<x>", special: true }], [{ id: -1, content: "" }], [{ content: 5 }], "x", [null], [{ id: 4095, content: "", special: true }]]) as unknown[]), `added_tokens ${describe(t.added_tokens)}`)],
    [2, () => {
      const k = rng.pick(["normalizer", "pre_tokenizer", "post_processor", "decoder"]);
      t[k] = rng.pick([{ type: "Nope" }, { type: 5 }, "x", 7, [], { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: "(" }, behavior: "Isolated" }] }, { type: "Replace", pattern: { String: "" }, content: "x" }, { type: "Sequence", normalizers: "x" }]);
      return `${k} ${describe(t[k])}`;
    }],
  ])();
  writeJson(file, t);
  return `tokenizer.json: ${how}`;
}

function mutateTokenizerConfig(rng: Rng, dir: string): string | undefined {
  const file = path.join(dir, rng.chance(0.7) ? "tokenizer_config.json" : "generation_config.json");
  if (!fs.existsSync(file)) return undefined;
  const c = readJson(file);
  const key = rng.pick(["model_max_length", "bos_token", "eos_token", "unk_token", "mask_token", "pad_token", "chat_template", "add_prefix_space", "eos_token_id", "bos_token_id", "max_length", "do_sample", "__proto__"]);
  const value = rng.pick<unknown>([-1, 0, 1e30, 1e308, "x", "", null, { content: 5 }, { content: "<|endoftext|>", lstrip: "x" }, [1, 2], [1e9], "x".repeat(100_000), true, NaN]);
  setKey(c, key, value);
  writeJson(file, c);
  return `${path.basename(file)}: ${key} = ${describe(value, 60)}`;
}

/** The first file under dir with one of the extensions. */
function findFile(dir: string, ext: string[]): string | undefined {
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) if (ext.some((e) => f.endsWith(e))) return path.join(dir, f);
  return undefined;
}

function mutateBinary(rng: Rng, dir: string): string | undefined {
  const file = findFile(dir, rng.chance(0.6) ? [".onnx"] : [".bin", ".safetensors", ".onnx"]);
  if (!file) return undefined;
  const rel = path.relative(dir, file);
  const r = rng.float();
  if (r < 0.05) {
    fs.rmSync(file);
    return `${rel} removed`;
  }
  if (r < 0.08) {
    fs.rmSync(file);
    fs.mkdirSync(file);
    return `${rel} a folder`;
  }
  if (r < 0.1) {
    fs.writeFileSync(file, "");
    return `${rel} empty`;
  }
  const m = mutateBytes(rng, fs.readFileSync(file));
  fs.writeFileSync(file, m.bytes);
  return `${rel} ${m.how}`;
}

function mutateSafetensors(rng: Rng, dir: string): string | undefined {
  const file = path.join(dir, "model.safetensors");
  if (!fs.existsSync(file)) return undefined;
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  const data = bytes.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = rng.pick(names);
  const t = header[name] as { dtype: unknown; shape: unknown; data_offsets: unknown };
  let lyingLength: bigint | undefined;
  const how = rng.weighted<() => string>([
    [3, () => {
      const [b, e] = t.data_offsets as [number, number];
      t.data_offsets = rng.pick<unknown>([[e, b], [b, data.length + 4], [b, 2 ** 53], [-8, e], [b + 0.5, e], [String(b), e], [b], [b, e, 0], null, [0, e - b], [b + 2, e + 2]]);
      return `${name}: data_offsets ${describe(t.data_offsets)}`;
    }],
    [2, () => {
      t.shape = rng.pick<unknown>([[1e9, 1e9], [-1, 48], [0], [4096, 48, 1], [], [2 ** 31, 2 ** 31], [0.5], ["48"], null, [48]]);
      return `${name}: shape ${describe(t.shape)}`;
    }],
    [1, () => {
      t.dtype = rng.pick<unknown>(["F128", "", "U4", "F8_E4M3", "I64", "BOOL", 5, null, "f32"]);
      return `${name}: dtype ${describe(t.dtype)}`;
    }],
    [1, () => {
      delete header[name];
      return `${name} missing`;
    }],
    [1, () => {
      header.__metadata__ = rng.pick<unknown>([{ format: 5 }, "x", [], { total_size: "1e99" }]) as Record<string, string>;
      return `__metadata__ ${describe(header.__metadata__)}`;
    }],
    [2, () => {
      lyingLength = rng.pick([0n, 1n, BigInt(n + 1), BigInt(bytes.length), 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n, 100_000_001n]);
      return `header length ${lyingLength} (the header is ${n} bytes, the file ${bytes.length})`;
    }],
  ])();
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lyingLength ?? BigInt(Buffer.byteLength(text)));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(text), data]));
  return `model.safetensors: ${how}`;
}

/** A file outside the model's folder holding `bytes` (what a path that escapes would lead to). */
function outsideFile(env: EngineEnv, bytes: Uint8Array): string {
  const f = path.join(env.tempDir("outside"), "stolen.bin");
  fs.writeFileSync(f, bytes);
  return f;
}

/** What mutateExternalData says when it leaves the external data as an exporter writes it (the model must still open). */
const VALID_EXTERNAL = "external data, as an exporter writes it";

/** The graph's token embedding moved to external data, then its location, offset or length made to lie or lead outside. */
function mutateExternalData(rng: Rng, dir: string, env: EngineEnv): string | undefined {
  const file = path.join(dir, "onnx", "model.onnx");
  if (!fs.existsSync(file)) return undefined;
  const model = onnx.ModelProto.decode(fs.readFileSync(file));
  const t = model.graph!.initializer!.find((x) => x.name!.endsWith("wte.weight") || x.name!.endsWith("embed_tokens.weight")) ?? model.graph!.initializer!.reduce((a, b) => ((a.rawData?.length ?? 0) >= (b.rawData?.length ?? 0) ? a : b));
  const raw = t.rawData!;
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx_data"), raw);
  let location = "model.onnx_data";
  let offset = "0";
  let length = String(raw.length);
  let escapes = false;
  const how = rng.weighted<() => string>([
    [3, () => {
      escapes = true;
      const outside = outsideFile(env, raw);
      const kind = rng.int(5);
      if (kind === 0) location = path.relative(path.join(dir, "onnx"), outside);
      else if (kind === 1) location = outside;
      else if (kind === 2) {
        fs.symlinkSync(outside, path.join(dir, "onnx", "evil.bin"));
        location = "evil.bin";
      } else if (kind === 3) {
        fs.copyFileSync(path.join(dir, "onnx", "model.onnx_data"), path.join(dir, "x"));
        location = "../x"; // in the model folder, above onnx/: still not beside the graph
        escapes = false; // inside the folder the user pointed at
      } else location = "/etc/passwd";
      return `external data at ${JSON.stringify(location)}`;
    }],
    [2, () => {
      offset = rng.pick(["-4", "1e99", "x", "", String(raw.length), "4097", "0.5", String(2 ** 63)]);
      return `external data offset ${JSON.stringify(offset)}`;
    }],
    [2, () => {
      length = rng.pick(["-4", "0", "1024", String(raw.length * 2), "x", String(2 ** 53), ""]);
      return `external data length ${JSON.stringify(length)}`;
    }],
    [1, () => {
      location = rng.pick(["", "missing.bin", "onnx", ".", "\u0000", "a/../../../../x", "C:\\x"]);
      return `external data at ${JSON.stringify(location)}`;
    }],
    [2, () => VALID_EXTERNAL],
  ])();
  t.externalData = [
    { key: "location", value: location },
    { key: "offset", value: offset },
    { key: "length", value: length },
  ];
  t.rawData = new Uint8Array(0);
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return `${how}${escapes ? " (outside the folder)" : ""}`;
}

/** A TensorFlow.js model.json whose weight files lead outside the folder, or whose weights lie about their shapes. */
function mutateTfjs(rng: Rng, dir: string, env: EngineEnv): string | undefined {
  const file = path.join(dir, "tfjs", "model.json");
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, "utf8");
  if (rng.chance(0.15)) {
    const b = brokenJson(rng, text);
    fs.writeFileSync(file, b.text);
    return `tfjs/model.json ${b.how}`;
  }
  const m = JSON.parse(text) as { weightsManifest: { paths: unknown[]; weights: { name: string; shape: unknown; dtype: unknown }[] }[]; modelTopology: unknown };
  const group = m.weightsManifest[0];
  let escapes = false;
  const how = rng.weighted<() => string>([
    [3, () => {
      escapes = true;
      const outside = outsideFile(env, fs.readFileSync(path.join(dir, "tfjs", "weights.bin")));
      const kind = rng.int(4);
      if (kind === 0) group.paths = [path.relative(path.join(dir, "tfjs"), outside)];
      else if (kind === 1) group.paths = [outside];
      else if (kind === 2) {
        fs.symlinkSync(outside, path.join(dir, "tfjs", "evil.bin"));
        group.paths = ["evil.bin"];
      } else group.paths = ["/etc/passwd"];
      return `weightsManifest paths ${describe(group.paths)}`;
    }],
    [2, () => {
      group.paths = rng.pick<unknown[]>([[], [5], [""], ["missing.bin"], ["weights.bin", "weights.bin"], [null], ["."]]);
      return `weightsManifest paths ${describe(group.paths)}`;
    }],
    [3, () => {
      const w = rng.pick(group.weights);
      w.shape = rng.pick<unknown>([[1e9, 256], [-1, 256], [], [0], ["64"], null, [64, 256, 2], [2 ** 31]]);
      return `weight ${w.name} shape ${describe(w.shape)}`;
    }],
    [1, () => {
      const w = rng.pick(group.weights);
      w.dtype = rng.pick<unknown>(["float16", "int8", "string", "complex64", 5, null]);
      return `weight ${w.name} dtype ${describe(w.dtype)}`;
    }],
    [1, () => {
      m.modelTopology = rng.pick<unknown>([null, 5, {}, { class_name: "Nope" }, { config: { layers: "x" } }, hostileValue(rng, 3)]);
      return `modelTopology ${describe(m.modelTopology)}`;
    }],
  ])();
  fs.writeFileSync(file, JSON.stringify(m));
  return `tfjs/model.json: ${how}${escapes ? " (outside the folder)" : ""}`;
}

const MUTATIONS: Record<Base["kind"], readonly (readonly [number, Mutation])[]> = {
  decoder: [[4, mutateConfig], [3, mutateTokenizer], [1, mutateTokenizerConfig], [3, mutateBinary], [3, mutateExternalData]],
  checkpoint: [[4, mutateConfig], [2, mutateTokenizer], [1, mutateTokenizerConfig], [4, mutateSafetensors], [1, mutateBinary]],
  series: [[4, mutateConfig], [3, mutateBinary], [4, mutateTfjs]],
  char: [[4, mutateConfig], [3, mutateBinary], [3, mutateTfjs]],
  bare: [[1, mutateBinary]],
};

// ---- what the engine says about the folder ----

/** The shape of each base's graph, from the untouched copy (what a mutated config.json must not change). */
const truth = new Map<string, { nLayer: number; nHead: number; nEmbd: number; vocabSize: number; nPositions: number }>();

async function shapeOf(base: Base, env: EngineEnv): Promise<typeof truth extends Map<string, infer V> ? V : never> {
  let t = truth.get(base.name);
  if (!t) {
    const dir = copy(base, env);
    const r = await env.engine.request("info", { model: modelPath(base, dir) });
    if (!r.ok) throw new Error(`the untouched ${base.name} does not open: ${(r.error as Error).message}`);
    t = { nLayer: r.result.nLayer, nHead: r.result.nHead, nEmbd: r.result.nEmbd, vocabSize: r.result.vocabSize, nPositions: r.result.nPositions };
    truth.set(base.name, t);
  }
  return t;
}

function copy(base: Base, env: EngineEnv): string {
  const dir = env.tempDir(base.name);
  fs.cpSync(base.src, dir, { recursive: true, filter: (src) => !(base.skip ?? []).includes(path.relative(base.src, src)) });
  return dir;
}

function modelPath(base: Base, dir: string): string {
  return base.kind === "bare" ? path.join(dir, "model.onnx") : dir;
}

async function modelCase(rng: Rng, _index: number, env: EngineEnv): Promise<Verdict> {
  const base = rng.weighted<Base>([[5, BASES[0]], [3, BASES[1]], [2, BASES[2]], [2, BASES[3]], [1, BASES[4]]]);
  const expected = await shapeOf(base, env);
  const dir = copy(base, env);
  const hows: string[] = [];
  for (let n = rng.chance(0.8) ? 1 : rng.range(2, 3); n > 0; n--) {
    let how: string | undefined;
    try {
      how = rng.weighted(MUTATIONS[base.kind])(rng, dir, env);
    } catch {
      how = undefined; // a file an earlier mutation broke past reading: this one is left out
    }
    if (how) hows.push(how);
  }
  const configOnly = hows.every((h) => h.startsWith("config.json: "));
  const escapes = hows.filter((h) => h.endsWith("(outside the folder)"));
  const model = modelPath(base, dir);
  const log = new CaseLog(`${base.name}: ${hows.join("; ")}`, env.note);
  const failed = (what: string, error: unknown) => {
    log.outcome = "refused";
    const p = errorProblem(error);
    if (p) log.add(p.kind, `${what}: ${p.problem}`);
  };

  const info = await env.engine.request("info", { model });
  if (!info.ok) {
    failed("info", info.error);
    if (hows.length === 1 && hows[0] === VALID_EXTERNAL) log.add("wrong", `refused weights kept as external data beside the graph: ${(info.error as Error).message}`);
    return log.verdict();
  }
  if (escapes.length && !(base.kind === "series" || base.kind === "char")) log.add("wrong", `opened a model whose weights lead outside its folder (${escapes.join("; ")})`);
  if (configOnly) {
    // config.json is checked against the graph: what opens is the graph's shape
    const i = info.result;
    const got = { nLayer: i.nLayer, nHead: i.nHead, nEmbd: i.nEmbd, vocabSize: i.vocabSize };
    const want = { nLayer: expected.nLayer, nHead: expected.nHead, nEmbd: expected.nEmbd, vocabSize: expected.vocabSize };
    log.expect(JSON.stringify(got) === JSON.stringify(want), () => `opened and reported ${describe(got)}; the graph has ${describe(want)}`);
    // learned positions (GPT-2's wpe) fix the context; a rotary checkpoint's is config.json's to say
    if (base.kind === "decoder") log.expect(i.nPositions <= expected.nPositions, () => `reports a context of ${i.nPositions} tokens; the graph has ${expected.nPositions}`);
  }

  // what this kind of model does
  const runtime = hows.some((h) => h.startsWith("tfjs/")) ? ("tfjs" as const) : ("onnx" as const);
  if (base.kind === "series") {
    const values = Array.from({ length: 60 }, (_, i) => [315 + Math.sin(i / 2) + i / 12]);
    const g = await env.engine.request("gates", { model, values, runtime });
    if (!g.ok) failed("gates", g.error);
    else {
      if (escapes.length && runtime === "tfjs") log.add("wrong", `ran TensorFlow.js weights from outside the folder (${escapes.join("; ")})`);
      await env.engine.request("release", { handle: g.result.handle });
    }
    const f = await env.engine.request("forecast", { model, values, horizon: 6, runtime });
    if (!f.ok) failed("forecast", f.error);
  } else if (base.kind === "char") {
    const g = await env.engine.request("gates", { model, text: "function f(x) { return x; }", runtime });
    if (!g.ok) failed("gates", g.error);
    else {
      if (escapes.length && runtime === "tfjs") log.add("wrong", `ran TensorFlow.js weights from outside the folder (${escapes.join("; ")})`);
      await env.engine.request("release", { handle: g.result.handle });
    }
  } else {
    const ins = await env.engine.request("inspect", { model, ...(base.kind === "bare" ? { ids: [1, 2, 3, 4] } : { text: "interface Foo {\n  bar: number;\n}" }) });
    if (!ins.ok) failed("inspect", ins.error);
    else {
      log.expect(ins.result.tokens.length > 0, "an inspection with no tokens");
      if (ins.result.next) log.expect(ins.result.next.top.every((t) => Number.isFinite(t.p)), "next-token probabilities that are not numbers");
      await env.engine.request("release", { handle: ins.result.handle });
      if (info.result.capabilities.includes("generate")) {
        const gen = await env.engine.request("generate", { model, ...(base.kind === "bare" ? { ids: [1, 2] } : { text: "let x" }), maxTokens: 4, greedy: true });
        if (!gen.ok) failed("generate", gen.error);
      }
    }
  }
  return log.verdict();
}

export const modelsTarget: EngineTarget = {
  name: "models",
  where: "engine",
  deadlineMs: 30_000,
  fixed: 0,
  run: modelCase,
};
