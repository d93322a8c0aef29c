import { actionlint as runLint } from './actionlint';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { referenceConfig } from '../../../environments';
import { withEnvironment } from '../../util';
import { evaluate } from './expression';
import type { EnvironmentConfig, GantryConfig } from '../../../lib/config';
import { IMAGE_TAG_SOURCE, imageTagProblem } from '../../../lib/core/identifiers';
import { environmentChain, imageTagVariableName, planRoleName, roleArn } from '../../../lib/core/naming';
import {
  ACTION_PINS,
  checkWorkflows,
  generateWorkflows,
  PLAN_COMMENT_MARKER,
  planCommentMarker,
  writeWorkflows,
  type GeneratedWorkflow,
} from '../../../lib/workflows';

type Json = Record<string, unknown>;
interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  name?: string;
  needs?: string[];
  if?: string;
  environment?: string;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  permissions?: Record<string, string>;
  'runs-on'?: string;
  steps: Step[];
  strategy?: { matrix: { include: Json[] } };
}
interface Workflow {
  on: Json;
  permissions: Json;
  jobs: Record<string, Job>;
}

const prod = referenceConfig.environments.find((e) => e.name === 'prod')!;
/** A commit of a push. */
const SHA = '0123456789abcdef0123456789abcdef01234567';
const dev = referenceConfig.environments.find((e) => e.name === 'dev')!;

function withEnvironments(...environments: EnvironmentConfig[]): GantryConfig {
  return { ...referenceConfig, environments };
}

/** dev on its CodeBuild runner (no deploy project), qa on GitHub-hosted runners, prod with 3 approvals. */
const variant: GantryConfig = withEnvironments(
  { ...dev, runners: { githubActions: dev.runners?.githubActions } },
  { ...dev, name: 'qa', accountId: '444444444444', runners: undefined },
  {
    ...prod,
    approval: {
      requiredApprovals: 3,
      reviewerGroups: [{ teams: ['platform-leads'] }, { teams: ['sre'] }, { teams: ['security'] }],
    },
  },
);

/** The variant with release.requireSignatures, qa requiring an approval (on GitHub-hosted runners). */
const staging = referenceConfig.environments.find((e) => e.name === 'staging')!;
const signedVariant: GantryConfig = {
  ...variant,
  environments: variant.environments.map((e) =>
    e.name === 'qa'
      ? { ...e, approval: staging.approval, deploymentBranches: staging.deploymentBranches }
      : e,
  ),
  release: { ...variant.release, requireSignatures: true },
};

const CONFIGS: Record<string, GantryConfig> = { reference: referenceConfig, variant, signed: signedVariant };

function files(config: GantryConfig): Record<string, GeneratedWorkflow> {
  return Object.fromEntries(generateWorkflows(config).map((w) => [w.fileName, w]));
}
function load(config: GantryConfig, file: string): Workflow {
  return parse(files(config)[file].content) as Workflow;
}
function allSteps(wf: Workflow): Step[] {
  return Object.values(wf.jobs).flatMap((j) => j.steps);
}
const assumesRole = (job: Job) =>
  job.steps.some((s) => s.uses?.startsWith(`${ACTION_PINS.configureAwsCredentials.action}@`));

/** Runs a generated `run:` script with bash, a fake `npx`/`aws` on PATH and the given env. */
function runScript(script: string, env: Record<string, string>, fakes: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-wf-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  for (const [name, body] of Object.entries(fakes)) {
    fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  }
  const output = path.join(dir, 'output');
  const summary = path.join(dir, 'summary');
  fs.writeFileSync(output, '');
  fs.writeFileSync(summary, '');
  const result = spawnSync('bash', ['-e', '-c', script], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      RUNNER_TEMP: dir,
      CALLS: path.join(dir, 'calls'),
      ...env,
    },
    encoding: 'utf8',
  });
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  return {
    status: result.status,
    stdout: result.stdout,
    output: read(output),
    summary: read(summary),
    calls: read(path.join(dir, 'calls')),
  };
}

/** The indices of `job`'s steps named by action or name prefix: all present, in that order. */
function expectStepsInOrder(job: Job, prefixes: string[]): number[] {
  const order = prefixes.map((p) =>
    job.steps.findIndex((s) => (s.uses ?? '').startsWith(p) || (s.name ?? '').startsWith(p)),
  );
  expect(order.every((i) => i >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  return order;
}

/** The input check refused: exit 1, an error annotation naming why, no output. */
function expectRefused(r: ReturnType<typeof runScript>, message: string) {
  expect(r.status).toBe(1);
  expect(r.stdout).toContain('::error title=Invalid input::');
  expect(r.stdout).toContain(message);
  expect(r.output).toBe('');
}

describe.each(Object.entries(CONFIGS))('workflows of the %s config', (_label, config) => {
  const generated = generateWorkflows(config);

  test('writes the plan, apply and drift workflows, and with a release the tag build', () => {
    expect(generated.map((w) => w.fileName)).toEqual([
      'terraform-plan.yml',
      'terraform-apply.yml',
      'terraform-drift.yml',
      'build-publish.yml',
    ]);
  });

  test.each(generated.map((w) => [w.fileName, w] as const))(
    'actionlint finds nothing in %s',
    async (_f, w) => {
      expect(await runLint(w.content, w.fileName)).toEqual([]);
    },
  );

  test.each(generated.map((w) => [w.fileName, w] as const))('%s: least permissions at the top', (_f, w) => {
    const wf = parse(w.content) as Workflow;
    expect([{}, { contents: 'read' }]).toContainEqual(wf.permissions);
    for (const job of Object.values(wf.jobs)) expect(job.permissions).toBeDefined();
  });

  test.each(generated.map((w) => [w.fileName, w] as const))(
    '%s: id-token: write exactly on the jobs that assume a role',
    (_f, w) => {
      const wf = parse(w.content) as Workflow;
      for (const [id, job] of Object.entries(wf.jobs)) {
        expect([id, job.permissions?.['id-token'] === 'write']).toEqual([id, assumesRole(job)]);
      }
    },
  );

  test.each(generated.map((w) => [w.fileName, w] as const))(
    '%s: every action pinned to a full SHA from the pins table, with its version',
    (_f, w) => {
      const wf = parse(w.content) as Workflow;
      const pinned = new Map(Object.values(ACTION_PINS).map((p) => [`${p.action}@${p.sha}`, p.version]));
      const used = allSteps(wf).flatMap((s) => (s.uses ? [s.uses] : []));
      expect(used.length).toBeGreaterThan(0);
      for (const u of used) {
        expect(u).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        expect(pinned.has(u)).toBe(true);
        expect(w.content).toContain(`${u} # ${pinned.get(u)}`);
      }
    },
  );

  test.each(generated.map((w) => [w.fileName, w] as const))(
    '%s: no event or input text spliced into a script, no persisted checkout token',
    (_f, w) => {
      const wf = parse(w.content) as Workflow;
      for (const step of allSteps(wf)) {
        expect(step.run ?? '').not.toMatch(/\$\{\{/);
        if (step.uses?.startsWith('actions/checkout@'))
          expect(step.with?.['persist-credentials']).toBe(false);
      }
    },
  );

  test('no workflow runs on pull_request_target or workflow_run', () => {
    for (const w of generated) {
      const on = (parse(w.content) as Workflow).on;
      expect(Object.keys(on)).not.toContain('pull_request_target');
      expect(Object.keys(on)).not.toContain('workflow_run');
    }
  });

  test('the apply workflow runs only on dispatch, the image-published handoff and pushes to the default branch', () => {
    const wf = load(config, 'terraform-apply.yml');
    expect(Object.keys(wf.on).sort()).toEqual(['push', 'repository_dispatch', 'workflow_dispatch']);
    expect(wf.on.repository_dispatch).toEqual({ types: ['image-published'] });
    expect(wf.on.push).toEqual({ branches: ['main'] });
  });

  test('each environment deploys through its chain of gate jobs, in order', () => {
    const wf = load(config, 'terraform-apply.yml');
    for (const env of config.environments) {
      const chain = environmentChain(env.name, env.approval.requiredApprovals);
      // An environment whose pushes build waits for its build job too.
      const build = wf.jobs[`build-${env.name}`] ? [`build-${env.name}`] : [];
      chain.forEach((name, i) => {
        const job = wf.jobs[name];
        expect(job.environment).toBe(name);
        expect(job.needs).toEqual([
          ...(i === 0 ? ['resolve'] : ['resolve', chain[i - 1]]),
          ...(name === env.name ? build : []),
        ]);
        expect(job.if).toContain(`inputs.environment == '${env.name}'`);
      });
      const apply = wf.jobs[env.name];
      expect(apply.concurrency?.['cancel-in-progress']).toBe(false);
      for (const gate of chain.slice(0, -1)) {
        expect(wf.jobs[gate].permissions).toEqual({});
        expect(wf.jobs[gate].steps.some((s) => s.uses)).toBe(false);
      }
    }
  });
});

describe('terraform-apply.yml', () => {
  /** The concurrency group an apply job of `env` joins for these resolved inputs. */
  const groupOf = (config: GantryConfig, env: string, stack: string, action: string) => {
    const group = load(config, 'terraform-apply.yml').jobs[env].concurrency!.group;
    const [prefix, expression] = group.split('${{');
    return `${prefix}${String(evaluate(expression, { needs: { resolve: { outputs: { stack, action } } } }))}`;
  };

  test.each([
    ['reference (deploy project)', referenceConfig, 'prod'],
    ['variant (gantry apply)', variant, 'dev'],
  ])(
    '%s: services deploys of an environment share one group, so a newer one replaces a pending one; plans and foundation keep theirs',
    (_label, config, env) => {
      const job = load(config, 'terraform-apply.yml').jobs[env];
      // cancel-in-progress false: the running deploy finishes, only the newest pending one is kept.
      expect(job.concurrency?.['cancel-in-progress']).toBe(false);
      expect(groupOf(config, env, 'services', 'apply')).toBe(`gantry-${env}-deploy`);
      expect(groupOf(config, env, 'services', 'plan')).toBe(`gantry-${env}-services`);
      expect(groupOf(config, env, 'foundation', 'apply')).toBe(`gantry-${env}-foundation`);
      expect(groupOf(config, env, 'foundation', 'plan')).toBe(`gantry-${env}-foundation`);
      // Per environment: another environment's deploys never replace this one's.
      const other = config.environments.find((e) => e.name !== env)!.name;
      expect(groupOf(config, other, 'services', 'apply')).toBe(`gantry-${other}-deploy`);
    },
  );

  test('prod (2 approvals) passes prod-approval, then prod', () => {
    const wf = load(referenceConfig, 'terraform-apply.yml');
    const prodJobs = Object.entries(wf.jobs).filter(([, j]) =>
      j.if?.includes("inputs.environment == 'prod'"),
    );
    expect(prodJobs.map(([id, j]) => [id, j.environment, j.needs])).toEqual([
      ['prod-approval', 'prod-approval', ['resolve']],
      ['prod', 'prod', ['resolve', 'prod-approval']],
    ]);
  });

  test('3 approvals: prod-approval-1, prod-approval-2, then prod', () => {
    const wf = load(variant, 'terraform-apply.yml');
    expect(wf.jobs['prod-approval-2'].needs).toEqual(['resolve', 'prod-approval-1']);
    expect(wf.jobs.prod.needs).toEqual(['resolve', 'prod-approval-2']);
  });

  test('only the auto-deploy environment (dev) runs on push', () => {
    const wf = load(referenceConfig, 'terraform-apply.yml');
    expect(wf.jobs.dev.if).toContain(
      "((github.event_name == 'push' && contains(fromJSON(needs.resolve.outputs.push_deploy), 'dev')) ||",
    );
    for (const id of ['staging', 'prod', 'prod-approval']) expect(wf.jobs[id].if).not.toContain("'push'");
  });

  test('without an auto-deploy environment there is no push trigger', () => {
    const wf = parse(
      generateWorkflows(referenceConfig, { autoDeployEnvironments: [] })[1].content,
    ) as Workflow;
    expect(Object.keys(wf.on)).toEqual(['repository_dispatch', 'workflow_dispatch']);
  });

  test('dispatch inputs: environment, stack, action, image tags', () => {
    const wf = load(referenceConfig, 'terraform-apply.yml');
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, Json> }).inputs;
    expect(Object.keys(inputs)).toEqual([
      'environment',
      'stack',
      'action',
      'image_tags',
      'promote_from',
      'redeploy',
      'unverified_reason',
    ]);
    expect(inputs.unverified_reason).toMatchObject({ type: 'string', required: false, default: '' });
    expect(inputs.redeploy).toMatchObject({ type: 'boolean', required: false, default: false });
    expect(inputs.promote_from).toMatchObject({ type: 'string', required: false, default: '' });
    expect(inputs.environment.options).toEqual(['dev', 'staging', 'prod']);
    expect(inputs.stack.options).toEqual(['services', 'foundation']);
    expect(inputs.action.options).toEqual(['apply', 'plan']);
    expect(String(inputs.image_tags.description)).toContain('rollback');
  });

  test('an environment with a runner applies on its CodeBuild runner label with the apply role', () => {
    const wf = load(variant, 'terraform-apply.yml');
    const job = wf.jobs.dev;
    expect(job['runs-on']).toBe('codebuild-acme-dev-runner-${{ github.run_id }}-${{ github.run_attempt }}');
    expect(job.permissions).toEqual({ contents: 'read', 'id-token': 'write', actions: 'read' });
    const creds = job.steps.find((s) => s.uses?.startsWith('aws-actions/'))!;
    expect(creds.with?.['role-to-assume']).toBe('${{ vars.AWS_DEPLOYER_ROLE_ARN }}');
    expect(wf.jobs.qa['runs-on']).toBe('ubuntu-latest');
  });

  test('an environment with a deploy project only starts it, at this commit, with no override', () => {
    const wf = load(referenceConfig, 'terraform-apply.yml');
    const job = wf.jobs.prod;
    expect(job.permissions).toEqual({ 'id-token': 'write' });
    const start = job.steps.find((s) => s.run?.includes('start-build'))!;
    expect(start.env).toEqual({
      PROJECT: 'acme-prod-deploy',
      PARAMETER: '/acme/prod/gantry/image-tags',
      TAGS_JSON: '${{ needs.resolve.outputs.tags_json }}',
      RUN_ID: '${{ github.run_id }}',
      RUN_ATTEMPT: '${{ github.run_attempt }}',
      PROMOTE_FROM: '${{ needs.resolve.outputs.promote_from }}',
      REDEPLOY: '${{ needs.resolve.outputs.redeploy }}',
      UNVERIFIED_REASON: '${{ needs.resolve.outputs.unverified_reason }}',
    });
    expect(start.run).not.toContain('${{');
    const lines = start.run!.split('\n');
    const call = lines.find((l) => l.includes('start-build'))!;
    const flags = call.match(/--[a-z-]+/g);
    expect(flags).toEqual(['--project-name', '--source-version', '--query', '--output']);
    // The image tags go through the parameter, written right before the build starts.
    const put = lines.findIndex((l) => l.includes('aws ssm put-parameter'));
    expect(lines[put].match(/--[a-z-]+/g)).toEqual(['--name', '--type', '--overwrite', '--value']);
    expect(lines.findIndex((l) => l.includes('start-build'))).toBeGreaterThan(put);
    // The runtime runs in the build: the job only starts it (and reads its log).
    expect(job.steps.some((s) => /\bnpx\b|gantry (plan|apply|deploy)/.test(s.run ?? ''))).toBe(false);
  });

  /** prod's start-build step, and the environment its script runs with. */
  const startStep = () =>
    load(referenceConfig, 'terraform-apply.yml').jobs.prod.steps.find((s) => s.run?.includes('start-build'))!;
  const startEnv = (run: { id: string; attempt: string }) => ({
    PROJECT: 'acme-prod-deploy',
    PARAMETER: '/acme/prod/gantry/image-tags',
    TAGS_JSON: '{}',
    GITHUB_SHA: 'abc123',
    RUN_ID: run.id,
    RUN_ATTEMPT: run.attempt,
  });

  test('the deploy step fails the job when the build fails and passes when it succeeds', () => {
    const start = startStep();
    const fakes = (status: string) => ({
      aws: `echo "$*" >> "$CALLS"; if [ "$2" = start-build ]; then echo build-1; else echo ${status}; fi`,
      sleep: 'true',
    });
    const env = startEnv({ id: '9876543210', attempt: '2' });
    const failed = runScript(start.run!, env, fakes('FAILED'));
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain('::error title=Deploy of acme-prod-deploy::build build-1 ended FAILED');
    const ok = runScript(start.run!, env, fakes('SUCCEEDED'));
    expect(ok.status).toBe(0);
    expect(ok.calls.split('\n').slice(0, 2)).toEqual([
      'ssm put-parameter --name /acme/prod/gantry/image-tags --type String --overwrite --value {"commit":"abc123","tags":{},"run":{"id":9876543210,"attempt":2}}',
      'codebuild start-build --project-name acme-prod-deploy --source-version abc123 --query build.id --output text',
    ]);
  });

  test("the deploy step copies the deploy's summary from the build log into the step summary, success or not", () => {
    const start = startStep();
    // The build log as CodeBuild keeps it: its own lines, the echoed command, then the marked summary lines.
    const log = [
      '[Container] 2026/12/02 10:00:00.000000 Running command sed \'s/^/gantry-summary| /\' "$GITHUB_STEP_SUMMARY"',
      'gantry-summary| ### `gantry deploy prod`: ROLLED BACK (run 42)',
      'gantry-summary| ',
      'gantry-summary| | Service | Tag | Previous tag | Status | Reason |',
      'gantry: deploy of prod exited 1',
    ].join('\n');
    const fakes = (status: string) => ({
      aws: [
        'echo "$*" >> "$CALLS"',
        'case "$1 $2 $*" in',
        '  "codebuild start-build"*) echo build-1 ;;',
        "  *logs.*) printf 'grp\\tstream-1\\n' ;;",
        `  "codebuild batch-get-builds"*) echo ${status} ;;`,
        `  "logs filter-log-events"*) cat <<'EOF'\n${log}\nEOF\n ;;`,
        'esac',
      ].join('\n'),
      sleep: 'true',
    });
    const env = startEnv({ id: '1', attempt: '1' });
    for (const [status, code] of [
      ['FAILED', 1],
      ['SUCCEEDED', 0],
    ] as const) {
      const r = runScript(start.run!, env, fakes(status));
      expect(r.status).toBe(code);
      expect(r.calls).toContain(
        'logs filter-log-events --log-group-name grp --log-stream-names stream-1 --filter-pattern "gantry-summary|"',
      );
      expect(r.summary.split('\n').slice(1)).toEqual([
        '### `gantry deploy prod`: ROLLED BACK (run 42)',
        '',
        '| Service | Tag | Previous tag | Status | Reason |',
        '',
      ]);
    }
    // No summary in the log: a warning, and the build's outcome still decides.
    const silent = runScript(start.run!, env, {
      aws: 'case "$1 $2" in "codebuild start-build") echo build-1 ;; *) echo SUCCEEDED ;; esac',
      sleep: 'true',
    });
    expect(silent.status).toBe(0);
    expect(silent.stdout).toContain(
      '::warning title=Deploy summary::no deploy summary in the log of build-1',
    );
  });

  test('the deploy step hands the run identity to the build, and refuses one that is not a number', () => {
    const start = load(referenceConfig, 'terraform-apply.yml').jobs.prod.steps.find((s) =>
      s.run?.includes('start-build'),
    )!;
    const fakes = {
      aws: 'echo "$*" >> "$CALLS"; if [ "$2" = start-build ]; then echo build-1; else echo SUCCEEDED; fi',
      sleep: 'true',
    };
    const env = {
      PROJECT: 'acme-prod-deploy',
      PARAMETER: '/acme/prod/gantry/image-tags',
      GITHUB_SHA: 'abc123',
      TAGS_JSON: '{}',
    };
    const ok = runScript(start.run!, { ...env, RUN_ID: '123456', RUN_ATTEMPT: '3' }, fakes);
    expect(ok.status).toBe(0);
    const value = ok.calls.split('\n')[0].replace(/^.* --value /, '');
    expect(JSON.parse(value)).toEqual({ commit: 'abc123', tags: {}, run: { id: 123456, attempt: 3 } });
    for (const [id, attempt] of [
      ['', '1'],
      ['12', ''],
      ['1,"x":2', '1'],
      ['12', '1}'],
    ]) {
      const r = runScript(start.run!, { ...env, RUN_ID: id, RUN_ATTEMPT: attempt }, fakes);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('::error title=Run identity::');
      expect(r.calls).toBe('');
    }
  });

  test('the deploy step binds a promotion and a redeploy to the commit, and refuses unchecked ones', () => {
    const fakes = {
      aws: 'echo "$*" >> "$CALLS"; if [ "$2" = start-build ]; then echo build-1; else echo SUCCEEDED; fi',
      sleep: 'true',
    };
    const env = startEnv({ id: '7', attempt: '1' });
    const valueOf = (r: { calls: string }) => JSON.parse(r.calls.split('\n')[0].replace(/^.* --value /, ''));
    const promoted = runScript(
      startStep().run!,
      { ...env, PROMOTE_FROM: 'staging', REDEPLOY: 'false' },
      fakes,
    );
    expect(promoted.status).toBe(0);
    expect(valueOf(promoted)).toEqual({
      commit: 'abc123',
      tags: {},
      run: { id: 7, attempt: 1 },
      promoteFrom: 'staging',
    });
    const redeployed = runScript(startStep().run!, { ...env, PROMOTE_FROM: '', REDEPLOY: 'true' }, fakes);
    expect(valueOf(redeployed)).toEqual({
      commit: 'abc123',
      tags: {},
      run: { id: 7, attempt: 1 },
      redeploy: true,
    });
    // A free-text reason: a JSON string made by jq, whatever quotes or expansions it holds.
    const reason = `INC-42: "urgent" fix, it's $(id) \`id\` \\ ok`;
    const unverified = runScript(
      startStep().run!,
      { ...env, PROMOTE_FROM: 'staging', REDEPLOY: 'false', UNVERIFIED_REASON: reason },
      fakes,
    );
    expect(unverified.status).toBe(0);
    expect(valueOf(unverified)).toEqual({
      commit: 'abc123',
      tags: {},
      run: { id: 7, attempt: 1 },
      promoteFrom: 'staging',
      unverifiedReason: reason,
    });
    for (const [extra, title] of [
      [{ PROMOTE_FROM: 'dev","redeploy":true,"x":"' }, 'Promotion'],
      [{ PROMOTE_FROM: '$(id)' }, 'Promotion'],
      [{ REDEPLOY: 'yes' }, 'Redeploy'],
    ] as const) {
      const r = runScript(startStep().run!, { ...env, ...extra }, fakes);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(`::error title=${title}::`);
      expect(r.calls).toBe('');
    }
  });

  test('the deploy step binds the dispatched tags to the commit, and refuses an unchecked map', () => {
    const start = load(referenceConfig, 'terraform-apply.yml').jobs.prod.steps.find((s) =>
      s.run?.includes('start-build'),
    )!;
    const fakes = {
      aws: 'echo "$*" >> "$CALLS"; if [ "$2" = start-build ]; then echo build-1; else echo SUCCEEDED; fi',
      sleep: 'true',
    };
    const env = {
      PROJECT: 'acme-prod-deploy',
      PARAMETER: '/acme/prod/gantry/image-tags',
      GITHUB_SHA: 'abc123',
      RUN_ID: '101',
      RUN_ATTEMPT: '1',
    };
    const tags = '{"api":"v1.3.0","admin-frontend":"v1.2.9"}';
    const ok = runScript(start.run!, { ...env, TAGS_JSON: tags }, fakes);
    expect(ok.status).toBe(0);
    const value = ok.calls.split('\n')[0].replace(/^.* --value /, '');
    expect(JSON.parse(value)).toEqual({
      commit: 'abc123',
      tags: { api: 'v1.3.0', 'admin-frontend': 'v1.2.9' },
      run: { id: 101, attempt: 1 },
    });
    for (const bad of ['{"api":"v1"}; aws iam list-users', '{"api":"$(id)"}', '']) {
      const r = runScript(start.run!, { ...env, TAGS_JSON: bad }, fakes);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('::error title=Image tags::');
      expect(r.calls).toBe('');
    }
  });

  describe('the input check', () => {
    const resolve = (config: GantryConfig) =>
      load(config, 'terraform-apply.yml').jobs.resolve.steps.find((s) => s.run)!.run!;
    const dispatch = (config: GantryConfig, inputs: Record<string, string>) =>
      runScript(resolve(config), {
        EVENT: 'workflow_dispatch',
        STACK: 'services',
        ACTION: 'apply',
        IMAGE_TAGS: '',
        ...inputs,
      });

    /** Refused in the input check with exactly this message: exit 1, no outputs. */
    const expectInvalidInput = (r: ReturnType<typeof runScript>, message: string) => {
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(`::error title=Invalid input::${message}`);
      expect(r.output).toBe('');
    };

    test('turns image tags into --var arguments named like the Terraform variables', () => {
      const r = dispatch(variant, { ENVIRONMENT: 'dev', IMAGE_TAGS: 'api=v1.3.0, admin-frontend=v1.2.9' });
      expect(r.status).toBe(0);
      expect(r.output).toBe(
        `stack=services\naction=apply\nvar_args=--var ${imageTagVariableName('api')}=v1.3.0 --var ${imageTagVariableName('admin-frontend')}=v1.2.9\n` +
          'tag_args=--tag api=v1.3.0 --tag admin-frontend=v1.2.9\n' +
          'tags_json={"api":"v1.3.0","admin-frontend":"v1.2.9"}\n' +
          'promote_from=\npromote_registry=\nredeploy=false\nunverified_reason=\n' +
          // No push build on a dispatch.
          'push_tag=\npush_builds={}\npush_build_envs=[]\npush_tags={}\n',
      );
    });

    test('a promote_from of an environment before this one passes on, with its registry for the login', () => {
      const r = dispatch(variant, { ENVIRONMENT: 'qa', PROMOTE_FROM: 'dev', IMAGE_TAGS: 'api=v1.3.0' });
      expect(r.status).toBe(0);
      expect(r.output).toContain(
        'tag_args=--tag api=v1.3.0\ntags_json={"api":"v1.3.0"}\npromote_from=dev\npromote_registry=111111111111.dkr.ecr.eu-west-1.amazonaws.com\nredeploy=false\nunverified_reason=\n',
      );
    });

    test.each([
      [
        'an unknown environment',
        { PROMOTE_FROM: 'uat' },
        'promote_from "uat" is not an environment before qa (allowed: dev)',
      ],
      [
        'a later environment',
        { PROMOTE_FROM: 'prod' },
        'promote_from "prod" is not an environment before qa (allowed: dev)',
      ],
      [
        'the environment itself',
        { PROMOTE_FROM: 'qa' },
        'promote_from "qa" is the environment being deployed; promote from one before it (dev)',
      ],
      ['two names', { PROMOTE_FROM: 'dev qa' }, 'promote_from "dev qa" is not an environment name'],
      [
        'a foundation apply',
        { PROMOTE_FROM: 'dev', STACK: 'foundation' },
        'promote_from promotes the images of a services deploy: use stack services and action apply',
      ],
      [
        'a plan',
        { PROMOTE_FROM: 'dev', ACTION: 'plan' },
        'promote_from promotes the images of a services deploy: use stack services and action apply',
      ],
    ])('rejects a promote_from of %s', (_name, inputs, message) => {
      expectInvalidInput(dispatch(variant, { ENVIRONMENT: 'qa', ...inputs }), message);
    });

    test('a deploy-project environment takes a promotion and a redeploy too (its build gets them by the handoff)', () => {
      const promoted = dispatch(variant, { ENVIRONMENT: 'prod', PROMOTE_FROM: 'qa' });
      expect(promoted.status).toBe(0);
      expect(promoted.output).toContain('promote_from=qa\n');
      const redeployed = dispatch(variant, { ENVIRONMENT: 'prod', REDEPLOY: 'true' });
      expect(redeployed.status).toBe(0);
      expect(redeployed.output).toContain('redeploy=true\n');
    });

    test('a redeploy passes on, with no tags', () => {
      const r = dispatch(variant, { ENVIRONMENT: 'qa', REDEPLOY: 'true' });
      expect(r.status).toBe(0);
      expect(r.output).toContain(
        'tag_args=\ntags_json={}\npromote_from=\npromote_registry=\nredeploy=true\nunverified_reason=\n',
      );
    });

    test('an unverified_reason passes on, for a services deploy', () => {
      const reason = 'INC-42: hotfix, staging is down';
      const r = dispatch(variant, { ENVIRONMENT: 'qa', IMAGE_TAGS: 'api=v1.3.0', UNVERIFIED_REASON: reason });
      expect(r.status).toBe(0);
      expect(r.output).toContain(`\nredeploy=false\nunverified_reason=${reason}\n`);
    });

    test.each([
      ['too short', { UNVERIFIED_REASON: 'hotfix' }, 'unverified_reason: say why in 10 to 300 characters'],
      [
        'too long',
        { UNVERIFIED_REASON: 'x'.repeat(301) },
        'unverified_reason: say why in 10 to 300 characters',
      ],
      [
        'of two lines',
        { UNVERIFIED_REASON: 'a long reason\n::set-output' },
        'unverified_reason: one line of printable characters',
      ],
      [
        'with a redeploy',
        { UNVERIFIED_REASON: 'INC-42: hotfix, staging is down', REDEPLOY: 'true' },
        'unverified_reason: a redeploy deploys tags this environment verified already; leave it empty',
      ],
      [
        'with a promotion',
        { UNVERIFIED_REASON: 'INC-42: hotfix, staging is down', PROMOTE_FROM: 'dev' },
        'unverified_reason with promote_from: a promotion copies only digests verified upstream',
      ],
      [
        'for the foundation',
        { UNVERIFIED_REASON: 'INC-42: hotfix, staging is down', STACK: 'foundation' },
        'unverified_reason applies to a services deploy: use stack services and action apply',
      ],
    ])('rejects an unverified_reason %s', (_name, inputs, message) => {
      expectInvalidInput(dispatch(variant, { ENVIRONMENT: 'qa', ...inputs }), message);
    });

    test.each([
      [
        'with image tags',
        { IMAGE_TAGS: 'api=v1.3.0' },
        'redeploy deploys the last verified tags from the ledger: leave image_tags empty',
      ],
      [
        'with a promotion',
        { PROMOTE_FROM: 'dev' },
        'redeploy deploys what this environment ran: leave promote_from empty',
      ],
      [
        'of the foundation',
        { STACK: 'foundation' },
        'redeploy redeploys the services: use stack services and action apply',
      ],
      [
        'as a plan',
        { ACTION: 'plan' },
        'redeploy redeploys the services: use stack services and action apply',
      ],
      ['not a boolean', { REDEPLOY: 'yes' }, 'redeploy "yes": use true or false'],
    ])('rejects a redeploy %s', (_name, inputs, message) => {
      expectInvalidInput(dispatch(variant, { ENVIRONMENT: 'qa', REDEPLOY: 'true', ...inputs }), message);
    });

    test.each([
      ['an unknown service', { IMAGE_TAGS: 'billing=v1' }, 'service "billing" is not in dev'],
      ['a malformed pair', { IMAGE_TAGS: 'api' }, '"api": write service=tag'],
      ['a bad tag', { IMAGE_TAGS: 'api=v1;rm' }, 'image tag "v1;rm" of api is not a valid tag'],
      ['latest', { IMAGE_TAGS: 'api=latest' }, 'latest is mutable'],
      ['tags on foundation', { STACK: 'foundation', IMAGE_TAGS: 'api=v1' }, 'services stack only'],
      ['an unknown environment', { ENVIRONMENT: 'uat' }, 'environment "uat" is not configured'],
      ['a glob', { IMAGE_TAGS: '*' }, '"*": write service=tag'],
      ['a service given twice', { IMAGE_TAGS: 'api=v1 api=v2' }, 'service "api" is given twice'],
      ['a quote in a tag', { IMAGE_TAGS: 'api=v1"}' }, 'is not a valid tag'],
    ])('rejects %s', (_name, inputs, message) => {
      expectRefused(dispatch(variant, { ENVIRONMENT: 'dev', ...inputs }), message);
    });

    test('takes image tags for an environment that deploys through its deploy project, as a tag map', () => {
      const r = dispatch(referenceConfig, { ENVIRONMENT: 'prod', IMAGE_TAGS: 'api=v1.3.0' });
      expect(r.status).toBe(0);
      expect(r.output).toContain('tags_json={"api":"v1.3.0"}\n');
      expect(dispatch(referenceConfig, { ENVIRONMENT: 'prod' }).output).toContain('tags_json={}\n');
      const plan = dispatch(referenceConfig, {
        ENVIRONMENT: 'prod',
        ACTION: 'plan',
        IMAGE_TAGS: 'api=v1.3.0',
      });
      expect(plan.stdout).toContain('runs plan and apply together');
    });

    test('a push that built nothing deploys the services with the configured tags', () => {
      const push = { EVENT: 'push', IMAGE_TAGS: 'api=v9', ENVIRONMENT: '', GITHUB_SHA: SHA };
      const r = runScript(resolve(referenceConfig), { ...push, PUSH_BUILDS: '{"dev":[]}' });
      expect(r.status).toBe(0);
      expect(r.output).toBe(
        'stack=services\naction=apply\nvar_args=\ntag_args=\ntags_json={}\npromote_from=\npromote_registry=\nredeploy=false\nunverified_reason=\n' +
          `push_tag=sha-${SHA.slice(0, 12)}\npush_builds={}\npush_build_envs=[]\npush_tags={}\n`,
      );
      // A push never promotes, whatever the (absent) input says.
      expect(
        runScript(resolve(referenceConfig), { ...push, PROMOTE_FROM: 'dev', PUSH_BUILDS: '{}' }).output,
      ).toContain('promote_from=\n');
      // Nor does it take an unverified digest.
      expect(
        runScript(resolve(referenceConfig), {
          ...push,
          UNVERIFIED_REASON: 'INC-42: a reason from nowhere',
          PUSH_BUILDS: '{}',
        }).output,
      ).toContain('\nunverified_reason=\n');
      // Without a release nothing is built on a push: the input check is as before.
      const { release: _release, ...withoutRelease } = referenceConfig;
      const plain = runScript(resolve(withoutRelease), push);
      expect(plain.output).toBe(
        'stack=services\naction=apply\nvar_args=\ntag_args=\ntags_json={}\npromote_from=\npromote_registry=\nredeploy=false\nunverified_reason=\n',
      );
    });
  });

  describe('the apply step', () => {
    const step = () =>
      load(variant, 'terraform-apply.yml').jobs.dev.steps.find((s) => s.run?.includes('gantry'))!;
    const fakes = { npx: 'echo "$*" >> "$CALLS"' };
    const env = {
      ENVIRONMENT: 'dev',
      STACK: 'dev-services',
      VAR_ARGS: '--var image_tag_api=v1.3.0 --var image_tag_admin_frontend=v1.2.9',
      TAG_ARGS: '--tag api=v1.3.0 --tag admin-frontend=v1.2.9',
    };

    test('takes the stack, the action and the checked tags from the input check', () => {
      expect(step().env).toMatchObject({
        ENVIRONMENT: 'dev',
        STACK: 'dev-${{ needs.resolve.outputs.stack }}',
        ACTION: '${{ needs.resolve.outputs.action }}',
        VAR_ARGS: '${{ needs.resolve.outputs.var_args }}',
        // On a push, the tags of the services built for dev (see "push builds").
        TAG_ARGS:
          "${{ github.event_name == 'push' && fromJSON(needs.resolve.outputs.push_tags)['dev'].tag_args || needs.resolve.outputs.tag_args }}",
      });
      const { release: _release, ...withoutRelease } = variant;
      expect(
        load(withoutRelease, 'terraform-apply.yml').jobs.dev.steps.find((s) => s.run?.includes('gantry'))!
          .env,
      ).toMatchObject({ TAG_ARGS: '${{ needs.resolve.outputs.tag_args }}' });
      expect(step().run).not.toContain('${{');
    });

    test('a services apply is gantry deploy of the environment with the tags, as JSON', () => {
      expect(runScript(step().run!, { ...env, ACTION: 'apply' }, fakes).calls).toBe(
        'gantry deploy dev --no-synth --json --tag api=v1.3.0 --tag admin-frontend=v1.2.9\n',
      );
      expect(runScript(step().run!, { ...env, ACTION: 'apply', TAG_ARGS: '' }, fakes).calls).toBe(
        'gantry deploy dev --no-synth --json\n',
      );
    });

    test.each([
      [0, 'deployed or verified'],
      [1, 'failed or rolled back'],
      [3, 'refused'],
    ])('its exit code is the deploy exit code: %i (%s)', (code) => {
      const r = runScript(
        step().run!,
        { ...env, ACTION: 'apply' },
        { npx: `echo "$*" >> "$CALLS"; exit ${code}` },
      );
      expect(r.status).toBe(code);
      expect(r.calls.split('\n').filter(Boolean)).toHaveLength(1);
    });

    test('with promote_from, the deploy logs in to both registries and promotes; cosign is installed for it only', () => {
      const qa = load(variant, 'terraform-apply.yml').jobs.qa;
      const deployStep = qa.steps.find((s) => s.run?.includes('gantry'))!;
      expect(deployStep.env).toMatchObject({
        PROMOTE_FROM: '${{ needs.resolve.outputs.promote_from }}',
        PROMOTE_REGISTRY: '${{ needs.resolve.outputs.promote_registry }}',
        REGISTRY: '444444444444.dkr.ecr.eu-west-1.amazonaws.com',
      });
      expect(qa.steps.find((s) => s.name === 'Install Cosign (promotion)')).toEqual({
        name: 'Install Cosign (promotion)',
        if: "needs.resolve.outputs.promote_from != ''",
        uses: `${ACTION_PINS.cosignInstaller.action}@${ACTION_PINS.cosignInstaller.sha}`,
      });
      const promoting = runScript(
        deployStep.run!,
        {
          ...env,
          ENVIRONMENT: 'qa',
          STACK: 'qa-services',
          ACTION: 'apply',
          TAG_ARGS: '--tag api=v1.3.0',
          PROMOTE_FROM: 'dev',
          PROMOTE_REGISTRY: '111111111111.dkr.ecr.eu-west-1.amazonaws.com',
          REGISTRY: '444444444444.dkr.ecr.eu-west-1.amazonaws.com',
        },
        {
          ...fakes,
          aws: 'echo "aws $*" >> "$CALLS"; echo token',
          docker: 'echo "docker $* $(cat)" >> "$CALLS"',
        },
      );
      expect(promoting.status).toBe(0);
      expect(promoting.calls.split('\n').filter(Boolean)).toEqual([
        'aws ecr get-login-password --region eu-west-1',
        'docker login --username AWS --password-stdin 111111111111.dkr.ecr.eu-west-1.amazonaws.com token',
        'aws ecr get-login-password --region eu-west-1',
        'docker login --username AWS --password-stdin 444444444444.dkr.ecr.eu-west-1.amazonaws.com token',
        'gantry deploy qa --no-synth --json --tag api=v1.3.0 --promote-from dev',
      ]);
      expect(deployStep.env).toMatchObject({ REDEPLOY: '${{ needs.resolve.outputs.redeploy }}' });
      const redeploying = runScript(
        deployStep.run!,
        { ...env, ENVIRONMENT: 'qa', STACK: 'qa-services', ACTION: 'apply', TAG_ARGS: '', REDEPLOY: 'true' },
        fakes,
      );
      expect(redeploying.status).toBe(0);
      expect(redeploying.calls.split('\n').filter(Boolean)).toEqual([
        'gantry deploy qa --no-synth --json --redeploy',
      ]);
      // A reason for an unverified digest is one argument, whatever it holds.
      expect(deployStep.env).toMatchObject({
        UNVERIFIED_REASON: '${{ needs.resolve.outputs.unverified_reason }}',
      });
      const reason = "INC-42: it's $(id) urgent";
      const unverified = runScript(
        deployStep.run!,
        {
          ...env,
          ENVIRONMENT: 'qa',
          STACK: 'qa-services',
          ACTION: 'apply',
          TAG_ARGS: '--tag api=v1.3.0',
          UNVERIFIED_REASON: reason,
        },
        { npx: 'printf "%s|" "$@" >> "$CALLS"' },
      );
      expect(unverified.status).toBe(0);
      expect(unverified.calls).toBe(
        `gantry|deploy|qa|--no-synth|--json|--tag|api=v1.3.0|--unverified-reason|${reason}|`,
      );
    });

    test('where release.requireSignatures applies, every services deploy installs cosign, logs in to its registry and verifies keyless', () => {
      const wf = load(signedVariant, 'terraform-apply.yml');
      const qa = wf.jobs.qa;
      const cosign = `${ACTION_PINS.cosignInstaller.action}@${ACTION_PINS.cosignInstaller.sha}`;
      // One install step, for every services deploy (a promotion's copy included).
      expect(qa.steps.filter((s) => s.uses === cosign)).toEqual([
        {
          name: 'Install cosign',
          if: "needs.resolve.outputs.stack == 'services' && needs.resolve.outputs.action == 'apply'",
          uses: cosign,
        },
      ]);
      const deployStep = qa.steps.find((s) => s.run?.includes('gantry'))!;
      expect(deployStep.env).toMatchObject({ VERIFY_SIGNATURES: 'keyless' });
      // dev requires no approval: no check asked for, cosign for a promotion only.
      expect(wf.jobs.dev.steps.find((s) => s.run?.includes('gantry'))!.env).not.toHaveProperty(
        'VERIFY_SIGNATURES',
      );
      expect(wf.jobs.dev.steps.find((s) => s.uses === cosign)?.name).toBe('Install Cosign (promotion)');
      const scriptEnv = {
        ...env,
        ENVIRONMENT: 'qa',
        STACK: 'qa-services',
        ACTION: 'apply',
        TAG_ARGS: '--tag api=v1.3.0',
        REGISTRY: '444444444444.dkr.ecr.eu-west-1.amazonaws.com',
        VERIFY_SIGNATURES: 'keyless',
      };
      const aws = {
        ...fakes,
        aws: 'echo "aws $*" >> "$CALLS"; echo token',
        docker: 'echo "docker $* $(cat)" >> "$CALLS"',
      };
      const verifying = runScript(deployStep.run!, scriptEnv, aws);
      expect(verifying.status).toBe(0);
      expect(verifying.calls.split('\n').filter(Boolean)).toEqual([
        'aws ecr get-login-password --region eu-west-1',
        'docker login --username AWS --password-stdin 444444444444.dkr.ecr.eu-west-1.amazonaws.com token',
        'gantry deploy qa --no-synth --json --tag api=v1.3.0 --verify-signatures keyless',
      ]);
      // With a promotion too: both registries once each, both flags.
      const promoting = runScript(
        deployStep.run!,
        {
          ...scriptEnv,
          PROMOTE_FROM: 'dev',
          PROMOTE_REGISTRY: '111111111111.dkr.ecr.eu-west-1.amazonaws.com',
        },
        aws,
      );
      expect(
        promoting.calls.split('\n').filter((l) => l.startsWith('docker') || l.startsWith('gantry')),
      ).toEqual([
        'docker login --username AWS --password-stdin 111111111111.dkr.ecr.eu-west-1.amazonaws.com token',
        'docker login --username AWS --password-stdin 444444444444.dkr.ecr.eu-west-1.amazonaws.com token',
        'gantry deploy qa --no-synth --json --tag api=v1.3.0 --promote-from dev --verify-signatures keyless',
      ]);
    });

    test('a services plan only plans, with the tags as variables', () => {
      expect(runScript(step().run!, { ...env, ACTION: 'plan' }, fakes).calls).toBe(
        'gantry plan dev-services --no-synth --var image_tag_api=v1.3.0 --var image_tag_admin_frontend=v1.2.9\n',
      );
    });

    test('the foundation stack is planned, then that saved plan applied', () => {
      const foundation = { ...env, STACK: 'dev-foundation', VAR_ARGS: '', TAG_ARGS: '' };
      expect(runScript(step().run!, { ...foundation, ACTION: 'apply' }, fakes).calls).toBe(
        'gantry plan dev-foundation --no-synth\ngantry apply dev-foundation\n',
      );
      expect(runScript(step().run!, { ...foundation, ACTION: 'plan' }, fakes).calls).toBe(
        'gantry plan dev-foundation --no-synth\n',
      );
      const refused = runScript(step().run!, { ...foundation, ACTION: 'apply' }, { npx: 'exit 3' });
      expect(refused.status).toBe(3);
    });
  });
});

describe('terraform-plan.yml', () => {
  const wf = load(referenceConfig, 'terraform-plan.yml');

  test('runs on pull requests and pushes to the default branch', () => {
    expect(wf.on).toEqual({ pull_request: { branches: ['main'] }, push: { branches: ['main'] } });
  });

  test('each environment is planned on the default branch with its plan role, in the trusted environment', () => {
    for (const env of referenceConfig.environments) {
      const job = wf.jobs[`plan-${env.name}`];
      const creds = job.steps.find((s) => s.uses?.startsWith('aws-actions/'))!;
      expect(creds.with?.['role-to-assume']).toBe(
        roleArn(env.accountId, env.region, planRoleName('acme', env.name)),
      );
      expect(job.steps.find((s) => s.run?.includes('gantry plan'))!.run).toContain(
        `for stack in ${env.name}-foundation ${env.name}-services; do`,
      );
      expect(job.if).toBe("github.event_name == 'push'");
      expect(job.environment).toBe('gantry');
    }
    expect(wf.jobs['plan-github']).toMatchObject({
      if: "github.event_name == 'push'",
      environment: 'gantry',
      permissions: { contents: 'read' },
    });
  });

  test('pull requests plan only the environments that need no approval, with the pull-request role and -lock=false', () => {
    const pullRequestJobs = Object.entries(wf.jobs).filter(([id]) => id.endsWith('-pull-request'));
    expect(pullRequestJobs.map(([id]) => id)).toEqual(['plan-dev-pull-request']);
    const [, job] = pullRequestJobs[0];
    expect(job.if).toBe(
      "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository",
    );
    expect(job.environment).toBeUndefined();
    const creds = job.steps.find((s) => s.uses?.startsWith('aws-actions/'))!;
    expect(creds.with?.['role-to-assume']).toBe('arn:aws:iam::111111111111:role/acme-dev-gh-plan-pr');
    const step = job.steps.find((s) => s.run?.includes('gantry plan'))!;
    expect(step.env).toBeUndefined();
    const r = runScript(step.run!, {}, { npx: 'echo "$*" >> "$CALLS"' });
    expect(r.calls).toBe(
      'gantry plan dev-foundation --no-synth --no-lock --fold --max-chars 29500\ngantry plan dev-services --no-synth --no-lock --fold --max-chars 29500\n',
    );
  });

  test('an environment that opts in with a reason is planned from pull requests too', () => {
    const config = withEnvironment('staging', (e) => ({
      ...e,
      approval: { ...e.approval, pullRequestPlans: { reason: 'staging holds no production data' } },
    }));
    const plan = parse(generateWorkflows(config)[0].content) as Workflow;
    expect(Object.keys(plan.jobs).filter((id) => id.endsWith('-pull-request'))).toEqual([
      'plan-dev-pull-request',
      'plan-staging-pull-request',
    ]);
  });

  test('no job without an environment reads a secret; pull-request jobs get none', () => {
    for (const name of ['terraform-plan.yml', 'terraform-apply.yml', 'terraform-drift.yml'] as const) {
      const workflow = load(referenceConfig, name);
      for (const [id, job] of Object.entries(workflow.jobs)) {
        if (job.environment !== undefined) continue;
        expect([name, id, JSON.stringify(job)]).not.toEqual([name, id, expect.stringMatching(/secrets\./)]);
      }
    }
  });

  test('the PR comment job alone may write to pull requests, and updates one marked comment per environment', () => {
    const comment = wf.jobs.comment;
    expect(comment.permissions).toEqual({ 'pull-requests': 'write' });
    expect(comment.needs).toEqual(['plan-dev-pull-request']);
    expect(comment.steps.some((s) => s.uses?.startsWith('actions/checkout@'))).toBe(false);
    const script = String(comment.steps[0].with?.script);
    expect(script).toContain(JSON.stringify(PLAN_COMMENT_MARKER));
    for (const env of ['dev', 'staging', 'prod'])
      expect(script).toContain(JSON.stringify(planCommentMarker(env)));
    expect(script).toContain('Not planned from pull requests: prod requires 2 approval(s)');
    expect(script).toContain('updateComment');
    for (const [id, job] of Object.entries(wf.jobs)) {
      if (id !== 'comment') expect(job.permissions?.['pull-requests']).toBeUndefined();
    }
  });

  test('the plan step plans every stack, collects each summary, and fails when one fails', () => {
    const step = wf.jobs['plan-dev'].steps.find((s) => s.run?.includes('gantry plan'))!;
    const npx = [
      'echo "$*" >> "$CALLS"',
      'echo "summary of $3" > "$GITHUB_STEP_SUMMARY"',
      '[ "$3" = dev-foundation ] && exit 1',
      'exit 0',
    ].join('\n');
    const r = runScript(step.run!, {}, { npx });
    expect(r.status).toBe(1);
    expect(r.calls).toBe(
      'gantry plan dev-foundation --no-synth --fold --max-chars 29500\ngantry plan dev-services --no-synth --fold --max-chars 29500\n',
    );
    expect(r.summary).toBe('summary of dev-foundation\nsummary of dev-services\n');
    expect(r.stdout).toContain('::error title=gantry plan dev-foundation::failed (exit 1)');
  });

  test('the ledger URL is an environment secret of the jobs bound to the trusted environment', () => {
    const step = wf.jobs['plan-dev'].steps.find((s) => s.run?.includes('gantry plan'))!;
    expect(step.env?.GANTRY_LEDGER_URL).toBe('${{ secrets.GANTRY_LEDGER_URL }}');
    expect(wf.jobs['plan-dev'].environment).toBe('gantry');
  });

  test('githubTokenSecret: false leaves the github stack out', () => {
    const plan = parse(
      generateWorkflows(referenceConfig, { githubTokenSecret: false })[0].content,
    ) as Workflow;
    expect(Object.keys(plan.jobs)).toEqual([
      'plan-dev',
      'plan-staging',
      'plan-prod',
      'plan-dev-pull-request',
      'comment',
    ]);
  });
});

describe('terraform-drift.yml', () => {
  const wf = load(referenceConfig, 'terraform-drift.yml');

  test('runs on a schedule, one matrix entry per stack with the plan role', () => {
    expect(wf.on.schedule).toEqual([{ cron: '17 5 * * 1-5' }]);
    const include = wf.jobs.drift.strategy!.matrix.include;
    expect(include.map((e) => e.stack)).toEqual([
      'github',
      'dev-foundation',
      'dev-services',
      'staging-foundation',
      'staging-services',
      'prod-foundation',
      'prod-services',
    ]);
    expect(include.find((e) => e.stack === 'prod-services')!.role).toBe(
      'arn:aws:iam::333333333333:role/acme-prod-gh-plan',
    );
    // The plan roles trust the trusted environment, which holds the ledger URL and the GitHub token.
    expect(wf.jobs.drift.environment).toBe('gantry');
  });

  test('drift (exit 2) fails the job visibly; no drift passes', () => {
    const step = wf.jobs.drift.steps.find((s) => s.run?.includes('gantry drift'))!;
    const drifted = runScript(step.run!, { STACK: 'prod-services' }, { npx: 'exit 2' });
    expect(drifted.status).toBe(2);
    expect(drifted.stdout).toContain('::error title=Drift on prod-services::');
    expect(drifted.summary).toContain('DRIFTED');
    const clean = runScript(step.run!, { STACK: 'prod-services' }, { npx: 'exit 0' });
    expect(clean.status).toBe(0);
    expect(clean.summary).toContain('no drift');
    expect(runScript(step.run!, { STACK: 'prod-services' }, { npx: 'exit 1' }).status).toBe(1);
  });
});

describe('actionlint', () => {
  test('reports a broken workflow, so a clean result means something', async () => {
    const apply = files(referenceConfig)['terraform-apply.yml'].content.replace(
      'needs.resolve.outputs.stack',
      'needs.resolve.outputs.nope',
    );
    const findings = await runLint(apply, 'terraform-apply.yml');
    expect(findings.map((f) => f.message).join('\n')).toContain('nope');
  });
});

describe('committed workflows', () => {
  const examples = path.join(__dirname, '../../../examples/workflows');

  test('examples/workflows/ is what the generator writes for the reference config', () => {
    expect(checkWorkflows(examples, generateWorkflows(referenceConfig))).toEqual([]);
  });

  test('the check names a changed and a missing file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-wf-check-'));
    const workflows = generateWorkflows(referenceConfig);
    writeWorkflows(dir, workflows);
    expect(checkWorkflows(dir, workflows)).toEqual([]);
    fs.appendFileSync(path.join(dir, 'terraform-apply.yml'), '# edited\n');
    fs.rmSync(path.join(dir, 'terraform-drift.yml'));
    expect(checkWorkflows(dir, workflows)).toEqual([
      { fileName: 'terraform-apply.yml', problem: 'changed' },
      { fileName: 'terraform-drift.yml', problem: 'missing' },
    ]);
  });

  test('generation is deterministic', () => {
    expect(generateWorkflows(referenceConfig)).toEqual(generateWorkflows(referenceConfig));
  });
});

describe('build-publish.yml', () => {
  const wf = load(referenceConfig, 'build-publish.yml');
  const build = wf.jobs.build;
  const stepIndex = (prefix: string) =>
    build.steps.findIndex((s) => (s.uses ?? '').startsWith(prefix) || (s.name ?? '').startsWith(prefix));

  test('runs on v* tags only, and only with a release configured', () => {
    expect(wf.on).toEqual({ push: { tags: ['v*'] } });
    const { release: _release, ...withoutRelease } = referenceConfig;
    expect(generateWorkflows(withoutRelease).map((w) => w.fileName)).not.toContain('build-publish.yml');
  });

  test('builds the services with source paths that no source repository publishes, multi-arch, with an SBOM', () => {
    expect(build.strategy?.matrix.include).toEqual([
      { service: 'api', context: 'services/api', dockerfile: 'services/api/Dockerfile' },
      { service: 'worker', context: 'services/worker', dockerfile: 'services/worker/Dockerfile' },
    ]);
    const push = build.steps[stepIndex(ACTION_PINS.buildPush.action)];
    expect(push.with).toMatchObject({ platforms: 'linux/amd64,linux/arm64', push: true, sbom: true });
    expect(String(push.with?.tags).split('\n')).toEqual(
      ['111111111111', '222222222222', '333333333333'].map(
        (a) => `${a}.dkr.ecr.eu-west-1.amazonaws.com/acme/\${{ matrix.service }}:\${{ github.ref_name }}`,
      ),
    );
  });

  test("pushes with each publish environment's publish role, nothing else", () => {
    const roles = build.steps.filter((s) => s.uses?.startsWith(ACTION_PINS.configureAwsCredentials.action));
    expect(roles.map((s) => s.with?.['role-to-assume'])).toEqual([
      'arn:aws:iam::111111111111:role/acme-dev-gh-publish',
      'arn:aws:iam::222222222222:role/acme-staging-gh-publish',
      'arn:aws:iam::333333333333:role/acme-prod-gh-publish',
    ]);
    expect(build.permissions).toEqual({ contents: 'read', 'id-token': 'write', attestations: 'write' });
  });

  test('scans (Trivy, Grype) at the configured severity before signing and attesting: a failed scan leaves it unsigned', () => {
    const order = expectStepsInOrder(build, [
      ACTION_PINS.buildPush.action,
      ACTION_PINS.trivy.action,
      ACTION_PINS.grype.action,
      'Sign keyless',
      ACTION_PINS.attestBuildProvenance.action,
    ]);
    expect(build.steps[order[1]].with).toMatchObject({ severity: 'HIGH,CRITICAL', 'exit-code': '1' });
    expect(build.steps[order[2]].with).toMatchObject({ 'severity-cutoff': 'high', 'fail-build': true });
    const critical = load(
      {
        ...referenceConfig,
        release: { ...referenceConfig.release, scan: { failOn: 'critical', ignoreUnfixed: true } },
      },
      'build-publish.yml',
    ).jobs.build.steps;
    expect(critical.find((s) => s.uses?.startsWith(ACTION_PINS.trivy.action))?.with).toMatchObject({
      severity: 'CRITICAL',
      'ignore-unfixed': true,
    });
  });

  test('the tag check refuses a tag that is not a v* image tag, before any credentials', () => {
    const check = build.steps[0];
    expect(check.name).toBe('Check the tag');
    expect(runScript(check.run!, { TAG: 'v1.4.0' }).status).toBe(0);
    for (const tag of ['1.4.0', 'v1;rm -rf', 'v' + 'x'.repeat(200)]) {
      const r = runScript(check.run!, { TAG: tag });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('is not a v* image tag');
    }
    expect(stepIndex('Check the tag')).toBeLessThan(stepIndex(ACTION_PINS.configureAwsCredentials.action));
  });

  test('signs every pushed image by digest', () => {
    const sign = build.steps[stepIndex('Sign keyless')];
    const r = runScript(
      sign.run!,
      { IMAGES: 'r1/acme/api r2/acme/api', DIGEST: 'sha256:abc' },
      { cosign: 'echo "cosign $*" >> "$CALLS"' },
    );
    expect(r.status).toBe(0);
    expect(r.calls).toBe(
      'cosign sign --yes r1/acme/api@sha256:abc\ncosign sign --yes r2/acme/api@sha256:abc\n',
    );
  });
});

describe('the image-published handoff', () => {
  const apply = load(referenceConfig, 'terraform-apply.yml');
  const resolve = apply.jobs.resolve;
  const handoff = (payload: { environment?: unknown; tags?: unknown }) =>
    runScript(resolve.steps.find((s) => s.run)!.run!, {
      EVENT: 'repository_dispatch',
      ENVIRONMENT: '',
      STACK: '',
      ACTION: '',
      IMAGE_TAGS: '',
      PAYLOAD_ENVIRONMENT: typeof payload.environment === 'string' ? payload.environment : '',
      PAYLOAD_TAGS: JSON.stringify(payload.tags ?? null),
    });

  test('a valid payload becomes the services apply of that environment with those tags', () => {
    const r = handoff({ environment: 'staging', tags: { admin: 'v3.1.0', 'admin-frontend': 'v3.1.0' } });
    expect(r.status).toBe(0);
    expect(r.output).toContain('stack=services\naction=apply\n');
    expect(r.output).toContain('tags_json={"admin":"v3.1.0","admin-frontend":"v3.1.0"}\n');
    // A handoff deploys verified digests or nothing: no reason of a dispatch input rides along.
    expect(r.output).toContain('\nunverified_reason=\n');
  });

  test.each([
    [
      'an unknown service',
      { environment: 'dev', tags: { billing: 'v1' } },
      'service "billing" is not in dev',
    ],
    ['an invalid tag', { environment: 'dev', tags: { admin: 'v1;rm -rf /' } }, 'is not a valid tag'],
    ['latest', { environment: 'dev', tags: { admin: 'latest' } }, 'latest is mutable'],
    [
      'a non-configured environment',
      { environment: 'qa', tags: { admin: 'v1' } },
      'environment "qa" is not configured',
    ],
    ['no environment', { tags: { admin: 'v1' } }, 'environment "" is not configured'],
    [
      'tags that are not an object',
      { environment: 'dev', tags: ['admin=v1'] },
      'client_payload.tags must be an object',
    ],
    ['no tags', { environment: 'dev', tags: {} }, 'client_payload.tags must be an object'],
    ['a tag that is not a string', { environment: 'dev', tags: { admin: 3 } }, 'is not a valid tag'],
    ['a key with a space', { environment: 'dev', tags: { 'admin worker': 'v1' } }, 'write service=tag'],
  ])('refuses %s before any credentials are requested', (_name, payload, message) => {
    expectRefused(handoff(payload), message);
  });

  test('the check runs in a job without credentials, which every job that assumes a role needs', () => {
    expect(resolve.permissions).toEqual({});
    expect(assumesRole(resolve)).toBe(false);
    const assuming = Object.entries(apply.jobs).filter(([, j]) => assumesRole(j));
    expect(assuming.length).toBeGreaterThan(0);
    // The push builds (build-<env>) run on a push only, after the same check.
    for (const [, job] of assuming.filter(([id]) => id.startsWith('build-'))) {
      expect(job.needs).toEqual(['resolve']);
      expect(job.if).toMatch(/^github\.event_name == 'push' && /);
    }
    for (const [, job] of assuming.filter(([id]) => !id.startsWith('build-'))) {
      expect(job.needs).toContain('resolve');
      expect(job.if).toMatch(
        /github\.event_name == 'repository_dispatch' && github\.event\.client_payload\.environment == '[a-z]+'/,
      );
    }
  });

  test('without a release there is no handoff trigger', () => {
    const { release: _release, ...withoutRelease } = referenceConfig;
    const wf = load(withoutRelease, 'terraform-apply.yml');
    expect(Object.keys(wf.on)).not.toContain('repository_dispatch');
    expect(JSON.stringify(wf)).not.toContain('client_payload');
  });
});

describe('the push gate (with a release)', () => {
  const apply = load(referenceConfig, 'terraform-apply.yml');
  const gate = apply.jobs.changes;
  const step = (prefix: string) => gate.steps.find((s) => (s.name ?? '').startsWith(prefix))!;

  test('every run passes it first; its steps run only on a push, bound to the trusted environment', () => {
    expect(apply.jobs.resolve.needs).toEqual(['changes']);
    expect(gate.environment).toBe('gantry');
    expect(gate.permissions).toEqual({ contents: 'read', checks: 'read' });
    for (const s of gate.steps) expect(s.if).toBe("github.event_name == 'push'");
    expect(step('Check out').with).toMatchObject({ 'fetch-depth': 0, 'persist-credentials': false });
    const { release: _release, ...withoutRelease } = referenceConfig;
    expect(load(withoutRelease, 'terraform-apply.yml').jobs.changes).toBeUndefined();
  });

  /** Runs the github-script body against a fake API returning each poll's check runs in turn. */
  async function checks(
    polls: Array<Array<{ name: string; status: string; conclusion?: string; details_url?: string }>>,
  ) {
    const script = (step("Wait for this commit's own checks").with as { script: string }).script;
    const log: string[] = [];
    let failed: string | undefined;
    let call = 0;
    const github = {
      rest: { checks: { listForRef: 'listForRef' } },
      paginate: async () => polls[Math.min(call++, polls.length - 1)],
    };
    const core = { info: (m: string) => log.push(m), setFailed: (m: string) => (failed = m) };
    const context = { runId: 42, sha: 'abc123', repo: { owner: 'acme', repo: 'platform' } };
    const immediate = (resolve: () => void) => resolve();
    const run = new Function(
      'github',
      'context',
      'core',
      'setTimeout',
      `return (async () => {${script}})();`,
    );
    await run(github, context, core, immediate);
    return { failed, log, polls: call };
  }
  const own = {
    name: 'resolve',
    status: 'in_progress',
    details_url: 'https://github.com/acme/platform/actions/runs/42/job/1',
  };

  test('waits for the checks to complete and passes when they passed', async () => {
    const r = await checks([
      [own, { name: 'lint', status: 'in_progress' }],
      [own, { name: 'lint', status: 'completed', conclusion: 'success' }],
    ]);
    expect(r.failed).toBeUndefined();
    expect(r.log[0]).toBe('waiting for lint');
    expect(r.log.at(-1)).toContain('1 check(s) passed');
  });

  test('a workflow that its path filters skipped (no check run) counts as passed', async () => {
    const r = await checks([[own]]);
    expect(r.failed).toBeUndefined();
    expect(r.log.at(-1)).toContain('0 check(s) passed');
  });

  test('a failed check blocks the deploy', async () => {
    const r = await checks([
      [
        own,
        { name: 'lint', status: 'completed', conclusion: 'success' },
        { name: 'test', status: 'completed', conclusion: 'failure' },
      ],
    ]);
    expect(r.failed).toBe('checks failed on abc123: test (failure); nothing is deployed');
  });

  test('deploys only the environments where gantry changed names a service, building those built here', () => {
    const script = step('What changed').run!;
    const row = (service: string) => ({
      service,
      context: `services/${service}`,
      dockerfile: `services/${service}/Dockerfile`,
      files: [`services/${service}/main.ts`],
    });
    const changed = (services: string[]) =>
      runScript(script, {}, { npx: `echo '${JSON.stringify({ services, include: services.map(row) })}'` });
    // admin is published by its source repository: it changed here, so dev deploys, but it is not built here.
    expect(changed(['api', 'admin']).output).toBe(
      `deploy=["dev"]\nbuilds={"dev":[${JSON.stringify({ service: 'api', context: 'services/api', dockerfile: 'services/api/Dockerfile' })}]}\n`,
    );
    expect(changed(['admin']).output).toBe('deploy=["dev"]\nbuilds={"dev":[]}\n');
    // A change to workflows or docs alone: nothing deployed, nothing built.
    expect(changed([]).output).toBe('deploy=[]\nbuilds={"dev":[]}\n');
    expect(runScript(script, {}, { npx: 'exit 3' }).status).not.toBe(0);
  });
});

describe('push builds (with a release)', () => {
  const apply = load(referenceConfig, 'terraform-apply.yml');
  const build = apply.jobs['build-dev'];
  const resolveScript = apply.jobs.resolve.steps.find((s) => s.run)!.run!;
  const tag = `sha-${SHA.slice(0, 12)}`;
  const row = (service: string) => ({
    service,
    context: `services/${service}`,
    dockerfile: `services/${service}/Dockerfile`,
  });
  const pushResolve = (builds: unknown, env: Record<string, string> = {}) =>
    runScript(resolveScript, {
      EVENT: 'push',
      ENVIRONMENT: '',
      STACK: '',
      ACTION: '',
      IMAGE_TAGS: '',
      GITHUB_SHA: SHA,
      PUSH_BUILDS: typeof builds === 'string' ? builds : JSON.stringify(builds),
      ...env,
    });
  const outputsOf = (output: string) =>
    Object.fromEntries(
      output
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  const stepIndex = (prefix: string) =>
    build.steps.findIndex((s) => (s.uses ?? '').startsWith(prefix) || (s.name ?? '').startsWith(prefix));

  test("the push tag is sha-<12 hex> of the commit, which Gantry's image tag validation accepts", () => {
    const r = pushResolve({ dev: [row('api')] });
    expect(r.status).toBe(0);
    expect(outputsOf(r.output).push_tag).toBe(tag);
    expect(imageTagProblem(tag)).toBeUndefined();
    expect(new RegExp(IMAGE_TAG_SOURCE).test(tag)).toBe(true);
    for (const sha of ['', 'main', SHA.toUpperCase(), `${SHA}0`]) {
      const bad = pushResolve({ dev: [row('api')] }, { GITHUB_SHA: sha });
      expect(bad.status).toBe(1);
      expect(bad.stdout).toContain('is not a commit');
    }
  });

  test("the input check turns the push gate's builds into each environment's tags, for exactly those services", () => {
    const r = pushResolve({ dev: [{ ...row('api'), files: ['services/api/a.ts'] }, row('worker')] });
    expect(r.status).toBe(0);
    const out = outputsOf(r.output);
    expect(JSON.parse(out.push_builds)).toEqual({ dev: [row('api'), row('worker')] });
    expect(JSON.parse(out.push_build_envs)).toEqual(['dev']);
    expect(JSON.parse(out.push_tags)).toEqual({
      dev: {
        tag_args: `--tag api=${tag} --tag worker=${tag}`,
        tags_json: JSON.stringify({ api: tag, worker: tag }),
      },
    });
    // The dispatch outputs stay empty: only dev's apply job takes the push tags.
    expect(out.tag_args).toBe('');
    expect(out.tags_json).toBe('{}');
  });

  test.each([
    [
      'a service published by a source repository',
      { dev: [row('admin')] },
      'service admin of dev is not built by this repository',
    ],
    [
      'an environment that does not build on a push',
      { staging: [row('api')] },
      'staging does not build on a push',
    ],
    ['rows that are not a list', { dev: row('api') }, 'dev: not a list'],
    ['a row without its build', { dev: [{ service: 'api' }] }, 'a build row of dev is not'],
    ['builds that are not a map', '["dev"]', 'not a map'],
    ['builds that are not JSON', '{dev', "the push gate's builds"],
  ])('the input check refuses %s, before any credentials', (_name, builds, message) => {
    expectRefused(pushResolve(builds), message);
  });

  test('the deploy project takes the push tags through its checked tag map', () => {
    const tags = JSON.parse(outputsOf(pushResolve({ dev: [row('api')] }).output).push_tags) as Record<
      string,
      { tags_json: string }
    >;
    const start = apply.jobs.dev.steps.find((s) => s.run?.includes('start-build'))!;
    const r = runScript(
      start.run!,
      {
        PROJECT: 'acme-dev-deploy',
        PARAMETER: '/acme/dev/gantry/image-tags',
        TAGS_JSON: tags.dev.tags_json,
        RUN_ID: '7',
        RUN_ATTEMPT: '1',
        GITHUB_SHA: SHA,
      },
      {
        aws: 'echo "$*" >> "$CALLS"; if [ "$2" = start-build ]; then echo build-1; else echo SUCCEEDED; fi',
        sleep: 'true',
      },
    );
    expect(r.status).toBe(0);
    const value = r.calls.split('\n')[0].replace(/^.* --value /, '');
    expect(JSON.parse(value)).toMatchObject({ commit: SHA, tags: { api: tag } });
  });

  test("the build job builds the gate's rows for dev with dev's default-branch publish role, bound to no environment", () => {
    expect(build.needs).toEqual(['resolve']);
    expect(build.environment).toBeUndefined();
    expect(build.permissions).toEqual({ contents: 'read', 'id-token': 'write', attestations: 'write' });
    expect(build.strategy?.matrix.include).toBe("${{ fromJSON(needs.resolve.outputs.push_builds)['dev'] }}");
    const roles = build.steps.filter((s) => s.uses?.startsWith(ACTION_PINS.configureAwsCredentials.action));
    expect(roles.map((s) => s.with?.['role-to-assume'])).toEqual([
      'arn:aws:iam::111111111111:role/acme-dev-gh-publish-main',
    ]);
    const push = build.steps[stepIndex(ACTION_PINS.buildPush.action)];
    expect(push.with).toMatchObject({ platforms: 'linux/amd64,linux/arm64', push: true, sbom: true });
    expect(push.with?.tags).toBe(
      '111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/${{ matrix.service }}:${{ needs.resolve.outputs.push_tag }}',
    );
  });

  test('it checks the tag before any credentials and scans before signing, as the tag build does', () => {
    expectStepsInOrder(build, [
      'Check the tag',
      ACTION_PINS.configureAwsCredentials.action,
      ACTION_PINS.buildPush.action,
      ACTION_PINS.trivy.action,
      ACTION_PINS.grype.action,
      'Sign keyless',
      ACTION_PINS.attestBuildProvenance.action,
    ]);
    const check = build.steps[0];
    expect(runScript(check.run!, { TAG: tag }).status).toBe(0);
    for (const bad of ['v1.4.0', 'sha-0123', `sha-${'g'.repeat(12)}`, `${tag}0`, '']) {
      const r = runScript(check.run!, { TAG: bad });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('is not a sha-<12 hex> image tag');
    }
  });

  /** The needs context of a run: each job's result, and the input check's outputs. */
  interface Run {
    event: string;
    deploy?: string[];
    built?: string[];
    build?: string;
    resolve?: string;
    cancelled?: boolean;
    environment?: string;
  }
  const run = (o: Run) => ({
    cancelled: o.cancelled ?? false,
    github: { event_name: o.event },
    inputs: { environment: o.environment ?? '' },
    needs: {
      resolve: {
        result: o.resolve ?? 'success',
        outputs: {
          push_deploy: JSON.stringify(o.deploy ?? []),
          push_build_envs: JSON.stringify(o.built ?? []),
          push_tags: JSON.stringify(
            Object.fromEntries(
              (o.built ?? []).map((e) => [
                e,
                { tag_args: `--tag api=${tag}`, tags_json: `{"api":"${tag}"}` },
              ]),
            ),
          ),
          tag_args: o.event === 'push' ? '' : '--tag api=v1.3.0',
          tags_json: o.event === 'push' ? '{}' : '{"api":"v1.3.0"}',
        },
      },
      'build-dev': { result: o.build ?? 'skipped' },
    },
  });

  test.each([
    [
      'a push that changed api: built, then deployed',
      { event: 'push', deploy: ['dev'], built: ['dev'], build: 'success' },
      true,
      true,
    ],
    [
      'a push whose build failed: nothing deployed',
      { event: 'push', deploy: ['dev'], built: ['dev'], build: 'failure' },
      true,
      false,
    ],
    [
      'a push whose build was cancelled',
      { event: 'push', deploy: ['dev'], built: ['dev'], build: 'cancelled' },
      true,
      false,
    ],
    [
      'a cancelled run',
      { event: 'push', deploy: ['dev'], built: ['dev'], build: 'success', cancelled: true },
      true,
      false,
    ],
    [
      'a push whose build was skipped though dev builds',
      { event: 'push', deploy: ['dev'], built: ['dev'] },
      true,
      false,
    ],
    [
      'a push that changed only a service built elsewhere: the configured tags',
      { event: 'push', deploy: ['dev'] },
      false,
      true,
    ],
    ['a push of docs or workflows only: nothing built, nothing deployed', { event: 'push' }, false, false],
    [
      'a push whose checks failed (no input check)',
      { event: 'push', deploy: ['dev'], built: ['dev'], resolve: 'skipped' },
      false,
      false,
    ],
    [
      'a dispatch of dev: no build, deployed',
      { event: 'workflow_dispatch', environment: 'dev' },
      false,
      true,
    ],
    ['a dispatch of prod: nothing of dev', { event: 'workflow_dispatch', environment: 'prod' }, false, false],
  ] as [string, Run, boolean, boolean][])('%s', (_name, o, builds, deploys) => {
    const context = run(o);
    // The build job's own result is what its condition decides (GitHub skips it when false).
    const buildRuns = o.resolve === 'skipped' ? false : Boolean(evaluate(build.if!, context));
    expect(buildRuns).toBe(builds);
    expect(Boolean(evaluate(apply.jobs.dev.if!, context))).toBe(deploys);
  });

  test("the deploy takes the build's tags on a push and the checked inputs otherwise", () => {
    const tagsJson = apply.jobs.dev.steps.find((s) => s.run?.includes('start-build'))!.env!.TAGS_JSON;
    const pushed = run({ event: 'push', deploy: ['dev'], built: ['dev'], build: 'success' });
    expect(evaluate(tagsJson, pushed)).toBe(`{"api":"${tag}"}`);
    expect(evaluate(tagsJson, run({ event: 'push', deploy: ['dev'] }))).toBe('{}');
    expect(evaluate(tagsJson, run({ event: 'workflow_dispatch', environment: 'dev' }))).toBe(
      '{"api":"v1.3.0"}',
    );
    const tagArgs = load(variant, 'terraform-apply.yml').jobs.dev.steps.find((s) =>
      s.run?.includes('gantry'),
    )!.env!.TAG_ARGS;
    expect(evaluate(tagArgs, pushed)).toBe(`--tag api=${tag}`);
    expect(evaluate(tagArgs, run({ event: 'push', deploy: ['dev'] }))).toBe('');
  });

  test('only environments that deploy pushes build; without a release nothing builds and the jobs are as before', () => {
    expect(Object.keys(apply.jobs).filter((id) => id.startsWith('build-'))).toEqual(['build-dev']);
    expect(
      Object.keys(load(variant, 'terraform-apply.yml').jobs).filter((id) => id.startsWith('build-')),
    ).toEqual(['build-dev', 'build-qa']);
    const { release: _release, ...withoutRelease } = referenceConfig;
    const plain = load(withoutRelease, 'terraform-apply.yml');
    expect(Object.keys(plain.jobs).filter((id) => id.startsWith('build-'))).toEqual([]);
    expect(plain.jobs.dev.needs).toEqual(['resolve']);
    expect(plain.jobs.dev.if).toBe(
      "github.event_name == 'push' || (github.event_name == 'workflow_dispatch' && inputs.environment == 'dev')",
    );
    expect(JSON.stringify(plain)).not.toContain('push_tag');
  });

  test('an auto-deploy environment that requires an approval is refused: it has no default-branch publish role', () => {
    expect(() => generateWorkflows(referenceConfig, { autoDeployEnvironments: ['dev', 'staging'] })).toThrow(
      'workflows: autoDeployEnvironments: "staging" builds api, worker on a push, but only environments not marked production that require no approval get the default branch\'s publish role ("dev")',
    );
  });
});
