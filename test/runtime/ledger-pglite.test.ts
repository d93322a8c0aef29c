import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openLedger, PgliteDriver, type SqlDriver } from '../../lib/runtime/ledger';
import { tempDir } from './helpers';
import { describeDeploymentsContract } from './deployments-contract';
import { describeLedgerContract } from './ledger-contract';
import { describeLedgerSecurity } from './ledger-security-contract';

// PGlite is one connection: the contenders are concurrent async callers in this process, and their
// statements run one at a time, so the race is the contract's shape, not a race; ledger-pg.test.ts
// runs the full 32 x 200 where the claims really race.
describeLedgerContract(
  'PGlite',
  async () => 'pglite:memory',
  false,
  async () => `pglite:${tempDir('ledger')}`,
  { contenders: 8, rounds: 20 },
);

/**
 * PGlite is one connection whose session user is the superuser `postgres`: another role is
 * `SET LOCAL ROLE <role>` at the start of every transaction (each statement runs in one), which the
 * privilege checks and triggers see exactly as they see a login of that role.
 */
function asRole(driver: PgliteDriver, role: string): SqlDriver {
  return {
    backend: 'pglite',
    query: (sql, params = []) =>
      driver.transaction(async (tx) => {
        await tx.query(`SET LOCAL ROLE ${role}`);
        return tx.query(sql, params);
      }),
    transaction: (fn) =>
      driver.transaction(async (tx) => {
        await tx.query(`SET LOCAL ROLE ${role}`);
        return fn(tx);
      }),
    close: async () => undefined,
  };
}

const pgliteBackend = () => ({
  async newDatabase() {
    const driver = await PgliteDriver.open('memory://');
    return {
      owner: driver,
      as: async (role: string) => asRole(driver, role),
      close: () => driver.close(),
    };
  },
});

describeLedgerSecurity('PGlite', pgliteBackend);
describeDeploymentsContract('PGlite', pgliteBackend);

test('an unknown ledger URL is rejected with the allowed forms, and no password is echoed', async () => {
  const error = (await openLedger('mysql://root:hunter22@db/x').catch((e: unknown) => e)) as Error;
  expect(error.message).toMatch(/is not a ledger URL; use pglite:<dir>, postgres:\/\/.*rds-data:\/\//);
  expect(error.message).not.toContain('hunter22');
});

test('a PGlite ledger directory serves one process at a time; a stale lock is taken over', async () => {
  const dir = tempDir('locked-ledger');
  const first = await openLedger(`pglite:${dir}`);
  await expect(openLedger(`pglite:${dir}`)).rejects.toThrow(
    `the PGlite ledger in ${dir} is open in process ${process.pid}; PGlite serves one process at a time, so use a PostgreSQL ledger`,
  );
  await first.close();
  // A process that died holding the lock (kill -9) leaves its pid behind.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  fs.writeFileSync(path.join(dir, 'gantry.lock'), dead.stdout);
  const second = await openLedger(`pglite:${dir}`);
  expect(fs.readFileSync(path.join(dir, 'gantry.lock'), 'utf8')).toBe(String(process.pid));
  await second.close();
  expect(fs.existsSync(path.join(dir, 'gantry.lock'))).toBe(false);
});

test('in-memory databases of one process start from the same fresh cluster, and stay separate', async () => {
  // The first initialises the cluster the later ones load (PgliteDriver's template).
  const first = await PgliteDriver.open('memory://');
  const second = await PgliteDriver.open('memory://');
  try {
    await first.query('CREATE TABLE only_in_first (x int)');
    await first.query('INSERT INTO only_in_first VALUES (1)');
    const third = await PgliteDriver.open('memory://');
    try {
      for (const driver of [second, third]) {
        const tables = await driver.query(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        );
        expect(tables).toEqual([]);
      }
      expect(await first.query('SELECT x FROM only_in_first')).toEqual([{ x: 1 }]);
    } finally {
      await third.close();
    }
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});
