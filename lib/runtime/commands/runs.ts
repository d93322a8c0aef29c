import { InvalidArgumentError } from 'commander';
import type { CommandRegistrar } from '../cli';
import { RUN_ACTIONS, RUN_STATUSES, type RunAction, type RunRecord, type RunStatus } from '../ledger';
import { openMigratedLedger } from '../session';

function oneOf<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(
        `${JSON.stringify(value)} is not a ${what}; allowed: ${allowed.join(', ')}`,
      );
    return value as T;
  };
}

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100000)
    throw new InvalidArgumentError(`${JSON.stringify(value)} must be an integer from 1 to 100000`);
  return n;
}

/** `2026-01-02 03:04:05` from the ledger's ISO time. */
const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '');

const changes = (r: RunRecord) =>
  r.counts ? `+${r.counts.create} ~${r.counts.update} ±${r.counts.replace} -${r.counts.delete}` : '';

/** Fixed-width table, newest first. */
export function renderRunsTable(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return 'No runs.';
  const header = ['STARTED (UTC)', 'STACK', 'ACTION', 'STATUS', 'EXIT', 'CHANGES', 'COMMIT', 'ACTOR', 'ID'];
  const rows = runs.map((r) => [
    when(r.startedAt),
    r.stack,
    r.action,
    r.status + (r.status === 'abandoned' && !r.acknowledgedAt && r.action === 'apply' ? ' (blocks)' : ''),
    r.exitCode === null ? '' : String(r.exitCode),
    changes(r),
    (r.commitSha ?? '').slice(0, 7),
    r.actor ?? '',
    r.id,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const registerRuns: CommandRegistrar = (program, cli) => {
  program
    .command('runs')
    .description('list ledger rows, newest first')
    .option('--env <name>', 'only this environment')
    .option('--stack <stack>', 'only this stack')
    .option(
      '--action <action>',
      `only this action (${RUN_ACTIONS.join(', ')})`,
      oneOf(RUN_ACTIONS, 'run action'),
    )
    .option(
      '--status <status>',
      `only this status (${RUN_STATUSES.join(', ')})`,
      oneOf(RUN_STATUSES, 'run status'),
    )
    .option('--limit <n>', 'at most this many rows', limit, 20)
    .option('--json', 'print JSON (an array of rows) instead of a table')
    .action(
      async (opts: {
        env?: string;
        stack?: string;
        action?: RunAction;
        status?: RunStatus;
        limit: number;
        json?: boolean;
      }) => {
        const ledger = await openMigratedLedger(cli.io, 'cannot list runs');
        try {
          const runs = await ledger.listRuns({
            environment: opts.env,
            stack: opts.stack,
            action: opts.action,
            status: opts.status,
            limit: opts.limit,
          });
          cli.io.out(opts.json ? JSON.stringify(runs, null, 2) : renderRunsTable(runs));
        } finally {
          await ledger.close();
        }
      },
    );
};
