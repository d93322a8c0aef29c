/**
 * A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` in a temp dir, trust auth, its own
 * port and socket dir. As root (PostgreSQL refuses to run as root) the cluster runs as the
 * unprivileged user `gantrypg`, created if missing, like `.ci/run` does.
 *
 * `testDatabaseUrl()` gives every caller a fresh database: on the cluster `.ci/run` started
 * (`GANTRY_TEST_PG_URL`) when set, otherwise on a cluster started here for the test file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

const PG_USER = 'gantrypg';

function asPostgresUser(command: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, [...args]];
  return ['runuser', ['-u', PG_USER, '--', command, ...args]];
}

function ensurePostgresUser(): void {
  if (process.getuid?.() !== 0) return;
  if (spawnSync('id', [PG_USER], { stdio: 'ignore' }).status === 0) return;
  const made = spawnSync('useradd', ['--system', '--no-create-home', PG_USER], { encoding: 'utf8' });
  // Another test process may have created it meanwhile.
  if (made.status !== 0 && spawnSync('id', [PG_USER], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`cannot create user ${PG_USER} for PostgreSQL: ${made.stderr}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class PgCluster {
  private running = false;

  private constructor(
    public readonly dir: string,
    public readonly port: number,
    private readonly durable: boolean,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /**
   * initdb + start; a few seconds. Tests run with `fsync` off for speed; `durable: true` keeps
   * PostgreSQL's defaults, so a benchmark pays the commit flush a production ledger pays.
   */
  static async start(options: { durable?: boolean } = {}): Promise<PgCluster> {
    ensurePostgresUser();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-pg-'));
    if (process.getuid?.() === 0) execFileSync('chown', [PG_USER, dir]);
    const [cmd, args] = asPostgresUser('initdb', [
      '-D',
      path.join(dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
    ]);
    execFileSync(cmd, args, { stdio: 'ignore' });
    const cluster = new PgCluster(dir, await freePort(), options.durable ?? false);
    cluster.resume();
    return cluster;
  }

  /** Starts the (stopped) cluster and waits until it accepts connections. */
  resume(): void {
    const [cmd, args] = asPostgresUser('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200${this.durable ? '' : ' -c fsync=off'}`,
      '-l',
      path.join(this.dir, 'log'),
      '-w',
      'start',
    ]);
    execFileSync(cmd, args, { stdio: 'ignore' });
    this.running = true;
  }

  /** Stops the cluster (fast shutdown: open sessions are disconnected). */
  stop(): void {
    if (!this.running) return;
    const [cmd, args] = asPostgresUser('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      '-m',
      'fast',
      '-w',
      'stop',
    ]);
    execFileSync(cmd, args, { stdio: 'ignore' });
    this.running = false;
  }

  /** Stops the cluster and removes its directory. */
  destroy(): void {
    try {
      const [cmd, args] = asPostgresUser('pg_ctl', [
        '-D',
        path.join(this.dir, 'data'),
        '-m',
        'immediate',
        'stop',
      ]);
      if (this.running) execFileSync(cmd, args, { stdio: 'ignore' });
    } finally {
      this.running = false;
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** A new, empty database on `serverUrl`; returns its URL. */
export async function createDatabase(serverUrl: string): Promise<string> {
  const name = `gantry_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The PostgreSQL server for this test file: `GANTRY_TEST_PG_URL` when `.ci/run` started one,
 * otherwise a cluster started here (never a skip). Call `release()` in `afterAll`.
 */
export async function testServer(): Promise<{ url: string; release: () => void }> {
  const shared = process.env.GANTRY_TEST_PG_URL;
  if (shared) return { url: shared, release: () => undefined };
  const cluster = await PgCluster.start();
  return { url: cluster.url, release: () => cluster.destroy() };
}
