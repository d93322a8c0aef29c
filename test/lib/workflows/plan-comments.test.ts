/**
 * The PR comments of `terraform-plan.yml`: the comment job's own script, run as actions/github-script
 * runs it (an async function of `github` and `context`, `github` being @actions/github's Octokit,
 * the client github-script v7 hands scripts), against a local HTTP server that answers the three
 * GitHub endpoints it calls, with real pagination. And the job's `if:` and permissions, evaluated.
 */
import { getOctokit } from '@actions/github';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import { referenceConfig } from '../../../environments';
import {
  generateWorkflows,
  PLAN_COMMENT_MARKER,
  planCommentMarker,
  stackMarkdownBudget,
} from '../../../lib/workflows';
import { evaluate } from './expression';

interface Step {
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string[];
  permissions?: Record<string, string>;
  steps: Step[];
}
const workflow = parse(generateWorkflows(referenceConfig)[0].content) as { jobs: Record<string, Job> };
const commentJob = workflow.jobs.comment;
const script = String(commentJob.steps[0].with?.script);

interface Comment {
  id: number;
  body: string;
  user: { login: string; type: string };
}

/** The issue-comment endpoints of one pull request, as GitHub answers them. */
class FakeGithub {
  readonly comments: Comment[] = [];
  readonly requests: string[] = [];
  private nextId = 1000;
  private server?: http.Server;
  baseUrl = '';

  add(body: string, user = { login: 'github-actions[bot]', type: 'Bot' }): Comment {
    const c = { id: this.nextId++, body, user };
    this.comments.push(c);
    return c;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      this.requests.push(`${req.method} ${url.pathname}`);
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      req.on('end', () => {
        const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        };
        if (req.headers.authorization !== 'token job-token') return send(401, { message: 'Bad credentials' });
        const list = /^\/repos\/acme\/platform\/issues\/7\/comments$/.exec(url.pathname);
        const one = /^\/repos\/acme\/platform\/issues\/comments\/(\d+)$/.exec(url.pathname);
        if (list && req.method === 'GET') {
          const perPage = Number(url.searchParams.get('per_page') ?? 30);
          const page = Number(url.searchParams.get('page') ?? 1);
          const pages = Math.max(1, Math.ceil(this.comments.length / perPage));
          const link: Record<string, string> =
            page < pages
              ? { link: `<${this.baseUrl}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"` }
              : {};
          return send(200, this.comments.slice((page - 1) * perPage, page * perPage), link);
        }
        if (list && req.method === 'POST') {
          const body = (JSON.parse(data) as { body: string }).body;
          if (body.length > 65_536)
            return send(422, { message: 'body is too long (maximum is 65536 characters)' });
          return send(201, this.add(body));
        }
        if (one && req.method === 'PATCH') {
          const c = this.comments.find((x) => x.id === Number(one[1]));
          if (!c) return send(404, { message: 'Not Found' });
          if (c.user.login !== 'github-actions[bot]')
            return send(403, { message: 'Resource not accessible by integration' });
          const body = (JSON.parse(data) as { body: string }).body;
          if (body.length > 65_536)
            return send(422, { message: 'body is too long (maximum is 65536 characters)' });
          c.body = body;
          return send(200, c);
        }
        send(404, { message: 'Not Found' });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
  ...args: string[]
) => (...values: unknown[]) => Promise<unknown>;

/** Runs the comment step's script with the job's environment variables. */
async function runComment(api: FakeGithub, env: Record<string, string>): Promise<void> {
  const github = getOctokit('job-token', { baseUrl: api.baseUrl });
  const context = {
    repo: { owner: 'acme', repo: 'platform' },
    issue: { number: 7 },
    sha: 'c0ffee1234567890c0ffee1234567890c0ffee12',
    serverUrl: 'https://github.com',
    runId: 4242,
  };
  const fn = new AsyncFunction('github', 'context', 'process', script);
  await fn(github, context, { env });
}

/** What the pull-request plan job (dev only: staging and prod require approvals) hands the comment job. */
const summaries = (tag: string) => ({
  PLAN_DEV: `<details><summary>dev-foundation ${tag}</summary>\n\nx\n</details>\n<details><summary>dev-services ${tag}</summary>\n\ny\n</details>\n`,
});

describe('the plan workflow comments on pull requests', () => {
  let api: FakeGithub;

  beforeEach(async () => {
    api = new FakeGithub();
    await api.start();
  });
  afterEach(() => api.stop());

  test('one comment per environment, updated in place on the next run, never duplicated', async () => {
    // Other people's comments, enough for two pages of 100.
    for (let i = 0; i < 150; i++) api.add(`review remark ${i}`, { login: `dev${i}`, type: 'User' });
    await runComment(api, summaries('run-1'));
    const ours = () => api.comments.filter((c) => c.user.type === 'Bot');
    expect(ours().map((c) => c.body.split('\n')[0])).toEqual(
      ['dev', 'staging', 'prod'].map(planCommentMarker),
    );
    // Environments that require an approval say why they are not planned here.
    const prod = ours().find((c) => c.body.startsWith(planCommentMarker('prod')))!;
    expect(prod.body).toContain('Not planned from pull requests: prod requires 2 approval(s)');
    const dev = ours().find((c) => c.body.startsWith(planCommentMarker('dev')))!;
    expect(dev.body).toContain('## Terraform plan: dev');
    expect(dev.body).toContain('Commit c0ffee1, [run](https://github.com/acme/platform/actions/runs/4242).');
    expect(dev.body).toContain('dev-foundation run-1');
    expect(dev.body).toContain('dev-services run-1');
    const ids = ours().map((c) => c.id);

    await runComment(api, summaries('run-2'));
    expect(ours().map((c) => c.id)).toEqual(ids);
    const devNow = ours().find((c) => c.body.startsWith(planCommentMarker('dev')))!;
    expect(devNow.body.includes('run-2') && !devNow.body.includes('run-1')).toBe(true);
    expect(api.requests.filter((r) => r.startsWith('POST'))).toHaveLength(3);
    expect(api.requests.filter((r) => r.startsWith('PATCH'))).toHaveLength(3);
    // The listing was paged: the bot's comments sit on the second page.
    expect(api.requests.filter((r) => r.startsWith('GET')).length).toBeGreaterThanOrEqual(4);
  });

  test('a plan that did not run posts nothing; a human comment carrying a marker is left alone', async () => {
    const human = api.add(`${planCommentMarker('dev')}\nI copied the bot`, {
      login: 'mallory',
      type: 'User',
    });
    await runComment(api, { PLAN_DEV: '' });
    expect(api.comments.find((c) => c.id === human.id)?.body).toBe(
      `${planCommentMarker('dev')}\nI copied the bot`,
    );
    const bots = api.comments.filter((c) => c.user.type === 'Bot').map((c) => c.body.split('\n')[0]);
    expect(bots).toEqual([planCommentMarker('staging'), planCommentMarker('prod')]);
  });

  test('the comment of all environments that earlier versions posted is marked superseded, once', async () => {
    const legacy = api.add(`${PLAN_COMMENT_MARKER}\n## Terraform plan\n\nold summaries`);
    await runComment(api, summaries('run-1'));
    expect(legacy.body).toBe(
      `${PLAN_COMMENT_MARKER}\n_Superseded: the plan is now posted as one comment per environment._`,
    );
    const patches = api.requests.filter((r) => r.startsWith('PATCH')).length;
    await runComment(api, summaries('run-2'));
    // The second run updates the three environment comments, not the superseded one again.
    expect(api.requests.filter((r) => r.startsWith('PATCH')).length - patches).toBe(3);
  });

  test('a summary over the limit is cut at a line with every <details> closed, under GitHub limit', async () => {
    const huge = `<details open><summary>dev-foundation</summary>\n\n${'- a line of the plan summary\n'.repeat(5000)}</details>\n`;
    await runComment(api, { PLAN_DEV: huge });
    const [dev] = api.comments;
    expect(dev.body.length).toBeLessThanOrEqual(65_536);
    expect(dev.body).toContain(
      '_Truncated: the full summaries are in the [run](https://github.com/acme/platform/actions/runs/4242)._',
    );
    expect((dev.body.match(/<details[ >]/g) ?? []).length).toBe(
      (dev.body.match(/<\/details>/g) ?? []).length,
    );
  });
});

describe('the comment job', () => {
  const event = (name: string, headRepo = 'acme/platform') => ({
    github: {
      event_name: name,
      repository: 'acme/platform',
      event: name === 'pull_request' ? { pull_request: { head: { repo: { full_name: headRepo } } } } : {},
    },
  });

  test('runs only for pull requests of the repository itself, after every pull-request plan job', () => {
    expect(evaluate(commentJob.if!, event('pull_request'))).toBe(true);
    expect(evaluate(commentJob.if!, event('pull_request', 'someone/fork'))).toBe(false);
    expect(evaluate(commentJob.if!, event('push'))).toBe(false);
    expect(commentJob.needs).toEqual(Object.keys(workflow.jobs).filter((id) => id.endsWith('-pull-request')));
    // The default branch's plan jobs run on pushes only; pull-request plans on same-repository pull requests.
    const plan = workflow.jobs['plan-dev'];
    expect(evaluate(plan.if!, event('push'))).toBe(true);
    expect(evaluate(plan.if!, event('pull_request'))).toBe(false);
    const pullRequest = workflow.jobs['plan-dev-pull-request'];
    expect(evaluate(pullRequest.if!, event('push'))).toBe(false);
    expect(evaluate(pullRequest.if!, event('pull_request'))).toBe(true);
    expect(evaluate(pullRequest.if!, event('pull_request', 'someone/fork'))).toBe(false);
  });

  test('holds the only pull-requests: write, and nothing else: no checkout, no OIDC, no secrets', () => {
    expect(commentJob.permissions).toEqual({ 'pull-requests': 'write' });
    for (const [id, job] of Object.entries(workflow.jobs))
      if (id !== 'comment') expect([id, job.permissions?.['pull-requests']]).toEqual([id, undefined]);
    expect(commentJob.steps).toHaveLength(1);
    expect(commentJob.steps[0].uses).toMatch(/^actions\/github-script@[0-9a-f]{40}$/);
    expect(JSON.stringify(commentJob)).not.toMatch(/secrets\.|id-token|actions\/checkout/);
  });

  test('each stack of an environment gets an equal share of the comment, folded', () => {
    const run = workflow.jobs['plan-dev'].steps.find((s) => s.run?.includes('gantry plan'))!.run!;
    expect(run).toContain(`npx gantry plan "$stack" --no-synth --fold --max-chars ${stackMarkdownBudget(2)}`);
    expect(stackMarkdownBudget(2) * 2).toBeLessThan(60_000);
  });
});
