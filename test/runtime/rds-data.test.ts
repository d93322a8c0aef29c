/**
 * The RDS Data API backend at the wire level: which statements are sent, with which named, typed
 * parameters, in which transaction, and how a unique violation reported by the Data API becomes
 * a busy stack; and for migration 2 (append-only trigger, hash chain), the writer role set-up and
 * `verify`: one statement per `ExecuteStatement` call (the Data API runs no multi-statement
 * strings). `aws-sdk-client-mock` stands in for the service; what the statements do is tested on
 * real databases by ledger-security-contract.ts.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
  type ExecuteStatementCommandInput,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { openLedger, LedgerError, StackBusyError } from '../../lib/runtime/ledger';
import { GENESIS_HASH, linkHash } from '../../lib/runtime/ledger/chain';
import { MIGRATIONS } from '../../lib/runtime/ledger/migrations';
import { parseRdsDataUrl, RdsDataDriver, toDataApi } from '../../lib/runtime/ledger/rds-data';
import { SqlLedger } from '../../lib/runtime/ledger/sql-ledger';

const CLUSTER = 'arn:aws:rds:eu-west-1:111111111111:cluster:gantry-ledger';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:gantry-ledger-AbCdEf';
const URL = `rds-data://${CLUSTER}?secret=${encodeURIComponent(SECRET)}&database=gantry`;

const rds = mockClient(RDSDataClient);

beforeEach(() => rds.reset());

function ledger(): SqlLedger {
  return new SqlLedger(new RdsDataDriver(parseRdsDataUrl(URL), new RDSDataClient({ region: 'eu-west-1' })));
}

const row = (over: Record<string, unknown> = {}) => ({
  id: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
  stack: 'prod-services',
  environment: 'prod',
  action: 'apply',
  status: 'running',
  started_at: '2026-01-02T03:04:05.000000Z',
  heartbeat_at: '2026-01-02T03:04:05.000000Z',
  ...over,
});

describe('RDS Data API URL', () => {
  test('names the cluster, the secret, the database and the region', () => {
    expect(parseRdsDataUrl(URL)).toEqual({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      database: 'gantry',
      region: 'eu-west-1',
    });
  });

  test('a malformed URL says what is wrong and what is expected', () => {
    expect(() => parseRdsDataUrl('rds-data://cluster?database=x')).toThrow(
      /cluster ARN "cluster" is not arn:aws:rds:<region>:<account>:cluster:<name>; secret="" is not a Secrets Manager secret ARN \(expected rds-data:\/\/<cluster-arn>\?secret=<secret-arn>&database=<db>\)/,
    );
  });

  test('openLedger picks the Data API backend for rds-data:// URLs', async () => {
    const opened = await openLedger(URL);
    expect(opened.backend).toBe('rds-data');
    await opened.close();
    await expect(openLedger('rds-data://nope')).rejects.toThrow(LedgerError);
  });
});

describe('RDS Data API statements', () => {
  test('positional parameters become named, typed Data API parameters', () => {
    expect(toDataApi('SELECT $1, $2, $3, $4, $5, $10', ['a', 7, 1.5, true, null, 'x'])).toEqual({
      sql: 'SELECT :p1, :p2, :p3, :p4, :p5, :p10',
      parameters: [
        { name: 'p1', value: { stringValue: 'a' } },
        { name: 'p2', value: { longValue: 7 } },
        { name: 'p3', value: { doubleValue: 1.5 } },
        { name: 'p4', value: { booleanValue: true } },
        { name: 'p5', value: { isNull: true } },
        { name: 'p6', value: { stringValue: 'x' } },
      ],
    });
  });

  test('startRun sends one parameterised INSERT with the target, JSON records and no literal values', async () => {
    rds.on(ExecuteStatementCommand).resolves({ formattedRecords: JSON.stringify([row()]) });
    const run = await ledger().startRun({
      stack: 'prod-services',
      action: 'apply',
      environment: 'prod',
      actor: "o'brien",
      ciRunAttempt: 2,
    });
    expect(run).toMatchObject({ id: row().id, status: 'running', stack: 'prod-services' });
    const calls = rds.commandCalls(ExecuteStatementCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input).toMatchObject({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      database: 'gantry',
      formatRecordsAs: 'JSON',
    });
    expect(input.transactionId).toBeUndefined();
    expect(input.sql).toMatch(/INSERT INTO terraform_runs/);
    expect(input.sql).not.toMatch(/\$\d/);
    expect(input.sql).not.toContain("o'brien");
    const params = Object.fromEntries((input.parameters ?? []).map((p) => [p.name, p.value]));
    expect(params.p2).toEqual({ stringValue: 'prod-services' });
    expect(params.p4).toEqual({ stringValue: 'apply' });
    expect(params.p5).toEqual({ stringValue: 'running' });
    expect(params.p8).toEqual({ stringValue: "o'brien" });
    expect(params.p10).toEqual({ longValue: 2 });
    expect(params.p11).toEqual({ isNull: true });
    expect(params.p22).toEqual({ booleanValue: false });
    expect(params.p23).toEqual({ longValue: 120 });
  });

  test('a stack held by another apply: the claim inserts nothing and the holder is read back', async () => {
    rds
      .on(ExecuteStatementCommand)
      .resolvesOnce({ formattedRecords: '[]' })
      .resolves({ formattedRecords: JSON.stringify([row({ actor: 'alice' })]) });
    const error = await ledger()
      .startRun({ stack: 'prod-services', action: 'apply' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackBusyError);
    expect((error as Error).message).toContain(
      `apply ${row().id} is running (started 2026-01-02T03:04:05.000000Z by alice`,
    );
    const [claim, holder] = rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
    expect(claim.sql).toMatch(/^WITH reaped AS \(UPDATE terraform_runs SET status = 'abandoned'/);
    expect(claim.sql).toMatch(
      /ON CONFLICT \(stack\) WHERE action = 'apply' AND \(status = 'running' OR \(status = 'abandoned' AND acknowledged_at IS NULL\)\) DO NOTHING/,
    );
    expect(holder.sql).toMatch(/FROM terraform_runs WHERE stack = :p1 AND action = 'apply'/);
    expect(holder.parameters).toEqual([{ name: 'p1', value: { stringValue: 'prod-services' } }]);
  });

  test('migrations run statement by statement inside one Data API transaction', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
    rds.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
    rds.on(ExecuteStatementCommand).resolves({ formattedRecords: '[]' });
    expect(await ledger().migrate()).toEqual([1, 2, 3]);
    expect(rds.commandCalls(BeginTransactionCommand)[0].args[0].input).toEqual({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      database: 'gantry',
    });
    const statements = rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
    expect(statements.every((s) => s.transactionId === 'tx-1')).toBe(true);
    expect(statements[0].sql).toContain('pg_advisory_xact_lock(CAST(:p1 AS bigint))');
    expect(statements.some((s) => /^CREATE TABLE terraform_runs/.test(s.sql ?? ''))).toBe(true);
    expect(
      statements.some((s) => /^CREATE UNIQUE INDEX terraform_runs_one_active_apply/.test(s.sql ?? '')),
    ).toBe(true);
    expect(statements[1]).toMatchObject({
      sql: 'SELECT to_regclass(:p1) IS NOT NULL AS present',
      parameters: [{ name: 'p1', value: { stringValue: 'schema_migrations' } }],
    });
    const inserts = statements.filter((s) => (s.sql ?? '').startsWith('INSERT INTO schema_migrations'));
    expect(inserts.map((s) => s.parameters)).toEqual([
      [
        { name: 'p1', value: { longValue: 1 } },
        { name: 'p2', value: { stringValue: 'terraform_runs' } },
      ],
      [
        { name: 'p1', value: { longValue: 2 } },
        { name: 'p2', value: { stringValue: 'append_only_and_hash_chain' } },
      ],
      [
        { name: 'p1', value: { longValue: 3 } },
        { name: 'p2', value: { stringValue: 'deployments' } },
      ],
    ]);
    expect(statements[statements.length - 1]).toBe(inserts[2]);
    expect(rds.commandCalls(CommitTransactionCommand)[0].args[0].input).toEqual({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      transactionId: 'tx-1',
    });
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(0);
  });

  test('a failing migration rolls the transaction back', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-2' });
    rds.on(ExecuteStatementCommand).rejects(new Error('permission denied for schema public'));
    rds.on(RollbackTransactionCommand).resolves({});
    await expect(ledger().migrate()).rejects.toThrow('permission denied');
    expect(rds.commandCalls(RollbackTransactionCommand)[0].args[0].input).toMatchObject({
      transactionId: 'tx-2',
    });
    expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(0);
  });

  test('listRuns filters with parameters only', async () => {
    rds.on(ExecuteStatementCommand).resolves({
      formattedRecords: JSON.stringify([
        row({
          status: 'applied',
          count_create: 2,
          count_update: 0,
          count_delete: 1,
          count_replace: 0,
          count_read: 3,
          approvers: '["bob","carol"]',
        }),
      ]),
    });
    const [run] = await ledger().listRuns({
      stack: "x'; DROP TABLE terraform_runs; --",
      status: 'applied',
      limit: 5,
    });
    expect(run).toMatchObject({
      counts: { create: 2, update: 0, delete: 1, replace: 0, read: 3 },
      approvers: ['bob', 'carol'],
    });
    const input = rds.commandCalls(ExecuteStatementCommand)[0].args[0].input;
    expect(input.sql).toMatch(/WHERE stack = :p1 AND status = :p2\s+ORDER BY seq DESC LIMIT :p3/);
    expect(input.sql).not.toContain('DROP');
    expect(input.parameters).toEqual([
      { name: 'p1', value: { stringValue: "x'; DROP TABLE terraform_runs; --" } },
      { name: 'p2', value: { stringValue: 'applied' } },
      { name: 'p3', value: { longValue: 5 } },
    ]);
  });
});

const executed = (): ExecuteStatementCommandInput[] =>
  rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
const records = (rows: readonly Record<string, unknown>[]) => ({ formattedRecords: JSON.stringify(rows) });

/** The SQL outside dollar-quoted bodies and string literals: where a `;` would end a statement. */
const topLevel = (sql: string) =>
  sql
    .replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, '')
    .replace(/'(?:[^']|'')*'/g, "''")
    .trim();

describe('migration 2 over the RDS Data API', () => {
  test('each statement is one ExecuteStatement call in the migration transaction', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-m2' });
    rds.on(CommitTransactionCommand).resolves({});
    // Version 1 is applied already: versions 2 and 3 run.
    rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
      if (/to_regclass/.test(input.sql ?? '')) return records([{ present: true }]);
      if (/^SELECT version FROM schema_migrations/.test(input.sql ?? '')) return records([{ version: 1 }]);
      return records([]);
    });
    expect(await ledger().migrate()).toEqual([2, 3]);
    const statements = executed();
    expect(statements.every((s) => s.transactionId === 'tx-m2')).toBe(true);
    const end = 3 + MIGRATIONS[1].statements.length;
    const migration = statements.slice(3, end).map((s) => s.sql ?? '');
    // Sent as written: no `$<n>` in a body that the Data API's `:p<n>` rewrite would change.
    expect(migration).toEqual([...MIGRATIONS[1].statements]);
    for (const sql of migration) expect(topLevel(sql)).not.toContain(';');
    expect(migration.map((sql) => sql.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'ALTER TABLE terraform_runs',
      'CREATE TABLE terraform_runs_chain_head',
      'INSERT INTO terraform_runs_chain_head',
      'CREATE FUNCTION terraform_runs_chain_field(v',
      'CREATE FUNCTION terraform_runs_guard()',
      'CREATE TRIGGER terraform_runs_guard',
      'CREATE FUNCTION terraform_runs_no_truncate()',
      'CREATE TRIGGER terraform_runs_no_truncate',
      'CREATE FUNCTION terraform_runs_chain_link()',
      'DO $$ BEGIN',
      'REVOKE ALL ON',
      'CREATE CONSTRAINT TRIGGER',
    ]);
    expect(migration[5]).toMatch(/BEFORE INSERT OR UPDATE OR DELETE ON terraform_runs\s+FOR EACH ROW/);
    expect(migration[7]).toMatch(/BEFORE TRUNCATE ON terraform_runs\s+FOR EACH STATEMENT/);
    expect(migration[8]).toMatch(/SECURITY DEFINER/);
    expect(migration[8]).toMatch(/FROM terraform_runs_chain_head WHERE one FOR UPDATE/);
    expect(migration[11]).toMatch(/DEFERRABLE INITIALLY DEFERRED FOR EACH ROW/);
    expect(statements[end].parameters).toEqual([
      { name: 'p1', value: { longValue: 2 } },
      { name: 'p2', value: { stringValue: 'append_only_and_hash_chain' } },
    ]);
    // Migration 3 (deployments) follows in the same transaction, statement by statement, as written.
    const third = statements.slice(end + 1, -1).map((s) => s.sql ?? '');
    expect(third).toEqual([...MIGRATIONS[2].statements]);
    for (const sql of third) expect(topLevel(sql)).not.toContain(';');
    expect(statements[statements.length - 1].parameters).toEqual([
      { name: 'p1', value: { longValue: 3 } },
      { name: 'p2', value: { stringValue: 'deployments' } },
    ]);
    expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(1);
  });

  test('a deploy is one Data API transaction: the run, held per environment, then a row per service', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-d' });
    rds.on(CommitTransactionCommand).resolves({});
    const run = row({ action: 'deploy', stack: 'prod-services' });
    rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
      if (/INSERT INTO terraform_runs/.test(input.sql ?? '')) return records([run]);
      return records([
        {
          id: '3f2504e0-4f89-41d3-9a0c-0305e82c3302',
          run_id: run.id,
          environment: 'prod',
          service: 'api',
          image_tag: 'sha-1',
          status: 'deploying',
          started_at: run.started_at,
          updated_at: run.started_at,
        },
      ]);
    });
    const started = await ledger().startDeploy({
      stack: 'prod-services',
      action: 'deploy',
      environment: 'prod',
      services: [{ service: 'api', imageTag: 'sha-1' }],
    });
    expect(started.deployments.map((d) => [d.service, d.status])).toEqual([['api', 'deploying']]);
    const [claim, insert] = executed();
    expect(claim.transactionId).toBe('tx-d');
    expect(claim.sql).toMatch(/ON CONFLICT \(environment\) WHERE action IN \('deploy', 'rollback'\)/);
    expect(insert.transactionId).toBe('tx-d');
    expect(insert.sql).toMatch(/^INSERT INTO deployments/);
    expect(insert.parameters?.[1]).toEqual({ name: 'p2', value: { stringValue: run.id } });
    expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(1);
  });

  test('a privilege error during a migration names the owner and rolls back', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-w' });
    rds.on(RollbackTransactionCommand).resolves({});
    rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
      if (/to_regclass/.test(input.sql ?? '')) return records([{ present: true }]);
      if (/^SELECT version FROM schema_migrations/.test(input.sql ?? '')) return records([{ version: 1 }]);
      if (/^ALTER TABLE/.test(input.sql ?? '')) {
        // How the Data API reports a database error: DatabaseErrorException, the SQLSTATE in the message.
        throw Object.assign(new Error('ERROR: must be owner of table terraform_runs; SQLState: 42501'), {
          name: 'DatabaseErrorException',
        });
      }
      return records([]);
    });
    await expect(ledger().migrate()).rejects.toThrow(
      "migration 2 (append_only_and_hash_chain) needs the ledger's owner: ERROR: must be owner of table terraform_runs; SQLState: 42501; " +
        'run `gantry ledger migrate` connected as the owner of terraform_runs',
    );
    expect(rds.commandCalls(RollbackTransactionCommand)[0].args[0].input).toMatchObject({
      transactionId: 'tx-w',
    });
  });
});

describe('the writer role over the RDS Data API', () => {
  test('creates the role, sets its grants in one transaction, grants it to the login and checks it', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-role' });
    rds.on(CommitTransactionCommand).resolves({});
    rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
      const sql = input.sql ?? '';
      if (sql.includes('AS can_create'))
        return records([
          { me: 'ledger_admin', owner: 'ledger_admin', owns: true, can_create: true, role_exists: false },
        ]);
      if (sql.includes('rolcanlogin')) return records([{ rolsuper: false, rolcanlogin: true, owns: false }]);
      if (sql.includes('AS del')) return records([{ del: false, trunc: false, chain: false, head: false }]);
      return records([]);
    });
    const report = await ledger().setUpWriterRole({ grantTo: 'gantry_ci' });
    expect(report).toMatchObject({ role: 'gantry_writer', created: true, grantedTo: 'gantry_ci' });
    const calls = executed();
    expect(calls.map((c) => [c.sql?.split(/\s+/).slice(0, 4).join(' '), c.transactionId ?? null])).toEqual([
      ['SELECT current_user AS me,', null],
      ['DO $$ BEGIN CREATE', null],
      ['SELECT rolsuper, rolcanlogin, pg_has_role(:p1,', null],
      ['REVOKE ALL ON terraform_runs,', 'tx-role'],
      ['GRANT SELECT ON terraform_runs,', 'tx-role'],
      ['GRANT INSERT (id, stack,', 'tx-role'],
      ['GRANT UPDATE (status, heartbeat_at,', 'tx-role'],
      ['GRANT INSERT (id, run_id,', 'tx-role'],
      ['GRANT UPDATE (status, reason,', 'tx-role'],
      ['GRANT "gantry_writer" TO "gantry_ci"', 'tx-role'],
      ["SELECT has_table_privilege(:p1, 'terraform_runs', 'DELETE')", 'tx-role'],
    ]);
    expect(calls[0].parameters).toEqual([{ name: 'p1', value: { stringValue: 'gantry_writer' } }]);
    expect(calls[1].sql).toContain('CREATE ROLE "gantry_writer" NOLOGIN');
    expect(calls[2].parameters).toEqual([{ name: 'p1', value: { stringValue: 'gantry_ci' } }]);
    expect(calls[3].sql).toBe(
      'REVOKE ALL ON terraform_runs, terraform_runs_chain_head, schema_migrations, deployments FROM "gantry_writer"',
    );
    expect(calls[6].sql).toContain('acknowledged_at, acknowledged_by, ack_reason) ON terraform_runs');
    expect(calls[6].sql).not.toMatch(/\bstack\b|chain_/);
    expect(calls[8].sql).toContain('ON deployments');
    expect(calls[8].sql).not.toMatch(/image_tag|commit_sha|chain_/);
    for (const c of calls) expect(topLevel(c.sql ?? '')).not.toContain(';');
  });

  test('connected as a user who may not create roles: nothing is granted, the error says what to run', async () => {
    rds
      .on(ExecuteStatementCommand)
      .resolves(
        records([
          { me: 'ledger_app', owner: 'ledger_app', owns: true, can_create: false, role_exists: false },
        ]),
      );
    await expect(ledger().setUpWriterRole()).rejects.toThrow(
      /^role gantry_writer does not exist and ledger_app may not create roles .*ask an administrator to run `CREATE ROLE gantry_writer NOLOGIN`/,
    );
    expect(executed()).toHaveLength(1);
    expect(rds.commandCalls(BeginTransactionCommand)).toHaveLength(0);
  });
});

describe('verify over the RDS Data API', () => {
  test('reads the head, then pages of links bounded by it, and recomputes each hash', async () => {
    const values = (i: number) => [
      `run-${i}`,
      ...Array.from({ length: 30 }, (_, k) => (k === 2 ? 'apply' : null)),
    ];
    const hashes: string[] = [];
    for (let link = 1; link <= 3; link++) {
      hashes.push(linkHash('finish', link, hashes[link - 2] ?? GENESIS_HASH, values(link)));
    }
    const linkRow = (link: number) => ({
      kind: 'finish',
      link,
      hash: hashes[link - 1],
      run_id: `run-${link}`,
      ...Object.fromEntries(values(link).map((v, i) => [`f${i}`, v])),
    });
    rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
      const sql = input.sql ?? '';
      if (sql.includes('FROM terraform_runs_chain_head'))
        return records([
          { seq: '3', hash: hashes[2], legacy_max_seq: '0', started_at: '2026-01-01T00:00:00.000000Z' },
        ]);
      if (sql.includes('FROM (')) {
        const after = Number(input.parameters?.[0].value?.longValue);
        return records(
          [1, 2, 3]
            .filter((l) => l > after)
            .slice(0, 2)
            .map(linkRow),
        );
      }
      if (sql.includes('count(*)')) return records([{ n: 0 }]);
      return records([]);
    });
    const report = await ledger().verify({ pageSize: 2 });
    expect(report).toMatchObject({
      intact: true,
      links: 3,
      head: { link: 3, hash: hashes[2] },
      problems: [],
    });
    const pages = executed().filter((c) => (c.sql ?? '').includes('FROM ('));
    expect(pages.map((p) => p.parameters)).toEqual([
      [
        { name: 'p1', value: { longValue: 0 } },
        { name: 'p2', value: { longValue: 3 } },
        { name: 'p3', value: { longValue: 2 } },
      ],
      [
        { name: 'p1', value: { longValue: 2 } },
        { name: 'p2', value: { longValue: 3 } },
        { name: 'p3', value: { longValue: 2 } },
      ],
    ]);
    expect(pages[0].sql).toMatch(
      /WHERE link > CAST\(:p1 AS bigint\) AND link <= CAST\(:p2 AS bigint\)\s+ORDER BY link, kind LIMIT :p3/,
    );
    expect(executed().every((c) => c.transactionId === undefined)).toBe(true);
  });
});
