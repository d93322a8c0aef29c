/**
 * Faults, on a PostgreSQL cluster this file starts and stops (initdb + pg_ctl): a ledger that is down
 * before a run, `kill -9` of a running apply (reap, blocked stack, ack), and SIGTERM forwarded to
 * Terraform with the row ending `canceled`. Applies run Terraform's builtin provider with a
 * local-exec `sleep`, so they stay running as long as the test needs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../../lib/runtime/ledger';
import { PgCluster, createDatabase } from '../pg-cluster';
import { describeWithTerraform } from '../terraform-harness';
import { cleanEnv } from './env';
import {
  descendants,
  exitOf,
  gantry,
  slowStackDir,
  spawnGantry,
  terraformDir,
  waitForOutput,
} from './helpers';

const COMMIT = 'fa17000000000000000000000000000000000001';

describeWithTerraform('runtime faults on a PostgreSQL cluster', () => {
  let cluster: PgCluster;
  let ledgerUrl: string;

  beforeAll(async () => {
    cluster = await PgCluster.start();
    ledgerUrl = await createDatabase(cluster.url);
  });

  afterAll(() => cluster?.destroy());

  const env = (extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(process.env, {
      GANTRY_LEDGER_URL: ledgerUrl,
      GANTRY_COMMIT_SHA: COMMIT,
      GANTRY_ACTOR: 'faults',
      GANTRY_HEARTBEAT_SECONDS: '1',
      ...extra,
    });

  async function rows(stack: string): Promise<RunRecord[]> {
    const result = await gantry(['runs', '--json', '--stack', stack, '--limit', '100'], env());
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  }

  test('a ledger that is down before a run makes the run refuse to start, and nothing runs', async () => {
    const dir = terraformDir({ resource: { terraform_data: { a: { input: 'x' } } } }, 'down');
    cluster.stop();
    try {
      const plan = await gantry(['plan', 'down', '--dir', dir], env());
      expect(plan.code).toBe(1);
      expect(plan.stderr).toMatch(
        /^gantry: ledger unreachable \(PostgreSQL at 127\.0\.0\.1:\d+\/gantry_test_\w+\): .*; nothing was run$/,
      );
      const apply = await gantry(['apply', 'down', '--dir', dir], env());
      expect(apply.code).toBe(1);
      expect(apply.stderr).toMatch(/ledger unreachable .*; nothing was applied$/);
    } finally {
      cluster.resume();
    }
    expect(fs.readdirSync(dir)).toEqual(['main.tf.json']);
    expect(await rows('down')).toEqual([]);
  });

  test('kill -9 of a running apply leaves a row that reap abandons and that blocks applies until acknowledged', async () => {
    const dir = slowStackDir();
    expect((await gantry(['plan', 'slow', '--dir', dir], env())).code).toBe(0);

    const child = spawnGantry(['apply', 'slow', '--dir', dir], env());
    await waitForOutput(child, /gantry-test-sleeping/);
    // The row is kept alive while Terraform runs: wait for a heartbeat after the start.
    let beating: RunRecord | undefined;
    while (!beating) {
      const [row] = await rows('slow');
      if (row.action === 'apply' && row.heartbeatAt > row.startedAt) beating = row;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(beating.status).toBe('running');
    const family = [child.pid as number, ...descendants(child.pid as number)];
    const exited = exitOf(child);
    for (const pid of family) process.kill(pid, 'SIGKILL');
    await exited;

    const [running] = await rows('slow');
    expect(running).toMatchObject({ action: 'apply', status: 'running', finishedAt: null });

    const reap = await gantry(['ledger', 'reap', '--older-than', '0'], env());
    expect(reap.code).toBe(0);
    expect(reap.stdout).toContain('1 run(s) marked abandoned');
    expect(reap.stderr).toContain('blocks its stack until `gantry ledger ack');
    const [abandoned] = await rows('slow');
    expect(abandoned).toMatchObject({ id: running.id, status: 'abandoned' });

    // A new plan is fine; an apply is refused while the abandoned apply is not acknowledged.
    fs.writeFileSync(path.join(dir, 'fast'), '');
    expect((await gantry(['plan', 'slow', '--dir', dir], env())).code).toBe(0);
    const blocked = await gantry(['apply', 'slow', '--dir', dir], env());
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toContain(`gantry ledger ack ${running.id} --reason`);
    const [refused] = await rows('slow');
    expect(refused).toMatchObject({ action: 'apply', status: 'refused', exitCode: 3 });

    const noReason = await gantry(['ledger', 'ack', running.id], env());
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    const ack = await gantry(
      ['ledger', 'ack', running.id, '--reason', 'state checked: nothing was created', '--by', 'oncall'],
      env(),
    );
    expect(ack.code).toBe(0);

    const apply = await gantry(['apply', 'slow', '--dir', dir], env());
    expect(apply.code).toBe(0);
    const [applied] = await rows('slow');
    expect(applied).toMatchObject({ action: 'apply', status: 'applied' });
    const acked = (await rows('slow')).find((r) => r.id === running.id);
    expect(acked).toMatchObject({
      status: 'abandoned',
      acknowledgedBy: 'oncall',
      ackReason: 'state checked: nothing was created',
    });
  });

  test('SIGTERM is forwarded to Terraform and the row ends canceled', async () => {
    const dir = slowStackDir('cancel');
    expect((await gantry(['plan', 'cancel', '--dir', dir], env())).code).toBe(0);
    const child = spawnGantry(['apply', 'cancel', '--dir', dir], env());
    await waitForOutput(child, /gantry-test-sleeping/);
    const exited = exitOf(child);
    process.kill(child.pid as number, 'SIGTERM');
    const { code, output } = await exited;
    expect(output).toMatch(/received SIGTERM, forwarding it to Terraform/);
    expect(code).toBe(1);
    const [row] = await rows('cancel');
    expect(row).toMatchObject({
      action: 'apply',
      status: 'canceled',
      exitCode: 1,
      errorSummary: 'apply: interrupted by SIGTERM',
    });
    // The stack is free again: a canceled apply is closed, not abandoned, and Terraform let go of the state.
    fs.writeFileSync(path.join(dir, 'fast'), '');
    expect((await gantry(['plan', 'cancel', '--dir', dir], env())).code).toBe(0);
    const again = await gantry(['apply', 'cancel', '--dir', dir], env());
    expect(again.stderr).toContain('applied; run');
    expect(again.code).toBe(0);
  });
});
