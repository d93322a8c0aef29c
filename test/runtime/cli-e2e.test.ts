/**
 * The CLI end to end with the real Terraform, offline, on the project's own synthesized stacks
 * (prepared by the foundation harness) and on a stack with no resources, which applies for real.
 * Counts are compared with the harness's own `terraform show -json`, never hard-coded: other
 * engineers keep changing what the stacks contain.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../../lib/runtime/ledger';
import { describeWithTerraform, OfflineTerraform, type PlanJson } from '../terraform-harness';
import { synthApp } from '../util';
import { cleanEnv } from './env';
import { STACK_FACTS_KEY } from '../../lib/core/stack-facts';
import { gantry, REPO, spawnGantry, exitOf, tempDir, terraformDir, testFacts } from './helpers';

const COMMIT = 'c0ffee0000000000000000000000000000000001';
const NEWER = 'c0ffee0000000000000000000000000000000002';

/** Counts by action from the plan JSON, as a reviewer would read them. */
function countActions(plan: PlanJson) {
  const counts = { create: 0, update: 0, delete: 0, replace: 0, read: 0 };
  for (const rc of plan.resource_changes ?? []) {
    const a = [...rc.change.actions].sort().join('+');
    if (a === 'create+delete') counts.replace += 1;
    else if (a in counts) counts[a as keyof typeof counts] += 1;
  }
  return counts;
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describeWithTerraform('gantry CLI on real Terraform', () => {
  let ledgerUrl: string;
  let synthOut: string;

  beforeAll(() => {
    synthOut = synthApp();
    ledgerUrl = `pglite:${tempDir('e2e-ledger')}`;
  });

  const envPlain = (extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(process.env, {
      GANTRY_LEDGER_URL: ledgerUrl,
      GANTRY_COMMIT_SHA: COMMIT,
      GANTRY_ACTOR: 'e2e',
      ...extra,
    });
  const envFor = (tf: OfflineTerraform, extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(tf.env, {
      GANTRY_LEDGER_URL: ledgerUrl,
      GANTRY_COMMIT_SHA: COMMIT,
      GANTRY_ACTOR: 'e2e',
      ...extra,
    });

  async function runs(filter: string[]): Promise<RunRecord[]> {
    const result = await gantry(['runs', '--json', '--limit', '1000', ...filter], {
      GANTRY_LEDGER_URL: ledgerUrl,
    });
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  }

  describe('dev-foundation', () => {
    let tf: OfflineTerraform;
    /** The counts of the harness's own `show -json` of the first plan. */
    let planCounts: ReturnType<typeof countActions> | undefined;

    beforeAll(() => {
      tf = OfflineTerraform.prepare(path.join(synthOut, 'stacks', 'dev-foundation'));
    });

    afterAll(() => tf?.dispose());

    test('plan writes a planned row with the counts of the plan itself', async () => {
      const summaryFile = path.join(tempDir('summary'), 'step-summary.md');
      const result = await gantry(
        ['plan', 'dev-foundation', '--dir', tf.dir],
        envFor(tf, { GITHUB_STEP_SUMMARY: summaryFile }),
      );
      expect(result.stderr).toMatch(/planned; run [0-9a-f-]{36}/);
      expect(result.code).toBe(0);
      const planFile = path.join(tf.dir, 'gantry.tfplan');
      const expected = countActions(tf.showJson('gantry.tfplan'));
      planCounts = expected;
      expect(expected.create).toBeGreaterThan(0);
      // Terraform's output streamed with a prefix and elapsed time, then the summary.
      expect(result.stdout).toMatch(/^\[dev-foundation plan \+\d+\.\d+s\] /m);
      expect(result.stdout).toContain(
        `Plan: ${expected.create} to create, ${expected.update} to update, ${expected.replace} to replace, ${expected.delete} to delete, ${expected.read} to read.`,
      );
      const [row] = await runs(['--stack', 'dev-foundation', '--action', 'plan']);
      expect(row).toMatchObject({
        action: 'plan',
        status: 'planned',
        environment: 'dev',
        commitSha: COMMIT,
        actor: 'e2e',
        exitCode: 0,
        counts: expected,
        planSha256: sha256(planFile),
        terraformVersion: expect.stringMatching(/^1\.\d+\.\d+/),
      });
      const markdown = fs.readFileSync(summaryFile, 'utf8');
      expect(markdown).toContain('### Terraform plan: dev-foundation');
      expect(markdown).toContain(
        `| ${expected.create} | ${expected.update} | ${expected.replace} | ${expected.delete} | ${expected.read} |`,
      );
    });

    test('apply refuses a tampered plan file and records why', async () => {
      const planFile = path.join(tf.dir, 'gantry.tfplan');
      const original = fs.readFileSync(planFile);
      // One byte more: the file is no longer the plan that was recorded.
      fs.writeFileSync(planFile, Buffer.concat([original, Buffer.from([0])]));
      try {
        const result = await gantry(['apply', 'dev-foundation', '--dir', tf.dir], envFor(tf));
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(
          /apply refused: plan file .* has SHA-256 [0-9a-f]{64}, but plan run .* recorded/,
        );
        const [row] = await runs(['--stack', 'dev-foundation', '--action', 'apply']);
        expect(row).toMatchObject({
          status: 'refused',
          exitCode: 3,
          errorSummary: expect.stringMatching(/SHA-256/),
        });
        expect(fs.existsSync(path.join(tf.dir, 'terraform.tfstate'))).toBe(false);
      } finally {
        fs.writeFileSync(planFile, original);
      }
    });

    test('apply refuses a plan made from another commit', async () => {
      const result = await gantry(
        ['apply', 'dev-foundation', '--dir', tf.dir],
        envFor(tf, { GANTRY_COMMIT_SHA: NEWER }),
      );
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`was made from commit ${COMMIT}, the current commit is ${NEWER}`);
      const [row] = await runs(['--stack', 'dev-foundation', '--action', 'apply']);
      expect(row).toMatchObject({ status: 'refused', commitSha: NEWER });
    });

    test('drift exits 2 and records drifted with the counts when there are changes', async () => {
      const result = await gantry(['drift', 'dev-foundation', '--dir', tf.dir], envFor(tf));
      expect(result.code).toBe(2);
      const [row] = await runs(['--stack', 'dev-foundation', '--action', 'drift']);
      expect(row).toMatchObject({ status: 'drifted', exitCode: 2 });
      // The same configuration and (empty) state as the plan above: the same counts.
      expect(row.counts).toEqual(planCounts);
    });
  });

  describe('a stack with no resources', () => {
    // No provider to start: the CLI's path through plan, apply and drift is what is tested here; the
    // AWS stacks are applied through the CLI on the emulator (test/emulator/).
    let dir: string;

    beforeAll(() => {
      dir = terraformDir({}, 'scratch');
    });

    test('plans no changes, applies for real, then shows no drift', async () => {
      const plan = await gantry(['plan', 'scratch', '--dir', dir], envPlain());
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain('No changes');
      const [planRow] = await runs(['--stack', 'scratch', '--action', 'plan']);
      expect(planRow).toMatchObject({
        status: 'planned',
        counts: { create: 0, update: 0, delete: 0, replace: 0, read: 0 },
      });

      const apply = await gantry(['apply', 'scratch', '--dir', dir], envPlain());
      expect(apply.stderr).toContain('applied; run');
      expect(apply.code).toBe(0);
      expect(apply.stdout).toMatch(/\[scratch apply \+\d+\.\d+s\] Apply complete!/);
      const [applyRow] = await runs(['--stack', 'scratch', '--action', 'apply']);
      expect(applyRow).toMatchObject({
        status: 'applied',
        exitCode: 0,
        planRunId: planRow.id,
        planSha256: planRow.planSha256,
        commitSha: COMMIT,
      });
      expect(applyRow.finishedAt).not.toBeNull();
      expect(fs.existsSync(path.join(dir, 'terraform.tfstate'))).toBe(true);

      const again = await gantry(['apply', 'scratch', '--dir', dir], envPlain());
      expect(again.code).toBe(3);
      expect(again.stderr).toContain(`plan run ${planRow.id} was already applied`);

      const drift = await gantry(['drift', 'scratch', '--dir', dir], envPlain());
      expect(drift.code).toBe(0);
      const [driftRow] = await runs(['--stack', 'scratch', '--action', 'drift']);
      expect(driftRow).toMatchObject({ status: 'no_changes', exitCode: 0 });
    });
  });

  test('an older commit is not applied over a newer one unless --allow-older gives a reason', async () => {
    // Terraform's builtin provider only: fast, and a real apply.
    const dir = terraformDir({ resource: { terraform_data: { marker: { input: 'v1' } } } }, 'marker');
    const older = await gantry(['plan', 'marker', '--dir', dir, '--plan-file', 'older.tfplan'], envPlain());
    expect(older.code).toBe(0);
    const [olderRun] = await runs(['--stack', 'marker', '--action', 'plan']);
    const newer = await gantry(
      ['plan', 'marker', '--dir', dir, '--plan-file', 'newer.tfplan'],
      envPlain({ GANTRY_COMMIT_SHA: NEWER }),
    );
    expect(newer.code).toBe(0);
    const applied = await gantry(
      ['apply', 'marker', '--dir', dir, '--plan-file', 'newer.tfplan'],
      envPlain({ GANTRY_COMMIT_SHA: NEWER }),
    );
    expect(applied.code).toBe(0);

    const args = ['apply', 'marker', '--dir', dir, '--plan-file', 'older.tfplan', '--plan-run', olderRun.id];
    const refused = await gantry(args, envPlain());
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/a newer plan .* commit c0ffee0+2\) was applied to marker/);

    const allowed = await gantry([...args, '--allow-older', 'rollback drill'], envPlain());
    const [row] = await runs(['--stack', 'marker', '--action', 'apply']);
    expect(row.status).not.toBe('refused');
    expect(row.note).toMatch(/^allow-older: rollback drill/);
    expect(allowed.stderr).toContain('applying the older commit as asked');
  });

  describe("plan synthesizes with the project's cdktf.json app", () => {
    /** A project whose app writes `app-stack` with one `terraform_data` holding `input`, read from `source.txt`. */
    function project(input: string): string {
      const dir = tempDir('project');
      fs.writeFileSync(path.join(dir, 'source.txt'), input);
      const stack = {
        '//': { [STACK_FACTS_KEY]: testFacts('app-stack') },
        resource: { terraform_data: { synthesized: { input: '@' } } },
      };
      fs.writeFileSync(
        path.join(dir, 'app.js'),
        `const fs = require('fs');
const d = process.env.CDKTF_OUTDIR + '/stacks/app-stack';
fs.mkdirSync(d, { recursive: true });
const stack = ${JSON.stringify(stack)};
stack.resource.terraform_data.synthesized.input = fs.readFileSync(__dirname + '/source.txt', 'utf8');
fs.writeFileSync(d + '/cdk.tf.json', JSON.stringify(stack));`,
      );
      fs.writeFileSync(
        path.join(dir, 'cdktf.json'),
        JSON.stringify({ language: 'javascript', app: 'node app.js' }),
      );
      return dir;
    }
    const env = () => cleanEnv(process.env, { GANTRY_LEDGER_URL: ledgerUrl, GANTRY_COMMIT_SHA: COMMIT });
    const plannedInput = (dir: string) => {
      const tf = path.join(dir, 'cdktf.out', 'stacks', 'app-stack');
      const show = JSON.parse(
        execFileSync('terraform', ['show', '-json', 'gantry.tfplan'], { cwd: tf, encoding: 'utf8' }),
      ) as { resource_changes: Array<{ change: { after: { input: string } } }> };
      return show.resource_changes[0].change.after.input;
    };

    test('when the stack is not synthesized yet', async () => {
      const dir = project('by the app');
      const result = await gantry(['plan', 'app-stack'], env(), dir);
      expect(result.stderr).toContain('planned; run');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('[synth] node app.js');
      expect(result.stdout).toContain(
        'Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 0 to read.',
      );
      expect(plannedInput(dir)).toBe('by the app');
    });

    test('again after a source change, so the plan is the plan of the sources, not of stale JSON', async () => {
      const dir = project('first');
      expect((await gantry(['plan', 'app-stack'], env(), dir)).code).toBe(0);
      expect(plannedInput(dir)).toBe('first');
      fs.writeFileSync(path.join(dir, 'source.txt'), 'second');
      const again = await gantry(['plan', 'app-stack'], env(), dir);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('[synth] node app.js');
      expect(plannedInput(dir)).toBe('second');
    });

    test('--no-synth plans the JSON as it is', async () => {
      const dir = project('first');
      expect((await gantry(['plan', 'app-stack'], env(), dir)).code).toBe(0);
      fs.writeFileSync(path.join(dir, 'source.txt'), 'second');
      const kept = await gantry(['plan', 'app-stack', '--no-synth'], env(), dir);
      expect(kept.code).toBe(0);
      expect(kept.stdout).not.toContain('[synth]');
      expect(plannedInput(dir)).toBe('first');
    });
  });

  describe('refuses a stack whose facts it cannot establish, recording why', () => {
    const env = () => envPlain();
    test.each([
      ['no facts', {}, /the stack's cdk\.tf\.json has no Gantry facts/],
      [
        'facts of another stack',
        { '//': { [STACK_FACTS_KEY]: testFacts('other-stack') } },
        /the stack's Gantry facts are those of "other-stack", not "no-facts"/,
      ],
      [
        'malformed approvals',
        { '//': { [STACK_FACTS_KEY]: { ...testFacts('no-facts'), requiredApprovals: 'two' } } },
        /requiredApprovals = "two"; expected an integer from 0/,
      ],
      [
        'a newer facts version',
        { '//': { [STACK_FACTS_KEY]: { ...testFacts('no-facts'), version: 2 } } },
        /have version 2; this gantry reads version 1/,
      ],
    ])('%s: plan and apply exit 3 with a refused row', async (_name, meta, reason) => {
      const dir = tempDir('no-facts');
      fs.writeFileSync(
        path.join(dir, 'main.tf.json'),
        JSON.stringify({ ...meta, resource: { terraform_data: { a: { input: 'x' } } } }),
      );
      for (const action of ['plan', 'apply']) {
        const result = await gantry([action, 'no-facts', '--dir', dir], env());
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(reason);
        const [row] = await runs(['--stack', 'no-facts', '--action', action]);
        expect(row).toMatchObject({ status: 'refused', exitCode: 3 });
        expect(row.errorSummary).toMatch(reason);
      }
      expect(fs.existsSync(path.join(dir, '.terraform'))).toBe(false);
    });

    test('--env that disagrees with the facts', async () => {
      const dir = terraformDir({ resource: { terraform_data: { a: { input: 'x' } } } }, 'env-check', {
        environment: 'dev',
      });
      const result = await gantry(['plan', 'env-check', '--dir', dir, '--env', 'prod'], env());
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(
        /--env "prod": stack env-check belongs to environment "dev" \(its facts\)/,
      );
    });
  });

  test('runs prints a readable table and JSON, filtered', async () => {
    const table = await gantry(['runs', '--stack', 'scratch', '--limit', '3'], {
      GANTRY_LEDGER_URL: ledgerUrl,
    });
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^STARTED \(UTC\)\s+STACK\s+ACTION\s+STATUS\s+EXIT\s+CHANGES\s+COMMIT\s+ACTOR\s+ID$/,
    );
    expect(lines).toHaveLength(4);
    for (const line of lines.slice(1))
      expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+scratch\s+(plan|apply|drift)\s+\w+/);
    const refused = await runs(['--status', 'refused']);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused.every((r) => r.status === 'refused' && r.exitCode === 3)).toBe(true);
    const bad = await gantry(['runs', '--status', 'done'], { GANTRY_LEDGER_URL: ledgerUrl });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"done" is not a run status; allowed: running, planned');
  });
});

describe('gantry CLI basics', () => {
  test('npx gantry runs the TypeScript CLI through the launcher and documents the exit codes', async () => {
    const { code, output } = await exitOf(spawnGantry(['--help'], {}));
    expect(code).toBe(0);
    for (const sub of ['plan', 'apply', 'drift', 'show', 'runs', 'ledger'])
      expect(output).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(output).toContain('3  refused by a guard');
    expect(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).toContain('"gantry": "bin/gantry.js"');
  });

  test('every subcommand has its own --help', async () => {
    for (const sub of [
      ['plan'],
      ['apply'],
      ['drift'],
      ['show'],
      ['runs'],
      ['ledger', 'reap'],
      ['ledger', 'ack'],
      ['changed'],
      ['verify-images'],
    ]) {
      const result = await gantry([...sub, '--help'], {});
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: gantry ${sub.join(' ')}`);
    }
  });

  test('a bad stack id or missing stack is one clear line, no stack trace', async () => {
    const bad = await gantry(['plan', '../etc', '--no-synth'], { GANTRY_LEDGER_URL: 'pglite:memory' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("gantry: stack: \"../etc\" is not a stack id (letters, digits, '-', '_')");
    const missing = await gantry(['plan', 'nope', '--no-synth', '--outdir', tempDir('empty-out')], {
      GANTRY_LEDGER_URL: 'pglite:memory',
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^gantry: stack nope: .*cdk\.tf\.json does not exist and --no-synth was given/,
    );
  });
});
