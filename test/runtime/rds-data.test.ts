/**
 * The RDS Data API backend at the wire level: which statements are sent, with which named, typed
 * parameters, in which transaction, and how a unique violation reported by the Data API becomes
 * a busy stack. `aws-sdk-client-mock` stands in for the service.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { openLedger, LedgerError, StackBusyError } from '../../lib/runtime/ledger';
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
    expect(await ledger().migrate()).toEqual([1, 2]);
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
    ]);
    expect(statements[statements.length - 1]).toBe(inserts[1]);
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
