/**
 * The `terraform_runs` ledger's types: one row per run of `gantry plan|apply|drift`, written before
 * Terraform starts and closed after it ends. Never raw plan text: counts, hashes and a redacted
 * error summary only.
 */
import type { ChainReport, VerifyOptions } from './chain';
import type { WriterRoleOptions, WriterRoleReport } from './roles';

/** `deploy`, `rollback`, `migrate` and `verify` are the release lifecycle's (migration 3). */
export type RunAction = 'plan' | 'apply' | 'drift' | 'deploy' | 'rollback' | 'migrate' | 'verify';

/**
 * A run's status. Active: `running`. Final: `planned` (a plan was saved; it may show no changes),
 * `no_changes` / `drifted` (drift), `applied`, `failed`, `canceled` (SIGINT/SIGTERM), `refused` (a
 * guard said no; Terraform did not run), `abandoned` (its heartbeat lapsed: the process died).
 */
export type RunStatus =
  | 'running'
  | 'planned'
  | 'no_changes'
  | 'drifted'
  | 'applied'
  | 'succeeded'
  | 'failed'
  | 'canceled'
  | 'refused'
  | 'abandoned';

export const RUN_STATUSES: readonly RunStatus[] = [
  'running',
  'planned',
  'no_changes',
  'drifted',
  'applied',
  'succeeded',
  'failed',
  'canceled',
  'refused',
  'abandoned',
];

export const RUN_ACTIONS: readonly RunAction[] = [
  'plan',
  'apply',
  'drift',
  'deploy',
  'rollback',
  'migrate',
  'verify',
];

/** Resource counts of a plan. */
export interface ResourceCounts {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly replace: number;
  readonly read: number;
}

/** Who, what and where: written when a run starts. */
export interface StartRunInput {
  readonly stack: string;
  readonly action: RunAction;
  readonly environment?: string | null;
  readonly commitSha?: string | null;
  readonly ref?: string | null;
  readonly actor?: string | null;
  readonly ciRunId?: string | null;
  readonly ciRunAttempt?: number | null;
  readonly ciRunUrl?: string | null;
  readonly roleArn?: string | null;
  readonly accountId?: string | null;
  readonly terraformVersion?: string | null;
  /** For `apply`: the plan run whose saved plan is applied. */
  readonly planRunId?: string | null;
  readonly planSha256?: string | null;
  /** Host and pid of the process running Terraform (for operators reading an abandoned row). */
  readonly host?: string | null;
  readonly pid?: number | null;
}

/** How a run ended. */
export interface FinishRunInput {
  readonly status: Exclude<RunStatus, 'running' | 'abandoned'>;
  readonly exitCode: number;
  readonly counts?: ResourceCounts | null;
  readonly planSha256?: string | null;
  readonly terraformVersion?: string | null;
  readonly approvers?: readonly string[] | null;
  /** Why a guard refused, or a redacted summary of the error. Never plan text. */
  readonly errorSummary?: string | null;
  /** An operator's note, e.g. the reason given with `--allow-older`. */
  readonly note?: string | null;
}

/** A refused attempt, recorded as a closed row (it never held the stack). */
export interface RefusalInput extends StartRunInput {
  readonly reason: string;
  readonly approvers?: readonly string[] | null;
}

/** One row of `terraform_runs`, as read back. Times are ISO-8601 UTC strings from the database clock. */
export interface RunRecord {
  readonly id: string;
  readonly stack: string;
  readonly environment: string | null;
  readonly action: RunAction;
  readonly status: RunStatus;
  readonly commitSha: string | null;
  readonly ref: string | null;
  readonly actor: string | null;
  readonly ciRunId: string | null;
  readonly ciRunAttempt: number | null;
  readonly ciRunUrl: string | null;
  readonly roleArn: string | null;
  readonly accountId: string | null;
  readonly terraformVersion: string | null;
  readonly planRunId: string | null;
  readonly planSha256: string | null;
  readonly counts: ResourceCounts | null;
  readonly approvers: readonly string[] | null;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly errorSummary: string | null;
  readonly note: string | null;
  readonly host: string | null;
  readonly pid: number | null;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly ackReason: string | null;
}

export interface RunFilter {
  readonly stack?: string;
  readonly environment?: string;
  readonly action?: RunAction;
  readonly status?: RunStatus;
  readonly id?: string;
  /** @default 50 */
  readonly limit?: number;
}

export interface ReapOptions {
  /** Rows whose last heartbeat is older than this many seconds are abandoned. @default 120 */
  readonly olderThanSeconds?: number;
  /** Only this stack. @default every stack */
  readonly stack?: string;
}

/**
 * A deployment's status. Open: `deploying` (the new task definition is rolling out), `deployed`
 * (the rollout completed; migrations and verify may still run). Final: `deployed` once the run has
 * ended without a verify check, `verified` (the external checks passed), `failed` (the rollout,
 * the migration or verify failed and nothing was rolled back, e.g. no verified version to go back
 * to), `rolled_back` (the circuit breaker, an alarm or gantry put the previous version back).
 */
export type DeploymentStatus = 'deploying' | 'deployed' | 'verified' | 'rolled_back' | 'failed';

/** One service of a deploy run, as `startDeploy` writes it. */
export interface DeploymentInput {
  readonly service: string;
  readonly imageTag: string;
  readonly previousTag?: string | null;
  readonly taskDefinition?: string | null;
  readonly digest?: string | null;
}

export interface StartDeployInput extends Omit<StartRunInput, 'action'> {
  readonly action: 'deploy' | 'rollback';
  readonly environment: string;
  readonly services: readonly DeploymentInput[];
}

export interface DeploymentUpdate {
  readonly status: DeploymentStatus;
  readonly reason?: string | null;
  readonly taskDefinition?: string | null;
  readonly digest?: string | null;
  /** Closes the row (`verified`, `failed` and `rolled_back` always do). */
  readonly final?: boolean;
}

/** One row of `deployments`, as read back. */
export interface DeploymentRecord {
  readonly id: string;
  readonly runId: string;
  readonly environment: string;
  readonly service: string;
  readonly imageTag: string;
  readonly previousTag: string | null;
  readonly taskDefinition: string | null;
  readonly digest: string | null;
  readonly commitSha: string | null;
  readonly actor: string | null;
  readonly status: DeploymentStatus;
  readonly reason: string | null;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly ackReason: string | null;
}

export interface DeploymentFilter {
  readonly environment?: string;
  readonly service?: string;
  readonly runId?: string;
  readonly status?: DeploymentStatus;
  readonly imageTag?: string;
  /**
   * Only the rows that ended good, as `lastGood` counts them: `verified`, or `deployed` and finished (a
   * service without a check). @default every row
   */
  readonly good?: boolean;
  /** Only the rows that recorded the image's digest. @default every row */
  readonly withDigest?: boolean;
  /** @default 50 */
  readonly limit?: number;
}

/** The ledger: a `terraform_runs` table behind one of three backends. */
export interface Ledger {
  /** `pglite`, `pg` or `rds-data`. */
  readonly backend: 'pglite' | 'pg' | 'rds-data';
  /** Applies pending migrations (idempotent, safe to run concurrently). Returns the versions applied now. */
  migrate(): Promise<number[]>;
  /**
   * Writes a `running` row. For `apply`, the database admits at most one active apply per stack (an
   * abandoned, unacknowledged apply counts as active): a second one throws `StackBusyError`.
   */
  startRun(input: StartRunInput): Promise<RunRecord>;
  /** Writes a closed `refused` row. */
  recordRefusal(input: RefusalInput): Promise<RunRecord>;
  /** Refreshes a running row's heartbeat; false when the row is no longer running (reaped). */
  heartbeat(id: string): Promise<boolean>;
  /** Closes a running row. Throws when the row is not running any more (for example reaped meanwhile). */
  finishRun(id: string, result: FinishRunInput): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | null>;
  /** Newest first. */
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Marks running rows with a lapsed heartbeat `abandoned`; returns them. */
  reap(options?: ReapOptions): Promise<RunRecord[]>;
  /** Acknowledges an abandoned apply so the stack accepts applies again. */
  ack(id: string, by: string, reason: string): Promise<RunRecord>;
  /** Walks the hash chain of finished rows: a deleted or edited row is a problem (see `chain.ts`). */
  verify(options?: VerifyOptions): Promise<ChainReport>;
  /** Creates the writer role if missing and sets its grants; as the owner (see `roles.ts`). */
  setUpWriterRole(options?: WriterRoleOptions): Promise<WriterRoleReport>;
  /**
   * Writes a `running` deploy (or rollback) run and one `deploying` row per service, in one
   * transaction. The database admits one active deploy per environment: a second throws
   * `EnvironmentBusyError`.
   */
  startDeploy(input: StartDeployInput): Promise<{ run: RunRecord; deployments: DeploymentRecord[] }>;
  /** Moves a deployment forward (the trigger refuses any other move). */
  updateDeployment(id: string, update: DeploymentUpdate): Promise<DeploymentRecord>;
  /** Newest first. */
  listDeployments(filter?: DeploymentFilter): Promise<DeploymentRecord[]>;
  /**
   * Per service of the environment, its newest row that ended `verified` (or `deployed` with no
   * check), i.e. the version a rollback goes back to. With `beforeRunId`: as of before that run.
   */
  lastGood(
    environment: string,
    options?: { beforeRunId?: string; runId?: string },
  ): Promise<DeploymentRecord[]>;
  /** The unacknowledged failed or rolled-back deployments of a commit in an environment (it is blocked). */
  blockingDeployments(environment: string, commitSha: string): Promise<DeploymentRecord[]>;
  /** Acknowledges a blocked commit: every blocking row of it, once. Returns them. */
  ackCommit(environment: string, commitSha: string, by: string, reason: string): Promise<DeploymentRecord[]>;
  close(): Promise<void>;
}

/** A second active deploy of an environment: the database's unique index refused it. */
export class EnvironmentBusyError extends Error {
  constructor(
    public readonly environment: string,
    public readonly holder: RunRecord | null,
  ) {
    super(
      holder
        ? `environment ${environment}: ${holder.action} ${holder.id} is ${holder.status} (started ${holder.startedAt} by ` +
            `${holder.actor ?? 'unknown'}${holder.commitSha ? ` from ${holder.commitSha.slice(0, 12)}` : ''})` +
            (holder.status === 'abandoned'
              ? `; check the services, then \`gantry ledger ack ${holder.id} --reason "..."\``
              : '; wait for it to finish')
        : `environment ${environment}: another deploy holds the environment`,
    );
    this.name = 'EnvironmentBusyError';
  }
}

/** A second active apply on a stack: the database's unique index refused it. */
export class StackBusyError extends Error {
  constructor(
    public readonly stack: string,
    /** The row that holds the stack, when it could be read. */
    public readonly holder: RunRecord | null,
  ) {
    super(describeHolder(stack, holder));
    this.name = 'StackBusyError';
  }
}

function describeHolder(stack: string, holder: RunRecord | null): string {
  if (!holder) return `stack ${stack}: another apply holds the stack`;
  if (holder.status === 'abandoned') {
    return (
      `stack ${stack}: apply ${holder.id} (started ${holder.startedAt} by ${holder.actor ?? 'unknown'}) was abandoned ` +
      `and may have left the stack half-applied; check the state, then run ` +
      `\`gantry ledger ack ${holder.id} --reason "..."\` to allow applies again`
    );
  }
  return (
    `stack ${stack}: apply ${holder.id} is running (started ${holder.startedAt} by ${holder.actor ?? 'unknown'}, ` +
    `last heartbeat ${holder.heartbeatAt}); wait for it to finish`
  );
}

/** The ledger could not be opened, migrated or written. */
export class LedgerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
  }
}

/** `finishRun` of a row that is not running any more (finished, or abandoned meanwhile). */
export class RunNotRunningError extends LedgerError {
  constructor(message: string) {
    super(message);
    this.name = 'RunNotRunningError';
  }
}
