import { InvalidArgumentError } from 'commander';
import type { CommandRegistrar } from '../cli';
import { EXIT, RuntimeError } from '../errors';
import { MIGRATIONS } from '../ledger';
import { openMigratedLedger } from '../session';
import { renderRunsTable } from './runs';

const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`${JSON.stringify(value)} must be a non-negative number of seconds`);
  return n;
};

export const registerLedger: CommandRegistrar = (program, cli) => {
  const ledgerCommand = program.command('ledger').description('maintain the terraform_runs ledger');
  ledgerCommand
    .command('migrate')
    .description('create or upgrade the ledger schema (every command also does this)')
    .action(async () => {
      const ledger = await openMigratedLedger(cli.io, 'no migration applied');
      await ledger.close();
      cli.io.out(`ledger: schema at version ${MIGRATIONS[MIGRATIONS.length - 1].version}`);
    });
  ledgerCommand
    .command('reap')
    .description('mark running rows whose heartbeat lapsed as abandoned')
    .option(
      '--older-than <seconds>',
      'heartbeat age that counts as lapsed (default: $GANTRY_LAPSE_SECONDS or 120)',
      seconds,
    )
    .option('--stack <stack>', 'only this stack')
    .action(async (opts: { olderThan?: number; stack?: string }) => {
      const ledger = await openMigratedLedger(cli.io, 'nothing was reaped');
      try {
        const reaped = await ledger.reap({ olderThanSeconds: opts.olderThan, stack: opts.stack });
        cli.io.out(
          reaped.length === 0
            ? 'ledger: no lapsed runs'
            : `ledger: ${reaped.length} run(s) marked abandoned\n${renderRunsTable(reaped)}`,
        );
        if (reaped.some((r) => r.action === 'apply')) {
          cli.io.err(
            'gantry: an abandoned apply blocks its stack until `gantry ledger ack <run-id> --reason "..."`',
          );
        }
      } finally {
        await ledger.close();
      }
    });
  ledgerCommand
    .command('ack')
    .argument('<run-id>', 'the abandoned run')
    .requiredOption('--reason <text>', 'why the stack is safe to apply again (recorded)')
    .option('--by <name>', 'who acknowledges (default: $GANTRY_ACTOR, $GITHUB_ACTOR or $USER)')
    .description('acknowledge an abandoned apply so its stack accepts applies again')
    .action(async (id: string, opts: { reason: string; by?: string }) => {
      if (opts.reason.trim().length < 5)
        throw new RuntimeError('--reason: say in at least 5 characters why the stack is safe again');
      const env = cli.io.env;
      const by = opts.by ?? env.GANTRY_ACTOR ?? env.GITHUB_ACTOR ?? env.USER ?? 'unknown';
      const ledger = await openMigratedLedger(cli.io, 'nothing was acknowledged');
      try {
        const run = await ledger.ack(id, by, opts.reason.trim());
        cli.io.out(`ledger: run ${run.id} (${run.action} of ${run.stack}) acknowledged by ${by}`);
        cli.setExit(EXIT.ok);
      } catch (error) {
        throw new RuntimeError((error as Error).message);
      } finally {
        await ledger.close();
      }
    });
};
