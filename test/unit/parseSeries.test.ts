import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseNumber, parseSeries, type ParsedSeries, type ParsedSeriesErrors, type ParsedSeriesNeedsColumn, type ParsedSeriesValues } from "../../engine/series/parseSeries";
import { ROOT } from "../helpers";

const SERIES_DIR = path.join(ROOT, "samples", "data", "timeseries");
const readSample = (file: string) => fs.readFileSync(path.join(SERIES_DIR, file), "utf8");

/** The same file read the plain way: split lines, split commas, Number(). */
function splitCsv(text: string): { header: string[]; rows: number[][] } {
  const lines = text.split("\n").filter((l) => l !== "");
  return { header: lines[0].split(",").map((h) => h.replace(/"/g, "")), rows: lines.slice(1).map((l) => l.split(",").map(Number)) };
}

function values(r: ParsedSeries): ParsedSeriesValues {
  if (!r.ok) assert.fail(`expected a series, got: ${r.message}`);
  return r;
}
function errors(r: ParsedSeries): ParsedSeriesErrors {
  assert.equal(r.ok, false, "expected errors");
  if (r.ok || r.needsColumn) assert.fail(`expected errors, got ${JSON.stringify(r).slice(0, 200)}`);
  return r;
}
function needsColumn(r: ParsedSeries): ParsedSeriesNeedsColumn {
  if (r.ok || !r.needsColumn) assert.fail(`expected a column question, got ${JSON.stringify(r).slice(0, 200)}`);
  return r;
}
/** Each source spans exactly the characters of its value. */
function assertSourcesMatch(text: string, r: ParsedSeriesValues): void {
  assert.equal(r.sources.length, r.values.length);
  r.sources.forEach((s, i) => assert.equal(Number(text.slice(s.start, s.end)), r.values[i], `source ${i}: "${text.slice(s.start, s.end)}"`));
}

// ---------------------------------------------------------------------------------------------
// The real series in samples/data/timeseries

test("co2: every monthly value, in order, as the file holds them; time flagged, value chosen", () => {
  const text = readSample("co2_mauna_loa_monthly.csv");
  const plain = splitCsv(text);
  assert.deepEqual(plain.header, ["time", "value"]);
  assert.equal(plain.rows.length, 468); // 39 years x 12 months

  const r = values(parseSeries(text));
  assert.equal(r.format, "csv");
  assert.equal(r.delimiter, ",");
  assert.equal(r.hasHeader, true);
  assert.equal(r.columnName, "value");
  assert.equal(r.columnIndex, 1);
  assert.equal(r.values.length, 468);
  assert.equal(r.values[0], 315.42);
  assert.equal(r.values[467], 364.34);
  assert.deepEqual(r.values, plain.rows.map((row) => row[1]));
  assert.deepEqual(r.columns, [
    { index: 0, name: "time", numeric: true, isTime: true },
    { index: 1, name: "value", numeric: true, isTime: false },
  ]);
  assert.equal(r.timeName, "time");
  assert.equal(r.time?.[0], 1959);
  assert.equal(r.time?.[467], 1997.9167);
  assert.equal(r.features, undefined);
  // Line 1 is the header; the first value is on line 2, the last on line 469.
  assert.deepEqual(r.sources[0], { line: 2, start: text.indexOf("315.42"), end: text.indexOf("315.42") + 6 });
  assert.equal(r.sources[467].line, 469);
  assertSourcesMatch(text, r);
});

test("every single-series sample file parses to exactly its values", () => {
  const expected: Record<string, [number, number, number]> = {
    "air_passengers_monthly.csv": [144, 112, 432],
    "co2_mauna_loa_monthly.csv": [468, 315.42, 364.34],
    "nottingham_temperature_monthly.csv": [240, 40.6, 37.8],
    "sunspots_monthly.csv": [3177, 58, 37],
    "uk_lung_deaths_monthly.csv": [72, 3035, 1915],
  };
  for (const [file, [count, first, last]] of Object.entries(expected)) {
    const text = readSample(file);
    const r = values(parseSeries(text));
    assert.equal(r.values.length, count, file);
    assert.equal(r.values[0], first, file);
    assert.equal(r.values[count - 1], last, file);
    assert.deepEqual(r.values, splitCsv(text).rows.map((row) => row[1]), file);
    assert.equal(r.columns?.[0].isTime, true, file);
  }
});

test("eu_stock_markets_daily: asks for a column, lists DAX SMI CAC FTSE and flags time", () => {
  const text = readSample("eu_stock_markets_daily.csv");
  const r = needsColumn(parseSeries(text));
  assert.equal(r.format, "csv");
  assert.deepEqual(
    r.columns.map((c) => [c.name, c.numeric, c.isTime]),
    [
      ["time", true, true],
      ["DAX", true, false],
      ["SMI", true, false],
      ["CAC", true, false],
      ["FTSE", true, false],
    ],
  );
  assert.match(r.message, /4 numeric columns \(DAX, SMI, CAC, FTSE\)/);
  assert.match(r.message, /"time" looks like the time axis/);
});

test("eu_stock_markets_daily with column FTSE (by name or index) returns that column", () => {
  const text = readSample("eu_stock_markets_daily.csv");
  const plain = splitCsv(text);
  assert.deepEqual(plain.header, ["time", "DAX", "SMI", "CAC", "FTSE"]);
  const ftse = plain.rows.map((row) => row[4]);
  assert.equal(ftse.length, 1860);

  const r = values(parseSeries(text, { column: "FTSE" }));
  assert.equal(r.columnName, "FTSE");
  assert.equal(r.columnIndex, 4);
  assert.equal(r.values.length, 1860);
  assert.equal(r.values[0], 2443.6);
  assert.equal(r.values[1859], 5455);
  assert.deepEqual(r.values, ftse);
  assertSourcesMatch(text, r);
  assert.deepEqual(values(parseSeries(text, { column: 4 })).values, ftse);
  assert.deepEqual(values(parseSeries(text, { column: "4" })).values, ftse);
  assert.deepEqual(values(parseSeries(text, { column: "ftse" })).values, ftse, "names match case-insensitively");
});

test('eu_stock_markets_daily with columns: "all" returns the four markets as features, without time', () => {
  const text = readSample("eu_stock_markets_daily.csv");
  const plain = splitCsv(text);
  const r = values(parseSeries(text, { columns: "all" }));
  assert.deepEqual(r.featureNames, ["DAX", "SMI", "CAC", "FTSE"]);
  assert.equal(r.features?.length, 1860);
  assert.deepEqual(r.features?.[0], [1628.75, 1678.1, 1772.8, 2443.6]);
  assert.deepEqual(r.features, plain.rows.map((row) => row.slice(1)));
  assert.deepEqual(r.values, plain.rows.map((row) => row[1]), "values: the first feature");
  assert.deepEqual(r.time, plain.rows.map((row) => row[0]));
  // With features, a source spans the row's used cells: DAX through FTSE.
  const line2 = text.split("\n")[1];
  assert.equal(text.slice(r.sources[0].start, r.sources[0].end), line2.slice(line2.indexOf(",") + 1));
  // column + columns: "all": the column is the target, the features are all markets.
  const target = values(parseSeries(text, { columns: "all", column: "CAC" }));
  assert.deepEqual(target.values, plain.rows.map((row) => row[3]));
  assert.deepEqual(target.featureNames, ["DAX", "SMI", "CAC", "FTSE"]);
});

test("a selection inside a file: lineOffset makes lines document lines", () => {
  const text = readSample("co2_mauna_loa_monthly.csv");
  const docLines = text.split("\n");
  // Document lines 101..110 (1-based), no header: two numeric columns, so the column is named.
  const selection = docLines.slice(100, 110).join("\n");
  const r = values(parseSeries(selection, { column: 1, lineOffset: 100 }));
  assert.deepEqual(r.values, docLines.slice(100, 110).map((l) => Number(l.split(",")[1])));
  assert.deepEqual(
    r.sources.map((s) => s.line),
    [101, 102, 103, 104, 105, 106, 107, 108, 109, 110],
  );
  assertSourcesMatch(selection, r);
  const bad = errors(parseSeries(selection.replace(docLines[104], "1967.333,n/a"), { column: 1, lineOffset: 100 }));
  assert.deepEqual(bad.errors.map((e) => [e.line, e.text]), [[105, "n/a"]]);
});

// ---------------------------------------------------------------------------------------------
// Shapes

test("CSV: header, quoted fields, semicolons and tabs; column by name or index", () => {
  const quoted = '"time","value"\n1,"2.5"\n2,-3e2\n';
  const r = values(parseSeries(quoted));
  assert.deepEqual(r.values, [2.5, -300]);
  assert.equal(r.columnName, "value");
  assert.deepEqual(r.sources[0], { line: 2, start: quoted.indexOf("2.5"), end: quoted.indexOf("2.5") + 3 }, "the source is inside the quotes");
  assertSourcesMatch(quoted, r);

  const semi = "a;b;c\n1;2;3\n4;5;6";
  assert.deepEqual(needsColumn(parseSeries(semi)).columns.map((c) => c.name), ["a", "b", "c"]);
  const b = values(parseSeries(semi, { column: "b" }));
  assert.equal(b.delimiter, ";");
  assert.deepEqual(b.values, [2, 5]);
  assert.deepEqual(values(parseSeries(semi, { column: 2 })).values, [3, 6]);

  const tsv = "t\tx\n0\t1.5\n1\t2.5";
  const t = values(parseSeries(tsv));
  assert.equal(t.delimiter, "\t");
  assert.deepEqual(t.values, [1.5, 2.5]);
  assert.deepEqual(t.time, [0, 1]);

  // A quoted field may hold the separator and doubled quotes.
  const names = values(parseSeries('"a, b","say ""hi"""\n1,2\n3,4', { column: 'say "hi"' }));
  assert.deepEqual(names.values, [2, 4]);
  assert.deepEqual(names.columns?.map((c) => c.name), ["a, b", 'say "hi"']);
});

test("CSV without a header: columns are named column 1.., asked for when several", () => {
  const r = needsColumn(parseSeries("1,10\n2,20\n3,30"));
  assert.deepEqual(
    r.columns.map((c) => [c.index, c.name, c.isTime]),
    [
      [0, "column 1", false],
      [1, "column 2", false],
    ],
  );
  const v = values(parseSeries("1,10\n2,20\n3,30", { column: 1 }));
  assert.deepEqual(v.values, [10, 20, 30]);
  assert.equal(v.hasHeader, false);
  assert.equal(v.columnName, "column 2");
  // One line of separated numbers is a series in reading order.
  assert.deepEqual(values(parseSeries("1, 2.5, -3")).values, [1, 2.5, -3]);
});

test("an unknown column is asked for again with the list", () => {
  const r = needsColumn(parseSeries("a,b\n1,2", { column: "c" }));
  assert.match(r.message, /no column named "c"; the columns are a, b/);
  assert.match(needsColumn(parseSeries("a,b\n1,2", { column: 5 })).message, /no column 5/);
});

test("a time-named column that does not increase is not a time axis; dates are", () => {
  const r = needsColumn(parseSeries("year,v\n2001,1\n2000,2\n2002,3"));
  assert.deepEqual(r.columns.map((c) => c.isTime), [false, false]);
  const d = values(parseSeries("date,value\n2020-01-01,1\n2020-01-02,2\n2020-01-03,4"));
  assert.deepEqual(d.values, [1, 2, 4]);
  assert.deepEqual(d.columns?.[0], { index: 0, name: "date", numeric: false, isTime: true });
  assert.deepEqual(d.time, [Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2), Date.UTC(2020, 0, 3)]);
  // An unnamed first column (R's and pandas' row index) counts as the time axis.
  const idx = values(parseSeries(',"x"\n"1",5\n"2",6'));
  assert.deepEqual(idx.values, [5, 6]);
  assert.equal(idx.columns?.[0].isTime, true);
});

test("array literals: JSON, trailing comma, const, Python, line breaks, comments", () => {
  const json = "[1, 2.5, -3e2]";
  const j = values(parseSeries(json));
  assert.equal(j.format, "array");
  assert.deepEqual(j.values, [1, 2.5, -300]);
  assert.deepEqual(j.sources, [
    { line: 1, start: 1, end: 2 },
    { line: 1, start: 4, end: 7 },
    { line: 1, start: 9, end: 13 },
  ]);
  assert.deepEqual(values(parseSeries("[1, 2, 3,]")).values, [1, 2, 3]);

  const js = "const xs = [\n  +1,\n  .5,\n  6.,\n  1E3, // a comment\n];";
  const c = values(parseSeries(js));
  assert.deepEqual(c.values, [1, 0.5, 6, 1000]);
  assert.equal(c.columnName, "xs");
  assert.deepEqual(c.sources.map((s) => s.line), [2, 3, 4, 5]);
  assertSourcesMatch(js, c);

  const py = "\n\nxs = [\n    1.5,\n    2.5,  # comment\n    3.5,\n]\n";
  const p = values(parseSeries(py));
  assert.deepEqual(p.values, [1.5, 2.5, 3.5]);
  assert.deepEqual(p.sources.map((s) => s.line), [4, 5, 6]);
  assertSourcesMatch(py, p);

  assert.deepEqual(values(parseSeries("let ys: number[] = [4, 5];")).values, [4, 5]);
  assert.deepEqual(values(parseSeries("x = np.array([1, 2, 3], dtype=np.float32)")).values, [1, 2, 3]);
});

test("nested arrays are rows of features", () => {
  const text = "[[1, 2],\n [3, 4],\n [5, 6.5]]";
  const r = values(parseSeries(text));
  assert.deepEqual(r.features, [
    [1, 2],
    [3, 4],
    [5, 6.5],
  ]);
  assert.deepEqual(r.featureNames, ["column 1", "column 2"]);
  assert.deepEqual(r.values, [1, 3, 5]);
  assert.deepEqual(values(parseSeries(text, { column: 1 })).values, [2, 4, 6.5]);
  // A source spans the row's brackets.
  assert.deepEqual(
    r.sources.map((s) => text.slice(s.start, s.end)),
    ["[1, 2]", "[3, 4]", "[5, 6.5]"],
  );
  assert.deepEqual(r.sources.map((s) => s.line), [1, 2, 3]);
});

test("one number per line, blank lines at the ends and CRLF", () => {
  const text = "\n\n  12\r\n-0.5\r\n+3e-2\r\n\n\n";
  const r = values(parseSeries(text));
  assert.equal(r.format, "lines");
  assert.deepEqual(r.values, [12, -0.5, 0.03]);
  assert.deepEqual(r.sources.map((s) => s.line), [3, 4, 5]);
  assertSourcesMatch(text, r);
  assert.equal(r.columns, undefined);
  // A one-word first line is a header.
  const h = values(parseSeries("value\n1\n2"));
  assert.equal(h.columnName, "value");
  assert.deepEqual(h.values, [1, 2]);
});

test('whitespace-separated numbers: one series in reading order; a table only with columns: "all"', () => {
  const text = "1 2 3\n4  5\t6\n";
  const r = values(parseSeries(text));
  assert.equal(r.format, "whitespace");
  assert.deepEqual(r.values, [1, 2, 3, 4, 5, 6]);
  assert.equal(r.features, undefined);
  assertSourcesMatch(text, r);
  assert.deepEqual(r.sources.map((s) => s.line), [1, 1, 1, 2, 2, 2]);

  const all = values(parseSeries(text, { columns: "all" }));
  assert.deepEqual(all.features, [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(all.values, [1, 4]);
  assert.deepEqual(values(parseSeries(text, { column: 2 })).values, [3, 6]);

  // Unequal counts: flattened even when asked.
  const ragged = values(parseSeries("1 2\n3\n4 5", { columns: "all" }));
  assert.deepEqual(ragged.values, [1, 2, 3, 4, 5]);
  assert.deepEqual(ragged.features, [[1], [2], [3], [4], [5]]);
});

test("number grammar: integers, decimals, exponents, signs; no separators", () => {
  for (const [s, v] of [
    ["0", 0],
    ["-7", -7],
    ["+7", 7],
    ["3.25", 3.25],
    [".5", 0.5],
    ["5.", 5],
    ["1e3", 1000],
    ["-2.5E-3", -0.0025],
    ["1e+2", 100],
  ] as const)
    assert.equal(parseNumber(s), v, s);
  for (const s of ["", "+", ".", "1e", "1,234", "1_000", "0x10", "NaN", "Infinity", "1e400", " 1", "1 ", "--1", "1.2.3"]) assert.equal(parseNumber(s), undefined, s);
});

test("parseNumber agrees with Number() on random decimal strings", () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join("");
  for (let i = 0; i < 20000; i++) {
    let s = (rand() < 0.3 ? "-" : "") + digits(1 + Math.floor(rand() * 12));
    if (rand() < 0.7) s += "." + digits(Math.floor(rand() * 12));
    if (rand() < 0.3) s += "e" + (rand() < 0.5 ? "-" : "") + Math.floor(rand() * 40);
    assert.equal(parseNumber(s), Number(s), s);
  }
});

// ---------------------------------------------------------------------------------------------
// Bad input

test("a non-numeric cell in a CSV column is reported with its line", () => {
  const r = errors(parseSeries("time,value\n1,2\n2,abc\n3,4", { lineOffset: 9 }));
  assert.deepEqual(r.errors, [{ line: 12, text: "abc", reason: 'Not a number (column "value").' }]);
  assert.equal(r.more, 0);
  assert.match(r.message, /^1 problem in the selection; line 12: Not a number/);
  // A bad cell in a column not asked for is not a problem.
  assert.deepEqual(values(parseSeries("a,b\n1,x\n2,3", { column: "a" })).values, [1, 2]);
});

test("NaN, nan and Infinity are errors, not values", () => {
  const r = errors(parseSeries("1\nNaN\n2\nnan\nInfinity\n-inf\n3"));
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.text]),
    [
      [2, "NaN"],
      [4, "nan"],
      [5, "Infinity"],
      [6, "-inf"],
    ],
  );
  assert.match(r.errors[0].reason, /NaN/);
  assert.match(r.errors[2].reason, /Infinity is not a finite number/);
  const py = errors(parseSeries("xs = [\n  1.0,\n  nan,\n  float('nan'),\n]"));
  assert.deepEqual(py.errors.map((e) => [e.line, e.text]), [
    [3, "nan"],
    [4, "float('nan')"],
  ]);
  const js = errors(parseSeries("const xs = [1, NaN, Infinity];"));
  assert.deepEqual(js.errors.map((e) => e.text), ["NaN", "Infinity"]);
  const csv = errors(parseSeries("t,v\n1,NaN\n2,1"));
  assert.deepEqual(csv.errors.map((e) => [e.line, e.text]), [[2, "NaN"]]);
});

test("an empty line inside the data is an error; at the ends it is not", () => {
  const r = errors(parseSeries("\n1\n2\n\n3\n\n", { lineOffset: 20 }));
  assert.deepEqual(r.errors, [{ line: 24, text: "", reason: "An empty line inside the data; remove it, or select only the data." }]);
  const csv = errors(parseSeries("t,v\n1,2\n   \n2,3"));
  assert.deepEqual(csv.errors.map((e) => e.line), [3]);
});

test("a thousands separator in a one-per-line list is reported", () => {
  const r = errors(parseSeries("12\n1,234\n15\n7"));
  assert.deepEqual(r.errors, [{ line: 2, text: "1,234", reason: "Thousands separators are not accepted; write 1234 without the commas." }]);
  const quoted = errors(parseSeries('t,v\n1,"1,234.5"\n2,3'));
  assert.match(quoted.errors[0].reason, /^Thousands separators/);
});

test("a ragged CSV row with a missing cell is reported", () => {
  const r = errors(parseSeries("time,value\n1,2\n2\n3,4\n4,5,6"));
  assert.deepEqual(r.errors, [
    { line: 3, text: "2", reason: "This row has 1 value but the header on line 1 has 2; a cell is missing." },
    { line: 5, text: "4,5,6", reason: "This row has 3 values but the header on line 1 has 2; there is an extra cell." },
  ]);
  // An empty cell (the separator is there) is reported as empty.
  const empty = errors(parseSeries("time,value\n1,2\n2,\n3,4"));
  assert.deepEqual(empty.errors.map((e) => [e.line, e.text]), [[3, ""]]);
  // Ragged rows are reported even before a column is chosen.
  assert.deepEqual(errors(parseSeries("a,b,c\n1,2,3\n4,5")).errors.map((e) => e.line), [3]);
});

test("other bad cells: missing markers, decimal comma, percent, hex, quoted strings in arrays, broken arrays", () => {
  const r = errors(parseSeries("1\nNA\n2%\n0x1F\n1_000\n1e400\n3"));
  assert.deepEqual(r.errors.map((e) => e.line), [2, 3, 4, 5, 6]);
  assert.match(r.errors[0].reason, /missing value/);
  assert.match(r.errors[4].reason, /Too large/);
  assert.match(errors(parseSeries("a;b\n1;2,5\n2;3", { column: "b" })).errors[0].reason, /decimal comma.*2\.5/);
  assert.match(errors(parseSeries('["1", 2]')).errors[0].reason, /quoted string/);
  assert.deepEqual(errors(parseSeries("[1, 2,\n3")).errors.map((e) => e.line), [1]);
  assert.match(errors(parseSeries("[1,,2]")).errors[0].reason, /empty element/);
  assert.match(errors(parseSeries("[1 2, 3]")).errors[0].reason, /without a separator/);
  assert.match(errors(parseSeries("[[[1]]]")).errors[0].reason, /deeper than two levels/);
  assert.match(errors(parseSeries("[[1, 2], 3]")).errors[0].reason, /mixed/);
  assert.match(errors(parseSeries("[[1, 2], [3]]")).errors[0].reason, /a cell is missing/);
  assert.deepEqual(errors(parseSeries("const xs = [1, 2];\nconsole.log(xs);")).errors.map((e) => e.line), [2]);
  assert.match(errors(parseSeries("[]")).errors[0].reason, /empty/);
});

test("the error list is capped; the rest are counted", () => {
  const text = ["1", ...Array.from({ length: 120 }, (_, i) => `x${i}`)].join("\n");
  const r = errors(parseSeries(text));
  assert.equal(r.errors.length, 50);
  assert.equal(r.more, 70);
  assert.equal(r.errors[0].line, 2);
  assert.equal(r.errors[49].line, 51);
  assert.match(r.message, /^120 problems/);
  const small = errors(parseSeries(text, { maxErrors: 5 }));
  assert.equal(small.errors.length, 5);
  assert.equal(small.more, 115);
});

test("an empty selection says so", () => {
  for (const text of ["", "   ", "\n\n \t\n"]) {
    const r = errors(parseSeries(text));
    assert.deepEqual(r.errors, []);
    assert.match(r.message, /selection is empty/);
  }
});

test("results are plain JSON", () => {
  const r = parseSeries(readSample("eu_stock_markets_daily.csv"), { columns: "all" });
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

// ---------------------------------------------------------------------------------------------
// Size

test("20,000 numbers parse in each shape (one per line, an array literal, whitespace), every value and source kept", () => {
  // The timing of a million numbers per shape is in bench/seriesBench.ts.
  const n = 20_000;
  const num = (i: number) => ((i % 2000) - 1000 + i / 1e6).toFixed(4);
  const expected = Array.from({ length: n }, (_, i) => Number(num(i)));
  const build: [string, () => string][] = [
    ["lines", () => Array.from({ length: n }, (_, i) => num(i)).join("\n")],
    ["array", () => `const xs = [${Array.from({ length: n }, (_, i) => num(i)).join(", ")}];`],
    ["whitespace", () => Array.from({ length: n }, (_, i) => num(i) + (i % 10 === 9 ? "\n" : " ")).join("")],
  ];
  for (const [format, make] of build) {
    const text = make();
    const r = values(parseSeries(text));
    assert.equal(r.format, format);
    assert.equal(r.values.length, n);
    assert.equal(r.values[0], Number(num(0)));
    assert.equal(r.values[n - 1], Number(num(n - 1)));
    assert.deepEqual(r.values, expected, format);
    const s = r.sources[n - 1];
    assert.equal(text.slice(s.start, s.end), num(n - 1));
    assertSourcesMatch(text, r);
  }
});

test("a million digits with any ending is read in one pass: a sentence for each, never a backtracking regex (fuzz seed 197668241, series case 203)", { timeout: 30_000 }, () => {
  const digits = "7".repeat(1_000_000);
  const endings: [string, RegExp | true][] = [
    ["", /Too large to be a finite number/],
    ["..5", /Not a number/],
    ["%", /Too large|percent/],
    ["x", /Not a number/],
    ["e5", /Too large/],
    ["e-999999", true],
  ];
  // a trailing comma makes it a one-row table: read, its value too large
  assert.equal(typeof parseSeries(digits + "7,", {}).ok, "boolean");
  for (const [ending, want] of endings) {
    const r = parseSeries(digits + ending, {});
    if (want === true) assert.ok(r.ok, ending);
    else {
      assert.ok(!r.ok, ending);
      assert.match((r as { message: string }).message, want, ending);
    }
  }
});
