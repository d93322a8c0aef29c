/**
 * `gantry bootstrap <name>` with a shared tooling account (test/fixtures/tooling-config.ts): an unknown
 * name is refused naming the allowed ones; a sharing environment plans no bootstrap stack of its own and
 * only moves its local states to the tooling account's bucket, failing closed (exit 3, the local file kept)
 * when the remote cannot be read. Terraform is a stand-in script that records its calls: the Terraform of
 * a real migration is test/runtime/state-migration.test.ts and the emulator's day zero.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootstrapCommand } from '../../lib/runtime/bootstrap';
import { RuntimeError } from '../../lib/runtime/errors';
import type { CliIo } from '../../lib/runtime/session';
import { toolingConfig } from '../fixtures/tooling-config';
import { synthApp } from '../util';
import { tempDir } from './helpers';

const outdir = synthApp(toolingConfig);

/** A project dir, a Terraform stand-in that logs its arguments and fails, and an io collecting output. */
function project(): { io: CliIo; lines: string[]; errors: string[]; calls: () => string[]; cwd: string } {
  const cwd = tempDir('bootstrap-tooling');
  const log = path.join(cwd, 'terraform-calls.log');
  const bin = path.join(cwd, 'terraform');
  fs.writeFileSync(
    bin,
    `#!/bin/sh\necho "$PWD $*" >> '${log}'\necho 'Error: no network here' >&2\nexit 1\n`,
    {
      mode: 0o755,
    },
  );
  const lines: string[] = [];
  const errors: string[] = [];
  const io: CliIo = {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GANTRY_TERRAFORM_BIN: bin,
      // Unreachable: the runs stay in the journal.
      GANTRY_LEDGER_URL: 'postgres://gantry@127.0.0.1:1/gantry',
    },
    out: (l) => lines.push(l),
    err: (l) => errors.push(l),
  };
  // Every call but `terraform version -json`, which each run asks for the ledger row.
  const calls = () =>
    (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []).filter(
      (c) => !c.endsWith(' version -json'),
    );
  return { io, lines, errors, calls, cwd };
}

const LOCAL_STATE = {
  version: 4,
  terraform_version: '1.11.4',
  serial: 1,
  lineage: '0a1d0000-0000-4000-8000-000000000002',
  outputs: {},
  resources: [
    {
      mode: 'managed',
      type: 'aws_iam_role',
      name: 'apply',
      provider: 'provider["registry.terraform.io/hashicorp/aws"]',
      instances: [{ schema_version: 0, attributes: { id: 'acme-dev-gh-apply' } }],
    },
  ],
};

describe('gantry bootstrap with a shared tooling account', () => {
  test('refuses a name that is neither an environment nor the tooling account, naming the allowed ones', async () => {
    const { io, calls } = project();
    await expect(bootstrapCommand('qa', { outdir, synth: false }, io)).rejects.toThrow(
      new RuntimeError(
        `bootstrap: "qa" is neither an environment nor the tooling account of the app in ${outdir}; allowed: "prod", "tooling", "dev", "staging"`,
      ),
    );
    expect(calls()).toEqual([]);
  });

  test("the tooling account's name runs tooling-bootstrap: init, then plan (here init fails: nothing applied)", async () => {
    const { io, calls } = project();
    await expect(bootstrapCommand('tooling', { outdir, synth: false }, io)).rejects.toThrow(
      'tooling-bootstrap: terraform init failed (exit 1); nothing was applied',
    );
    expect(calls()).toEqual([
      `${path.join(outdir, 'stacks', 'tooling-bootstrap')} init -input=false -no-color`,
    ]);
  });

  test('a sharing environment plans no bootstrap stack: with no local state there is nothing to run', async () => {
    const { io, lines, calls } = project();
    await expect(bootstrapCommand('dev', { outdir, synth: false }, io)).resolves.toBe(0);
    expect(lines).toEqual([
      "[dev] no bootstrap stack of its own: its state goes to s3://acme-tooling-tfstate-444444444444, made by tooling-bootstrap (run `gantry bootstrap tooling` first, with the tooling account's credentials)",
      `[dev-foundation] no local state in ${path.join(io.cwd, '.gantry', 'state', 'dev-foundation.tfstate')}: nothing to migrate`,
      `[dev-services] no local state in ${path.join(io.cwd, '.gantry', 'state', 'dev-services.tfstate')}: nothing to migrate`,
    ]);
    expect(calls()).toEqual([]);
    expect(fs.existsSync(path.join(outdir, 'stacks', 'dev-bootstrap'))).toBe(false);
  });

  test("a sharing environment's local state goes to the tooling bucket, refused (exit 3, kept) when it cannot be read", async () => {
    const { io, errors, calls, cwd } = project();
    const stateDir = path.join(cwd, '.gantry', 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    const local = path.join(stateDir, 'dev-foundation.tfstate');
    fs.writeFileSync(local, JSON.stringify(LOCAL_STATE));
    await expect(bootstrapCommand('dev', { outdir, synth: false }, io)).resolves.toBe(3);
    expect(errors[0]).toMatch(
      /^gantry: dev-foundation: refused: could not read s3:\/\/acme-tooling-tfstate-444444444444\/gantry\/dev-foundation\.tfstate to check that it holds no state \(terraform init exited 1: .*\); nothing was migrated$/,
    );
    expect(JSON.parse(fs.readFileSync(local, 'utf8'))).toEqual(LOCAL_STATE);
    // Only the remote check of dev-foundation ran: no plan or apply of any bootstrap stack.
    expect(calls()).toEqual([
      `${path.join(outdir, 'stacks', 'dev-foundation')} init -input=false -no-color -reconfigure`,
    ]);
    const journal = fs.readFileSync(path.join(cwd, '.gantry', 'journal.jsonl'), 'utf8');
    expect(journal).toContain('"stack":"dev-foundation"');
    expect(journal).toContain('"status":"refused"');
    expect(journal).not.toContain('bootstrap"');
    expect(errors.join('\n')).toContain('is not reachable yet');
  });
});
