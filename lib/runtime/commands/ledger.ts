import { InvalidArgumentError } from 'commander';
import type { CommandRegistrar } from '../cli';
import { EXIT, RuntimeError } from '../errors';
import { MIGRATIONS, parseAnchor, WRITER_ROLE, WriterRoleError, type ChainReport } from '../ledger';
import { oneLine, openMigratedLedger } from '../session';
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
    .description(
      `create or upgrade the ledger schema (every command also does this), then set up the role ${WRITER_ROLE} (as the owner)`,
    )
    .option(
      '--grant-writer <login>',
      `make this login (the one CI connects as) a member of ${WRITER_ROLE}: it may write runs, never delete or rewrite a finished one`,
    )
    .action(async (opts: { grantWriter?: string }) => {
      const ledger = await openMigratedLedger(cli.io, 'no migration applied');
      try {
        cli.io.out(`ledger: schema at version ${MIGRATIONS[MIGRATIONS.length - 1].version}`);
        const report = await ledger.setUpWriterRole({ grantTo: opts.grantWriter }).catch((error: unknown) => {
          const message = error instanceof WriterRoleError ? error.message : oneLine(error);
          throw new RuntimeError(`ledger migrate: role ${WRITER_ROLE}: ${message}`);
        });
        cli.io.out(
          `ledger: role ${report.role} ${report.created ? 'created' : 'up to date'} (granted by ${report.connectedAs}):`,
        );
        for (const line of report.privileges) cli.io.out(`  ${line}`);
        if (report.grantedTo) {
          cli.io.out(
            `ledger: ${report.grantedTo} is a member of ${report.role}; connect CI as ${report.grantedTo} (GANTRY_LEDGER_URL)`,
          );
        }
      } finally {
        await ledger.close();
      }
    });
  ledgerCommand
    .command('verify')
    .description('walk the hash chain of finished runs: report deleted or edited rows (exit 2 when any)')
    .option('--json', 'print the report as JSON')
    .option(
      '--anchor <link:hash>',
      'a link recorded earlier (printed by a previous verify): it must still be in the chain, unchanged',
      (value: string) => {
        const anchor = parseAnchor(value);
        if (typeof anchor === 'string') throw new InvalidArgumentError(anchor);
        return anchor;
      },
    )
    .action(async (opts: { json?: boolean; anchor?: { link: number; hash: string } }) => {
      const ledger = await openMigratedLedger(cli.io, 'nothing was verified');
      let report: ChainReport;
      try {
        report = await ledger.verify({ anchor: opts.anchor });
      } catch (error) {
        throw new RuntimeError(`ledger verify: cannot read the chain: ${oneLine(error)}`);
      } finally {
        await ledger.close();
      }
      if (opts.json) cli.io.out(JSON.stringify(report, null, 2));
      else cli.io.out(renderChainReport(report));
      cli.setExit(report.intact ? EXIT.ok : EXIT.changes);
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
    .argument('[run-id]', 'the abandoned run (or --environment with --commit)')
    .requiredOption('--reason <text>', 'why it is safe again (recorded)')
    .option('--by <name>', 'who acknowledges (default: $GANTRY_ACTOR, $GITHUB_ACTOR or $USER)')
    .option('--environment <env>', 'with --commit: the environment where the commit is blocked')
    .option('--commit <sha>', 'unblock this rolled-back or failed commit so `gantry deploy` takes it again')
    .description(
      'acknowledge an abandoned apply or deploy so its stack or environment accepts runs again, or a blocked commit so it deploys again',
    )
    .action(
      async (
        id: string | undefined,
        opts: { reason: string; by?: string; environment?: string; commit?: string },
      ) => {
        if (opts.reason.trim().length < 5)
          throw new RuntimeError('--reason: say in at least 5 characters why it is safe again');
        const byCommit = opts.commit !== undefined || opts.environment !== undefined;
        if (byCommit === (id !== undefined) || (byCommit && (!opts.commit || !opts.environment)))
          throw new RuntimeError(
            'ledger ack: give either <run-id>, or --environment <env> with --commit <sha>',
          );
        const env = cli.io.env;
        const by = opts.by ?? env.GANTRY_ACTOR ?? env.GITHUB_ACTOR ?? env.USER ?? 'unknown';
        const ledger = await openMigratedLedger(cli.io, 'nothing was acknowledged');
        try {
          if (byCommit) {
            const rows = await ledger.ackCommit(
              opts.environment as string,
              (opts.commit as string).trim().toLowerCase(),
              by,
              opts.reason.trim(),
            );
            cli.io.out(
              `ledger: commit ${opts.commit} unblocked in ${opts.environment} by ${by} (${rows.map((r) => `${r.service} ${r.imageTag} ${r.status}`).join(', ')})`,
            );
          } else {
            const run = await ledger.ack(id as string, by, opts.reason.trim());
            cli.io.out(`ledger: run ${run.id} (${run.action} of ${run.stack}) acknowledged by ${by}`);
          }
          cli.setExit(EXIT.ok);
        } catch (error) {
          throw new RuntimeError((error as Error).message);
        } finally {
          await ledger.close();
        }
      },
    );
};

/** `verify`'s text: one line per problem, or one line saying the chain is intact and where its head is. */
export function renderChainReport(report: ChainReport): string {
  const before =
    report.unchainedBeforeChain > 0
      ? `; ${report.unchainedBeforeChain} run(s) finished before the chain began (${report.chainStartedAt ?? 'unknown'}) carry no link`
      : '';
  const head = report.head ? `head ${report.head.link}:${report.head.hash}` : 'no head';
  if (report.intact) return `ledger: chain intact: ${report.links} link(s), ${head}${before}`;
  return [
    ...report.problems.map((p) => p.message),
    `ledger: chain NOT intact: ${report.problems.length} problem(s) in ${report.links} link(s), ${head}${before}`,
  ].join('\n');
}
