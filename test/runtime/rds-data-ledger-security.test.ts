/**
 * The RDS Data API backend at the wire level for migration 2 (append-only trigger, hash chain), the
 * writer role set-up and `verify`: one statement per `ExecuteStatement` call (the Data API runs no
 * multi-statement strings), in the transaction they belong to, with named, typed parameters.
 * `aws-sdk-client-mock` stands in for the service; what the statements do is tested on real
 * databases by ledger-security-contract.ts.
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
import { GENESIS_HASH, linkHash } from '../../lib/runtime/ledger/chain';
import { MIGRATIONS } from '../../lib/runtime/ledger/migrations';
import { parseRdsDataUrl, RdsDataDriver } from '../../lib/runtime/ledger/rds-data';
import { SqlLedger } from '../../lib/runtime/ledger/sql-ledger';

const CLUSTER = 'arn:aws:rds:eu-west-1:111111111111:cluster:gantry-ledger';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:gantry-ledger-AbCdEf';
const URL = `rds-data://${CLUSTER}?secret=${encodeURIComponent(SECRET)}&database=gantry`;

const rds = mockClient(RDSDataClient);
beforeEach(() => rds.reset());

const ledger = () =>
  new SqlLedger(new RdsDataDriver(parseRdsDataUrl(URL), new RDSDataClient({ region: 'eu-west-1' })));
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
    // Version 1 is applied already: only version 2 runs.
    rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
      if (/to_regclass/.test(input.sql ?? '')) return records([{ present: true }]);
      if (/^SELECT version FROM schema_migrations/.test(input.sql ?? '')) return records([{ version: 1 }]);
      return records([]);
    });
    expect(await ledger().migrate()).toEqual([2]);
    const statements = executed();
    expect(statements.every((s) => s.transactionId === 'tx-m2')).toBe(true);
    const migration = statements.slice(3, -1).map((s) => s.sql ?? '');
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
    expect(statements[statements.length - 1].parameters).toEqual([
      { name: 'p1', value: { longValue: 2 } },
      { name: 'p2', value: { stringValue: 'append_only_and_hash_chain' } },
    ]);
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
      ['GRANT "gantry_writer" TO "gantry_ci"', 'tx-role'],
      ["SELECT has_table_privilege(:p1, 'terraform_runs', 'DELETE')", 'tx-role'],
    ]);
    expect(calls[0].parameters).toEqual([{ name: 'p1', value: { stringValue: 'gantry_writer' } }]);
    expect(calls[1].sql).toContain('CREATE ROLE "gantry_writer" NOLOGIN');
    expect(calls[2].parameters).toEqual([{ name: 'p1', value: { stringValue: 'gantry_ci' } }]);
    expect(calls[3].sql).toBe(
      'REVOKE ALL ON terraform_runs, terraform_runs_chain_head, schema_migrations FROM "gantry_writer"',
    );
    expect(calls[6].sql).toContain('acknowledged_at, acknowledged_by, ack_reason) ON terraform_runs');
    expect(calls[6].sql).not.toMatch(/\bstack\b|chain_/);
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
