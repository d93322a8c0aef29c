/**
 * `gantry ledger migrate [--grant-writer <login>]` and `gantry ledger verify [--json] [--anchor]`
 * on a PGlite ledger directory: what an operator sees, and the exit codes (0 intact, 2 a deleted
 * or edited row, 1 bad arguments).
 */
import { openLedger, PgliteDriver, type ChainReport } from '../../lib/runtime/ledger';
import { SqlLedger } from '../../lib/runtime/ledger/sql-ledger';
import { cleanEnv } from './env';
import { gantry, tempDir } from './helpers';
import { describeReleaseCli } from './release-cli-contract';

const dir = tempDir('verify-cli-ledger');
const env = () => cleanEnv(process.env, { GANTRY_LEDGER_URL: `pglite:${dir}` });

/** Direct access to the ledger directory between CLI calls (PGlite serves one opener at a time). */
async function withDriver<T>(fn: (driver: PgliteDriver) => Promise<T>): Promise<T> {
  const driver = await PgliteDriver.open(dir);
  try {
    return await fn(driver);
  } finally {
    await driver.close();
  }
}

describe('gantry ledger migrate and verify', () => {
  test('migrate creates the writer role and grants it to an existing login only', async () => {
    // CI's login, created by an administrator (on PGlite nobody logs in as it: the grant is what counts).
    await withDriver((d) => d.query('CREATE ROLE gantry_ci LOGIN'));
    const first = await gantry(['ledger', 'migrate'], env());
    expect(first.code).toBe(0);
    expect(first.stdout.split('\n').slice(0, 2)).toEqual([
      'ledger: schema at version 3',
      'ledger: role gantry_writer created (granted by postgres):',
    ]);
    expect(first.stdout).toContain('  no DELETE, no TRUNCATE, no chain columns');

    const missing = await gantry(['ledger', 'migrate', '--grant-writer', 'gantry_cj'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'gantry: ledger migrate: role gantry_writer: --grant-writer: role "gantry_cj" does not exist; create CI\'s login first',
    );
    const granted = await gantry(['ledger', 'migrate', '--grant-writer', 'gantry_ci'], env());
    expect(granted.code).toBe(0);
    expect(granted.stdout).toContain('ledger: role gantry_writer up to date (granted by postgres):');
    expect(granted.stdout).toContain(
      'ledger: gantry_ci is a member of gantry_writer; connect CI as gantry_ci (GANTRY_LEDGER_URL)',
    );
  });

  test('verify: exit 0 on an intact chain, exit 2 with one line per problem after a deletion', async () => {
    const ledger = await openLedger(`pglite:${dir}`);
    for (let i = 0; i < 3; i++) {
      const run = await ledger.startRun({ stack: 'cli-verify', action: 'drift' });
      await ledger.finishRun(run.id, {
        status: i === 1 ? 'drifted' : 'no_changes',
        exitCode: i === 1 ? 2 : 0,
      });
    }
    const runs = (await ledger.listRuns({ stack: 'cli-verify' })).reverse();
    await ledger.close();

    const intact = await gantry(['ledger', 'verify'], env());
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/^ledger: chain intact: 3 link\(s\), head 3:[0-9a-f]{64}$/);
    const json = await gantry(['ledger', 'verify', '--json'], env());
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as ChainReport;
    expect(report).toMatchObject({ intact: true, links: 3, unchainedBeforeChain: 0, problems: [] });
    const [link1] = await withDriver(async (d) =>
      d.query(
        `SELECT chain_hash, pg_has_role('gantry_ci', 'gantry_writer', 'MEMBER') AS member
           FROM terraform_runs WHERE chain_seq = 1`,
      ),
    );
    expect(link1.member).toBe(true);
    const anchor = `1:${String(link1.chain_hash)}`;
    expect((await gantry(['ledger', 'verify', '--anchor', anchor], env())).code).toBe(0);

    // With the owner's DDL rights: disable the guard trigger, delete the middle run.
    await withDriver(async (d) => {
      await d.query('ALTER TABLE terraform_runs DISABLE TRIGGER terraform_runs_guard');
      await d.query('DELETE FROM terraform_runs WHERE id = CAST($1 AS uuid)', [runs[1].id]);
      await d.query('ALTER TABLE terraform_runs ENABLE TRIGGER terraform_runs_guard');
    });
    const broken = await gantry(['ledger', 'verify', '--anchor', anchor], env());
    expect(broken.code).toBe(2);
    expect(broken.stdout.split('\n')).toEqual([
      `gap: link 2 is missing between run ${runs[0].id} and run ${runs[2].id} (link 3): a chained row was deleted or unlinked; link 3 cannot be checked against its predecessor`,
      expect.stringMatching(/^ledger: chain NOT intact: 1 problem\(s\) in 2 link\(s\), head 3:[0-9a-f]{64}$/),
    ]);
    const brokenJson = await gantry(['ledger', 'verify', '--json'], env());
    expect(brokenJson.code).toBe(2);
    expect((JSON.parse(brokenJson.stdout) as ChainReport).problems).toEqual([
      expect.objectContaining({ kind: 'gap', link: 2, runId: runs[2].id }),
    ]);
  });

  test('verify --anchor must be <link>:<sha256 hex>', async () => {
    const result = await gantry(['ledger', 'verify', '--anchor', '3:nothex'], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `--anchor: "3:nothex" is not <link>:<sha256 hex>, e.g. 42:${'ab'.repeat(32)}`,
    );
  });

  test('verify says when the ledger cannot be read, and exits 1', async () => {
    // A ledger whose chain head table was dropped (the owner can): the walk fails, not a false "intact".
    const other = tempDir('verify-cli-broken');
    const d = await PgliteDriver.open(other);
    await new SqlLedger(d).migrate();
    await d.query('DROP TABLE terraform_runs_chain_head CASCADE');
    await d.close();
    const result = await gantry(
      ['ledger', 'verify'],
      cleanEnv(process.env, { GANTRY_LEDGER_URL: `pglite:${other}` }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^gantry: ledger verify: cannot read the chain: .*terraform_runs_chain_head/,
    );
  });
});

// After the chain tests above: its rows would change their link counts.
describeReleaseCli(dir);
