// Series parsing figures, added to bench/results.json:
//   series_parse_ms    parseSeries (engine/series/) on a million numbers in each shape a selection
//                      takes: one per line, an array literal, whitespace (ten per line), and a CSV
//                      table (a time column and three values, 250,000 rows, columns: "all"); median
//                      of SEQLENS_BENCH_RUNS runs after two warm-ups; every run's result checked
// To compare two versions of the parser, run this file in a copy of each (same machine, one after
// the other, a few times alternating): the figures of one process are what is reported here.
// Run by `npm run bench`.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseSeries, type ParsedSeries, type ParseSeriesOptions } from "../engine/series/parseSeries";
import { median } from "./stats";

const ROOT = path.resolve(__dirname, "..");
const RUNS = Number(process.env.SEQLENS_BENCH_RUNS ?? 9);
const WARMUP = 2;
const N = 1_000_000;

interface Case {
  name: "lines" | "array" | "whitespace" | "csv";
  text: string;
  options: ParseSeriesOptions;
  /** How many values the result holds, and the text of the last one's source. */
  count: number;
  last: string;
}

const num = (i: number) => ((i % 2000) - 1000 + i / 1e6).toFixed(4);

function cases(): Case[] {
  const rows = N / 4;
  const csvRow = (r: number) => `${r},${num(3 * r)},${num(3 * r + 1)},${num(3 * r + 2)}`;
  return [
    { name: "lines", text: Array.from({ length: N }, (_, i) => num(i)).join("\n"), options: {}, count: N, last: num(N - 1) },
    { name: "array", text: `const xs = [${Array.from({ length: N }, (_, i) => num(i)).join(", ")}];`, options: {}, count: N, last: num(N - 1) },
    { name: "whitespace", text: Array.from({ length: N }, (_, i) => num(i) + (i % 10 === 9 ? "\n" : " ")).join(""), options: {}, count: N, last: num(N - 1) },
    // With features a source spans the row's used cells: the three values.
    { name: "csv", text: ["time,a,b,c", ...Array.from({ length: rows }, (_, r) => csvRow(r))].join("\n"), options: { columns: "all" }, count: rows, last: csvRow(rows - 1).replace(/^\d+,/, "") },
  ];
}

/** Throws unless the result is the whole series the case was built from. */
function check(c: Case, r: ParsedSeries): void {
  if (!r.ok) throw new Error(`${c.name}: ${r.message}`);
  const s = r.sources[r.sources.length - 1];
  const ok = r.format === c.name && r.values.length === c.count && r.values[0] === Number(num(0)) && c.text.slice(s.start, s.end) === c.last;
  if (!ok) throw new Error(`${c.name}: the result is not the series (format ${r.format}, ${r.values.length} values, last source "${c.text.slice(s.start, s.end)}")`);
}

function time(c: Case): number {
  const t0 = performance.now();
  const r = parseSeries(c.text, c.options);
  const ms = performance.now() - t0;
  check(c, r);
  return ms;
}

function main() {
  const all = cases();
  const runs: Record<string, number[]> = {};
  for (const c of all) {
    runs[c.name] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const ms = time(c);
      if (i >= WARMUP) runs[c.name].push(ms);
    }
  }

  const mb = (c: Case) => c.text.length / 1e6;
  const numbers = (c: Case) => (c.name === "csv" ? c.count * 4 : c.count);
  console.log(`series parsing (parseSeries, ${N.toLocaleString("en")} numbers per shape, medians of ${RUNS})`);
  for (const c of all) {
    const m = median(runs[c.name]);
    console.log(`${`parse ${c.name}`.padEnd(18)} ${m.toFixed(1).padStart(8)} ms  ${mb(c).toFixed(1)} MB, ${(numbers(c) / 1e3 / m).toFixed(2)} M numbers/s`);
  }

  const file = path.join(ROOT, "bench", "results.json");
  const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  results.series = {
    series_parse_ms: Object.fromEntries(
      all.map((c) => [c.name, { numbers: numbers(c), values: c.count, mb: Number(mb(c).toFixed(2)), options: c.options, median: median(runs[c.name]), runs: runs[c.name] }]),
    ),
  };
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
}

try {
  main();
} catch (e) {
  console.error(`series bench failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
