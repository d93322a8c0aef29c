/**
 * The N-distinct-approvers rule against a local HTTP server standing in for the GitHub API, both
 * the check itself and `gantry apply` for an environment requiring 2 approvals (prod), which
 * records the approvers and applies for real (Terraform's builtin provider).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkApprovals } from '../../lib/runtime/approvals';
import type { RunRecord } from '../../lib/runtime/ledger';
import { describeWithTerraform } from '../terraform-harness';
import { cleanEnv } from './env';
import { gantry, tempDir, terraformDir } from './helpers';

interface Recorded {
  readonly url: string;
  readonly authorization: string | undefined;
}

/** `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals` answering from `approvalsByRun`. */
function fakeGithub(approvalsByRun: Record<string, unknown>) {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const match = /^\/repos\/acme\/platform\/actions\/runs\/(\d+)\/approvals$/.exec(req.url ?? '');
    const body = match ? approvalsByRun[match[1]] : undefined;
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

let github: ReturnType<typeof fakeGithub>;
let apiUrl: string;

beforeAll(async () => {
  github = fakeGithub(RUNS);
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
  const dir = terraformDir({ resource: { terraform_data: { release: { input: 'v1' } } } }, 'approvals');
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
