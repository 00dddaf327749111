// `npm start` picks a local VS Code CLI when one is on the PATH, else the embedded code-server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { localCodeCli } from "../../scripts/start";

const ROOT = path.resolve(__dirname, "..", "..");

function fakeCode(): { dir: string; argsFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlens-fake-code-"));
  const argsFile = path.join(dir, "args.txt");
  fs.writeFileSync(path.join(dir, "code"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${argsFile}"\n`, { mode: 0o755 });
  return { dir, argsFile };
}

test("localCodeCli finds `code` on the PATH, and SEQLENS_HOST=code-server overrides it", () => {
  const { dir } = fakeCode();
  try {
    assert.equal(localCodeCli({ PATH: `/nonexistent${path.delimiter}${dir}` }), path.join(dir, "code"));
    assert.equal(localCodeCli({ PATH: dir, SEQLENS_HOST: "code-server" }), undefined);
    assert.equal(localCodeCli({ PATH: "/nonexistent" }), undefined);
    fs.chmodSync(path.join(dir, "code"), 0o644); // not executable: not a CLI
    assert.equal(localCodeCli({ PATH: dir }), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("with a local `code`, npm start opens a new window on the sample workspace with this checkout as the extension", () => {
  const { dir, argsFile } = fakeCode();
  try {
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "start.ts")], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH}`, SEQLENS_HOST: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(argsFile, "utf8").trim().split("\n"), ["--new-window", `--extensionDevelopmentPath=${ROOT}`, path.join(ROOT, "samples", "workspace")]);
    assert.match(r.stdout, /SeqLens is running in your VS Code/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
