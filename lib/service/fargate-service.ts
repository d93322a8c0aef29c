import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy';
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition';
import { LbListenerRule, type LbListenerRuleAction } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { fargateMemoryOptions } from '../core/aws-limits';
import { GantryConfigError } from '../core/errors';
import { fitName, isSecretArn, loadBalancerSuffixOfListener } from './private/names';
import { secretLikeWord } from '../core/secret-names';

/** The listener a service with a port attaches its rule to. */
export interface ServiceLoadBalancer {
  /** ARN of the ALB's (HTTPS) listener. */
  readonly listenerArn: string;
  /** Security group of the load balancer: the only source the tasks accept traffic from. */
  readonly securityGroupId: string;
  /**
   * `app/<name>/<id>` of the load balancer, for CloudWatch dimensions and request-count scaling.
   * @default parsed from `listenerArn`
   */
  readonly loadBalancerArnSuffix?: string;
}

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

export interface ServiceAlarmThresholds {
  /** Target 5xx responses as a percentage of requests. @default 5 */
  readonly errorRatePercent?: number;
  /** Minutes the 5xx rate must stay above the threshold. @default 2 */
  readonly errorRateMinutes?: number;
  /** p90 target response time, in seconds. @default 2 */
  readonly latencyP90Seconds?: number;
  /** Minutes the p90 latency must stay above the threshold. @default 5 */
  readonly latencyMinutes?: number;
}

export interface FargateServiceProps {
  /** Service name, also the container name: lower-case letters, digits and '-'. */
  readonly serviceName: string;
  /** Prefix of the names this construct gives AWS resources, e.g. `acme-prod`. */
  readonly namePrefix: string;
  readonly region: string;
  readonly clusterArn: string;
  readonly clusterName: string;
  /** Image without a tag, e.g. `<account>.dkr.ecr.<region>.amazonaws.com/acme/api`. */
  readonly imageRepositoryUrl: string;
  /** Immutable image tag (never `latest`); usually a Terraform variable, so a rollback is a re-apply. */
  readonly imageTag: string;
  /** ARN of the role the containers run as. */
  readonly taskRoleArn: string;
  /** ARN of the role ECS starts the task with; must differ from `taskRoleArn`. */
  readonly executionRoleArn: string;
  /** Fargate CPU units. */
  readonly cpu: number;
  /** Fargate memory in MiB, valid for `cpu`. */
  readonly memoryMiB: number;
  readonly vpcId: string;
  /** Private subnets the tasks run in (never a public IP). */
  readonly subnetIds: readonly string[];
  /** Name of the container log group this construct creates. */
  readonly logGroupName: string;
  /** Customer-managed KMS key encrypting the log group. */
  readonly kmsKeyArn: string;
  /** @default 90 */
  readonly logRetentionDays?: number;
  /** Container port. @default none: a worker, with no load balancer */
  readonly port?: number;
  /** Target-group health check path (services with a port). @default '/' */
  readonly healthCheckPath?: string;
  /** Required for services with a port. @default none */
  readonly loadBalancer?: ServiceLoadBalancer;
  /** Required for services with a port. @default none */
  readonly routing?: ServiceRouting;
  /** Cognito authentication before forwarding (services with a port). @default none */
  readonly cognito?: ServiceCognito;
  /** @default the image's command */
  readonly command?: readonly string[];
  /** Plain environment variables; a secret-looking name fails. @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Secrets: variable name to a Secrets Manager secret ARN or an SSM parameter ARN. @default none */
  readonly secrets?: Readonly<Record<string, string>>;
  /** @default 2 */
  readonly desiredCount?: number;
  /** @default min = desiredCount, max = 2 x desiredCount */
  readonly autoscaling?: { readonly minCount: number; readonly maxCount: number };
  /** Average CPU the service scales to hold, in percent. @default 60 */
  readonly cpuTargetPercent?: number;
  /** ALB requests per task per minute the service scales to hold (services with a port). @default 1000 */
  readonly requestsPerTarget?: number;
  /** Deployment alarm thresholds (services with a port). @default see ServiceAlarmThresholds */
  readonly alarms?: ServiceAlarmThresholds;
  /** Seconds ECS ignores failing load-balancer health checks of a new task. @default 60 */
  readonly healthCheckGracePeriodSeconds?: number;
  /** @default 100 */
  readonly minHealthyPercent?: number;
  /** @default 200 */
  readonly maxPercent?: number;
  /** Command of a one-off migration task definition running the same image. @default none */
  readonly migrationCommand?: readonly string[];
  /**
   * ECS Exec (`aws ecs execute-command`) into the containers. The task role needs the permissions
   * (`ServiceRoles.grantExecuteCommand`) and the cluster an ECS Exec configuration (`ServiceCluster`).
   * @default false
   */
  readonly enableExecuteCommand?: boolean;
}

/** The name of the writable scratch volume mounted at `/tmp` (the root filesystem is read-only). */
const SCRATCH_VOLUME = 'tmp';

/**
 * Writable task-scoped volumes for the ECS Exec agent, by the paths it writes to. AWS documents ECS
 * Exec as unsupported with a read-only root filesystem because the SSM agent it starts in the container
 * creates files there; these are the paths of the workaround reported in aws/containers-roadmap#1359
 * and aws-containers/amazon-ecs-exec-checker#71, so the root stays read-only (SECURITY.md 12).
 */
const ECS_EXEC_VOLUMES: ReadonlyArray<{ readonly name: string; readonly path: string }> = [
  { name: 'ecs-exec-managed-agents', path: '/managed-agents' },
  { name: 'ecs-exec-ssm-state', path: '/var/lib/amazon/ssm' },
  { name: 'ecs-exec-ssm-logs', path: '/var/log/amazon/ssm' },
];

/**
 * One ECS service on Fargate with safe rollouts:
 * - task definition: read-only root filesystem with a writable ephemeral `/tmp`, not privileged,
 *   distinct task and execution roles, secrets only through `secrets`, logs to a KMS-encrypted log
 *   group with retention; the container definitions are literal JSON whose only interpolation is the
 *   image tag;
 * - service: private subnets, no public IP, circuit breaker with rollback, and (with a port) 5xx-rate
 *   and p90-latency CloudWatch alarms wired as deployment alarms with rollback;
 * - with a port: a target group with a health check, a listener rule by host and/or path, optionally
 *   behind Cognito; autoscaling on CPU and on requests per target. A worker (no port) scales on CPU.
 * - an optional one-off migration task definition (`<prefix>-<service>-migrate`);
 * - ECS Exec off unless `enableExecuteCommand`; then also writable volumes at the agent's paths.
 */
export class FargateService extends Construct {
  public readonly serviceName: string;
  public readonly taskDefinitionArn: string;
  public readonly taskDefinitionFamily: string;
  /** Family of the migration task definition, when a migration command is given. */
  public readonly migrationTaskDefinitionFamily?: string;
  public readonly securityGroupId: string;
  public readonly targetGroupArn?: string;
  /** Names of the deployment alarms (empty for a worker). */
  public readonly alarmNames: readonly string[];

  constructor(scope: Construct, id: string, props: FargateServiceProps) {
    super(scope, id);
    const p = resolveDefaults(props);
    validate(this.node.path, props, p);
    const name = props.serviceName;
    const resourceName = `${props.namePrefix}-${name}`;
    this.serviceName = name;

    const logs = new CloudwatchLogGroup(this, 'logs', {
      name: props.logGroupName,
      kmsKeyId: props.kmsKeyArn,
      retentionInDays: p.logRetentionDays,
      lifecycle: { preventDestroy: true },
    });

    const image = `${props.imageRepositoryUrl}:${props.imageTag}`;
    const execute = props.enableExecuteCommand ?? false;
    const writable = [{ name: SCRATCH_VOLUME, path: '/tmp' }, ...(execute ? ECS_EXEC_VOLUMES : [])];
    const container = (
      containerName: string,
      command: readonly string[] | undefined,
      port: number | undefined,
      streamPrefix: string,
    ) =>
      containerDefinition({
        name: containerName,
        image,
        command,
        port,
        environment: props.environment ?? {},
        secrets: props.secrets ?? {},
        logGroupName: props.logGroupName,
        region: props.region,
        streamPrefix,
        writablePaths: writable,
      });
    const taskDefinition = (tdId: string, family: string, definitions: string) =>
      new EcsTaskDefinition(this, tdId, {
        family,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(props.cpu),
        memory: String(props.memoryMiB),
        executionRoleArn: props.executionRoleArn,
        taskRoleArn: props.taskRoleArn,
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        volume: writable.map((v) => ({ name: v.name })),
        containerDefinitions: definitions,
        dependsOn: [logs],
      });

    this.taskDefinitionFamily = resourceName;
    const task = taskDefinition('task', resourceName, container(name, props.command, props.port, 'service'));
    this.taskDefinitionArn = task.arn;
    if (props.migrationCommand) {
      this.migrationTaskDefinitionFamily = `${resourceName}-migrate`;
      taskDefinition(
        'migration',
        this.migrationTaskDefinitionFamily,
        container(name, props.migrationCommand, undefined, 'migrate'),
      );
    }

    const securityGroup = new SecurityGroup(this, 'security-group', {
      name: fitName(`${resourceName}-tasks`, 255),
      description: `Gantry ${name} tasks${props.port !== undefined ? ': traffic only from the load balancer' : ': no inbound traffic'}`,
      vpcId: props.vpcId,
      ingress:
        props.port !== undefined && props.loadBalancer
          ? [
              {
                description: 'From the load balancer',
                protocol: 'tcp',
                fromPort: props.port,
                toPort: props.port,
                securityGroups: [props.loadBalancer.securityGroupId],
              },
            ]
          : [],
      egress: [
        {
          description: 'Image pulls, secrets, logs and the service dependencies',
          protocol: '-1',
          fromPort: 0,
          toPort: 0,
          cidrBlocks: ['0.0.0.0/0'],
        },
      ],
    });
    this.securityGroupId = securityGroup.id;

    let balanced: { targetGroup: LbTargetGroup; rule: LbListenerRule; lbSuffix: string } | undefined;
    const alarms: CloudwatchMetricAlarm[] = [];
    if (props.port !== undefined && props.loadBalancer && props.routing) {
      const lbSuffix =
        props.loadBalancer.loadBalancerArnSuffix ??
        (loadBalancerSuffixOfListener(props.loadBalancer.listenerArn) as string);
      const targetGroup = new LbTargetGroup(this, 'target-group', {
        name: fitName(resourceName, 32),
        port: props.port,
        protocol: 'HTTP',
        targetType: 'ip',
        vpcId: props.vpcId,
        deregistrationDelay: '30',
        healthCheck: {
          enabled: true,
          path: p.healthCheckPath,
          protocol: 'HTTP',
          matcher: '200-399',
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      });
      this.targetGroupArn = targetGroup.arn;
      const actions: LbListenerRuleAction[] = [];
      if (props.cognito) {
        actions.push({
          type: 'authenticate-cognito',
          order: 1,
          authenticateCognito: {
            userPoolArn: props.cognito.userPoolArn,
            userPoolClientId: props.cognito.userPoolClientId,
            userPoolDomain: props.cognito.userPoolDomain,
            onUnauthenticatedRequest: 'authenticate',
          },
        });
      }
      actions.push({ type: 'forward', order: actions.length + 1, targetGroupArn: targetGroup.arn });
      const { hostHeaders = [], pathPatterns = [] } = props.routing;
      const rule = new LbListenerRule(this, 'listener-rule', {
        listenerArn: props.loadBalancer.listenerArn,
        priority: props.routing.priority,
        action: actions,
        condition: [
          ...(hostHeaders.length > 0 ? [{ hostHeader: { values: [...hostHeaders] } }] : []),
          ...(pathPatterns.length > 0 ? [{ pathPattern: { values: [...pathPatterns] } }] : []),
        ],
      });
      balanced = { targetGroup, rule, lbSuffix };

      const dimensions = { LoadBalancer: lbSuffix, TargetGroup: targetGroup.arnSuffix };
      alarms.push(
        new CloudwatchMetricAlarm(this, 'error-rate-alarm', {
          alarmName: `${resourceName}-5xx-rate`,
          alarmDescription: `${name}: target 5xx responses above ${p.alarms.errorRatePercent}% of requests for ${p.alarms.errorRateMinutes} minutes; rolls a deployment back`,
          comparisonOperator: 'GreaterThanThreshold',
          threshold: p.alarms.errorRatePercent,
          evaluationPeriods: p.alarms.errorRateMinutes,
          datapointsToAlarm: p.alarms.errorRateMinutes,
          treatMissingData: 'notBreaching',
          metricQuery: [
            {
              id: 'rate',
              label: '5xx rate (%)',
              expression: 'IF(requests > 0, 100 * errors / requests, 0)',
              returnData: true,
            },
            {
              id: 'errors',
              metric: {
                namespace: 'AWS/ApplicationELB',
                metricName: 'HTTPCode_Target_5XX_Count',
                dimensions,
                period: 60,
                stat: 'Sum',
              },
            },
            {
              id: 'requests',
              metric: {
                namespace: 'AWS/ApplicationELB',
                metricName: 'RequestCount',
                dimensions,
                period: 60,
                stat: 'Sum',
              },
            },
          ],
        }),
        new CloudwatchMetricAlarm(this, 'latency-alarm', {
          alarmName: `${resourceName}-p90-latency`,
          alarmDescription: `${name}: p90 target response time above ${p.alarms.latencyP90Seconds} s for ${p.alarms.latencyMinutes} minutes; rolls a deployment back`,
          namespace: 'AWS/ApplicationELB',
          metricName: 'TargetResponseTime',
          dimensions,
          extendedStatistic: 'p90',
          period: 60,
          comparisonOperator: 'GreaterThanThreshold',
          threshold: p.alarms.latencyP90Seconds,
          evaluationPeriods: p.alarms.latencyMinutes,
          datapointsToAlarm: p.alarms.latencyMinutes,
          treatMissingData: 'notBreaching',
        }),
      );
    }
    this.alarmNames = alarms.map((a) => a.alarmName);

    const service = new EcsService(this, 'service', {
      name,
      cluster: props.clusterArn,
      taskDefinition: task.arn,
      desiredCount: p.desiredCount,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      networkConfiguration: {
        // Not copied: a list read from SSM is one list token, which a copy would turn into a scalar.
        subnets: props.subnetIds as string[],
        securityGroups: [securityGroup.id],
        assignPublicIp: false,
      },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: p.minHealthyPercent,
      deploymentMaximumPercent: p.maxPercent,
      enableEcsManagedTags: true,
      propagateTags: 'SERVICE',
      enableExecuteCommand: execute,
      ...(balanced
        ? {
            healthCheckGracePeriodSeconds: p.healthCheckGracePeriodSeconds,
            loadBalancer: [
              {
                targetGroupArn: balanced.targetGroup.arn,
                containerName: name,
                containerPort: props.port as number,
              },
            ],
            alarms: { alarmNames: [...this.alarmNames], enable: true, rollback: true },
            dependsOn: [balanced.rule],
          }
        : {}),
      // Autoscaling owns the running count once the service exists.
      lifecycle: { ignoreChanges: ['desired_count'] },
    });

    const scaling = new AppautoscalingTarget(this, 'scaling-target', {
      serviceNamespace: 'ecs',
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.clusterName}/${service.name}`,
      minCapacity: p.minCount,
      maxCapacity: p.maxCount,
    });
    const targetTracking = (
      policyId: string,
      policyName: string,
      metricType: string,
      target: number,
      resourceLabel?: string,
    ) =>
      new AppautoscalingPolicy(this, policyId, {
        name: policyName,
        policyType: 'TargetTrackingScaling',
        serviceNamespace: scaling.serviceNamespace,
        scalableDimension: scaling.scalableDimension,
        resourceId: scaling.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          targetValue: target,
          scaleInCooldown: 300,
          scaleOutCooldown: 60,
          predefinedMetricSpecification: {
            predefinedMetricType: metricType,
            ...(resourceLabel ? { resourceLabel } : {}),
          },
        },
      });
    targetTracking(
      'cpu-scaling',
      `${resourceName}-cpu`,
      'ECSServiceAverageCPUUtilization',
      p.cpuTargetPercent,
    );
    if (balanced) {
      targetTracking(
        'request-scaling',
        `${resourceName}-requests`,
        'ALBRequestCountPerTarget',
        p.requestsPerTarget,
        `${balanced.lbSuffix}/${balanced.targetGroup.arnSuffix}`,
      );
    }
  }
}

interface Resolved {
  readonly desiredCount: number;
  readonly minCount: number;
  readonly maxCount: number;
  readonly logRetentionDays: number;
  readonly healthCheckPath: string;
  readonly cpuTargetPercent: number;
  readonly requestsPerTarget: number;
  readonly healthCheckGracePeriodSeconds: number;
  readonly minHealthyPercent: number;
  readonly maxPercent: number;
  readonly alarms: Required<ServiceAlarmThresholds>;
}

function resolveDefaults(props: FargateServiceProps): Resolved {
  const desiredCount = props.desiredCount ?? 2;
  return {
    desiredCount,
    minCount: props.autoscaling?.minCount ?? desiredCount,
    maxCount: props.autoscaling?.maxCount ?? Math.max(1, 2 * desiredCount),
    logRetentionDays: props.logRetentionDays ?? 90,
    healthCheckPath: props.healthCheckPath ?? '/',
    cpuTargetPercent: props.cpuTargetPercent ?? 60,
    requestsPerTarget: props.requestsPerTarget ?? 1000,
    healthCheckGracePeriodSeconds: props.healthCheckGracePeriodSeconds ?? 60,
    minHealthyPercent: props.minHealthyPercent ?? 100,
    maxPercent: props.maxPercent ?? 200,
    alarms: {
      errorRatePercent: props.alarms?.errorRatePercent ?? 5,
      errorRateMinutes: props.alarms?.errorRateMinutes ?? 2,
      latencyP90Seconds: props.alarms?.latencyP90Seconds ?? 2,
      latencyMinutes: props.alarms?.latencyMinutes ?? 5,
    },
  };
}

function validate(path: string, props: FargateServiceProps, p: Resolved): void {
  const problems: string[] = [];
  const check = (ok: boolean, field: string, message: string) => {
    if (!ok) problems.push(`${path}.${field}: ${message}`);
  };
  const known = (v: unknown) => !Token.isUnresolved(v);
  const show = (v: unknown) => JSON.stringify(v);

  check(
    /^[a-z][a-z0-9-]{0,30}$/.test(props.serviceName),
    'serviceName',
    `${show(props.serviceName)} must match /^[a-z][a-z0-9-]{0,30}$/`,
  );
  if (known(props.cpu) && known(props.memoryMiB)) {
    const allowed = fargateMemoryOptions(props.cpu);
    if (allowed.length === 0) {
      problems.push(
        `${path}.cpu: ${show(props.cpu)} is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384)`,
      );
    } else {
      check(
        allowed.includes(props.memoryMiB),
        'memoryMiB',
        `${show(props.memoryMiB)} MiB is not accepted by Fargate with cpu ${props.cpu} (allowed: ${allowed[0]}..${allowed[allowed.length - 1]}: ${allowed.join(', ')})`,
      );
    }
  }
  if (known(props.imageTag)) {
    check(
      props.imageTag !== 'latest' && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(props.imageTag),
      'imageTag',
      `${show(props.imageTag)} must be an immutable release tag such as "v1.4.0" (never "latest")`,
    );
  }
  if (known(props.taskRoleArn) && known(props.executionRoleArn)) {
    check(
      props.taskRoleArn !== props.executionRoleArn,
      'executionRoleArn',
      `${show(props.executionRoleArn)} is also the task role; use a distinct execution role`,
    );
  }
  check(props.subnetIds.length > 0, 'subnetIds', 'no subnet given, at least one private subnet is needed');

  if (props.port === undefined) {
    const worker = `service ${show(props.serviceName)} has no port (a worker)`;
    check(
      props.healthCheckPath === undefined,
      'healthCheckPath',
      `${show(props.healthCheckPath)} given but ${worker}, so it has no load-balancer health check`,
    );
    check(props.routing === undefined, 'routing', `given but ${worker}, so it has no listener rule`);
    check(
      props.cognito === undefined,
      'cognito',
      `given but ${worker}, so it has no listener rule to authenticate`,
    );
    check(props.alarms === undefined, 'alarms', `given but ${worker}, so it has no load-balancer alarms`);
  } else {
    check(
      Number.isInteger(props.port) && props.port >= 1 && props.port <= 65535,
      'port',
      `${show(props.port)} is outside 1..65535`,
    );
    check(
      props.loadBalancer !== undefined,
      'loadBalancer',
      `service ${show(props.serviceName)} has a port but no load balancer listener`,
    );
    check(
      props.routing !== undefined,
      'routing',
      `service ${show(props.serviceName)} has a port but no routing (priority and host headers or path patterns)`,
    );
    if (props.healthCheckPath !== undefined) {
      check(
        props.healthCheckPath.startsWith('/'),
        'healthCheckPath',
        `${show(props.healthCheckPath)} must start with "/"`,
      );
    }
    const lb = props.loadBalancer;
    if (lb && lb.loadBalancerArnSuffix === undefined && known(lb.listenerArn)) {
      check(
        loadBalancerSuffixOfListener(lb.listenerArn) !== undefined,
        'loadBalancer.listenerArn',
        `${show(lb.listenerArn)} is not an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)`,
      );
    }
    if (lb && lb.loadBalancerArnSuffix === undefined && !known(lb.listenerArn)) {
      problems.push(
        `${path}.loadBalancer.loadBalancerArnSuffix: needed when listenerArn is a reference (alarms and request scaling use it)`,
      );
    }
    if (props.routing) {
      const { priority, hostHeaders = [], pathPatterns = [] } = props.routing;
      check(
        Number.isInteger(priority) && priority >= 1 && priority <= 50000,
        'routing.priority',
        `${show(priority)} must be an integer from 1 to 50000`,
      );
      check(
        hostHeaders.length + pathPatterns.length > 0,
        'routing',
        'give hostHeaders or pathPatterns (or both)',
      );
    }
    const a = p.alarms;
    check(
      a.errorRatePercent > 0 && a.errorRatePercent <= 100,
      'alarms.errorRatePercent',
      `${show(a.errorRatePercent)} must be above 0 and at most 100`,
    );
    check(
      a.latencyP90Seconds > 0,
      'alarms.latencyP90Seconds',
      `${show(a.latencyP90Seconds)} must be above 0`,
    );
    for (const key of ['errorRateMinutes', 'latencyMinutes'] as const) {
      check(
        Number.isInteger(a[key]) && a[key] >= 1 && a[key] <= 1440,
        `alarms.${key}`,
        `${show(a[key])} must be an integer from 1 to 1440`,
      );
    }
  }

  for (const name of Object.keys(props.environment ?? {})) {
    const word = secretLikeWord(name);
    check(
      word === undefined,
      `environment.${name}`,
      `the name looks like a secret (${show(word)}); pass it through \`secrets\` as a Secrets Manager or SSM parameter ARN, never as a plain environment value`,
    );
  }
  for (const [name, valueFrom] of Object.entries(props.secrets ?? {})) {
    if (known(valueFrom)) {
      check(
        isSecretArn(valueFrom),
        `secrets.${name}`,
        `${show(valueFrom)} is not a Secrets Manager secret ARN or an SSM parameter ARN`,
      );
    }
    check(
      !(name in (props.environment ?? {})),
      `secrets.${name}`,
      'is also a plain environment variable; give each name once',
    );
  }
  check(
    Number.isInteger(p.desiredCount) && p.desiredCount >= 0,
    'desiredCount',
    `${show(p.desiredCount)} must be a non-negative integer`,
  );
  check(
    Number.isInteger(p.minCount) && p.minCount >= 0,
    'autoscaling.minCount',
    `${show(p.minCount)} must be a non-negative integer`,
  );
  check(
    Number.isInteger(p.maxCount) && p.maxCount >= Math.max(1, p.minCount),
    'autoscaling.maxCount',
    `${show(p.maxCount)} must be an integer >= minCount (${p.minCount}) and >= 1`,
  );
  check(
    p.minHealthyPercent >= 0 && p.minHealthyPercent <= 100,
    'minHealthyPercent',
    `${show(p.minHealthyPercent)} must be from 0 to 100`,
  );
  check(
    p.maxPercent >= Math.max(100, p.minHealthyPercent),
    'maxPercent',
    `${show(p.maxPercent)} must be at least 100 and at least minHealthyPercent`,
  );
  check(
    p.cpuTargetPercent > 0 && p.cpuTargetPercent <= 100,
    'cpuTargetPercent',
    `${show(p.cpuTargetPercent)} must be above 0 and at most 100`,
  );
  check(p.requestsPerTarget > 0, 'requestsPerTarget', `${show(p.requestsPerTarget)} must be above 0`);
  if (props.migrationCommand !== undefined) {
    check(
      props.migrationCommand.length > 0,
      'migrationCommand',
      'is empty; give the command that runs the migration',
    );
  }
  if (problems.length > 0) throw new GantryConfigError(problems);
}

interface ContainerInput {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly port?: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
  readonly logGroupName: string;
  readonly region: string;
  readonly streamPrefix: string;
  /** Writable volumes by mount path: `/tmp`, and the ECS Exec agent's paths when it is on. */
  readonly writablePaths: ReadonlyArray<{ readonly name: string; readonly path: string }>;
}

/**
 * The container definitions as a literal JSON string: sorted environment and secrets, read-only root
 * filesystem, `/tmp` on the writable scratch volume, no privileges. The image (whose tag may be a
 * Terraform variable) is the only value that may hold an interpolation.
 */
function containerDefinition(c: ContainerInput): string {
  const sorted = (record: Readonly<Record<string, string>>) => Object.keys(record).sort();
  const definition = {
    name: c.name,
    image: c.image,
    essential: true,
    ...(c.command ? { command: [...c.command] } : {}),
    ...(c.port !== undefined ? { portMappings: [{ containerPort: c.port, protocol: 'tcp' }] } : {}),
    environment: sorted(c.environment).map((name) => ({ name, value: c.environment[name] })),
    secrets: sorted(c.secrets).map((name) => ({ name, valueFrom: c.secrets[name] })),
    readonlyRootFilesystem: true,
    privileged: false,
    mountPoints: c.writablePaths.map((v) => ({
      sourceVolume: v.name,
      containerPath: v.path,
      readOnly: false,
    })),
    linuxParameters: { initProcessEnabled: true },
    logConfiguration: {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': c.logGroupName,
        'awslogs-region': c.region,
        'awslogs-stream-prefix': c.streamPrefix,
      },
    },
  };
  return JSON.stringify([definition]);
}
