// SeqLens: Patch Activations, the host side (extension/patchActivations.ts) with `vscode` stood in for
// (test/unit/vscodeMock.ts): the two selections it takes (the first made is the clean input) and the
// sentence when there are not two; the default metric and the tokens offered for it; and the glue run
// against the engine in this process on the sample model: the default metric's tokens are each run's
// top next token (so the clean metric is positive and the corrupted one negative), and the grids are
// the engine's own `patch` results for the same inputs and metric.
import { test } from "node:test";
import assert from "node:assert/strict";
import { installVscodeMock, FakeDocument, Range, Uri } from "./vscodeMock";
import { EngineService } from "../../engine/service";
import type { Method, Params } from "../../protocol/engine";
import { SAMPLE_MODEL } from "../helpers";

installVscodeMock();
/* eslint-disable @typescript-eslint/no-require-imports */
const patch = require("../../extension/patchActivations") as typeof import("../../extension/patchActivations");
/* eslint-enable @typescript-eslint/no-require-imports */

const TEXT = "interface Shape {\n  area(): number;\n}\nclass Circle {\n  area(): number {\n    return 1;\n  }\n}\n";

function selections(doc: FakeDocument, ...ranges: [number, number][]) {
  return ranges.map(([a, b]) => {
    const [s, e] = [doc.positionAt(a), doc.positionAt(b)];
    return Object.assign(new Range(s, e), { isEmpty: a === b, active: e, anchor: s, start: s, end: e }) as unknown as import("vscode").Selection;
  });
}

test("two non-empty selections are the clean and the corrupted input, in the order made; any other count says how to make two", () => {
  const doc = new FakeDocument(Uri.file("/w/a.ts"), TEXT);
  const a = TEXT.indexOf("  area(): number;");
  const b = TEXT.indexOf("  area(): number {");
  const d = doc as unknown as import("vscode").TextDocument;
  assert.deepEqual(patch.patchSelections(d, selections(doc, [a, a + 17], [b, b + 18])), {
    clean: { text: "  area(): number;", start: a, end: a + 17 },
    corrupted: { text: "  area(): number {", start: b, end: b + 18 },
  });
  // the second made is the corrupted one even when it comes first in the file
  const r = patch.patchSelections(d, selections(doc, [b, b + 18], [a, a + 17]));
  assert.ok("clean" in r && r.clean.text === "  area(): number {" && r.corrupted.text === "  area(): number;");
  // an empty selection (a cursor) does not count
  assert.ok("clean" in patch.patchSelections(d, selections(doc, [a, a + 17], [3, 3], [b, b + 18])));
  for (const [n, sels, have] of [
    [0, selections(doc, [3, 3]), "nothing is selected"],
    [1, selections(doc, [a, a + 17]), "one selection is made"],
    [3, selections(doc, [a, a + 17], [b, b + 18], [0, 9]), "3 selections are made"],
  ] as const) {
    const e = patch.patchSelections(d, sels);
    assert.ok("error" in e, `${n} selections`);
    assert.match(e.error, new RegExp(`takes two selections, a clean and a corrupted input; ${have}\\. To patch: select the clean text, then add the corrupted text as a second selection \\(Alt\\+drag, or Ctrl\\+D`));
  }
  const nl = TEXT.indexOf("\n");
  const blank = patch.patchSelections(d, selections(doc, [a, a + 17], [nl, nl + 1]));
  assert.ok("error" in blank && /second \(corrupted\) selection is blank/.test(blank.error));
});

test("the default metric: the clean run's top token against the corrupted run's, or the clean run's second when they agree; the offered tokens are both lists, each with its probabilities", () => {
  const t = (id: number, token: string, p: number) => ({ id, token, p });
  const clean = [t(1, ";", 0.6), t(2, " {", 0.3), t(3, ",", 0.1)];
  assert.deepEqual(patch.defaultMetric(clean, [t(2, " {", 0.7), t(1, ";", 0.2)]), { target: 1, foil: 2 });
  assert.deepEqual(patch.defaultMetric(clean, [t(1, ";", 0.5), t(4, ")", 0.4)]), { target: 1, foil: 2 }, "both runs' top is ;: against the clean run's second");
  assert.throws(() => patch.defaultMetric([t(1, ";", 1)], [t(1, ";", 1)]), /no second token/);
  assert.deepEqual(patch.patchCandidates(clean, [t(4, ")", 0.4), t(1, ";", 0.2)]), [
    { id: 1, text: ";", clean: 0.6, corrupted: 0.2 },
    { id: 2, text: " {", clean: 0.3 },
    { id: 3, text: ",", clean: 0.1 },
    { id: 4, text: ")", corrupted: 0.4 },
  ]);
});

/** Services whose engine is an EngineService in this process, with the progress it reports recorded. */
function servicesOn(s: EngineService, progress: string[]) {
  const client = {
    request: <M extends Method>(method: M, params: Params<M>, o: { signal?: AbortSignal; onProgress?: (p: unknown) => void } = {}) =>
      s.call(method, params, { signal: o.signal ?? new AbortController().signal, progress: (p) => o.onProgress?.(p), log: () => {} }),
  };
  const services = { host: { get: () => client } } as unknown as import("../../extension/services").Services;
  const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) } as unknown as import("vscode").CancellationToken;
  const reporter = { report: (p: { message?: string }) => void (p.message && progress.push(p.message)) };
  return { services, token, reporter };
}

test("the glue on the sample model: the default metric's tokens are each run's top, and the residual and per-head grids are the engine's patch for the same inputs", async () => {
  const s = new EngineService({ providers: "cpu" });
  const progress: string[] = [];
  const { services, token, reporter } = servicesOn(s, progress);
  const inputs = { model: SAMPLE_MODEL, modelName: "tiny-gpt", clean: "  area(): number;", corrupted: "  area(): number {" };
  const view = await patch.patchResidual(services, inputs, token, reporter);
  const r = view.result;
  const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
  // the default metric from each run's own top tokens
  const top = async (text: string) => (await s.call("inspect", { model: SAMPLE_MODEL, text, topK: 3 }, ctx)).next!.top;
  const [ct, xt] = [await top(inputs.clean), await top(inputs.corrupted)];
  assert.equal(r.target.id, ct[0].id);
  assert.equal(r.foil.id, xt[0].id !== ct[0].id ? xt[0].id : ct[1].id);
  assert.deepEqual(view.defaultMetric, { target: r.target.id, foil: r.foil.id });
  assert.ok(r.cleanMetric > 0, `the clean run's top token leads: ${r.cleanMetric}`);
  if (xt[0].id !== ct[0].id) assert.ok(r.corruptedMetric < 0, `the corrupted run's top token leads there: ${r.corruptedMetric}`);
  assert.ok(view.candidates.some((c) => c.id === r.target.id && c.clean === ct[0].p));
  // the grid is the engine's patch, as it is
  const direct = await s.call("patch", { model: SAMPLE_MODEL, clean: inputs.clean, corrupted: inputs.corrupted, metric: { target: r.target.id, foil: r.foil.id } }, ctx);
  assert.deepEqual(r.axes, ["layer", "position"]);
  assert.equal(r.grid.length, 4, "the sample model's 4 layers");
  assert.equal(r.grid[0].length, r.tokens.length);
  assert.deepEqual(r.grid, direct.grid);
  assert.deepEqual(r.differ, [r.tokens.length - 1], "the inputs differ in their last token");
  assert.ok(progress.some((m) => /^patched \d+ of \d+$/.test(m)), `the engine's steps reach the notification: ${progress.join(" | ")}`);
  // another metric: the candidates and the defaults stay
  const other = view.candidates.find((c) => c.id !== r.target.id && c.id !== r.foil.id)!;
  const again = await patch.patchResidual(services, inputs, token, reporter, { target: other.id, foil: r.foil.id, candidates: view.candidates, defaults: view.defaultMetric });
  assert.equal(again.result.target.id, other.id);
  assert.deepEqual(again.defaultMetric, view.defaultMetric);
  assert.deepEqual(again.candidates, view.candidates);
  // the heads of a layer, with the metric shown
  const heads = await patch.patchHeads(services, SAMPLE_MODEL, view, 2, token, reporter);
  const directHeads = await s.call("patch", { model: SAMPLE_MODEL, clean: inputs.clean, corrupted: inputs.corrupted, metric: { target: r.target.id, foil: r.foil.id }, per: "head", layer: 2 }, ctx);
  assert.deepEqual(heads.axes, ["head", "position"]);
  assert.equal(heads.layer, 2);
  assert.deepEqual(heads.grid, directHeads.grid);
  // Cancel on the notification: the engine's run is cancelled
  const cancelled = { isCancellationRequested: true, onCancellationRequested: (f: () => void) => (queueMicrotask(f), { dispose() {} }) } as unknown as import("vscode").CancellationToken;
  await assert.rejects(patch.patchResidual(services, inputs, cancelled, reporter), (e: unknown) => (e as { code?: string }).code === "CANCELLED");
  // inputs of different token lengths: the engine's sentence
  await assert.rejects(patch.patchResidual(services, { ...inputs, corrupted: "  area(): string | number {" }, token, reporter), /activation patching needs two inputs of the same token length/);
});
