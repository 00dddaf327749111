// The CLI twin of "Why this token":
//   seqlens attribute --model PATH (--text STR | --file PATH | --ids 1,2,3) [--position I] [--target TOKEN] [--foil TOKEN]
//                     [--baseline pad|eos|mask|unk|zero|ID] [--method ablation|grad-x-input|integrated-gradients]
//                     [--steps N] [--top N] [--json]
// A token (target, foil) is its text or, all digits, its id. The zero baseline is the zero embedding
// (ablation: that token's embedding zeroed, its position kept); --steps for integrated gradients.
import type { EngineClient } from "./client";
import { CliUsageError } from "./cliRecurrent";
import { ATTRIBUTION_METHODS, BASELINE_TOKENS, type AttributionMethod, type BaselineToken } from "../protocol/attribution";

import { intOf, show, tokenOf, type Opts, type ReadText } from "./cliArgs";
import type { Out } from "./cliRecurrent";

export async function attributeCommand(client: EngineClient, opts: Opts, model: string, json: boolean, readText: ReadText, out: Out, err: Out): Promise<number> {
  const method = opts.get("--method") ?? "ablation";
  if (!(ATTRIBUTION_METHODS as readonly string[]).includes(method)) throw new CliUsageError(`--method must be ${ATTRIBUTION_METHODS.join(", ")}`);
  const b = opts.get("--baseline");
  if (b !== undefined && !/^\d+$/.test(b) && !(BASELINE_TOKENS as readonly string[]).includes(b) && b !== "zero") {
    throw new CliUsageError(`--baseline must be pad, eos, mask, unk, zero (the zero embedding) or a token id (got ${JSON.stringify(b)})`);
  }
  const baseline = b === undefined ? undefined : /^\d+$/.test(b) ? Number(b) : (b as BaselineToken | "zero");
  const steps = intOf(opts, "--steps");
  const top = intOf(opts, "--top") ?? 15;
  let last = -1;
  const r = await client.request(
    "attribute",
    { model, ...readText(opts), position: intOf(opts, "--position"), target: tokenOf(opts.get("--target")), foil: tokenOf(opts.get("--foil")), baseline, method: method as AttributionMethod, steps, maxTokens: intOf(opts, "--max-tokens") },
    {
      onProgress: json
        ? undefined
        : (p) => {
            if (p.kind !== "steps" || !p.total) return;
            const tenth = Math.floor((p.done / p.total) * 10);
            if (tenth === last) return;
            last = tenth;
            err(`seqlens: ${method !== "ablation" ? "gradients" : "ablating"} ${"#".repeat(tenth).padEnd(10, ".")} ${p.done}/${p.total}\n`);
          },
    },
  );
  if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
  if (json) {
    out(
      JSON.stringify({
        target: r.target,
        foil: r.foil ?? null,
        method: r.method,
        metric: r.metric,
        baseline: r.baseline,
        position: r.position,
        base: r.base,
        scores: r.scores,
        ...(r.completeness ? { completeness: r.completeness } : {}),
        computedBy: r.computedBy,
        ms: r.ms,
      }) + "\n",
    );
    return 0;
  }
  const what = r.metric === "logprob" ? `ln p("${show(r.target.text)}") = ${r.base.toFixed(3)}` : `logit("${show(r.target.text)}") - logit("${show(r.foil!.text)}") = ${r.base.toFixed(3)}`;
  out(`why "${show(r.target.text)}" at token ${r.position}${r.foil ? ` rather than "${show(r.foil.text)}"` : ""}: ${what}\n`);
  const by = r.computedBy;
  const baselineText = r.baseline.kind === "zero" ? "the zero embedding" : `${show(r.baseline.text)} (${r.baseline.kind === "id" ? "" : `${r.baseline.kind}, `}id ${r.baseline.id})`;
  if (r.method === "ablation") {
    out(`feature ablation: each earlier token replaced by ${baselineText}, ${r.runs} runs in ${r.ms.toFixed(0)} ms\n`);
    out(`score = the metric's drop when the token is replaced (positive: the token supported the prediction)\n`);
  } else {
    const agree = by.agreement === undefined ? "" : ` standing in for the model (its metric agrees to ${by.agreement.toExponential(1)})`;
    out(`gradients on ${by.name} (${by.runtime})${agree}, with respect to the token embeddings (positions held fixed), ${r.runs} passes in ${r.ms.toFixed(0)} ms\n`);
    if (r.method === "grad-x-input") out(`score = gradient · embedding, summed over the embedding (positive: the token supported the prediction)\n`);
    else {
      out(`integrated gradients from ${baselineText}: score = (embedding - baseline) · the mean gradient over ${r.completeness!.steps} points on the path\n`);
      const c = r.completeness!;
      out(`completeness: the scores sum to ${c.sum.toFixed(4)}; f(input) - f(baseline) = ${c.delta.toFixed(4)} (relative error ${(c.relError * 100).toFixed(2)}%)\n`);
    }
  }
  const shown = r.scores.slice().sort((a, c) => Math.abs(c.score) - Math.abs(a.score)).slice(0, top);
  const scale = Math.max(1e-12, ...shown.map((s) => Math.abs(s.score)));
  for (const s of shown) {
    const bar = "█".repeat(Math.max(s.score === 0 ? 0 : 1, Math.round((Math.abs(s.score) / scale) * 20)));
    out(`  ${String(s.position).padStart(5)}  ${JSON.stringify(s.text).padEnd(16)} ${(s.score >= 0 ? "+" : "") + s.score.toFixed(4)}`.padEnd(40) + ` ${s.score >= 0 ? bar : "-".repeat(bar.length)}\n`);
  }
  if (r.scores.length > shown.length) out(`  (${r.scores.length - shown.length} more; --top N or --json for all)\n`);
  return 0;
}
