/**
 * Runs a service's one-off migration task: its migration task definition (family
 * `<prefix>-<service>-migrate`, the latest ACTIVE revision), on Fargate, with the network settings of
 * the service itself (read from ECS, so the task reaches what the service reaches), until it stops.
 * The result is the container's exit code; a task that stops without one (it never started) fails.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { ecsSdk } from './ecs';
import { poll, type PollOptions } from './rollout';

export interface MigrationTarget {
  readonly service: string;
  readonly ecsService: string;
  readonly taskDefinition: string;
}

export interface MigrationResult {
  readonly service: string;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly taskArn: string | null;
  readonly reason: string;
}

export const DEFAULT_MIGRATION_TIMEOUT_MS = 30 * 60_000;

export async function runMigration(
  ecs: ECSClient,
  cluster: string,
  target: MigrationTarget,
  options: PollOptions = {},
): Promise<MigrationResult> {
  const fail = (
    reason: string,
    taskArn: string | null = null,
    exitCode: number | null = null,
  ): MigrationResult => ({
    service: target.service,
    ok: false,
    exitCode,
    taskArn,
    reason,
  });
  const described = await ecs.send(
    new (ecsSdk().DescribeServicesCommand)({ cluster, services: [target.ecsService] }),
  );
  const network = described.services?.[0]?.networkConfiguration;
  if (!network?.awsvpcConfiguration?.subnets?.length) {
    return fail(
      `cannot read the network settings of ECS service ${target.ecsService}: the migration did not run`,
    );
  }
  const started = await ecs.send(
    new (ecsSdk().RunTaskCommand)({
      cluster,
      taskDefinition: target.taskDefinition,
      launchType: 'FARGATE',
      networkConfiguration: network,
      startedBy: 'gantry-migrate',
      count: 1,
    }),
  );
  const taskArn = started.tasks?.[0]?.taskArn ?? null;
  if (!taskArn) {
    const why = started.failures
      ?.map((f) => `${f.reason ?? 'failure'}${f.detail ? ` (${f.detail})` : ''}`)
      .join('; ');
    return fail(`RunTask started no task: ${why || 'no reason given'}`);
  }
  options.progress?.(
    `[migrate] ${target.service}: started ${taskArn.replace(/^.*\//, '')} (${target.taskDefinition})`,
  );
  const stopped = await poll(
    options,
    { interval: 5_000, timeout: DEFAULT_MIGRATION_TIMEOUT_MS },
    async () => {
      const out = await ecs.send(new (ecsSdk().DescribeTasksCommand)({ cluster, tasks: [taskArn] }));
      const task = out.tasks?.[0];
      return task?.lastStatus === 'STOPPED' ? task : undefined;
    },
  );
  if (!stopped) return fail(`the migration task ${taskArn} did not stop in time`, taskArn);
  const container = stopped.containers?.find((c) => c.name === 'migrate') ?? stopped.containers?.[0];
  const exitCode = container?.exitCode ?? null;
  if (exitCode === null) {
    return fail(
      `the migration task stopped without an exit code: ${stopped.stoppedReason ?? 'no reason given'}`,
      taskArn,
    );
  }
  const result: MigrationResult = {
    service: target.service,
    ok: exitCode === 0,
    exitCode,
    taskArn,
    reason: exitCode === 0 ? 'exit 0' : `exit ${exitCode}${container?.reason ? `: ${container.reason}` : ''}`,
  };
  options.progress?.(`[migrate] ${target.service}: ${result.reason}`);
  return result;
}
