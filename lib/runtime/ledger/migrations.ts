/**
 * Versioned migrations of the ledger schema. Each version is a list of single statements (the RDS
 * Data API runs one statement per call). Applied in one transaction under an advisory lock, and
 * recorded in `schema_migrations`, so concurrent `migrate()` calls are safe. Never edit a released
 * version: add the next one.
 */
import { ACK_COLUMNS, CHAIN_COLUMNS, chainLink, finishedRowRules, noTruncate, sqlArray } from './chain-sql';
import { deploymentsMigration } from './deployments-schema';
import type { SqlExecutor } from './driver';
import { LedgerError } from './types';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** Any fixed number: the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_301_114_205;

/** Columns of a run fixed when it starts: no update may change them, even while it runs. */
const IDENTITY_COLUMNS = [
  'id',
  'seq',
  'stack',
  'environment',
  'action',
  'commit_sha',
  'ref',
  'actor',
  'ci_run_id',
  'ci_run_attempt',
  'ci_run_url',
  'role_arn',
  'account_id',
  'plan_run_id',
  'started_at',
  'host',
  'pid',
];

/**
 * Migration 2: `terraform_runs` becomes append-only for everyone (a trigger, so the owner too unless
 * they disable it: that takes DDL rights, and the hash chain shows what they changed), and every
 * finished row is hash-chained (see `chain.ts`). Rows finished before this migration keep no link:
 * `legacy_max_seq` records where the chain begins.
 */
function appendOnlyAndHashChain(): string[] {
  const hex64 = (column: string) => `CHECK (${column} ~ '^[0-9a-f]{64}$')`;
  return [
    `ALTER TABLE terraform_runs
       ADD COLUMN chain_seq bigint UNIQUE,
       ADD COLUMN chain_hash text ${hex64('chain_hash')},
       ADD COLUMN ack_chain_seq bigint UNIQUE,
       ADD COLUMN ack_chain_hash text ${hex64('ack_chain_hash')}`,
    // The one-row chain head: the last link's number and hash. Holding it FOR UPDATE serialises links.
    `CREATE TABLE terraform_runs_chain_head (
       one boolean PRIMARY KEY DEFAULT true CHECK (one),
       seq bigint NOT NULL CHECK (seq >= 0),
       hash text NOT NULL ${hex64('hash')},
       legacy_max_seq bigint NOT NULL,
       started_at timestamptz NOT NULL DEFAULT clock_timestamp()
     )`,
    // ALTER TABLE above holds the table's ACCESS EXCLUSIVE lock: no run is being written meanwhile.
    `INSERT INTO terraform_runs_chain_head (seq, hash, legacy_max_seq)
       SELECT 0, repeat('0', 64), COALESCE(max(seq), 0) FROM terraform_runs`,
    // A named argument, never `$1`: the Data API backend rewrites `$<n>` into its `:p<n>` parameters.
    `CREATE FUNCTION terraform_runs_chain_field(v text) RETURNS text LANGUAGE sql AS
       $$ SELECT CASE WHEN v IS NULL THEN 'n' ELSE 'v' || octet_length(convert_to(v, 'UTF8')) || ':' || v END $$`,
    // The guard: no DELETE; a running row keeps its identity; a finished row changes only by the
    // ledger's own steps (its chain link, once; an abandoned run's acknowledgement, once, then its link).
    `CREATE FUNCTION terraform_runs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       changed text[];
     BEGIN
       IF TG_OP = 'DELETE' THEN
         RAISE EXCEPTION 'terraform_runs is append-only: run % cannot be deleted', OLD.id
           USING ERRCODE = 'insufficient_privilege',
                 HINT = 'finished rows are hash-chained; gantry ledger verify reports a missing one';
       END IF;
       IF TG_OP = 'INSERT' THEN
         IF NEW.chain_seq IS NOT NULL OR NEW.chain_hash IS NOT NULL
            OR NEW.ack_chain_seq IS NOT NULL OR NEW.ack_chain_hash IS NOT NULL THEN
           RAISE EXCEPTION 'terraform_runs: run % cannot be inserted with a chain link; the database links finished rows', NEW.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END IF;
       SELECT COALESCE(array_agg(n.key ORDER BY n.key), '{}') INTO changed
         FROM jsonb_each(to_jsonb(NEW)) AS n
        WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key;
       IF OLD.status = 'running' THEN
         IF changed && ${sqlArray([...IDENTITY_COLUMNS, ...CHAIN_COLUMNS, ...ACK_COLUMNS])} THEN
           RAISE EXCEPTION 'terraform_runs: run % is running; only its heartbeat and its outcome may change (attempted: %)',
             OLD.id, array_to_string(changed, ', ')
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END IF;
${finishedRowRules("OLD.status = 'abandoned'")}       RAISE EXCEPTION 'terraform_runs: run % is % (finished): a finished row is never rewritten (attempted: %)',
         OLD.id, OLD.status, COALESCE(NULLIF(array_to_string(changed, ', '), ''), 'no change')
         USING ERRCODE = 'insufficient_privilege',
               HINT = 'only an abandoned run changes after it finished: its acknowledgement, once (gantry ledger ack)';
     END $$`,
    `CREATE TRIGGER terraform_runs_guard BEFORE INSERT OR UPDATE OR DELETE ON terraform_runs
       FOR EACH ROW EXECUTE FUNCTION terraform_runs_guard()`,
    ...noTruncate('terraform_runs'),
    // The link writer runs as the owner (SECURITY DEFINER): the writer role may neither write the
    // chain columns nor the head itself. It fires at commit (deferred), after the transaction took
    // every row lock it needs, so waiting for the head cannot deadlock with another finish.
    ...chainLink('terraform_runs', {
      finished: "r.status <> 'running'",
      finishKind: 'finish',
      ackKind: 'ack',
      when: "NEW.status <> 'running'",
    }),
  ];
}

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
  {
    version: 2,
    name: 'append_only_and_hash_chain',
    statements: appendOnlyAndHashChain(),
  },
  {
    version: 3,
    name: 'deployments',
    statements: deploymentsMigration(),
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
    // A writer (no CREATE on the schema) must get past this too: `CREATE TABLE IF NOT EXISTS` checks
    // the schema privilege before it looks for the table.
    const present = await tx.query('SELECT to_regclass($1) IS NOT NULL AS present', ['schema_migrations']);
    if (present[0]?.present !== true) {
      await tx.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
      );
    }
    const rows = await tx.query('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) {
        try {
          await tx.query(statement);
        } catch (error) {
          // 42501: insufficient_privilege, e.g. the writer role running a newer gantry first (the
          // Data API reports it in the message: `ERROR: ...; SQLState: 42501`).
          const { code, message } = error as { code?: string; message?: string };
          if (code === '42501' || /SQLState: 42501\b/.test(message ?? '')) {
            throw new LedgerError(
              `migration ${migration.version} (${migration.name}) needs the ledger's owner: ${(error as Error).message}; ` +
                'run `gantry ledger migrate` connected as the owner of terraform_runs',
              { cause: error },
            );
          }
          throw error;
        }
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
