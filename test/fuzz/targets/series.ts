// Series text through the engine's reader (the parseSeries method the Gates panel calls), and now
// and then the numbers it read through a series model (gates and forecast on the co2 LSTM). A
// reading is the values with the exact characters each came from, or every problem with its line,
// or the column question: never a throw, never NaN or an infinity among the values.
import * as path from "node:path";
import { errorProblem, sentenceProblem } from "../bars";
import { ROOT } from "../engine";
import type { Rng } from "../rng";
import { hugeSeriesText, seriesText } from "../seriesText";
import { CaseLog, type EngineEnv, type EngineTarget, type Verdict } from "../target";
import { describe, EDGE_NUMBERS } from "../values";

const CO2 = path.join(ROOT, "samples", "models", "co2-lstm");

function option(rng: Rng, what: "line" | "column"): number | undefined {
  if (rng.chance(0.6)) return undefined;
  if (rng.chance(0.7)) return what === "line" ? rng.range(0, 10_000) : rng.range(0, 4);
  return rng.pick(EDGE_NUMBERS.filter((x) => !Number.isNaN(x)));
}

async function seriesCase(rng: Rng, index: number, env: EngineEnv): Promise<Verdict> {
  const { text, how } = index < 2 ? hugeSeriesText(index) : seriesText(rng);
  const lineOffset = index < 2 ? undefined : option(rng, "line");
  const column = index < 2 ? undefined : option(rng, "column");
  const log = new CaseLog(`parseSeries on ${how}${lineOffset !== undefined ? `, lineOffset ${lineOffset}` : ""}${column !== undefined ? `, column ${column}` : ""}: ${describe(text, 200)}`, env.note);
  const r = await env.engine.request("parseSeries", { text, ...(lineOffset !== undefined ? { lineOffset } : {}), ...(column !== undefined ? { column } : {}) });
  if (!r.ok) {
    log.outcome = "refused";
    const p = errorProblem(r.error);
    if (p) log.add(p.kind, p.problem);
    return log.verdict();
  }
  const p = r.result;
  if (p.ok) {
    const n = p.values.length;
    log.expect(n > 0, "an empty series read as ok");
    log.expect(p.sourceStart.length === n && p.sourceEnd.length === n, () => `${n} values but ${p.sourceStart.length} starts and ${p.sourceEnd.length} ends`);
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) {
      const v = p.values[i];
      const s = p.sourceStart[i];
      const e = p.sourceEnd[i];
      if (!Number.isFinite(v) || !(s >= 0 && s < e && e <= text.length) || (i > 0 && s < p.sourceStart[i - 1])) bad = i;
      else {
        // the characters a value came from are that number (or, for a row of features, hold it)
        const written = text.slice(s, e).trim();
        const same = (w: string) => {
          const read = Number(w.replace(/^\+/, ""));
          return read === v || Math.abs(read - v) <= 1e-12 * Math.abs(v);
        };
        if (!same(written) && !(written.match(/[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g) ?? []).some(same)) bad = i;
      }
    }
    if (bad >= 0) log.add("wrong", `value ${bad} is ${p.values[bad]} from characters [${p.sourceStart[bad]}, ${p.sourceEnd[bad]}) ${describe(text.slice(p.sourceStart[bad], p.sourceEnd[bad]))}: not finite, outside the text, out of order, or not that number`);
    log.expect(p.columnIndex === undefined || (Number.isInteger(p.columnIndex) && p.columnIndex >= 0), () => `column index ${p.columnIndex}`);
    if (bad < 0 && rng.chance(0.15)) await throughModel(rng, Array.from(p.values.subarray(0, 50_000), (x) => [x]), log, env);
    return log.verdict();
  }
  log.outcome = "refused";
  const s = sentenceProblem(p.message);
  if (s) log.add("message", s);
  if (p.needsColumn) {
    log.expect(p.columns.length >= 2 || column !== undefined, () => `asks which of ${p.columns.length} columns`);
    log.expect(p.columns.every((c) => typeof c.name === "string" && Number.isInteger(c.index)), "a column without a name or an index");
  } else {
    log.expect(p.errors.length <= 50 && Number.isInteger(p.more) && p.more >= 0, () => `${p.errors.length} errors listed and ${p.more} more`);
    for (const e of p.errors.slice(0, 5)) {
      const r2 = sentenceProblem(e.reason);
      if (r2) log.add("message", `an error's reason: ${r2}`);
      log.expect(Number.isFinite(e.line) && e.line >= 1, () => `an error on line ${e.line}`);
      log.expect(typeof e.text === "string" && e.text.length <= 81, () => `an error's text is ${e.text.length} characters`);
    }
  }
  return log.verdict();
}

/** The numbers through the co2 LSTM's gates or forecast: finite numbers in, a result or a typed error out. */
async function throughModel(rng: Rng, values: number[][], log: CaseLog, env: EngineEnv): Promise<void> {
  const forecast = rng.chance(0.5);
  const horizon = rng.pick([0, 1, 12, 100, 1000]);
  const r = forecast ? await env.engine.request("forecast", { model: CO2, values, horizon }) : await env.engine.request("gates", { model: CO2, values });
  log.input += ` -> ${forecast ? `forecast (horizon ${horizon})` : "gates"} on ${values.length} rows`;
  if (!r.ok) {
    const p = errorProblem(r.error);
    if (p) log.add(p.kind, `${forecast ? "forecast" : "gates"}: ${p.problem}`);
    return;
  }
  if (forecast && "multiStep" in r.result) {
    const f = r.result;
    log.expect(f.multiStep.length === horizon, () => `${f.multiStep.length} forecasts for a horizon of ${horizon}`);
  }
}

export const seriesTarget: EngineTarget = {
  name: "series",
  where: "engine",
  deadlineMs: 30_000,
  fixed: 2,
  run: seriesCase,
};
