/**
 * The journal of runs made before the ledger exists, replayed into a real ledger (PGlite in memory):
 * each entry becomes one row, once, even when a replay is repeated or its marks were lost.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Journal } from '../../lib/runtime/bootstrap';
import { openLedger, type Ledger } from '../../lib/runtime/ledger';
import { tempDir } from './helpers';

const WHO = { environment: 'dev', actor: 'admin', accountId: '111111111111', commitSha: 'a'.repeat(40) };

describe('Journal', () => {
  let ledger: Ledger;
  let journal: Journal;

  beforeAll(async () => {
    ledger = await openLedger('pglite:memory');
    await ledger.migrate();
  });
  afterAll(() => ledger.close());

  beforeEach(() => {
    journal = new Journal(path.join(tempDir('journal'), '.gantry', 'journal.jsonl'));
  });

  function recordDay(): string[] {
    const t0 = new Date('2026-12-02T05:00:00Z');
    return [
      journal.record(
        { ...WHO, stack: 'dev-bootstrap', action: 'plan' },
        { status: 'planned', exitCode: 2, counts: { create: 9, update: 0, delete: 0, replace: 0, read: 0 } },
        t0,
      ),
      journal.record(
        { ...WHO, stack: 'dev-bootstrap', action: 'apply' },
        { status: 'applied', exitCode: 0 },
        t0,
      ),
      journal.record(
        { ...WHO, stack: 'dev-foundation', action: 'apply' },
        { status: 'refused', exitCode: 3, errorSummary: 'state migration refused: remote state exists' },
        t0,
      ),
    ].map((e) => e.id);
  }

  async function rowsOf(id: string) {
    const rows = await ledger.listRuns({ limit: 1000 });
    return rows.filter(
      (r) => r.note?.startsWith(`journal:${id};`) || r.errorSummary?.startsWith(`journal:${id};`),
    );
  }

  test('replays every entry once, with its status, counts and when it really ran', async () => {
    const ids = recordDay();
    const first = await journal.replay(ledger);
    expect(first.replayed.map((r) => r.entry)).toEqual(ids);
    const [plan, apply, refused] = await Promise.all(ids.map(rowsOf));
    expect(plan.map((r) => [r.stack, r.action, r.status, r.counts?.create, r.actor])).toEqual([
      ['dev-bootstrap', 'plan', 'planned', 9, 'admin'],
    ]);
    expect(plan[0].note).toContain('ran 2026-12-02T05:00:00.000Z');
    expect(apply.map((r) => r.status)).toEqual(['applied']);
    expect(refused.map((r) => [r.status, r.errorSummary])).toEqual([
      ['refused', expect.stringContaining('state migration refused: remote state exists')],
    ]);
    expect(journal.pending()).toEqual([]);
  });

  test('a second replay, or one whose marks were lost, writes nothing twice', async () => {
    const ids = recordDay();
    await journal.replay(ledger);
    expect((await journal.replay(ledger)).replayed).toEqual([]);
    fs.rmSync(`${journal.file}.replayed`);
    const again = await journal.replay(ledger);
    expect(again.replayed).toEqual([]);
    expect(again.alreadyThere).toEqual(ids);
    for (const id of ids) expect(await rowsOf(id)).toHaveLength(1);
  });

  test('a line that is not JSON stops the replay naming the file and line', async () => {
    recordDay();
    fs.appendFileSync(journal.file, 'not json\n');
    await expect(journal.replay(ledger)).rejects.toThrow(`${journal.file}:4: not a journal entry`);
  });
});
