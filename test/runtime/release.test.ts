/**
 * The release lifecycle (`deploy`, `rollback`, status) against a real ledger (PGlite), a local
 * HTTP server standing in for the load balancer (verify) and the team's webhook (notifications),
 * and ECS and ECR at the wire level (aws-sdk-client-mock): rollout state sequences such as "in progress,
 * tasks failing, then the circuit breaker puts the old task definition back" are what moto's
 * server cannot play back, and a registry whose tags were moved, or that denies access, no emulator has. The apply step records the tags it was given (the real one is
 * `gantry apply`'s, covered by its own suites). Intervals are a millisecond.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RunTaskCommand,
  UpdateServiceCommand,
  type Deployment,
  type RunTaskCommandInput,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import {
  DescribeImagesCommand,
  ECRClient,
  ECRServiceException,
  ImageNotFoundException,
  RepositoryNotFoundException,
  type DescribeImagesCommandInput,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { openLedger, type Ledger } from '../../lib/runtime/ledger';
import { Redactor } from '../../lib/runtime/redaction';
import {
  deploy,
  redeploy,
  rollback,
  type ReleaseDeps,
  type ReleaseTarget,
} from '../../lib/runtime/release/deploy';
import { cosignCopier, type ImageCopier, type Promotion } from '../../lib/runtime/release/promote';
import { liveStatus, renderStatus } from '../../lib/runtime/release/status';
import type { ImageToVerify } from '../../lib/runtime/signatures';
import type { KeylessCheck } from '../../lib/runtime/release/keyless';
import { fakeCosign, type FakeCosign } from './fake-cosign';
import { recordDeploy } from './deployments-contract';
import { signedBundle } from './signing';

const ecsMock = mockClient(ECSClient);
const ecrMock = mockClient(ECRClient);
const SECRET = 'hunter2-webhook-token-0123456789';
const SHA = (c: string) => c.repeat(40);
const FAST = { rollout: { pollIntervalMs: 1 }, migration: { pollIntervalMs: 1 }, verify: { intervalMs: 1 } };

/** The load balancer and the webhook: programmable responses, recorded requests. */
let server: http.Server;
let base: string;
let health: () => number;
let hookStatus = 200;
const hooks: { path: string; body: Record<string, unknown> }[] = [];
let healthHits = 0;

/** ECS as a script: each DescribeServices call takes the next state of each service (the last repeats). */
let script: Record<string, Deployment[][]> = {};
const step: Record<string, number> = {};
let migrationExit = 0;
const runTasks: RunTaskCommandInput[] = [];
/** UpdateService calls (a redeploy's forced deployments); each answers a new PRIMARY deployment `ecs-svc/new-<service>`. */
const updates: UpdateServiceCommandInput[] = [];

const dep = (taskDefinition: string, over: Partial<Deployment> = {}): Deployment => ({
  status: 'PRIMARY',
  taskDefinition: `arn:aws:ecs:eu-west-1:111111111111:task-definition/${taskDefinition}`,
  desiredCount: 2,
  runningCount: 2,
  failedTasks: 0,
  rolloutState: 'COMPLETED',
  ...over,
});

function mockEcs(): void {
  ecsMock.reset();
  ecsMock.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
    services: input.services.map((name) => {
      const states = script[name] ?? [[dep(`${name}:1`)]];
      const i = Math.min(step[name] ?? 0, states.length - 1);
      step[name] = (step[name] ?? 0) + 1;
      return {
        serviceName: name,
        desiredCount: 2,
        deployments: states[i],
        events: [{ message: `(service ${name}) deployment failed: tasks failed to start.` }],
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: ['subnet-1'],
            securityGroups: ['sg-1'],
            assignPublicIp: 'DISABLED',
          },
        },
      };
    }),
  }));
  ecsMock.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => {
    runTasks.push(input);
    return { tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:111111111111:task/acme-prod/abc123' }] };
  });
  ecsMock.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => {
    updates.push(input);
    const name = input.service as string;
    return {
      service: {
        serviceName: name,
        deployments: [
          dep(`${name}:2`, { id: `ecs-svc/new-${name}`, rolloutState: 'IN_PROGRESS', runningCount: 0 }),
          dep(`${name}:2`, { id: `ecs-svc/old-${name}`, status: 'ACTIVE' }),
        ],
      },
    };
  });
  let looks = 0;
  ecsMock.on(DescribeTasksCommand).callsFake(() => ({
    tasks: [
      looks++ < 1
        ? { lastStatus: 'RUNNING' }
        : { lastStatus: 'STOPPED', containers: [{ name: 'migrate', exitCode: migrationExit }] },
    ],
  }));
}

/**
 * ECR as a table: per `<repository URI>:<tag>`, the digest DescribeImages answers. A tag not in `pushed`
 * answers a digest of its own (the SHA-256 of its reference, `pushedDigest`), unless it is `unpushed` or of
 * a repository in `onlyPushed` (ImageNotFoundException); `registryFault` rejects every call. Each call's
 * input is kept in `lookups`.
 */
const pushed = new Map<string, string>();
const unpushed = new Set<string>();
const onlyPushed = new Set<string>();
let registryFault: Error | null = null;
const lookups: DescribeImagesCommandInput[] = [];
const pushedDigest = (reference: string) =>
  pushed.get(reference) ?? `sha256:${createHash('sha256').update(reference).digest('hex')}`;

function mockEcr(): void {
  ecrMock.reset();
  pushed.clear();
  unpushed.clear();
  onlyPushed.clear();
  registryFault = null;
  lookups.length = 0;
  ecrMock.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    lookups.push(input);
    if (registryFault) throw registryFault;
    const tag = input.imageIds?.[0]?.imageTag as string;
    const reference = `${input.registryId}.dkr.ecr.eu-west-1.amazonaws.com/${input.repositoryName}:${tag}`;
    const repository = reference.slice(0, reference.lastIndexOf(':'));
    if (unpushed.has(reference) || (onlyPushed.has(repository) && !pushed.has(reference)))
      throw new ImageNotFoundException({
        $metadata: {},
        message: `The image with imageId {imageDigest:'null', imageTag:'${tag}'} does not exist within the repository with name '${input.repositoryName}' in the registry with id '${input.registryId}'`,
      });
    return {
      imageDetails: [
        {
          registryId: input.registryId,
          repositoryName: input.repositoryName,
          imageTags: [tag],
          imageDigest: pushedDigest(reference),
        },
      ],
    };
  });
}

/** The tags DescribeImages was asked for, as `<repository name>:<tag>`. */
const lookedUp = () => lookups.map((l) => `${l.repositoryName}:${l.imageIds?.[0]?.imageTag}`);

/**
 * A rollout of `name` from revision `from` to `to`: the look before the apply, one look in progress,
 * completed; then, should the deploy roll back, the look before that apply and its completed rollout.
 */
const completes = (name: string, from: number, to: number): Deployment[][] => [
  [dep(`${name}:${from}`)],
  [
    dep(`${name}:${to}`, { rolloutState: 'IN_PROGRESS', runningCount: 1 }),
    dep(`${name}:${from}`, { status: 'ACTIVE' }),
  ],
  [dep(`${name}:${to}`)],
  [dep(`${name}:${to}`)],
  [dep(`${name}:${to + 1}`)],
];

/**
 * The forced deployment of `name` in progress beside the completed one it replaces, then completed:
 * both run the same task definition, only the deployment id tells them apart.
 */
const forcedCompletes = (name: string): Deployment[][] => [
  [
    dep(`${name}:2`, { id: `ecs-svc/old-${name}`, status: 'ACTIVE' }),
    dep(`${name}:2`, { id: `ecs-svc/new-${name}`, rolloutState: 'IN_PROGRESS', runningCount: 1 }),
  ],
  [dep(`${name}:2`, { id: `ecs-svc/new-${name}` })],
];

/** A new ECS script, from its first state. */
function play(next: Record<string, Deployment[][]>): void {
  script = next;
  for (const k of Object.keys(step)) delete step[k];
}

/** `copy`, and on success the copied digest under the destination tag in the tests' ECR (`pushed`). */
const intoRegistry =
  (copy: ImageCopier): ImageCopier =>
  async (c) => {
    const result = await copy(c);
    if (result.ok) pushed.set(c.destination, c.source.slice(c.source.indexOf('@') + 1));
    return result;
  };

/** `repository@at` of `service`, with a signature of that repository and digest by `key`. */
const signedImage = (service: string, repository: string, at: string, key: KeyObject): ImageToVerify => ({
  service,
  repository,
  digest: at,
  bundle: signedBundle(key, repository, at),
});

let ledger: Ledger;
const applied: { tags: Record<string, string>; purpose: string }[] = [];
let lines: string[] = [];

function deps(): ReleaseDeps {
  const redactor = new Redactor();
  redactor.addSecretValue(SECRET);
  return {
    ledger,
    ecs: new ECSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    ecr: new ECRClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    apply: async (tags, purpose) => {
      applied.push({ tags: { ...tags }, purpose });
      return { ok: true, exitCode: 0 };
    },
    progress: (line) => lines.push(line),
    redactor,
  };
}

/** The ECR repository of `service` in the tests' environments (one account: the tests' ECR is one table). */
const REPOSITORY = (service: string) => `111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/${service}`;

function target(tag: string, over: Partial<ReleaseTarget> = {}): ReleaseTarget {
  return {
    environment: 'prod',
    stack: 'prod-services',
    cluster: 'acme-prod',
    services: [
      {
        name: 'api',
        ecsService: 'api',
        imageTag: tag,
        repository: REPOSITORY('api'),
        verify: { url: `${base}/health`, retries: 3, bodyMatch: 'ok' },
      },
      { name: 'worker', ecsService: 'worker', imageTag: tag, repository: REPOSITORY('worker') },
    ],
    notifications: {
      webhooks: [
        { url: `${base}/hook/${SECRET}`, format: 'json' },
        { url: `${base}/slack`, format: 'slack' },
      ],
    },
    ...over,
  };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/health') {
        healthHits++;
        const status = health();
        res.writeHead(status).end(status === 200 ? 'ok' : 'unavailable');
        return;
      }
      hooks.push({ path: req.url ?? '', body: JSON.parse(body || '{}') as Record<string, unknown> });
      res.writeHead(hookStatus).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ledger = await openLedger('pglite:memory');
  await ledger.migrate();
});

afterAll(async () => {
  await ledger?.close();
  await new Promise((resolve) => server?.close(resolve));
});

beforeEach(() => {
  mockEcs();
  mockEcr();
  play({});
  applied.length = 0;
  hooks.length = 0;
  runTasks.length = 0;
  updates.length = 0;
  lines = [];
  healthHits = 0;
  hookStatus = 200;
  migrationExit = 0;
  health = () => 200;
});

describe('gantry deploy', () => {
  test('a deploy that completes: rows deployed then verified; verify passes on the 3rd try; routine notice is condensed, no secret', async () => {
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    let tries = 0;
    health = () => (++tries < 3 ? 503 : 200);
    const result = await deploy(
      target('v1'),
      { commitSha: SHA('1'), actor: 'octocat', automatic: true },
      deps(),
      FAST,
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified', reason: null });
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.status, d.previousTag])).toEqual([
      ['api', 'v1', 'verified', null],
      ['worker', 'v1', 'deployed', null],
    ]);
    expect(result.deployments[0].taskDefinition).toMatch(/task-definition\/api:2$/);
    expect(result.verify).toEqual([expect.objectContaining({ service: 'api', ok: true, attempts: 3 })]);
    expect(applied).toEqual([{ tags: { api: 'v1', worker: 'v1' }, purpose: 'deploy' }]);
    expect(lines).toEqual(
      expect.arrayContaining([
        '[rollout] api: IN_PROGRESS, running 1/2, failed tasks 0 (api:2)',
        '[rollout] api: COMPLETED, running 2/2, failed tasks 0 (api:2)',
        '[verify] api: status 503, expected 200 (try 1/3)',
        '[verify] api: status 200, body matches /ok/ (try 3/3)',
      ]),
    );
    const run = await ledger.getRun(result.runId as string);
    expect(run).toMatchObject({ action: 'deploy', status: 'succeeded', exitCode: 0, note: null });
    // The first deploy of an environment is routine: condensed, to both hooks, never the webhook's secret.
    expect(hooks.map((h) => h.path.replace(SECRET, '<secret>'))).toEqual(['/hook/<secret>', '/slack']);
    expect(hooks[0].body).toMatchObject({ kind: 'success', environment: 'prod', condensed: true });
    expect(hooks[1].body).toEqual({
      text: `:white_check_mark: deployed to prod ${SHA('1').slice(0, 12)} by octocat: api v1, worker v1`,
    });
    expect(JSON.stringify(hooks.map((h) => h.body))).not.toContain(SECRET);
  });

  test('a rollout the circuit breaker rolls back ends rolled_back, re-applies the previous tags, exits 1; the commit is then refused', async () => {
    play({
      api: [
        [dep('api:2')],
        [
          dep('api:3', { rolloutState: 'IN_PROGRESS', runningCount: 0, failedTasks: 2 }),
          dep('api:2', { status: 'ACTIVE' }),
        ],
        [
          dep('api:2', { rolloutState: 'IN_PROGRESS' }),
          dep('api:3', {
            status: 'ACTIVE',
            rolloutState: 'FAILED',
            rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
            runningCount: 0,
          }),
        ],
        [dep('api:2')],
        [dep('api:4')],
      ],
      worker: [[dep('worker:2')], [dep('worker:3')], [dep('worker:3')], [dep('worker:4')]],
    });
    const result = await deploy(
      target('v2'),
      { commitSha: SHA('2'), actor: 'octocat', automatic: true },
      deps(),
      FAST,
    );
    expect(result.exitCode).toBe(1);
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(
      /^rollout api rolled_back: rolled back to api:2: ECS deployment circuit breaker: tasks failed to start\.; rolled back to api v1, worker v1$/,
    );
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.previousTag, d.status])).toEqual([
      ['api', 'v2', 'v1', 'rolled_back'],
      ['worker', 'v2', 'v1', 'rolled_back'],
    ]);
    expect(applied).toEqual([
      { tags: { api: 'v2', worker: 'v2' }, purpose: 'deploy' },
      { tags: { api: 'v1', worker: 'v1' }, purpose: 'rollback' },
    ]);
    expect(lines).toContain('[rollout] api: IN_PROGRESS, running 0/2, failed tasks 2 (api:3)');
    expect(hooks[0].body).toMatchObject({ kind: 'rollback', condensed: false });
    expect(String((hooks[1].body as { text: string }).text)).toMatch(/^:rewind: deploy to prod rolled back/);

    const again = await deploy(
      target('v2'),
      { commitSha: SHA('2'), actor: 'octocat', automatic: true },
      deps(),
      FAST,
    );
    expect(again).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(again.reason).toMatch(
      new RegExp(
        `^commit ${SHA('2').slice(0, 12)} is blocked in prod: its deploy \\(run .*\\) ended rolled_back`,
      ),
    );
    expect(await ledger.getRun(again.runId as string)).toMatchObject({
      status: 'refused',
      action: 'deploy',
      exitCode: 3,
    });
    expect(applied).toHaveLength(2);
    // Acknowledged: the commit deploys again.
    await ledger.ackCommit('prod', SHA('2'), 'octocat', 'the task role was fixed in the foundation stack');
    play({ api: completes('api', 4, 5), worker: completes('worker', 4, 5) });
    const acked = await deploy(target('v2'), { commitSha: SHA('2'), automatic: true }, deps(), FAST);
    expect(acked).toMatchObject({ exitCode: 0, outcome: 'verified' });
    // After a rollback this deploy is a recovery: the full message.
    expect(hooks.at(-2)?.body).toMatchObject({ kind: 'success', condensed: false });
  });

  test('a migration that exits 1 fails the deploy before verify, and rolls back', async () => {
    // The migration reads the service's network settings: one more look at api before the rollback.
    const api = completes('api', 5, 6);
    play({ api: [...api.slice(0, 4), ...api.slice(3)], worker: completes('worker', 5, 6) });
    migrationExit = 1;
    const t = target('v3');
    const services = t.services.map((s) =>
      s.name === 'api' ? { ...s, migrationTaskDefinition: 'acme-prod-api-migrate' } : s,
    );
    const result = await deploy({ ...t, services }, { commitSha: SHA('3'), automatic: true }, deps(), FAST);
    expect(result).toMatchObject({ exitCode: 1, outcome: 'rolled_back' });
    expect(result.reason).toMatch(/^migration of api failed: exit 1; rolled back to api v2, worker v2$/);
    expect(result.migrations).toEqual([expect.objectContaining({ service: 'api', exitCode: 1, ok: false })]);
    expect(runTasks[0]).toMatchObject({
      cluster: 'acme-prod',
      taskDefinition: 'acme-prod-api-migrate',
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'], securityGroups: ['sg-1'] } },
    });
    // Verify ran only for the rolled-back version, never for v3: one request reached the server.
    expect(result.verify).toEqual([]);
    expect(healthHits).toBe(1);
    expect(lines.filter((l) => l.startsWith('[verify]'))).toEqual([
      '[verify] api: status 200, body matches /ok/ (try 1/3)',
    ]);
  });

  test('verify against a server answering 503 rolls back; a failing webhook is recorded, never fails the deploy', async () => {
    play({ api: completes('api', 7, 8), worker: completes('worker', 7, 8) });
    let calls = 0;
    health = () => (++calls <= 3 ? 503 : 200); // v4 gets 3 tries of 503; the rolled-back v2 then answers 200
    hookStatus = 500;
    const result = await deploy(target('v4'), { commitSha: SHA('4'), automatic: true }, deps(), FAST);
    expect(result).toMatchObject({ exitCode: 1, outcome: 'rolled_back' });
    expect(result.reason).toMatch(
      /^verify of api \(http:.*\/health\) failed: status 503, expected 200 after 3 tries; rolled back to api v2, worker v2$/,
    );
    expect(result.notifications.map((n) => [n.ok, n.detail])).toEqual([
      [false, 'HTTP 500'],
      [false, 'HTTP 500'],
    ]);
    const run = await ledger.getRun(result.runId as string);
    expect(run?.note).toMatch(/^notification webhook http:\/\/127\.0\.0\.1:\d+\/\.\.\. failed: HTTP 500; /);
    expect(run?.note).not.toContain(SECRET);
  });

  test('rollback --to a run re-applies that run’s verified tags, then verifies; status shows what runs where', async () => {
    const first = (await ledger.listDeployments({ environment: 'prod', status: 'verified' })).at(-1);
    play({ api: completes('api', 9, 10), worker: completes('worker', 9, 10) });
    const result = await rollback(target('v9'), { actor: 'octocat', automatic: false }, deps(), {
      ...FAST,
      toRunId: first?.runId,
    });
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(applied).toEqual([{ tags: { api: 'v1', worker: 'v1' }, purpose: 'rollback' }]);
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.previousTag, d.status])).toEqual([
      ['api', 'v1', 'v2', 'verified'],
      ['worker', 'v1', 'v2', 'deployed'],
    ]);
    const status = await liveStatus(ledger, 'prod');
    expect(status.map((s) => [s.environment, s.service, s.imageTag, s.verified, s.latestStatus])).toEqual([
      ['prod', 'api', 'v1', true, 'verified'],
      ['prod', 'worker', 'v1', false, 'deployed'],
    ]);
    expect(renderStatus(status).split('\n')[0]).toMatch(
      /^ENVIRONMENT\s+SERVICE\s+TAG\s+VERIFIED\s+SINCE\s+BY\s+COMMIT\s+LATEST$/,
    );
  });

  test('a rollout that never completes times out (fail closed): rolled back, and the rollback says the old version is not healthy either', async () => {
    play({
      api: [
        [dep('api:10')],
        [
          dep('api:11', { rolloutState: 'IN_PROGRESS', runningCount: 1 }),
          dep('api:10', { status: 'ACTIVE' }),
        ],
      ],
    });
    const t = target('v6');
    const result = await deploy(
      { ...t, services: t.services.filter((s) => s.name === 'api') },
      { commitSha: SHA('6'), automatic: true },
      deps(),
      { ...FAST, rollout: { pollIntervalMs: 1, timeoutMs: 10 } },
    );
    expect(result).toMatchObject({ exitCode: 1, outcome: 'rolled_back' });
    expect(result.reason).toMatch(
      /^rollout api timeout: timed out: IN_PROGRESS, running 1\/2, failed tasks 0 \(api:11\); rolled back, but the previous version is not healthy: api rolled_back$/,
    );
    expect(healthHits).toBe(0);
    expect(applied.map((a) => a.purpose)).toEqual(['deploy', 'rollback']);
  });

  test('a deployment rolled back before the first look is never taken for the new version', async () => {
    const failed = dep('api:21', {
      status: 'ACTIVE',
      rolloutState: 'FAILED',
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      runningCount: 0,
    });
    play({ api: [[dep('api:20')], [dep('api:20'), failed], [dep('api:20')], [dep('api:22')]] });
    const t = target('v7');
    const result = await deploy(
      { ...t, services: t.services.filter((s) => s.name === 'api') },
      { commitSha: SHA('7'), automatic: true },
      deps(),
      FAST,
    );
    expect(result).toMatchObject({ exitCode: 1, outcome: 'rolled_back' });
    expect(result.reason).toMatch(
      /^rollout api rolled_back: ECS runs api:20 as before the apply: ECS deployment circuit breaker: tasks failed to start\.; rolled back to api v\d+$/,
    );
    expect(result.verify).toEqual([]);
  });

  test('before its first deploy, a service that ECS runs at the tag already is not deployed; another tag is', async () => {
    // uat was applied before it ever deployed: the ledger knows no version of its services.
    ecsMock.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({
      taskDefinition: {
        containerDefinitions: [
          {
            image: `111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/${input.taskDefinition.split('/').pop()?.replace(':1', '')}:v9`,
          },
        ],
      },
    }));
    play({ worker: completes('worker', 1, 2) });
    const t = target('v9', { environment: 'uat', stack: 'uat-services', notifications: undefined });
    const result = await deploy(
      { ...t, services: t.services.map((s) => (s.name === 'worker' ? { ...s, imageTag: 'v10' } : s)) },
      { commitSha: SHA('9'), automatic: true },
      deps(),
      FAST,
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'deployed' });
    expect(result.deployments.map((d) => [d.service, d.previousTag, d.imageTag, d.status])).toEqual([
      ['worker', null, 'v10', 'deployed'],
    ]);
    expect(applied).toEqual([{ tags: { api: 'v9', worker: 'v10' }, purpose: 'deploy' }]);
    expect(result.verify).toEqual([]);
  });

  test('given the tags of some services, the others keep their last good tag, not the configured one', async () => {
    // keep runs api v1 and worker v1, verified; its configuration still says v0 for both.
    const t = (tags: Record<string, string>, given: readonly string[]) =>
      target('v0', {
        environment: 'keep',
        stack: 'keep-services',
        notifications: undefined,
        services: target('v0').services.map((s) => ({
          ...s,
          imageTag: tags[s.name] ?? 'v0',
          tagGiven: given.includes(s.name),
        })),
      });
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const first = await deploy(
      t({ api: 'v1', worker: 'v1' }, ['api', 'worker']),
      { commitSha: SHA('c'), automatic: true },
      deps(),
      FAST,
    );
    expect(first).toMatchObject({ exitCode: 0, outcome: 'verified' });
    applied.length = 0;
    play({ worker: completes('worker', 2, 3) });
    const next = await deploy(
      t({ worker: 'v2' }, ['worker']),
      { commitSha: SHA('d'), automatic: true },
      deps(),
      FAST,
    );
    expect(next).toMatchObject({ exitCode: 0, outcome: 'deployed' });
    expect(next.deployments.map((d) => [d.service, d.previousTag, d.imageTag])).toEqual([
      ['worker', 'v1', 'v2'],
    ]);
    expect(applied).toEqual([{ tags: { api: 'v1', worker: 'v2' }, purpose: 'deploy' }]);
    // Given no tag at all, the configured ones deploy (a change of the configuration).
    applied.length = 0;
    play({ api: completes('api', 2, 3), worker: completes('worker', 3, 4) });
    const configured = await deploy(t({}, []), { commitSha: SHA('f'), automatic: true }, deps(), FAST);
    expect(configured.deployments.map((d) => [d.service, d.imageTag])).toEqual([
      ['api', 'v0'],
      ['worker', 'v0'],
    ]);
    expect(applied[0]?.tags).toEqual({ api: 'v0', worker: 'v0' });
  });

  test("a failed apply's reason is redacted on the deployment rows too", async () => {
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const failing: ReleaseDeps = {
      ...deps(),
      apply: async () => ({ ok: false, exitCode: 1, reason: `terraform said: token ${SECRET} rejected` }),
    };
    const t = target('v12', { environment: 'redact', stack: 'redact-services', notifications: undefined });
    const result = await deploy(t, { commitSha: SHA('a'), automatic: true }, failing, FAST);
    expect(result).toMatchObject({ exitCode: 1, outcome: 'failed' });
    const rows = await ledger.listDeployments({ environment: 'redact', limit: 10 });
    expect(rows.map((d) => d.status)).toEqual(['failed', 'failed']);
    for (const d of rows) {
      expect(d.reason).toContain('terraform said: token (redacted) rejected');
      expect(d.reason).not.toContain(SECRET);
    }
  });

  test('a first deploy that cannot read what ECS runs is refused before any apply, with a refused row', async () => {
    ecsMock
      .on(DescribeServicesCommand)
      .rejects(new Error(`AccessDeniedException: not authorized (${SECRET})`));
    // sit has no version in the ledger: what ECS runs decides what changes.
    const t = target('v11', { environment: 'sit', stack: 'sit-services', notifications: undefined });
    const result = await deploy(t, { commitSha: SHA('b'), automatic: true }, deps(), FAST);
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(result.reason).toBe(
      'cannot read the services of cluster acme-prod from ECS: AccessDeniedException: not authorized ((redacted))',
    );
    expect(applied).toEqual([]);
    const row = (await ledger.listRuns({ environment: 'sit', limit: 1 }))[0];
    expect(row).toMatchObject({ id: result.runId, action: 'deploy', status: 'refused' });
  });

  test('a deploy while another holds the environment is refused with a refused row', async () => {
    const held = await ledger.startDeploy({
      stack: 'prod-services',
      action: 'deploy',
      environment: 'prod',
      services: [],
    });
    const result = await deploy(target('v5'), { commitSha: SHA('5'), automatic: true }, deps(), FAST);
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(result.reason).toMatch(/^environment prod: deploy .* is running/);
    expect(applied).toEqual([]);
    await ledger.finishRun(held.run.id, { status: 'succeeded', exitCode: 0 });
  });
});

describe('gantry deploy --redeploy', () => {
  /** Another environment than the tests above, with its own history. */
  const staging = (tag: string): ReleaseTarget => ({
    ...target(tag, { environment: 'staging', stack: 'staging-services' }),
    notifications: { webhooks: [] },
  });

  test('redeploys the last verified tags from the ledger (not the config) with a new ECS deployment of every service, and says so in the run', async () => {
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const first = await deploy(staging('v1'), { commitSha: SHA('a'), automatic: true }, deps(), FAST);
    expect(first).toMatchObject({ exitCode: 0, outcome: 'verified' });
    // The same tags again are no change: nothing rolls, although a rotated secret needs new tasks.
    play({});
    const same = await deploy(staging('v1'), { commitSha: SHA('a'), automatic: true }, deps(), FAST);
    expect(same).toMatchObject({ exitCode: 0, outcome: 'no_changes', deployments: [] });
    expect(updates).toEqual([]);

    applied.length = 0;
    lines = [];
    play({ api: forcedCompletes('api'), worker: forcedCompletes('worker') });
    const result = await redeploy(
      staging('v9'),
      { commitSha: SHA('b'), actor: 'octocat', automatic: true },
      deps(),
      FAST,
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified', reason: null });
    expect(applied).toEqual([{ tags: { api: 'v1', worker: 'v1' }, purpose: 'deploy' }]);
    expect(updates).toEqual([
      { cluster: 'acme-prod', service: 'api', forceNewDeployment: true },
      { cluster: 'acme-prod', service: 'worker', forceNewDeployment: true },
    ]);
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.previousTag, d.status])).toEqual([
      ['api', 'v1', 'v1', 'verified'],
      ['worker', 'v1', 'v1', 'deployed'],
    ]);
    expect(lines).toEqual(
      expect.arrayContaining([
        `[redeploy] staging: run ${result.runId}: the last verified tags, new ECS deployments: api v1, worker v1`,
        '[redeploy] staging: new ECS deployments api ecs-svc/new-api, worker ecs-svc/new-worker',
        '[rollout] api: IN_PROGRESS, running 1/2, failed tasks 0 (api:2)',
        '[rollout] api: COMPLETED, running 2/2, failed tasks 0 (api:2)',
      ]),
    );
    expect(await ledger.getRun(result.runId as string)).toMatchObject({
      action: 'deploy',
      status: 'succeeded',
      exitCode: 0,
      note: 'redeploy',
      actor: 'octocat',
    });
  });

  test('a forced deployment the circuit breaker rolls back fails the redeploy (exit 1) with no second apply; the verified tags stay the last good ones', async () => {
    play({
      api: [
        [
          dep('api:2', {
            id: 'ecs-svc/new-api',
            rolloutState: 'IN_PROGRESS',
            runningCount: 0,
            failedTasks: 2,
          }),
          dep('api:2', { id: 'ecs-svc/old-api', status: 'ACTIVE' }),
        ],
        [
          dep('api:2', { id: 'ecs-svc/rollback-api', rolloutState: 'IN_PROGRESS' }),
          dep('api:2', {
            id: 'ecs-svc/new-api',
            status: 'ACTIVE',
            rolloutState: 'FAILED',
            rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
            runningCount: 0,
          }),
        ],
      ],
      worker: forcedCompletes('worker'),
    });
    const result = await redeploy(staging('v9'), { commitSha: SHA('c'), automatic: true }, deps(), FAST);
    expect(result).toMatchObject({ exitCode: 1, outcome: 'failed' });
    expect(result.reason).toBe(
      'rollout api rolled_back: rolled back to api:2: ECS deployment circuit breaker: tasks failed to start.',
    );
    expect(result.deployments.map((d) => [d.service, d.status])).toEqual([
      ['api', 'failed'],
      ['worker', 'failed'],
    ]);
    expect(applied).toEqual([{ tags: { api: 'v1', worker: 'v1' }, purpose: 'deploy' }]);
    expect(healthHits).toBe(0);
    expect(await ledger.getRun(result.runId as string)).toMatchObject({ status: 'failed', note: 'redeploy' });
    expect((await ledger.lastGood('staging')).map((d) => [d.service, d.imageTag, d.status])).toEqual([
      ['api', 'v1', 'verified'],
      ['worker', 'v1', 'deployed'],
    ]);
  });

  test('refused (exit 3, a refused row) with image tags given, and when a service has no verified version, naming it', async () => {
    const withTags = await redeploy(staging('v9'), { commitSha: SHA('d'), automatic: true }, deps(), {
      ...FAST,
      givenTags: ['--tag api=v2'],
    });
    expect(withTags).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(withTags.reason).toBe(
      '--redeploy deploys the last verified tags from the ledger and takes no image tags (given: --tag api=v2)',
    );
    expect(await ledger.getRun(withTags.runId as string)).toMatchObject({
      action: 'deploy',
      status: 'refused',
      environment: 'staging',
      errorSummary: withTags.reason,
    });

    // qa has a verified api and never had a worker.
    const qa = (tag: string): ReleaseTarget => ({
      ...staging(tag),
      environment: 'qa',
      stack: 'qa-services',
    });
    play({ api: completes('api', 1, 2) });
    const apiOnly = qa('v1');
    await deploy(
      { ...apiOnly, services: apiOnly.services.filter((s) => s.name === 'api') },
      { commitSha: SHA('e'), automatic: true },
      deps(),
      FAST,
    );
    applied.length = 0;
    const missing = await redeploy(qa('v1'), { commitSha: SHA('e'), automatic: true }, deps(), FAST);
    expect(missing).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(missing.reason).toBe(
      '--redeploy: no verified version of worker in qa in the ledger to redeploy; deploy a tag first (gantry deploy qa --tag worker=<tag>)',
    );
    expect(await ledger.getRun(missing.runId as string)).toMatchObject({ status: 'refused', exitCode: 3 });
    expect(applied).toEqual([]);
    expect(updates).toEqual([]);
  });
});

describe('gantry deploy: image digests in ECR', () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  /** `service`'s `tag` is `at` in its ECR repository. */
  const push = (service: string, tag: string, at: string) => pushed.set(`${REPOSITORY(service)}:${tag}`, at);
  /** An environment of its own (each test starts with no history), told nobody. */
  const fresh = (environment: string, tag: string): ReleaseTarget => ({
    ...target(tag, { environment, stack: `${environment}-services` }),
    notifications: { webhooks: [] },
  });

  test('every deployment row records the digest ECR names for its tag, with no signature check; only changed services are looked up', async () => {
    push('api', 'e1', digest('1'));
    push('worker', 'e1', digest('2'));
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const result = await deploy(
      fresh('ecr-dev', 'e1'),
      { commitSha: SHA('1'), automatic: true },
      deps(),
      FAST,
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(lookups).toEqual([
      { registryId: '111111111111', repositoryName: 'acme/api', imageIds: [{ imageTag: 'e1' }] },
      { registryId: '111111111111', repositoryName: 'acme/worker', imageIds: [{ imageTag: 'e1' }] },
    ]);
    expect(lines).toContain(`[deploy] ecr-dev: digests in ECR: api ${digest('1')}, worker ${digest('2')}`);
    const rows = await ledger.listDeployments({ runId: result.runId as string });
    expect(rows.map((d) => [d.service, d.imageTag, d.digest, d.status]).sort()).toEqual([
      ['api', 'e1', digest('1'), 'verified'],
      ['worker', 'e1', digest('2'), 'deployed'],
    ]);

    // worker keeps e1: only api's new tag is looked up.
    lookups.length = 0;
    push('api', 'e2', digest('3'));
    play({ api: completes('api', 2, 3) });
    const t = fresh('ecr-dev', 'e2');
    const next = await deploy(
      { ...t, services: t.services.map((s) => ({ ...s, tagGiven: s.name === 'api' })) },
      { commitSha: SHA('2'), automatic: true },
      deps(),
      FAST,
    );
    expect(next).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(lookedUp()).toEqual(['acme/api:e2']);
    expect(next.deployments.map((d) => [d.service, d.imageTag, d.digest])).toEqual([
      ['api', 'e2', digest('3')],
    ]);
  });

  test('a tag ECR does not have is refused before the environment is claimed: exit 3, one refused row naming the service, repository and tag, nothing planned', async () => {
    unpushed.add(`${REPOSITORY('worker')}:e9`);
    play({ api: [[dep('api:1')]], worker: [[dep('worker:1')]] });
    const result = await deploy(
      fresh('ecr-missing', 'e9'),
      { commitSha: SHA('3'), automatic: true },
      deps(),
      FAST,
    );
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    expect(result.reason).toBe(
      `image digest check failed: worker (${REPOSITORY('worker')}:e9): no image has this tag in the repository`,
    );
    // The refused row is the only run: no running row was ever written, no deployment row either.
    expect(await ledger.listRuns({ environment: 'ecr-missing' })).toEqual([
      expect.objectContaining({
        id: result.runId,
        action: 'deploy',
        status: 'refused',
        exitCode: 3,
        errorSummary: result.reason,
      }),
    ]);
    expect(await ledger.listDeployments({ environment: 'ecr-missing' })).toEqual([]);
    expect(applied).toEqual([]);
    expect(lines).toContain(`[deploy] refused: ${result.reason}`);
  });

  test('a registry that cannot be read (access denied, no such repository) is refused, its message redacted', async () => {
    registryFault = new ECRServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: `User: arn:aws:sts::111111111111:assumed-role/acme-prod-deploy-build/b1 is not authorized to perform: ecr:DescribeImages (token ${SECRET})`,
    });
    play({ api: [[dep('api:1')]], worker: [[dep('worker:1')]] });
    const denied = await deploy(
      fresh('ecr-denied', 'e1'),
      { commitSha: SHA('4'), automatic: true },
      deps(),
      FAST,
    );
    expect(denied).toMatchObject({ exitCode: 3, outcome: 'refused' });
    const why = (service: string) =>
      `${service} (${REPOSITORY(service)}:e1): ECR DescribeImages failed: AccessDeniedException: User: ` +
      `arn:aws:sts::111111111111:assumed-role/acme-prod-deploy-build/b1 is not authorized to perform: ecr:DescribeImages (token (redacted))`;
    expect(denied.reason).toBe(`image digest check failed: ${why('api')}; ${why('worker')}`);
    expect(await ledger.getRun(denied.runId as string)).toMatchObject({
      status: 'refused',
      errorSummary: denied.reason,
    });

    registryFault = new RepositoryNotFoundException({
      $metadata: {},
      message: "The repository with name 'acme/api' does not exist in the registry with id '111111111111'",
    });
    const gone = await deploy(
      fresh('ecr-denied', 'e1'),
      { commitSha: SHA('4'), automatic: true },
      deps(),
      FAST,
    );
    expect(gone).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(gone.reason).toMatch(
      /^image digest check failed: api \(\S+\/acme\/api:e1\): no such repository in registry 111111111111; worker/,
    );
    expect(applied).toEqual([]);
    expect(await ledger.listDeployments({ environment: 'ecr-denied' })).toEqual([]);
  });

  test('a rollback looks up the tags it goes back to and records their digests; a tag since moved or gone is refused', async () => {
    const env = 'ecr-rollback';
    push('api', 'e1', digest('1'));
    push('worker', 'e1', digest('2'));
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const first = await deploy(fresh(env, 'e1'), { commitSha: SHA('5'), automatic: true }, deps(), FAST);
    expect(first).toMatchObject({ exitCode: 0, outcome: 'verified' });
    play({ api: completes('api', 2, 3), worker: completes('worker', 2, 3) });
    const second = await deploy(fresh(env, 'e2'), { commitSha: SHA('6'), automatic: true }, deps(), FAST);
    expect(second).toMatchObject({ exitCode: 0, outcome: 'verified' });

    // e1 was pushed again under the same tag (a mutable repository, or one recreated): refused.
    push('api', 'e1', digest('9'));
    const back = () =>
      rollback(fresh(env, 'e2'), { actor: 'octocat', automatic: false }, deps(), {
        ...FAST,
        toRunId: first.runId as string,
      });
    const moved = await back();
    expect(moved).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    expect(moved.reason).toBe(
      `image digest check failed: api (${REPOSITORY('api')}:e1): ECR names ${digest('9')} for this tag, the ledger recorded ${digest('1')}: the tag was moved`,
    );
    expect(await ledger.getRun(moved.runId as string)).toMatchObject({
      action: 'rollback',
      status: 'refused',
    });

    // worker's e1 expired from the repository: refused too.
    push('api', 'e1', digest('1'));
    unpushed.add(`${REPOSITORY('worker')}:e1`);
    const gone = await back();
    expect(gone).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(gone.reason).toBe(
      `image digest check failed: worker (${REPOSITORY('worker')}:e1): no image has this tag in the repository`,
    );
    expect(applied).toHaveLength(2);

    unpushed.clear();
    play({ api: completes('api', 3, 4), worker: completes('worker', 3, 4) });
    const done = await back();
    expect(done).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(done.deployments.map((d) => [d.service, d.imageTag, d.previousTag, d.digest])).toEqual([
      ['api', 'e1', 'e2', digest('1')],
      ['worker', 'e1', 'e2', digest('2')],
    ]);
  });
});

describe('gantry deploy: the upstream gate (an environment that requires approvals)', () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const push = (service: string, tag: string, at: string) => pushed.set(`${REPOSITORY(service)}:${tag}`, at);
  /** A fresh pair of environments per test: `<name>-stg` verifies, `<name>-prd` is gated on it. */
  const gated = (name: string, tag: string): ReleaseTarget => ({
    ...target(tag, { environment: `${name}-prd`, stack: `${name}-prd-services` }),
    notifications: { webhooks: [] },
  });
  const gate = (name: string, unverifiedReason?: string) => ({
    environment: `${name}-stg`,
    requiredApprovals: 2,
    ...(unverifiedReason !== undefined ? { unverifiedReason } : {}),
  });
  /** `<name>-stg` deployed `tags` (service: [tag, digest]) and it ended `end`. */
  const upstream = (name: string, tags: Record<string, [string, string]>, end: 'verified' | 'failed') =>
    recordDeploy(ledger, `${name}-stg`, SHA('7'), tags, end);

  test('the digests verified in the environment before deploy; the progress says so', async () => {
    push('api', 'g1', digest('1'));
    push('worker', 'g1', digest('2'));
    await upstream('ga', { api: ['g1', digest('1')], worker: ['g1', digest('2')] }, 'verified');
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const result = await deploy(gated('ga', 'g1'), { commitSha: SHA('1'), automatic: true }, deps(), {
      ...FAST,
      upstream: gate('ga'),
    });
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(lines).toContain('[deploy] ga-prd: every digest verified in ga-stg');
    expect((await ledger.getRun(result.runId as string))?.note).toBeNull();
  });

  test.each([
    ['never deployed there', null, 'ga-stg has no verified deployment of this tag in the ledger'],
    [
      'deployed there, but it failed',
      'failed',
      'ga-stg has no verified deployment of this tag in the ledger',
    ],
    [
      'verified there at another digest',
      'other',
      `ga-stg verified ${'sha256:' + '9'.repeat(64)} for this tag, not this digest`,
    ],
  ] as const)(
    'a digest %s is refused before anything is claimed: exit 3, a refused row, nothing applied',
    async (_name, history, why) => {
      const name = `gb-${history ?? 'none'}`;
      push('api', 'g2', digest('3'));
      push('worker', 'g2', digest('4'));
      await upstream(name, { worker: ['g2', digest('4')] }, 'verified');
      if (history === 'failed') await upstream(name, { api: ['g2', digest('3')] }, 'failed');
      if (history === 'other') await upstream(name, { api: ['g2', digest('9')] }, 'verified');
      const result = await deploy(gated(name, 'g2'), { commitSha: SHA('2'), automatic: true }, deps(), {
        ...FAST,
        upstream: gate(name),
      });
      expect(result).toMatchObject({ exitCode: 3, outcome: 'refused' });
      expect(result.reason).toBe(
        `${name}-prd requires 2 approval(s) and deploys only digests verified in ${name}-stg: ` +
          `api (tag g2, ${digest('3')}): ${why.replace(/ga-stg/g, `${name}-stg`)} ` +
          `(deploy it to ${name}-stg first, promote it with --promote-from ${name}-stg, or give --unverified-reason "...")`,
      );
      expect(applied).toEqual([]);
      expect(await ledger.getRun(result.runId as string)).toMatchObject({
        action: 'deploy',
        status: 'refused',
      });
      expect(await ledger.listDeployments({ environment: `${name}-prd` })).toEqual([]);
    },
  );

  test("with a reason, an unverified digest deploys, and the run's note records the reason and the digest", async () => {
    push('api', 'g3', digest('5'));
    push('worker', 'g3', digest('6'));
    await upstream('gc', { worker: ['g3', digest('6')] }, 'verified');
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const reason = `INC-4711: staging is down, canary checked by hand ${SECRET}`;
    const result = await deploy(gated('gc', 'g3'), { commitSha: SHA('3'), automatic: true }, deps(), {
      ...FAST,
      upstream: gate('gc', reason),
    });
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    const note = (await ledger.getRun(result.runId as string))?.note;
    expect(note).toBe(
      `deployed unverified in gc-stg: INC-4711: staging is down, canary checked by hand (redacted) (api ${digest('5')})`,
    );
    expect(lines).toContain(
      `[deploy] gc-prd: NOT verified in gc-stg, deployed for the reason given: api ${digest('5')}`,
    );
  });

  test('a redeploy and a rollback re-apply what this environment verified: the gate does not apply', async () => {
    push('api', 'g4', digest('7'));
    push('worker', 'g4', digest('8'));
    await upstream('gd', { api: ['g4', digest('7')], worker: ['g4', digest('8')] }, 'verified');
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const first = await deploy(gated('gd', 'g4'), { commitSha: SHA('4'), automatic: true }, deps(), {
      ...FAST,
      upstream: gate('gd'),
    });
    expect(first).toMatchObject({ exitCode: 0 });
    // Upstream's rows no longer matter: the gate reads none of them for a redeploy or a rollback.
    const none = { ...gate('gd'), environment: 'gd-nowhere' };
    play({ api: forcedCompletes('api'), worker: forcedCompletes('worker') });
    const again = await redeploy(gated('gd', 'g4'), { commitSha: SHA('5'), automatic: false }, deps(), {
      ...FAST,
      upstream: none,
    });
    expect(again).toMatchObject({ exitCode: 0 });
    play({ api: completes('api', 2, 3), worker: completes('worker', 2, 3) });
    const back = await rollback(gated('gd', 'g4'), { commitSha: SHA('6'), automatic: false }, deps(), {
      ...FAST,
      upstream: none,
    });
    expect(back).toMatchObject({ exitCode: 0 });
  });
});

describe('gantry deploy: image signatures', () => {
  const trusted = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const repo = (service: string) => `111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/${service}`;
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  /** The image of `service` by `at`, signed (by `key`, default the trusted one) for that repository and digest. */
  const image = (service: string, at: string, key = trusted.privateKey) =>
    signedImage(service, repo(service), at, key);
  const check = (...images: ImageToVerify[]) => ({
    ...FAST,
    signatures: { keys: [trusted.publicKey], images: new Map(images.map((i) => [i.service, i])) },
  });
  /** `service`'s `tag` is `at` in its ECR repository. */
  const push = (service: string, tag: string, at: string) => pushed.set(`${repo(service)}:${tag}`, at);
  /** Another environment than the tests above: api at `api`, worker at `worker`. */
  const preprod = (api: string, worker = api): ReleaseTarget => {
    const t = target(api, { environment: 'preprod', stack: 'preprod-services' });
    return {
      ...t,
      services: t.services.map((s) => (s.name === 'worker' ? { ...s, imageTag: worker } : s)),
      notifications: { webhooks: [] },
    };
  };

  test('signed images deploy, each digest recorded on its deployment row; an unchanged service needs no image', async () => {
    push('api', 'v1', digest('a'));
    push('worker', 'v1', digest('b'));
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const result = await deploy(
      preprod('v1'),
      { commitSha: SHA('f'), automatic: true },
      deps(),
      check(image('api', digest('a')), image('worker', digest('b'))),
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(lines).toContain(
      `[deploy] preprod: signatures verified: api ${digest('a')}, worker ${digest('b')}`,
    );
    const rows = await ledger.listDeployments({ runId: result.runId as string });
    expect(rows.map((d) => [d.service, d.imageTag, d.digest, d.status]).sort()).toEqual([
      ['api', 'v1', digest('a'), 'verified'],
      ['worker', 'v1', digest('b'), 'deployed'],
    ]);
    expect(applied).toEqual([{ tags: { api: 'v1', worker: 'v1' }, purpose: 'deploy' }]);

    // Only api changes: worker's image is not asked for, nor its tag looked up.
    push('api', 'v2', digest('c'));
    lookups.length = 0;
    play({ api: completes('api', 2, 3) });
    const next = await deploy(
      preprod('v2', 'v1'),
      { commitSha: SHA('f'), automatic: true },
      deps(),
      check(image('api', digest('c'))),
    );
    expect(next).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(next.deployments.map((d) => [d.service, d.imageTag, d.digest])).toEqual([
      ['api', 'v2', digest('c')],
    ]);
    expect(lookedUp()).toEqual(['acme/api:v2']);
  });

  test('without --image, the bundle is checked at the digest ECR names for the tag, and that digest recorded', async () => {
    push('api', 'v4', digest('4'));
    push('worker', 'v4', digest('5'));
    play({ api: completes('api', 3, 4), worker: completes('worker', 2, 3) });
    const bundles = (api: string, worker: string) => ({
      ...FAST,
      signatures: {
        keys: [trusted.publicKey],
        images: new Map<string, ImageToVerify>(),
        bundles: new Map([
          ['api', signedBundle(trusted.privateKey, repo('api'), api)],
          ['worker', signedBundle(trusted.privateKey, repo('worker'), worker)],
        ]),
      },
    });
    // worker's bundle signs another digest than the one its tag names now: refused, nothing claimed.
    const refused = await deploy(
      preprod('v4'),
      { commitSha: SHA('4'), automatic: true },
      deps(),
      bundles(digest('4'), digest('6')),
    );
    expect(refused).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(refused.reason).toBe(
      `image signature check failed: worker (${repo('worker')}@${digest('5')}): the signature is for "${digest('6')}", not ${digest('5')}`,
    );
    expect(applied).toEqual([]);
    const result = await deploy(
      preprod('v4'),
      { commitSha: SHA('4'), automatic: true },
      deps(),
      bundles(digest('4'), digest('5')),
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.digest])).toEqual([
      ['api', 'v4', digest('4')],
      ['worker', 'v4', digest('5')],
    ]);
  });

  test('an unsigned or wrongly signed image is refused (exit 3, a refused row naming each image and why) before anything is planned or applied', async () => {
    push('api', 'v3', digest('d'));
    push('worker', 'v3', digest('e'));
    const unsigned: ImageToVerify = { service: 'worker', repository: repo('worker'), digest: digest('e') };
    const result = await deploy(
      preprod('v3'),
      { commitSha: SHA('9'), automatic: true },
      deps(),
      check(image('api', digest('d'), stranger.privateKey), unsigned),
    );
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    expect(result.reason).toBe(
      `image signature check failed: api (${repo('api')}@${digest('d')}): the signature does not verify under any trusted key (wrongly signed); ` +
        `worker (${repo('worker')}@${digest('e')}): no signature found (unsigned image)`,
    );
    expect(applied).toEqual([]);
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
    expect(await ledger.getRun(result.runId as string)).toMatchObject({
      action: 'deploy',
      status: 'refused',
      environment: 'preprod',
      exitCode: 3,
      errorSummary: result.reason,
    });
    expect(
      (await ledger.listDeployments({ environment: 'preprod' })).filter((d) => d.imageTag === 'v3'),
    ).toEqual([]);

    // A changed service whose image is not named, and that has no bundle, is checked at the digest ECR
    // names for its tag: unsigned.
    const missing = await deploy(
      preprod('v3'),
      { commitSha: SHA('9'), automatic: true },
      deps(),
      check(image('api', digest('d'))),
    );
    expect(missing).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(missing.reason).toBe(
      `image signature check failed: worker (${repo('worker')}@${digest('e')}): no signature found (unsigned image)`,
    );
    expect(applied).toEqual([]);
  });

  test('an --image whose digest is not the one ECR names for the tag is refused (the tag was moved), though signed', async () => {
    push('api', 'v5', digest('d'));
    push('worker', 'v5', digest('e'));
    const result = await deploy(
      preprod('v5'),
      { commitSha: SHA('9'), automatic: true },
      deps(),
      check(image('api', digest('f')), image('worker', digest('e'))),
    );
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    expect(result.reason).toBe(
      `image signature check failed: api (tag v5): --image names ${digest('f')}, ECR names ${digest('d')} for this tag in ${repo('api')}`,
    );
    expect(applied).toEqual([]);
    expect(await ledger.getRun(result.runId as string)).toMatchObject({ status: 'refused', exitCode: 3 });
  });

  test('a redeploy carries the digests the ledger recorded for its tags, and refuses an image naming another digest', async () => {
    push('api', 'v4', digest('4'));
    push('worker', 'v4', digest('5'));
    const other = await redeploy(
      preprod('v9'),
      { commitSha: SHA('8'), automatic: true },
      deps(),
      check(image('api', digest('a')), image('worker', digest('5'))),
    );
    expect(other).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(other.reason).toBe(
      `image signature check failed: api (tag v4): --image names ${digest('a')}, the ledger recorded ${digest('4')} for this tag`,
    );
    expect(applied).toEqual([]);

    play({
      api: [[dep('api:4', { id: 'ecs-svc/new-api' })]],
      worker: [[dep('worker:3', { id: 'ecs-svc/new-worker' })]],
    });
    const result = await redeploy(preprod('v9'), { commitSha: SHA('8'), automatic: true }, deps(), FAST);
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.digest])).toEqual([
      ['api', 'v4', digest('4')],
      ['worker', 'v4', digest('5')],
    ]);

    // The tag was moved in ECR since (another image pushed under it): refused before anything is claimed.
    push('api', 'v4', digest('9'));
    const moved = await redeploy(preprod('v9'), { commitSha: SHA('8'), automatic: true }, deps(), FAST);
    expect(moved).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    expect(moved.reason).toBe(
      `image digest check failed: api (${repo('api')}:v4): ECR names ${digest('9')} for this tag, the ledger recorded ${digest('4')}: the tag was moved`,
    );
    expect(await ledger.getRun(moved.runId as string)).toMatchObject({ status: 'refused', exitCode: 3 });
    expect(updates).toHaveLength(2);
  });
});

describe('gantry deploy --promote-from', () => {
  const upstreamRepo = (service: string) => `111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/${service}`;
  const targetRepo = (service: string) => `333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/${service}`;
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  /** A fake `cosign` first on PATH: appends its argv to a log, prints to stderr, exits with $FAKE_COSIGN_EXIT. */
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-fake-cosign-'));
  const log = path.join(bin, 'calls.log');
  fs.writeFileSync(
    path.join(bin, 'cosign'),
    [
      '#!/bin/sh',
      'printf "%s\\n" "$*" >> "$FAKE_COSIGN_LOG"',
      'if [ "${FAKE_COSIGN_EXIT:-0}" != 0 ]; then',
      '  echo "Error: PUT https://333333333333.dkr.ecr.eu-west-1.amazonaws.com: DENIED: token $AWS_SECRET_ACCESS_KEY" >&2',
      'fi',
      'exit "${FAKE_COSIGN_EXIT:-0}"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const AWS_SECRET = 'aws-secret-access-key-0123456789abcdef';
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  /** The real copier (spawn, timeout, captured and scrubbed output) running the fake cosign. */
  const copier = (exit = 0) => {
    const redactor = new Redactor();
    redactor.addSecretValue(AWS_SECRET);
    return cosignCopier({
      env: {
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
        FAKE_COSIGN_LOG: log,
        FAKE_COSIGN_EXIT: String(exit),
        AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      },
      scrub: (text) => redactor.scrub(text),
    });
  };
  const promotion = (over: Partial<Promotion> = {}): Promotion => ({
    from: 'promo-dev',
    sourceRepositories: new Map(['api', 'worker'].map((s) => [s, upstreamRepo(s)])),
    requiredApprovals: 2,
    copy: intoRegistry(copier()),
    ...over,
  });
  /** The target environment (a new name per test: each starts with no history), its images in targetRepo. */
  const live = (environment: string, tag: string): ReleaseTarget => {
    const t = target(tag, { environment, stack: `${environment}-services` });
    return {
      ...t,
      services: t.services.map((s) => ({ ...s, repository: targetRepo(s.name) })),
      notifications: { webhooks: [] },
    };
  };
  /** An upstream deploy of `tags` that ended `end`, with the digests the signature check recorded. */
  const upstream = (tags: Record<string, [string, string | null]>, end: 'verified' | 'deployed' | 'failed') =>
    recordDeploy(ledger, 'promo-dev', SHA('7'), tags, end);

  /** The apply records how many copies had run when it was called. */
  const copiesAtApply: number[] = [];
  const promoteDeps = (): ReleaseDeps => {
    const base = deps();
    return {
      ...base,
      apply: async (tags, purpose) => {
        copiesAtApply.push(calls().length);
        return base.apply(tags, purpose);
      },
    };
  };

  beforeEach(() => {
    fs.rmSync(log, { force: true });
    copiesAtApply.length = 0;
    // The target's tags are there once copied.
    for (const s of ['api', 'worker']) onlyPushed.add(targetRepo(s));
  });

  test('copies the digests verified upstream (signatures and attestations: cosign copy) before the apply, and records them', async () => {
    // api verified at v5; worker has no check: deployed and finished counts, as for a rollback.
    await upstream({ api: ['v5', digest('1')] }, 'verified');
    await upstream({ worker: ['v5', digest('2')] }, 'deployed');
    // A later deploy of the same tag without a signature check recorded no digest: the one recorded before counts.
    await upstream({ api: ['v5', null] }, 'verified');
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const result = await deploy(
      live('promo-prod', 'v5'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion() },
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified', reason: null });
    expect(calls()).toEqual([
      `copy ${upstreamRepo('api')}@${digest('1')} ${targetRepo('api')}:v5`,
      `copy ${upstreamRepo('worker')}@${digest('2')} ${targetRepo('worker')}:v5`,
    ]);
    expect(copiesAtApply).toEqual([2]);
    // Each target tag looked up before the claim (not there yet), and again after its copy.
    expect(lookups.map((l) => [l.registryId, l.repositoryName, l.imageIds?.[0]?.imageTag])).toEqual([
      ['333333333333', 'acme/api', 'v5'],
      ['333333333333', 'acme/worker', 'v5'],
      ['333333333333', 'acme/api', 'v5'],
      ['333333333333', 'acme/worker', 'v5'],
    ]);
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.digest, d.status])).toEqual([
      ['api', 'v5', digest('1'), 'verified'],
      ['worker', 'v5', digest('2'), 'deployed'],
    ]);
    expect(lines).toContain(
      `[promote] api: copied ${upstreamRepo('api')}@${digest('1')} to ${targetRepo('api')}:v5`,
    );
    expect(await ledger.getRun(result.runId as string)).toMatchObject({
      status: 'succeeded',
      note: 'promoted from promo-dev',
    });
    // The same tags again change nothing: nothing is copied, and the run promoted nothing.
    play({});
    const again = await deploy(
      live('promo-prod', 'v5'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion() },
    );
    expect(again).toMatchObject({ exitCode: 0, outcome: 'no_changes' });
    expect(calls()).toHaveLength(2);
    expect((await ledger.getRun(again.runId as string))?.note).toBeNull();
  });

  test('a digest never verified upstream is refused before any copy or apply (exit 3, one refused row naming each service), with or without approvals', async () => {
    // v6: api failed upstream; worker verified, but without a digest (deployed without a signature check).
    await upstream({ api: ['v6', digest('3')] }, 'failed');
    await upstream({ worker: ['v6', null] }, 'verified');
    const result = await deploy(
      live('promo-refused', 'v6'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion() },
    );
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    const why = (service: string, gate: string) =>
      `${service} (tag v6): promo-dev has no verified deployment of this tag with a digest in the ledger; ${gate} ` +
      `(promote a digest verified in promo-dev, or give --unverified-reason "..." with --image ${service}=<repository>@<digest>)`;
    expect(result.reason).toBe(
      `promotion from promo-dev refused: ${why('api', 'promo-refused requires 2 approval(s)')}; ${why('worker', 'promo-refused requires 2 approval(s)')}`,
    );
    expect(calls()).toEqual([]);
    expect(applied).toEqual([]);
    expect(await ledger.getRun(result.runId as string)).toMatchObject({
      action: 'deploy',
      status: 'refused',
      environment: 'promo-refused',
      exitCode: 3,
      errorSummary: result.reason,
    });
    expect(await ledger.listDeployments({ environment: 'promo-refused' })).toEqual([]);

    // An environment without approvals refuses it too (fail closed): the reason is what lets it through.
    const open = await deploy(
      live('promo-open', 'v6'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion({ requiredApprovals: 0 }) },
    );
    expect(open).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(open.reason).toContain(
      why('api', 'promo-open requires no approval, but an unverified digest is refused there too'),
    );
    // An --image naming another digest than the one verified upstream is refused as well.
    await upstream({ api: ['v7', digest('4')], worker: ['v7', digest('5')] }, 'verified');
    const other = await deploy(
      live('promo-other', 'v7'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion({ givenDigests: new Map([['api', digest('9')]]) }) },
    );
    expect(other.reason).toBe(
      `promotion from promo-dev refused: api (tag v7): --image names ${digest('9')}, but promo-dev verified ${digest('4')} for this tag`,
    );
    expect(calls()).toEqual([]);
    expect(applied).toEqual([]);
  });

  test('--unverified-reason promotes the digest --image names, and the run’s note records the reason; without the digest it is refused', async () => {
    const reason = 'hotfix for INC-4711, verified by hand in dev';
    const noDigest = await deploy(
      live('promo-forced', 'v6'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      {
        ...FAST,
        promotion: promotion({ unverifiedReason: reason, givenDigests: new Map([['api', digest('3')]]) }),
      },
    );
    expect(noDigest).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(noDigest.reason).toBe(
      'promotion from promo-dev refused: worker (tag v6): unverified in promo-dev, so its digest must be given (--image worker=<repository>@<digest>)',
    );
    expect(calls()).toEqual([]);

    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const given = new Map([
      ['api', digest('3')],
      ['worker', digest('6')],
    ]);
    const result = await deploy(
      live('promo-forced', 'v6'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion({ unverifiedReason: reason, givenDigests: given }) },
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(calls()).toEqual([
      `copy ${upstreamRepo('api')}@${digest('3')} ${targetRepo('api')}:v6`,
      `copy ${upstreamRepo('worker')}@${digest('6')} ${targetRepo('worker')}:v6`,
    ]);
    expect(result.deployments.map((d) => [d.service, d.digest])).toEqual([
      ['api', digest('3')],
      ['worker', digest('6')],
    ]);
    expect((await ledger.getRun(result.runId as string))?.note).toBe(
      `promoted from promo-dev; promoted unverified: ${reason} (api ${digest('3')}, worker ${digest('6')})`,
    );
  });

  test('with --image-key the signature of the promoted digest is checked before any copy: signed passes, wrongly signed is refused', async () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await upstream({ api: ['v9', digest('a')], worker: ['v9', digest('b')] }, 'verified');
    const signed = (service: string, at: string, key = keys.privateKey) =>
      signedImage(service, upstreamRepo(service), at, key);
    const withCheck = (...images: ImageToVerify[]) => ({
      ...FAST,
      promotion: promotion(),
      signatures: { keys: [keys.publicKey], images: new Map(images.map((i) => [i.service, i])) },
    });
    const refused = await deploy(
      live('promo-signed', 'v9'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      withCheck(signed('api', digest('a'), stranger.privateKey), signed('worker', digest('b'))),
    );
    expect(refused).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(refused.reason).toBe(
      `image signature check failed: api (${upstreamRepo('api')}@${digest('a')}): the signature does not verify under any trusted key (wrongly signed)`,
    );
    expect(calls()).toEqual([]);
    expect(applied).toEqual([]);

    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const result = await deploy(
      live('promo-signed', 'v9'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      withCheck(signed('api', digest('a')), signed('worker', digest('b'))),
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(calls()).toHaveLength(2);
    expect(result.deployments.map((d) => [d.service, d.digest])).toEqual([
      ['api', digest('a')],
      ['worker', digest('b')],
    ]);
  });

  test('a failing copy fails the deploy before any apply (exit 1, rows failed, the output redacted)', async () => {
    await upstream({ api: ['v8', digest('7')], worker: ['v8', digest('8')] }, 'verified');
    const result = await deploy(
      live('promo-copyfail', 'v8'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion({ copy: copier(1) }) },
    );
    expect(result).toMatchObject({ exitCode: 1, outcome: 'failed' });
    expect(result.reason).toBe(
      `promotion of api failed before any apply: cosign copy ${upstreamRepo('api')}@${digest('7')} ${targetRepo('api')}:v8 exited 1: ` +
        'Error: PUT https://333333333333.dkr.ecr.eu-west-1.amazonaws.com: DENIED: token (redacted)',
    );
    expect(calls()).toHaveLength(1);
    expect(applied).toEqual([]);
    expect(copiesAtApply).toEqual([]);
    expect(result.deployments.map((d) => [d.service, d.status, d.reason])).toEqual([
      ['api', 'failed', result.reason],
      ['worker', 'failed', result.reason],
    ]);
    expect(await ledger.getRun(result.runId as string)).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(JSON.stringify(result)).not.toContain(AWS_SECRET);

    // No cosign at all fails the same way.
    const missing = cosignCopier({
      env: { PATH: path.join(bin, 'nowhere') },
      scrub: (t) => t,
    });
    expect(await missing({ service: 'api', source: 'a@sha256:0', destination: 'b:v1' })).toEqual({
      ok: false,
      detail: 'cosign copy a@sha256:0 b:v1 did not start: spawn cosign ENOENT',
    });
  });

  test('a target tag that exists in this registry at another digest is refused before any copy (tags are immutable); at the promoted digest it deploys', async () => {
    await upstream({ api: ['v10', digest('a')], worker: ['v10', digest('b')] }, 'verified');
    pushed.set(`${targetRepo('api')}:v10`, digest('c'));
    const result = await deploy(
      live('promo-taken', 'v10'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion() },
    );
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    expect(result.reason).toBe(
      `image digest check failed: api (${targetRepo('api')}:v10): the tag exists in this registry at ${digest('c')}, ` +
        `not at the promoted ${digest('a')} (tags are immutable: the copy cannot put it there)`,
    );
    expect(calls()).toEqual([]);
    expect(applied).toEqual([]);
    expect(await ledger.listDeployments({ environment: 'promo-taken' })).toEqual([]);

    // Copied before (an earlier run that failed later): the same digest under the tag is no refusal.
    pushed.set(`${targetRepo('api')}:v10`, digest('a'));
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const again = await deploy(
      live('promo-taken', 'v10'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion() },
    );
    expect(again).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(again.deployments.map((d) => [d.service, d.digest])).toEqual([
      ['api', digest('a')],
      ['worker', digest('b')],
    ]);
  });

  test('a copy that leaves the tag without the promoted digest in this registry fails the deploy before any apply', async () => {
    await upstream({ api: ['v11', digest('d')], worker: ['v11', digest('e')] }, 'verified');
    // cosign exits 0, but nothing reaches this registry (another registry's credentials, say).
    const result = await deploy(
      live('promo-lost', 'v11'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      { ...FAST, promotion: promotion({ copy: copier() }) },
    );
    expect(result).toMatchObject({ exitCode: 1, outcome: 'failed' });
    expect(result.reason).toBe(
      `promotion of api failed before any apply: after the copy, api (${targetRepo('api')}:v11): no image has this tag in the repository`,
    );
    expect(calls()).toHaveLength(1);
    expect(applied).toEqual([]);
    expect(result.deployments.map((d) => [d.service, d.status])).toEqual([
      ['api', 'failed'],
      ['worker', 'failed'],
    ]);

    // Or with another digest than the one promoted.
    await upstream({ api: ['v12', digest('d')], worker: ['v12', digest('e')] }, 'verified');
    const wrong = await deploy(
      live('promo-wrong', 'v12'),
      { commitSha: SHA('6'), automatic: true },
      promoteDeps(),
      {
        ...FAST,
        promotion: promotion({
          copy: async (c) => {
            pushed.set(c.destination, digest('f'));
            return { ok: true, detail: 'copied' };
          },
        }),
      },
    );
    expect(wrong).toMatchObject({ exitCode: 1, outcome: 'failed' });
    expect(wrong.reason).toBe(
      `promotion of api failed before any apply: after the copy, api (${targetRepo('api')}:v12): ECR names ${digest('f')}, not the promoted ${digest('d')}`,
    );
    expect(applied).toEqual([]);
  });
});

describe('gantry deploy: keyless signatures (cosign verify)', () => {
  const ISSUER = 'https://token.actions.githubusercontent.com';
  const repo = (service: string) => `444444444444.dkr.ecr.eu-west-1.amazonaws.com/acme/${service}`;
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const buildPublish = (ref: string) =>
    `https://github.com/acme/platform/.github/workflows/build-publish.yml@${ref}`;
  const jobsRelease = (ref: string) => `https://github.com/acme/jobs/.github/workflows/release.yml@${ref}`;
  let cosign: FakeCosign;
  beforeAll(() => {
    cosign = fakeCosign();
  });
  /** api is built here (build-publish.yml at the tag); worker by the source repository acme/jobs (release.yml, any v* tag). */
  const check = (
    PATH = `${cosign.dir}:${process.env.PATH ?? ''}`,
  ): typeof FAST & { keyless: KeylessCheck } => ({
    ...FAST,
    keyless: {
      env: { PATH },
      images: new Map([
        [
          'api',
          {
            repository: repo('api'),
            signer: {
              repository: 'acme/platform',
              workflow: 'build-publish.yml',
              tag: 'deployed',
              push: { workflow: 'terraform-apply.yml', branch: 'main' },
            },
          },
        ],
        [
          'worker',
          {
            repository: repo('worker'),
            signer: { repository: 'acme/jobs', workflow: 'release.yml', tag: 'any-v', push: null },
          },
        ],
      ]),
    },
  });
  const uat = (api: string, worker = api): ReleaseTarget => {
    const t = target(api, { environment: 'uat', stack: 'uat-services' });
    return {
      ...t,
      services: t.services.map((s) => ({
        ...s,
        repository: repo(s.name),
        imageTag: s.name === 'worker' ? worker : api,
      })),
      notifications: { webhooks: [] },
    };
  };
  const signed = (subject: string, ...digests: string[]) => ({ subject, issuer: ISSUER, digests });
  /** `service`'s `tag` is `at` in its ECR repository. */
  const push = (service: string, tag: string, at: string) => pushed.set(`${repo(service)}:${tag}`, at);

  test('images signed by the expected workflow identities deploy, each digest from cosign recorded on its row', async () => {
    cosign.record({
      // Three signatures of the same digest (re-signed): their bundles make more output than a runner's default cap.
      [`${repo('api')}:v1.4.0`]: signed(
        buildPublish('refs/tags/v1.4.0'),
        digest('a'),
        digest('a'),
        digest('a'),
      ),
      // The source repository tags its images itself: any of its v* tags signs.
      [`${repo('worker')}:v1.4.0`]: signed(jobsRelease('refs/tags/v7.0.0'), digest('b')),
    });
    push('api', 'v1.4.0', digest('a'));
    push('worker', 'v1.4.0', digest('b'));
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const before = cosign.calls().length;
    const result = await deploy(uat('v1.4.0'), { commitSha: SHA('1'), automatic: true }, deps(), check());
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(cosign.calls().slice(before)).toEqual([
      [
        'verify',
        '--certificate-identity',
        buildPublish('refs/tags/v1.4.0'),
        '--certificate-oidc-issuer',
        ISSUER,
        '--output',
        'json',
        `${repo('api')}:v1.4.0`,
      ],
      [
        'verify',
        '--certificate-identity-regexp',
        '^https://github\\.com/acme/jobs/\\.github/workflows/release\\.yml@refs/tags/v',
        '--certificate-oidc-issuer',
        ISSUER,
        '--output',
        'json',
        `${repo('worker')}:v1.4.0`,
      ],
    ]);
    expect(lines).toContain(
      `[deploy] uat: keyless signatures verified: api ${digest('a')}, worker ${digest('b')}`,
    );
    const rows = await ledger.listDeployments({ runId: result.runId as string });
    expect(rows.map((d) => [d.service, d.imageTag, d.digest, d.status]).sort()).toEqual([
      ['api', 'v1.4.0', digest('a'), 'verified'],
      ['worker', 'v1.4.0', digest('b'), 'deployed'],
    ]);
    expect(applied).toEqual([{ tags: { api: 'v1.4.0', worker: 'v1.4.0' }, purpose: 'deploy' }]);
  });

  test('a wrong identity, an unsigned image or a non-v tag is refused (exit 3, one refused row naming each) before anything is read, planned or applied', async () => {
    cosign.record({
      // Signed by a branch build of the right workflow: not a release.
      [`${repo('api')}:v1.5.0`]: signed(buildPublish('refs/heads/main'), digest('c')),
      [`${repo('worker')}:v1.5.0`]: null,
    });
    const result = await deploy(uat('v1.5.0'), { commitSha: SHA('2'), automatic: true }, deps(), check());
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
    expect(result.reason).toBe(
      'image signature check failed: ' +
        `api (${repo('api')}:v1.5.0): no valid signature by identity ${buildPublish('refs/tags/v1.5.0')}, issuer ${ISSUER} ` +
        `(cosign exited 1: Error: no matching signatures: none of the expected identities matched what was in the certificate, got subjects [${buildPublish('refs/heads/main')}] with issuer ${ISSUER}); ` +
        `worker (${repo('worker')}:v1.5.0): no valid signature by identity matching ^https://github\\.com/acme/jobs/\\.github/workflows/release\\.yml@refs/tags/v, issuer ${ISSUER} ` +
        '(cosign exited 1: Error: no signatures found)',
    );
    expect(applied).toEqual([]);
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
    expect(await ledger.getRun(result.runId as string)).toMatchObject({
      action: 'deploy',
      status: 'refused',
      environment: 'uat',
      exitCode: 3,
      errorSummary: result.reason,
    });
    expect(
      (await ledger.listDeployments({ environment: 'uat' })).filter((d) => d.imageTag === 'v1.5.0'),
    ).toEqual([]);

    // A source repository's signature from another repository does not match either; a tag build-publish.yml
    // never signs (not v*) is refused without asking cosign.
    cosign.record({
      [`${repo('worker')}:v1.5.0`]: signed(
        'https://github.com/acme/jobs-fork/.github/workflows/release.yml@refs/tags/v1',
        digest('d'),
      ),
    });
    const calls = cosign.calls().length;
    const other = await deploy(
      uat('1.5.0', 'v1.5.0'),
      { commitSha: SHA('2'), automatic: true },
      deps(),
      check(),
    );
    expect(other).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(other.reason).toMatch(
      new RegExp(
        `^image signature check failed: api \\(${repo('api').replace(/\./g, '\\.')}:1\\.5\\.0\\): tag "1\\.5\\.0" is neither a v\\* tag \\(build-publish\\.yml signs those\\) nor a push build's sha- tag \\(terraform-apply\\.yml on main\\); ` +
          'worker .*got subjects \\[https://github\\.com/acme/jobs-fork/',
      ),
    );
    expect(
      cosign
        .calls()
        .slice(calls)
        .map((c) => c[c.length - 1]),
    ).toEqual([`${repo('worker')}:v1.5.0`]);
    expect(applied).toEqual([]);
  });

  test('without cosign on PATH the deploy is refused, saying what to install', async () => {
    // An empty directory as the whole PATH: no cosign anywhere.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-no-cosign-'));
    const result = await deploy(
      uat('v1.6.0'),
      { commitSha: SHA('3'), automatic: true },
      deps(),
      check(empty),
    );
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(result.reason).toBe(
      'image signature check failed: cosign is not installed or not on PATH (spawn cosign ENOENT): ' +
        'install cosign v2 on the PATH of the deploy (GitHub Actions: sigstore/cosign-installer; elsewhere: ' +
        'https://docs.sigstore.dev/cosign/system_config/installation/)',
    );
    expect(applied).toEqual([]);
    expect(await ledger.getRun(result.runId as string)).toMatchObject({ status: 'refused', exitCode: 3 });
  });

  test('output cosign exits 0 with that is not its verification JSON (not JSON, empty, another payload type, a malformed digest), or names different digests, is refused', async () => {
    cosign.record({
      [`${repo('api')}:v1.7.0`]: { raw: 'Verification for ... -- ok\n' },
      [`${repo('worker')}:v1.7.0`]: signed(jobsRelease('refs/tags/v8.0.0'), digest('e'), digest('f')),
    });
    push('worker', 'v1.7.0', digest('e'));
    const result = await deploy(uat('v1.7.0'), { commitSha: SHA('4'), automatic: true }, deps(), check());
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(result.reason).toBe(
      `image signature check failed: api (${repo('api')}:v1.7.0): cosign printed no JSON verification output; ` +
        `worker (${repo('worker')}:v1.7.0): the signatures name different digests (${digest('e')}, ${digest('f')})`,
    );
    const wrongType = [{ critical: { type: 'x', image: { 'docker-manifest-digest': digest('e') } } }];
    const shortDigest = [
      {
        critical: {
          type: 'cosign container image signature',
          image: { 'docker-manifest-digest': 'sha256:e' },
        },
      },
    ];
    for (const [raw, why] of [
      ['[]', 'cosign printed no verified signature (an empty or non-array output)'],
      [
        JSON.stringify(wrongType),
        "cosign's output has a payload that is not a cosign container image signature",
      ],
      [JSON.stringify(shortDigest), 'cosign\'s output names digest "sha256:e", not sha256:<64 hex>'],
    ]) {
      cosign.record({
        [`${repo('api')}:v1.7.0`]: { raw },
        [`${repo('worker')}:v1.7.0`]: signed(jobsRelease('refs/tags/v8'), digest('e')),
      });
      const refused = await deploy(uat('v1.7.0'), { commitSha: SHA('4'), automatic: true }, deps(), check());
      expect(refused).toMatchObject({ exitCode: 3, outcome: 'refused' });
      expect(refused.reason).toBe(`image signature check failed: api (${repo('api')}:v1.7.0): ${why}`);
    }
    expect(applied).toEqual([]);
  });

  test('a promotion verifies the upstream image by the digest it promotes (not yet in this registry), before any copy', async () => {
    const upstreamRepo = (service: string) => `555555555555.dkr.ecr.eu-west-1.amazonaws.com/acme/${service}`;
    const { run, deployments } = await ledger.startDeploy({
      stack: 'kv-up-services',
      action: 'deploy',
      environment: 'kv-up',
      commitSha: SHA('6'),
      services: [
        { service: 'api', imageTag: 'v2.0.0', digest: digest('1') },
        { service: 'worker', imageTag: 'v2.0.0', digest: digest('2') },
      ],
    });
    for (const d of deployments) await ledger.updateDeployment(d.id, { status: 'deployed', final: true });
    await ledger.finishRun(run.id, { status: 'succeeded', exitCode: 0 });
    const copies: string[] = [];
    const promotion: Promotion = {
      from: 'kv-up',
      sourceRepositories: new Map(['api', 'worker'].map((s) => [s, upstreamRepo(s)])),
      requiredApprovals: 1,
      copy: intoRegistry(async (c) => {
        copies.push(c.source);
        return { ok: true, detail: 'copied' };
      }),
    };
    const env = (t: string): ReleaseTarget => ({
      ...uat(t),
      environment: 'kv-prod',
      stack: 'kv-prod-services',
    });
    // Not in this registry yet: the copy puts the promoted digests there.
    for (const s of ['api', 'worker']) onlyPushed.add(repo(s));
    // The worker's upstream digest carries no signature of its workflow: refused, nothing copied.
    cosign.record({
      [`${upstreamRepo('api')}@${digest('1')}`]: signed(buildPublish('refs/tags/v2.0.0'), digest('1')),
      [`${upstreamRepo('worker')}@${digest('2')}`]: null,
    });
    const calls = cosign.calls().length;
    const refused = await deploy(env('v2.0.0'), { commitSha: SHA('6'), automatic: true }, deps(), {
      ...check(),
      promotion,
    });
    expect(refused).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(refused.reason).toMatch(
      new RegExp(
        `^image signature check failed: worker \\(${upstreamRepo('worker').replace(/\./g, '\\.')}@sha256:2{64}\\): no valid signature`,
      ),
    );
    expect(
      cosign
        .calls()
        .slice(calls)
        .map((c) => c[c.length - 1]),
    ).toEqual([`${upstreamRepo('api')}@${digest('1')}`, `${upstreamRepo('worker')}@${digest('2')}`]);
    expect(copies).toEqual([]);
    expect(applied).toEqual([]);

    cosign.record({
      [`${upstreamRepo('api')}@${digest('1')}`]: signed(buildPublish('refs/tags/v2.0.0'), digest('1')),
      [`${upstreamRepo('worker')}@${digest('2')}`]: signed(jobsRelease('refs/tags/v9'), digest('2')),
    });
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const result = await deploy(env('v2.0.0'), { commitSha: SHA('6'), automatic: true }, deps(), {
      ...check(),
      promotion,
    });
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(copies).toEqual([
      `${upstreamRepo('api')}@${digest('1')}`,
      `${upstreamRepo('worker')}@${digest('2')}`,
    ]);
    expect(result.deployments.map((d) => [d.service, d.digest])).toEqual([
      ['api', digest('1')],
      ['worker', digest('2')],
    ]);
  });

  test('a redeploy verifies the last verified tags again and refuses a signed digest other than the one the ledger recorded', async () => {
    push('api', 'v1.4.0', digest('a'));
    push('worker', 'v1.4.0', digest('b'));
    cosign.record({
      [`${repo('api')}:v1.4.0`]: signed(buildPublish('refs/tags/v1.4.0'), digest('9')),
      [`${repo('worker')}:v1.4.0`]: signed(jobsRelease('refs/tags/v7.0.0'), digest('b')),
    });
    const result = await redeploy(uat('v1.4.0'), { commitSha: SHA('5'), automatic: true }, deps(), check());
    expect(result).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(result.reason).toBe(
      `image signature check failed: api (${repo('api')}:v1.4.0): signed digest ${digest('9')}, the ledger recorded ${digest('a')} for this tag`,
    );
    expect(applied).toEqual([]);
    expect(updates).toEqual([]);
  });

  test('a rollback verifies the tags it goes back to again: a signed digest other than the one the ledger recorded is refused, nothing applied', async () => {
    // uat-rb verified v1.3.0 (api a, worker b), then deployed v1.4.0 (api c, worker d).
    const rb = (api: string) => ({ ...uat(api), environment: 'uat-rb', stack: 'uat-rb-services' });
    push('api', 'v1.3.0', digest('a'));
    push('worker', 'v1.3.0', digest('b'));
    push('api', 'v1.4.0', digest('c'));
    push('worker', 'v1.4.0', digest('d'));
    cosign.record({
      [`${repo('api')}:v1.3.0`]: signed(buildPublish('refs/tags/v1.3.0'), digest('a')),
      [`${repo('worker')}:v1.3.0`]: signed(jobsRelease('refs/tags/v6.0.0'), digest('b')),
      [`${repo('api')}:v1.4.0`]: signed(buildPublish('refs/tags/v1.4.0'), digest('c')),
      [`${repo('worker')}:v1.4.0`]: signed(jobsRelease('refs/tags/v7.0.0'), digest('d')),
    });
    play({ api: completes('api', 1, 2), worker: completes('worker', 1, 2) });
    const first = await deploy(rb('v1.3.0'), { commitSha: SHA('1'), automatic: true }, deps(), check());
    expect(first).toMatchObject({ exitCode: 0 });
    play({ api: completes('api', 2, 3), worker: completes('worker', 2, 3) });
    const second = await deploy(rb('v1.4.0'), { commitSha: SHA('2'), automatic: true }, deps(), check());
    expect(second).toMatchObject({ exitCode: 0 });
    // The rollback to v1.3.0 (the first run) checks its signatures again, and records the digests cosign verified.
    play({ api: completes('api', 3, 4), worker: completes('worker', 3, 4) });
    const before = cosign.calls().length;
    const back = await rollback(rb('v1.4.0'), { commitSha: SHA('3'), automatic: false }, deps(), {
      ...check(),
      toRunId: first.runId as string,
    });
    expect(back).toMatchObject({ exitCode: 0 });
    expect(
      cosign
        .calls()
        .slice(before)
        .map((c) => c.at(-1)),
    ).toEqual([`${repo('api')}:v1.3.0`, `${repo('worker')}:v1.3.0`]);
    expect(back.deployments.map((d) => [d.service, d.imageTag, d.digest])).toEqual([
      ['api', 'v1.3.0', digest('a')],
      ['worker', 'v1.3.0', digest('b')],
    ]);
    // Re-signed under another digest since: refused before anything is applied.
    cosign.record({
      [`${repo('api')}:v1.3.0`]: signed(buildPublish('refs/tags/v1.3.0'), digest('9')),
      [`${repo('worker')}:v1.3.0`]: signed(jobsRelease('refs/tags/v6.0.0'), digest('b')),
    });
    applied.length = 0;
    const refused = await rollback(rb('v1.3.0'), { commitSha: SHA('4'), automatic: false }, deps(), {
      ...check(),
      toRunId: first.runId as string,
    });
    expect(refused).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(refused.reason).toBe(
      `image signature check failed: api (${repo('api')}:v1.3.0): signed digest ${digest('9')}, the ledger recorded ${digest('a')} for this tag`,
    );
    expect(applied).toEqual([]);
  });

  test("a push build's sha- tag is verified against the default branch's run of terraform-apply.yml", async () => {
    const tag = 'sha-0123456789ab';
    const pushed = 'https://github.com/acme/platform/.github/workflows/terraform-apply.yml@refs/heads/main';
    // Signed by the tag workflow instead (a mix-up), then by the push build.
    cosign.record({ [`${repo('api')}:${tag}`]: signed(buildPublish(`refs/tags/${tag}`), digest('7')) });
    const wrong = await deploy(uat(tag, 'v1.4.0'), { commitSha: SHA('7'), automatic: true }, deps(), check());
    expect(wrong).toMatchObject({ exitCode: 3, outcome: 'refused' });
    expect(wrong.reason).toContain(
      `api (${repo('api')}:${tag}): no valid signature by identity ${pushed}, issuer ${ISSUER}`,
    );
    cosign.record({ [`${repo('api')}:${tag}`]: signed(pushed, digest('7')) });
    push('api', tag, digest('7'));
    play({ api: completes('api', 2, 3) });
    const result = await deploy(
      uat(tag, 'v1.4.0'),
      { commitSha: SHA('7'), automatic: true },
      deps(),
      check(),
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'verified' });
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.digest])).toEqual([
      ['api', tag, digest('7')],
    ]);
    expect(cosign.calls().at(-1)?.slice(1, 3)).toEqual(['--certificate-identity', pushed]);
  });
});
