/**
 * Versioned migrations of the ledger schema. Each version is a list of single statements (the RDS
 * Data API runs one statement per call). Applied in one transaction under an advisory lock, and
 * recorded in `schema_migrations`, so concurrent `migrate()` calls are safe. Never edit a released
 * version: add the next one.
 */
import type { SqlExecutor } from './driver';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** Any fixed number: the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_301_114_205;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'terraform_runs',
    statements: [
      `CREATE TABLE terraform_runs (
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        id uuid PRIMARY KEY,
        stack text NOT NULL,
        environment text,
        action text NOT NULL CHECK (action IN ('plan', 'apply', 'drift')),
        status text NOT NULL CHECK (status IN ('running', 'planned', 'no_changes', 'drifted', 'applied', 'failed', 'canceled', 'refused', 'abandoned')),
        commit_sha text,
        ref text,
        actor text,
        ci_run_id text,
        ci_run_attempt integer,
        ci_run_url text,
        role_arn text,
        account_id text,
        terraform_version text,
        plan_run_id uuid REFERENCES terraform_runs (id),
        plan_sha256 text CHECK (plan_sha256 ~ '^[0-9a-f]{64}$'),
        count_create integer,
        count_update integer,
        count_delete integer,
        count_replace integer,
        count_read integer,
        approvers jsonb,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        exit_code integer,
        error_summary text,
        note text,
        host text,
        pid integer,
        acknowledged_at timestamptz,
        acknowledged_by text,
        ack_reason text,
        CHECK ((status = 'running') = (finished_at IS NULL))
      )`,
      // At most one active apply per stack, decided by the database: a running apply, or an abandoned
      // one nobody has acknowledged yet (it may have left the stack half-applied).
      `CREATE UNIQUE INDEX terraform_runs_one_active_apply ON terraform_runs (stack)
        WHERE action = 'apply' AND (status = 'running' OR (status = 'abandoned' AND acknowledged_at IS NULL))`,
      `CREATE INDEX terraform_runs_stack_seq ON terraform_runs (stack, seq DESC)`,
      `CREATE INDEX terraform_runs_running ON terraform_runs (stack, heartbeat_at) WHERE status = 'running'`,
    ],
  },
];

/** Applies every pending migration; returns the versions applied by this call. */
export async function migrate(
  transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>) => Promise<T>,
): Promise<number[]> {
  return transaction(async (tx) => {
    await tx.query('SELECT count(*) AS locked FROM (SELECT pg_advisory_xact_lock(CAST($1 AS bigint))) AS l', [
      MIGRATION_LOCK,
    ]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const rows = await tx.query('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
