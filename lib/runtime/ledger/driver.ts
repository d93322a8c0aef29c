/**
 * What the ledger needs from a database: parameterised statements (`$1`, `$2`, ... placeholders)
 * and transactions. One implementation per backend.
 */

export type SqlParam = string | number | boolean | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /** Runs one statement with positional parameters; returns its rows (RETURNING rows for writes). */
  query(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
}

export interface SqlDriver extends SqlExecutor {
  readonly backend: 'pglite' | 'pg' | 'rds-data';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs one write whose commit does not wait for the WAL flush (`synchronous_commit = off`). Only
   * for heartbeats: a server crash can lose the last few, which makes a run look lapsed a moment
   * early, never loses a row or a status. Backends without it run `query`.
   */
  queryWithoutFlush?(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
  close(): Promise<void>;
}
