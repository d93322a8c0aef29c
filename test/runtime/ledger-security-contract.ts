/**
 * The ledger's least privilege and tamper evidence, run against each real database (PGlite
 * in-process, a PostgreSQL server cluster) by `ledger-pglite.test.ts` and `ledger-pg.test.ts`:
 * the writer role cannot delete or rewrite a finished row (the database's errors, not the
 * ledger's), the ledger's own flows work as the writer, and `verify` finds a deleted and an edited
 * row after someone with the owner's DDL rights disabled the guard trigger, and passes on an intact
 * ledger written by concurrent writers.
 */
import { linkHash, FINISH_FIELDS, fieldSql } from '../../lib/runtime/ledger/chain';
import type { SqlDriver } from '../../lib/runtime/ledger/driver';
import { MIGRATIONS } from '../../lib/runtime/ledger/migrations';
import { SqlLedger } from '../../lib/runtime/ledger/sql-ledger';
import {
  RunNotRunningError,
  StackBusyError,
  WriterRoleError,
  type RunRecord,
} from '../../lib/runtime/ledger';

/** A new, empty database of one backend. */
export interface SecurityDatabase {
  /** Connected as a role that owns the schema and may create roles. */
  readonly owner: SqlDriver;
  /** Connected as `role` (a real login on the server; `SET LOCAL ROLE` per transaction on PGlite). */
  as(role: string): Promise<SqlDriver>;
  close(): Promise<void>;
}

export interface SecurityBackend {
  newDatabase(): Promise<SecurityDatabase>;
}

/** Role names are the cluster's: unique per test so test files sharing a server do not meet. */
const unique = (prefix: string) => `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

/** A migrated ledger with a CI login granted the writer role, and that login's ledger. */
async function ledgerWithWriter(db: SecurityDatabase) {
  const owner = new SqlLedger(db.owner);
  await owner.migrate();
  const login = unique('gantry_ci');
  await db.owner.query(`CREATE ROLE ${login} LOGIN`);
  const report = await owner.setUpWriterRole({ grantTo: login });
  const writerDriver = await db.as(login);
  return { owner, login, report, writerDriver, writer: new SqlLedger(writerDriver) };
}

async function finishedRun(ledger: SqlLedger, stack: string, i = 0): Promise<RunRecord> {
  const run = await ledger.startRun({ stack, action: 'plan', actor: `runner-${i}` });
  return ledger.finishRun(run.id, {
    status: 'planned',
    exitCode: 0,
    counts: { create: i, update: 0, delete: 0, replace: 0, read: 0 },
    // Text the canonical serialisation must carry byte for byte: multi-byte characters, a newline.
    note: i % 3 === 0 ? `déploiement ✓ 🚀 n°${i}\nsecond line` : null,
  });
}

/** The database's error for a statement, as `code: message`. */
export async function denied(
  driver: SqlDriver,
  sql: string,
  params: (string | null)[] = [],
): Promise<string> {
  const error = (await driver.query(sql, params).then(
    () => null,
    (e: unknown) => e,
  )) as (Error & { code?: string }) | null;
  return error ? `${error.code}: ${error.message}` : 'allowed';
}

export function describeLedgerSecurity(name: string, backend: () => SecurityBackend): void {
  describe(`ledger least privilege and hash chain on ${name}`, () => {
    const opened: SecurityDatabase[] = [];
    const newDatabase = async () => {
      const db = await backend().newDatabase();
      opened.push(db);
      return db;
    };
    afterAll(async () => {
      await Promise.all(opened.map((db) => db.close()));
    });

    test('the writer role cannot delete, truncate, or rewrite a finished row; the owner cannot delete either', async () => {
      const db = await newDatabase();
      const { owner, writer, writerDriver, report } = await ledgerWithWriter(db);
      expect(report).toMatchObject({
        role: 'gantry_writer',
        grantedTo: expect.stringMatching(/^gantry_ci_/),
      });
      const done = await finishedRun(writer, 'sec-deny');
      const running = await writer.startRun({ stack: 'sec-deny', action: 'apply' });
      const id = done.id;

      // Privileges (GRANT): no DELETE, no TRUNCATE, no identity or chain columns, not the head.
      expect(await denied(writerDriver, 'DELETE FROM terraform_runs WHERE id = CAST($1 AS uuid)', [id])).toBe(
        '42501: permission denied for table terraform_runs',
      );
      expect(await denied(writerDriver, 'TRUNCATE terraform_runs')).toBe(
        '42501: permission denied for table terraform_runs',
      );
      expect(
        await denied(
          writerDriver,
          "UPDATE terraform_runs SET actor = 'mallory' WHERE id = CAST($1 AS uuid)",
          [running.id],
        ),
      ).toBe('42501: permission denied for table terraform_runs');
      expect(
        await denied(
          writerDriver,
          'UPDATE terraform_runs SET chain_hash = NULL WHERE id = CAST($1 AS uuid)',
          [id],
        ),
      ).toBe('42501: permission denied for table terraform_runs');
      expect(await denied(writerDriver, 'UPDATE terraform_runs_chain_head SET seq = 0')).toBe(
        '42501: permission denied for table terraform_runs_chain_head',
      );
      expect(
        await denied(
          writerDriver,
          "INSERT INTO terraform_runs (id, stack, action, status, started_at) VALUES (gen_random_uuid(), 'x', 'plan', 'running', now() - interval '1 day')",
        ),
      ).toBe('42501: permission denied for table terraform_runs');

      // The trigger: a granted column of a finished row still cannot change.
      expect(
        await denied(
          writerDriver,
          "UPDATE terraform_runs SET status = 'failed', exit_code = 1 WHERE id = CAST($1 AS uuid)",
          [id],
        ),
      ).toBe(
        `42501: terraform_runs: run ${id} is planned (finished): a finished row is never rewritten (attempted: exit_code, status)`,
      );
      expect(
        await denied(
          writerDriver,
          "UPDATE terraform_runs SET acknowledged_at = now(), acknowledged_by = 'x', ack_reason = 'y' WHERE id = CAST($1 AS uuid)",
          [id],
        ),
      ).toMatch(/^42501: terraform_runs: run .* is planned \(finished\): a finished row is never rewritten/);
      expect(await writer.getRun(id)).toEqual(done);

      // The owner: the trigger refuses a DELETE and a TRUNCATE to everyone.
      expect(await denied(db.owner, 'DELETE FROM terraform_runs WHERE id = CAST($1 AS uuid)', [id])).toBe(
        `42501: terraform_runs is append-only: run ${id} cannot be deleted`,
      );
      expect(await denied(db.owner, 'TRUNCATE terraform_runs')).toBe(
        '42501: terraform_runs is append-only: it cannot be truncated',
      );
      expect((await owner.verify()).intact).toBe(true);
    });

    test("the ledger's own flows work as the writer: start, heartbeat, finish, refuse, reap, ack", async () => {
      const db = await newDatabase();
      const { owner, writer } = await ledgerWithWriter(db);
      // `migrate` as the writer: nothing pending, and it gets past schema_migrations without CREATE.
      expect(await writer.migrate()).toEqual([]);
      const plan = await writer.startRun({ stack: 'sec-flow', action: 'plan', commitSha: 'c'.repeat(40) });
      expect(await writer.heartbeat(plan.id)).toBe(true);
      await writer.finishRun(plan.id, { status: 'planned', exitCode: 0, planSha256: 'e'.repeat(64) });
      expect(await writer.heartbeat(plan.id)).toBe(false);
      const refused = await writer.recordRefusal({
        stack: 'sec-flow',
        action: 'apply',
        reason: 'approvals missing',
      });
      expect(refused).toMatchObject({ status: 'refused', exitCode: 3 });

      const apply = await writer.startRun({ stack: 'sec-flow', action: 'apply', planRunId: plan.id });
      const reaped = await writer.reap({ olderThanSeconds: 0, stack: 'sec-flow' });
      expect(reaped.map((r) => r.id)).toEqual([apply.id]);
      // Its process comes back too late: the abandoned row stays as it is.
      const late = await writer
        .finishRun(apply.id, { status: 'applied', exitCode: 0 })
        .catch((e: unknown) => e);
      expect(late).toBeInstanceOf(RunNotRunningError);
      expect((late as Error).message).toContain(`run ${apply.id} was marked abandoned`);
      await expect(writer.startRun({ stack: 'sec-flow', action: 'apply' })).rejects.toBeInstanceOf(
        StackBusyError,
      );
      await writer.ack(apply.id, 'oncall', 'state checked');
      await expect(writer.ack(apply.id, 'oncall', 'again')).rejects.toThrow(/already acknowledged/);
      const next = await writer.startRun({ stack: 'sec-flow', action: 'apply' });
      await writer.finishRun(next.id, { status: 'applied', exitCode: 0 });

      // Links: the plan, the refusal, the abandoned apply, its acknowledgement, the last apply.
      const report = await writer.verify();
      expect(report).toMatchObject({ intact: true, links: 5, head: { link: 5 }, problems: [] });
      expect(await owner.verify()).toEqual(report);
    });

    test('verify reports a deleted row and an edited row made by the owner with the guard trigger disabled', async () => {
      const db = await newDatabase();
      const owner = new SqlLedger(db.owner);
      await owner.migrate();
      const runs: RunRecord[] = [];
      for (let i = 1; i <= 6; i++) runs.push(await finishedRun(owner, 'sec-tamper', i));
      const intact = await owner.verify();
      expect(intact).toMatchObject({ intact: true, links: 6, problems: [] });
      const [, second, , fourth, , sixth] = runs;

      // What an attacker with the owner's DDL rights does: disable the guard, then edit and delete.
      await db.owner.query('ALTER TABLE terraform_runs DISABLE TRIGGER terraform_runs_guard');
      await db.owner.query(
        "UPDATE terraform_runs SET status = 'failed', exit_code = 1 WHERE id = CAST($1 AS uuid)",
        [second.id],
      );
      await db.owner.query('DELETE FROM terraform_runs WHERE id IN (CAST($1 AS uuid), CAST($2 AS uuid))', [
        fourth.id,
        sixth.id,
      ]);
      const report = await owner.verify();
      expect(report.intact).toBe(false);
      expect(report.problems.map((p) => [p.kind, p.link, p.runId])).toEqual([
        ['edited', 2, second.id],
        ['gap', 4, runs[4].id],
        ['head', 6, null],
      ]);
      expect(report.problems.map((p) => p.message)).toEqual([
        `edited: run ${second.id} (link 2, finish): the hash does not match; the row's columns or the hash of link 1 changed after it was chained`,
        `gap: link 4 is missing between run ${runs[2].id} and run ${runs[4].id} (link 5): a chained row was deleted or unlinked; link 5 cannot be checked against its predecessor`,
        `head: the chain head is link 6, link 6 is missing after run ${runs[4].id}: the newest chained rows were deleted`,
      ]);
    });

    test('a rewritten hash moves the mismatch to the next link; a full rewrite is caught only by an anchor', async () => {
      const db = await newDatabase();
      const owner = new SqlLedger(db.owner);
      await owner.migrate();
      for (let i = 1; i <= 4; i++) await finishedRun(owner, 'sec-rewrite', i);
      const before = await owner.verify();
      const anchor = { link: 3, hash: (await linkRow(db.owner, 3)).hash };
      expect(before.intact).toBe(true);

      await db.owner.query('ALTER TABLE terraform_runs DISABLE TRIGGER terraform_runs_guard');
      await db.owner.query("UPDATE terraform_runs SET actor = 'someone-else' WHERE chain_seq = 2");
      // Recompute link 2's own hash, as anyone who read chain.ts could: link 3 no longer follows it.
      await rehash(db.owner, 2);
      expect((await owner.verify()).problems.map((p) => [p.kind, p.link])).toEqual([['edited', 3]]);
      // Rewrite every link to the head, and the head: consistent again, except against the anchor.
      await rehash(db.owner, 3);
      await rehash(db.owner, 4);
      const head = await linkRow(db.owner, 4);
      await db.owner.query('UPDATE terraform_runs_chain_head SET hash = $1', [head.hash]);
      expect((await owner.verify()).intact).toBe(true);
      const anchored = await owner.verify({ anchor });
      expect(anchored.problems.map((p) => [p.kind, p.link])).toEqual([['anchor', 3]]);
    });

    test('verify passes on an intact ledger of many rows written by concurrent writers', async () => {
      const db = await newDatabase();
      const { writer, owner } = await ledgerWithWriter(db);
      const writers = 8;
      const perWriter = 40;
      let acks = 0;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            const stack = `sec-many-${w}`;
            if (i % 10 === 9) {
              // An apply that lapses, is reaped by the next run on its stack, and is acknowledged.
              const apply = await writer.startRun({ stack, action: 'apply', actor: `w${w}` });
              await writer.reap({ olderThanSeconds: 0, stack });
              await writer.ack(apply.id, `w${w}`, 'checked');
              acks++;
            } else if (i % 7 === 3) {
              await writer.recordRefusal({ stack, action: 'apply', reason: `refused ${w}/${i}` });
            } else {
              await finishedRun(writer, stack, w * 1000 + i);
            }
          }
        }),
      );
      const report = await owner.verify({ pageSize: 37 });
      expect(report.problems).toEqual([]);
      expect(report).toMatchObject({ intact: true, links: writers * perWriter + acks });
      expect(report.head?.link).toBe(writers * perWriter + acks);
    });

    test('rows finished before the chain began are reported as unchained, not as tampered', async () => {
      const db = await newDatabase();
      // A ledger at version 1, with history: two finished runs, one running, one abandoned apply.
      for (const statement of MIGRATIONS[0].statements) await db.owner.query(statement);
      await db.owner.query(
        'CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      await db.owner.query("INSERT INTO schema_migrations (version, name) VALUES (1, 'terraform_runs')");
      const old = new SqlLedger(db.owner);
      await finishedRun(old, 'sec-legacy', 1);
      await finishedRun(old, 'sec-legacy', 2);
      const stillRunning = await old.startRun({ stack: 'sec-legacy', action: 'plan' });
      const abandoned = await old.startRun({ stack: 'sec-legacy-apply', action: 'apply' });
      await old.reap({ olderThanSeconds: 0, stack: 'sec-legacy-apply' });

      expect(await old.migrate()).toEqual([2, 3]);
      const report = await old.verify();
      expect(report).toMatchObject({ intact: true, links: 0, unchainedBeforeChain: 3, problems: [] });
      // Rows from before the chain join it when they are next written: finished, acknowledged.
      await old.finishRun(stillRunning.id, { status: 'planned', exitCode: 0 });
      await old.ack(abandoned.id, 'oncall', 'checked');
      await finishedRun(old, 'sec-legacy', 3);
      expect(await old.verify()).toMatchObject({ intact: true, links: 4, unchainedBeforeChain: 2 });
    });

    test('migrate as an owner who may not create roles: the schema is migrated, the role setup says what to run', async () => {
      const db = await newDatabase();
      const owner = unique('ledger_owner');
      const role = unique('gantry_writer_x');
      await db.owner.query(`CREATE ROLE ${owner} LOGIN NOCREATEROLE`);
      await db.owner.query(`GRANT CREATE ON SCHEMA public TO ${owner}`);
      const ledger = new SqlLedger(await db.as(owner));
      expect(await ledger.migrate()).toEqual([1, 2, 3]);
      const error = await ledger.setUpWriterRole({ role }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WriterRoleError);
      expect((error as Error).message).toBe(
        `role ${role} does not exist and ${owner} may not create roles (neither CREATEROLE nor superuser). ` +
          'The schema is migrated and the trigger and the hash chain protect the rows, but no login is least-privileged yet: ' +
          `ask an administrator to run \`CREATE ROLE ${role} NOLOGIN\` (and \`GRANT ${role} TO ${owner} WITH ADMIN OPTION\` ` +
          `if ${owner} is to grant it), then run \`gantry ledger migrate\` again`,
      );
      // The guard works without any role.
      const run = await finishedRun(ledger, 'sec-nocreate');
      expect(
        await denied(await db.as(owner), 'DELETE FROM terraform_runs WHERE id = CAST($1 AS uuid)', [run.id]),
      ).toMatch(/append-only/);
      // Once an administrator created the role, the same owner grants it its privileges.
      await db.owner.query(`CREATE ROLE ${role} NOLOGIN`);
      await expect(ledger.setUpWriterRole({ role })).resolves.toMatchObject({ role, created: false });
      const rights = await db.owner.query(
        `SELECT has_table_privilege($1, 'terraform_runs', 'INSERT') AS ins, has_table_privilege($1, 'terraform_runs', 'DELETE') AS del`,
        [role],
      );
      expect(rights).toEqual([{ ins: false, del: false }]);
      const columns = await db.owner.query(
        `SELECT has_column_privilege($1, 'terraform_runs', 'stack', 'INSERT') AS ins_stack,
                has_column_privilege($1, 'terraform_runs', 'status', 'UPDATE') AS upd_status,
                has_column_privilege($1, 'terraform_runs', 'stack', 'UPDATE') AS upd_stack`,
        [role],
      );
      expect(columns).toEqual([{ ins_stack: true, upd_status: true, upd_stack: false }]);
    });

    test('a writer login that owns the ledger, or is a superuser, is refused: it could disable the trigger', async () => {
      const db = await newDatabase();
      const ledger = new SqlLedger(db.owner);
      await ledger.migrate();
      const [me] = await db.owner.query('SELECT current_user AS me');
      await expect(ledger.setUpWriterRole({ grantTo: String(me.me) })).rejects.toThrow(
        new RegExp(`^--grant-writer: ${String(me.me)} is a superuser: it could disable the trigger`),
      );
      await expect(ledger.setUpWriterRole({ grantTo: 'no_such_login_here' })).rejects.toThrow(
        /--grant-writer: role "no_such_login_here" does not exist; create CI's login first/,
      );
      await expect(ledger.setUpWriterRole({ grantTo: 'x"; DROP TABLE terraform_runs; --' })).rejects.toThrow(
        /--grant-writer: .* is not a role name/,
      );
    });
  });
}

/** A link's row: its number, hash and the run. */
async function linkRow(db: SqlDriver, link: number): Promise<{ hash: string; id: string }> {
  const [row] = await db.query(
    'SELECT chain_hash AS hash, CAST(id AS text) AS id FROM terraform_runs WHERE chain_seq = $1',
    [link],
  );
  return { hash: String(row.hash), id: String(row.id) };
}

/** Recomputes link `link`'s hash from its row and the stored hash before it, and stores it. */
async function rehash(db: SqlDriver, link: number): Promise<void> {
  const previous = link === 1 ? '0'.repeat(64) : (await linkRow(db, link - 1)).hash;
  const [row] = await db.query(
    `SELECT ${FINISH_FIELDS.map(([c, k], i) => `${fieldSql(c, k)} AS f${i}`).join(', ')} FROM terraform_runs WHERE chain_seq = $1`,
    [link],
  );
  const values = FINISH_FIELDS.map((_, i) => (row[`f${i}`] === null ? null : String(row[`f${i}`])));
  await db.query('UPDATE terraform_runs SET chain_hash = $1 WHERE chain_seq = $2', [
    linkHash('finish', link, previous, values),
    link,
  ]);
}
