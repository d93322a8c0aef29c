/**
 * What a Fargate service runs and how it scales and rolls out: the settings a `FargateService` takes and
 * the configuration's `services[]` entries hold, checked by one function for both
 * (`fargateServiceSettingsProblems`), so the same value gets the same answer at the construct path and at
 * the configuration path.
 */
import { fargateMemoryOptions, FARGATE_MEMORY_BY_CPU } from '../core/aws-limits';
import { FieldProblems, show, type FieldProblem } from '../core/errors';
import { secretLikeWord } from '../core/secret-names';
import { isKnown } from '../core/tokens';
import { isSecretArn } from './private/names';

export interface ServiceRouting {
  /** Listener rule priority, unique per listener (1..50000). */
  readonly priority: number;
  /** @default none */
  readonly hostHeaders?: readonly string[];
  /** @default none */
  readonly pathPatterns?: readonly string[];
}

export interface ServiceCognito {
  readonly userPoolArn: string;
  readonly userPoolClientId: string;
  /** The user pool's domain prefix (or custom domain). */
  readonly userPoolDomain: string;
}

/**
 * Deployment alarms of a service with a port: when one is in alarm during a deployment, ECS rolls the
 * deployment back.
 */
export interface ServiceAlarmThresholds {
  /** Target 5xx responses as a percentage of all requests (0 < x <= 100). @default 5 */
  readonly errorRatePercent?: number;
  /** Minutes the 5xx rate must stay above the threshold (1..1440). @default 2 */
  readonly errorRateMinutes?: number;
  /** p90 target response time threshold, in seconds (> 0). @default 2 */
  readonly latencyP90Seconds?: number;
  /** Minutes the p90 latency must stay above the threshold (1..1440). @default 5 */
  readonly latencyMinutes?: number;
}

/**
 * The deployment alarm of a worker (a service without a port, which has no load-balancer metrics):
 * Container Insights' running tasks below the desired count for `belowDesiredMinutes` minutes.
 * Wired into the service's deployment alarms with rollback, beside the circuit breaker.
 */
export interface WorkerAlarmThresholds {
  /** Minutes running tasks must stay below desired (1..1440). @default 3 */
  readonly belowDesiredMinutes?: number;
}

export interface ServiceAutoscaling {
  readonly minCount: number;
  readonly maxCount: number;
}

export interface FargateServiceSettings {
  /** Fargate CPU units (256, 512, 1024, ...). */
  readonly cpu: number;
  /** Fargate memory in MiB, valid for `cpu`. */
  readonly memoryMiB: number;
  /** Container port. @default none: a worker, with no load balancer */
  readonly port?: number;
  /** Target-group health check path (services with a port). @default '/' */
  readonly healthCheckPath?: string;
  /** @default 2 */
  readonly desiredCount?: number;
  /** Autoscaling bounds. @default min = desiredCount, max = 2 x desiredCount */
  readonly autoscaling?: ServiceAutoscaling;
  /** Listener rule; required for services with a port. @default none */
  readonly routing?: ServiceRouting;
  /** Cognito authentication before forwarding (services with a port). @default none */
  readonly cognito?: ServiceCognito;
  /** Container command. @default the image's */
  readonly command?: readonly string[];
  /** Plain environment variables; a secret-looking name fails. @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Secrets: variable name to a Secrets Manager secret ARN or an SSM parameter ARN. @default none */
  readonly secrets?: Readonly<Record<string, string>>;
  /** A one-off migration task definition running the same image. @default none */
  readonly migration?: { readonly command: readonly string[] };
  /** Deployment alarms (services with a port). @default 5% 5xx for 2 minutes, p90 2 s for 5 minutes */
  readonly alarms?: ServiceAlarmThresholds;
  /** Deployment alarm of a worker (no port). @default running tasks below desired for 3 minutes */
  readonly workerAlarms?: WorkerAlarmThresholds;
  /** Average CPU the service scales to hold, in percent. @default 60 */
  readonly cpuTargetPercent?: number;
  /** ALB requests per task per minute the service scales to hold (services with a port). @default 1000 */
  readonly requestsPerTarget?: number;
  /** Seconds ECS ignores failing load-balancer health checks of a new task. @default 60 */
  readonly healthCheckGracePeriodSeconds?: number;
  /** @default 100 */
  readonly minHealthyPercent?: number;
  /** @default 200 */
  readonly maxPercent?: number;
  /**
   * ECS Exec (`aws ecs execute-command`) into the containers. The task role needs the permissions
   * (`ServiceRoles.grantExecuteCommand`) and the cluster an ECS Exec configuration (`ServiceCluster`).
   * @default false
   */
  readonly enableExecuteCommand?: boolean;
}

export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** The settings with every default filled in. */
export interface ResolvedServiceSettings {
  readonly desiredCount: number;
  readonly minCount: number;
  readonly maxCount: number;
  readonly healthCheckPath: string;
  readonly cpuTargetPercent: number;
  readonly requestsPerTarget: number;
  readonly healthCheckGracePeriodSeconds: number;
  readonly minHealthyPercent: number;
  readonly maxPercent: number;
  readonly alarms: Required<ServiceAlarmThresholds>;
  readonly workerAlarms: Required<WorkerAlarmThresholds>;
}

export function resolveServiceSettings(s: FargateServiceSettings): ResolvedServiceSettings {
  const desiredCount = s.desiredCount ?? 2;
  return {
    desiredCount,
    minCount: s.autoscaling?.minCount ?? desiredCount,
    maxCount: s.autoscaling?.maxCount ?? Math.max(1, 2 * desiredCount),
    healthCheckPath: s.healthCheckPath ?? '/',
    cpuTargetPercent: s.cpuTargetPercent ?? 60,
    requestsPerTarget: s.requestsPerTarget ?? 1000,
    healthCheckGracePeriodSeconds: s.healthCheckGracePeriodSeconds ?? 60,
    minHealthyPercent: s.minHealthyPercent ?? 100,
    maxPercent: s.maxPercent ?? 200,
    alarms: {
      errorRatePercent: s.alarms?.errorRatePercent ?? 5,
      errorRateMinutes: s.alarms?.errorRateMinutes ?? 2,
      latencyP90Seconds: s.alarms?.latencyP90Seconds ?? 2,
      latencyMinutes: s.alarms?.latencyMinutes ?? 5,
    },
    workerAlarms: { belowDesiredMinutes: s.workerAlarms?.belowDesiredMinutes ?? 3 },
  };
}

const integerIn = (v: unknown, min: number, max: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Every problem of one service's settings; `name` is the service's, for the messages. */
export function fargateServiceSettingsProblems(name: string, s: FargateServiceSettings): FieldProblem[] {
  const problems = new FieldProblems();
  const service = `service ${show(name)}`;
  if (isKnown(s.cpu) && isKnown(s.memoryMiB)) {
    if (
      problems.check(
        FARGATE_MEMORY_BY_CPU.has(s.cpu),
        'cpu',
        `${show(s.cpu)} is not a Fargate CPU size (one of ${[...FARGATE_MEMORY_BY_CPU.keys()].join(', ')})`,
      )
    ) {
      problems.check(
        fargateMemoryOptions(s.cpu).includes(s.memoryMiB),
        'memoryMiB',
        `${show(s.memoryMiB)} MiB is not accepted by Fargate with cpu ${s.cpu} (allowed: ${describeMemory(s.cpu)})`,
      );
    }
  }
  if (s.port === undefined) {
    const worker = `${service} has no port (a worker)`;
    problems.check(
      s.healthCheckPath === undefined,
      'healthCheckPath',
      `${worker}, so it cannot have a load-balancer health check`,
    );
    problems.check(s.routing === undefined, 'routing', `${service} has routing but no port`);
    problems.check(
      s.cognito === undefined,
      'cognito',
      `${worker}, so it has no listener rule to authenticate`,
    );
    problems.check(s.alarms === undefined, 'alarms', `${worker}, so it has no load-balancer alarms`);
    const below = s.workerAlarms?.belowDesiredMinutes;
    if (below !== undefined)
      problems.check(
        integerIn(below, 1, 1440),
        'workerAlarms.belowDesiredMinutes',
        `${show(below)} must be an integer from 1 to 1440 (CloudWatch evaluates at most one day)`,
      );
  } else {
    problems.check(
      s.workerAlarms === undefined,
      'workerAlarms',
      `${service} has a port: its deployment alarms are the load balancer's (alarms)`,
    );
    problems.check(integerIn(s.port, 1, 65535), 'port', `${show(s.port)} is outside 1..65535`);
    problems.check(
      s.routing !== undefined,
      'routing',
      `${service} has a port but no routing (priority and host headers or path patterns)`,
    );
    if (s.healthCheckPath !== undefined) {
      problems.check(
        typeof s.healthCheckPath === 'string' && s.healthCheckPath.startsWith('/'),
        'healthCheckPath',
        `${show(s.healthCheckPath)} must start with "/"`,
      );
    }
  }
  if (s.routing) problems.addAll('routing', routingProblems(s.routing));
  if (s.alarms && s.port !== undefined) problems.addAll('alarms', alarmProblems(s.alarms));
  const desired = s.desiredCount ?? 2;
  problems.check(
    integerIn(desired, 0, 1000),
    'desiredCount',
    `${show(desired)} must be an integer from 0 to 1000`,
  );
  if (s.autoscaling) {
    const { minCount, maxCount } = s.autoscaling;
    problems.check(
      integerIn(minCount, 0, 10000),
      'autoscaling.minCount',
      `${show(minCount)} must be a non-negative integer`,
    );
    problems.check(
      Number.isInteger(maxCount) && maxCount >= Math.max(1, minCount),
      'autoscaling.maxCount',
      `${show(maxCount)} must be an integer >= minCount (${minCount}) and >= 1`,
    );
  }
  for (const [key, min, max, what] of [
    ['minHealthyPercent', 0, 100, 'an integer from 0 to 100'],
    ['maxPercent', 100, 2_147_483_647, 'an integer of at least 100'],
    ['cpuTargetPercent', 1, 100, 'an integer from 1 to 100'],
    ['requestsPerTarget', 1, 1_000_000, 'an integer from 1 to 1000000'],
    ['healthCheckGracePeriodSeconds', 0, 2_147_483_647, 'a non-negative integer of seconds'],
  ] as const) {
    const v = s[key];
    if (v !== undefined) problems.check(integerIn(v, min, max), key, `${show(v)} must be ${what}`);
  }
  if (s.minHealthyPercent !== undefined && s.maxPercent !== undefined) {
    problems.check(
      s.maxPercent >= s.minHealthyPercent,
      'maxPercent',
      `${show(s.maxPercent)} must be at least minHealthyPercent (${s.minHealthyPercent})`,
    );
  }
  for (const variable of Object.keys(s.environment ?? {})) {
    const word = secretLikeWord(variable);
    problems.check(
      word === undefined,
      `environment.${variable}`,
      `the name looks like a secret (${show(word)}); pass it through \`secrets\` as a Secrets Manager or SSM parameter ARN, never as a plain environment value`,
    );
  }
  for (const [variable, valueFrom] of Object.entries(s.secrets ?? {})) {
    if (isKnown(valueFrom)) {
      problems.check(
        typeof valueFrom === 'string' && isSecretArn(valueFrom),
        `secrets.${variable}`,
        `${show(valueFrom)} is not a Secrets Manager secret ARN or an SSM parameter ARN`,
      );
    }
    problems.check(
      !(variable in (s.environment ?? {})),
      `secrets.${variable}`,
      'is also a plain environment variable; give each name once',
    );
  }
  if (s.migration !== undefined) {
    problems.check(
      Array.isArray(s.migration.command) && s.migration.command.length > 0,
      'migration.command',
      'is empty; give the command that runs the migration',
    );
  }
  if (s.enableExecuteCommand !== undefined) {
    problems.check(
      typeof s.enableExecuteCommand === 'boolean',
      'enableExecuteCommand',
      `${show(s.enableExecuteCommand)} must be true or false`,
    );
  }
  return problems.list;
}

function routingProblems(routing: ServiceRouting): FieldProblem[] {
  const problems = new FieldProblems();
  const { priority, hostHeaders = [], pathPatterns = [] } = routing;
  problems.check(
    integerIn(priority, 1, 50000),
    'priority',
    `${show(priority)} must be an integer from 1 to 50000`,
  );
  problems.check(
    hostHeaders.length + pathPatterns.length > 0,
    '',
    'give hostHeaders or pathPatterns (or both)',
  );
  for (const p of pathPatterns) {
    problems.check(
      typeof p === 'string' && p.startsWith('/'),
      'pathPatterns',
      `${show(p)} must start with "/"`,
    );
  }
  return problems.list;
}

function alarmProblems(alarms: ServiceAlarmThresholds): FieldProblem[] {
  const problems = new FieldProblems();
  if (alarms.errorRatePercent !== undefined) {
    const v = alarms.errorRatePercent;
    problems.check(
      Number.isFinite(v) && v > 0 && v <= 100,
      'errorRatePercent',
      `${show(v)} must be a percentage above 0 and at most 100`,
    );
  }
  if (alarms.latencyP90Seconds !== undefined) {
    const v = alarms.latencyP90Seconds;
    problems.check(
      Number.isFinite(v) && v > 0,
      'latencyP90Seconds',
      `${show(v)} must be a number of seconds above 0`,
    );
  }
  for (const key of ['errorRateMinutes', 'latencyMinutes'] as const) {
    const v = alarms[key];
    if (v !== undefined) {
      problems.check(
        integerIn(v, 1, 1440),
        key,
        `${show(v)} must be an integer from 1 to 1440 (CloudWatch evaluates at most one day)`,
      );
    }
  }
  return problems.list;
}

function describeMemory(cpu: number): string {
  const options = fargateMemoryOptions(cpu);
  return options.length <= 4
    ? options.join(', ')
    : `${options[0]}..${options[options.length - 1]} in steps of ${options[1] - options[0]}`;
}
