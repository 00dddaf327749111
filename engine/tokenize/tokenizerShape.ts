// What a tokenizer.json must look like before the tokenizer library is given it: the library
// assumes its shape and fails deep inside with a JavaScript error ("merges.map is not a function")
// on a file of another shape. Each check names the field a user can look at.
import { EngineError } from "../../protocol/errors";

const MODEL_TYPES = ["BPE", "WordPiece", "WordLevel", "Unigram"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Throws a TOKENIZER error naming the first field of `json` that is not as tokenizer.json writes it. */
export function checkTokenizerShape(json: unknown, source: string): void {
  const bad = (field: string, want: string) => new EngineError("TOKENIZER", `${source}: tokenizer.json's ${field} ${want}; this file is not a tokenizer.json the tokenizers library writes`);
  if (!isObject(json)) throw bad("top level", "must be an object");
  const model = json.model;
  if (!isObject(model)) throw bad('"model"', "must be an object");
  const type = model.type ?? (Array.isArray(model.vocab) ? "Unigram" : "BPE");
  if (typeof type !== "string" || !MODEL_TYPES.includes(type)) throw bad('"model.type"', `must be one of ${MODEL_TYPES.join(", ")} (got ${JSON.stringify(type)?.slice(0, 40)})`);
  const vocab = model.vocab;
  if (type === "Unigram") {
    if (!Array.isArray(vocab) || !vocab.every((e) => Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number")) throw bad('"model.vocab"', "must be a list of [token, score] pairs for a Unigram model");
  } else {
    if (!isObject(vocab)) throw bad('"model.vocab"', "must map each token to its id");
    for (const [t, id] of Object.entries(vocab)) if (!Number.isInteger(id) || (id as number) < 0) throw bad(`"model.vocab" entry ${JSON.stringify(t).slice(0, 40)}`, "must be a whole number id");
  }
  if (type === "BPE" && model.merges !== undefined) {
    const merges = model.merges;
    if (!Array.isArray(merges) || !merges.every((m) => typeof m === "string" || (Array.isArray(m) && m.length === 2 && m.every((p) => typeof p === "string")))) throw bad('"model.merges"', 'must be a list of "a b" strings or [a, b] pairs');
  }
  if (json.added_tokens !== undefined && json.added_tokens !== null) {
    if (!Array.isArray(json.added_tokens) || !json.added_tokens.every((a) => isObject(a) && Number.isInteger(a.id) && (a.id as number) >= 0 && typeof a.content === "string")) throw bad('"added_tokens"', "must be a list of {id, content}");
  }
  for (const part of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) {
    const v = json[part];
    if (v === undefined || v === null) continue;
    if (!isObject(v) || typeof v.type !== "string") throw bad(`"${part}"`, "must be null or an object with a type");
  }
}
