// The CLI twins of the interventions:
//   seqlens dla --model PATH (--text STR | --file PATH | --ids 1,2,3) [--position I] [--target TOKEN] [--foil TOKEN] [--top N] [--json]
//   seqlens inspect ... --ablate L.H[,L.H] [--ablate-mode zero|mean]   (the heads parsed here)
// A token (target, foil) is its text or, all digits, its id.
import type { EngineClient } from "./client";
import { CliUsageError } from "./cliRecurrent";
import { ABLATION_MODES, type AblationMode, type HeadRef } from "../protocol/interventions";

import { intOf, show, tokenOf, type Opts, type ReadText } from "./cliArgs";
import type { Out } from "./cliRecurrent";

/** --ablate L.H[,L.H] and --ablate-mode: the heads to switch off, or nothing when --ablate is absent. */
export function ablateOf(opts: Opts): { ablate?: HeadRef[]; ablateMode?: AblationMode } {
  const a = opts.get("--ablate");
  const mode = opts.get("--ablate-mode");
  if (mode !== undefined && !(ABLATION_MODES as readonly string[]).includes(mode)) throw new CliUsageError(`--ablate-mode must be ${ABLATION_MODES.join(" or ")} (got ${JSON.stringify(mode)})`);
  if (a === undefined) {
    if (mode !== undefined) throw new CliUsageError("--ablate-mode needs --ablate L.H[,L.H] (the heads to switch off)");
    return {};
  }
  const heads = a.split(",").map((s) => s.trim());
  const bad = heads.find((s) => !/^\d+\.\d+$/.test(s));
  if (bad !== undefined || heads.length === 0) throw new CliUsageError(`--ablate takes heads as layer.head, comma-separated, such as 0.1,2.3 (got ${JSON.stringify(bad ?? a)})`);
  return { ablate: heads.map((s) => ({ layer: Number(s.split(".")[0]), head: Number(s.split(".")[1]) })), ...(mode ? { ablateMode: mode as AblationMode } : {}) };
}

export async function dlaCommand(client: EngineClient, opts: Opts, model: string, json: boolean, readText: ReadText, out: Out, err: Out): Promise<number> {
  const r = await client.request("dla", { model, ...readText(opts), position: intOf(opts, "--position"), target: tokenOf(opts.get("--target")), foil: tokenOf(opts.get("--foil")), maxTokens: intOf(opts, "--max-tokens") });
  if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
  if (json) {
    // the result as the engine gives it, less the input's tokens (the notice went to stderr); a foil is null when absent
    const { tokens: _tokens, truncated: _truncated, ...result } = r;
    out(JSON.stringify({ ...result, foil: r.foil ?? null }) + "\n");
    return 0;
  }
  const top = intOf(opts, "--top") ?? 15;
  const what = r.foil ? `logit("${show(r.target.text)}") - logit("${show(r.foil.text)}")` : `logit("${show(r.target.text)}")`;
  out(`direct logit attribution at token ${r.position}: ${what} = ${r.logit.toFixed(4)}\n`);
  out(`each part of the final residual through the final ${r.norm === "layernorm" ? "LayerNorm" : "RMSNorm"} with its scale frozen at that position\n`);
  const parts: { name: string; v: number }[] = [{ name: "embeddings", v: r.embed }];
  r.heads.forEach((row, l) => row.forEach((v, h) => parts.push({ name: `head ${l}.${h}`, v })));
  r.mlps.forEach((v, l) => parts.push({ name: `mlp ${l}`, v }));
  r.attnBiases.forEach((v, l) => v !== 0 && parts.push({ name: `attn bias ${l}`, v }));
  const shown = parts.slice().sort((a, b) => Math.abs(b.v) - Math.abs(a.v)).slice(0, top);
  const scale = Math.max(1e-12, ...shown.map((s) => Math.abs(s.v)));
  for (const s of shown) {
    const bar = "█".repeat(Math.max(s.v === 0 ? 0 : 1, Math.round((Math.abs(s.v) / scale) * 20)));
    out(`  ${s.name.padEnd(14)} ${(s.v >= 0 ? "+" : "") + s.v.toFixed(4)}`.padEnd(30) + ` ${s.v >= 0 ? bar : "-".repeat(bar.length)}\n`);
  }
  if (parts.length > shown.length) out(`  (${parts.length - shown.length} more; --top N or --json for all)\n`);
  out(`  remainder      ${(r.remainder >= 0 ? "+" : "") + r.remainder.toFixed(4)} (the norm's and the output's biases: ${r.biasTerm.toFixed(4)})\n`);
  return 0;
}
