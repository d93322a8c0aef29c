/**
 * Test doubles at the wire level for the ledger writer's set-up (moto 5.2.1 answers the Data API with
 * canned results):
 * - `scramAccepts`: the server side of a SCRAM-SHA-256 login (RFC 5802) against a stored verifier,
 *   driven by `pg`'s own SCRAM client, so a verifier is checked by an implementation other than ours;
 * - `SecretsStore`: Secrets Manager's DescribeSecret / GetSecretValue / PutSecretValue over
 *   aws-sdk-client-mock, with AWS's answers for a secret without a value;
 * - `DataApiOnPostgres`: the RDS Data API's ExecuteStatement and transactions over aws-sdk-client-mock,
 *   run on a real PostgreSQL database as the user the call's secret names, which must log in with the
 *   password it holds (checked against `pg_authid`, as Aurora would).
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RollbackTransactionCommand,
  type ExecuteStatementCommandInput,
  type RDSDataClient,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { Pool, type PoolClient } from 'pg';
// pg's SCRAM client (no types shipped for the deep path).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sasl = require('pg/lib/crypto/sasl') as {
  startSession(mechanisms: string[]): { clientNonce: string; response: string };
  continueSession(session: object, password: string, serverFirst: string): Promise<void>;
  finalizeSession(session: object, serverFinal: string): void;
};

/** Whether a client knowing `password` logs in against the stored `verifier` (both directions checked). */
export async function scramAccepts(verifier: string, password: string): Promise<boolean> {
  const stored = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!stored) return false;
  const [, iterations, salt, storedKeyB64, serverKeyB64] = stored;
  const session = sasl.startSession(['SCRAM-SHA-256']);
  const clientFirstBare = session.response.replace(/^n,,/, '');
  const serverFirst = `r=${session.clientNonce}${randomBytes(18).toString('base64')},s=${salt},i=${iterations}`;
  await sasl.continueSession(session, password, serverFirst);
  const clientFinal = session.response;
  const at = clientFinal.lastIndexOf(',p=');
  const authMessage = `${clientFirstBare},${serverFirst},${clientFinal.slice(0, at)}`;
  const proof = Buffer.from(clientFinal.slice(at + 3), 'base64');
  const storedKey = Buffer.from(storedKeyB64, 'base64');
  const signature = createHmac('sha256', storedKey).update(authMessage).digest();
  const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]));
  if (!createHash('sha256').update(clientKey).digest().equals(storedKey)) return false;
  const serverSignature = createHmac('sha256', Buffer.from(serverKeyB64, 'base64'))
    .update(authMessage)
    .digest('base64');
  sasl.finalizeSession(session, `v=${serverSignature}`); // throws when the server key is wrong
  return true;
}

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

/** Secrets Manager secrets by ARN: `versions` is every value written, the last one AWSCURRENT. */
export class SecretsStore {
  private readonly secrets = new Map<string, string[]>();
  /** A call name -> an error thrown instead of answering (to make a step fail). */
  public readonly failing = new Map<string, Error>();

  create(arn: string, value?: string): void {
    this.secrets.set(arn, value === undefined ? [] : [value]);
  }

  versions(arn: string): readonly string[] {
    return this.secrets.get(arn) ?? [];
  }

  current(arn: string): string | undefined {
    return this.versions(arn).at(-1);
  }

  private secret(call: string, id: string | undefined): string[] {
    const failure = this.failing.get(call);
    if (failure) throw failure;
    const versions = this.secrets.get(id ?? '');
    if (!versions)
      throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return versions;
  }

  install(sm: AwsClientStub<SecretsManagerClient>): void {
    sm.on(DescribeSecretCommand).callsFake((input: { SecretId?: string }) => {
      const versions = this.secret('DescribeSecret', input.SecretId);
      return {
        ARN: input.SecretId,
        VersionIdsToStages: Object.fromEntries(
          versions.map((_, i) => [`v${i}`, i === versions.length - 1 ? ['AWSCURRENT'] : ['AWSPREVIOUS']]),
        ),
      };
    });
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
      const versions = this.secret('GetSecretValue', input.SecretId);
      if (versions.length === 0)
        throw awsError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
      return { ARN: input.SecretId, SecretString: versions[versions.length - 1] };
    });
    sm.on(PutSecretValueCommand).callsFake((input: { SecretId?: string; SecretString?: string }) => {
      const versions = this.secret('PutSecretValue', input.SecretId);
      versions.push(input.SecretString ?? '');
      return { ARN: input.SecretId, VersionId: `v${versions.length - 1}` };
    });
  }
}

/** A Data API parameter as the JavaScript value `pg` takes. */
function valueOf(p: SqlParameter): unknown {
  const v = (p.value ?? {}) as {
    isNull?: boolean;
    stringValue?: string;
    longValue?: number;
    doubleValue?: number;
    booleanValue?: boolean;
  };
  if (v.isNull) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.longValue !== undefined) return v.longValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.booleanValue !== undefined) return v.booleanValue;
  throw new Error(`unsupported Data API parameter ${JSON.stringify(p)}`);
}

/** The Data API of one cluster/database, on the PostgreSQL database `databaseUrl` (trust auth; passwords checked here). */
export class DataApiOnPostgres {
  private readonly pools = new Map<string, Pool>();
  private readonly transactions = new Map<string, PoolClient>();
  /** Every statement sent, in order. */
  public readonly statements: ExecuteStatementCommandInput[] = [];

  /** `masterSecretArn` logs in as the database's superuser (the cluster's master user, whatever its password). */
  constructor(
    private readonly databaseUrl: string,
    private readonly secrets: SecretsStore,
    private readonly masterSecretArn: string,
  ) {}

  private pool(user: string): Pool {
    let pool = this.pools.get(user);
    if (!pool) {
      const url = new URL(this.databaseUrl);
      url.username = user;
      url.password = '';
      pool = new Pool({ connectionString: url.toString(), max: 2 });
      pool.on('error', () => undefined);
      this.pools.set(user, pool);
    }
    return pool;
  }

  /** The user a call's secret logs in as: its `{username, password}` must match the login's stored verifier. */
  private async login(secretArn: string | undefined): Promise<string> {
    const value = this.secrets.current(secretArn ?? '');
    if (value === undefined)
      throw awsError('BadRequestException', `Secrets Manager has no value for secret ${secretArn}`);
    const { username, password } = JSON.parse(value) as { username: string; password: string };
    if (secretArn === this.masterSecretArn) return new URL(this.databaseUrl).username;
    const [row] = (
      await this.pool(new URL(this.databaseUrl).username).query<{ rolpassword: string | null }>(
        'SELECT rolpassword FROM pg_authid WHERE rolname = $1 AND rolcanlogin',
        [username],
      )
    ).rows;
    if (!row?.rolpassword || !(await scramAccepts(row.rolpassword, password)))
      throw awsError(
        'DatabaseErrorException',
        `FATAL: password authentication failed for user "${username}"; SQLState: 28P01`,
      );
    return username;
  }

  install(rds: AwsClientStub<RDSDataClient>): void {
    rds.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => {
      this.statements.push(input);
      const sql = (input.sql ?? '').replace(/:p(\d+)/g, '$$$1');
      const params = (input.parameters ?? [])
        .slice()
        .sort((a, b) => Number(a.name?.slice(1)) - Number(b.name?.slice(1)))
        .map(valueOf);
      const tx = input.transactionId ? this.transactions.get(input.transactionId) : undefined;
      if (input.transactionId && !tx) throw awsError('BadRequestException', 'Transaction is not found');
      const db = tx ?? this.pool(await this.login(input.secretArn));
      try {
        const result = await db.query(sql, params);
        return { formattedRecords: JSON.stringify(result.rows ?? []) };
      } catch (error) {
        const e = error as { message: string; code?: string };
        throw awsError('DatabaseErrorException', `ERROR: ${e.message}; SQLState: ${e.code ?? 'XX000'}`);
      }
    });
    rds.on(BeginTransactionCommand).callsFake(async (input: { secretArn?: string }) => {
      const client = await this.pool(await this.login(input.secretArn)).connect();
      await client.query('BEGIN');
      const transactionId = randomUUID();
      this.transactions.set(transactionId, client);
      return { transactionId };
    });
    const end = (sql: string) => async (input: { transactionId?: string }) => {
      const client = this.transactions.get(input.transactionId ?? '');
      if (!client) throw awsError('BadRequestException', 'Transaction is not found');
      this.transactions.delete(input.transactionId ?? '');
      try {
        await client.query(sql);
      } finally {
        client.release();
      }
      return { transactionStatus: sql === 'COMMIT' ? 'Transaction Committed' : 'Rollback Complete' };
    };
    rds.on(CommitTransactionCommand).callsFake(end('COMMIT'));
    rds.on(RollbackTransactionCommand).callsFake(end('ROLLBACK'));
  }

  async close(): Promise<void> {
    for (const client of this.transactions.values()) client.release();
    this.transactions.clear();
    await Promise.all([...this.pools.values()].map((p) => p.end()));
    this.pools.clear();
  }
}
