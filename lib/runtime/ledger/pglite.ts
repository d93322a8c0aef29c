/**
 * The embedded backend: PGlite (PostgreSQL compiled to WebAssembly) in a directory, default
 * `.gantry/ledger`. PGlite runs in a worker thread: its Emscripten glue needs Node's own module
 * loader (a dynamic `import()`), which sandboxed loaders such as Jest's cannot serve, and the main
 * thread stays free to stream Terraform's output. PGlite is one connection: statements from
 * concurrent callers are serialised here, a transaction holds the connection until it ends, and the
 * unique index still decides which apply wins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './driver';

/** The worker: plain CommonJS, evaluated from this string so a compiled build needs no extra file. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglitePath);
const modules = workerData.modules || {};
const opened = workerData.template
  ? PGlite.create({ loadDataDir: new Blob([workerData.template]), ...modules })
  : PGlite.create({ dataDir: workerData.dataDir, ...modules });
opened.catch(() => undefined);
parentPort.on('message', async (msg) => {
  try {
    const db = await opened;
    if (msg.kind === 'template') {
      // The cluster as initdb left it, before any statement: what the next in-memory database loads.
      const dump = await db.dumpDataDir('none');
      const buffer = await dump.arrayBuffer();
      parentPort.postMessage({ id: msg.id, rows: [], template: buffer }, [buffer]);
      return;
    }
    if (msg.kind === 'close') {
      await db.close();
      parentPort.postMessage({ id: msg.id, rows: [] });
      return;
    }
    if (msg.kind === 'ping') {
      parentPort.postMessage({ id: msg.id, rows: [] });
      return;
    }
    const result = await db.query(msg.sql, msg.params);
    parentPort.postMessage({ id: msg.id, rows: result.rows });
  } catch (error) {
    parentPort.postMessage({ id: msg.id, error: { message: String(error && error.message || error), code: error && error.code } });
  }
});
`;

interface Reply {
  readonly id: number;
  readonly rows?: Row[];
  readonly template?: ArrayBuffer;
  readonly error?: { readonly message: string; readonly code?: string };
}

/** An Error carrying PostgreSQL's SQLSTATE, like `pg`'s. */
class PgliteError extends Error {
  constructor(
    message: string,
    public readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'PgliteError';
  }
}

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt it.
 * `gantry.lock` (holding the owner's pid) is created exclusively; a lock whose process is gone is
 * taken over.
 */
function takeLock(dir: string): string {
  const file = path.join(dir, 'gantry.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new Error(
          `the PGlite ledger in ${dir} is open in process ${owner}; PGlite serves one process at a time, ` +
            'so use a PostgreSQL ledger (postgres:// or rds-data://) for concurrent runs',
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock the PGlite ledger in ${dir}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * In-memory databases of this process start from a copy of the first one's freshly initialised
 * cluster (PGlite's `dumpDataDir`, about 40 MB held once): loading it takes about 0.3 s where
 * initialising a cluster takes about 1.3 s. A directory ledger is initialised in its directory once.
 */
let memoryTemplate: Promise<ArrayBuffer | undefined> | undefined;

/** PGlite's WebAssembly, compiled once per process and handed to each worker (a worker is a new isolate). */
interface CompiledModules {
  readonly pgliteWasmModule?: object;
  readonly initdbWasmModule?: object;
}

/** Node's WebAssembly global (not in this project's `lib`, which has no DOM). */
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } })
  .WebAssembly;
let compiled: Promise<CompiledModules> | undefined;

function compiledModules(): Promise<CompiledModules> {
  compiled ??= (async () => {
    const dist = path.dirname(require.resolve('@electric-sql/pglite'));
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all(
      ['pglite.wasm', 'initdb.wasm'].map(async (file) =>
        wasm.compile(await fs.promises.readFile(path.join(dist, file))),
      ),
    );
    return { pgliteWasmModule, initdbWasmModule };
  })()
    // Without them (another PGlite layout), each worker loads its own, as PGlite does by default.
    .catch(() => ({}));
  return compiled;
}

export class PgliteDriver implements SqlDriver {
  public readonly backend = 'pglite' as const;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: Error) => void }
  >();
  /** The tail of the queue of callers waiting for the one connection. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    /** The lock file held on the data directory, released by `close`. */
    private readonly lock: string | null,
  ) {
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.error) waiter.reject(new PgliteError(reply.error.message, reply.error.code));
      else waiter.resolve(reply);
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`the PGlite worker exited (code ${code})`)));
  }

  /** Opens (creating if needed) a PGlite database in `dataDir`, or in memory for `memory://`. */
  static async open(dataDir: string): Promise<PgliteDriver> {
    const dir = dataDir === 'memory://' ? dataDir : path.resolve(dataDir);
    let lock: string | null = null;
    if (dir !== 'memory://') {
      fs.mkdirSync(dir, { recursive: true });
      lock = takeLock(dir);
    }
    const makeTemplate = dir === 'memory://' && memoryTemplate === undefined;
    const template = dir === 'memory://' && !makeTemplate ? await memoryTemplate : undefined;
    const modules = await compiledModules();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { dataDir: dir, pglitePath: require.resolve('@electric-sql/pglite'), template, modules },
    });
    const driver = new PgliteDriver(worker, lock);
    if (makeTemplate) {
      // Without a template (the dump failed), every in-memory database initialises its own cluster.
      memoryTemplate = driver.request({ kind: 'template' }).then(
        (reply) => reply.template,
        () => undefined,
      );
      // Dumped before the caller's first statement can change the cluster.
      await memoryTemplate;
    }
    try {
      await driver.send({ kind: 'ping' });
    } catch (error) {
      await worker.terminate();
      if (lock) fs.rmSync(lock, { force: true });
      throw error;
    }
    return driver;
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private async send(
    message: { kind: 'query'; sql: string; params: SqlParam[] } | { kind: 'ping' | 'close' },
  ): Promise<Row[]> {
    return (await this.request(message)).rows ?? [];
  }

  private request(
    message: { kind: 'query'; sql: string; params: SqlParam[] } | { kind: 'ping' | 'close' | 'template' },
  ): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('the PGlite ledger is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  /** Runs `fn` holding the connection: nobody else's statement runs in between. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.exclusive(() => this.send({ kind: 'query', sql, params: [...params] }));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const tx: SqlExecutor = {
        query: (sql, params = []) => this.send({ kind: 'query', sql, params: [...params] }),
      };
      await tx.query('BEGIN');
      try {
        const result = await fn(tx);
        await tx.query('COMMIT');
        return result;
      } catch (error) {
        await tx.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.exclusive(() => this.send({ kind: 'close' }));
    } finally {
      this.closed = true;
      await this.worker.terminate();
      if (this.lock) fs.rmSync(this.lock, { force: true });
    }
  }
}
