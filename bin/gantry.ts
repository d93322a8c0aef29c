/**
 * The `gantry` CLI: plan, apply and drift for a synthesized stack with a `terraform_runs` row for
 * every run, `show` for a plan made elsewhere, `runs` and `ledger` for operators. Subcommands live in
 * `lib/runtime/commands/`; to add one, append its registrar to the list below.
 */
import { runCli, type CommandRegistrar } from '../lib/runtime/cli';
import { RUNTIME_COMMANDS } from '../lib/runtime/commands';
import { registerWorkflows } from './workflows';

const commands: CommandRegistrar[] = [
  ...RUNTIME_COMMANDS,
  // one line per extra subcommand
  registerWorkflows,
];

runCli(
  process.argv.slice(2),
  {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    signals: process,
  },
  commands,
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
