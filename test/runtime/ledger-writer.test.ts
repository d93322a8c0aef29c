/**
 * The ledger's writer login as `gantry bootstrap` sets it up: through the RDS Data API client and the
 * Secrets Manager client (aws-sdk-client-mock at the wire level), on a real PostgreSQL database
 * (test/pg-cluster.ts), where the writer must log in with the password its secret holds. Its grants,
 * a run it writes, a second set-up that keeps it, the refusals and failures, and no password in any
 * statement or message.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import {
  generatePassword,
  LedgerWriterError,
  scramSha256Verifier,
  setUpLedgerWriter,
  type LedgerWriterReport,
} from '../../lib/runtime/bootstrap/ledger-writer';
import { dataApiWriterSetUp } from '../../lib/runtime/bootstrap/writer-secret';
import { parseRdsDataUrl, RdsDataDriver } from '../../lib/runtime/ledger/rds-data';
import { SqlLedger } from '../../lib/runtime/ledger/sql-ledger';
import { createDatabase, testServer } from '../pg-cluster';
import { DataApiOnPostgres, scramAccepts, SecretsStore } from './data-api-on-postgres';

const CLUSTER = 'arn:aws:rds:eu-west-1:111111111111:cluster:acme-dev-ledger';
const MASTER_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!cluster-0a1b-AbCdEf';
const MASTER_PASSWORD = 'master-Password-never-printed-7Qx';
const url = (secret: string) => `rds-data://${CLUSTER}?secret=${encodeURIComponent(secret)}&database=gantry`;

const rds = mockClient(RDSDataClient);
const sm = mockClient(SecretsManagerClient);
const store = new SecretsStore();
let server: { url: string; release: () => void };
let databaseUrl: string;
let api: DataApiOnPostgres;
const logins: string[] = [];

beforeAll(async () => {
  server = await testServer();
  databaseUrl = await createDatabase(server.url);
  store.create(MASTER_SECRET, JSON.stringify({ username: 'gantry_admin', password: MASTER_PASSWORD }));
  api = new DataApiOnPostgres(databaseUrl, store, MASTER_SECRET);
  api.install(rds);
  store.install(sm);
});

afterAll(async () => {
  await api.close();
  await asSuperuser(async (db) => {
    for (const login of logins) await db.query(`DROP ROLE IF EXISTS ${login}`);
  });
  server.release();
});

beforeEach(() => {
  store.failing.clear();
  api.statements.length = 0;
});

async function asSuperuser<T>(fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** A login of this test (roles are the cluster's: a shared server sees every suite's) and its empty secret. */
function newWriter(): { login: string; secret: string } {
  const login = `gantry_ci_${Math.random().toString(36).slice(2, 10)}`;
  logins.push(login);
  const secret = `arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme-dev-ledger-writer-${login.slice(-6)}`;
  store.create(secret);
  return { login, secret };
}

async function setUp(
  writer: { login: string; secret: string },
  options: { rotate?: boolean } = {},
): Promise<LedgerWriterReport> {
  const s = dataApiWriterSetUp(url(MASTER_SECRET), url(writer.secret), { login: writer.login, ...options });
  try {
    return await setUpLedgerWriter(s);
  } finally {
    await s.close();
  }
}

const credentialsIn = (secret: string) =>
  JSON.parse(store.current(secret) ?? 'null') as { username: string; password: string } | null;

const storedVerifier = (login: string) =>
  asSuperuser(
    async (db) =>
      (await db.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [login]))
        .rows[0]?.v,
  );

/** The ledger as the writer, through the Data API with the writer's secret. */
const asWriter = (secret: string) => new SqlLedger(new RdsDataDriver(parseRdsDataUrl(url(secret))));

describe('scramSha256Verifier', () => {
  test("pg's SCRAM client logs in against it with the password, and not with another", async () => {
    const password = generatePassword();
    const verifier = scramSha256Verifier(password);
    expect(verifier).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
    );
    expect(await scramAccepts(verifier, password)).toBe(true);
    expect(await scramAccepts(verifier, `${password}x`)).toBe(false);
    expect(scramSha256Verifier(password)).not.toBe(verifier); // a fresh salt each time
  });

  test('generated passwords: 40 letters and digits, never the same', () => {
    const passwords = Array.from({ length: 50 }, () => generatePassword());
    for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(new Set(passwords).size).toBe(50);
  });
});

describe('setUpLedgerWriter (Data API and Secrets Manager at the wire level, on PostgreSQL)', () => {
  test('creates the login with a new password in its secret; the writer writes a run and cannot delete one', async () => {
    const writer = newWriter();
    const report = await setUp(writer);
    expect(report).toMatchObject({
      login: writer.login,
      outcome: 'created',
      role: { role: 'gantry_writer', grantedTo: writer.login, loginCreated: true },
    });
    const credentials = credentialsIn(writer.secret);
    expect(credentials?.username).toBe(writer.login);
    expect(credentials?.password).toMatch(/^[A-Za-z0-9]{40}$/);
    const put = sm.commandCalls(PutSecretValueCommand);
    expect(put).toHaveLength(1);
    expect(JSON.parse(put[0].args[0].input.SecretString ?? '')).toEqual({
      username: writer.login,
      password: credentials?.password,
    });
    // The database holds the verifier of exactly that password, and got it as a parameter only.
    const verifier = await storedVerifier(writer.login);
    expect(await scramAccepts(String(verifier), String(credentials?.password))).toBe(true);
    const sent = JSON.stringify(api.statements);
    expect(sent).not.toContain(credentials?.password);
    expect(api.statements.map((s) => s.sql).join('\n')).not.toContain(String(verifier));
    expect(JSON.stringify(report)).not.toContain(credentials?.password);
    // As the writer: not a superuser, a member of gantry_writer; writes a run, may not delete it.
    const [role] = await asSuperuser(
      async (db) =>
        (
          await db.query(
            `SELECT rolsuper, rolcreaterole, rolcreatedb, pg_has_role($1, 'gantry_writer', 'MEMBER') AS member
             FROM pg_roles WHERE rolname = $1`,
            [writer.login],
          )
        ).rows,
    );
    expect(role).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, member: true });
    const ledger = asWriter(writer.secret);
    try {
      const run = await ledger.startRun({ stack: 'dev-services', environment: 'dev', action: 'apply' });
      const done = await ledger.finishRun(run.id, { status: 'applied', exitCode: 0 });
      expect(done.status).toBe('applied');
      await expect(
        new RdsDataDriver(parseRdsDataUrl(url(writer.secret))).query(
          'DELETE FROM terraform_runs WHERE id = $1',
          [run.id],
        ),
      ).rejects.toThrow(/permission denied for table terraform_runs; SQLState: 42501/);
    } finally {
      await ledger.close();
    }
  });

  test('a second set-up keeps the working writer: no new password, the same verifier, it still writes', async () => {
    const writer = newWriter();
    await setUp(writer);
    const before = { secret: store.versions(writer.secret), verifier: await storedVerifier(writer.login) };
    sm.resetHistory();
    const again = await setUp(writer);
    expect(again).toMatchObject({
      outcome: 'kept',
      migrated: [],
      role: { loginCreated: false, loginPasswordSet: false },
    });
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(store.versions(writer.secret)).toEqual(before.secret);
    expect(await storedVerifier(writer.login)).toBe(before.verifier);
    const ledger = asWriter(writer.secret);
    try {
      const run = await ledger.startRun({ stack: 'dev-foundation', environment: 'dev', action: 'plan' });
      expect((await ledger.finishRun(run.id, { status: 'no_changes', exitCode: 0 })).status).toBe(
        'no_changes',
      );
    } finally {
      await ledger.close();
    }
  });

  test('a secret with a value and no login (a run interrupted after the secret): the login gets that password', async () => {
    const writer = newWriter();
    const password = generatePassword();
    store.create(writer.secret, JSON.stringify({ username: writer.login, password }));
    const report = await setUp(writer);
    expect(report.outcome).toBe('created');
    expect(store.versions(writer.secret)).toHaveLength(1);
    expect(await scramAccepts(String(await storedVerifier(writer.login)), password)).toBe(true);
  });

  test('a login whose secret holds no password is refused unchanged; --rotate-writer gives it one', async () => {
    const writer = newWriter();
    await asSuperuser((db) => db.query(`CREATE ROLE ${writer.login} LOGIN PASSWORD 'made-by-hand'`));
    const before = await storedVerifier(writer.login);
    await expect(setUp(writer)).rejects.toThrow(
      new RegExp(
        `^the login ${writer.login} exists but its secret .* holds no password .*nothing was changed\\. Run again with --rotate-writer`,
      ),
    );
    expect(store.versions(writer.secret)).toEqual([]);
    expect(await storedVerifier(writer.login)).toBe(before);
    const rotated = await setUp(writer, { rotate: true });
    expect(rotated.outcome).toBe('password-set');
    const credentials = credentialsIn(writer.secret);
    expect(
      await scramAccepts(String(await storedVerifier(writer.login)), String(credentials?.password)),
    ).toBe(true);
    expect((await setUp(writer)).outcome).toBe('kept');
  });

  test('a password changed outside gantry fails the check as the writer, says to rotate, and prints no password', async () => {
    const writer = newWriter();
    await setUp(writer);
    const password = String(credentialsIn(writer.secret)?.password);
    await asSuperuser((db) => db.query(`ALTER ROLE ${writer.login} PASSWORD 'changed-by-someone'`));
    const failure = await setUp(writer).catch((e: unknown) => e as Error);
    expect(failure).toBeInstanceOf(LedgerWriterError);
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^connecting as ${writer.login} with the password in .* \\(if it was changed outside gantry, run again with --rotate-writer\\): .*password authentication failed`,
      ),
    );
    expect((failure as Error).message).not.toContain(password);
    expect((await setUp(writer, { rotate: true })).outcome).toBe('password-set');
    expect(credentialsIn(writer.secret)?.password).not.toBe(password);
  });

  test('Secrets Manager refusing the write: no login is created, the error names the step', async () => {
    const writer = newWriter();
    store.failing.set(
      'PutSecretValue',
      Object.assign(new Error('User is not authorized to perform: secretsmanager:PutSecretValue'), {
        name: 'AccessDeniedException',
      }),
    );
    await expect(setUp(writer)).rejects.toThrow(
      `writing the writer secret ${writer.secret}: User is not authorized to perform: secretsmanager:PutSecretValue`,
    );
    expect(await storedVerifier(writer.login)).toBeUndefined();
    store.failing.clear();
    expect((await setUp(writer)).outcome).toBe('created');
  });

  test('an error that echoes the secret value is scrubbed of the password', async () => {
    const writer = newWriter();
    sm.on(PutSecretValueCommand).callsFake((input: { SecretString?: string }) => {
      throw Object.assign(new Error(`invalid SecretString ${input.SecretString}`), {
        name: 'ValidationException',
      });
    });
    try {
      const failure = (await setUp(writer).catch((e: unknown) => e)) as Error;
      const echoed = /invalid SecretString (.*)$/.exec(failure.message)?.[1];
      expect(echoed).toBe(`{"username":"${writer.login}","password":"***"}`);
    } finally {
      store.install(sm);
    }
  });

  test('a secret naming another login is refused', async () => {
    const writer = newWriter();
    store.create(writer.secret, JSON.stringify({ username: 'someone_else', password: 'x'.repeat(20) }));
    await expect(setUp(writer)).rejects.toThrow(
      `the writer secret ${writer.secret} names the login "someone_else", not ${writer.login}`,
    );
  });
});
