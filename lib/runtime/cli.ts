/**
 * The `gantry` command line: commander with one module per subcommand (`commands/`). `runCli` runs
 * in-process against a `CliIo` (tests pass buffers; `bin/gantry.ts` passes the real process) and
 * resolves to the exit code. User mistakes and refusals print one message, never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { GantryConfigError } from '../core/errors';
import { EXIT, RuntimeError } from './errors';
import { LedgerError } from './ledger';
import type { CliIo } from './session';

export interface CliContext {
  readonly io: CliIo;
  /** Records the exit code of the command that ran. */
  setExit(code: number): void;
}

/** Adds one subcommand (or a group) to the program: `commands/<name>.ts` exports one. */
export type CommandRegistrar = (program: Command, cli: CliContext) => void;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success (drift: no changes)
  1  failure: Terraform failed, the ledger could not be written (nothing ran), bad arguments, canceled
  2  drift: changes present; ledger verify: the chain shows a deleted or edited row
  3  refused by a guard (variables, plan hash, commit, newer commit applied, approvals, stack busy or blocked;
     deploy: a blocked commit, or another deploy holds the environment)
  deploy/rollback: 0 verified or deployed (or nothing to deploy); 1 failed or rolled back (see --json "outcome");
  migrate: 1 when the task exited non-zero; verify: 1 when a check failed

Environment:
  GANTRY_LEDGER_URL   pglite:<dir> (default: PGlite in .gantry/ledger), postgres://..., or
                      rds-data://<cluster-arn>?secret=<secret-arn>&database=<db>
  GITHUB_STEP_SUMMARY when set, the plan summary (and a deploy's or rollback's outcome) is appended there as Markdown
  GANTRY_IMAGE_TAGS   plan, deploy: {"commit": "<sha>", "tags": {"<service>": "<tag>"}}, applied only at that commit;
                      apply in a deploy build: its "run": {"id": <run id>} names the GitHub run whose approvals count
  GANTRY_GITHUB_TOKEN apply in a deploy build: reads that run and its approvals (GANTRY_GITHUB_REPOSITORY)`;

export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: readonly CommandRegistrar[],
): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('gantry')
    .description('Runs Terraform for Gantry stacks and keeps the terraform_runs ledger.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    })
    .addHelpText('after', EXIT_CODES_HELP);
  const cli: CliContext = { io, setExit: (code) => (exitCode = code) };
  for (const register of commands) register(program, cli);
  // Subcommands inherit exitOverride and output settings.
  for (const sub of program.commands) {
    sub.exitOverride().configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    });
    for (const subsub of sub.commands) subsub.exitOverride();
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.failure;
    }
    if (error instanceof RuntimeError) {
      io.err(`gantry: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof GantryConfigError) {
      for (const line of error.problems) io.err(`gantry: config error: ${line}`);
      return EXIT.failure;
    }
    if (error instanceof LedgerError) {
      io.err(`gantry: ${error.message}`);
      return EXIT.failure;
    }
    throw error;
  }
}
