// The CLI twins of the Embeddings panel:
//   seqlens project    --model PATH --method pca|umap|tsne [--dims 2|3] [--matrix input|output] [--text STR | --file PATH | --series CSV | --values ...] [--layer N] [--max-steps N] [--window K | --from-step S] [--json]
//   (a recurrent model: h_t per step of the direction --layer indexes; a long series a window of rows at a time)
//   seqlens neighbours --model PATH --token STR [--plus STR] [--minus STR] [--k N] [--metric cosine|euclidean] [--matrix input|output] [--json]
//   seqlens lens       --model PATH (--text STR | --file PATH | --ids 1,2,3) [--top-k N] [--json]
import type { EngineClient } from "./client";
import { CliUsageError, readSeries } from "./cliRecurrent";
import { EmbeddingMatrix, ProjectionMethod } from "../protocol/embeddings";

type Opts = Map<string, string>;
type Out = (s: string) => void;
type ReadText = (opts: Opts) => { text?: string; ids?: number[] };

const show = (s: string) => JSON.stringify(s).slice(1, -1);
const pct = (p: number) => `${(p * 100).toFixed(1)}%`;

function matrixOf(opts: Opts): EmbeddingMatrix | undefined {
  const m = opts.get("--matrix");
  if (m !== undefined && m !== "input" && m !== "output") throw new CliUsageError("--matrix must be input (the token embedding) or output (the model's own output projection)");
  return m;
}

/** A one-line progress bar on stderr for the long projections (UMAP, t-SNE). */
function progressLine(err: Out): (p: { kind: string; done?: number; total?: number; message?: string }) => void {
  let last = -1;
  return (p) => {
    if (p.kind !== "steps" || !p.total) return;
    const tenth = Math.floor((p.done! / p.total) * 10);
    if (tenth === last) return;
    last = tenth;
    err(`seqlens: ${p.message} ${"#".repeat(tenth).padEnd(10, ".")} ${p.done}/${p.total}\n`);
  };
}

export async function projectCommand(client: EngineClient, opts: Opts, model: string, json: boolean, readText: ReadText, out: Out, err: Out): Promise<number> {
  const method = opts.get("--method") ?? "pca";
  if (method !== "pca" && method !== "umap" && method !== "tsne") throw new CliUsageError("--method must be pca, umap or tsne");
  const dims = Number(opts.get("--dims") ?? 2);
  if (dims !== 2 && dims !== 3) throw new CliUsageError("--dims must be 2 or 3");
  const series = opts.has("--series") || opts.has("--values");
  const contextual = opts.has("--text") || opts.has("--file") || opts.has("--ids") || series;
  if (opts.has("--layer") && !contextual) throw new CliUsageError("--layer goes with --text, --file or --ids (the hidden states of a text)");
  const layer = opts.has("--layer") ? Number(opts.get("--layer")) : undefined;
  if (layer !== undefined && !Number.isInteger(layer)) throw new CliUsageError("--layer must be an integer");
  const matrix = matrixOf(opts);
  if (matrix && contextual) throw new CliUsageError("--matrix goes with the vocabulary (without --text)");
  const read = series ? readSeries(opts) : undefined;
  if (read?.window) err(`seqlens: notice: read ${read.window.notice}\n`);
  const input = read ? { values: read.rows } : contextual ? readText(opts) : {};
  const r = await client.request("project", { model, method: method as ProjectionMethod, dims, matrix, ...input, layer }, { onProgress: json ? undefined : progressLine(err) });
  if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
  if (json) {
    out(JSON.stringify({ points: r.points, ...(r.explained ? { explained: r.explained } : {}), ...(r.layer !== undefined ? { layer: r.layer } : {}), ...(r.layerNames ? { layerNames: r.layerNames } : {}) }) + "\n");
    return 0;
  }
  const what =
    r.source === "vocabulary"
      ? `${r.points.length} tokens of the ${r.matrix === "output" ? "output projection" : "token embedding"}`
      : r.recurrent
        ? `${r.points.length} steps of h_t, ${r.layerNames![r.layer!]}`
        : `${r.points.length} positions at layer ${r.layer} of ${r.layers! - 1}`;
  out(`${what}, ${method.toUpperCase()} to ${dims} dimensions in ${r.ms.toFixed(0)} ms${r.cached ? " (cached)" : ""}${r.explained ? `; explained variance ${r.explained.map(pct).join(", ")}` : ""}\n`);
  for (const p of r.points.slice(0, 10)) out(`  ${String(p.position ?? p.id).padStart(5)} ${JSON.stringify(p.label).padEnd(14)} ${p.x.toFixed(3)} ${p.y.toFixed(3)}${p.z !== undefined ? ` ${p.z.toFixed(3)}` : ""}\n`);
  if (r.points.length > 10) out(`  ... (${r.points.length - 10} more; --json for all)\n`);
  return 0;
}

export async function neighboursCommand(client: EngineClient, opts: Opts, model: string, json: boolean, out: Out): Promise<number> {
  const ids = async (flag: string): Promise<number[]> => {
    const all: number[] = [];
    for (const [k, v] of opts) if (k === flag || k.startsWith(`${flag}#`)) all.push(...(await client.request("inspect", { model, text: v, topK: 1 })).tokens.map((t) => t.id));
    return all;
  };
  if (!opts.has("--token")) throw new CliUsageError("--token is required");
  const plus = [...(await ids("--token")), ...(await ids("--plus"))];
  const minus = await ids("--minus");
  const metric = (opts.get("--metric") ?? "cosine") as "cosine" | "euclidean";
  const k = opts.has("--k") ? Number(opts.get("--k")) : 10;
  const r = await client.request("neighbours", { model, plus, minus, k, metric, matrix: matrixOf(opts) });
  if (json) out(JSON.stringify(r) + "\n");
  else for (const n of r.neighbours) out(`  ${n.score.toFixed(4)}  ${String(n.id).padStart(5)} ${JSON.stringify(n.token)}\n`);
  return 0;
}

export async function lensCommand(client: EngineClient, opts: Opts, model: string, json: boolean, readText: ReadText, out: Out, err: Out): Promise<number> {
  const topK = opts.has("--top-k") ? Number(opts.get("--top-k")) : 5;
  const r = await client.request("lens", { model, ...readText(opts), topK });
  if (r.truncated) err(`seqlens: notice: ${r.truncated.notice}\n`);
  if (json) {
    out(JSON.stringify({ tokens: r.tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end })), layerNames: r.layerNames, layers: r.layers, finalRank: r.finalRank }) + "\n");
    return 0;
  }
  // A table: one row per layer, one column per position (the last few), the top token and its probability.
  const cols = r.tokens.slice(-8).map((_, i, a) => r.tokens.length - a.length + i);
  const cell = (s: string) => s.slice(0, 14).padEnd(15);
  out(`${r.tokens.length} tokens x ${r.layerNames.length} layers in ${r.ms.toFixed(0)} ms${cols.length < r.tokens.length ? ` (the last ${cols.length} positions; --json for all)` : ""}\n`);
  out(cell("after") + cols.map((t) => cell(show(r.tokens[t].text))).join("") + "\n");
  r.layers.forEach((row, l) => out(cell(r.layerNames[l]) + cols.map((t) => cell(`${show(row[t][0].token)} ${pct(row[t][0].p)}`)).join("") + "\n"));
  return 0;
}
