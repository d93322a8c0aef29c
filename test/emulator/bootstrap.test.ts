/**
 * Day zero against the emulator (one moto server for dev's account, started once): dev's foundation
 * and services stacks applied with local state (as an administrator's first applies would be), then
 * `gantry bootstrap dev` creates the state bucket in the empty account and moves both states into it.
 * The bootstrap stack re-plans clean; both stacks then plan clean and apply with the S3 backend in the
 * emulator, holding as many resources as before; a second `gantry bootstrap` refuses to overwrite the
 * remote state a stale local file would replace, and says what to do. The first run's ledger is not
 * reachable: its runs wait in the journal and appear in the ledger, once each, on the second run.
 *
 * The ledger database is not applied here: moto 5.2.1 turns the Data API off for every Aurora cluster
 * but Serverless v1 (`enable_http_endpoint` reads back false, so a re-plan could never be clean) and its
 * RDS Data API answers canned results, not SQL. The ledger part of the stack is covered by its offline
 * plan and policy (test/stacks/bootstrap-stack.test.ts), the `rds-data://` backend at the wire level
 * (test/runtime/rds-data.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceConfig } from '../../environments';
import { stateBucketName } from '../../lib/core/naming';
import { countStateResources, Journal } from '../../lib/runtime/bootstrap';
import { openLedger, type RunRecord } from '../../lib/runtime/ledger';
import { cleanEnv } from '../runtime/env';
import { gantry, tempDir, type CliResult } from '../runtime/helpers';
import { readStack, withEnvironment } from '../util';
import {
  describeWithEmulator,
  EmulatedEnvironments,
  EmulatedStack,
  emulatorOverride,
  endpointsFor,
  OVERRIDE_FILE,
  type MotoServer,
  type TerraformResult,
} from './harness';
import { EMULATOR_CREDENTIALS } from './seed';

const MINUTES = 60_000;

type StateDocument = { resources: Array<{ mode: string; instances: unknown[] }> };
const STACKS = ['dev-foundation', 'dev-services'] as const;
const UNREACHABLE_LEDGER = 'postgres://gantry@127.0.0.1:1/ledger?connect_timeout=2';

/** The stack's override with its backend replaced: local at `file`, or its S3 backend pointed at the emulator. */
function writeOverride(
  outdir: string,
  stackId: string,
  server: MotoServer,
  backend: { local: string } | 's3',
): void {
  const dir = path.join(outdir, 'stacks', stackId);
  const json = readStack(outdir, stackId);
  const override = emulatorOverride(server, endpointsFor(json));
  const s3 = (json.terraform?.backend as { s3?: Record<string, unknown> } | undefined)?.s3;
  const block =
    backend === 's3'
      ? {
          s3: {
            ...s3,
            endpoints: { s3: server.endpoint, sts: server.endpoint },
            use_path_style: true,
            access_key: EMULATOR_CREDENTIALS.accessKeyId,
            secret_key: EMULATOR_CREDENTIALS.secretAccessKey,
            skip_credentials_validation: true,
            skip_requesting_account_id: true,
            skip_metadata_api_check: true,
          },
        }
      : { local: { path: backend.local } };
  fs.writeFileSync(
    path.join(dir, OVERRIDE_FILE),
    JSON.stringify({ ...override, terraform: [{ backend: block }] }, null, 2),
  );
}

describeWithEmulator('gantry bootstrap on the emulator', () => {
  const config = withEnvironment('dev', (env) => ({ ...env, bootstrap: {} }), referenceConfig);
  let envs: EmulatedEnvironments;
  let project: string;
  let stateDir: string;
  let journalFile: string;
  let ledgerDir: string;
  let bootstrap: EmulatedStack;
  const stacks = new Map<string, EmulatedStack>();
  const before = new Map<string, string[]>();
  let first: CliResult;

  const run = (ledgerUrl: string) =>
    gantry(
      [
        'bootstrap',
        'dev',
        '--outdir',
        envs.outdir,
        '--no-synth',
        '--state-dir',
        stateDir,
        '--journal',
        journalFile,
      ],
      cleanEnv(bootstrap.env, { GANTRY_LEDGER_URL: ledgerUrl, GANTRY_ACTOR: 'day-zero-admin' }),
      project,
    );

  beforeAll(async () => {
    project = tempDir('bootstrap-project');
    stateDir = path.join(project, '.gantry', 'state');
    journalFile = path.join(project, '.gantry', 'journal.jsonl');
    ledgerDir = tempDir('bootstrap-ledger');
    fs.mkdirSync(stateDir, { recursive: true });
    envs = await EmulatedEnvironments.start(config, ['dev']);
    const dev = envs.get('dev');
    bootstrap = EmulatedStack.prepare(envs.outdir, 'dev-bootstrap', dev.server);
    writeOverride(envs.outdir, 'dev-bootstrap', dev.server, {
      local: path.join(stateDir, 'dev-bootstrap.tfstate'),
    });
    stacks.set('dev-foundation', dev.foundation);
    stacks.set('dev-services', dev.services);
    // The administrator's first applies, with local state where the runtime looks for it.
    for (const id of STACKS)
      writeOverride(envs.outdir, id, dev.server, { local: path.join(stateDir, `${id}.tfstate`) });
    await Promise.all(
      STACKS.map(async (id) => {
        const stack = stacks.get(id) as EmulatedStack;
        await stack.apply();
        before.set(id, await stack.stateList());
      }),
    );
    // Then the S3 backend, as synthesized, pointed at the emulator.
    for (const id of STACKS) writeOverride(envs.outdir, id, dev.server, 's3');
    first = await run(UNREACHABLE_LEDGER);
  }, 6 * MINUTES);

  afterAll(async () => {
    await envs?.dispose();
  }, MINUTES);

  test('bootstraps the empty account and moves both local states into the bucket', () => {
    // Exit 0 and, on stderr, only the ledger that is not there yet (its runs wait in the journal).
    expect({ code: first.code, stderr: first.stderr }).toEqual({
      code: 0,
      stderr: expect.stringMatching(
        /^gantry: warning: the ledger \(PostgreSQL at 127\.0\.0\.1:1\/ledger\) is not reachable yet .*; 4 run\(s\) stay in \S+journal\.jsonl/,
      ),
    });
    expect(first.stdout).toMatch(/\[dev-bootstrap\] plan: \d+ to create/);
    const bucket = stateBucketName('acme', 'dev', '111111111111');
    for (const id of STACKS) {
      expect(first.stdout).toContain(
        `[${id}] state moved to s3://${bucket}/gantry/${id}.tfstate: ${before.get(id)?.length} resources`,
      );
      expect(fs.existsSync(path.join(stateDir, `${id}.tfstate`))).toBe(false);
      expect(fs.existsSync(path.join(stateDir, `${id}.tfstate.migrated`))).toBe(true);
    }
  });

  test(
    'the bootstrap stack re-plans clean',
    async () => {
      const replan = await bootstrap.plan();
      expect(replan.status).toBe(0);
    },
    2 * MINUTES,
  );

  test(
    'foundation and services hold the same resources in the S3 backend, plan clean and apply',
    async () => {
      const bucket = stateBucketName('acme', 'dev', '111111111111');
      const checked = await Promise.all(
        STACKS.map(async (id) => {
          const stack = stacks.get(id) as EmulatedStack;
          // The state is the bucket's: pulled through the S3 backend (signed, as the emulator requires).
          const pulled = JSON.parse((await stack.mustRun(['state', 'pull'])).stdout) as StateDocument;
          const local = JSON.parse(
            fs.readFileSync(path.join(stateDir, `${id}.tfstate.migrated`), 'utf8'),
          ) as StateDocument;
          const addresses = await stack.stateList();
          const plan: TerraformResult = await stack.plan();
          // The saved (empty) plan applied: the lock file and the state write go through the bucket.
          const apply = await stack.mustRun(['apply', '-input=false', '-no-color', 'emulator.tfplan']);
          return { id, pulled, local, addresses, plan, apply };
        }),
      );
      for (const { id, pulled, local, addresses, plan, apply } of checked) {
        expect(readStack(envs.outdir, id).terraform?.backend).toHaveProperty('s3.bucket', bucket);
        expect(countStateResources(pulled)).toBe(countStateResources(local));
        expect(addresses).toEqual(before.get(id));
        expect(plan.status).toBe(0);
        expect(apply.stdout).toContain('Apply complete! Resources: 0 added, 0 changed, 0 destroyed.');
      }
    },
    4 * MINUTES,
  );

  test(
    'refuses to overwrite an existing remote state, keeps the local file, says what to do; the journal reaches the ledger once each',
    async () => {
      // A stale local state of dev-foundation reappears (a teammate's copy).
      const stale = path.join(stateDir, 'dev-foundation.tfstate');
      fs.copyFileSync(`${stale}.migrated`, stale);
      const second = await run(`pglite:${ledgerDir}`);
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(
        /dev-foundation: refused: remote state s3:\/\/\S+\/gantry\/dev-foundation\.tfstate exists already .* is not overwritten; .*move the local file aside; .*terraform state push/,
      );
      expect(fs.existsSync(stale)).toBe(true);
      expect(second.stdout).toMatch(/\[journal\] \d+ run\(s\) recorded in the ledger/);

      const entries = new Journal(journalFile).entries();
      const ledger = await openLedger(`pglite:${ledgerDir}`);
      let rows: RunRecord[];
      try {
        rows = await ledger.listRuns({ environment: 'dev', limit: 1000 });
      } finally {
        await ledger.close();
      }
      // Every journal entry is one row, and nothing else was written.
      const journalIdOf = (r: RunRecord) =>
        /^journal:([0-9a-f-]{36});/.exec(r.note ?? r.errorSummary ?? '')?.[1];
      expect(rows.map(journalIdOf).sort()).toEqual(entries.map((e) => e.id).sort());
      const summary = rows
        .map((r) => [r.stack, r.action, r.status, r.actor])
        .sort((a, b) => String(a).localeCompare(String(b)));
      expect(summary).toEqual(
        [
          ['dev-bootstrap', 'apply', 'applied', 'day-zero-admin'],
          ['dev-bootstrap', 'plan', 'planned', 'day-zero-admin'],
          ['dev-bootstrap', 'plan', 'planned', 'day-zero-admin'],
          ['dev-foundation', 'apply', 'applied', 'day-zero-admin'],
          ['dev-foundation', 'apply', 'refused', 'day-zero-admin'],
          ['dev-services', 'apply', 'applied', 'day-zero-admin'],
        ].sort((a, b) => String(a).localeCompare(String(b))),
      );
    },
    4 * MINUTES,
  );
});
