/**
 * Aurora PostgreSQL through the RDS Data API (as the CodeBuild deploy project uses it in AWS): each
 * statement is one `ExecuteStatement` call with named, typed parameters (`$1` becomes `:p1`), rows
 * come back as JSON (`formatRecordsAs: 'JSON'`), transactions are `BeginTransaction` /
 * `CommitTransaction` / `RollbackTransaction`.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { LedgerError } from './types';
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './driver';

export interface RdsDataTarget {
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
  readonly region: string;
}

/** Parses `rds-data://<cluster-arn>?secret=<secret-arn>&database=<db>` (the ARNs may be percent-encoded). */
export function parseRdsDataUrl(url: string): RdsDataTarget {
  const rest = url.slice('rds-data://'.length);
  const [arnPart, query = ''] = rest.split('?', 2);
  const resourceArn = decodeURIComponent(arnPart);
  const params = new URLSearchParams(query);
  const secretArn = params.get('secret') ?? '';
  const database = params.get('database') ?? '';
  const problems: string[] = [];
  const arn = /^arn:aws[a-z-]*:rds:([a-z0-9-]+):\d{12}:cluster:[A-Za-z0-9-]+$/.exec(resourceArn);
  if (!arn)
    problems.push(
      `cluster ARN ${JSON.stringify(resourceArn)} is not arn:aws:rds:<region>:<account>:cluster:<name>`,
    );
  if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(secretArn))
    problems.push(`secret=${JSON.stringify(secretArn)} is not a Secrets Manager secret ARN`);
  if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(database))
    problems.push(`database=${JSON.stringify(database)} is missing or not a database name`);
  if (problems.length > 0 || !arn) {
    throw new LedgerError(
      `GANTRY_LEDGER_URL: ${problems.join('; ')} (expected rds-data://<cluster-arn>?secret=<secret-arn>&database=<db>)`,
    );
  }
  return { resourceArn, secretArn, database, region: arn[1] };
}

/** `$1` -> `:p1`, with the parameter typed as the Data API wants. */
export function toDataApi(
  sql: string,
  params: readonly SqlParam[],
): { sql: string; parameters: SqlParameter[] } {
  const parameters = params.map((value, i): SqlParameter => {
    const name = `p${i + 1}`;
    if (value === null) return { name, value: { isNull: true } };
    if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
    if (typeof value === 'number')
      return Number.isInteger(value)
        ? { name, value: { longValue: value } }
        : { name, value: { doubleValue: value } };
    return { name, value: { stringValue: value } };
  });
  return { sql: sql.replace(/\$(\d+)/g, ':p$1'), parameters };
}

export class RdsDataDriver implements SqlDriver {
  public readonly backend = 'rds-data' as const;

  constructor(
    private readonly target: RdsDataTarget,
    private readonly client: RDSDataClient = new RDSDataClient({ region: target.region }),
  ) {}

  private async execute(sql: string, params: readonly SqlParam[], transactionId?: string): Promise<Row[]> {
    const statement = toDataApi(sql, params);
    const out = await this.client.send(
      new ExecuteStatementCommand({
        resourceArn: this.target.resourceArn,
        secretArn: this.target.secretArn,
        database: this.target.database,
        sql: statement.sql,
        parameters: statement.parameters,
        formatRecordsAs: 'JSON',
        ...(transactionId ? { transactionId } : {}),
      }),
    );
    return out.formattedRecords ? (JSON.parse(out.formattedRecords) as Row[]) : [];
  }

  query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.execute(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const { resourceArn, secretArn, database } = this.target;
    const begun = await this.client.send(new BeginTransactionCommand({ resourceArn, secretArn, database }));
    const transactionId = begun.transactionId;
    if (!transactionId) throw new LedgerError('RDS Data API: BeginTransaction returned no transactionId');
    try {
      const result = await fn({ query: (sql, params = []) => this.execute(sql, params, transactionId) });
      await this.client.send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId }));
      return result;
    } catch (error) {
      await this.client
        .send(new RollbackTransactionCommand({ resourceArn, secretArn, transactionId }))
        .catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
