/**
 * The ledger over any `SqlDriver`: every statement is parameterised, times come from the database's
 * clock, and the "one active apply per stack" rule is the unique index's, never a check-then-insert.
 */
import { randomUUID } from 'node:crypto';
import { verifyChain, type ChainReport, type VerifyOptions } from './chain';
import type { Row, SqlDriver, SqlParam } from './driver';
import { migrate } from './migrations';
import {
  setUpWriterRole,
  WRITER_INSERT_COLUMNS,
  type WriterRoleOptions,
  type WriterRoleReport,
} from './roles';
import {
  LedgerError,
  RunNotRunningError,
  StackBusyError,
  type FinishRunInput,
  type Ledger,
  type ReapOptions,
  type RefusalInput,
  type ResourceCounts,
  type RunAction,
  type RunFilter,
  type RunRecord,
  type RunStatus,
  type StartRunInput,
} from './types';

const ts = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${column}`;

/** The columns read back, with uuids, jsonb and times as text so every backend returns the same shapes. */
const COLUMNS = [
  'CAST(id AS text) AS id',
  'stack',
  'environment',
  'action',
  'status',
  'commit_sha',
  'ref',
  'actor',
  'ci_run_id',
  'ci_run_attempt',
  'ci_run_url',
  'role_arn',
  'account_id',
  'terraform_version',
  'CAST(plan_run_id AS text) AS plan_run_id',
  'plan_sha256',
  'count_create',
  'count_update',
  'count_delete',
  'count_replace',
  'count_read',
  'CAST(approvers AS text) AS approvers',
  ts('started_at'),
  ts('heartbeat_at'),
  ts('finished_at'),
  'exit_code',
  'error_summary',
  'note',
  'host',
  'pid',
  ts('acknowledged_at'),
  'acknowledged_by',
  'ack_reason',
].join(', ');

/** Abandons the running rows of the stack in parameter `stack` whose heartbeat is older than parameter `seconds`. */
const reapStack = (stack: string, seconds: string) =>
  `UPDATE terraform_runs SET status = 'abandoned', finished_at = clock_timestamp(),
   error_summary = COALESCE(error_summary, 'heartbeat lapsed: the process running Terraform stopped without closing this row')
   WHERE stack = ${stack} AND status = 'running'
     AND heartbeat_at < clock_timestamp() - make_interval(secs => CAST(${seconds} AS double precision))`;

const ACTIVE_APPLY = `action = 'apply' AND (status = 'running' OR (status = 'abandoned' AND acknowledged_at IS NULL))`;

/** Longest error summary kept on a row. */
const MAX_ERROR_SUMMARY = 4000;

export interface SqlLedgerOptions {
  /** A running row whose heartbeat is older than this is abandoned by the next run on its stack. @default 120 */
  readonly lapseSeconds?: number;
}

export class SqlLedger implements Ledger {
  public readonly backend: Ledger['backend'];
  private readonly lapseSeconds: number;

  constructor(
    private readonly driver: SqlDriver,
    options: SqlLedgerOptions = {},
  ) {
    this.backend = driver.backend;
    this.lapseSeconds = options.lapseSeconds ?? 120;
  }

  async migrate(): Promise<number[]> {
    return migrate((fn) => this.driver.transaction(fn));
  }

  async startRun(input: StartRunInput): Promise<RunRecord> {
    // One statement: the stack's lapsed runs are abandoned (the "next run" reaps), then the row is
    // inserted unless the one-active-apply index already holds the stack (ON CONFLICT on that partial
    // index: the database picks one winner among concurrent inserts, and losers get no row).
    const rows = await this.insert(input, 'running', null, null, this.lapseSeconds);
    if (rows.length === 1) return toRecord(rows[0]);
    const holders = await this.driver.query(
      `SELECT ${COLUMNS} FROM terraform_runs WHERE stack = $1 AND ${ACTIVE_APPLY} LIMIT 1`,
      [input.stack],
    );
    throw new StackBusyError(input.stack, holders[0] ? toRecord(holders[0]) : null);
  }

  async recordRefusal(input: RefusalInput): Promise<RunRecord> {
    const rows = await this.insert(input, 'refused', truncate(input.reason), input.approvers ?? null);
    return toRecord(rows[0]);
  }

  private async insert(
    input: StartRunInput,
    status: RunStatus,
    errorSummary: string | null,
    approvers: readonly string[] | null,
    reapAfterSeconds: number | null = null,
  ): Promise<Row[]> {
    const closed = status !== 'running';
    const reap = reapAfterSeconds === null ? '' : `WITH reaped AS (${reapStack('$2', '$23')})\n`;
    const rows = await this.driver.query(
      // The writer role's INSERT grant is this very column list.
      `${reap}INSERT INTO terraform_runs (${WRITER_INSERT_COLUMNS.join(', ')})
       VALUES (CAST($1 AS uuid), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CAST($15 AS uuid), $16, $17,
         $18, $19, CAST($20 AS jsonb), $21, CASE WHEN $22 THEN clock_timestamp() END)
       ON CONFLICT (stack) WHERE ${ACTIVE_APPLY} DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        randomUUID(),
        input.stack,
        input.environment ?? null,
        input.action,
        status,
        input.commitSha ?? null,
        input.ref ?? null,
        input.actor ?? null,
        input.ciRunId ?? null,
        input.ciRunAttempt ?? null,
        input.ciRunUrl ?? null,
        input.roleArn ?? null,
        input.accountId ?? null,
        input.terraformVersion ?? null,
        input.planRunId ?? null,
        input.planSha256 ?? null,
        input.host ?? null,
        input.pid ?? null,
        errorSummary,
        approvers ? JSON.stringify(approvers) : null,
        closed ? 3 : null,
        closed,
        ...(reapAfterSeconds === null ? [] : [reapAfterSeconds]),
      ],
    );
    return rows;
  }

  async heartbeat(id: string): Promise<boolean> {
    // A heartbeat is not audit data: it need not wait for the disk (see SqlDriver.queryWithoutFlush).
    const write = this.driver.queryWithoutFlush?.bind(this.driver) ?? this.driver.query.bind(this.driver);
    const rows = await write(
      `UPDATE terraform_runs SET heartbeat_at = clock_timestamp()
       WHERE id = CAST($1 AS uuid) AND status = 'running' RETURNING CAST(id AS text) AS id`,
      [id],
    );
    return rows.length === 1;
  }

  async finishRun(id: string, result: FinishRunInput): Promise<RunRecord> {
    const c = result.counts ?? null;
    // Only a running row: an abandoned one is finished, and finished rows are never rewritten (the
    // trigger of migration 2 would refuse it too).
    const rows = await this.driver.query(
      `UPDATE terraform_runs SET status = $2, exit_code = $3, finished_at = clock_timestamp(),
         heartbeat_at = clock_timestamp(),
         count_create = $4, count_update = $5, count_delete = $6, count_replace = $7, count_read = $8,
         plan_sha256 = COALESCE($9, plan_sha256), terraform_version = COALESCE($10, terraform_version),
         approvers = COALESCE(CAST($11 AS jsonb), approvers), error_summary = $12, note = COALESCE($13, note)
       WHERE id = CAST($1 AS uuid) AND status = 'running'
       RETURNING ${COLUMNS}`,
      [
        id,
        result.status,
        result.exitCode,
        c?.create ?? null,
        c?.update ?? null,
        c?.delete ?? null,
        c?.replace ?? null,
        c?.read ?? null,
        result.planSha256 ?? null,
        result.terraformVersion ?? null,
        result.approvers ? JSON.stringify(result.approvers) : null,
        result.errorSummary ? truncate(result.errorSummary) : null,
        result.note ? truncate(result.note) : null,
      ],
    );
    if (rows.length === 1) return toRecord(rows[0]);
    const existing = await this.getRun(id);
    if (existing?.status === 'abandoned') {
      throw new RunNotRunningError(
        `run ${id} was marked abandoned (its heartbeat lapsed) before it could be closed as ${result.status}; ` +
          `a finished row is never rewritten: check the stack, then \`gantry ledger ack ${id} --reason "..."\``,
      );
    }
    throw existing
      ? new RunNotRunningError(`run ${id} is ${existing.status}, not running: it cannot be finished again`)
      : new LedgerError(`run ${id} does not exist in the ledger`);
  }

  async getRun(id: string): Promise<RunRecord | null> {
    if (!UUID.test(id)) return null;
    const rows = await this.driver.query(
      `SELECT ${COLUMNS} FROM terraform_runs WHERE id = CAST($1 AS uuid)`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const add = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    };
    add('stack', filter.stack);
    add('environment', filter.environment);
    add('action', filter.action);
    add('status', filter.status);
    if (filter.id !== undefined) {
      params.push(filter.id);
      where.push(`id = CAST($${params.length} AS uuid)`);
    }
    params.push(filter.limit ?? 50);
    const rows = await this.driver.query(
      `SELECT ${COLUMNS} FROM terraform_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  async reap(options: ReapOptions = {}): Promise<RunRecord[]> {
    const seconds = options.olderThanSeconds ?? this.lapseSeconds;
    const params: SqlParam[] = [seconds];
    let stackClause = '';
    if (options.stack !== undefined) {
      params.push(options.stack);
      stackClause = 'AND stack = $2';
    }
    const rows = await this.driver.query(
      `UPDATE terraform_runs SET status = 'abandoned', finished_at = clock_timestamp(),
         error_summary = COALESCE(error_summary, 'heartbeat lapsed: the process running Terraform stopped without closing this row')
       WHERE status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => CAST($1 AS double precision))
       ${stackClause}
       RETURNING ${COLUMNS}`,
      params,
    );
    return rows.map(toRecord);
  }

  async ack(id: string, by: string, reason: string): Promise<RunRecord> {
    if (reason.trim().length === 0)
      throw new LedgerError('ledger ack: --reason must say why the stack is safe to apply again');
    const rows = UUID.test(id)
      ? await this.driver.query(
          `UPDATE terraform_runs SET acknowledged_at = clock_timestamp(), acknowledged_by = $2, ack_reason = $3
           WHERE id = CAST($1 AS uuid) AND status = 'abandoned' AND acknowledged_at IS NULL
           RETURNING ${COLUMNS}`,
          [id, by, truncate(reason)],
        )
      : [];
    if (rows.length === 1) return toRecord(rows[0]);
    const existing = await this.getRun(id);
    if (!existing) throw new LedgerError(`ledger ack: run ${JSON.stringify(id)} does not exist`);
    if (existing.acknowledgedAt)
      throw new LedgerError(
        `ledger ack: run ${id} was already acknowledged by ${existing.acknowledgedBy ?? 'unknown'} at ${existing.acknowledgedAt}`,
      );
    throw new LedgerError(
      `ledger ack: run ${id} is ${existing.status}; only abandoned runs are acknowledged`,
    );
  }

  async verify(options: VerifyOptions = {}): Promise<ChainReport> {
    return verifyChain(this.driver, options);
  }

  async setUpWriterRole(options: WriterRoleOptions = {}): Promise<WriterRoleReport> {
    return setUpWriterRole(this.driver, options);
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function truncate(text: string): string {
  return text.length <= MAX_ERROR_SUMMARY ? text : `${text.slice(0, MAX_ERROR_SUMMARY - 20)}... [truncated]`;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRecord(row: Row): RunRecord {
  const counts: ResourceCounts | null =
    row.count_create === null || row.count_create === undefined
      ? null
      : {
          create: Number(row.count_create),
          update: Number(row.count_update),
          delete: Number(row.count_delete),
          replace: Number(row.count_replace),
          read: Number(row.count_read),
        };
  const approvers = str(row.approvers);
  return {
    id: String(row.id),
    stack: String(row.stack),
    environment: str(row.environment),
    action: String(row.action) as RunAction,
    status: String(row.status) as RunStatus,
    commitSha: str(row.commit_sha),
    ref: str(row.ref),
    actor: str(row.actor),
    ciRunId: str(row.ci_run_id),
    ciRunAttempt: num(row.ci_run_attempt),
    ciRunUrl: str(row.ci_run_url),
    roleArn: str(row.role_arn),
    accountId: str(row.account_id),
    terraformVersion: str(row.terraform_version),
    planRunId: str(row.plan_run_id),
    planSha256: str(row.plan_sha256),
    counts,
    approvers: approvers === null ? null : (JSON.parse(approvers) as string[]),
    startedAt: String(row.started_at),
    heartbeatAt: String(row.heartbeat_at),
    finishedAt: str(row.finished_at),
    exitCode: num(row.exit_code),
    errorSummary: str(row.error_summary),
    note: str(row.note),
    host: str(row.host),
    pid: num(row.pid),
    acknowledgedAt: str(row.acknowledged_at),
    acknowledgedBy: str(row.acknowledged_by),
    ackReason: str(row.ack_reason),
  };
}
