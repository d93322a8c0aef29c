#!/usr/bin/env node
/**
 * The `gantry` CLI: plan, apply and drift for a synthesized stack with a `terraform_runs` row for
 * every run, `show` for a plan made elsewhere, `runs` and `ledger` for operators, `workflows` for the
 * app's GitHub Actions workflows. Subcommands live in `lib/runtime/commands/`.
 */
import { runCli } from '../lib/runtime/cli';
import { RUNTIME_COMMANDS } from '../lib/runtime/commands';

// Output piped into a reader that stops early (`gantry runs | head`) ends the CLI quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

runCli(
  process.argv.slice(2),
  {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    signals: process,
  },
  RUNTIME_COMMANDS,
).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `gantry: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
