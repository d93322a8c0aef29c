/**
 * The output options `gantry show` and `gantry plan` share: which form of the summary goes to
 * stdout (console text, Markdown as posted on pull requests, or the structured JSON), and how the
 * Markdown is sized and folded. `plan` writes the Markdown form to `$GITHUB_STEP_SUMMARY` with the
 * same sizing options whatever form goes to stdout.
 */
import type { Command } from 'commander';
import { RuntimeError } from '../errors';
import { GITHUB_COMMENT_LIMIT } from '../summary-render';
import type { OutputOptions } from '../summary-output';

/** The options as commander parses them. */
export interface OutputFlags {
  readonly markdown?: boolean;
  readonly json?: boolean;
  readonly maxChars?: string;
  readonly maxAddresses?: string;
  readonly fold?: boolean;
  readonly title?: string;
}

/** Adds the output options to a command. */
export function outputOptions<T extends Command>(command: T): T {
  return command
    .option('--markdown', 'print the Markdown form (as posted on pull requests) instead of the console form')
    .option('--json', 'print the structured summary as JSON (addresses, actions, construct paths, reviews)')
    .option(
      '--max-chars <n>',
      `Markdown length limit (default ${GITHUB_COMMENT_LIMIT}, GitHub's comment limit)`,
    )
    .option(
      '--max-addresses <n>',
      'addresses listed in full before the rest are counted per construct (default: console 1000, Markdown 300)',
    )
    .option(
      '--fold',
      'Markdown: fold the summary into one <details> whose summary line has the counts and warnings',
    )
    .option('--title <text>', 'Markdown heading (default: "Terraform plan: <stack>", or "Terraform plan")');
}

function positiveInteger(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min)
    throw new RuntimeError(`${flag}: ${JSON.stringify(value)} must be an integer >= ${min}`);
  return n;
}

/** Checks the flags; a bad one is one error naming it, its value and what is allowed. */
export function resolveOutput(flags: OutputFlags): OutputOptions {
  if (flags.markdown && flags.json)
    throw new RuntimeError('--markdown and --json: choose one form of the summary');
  const maxAddresses = positiveInteger('--max-addresses', flags.maxAddresses, 0);
  return {
    format: flags.json ? 'json' : flags.markdown ? 'markdown' : 'text',
    maxChars: positiveInteger('--max-chars', flags.maxChars, 200) ?? GITHUB_COMMENT_LIMIT,
    ...(maxAddresses !== undefined ? { maxAddresses } : {}),
    fold: flags.fold === true,
    ...(flags.title !== undefined ? { title: flags.title } : {}),
  };
}
