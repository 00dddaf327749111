// The import boundaries between the sides (eslint.config.mjs) are enforced: an import across one is
// a lint error naming the rule, and the imports each side is allowed pass. Linted as text at paths
// inside each folder, with the project's own ESLint configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ESLint } from "eslint";
import { ROOT } from "../helpers";

const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, source: string): Promise<string[]> {
  const [r] = await eslint.lintText(source, { filePath: `${ROOT}/${file}` });
  return r.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

const cases: { file: string; source: string; refused: boolean }[] = [
  // webview/: protocol/ and its own code only
  { file: "webview/gates/probe.ts", source: `import { visibleWhitespace } from "../../protocol/text";\nimport "./lineChart";\nexport const a = visibleWhitespace;`, refused: false },
  { file: "webview/gates/probe.ts", source: `import { unitsAbove } from "../../engine/probes/gates/gates";\nexport const a = unitsAbove;`, refused: true },
  { file: "webview/inspector/probe.ts", source: `import { INSPECTOR } from "../../extension/inspectorPanel";\nexport const a = INSPECTOR;`, refused: true },
  { file: "webview/inspector/probe.ts", source: `import * as vscode from "vscode";\nexport const a = vscode;`, refused: true },
  { file: "webview/inspector/probe.ts", source: `import * as fs from "node:fs";\nexport const a = fs;`, refused: true },
  // extension/: protocol/, the engine client and its own code
  { file: "extension/probe.ts", source: `import { EngineClient } from "../engine/client";\nimport { EngineError } from "../protocol/errors";\nexport const a = [EngineClient, EngineError];`, refused: false },
  { file: "extension/probe.ts", source: `import { EngineService } from "../engine/service";\nexport const a = EngineService;`, refused: true },
  { file: "extension/completion/probe.ts", source: `import { tokenize } from "../../engine/tokenize/tokenizer";\nexport const a = tokenize;`, refused: true },
  { file: "extension/probe.ts", source: `import { x } from "../webview/shared/connect";\nexport const a = x;`, refused: true },
  // engine/: never vscode, extension/ or webview/
  { file: "engine/probes/probe.ts", source: `import { EngineError } from "../../protocol/errors";\nimport { attentionSlice } from "./attention";\nexport const a = [EngineError, attentionSlice];`, refused: false },
  { file: "engine/probe.ts", source: `import * as vscode from "vscode";\nexport const a = vscode;`, refused: true },
  { file: "engine/probe.ts", source: `import { activeModel } from "../extension/models";\nexport const a = activeModel;`, refused: true },
  // protocol/: owned by no side
  { file: "protocol/probe.ts", source: `import * as v from "valibot";\nimport { nonNegInt } from "./schema";\nexport const a = [v, nonNegInt];`, refused: false },
  { file: "protocol/probe.ts", source: `import { EngineService } from "../engine/service";\nexport const a = EngineService;`, refused: true },
  { file: "protocol/probe.ts", source: `import * as vscode from "vscode";\nexport const a = vscode;`, refused: true },
];

test("each side imports only what its boundary allows (no-restricted-imports)", async () => {
  for (const c of cases) {
    const messages = await restricted(c.file, c.source);
    assert.equal(messages.length > 0, c.refused, `${c.file}: ${c.source.split("\n")[0]} -> ${messages.join("; ") || "allowed"}`);
  }
});

test("the project's own sources hold the boundaries", async () => {
  const results = await eslint.lintFiles(["protocol", "engine", "extension", "webview"]);
  const crossings = results.flatMap((r) => r.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => `${r.filePath.slice(ROOT.length + 1)}:${m.line} ${m.message}`));
  assert.deepEqual(crossings, []);
});
