// Another tool that reads such model folders, transformers.js, loads the bundled sample unchanged
// and produces the same tokens and the same greedy continuation as the SeqLens engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { EngineService } from "../../engine/service";
import { SAMPLE_MODEL } from "../helpers";

const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

test("transformers.js: same token ids and same greedy generation as the engine", async () => {
  const tjs = await import("@huggingface/transformers");
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = path.dirname(SAMPLE_MODEL) + path.sep;
  const name = path.basename(SAMPLE_MODEL);
  const tokenizer = await tjs.AutoTokenizer.from_pretrained(name);
  const model = await tjs.AutoModelForCausalLM.from_pretrained(name, { dtype: "fp32", device: "cpu" });
  const prompt = "interface ReadonlyArray<T> {\n    /**\n     * Returns";
  const inputs = tokenizer(prompt);
  const service = new EngineService({ providers: "cpu" });
  const ours = await service.call("inspect", { model: SAMPLE_MODEL, text: prompt }, ctx);
  const theirIds = (inputs.input_ids.tolist() as bigint[][])[0].map(Number);
  assert.deepEqual(theirIds, ours.tokens.map((t) => t.id));
  const out = (await model.generate({ ...inputs, max_new_tokens: 40, do_sample: false })) as { tolist(): bigint[][] };
  const theirNew = out.tolist()[0].map(Number).slice(theirIds.length);
  const gen = await service.call("generate", { model: SAMPLE_MODEL, text: prompt, maxTokens: 40, greedy: true, stopAtEos: false }, ctx);
  assert.deepEqual(gen.tokens.map((t) => t.id), theirNew);
  assert.equal(gen.tokens.length, 40);
  await model.dispose();
});
