/**
 * The N-distinct-approvers rule against a local HTTP server standing in for the GitHub API, both
 * the check itself and `gantry apply` for an environment requiring 2 approvals (prod), which
 * records the approvers and applies for real (Terraform's builtin provider); and the same check
 * inside the CodeBuild deploy build, on the GitHub run named by the handoff parameter.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkApprovals, handoffRun, verifyApprovals } from '../../lib/runtime/approvals';
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

const approval = (login: string, state = 'approved', env = 'prod') => ({
  state,
  comment: '',
  environments: [{ name: env }],
  user: { login, id: login.length },
});

const RUNS = {
  // The initiator approving their own run does not count; one other approver is not enough.
  '101': [approval('alice'), approval('bob')],
  // Two distinct others (bob twice, through two gates), and a rejection that does not count.
  '102': [
    approval('alice'),
    approval('bob', 'approved', 'prod-approval'),
    approval('Bob'),
    approval('carol'),
    approval('dave', 'rejected'),
  ],
};

const SHA = 'a'.repeat(40);
const OTHER_SHA = 'b'.repeat(40);
const user = (login: string) => ({ login, id: login.length });
const run = (overrides: Record<string, unknown> = {}) => ({
  id: 1,
  head_sha: SHA,
  status: 'in_progress',
  actor: user('alice'),
  triggering_actor: user('alice'),
  ...overrides,
});

/** The GitHub runs that (say they) started a deploy build, and their approvals. */
const DEPLOY_RUNS: Record<string, unknown> = {
  // Two distinct others: allowed.
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
};
const DEPLOY_APPROVALS: Record<string, unknown> = {
  '201': [approval('alice'), approval('bob', 'approved', 'prod-approval'), approval('carol')],
  '202': [approval('alice'), approval('bob')],
  '203': [approval('bob'), approval('carol')],
  '204': [approval('bob'), approval('carol')],
  '205': [approval('alice'), approval('bob'), approval('carol')],
  '206': [approval('alice'), approval('bob'), approval('carol')],
};

let github: ReturnType<typeof fakeGithub>;
let apiUrl: string;

beforeAll(async () => {
  github = fakeGithub({ ...RUNS, ...DEPLOY_APPROVALS }, DEPLOY_RUNS);
  apiUrl = await github.start();
});

afterAll(() => github.stop());

describe('checkApprovals', () => {
  const base = () => ({
    apiUrl,
    token: 'ghs_test_token',
    repository: 'acme/platform',
    initiators: ['alice'],
    required: 2,
  });

  test('counts distinct approvers other than the initiator, case-insensitively', async () => {
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

  test('refuses when fewer than N others approved, naming who did', async () => {
    const check = await checkApprovals({ ...base(), runId: '101' });
    expect(check).toEqual({
      ok: false,
      approvers: ['bob'],
      reason: '2 distinct approvers other than the initiator (alice) are required, 1 approved (bob)',
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

describeWithTerraform('gantry apply for an environment requiring 2 approvals', () => {
  const ledgerUrl = `pglite:${tempDir('approvals-ledger')}`;
  const dir = terraformDir(
    { resource: { terraform_data: { release: { input: 'v1' } } } },
    'prod-release',
    PROD_FACTS,
  );
  const env = (extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(process.env, { GANTRY_LEDGER_URL: ledgerUrl, GANTRY_COMMIT_SHA: 'a'.repeat(40), ...extra });
  const actions = (runId: string) =>
    env({
      GITHUB_ACTIONS: 'true',
      GITHUB_RUN_ID: runId,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_REPOSITORY: 'acme/platform',
      GITHUB_ACTOR: 'alice',
      GITHUB_TOKEN: 'ghs_test_token',
      GITHUB_API_URL: apiUrl,
      GITHUB_SHA: 'a'.repeat(40),
    });

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
    expect(result.stderr).toContain('1 approved (bob)');
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
const handoff = (runId: number | string | undefined, commit = SHA) =>
  JSON.stringify({
    commit,
    tags: {},
    ...(runId === undefined ? {} : { run: { id: runId, attempt: 1 } }),
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

describe('verifyApprovals in the CodeBuild deploy build', () => {
  const verify = (env: NodeJS.ProcessEnv, commit = SHA) =>
    verifyApprovals({ env, commit, environment: 'prod', required: 2 });
  const requestsSince = (n: number) => github.requests.slice(n);

  test('two distinct approvers besides the initiator of the run that started the build: allowed', async () => {
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
      reason: '2 distinct approvers other than the initiator (alice) are required, 1 approved (bob)',
    });
  });

  test('a run for another commit: refused without reading its approvals', async () => {
    const before = github.requests.length;
    const check = await verify(deployBuild(203));
    expect(check).toEqual({
      ok: false,
      approvers: [],
      reason: `GitHub run 203 is for commit ${OTHER_SHA}, this build applies commit ${SHA}: its approvals do not cover this commit`,
    });
    expect(requestsSince(before).map((r) => r.url)).toEqual(['/repos/acme/platform/actions/runs/203']);
  });

  test('a completed run is not the one waiting for this build: refused', async () => {
    const check = await verify(deployBuild(204));
    expect(check.ok).toBe(false);
    expect(check.reason).toBe(
      'GitHub run 204 is completed; the run that started this deploy build is still in progress: start the build from the apply workflow',
    );
  });

  test('the initiator is triggering_actor, else actor; neither counts', async () => {
    await expect(verify(deployBuild(205))).resolves.toMatchObject({ ok: true, approvers: ['bob', 'carol'] });
    await expect(verify(deployBuild(206))).resolves.toMatchObject({
      ok: false,
      approvers: ['carol'],
      reason: '2 distinct approvers other than the initiator (bob, alice) are required, 1 approved (carol)',
    });
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
    expect(result.stderr).toContain('1 approved (bob)');
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
