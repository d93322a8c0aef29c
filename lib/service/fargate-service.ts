import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy';
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition';
import { LbListenerRule, type LbListenerRuleAction } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Construct } from 'constructs';
import { LOG_RETENTION_DAYS } from '../core/aws-limits';
import { FieldProblems, throwProblems, type FieldProblem } from '../core/errors';
import {
  imageTagProblem,
  regionProblem,
  securityGroupIdProblem,
  privateNetworkProblems,
} from '../core/identifiers';
import { isKnown } from '../core/tokens';
import type { IServiceRepository } from '../registry/service-repository';
import { fitName, isSecretArn, loadBalancerSuffixOfListener, secretResourceArn } from './private/names';
import type { IServiceRoles } from './service-roles';
import {
  fargateServiceSettingsProblems,
  resolveServiceSettings,
  SERVICE_NAME,
  type FargateServiceSettings,
} from './service-settings';

/** What a service with a port attaches its target to: an ALB listener, and the way to let its traffic in. */
export interface ServiceListener {
  /** ARN of the ALB's (HTTPS) listener. */
  readonly listenerArn: string;
  /** Security group of the load balancer: the only source the tasks accept traffic from. */
  readonly securityGroupId: string;
  /**
   * `app/<name>/<id>` of the load balancer, for CloudWatch dimensions and request-count scaling.
   * @default parsed from `listenerArn`
   */
  readonly loadBalancerArnSuffix?: string;
  /**
   * Opens the load balancer's side for one target: egress to the tasks' security group on their port,
   * and (for a rule that authenticates) to the identity provider. `FargateService` calls it, so the
   * wiring cannot be forgotten. `ApplicationLoadBalancer.listener` has it; an existing listener (literal
   * ARNs) has none: its load balancer's security group is its owner's.
   * @default none
   */
  readonly connectTarget?: (target: ServiceTarget) => void;
}

/** @deprecated renamed `ServiceListener`. */
export type ServiceLoadBalancer = ServiceListener;

/** One service's side of a listener connection. */
export interface ServiceTarget {
  /** The service's name: unique per listener, it names the load balancer's egress rule. */
  readonly id: string;
  readonly securityGroupId: string;
  readonly port: number;
  /** The service's rule authenticates (Cognito/OIDC): the load balancer must reach the identity provider. */
  readonly authenticated: boolean;
}

/** The cluster a service runs in (a `ServiceCluster`, or any cluster by ARN and name). */
export interface IServiceCluster {
  readonly clusterArn: string;
  readonly clusterName: string;
}

export interface FargateServiceProps extends FargateServiceSettings {
  /** Service name, also the container name: lower-case letters, digits and '-'. */
  readonly serviceName: string;
  /** Prefix of the names this construct gives AWS resources, e.g. `acme-prod`. */
  readonly namePrefix: string;
  readonly region: string;
  readonly cluster: IServiceCluster;
  /**
   * The service's image repository: a `ServiceRepository`, or `ServiceRepository.fromName(...)` when it
   * lives in another stack. Its URL is literal, so the container definitions stay readable JSON.
   */
  readonly repository: IServiceRepository;
  /** Immutable image tag (never `latest`); usually a Terraform variable, so a rollback is a re-apply. */
  readonly imageTag: string;
  /**
   * The service's task and execution roles: `ServiceRoles`, or `ServiceRoles.fromNames(...)` when they
   * live in another stack. The container log group is the one the execution role may write, the
   * repository must be the one it may pull, and every secret one it may read.
   */
  readonly roles: IServiceRoles;
  readonly vpcId: string;
  /** Private subnets the tasks run in (never a public IP). */
  readonly subnetIds: readonly string[];
  /** Customer-managed KMS key encrypting the log group. */
  readonly kmsKeyArn: string;
  /** @default 90 */
  readonly logRetentionDays?: number;
  /**
   * The listener of a service with a port: `ApplicationLoadBalancer.listener`, or an existing one by
   * literal ARNs (`{ listenerArn, securityGroupId }`). Required for services with a port.
   * @default none
   */
  readonly loadBalancer?: ServiceListener;
}

/** The name of the writable scratch volume mounted at `/tmp` (the root filesystem is read-only). */
const SCRATCH_VOLUME = 'tmp';

/**
 * Writable task-scoped volumes for the ECS Exec agent, by the paths it writes to. AWS documents ECS
 * Exec as unsupported with a read-only root filesystem because the SSM agent it starts in the container
 * creates files there; these are the paths of the workaround reported in aws/containers-roadmap#1359
 * and aws-containers/amazon-ecs-exec-checker#71, so the root stays read-only (docs/security.md 12).
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
 *   behind Cognito, the load balancer's egress to the tasks opened through the listener;
 *   autoscaling on CPU and on requests per target. A worker (no port) scales on CPU.
 * - an optional one-off migration task definition (`<prefix>-<service>-migrate`);
 * - task definition revisions are never deregistered (`skip_destroy`): a rollback, by ECS or by hand,
 *   needs the previous revision ACTIVE;
 * - ECS Exec off unless `enableExecuteCommand`; then also writable volumes at the agent's paths.
 *
 * What must agree with the roles is derived from them (`roles`): the log group is the one the execution
 * role may write, the image the one it may pull, every secret one it may read; a mismatch fails synth.
 */
export class FargateService extends Construct {
  public readonly serviceName: string;
  public readonly service: EcsService;
  public readonly taskDefinition: EcsTaskDefinition;
  public readonly taskDefinitionArn: string;
  public readonly taskDefinitionFamily: string;
  /** The one-off migration task definition, when `migration` is given. */
  public readonly migrationTaskDefinition?: EcsTaskDefinition;
  /** Family of the migration task definition, when `migration` is given. */
  public readonly migrationTaskDefinitionFamily?: string;
  public readonly securityGroup: SecurityGroup;
  public readonly securityGroupId: string;
  public readonly logGroup: CloudwatchLogGroup;
  /** The target group (services with a port). */
  public readonly targetGroup?: LbTargetGroup;
  public readonly targetGroupArn?: string;
  /** The listener rule forwarding to the target group (services with a port). */
  public readonly listenerRule?: LbListenerRule;
  /** The deployment alarms (a worker's: running tasks below desired). */
  public readonly alarms: readonly CloudwatchMetricAlarm[];
  /** Names of the deployment alarms. */
  public readonly alarmNames: readonly string[];
  public readonly scalingTarget: AppautoscalingTarget;
  /** `<repository url>:<tag>`: the image both task definitions run. */
  public readonly image: string;

  constructor(scope: Construct, id: string, props: FargateServiceProps) {
    super(scope, id);
    throwProblems(this.node.path, fargateServiceProblems(props));
    const p = resolveServiceSettings(props);
    const name = props.serviceName;
    const resourceName = `${props.namePrefix}-${name}`;
    const logGroupName = props.roles.logGroupName;
    this.serviceName = name;

    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: logGroupName,
      kmsKeyId: props.kmsKeyArn,
      retentionInDays: props.logRetentionDays ?? 90,
      lifecycle: { preventDestroy: true },
    });

    this.image = `${props.repository.repositoryUrl}:${props.imageTag}`;
    const execute = props.enableExecuteCommand ?? false;
    const writable = [{ name: SCRATCH_VOLUME, path: '/tmp' }, ...(execute ? ECS_EXEC_VOLUMES : [])];
    const container = (
      command: readonly string[] | undefined,
      port: number | undefined,
      streamPrefix: string,
    ) =>
      containerDefinition({
        name,
        image: this.image,
        command,
        port,
        environment: props.environment ?? {},
        secrets: props.secrets ?? {},
        logGroupName,
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
        executionRoleArn: props.roles.executionRoleArn,
        taskRoleArn: props.roles.taskRoleArn,
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        volume: writable.map((v) => ({ name: v.name })),
        containerDefinitions: definitions,
        // A new image tag replaces the task definition: keep the previous revision registered (ACTIVE)
        // instead of deregistering it. The circuit breaker and the deployment alarms roll a failed
        // deployment back to the previous revision, and an operator can roll back to any revision
        // (`update-service --task-definition <family>:<n>`); neither works once it is INACTIVE.
        skipDestroy: true,
        dependsOn: [this.logGroup],
      });

    this.taskDefinitionFamily = resourceName;
    this.taskDefinition = taskDefinition(
      'task',
      resourceName,
      container(props.command, props.port, 'service'),
    );
    this.taskDefinitionArn = this.taskDefinition.arn;
    if (props.migration) {
      this.migrationTaskDefinitionFamily = `${resourceName}-migrate`;
      this.migrationTaskDefinition = taskDefinition(
        'migration',
        this.migrationTaskDefinitionFamily,
        container(props.migration.command, undefined, 'migrate'),
      );
    }

    const listener = props.port !== undefined ? props.loadBalancer : undefined;
    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: fitName(`${resourceName}-tasks`, 255),
      description: `Gantry ${name} tasks${props.port !== undefined ? ': traffic only from the load balancer' : ': no inbound traffic'}`,
      vpcId: props.vpcId,
      ingress:
        props.port !== undefined && listener
          ? [
              {
                description: 'From the load balancer',
                protocol: 'tcp',
                fromPort: props.port,
                toPort: props.port,
                securityGroups: [listener.securityGroupId],
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
    this.securityGroupId = this.securityGroup.id;

    let lbSuffix: string | undefined;
    const alarms: CloudwatchMetricAlarm[] = [];
    if (props.port !== undefined && listener && props.routing) {
      lbSuffix =
        listener.loadBalancerArnSuffix ?? (loadBalancerSuffixOfListener(listener.listenerArn) as string);
      listener.connectTarget?.({
        id: name,
        securityGroupId: this.securityGroup.id,
        port: props.port,
        authenticated: props.cognito !== undefined,
      });
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
      this.targetGroup = targetGroup;
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
      this.listenerRule = new LbListenerRule(this, 'listener-rule', {
        listenerArn: listener.listenerArn,
        priority: props.routing.priority,
        action: actions,
        condition: [
          ...(hostHeaders.length > 0 ? [{ hostHeader: { values: [...hostHeaders] } }] : []),
          ...(pathPatterns.length > 0 ? [{ pathPattern: { values: [...pathPatterns] } }] : []),
        ],
      });

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
    if (props.port === undefined) {
      // A worker has no load-balancer metrics: its deployment alarm is Container Insights' running
      // tasks below desired (tasks that start, then die), beside the circuit breaker (tasks that never start).
      const dimensions = { ClusterName: props.cluster.clusterName, ServiceName: name };
      const minutes = p.workerAlarms.belowDesiredMinutes;
      alarms.push(
        new CloudwatchMetricAlarm(this, 'tasks-below-desired-alarm', {
          alarmName: `${resourceName}-tasks-below-desired`,
          alarmDescription: `${name}: running tasks below desired for ${minutes} minutes; rolls a deployment back`,
          comparisonOperator: 'GreaterThanThreshold',
          threshold: 0,
          evaluationPeriods: minutes,
          datapointsToAlarm: minutes,
          treatMissingData: 'notBreaching',
          metricQuery: [
            {
              id: 'missing',
              label: 'desired - running tasks',
              expression: 'desired - running',
              returnData: true,
            },
            {
              id: 'desired',
              metric: {
                namespace: 'ECS/ContainerInsights',
                metricName: 'DesiredTaskCount',
                dimensions,
                period: 60,
                stat: 'Average',
              },
            },
            {
              id: 'running',
              metric: {
                namespace: 'ECS/ContainerInsights',
                metricName: 'RunningTaskCount',
                dimensions,
                period: 60,
                stat: 'Average',
              },
            },
          ],
        }),
      );
    }
    this.alarms = alarms;
    this.alarmNames = alarms.map((a) => a.alarmName);

    const targetGroup = this.targetGroup;
    this.service = new EcsService(this, 'service', {
      name,
      cluster: props.cluster.clusterArn,
      taskDefinition: this.taskDefinition.arn,
      desiredCount: p.desiredCount,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      networkConfiguration: {
        // Not copied: a list read from SSM is one list token, which a copy would turn into a scalar.
        subnets: props.subnetIds as string[],
        securityGroups: [this.securityGroup.id],
        assignPublicIp: false,
      },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: p.minHealthyPercent,
      deploymentMaximumPercent: p.maxPercent,
      enableEcsManagedTags: true,
      propagateTags: 'SERVICE',
      enableExecuteCommand: execute,
      ...(targetGroup && this.listenerRule
        ? {
            healthCheckGracePeriodSeconds: p.healthCheckGracePeriodSeconds,
            loadBalancer: [
              {
                targetGroupArn: targetGroup.arn,
                containerName: name,
                containerPort: props.port as number,
              },
            ],
            alarms: { alarmNames: [...this.alarmNames], enable: true, rollback: true },
            dependsOn: [this.listenerRule],
          }
        : {}),
      ...(props.port === undefined
        ? { alarms: { alarmNames: [...this.alarmNames], enable: true, rollback: true } }
        : {}),
      // Autoscaling owns the running count once the service exists.
      lifecycle: { ignoreChanges: ['desired_count'] },
    });

    this.scalingTarget = new AppautoscalingTarget(this, 'scaling-target', {
      serviceNamespace: 'ecs',
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${this.service.name}`,
      minCapacity: p.minCount,
      maxCapacity: p.maxCount,
    });
    const scaling = this.scalingTarget;
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
    if (targetGroup && lbSuffix !== undefined) {
      targetTracking(
        'request-scaling',
        `${resourceName}-requests`,
        'ALBRequestCountPerTarget',
        p.requestsPerTarget,
        `${lbSuffix}/${targetGroup.arnSuffix}`,
      );
    }
  }
}

/**
 * Every problem of a `FargateService`'s props, each `{ field, message }` relative to them: the
 * settings (`fargateServiceSettingsProblems`) and the wiring (the roles, repository, listener and
 * network must agree).
 */
export function fargateServiceProblems(props: FargateServiceProps): FieldProblem[] {
  const problems = new FieldProblems();
  const show = (v: unknown) => JSON.stringify(v);
  problems.check(
    typeof props.serviceName === 'string' && SERVICE_NAME.test(props.serviceName),
    'serviceName',
    `${show(props.serviceName)} must match ${SERVICE_NAME}`,
  );
  problems.addAll('', fargateServiceSettingsProblems(props.serviceName, props));
  if (isKnown(props.imageTag)) problems.addIf('imageTag', imageTagProblem(props.imageTag));
  if (isKnown(props.region)) problems.addIf('region', regionProblem(props.region));
  problems.addAll('', privateNetworkProblems(props.vpcId, props.subnetIds));
  const repository = props.repository;
  if (!repository || !isKnown(repository.repositoryUrl) || !isKnown(repository.repositoryArn)) {
    problems.add(
      'repository',
      'must name the repository literally (a ServiceRepository, or ServiceRepository.fromName(...) for one in another stack): ' +
        'the image is written into the container definitions, which are literal JSON (docs/security.md 21)',
    );
  }
  const roles = props.roles;
  if (!roles || [roles.taskRoleArn, roles.executionRoleArn, roles.logGroupName].some((v) => !isKnown(v))) {
    problems.add(
      'roles',
      'must name the roles and log group literally (a ServiceRoles, or ServiceRoles.fromNames(...) for roles in another stack)',
    );
  } else {
    problems.check(
      roles.taskRoleArn !== roles.executionRoleArn,
      'roles',
      `${show(roles.executionRoleArn)} is both the task and the execution role; use distinct roles`,
    );
    if (repository && roles.pullRepositoryArn !== undefined && isKnown(repository.repositoryArn)) {
      problems.check(
        roles.pullRepositoryArn === repository.repositoryArn,
        'repository',
        `${show(repository.repositoryArn)} is not the repository the execution role may pull (${show(roles.pullRepositoryArn)}); tasks could not start`,
      );
    }
    if (roles.readableSecretArns !== undefined) {
      const readable = new Set(roles.readableSecretArns);
      for (const [variable, valueFrom] of Object.entries(props.secrets ?? {})) {
        if (!isKnown(valueFrom) || !isSecretArn(valueFrom)) continue;
        problems.check(
          readable.has(secretResourceArn(valueFrom)),
          `secrets.${variable}`,
          `${show(valueFrom)} is not among the secrets the execution role may read; give it to ServiceRoles' secretArns too, or tasks could not start`,
        );
      }
    }
  }
  const lb = props.loadBalancer;
  if (props.port !== undefined) {
    if (
      problems.check(
        lb !== undefined,
        'loadBalancer',
        `service ${show(props.serviceName)} has a port but no load balancer listener`,
      )
    ) {
      const listener = lb as ServiceListener;
      if (!listener.connectTarget && (!isKnown(listener.listenerArn) || !isKnown(listener.securityGroupId))) {
        problems.add(
          'loadBalancer',
          'refers to a listener of this app by reference, with no way to open its load balancer to the tasks; ' +
            "pass ApplicationLoadBalancer.listener (it opens the load balancer's egress to each service it serves)",
        );
      } else if (listener.loadBalancerArnSuffix === undefined) {
        if (isKnown(listener.listenerArn)) {
          problems.check(
            loadBalancerSuffixOfListener(listener.listenerArn) !== undefined,
            'loadBalancer.listenerArn',
            `${show(listener.listenerArn)} is not an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)`,
          );
        } else {
          problems.add(
            'loadBalancer.loadBalancerArnSuffix',
            'needed when listenerArn is a reference (alarms and request scaling use it)',
          );
        }
      }
      if (!listener.connectTarget && isKnown(listener.securityGroupId))
        problems.addIf('loadBalancer.securityGroupId', securityGroupIdProblem(listener.securityGroupId));
    }
  } else {
    problems.check(
      lb === undefined,
      'loadBalancer',
      `given but service ${show(props.serviceName)} has no port (a worker), so it has no listener rule`,
    );
  }
  if (props.logRetentionDays !== undefined) {
    problems.check(
      LOG_RETENTION_DAYS.has(props.logRetentionDays),
      'logRetentionDays',
      `${show(props.logRetentionDays)} is not a CloudWatch retention (one of ${[...LOG_RETENTION_DAYS].join(', ')})`,
    );
  }
  return problems.list;
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
