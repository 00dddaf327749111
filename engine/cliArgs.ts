// What the CLI's model commands share when reading their arguments: the parsed options, how a
// command reads its text or ids, a token given on the command line (its text, or all digits, its
// id), a whole-number flag, and a token written back in a table.
import { CliUsageError } from "./cliRecurrent";

export type Opts = Map<string, string>;
export type ReadText = (opts: Opts) => { text?: string; ids?: number[] };

/** A token on the command line: all digits is an id, anything else its text. */
export function tokenOf(v: string): string | number;
export function tokenOf(v: string | undefined): string | number | undefined;
export function tokenOf(v: string | undefined): string | number | undefined {
  if (v === undefined) return undefined;
  return /^\d+$/.test(v) ? Number(v) : v;
}

/** Flag `name` as a whole number; undefined when it is absent, a usage error when it is not one. */
export function intOf(opts: Opts, name: string): number | undefined {
  const v = opts.get(name);
  if (v === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(v)) throw new CliUsageError(`${name} must be a whole number (got ${JSON.stringify(v)})`);
  return Number(v);
}

/** A token's text as a table shows it: escapes, no quotes. */
export const show = (s: string): string => JSON.stringify(s).slice(1, -1);
