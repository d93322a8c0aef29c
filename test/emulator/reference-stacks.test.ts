/**
 * The reference configuration's AWS stacks applied for real, against moto (one server per account,
 * see harness.ts): every stack applied applies and a second plan shows no changes. Which
 * environments are applied: one stack of each shape (see `stackShape` in ../util: the six reference
 * stacks are three shapes, prod's two are staging's) and the environments the scenarios need, dev and
 * staging; `GANTRY_EMULATOR_ENVIRONMENTS=dev,staging,prod` applies the ones it names. On that one
 * apply, each environment then carries its scenarios, so nothing is applied twice:
 * - staging: its services stack is applied through `gantry plan` + `gantry apply` (ledger rows), then
 *   released with a new image tag and rolled back, each checked through the ECS API;
 * - dev: changes made out of band through the AWS API make `gantry drift` exit 2 with a `drifted`
 *   row; the settings Gantry ignores on purpose do not;
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
import { referenceConfig } from '../../environments';
import { clusterName, imageTagsParameterName, repositoryName } from '../../lib/core/naming';
import type { RunRecord } from '../../lib/runtime/ledger';
import { cleanEnv } from '../runtime/env';
import { gantry, tempDir, type CliResult } from '../runtime/helpers';
import { AWS_STACKS, distinctShapes, readStack, synthApp } from '../util';
import {
  describeWithEmulator,
  EmulatedEnvironments,
  type EmulatedEnvironment,
  type EmulatedStack,
  type TerraformResult,
} from './harness';
import { clientConfig } from './seed';

const MINUTES = 60_000;
const ORG = referenceConfig.organization.name;

/** The services stack applied through the CLI (the release scenario); the others with `terraform apply`. */
const RELEASED = 'staging-services';

const COMMITS = {
  initial: 'c0ffee000000000000000000000000000000e001',
  release: 'c0ffee000000000000000000000000000000e002',
  rollback: 'c0ffee000000000000000000000000000000e003',
};

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
    envs = await EmulatedEnvironments.start(referenceConfig, environments);
    // Foundation and services share no reference (the services pass the foundation's roles by
    // computed ARN), so all of them apply at once.
    for (const env of envs.all) {
      for (const stack of [env.foundation, env.services]) {
        const done = async () => {
          if (stack.id !== RELEASED) {
            await stack.apply();
            return { replan: await stack.plan() };
          }
          const plan = await recorded('staging', stack, ['plan', stack.id], COMMITS.initial);
          const apply = await recorded('staging', stack, ['apply', stack.id], COMMITS.initial);
          return { plan, apply, replan: await stack.plan() };
        };
        applied.set(stack.id, started(done()));
      }
    }
    const after = (...stackIds: string[]) => Promise.all(stackIds.map((id) => outcome(id)));
    releaseSteps = started(after(RELEASED).then(() => releaseScenario(envs.get('staging'))));
    driftSteps = started(after('dev-foundation', 'dev-services').then(() => driftScenario(envs.get('dev'))));
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
    await Promise.allSettled([...applied.values(), releaseSteps, driftSteps, destroySteps]);
    await envs?.dispose();
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

  // --- staging: release and rollback by image tag ---------------------------------------------------

  interface ReleaseSteps {
    readonly services: readonly string[];
    readonly defaultTag: string;
    readonly initial: Record<string, Running>;
    readonly newTag: {
      readonly plan: Recorded;
      readonly apply: Recorded;
      readonly running: Record<string, Running>;
    };
    readonly rollback: {
      readonly plan: Recorded;
      readonly apply: Recorded;
      readonly running: Record<string, Running>;
      /** ACTIVE revisions per service family after the rollback. */
      readonly activeRevisions: Record<string, number[]>;
    };
  }

  async function releaseScenario(staging: EmulatedEnvironment): Promise<ReleaseSteps> {
    const ecs = new ECSClient(clientConfig(staging.server, staging.config.region));
    const cluster = clusterName(ORG, 'staging');
    const services = staging.config.services.map((s) => s.name);
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
    const release = async (commit: string, vars: readonly string[]) => {
      const stack = staging.services;
      const plan = await recorded(
        'staging',
        stack,
        ['plan', stack.id, ...vars.flatMap((v) => ['--var', v])],
        commit,
      );
      if (plan.result.code !== 0)
        throw new Error(`gantry plan exited ${plan.result.code}:\n${plan.result.stderr}`);
      const apply = await recorded('staging', stack, ['apply', stack.id], commit);
      return { plan, apply, running: await running() };
    };
    try {
      const defaultTag = staging.config.services[0].imageTag;
      const initial = await running();
      const newTag = await release(COMMITS.release, ['image_tag_api=v1.4.0', 'image_tag_worker=v1.4.0']);
      const rollback = await release(COMMITS.rollback, [
        `image_tag_api=${defaultTag}`,
        `image_tag_worker=${defaultTag}`,
      ]);
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
      return { services, defaultTag, initial, newTag, rollback: { ...rollback, activeRevisions } };
    } finally {
      ecs.destroy();
    }
  }

  describe('staging: release and rollback by image tag through the CLI', () => {
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
      'a new image tag for api and worker moves those two services only',
      async () => {
        const { initial, newTag } = await releaseSteps;
        expect(newTag.plan.row).toMatchObject({ status: 'planned', commitSha: COMMITS.release });
        expect(newTag.plan.row?.note).toContain('image_tag_api=v1.4.0 (--var)');
        expect(newTag.apply.result.code).toBe(0);
        expect(newTag.apply.row).toMatchObject({ status: 'applied', planRunId: newTag.plan.row?.id });
        for (const name of ['api', 'worker']) {
          expect(newTag.running[name].revision).toBe(initial[name].revision + 1);
          expect(newTag.running[name].image).toMatch(/:v1\.4\.0$/);
        }
        for (const name of ['admin', 'admin-frontend']) expect(newTag.running[name]).toEqual(initial[name]);
      },
      10 * MINUTES,
    );

    test(
      'a rollback to the previous tag registers a new revision and leaves the previous ones ACTIVE',
      async () => {
        const { defaultTag, newTag, rollback } = await releaseSteps;
        expect(rollback.apply.result.code).toBe(0);
        expect(rollback.apply.row).toMatchObject({ status: 'applied', commitSha: COMMITS.rollback });
        for (const name of ['api', 'worker']) {
          expect(rollback.running[name].revision).toBe(newTag.running[name].revision + 1);
          expect(rollback.running[name].image.endsWith(`:${defaultTag}`)).toBe(true);
          // What the circuit breaker and the alarms roll back to, and what an operator may pick.
          expect(rollback.activeRevisions[name]).toEqual(
            Array.from({ length: rollback.running[name].revision }, (_, i) => i + 1),
          );
        }
        for (const name of ['admin', 'admin-frontend']) {
          expect(rollback.running[name]).toEqual(newTag.running[name]);
          expect(rollback.activeRevisions[name]).toEqual([rollback.running[name].revision]);
        }
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
