import { bootstrapCommand } from '../bootstrap/bootstrap-run';
import type { CommandRegistrar } from '../cli';

export const registerBootstrap: CommandRegistrar = (program, cli) => {
  program
    .command('bootstrap')
    .argument('<name>', "environment name (e.g. dev), or the shared tooling account's name (e.g. tooling)")
    .description(
      "day zero, as an administrator: plan and apply <name>-bootstrap (state bucket, ledger database) with local state; with a ledger, migrate it and set up CI's writer login and its secret; then move every other stack's local state of <name> into the S3 backend, never over an existing remote state; for an environment sharing the tooling account's bucket (bootstrap: { shared: true }), only the move; runs are journaled locally and recorded in the ledger once it is reachable",
    )
    .option('--outdir <dir>', 'synthesized app (default: $CDKTF_OUTDIR or cdktf.out)')
    .option('--no-synth', 'never synthesize; use the synthesized app as it is')
    .option('--state-dir <dir>', "where the stacks' local state files are (default: .gantry/state)")
    .option(
      '--journal <file>',
      'journal of the runs made before the ledger exists (default: $GANTRY_JOURNAL or .gantry/journal.jsonl)',
    )
    .option(
      '--rotate-writer',
      "give the ledger's writer login a new password in its secret, even when it has one (whatever uses the old one stops working)",
    )
    .action(
      async (
        env: string,
        opts: {
          outdir?: string;
          synth?: boolean;
          stateDir?: string;
          journal?: string;
          rotateWriter?: boolean;
        },
      ) => {
        cli.setExit(await bootstrapCommand(env, opts, cli.io));
      },
    );
};
