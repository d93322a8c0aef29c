/**
 * A throwaway PostgreSQL cluster for the ledger benchmark: the tests' `PgCluster` (started as
 * `.ci/run` does it, as the unprivileged user `gantrypg` when run as root), but `durable`: it keeps
 * PostgreSQL's defaults (`fsync`, `synchronous_commit`), so runs per second include the commit
 * flush a production ledger pays.
 */
import { spawnSync } from 'node:child_process';
import { PgCluster } from '../test/pg-cluster';

/** Why the cluster cannot be started here, or undefined when it can. */
export function pgUnavailable(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `${tool} is not on PATH`;
  }
  return undefined;
}

export interface PgServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** Stops the cluster and removes its directory. */
  stop(): void;
}

export async function startPgServer(): Promise<PgServer> {
  const cluster = await PgCluster.start({ durable: true });
  return { url: cluster.url, stop: () => cluster.destroy() };
}
