/**
 * The ledger's writer role, `gantry_writer` (NOLOGIN): what CI's login needs and nothing more.
 * It may read the ledger, insert runs, and update the columns a run's heartbeat, outcome, reap and
 * acknowledgement write; it may not delete, truncate, write the chain, or touch the identity of a
 * run (stack, commit, actor, ...). The trigger of migration 2 narrows UPDATE further to running
 * rows (and an abandoned run's acknowledgement, once).
 *
 * Roles belong to the cluster, grants to the database: `setUpWriterRole` is not a versioned
 * migration but an idempotent step `gantry ledger migrate` runs every time (as the owner), so a role
 * an administrator creates later is picked up by the next `migrate`.
 */
import type { SqlDriver, SqlExecutor } from './driver';
import { LedgerError } from './types';

export const WRITER_ROLE = 'gantry_writer';

/**
 * What `startRun` and `recordRefusal` insert, in the order of their VALUES (`sql-ledger.ts` uses
 * this list); `seq`, `started_at` and `heartbeat_at` are the database's.
 */
export const WRITER_INSERT_COLUMNS: readonly string[] = [
  'id',
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
  'plan_run_id',
  'plan_sha256',
  'host',
  'pid',
  'error_summary',
  'approvers',
  'exit_code',
  'finished_at',
];

/** What `startDeploy` inserts into `deployments` (migration 3). */
export const WRITER_DEPLOYMENT_INSERT_COLUMNS: readonly string[] = [
  'id',
  'run_id',
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
];

/** What `updateDeployment` and `ackCommit` update; the trigger narrows it to forward moves. */
export const WRITER_DEPLOYMENT_UPDATE_COLUMNS: readonly string[] = [
  'status',
  'reason',
  'task_definition',
  'digest',
  'updated_at',
  'finished_at',
  'acknowledged_at',
  'acknowledged_by',
  'ack_reason',
];

/** What `heartbeat`, `finishRun`, `reap` and `ack` update. */
export const WRITER_UPDATE_COLUMNS: readonly string[] = [
  'status',
  'heartbeat_at',
  'finished_at',
  'exit_code',
  'count_create',
  'count_update',
  'count_delete',
  'count_replace',
  'count_read',
  'plan_sha256',
  'terraform_version',
  'approvers',
  'error_summary',
  'note',
  'acknowledged_at',
  'acknowledged_by',
  'ack_reason',
];

/** The password of a login `setUpWriterRole` creates (or resets), as the database stores it. */
export interface WriterLoginPassword {
  /**
   * A SCRAM-SHA-256 verifier (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, see
   * `scramSha256Verifier`): the password itself never reaches the database, its statements or its logs.
   * It travels as a statement parameter, never in the SQL text.
   */
  readonly scramVerifier: string;
  /** Also set it on a login that exists already; otherwise an existing login keeps its password. */
  readonly replace: boolean;
}

export interface WriterRoleOptions {
  /** The role's name; another one only where two ledgers share a cluster (roles are the cluster's). @default gantry_writer */
  readonly role?: string;
  /** A login role to make a member of `gantry_writer` (CI's login in `GANTRY_LEDGER_URL`). */
  readonly grantTo?: string;
  /**
   * With `grantTo`: create that login when it is missing (`LOGIN`, no other attribute), with this
   * password. @default none: the login must exist
   */
  readonly loginPassword?: WriterLoginPassword;
}

export interface WriterRoleReport {
  readonly role: string;
  /** True when this call created the role. */
  readonly created: boolean;
  /** The login made a member, if any. */
  readonly grantedTo: string | null;
  /** With `loginPassword`: whether the login was created now, and whether its password was set now. */
  readonly loginCreated: boolean;
  readonly loginPasswordSet: boolean;
  /** Who ran it (the owner of `terraform_runs`). */
  readonly connectedAs: string;
  /** One line per privilege, for the CLI. */
  readonly privileges: readonly string[];
}

/** The writer role could not be set up; the message says what to do. */
export class WriterRoleError extends LedgerError {
  constructor(message: string) {
    super(message);
    this.name = 'WriterRoleError';
  }
}

/** A role name as SQL writes it: validated, then double-quoted. */
export function quoteRole(name: string, field: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$.-]{0,62}$/.test(name)) {
    throw new WriterRoleError(
      `${field}: ${JSON.stringify(name)} is not a role name (a letter or _, then letters, digits, _ $ . -; at most 63 characters)`,
    );
  }
  return `"${name}"`;
}

const TABLES = 'terraform_runs, terraform_runs_chain_head, schema_migrations, deployments';

/** Creates `gantry_writer` if missing, sets its grants exactly, and optionally grants it to a login. */
export async function setUpWriterRole(
  driver: SqlDriver,
  options: WriterRoleOptions = {},
): Promise<WriterRoleReport> {
  const name = options.role ?? WRITER_ROLE;
  const role = quoteRole(name, 'writer role');
  const login = options.grantTo;
  const quotedLogin = login === undefined ? null : quoteRole(login, '--grant-writer');
  const [facts] = await driver.query(
    `SELECT current_user AS me, pg_get_userbyid(c.relowner) AS owner,
       pg_has_role(c.relowner, 'USAGE') AS owns,
       (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS can_create,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role_exists
     FROM pg_class c WHERE c.oid = to_regclass('terraform_runs')`,
    [name],
  );
  if (!facts) throw new WriterRoleError('terraform_runs does not exist: the ledger is not migrated');
  const me = String(facts.me);
  const owner = String(facts.owner);
  if (facts.owns !== true) {
    throw new WriterRoleError(
      `${me} does not own terraform_runs (its owner is ${owner}), so it cannot grant ${name} its privileges; ` +
        `run \`gantry ledger migrate\` connected as ${owner}`,
    );
  }
  let created = false;
  if (facts.role_exists !== true) {
    if (facts.can_create !== true) {
      throw new WriterRoleError(
        `role ${name} does not exist and ${me} may not create roles (neither CREATEROLE nor superuser). ` +
          `The schema is migrated and the trigger and the hash chain protect the rows, but no login is least-privileged yet: ` +
          `ask an administrator to run \`CREATE ROLE ${name} NOLOGIN\` (and \`GRANT ${name} TO ${me} WITH ADMIN OPTION\` ` +
          `if ${me} is to grant it), then run \`gantry ledger migrate\` again`,
      );
    }
    // Another database of the same cluster may be creating it at the same moment: that is fine.
    await driver.query(`DO $$ BEGIN
        CREATE ROLE ${role} NOLOGIN;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    created = true;
  }
  let loginOutcome = { created: false, passwordSet: false };
  if (login !== undefined && options.loginPassword !== undefined) {
    loginOutcome = await ensureLogin(driver, login, options.loginPassword, {
      me,
      canCreate: facts.can_create === true,
    });
  }
  if (login !== undefined) await checkLogin(driver, login, owner);

  await driver.transaction(async (tx) => {
    // Exactly these privileges, whatever the role held before (a column grant goes with its table's REVOKE).
    await tx.query(`REVOKE ALL ON ${TABLES} FROM ${role}`);
    await tx.query(`GRANT SELECT ON ${TABLES} TO ${role}`);
    await tx.query(`GRANT INSERT (${WRITER_INSERT_COLUMNS.join(', ')}) ON terraform_runs TO ${role}`);
    await tx.query(`GRANT UPDATE (${WRITER_UPDATE_COLUMNS.join(', ')}) ON terraform_runs TO ${role}`);
    await tx.query(`GRANT INSERT (${WRITER_DEPLOYMENT_INSERT_COLUMNS.join(', ')}) ON deployments TO ${role}`);
    await tx.query(`GRANT UPDATE (${WRITER_DEPLOYMENT_UPDATE_COLUMNS.join(', ')}) ON deployments TO ${role}`);
    if (quotedLogin !== null && login !== undefined) {
      await tx.query(`GRANT ${role} TO ${quotedLogin}`);
      await checkNoMore(tx, login);
    }
  });
  return {
    role: name,
    created,
    grantedTo: login ?? null,
    loginCreated: loginOutcome.created,
    loginPasswordSet: loginOutcome.passwordSet,
    connectedAs: me,
    privileges: [
      `SELECT on ${TABLES}`,
      `INSERT (${WRITER_INSERT_COLUMNS.join(', ')}) on terraform_runs`,
      `UPDATE (${WRITER_UPDATE_COLUMNS.join(', ')}) on terraform_runs, of running rows only (trigger), ` +
        'and of an abandoned run its acknowledgement, once',
      `INSERT (${WRITER_DEPLOYMENT_INSERT_COLUMNS.join(', ')}) on deployments`,
      `UPDATE (${WRITER_DEPLOYMENT_UPDATE_COLUMNS.join(', ')}) on deployments, forward moves of open rows only (trigger), ` +
        'and of a failed or rolled-back one its acknowledgement, once',
      'no DELETE, no TRUNCATE, no chain columns',
    ],
  };
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 parts (PostgreSQL's stored form). */
const SCRAM_VERIFIER = /^SCRAM-SHA-256\$\d{4,7}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/;

/**
 * Creates `login` (LOGIN, nothing else) when it is missing, or sets its password when `replace`. The
 * verifier is a parameter of `set_config`, read back inside a DO block, so no statement's text carries
 * it (and the Data API's `$n` rewriting never sees its `$`).
 */
async function ensureLogin(
  driver: SqlDriver,
  login: string,
  password: WriterLoginPassword,
  who: { me: string; canCreate: boolean },
): Promise<{ created: boolean; passwordSet: boolean }> {
  quoteRole(login, '--grant-writer');
  if (!SCRAM_VERIFIER.test(password.scramVerifier)) {
    throw new WriterRoleError(
      `the password of ${login} is not a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)`,
    );
  }
  const [existing] = await driver.query(`SELECT rolname FROM pg_roles WHERE rolname = $1`, [login]);
  if (existing && !password.replace) return { created: false, passwordSet: false };
  if (!who.canCreate) {
    throw new WriterRoleError(
      `${who.me} may not ${existing ? 'set the password of' : 'create'} the login ${login} (neither CREATEROLE nor superuser); ` +
        `connect as the cluster's master user (the ledger_url of the bootstrap stack)`,
    );
  }
  const verb = existing ? 'ALTER' : 'CREATE';
  await driver.transaction(async (tx) => {
    await tx.query(
      `SELECT set_config('gantry.writer_login', $1, true), set_config('gantry.writer_password', $2, true)`,
      [login, password.scramVerifier],
    );
    await tx.query(`DO $$ BEGIN
        EXECUTE format('${verb} ROLE %I LOGIN PASSWORD %L',
          current_setting('gantry.writer_login'), current_setting('gantry.writer_password'));
      END $$`);
  });
  return { created: !existing, passwordSet: true };
}

/** The login must exist, and must be neither a superuser nor the owner (either can drop the trigger). */
async function checkLogin(db: SqlExecutor, login: string, owner: string): Promise<void> {
  const [role] = await db.query(
    `SELECT rolsuper, rolcanlogin, pg_has_role($1, (SELECT relowner FROM pg_class WHERE oid = to_regclass('terraform_runs')), 'USAGE') AS owns
       FROM pg_roles WHERE rolname = $1`,
    [login],
  );
  if (!role) {
    throw new WriterRoleError(
      `--grant-writer: role ${JSON.stringify(login)} does not exist; create CI's login first ` +
        `(CREATE ROLE ${login} LOGIN PASSWORD '...'), then run \`gantry ledger migrate --grant-writer ${login}\``,
    );
  }
  if (role.rolsuper === true || role.owns === true) {
    throw new WriterRoleError(
      `--grant-writer: ${login} is ${role.rolsuper === true ? 'a superuser' : `the owner of terraform_runs (or a member of ${owner})`}: ` +
        'it could disable the trigger and rewrite the ledger; give CI a login of its own that owns nothing',
    );
  }
}

/** After the grant: the login may not delete, truncate or write the chain through some other grant. */
async function checkNoMore(db: SqlExecutor, login: string): Promise<void> {
  const [more] = await db.query(
    `SELECT has_table_privilege($1, 'terraform_runs', 'DELETE') AS del,
       has_table_privilege($1, 'terraform_runs', 'TRUNCATE') AS trunc,
       has_column_privilege($1, 'terraform_runs', 'chain_hash', 'UPDATE') AS chain,
       has_table_privilege($1, 'terraform_runs_chain_head', 'UPDATE') AS head,
       has_table_privilege($1, 'deployments', 'DELETE') OR has_table_privilege($1, 'deployments', 'TRUNCATE')
         OR has_column_privilege($1, 'deployments', 'chain_hash', 'UPDATE') AS deployments`,
    [login],
  );
  const extra = [
    more?.del === true ? 'DELETE' : null,
    more?.trunc === true ? 'TRUNCATE' : null,
    more?.chain === true ? 'UPDATE of the chain columns' : null,
    more?.head === true ? 'UPDATE of terraform_runs_chain_head' : null,
    more?.deployments === true ? 'DELETE, TRUNCATE or chain UPDATE of deployments' : null,
  ].filter((x): x is string => x !== null);
  if (extra.length > 0) {
    throw new WriterRoleError(
      `--grant-writer: ${login} still holds ${extra.join(', ')} on the ledger through another grant; ` +
        `revoke it (REVOKE ALL ON ${TABLES} FROM ${login}) and run \`gantry ledger migrate --grant-writer ${login}\` again`,
    );
  }
}
