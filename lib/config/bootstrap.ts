/**
 * What an environment's bootstrap stack (`<env>-bootstrap`) creates before anything else: the state
 * bucket every other stack of the environment keeps its state in, and optionally the ledger's Aurora
 * database. With `bootstrap` set, the other stacks' S3 backend is computed from the same names
 * (`resolveStateBackend`), so the bucket is never typed twice. With `bootstrap: { shared: true }` the
 * environment has no bootstrap stack: its state lives in the shared tooling account's bucket (`./tooling`).
 */
import { GantryConfigError, FieldProblems, show, type FieldProblem } from '../core/errors';
import { bucketNameProblem } from '../core/identifiers';
import { kmsAliasArn, stateBucketName, stateKeyAlias } from '../core/naming';
import { DEFAULT_STATE_KEY_PREFIX, type S3StateBackendConfig } from './state';

export interface StateBucketSettings {
  /** Days a replaced or deleted state version is kept before it expires (1..3650). @default 90 */
  readonly noncurrentVersionExpiryDays?: number;
  /** Noncurrent versions always kept, whatever their age (1..100). @default none: each expires by age */
  readonly noncurrentVersionsKept?: number;
}

export interface LedgerDatabaseSettings {
  /** The database the ledger's tables live in. @default 'gantry' */
  readonly databaseName?: string;
  /** Aurora PostgreSQL engine version (Serverless v2 and the Data API need 13.11+, 14.8+, 15.3+ or 16.1+). @default '16.6' */
  readonly engineVersion?: string;
  /** Serverless v2 capacity range in ACUs (0..256, in steps of 0.5; min <= max). @default { min: 0.5, max: 2 } */
  readonly capacity?: { readonly minAcu: number; readonly maxAcu: number };
  /** Automated backups kept, in days (1..35). @default 7 */
  readonly backupRetentionDays?: number;
  /** Days between rotations of the master password Secrets Manager holds (1..365). @default 7 */
  readonly passwordRotationDays?: number;
}

export interface BootstrapConfig {
  /** @default versioned, KMS-encrypted, old versions expire after 90 days */
  readonly stateBucket?: StateBucketSettings;
  /** The ledger's Aurora PostgreSQL Serverless v2 cluster (Data API). @default none: no database */
  readonly ledger?: LedgerDatabaseSettings;
  /**
   * `true`: no bootstrap stack of the environment's own; its stacks keep their state in the bucket of the
   * shared tooling account (`GantryConfig.tooling`), whose policy admits this environment's plan, apply
   * and deploy roles. Excludes `stateBucket`, `ledger` and `stateBackend`. @default false
   */
  readonly shared?: boolean;
}

/** The parts of an account a bootstrap stack's names are computed from (an environment or the tooling account). */
export interface BootstrapAccount {
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
}

/** The defaults of `BootstrapConfig`, resolved once. */
export const BOOTSTRAP_DEFAULTS = {
  noncurrentVersionExpiryDays: 90,
  databaseName: 'gantry',
  engineVersion: '16.6',
  capacity: { minAcu: 0.5, maxAcu: 2 },
  backupRetentionDays: 7,
  passwordRotationDays: 7,
} as const;

/** The S3 backend of an environment's stacks whose bootstrap stack made the bucket: computed names. */
export function bootstrapStateBackend(
  org: string,
  env: { name: string; accountId: string },
): S3StateBackendConfig {
  return {
    bucket: stateBucketName(org, env.name, env.accountId),
    keyPrefix: DEFAULT_STATE_KEY_PREFIX,
    kmsKeyId: `alias/${stateKeyAlias(org, env.name)}`,
  };
}

/**
 * The S3 backend of the stacks of the environments that share the tooling account's bucket: that bucket,
 * in its region, and its key by alias ARN (a bare alias would resolve in the environment's account).
 */
export function toolingStateBackend(org: string, tooling: BootstrapAccount): S3StateBackendConfig {
  return {
    bucket: stateBucketName(org, tooling.name, tooling.accountId),
    region: tooling.region,
    keyPrefix: DEFAULT_STATE_KEY_PREFIX,
    kmsKeyId: kmsAliasArn(tooling.accountId, tooling.region, stateKeyAlias(org, tooling.name)),
  };
}

/**
 * The state backend of an environment's stacks: the one given (`stateBackend`), else the bootstrap
 * stack's bucket when `bootstrap` is set, or the tooling account's (`tooling`) with `bootstrap.shared`,
 * else none (local state).
 */
export function resolveStateBackend(
  org: string,
  env: { name: string; accountId: string; stateBackend?: S3StateBackendConfig; bootstrap?: BootstrapConfig },
  tooling?: BootstrapAccount,
): S3StateBackendConfig | undefined {
  if (env.stateBackend) return env.stateBackend;
  if (!env.bootstrap) return undefined;
  if (env.bootstrap.shared !== true) return bootstrapStateBackend(org, env);
  if (!tooling) {
    throw new GantryConfigError(
      `${env.name}.bootstrap.shared: true, but no tooling account is given (GantryConfig.tooling, or the stack's tooling prop): the shared state bucket is the tooling account's`,
    );
  }
  return toolingStateBackend(org, tooling);
}

const DATABASE_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const ENGINE_VERSION = /^(1[3-9]|[2-9]\d)\.\d+$/;
/** Reserved by Aurora PostgreSQL: not a database name. */
const RESERVED_DATABASES = new Set(['postgres', 'template0', 'template1', 'rdsadmin']);

function integerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Problems of `bootstrap` (fields relative to it); `org` and `env` name the computed bucket. */
export function bootstrapProblems(
  bootstrap: BootstrapConfig,
  org: string,
  env: { name: string; accountId: string; stateBackend?: S3StateBackendConfig },
): FieldProblem[] {
  const problems = new FieldProblems();
  if (typeof bootstrap !== 'object' || bootstrap === null) {
    problems.add(
      '',
      `${show(bootstrap)} is not a bootstrap configuration ({ stateBucket?, ledger? } or { shared: true })`,
    );
    return problems.list;
  }
  if (bootstrap.shared !== undefined) {
    if (
      !problems.check(bootstrap.shared === true, 'shared', `${show(bootstrap.shared)} must be true or absent`)
    )
      return problems.list;
    for (const field of ['stateBucket', 'ledger'] as const) {
      problems.check(
        bootstrap[field] === undefined,
        field,
        `${show(bootstrap[field])} conflicts with shared: true (the state bucket and ledger are the tooling account's, set them in tooling.bootstrap); remove one`,
      );
    }
    problems.check(
      env.stateBackend === undefined,
      '',
      `stateBackend ${show(env.stateBackend?.bucket)} conflicts with shared: true (the backend is the tooling account's bucket, computed); remove stateBackend`,
    );
    return problems.list;
  }
  const bucket = stateBucketName(org, env.name, env.accountId);
  const nameProblem = bucketNameProblem(bucket);
  if (nameProblem) {
    problems.add(
      '',
      `the state bucket's name ${show(bucket)} (<organization>-<environment>-tfstate-<account>) is ${bucket.length} characters; S3 allows 3-63 lower-case letters, digits and '-': shorten the organization or environment name`,
    );
  }
  if (env.stateBackend !== undefined && env.stateBackend?.bucket !== bucket) {
    problems.add(
      '',
      `stateBackend.bucket ${show(env.stateBackend?.bucket)} is not the bucket the bootstrap stack creates (${show(bucket)}); remove stateBackend, its names are computed from bootstrap`,
    );
  }
  const s = bootstrap.stateBucket;
  if (s !== undefined) {
    if (s.noncurrentVersionExpiryDays !== undefined)
      problems.check(
        integerIn(s.noncurrentVersionExpiryDays, 1, 3650),
        'stateBucket.noncurrentVersionExpiryDays',
        `${show(s.noncurrentVersionExpiryDays)} must be a whole number of days from 1 to 3650`,
      );
    if (s.noncurrentVersionsKept !== undefined)
      problems.check(
        integerIn(s.noncurrentVersionsKept, 1, 100),
        'stateBucket.noncurrentVersionsKept',
        `${show(s.noncurrentVersionsKept)} must be a whole number from 1 to 100`,
      );
  }
  const l = bootstrap.ledger;
  if (l !== undefined) {
    if (typeof l !== 'object' || l === null) {
      problems.add('ledger', `${show(l)} is not a ledger database ({ databaseName?, capacity?, ... })`);
      return problems.list;
    }
    if (l.databaseName !== undefined)
      problems.check(
        typeof l.databaseName === 'string' &&
          DATABASE_NAME.test(l.databaseName) &&
          !RESERVED_DATABASES.has(l.databaseName),
        'ledger.databaseName',
        `${show(l.databaseName)} must match ${DATABASE_NAME} and not be one of ${[...RESERVED_DATABASES].join(', ')}`,
      );
    if (l.engineVersion !== undefined)
      problems.check(
        typeof l.engineVersion === 'string' && ENGINE_VERSION.test(l.engineVersion),
        'ledger.engineVersion',
        `${show(l.engineVersion)} is not an Aurora PostgreSQL version of 13 or later (<major>.<minor>, e.g. "16.6")`,
      );
    if (l.capacity !== undefined) {
      const acu = (v: unknown) => typeof v === 'number' && v >= 0 && v <= 256 && Number.isInteger(v * 2);
      const ok =
        problems.check(
          acu(l.capacity?.minAcu),
          'ledger.capacity.minAcu',
          `${show(l.capacity?.minAcu)} must be 0 to 256 ACUs in steps of 0.5`,
        ) &&
        problems.check(
          acu(l.capacity?.maxAcu) && l.capacity.maxAcu >= 1,
          'ledger.capacity.maxAcu',
          `${show(l.capacity?.maxAcu)} must be 1 to 256 ACUs in steps of 0.5`,
        );
      if (ok)
        problems.check(
          l.capacity.minAcu <= l.capacity.maxAcu,
          'ledger.capacity',
          `minAcu ${l.capacity.minAcu} exceeds maxAcu ${l.capacity.maxAcu}`,
        );
    }
    if (l.backupRetentionDays !== undefined)
      problems.check(
        integerIn(l.backupRetentionDays, 1, 35),
        'ledger.backupRetentionDays',
        `${show(l.backupRetentionDays)} must be a whole number of days from 1 to 35`,
      );
    if (l.passwordRotationDays !== undefined)
      problems.check(
        integerIn(l.passwordRotationDays, 1, 365),
        'ledger.passwordRotationDays',
        `${show(l.passwordRotationDays)} must be a whole number of days from 1 to 365`,
      );
  }
  return problems.list;
}
