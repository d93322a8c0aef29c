/**
 * Migration 3: releases. `terraform_runs` learns the lifecycle's actions (`deploy`, `rollback`,
 * `migrate`, `verify`) and the status `succeeded`; at most one active deploy or rollback per
 * environment, decided by a unique index; and a `deployments` table, one row per service per deploy
 * run, with the guarantees of `terraform_runs`: no DELETE or TRUNCATE, a row's identity (what was
 * deployed where, from which commit, by whom) fixed at insert, its status only moving forward
 * (`deploying` -> `deployed` -> `verified`, or to `failed` / `rolled_back`), a finished row never
 * rewritten but for a blocked commit's acknowledgement (once), and every finished row (and
 * acknowledgement) a link in the same hash chain as the runs (see `chain.ts`).
 */
import { ACK_COLUMNS, CHAIN_COLUMNS, chainLink, finishedRowRules, noTruncate, sqlArray } from './chain-sql';

export const DEPLOYMENT_STATUSES = ['deploying', 'deployed', 'verified', 'rolled_back', 'failed'] as const;

/** Fixed when a deployment row is inserted. */
export const DEPLOYMENT_IDENTITY_COLUMNS = [
  'id',
  'seq',
  'run_id',
  'environment',
  'service',
  'image_tag',
  'previous_tag',
  'commit_sha',
  'actor',
  'started_at',
];

/** A deploy or rollback that holds its environment: running, or abandoned and not acknowledged. */
export const ACTIVE_DEPLOY = `action IN ('deploy', 'rollback') AND (status = 'running' OR (status = 'abandoned' AND acknowledged_at IS NULL))`;

export function deploymentsMigration(): string[] {
  const hex64 = (column: string) => `CHECK (${column} ~ '^[0-9a-f]{64}$')`;
  return [
    `ALTER TABLE terraform_runs DROP CONSTRAINT terraform_runs_action_check,
       ADD CONSTRAINT terraform_runs_action_check
         CHECK (action IN ('plan', 'apply', 'drift', 'deploy', 'rollback', 'migrate', 'verify'))`,
    `ALTER TABLE terraform_runs DROP CONSTRAINT terraform_runs_status_check,
       ADD CONSTRAINT terraform_runs_status_check
         CHECK (status IN ('running', 'planned', 'no_changes', 'drifted', 'applied', 'succeeded', 'failed', 'canceled', 'refused', 'abandoned'))`,
    // A deploy runs an apply of the services stack inside it: it holds the environment, the apply
    // the stack, two different indexes. Deploy runs always carry their environment.
    `ALTER TABLE terraform_runs ADD CONSTRAINT terraform_runs_deploy_environment
       CHECK (action NOT IN ('deploy', 'rollback') OR environment IS NOT NULL)`,
    `CREATE UNIQUE INDEX terraform_runs_one_active_deploy ON terraform_runs (environment) WHERE ${ACTIVE_DEPLOY}`,
    `CREATE TABLE deployments (
       seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
       id uuid PRIMARY KEY,
       -- The run: checked by the guard at insert (a running deploy of this environment), not a
       -- foreign key, which would turn the owner's TRUNCATE of terraform_runs into a key error.
       run_id uuid NOT NULL,
       environment text NOT NULL,
       service text NOT NULL,
       image_tag text NOT NULL,
       previous_tag text,
       task_definition text,
       digest text CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
       commit_sha text,
       actor text,
       status text NOT NULL CHECK (status IN (${DEPLOYMENT_STATUSES.map((s) => `'${s}'`).join(', ')})),
       reason text,
       started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       finished_at timestamptz,
       acknowledged_at timestamptz,
       acknowledged_by text,
       ack_reason text,
       chain_seq bigint UNIQUE,
       chain_hash text ${hex64('chain_hash')},
       ack_chain_seq bigint UNIQUE,
       ack_chain_hash text ${hex64('ack_chain_hash')},
       UNIQUE (run_id, service),
       CHECK (status <> 'deploying' OR finished_at IS NULL),
       CHECK (status NOT IN ('verified', 'rolled_back', 'failed') OR finished_at IS NOT NULL),
       CHECK (acknowledged_at IS NULL OR status IN ('rolled_back', 'failed'))
     )`,
    `CREATE INDEX deployments_environment_seq ON deployments (environment, service, seq DESC)`,
    `CREATE INDEX deployments_commit ON deployments (environment, commit_sha) WHERE status IN ('rolled_back', 'failed')`,
    `CREATE FUNCTION deployments_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       changed text[];
     BEGIN
       IF TG_OP = 'DELETE' THEN
         RAISE EXCEPTION 'deployments is append-only: deployment % cannot be deleted', OLD.id
           USING ERRCODE = 'insufficient_privilege',
                 HINT = 'finished rows are hash-chained; gantry ledger verify reports a missing one';
       END IF;
       IF TG_OP = 'INSERT' THEN
         IF NEW.chain_seq IS NOT NULL OR NEW.chain_hash IS NOT NULL OR NEW.ack_chain_seq IS NOT NULL
            OR NEW.ack_chain_hash IS NOT NULL OR NEW.acknowledged_at IS NOT NULL THEN
           RAISE EXCEPTION 'deployments: deployment % cannot be inserted with a chain link or an acknowledgement', NEW.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF NEW.status <> 'deploying' THEN
           RAISE EXCEPTION 'deployments: deployment % must be inserted deploying, not %', NEW.id, NEW.status
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF NOT EXISTS (SELECT 1 FROM terraform_runs t WHERE t.id = NEW.run_id AND t.status = 'running'
                          AND t.action IN ('deploy', 'rollback') AND t.environment = NEW.environment) THEN
           RAISE EXCEPTION 'deployments: run % is not a running deploy or rollback of environment %', NEW.run_id, NEW.environment
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END IF;
       SELECT COALESCE(array_agg(n.key ORDER BY n.key), '{}') INTO changed
         FROM jsonb_each(to_jsonb(NEW)) AS n
        WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key;
       IF OLD.finished_at IS NULL THEN
         IF changed && ${sqlArray([...DEPLOYMENT_IDENTITY_COLUMNS, ...CHAIN_COLUMNS, ...ACK_COLUMNS])} THEN
           RAISE EXCEPTION 'deployments: deployment % is %; only its status, reason, task definition, digest and times may change (attempted: %)',
             OLD.id, OLD.status, array_to_string(changed, ', ')
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF NOT (NEW.status = OLD.status
                 OR (OLD.status = 'deploying' AND NEW.status IN ('deployed', 'failed', 'rolled_back'))
                 OR (OLD.status = 'deployed' AND NEW.status IN ('verified', 'failed', 'rolled_back'))) THEN
           RAISE EXCEPTION 'deployments: deployment % cannot go from % to %', OLD.id, OLD.status, NEW.status
             USING ERRCODE = 'insufficient_privilege',
                   HINT = 'deploying -> deployed -> verified, or to failed / rolled_back';
         END IF;
         RETURN NEW;
       END IF;
${finishedRowRules("OLD.status IN ('rolled_back', 'failed')")}       RAISE EXCEPTION 'deployments: deployment % is % (finished): a finished row is never rewritten (attempted: %)',
         OLD.id, OLD.status, COALESCE(NULLIF(array_to_string(changed, ', '), ''), 'no change')
         USING ERRCODE = 'insufficient_privilege',
               HINT = 'only a failed or rolled-back deployment changes after it finished: its acknowledgement, once (gantry ledger ack)';
     END $$`,
    `CREATE TRIGGER deployments_guard BEFORE INSERT OR UPDATE OR DELETE ON deployments
       FOR EACH ROW EXECUTE FUNCTION deployments_guard()`,
    ...noTruncate('deployments'),
    // The same chain as the runs: one head, one gap-free sequence of links.
    ...chainLink('deployments', {
      finished: 'r.finished_at IS NOT NULL',
      finishKind: 'deployment',
      ackKind: 'deployment-ack',
      when: 'NEW.finished_at IS NOT NULL',
    }),
  ];
}
