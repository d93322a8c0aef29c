/**
 * The N-distinct-approvers rule against a local HTTP server standing in for the GitHub API, both
 * the check itself and `gantry apply` for an environment requiring 2 approvals (prod), which
 * records the approvers and applies for real (Terraform's builtin provider); and the same check
 * inside the CodeBuild deploy build, on the GitHub run named by the handoff parameter.
 *
 * What counts (issue 14, finding 7): approvals of the run's current (first) attempt, one distinct
 * human per gate environment (`prod-approval`, `prod`), never the initiator or a bot, on a run of
 * the generated apply workflow started by an expected event on the default branch.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  APPLY_WORKFLOW_PATH,
  checkApprovals,
  countApprovals,
  handoffRun,
  verifyApprovals,
  type VerifyApprovalsInput,
} from '../../lib/runtime/approvals';
import type { RunRecord } from '../../lib/runtime/ledger';
import { describeWithTerraform } from '../terraform-harness';
import { cleanEnv } from './env';
import { gantry, PROD_FACTS, tempDir, terraformDir } from './helpers';

interface Recorded {
  readonly url: string;
  readonly authorization: string | undefined;
}

/**
 * `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals` answering from `approvalsByRun`, and
 * `GET /repos/{owner}/{repo}/actions/runs/{run_id}` from `runs`.
 */
function fakeGithub(approvalsByRun: Record<string, unknown>, runs: Record<string, unknown> = {}) {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const match = /^\/repos\/acme\/platform\/actions\/runs\/(\d+)(\/approvals)?$/.exec(req.url ?? '');
    const body = match ? (match[2] ? approvalsByRun : runs)[match[1]] : undefined;
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return {
    requests,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An entry of the review history: `state` by `login` for the environments `envs`. */
const approval = (login: string, state = 'approved', envs: string | string[] = 'prod', type = 'User') => ({
  state,
  comment: '',
  environments: (Array.isArray(envs) ? envs : [envs]).map((name) => ({ name })),
  user: { login, id: login.length, type },
});
/** The usual pair: bob through the first gate, carol through prod. */
const GATES = ['prod-approval', 'prod'];
const bobAndCarol = () => [approval('bob', 'approved', 'prod-approval'), approval('carol')];

const SHA = 'a'.repeat(40);
const OTHER_SHA = 'b'.repeat(40);
const user = (login: string) => ({ login, id: login.length, type: 'User' });
/** A run of the generated apply workflow, dispatched on main by alice, first attempt, in progress. */
const run = (overrides: Record<string, unknown> = {}) => ({
  id: 1,
  head_sha: SHA,
  head_branch: 'main',
  status: 'in_progress',
  event: 'workflow_dispatch',
  path: APPLY_WORKFLOW_PATH,
  run_attempt: 1,
  actor: user('alice'),
  triggering_actor: user('alice'),
  ...overrides,
});

/** The runs in GitHub Actions (`gantry apply` in the workflow) and their approvals. */
const ACTIONS_RUNS: Record<string, unknown> = { '101': run(), '102': run() };
const ACTIONS_APPROVALS: Record<string, unknown> = {
  // The initiator approving their own run does not count; one other approver is not enough.
  '101': [approval('alice', 'approved', 'prod-approval'), approval('bob')],
  // Two distinct others, one per gate (Bob twice counts once), and a rejection that does not count.
  '102': [
    approval('alice', 'approved', 'prod-approval'),
    approval('bob', 'approved', 'prod-approval'),
    approval('Bob', 'approved', 'prod-approval'),
    approval('carol'),
    approval('dave', 'rejected'),
  ],
};

/** The GitHub runs that (say they) started a deploy build, and their approvals. */
const DEPLOY_RUNS: Record<string, unknown> = {
  // Two distinct others, one per gate: allowed.
  '201': run(),
  // The initiator and one other: refused.
  '202': run(),
  // Approved, but for another commit.
  '203': run({ head_sha: OTHER_SHA }),
  // A finished run: not the one waiting for this build.
  '204': run({ status: 'completed' }),
  // No triggering_actor: the actor is the initiator.
  '205': run({ triggering_actor: null }),
  // Re-run by bob: neither bob (who re-ran it) nor alice (who started it) counts.
  '206': run({ triggering_actor: user('bob') }),
  // The second attempt: bob's and carol's approvals may all be the first attempt's.
  '207': run({ run_attempt: 2, triggering_actor: user('dave') }),
  // Another workflow of the repository, with its own approvals of environments named like the gates.
  '208': run({ path: '.github/workflows/hotfix.yml' }),
  // Dispatched on a branch.
  '209': run({ head_branch: 'feature/fast-lane' }),
  // Started by another event.
  '210': run({ event: 'repository_dispatch' }),
  // A run object without its attempt.
  '211': run({ run_attempt: undefined }),
  // The path in its qualified form, on the default branch.
  '212': run({ path: `acme/platform/${APPLY_WORKFLOW_PATH}@refs/heads/main` }),
  // The qualified form at another ref.
  '213': run({ path: `acme/platform/${APPLY_WORKFLOW_PATH}@refs/heads/feature` }),
};
const DEPLOY_APPROVALS: Record<string, unknown> = {
  '201': [approval('alice', 'approved', 'prod-approval'), ...bobAndCarol()],
  '202': [approval('alice', 'approved', 'prod-approval'), approval('bob')],
  '203': bobAndCarol(),
  '204': bobAndCarol(),
  '205': [approval('alice'), ...bobAndCarol()],
  '206': [
    approval('alice', 'approved', 'prod-approval'),
    approval('bob', 'approved', 'prod-approval'),
    approval('carol'),
  ],
  '207': bobAndCarol(),
  '208': bobAndCarol(),
  '209': bobAndCarol(),
  '210': bobAndCarol(),
  '211': bobAndCarol(),
  '212': bobAndCarol(),
  '213': bobAndCarol(),
};

/** A job of the apply workflow in GitHub Actions: run `runId`, attempt 1, started by alice. */
const actionsEnv = (runId: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  GITHUB_ACTIONS: 'true',
  GITHUB_RUN_ID: runId,
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_REPOSITORY: 'acme/platform',
  GITHUB_ACTOR: 'alice',
  GITHUB_TOKEN: 'ghs_test_token',
  GITHUB_API_URL: apiUrl,
  ...extra,
});

let github: ReturnType<typeof fakeGithub>;
let apiUrl: string;

beforeAll(async () => {
  github = fakeGithub({ ...ACTIONS_APPROVALS, ...DEPLOY_APPROVALS }, { ...ACTIONS_RUNS, ...DEPLOY_RUNS });
  apiUrl = await github.start();
});

afterAll(() => github.stop());

describe('checkApprovals', () => {
  const base = () => ({
    apiUrl,
    token: 'ghs_test_token',
    repository: 'acme/platform',
    initiators: ['alice'],
    gateEnvironments: GATES,
  });

  test('counts one distinct approver other than the initiator per gate, case-insensitively', async () => {
    await expect(checkApprovals({ ...base(), runId: '102' })).resolves.toEqual({
      ok: true,
      approvers: ['bob', 'carol'],
    });
    const last = github.requests[github.requests.length - 1];
    expect(last).toEqual({
      url: '/repos/acme/platform/actions/runs/102/approvals',
      authorization: 'Bearer ghs_test_token',
    });
  });

  test('refuses when a gate has no approver other than the initiator, naming who approved what', async () => {
    const check = await checkApprovals({ ...base(), runId: '101' });
    expect(check).toEqual({
      ok: false,
      approvers: ['bob'],
      reason:
        '2 distinct approvers other than the initiator (alice) are required, one per gate environment (prod-approval, prod), ' +
        '1 counted (bob): prod-approval: no counted approval; prod: approved by bob; not counted: alice (the initiator)',
    });
  });

  test('refuses when the API cannot be read', async () => {
    const check = await checkApprovals({ ...base(), runId: '999' });
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(
      /^cannot verify approvals: GET http:\/\/127\.0\.0\.1:\d+\/repos\/acme\/platform\/actions\/runs\/999\/approvals returned HTTP 404/,
    );
  });
});

describe('countApprovals: one distinct human per gate environment', () => {
  const count = (entries: ReturnType<typeof approval>[]) => countApprovals(entries, GATES, ['alice']);

  test('an approval counts only for the gates its environments name', () => {
    expect(count([approval('bob', 'approved', 'staging'), approval('carol')])).toEqual({
      ok: false,
      approvers: ['carol'],
      reason:
        '2 distinct approvers other than the initiator (alice) are required, one per gate environment (prod-approval, prod), ' +
        '1 counted (carol): prod-approval: no counted approval; prod: approved by carol; not counted: bob (approved staging, not a gate)',
    });
  });

  test('the same person approving both gates counts once', () => {
    const twice = count([approval('bob', 'approved', 'prod-approval'), approval('bob')]);
    expect(twice).toMatchObject({ ok: false, approvers: ['bob'] });
    expect(twice.reason).toContain('1 counted (bob): prod-approval: approved by bob; prod: approved by bob');
    // Both gates in one review: still one person.
    expect(count([approval('bob', 'approved', GATES)])).toMatchObject({ ok: false, approvers: ['bob'] });
  });

  test('a person who approved both gates fills the gate nobody else approved', () => {
    // In review order, bob would take prod-approval and leave prod empty; the matching gives him prod.
    expect(
      count([approval('bob', 'approved', GATES), approval('carol', 'approved', 'prod-approval')]),
    ).toEqual({
      ok: true,
      approvers: ['bob', 'carol'],
    });
  });

  test('a bot never counts, by type or by a [bot] login', () => {
    const byLogin = count([approval('github-actions[bot]', 'approved', 'prod-approval'), approval('carol')]);
    expect(byLogin).toMatchObject({ ok: false, approvers: ['carol'] });
    expect(byLogin.reason).toContain('not counted: github-actions[bot] (a bot)');
    const byType = count([approval('deploy-helper', 'approved', 'prod-approval', 'Bot'), approval('carol')]);
    expect(byType).toMatchObject({ ok: false, approvers: ['carol'] });
    expect(byType.reason).toContain('not counted: deploy-helper (a bot)');
  });

  test('rejections and pending reviews do not count', () => {
    expect(
      count([
        approval('bob', 'rejected', 'prod-approval'),
        approval('dave', 'pending', 'prod-approval'),
        approval('carol'),
      ]),
    ).toMatchObject({ ok: false, approvers: ['carol'] });
  });
});

describeWithTerraform('gantry apply for an environment requiring 2 approvals', () => {
  const ledgerUrl = `pglite:${tempDir('approvals-ledger')}`;
  const dir = terraformDir(
    { resource: { terraform_data: { release: { input: 'v1' } } } },
    'prod-release',
    PROD_FACTS,
  );
  const env = (extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(process.env, { GANTRY_LEDGER_URL: ledgerUrl, GANTRY_COMMIT_SHA: 'a'.repeat(40), ...extra });
  const actions = (runId: string) => env(actionsEnv(runId, { GITHUB_SHA: 'a'.repeat(40) }));

  async function lastApply(): Promise<RunRecord> {
    const result = await gantry(
      ['runs', '--json', '--stack', 'prod-release', '--action', 'apply', '--limit', '1'],
      env(),
    );
    return (JSON.parse(result.stdout) as RunRecord[])[0];
  }

  beforeAll(async () => {
    expect((await gantry(['plan', 'prod-release', '--dir', dir, '--env', 'prod'], env())).code).toBe(0);
  });

  test('outside GitHub Actions the approvals cannot be verified: refused', async () => {
    const result = await gantry(['apply', 'prod-release', '--dir', dir, '--env', 'prod'], env());
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'environment prod requires 2 distinct approvers, which gantry verifies on the GitHub Actions run',
    );
    expect(await lastApply()).toMatchObject({ status: 'refused', environment: 'prod' });
  });

  test('the initiator and one other approver: refused, the approver recorded', async () => {
    const result = await gantry(['apply', 'prod-release', '--dir', dir, '--env', 'prod'], actions('101'));
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      '1 counted (bob): prod-approval: no counted approval; prod: approved by bob',
    );
    expect(await lastApply()).toMatchObject({
      status: 'refused',
      approvers: ['bob'],
      actor: 'alice',
      ciRunId: '101',
    });
  });

  test('two distinct approvers besides the initiator: applied, both recorded', async () => {
    const result = await gantry(['apply', 'prod-release', '--dir', dir, '--env', 'prod'], actions('102'));
    expect(result.stderr).toContain('approvals: bob, carol (2 required)');
    expect(result.code).toBe(0);
    expect(await lastApply()).toMatchObject({
      status: 'applied',
      approvers: ['bob', 'carol'],
      ciRunId: '102',
      ciRunAttempt: 1,
      ciRunUrl: 'https://github.com/acme/platform/actions/runs/102',
    });
  });
});

const TOKEN = 'ghp_deploy_build_token_0123456789';
const handoff = (runId: number | string | undefined, commit = SHA, attempt: number | null = 1) =>
  JSON.stringify({
    commit,
    tags: {},
    ...(runId === undefined ? {} : { run: { id: runId, ...(attempt === null ? {} : { attempt }) } }),
  });
/** The deploy build's environment: CodeBuild, the handoff parameter, the token secret, the repository. */
const deployBuild = (runId: number | undefined, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  CODEBUILD_BUILD_ID: 'acme-prod-deploy:0000-build',
  GANTRY_IMAGE_TAGS: handoff(runId),
  GANTRY_GITHUB_TOKEN: TOKEN,
  GANTRY_GITHUB_REPOSITORY: 'acme/platform',
  GITHUB_API_URL: apiUrl,
  ...extra,
});

describe('handoffRun', () => {
  test('reads the commit and the run of the handoff value', () => {
    expect(handoffRun(handoff(201))).toEqual({ commit: SHA, runId: '201', runAttempt: 1 });
  });

  test('a value without a run, or with no commit, names none', () => {
    expect(handoffRun(handoff(undefined))).toBe(
      `GANTRY_IMAGE_TAGS (commit ${SHA}) names no GitHub run (run.id: null, expected a run id)`,
    );
    expect(handoffRun(handoff('1; rm'))).toMatch(/run\.id: "1; rm", expected a run id/);
    expect(handoffRun('{"commit":"","tags":{}}')).toBe('GANTRY_IMAGE_TAGS names no commit');
    expect(handoffRun(undefined)).toBe('GANTRY_IMAGE_TAGS is not set');
    expect(handoffRun('nope')).toBe('GANTRY_IMAGE_TAGS is not JSON');
  });
});

/** What `apply` knows about prod: its gates, the generated apply workflow, dispatch, main. */
const PROD: Omit<VerifyApprovalsInput, 'env' | 'commit'> = {
  environment: 'prod',
  required: 2,
  gateEnvironments: GATES,
  workflowPath: APPLY_WORKFLOW_PATH,
  allowedEvents: ['workflow_dispatch'],
  defaultBranch: 'main',
};

describe('verifyApprovals in the CodeBuild deploy build', () => {
  const verify = (env: NodeJS.ProcessEnv, commit = SHA, facts: Partial<VerifyApprovalsInput> = {}) =>
    verifyApprovals({ ...PROD, env, commit, ...facts });
  const requestsSince = (n: number) => github.requests.slice(n);

  test('one distinct approver per gate besides the initiator of the run that started the build: allowed', async () => {
    const before = github.requests.length;
    await expect(verify(deployBuild(201))).resolves.toEqual({
      ok: true,
      approvers: ['bob', 'carol'],
      source: 'GitHub run 201 (attempt 1), which started this deploy build',
    });
    expect(requestsSince(before)).toEqual([
      { url: '/repos/acme/platform/actions/runs/201', authorization: `Bearer ${TOKEN}` },
      { url: '/repos/acme/platform/actions/runs/201/approvals', authorization: `Bearer ${TOKEN}` },
    ]);
  });

  test('the initiator and one other: refused, naming who approved', async () => {
    const check = await verify(deployBuild(202));
    expect(check).toMatchObject({
      ok: false,
      approvers: ['bob'],
      reason:
        '2 distinct approvers other than the initiator (alice) are required, one per gate environment (prod-approval, prod), ' +
        '1 counted (bob): prod-approval: no counted approval; prod: approved by bob; not counted: alice (the initiator)',
    });
  });

  test('a run for another commit: refused without reading its approvals', async () => {
    const before = github.requests.length;
    const check = await verify(deployBuild(203));
    expect(check).toEqual({
      ok: false,
      approvers: [],
      reason: `GitHub run 203 is for commit ${OTHER_SHA}, the commit being applied is ${SHA}: its approvals do not cover it`,
      source: 'GitHub run 203 (attempt 1), which started this deploy build',
    });
    expect(requestsSince(before).map((r) => r.url)).toEqual(['/repos/acme/platform/actions/runs/203']);
  });

  test('a completed run is not the one waiting for this build: refused', async () => {
    const check = await verify(deployBuild(204));
    expect(check.ok).toBe(false);
    expect(check.reason).toBe(
      'GitHub run 204 is completed; the run whose approvals count is still in progress, waiting for this apply: start the apply from the apply workflow',
    );
  });

  test('the initiator is triggering_actor, else actor; neither counts', async () => {
    await expect(verify(deployBuild(205))).resolves.toMatchObject({ ok: true, approvers: ['bob', 'carol'] });
    const rerun = await verify(deployBuild(206));
    expect(rerun).toMatchObject({ ok: false, approvers: ['carol'] });
    expect(rerun.reason).toContain('other than the initiator (bob, alice) are required');
  });

  test('approvals of an earlier attempt: a re-run is refused, and so is a build of a superseded attempt', async () => {
    const before = github.requests.length;
    const second = await verify(deployBuild(207, { GANTRY_IMAGE_TAGS: handoff(207, SHA, 2) }));
    expect(second).toEqual({
      ok: false,
      approvers: [],
      source: 'GitHub run 207 (attempt 2), which started this deploy build',
      reason:
        "GitHub run 207 is attempt 2 (a re-run): GitHub's review history does not say which attempt an approval was given in, " +
        "so approvals of earlier attempts cannot be told from this one's; dispatch a new run of the apply workflow",
    });
    // A build started by attempt 1 while the run is at attempt 2 belongs to an attempt that is over.
    const stale = await verify(deployBuild(207));
    expect(stale.reason).toBe(
      "GitHub run 207 is at attempt 2, this apply belongs to attempt 1: only the current attempt's approvals count",
    );
    // A handoff without the attempt, or a run without one: cannot be told apart, refused.
    const noAttempt = await verify(deployBuild(201, { GANTRY_IMAGE_TAGS: handoff(201, SHA, null) }));
    expect(noAttempt.reason).toContain('names GitHub run 201 but not its attempt (run.attempt)');
    const runWithout = await verify(deployBuild(211));
    expect(runWithout.reason).toBe(
      'GitHub run 211 names no run_attempt: the approvals of its current attempt cannot be told apart',
    );
    // None of them read the approvals.
    expect(requestsSince(before).filter((r) => r.url.endsWith('/approvals'))).toEqual([]);
  });

  test('another workflow of the repository: refused, whatever its approvals', async () => {
    const check = await verify(deployBuild(208));
    expect(check).toMatchObject({
      ok: false,
      reason: `GitHub run 208 is workflow ".github/workflows/hotfix.yml", not the apply workflow ${APPLY_WORKFLOW_PATH}: its approvals do not count`,
    });
    // The qualified form of the path counts at the default branch only.
    await expect(verify(deployBuild(212))).resolves.toMatchObject({ ok: true, approvers: ['bob', 'carol'] });
    expect((await verify(deployBuild(213))).reason).toContain('not the apply workflow');
  });

  test('another branch: refused', async () => {
    expect((await verify(deployBuild(209))).reason).toBe(
      'GitHub run 209 runs on branch "feature/fast-lane", not the default branch main: its approvals do not count',
    );
  });

  test("another event: refused; the allowed events are the caller's", async () => {
    expect((await verify(deployBuild(210))).reason).toBe(
      'GitHub run 210 was started by "repository_dispatch", the apply workflow deploys from workflow_dispatch: its approvals do not count',
    );
    await expect(
      verify(deployBuild(210), SHA, { allowedEvents: ['workflow_dispatch', 'repository_dispatch'] }),
    ).resolves.toMatchObject({ ok: true });
  });

  test('missing facts refuse before any request: gates, workflow path, events, default branch', async () => {
    const before = github.requests.length;
    const reasons = await Promise.all(
      [
        { gateEnvironments: [] },
        { gateEnvironments: ['prod'] },
        { workflowPath: '' },
        { allowedEvents: [] },
        { defaultBranch: '' },
      ].map(async (facts) => (await verify(deployBuild(201), SHA, facts)).reason),
    );
    expect(reasons).toEqual([
      'cannot verify approvals: the gate environments are not known ([])',
      'cannot verify approvals: 1 gate environment(s) (prod) for 2 required approvals: one person per gate',
      'cannot verify approvals: the apply workflow path is not known',
      'cannot verify approvals: the events that run the apply workflow are not known',
      'cannot verify approvals: the default branch is not known',
    ]);
    expect(requestsSince(before)).toEqual([]);
  });

  test('without a token: refused before any request, naming the setting', async () => {
    const before = github.requests.length;
    const check = await verify(deployBuild(201, { GANTRY_GITHUB_TOKEN: '' }));
    expect(check).toEqual({
      ok: false,
      approvers: [],
      reason:
        'cannot verify approvals in deploy build acme-prod-deploy:0000-build: GANTRY_GITHUB_TOKEN is not set; ' +
        "give runners.deploy.githubTokenSecretArn (a token that can read the repository's Actions runs)",
    });
    expect(requestsSince(before)).toEqual([]);
  });

  test('a handoff written for another commit, or without a run: refused before any request', async () => {
    const before = github.requests.length;
    const other = await verify(deployBuild(201, { GANTRY_IMAGE_TAGS: handoff(201, OTHER_SHA) }));
    expect(other.ok).toBe(false);
    expect(other.reason).toBe(
      `cannot verify approvals in deploy build acme-prod-deploy:0000-build: GANTRY_IMAGE_TAGS names GitHub run 201 for commit ${OTHER_SHA}, ` +
        `this build applies commit ${SHA}; start the build from the apply workflow at this commit`,
    );
    const none = await verify(deployBuild(undefined));
    expect(none.ok).toBe(false);
    expect(none.reason).toContain('names no GitHub run');
    const unset = await verify(deployBuild(201, { GANTRY_IMAGE_TAGS: undefined }));
    expect(unset.reason).toContain('GANTRY_IMAGE_TAGS is not set');
    expect(requestsSince(before)).toEqual([]);
  });

  test('an unreadable run is refused; no reason carries the token', async () => {
    const check = await verify(deployBuild(999));
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(
      /^cannot verify approvals: GET http:\/\/127\.0\.0\.1:\d+\/repos\/acme\/platform\/actions\/runs\/999 returned HTTP 404/,
    );
    expect(check.reason).not.toContain(TOKEN);
  });

  test('neither in GitHub Actions nor in a deploy build: refused', async () => {
    const check = await verify({ GANTRY_GITHUB_TOKEN: TOKEN, GANTRY_IMAGE_TAGS: handoff(201) });
    expect(check.ok).toBe(false);
    expect(check.reason).toContain('environment prod requires 2 distinct approvers');
  });
});

describe('verifyApprovals in GitHub Actions', () => {
  const verify = (env: NodeJS.ProcessEnv) => verifyApprovals({ ...PROD, env, commit: SHA });

  test('reads this run first, then its approvals: allowed with one approver per gate', async () => {
    const before = github.requests.length;
    await expect(verify(actionsEnv('102'))).resolves.toEqual({
      ok: true,
      approvers: ['bob', 'carol'],
      source: 'GitHub run 102',
    });
    expect(github.requests.slice(before).map((r) => r.url)).toEqual([
      '/repos/acme/platform/actions/runs/102',
      '/repos/acme/platform/actions/runs/102/approvals',
    ]);
  });

  test('a re-run attempt, another workflow or another branch is refused here too', async () => {
    expect((await verify(actionsEnv('207', { GITHUB_RUN_ATTEMPT: '2' }))).reason).toMatch(
      /^GitHub run 207 is attempt 2 \(a re-run\)/,
    );
    expect((await verify(actionsEnv('207'))).reason).toBe(
      "GitHub run 207 is at attempt 2, this apply belongs to attempt 1: only the current attempt's approvals count",
    );
    expect((await verify(actionsEnv('208'))).reason).toContain('not the apply workflow');
    expect((await verify(actionsEnv('209'))).reason).toContain('not the default branch main');
  });
});

describeWithTerraform('gantry apply in the CodeBuild deploy build of prod (2 approvals)', () => {
  const ledgerUrl = `pglite:${tempDir('approvals-codebuild-ledger')}`;
  const dir = terraformDir(
    { resource: { terraform_data: { release: { input: 'v2' } } } },
    'prod-release',
    PROD_FACTS,
  );
  const env = (runId?: number, extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(process.env, {
      GANTRY_LEDGER_URL: ledgerUrl,
      CODEBUILD_RESOLVED_SOURCE_VERSION: SHA,
      CODEBUILD_BUILD_URL: 'https://console.aws.amazon.com/codesuite/codebuild/build-1',
      ...deployBuild(runId),
      ...extra,
    });

  async function lastApply(): Promise<RunRecord> {
    const result = await gantry(
      ['runs', '--json', '--stack', 'prod-release', '--action', 'apply', '--limit', '1'],
      cleanEnv(process.env, { GANTRY_LEDGER_URL: ledgerUrl }),
    );
    return (JSON.parse(result.stdout) as RunRecord[])[0];
  }
  const apply = (e: NodeJS.ProcessEnv) => gantry(['apply', 'prod-release', '--dir', dir, '--env', 'prod'], e);

  beforeAll(async () => {
    expect((await gantry(['plan', 'prod-release', '--dir', dir, '--env', 'prod'], env(201))).code).toBe(0);
  });

  test('without a token: refused (exit 3), recorded', async () => {
    const result = await apply(env(201, { GANTRY_GITHUB_TOKEN: undefined }));
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('GANTRY_GITHUB_TOKEN is not set');
    expect(await lastApply()).toMatchObject({ status: 'refused', environment: 'prod', commitSha: SHA });
  });

  test('the initiator and one other approver of the run: refused, the approver recorded', async () => {
    const result = await apply(env(202));
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('1 counted (bob)');
    const row = await lastApply();
    expect(row).toMatchObject({ status: 'refused', approvers: ['bob'] });
    expect(JSON.stringify(row)).not.toContain(TOKEN);
  });

  test('two distinct approvers besides the initiator: applied, both recorded, the token nowhere', async () => {
    const result = await apply(env(201));
    expect(result.stderr).toContain(
      'approvals: bob, carol (2 required) on GitHub run 201 (attempt 1), which started this deploy build',
    );
    expect(result.code).toBe(0);
    const row = await lastApply();
    expect(row).toMatchObject({
      status: 'applied',
      approvers: ['bob', 'carol'],
      ciRunId: 'acme-prod-deploy:0000-build',
    });
    expect(`${result.stdout}\n${result.stderr}\n${JSON.stringify(row)}`).not.toContain(TOKEN);
  });
});
