/**
 * The ledger's writer login, set up by `gantry bootstrap` once the bootstrap stack has made the
 * database: as the owner (the cluster's master secret, `ledger_url`) it migrates the schema, creates
 * CI's login `gantry_ci` with a freshly generated password, makes it a member of `gantry_writer` (the
 * `gantry ledger migrate --grant-writer` path) and puts `{username, password}` into the writer secret
 * the stack made empty, so CI's `GANTRY_LEDGER_URL` (`ledger_writer_url`) names a least-privileged
 * login. Then it connects as the writer and checks who it is and what it may do.
 *
 * Idempotent: a secret that holds a value and a login that exists are kept (grants are set again); a
 * value without a login creates the login with that value (a run interrupted after writing the
 * secret); a login without a value is refused unless `rotate` (someone else may use its password).
 * The password is never printed: the database receives only its SCRAM-SHA-256 verifier, and every
 * error message is scrubbed of both.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { LedgerError, WRITER_ROLE, type WriterRoleReport } from '../ledger';
import type { SqlDriver } from '../ledger/driver';
import { SqlLedger } from '../ledger/sql-ledger';

/** CI's login: a member of `gantry_writer`, owning nothing. */
export const WRITER_LOGIN = 'gantry_ci';

export interface WriterCredentials {
  readonly username: string;
  readonly password: string;
}

/** The Secrets Manager secret of the writer login (the Data API's `secretArn` for CI). */
export interface WriterSecret {
  /** The secret's ARN, for messages. */
  readonly arn: string;
  /** Its current `{username, password}`, or `undefined` when it holds no value yet; throws when it does not exist. */
  read(): Promise<WriterCredentials | undefined>;
  /** Writes a new current value. */
  write(credentials: WriterCredentials): Promise<void>;
}

export interface LedgerWriterSetUp {
  /** The ledger as its owner (the cluster's master user). Not closed here. */
  readonly master: SqlDriver;
  readonly secret: WriterSecret;
  /** The ledger as the writer login (the Data API reads the credentials from the secret itself). Closed here. */
  readonly openWriter: (credentials: WriterCredentials) => SqlDriver | Promise<SqlDriver>;
  /** @default gantry_ci */
  readonly login?: string;
  /** @default gantry_writer */
  readonly role?: string;
  /** Give the login a new password even when it has one (anything using the old one stops working). @default false */
  readonly rotate?: boolean;
}

export interface LedgerWriterReport {
  readonly login: string;
  /** `created`: the login is new; `kept`: it was there with its password; `password-set`: it has a new password. */
  readonly outcome: 'created' | 'kept' | 'password-set';
  /** Migrations applied now (as the owner). */
  readonly migrated: readonly number[];
  readonly role: WriterRoleReport;
}

/** The writer could not be set up; the message says what to do and carries no password. */
export class LedgerWriterError extends LedgerError {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerWriterError';
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random password of `length` letters and digits (about 5.95 bits each; 40 by default: 238 bits). */
export function generatePassword(length = 40): string {
  let password = '';
  while (password.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: bytes above it would favour the first characters.
      if (byte < 248 && password.length < length) password += ALPHABET[byte % ALPHABET.length];
    }
  }
  return password;
}

/**
 * PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677, as `password_encryption =
 * scram-sha-256` stores it): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. The Data API
 * needs SCRAM on Aurora PostgreSQL 14+. `password` must need no SASLprep (ASCII letters and digits do not).
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = 4096,
): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Every occurrence of the secrets in `text`, masked. */
function scrub(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((t, s) => t.split(s).join('***'), text);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Migrates the ledger as the owner, then creates or keeps the writer login and its secret, and checks it. */
export async function setUpLedgerWriter(setUp: LedgerWriterSetUp): Promise<LedgerWriterReport> {
  const login = setUp.login ?? WRITER_LOGIN;
  const role = setUp.role ?? WRITER_ROLE;
  const secrets: string[] = [];
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof LedgerWriterError) throw error;
      throw new LedgerWriterError(`${what}: ${scrub(messageOf(error), secrets)}`);
    }
  };
  const owner = new SqlLedger(setUp.master);
  const migrated = await step('migrating the ledger as its owner', () => owner.migrate());
  const existing = await step(`reading the writer secret ${setUp.secret.arn}`, () => setUp.secret.read());
  if (existing) secrets.push(existing.password);
  if (existing && existing.username !== login) {
    throw new LedgerWriterError(
      `the writer secret ${setUp.secret.arn} names the login ${JSON.stringify(existing.username)}, not ${login}; ` +
        `put back {"username": "${login}", ...} or run again with --rotate-writer to give ${login} a new password there`,
    );
  }
  const [found] = await step('looking up the writer login', () =>
    setUp.master.query(`SELECT rolname FROM pg_roles WHERE rolname = $1`, [login]),
  );
  const loginExists = found !== undefined;
  if (!existing && loginExists && !setUp.rotate) {
    throw new LedgerWriterError(
      `the login ${login} exists but its secret ${setUp.secret.arn} holds no password (a login made by hand, ` +
        `e.g. with the earlier runbook); nothing was changed. Run again with --rotate-writer to give ${login} a new ` +
        `password in that secret (whatever uses its old password stops working), or drop the login if nothing uses it`,
    );
  }
  const fresh = setUp.rotate === true || existing === undefined;
  const password = fresh ? generatePassword() : (existing as WriterCredentials).password;
  const credentials: WriterCredentials = { username: login, password };
  const verifier = scramSha256Verifier(password);
  secrets.push(password, verifier);
  // The secret first: a run interrupted after it finds a value and no login, and creates the login with it.
  if (fresh)
    await step(`writing the writer secret ${setUp.secret.arn}`, () => setUp.secret.write(credentials));
  const report = await step(`setting up ${login} as a member of ${role}`, () =>
    owner.setUpWriterRole({
      role,
      grantTo: login,
      loginPassword: { scramVerifier: verifier, replace: fresh && loginExists },
    }),
  );
  await step(
    `connecting as ${login} with the password in ${setUp.secret.arn} (if it was changed outside gantry, run again with --rotate-writer)`,
    async () => {
      const writer = await setUp.openWriter(credentials);
      try {
        const [me] = await writer.query(
          `SELECT current_user AS me, pg_has_role(current_user, $1, 'MEMBER') AS member,
             has_table_privilege(current_user, 'terraform_runs', 'DELETE') AS can_delete`,
          [role],
        );
        if (me?.me !== login || me.member !== true || me.can_delete !== false) {
          throw new Error(
            `connected as ${String(me?.me)}, member of ${role}: ${String(me?.member)}, may delete runs: ${String(me?.can_delete)}; expected ${login}, true, false`,
          );
        }
      } finally {
        await writer.close();
      }
    },
  );
  const outcome = report.loginCreated ? 'created' : report.loginPasswordSet ? 'password-set' : 'kept';
  return { login, outcome, migrated, role: report };
}
