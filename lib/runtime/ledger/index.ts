/**
 * `openLedger(url)`: the ledger behind `GANTRY_LEDGER_URL`.
 * - unset or empty: PGlite in `.gantry/ledger` (relative to the working directory), no server;
 * - `pglite:<dir>` (or `pglite://<dir>`): PGlite in that directory; `pglite:memory`: in memory;
 * - `postgres://...` / `postgresql://...`: a PostgreSQL server via `pg`;
 * - `rds-data://<cluster-arn>?secret=<secret-arn>&database=<db>`: Aurora via the RDS Data API.
 */
import * as path from 'node:path';
import { PgliteDriver } from './pglite';
import { SqlLedger, type SqlLedgerOptions } from './sql-ledger';
import { LedgerError, type Ledger } from './types';

export * from './types';
export { MIGRATIONS } from './migrations';
export { SqlLedger } from './sql-ledger';
export { PgliteDriver } from './pglite';
export { verifyChain, parseAnchor, type ChainProblem, type ChainReport, type VerifyOptions } from './chain';
export {
  WRITER_ROLE,
  WriterRoleError,
  type WriterLoginPassword,
  type WriterRoleOptions,
  type WriterRoleReport,
} from './roles';
export type { SqlDriver, SqlExecutor, SqlParam, Row } from './driver';

export const DEFAULT_LEDGER_DIR = path.join('.gantry', 'ledger');

export interface OpenLedgerOptions extends SqlLedgerOptions {
  /** Pool size of the `pg` backend. @default 4 */
  readonly maxConnections?: number;
}

/** A short description of the ledger a URL names, with no password in it (for messages). */
export function describeLedgerUrl(url: string | undefined): string {
  if (!url) return `PGlite in ${DEFAULT_LEDGER_DIR}`;
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      const u = new URL(url);
      return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
    } catch {
      return 'PostgreSQL (unparsable URL)';
    }
  }
  if (url.startsWith('rds-data://')) return `RDS Data API ${url.slice('rds-data://'.length).split('?')[0]}`;
  return url;
}

/** Opens the ledger named by `url` (default: PGlite in `.gantry/ledger`). Does not migrate. */
export async function openLedger(url?: string, options: OpenLedgerOptions = {}): Promise<Ledger> {
  const u = url?.trim() ?? '';
  try {
    if (u === '') return new SqlLedger(await PgliteDriver.open(DEFAULT_LEDGER_DIR), options);
    if (u === 'pglite:memory' || u === 'memory://')
      return new SqlLedger(await PgliteDriver.open('memory://'), options);
    if (u.startsWith('pglite:')) {
      const dir = u.replace(/^pglite:(\/\/)?/, '');
      if (dir === '')
        throw new LedgerError('GANTRY_LEDGER_URL: "pglite:" needs a directory, e.g. pglite:.gantry/ledger');
      return new SqlLedger(await PgliteDriver.open(dir), options);
    }
    if (/^postgres(ql)?:\/\//.test(u)) {
      // Backends load lazily: the CLI pays only for the one it uses.
      const { PgDriver } = await import('./pg');
      return new SqlLedger(new PgDriver(u, { maxConnections: options.maxConnections }), options);
    }
    if (u.startsWith('rds-data://')) {
      const { parseRdsDataUrl, RdsDataDriver } = await import('./rds-data');
      return new SqlLedger(new RdsDataDriver(parseRdsDataUrl(u)), options);
    }
  } catch (error) {
    if (error instanceof LedgerError) throw error;
    throw new LedgerError(`cannot open the ledger (${describeLedgerUrl(u)}): ${(error as Error).message}`, {
      cause: error,
    });
  }
  throw new LedgerError(
    `GANTRY_LEDGER_URL: ${JSON.stringify(u.replace(/\/\/[^@/]*@/, '//***@'))} is not a ledger URL; use ` +
      'pglite:<dir>, postgres://user@host:port/db or rds-data://<cluster-arn>?secret=<secret-arn>&database=<db>',
  );
}
