/**
 * Ledger benchmarks, on PGlite (in-process) and on a PostgreSQL server cluster:
 * - runs per second: runs recorded one after another as `gantry` records them (start, heartbeat,
 *   finish), and the same with 8 runners at once on the server;
 * - the apply race: 32 contenders start an apply on one stack at the same moment; the database
 *   admits exactly one (checked every round), the others get `StackBusyError`. Time per round.
 */
import * as path from 'node:path';
import { openLedger, StackBusyError, type Ledger, type StartRunInput } from '../lib/runtime';
import { median, tempDir } from './measure';
import { check, ms, type Row } from './report';
import { pgUnavailable, startPgServer } from './pg-server';
import * as fs from 'node:fs';

const RUNS_TARGET_PER_SECOND = 200;
const CONTENDERS = 32;

export interface LedgerBackendResult {
  readonly backend: 'pglite' | 'pg';
  readonly runs: number;
  readonly runsPerSecond: number;
  readonly msPerRun: number;
  /** The server only: 8 runners recording at once. */
  readonly concurrentRunsPerSecond?: number;
  readonly raceRounds: number;
  readonly raceRoundMs: readonly number[];
  readonly raceRoundMedianMs: number;
}

export interface LedgerResult {
  readonly pglite: LedgerBackendResult;
  readonly pg?: LedgerBackendResult;
  readonly pgSkipped?: string;
}

function runInput(stack: string, i: number): StartRunInput {
  return {
    stack,
    action: 'apply',
    environment: 'bench',
    commitSha: (i.toString(16) + '0'.repeat(40)).slice(0, 40),
    ref: 'refs/heads/main',
    actor: 'bench',
    ciRunId: String(1_000_000 + i),
    ciRunAttempt: 1,
    ciRunUrl: `https://github.com/acme/platform/actions/runs/${1_000_000 + i}`,
    roleArn: 'arn:aws:iam::111111111111:role/acme-bench-apply',
    accountId: '111111111111',
    terraformVersion: '1.11.4',
    planSha256: 'a'.repeat(64),
    host: 'bench',
    pid: process.pid,
  };
}

async function recordRun(ledger: Ledger, stack: string, i: number): Promise<void> {
  const run = await ledger.startRun(runInput(stack, i));
  if (!(await ledger.heartbeat(run.id))) throw new Error(`run ${run.id} lost its heartbeat`);
  await ledger.finishRun(run.id, {
    status: 'applied',
    exitCode: 0,
    counts: { create: 3, update: 1, delete: 0, replace: 1, read: 2 },
  });
}

/** `runs` runs by `runners` runners at once, each on its own stacks; runs per second. */
async function recordRuns(ledger: Ledger, runs: number, runners: number, prefix: string): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: runners }, async (_, r) => {
      while (next < runs) {
        const i = next++;
        await recordRun(ledger, `${prefix}-${r}-${i % 10}`, i);
      }
    }),
  );
  return runs / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** One round: every contender starts an apply on `stack` at once; exactly one may win. */
async function raceRound(contenders: readonly Ledger[], stack: string, round: number): Promise<number> {
  const started = process.hrtime.bigint();
  const settled = await Promise.allSettled(
    contenders.map((l, k) => l.startRun(runInput(stack, round * 100 + k))),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  const winners = settled.filter((s) => s.status === 'fulfilled');
  const others = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  const unexpected = others.find((s) => !(s.reason instanceof StackBusyError));
  if (unexpected) throw unexpected.reason;
  if (winners.length !== 1)
    throw new Error(`apply race on ${stack}: ${winners.length} winners, expected exactly 1`);
  await contenders[0].finishRun(winners[0].value.id, { status: 'applied', exitCode: 0 });
  return elapsed;
}

async function race(contenders: readonly Ledger[], rounds: number, prefix: string): Promise<number[]> {
  await raceRound(contenders, `${prefix}-warm-up`, 0);
  const times: number[] = [];
  for (let r = 1; r <= rounds; r++) times.push(await raceRound(contenders, `${prefix}-race`, r));
  return times;
}

async function benchBackend(
  backend: 'pglite' | 'pg',
  url: string,
  runs: number,
  rounds: number,
): Promise<LedgerBackendResult> {
  const ledger = await openLedger(url, backend === 'pg' ? { maxConnections: 8 } : {});
  const extra: Ledger[] = [];
  try {
    await ledger.migrate();
    await recordRuns(ledger, Math.min(50, runs), 1, 'warm-up');
    const runsPerSecond = await recordRuns(ledger, runs, 1, 'sequential');
    let concurrentRunsPerSecond: number | undefined;
    let contenders: Ledger[];
    if (backend === 'pg') {
      concurrentRunsPerSecond = await recordRuns(ledger, runs, 8, 'concurrent');
      // A contender per connection, as 32 `gantry apply` processes would be.
      for (let k = 0; k < CONTENDERS; k++) extra.push(await openLedger(url, { maxConnections: 1 }));
      contenders = extra;
    } else {
      // PGlite is one connection in one process: the contenders share it, and PGlite serialises them.
      contenders = Array.from({ length: CONTENDERS }, () => ledger);
    }
    const raceRoundMs = await race(contenders, rounds, backend);
    return {
      backend,
      runs,
      runsPerSecond,
      msPerRun: 1000 / runsPerSecond,
      ...(concurrentRunsPerSecond !== undefined ? { concurrentRunsPerSecond } : {}),
      raceRounds: rounds,
      raceRoundMs,
      raceRoundMedianMs: median(raceRoundMs),
    };
  } finally {
    await Promise.all(extra.map((l) => l.close()));
    await ledger.close();
  }
}

export async function benchLedger(
  runs: number,
  rounds: number,
): Promise<{ result: LedgerResult; rows: Row[] }> {
  const dir = tempDir('ledger');
  try {
    const pglite = await benchBackend('pglite', `pglite:${path.join(dir, 'ledger')}`, runs, rounds);
    const rows: Row[] = [
      {
        section: 'ledger',
        name: `PGlite: ${runs} runs (start, heartbeat, finish), one after another`,
        result: `${Math.round(pglite.runsPerSecond)} runs/s (${pglite.msPerRun.toFixed(1)} ms/run)`,
      },
      {
        section: 'ledger',
        name: `PGlite: ${CONTENDERS}-contender apply race, median of ${rounds} rounds`,
        result: `${ms(pglite.raceRoundMedianMs)}/round, 1 winner each`,
      },
    ];
    const unavailable = pgUnavailable();
    if (unavailable) {
      rows.push({
        section: 'ledger',
        name: 'PostgreSQL server',
        result: `not run: ${unavailable}`,
        target: `>= ${RUNS_TARGET_PER_SECOND} runs/s`,
        status: 'SKIP',
      });
      return { result: { pglite, pgSkipped: unavailable }, rows };
    }
    const server = await startPgServer();
    try {
      const pg = await benchBackend('pg', server.url, runs, rounds);
      rows.push(
        {
          section: 'ledger',
          // One writer waits for two durable commits per run (start and finish rows), so it is
          // bound by the disk's flush latency; the server's capacity is what many CI jobs get.
          name: `PostgreSQL server: ${runs} runs, one after another (one writer)`,
          result: `${Math.round(pg.runsPerSecond)} runs/s (${pg.msPerRun.toFixed(1)} ms/run)`,
        },
        {
          section: 'ledger',
          name: `PostgreSQL server: ${runs} runs, 8 runners at once (the server's throughput)`,
          result: `${Math.round(pg.concurrentRunsPerSecond ?? 0)} runs/s`,
          target: `>= ${RUNS_TARGET_PER_SECOND} runs/s`,
          status: check((pg.concurrentRunsPerSecond ?? 0) >= RUNS_TARGET_PER_SECOND),
        },
        {
          section: 'ledger',
          name: `PostgreSQL server: ${CONTENDERS}-contender apply race, median of ${rounds} rounds`,
          result: `${ms(pg.raceRoundMedianMs)}/round, 1 winner each`,
        },
      );
      return { result: { pglite, pg }, rows };
    } finally {
      server.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
