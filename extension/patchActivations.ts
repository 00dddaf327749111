// SeqLens: Patch Activations — activation patching between two selections of the active editor, as
// TransformerLens users know it. The first selection (the first made) is the clean input, the second
// the corrupted one; they must tokenize to as many tokens (the engine says so when they do not). The
// metric is logit(target) − logit(foil) after the last token: by default the clean run's top next
// token against the corrupted run's (or the clean run's second when the two agree), changeable in the
// Inspector. The engine's `patch` gives, for each layer and position, how much of the clean metric
// patching the residual stream there from the clean run into the corrupted run restores; the
// Inspector draws it, and asks for the per-head grid of a layer.
import * as vscode from "vscode";
import type { TopToken } from "../protocol/basics";
import { EngineError } from "../protocol/errors";
import type { PatchCandidate, PatchView } from "../protocol/inspector";
import { defaultMetric, type PatchResult } from "../protocol/interventions";

export { defaultMetric };
import { withEngineProgress } from "./commands";
import { activeModel } from "./models";
import type { Services } from "./services";

/** How many of each run's top next tokens the metric can be picked from. */
export const PATCH_TOP_K = 10;

/** What to do when the editor does not hold exactly two selections. */
export const HOW_TO_SELECT_TWO =
  "select the clean text, then add the corrupted text as a second selection (Alt+drag, or Ctrl+D / Cmd+D for the next match of the same text), so that the two have the same number of tokens; the first selection is the clean input";

/** One of the two inputs: its text and where it is in the document. */
export interface PatchSide {
  text: string;
  start: number;
  end: number;
}

/** The clean and corrupted inputs from an editor's selections (the first made is the clean one), or why there are not two. */
export function patchSelections(doc: Pick<vscode.TextDocument, "getText" | "offsetAt">, selections: readonly vscode.Selection[]): { clean: PatchSide; corrupted: PatchSide } | { error: string } {
  const sides = selections.filter((s) => !s.isEmpty).map((s) => ({ text: doc.getText(s), start: doc.offsetAt(s.start), end: doc.offsetAt(s.end) }));
  if (sides.length !== 2) {
    const have = sides.length === 0 ? "nothing is selected" : `${sides.length === 1 ? "one selection is" : `${sides.length} selections are`} made`;
    return { error: `SeqLens: activation patching takes two selections, a clean and a corrupted input; ${have}. To patch: ${HOW_TO_SELECT_TWO}.` };
  }
  const blank = sides.findIndex((s) => !s.text.trim());
  if (blank >= 0) return { error: `SeqLens: the ${blank === 0 ? "first (clean)" : "second (corrupted)"} selection is blank: select text the model reads.` };
  return { clean: sides[0], corrupted: sides[1] };
}


/** The tokens the metric can be picked from: each run's top next tokens, the clean run's first, with their probabilities in each run. */
export function patchCandidates(clean: readonly TopToken[], corrupted: readonly TopToken[]): PatchCandidate[] {
  const byId = new Map<number, PatchCandidate>();
  for (const t of clean) byId.set(t.id, { id: t.id, text: t.token, clean: t.p });
  for (const t of corrupted) {
    const c = byId.get(t.id);
    if (c) c.corrupted = t.p;
    else byId.set(t.id, { id: t.id, text: t.token, corrupted: t.p });
  }
  return [...byId.values()];
}

/** What a patching run needs: the model, the two texts, and where they came from. */
export interface PatchInputs {
  model: string;
  modelName: string;
  clean: string;
  corrupted: string;
}

/** Reports the engine's steps ("patched 12 of 64") on a progress notification. */
function stepsTo(progress: vscode.Progress<{ message?: string; increment?: number }>) {
  let last = 0;
  return (p: { kind: string; done?: number; total?: number; message?: string }) => {
    if (p.kind !== "steps" || !p.total) return;
    const pct = (100 * (p.done ?? 0)) / p.total;
    progress.report({ message: p.message, increment: Math.max(0, pct - last) });
    last = pct;
  };
}

/**
 * Runs the engine's activation patching of the residual stream for `inputs`; without a metric, the
 * default one from each run's top next tokens (which also gives the tokens the panel offers).
 */
export async function patchResidual(
  services: Services,
  inputs: PatchInputs,
  token: vscode.CancellationToken,
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  metric?: { target: number; foil: number; candidates: PatchCandidate[]; defaults: { target: number; foil: number } },
): Promise<PatchView> {
  const ac = new AbortController();
  const sub = token.onCancellationRequested(() => ac.abort());
  const engine = services.host.get();
  try {
    let chosen = metric;
    if (!chosen) {
      progress.report({ message: "the clean and corrupted runs' top tokens" });
      const top = async (text: string) => {
        const r = await engine.request("inspect", { model: inputs.model, text, topK: PATCH_TOP_K }, { signal: ac.signal });
        void engine.request("release", { handle: r.handle }).catch(() => undefined);
        if (!r.next) throw new EngineError("INCOMPATIBLE", `${inputs.modelName} predicts no next token, and activation patching measures the logit difference of two next tokens: pick a causal decoder model`);
        return r.next.top;
      };
      const clean = await top(inputs.clean);
      const corrupted = await top(inputs.corrupted);
      const defaults = defaultMetric(clean, corrupted);
      chosen = { ...defaults, candidates: patchCandidates(clean, corrupted), defaults };
    }
    const result = await engine.request("patch", { model: inputs.model, clean: inputs.clean, corrupted: inputs.corrupted, metric: { target: chosen.target, foil: chosen.foil } }, { signal: ac.signal, onProgress: stepsTo(progress) });
    return { modelName: inputs.modelName, clean: inputs.clean, corrupted: inputs.corrupted, result, candidates: chosen.candidates, defaultMetric: chosen.defaults };
  } finally {
    sub.dispose();
  }
}

/** The per-head grid of `layer` ([head][position]) for the patching shown in `view`, with its metric. */
export async function patchHeads(services: Services, model: string, view: PatchView, layer: number, token: vscode.CancellationToken, progress: vscode.Progress<{ message?: string; increment?: number }>): Promise<PatchResult> {
  const ac = new AbortController();
  const sub = token.onCancellationRequested(() => ac.abort());
  try {
    const r = view.result;
    return await services.host.get().request(
      "patch",
      { model, clean: view.clean, corrupted: view.corrupted, metric: { target: r.target.id, foil: r.foil.id }, per: "head", layer },
      { signal: ac.signal, onProgress: stepsTo(progress) },
    );
  } finally {
    sub.dispose();
  }
}

/** SeqLens: Patch Activations on the active editor's two selections, with the active model; `show` puts the result in the Inspector. */
export async function patchActivations(services: Services, editor: vscode.TextEditor | undefined, show: (view: PatchView, model: string) => void): Promise<PatchView | undefined> {
  if (!editor) {
    void vscode.window.showWarningMessage(`SeqLens: open a file first. To patch activations: ${HOW_TO_SELECT_TWO}.`);
    return undefined;
  }
  const sides = patchSelections(editor.document, editor.selections);
  if ("error" in sides) {
    void vscode.window.showWarningMessage(sides.error);
    return undefined;
  }
  const model = activeModel(services.context.extensionPath);
  if ("error" in model) {
    void vscode.window.showErrorMessage(model.error);
    return undefined;
  }
  const inputs: PatchInputs = { model: model.path, modelName: model.path.split(/[\\/]/).pop() ?? model.path, clean: sides.clean.text, corrupted: sides.corrupted.text };
  const view = await withEngineProgress(services, "patching activations from the clean into the corrupted run", (token, progress) => patchResidual(services, inputs, token, progress));
  if (!view) return undefined;
  show(view, model.path);
  const r = view.result;
  services.log.info(`patch ${JSON.stringify(r.target.text)} − ${JSON.stringify(r.foil.text)}: ${r.grid.length} layers × ${r.tokens.length} positions, ${r.patched} patched in ${r.runs} runs, ${r.ms.toFixed(0)} ms`);
  return view;
}
