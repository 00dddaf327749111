// The CLI twin of activation patching:
//   seqlens patch --model PATH (--clean STR | --clean-ids 1,2,3) (--corrupted STR | --corrupted-ids 1,2,4)
//                 [--metric "TOKEN_A-TOKEN_B"] [--per residual|head [--layer L]] [--json]
// The metric is logit(TOKEN_A) − logit(TOKEN_B) after the last token; a token is its text or, all
// digits, its id. Without --metric: the clean run's top next token against the corrupted run's (the
// clean run's second when they agree). --json writes {"grid": [row][column], ...} (axes says what rows and columns are);
// without it, a table of the normalised grid.
import type { EngineClient } from "./client";
import { CliUsageError } from "./cliRecurrent";
import { PATCH_PER, type PatchPer } from "../protocol/interventions";

import { tokenOf, type Opts } from "./cliArgs";
import type { Out } from "./cliRecurrent";

/** "A-B": the two tokens of the metric (none given: the engine's default); a usage error unless the value splits at one "-" into two non-empty tokens. */
export function metricOf(v: string | undefined): { target: string | number; foil: string | number } | undefined {
  if (v === undefined) return undefined;
  const parts = v.split("-");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new CliUsageError(`--metric takes two tokens as "TOKEN_A-TOKEN_B" (got ${JSON.stringify(v)}); a token that contains "-" can be given by its id, such as 12-34`);
  }
  return { target: tokenOf(parts[0]), foil: tokenOf(parts[1]) };
}

function inputOf(opts: Opts, name: "--clean" | "--corrupted"): string | number[] {
  const ids = opts.get(`${name}-ids`);
  const text = opts.get(name);
  if (ids !== undefined && text !== undefined) throw new CliUsageError(`give ${name} or ${name}-ids, not both`);
  if (ids !== undefined) {
    const list = ids.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    if (list.length === 0 || list.some((n) => !Number.isInteger(n))) throw new CliUsageError(`${name}-ids must be comma-separated integers`);
    return list;
  }
  if (text === undefined || text === "") throw new CliUsageError(`${name} is required (the ${name.slice(2)} text, or ${name}-ids 1,2,3)`);
  return text;
}

export async function patchCommand(client: EngineClient, opts: Opts, model: string, json: boolean, out: Out, err: Out): Promise<number> {
  const per = opts.get("--per") ?? "residual";
  if (!(PATCH_PER as readonly string[]).includes(per)) throw new CliUsageError(`--per must be ${PATCH_PER.join(" or ")} (got ${JSON.stringify(per)})`);
  const layerText = opts.get("--layer");
  if (layerText !== undefined && !/^\s*\d+\s*$/.test(layerText)) throw new CliUsageError(`--layer must be a whole number (got ${JSON.stringify(layerText)})`);
  if (layerText !== undefined && per !== "head") throw new CliUsageError("--layer goes with --per head (the layer whose heads are patched); --per residual patches every layer");
  const r = await client.request("patch", {
    model,
    clean: inputOf(opts, "--clean"),
    corrupted: inputOf(opts, "--corrupted"),
    metric: metricOf(opts.get("--metric")),
    per: per as PatchPer,
    ...(layerText !== undefined ? { layer: Number(layerText) } : {}),
  });
  if (json) {
    out(
      JSON.stringify({
        grid: r.grid,
        axes: r.axes,
        per: r.per,
        layer: r.layer ?? null,
        raw: r.raw,
        cleanMetric: r.cleanMetric,
        corruptedMetric: r.corruptedMetric,
        target: r.target,
        foil: r.foil,
        tokens: r.tokens.map((t) => t.text),
        corruptedTokens: r.corruptedTokens.map((t) => t.text),
        differ: r.differ,
        patched: r.patched,
        runs: r.runs,
        ms: r.ms,
      }) + "\n",
    );
    return 0;
  }
  const show = (s: string) => JSON.stringify(s).slice(1, -1);
  const metric = `logit("${show(r.target.text)}") - logit("${show(r.foil.text)}")`;
  out(`activation patching: ${metric} = ${r.cleanMetric.toFixed(4)} clean, ${r.corruptedMetric.toFixed(4)} corrupted\n`);
  const what = r.axes[1] === "head" ? "each head patched at every position" : r.axes[0] === "head" ? `the heads of layer ${r.layer} patched one position at a time` : "the residual stream entering each block, one position at a time";
  out(`${what}; restored share (m - m_corrupted) / (m_clean - m_corrupted), 1 = the clean prediction (${r.patched} patched runs, ${(r.ms / 1000).toFixed(2)} s)\n`);
  if (r.differ.length > 0) out(`the inputs differ at position${r.differ.length > 1 ? "s" : ""} ${r.differ.join(", ")}\n`);
  const cols = r.grid[0]?.length ?? 0;
  const colName = (j: number) => (r.axes[1] === "head" ? `h${j}` : `${j}:${show(r.tokens[j].text).slice(0, 6)}${r.differ.includes(j) ? "*" : ""}`);
  const rowName = (i: number) => (r.axes[0] === "layer" ? `layer ${i}` : `head ${i}`);
  const w = Math.max(7, ...Array.from({ length: cols }, (_, j) => colName(j).length + 1));
  out("".padEnd(9) + Array.from({ length: cols }, (_, j) => colName(j).padStart(w)).join("") + "\n");
  r.grid.forEach((row, i) => out(rowName(i).padEnd(9) + row.map((v) => v.toFixed(3).padStart(w)).join("") + "\n"));
  if (r.differ.length === 0) err("seqlens: notice: the clean and corrupted inputs have the same tokens\n");
  return 0;
}
