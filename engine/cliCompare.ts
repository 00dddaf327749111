// The CLI twins of the Compare panel and the int8 copy:
//   seqlens compare  --model A --model B (--text STR | --file PATH) [--json]
//   seqlens quantize --model PATH --out NEW_FOLDER [--json]
import type { EngineClient } from "./client";
import { CliUsageError } from "./cliRecurrent";

type Opts = Map<string, string>;
type Out = (s: string) => void;

const round = (v: number | null) => (v === null ? null : Math.round(v * 1e6) / 1e6);
const show = (s: string) => JSON.stringify(s).slice(1, -1);

export async function compareCommand(client: EngineClient, opts: Opts, json: boolean, readText: (o: Opts) => { text?: string; ids?: number[] }, out: Out, err: Out): Promise<number> {
  const models = [...opts].filter(([k]) => k === "--model" || k.startsWith("--model#")).map(([, v]) => v);
  if (models.length !== 2) throw new CliUsageError(`compare needs two --model (got ${models.length})`);
  const r = await client.request("compare", { modelA: models[0], modelB: models[1], ...readText(opts) });
  if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
  if (r.note) err(`seqlens: notice: ${r.note}\n`);
  if (json) {
    out(
      JSON.stringify({
        mode: r.mode,
        summary: { meanLoss: r.summary.meanLoss.map(round), unit: r.summary.unit, meanJs: r.summary.meanJs === undefined ? undefined : round(r.summary.meanJs), changedTokens: r.summary.changedTokens, changedHeads: r.summary.changedHeads.map((h) => ({ ...h, meanJs: round(h.meanJs) })) },
        tokens: r.tokens.map((t, i) => {
          const c = r.perToken[i];
          return { id: t.id, text: t.text, start: t.start, end: t.end, loss: c.loss.map(round), kl: c.kl ? c.kl.map(round) : null, js: round(c.js) };
        }),
      }) + "\n",
    );
    return 0;
  }
  const [a, b] = r.names;
  out(`${a} against ${b}: ${r.tokens.length} tokens, compared ${r.mode === "token" ? "token by token" : "per byte"} in ${r.ms.total.toFixed(0)} ms\n`);
  out(`  mean loss ${r.summary.meanLoss[0].toFixed(3)} / ${r.summary.meanLoss[1].toFixed(3)} ${r.summary.unit}${r.summary.meanJs !== undefined ? `; mean JS ${r.summary.meanJs < 1e-3 ? r.summary.meanJs.toExponential(2) : r.summary.meanJs.toFixed(4)} bits` : ""}\n`);
  if (r.summary.changedTokens.length) out(`  changed most: ${r.summary.changedTokens.slice(0, 5).map((c) => `"${show(c.text)}" ${c.delta > 0 ? "+" : ""}${Math.abs(c.delta) < 0.005 ? c.delta.toExponential(1) : c.delta.toFixed(2)}`).join(", ")} (bits, second minus first)\n`);
  if (r.summary.changedHeads.length) out(`  heads changed most: ${r.summary.changedHeads.slice(0, 5).map((h) => `L${h.layer}H${h.head} ${h.meanJs < 1e-3 ? h.meanJs.toExponential(2) : h.meanJs.toFixed(3)}`).join(", ")} (mean JS of rows, bits)\n`);
  return 0;
}

export async function quantizeCommand(client: EngineClient, opts: Opts, model: string, json: boolean, out: Out): Promise<number> {
  const target = opts.get("--out");
  if (!target) throw new CliUsageError("--out is required (a new folder for the int8 copy)");
  const r = await client.request("quantize", { model, out: target });
  if (json) out(JSON.stringify(r) + "\n");
  else out(`wrote ${r.out}: ${r.quantized} MatMul weights to int8 (${r.kept} kept float), ${(r.bytes[0] / 2 ** 20).toFixed(2)} -> ${(r.bytes[1] / 2 ** 20).toFixed(2)} MiB\n`);
  return 0;
}
