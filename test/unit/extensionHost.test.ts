// Extension logic with `vscode` stood in for (test/unit/vscodeMock.ts): which model is active under
// Workspace Trust, what the Models tree lists, surprisal decorations and their hover.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FakeDocument, FakeEditor, installVscodeMock, Position, Range, state, Uri } from "./vscodeMock";

installVscodeMock();
// Loaded after the stand-in is in place.
/* eslint-disable @typescript-eslint/no-require-imports */
const models = require("../../extension/models") as typeof import("../../extension/models");
const { ModelsView } = require("../../extension/modelsView") as typeof import("../../extension/modelsView");
const { SurprisalDecorations, bucketOf } = require("../../extension/surprisal") as typeof import("../../extension/surprisal");
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, "..", "..");

function reset(workspace?: string): void {
  state.settings.clear();
  state.isTrusted = true;
  state.workspaceFolders = workspace ? [{ uri: Uri.file(workspace) }] : [];
  state.visibleTextEditors = [];
}

/** A workspace with an ONNX model folder, a tfjs model, a model folder with both, and decoys. */
function workspaceWithModels(): string {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-ws-")));
  const put = (rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
    fs.writeFileSync(path.join(ws, rel), content);
  };
  const tfjs = JSON.stringify({ format: "layers-model", modelTopology: { class_name: "Sequential" }, weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: [] }] });
  put("models/gpt/config.json", "{}");
  put("models/gpt/onnx/model.onnx", "");
  put("models/lstm/model.json", tfjs);
  put("models/both/config.json", "{}");
  put("models/both/onnx/model.onnx", "");
  put("models/both/tfjs/model.json", tfjs);
  put("models/tfjs-only/config.json", "{}"); // a folder with config.json and only a tfjs/ export
  put("models/tfjs-only/tfjs/model.json", tfjs);
  put("app/config.json", '{"port": 8080}'); // not a model: no onnx/
  put("app/model.json", '{"name": "a data model"}'); // not a tfjs model
  put("node_modules/pkg/model.json", tfjs); // never searched
  return ws;
}

test("the active model: the bundled sample by default, a relative setting from the workspace, none from an untrusted workspace", () => {
  const ws = workspaceWithModels();
  try {
    reset(ws);
    assert.deepEqual(models.activeModel(ROOT), { path: models.bundledModels(ROOT)[0] });
    assert.ok(models.bundledModels(ROOT).every((p) => fs.existsSync(path.join(p, "config.json"))));
    state.settings.set("seqlens.activeModel", "models/gpt");
    assert.deepEqual(models.activeModel(ROOT), { path: path.join(ws, "models", "gpt") });
    state.isTrusted = false;
    const r = models.activeModel(ROOT);
    assert.ok("error" in r && /untrusted workspace/.test(r.error) && r.error.includes(path.join(ws, "models", "gpt")), JSON.stringify(r));
    // A model outside the workspace (a bundled sample by path) still loads when the workspace is untrusted.
    state.settings.set("seqlens.activeModel", models.bundledModels(ROOT)[1]);
    assert.deepEqual(models.activeModel(ROOT), { path: models.bundledModels(ROOT)[1] });
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test("the Models tree lists samples, ONNX and tfjs model folders in the workspace once each, and setting paths", async () => {
  const ws = workspaceWithModels();
  try {
    reset(ws);
    const extra = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-extra-")));
    state.settings.set("seqlens.models", [extra, path.join(ws, "models", "gpt")]); // the second is found in the workspace too
    const host = { get: () => assert.fail("listing models must not start the engine"), log: { info() {} } };
    const view = new ModelsView(ROOT, host as never);
    const items = await view.getChildren();
    const rel = (p: string) => (p.startsWith(ws) ? path.relative(ws, p) : p);
    assert.deepEqual(
      items.map((i) => [rel(i.modelPath), i.origin, i.description]),
      [
        [models.bundledModels(ROOT)[0], "sample", "sample"],
        [models.bundledModels(ROOT)[1], "sample", "sample"],
        // the recurrent samples (Show Gates), each with an ONNX and a tfjs copy
        ...models.recurrentSamples(ROOT).map((p) => [p, "sample", "recurrent · onnx · sample"]),
        ["models/both", "workspace", "onnx · workspace"],
        ["models/gpt", "workspace", "onnx · workspace"],
        ["models/lstm", "workspace", "recurrent · tfjs · workspace"],
        ["models/tfjs-only", "workspace", "tfjs · workspace"],
        [extra, "setting", "setting"],
      ],
    );
    assert.equal(items.filter((i) => i.iconPath && (i.iconPath as { id: string }).id === "pass-filled").length, 1, "exactly one model is marked active");
    // Untrusted: models inside the workspace are not listed (nor loaded); samples and settings are.
    state.isTrusted = false;
    const untrusted = await view.getChildren();
    assert.deepEqual(untrusted.map((i) => i.origin), ["sample", "sample", ...models.recurrentSamples(ROOT).map(() => "sample"), "setting", "setting"]);
    assert.ok(models.recurrentSamples(ROOT).some((p) => p.endsWith("co2-lstm")));
    fs.rmSync(extra, { recursive: true, force: true });
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test("surprisal: tokens are painted in buckets by bits, the hover gives the top predictions, Why's marks hold them back, an edit clears them", async () => {
  reset();
  const text = "let x = 1;\nlet y = 2;";
  const doc = new FakeDocument(Uri.file("/w/a.ts"), text);
  const editor = new FakeEditor(doc);
  state.visibleTextEditors = [editor];
  const tokens = [
    { id: 1, text: "let", start: 0, end: 3, byteStart: 0, byteEnd: 3 },
    { id: 2, text: " x", start: 3, end: 5, byteStart: 3, byteEnd: 5 },
    { id: 3, text: " =", start: 5, end: 7, byteStart: 5, byteEnd: 7 },
  ];
  const data = {
    meanBits: 5,
    tokens: [
      { bits: null, p: null, rank: null, top: [] },
      { bits: 9.5, p: 2 ** -9.5, rank: 40, top: [{ id: 7, token: " i", p: 0.2 }] },
      { bits: 0.5, p: 2 ** -0.5, rank: 1, top: [{ id: 3, token: " =", p: 2 ** -0.5 }, { id: 8, token: ":", p: 0.1 }] },
    ],
  };
  const requests: unknown[] = [];
  const host = { get: () => ({ request: (m: string, p: unknown) => (requests.push([m, p]), Promise.resolve(data)) }), log: { info() {} } };
  state.hoverProviders = [];
  const s = new SurprisalDecorations(host as never);
  const range = { uri: doc.uri.toString(), start: 4, version: 1, handle: "h1", tokens }; // the text starts at offset 4 of the document
  await s.toggle(range);
  assert.equal(state.contexts.get("seqlens.surprisalOn"), true);
  assert.deepEqual(requests, [["surprisal", { handle: "h1", topK: 5 }]]);
  // Each decoration type is one bucket; token 1 (9.5 bits) is in bucket 4 (8-12), token 2 (0.5 bits) in bucket 0.
  const painted = [...editor.decorations.values()].map((ranges) => ranges.map((r) => [doc.offsetAt(r.start), doc.offsetAt(r.end)]));
  assert.equal(bucketOf(9.5), 4);
  assert.equal(bucketOf(0.5), 0);
  assert.deepEqual(painted, [[[9, 11]], [], [], [], [[7, 9]], []]);
  const hover = state.hoverProviders[0].provideHover(doc, doc.positionAt(10)) as { contents: { value: string } };
  assert.match(hover.contents.value, /surprisal \*\*0\.50 bits\*\*/);
  assert.match(hover.contents.value, /rank \*\*1\*\*/);
  assert.match(hover.contents.value, /`·=` 70\.71% ← actual/);
  assert.equal(state.hoverProviders[0].provideHover(doc, new Position(1, 0)), undefined, "no hover outside the inspected tokens");
  // Why This Token?'s underlines on the same document: the surprisal marks and hover step aside, then come back
  s.yieldTo(doc.uri.toString());
  assert.ok([...editor.decorations.values()].every((r) => r.length === 0), "held back under the Why marks");
  assert.equal(s.held, true);
  assert.equal(state.hoverProviders[0].provideHover(doc, doc.positionAt(10)), undefined);
  s.yieldTo(Uri.file("/w/other.ts").toString());
  assert.equal(s.held, false, "marks on another document hold nothing back here");
  s.yieldTo(undefined);
  assert.deepEqual([...editor.decorations.values()].map((ranges) => ranges.map((r) => [doc.offsetAt(r.start), doc.offsetAt(r.end)])), [[[9, 11]], [], [], [], [[7, 9]], []]);
  // An edit makes the offsets stale: the decorations go.
  for (const l of state.listeners.changeDocument) l({ document: doc });
  assert.ok([...editor.decorations.values()].every((r) => r.length === 0));
  s.dispose();
});

test("Show Gates reads numbers as a series and anything else as text", () => {
  const { looksNumeric } = require("../../extension/gatesInput") as typeof import("../../extension/gatesInput"); // eslint-disable-line @typescript-eslint/no-require-imports
  assert.equal(looksNumeric('"time","value"\n1959,315.42\n1959.0833,316.31\n'), true);
  assert.equal(looksNumeric("[1, 2.5, -3e2]"), true);
  assert.equal(looksNumeric("const xs: number[] = [1, 2,\n  3, 4];"), true);
  assert.equal(looksNumeric("xs = np.array([1.0, 2.0, 3.5])"), true);
  assert.equal(looksNumeric("1 2 3\n4 5 6"), true);
  assert.equal(looksNumeric("1.5\n2.5\nNaN\n3.5\n\n4\nabc\n"), true); // mostly numbers: the bad cells get reported
  assert.equal(looksNumeric("interface Foo {\n  bar: number;\n}\n"), false);
  assert.equal(looksNumeric("let x = 1;\nlet y = 2;\n"), false);
  assert.equal(looksNumeric(""), false);
});

// ---- Show Gates: reading a selection (the real series in samples/data/timeseries, R's datasets) ----

/** A document over a string with what readGatesInput reads of it. */
class GatesDoc extends FakeDocument {
  get lineCount(): number {
    return this.text.split("\n").length;
  }
  lineAt(n: number): { text: string; range: unknown } {
    const text = this.text.split("\n")[n].replace(/\r$/, "");
    return { text, range: new Range(new Position(n, 0), new Position(n, text.length)) };
  }
}

/** Lines `from`..`to` (0-based, inclusive) of the document, whole. */
function linesRange(doc: GatesDoc, from: number, to: number): Range {
  return new Range(new Position(from, 0), new Position(to, doc.lineAt(to).text.length));
}

/** The engine's parseSeries answer, in process (as engine/service.ts shapes it). */
const parseClient = {
  request: (method: string, p: { text: string; lineOffset?: number; column?: number }) => {
    assert.equal(method, "parseSeries");
    const { parseSeries } = require("../../engine/series/parseSeries") as typeof import("../../engine/series/parseSeries"); // eslint-disable-line @typescript-eslint/no-require-imports
    const r = parseSeries(p.text, { lineOffset: p.lineOffset, column: p.column });
    if (!r.ok) return Promise.resolve(r);
    return Promise.resolve({ ok: true, values: Float64Array.from(r.values), sourceStart: Int32Array.from(r.sources, (x) => x.start), sourceEnd: Int32Array.from(r.sources, (x) => x.end), columnIndex: r.columnIndex });
  },
};

/** A stand-in for the column picker and the messages: records what was asked and said. */
function recordingUi(pick?: (items: { label: string; description: string; detail?: string; index: number }[]) => number | undefined) {
  const said = { picks: [] as { items: { label: string; description: string; detail?: string; index: number }[]; placeHolder: string }[], errors: [] as string[], problems: [] as { line: number; message: string }[] };
  const ui = {
    pickColumn: (items: { label: string; description: string; detail?: string; index: number }[], placeHolder: string) => {
      said.picks.push({ items, placeHolder });
      const i = pick?.(items);
      return Promise.resolve(i === undefined ? undefined : items.find((x) => x.index === i));
    },
    error: (m: string) => void said.errors.push(m),
    problems: (_uri: unknown, list: { line: number; message: string }[]) => void (said.problems = list),
  };
  return { ui, said };
}

const gatesInput = () => require("../../extension/gatesInput") as typeof import("../../extension/gatesInput"); // eslint-disable-line @typescript-eslint/no-require-imports
const sampleSeries = (file: string) => fs.readFileSync(path.join(ROOT, "samples", "data", "timeseries", file), "utf8");
type ReadArgs = Parameters<ReturnType<typeof gatesInput>["readGatesInput"]>;
const read = (doc: GatesDoc, range: Range, ui: ReturnType<typeof recordingUi>["ui"], options?: ReadArgs[4]) =>
  gatesInput().readGatesInput(doc as unknown as ReadArgs[0], range as unknown as ReadArgs[1], parseClient as unknown as ReadArgs[2], ui as unknown as ReadArgs[3], options);

test("Show Gates on 240 CSV rows below the header line: names from line 1, the time column known by its name, no question asked", async () => {
  const doc = new GatesDoc(Uri.file("/co2.csv"), sampleSeries("co2_mauna_loa_monthly.csv"));
  const { ui, said } = recordingUi();
  const input = await read(doc, linesRange(doc, 1, 240), ui);
  assert.ok(input && input.kind === "series");
  assert.equal(said.picks.length, 0, "one numeric column besides the time axis: nothing to ask");
  assert.equal(input.rows.length, 240);
  assert.equal(input.column, 1);
  assert.deepEqual(input.rows.slice(0, 2), [[315.42], [316.31]]);
  // Each row's characters, in the selection's text.
  const base = doc.offsetAt(input.range.start);
  assert.equal(doc.text.slice(base + input.sourceStart[0], base + input.sourceEnd[0]), "315.42");
  assert.equal(doc.text.slice(base + input.sourceStart[239], base + input.sourceEnd[239]), doc.lineAt(240).text.split(",")[1]);
  assert.equal(input.reading.rows, 240);
  assert.equal(input.reading.column, "value");
  assert.match(input.reading.reason, /^Read as a series: column "value", 240 rows \(lines 2–241\)\. Column names from the header on line 1, above the selection\. "time" is the time axis by its name, rising by 0\.083\d* a row\.$/);
});

test("the column picker names the columns from the header above the selection, with sample values, and marks the time axis", async () => {
  const doc = new GatesDoc(Uri.file("/eu.csv"), sampleSeries("eu_stock_markets_daily.csv"));
  const { ui, said } = recordingUi((items) => items.find((i) => i.label === "CAC")?.index);
  const input = await read(doc, linesRange(doc, 1, 100), ui);
  assert.equal(said.picks.length, 1);
  const { items, placeHolder } = said.picks[0];
  assert.deepEqual(items.map((i) => i.label), ["DAX", "SMI", "CAC", "FTSE", "time"]);
  assert.equal(items[0].description, 'column 2 · numeric · "1628.75", "1613.63", "1606.51", …');
  assert.equal(items[4].description, 'column 1 · numeric · "1991.49615", "1991.5", "1991.50385", …');
  assert.match(items[4].detail ?? "", /^Looks like the time axis by its name, rising by 0\.003\d* a row\.$/);
  assert.ok(items.slice(0, 4).every((i) => i.detail === undefined));
  assert.equal(placeHolder, "Which column is the series? 5 numeric columns, 100 rows (lines 2–101); names from the header on line 1.");
  assert.ok(input && input.kind === "series");
  assert.equal(input.column, 3);
  assert.equal(input.rows[0][0], 1772.8);
  assert.equal(input.reading.column, "CAC");
});

test("without any header line, a time column is known by its values: evenly rising numbers, or dates", async () => {
  // The CO2 rows with the header line gone: two numeric columns, the first rising by 1/12 a row.
  const rows = sampleSeries("co2_mauna_loa_monthly.csv").split("\n").slice(1, 61).join("\n");
  const doc = new GatesDoc(Uri.file("/co2-bare.csv"), rows);
  const { ui, said } = recordingUi();
  const input = await read(doc, linesRange(doc, 0, 59), ui);
  assert.equal(said.picks.length, 0);
  assert.ok(input && input.kind === "series");
  assert.equal(input.column, 1);
  assert.equal(input.rows.length, 60);
  assert.match(input.reading.reason, /"column 1" is the time axis by its values: they rise evenly, by 0\.083\d* a row\./);
  // ISO dates (the first months of the same series), no header.
  const dated = rows
    .split("\n")
    .slice(0, 12)
    .map((l, i) => `1959-${String(i + 1).padStart(2, "0")}-01,${l.split(",")[1]}`)
    .join("\n");
  const doc2 = new GatesDoc(Uri.file("/co2-dated.csv"), dated);
  const r2 = recordingUi();
  const input2 = await read(doc2, linesRange(doc2, 0, 11), r2.ui);
  assert.ok(input2 && input2.kind === "series");
  assert.equal(input2.column, 1);
  assert.match(input2.reading.reason, /"column 1" is the time axis: dates from 1959-01-01 to 1959-12-01\./);
  const cols = gatesInput().summarizeColumns(dated, 1)!;
  assert.equal(gatesInput().describeColumn(cols[0]), 'dates · "1959-01-01", "1959-02-01", "1959-03-01", …');
});

test("one non-numeric cell: the picker says which, and the message lists each problem once", async () => {
  // Two columns of the EU markets (lines 1-8 of the file), one cell spoiled.
  const lines = sampleSeries("eu_stock_markets_daily.csv").split("\n").slice(0, 8).map((l) => l.split(",").slice(1, 3).join(","));
  lines[4] = lines[4].replace(/^[\d.]+/, "abc");
  const doc = new GatesDoc(Uri.file("/eu2.csv"), lines.join("\n"));
  const { ui, said } = recordingUi((items) => items[0].index);
  const input = await read(doc, linesRange(doc, 0, 7), ui);
  assert.equal(input, undefined, "a bad cell: nothing runs");
  assert.deepEqual(
    said.picks[0].items.map((i) => `${i.label}: ${i.description}`),
    ['DAX: column 1 · numeric except line 5: "abc" · "1628.75", "1613.63", "1606.51", …', 'SMI: column 2 · numeric · "1678.1", "1688.5", "1678.6", …'],
  );
  assert.equal(said.errors.length, 1);
  const message = said.errors[0];
  assert.equal(message, 'SeqLens: nothing was run; 1 problem in the selection. On line 5 ("abc"): Not a number (column "DAX").');
  assert.equal(message.split("line 5").length - 1, 1, "said once");
  assert.deepEqual(said.problems, [{ line: 5, message: 'Not a number (column "DAX").' }]);
});

test("several bad numbers: the first three listed once each, the rest counted", async () => {
  const doc = new GatesDoc(Uri.file("/bad.txt"), "1.5\n2.5\nabc\n3.5\nNaN\n4\n-\n5\n1,5\n6");
  const { ui, said } = recordingUi();
  assert.equal(await read(doc, linesRange(doc, 0, 9), ui), undefined);
  assert.equal(said.errors.length, 1);
  assert.match(said.errors[0], /^SeqLens: nothing was run; 4 problems in the selection\. On line 3 \("abc"\): Not a number\. On line 5 \("NaN"\): NaN is [^.]+\. On line 7 \("-"\): "-" marks a missing value[^.]+\. 1 more in the Problems view\.$/);
  for (const l of [3, 5, 7]) assert.equal(said.errors[0].split(`line ${l} `).length - 1, 1);
  assert.deepEqual(said.problems.map((p) => p.line), [3, 5, 7, 9]);
});

test("letters, or a CSV's header line alone, are read as text with the reason, and the series reading is offered", async () => {
  const doc = new GatesDoc(Uri.file("/co2.csv"), sampleSeries("co2_mauna_loa_monthly.csv"));
  const { ui } = recordingUi();
  const header = await read(doc, linesRange(doc, 0, 0), ui);
  assert.ok(header && header.kind === "text");
  assert.equal(header.reading.reason, 'Read as text for the character model: the selection is a header line ("time", "value") with no numbers under it.');
  assert.deepEqual(header.reading.other, { kind: "series", label: "Read the table under it (lines 1–469) as a series" });
  // Asked for the other reading: the table under the header line.
  const series = await read(doc, linesRange(doc, 0, 0), ui, { as: "series" });
  assert.ok(series && series.kind === "series");
  assert.equal(series.rows.length, 468);
  assert.equal(series.range.end.line, 468);
  assert.deepEqual(series.reading.other, { kind: "text", label: "Read as text instead" });
  assert.match(series.reading.reason, /^Read as a series: column "value", 468 rows \(lines 2–469\)\. The header line \(line 1\) is names, not a row\. "time" is the time axis/);

  // Letters among the cells: text, saying where; a numeric column is there to read instead.
  const mixed = new GatesDoc(Uri.file("/mixed.csv"), "jan,315.42\nfeb,316.31\nmar,316.5\napr,317.56");
  const text = await read(mixed, linesRange(mixed, 0, 3), ui);
  assert.ok(text && text.kind === "text");
  assert.equal(text.text, mixed.text);
  assert.equal(text.reading.reason, 'Read as text for the character model: the selection has letters, not only numbers (its line 1: "jan,315.42").');
  assert.deepEqual(text.reading.other, { kind: "series", label: 'Read column "column 2" as a series' });
  const asSeries = await read(mixed, linesRange(mixed, 0, 3), ui, { as: "series" });
  assert.ok(asSeries && asSeries.kind === "series");
  assert.deepEqual(asSeries.rows, [[315.42], [316.31], [316.5], [317.56]]);
  // Code: text, and no series to offer.
  const code = new GatesDoc(Uri.file("/a.ts"), "interface Shape {\n  area(): number;\n}\n");
  const c = await read(code, linesRange(code, 0, 2), ui);
  assert.ok(c && c.kind === "text");
  assert.equal(c.reading.other, undefined);
  assert.match(c.reading.reason, /its line 1: "interface Shape \{"/);
});

test("a header line over the numbers does not make a selection text", () => {
  const { looksNumeric, headerAbove } = gatesInput();
  assert.equal(looksNumeric('"time","value"\n1959,315.42'), true);
  assert.equal(looksNumeric("time;value\n1959;315.42\n1960;316"), true);
  assert.equal(headerAbove('"time","value"', "1959,315.42\n1959.0833,316.31", 1), '"time","value"');
  assert.equal(headerAbove('"time","value"', '"time","value"\n1959,315.42', 1), undefined, "headed already");
  assert.equal(headerAbove('"time","value","x"', "1959,315.42", 1), undefined, "another width");
  assert.equal(headerAbove("1958,315", "1959,315.42", 1), undefined, "the first line is data");
  assert.equal(headerAbove('"time","value"', "1959,315.42", 0), undefined, "the selection starts on line 1");
});
