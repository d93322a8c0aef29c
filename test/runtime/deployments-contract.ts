/**
 * The `deployments` ledger's guarantees (migration 3), run against each real database (PGlite
 * in-process, a PostgreSQL server) by `ledger-pglite.test.ts` and `ledger-pg.test.ts`, as the CI
 * writer login: one active deploy per environment (the database's unique index), forward-only
 * status moves, no delete or rewrite, a blocked commit and its acknowledgement, and the hash chain.
 * One database per block: every test uses its own environment.
 */
import { SqlLedger } from '../../lib/runtime/ledger/sql-ledger';
import { EnvironmentBusyError, type DeploymentRecord, type Ledger } from '../../lib/runtime/ledger';
import type { SqlDriver } from '../../lib/runtime/ledger/driver';
import { denied, type SecurityBackend, type SecurityDatabase } from './ledger-security-contract';

const unique = (prefix: string) => `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);

/** A hand-written deployment row for run `runId`, as the writer would send it around the ledger. */
const insertDeployment = (driver: SqlDriver, runId: string, environment: string, status: string) =>
  denied(
    driver,
    `INSERT INTO deployments (id, run_id, environment, service, image_tag, status)
     VALUES (gen_random_uuid(), CAST($1 AS uuid), $2, 'x', 't', $3)`,
    [runId, environment, status],
  );

/**
 * A deploy of `services` (name -> tag, or [tag, digest] for a row that recorded its image's digest) that ends
 * with every row at `end` (`deployed`: and final, as for a service without a check).
 */
export async function recordDeploy(
  ledger: Ledger,
  environment: string,
  commitSha: string,
  services: Readonly<Record<string, string | readonly [string, string | null]>>,
  end: 'verified' | 'deployed' | 'rolled_back' | 'failed',
): Promise<DeploymentRecord[]> {
  const { run, deployments } = await ledger.startDeploy({
    stack: `${environment}-services`,
    action: 'deploy',
    environment,
    commitSha,
    actor: 'octocat',
    services: Object.entries(services).map(([service, image]) =>
      typeof image === 'string'
        ? { service, imageTag: image }
        : { service, imageTag: image[0], digest: image[1] },
    ),
  });
  const out: DeploymentRecord[] = [];
  for (const d of deployments) {
    const deployed = await ledger.updateDeployment(d.id, {
      status: 'deployed',
      taskDefinition: `${d.service}:7`,
      ...(end === 'deployed' ? { final: true } : {}),
    });
    out.push(
      end === 'deployed'
        ? deployed
        : await ledger.updateDeployment(deployed.id, {
            status: end,
            reason: end === 'verified' ? null : 'verify: 503',
          }),
    );
  }
  const ok = end === 'verified' || end === 'deployed';
  await ledger.finishRun(run.id, { status: ok ? 'succeeded' : 'failed', exitCode: ok ? 0 : 1 });
  return out;
}

export function describeDeploymentsContract(name: string, backend: () => SecurityBackend): void {
  describe(`deployments ledger on ${name}`, () => {
    let db: SecurityDatabase;
    let owner: SqlLedger;
    let writerDriver: SqlDriver;
    let writer: SqlLedger;

    beforeAll(async () => {
      db = await backend().newDatabase();
      owner = new SqlLedger(db.owner);
      await owner.migrate();
      const login = unique('gantry_ci');
      await db.owner.query(`CREATE ROLE ${login} LOGIN`);
      await owner.setUpWriterRole({ grantTo: login });
      writerDriver = await db.as(login);
      writer = new SqlLedger(writerDriver);
    });
    afterAll(async () => {
      await db?.close();
    });

    test('a deploy writes a running run and a deploying row per service, which move forward and finish chained', async () => {
      const { run, deployments } = await writer.startDeploy({
        stack: 'd1-services',
        action: 'deploy',
        environment: 'd1',
        commitSha: SHA_A,
        actor: 'octocat',
        services: [
          { service: 'api', imageTag: 'sha-aaaa', previousTag: 'sha-0000' },
          { service: 'worker', imageTag: 'sha-aaaa', digest: `sha256:${'c'.repeat(64)}` },
        ],
      });
      expect(run).toMatchObject({ action: 'deploy', status: 'running', environment: 'd1' });
      expect(deployments.map((d) => [d.service, d.status, d.previousTag, d.finishedAt])).toEqual([
        ['api', 'deploying', 'sha-0000', null],
        ['worker', 'deploying', null, null],
      ]);
      const api = await writer.updateDeployment(deployments[0].id, {
        status: 'deployed',
        taskDefinition: 'api:8',
      });
      expect(api).toMatchObject({ status: 'deployed', taskDefinition: 'api:8', finishedAt: null });
      const verified = await writer.updateDeployment(api.id, { status: 'verified' });
      expect(verified.finishedAt).not.toBeNull();
      // A worker with no check ends `deployed`, closed.
      const worker = await writer.updateDeployment(deployments[1].id, { status: 'deployed', final: true });
      expect(worker.finishedAt).not.toBeNull();
      await writer.finishRun(run.id, { status: 'succeeded', exitCode: 0 });
      expect((await writer.lastGood('d1')).map((d) => [d.service, d.imageTag])).toEqual([
        ['api', 'sha-aaaa'],
        ['worker', 'sha-aaaa'],
      ]);
      await expect(writer.updateDeployment(verified.id, { status: 'rolled_back' })).rejects.toThrow(
        `deployment ${verified.id} (api) is verified and finished: a finished row is never rewritten`,
      );
      const report = await writer.verify();
      expect(report.problems).toEqual([]);
      expect(report.intact).toBe(true);
    });

    test('one active deploy per environment: of 8 concurrent deploys exactly one wins, the others are refused', async () => {
      const attempts = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          writer.startDeploy({
            stack: 'race-services',
            action: i % 2 ? 'rollback' : 'deploy',
            environment: 'race',
            commitSha: SHA_A,
            actor: `runner-${i}`,
            services: [{ service: 'api', imageTag: `t${i}` }],
          }),
        ),
      );
      const won = attempts.filter((a) => a.status === 'fulfilled');
      const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const l of lost) {
        expect(l.reason).toBeInstanceOf(EnvironmentBusyError);
        expect((l.reason as Error).message).toMatch(
          /^environment race: (deploy|rollback) .* is running .*; wait for it to finish$/,
        );
      }
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<SqlLedger['startDeploy']>>>).value;
      // The losers wrote no deployment row; the deploy's own apply of the stack is not blocked by it.
      expect(await writer.listDeployments({ environment: 'race' })).toHaveLength(1);
      const apply = await writer.startRun({ stack: 'race-services', action: 'apply', environment: 'race' });
      await writer.finishRun(apply.id, { status: 'applied', exitCode: 0 });
      // Another environment deploys meanwhile.
      await recordDeploy(writer, 'race-other', SHA_A, { api: 't' }, 'verified');
      await writer.finishRun(winner.run.id, { status: 'canceled', exitCode: 130 });
      const next = await writer.startDeploy({
        stack: 'race-services',
        action: 'deploy',
        environment: 'race',
        services: [],
      });
      await writer.finishRun(next.run.id, { status: 'succeeded', exitCode: 0 });
    });

    test('the database refuses to delete, rewrite, move backwards, or insert a deployment outside a running deploy', async () => {
      const [done] = await recordDeploy(writer, 'd3', SHA_A, { api: 'sha-1' }, 'verified');
      const { run, deployments } = await writer.startDeploy({
        stack: 'd3-services',
        action: 'deploy',
        environment: 'd3',
        services: [{ service: 'api', imageTag: 'sha-2' }],
      });
      const open = await writer.updateDeployment(deployments[0].id, { status: 'deployed' });
      const perm = '42501: permission denied for table deployments';
      expect(
        await denied(writerDriver, 'DELETE FROM deployments WHERE id = CAST($1 AS uuid)', [done.id]),
      ).toBe(perm);
      expect(await denied(writerDriver, 'TRUNCATE deployments')).toBe(perm);
      expect(
        await denied(writerDriver, "UPDATE deployments SET image_tag = 'evil' WHERE id = CAST($1 AS uuid)", [
          open.id,
        ]),
      ).toBe(perm);
      expect(
        await denied(writerDriver, 'UPDATE deployments SET chain_hash = NULL WHERE id = CAST($1 AS uuid)', [
          done.id,
        ]),
      ).toBe(perm);
      expect(
        await denied(
          writerDriver,
          "UPDATE deployments SET status = 'deploying' WHERE id = CAST($1 AS uuid)",
          [open.id],
        ),
      ).toBe(`42501: deployments: deployment ${open.id} cannot go from deployed to deploying`);
      expect(
        await denied(
          writerDriver,
          "UPDATE deployments SET status = 'rolled_back', reason = 'x' WHERE id = CAST($1 AS uuid)",
          [done.id],
        ),
      ).toBe(
        `42501: deployments: deployment ${done.id} is verified (finished): a finished row is never rewritten (attempted: reason, status)`,
      );
      expect(await insertDeployment(writerDriver, run.id, 'd3', 'verified')).toMatch(
        /^42501: deployments: deployment .* must be inserted deploying, not verified$/,
      );
      expect(await insertDeployment(writerDriver, run.id, 'prod', 'deploying')).toBe(
        `42501: deployments: run ${run.id} is not a running deploy or rollback of environment prod`,
      );
      // The owner: the trigger refuses a DELETE, a TRUNCATE and a rewrite to everyone.
      expect(await denied(db.owner, 'DELETE FROM deployments WHERE id = CAST($1 AS uuid)', [done.id])).toBe(
        `42501: deployments is append-only: deployment ${done.id} cannot be deleted`,
      );
      expect(await denied(db.owner, 'TRUNCATE deployments')).toBe(
        '42501: deployments is append-only: it cannot be truncated',
      );
      expect(
        await denied(db.owner, "UPDATE deployments SET image_tag = 'evil' WHERE id = CAST($1 AS uuid)", [
          open.id,
        ]),
      ).toBe(
        `42501: deployments: deployment ${open.id} is deployed; only its status, reason, task definition, digest and times may change (attempted: image_tag)`,
      );
      await writer.updateDeployment(open.id, { status: 'verified' });
      await writer.finishRun(run.id, { status: 'succeeded', exitCode: 0 });
      // Insert after the run finished: refused.
      expect(await insertDeployment(writerDriver, run.id, 'd3', 'deploying')).toBe(
        `42501: deployments: run ${run.id} is not a running deploy or rollback of environment d3`,
      );
    });

    test('a rolled-back commit is blocked until acknowledged once; the last good version is the one before; verify sees an edited row', async () => {
      const good = await recordDeploy(writer, 'd4', SHA_A, { api: 'sha-a', web: 'sha-a' }, 'verified');
      const bad = await recordDeploy(writer, 'd4', SHA_B, { api: 'sha-b', web: 'sha-b' }, 'rolled_back');
      expect((await writer.blockingDeployments('d4', SHA_B)).map((d) => d.service).sort()).toEqual([
        'api',
        'web',
      ]);
      expect(await writer.blockingDeployments('d4', SHA_A)).toEqual([]);
      expect((await writer.lastGood('d4')).map((d) => d.id)).toEqual(good.map((d) => d.id));
      expect((await writer.lastGood('d4', { runId: good[0].runId })).map((d) => d.imageTag)).toEqual([
        'sha-a',
        'sha-a',
      ]);
      expect(await writer.lastGood('d4', { beforeRunId: good[0].runId })).toEqual([]);

      await expect(writer.ackCommit('d4', SHA_B, 'octocat', ' ')).rejects.toThrow('--reason must say why');
      const acked = await writer.ackCommit('d4', SHA_B, 'octocat', 'fixed the config the rollout tripped on');
      expect(acked.map((d) => d.acknowledgedBy)).toEqual(['octocat', 'octocat']);
      expect(await writer.blockingDeployments('d4', SHA_B)).toEqual([]);
      await expect(writer.ackCommit('d4', SHA_B, 'octocat', 'again')).rejects.toThrow(
        `ledger ack: commit ${SHA_B} is not blocked in d4`,
      );
      expect(
        await denied(
          writerDriver,
          "UPDATE deployments SET ack_reason = 'rewritten' WHERE id = CAST($1 AS uuid)",
          [bad[0].id],
        ),
      ).toMatch(/a finished row is never rewritten \(attempted: ack_reason\)/);
      expect((await writer.verify()).intact).toBe(true);

      // Someone with the owner's DDL rights disables the guard and edits a verified row: verify says so.
      await db.owner.query('ALTER TABLE deployments DISABLE TRIGGER deployments_guard');
      await db.owner.query("UPDATE deployments SET image_tag = 'sha-evil' WHERE id = CAST($1 AS uuid)", [
        good[1].id,
      ]);
      await db.owner.query('ALTER TABLE deployments ENABLE TRIGGER deployments_guard');
      const report = await writer.verify();
      expect(report.intact).toBe(false);
      expect(report.problems.map((p) => [p.kind, p.runId])).toEqual([['edited', good[1].id]]);
    });
  });
}
