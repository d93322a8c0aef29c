/**
 * `gantry bootstrap dev` on a bootstrap stack with a ledger: real Terraform (builtin provider only: the
 * stack's outputs are the URLs of a ledger), the RDS Data API and Secrets Manager at the wire level
 * (aws-sdk-client-mock) on a real PostgreSQL database, where the writer logs in with the password its
 * secret holds. The first bootstrap sets the writer up and the journal is replayed as the writer; a
 * second keeps it; a failure is journaled as failed, stops the bootstrap (exit 1) and is recorded by
 * the next one; no password is printed or journaled.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { STACK_FACTS_KEY } from '../../lib/core/stack-facts';
import { Journal } from '../../lib/runtime/bootstrap';
import { createDatabase, testServer } from '../pg-cluster';
import { describeWithTerraform } from '../terraform-harness';
import { DataApiOnPostgres, SecretsStore } from './data-api-on-postgres';
import { cleanEnv } from './env';
import { gantry, tempDir, testFacts, type CliResult } from './helpers';

const CLUSTER = 'arn:aws:rds:eu-west-1:111111111111:cluster:acme-dev-ledger';
const MASTER_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!cluster-0a1b-AbCdEf';
const WRITER_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme-dev-ledger-writer-XyZ123';
const MASTER_PASSWORD = 'master-Password-never-printed-7Qx';
const url = (secret: string) => `rds-data://${CLUSTER}?secret=${secret}&database=gantry`;

const rds = mockClient(RDSDataClient);
const sm = mockClient(SecretsManagerClient);
const store = new SecretsStore();

describeWithTerraform('gantry bootstrap: the ledger writer', () => {
  let server: { url: string; release: () => void };
  let databaseUrl: string;
  let api: DataApiOnPostgres;
  const project = tempDir('bootstrap-writer');
  const journal = new Journal(path.join(project, '.gantry', 'journal.jsonl'));

  const sql = async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) => {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      return (await db.query<T>(text, params)).rows;
    } finally {
      await db.end();
    }
  };
  const dropLogin = async () => {
    // Roles are the cluster's: a shared server may hold this file's login from an earlier attempt.
    const db = new Client({ connectionString: server.url });
    await db.connect();
    await db.query('DROP ROLE IF EXISTS gantry_ci').finally(() => db.end());
  };
  const bootstrap = (...extra: string[]): Promise<CliResult> =>
    gantry(
      ['bootstrap', 'dev', '--no-synth', '--outdir', 'cdktf.out', ...extra],
      cleanEnv(process.env, { GANTRY_ACTOR: 'day-zero-admin' }),
      project,
    );
  const password = () => (JSON.parse(store.current(WRITER_SECRET) ?? '{}') as { password?: string }).password;
  /** Nothing secret in what an operator sees or what the journal keeps. */
  const expectNoPassword = (result: CliResult) => {
    const seen = [result.stdout, result.stderr, fs.readFileSync(journal.file, 'utf8')].join('\n');
    expect(seen).not.toContain(MASTER_PASSWORD);
    const writerPassword = password();
    if (writerPassword) expect(seen).not.toContain(writerPassword);
  };
  /** The rows of dev-bootstrap, and the secret each INSERT into terraform_runs was sent with. */
  const rows = () =>
    sql<{ action: string; status: string; note: string | null; error_summary: string | null }>(
      `SELECT action, status, note, error_summary FROM terraform_runs WHERE stack = 'dev-bootstrap' ORDER BY seq`,
    );
  const insertSecrets = () =>
    new Set(
      api.statements
        .filter((s) => /INSERT INTO terraform_runs\s*\(/.test(s.sql ?? ''))
        .map((s) => decodeURIComponent(s.secretArn ?? '')),
    );

  beforeAll(async () => {
    server = await testServer();
    databaseUrl = await createDatabase(server.url);
    await dropLogin();
    store.create(MASTER_SECRET, JSON.stringify({ username: 'gantry_admin', password: MASTER_PASSWORD }));
    store.create(WRITER_SECRET);
    api = new DataApiOnPostgres(databaseUrl, store, MASTER_SECRET);
    api.install(rds);
    store.install(sm);
    // The bootstrap stack as Terraform sees it after its apply: its outputs are the ledger's URLs.
    const dir = path.join(project, 'cdktf.out', 'stacks', 'dev-bootstrap');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'cdk.tf.json'),
      JSON.stringify({
        '//': {
          [STACK_FACTS_KEY]: testFacts('dev-bootstrap', { kind: 'bootstrap', accountId: '111111111111' }),
        },
        terraform: { backend: { local: { path: '../../../.gantry/state/dev-bootstrap.tfstate' } } },
        resource: { terraform_data: { ledger: { input: 'acme-dev-ledger' } } },
        output: {
          ledger_url: { value: url(MASTER_SECRET) },
          ledger_writer_url: { value: url(WRITER_SECRET) },
          ledger_writer_secret_arn: { value: WRITER_SECRET },
        },
      }),
    );
  });

  afterAll(async () => {
    await api?.close();
    if (server) {
      await dropLogin();
      server.release();
    }
  });

  test('the first bootstrap creates the writer, with its password only in its secret, and records the runs as the writer', async () => {
    const first = await bootstrap();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `[dev-bootstrap] ledger: schema migrated (1, 2, 3 now); login gantry_ci created, its password generated and put into ${WRITER_SECRET}; a member of gantry_writer`,
    );
    expect(first.stdout).toContain("[dev-bootstrap] CI's GANTRY_LEDGER_URL: the output ledger_writer_url");
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(password()).toMatch(/^[A-Za-z0-9]{40}$/);
    expectNoPassword(first);
    expect(await rows()).toEqual([
      expect.objectContaining({ action: 'plan', status: 'planned' }),
      expect.objectContaining({ action: 'apply', status: 'applied' }),
      expect.objectContaining({
        action: 'apply',
        status: 'applied',
        note: expect.stringContaining(
          `ledger writer: gantry_ci created, a member of gantry_writer, its password in ${WRITER_SECRET}`,
        ),
      }),
    ]);
    // Replayed through ledger_writer_url: every row was inserted by gantry_ci.
    expect(insertSecrets()).toEqual(new Set([WRITER_SECRET]));
    const [member] = await sql(
      `SELECT pg_has_role('gantry_ci', 'gantry_writer', 'MEMBER') AS member,
         has_table_privilege('gantry_ci', 'terraform_runs', 'DELETE') AS can_delete`,
    );
    expect(member).toEqual({ member: true, can_delete: false });
  });

  test('a second bootstrap keeps the working writer: the same password, runs still written as the writer', async () => {
    const before = store.versions(WRITER_SECRET);
    api.statements.length = 0;
    const second = await bootstrap();
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('[dev-bootstrap] no changes: the bootstrap stack is up');
    expect(second.stdout).toContain(`login gantry_ci kept (it has its password in ${WRITER_SECRET})`);
    expect(store.versions(WRITER_SECRET)).toEqual(before);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expectNoPassword(second);
    expect((await rows()).slice(3)).toEqual([
      expect.objectContaining({ action: 'plan', status: 'planned' }),
      expect.objectContaining({
        action: 'apply',
        status: 'applied',
        note: expect.stringContaining('gantry_ci kept'),
      }),
    ]);
    expect(insertSecrets()).toEqual(new Set([WRITER_SECRET]));
  });

  test('a failure is journaled as failed and stops the bootstrap; the next bootstrap records it', async () => {
    store.failing.set(
      'DescribeSecret',
      Object.assign(
        new Error(
          'User: arn:aws:sts::111111111111:assumed-role/admin is not authorized to perform: secretsmanager:DescribeSecret',
        ),
        {
          name: 'AccessDeniedException',
        },
      ),
    );
    const failed = await bootstrap();
    store.failing.clear();
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `dev-bootstrap: the ledger's writer was not set up: reading the writer secret ${WRITER_SECRET}: User: arn:aws:sts::111111111111:assumed-role/admin is not authorized to perform: secretsmanager:DescribeSecret. ` +
        'Nothing else was done (no state moved); the run is journaled as failed in',
    );
    expect(failed.stderr).toContain('Fix the cause and run `gantry bootstrap dev` again');
    expectNoPassword(failed);
    const pending = journal.pending();
    expect(pending.at(-1)?.finish).toEqual({
      status: 'failed',
      exitCode: 1,
      errorSummary: expect.stringContaining(
        `ledger writer set-up failed: reading the writer secret ${WRITER_SECRET}: User: arn:aws:sts`,
      ),
    });
    // Nothing was replayed by the failed bootstrap; the next one records the failure, as the writer.
    const next = await bootstrap();
    expect(next.code).toBe(0);
    expect(next.stdout).toContain('login gantry_ci kept');
    expect(await rows()).toContainEqual(
      expect.objectContaining({
        action: 'apply',
        status: 'failed',
        error_summary: expect.stringContaining('ledger writer set-up failed: reading the writer secret'),
      }),
    );
    expect(journal.pending()).toEqual([]);
  });
});
