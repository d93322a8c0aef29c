/**
 * The ledger's guarantees, run against each real database (PGlite in-process, a PostgreSQL server
 * cluster) by `ledger-pglite.test.ts` and `ledger-pg.test.ts`. The "one active apply per stack" rule
 * must be the database's: 32 concurrent claims, 200 rounds, exactly one winner each, on the server,
 * where each contender has its own connection and the claims really race. PGlite is one connection
 * that runs one statement at a time: nothing can race there, so the same contract runs small.
 */
import { claimStack } from '../../lib/runtime/apply-run';
import {
  openLedger,
  StackBusyError,
  LedgerError,
  type Ledger,
  type RunRecord,
} from '../../lib/runtime/ledger';

/** How hard the one-winner contract is pushed: the full race where claims can race (a server). */
export interface RaceSize {
  readonly contenders: number;
  readonly rounds: number;
}

export const SERVER_RACE: RaceSize = { contenders: 32, rounds: 200 };

/**
 * The contract tests. `fresh()` gives the URL of a new, empty ledger database; `shared` says whether
 * two `openLedger` calls on it reach the same data at once (false for `pglite:memory`).
 */
export function describeLedgerContract(
  name: string,
  fresh: () => Promise<string>,
  shared: boolean,
  /** A new database that outlives `close()` (PGlite in a directory). @default fresh */
  persistent: () => Promise<string> = fresh,
  /** The one-winner race. @default SERVER_RACE */
  race: RaceSize = SERVER_RACE,
): void {
  const { contenders: CONTENDERS, rounds: ROUNDS } = race;
  describe(`ledger on ${name}`, () => {
    let url: string;
    let ledger: Ledger;

    // One database for the whole block (PGlite's initdb costs seconds): each test uses its own stacks.
    beforeAll(async () => {
      url = await fresh();
      ledger = await openLedger(url);
      await ledger.migrate();
    });

    afterAll(async () => {
      await ledger.close();
    });

    test('migrations are versioned and applied once', async () => {
      expect(await ledger.migrate()).toEqual([]);
      // A second process migrating the same database finds nothing to do either (PGlite memory is per-process).
      if (shared) {
        const other = await openLedger(url);
        expect(await other.migrate()).toEqual([]);
        await other.close();
      }
    });

    test('a run row is written running, heartbeats, and closes with its counts', async () => {
      const run = await ledger.startRun({
        stack: 'dev-foundation',
        action: 'plan',
        environment: 'dev',
        commitSha: 'a'.repeat(40),
        actor: 'octocat',
        ciRunId: '42',
        ciRunAttempt: 2,
      });
      expect(run).toMatchObject({
        status: 'running',
        finishedAt: null,
        stack: 'dev-foundation',
        ciRunAttempt: 2,
      });
      expect(await ledger.heartbeat(run.id)).toBe(true);
      const done = await ledger.finishRun(run.id, {
        status: 'planned',
        exitCode: 0,
        counts: { create: 3, update: 1, delete: 0, replace: 2, read: 1 },
        planSha256: 'f'.repeat(64),
      });
      expect(done).toMatchObject({
        status: 'planned',
        exitCode: 0,
        counts: { create: 3, update: 1, delete: 0, replace: 2, read: 1 },
        planSha256: 'f'.repeat(64),
      });
      expect(done.finishedAt).not.toBeNull();
      expect(await ledger.heartbeat(run.id)).toBe(false);
      await expect(ledger.finishRun(run.id, { status: 'failed', exitCode: 1 })).rejects.toThrow(
        /is planned, not running/,
      );
    });

    test('a second active apply on a stack is refused by the database, other stacks are not', async () => {
      const first = await ledger.startRun({ stack: 'prod-services', action: 'apply', actor: 'alice' });
      const error = await ledger
        .startRun({ stack: 'prod-services', action: 'apply', actor: 'bob' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StackBusyError);
      expect((error as StackBusyError).holder?.id).toBe(first.id);
      expect((error as Error).message).toMatch(/is running .* by alice/);
      await expect(ledger.startRun({ stack: 'prod-foundation', action: 'apply' })).resolves.toMatchObject({
        status: 'running',
      });
      // Plans and drift checks never hold the stack.
      await expect(ledger.startRun({ stack: 'prod-services', action: 'plan' })).resolves.toMatchObject({
        status: 'running',
      });
      await ledger.finishRun(first.id, { status: 'applied', exitCode: 0 });
      await expect(ledger.startRun({ stack: 'prod-services', action: 'apply' })).resolves.toMatchObject({
        status: 'running',
      });
    });

    test('a lapsed apply is reaped as abandoned and blocks the stack until acknowledged', async () => {
      const run = await ledger.startRun({ stack: 'staging-services', action: 'apply', actor: 'ci' });
      const elsewhere = await ledger.startRun({ stack: 'staging-foundation', action: 'plan' });
      const reaped = await ledger.reap({ olderThanSeconds: 0, stack: 'staging-services' });
      expect(reaped.map((r) => [r.id, r.status])).toEqual([[run.id, 'abandoned']]);
      expect((await ledger.getRun(elsewhere.id))?.status).toBe('running');
      const blocked = await ledger
        .startRun({ stack: 'staging-services', action: 'apply' })
        .catch((e: unknown) => e);
      expect(blocked).toBeInstanceOf(StackBusyError);
      expect((blocked as Error).message).toContain(`gantry ledger ack ${run.id}`);
      await expect(ledger.ack(run.id, 'oncall', '')).rejects.toThrow(LedgerError);
      const acked = await ledger.ack(run.id, 'oncall', 'state checked, nothing half-applied');
      expect(acked).toMatchObject({
        acknowledgedBy: 'oncall',
        ackReason: 'state checked, nothing half-applied',
        status: 'abandoned',
      });
      await expect(ledger.ack(run.id, 'oncall', 'again')).rejects.toThrow(/already acknowledged/);
      await expect(ledger.startRun({ stack: 'staging-services', action: 'apply' })).resolves.toMatchObject({
        status: 'running',
      });
    });

    test('the next run on a stack abandons its lapsed runs', async () => {
      // Two processes one after the other on one database; the second counts every heartbeat as lapsed.
      const dir = await persistent();
      const first = await openLedger(dir);
      await first.migrate();
      const old = await first.startRun({ stack: 'dev-services', action: 'drift' });
      const other = await first.startRun({ stack: 'dev-foundation', action: 'drift' });
      await first.close();
      const strict = await openLedger(dir, { lapseSeconds: 0 });
      try {
        await strict.startRun({ stack: 'dev-services', action: 'plan' });
        expect((await strict.getRun(old.id))?.status).toBe('abandoned');
        expect((await strict.getRun(other.id))?.status).toBe('running');
      } finally {
        await strict.close();
      }
    });

    test('only abandoned runs can be acknowledged', async () => {
      const run = await ledger.startRun({ stack: 'x', action: 'apply' });
      await expect(ledger.ack(run.id, 'me', 'because')).rejects.toThrow(/is running; only abandoned runs/);
      await expect(ledger.ack('00000000-0000-4000-8000-000000000000', 'me', 'because')).rejects.toThrow(
        /does not exist/,
      );
    });

    test('1,000 runs are written and read back with nothing lost', async () => {
      const expected = new Map<string, { stack: string; create: number; status: string }>();
      const statuses = ['planned', 'applied', 'failed', 'drifted'] as const;
      const write = async (i: number) => {
        const stack = `stack-${i % 13}`;
        const run = await ledger.startRun({
          stack,
          action: 'plan',
          environment: 'thousand',
          commitSha: i.toString(16).padStart(40, '0'),
        });
        const status = statuses[i % statuses.length];
        await ledger.finishRun(run.id, {
          status,
          exitCode: status === 'failed' ? 1 : 0,
          counts: { create: i, update: i % 7, delete: i % 5, replace: i % 3, read: 1 },
        });
        expected.set(run.id, { stack, create: i, status });
      };
      // Eight writers at a time, like several CI jobs.
      for (let start = 0; start < 1000; start += 8) {
        await Promise.all(Array.from({ length: 8 }, (_, k) => write(start + k)));
      }
      const rows = await ledger.listRuns({ environment: 'thousand', limit: 5000 });
      expect(rows).toHaveLength(1000);
      const got = new Map(
        rows.map((r) => [r.id, { stack: r.stack, create: r.counts?.create, status: r.status }]),
      );
      expect(got).toEqual(expected);
      const stack3 = await ledger.listRuns({
        stack: 'stack-3',
        status: 'applied',
        environment: 'thousand',
        limit: 5000,
      });
      expect(stack3.map((r) => r.id).sort()).toEqual(
        [...expected]
          .filter(([, v]) => v.stack === 'stack-3' && v.status === 'applied')
          .map(([id]) => id)
          .sort(),
      );
    });

    test(`${CONTENDERS} concurrent applies on one stack yield exactly one winner, over ${ROUNDS} rounds`, async () => {
      // On the server each contender has its own connection; PGlite is one connection shared by
      // concurrent async callers. Either way the unique index, not the caller, picks the winner.
      const contenders: Ledger[] = !shared
        ? Array.from({ length: CONTENDERS }, () => ledger)
        : await Promise.all(Array.from({ length: CONTENDERS }, () => openLedger(url, { maxConnections: 1 })));
      try {
        const winnersPerRound: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const stack = `race-${round % 10}`;
          const results = await Promise.all(
            contenders.map((l, i) => claimStack(l, { stack, action: 'apply', actor: `runner-${i}` })),
          );
          const winners = results.filter((r): r is { ok: true; run: RunRecord } => r.ok);
          winnersPerRound.push(winners.length);
          // Close the winner so the next round on this stack starts free.
          for (const w of winners) await ledger.finishRun(w.run.id, { status: 'applied', exitCode: 0 });
        }
        expect(winnersPerRound).toEqual(Array(ROUNDS).fill(1));
        const all = async (status: 'applied' | 'refused') =>
          (
            await Promise.all(
              Array.from({ length: 10 }, (_, k) =>
                ledger.listRuns({ stack: `race-${k}`, action: 'apply', status, limit: 100000 }),
              ),
            )
          ).flat();
        const applied = await all('applied');
        const refused = await all('refused');
        expect(applied).toHaveLength(ROUNDS);
        expect(refused).toHaveLength(ROUNDS * (CONTENDERS - 1));
        expect(refused.every((r) => /another apply|is running/.test(r.errorSummary ?? ''))).toBe(true);
      } finally {
        if (shared) await Promise.all(contenders.map((l) => l.close()));
      }
    });

    test('the hash chain over every run of this block, written concurrently, verifies intact', async () => {
      const rows = await ledger.listRuns({ limit: 100000 });
      const finished = rows.filter((r) => r.status !== 'running').length;
      const acknowledged = rows.filter((r) => r.acknowledgedAt !== null).length;
      const report = await ledger.verify();
      expect(report.problems).toEqual([]);
      expect(report).toMatchObject({ intact: true, links: finished + acknowledged, unchainedBeforeChain: 0 });
      expect(report.links).toBeGreaterThan(ROUNDS * CONTENDERS);
    });
  });
}
