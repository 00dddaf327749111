// Editor selections through what the extension does with them before any model runs, with `vscode`
// stood in for (test/unit/vscodeMock.ts): Show Gates' reading of a selection (extension/gatesInput.ts,
// its pure functions and readGatesInput with the engine's reader in process), and Inspect's block
// around the cursor and token under it (extension/selectionRange.ts). Selections empty, of one
// character, of ten megabytes, with lone UTF-16 surrogates, tables, code, random text.
import { checkParams } from "../../../protocol/engine";
import { EngineError } from "../../../protocol/errors";
import { parseSeries } from "../../../engine/series/parseSeries";
import { blockAround, tokenAt } from "../../../extension/selectionRange";
import { errorProblem, sentenceProblem } from "../bars";
import type { Rng } from "../rng";
import { seriesText } from "../seriesText";
import { CaseLog, type InProcessTarget, type Verdict } from "../target";
import { describe, EDGE_NUMBERS, hostileString, randomUnits } from "../values";

type GatesInputModule = typeof import("../../../extension/gatesInput");
type Mock = typeof import("../../unit/vscodeMock");
let gatesInput: GatesInputModule | undefined;
let mock: Mock | undefined;

function load(): { gi: GatesInputModule; m: Mock } {
  if (!gatesInput || !mock) {
    mock = require("../../unit/vscodeMock") as Mock; // eslint-disable-line @typescript-eslint/no-require-imports
    mock.installVscodeMock();
    gatesInput = require("../../../extension/gatesInput") as GatesInputModule; // eslint-disable-line @typescript-eslint/no-require-imports
  }
  return { gi: gatesInput, m: mock };
}

/** The selections every campaign tries first. */
const FIXED: readonly (() => { text: string; how: string })[] = [
  () => ({ text: "", how: "empty" }),
  () => ({ text: "x", how: "one character" }),
  () => ({ text: "7", how: "one digit" }),
  () => ({ text: "\ud800", how: "a lone high surrogate" }),
  () => ({ text: "a\udc00b\ud800\n1\ud83d\n2", how: "lone surrogates among text and numbers" }),
  () => ({ text: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo".repeat(Math.ceil(10e6 / 35)), how: "10 MB on one line (base64)" }),
  () => ({ text: "let x = 12; // c\n".repeat(Math.ceil(10e6 / 17)), how: "10 MB of code, many lines" }),
  () => ({ text: "1.5,2.5\n".repeat(Math.ceil(10e6 / 8)), how: "10 MB of a two-column CSV" }),
];

function selection(rng: Rng, index: number): { text: string; how: string } {
  if (index < FIXED.length) return FIXED[index]();
  return rng.weighted<() => { text: string; how: string }>([
    [5, () => seriesText(rng)],
    [2, () => ({ text: Array.from({ length: rng.size(200) }, () => rng.pick(["function f(x) {", "  return x + 1;", "}", "", "// 1, 2, 3", "const a = [1, 2, 3];", "x,y", "1,2", "# header", "time;value", hostileString(rng, 30)])).join("\n"), how: "code and numbers" })],
    [2, () => {
      const t = seriesText(rng).text;
      const at = rng.int(t.length + 1);
      return { text: t.slice(0, at) + rng.pick(["\ud800", "\udfff", "\udc00\ud800", "\u0000", "\ufeff"]) + t.slice(at), how: "a series with a bad code unit" };
    }],
    [1, () => ({ text: randomUnits(rng, rng.size(5000)), how: "random UTF-16" })],
  ])();
}

/** A document over a string, as VS Code's reads it (lines end at \n; \r before it is not part of the line). */
function fastDoc(m: Mock, text: string) {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  const lineEnd = (n: number) => (n + 1 < starts.length ? starts[n + 1] - 1 : text.length);
  const lineText = (n: number) => text.slice(starts[n], lineEnd(n)).replace(/\r$/, "");
  const offsetAt = (p: { line: number; character: number }) => Math.min(text.length, starts[Math.max(0, Math.min(p.line, starts.length - 1))] + p.character);
  return {
    uri: m.Uri.file("/fuzz/selection.txt"),
    lineCount: starts.length,
    lineAt: (n: number) => {
      if (!(n >= 0 && n < starts.length)) throw new RangeError(`Illegal value for \`line\`: ${n}`); // as VS Code's
      const t = lineText(n);
      return { text: t, range: new m.Range(new m.Position(n, 0), new m.Position(n, t.length)) };
    },
    offsetAt,
    positionAt: (o: number) => {
      const off = Math.max(0, Math.min(o, text.length));
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= off) lo = mid;
        else hi = mid - 1;
      }
      return new m.Position(lo, off - starts[lo]);
    },
    getText: (r?: { start: { line: number; character: number }; end: { line: number; character: number } }) => (r ? text.slice(offsetAt(r.start), offsetAt(r.end)) : text),
    lines: starts.length,
    lineText,
  };
}

/** The engine's parseSeries, in process, behind the engine's own check of the parameters. */
const parseClient = {
  request: (method: string, params: unknown) => {
    const p = checkParams(method as "parseSeries", params);
    const r = parseSeries(p.text, { lineOffset: p.lineOffset, column: p.column });
    if (!r.ok) return Promise.resolve(r);
    return Promise.resolve({ ok: true, values: Float64Array.from(r.values), sourceStart: Int32Array.from(r.sources, (x) => x.start), sourceEnd: Int32Array.from(r.sources, (x) => x.end), columnIndex: r.columnIndex });
  },
};

function pure(log: CaseLog, gi: GatesInputModule, text: string, rng: Rng): void {
  const call = <T>(what: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      log.add("crash", `${what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return undefined;
    }
  };
  const lines = text.split(/\r?\n/, 5000);
  call("looksNumeric", () => gi.looksNumeric(text));
  const d = call("detectDelimiter", () => gi.detectDelimiter(lines));
  log.expect(d === undefined || d === "," || d === ";" || d === "\t", () => `detectDelimiter gave ${JSON.stringify(d)}`);
  const line = lines[rng.int(lines.length)] ?? "";
  const cells = call("splitCells", () => gi.splitCells(line.slice(0, 100_000), d ?? ","));
  log.expect(cells === undefined || cells.length >= 1, "splitCells gave no cells");
  call("isHeaderLine", () => gi.isHeaderLine(line.slice(0, 100_000), d));
  call("headerAbove", () => gi.headerAbove(lines[0] ?? "", text, rng.pick([0, 1, 5, 1_000_000])));
  const cols = call("summarizeColumns", () => gi.summarizeColumns(text, rng.range(1, 100), rng.chance(0.2) ? hostileString(rng, 30) : undefined));
  for (const c of cols?.slice(0, 50) ?? []) {
    log.expect(c.rows <= 50_000 && c.bad.length <= 3 && c.samples.length <= 3 && typeof c.name === "string", () => `a column summary out of bounds: ${describe(c)}`);
    call("describeColumn", () => gi.describeColumn(c));
  }
  const reason = call("textReason", () => gi.textReason(text));
  if (reason !== undefined) {
    const s = sentenceProblem(reason);
    if (s) log.add("message", `textReason: ${s}`);
  }
  // Inspect: the block around the cursor and the token under it
  const docLines = text.split("\n", 200_000);
  const at = rng.chance(0.9) ? rng.int(docLines.length + 2) - 1 : rng.pick(EDGE_NUMBERS);
  const block = call("blockAround", () => blockAround(docLines, at));
  if (block) log.expect(Number.isInteger(block.startLine) && Number.isInteger(block.endLine) && 0 <= block.startLine && block.startLine <= block.endLine && block.endLine < docLines.length, () => `blockAround(${at}) gave ${describe(block)}`);
  const tokens: { start: number; end: number }[] = [];
  for (let o = 0; o < Math.min(text.length, 5000); ) {
    const w = rng.range(1, 6);
    tokens.push({ start: o, end: Math.min(text.length, o + w) });
    o += w;
  }
  const off = rng.chance(0.8) ? rng.int(text.length + 2) - 1 : rng.pick(EDGE_NUMBERS);
  const ti = call("tokenAt", () => tokenAt(tokens, off));
  if (ti !== undefined) log.expect(ti === -1 ? !tokens.some((t) => off >= t.start && off < t.end) : off >= tokens[ti].start && off < tokens[ti].end, () => `tokenAt(${off}) gave ${ti}`);
}

async function selectionCase(rng: Rng, index: number, note: (input: string) => void): Promise<Verdict> {
  const { gi, m } = load();
  const { text, how } = selection(rng, index);
  const log = new CaseLog(`selection: ${how}: ${describe(text, 160)}`, note);
  pure(log, gi, text, rng);

  // Show Gates on a range of a document holding the text (with lines above it now and then)
  const above = rng.chance(0.3) ? rng.pick(["time,value\n", "a;b;c\n", "# data\n\n", "x\n".repeat(rng.range(1, 5))]) : "";
  const doc = fastDoc(m, above + text);
  const first = doc.positionAt(above.length);
  const last = doc.positionAt(above.length + text.length);
  const start = rng.chance(0.8) ? first : doc.positionAt(above.length + rng.int(text.length + 1));
  const end = rng.chance(0.8) ? last : doc.positionAt(Math.max(doc.offsetAt(start), above.length + rng.int(text.length + 1)));
  const range = new m.Range(start, end);
  const said: string[] = [];
  let cancelled = false;
  const ui = {
    pickColumn: (items: { index: number }[]) => {
      log.expect(items.length > 0, "a column picker with nothing to pick");
      cancelled = rng.chance(0.2);
      return Promise.resolve(cancelled ? undefined : rng.pick(items));
    },
    error: (msg: string) => void said.push(msg),
    problems: () => {},
  };
  const options = rng.chance(0.6) ? {} : { as: rng.pick(["text", "series"] as const), ...(rng.chance(0.3) ? { column: rng.pick([0, 1, 2, 99]) } : {}) };
  log.input += `; Show Gates on ${above ? `${describe(above)} then ` : ""}the text, range ${start.line}:${start.character}-${end.line}:${end.character}, options ${describe(options)}`;
  type Args = Parameters<GatesInputModule["readGatesInput"]>;
  let input: Awaited<ReturnType<GatesInputModule["readGatesInput"]>>;
  try {
    input = await gi.readGatesInput(doc as unknown as Args[0], range as unknown as Args[1], parseClient as unknown as Args[2], ui as unknown as Args[3], options);
  } catch (e) {
    log.outcome = "refused";
    const p = e instanceof EngineError ? errorProblem(e) : { kind: "crash" as const, problem: `readGatesInput threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split("\n").slice(1, 3).join("\n")}` : String(e)}` };
    if (p) log.add(p.kind, p.problem);
    return log.verdict();
  }
  for (const msg of said) {
    log.expect(msg.startsWith("SeqLens: "), () => `a message without "SeqLens: ": ${describe(msg)}`);
    const s = sentenceProblem(msg.replace(/^SeqLens: /, ""));
    if (s) log.add("message", s);
  }
  if (!input) {
    log.outcome = "refused";
    log.expect(said.length > 0 || cancelled, "nothing was run and nothing was said");
    return log.verdict();
  }
  const reason = sentenceProblem(input.reading.reason);
  if (reason) log.add("message", `the reading's reason: ${reason}`);
  if (input.kind === "text") {
    log.expect(input.text === doc.getText(input.range), "the text read is not the range's text");
    return log.verdict();
  }
  const n = input.rows.length;
  const len = doc.getText(input.range).length;
  log.expect(n >= 1 && input.sourceStart.length === n && input.sourceEnd.length === n && input.reading.rows === n, () => `${n} rows, ${input.sourceStart.length} starts, ${input.sourceEnd.length} ends, reading says ${input.reading.rows}`);
  for (let i = 0; i < n; i++) {
    if (!input.rows[i].every(Number.isFinite) || !(input.sourceStart[i] >= 0 && input.sourceStart[i] < input.sourceEnd[i] && input.sourceEnd[i] <= len)) {
      log.add("wrong", `row ${i}: ${describe(input.rows[i])} from [${input.sourceStart[i]}, ${input.sourceEnd[i]}) of a range of ${len} characters`);
      break;
    }
  }
  return log.verdict();
}

export const selectionsTarget: InProcessTarget = {
  name: "selections",
  where: "worker",
  deadlineMs: 30_000,
  fixed: FIXED.length,
  run: selectionCase,
};
