// Builds the code corpus for the bundled tiny GPT: the lib.*.d.ts declaration files that ship
// inside the `typescript` npm package (Apache-2.0), concatenated in file-name order and split into
// a training part and a held-out part by 16 KiB blocks (every 10th block is held out).
//
//   npx tsx samples/train/corpus.ts
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";

export const BLOCK_BYTES = 16 * 1024;
export const HELDOUT_EVERY = 10;

const here = path.dirname(new URL(import.meta.url).pathname);
export const DATA_DIR = path.resolve(here, "../data/ts-lib");

export function buildCorpus(): { train: string; heldout: string; files: string[]; version: string } {
  const require = createRequire(import.meta.url);
  const tsPkg = require.resolve("typescript/package.json");
  const version = JSON.parse(fs.readFileSync(tsPkg, "utf8")).version as string;
  const libDir = path.join(path.dirname(tsPkg), "lib");
  const files = fs.readdirSync(libDir).filter((f) => /^lib\..*\.d\.ts$/.test(f)).sort();
  const text = files.map((f) => fs.readFileSync(path.join(libDir, f), "utf8")).join("\n");
  // Split on character boundaries close to 16 KiB so no UTF-8 sequence is cut.
  const train: string[] = [];
  const heldout: string[] = [];
  for (let i = 0, block = 0; i < text.length; i += BLOCK_BYTES, block++) {
    (block % HELDOUT_EVERY === HELDOUT_EVERY - 1 ? heldout : train).push(text.slice(i, i + BLOCK_BYTES));
  }
  return { train: train.join(""), heldout: heldout.join(""), files, version };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { train, heldout, files, version } = buildCorpus();
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(path.join(DATA_DIR, "train.txt"), train);
  fs.writeFileSync(path.join(DATA_DIR, "heldout.txt"), heldout);
  fs.writeFileSync(
    path.join(DATA_DIR, "files.json"),
    JSON.stringify({ typescriptVersion: version, files, blockChars: BLOCK_BYTES, heldoutEvery: HELDOUT_EVERY }, null, 2) + "\n",
  );
  console.log(`corpus: ${files.length} files from typescript@${version}; train ${Buffer.byteLength(train)} B, held-out ${Buffer.byteLength(heldout)} B`);
}
