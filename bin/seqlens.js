#!/usr/bin/env node
// Entry point of the `seqlens` command: the bundled CLI in dist/ (built by `npm run build`).
const path = require("node:path");
const fs = require("node:fs");
const cli = path.join(__dirname, "..", "dist", "cli.js");
if (!fs.existsSync(cli)) {
  process.stderr.write("seqlens: the CLI is not built yet: run `npm run build` in the SeqLens folder\n");
  process.exit(1);
}
require(cli).run();
