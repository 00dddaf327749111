// The completion's explanation as Markdown: a token with backticks, pipes or whitespace stays in
// its own table cell as code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { installVscodeMock } from "./vscodeMock";

installVscodeMock();

test("explainMarkdown: one row per token, three cells each, code spans fenced past the token's backticks, pipes escaped", async () => {
  const { explainMarkdown } = await import("../../extension/completion/inlineCompletions");
  const tok = (text: string, p: number, alts: string[]) => ({ id: 1, text, start: 0, end: text.length, p, alternatives: alts.map((t, i) => ({ id: 2 + i, text: t, p: p / (i + 2) })) });
  const md = explainMarkdown({
    uri: "file:///a.ts",
    model: "/m/tiny-gpt",
    start: { line: 0, character: 0 } as never,
    prompt: "x",
    languageId: "typescript",
    result: { text: "a`b|c\n d", tokens: [tok("a`b", 0.5, ["``", " |"]), tok("|c\n d", 0.25, ["\t"])], generated: 2, stoppedBy: "line", promptTokens: 1, kvCache: true, device: "cpu", ms: { prompt: 0, perToken: 0, total: 0 } },
  });
  const rows = md.value.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| token"));
  assert.equal(rows.length, 2);
  for (const r of rows) assert.equal(r.split(/(?<!\\)\|/).length - 2, 3, `three cells: ${r}`); // pipes not escaped delimit cells
  assert.ok(rows[0].includes("``a`b``"), rows[0]);
  assert.ok(rows[0].includes("``` `` ```"), rows[0]); // a token of two backticks: a fence of three, padded
  assert.ok(rows[1].includes("`\\|c⏎·d`"), rows[1]); // newline and space made visible, the pipe escaped
  assert.match(md.value, /\[Inspect this completion\]\(command:seqlens\.inspectCompletion\)/);
});
