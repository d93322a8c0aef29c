/**
 * The reference configuration's AWS stacks applied for real, against moto (one server per account,
 * see harness.ts): every stack applied applies and a second plan shows no changes. Which
 * environments are applied: one stack of each shape (see `stackShape` in ../util: the six reference
 * stacks are three shapes, prod's two are staging's) and the environments the scenarios need, dev and
 * staging; `GANTRY_EMULATOR_ENVIRONMENTS=dev,staging,prod` applies the ones it names. On that one
 * apply, each environment then carries its scenarios, so nothing is applied twice:
 * - staging: its services stack is applied through `gantry plan` + `gantry apply` (ledger rows), then
 *   released with a new image tag and rolled back, each checked through the ECS API, the deployed tags
 *   pushed first into the ECR repositories of its foundation stack (a tag that is not is refused);
 * - dev, day zero: its foundation and services are applied with local state (an administrator's
 *   first applies), then `gantry bootstrap dev` creates the state bucket in the empty account and
 *   moves both states into it; the bootstrap stack re-plans clean, both stacks hold as many resources
 *   as before and plan clean (their second plan) and apply through the S3 backend; a second
 *   `gantry bootstrap` refuses to overwrite the remote state a stale local file would replace; the
 *   first run's ledger is not reachable, so its runs wait in the journal and reach the ledger, once
 *   each, on the second run. The ledger database is not applied: moto 5.2.1 turns the Data API off
 *   for every Aurora cluster but Serverless v1 and answers the Data API with canned results; its part
 *   of the stack is covered by its offline plan and policy (test/stacks/bootstrap-stack.test.ts) and
 *   the `rds-data://` backend at the wire level (test/runtime/rds-data.test.ts);
 * - dev, then: changes made out of band through the AWS API make `gantry drift` (through the S3
 *   backend) exit 2 with a `drifted` row; the settings Gantry ignores on purpose do not;
 * - prod when it is applied, else staging after its release: `terraform destroy` is refused by
 *   `prevent_destroy`, and nothing is deleted.
 *
 * Wall time: Terraform is CPU-bound (the AWS provider's start costs seconds per command) and the
 * rest is the provider waiting on the KMS keys and the ECS clusters, so everything that can overlap
 * does. `beforeAll` starts all six applies at once, and each scenario as one chain behind its
 * environment's applies; the tests then await what their step observed and assert on it, in order.
 */
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRepositoriesCommand, ECRClient, TagResourceCommand } from '@aws-sdk/client-ecr';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { GetRoleCommand, IAMClient, UpdateRoleCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, DisableKeyRotationCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { referenceConfig } from '../../environments';
import type { GantryConfig } from '../../lib/config';
import { clusterName, imageTagsParameterName, repositoryName, stateBucketName } from '../../lib/core/naming';
import { countStateResources, Journal } from '../../lib/runtime/bootstrap';
import { openLedger, type RunRecord } from '../../lib/runtime/ledger';
import type { ReleaseResult } from '../../lib/runtime/release/deploy';
import type { ServiceStatus } from '../../lib/runtime/release/status';
import { cleanEnv } from '../runtime/env';
import { fakeCosign } from '../runtime/fake-cosign';
import { recordDeploy } from '../runtime/deployments-contract';
import { gantry, tempDir, type CliResult } from '../runtime/helpers';
import { AWS_STACKS, distinctShapes, readStack, synthApp, withEnvironment } from '../util';
import {
  describeWithEmulator,
  EmulatedEnvironments,
  EmulatedStack,
  pointBackend,
  type EmulatedEnvironment,
  type TerraformResult,
} from './harness';
import { clientConfig, pushImages } from './seed';

const MINUTES = 60_000;
const ORG = referenceConfig.organization.name;

/** The reference configuration, with dev bootstrapped (its state bucket, the S3 backend of its stacks). */
const CONFIG = withEnvironment('dev', (env) => ({ ...env, bootstrap: {} }), referenceConfig);
/** The stacks `gantry bootstrap dev` moves into the bucket. */
const DAY_ZERO_STACKS = ['dev-foundation', 'dev-services'] as const;
const DEV_ACCOUNT = (CONFIG.environments.find((e) => e.name === 'dev') as { accountId: string }).accountId;
const UNREACHABLE_LEDGER = 'postgres://gantry@127.0.0.1:1/ledger?connect_timeout=2';

type StateDocument = { resources: Array<{ mode: string; instances: unknown[] }> };

/** The services stack applied through the CLI (the release scenario); the others with `terraform apply`. */
const RELEASED = 'staging-services';

const COMMITS = {
  initial: 'c0ffee000000000000000000000000000000e001',
  release: 'c0ffee000000000000000000000000000000e002',
  rolloutFails: 'c0ffee000000000000000000000000000000e003',
  migrationFails: 'c0ffee000000000000000000000000000000e004',
  verifyFails: 'c0ffee000000000000000000000000000000e005',
  notPushed: 'c0ffee000000000000000000000000000000e006',
  notVerifiedInDev: 'c0ffee000000000000000000000000000000e007',
};

/** The emulator's fault tags (test/emulator/moto_launcher.py): a deploy of such a tag fails there. */
const ROLLOUT_FAILS = 'emulator-rollout-fails';
const MIGRATION_EXITS_1 = 'emulator-migration-exits-1';

/**
 * staging's release scenario: api's external check and the team's webhook are a local HTTP server
 * (`release`), whose URL is known once it listens, before the synth. The webhook URL holds a
 * secret, which no notification may show.
 */
const HOOK_ENV = 'GANTRY_EMULATOR_DEPLOY_HOOK';
const HOOK_SECRET = 'hook-token-5c1e7d0a9b8f4e2d';
const release = {
  base: '',
  /** The statuses the check answers next; then 200. */
  health: [] as number[],
  healthHits: 0,
  hooks: [] as Record<string, unknown>[],
  server: undefined as http.Server | undefined,
};

async function startReleaseServer(): Promise<void> {
  release.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/health') {
        release.healthHits++;
        const status = release.health.shift() ?? 200;
        res.writeHead(status).end(status === 200 ? '{"status":"ok"}' : 'unavailable');
        return;
      }
      if (req.url === `/hook/${HOOK_SECRET}`)
        release.hooks.push(JSON.parse(body || '{}') as Record<string, unknown>);
      res.writeHead(req.url?.startsWith('/hook/') ? 200 : 404).end();
    });
  });
  const server = release.server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  release.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** CONFIG with staging's api checked and staging's deploys told, at the release server. */
function releaseConfig(): GantryConfig {
  return withEnvironment(
    'staging',
    (env) => ({
      ...env,
      services: env.services.map((s) =>
        s.name === 'api'
          ? {
              ...s,
              verify: { url: `${release.base}/health`, bodyMatch: '"ok"', retries: 3, intervalSeconds: 1 },
            }
          : s,
      ),
      notifications: { webhooks: [{ urlEnv: HOOK_ENV, format: 'json' }], routine: 'full' },
    }),
    CONFIG,
  );
}

/** The `# <address> will be ...` lines of a plan's output: what it would change. */
function plannedChanges(planOutput: string): string[] {
  return planOutput
    .split('\n')
    .filter((line) => /^\s*# \S+ (will|must) be /.test(line))
    .map((line) => line.trim());
}

/** The address of the one resource of `type` whose `field` is `value` in the synthesized stack. */
function addressOf(outdir: string, stackId: string, type: string, field: string, value: unknown): string {
  const resources = readStack(outdir, stackId).resource?.[type] ?? {};
  const names = Object.entries(resources)
    .filter(([, body]) => field === '' || body[field] === value)
    .map(([name]) => name);
  if (names.length !== 1) throw new Error(`${stackId}: ${names.length} ${type} with ${field} = ${value}`);
  return `${type}.${names[0]}`;
}

/** `promise`, marked handled: a chain that fails before its test awaits it is no unhandled rejection. */
function started<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** A CLI run and the ledger row it wrote. */
interface Recorded {
  readonly result: CliResult;
  readonly row: RunRecord | undefined;
}

/** What ECS runs for a service: its task definition's ARN, revision and image. */
interface Running {
  readonly arn: string;
  readonly revision: number;
  readonly image: string;
}

/** The environments the scenarios run in. */
const SCENARIO_ENVIRONMENTS = ['dev', 'staging'];

/**
 * The environments to apply: those named by GANTRY_EMULATOR_ENVIRONMENTS, or the scenarios' and,
 * for every stack shape, the environment of the first stack of that shape.
 */
function environmentsToApply(): string[] {
  const known = referenceConfig.environments.map((e) => e.name);
  const named = process.env.GANTRY_EMULATOR_ENVIRONMENTS?.split(',').map((n) => n.trim());
  if (named) {
    const unknown = named.filter((n) => !known.includes(n));
    const missing = SCENARIO_ENVIRONMENTS.filter((n) => !named.includes(n));
    if (unknown.length > 0 || missing.length > 0)
      throw new Error(
        `GANTRY_EMULATOR_ENVIRONMENTS=${named.join(',')}: must name ${SCENARIO_ENVIRONMENTS.join(' and ')} ` +
          `(the scenarios run there) and only environments of the reference configuration (${known.join(', ')})`,
      );
    return known.filter((n) => named.includes(n));
  }
  const envOf = (stackId: string) => stackId.slice(0, stackId.lastIndexOf('-'));
  const shapes = distinctShapes(synthApp(), AWS_STACKS).map((s) => envOf(s.stackId));
  return known.filter((n) => SCENARIO_ENVIRONMENTS.includes(n) || shapes.includes(n));
}

/**
 * Verified deployments of `images` in `environment`, written into the ledger at `url` as a deploy there would
 * leave them (deployed, then verified): what the environment before staging verified.
 */
async function verifiedIn(
  url: string,
  environment: string,
  images: readonly { service: string; imageTag: string; digest: string }[],
): Promise<void> {
  const ledger = await openLedger(url);
  try {
    await ledger.migrate();
    // One run per image: a run holds one row per service.
    for (const { service, imageTag, digest } of images)
      await recordDeploy(ledger, environment, COMMITS.initial, { [service]: [imageTag, digest] }, 'verified');
  } finally {
    await ledger.close();
  }
}

describeWithEmulator('the reference AWS stacks on the emulator', () => {
  const environments = environmentsToApply();
  const appliedStacks: string[] = AWS_STACKS.filter((id) =>
    environments.some((env) => id.startsWith(`${env}-`)),
  );
  /** Where `terraform destroy` is tried: prod when it is applied, else staging once its release is done. */
  const DESTROYED = environments.includes('prod') ? 'prod' : 'staging';
  let envs: EmulatedEnvironments;
  /** Each stack's one apply and the plan after it; for RELEASED, the CLI's plan and apply too. */
  const applied = new Map<string, Promise<{ replan: TerraformResult; plan?: Recorded; apply?: Recorded }>>();
  let releaseSteps: Promise<ReleaseSteps>;
  let dayZeroSteps: Promise<DayZeroSteps>;
  let driftSteps: Promise<DriftSteps>;
  let destroySteps: Promise<Map<string, DestroyStep>>;

  const ledgerOf = { staging: '', dev: '' };

  /** `gantry <argv>` on `stack` with the environment's ledger, and the row it wrote last. */
  async function recorded(
    env: 'staging' | 'dev',
    stack: EmulatedStack,
    argv: readonly string[],
    commit: string,
  ): Promise<Recorded> {
    const ledger = `pglite:${ledgerOf[env]}`;
    const result = await gantry(
      [...argv, '--dir', stack.dir],
      cleanEnv(stack.env, {
        GANTRY_LEDGER_URL: ledger,
        GANTRY_COMMIT_SHA: commit,
        GANTRY_ACTOR: 'emulator-e2e',
      }),
    );
    const rows = await gantry(['runs', '--json', '--limit', '1', '--stack', stack.id, '--action', argv[0]], {
      GANTRY_LEDGER_URL: ledger,
    });
    if (rows.code !== 0) throw new Error(`gantry runs failed: ${rows.stderr}`);
    return { result, row: (JSON.parse(rows.stdout) as RunRecord[])[0] };
  }

  async function outcome(stackId: string) {
    const found = applied.get(stackId);
    if (!found) throw new Error(`${stackId} was not applied: the emulator did not start (see beforeAll)`);
    return found;
  }

  beforeAll(async () => {
    ledgerOf.staging = tempDir('emulator-ledger-staging');
    ledgerOf.dev = tempDir('emulator-ledger-dev');
    await startReleaseServer();
    envs = await EmulatedEnvironments.start(releaseConfig(), environments);
    const dev = envs.get('dev');
    dayZero.project = tempDir('bootstrap-project');
    dayZero.stateDir = path.join(dayZero.project, '.gantry', 'state');
    dayZero.journalFile = path.join(dayZero.project, '.gantry', 'journal.jsonl');
    dayZero.ledgerDir = tempDir('bootstrap-ledger');
    fs.mkdirSync(dayZero.stateDir, { recursive: true });
    dayZero.stack = EmulatedStack.prepare(envs.outdir, 'dev-bootstrap', dev.server);
    // Local state where `gantry bootstrap` looks for it: the bootstrap stack's own, and the first
    // applies of dev's stacks (switched to the S3 backend once applied).
    for (const id of ['dev-bootstrap', ...DAY_ZERO_STACKS])
      pointBackend(envs.outdir, id, dev.server, { local: path.join(dayZero.stateDir, `${id}.tfstate`) });
    const localApplies = new Map<string, Promise<string[]>>();
    // Foundation and services share no reference (the services pass the foundation's roles by
    // computed ARN), so all of them apply at once.
    for (const env of envs.all) {
      for (const stack of [env.foundation, env.services]) {
        const done = async () => {
          const local = localApplies.get(stack.id);
          if (local) {
            // dev: the second plan is the one through the S3 backend, after the state moved there.
            await local;
            return { replan: ((await dayZeroSteps).s3.get(stack.id) as MovedStack).plan };
          }
          if (stack.id !== RELEASED) {
            await stack.apply();
            return { replan: await stack.plan() };
          }
          const plan = await recorded('staging', stack, ['plan', stack.id], COMMITS.initial);
          const apply = await recorded('staging', stack, ['apply', stack.id], COMMITS.initial);
          return { plan, apply, replan: await stack.plan() };
        };
        if ((DAY_ZERO_STACKS as readonly string[]).includes(stack.id))
          localApplies.set(stack.id, started(stack.apply().then(() => stack.stateList())));
        applied.set(stack.id, started(done()));
      }
    }
    const after = (...stackIds: string[]) => Promise.all(stackIds.map((id) => outcome(id)));
    // The foundation holds the ECR repositories the deploys look their tags up in.
    releaseSteps = started(
      after(RELEASED, 'staging-foundation').then(() => releaseScenario(envs.get('staging'))),
    );
    dayZeroSteps = started(
      Promise.all(DAY_ZERO_STACKS.map((id) => localApplies.get(id) as Promise<string[]>)).then((lists) =>
        dayZeroScenario(dev, new Map(DAY_ZERO_STACKS.map((id, i) => [id, lists[i]]))),
      ),
    );
    // Drift once day zero is done with dev's stacks, through the S3 backend they then use.
    driftSteps = started(
      after('dev-foundation', 'dev-services')
        .then(() => dayZeroSteps)
        .then(() => driftScenario(dev)),
    );
    // The destroy is tried once the environment's other scenario, if any, is done with its stacks.
    const destroyAfter: Promise<unknown> =
      DESTROYED === 'staging' ? releaseSteps.catch(() => undefined) : Promise.resolve();
    destroySteps = started(
      after(`${DESTROYED}-foundation`, `${DESTROYED}-services`)
        .then(() => destroyAfter)
        .then(() => destroyScenario(envs.get(DESTROYED))),
    );
  }, 2 * MINUTES);

  afterAll(async () => {
    // Nothing may still be writing into the directories dispose() removes.
    await Promise.allSettled([...applied.values(), releaseSteps, dayZeroSteps, driftSteps, destroySteps]);
    await envs?.dispose();
    await new Promise((resolve) => (release.server ? release.server.close(resolve) : resolve(undefined)));
  }, 5 * MINUTES);

  test('every AWS stack is applied here, or is of the shape of one that is', () => {
    const outdir = synthApp();
    const missed = distinctShapes(outdir, AWS_STACKS).filter(
      ({ stackId, sameShape }) => ![stackId, ...sameShape].some((id) => appliedStacks.includes(id)),
    );
    expect(missed).toEqual([]);
    expect(environments).toEqual(expect.arrayContaining(SCENARIO_ENVIRONMENTS));
  });

  describe.each(appliedStacks)('%s', (stackId) => {
    test(
      'applies, and a second plan -detailed-exitcode exits 0',
      async () => {
        const { replan } = await outcome(stackId);
        expect(plannedChanges(replan.stdout)).toEqual([]);
        expect(replan.status).toBe(0);
      },
      10 * MINUTES,
    );
  });

  // --- staging: releases through gantry deploy --------------------------------------------------------

  /** One `gantry deploy` (or `status`) run: its outcome, what ECS then runs, what the checks and the hook saw. */
  interface DeployStep {
    readonly result: CliResult;
    readonly outcome: ReleaseResult | undefined;
    readonly running: Record<string, Running>;
    /** Requests the verify check made during this run. */
    readonly healthHits: number;
    /** Bodies the team's webhook received during this run. */
    readonly hooks: readonly Record<string, unknown>[];
    /** Plan rows of staging-services written during this run. */
    readonly plans: number;
  }

  interface ReleaseSteps {
    readonly services: readonly string[];
    readonly defaultTag: string;
    readonly initial: Record<string, Running>;
    /** Per service, the digest moto computed for each tag pushed into its repository. */
    readonly digests: Record<string, ReadonlyMap<string, string>>;
    readonly completes: DeployStep;
    /** A tag never pushed: refused. */
    readonly notPushed: DeployStep;
    readonly notPushedRow: RunRecord | undefined;
    /** A tag pushed, but never verified in dev (the environment before staging): refused by the upstream gate. */
    readonly notVerifiedInDev: DeployStep;
    readonly notVerifiedInDevRow: RunRecord | undefined;
    readonly rolloutFails: DeployStep;
    readonly blockedAgain: DeployStep;
    readonly migrationFails: DeployStep;
    readonly verifyFails: DeployStep;
    /** ACTIVE revisions per service family at the end. */
    readonly activeRevisions: Record<string, number[]>;
    readonly status: readonly ServiceStatus[];
    readonly refusedRow: RunRecord | undefined;
  }

  async function releaseScenario(staging: EmulatedEnvironment): Promise<ReleaseSteps> {
    const ecs = new ECSClient(clientConfig(staging.server, staging.config.region));
    const cluster = clusterName(ORG, 'staging');
    const services = staging.config.services.map((s) => s.name);
    const stack = staging.services;
    const ledger = `pglite:${ledgerOf.staging}`;
    // staging requires an approval, so every deploy verifies keyless signatures (release.requireSignatures, on
    // by default) with cosign: here a stand-in first on PATH answers for the images build-publish.yml signed.
    const cosign = fakeCosign();
    const running = async () => {
      const described = await ecs.send(new DescribeServicesCommand({ cluster, services }));
      const result: Record<string, Running> = {};
      for (const service of described.services ?? []) {
        const arn = service.taskDefinition as string;
        const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
        result[service.serviceName as string] = {
          arn,
          revision: taskDefinition?.revision as number,
          image: taskDefinition?.containerDefinitions?.[0]?.image as string,
        };
      }
      return result;
    };
    const plans = async () => {
      const rows = await gantry(
        ['runs', '--json', '--limit', '1000', '--stack', stack.id, '--action', 'plan'],
        {
          GANTRY_LEDGER_URL: ledger,
        },
      );
      if (rows.code !== 0) throw new Error(`gantry runs failed: ${rows.stderr}`);
      return (JSON.parse(rows.stdout) as RunRecord[]).length;
    };
    const deployOf = async (commit: string, tags: readonly string[], health: readonly number[] = []) => {
      release.health = [...health];
      const hits = release.healthHits;
      const hooks = release.hooks.length;
      const plansBefore = await plans();
      const result = await gantry(
        [
          'deploy',
          'staging',
          '--dir',
          stack.dir,
          '--json',
          '--poll-interval',
          '0.2',
          ...tags.flatMap((t) => ['--tag', t]),
        ],
        cleanEnv(stack.env, {
          GANTRY_LEDGER_URL: ledger,
          GANTRY_COMMIT_SHA: commit,
          GANTRY_ACTOR: 'emulator-e2e',
          // The deployer's credentials, for gantry's own ECS calls (Terraform has the override's).
          AWS_ACCESS_KEY_ID: 'AKIAEMULATOR000000000',
          AWS_SECRET_ACCESS_KEY: 'emulator-secret',
          [HOOK_ENV]: `${release.base}/hook/${HOOK_SECRET}`,
          PATH: `${cosign.dir}${path.delimiter}${stack.env.PATH ?? process.env.PATH ?? ''}`,
        }),
      );
      let outcome: ReleaseResult | undefined;
      try {
        outcome = JSON.parse(result.stdout) as ReleaseResult;
      } catch {
        outcome = undefined;
      }
      return {
        result,
        outcome,
        running: await running(),
        healthHits: release.healthHits - hits,
        hooks: release.hooks.slice(hooks),
        plans: (await plans()) - plansBefore,
      };
    };
    const refusedRow = async () => {
      const rows = await gantry(
        ['runs', '--json', '--limit', '1', '--stack', stack.id, '--action', 'deploy', '--status', 'refused'],
        { GANTRY_LEDGER_URL: ledger },
      );
      return rows.code === 0 ? (JSON.parse(rows.stdout) as RunRecord[])[0] : undefined;
    };
    try {
      const defaultTag = staging.config.services[0].imageTag;
      const initial = await running();
      // What a publish would have pushed: every tag the deploys below name, but v1.6.0.
      const pushedTags: Record<string, string[]> = {
        api: ['v1.4.0', `v1.5.0-${ROLLOUT_FAILS}`, `v1.5.1-${MIGRATION_EXITS_1}`, 'v1.5.2', 'v1.5.3'],
        worker: ['v1.4.0'],
      };
      const digests: Record<string, ReadonlyMap<string, string>> = {};
      for (const [service, tags] of Object.entries(pushedTags))
        digests[service] = await pushImages(
          staging.server,
          staging.config.region,
          repositoryName(ORG, service),
          tags,
        );
      // build-publish.yml signed each pushed image at its tag (the certificate names the workflow at that tag).
      const account = staging.config.accountId;
      cosign.record(
        Object.fromEntries(
          Object.entries(pushedTags).flatMap(([service, tags]) =>
            tags.map((tag) => [
              `${account}.dkr.ecr.${staging.config.region}.amazonaws.com/${repositoryName(ORG, service)}:${tag}`,
              {
                subject: `https://github.com/${CONFIG.organization.github.repository}/.github/workflows/build-publish.yml@refs/tags/${tag}`,
                issuer: 'https://token.actions.githubusercontent.com',
                digests: [digests[service].get(tag) as string],
              },
            ]),
          ),
        ),
      );
      // staging requires an approval: it deploys only digests dev verified (the shared ledger's dev rows). dev
      // verified each of these tags at the digest a tag build pushed into every registry; never v1.5.3.
      await verifiedIn(
        ledger,
        'dev',
        Object.entries(pushedTags).flatMap(([service, tags]) =>
          tags
            .filter((tag) => tag !== 'v1.5.3')
            .map((tag) => ({ service, imageTag: tag, digest: digests[service].get(tag) as string })),
        ),
      );
      // Each deploy names the tags of api and worker (one it did not name would keep its last good tag).
      // 503 twice, then 200: the check passes on its 3rd try.
      const completes = await deployOf(COMMITS.release, ['api=v1.4.0', 'worker=v1.4.0'], [503, 503]);
      const notPushed = await deployOf(COMMITS.notPushed, ['api=v1.6.0', 'worker=v1.4.0']);
      const notPushedRow = await refusedRow();
      const notVerifiedInDev = await deployOf(COMMITS.notVerifiedInDev, ['api=v1.5.3', 'worker=v1.4.0']);
      const notVerifiedInDevRow = await refusedRow();
      const rolloutFails = await deployOf(COMMITS.rolloutFails, [
        `api=v1.5.0-${ROLLOUT_FAILS}`,
        'worker=v1.4.0',
      ]);
      const blockedAgain = await deployOf(COMMITS.rolloutFails, [
        `api=v1.5.0-${ROLLOUT_FAILS}`,
        'worker=v1.4.0',
      ]);
      const migrationFails = await deployOf(COMMITS.migrationFails, [
        `api=v1.5.1-${MIGRATION_EXITS_1}`,
        'worker=v1.4.0',
      ]);
      // 503 for every try of the deploy's check (retries: 3), then 200 for the rollback's.
      const verifyFails = await deployOf(
        COMMITS.verifyFails,
        ['api=v1.5.2', 'worker=v1.4.0'],
        [503, 503, 503],
      );
      const activeRevisions: Record<string, number[]> = {};
      for (const name of services) {
        const family = `${ORG}-staging-${name}`;
        const listed = await ecs.send(
          new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE' }),
        );
        activeRevisions[name] = (listed.taskDefinitionArns ?? [])
          .filter((arn) => arn.includes(`:task-definition/${family}:`))
          .map((arn) => Number(arn.split(':').pop()))
          .sort((a, b) => a - b);
      }
      const status = await gantry(['status', 'staging', '--json'], { GANTRY_LEDGER_URL: ledger });
      if (status.code !== 0) throw new Error(`gantry status failed: ${status.stderr}`);
      const refused = await refusedRow();
      return {
        services,
        defaultTag,
        initial,
        digests,
        completes,
        notPushed,
        notPushedRow,
        notVerifiedInDev,
        notVerifiedInDevRow,
        rolloutFails,
        blockedAgain,
        migrationFails,
        verifyFails,
        activeRevisions,
        status: JSON.parse(status.stdout) as ServiceStatus[],
        refusedRow: refused,
      };
    } finally {
      ecs.destroy();
    }
  }

  const rowsOf = (step: DeployStep) =>
    (step.outcome?.deployments ?? []).map((d) => [d.service, d.previousTag, d.imageTag, d.status]);

  describe('staging: releases through gantry deploy', () => {
    test(
      'gantry plan + apply record a planned and an applied row, and every service runs its configured tag',
      async () => {
        const { plan, apply } = await outcome(RELEASED);
        const { services, defaultTag, initial } = await releaseSteps;
        expect(plan?.result.stderr).toMatch(/planned; run [0-9a-f-]{36}/);
        expect(plan?.result.code).toBe(0);
        expect(apply?.result.stderr).toContain('applied; run');
        expect(apply?.result.code).toBe(0);
        // The first apply created every resource now in the state, and nothing else.
        const created = (await envs.get('staging').services.stateList()).length;
        expect(plan?.row).toMatchObject({
          action: 'plan',
          status: 'planned',
          environment: 'staging',
          commitSha: COMMITS.initial,
          counts: { create: created, update: 0, delete: 0, replace: 0, read: 0 },
        });
        expect(apply?.row).toMatchObject({
          action: 'apply',
          status: 'applied',
          exitCode: 0,
          planRunId: plan?.row?.id,
          planSha256: plan?.row?.planSha256,
          commitSha: COMMITS.initial,
        });
        expect(Object.keys(initial).sort()).toEqual([...services].sort());
        const account = envs.get('staging').config.accountId;
        for (const name of services) {
          expect(initial[name].image).toBe(
            `${account}.dkr.ecr.eu-west-1.amazonaws.com/${repositoryName(ORG, name)}:${defaultTag}`,
          );
        }
      },
      10 * MINUTES,
    );

    test(
      'a deploy that completes: api and worker roll out, api migrates and is verified on the 3rd try; the others are untouched',
      async () => {
        const { initial, completes, digests } = await releaseSteps;
        // Keyless signatures checked first (staging requires an approval), each at the digest moto's ECR names.
        expect(completes.result.stderr).toContain(
          `[deploy] staging: keyless signatures verified: api ${digests.api.get('v1.4.0')}, worker ${digests.worker.get('v1.4.0')}`,
        );
        expect(completes.result.stderr).toMatch(/\[rollout\] api: COMPLETED, running 2\/2, failed tasks 0/);
        expect(completes.result.code).toBe(0);
        expect(completes.outcome).toMatchObject({ exitCode: 0, outcome: 'verified' });
        // Neither had a version in the ledger; admin and admin-frontend run their tag already: no row.
        expect(rowsOf(completes)).toEqual([
          ['api', null, 'v1.4.0', 'verified'],
          ['worker', null, 'v1.4.0', 'deployed'],
        ]);
        // Each row records the digest ECR (moto) names for the tag, with no signature check.
        expect(completes.outcome?.deployments.map((d) => [d.service, d.digest])).toEqual([
          ['api', digests.api.get('v1.4.0')],
          ['worker', digests.worker.get('v1.4.0')],
        ]);
        expect(digests.api.get('v1.4.0')).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(digests.api.get('v1.4.0')).not.toBe(digests.worker.get('v1.4.0'));
        expect(completes.outcome?.migrations).toMatchObject([{ service: 'api', ok: true, exitCode: 0 }]);
        expect(completes.outcome?.verify).toMatchObject([{ service: 'api', ok: true, attempts: 3 }]);
        expect(completes.healthHits).toBe(3);
        for (const name of ['api', 'worker']) {
          expect(completes.running[name].revision).toBe(initial[name].revision + 1);
          expect(completes.running[name].image).toMatch(/:v1\.4\.0$/);
        }
        for (const name of ['admin', 'admin-frontend'])
          expect(completes.running[name]).toEqual(initial[name]);
        expect(completes.hooks).toHaveLength(1);
        expect(completes.hooks[0]).toMatchObject({
          kind: 'success',
          environment: 'staging',
          commitSha: COMMITS.release,
          services: [
            { service: 'api', imageTag: 'v1.4.0', status: 'verified' },
            { service: 'worker', imageTag: 'v1.4.0', status: 'deployed' },
          ],
        });
        expect(JSON.stringify(completes.hooks)).not.toContain(HOOK_SECRET);
      },
      10 * MINUTES,
    );

    test(
      'a deploy of a tag that is not in ECR is refused before anything is claimed: exit 3, a refused row, nothing planned',
      async () => {
        const { completes, notPushed, notPushedRow } = await releaseSteps;
        expect(notPushed.result.code).toBe(3);
        expect(notPushed.outcome).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
        const account = envs.get('staging').config.accountId;
        expect(notPushed.outcome?.reason).toBe(
          `image digest check failed: api (${account}.dkr.ecr.eu-west-1.amazonaws.com/${repositoryName(ORG, 'api')}:v1.6.0): ` +
            'no image has this tag in the repository',
        );
        expect(notPushed.plans).toBe(0);
        expect(notPushed.running).toEqual(completes.running);
        expect(notPushed.hooks).toEqual([]);
        expect(notPushedRow).toMatchObject({
          id: notPushed.outcome?.runId,
          action: 'deploy',
          status: 'refused',
          exitCode: 3,
          commitSha: COMMITS.notPushed,
          errorSummary: notPushed.outcome?.reason,
        });
      },
      10 * MINUTES,
    );

    test(
      'a digest dev never verified is refused by the upstream gate before anything is claimed: exit 3, a refused row, nothing planned',
      async () => {
        const { completes, digests, notVerifiedInDev, notVerifiedInDevRow } = await releaseSteps;
        expect(notVerifiedInDev.result.code).toBe(3);
        expect(notVerifiedInDev.outcome).toMatchObject({ exitCode: 3, outcome: 'refused', deployments: [] });
        expect(notVerifiedInDev.outcome?.reason).toBe(
          'staging requires 1 approval(s) and deploys only digests verified in dev: ' +
            `api (tag v1.5.3, ${digests.api.get('v1.5.3')}): dev has no verified deployment of this tag in the ledger ` +
            '(deploy it to dev first, promote it with --promote-from dev, or give --unverified-reason "...")',
        );
        expect(notVerifiedInDev.plans).toBe(0);
        expect(notVerifiedInDev.running).toEqual(completes.running);
        expect(notVerifiedInDevRow).toMatchObject({
          id: notVerifiedInDev.outcome?.runId,
          status: 'refused',
          commitSha: COMMITS.notVerifiedInDev,
        });
      },
      10 * MINUTES,
    );

    test(
      'a rollout the circuit breaker fails ends rolled_back, re-applies the previous tag, exits 1; the commit is then refused',
      async () => {
        const { completes, rolloutFails, blockedAgain, refusedRow } = await releaseSteps;
        expect(rolloutFails.result.code).toBe(1);
        expect(rolloutFails.outcome).toMatchObject({ exitCode: 1, outcome: 'rolled_back' });
        expect(rowsOf(rolloutFails)).toEqual([['api', 'v1.4.0', `v1.5.0-${ROLLOUT_FAILS}`, 'rolled_back']]);
        expect(rolloutFails.outcome?.reason).toMatch(
          /^rollout api rolled_back: ECS runs \S+ as before the apply: ECS deployment circuit breaker: tasks failed to start\.; rolled back to api v1\.4\.0$/,
        );
        expect(rolloutFails.outcome?.migrations).toEqual([]);
        // The deploy's plan and the rollback's; the rollback re-applied v1.4.0 as a new revision.
        expect(rolloutFails.plans).toBe(2);
        expect(rolloutFails.running.api.image).toMatch(/:v1\.4\.0$/);
        expect(rolloutFails.running.api.revision).toBe(completes.running.api.revision + 2);
        expect(rolloutFails.running.worker).toEqual(completes.running.worker);
        expect(rolloutFails.hooks).toMatchObject([{ kind: 'rollback', environment: 'staging' }]);

        expect(blockedAgain.result.code).toBe(3);
        expect(blockedAgain.outcome).toMatchObject({ exitCode: 3, outcome: 'refused' });
        expect(blockedAgain.outcome?.reason).toMatch(
          new RegExp(
            `^commit ${COMMITS.rolloutFails.slice(0, 12)} is blocked in staging: its deploy \\(run \\S+\\) ended rolled_back`,
          ),
        );
        expect(blockedAgain.plans).toBe(0);
        expect(blockedAgain.running).toEqual(rolloutFails.running);
        expect(blockedAgain.hooks).toEqual([]);
        expect(refusedRow).toMatchObject({
          action: 'deploy',
          status: 'refused',
          commitSha: COMMITS.rolloutFails,
          id: blockedAgain.outcome?.runId,
        });
      },
      10 * MINUTES,
    );

    test(
      'a migration that exits 1 fails the deploy before verify, and rolls back',
      async () => {
        const { rolloutFails, migrationFails } = await releaseSteps;
        expect(migrationFails.result.code).toBe(1);
        expect(migrationFails.outcome).toMatchObject({ exitCode: 1, outcome: 'rolled_back' });
        expect(migrationFails.outcome?.migrations).toMatchObject([
          { service: 'api', ok: false, exitCode: 1 },
        ]);
        expect(migrationFails.outcome?.reason).toMatch(
          /^migration of api failed: exit 1; rolled back to api v1\.4\.0$/,
        );
        // The deploy's check never ran; the one request is the rollback's.
        expect(migrationFails.outcome?.verify).toEqual([]);
        expect(migrationFails.healthHits).toBe(1);
        expect(rowsOf(migrationFails)).toEqual([
          ['api', 'v1.4.0', `v1.5.1-${MIGRATION_EXITS_1}`, 'rolled_back'],
        ]);
        expect(migrationFails.running.api.image).toMatch(/:v1\.4\.0$/);
        expect(migrationFails.running.api.revision).toBe(rolloutFails.running.api.revision + 2);
      },
      10 * MINUTES,
    );

    test(
      'verify against a server answering 503 rolls back; the previous tags stay registered (ACTIVE)',
      async () => {
        const { verifyFails, activeRevisions, completes } = await releaseSteps;
        expect(verifyFails.result.code).toBe(1);
        expect(verifyFails.outcome).toMatchObject({ exitCode: 1, outcome: 'rolled_back' });
        expect(verifyFails.outcome?.verify).toMatchObject([{ service: 'api', ok: false, attempts: 3 }]);
        expect(verifyFails.healthHits).toBe(4);
        expect(rowsOf(verifyFails)).toEqual([['api', 'v1.4.0', 'v1.5.2', 'rolled_back']]);
        expect(verifyFails.running.api.image).toMatch(/:v1\.4\.0$/);
        // What the circuit breaker and the alarms roll back to, and what an operator may pick.
        expect(activeRevisions.api).toEqual(
          Array.from({ length: verifyFails.running.api.revision }, (_, i) => i + 1),
        );
        expect(activeRevisions.worker).toEqual([1, completes.running.worker.revision]);
        expect(activeRevisions.admin).toEqual([verifyFails.running.admin.revision]);
      },
      10 * MINUTES,
    );

    test(
      'gantry status shows what runs in staging: the verified and deployed tags, not the rolled-back ones',
      async () => {
        const { status, verifyFails } = await releaseSteps;
        expect(
          status.map((s) => [s.service, s.imageTag, s.verified, s.commitSha, s.latestTag, s.latestStatus]),
        ).toEqual([
          ['api', 'v1.4.0', true, COMMITS.release, 'v1.5.2', 'rolled_back'],
          ['worker', 'v1.4.0', false, COMMITS.release, 'v1.4.0', 'deployed'],
        ]);
        expect(status[0].latestRunId).toBe(verifyFails.outcome?.runId);
      },
      10 * MINUTES,
    );
  });

  // --- dev: day zero ---------------------------------------------------------------------------------

  /** Where `gantry bootstrap dev` runs: its project, local state, journal and (second run's) ledger. */
  const dayZero: {
    project: string;
    stateDir: string;
    journalFile: string;
    ledgerDir: string;
    stack?: EmulatedStack;
  } = { project: '', stateDir: '', journalFile: '', ledgerDir: '' };

  /** A stack whose local state `gantry bootstrap` moved into the bucket, as the S3 backend then shows it. */
  interface MovedStack {
    readonly pulled: StateDocument;
    readonly local: StateDocument;
    readonly addresses: readonly string[];
    readonly plan: TerraformResult;
    readonly apply: TerraformResult;
  }

  interface DayZeroSteps {
    readonly before: ReadonlyMap<string, readonly string[]>;
    readonly first: CliResult;
    /** The stacks whose local state file is still there after the first run. */
    readonly localLeft: readonly string[];
    readonly bootstrapReplan: TerraformResult;
    readonly s3: ReadonlyMap<string, MovedStack>;
    readonly second: CliResult;
    readonly staleKept: boolean;
    readonly journalIds: readonly string[];
    readonly rows: readonly RunRecord[];
  }

  async function dayZeroScenario(
    dev: EmulatedEnvironment,
    before: ReadonlyMap<string, readonly string[]>,
  ): Promise<DayZeroSteps> {
    const bootstrap = dayZero.stack;
    if (!bootstrap) throw new Error('dev-bootstrap was not prepared (see beforeAll)');
    const run = (ledgerUrl: string) =>
      gantry(
        [
          'bootstrap',
          'dev',
          '--outdir',
          envs.outdir,
          '--no-synth',
          '--state-dir',
          dayZero.stateDir,
          '--journal',
          dayZero.journalFile,
        ],
        cleanEnv(bootstrap.env, { GANTRY_LEDGER_URL: ledgerUrl, GANTRY_ACTOR: 'day-zero-admin' }),
        dayZero.project,
      );
    // Then the S3 backend, as synthesized, pointed at the emulator.
    for (const id of DAY_ZERO_STACKS) pointBackend(envs.outdir, id, dev.server, 's3');
    const first = await run(UNREACHABLE_LEDGER);
    if (first.code !== 0) throw new Error(`gantry bootstrap dev exited ${first.code}:\n${first.stderr}`);
    const localLeft = DAY_ZERO_STACKS.filter((id) =>
      fs.existsSync(path.join(dayZero.stateDir, `${id}.tfstate`)),
    );
    const stacks = new Map([
      ['dev-foundation', dev.foundation],
      ['dev-services', dev.services],
    ]);
    const [bootstrapReplan, ...moved] = await Promise.all([
      bootstrap.plan(),
      ...DAY_ZERO_STACKS.map(async (id): Promise<MovedStack> => {
        const stack = stacks.get(id) as EmulatedStack;
        // The state is the bucket's: pulled through the S3 backend (signed, as the emulator requires).
        const pulled = JSON.parse((await stack.mustRun(['state', 'pull'])).stdout) as StateDocument;
        const local = JSON.parse(
          fs.readFileSync(path.join(dayZero.stateDir, `${id}.tfstate.migrated`), 'utf8'),
        ) as StateDocument;
        const addresses = await stack.stateList();
        const plan = await stack.plan();
        // The saved (empty) plan applied: the lock file and the state write go through the bucket.
        const apply = await stack.mustRun(['apply', '-input=false', '-no-color', 'emulator.tfplan']);
        return { pulled, local, addresses, plan, apply };
      }),
    ]);
    // A stale local state of dev-foundation reappears (a teammate's copy); the ledger is up now.
    const stale = path.join(dayZero.stateDir, 'dev-foundation.tfstate');
    fs.copyFileSync(`${stale}.migrated`, stale);
    const second = await run(`pglite:${dayZero.ledgerDir}`);
    const staleKept = fs.existsSync(stale);
    // Out of the way of the drift scenario, which reads the stack through the S3 backend.
    fs.renameSync(stale, `${stale}.stale`);
    const journalIds = new Journal(dayZero.journalFile).entries().map((e) => e.id);
    const ledger = await openLedger(`pglite:${dayZero.ledgerDir}`);
    let rows: RunRecord[];
    try {
      rows = await ledger.listRuns({ environment: 'dev', limit: 1000 });
    } finally {
      await ledger.close();
    }
    return {
      before,
      first,
      localLeft,
      bootstrapReplan,
      s3: new Map(DAY_ZERO_STACKS.map((id, i) => [id, moved[i]])),
      second,
      staleKept,
      journalIds,
      rows,
    };
  }

  describe('dev, day zero: gantry bootstrap', () => {
    test(
      'bootstraps the empty account and moves both local states into the bucket',
      async () => {
        const { first, before, localLeft } = await dayZeroSteps;
        // Exit 0 and, on stderr, only the ledger that is not there yet (its runs wait in the journal).
        expect({ code: first.code, stderr: first.stderr }).toEqual({
          code: 0,
          stderr: expect.stringMatching(
            /^gantry: warning: the ledger \(PostgreSQL at 127\.0\.0\.1:1\/ledger\) is not reachable yet .*; 4 run\(s\) stay in \S+journal\.jsonl/,
          ),
        });
        expect(first.stdout).toMatch(/\[dev-bootstrap\] plan: \d+ to create/);
        const bucket = stateBucketName(ORG, 'dev', DEV_ACCOUNT);
        for (const id of DAY_ZERO_STACKS) {
          expect(first.stdout).toContain(
            `[${id}] state moved to s3://${bucket}/gantry/${id}.tfstate: ${before.get(id)?.length} resources`,
          );
          expect(fs.existsSync(path.join(dayZero.stateDir, `${id}.tfstate.migrated`))).toBe(true);
        }
        expect(localLeft).toEqual([]);
      },
      10 * MINUTES,
    );

    test(
      'the bootstrap stack re-plans clean',
      async () => {
        const { bootstrapReplan } = await dayZeroSteps;
        expect(plannedChanges(bootstrapReplan.stdout)).toEqual([]);
        expect(bootstrapReplan.status).toBe(0);
      },
      10 * MINUTES,
    );

    test(
      'foundation and services hold the same resources in the S3 backend, plan clean and apply',
      async () => {
        const { s3, before } = await dayZeroSteps;
        const bucket = stateBucketName(ORG, 'dev', DEV_ACCOUNT);
        for (const id of DAY_ZERO_STACKS) {
          const { pulled, local, addresses, plan, apply } = s3.get(id) as MovedStack;
          expect(readStack(envs.outdir, id).terraform?.backend).toHaveProperty('s3.bucket', bucket);
          expect(countStateResources(pulled)).toBe(countStateResources(local));
          expect(addresses).toEqual(before.get(id));
          expect(plan.status).toBe(0);
          expect(apply.stdout).toContain('Apply complete! Resources: 0 added, 0 changed, 0 destroyed.');
        }
      },
      10 * MINUTES,
    );

    test(
      'refuses to overwrite an existing remote state, keeps the local file, says what to do; the journal reaches the ledger once each',
      async () => {
        const { second, staleKept, journalIds, rows } = await dayZeroSteps;
        expect(second.code).toBe(3);
        expect(second.stderr).toMatch(
          /dev-foundation: refused: remote state s3:\/\/\S+\/gantry\/dev-foundation\.tfstate exists already .* is not overwritten; .*move the local file aside; .*terraform state push/,
        );
        expect(staleKept).toBe(true);
        expect(second.stdout).toMatch(/\[journal\] \d+ run\(s\) recorded in the ledger/);
        // Every journal entry is one row, and nothing else was written.
        const journalIdOf = (r: RunRecord) =>
          /^journal:([0-9a-f-]{36});/.exec(r.note ?? r.errorSummary ?? '')?.[1];
        expect(rows.map(journalIdOf).sort()).toEqual([...journalIds].sort());
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
      10 * MINUTES,
    );
  });

  // --- dev: drift ---------------------------------------------------------------------------------

  interface DriftSteps {
    readonly ignored: {
      /** The api's desired count and the image-tags parameter's value, read back after the change. */
      readonly desiredCount: number | undefined;
      readonly parameterWritten: boolean;
      readonly services: Recorded;
      readonly foundation: Recorded;
    };
    readonly gracePeriod: Recorded;
    readonly foundation: Recorded;
  }

  async function driftScenario(dev: EmulatedEnvironment): Promise<DriftSteps> {
    const config = clientConfig(dev.server, dev.config.region);
    const ecs = new ECSClient(config);
    const ssm = new SSMClient(config);
    const ecr = new ECRClient(config);
    const iam = new IAMClient(config);
    const kms = new KMSClient(config);
    const cluster = clusterName(ORG, 'dev');
    const drift = (stack: EmulatedStack) => recorded('dev', stack, ['drift', stack.id], COMMITS.initial);
    try {
      // What Gantry leaves to others: autoscaling moved the api to 3 tasks (within 1..4), a dispatch
      // wrote tags for its commit into the image-tags parameter.
      await ecs.send(new UpdateServiceCommand({ cluster, service: 'api', desiredCount: 3 }));
      const parameter = imageTagsParameterName(ORG, 'dev');
      const value = JSON.stringify({ commit: COMMITS.release, tags: { api: 'v1.4.1' } });
      await ssm.send(
        new PutParameterCommand({ Name: parameter, Value: value, Type: 'String', Overwrite: true }),
      );
      const [api] =
        (await ecs.send(new DescribeServicesCommand({ cluster, services: ['api'] }))).services ?? [];
      const read = await ssm.send(new GetParameterCommand({ Name: parameter }));
      const ignored = {
        desiredCount: api?.desiredCount,
        parameterWritten: read.Parameter?.Value === value,
        services: await drift(dev.services),
        foundation: await drift(dev.foundation),
      };

      await ecs.send(
        new UpdateServiceCommand({ cluster, service: 'api', healthCheckGracePeriodSeconds: 300 }),
      );
      const gracePeriod = await drift(dev.services);

      const repository = repositoryName(ORG, 'api');
      const { repositories } = await ecr.send(
        new DescribeRepositoriesCommand({ repositoryNames: [repository] }),
      );
      await ecr.send(
        new TagResourceCommand({
          resourceArn: repositories?.[0]?.repositoryArn,
          tags: [{ Key: 'owner', Value: 'someone-by-hand' }],
        }),
      );
      await iam.send(new UpdateRoleCommand({ RoleName: `${ORG}-dev-gh-apply`, MaxSessionDuration: 7200 }));
      const key = await kms.send(new DescribeKeyCommand({ KeyId: `alias/${ORG}-dev-foundation` }));
      await kms.send(new DisableKeyRotationCommand({ KeyId: key.KeyMetadata?.KeyId }));
      return { ignored, gracePeriod, foundation: await drift(dev.foundation) };
    } finally {
      for (const client of [ecs, ssm, ecr, iam, kms]) client.destroy();
    }
  }

  describe('dev: drift made through the AWS API', () => {
    const noChanges = { status: 'no_changes', exitCode: 0 };
    /** The row of a drift run that found `update` resources changed, and nothing else. */
    const drifted = (update: number) => ({
      action: 'drift',
      status: 'drifted',
      exitCode: 2,
      counts: { create: 0, update, delete: 0, replace: 0, read: 0 },
    });

    test(
      'what Gantry leaves to others on purpose is no drift: desired count under autoscaling, the image-tags parameter',
      async () => {
        const { ignored } = await driftSteps;
        // The changes are there, so "no drift" is Terraform ignoring them.
        expect(ignored.desiredCount).toBe(3);
        expect(ignored.parameterWritten).toBe(true);
        for (const run of [ignored.services, ignored.foundation]) {
          expect(run.result.stdout).toContain('No changes');
          expect(run.result.code).toBe(0);
          expect(run.row).toMatchObject({ action: 'drift', ...noChanges });
        }
      },
      10 * MINUTES,
    );

    test(
      'a health-check grace period changed in ECS is drift on the service',
      async () => {
        const { gracePeriod } = await driftSteps;
        expect(gracePeriod.result.code).toBe(2);
        const service = addressOf(envs.outdir, 'dev-services', 'aws_ecs_service', 'name', 'api');
        expect(gracePeriod.result.stdout).toContain(`~ ${service} (update)`);
        expect(gracePeriod.result.stdout).toMatch(/health_check_grace_period_seconds: 300 -> 60/);
        expect(gracePeriod.row).toMatchObject(drifted(1));
      },
      10 * MINUTES,
    );

    test(
      "an ECR repository tag, a role's maximum session duration and KMS key rotation changed out of band are drift",
      async () => {
        const { foundation } = await driftSteps;
        expect(foundation.result.code).toBe(2);
        const stackId = 'dev-foundation';
        const stdout = foundation.result.stdout;
        const changed: Array<[string, RegExp]> = [
          [
            addressOf(envs.outdir, stackId, 'aws_ecr_repository', 'name', repositoryName(ORG, 'api')),
            /tags: \{"owner":"someone-by-hand"\} -> \{\}/,
          ],
          [
            addressOf(envs.outdir, stackId, 'aws_iam_role', 'name', `${ORG}-dev-gh-apply`),
            /max_session_duration: 7200 -> 3600/,
          ],
          // gantry's redaction hides the values: `key` is in its list of secret-looking names.
          [addressOf(envs.outdir, stackId, 'aws_kms_key', '', undefined), /enable_key_rotation: /],
        ];
        for (const [address, attribute] of changed) {
          expect(stdout).toContain(`~ ${address} (update)`);
          expect(stdout).toMatch(attribute);
        }
        expect(foundation.row).toMatchObject(drifted(changed.length));
      },
      10 * MINUTES,
    );
  });

  // --- prod (or staging): prevent_destroy --------------------------------------------------------

  interface DestroyStep {
    readonly stateBefore: readonly string[];
    readonly destroy: TerraformResult;
    readonly stateAfter: readonly string[];
    /** Every KMS alias, log group, ECR repository, IAM role and ECS service of the stack, as the API sees it. */
    readonly found: {
      readonly keyStates: readonly (string | undefined)[];
      readonly missingLogGroups: readonly string[];
      readonly repositories: readonly string[];
      readonly roles: readonly string[];
      readonly serviceStatuses: readonly (string | undefined)[];
    };
    readonly expected: {
      readonly repositories: readonly string[];
      readonly roles: readonly string[];
      readonly services: readonly string[];
    };
  }

  async function destroyScenario(env: EmulatedEnvironment): Promise<Map<string, DestroyStep>> {
    const config = clientConfig(env.server, env.config.region);
    const kms = new KMSClient(config);
    const logs = new CloudWatchLogsClient(config);
    const ecr = new ECRClient(config);
    const iam = new IAMClient(config);
    const ecs = new ECSClient(config);
    const names = (stackId: string, type: string) =>
      Object.values(readStack(envs.outdir, stackId).resource?.[type] ?? {}).map((r) => r.name as string);
    const step = async (stack: EmulatedStack): Promise<DestroyStep> => {
      const stateBefore = await stack.stateList();
      const destroy = await stack.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
      const stateAfter = await stack.stateList();
      const keyStates = await Promise.all(
        names(stack.id, 'aws_kms_alias').map(
          async (alias) => (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.KeyState,
        ),
      );
      const missingLogGroups: string[] = [];
      for (const name of names(stack.id, 'aws_cloudwatch_log_group')) {
        const found = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
        if (!found.logGroups?.some((g) => g.logGroupName === name)) missingLogGroups.push(name);
      }
      const expected = {
        repositories: names(stack.id, 'aws_ecr_repository'),
        roles: names(stack.id, 'aws_iam_role'),
        services: names(stack.id, 'aws_ecs_service'),
      };
      const repositories =
        expected.repositories.length === 0
          ? []
          : (
              (
                await ecr.send(
                  new DescribeRepositoriesCommand({ repositoryNames: [...expected.repositories] }),
                )
              ).repositories ?? []
            ).map((r) => r.repositoryName as string);
      const roles = await Promise.all(
        expected.roles.map(
          async (role) => (await iam.send(new GetRoleCommand({ RoleName: role }))).Role?.RoleName as string,
        ),
      );
      const services = [...expected.services];
      const serviceStatuses =
        services.length === 0
          ? []
          : (
              (await ecs.send(new DescribeServicesCommand({ cluster: clusterName(ORG, env.name), services })))
                .services ?? []
            ).map((s) => s.status);
      return {
        stateBefore,
        destroy,
        stateAfter,
        found: { keyStates, missingLogGroups, repositories, roles, serviceStatuses },
        expected,
      };
    };
    try {
      const [foundation, services] = await Promise.all([step(env.foundation), step(env.services)]);
      return new Map([
        [env.foundation.id, foundation],
        [env.services.id, services],
      ]);
    } finally {
      for (const client of [kms, logs, ecr, iam, ecs]) client.destroy();
    }
  }

  describe(`${DESTROYED}: prevent_destroy`, () => {
    test.each([`${DESTROYED}-foundation`, `${DESTROYED}-services`])(
      'terraform destroy of %s is refused and deletes nothing',
      async (stackId) => {
        const step = (await destroySteps).get(stackId) as DestroyStep;
        expect(step.destroy.status).toBe(1);
        expect(step.destroy.stderr).toContain('Instance cannot be destroyed');
        expect(step.destroy.stderr).toContain('lifecycle.prevent_destroy');
        expect(step.stateAfter).toEqual(step.stateBefore);
        // Asked through the API: the keys are not scheduled for deletion, the rest still exists.
        expect(step.found.keyStates.length).toBeGreaterThan(0);
        expect(step.found.keyStates.every((state) => state === 'Enabled')).toBe(true);
        expect(step.found.missingLogGroups).toEqual([]);
        expect([...step.found.repositories].sort()).toEqual([...step.expected.repositories].sort());
        expect(step.found.roles).toEqual(step.expected.roles);
        expect(step.found.serviceStatuses).toEqual(step.expected.services.map(() => 'ACTIVE'));
      },
      10 * MINUTES,
    );
  });
});
