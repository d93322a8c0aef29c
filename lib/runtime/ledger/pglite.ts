/**
 * The embedded backend: PGlite (PostgreSQL compiled to WebAssembly) in a directory, default
 * `.gantry/ledger`. One process owns the directory at a time; concurrent callers within that process
 * are serialised by PGlite, and the unique index still decides which apply wins.
 */
import * as fs from 'node:fs';
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './driver';
import { sqlState } from './driver';

interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  transaction<T>(
    fn: (tx: { query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }> }) => Promise<T>,
  ): Promise<T>;
  close(): Promise<void>;
}

export class PgliteDriver implements SqlDriver {
  public readonly backend = 'pglite' as const;

  private constructor(private readonly db: PGliteLike) {}

  /** Opens (creating if needed) a PGlite database in `dataDir`, or in memory for `memory://`. */
  static async open(dataDir: string): Promise<PgliteDriver> {
    if (dataDir !== 'memory://') fs.mkdirSync(dataDir, { recursive: true });
    // Loaded lazily: the WebAssembly module costs start-up time the other backends need not pay.
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dataDir);
    return new PgliteDriver(db as unknown as PGliteLike);
  }

  async query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return (await this.db.query<Row>(sql, [...params])).rows;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) =>
      fn({ query: async (sql, params = []) => (await tx.query<Row>(sql, [...params])).rows }),
    );
  }

  isUniqueViolation(error: unknown): boolean {
    return sqlState(error) === '23505';
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
