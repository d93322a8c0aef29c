/**
 * A throwaway PostgreSQL cluster for the ledger benchmark, started as `.ci/run` does it (`initdb` +
 * `pg_ctl` in a temp dir, trust auth, its own port, the unix socket in the temp dir; as root, run as
 * the unprivileged user `gantrypg`). Unlike the tests' `test/pg-cluster.ts`, which turns `fsync`
 * off for speed, this one keeps PostgreSQL's durable defaults (`fsync`, `synchronous_commit`), so
 * runs per second include the commit flush a production ledger pays.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { tempDir } from './measure';

const PG_USER = 'gantrypg';

function asPostgresUser(command: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, [...args]];
  return ['runuser', ['-u', PG_USER, '--', command, ...args]];
}

/** Why the cluster cannot be started here, or undefined when it can. */
export function pgUnavailable(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `${tool} is not on PATH`;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PgServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** Stops the cluster and removes its directory. */
  stop(): void;
}

export async function startPgServer(): Promise<PgServer> {
  if (process.getuid?.() === 0 && spawnSync('id', [PG_USER], { stdio: 'ignore' }).status !== 0) {
    execFileSync('useradd', ['--system', '--no-create-home', PG_USER], { stdio: 'ignore' });
  }
  const dir = tempDir('pg');
  if (process.getuid?.() === 0) execFileSync('chown', [PG_USER, dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const exec = (command: string, args: readonly string[]) => {
    const [cmd, argv] = asPostgresUser(command, args);
    execFileSync(cmd, argv, { stdio: 'ignore' });
  };
  exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres']);
  exec('pg_ctl', [
    '-D',
    data,
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`,
    '-l',
    path.join(dir, 'log'),
    '-w',
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
