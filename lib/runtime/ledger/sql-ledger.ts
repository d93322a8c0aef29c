/**
 * The ledger over any `SqlDriver`: every statement is parameterised, times come from the database's
 * clock, and the "one active apply per stack" rule is the unique index's, never a check-then-insert.
 */
import { randomUUID } from 'node:crypto';
import { verifyChain, type ChainReport, type VerifyOptions } from './chain';
import type { Row, SqlDriver, SqlParam } from './driver';
import { migrate } from './migrations';
import { ACTIVE_DEPLOY } from './deployments-schema';
import {
  setUpWriterRole,
  WRITER_DEPLOYMENT_INSERT_COLUMNS,
  WRITER_INSERT_COLUMNS,
  type WriterRoleOptions,
  type WriterRoleReport,
} from './roles';
import {
  EnvironmentBusyError,
  LedgerError,
  RunNotRunningError,
  StackBusyError,
  type DeploymentFilter,
  type DeploymentRecord,
  type DeploymentStatus,
  type DeploymentUpdate,
  type FinishRunInput,
  type StartDeployInput,
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

/** Abandons the lapsed deploy runs of the environment in parameter `environment`. */
const reapEnvironment = (environment: string, seconds: string) =>
  `UPDATE terraform_runs SET status = 'abandoned', finished_at = clock_timestamp(),
   error_summary = COALESCE(error_summary, 'heartbeat lapsed: the process running the deploy stopped without closing this row')
   WHERE environment = ${environment} AND action IN ('deploy', 'rollback') AND status = 'running'
     AND heartbeat_at < clock_timestamp() - make_interval(secs => CAST(${seconds} AS double precision))`;

const DEPLOYMENT_COLUMNS = [
  'CAST(id AS text) AS id',
  'CAST(run_id AS text) AS run_id',
  'environment',
  'service',
  'image_tag',
  'previous_tag',
  'task_definition',
  'digest',
  'commit_sha',
  'actor',
  'status',
  'reason',
  ts('started_at'),
  ts('updated_at'),
  ts('finished_at'),
  ts('acknowledged_at'),
  'acknowledged_by',
  'ack_reason',
].join(', ');

/** A deployment that counts as a good version: verified, or finished deployed (no check configured). */
const GOOD = `(status = 'verified' OR (status = 'deployed' AND finished_at IS NOT NULL))`;
const FINAL_DEPLOYMENT: readonly DeploymentStatus[] = ['verified', 'failed', 'rolled_back'];

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
    db: { query: SqlDriver['query'] } = this.driver,
    holds: 'stack' | 'environment' = 'stack',
  ): Promise<Row[]> {
    const closed = status !== 'running';
    const reaper = holds === 'stack' ? reapStack('$2', '$23') : reapEnvironment('$3', '$23');
    const reap = reapAfterSeconds === null ? '' : `WITH reaped AS (${reaper})\n`;
    const conflict =
      holds === 'stack' ? `(stack) WHERE ${ACTIVE_APPLY}` : `(environment) WHERE ${ACTIVE_DEPLOY}`;
    const rows = await db.query(
      // The writer role's INSERT grant is this very column list.
      `${reap}INSERT INTO terraform_runs (${WRITER_INSERT_COLUMNS.join(', ')})
       VALUES (CAST($1 AS uuid), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CAST($15 AS uuid), $16, $17,
         $18, $19, CAST($20 AS jsonb), $21, CASE WHEN $22 THEN clock_timestamp() END)
       ON CONFLICT ${conflict} DO NOTHING
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

  async startDeploy(input: StartDeployInput): Promise<{ run: RunRecord; deployments: DeploymentRecord[] }> {
    const names = input.services.map((s) => s.service);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined)
      throw new LedgerError(`startDeploy: service ${JSON.stringify(duplicate)} is listed twice`);
    const started = await this.driver.transaction(async (tx) => {
      const rows = await this.insert(input, 'running', null, null, this.lapseSeconds, tx, 'environment');
      if (rows.length !== 1) return null;
      const run = toRecord(rows[0]);
      const deployments: DeploymentRecord[] = [];
      for (const service of input.services) {
        const [row] = await tx.query(
          `INSERT INTO deployments (${WRITER_DEPLOYMENT_INSERT_COLUMNS.join(', ')})
           VALUES (CAST($1 AS uuid), CAST($2 AS uuid), $3, $4, $5, $6, $7, $8, $9, $10, 'deploying', NULL)
           RETURNING ${DEPLOYMENT_COLUMNS}`,
          [
            randomUUID(),
            run.id,
            input.environment,
            service.service,
            service.imageTag,
            service.previousTag ?? null,
            service.taskDefinition ?? null,
            service.digest ?? null,
            input.commitSha ?? null,
            input.actor ?? null,
          ],
        );
        deployments.push(toDeployment(row));
      }
      return { run, deployments };
    });
    if (started) return started;
    const holders = await this.driver.query(
      `SELECT ${COLUMNS} FROM terraform_runs WHERE environment = $1 AND ${ACTIVE_DEPLOY} LIMIT 1`,
      [input.environment],
    );
    throw new EnvironmentBusyError(input.environment, holders[0] ? toRecord(holders[0]) : null);
  }

  async updateDeployment(id: string, update: DeploymentUpdate): Promise<DeploymentRecord> {
    const final = update.final === true || FINAL_DEPLOYMENT.includes(update.status);
    const rows = UUID.test(id)
      ? await this.driver.query(
          `UPDATE deployments SET status = $2, reason = COALESCE($3, reason),
             task_definition = COALESCE($4, task_definition), digest = COALESCE($5, digest),
             updated_at = clock_timestamp(), finished_at = CASE WHEN $6 THEN clock_timestamp() END
           WHERE id = CAST($1 AS uuid) AND finished_at IS NULL
           RETURNING ${DEPLOYMENT_COLUMNS}`,
          [
            id,
            update.status,
            update.reason ? truncate(update.reason) : null,
            update.taskDefinition ?? null,
            update.digest ?? null,
            final,
          ],
        )
      : [];
    if (rows.length === 1) return toDeployment(rows[0]);
    const [existing] = await this.listDeploymentRows('id = CAST($1 AS uuid)', [id], 1);
    throw existing
      ? new LedgerError(
          `deployment ${id} (${existing.service}) is ${existing.status} and finished: a finished row is never rewritten`,
        )
      : new LedgerError(`deployment ${JSON.stringify(id)} does not exist in the ledger`);
  }

  private async listDeploymentRows(
    where: string,
    params: SqlParam[],
    limit: number,
  ): Promise<DeploymentRecord[]> {
    params.push(limit);
    const rows = await this.driver.query(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments ${where ? `WHERE ${where}` : ''}
       ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toDeployment);
  }

  async listDeployments(filter: DeploymentFilter = {}): Promise<DeploymentRecord[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const add = (column: string, value: string | undefined, cast = '') => {
      if (value === undefined) return;
      params.push(value);
      where.push(cast ? `${column} = CAST($${params.length} AS ${cast})` : `${column} = $${params.length}`);
    };
    if (filter.runId !== undefined && !UUID.test(filter.runId)) return [];
    add('environment', filter.environment);
    add('service', filter.service);
    add('run_id', filter.runId, 'uuid');
    add('status', filter.status);
    add('image_tag', filter.imageTag);
    if (filter.good) where.push(GOOD);
    if (filter.withDigest) where.push('digest IS NOT NULL');
    return this.listDeploymentRows(where.join(' AND '), params, filter.limit ?? 50);
  }

  async lastGood(
    environment: string,
    options: { beforeRunId?: string; runId?: string } = {},
  ): Promise<DeploymentRecord[]> {
    for (const id of [options.beforeRunId, options.runId]) {
      if (id !== undefined && !UUID.test(id))
        throw new LedgerError(`run ${JSON.stringify(id)} is not a run id`);
    }
    const params: SqlParam[] = [environment];
    let scope = '';
    if (options.runId !== undefined) {
      params.push(options.runId);
      scope = `AND run_id = CAST($${params.length} AS uuid)`;
    } else if (options.beforeRunId !== undefined) {
      params.push(options.beforeRunId);
      scope = `AND seq < (SELECT COALESCE(min(seq), 0) FROM deployments WHERE run_id = CAST($${params.length} AS uuid))`;
    }
    const rows = await this.driver.query(
      `SELECT * FROM (
         SELECT DISTINCT ON (service) seq AS s, ${DEPLOYMENT_COLUMNS} FROM deployments
          WHERE environment = $1 AND ${GOOD} ${scope}
          ORDER BY service, seq DESC
       ) AS good ORDER BY service`,
      params,
    );
    return rows.map(toDeployment);
  }

  async blockingDeployments(environment: string, commitSha: string): Promise<DeploymentRecord[]> {
    return this.listDeploymentRows(
      `environment = $1 AND commit_sha = $2 AND status IN ('rolled_back', 'failed') AND acknowledged_at IS NULL`,
      [environment, commitSha],
      1000,
    );
  }

  async ackCommit(
    environment: string,
    commitSha: string,
    by: string,
    reason: string,
  ): Promise<DeploymentRecord[]> {
    if (reason.trim().length === 0)
      throw new LedgerError('ledger ack: --reason must say why the commit may be deployed again');
    const rows = await this.driver.query(
      `UPDATE deployments SET acknowledged_at = clock_timestamp(), acknowledged_by = $3, ack_reason = $4
       WHERE environment = $1 AND commit_sha = $2 AND status IN ('rolled_back', 'failed')
         AND finished_at IS NOT NULL AND acknowledged_at IS NULL
       RETURNING ${DEPLOYMENT_COLUMNS}`,
      [environment, commitSha, by, truncate(reason)],
    );
    if (rows.length === 0)
      throw new LedgerError(
        `ledger ack: commit ${commitSha} is not blocked in ${environment} (no unacknowledged failed or rolled-back deployment of it)`,
      );
    return rows.map(toDeployment);
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

function toDeployment(row: Row): DeploymentRecord {
  return {
    id: String(row.id),
    runId: String(row.run_id),
    environment: String(row.environment),
    service: String(row.service),
    imageTag: String(row.image_tag),
    previousTag: str(row.previous_tag),
    taskDefinition: str(row.task_definition),
    digest: str(row.digest),
    commitSha: str(row.commit_sha),
    actor: str(row.actor),
    status: String(row.status) as DeploymentStatus,
    reason: str(row.reason),
    startedAt: String(row.started_at),
    updatedAt: String(row.updated_at),
    finishedAt: str(row.finished_at),
    acknowledgedAt: str(row.acknowledged_at),
    acknowledgedBy: str(row.acknowledged_by),
    ackReason: str(row.ack_reason),
  };
}
