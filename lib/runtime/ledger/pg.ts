/** A PostgreSQL server through `pg`: a small pool, statements with `$n` parameters. */
import { Pool, type PoolClient } from 'pg';
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './driver';

export class PgDriver implements SqlDriver {
  public readonly backend = 'pg' as const;
  private readonly pool: Pool;

  constructor(connectionString: string, options: { maxConnections?: number } = {}) {
    this.pool = new Pool({
      connectionString,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: 10_000,
      application_name: 'gantry',
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    this.pool.on('error', () => undefined);
  }

  async query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return (await this.pool.query<Row>(sql, [...params])).rows;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async (sql, params = []) => (await client.query<Row>(sql, [...params])).rows,
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async queryWithoutFlush(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.transaction(async (tx) => {
      await tx.query('SET LOCAL synchronous_commit TO OFF');
      return tx.query(sql, params);
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
