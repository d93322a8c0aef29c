/**
 * Follows ECS service deployments after an apply, the way a release pipeline waits for "live": the
 * deployment running the task definition the apply set (the target) must reach rollout state
 * COMPLETED with running = desired. It ends `failed` when ECS marks it FAILED, `rolled_back` when the
 * circuit breaker (or a deployment alarm) put another task definition back as PRIMARY, `timeout`
 * when neither happens in time. Unknown is never success: a service that cannot be described fails.
 */
import type { Deployment, ECSClient, Service } from '@aws-sdk/client-ecs';
import { splitImage } from '../review/containers';
import { ecsSdk } from './ecs';

export type RolloutState = 'completed' | 'failed' | 'rolled_back' | 'timeout';

export interface RolloutTarget {
  /** Gantry's service name (the ledger's). */
  readonly service: string;
  /** The ECS service's name in the cluster. */
  readonly ecsService: string;
  /** The task definition the apply set; when unknown, the PRIMARY deployment's at the first look. */
  readonly taskDefinition?: string | null;
  /**
   * The PRIMARY task definition before the apply (`primaryTaskDefinitions`). When it is PRIMARY at the
   * first look, the new deployment was rolled back already (or the apply did not change the service):
   * never taken for the new version.
   */
  readonly before?: string | null;
  /**
   * The ECS deployment to follow, by id (`ecs-svc/...`), when the release forced one
   * (`forceNewDeployments`): it runs the same task definition as the one it replaces, so only its id
   * tells it apart. Another deployment PRIMARY means it was rolled back. Takes precedence over
   * `taskDefinition` and `before`.
   */
  readonly deploymentId?: string | null;
}

export interface RolloutOutcome {
  readonly service: string;
  readonly state: RolloutState;
  readonly reason: string;
  readonly taskDefinition: string | null;
  readonly running: number;
  readonly desired: number;
  readonly failedTasks: number;
}

export interface PollOptions {
  /** @default 15000 */
  readonly pollIntervalMs?: number;
  /** @default 1800000 (30 minutes) */
  readonly timeoutMs?: number;
  readonly progress?: (line: string) => void;
  /** For tests: the clock and the wait. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_POLL_INTERVAL_MS = 15_000;
export const DEFAULT_ROLLOUT_TIMEOUT_MS = 30 * 60_000;

export const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls `step` every interval until it returns a value or the time runs out (then `onTimeout`). */
export async function poll<T>(
  options: PollOptions,
  defaults: { interval: number; timeout: number },
  step: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepMs;
  const deadline = now() + (options.timeoutMs ?? defaults.timeout);
  for (;;) {
    const done = await step();
    if (done !== undefined) return done;
    if (now() >= deadline) return undefined;
    await sleep(options.pollIntervalMs ?? defaults.interval);
  }
}

const shortTd = (arn: string | null | undefined) =>
  arn ? arn.replace(/^.*:task-definition\//, '') : 'unknown';

/** Follows every target until each is completed, failed, rolled back or timed out. */
export async function followRollouts(
  ecs: ECSClient,
  cluster: string,
  targets: readonly RolloutTarget[],
  options: PollOptions = {},
): Promise<RolloutOutcome[]> {
  const expected = new Map(targets.map((t) => [t.service, t.taskDefinition ?? null]));
  const done = new Map<string, RolloutOutcome>();
  const last = new Map<string, RolloutOutcome>();
  const lines = new Map<string, string>();
  await poll(
    options,
    { interval: DEFAULT_POLL_INTERVAL_MS, timeout: DEFAULT_ROLLOUT_TIMEOUT_MS },
    async () => {
      const open = targets.filter((t) => !done.has(t.service));
      for (let i = 0; i < open.length; i += 10) {
        const batch = open.slice(i, i + 10);
        const out = await ecs.send(
          new (ecsSdk().DescribeServicesCommand)({ cluster, services: batch.map((t) => t.ecsService) }),
        );
        for (const target of batch) {
          const service = out.services?.find((s) => s.serviceName === target.ecsService);
          const outcome = judge(target, service, expected);
          last.set(target.service, outcome);
          const line = `[rollout] ${target.service}: ${outcome.reason}`;
          if (lines.get(target.service) !== line) options.progress?.(line);
          lines.set(target.service, line);
          if (outcome.state !== 'timeout') done.set(target.service, outcome);
        }
      }
      return done.size === targets.length ? true : undefined;
    },
  );
  return targets.map((t) => {
    const outcome = done.get(t.service);
    if (outcome) return outcome;
    const seen = last.get(t.service);
    const timedOut: RolloutOutcome = {
      service: t.service,
      state: 'timeout',
      reason: `timed out: ${seen?.reason ?? 'never described'}`,
      taskDefinition: seen?.taskDefinition ?? null,
      running: seen?.running ?? 0,
      desired: seen?.desired ?? 0,
      failedTasks: seen?.failedTasks ?? 0,
    };
    options.progress?.(`[rollout] ${t.service}: ${timedOut.reason}`);
    return timedOut;
  });
}

/** One look at one service: a final outcome, or `timeout` meaning "not yet". */
function judge(
  target: RolloutTarget,
  service: Service | undefined,
  expected: Map<string, string | null>,
): RolloutOutcome {
  const base = { service: target.service, running: 0, desired: 0, failedTasks: 0, taskDefinition: null };
  if (!service) {
    return {
      ...base,
      state: 'failed',
      reason: `ECS service ${target.ecsService} was not found in the cluster`,
    };
  }
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  if (target.deploymentId) {
    const ours = deployments.find((d) => d.id === target.deploymentId);
    const replaced = primary !== undefined && primary.id !== target.deploymentId;
    return assess(target, service, ours, ours?.taskDefinition ?? null, replaced ? primary : undefined);
  }
  if (expected.get(target.service) === null && primary?.taskDefinition) {
    if (target.before && primary.taskDefinition === target.before) {
      const other = deployments.find((d) => d.taskDefinition !== target.before);
      return {
        ...base,
        taskDefinition: other?.taskDefinition ?? null,
        running: primary.runningCount ?? 0,
        desired: primary.desiredCount ?? 0,
        failedTasks: other?.failedTasks ?? 0,
        state: 'rolled_back',
        reason:
          `ECS runs ${shortTd(primary.taskDefinition)} as before the apply: ` +
          (other?.rolloutStateReason ??
            newestEvent(service) ??
            'the new deployment was rolled back, or the apply did not change the service'),
      };
    }
    expected.set(target.service, primary.taskDefinition);
  }
  const wanted = expected.get(target.service) ?? null;
  const ours: Deployment | undefined = deployments.find((d) => d.taskDefinition === wanted);
  const replaced = primary && wanted && primary.taskDefinition !== wanted ? primary : undefined;
  return assess(target, service, ours, wanted, replaced);
}

/**
 * The state of `ours` (the deployment running `wanted`): rolled back when `replacedBy` (another
 * deployment) is PRIMARY again, failed, completed, or `timeout` meaning "not yet".
 */
function assess(
  target: RolloutTarget,
  service: Service,
  ours: Deployment | undefined,
  wanted: string | null,
  replacedBy: Deployment | undefined,
): RolloutOutcome {
  const deployments = service.deployments ?? [];
  const facts = {
    service: target.service,
    taskDefinition: wanted,
    running: ours?.runningCount ?? 0,
    desired: ours?.desiredCount ?? service.desiredCount ?? 0,
    failedTasks: ours?.failedTasks ?? 0,
  };
  const counts = `running ${facts.running}/${facts.desired}, failed tasks ${facts.failedTasks} (${shortTd(wanted)})`;
  if (replacedBy) {
    // Another deployment is PRIMARY again: the circuit breaker or an alarm rolled ours back.
    const why = ours?.rolloutStateReason ?? newestEvent(service) ?? 'the deployment is gone';
    return {
      ...facts,
      state: 'rolled_back',
      reason: `rolled back to ${shortTd(replacedBy.taskDefinition)}: ${why}`,
    };
  }
  if (!ours)
    return {
      ...facts,
      state: 'failed',
      reason: target.deploymentId
        ? `ECS deployment ${target.deploymentId} is gone`
        : `no deployment runs ${shortTd(wanted)}`,
    };
  if (ours.rolloutState === 'FAILED') {
    return {
      ...facts,
      state: 'failed',
      reason: `FAILED, ${counts}: ${ours.rolloutStateReason ?? 'no reason given'}`,
    };
  }
  const settled = facts.running === facts.desired && deployments.length === 1;
  if (ours.rolloutState === 'COMPLETED' || (ours.rolloutState === undefined && settled)) {
    if (facts.running === facts.desired)
      return { ...facts, state: 'completed', reason: `COMPLETED, ${counts}` };
  }
  return { ...facts, state: 'timeout', reason: `${ours.rolloutState ?? 'IN_PROGRESS'}, ${counts}` };
}

function newestEvent(service: Service): string | undefined {
  return service.events?.[0]?.message;
}

/** Each service's PRIMARY task definition now (before an apply); null for a service that does not exist yet. */
export async function primaryTaskDefinitions(
  ecs: ECSClient,
  cluster: string,
  targets: readonly { service: string; ecsService: string }[],
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < targets.length; i += 10) {
    const batch = targets.slice(i, i + 10);
    const described = await ecs.send(
      new (ecsSdk().DescribeServicesCommand)({ cluster, services: batch.map((t) => t.ecsService) }),
    );
    for (const t of batch) {
      const service = described.services?.find((s) => s.serviceName === t.ecsService);
      out.set(t.service, service?.deployments?.find((d) => d.status === 'PRIMARY')?.taskDefinition ?? null);
    }
  }
  return out;
}

/**
 * Starts a new ECS deployment of each service with its current task definition (`UpdateService`
 * `forceNewDeployment`): new tasks, which read the service's secrets and configuration again. Returns
 * each service's new PRIMARY deployment id, to follow; a response without one throws (never guessed).
 */
export async function forceNewDeployments(
  ecs: ECSClient,
  cluster: string,
  targets: readonly { service: string; ecsService: string }[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of targets) {
    const updated = await ecs.send(
      new (ecsSdk().UpdateServiceCommand)({ cluster, service: t.ecsService, forceNewDeployment: true }),
    );
    const id = updated.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
    if (!id)
      throw new Error(
        `ECS UpdateService ${t.ecsService} (forceNewDeployment) returned no PRIMARY deployment id to follow`,
      );
    out.set(t.service, id);
  }
  return out;
}

/** The tag of `<repository>:<tag>` (`splitImage`); null for an image named by digest or without a tag. */
function imageTagOf(image: string | null | undefined): string | null {
  if (!image) return null;
  const { tag } = splitImage(image);
  return tag.startsWith('@') || tag === '(none)' ? null : tag;
}

/**
 * Per service, the image tag of its first container in the given task definition (what ECS runs as
 * PRIMARY); null when there is none or it cannot be read.
 */
export async function runningImageTags(
  ecs: ECSClient,
  taskDefinitions: ReadonlyMap<string, string | null>,
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const [service, arn] of taskDefinitions) {
    if (!arn) {
      out.set(service, null);
      continue;
    }
    try {
      const described = await ecs.send(new (ecsSdk().DescribeTaskDefinitionCommand)({ taskDefinition: arn }));
      out.set(service, imageTagOf(described?.taskDefinition?.containerDefinitions?.[0]?.image));
    } catch {
      out.set(service, null);
    }
  }
  return out;
}
