import { Testing } from 'cdktf';
import { GantryConfigError } from '../../../lib/core/errors';
import { ServiceRepository } from '../../../lib/registry';
import { FargateService, ServiceRoles, type FargateServiceProps } from '../../../lib/service';
import { secretLikeWord } from '../../../lib/core/secret-names';

const ACCOUNT = '333333333333';
const LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/acme-prod/0c3d000000000003/0c3d0000000000f3`;
const KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0c3d0000-0000-4000-8000-000000000001`;
const SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:acme/prod/database-url`;

const rolesOf = (serviceName: string, secretArns: string[] = [SECRET]) =>
  ServiceRoles.fromNames({
    organization: 'acme',
    environment: 'prod',
    serviceName,
    accountId: ACCOUNT,
    region: 'eu-west-1',
    secretArns,
  });
const repositoryOf = (serviceName: string) =>
  ServiceRepository.fromName({
    accountId: ACCOUNT,
    region: 'eu-west-1',
    repositoryName: `acme/${serviceName}`,
  });
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/acme-prod-api-task`;
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/acme-prod-api-exec`;

const web: FargateServiceProps = {
  serviceName: 'api',
  namePrefix: 'acme-prod',
  region: 'eu-west-1',
  cluster: { clusterArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/acme-prod`, clusterName: 'acme-prod' },
  repository: repositoryOf('api'),
  roles: rolesOf('api'),
  imageTag: 'v1.3.1',
  cpu: 512,
  memoryMiB: 1024,
  vpcId: 'vpc-0c3d0000000000003',
  subnetIds: ['subnet-0c3d0000000000a03', 'subnet-0c3d0000000000b03'],
  kmsKeyArn: KEY,
  port: 8000,
  healthCheckPath: '/api/health',
  loadBalancer: { listenerArn: LISTENER, securityGroupId: 'sg-0c3d00000000000a3' },
  routing: { priority: 100, hostHeaders: ['api.acme.example'] },
  environment: { LOG_LEVEL: 'info', KEYBOARD_LAYOUT: 'us' },
  secrets: { DATABASE_URL: SECRET },
  desiredCount: 3,
  autoscaling: { minCount: 3, maxCount: 12 },
};

const worker: FargateServiceProps = {
  ...web,
  serviceName: 'worker',
  repository: repositoryOf('worker'),
  roles: rolesOf('worker'),
  port: undefined,
  healthCheckPath: undefined,
  loadBalancer: undefined,
  routing: undefined,
  command: ['python', '-m', 'worker'],
};

type Resources = Record<string, Record<string, Record<string, unknown>>>;

function synth(props: FargateServiceProps): Resources {
  const json = Testing.synthScope((scope) => {
    new FargateService(scope, props.serviceName, props);
  });
  return (JSON.parse(json) as { resource: Resources }).resource;
}

function only(resources: Resources, type: string): Record<string, unknown> {
  const all = Object.values(resources[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0];
}

function containers(taskDefinition: Record<string, unknown>): Array<Record<string, unknown>> {
  return JSON.parse(taskDefinition.container_definitions as string) as Array<Record<string, unknown>>;
}

describe('FargateService', () => {
  const resources = synth(web);
  const workerResources = synth(worker);

  describe('task definition', () => {
    const task = only(resources, 'aws_ecs_task_definition');
    const [container] = containers(task);

    test('runs on Fargate with the configured size and distinct task and execution roles', () => {
      expect(task).toMatchObject({
        family: 'acme-prod-api',
        requires_compatibilities: ['FARGATE'],
        network_mode: 'awsvpc',
        cpu: '512',
        memory: '1024',
        task_role_arn: TASK_ROLE,
        execution_role_arn: EXECUTION_ROLE,
      });
    });

    test('root filesystem is read-only, /tmp is a writable ephemeral volume, nothing privileged', () => {
      expect(container.readonlyRootFilesystem).toBe(true);
      expect(container.privileged).toBe(false);
      expect(task.volume).toEqual([{ name: 'tmp' }]);
      expect(container.mountPoints).toEqual([
        { sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false },
      ]);
      expect(task.pid_mode).toBeUndefined();
    });

    test('image is the repository URL with the given tag', () => {
      expect(container.image).toBe(`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/acme/api:v1.3.1`);
    });

    test('secrets go only through `secrets`, plain values through `environment`', () => {
      expect(container.secrets).toEqual([{ name: 'DATABASE_URL', valueFrom: SECRET }]);
      expect(container.environment).toEqual([
        { name: 'KEYBOARD_LAYOUT', value: 'us' },
        { name: 'LOG_LEVEL', value: 'info' },
      ]);
    });

    test('replacing it keeps the previous revision registered (skip_destroy), for rollbacks', () => {
      expect(task.skip_destroy).toBe(true);
    });

    test('container definitions are literal JSON', () => {
      expect(task.container_definitions).not.toContain('${');
    });

    test('logs go to the service log group', () => {
      expect(container.logConfiguration).toEqual({
        logDriver: 'awslogs',
        options: {
          'awslogs-group': '/gantry/acme-prod/services/api',
          'awslogs-region': 'eu-west-1',
          'awslogs-stream-prefix': 'service',
        },
      });
    });
  });

  test('log group is KMS-encrypted, kept 90 days by default and protected from destroy', () => {
    expect(only(resources, 'aws_cloudwatch_log_group')).toMatchObject({
      name: '/gantry/acme-prod/services/api',
      kms_key_id: KEY,
      retention_in_days: 90,
      lifecycle: { prevent_destroy: true },
    });
    expect(only(synth({ ...web, logRetentionDays: 365 }), 'aws_cloudwatch_log_group').retention_in_days).toBe(
      365,
    );
  });

  describe('service', () => {
    const service = only(resources, 'aws_ecs_service');

    test('runs in the private subnets without a public IP', () => {
      expect(service.network_configuration).toMatchObject({
        subnets: web.subnetIds,
        assign_public_ip: false,
      });
      expect(service.launch_type).toBe('FARGATE');
      expect(service.platform_version).toBe('LATEST');
    });

    test('deployment circuit breaker rolls back', () => {
      expect(service.deployment_circuit_breaker).toEqual({ enable: true, rollback: true });
    });

    test('deployment alarms (5xx rate and p90 latency) roll back', () => {
      const alarms = service.alarms as { alarm_names: string[]; enable: boolean; rollback: boolean };
      expect(alarms.enable).toBe(true);
      expect(alarms.rollback).toBe(true);
      expect(alarms.alarm_names).toHaveLength(2);
      expect(alarms.alarm_names.join()).toMatch(/error-rate-alarm.*alarm_name.*latency-alarm.*alarm_name/);
    });

    test('health-check grace period and healthy percents have safe defaults', () => {
      expect(service).toMatchObject({
        health_check_grace_period_seconds: 60,
        deployment_minimum_healthy_percent: 100,
        deployment_maximum_percent: 200,
        desired_count: 3,
      });
      expect(service.lifecycle).toEqual({ ignore_changes: ['desired_count'] });
    });

    test('is attached to the target group on the container port', () => {
      expect(service.load_balancer).toEqual([
        expect.objectContaining({ container_name: 'api', container_port: 8000 }),
      ]);
    });
  });

  describe('alarms', () => {
    const alarms = Object.values(resources.aws_cloudwatch_metric_alarm);
    const rate = alarms.find((a) => a.alarm_name === 'acme-prod-api-5xx-rate') as Record<string, unknown>;
    const latency = alarms.find((a) => a.alarm_name === 'acme-prod-api-p90-latency') as Record<
      string,
      unknown
    >;

    test('5xx rate above 5% for 2 minutes by default, as metric math on 5xx count / request count', () => {
      expect(rate).toMatchObject({
        threshold: 5,
        evaluation_periods: 2,
        datapoints_to_alarm: 2,
        comparison_operator: 'GreaterThanThreshold',
      });
      const queries = rate.metric_query as Array<Record<string, unknown>>;
      expect(queries[0]).toMatchObject({
        expression: 'IF(requests > 0, 100 * errors / requests, 0)',
        return_data: true,
      });
      expect(queries.slice(1).map((q) => (q.metric as { metric_name: string }).metric_name)).toEqual([
        'HTTPCode_Target_5XX_Count',
        'RequestCount',
      ]);
      expect((queries[1].metric as { dimensions: Record<string, string> }).dimensions.LoadBalancer).toBe(
        'app/acme-prod/0c3d000000000003',
      );
    });

    test('p90 latency above 2 seconds for 5 minutes by default', () => {
      expect(latency).toMatchObject({
        metric_name: 'TargetResponseTime',
        extended_statistic: 'p90',
        threshold: 2,
        evaluation_periods: 5,
        period: 60,
      });
    });

    test('thresholds are configurable', () => {
      const custom = Object.values(
        synth({
          ...web,
          alarms: { errorRatePercent: 1, errorRateMinutes: 3, latencyP90Seconds: 0.5, latencyMinutes: 10 },
        }).aws_cloudwatch_metric_alarm,
      );
      expect(custom.map((a) => [a.threshold, a.evaluation_periods])).toEqual([
        [1, 3],
        [0.5, 10],
      ]);
    });
  });

  describe('load balancing', () => {
    test('target group health-checks the service path', () => {
      expect(only(resources, 'aws_lb_target_group')).toMatchObject({
        name: 'acme-prod-api',
        port: 8000,
        protocol: 'HTTP',
        target_type: 'ip',
        vpc_id: web.vpcId,
        health_check: expect.objectContaining({ path: '/api/health', enabled: true }),
      });
    });

    test('listener rule matches host and path, and forwards', () => {
      const rule = only(
        synth({ ...web, routing: { priority: 7, hostHeaders: ['a.example'], pathPatterns: ['/x/*'] } }),
        'aws_lb_listener_rule',
      );
      expect(rule).toMatchObject({
        listener_arn: LISTENER,
        priority: 7,
        condition: [{ host_header: { values: ['a.example'] } }, { path_pattern: { values: ['/x/*'] } }],
      });
      expect(rule.action).toEqual([expect.objectContaining({ type: 'forward', order: 1 })]);
    });

    test('Cognito authentication comes before forwarding', () => {
      const cognito = {
        userPoolArn: `arn:aws:cognito-idp:eu-west-1:${ACCOUNT}:userpool/eu-west-1_X`,
        userPoolClientId: 'client',
        userPoolDomain: 'acme-admin',
      };
      const rule = only(synth({ ...web, cognito }), 'aws_lb_listener_rule');
      const actions = rule.action as Array<Record<string, unknown>>;
      expect(actions.map((a) => [a.order, a.type])).toEqual([
        [1, 'authenticate-cognito'],
        [2, 'forward'],
      ]);
      expect(actions[0].authenticate_cognito).toMatchObject({
        user_pool_arn: cognito.userPoolArn,
        user_pool_client_id: 'client',
        user_pool_domain: 'acme-admin',
      });
    });

    test('tasks accept traffic only from the load balancer security group, on the container port', () => {
      const group = only(resources, 'aws_security_group');
      expect(group.ingress).toEqual([
        expect.objectContaining({
          from_port: 8000,
          to_port: 8000,
          protocol: 'tcp',
          security_groups: ['sg-0c3d00000000000a3'],
        }),
      ]);
    });
  });

  describe('autoscaling', () => {
    test('scales between min and max on CPU and on requests per target', () => {
      expect(only(resources, 'aws_appautoscaling_target')).toMatchObject({
        min_capacity: 3,
        max_capacity: 12,
        scalable_dimension: 'ecs:service:DesiredCount',
        service_namespace: 'ecs',
      });
      const policies = Object.values(resources.aws_appautoscaling_policy).map(
        (p) =>
          p.target_tracking_scaling_policy_configuration as {
            predefined_metric_specification: Record<string, string>;
            target_value: number;
          },
      );
      expect(
        policies.map((p) => [p.predefined_metric_specification.predefined_metric_type, p.target_value]),
      ).toEqual([
        ['ECSServiceAverageCPUUtilization', 60],
        ['ALBRequestCountPerTarget', 1000],
      ]);
      expect(policies[1].predefined_metric_specification.resource_label).toMatch(
        /^app\/acme-prod\/0c3d000000000003\/\$\{aws_lb_target_group\..*\.arn_suffix\}$/,
      );
    });

    test('defaults to desiredCount .. 2 x desiredCount', () => {
      expect(
        only(synth({ ...web, autoscaling: undefined, desiredCount: 2 }), 'aws_appautoscaling_target'),
      ).toMatchObject({ min_capacity: 2, max_capacity: 4 });
    });
  });

  describe('a worker (no port)', () => {
    test('has no load balancer, target group or listener rule', () => {
      expect(workerResources.aws_lb_target_group).toBeUndefined();
      expect(workerResources.aws_lb_listener_rule).toBeUndefined();
      const service = only(workerResources, 'aws_ecs_service');
      expect(service.load_balancer).toBeUndefined();
      expect(service.health_check_grace_period_seconds).toBeUndefined();
    });

    test('its deployment alarm is running tasks below desired (Container Insights), wired with rollback', () => {
      const alarm = only(workerResources, 'aws_cloudwatch_metric_alarm');
      expect(alarm).toMatchObject({
        alarm_name: 'acme-prod-worker-tasks-below-desired',
        comparison_operator: 'GreaterThanThreshold',
        threshold: 0,
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
        treat_missing_data: 'notBreaching',
      });
      const queries = alarm.metric_query as {
        id: string;
        expression?: string;
        metric?: { metric_name: string; namespace: string; dimensions: Record<string, string> };
      }[];
      expect(
        queries.map((q) => [q.id, q.expression ?? `${q.metric?.namespace}/${q.metric?.metric_name}`]),
      ).toEqual([
        ['missing', 'desired - running'],
        ['desired', 'ECS/ContainerInsights/DesiredTaskCount'],
        ['running', 'ECS/ContainerInsights/RunningTaskCount'],
      ]);
      expect(queries[1].metric?.dimensions).toMatchObject({ ServiceName: 'worker' });
      expect(only(workerResources, 'aws_ecs_service').alarms).toEqual({
        alarm_names: [
          expect.stringMatching(
            /^\$\{aws_cloudwatch_metric_alarm\.worker_tasks-below-desired-alarm_\w+\.alarm_name\}$/,
          ),
        ],
        enable: true,
        rollback: true,
      });
    });

    test('keeps the circuit breaker with rollback and scales on CPU only', () => {
      expect(only(workerResources, 'aws_ecs_service').deployment_circuit_breaker).toEqual({
        enable: true,
        rollback: true,
      });
      const policy = only(workerResources, 'aws_appautoscaling_policy');
      expect(policy.target_tracking_scaling_policy_configuration).toMatchObject({
        predefined_metric_specification: { predefined_metric_type: 'ECSServiceAverageCPUUtilization' },
      });
    });

    test('accepts no inbound traffic and runs its command', () => {
      expect(only(workerResources, 'aws_security_group').ingress).toEqual([]);
      const [container] = containers(only(workerResources, 'aws_ecs_task_definition'));
      expect(container.command).toEqual(['python', '-m', 'worker']);
      expect(container.portMappings).toBeUndefined();
    });
  });

  describe('ECS Exec', () => {
    test('is off by default', () => {
      expect(only(resources, 'aws_ecs_service').enable_execute_command).toBe(false);
      expect(only(workerResources, 'aws_ecs_service').enable_execute_command).toBe(false);
    });

    test('when asked: the service allows it, the root stays read-only, the agent gets writable volumes', () => {
      const exec = synth({ ...web, enableExecuteCommand: true, migration: { command: ['migrate'] } });
      expect(only(exec, 'aws_ecs_service').enable_execute_command).toBe(true);
      const agentPaths = [
        { sourceVolume: 'ecs-exec-managed-agents', containerPath: '/managed-agents', readOnly: false },
        { sourceVolume: 'ecs-exec-ssm-state', containerPath: '/var/lib/amazon/ssm', readOnly: false },
        { sourceVolume: 'ecs-exec-ssm-logs', containerPath: '/var/log/amazon/ssm', readOnly: false },
      ];
      const tasks = Object.values(exec.aws_ecs_task_definition);
      expect(tasks.map((t) => t.family).sort()).toEqual(['acme-prod-api', 'acme-prod-api-migrate']);
      for (const task of tasks) {
        const [c] = containers(task);
        expect(c.readonlyRootFilesystem).toBe(true);
        expect(c.mountPoints).toEqual([
          { sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false },
          ...agentPaths,
        ]);
        expect(task.volume).toEqual([
          { name: 'tmp' },
          { name: 'ecs-exec-managed-agents' },
          { name: 'ecs-exec-ssm-state' },
          { name: 'ecs-exec-ssm-logs' },
        ]);
      }
    });

    test('on a worker too', () => {
      const exec = synth({ ...worker, enableExecuteCommand: true });
      expect(only(exec, 'aws_ecs_service').enable_execute_command).toBe(true);
    });
  });

  test('a migration command adds a one-off task definition running the same image', () => {
    const withMigration = synth({ ...web, migration: { command: ['python', 'manage.py', 'migrate'] } });
    const tasks = Object.values(withMigration.aws_ecs_task_definition);
    const migration = tasks.find((t) => t.family === 'acme-prod-api-migrate') as Record<string, unknown>;
    const [service] = containers(tasks.find((t) => t.family === 'acme-prod-api') as Record<string, unknown>);
    const [migrate] = containers(migration);
    expect(migrate.image).toBe(service.image);
    expect(migrate.command).toEqual(['python', 'manage.py', 'migrate']);
    expect(migrate.portMappings).toBeUndefined();
    expect(migrate.readonlyRootFilesystem).toBe(true);
    expect(migration.task_role_arn).toBe(TASK_ROLE);
    expect(migration.skip_destroy).toBe(true);
    expect(Object.keys(withMigration.aws_ecs_service)).toHaveLength(1);
  });

  describe('rejects', () => {
    const rejects = (props: FargateServiceProps, message: string) => {
      expect(() => synth(props)).toThrow(GantryConfigError);
      expect(() => synth(props)).toThrow(message);
    };

    test.each([
      'DB_PASSWORD',
      'API_KEY',
      'github_token',
      'CLIENTSECRET',
      'AWS_SECRET_ACCESS_KEY',
      'SMTP_CREDENTIALS',
    ])('a secret-looking environment name: %s', (name) => {
      rejects(
        { ...web, environment: { [name]: 'x' } },
        `api.environment.${name}: the name looks like a secret`,
      );
    });

    test('a worker with a health-check path', () => {
      rejects(
        { ...worker, healthCheckPath: '/health' },
        'worker.healthCheckPath: service "worker" has no port (a worker), so it cannot have a load-balancer health check',
      );
    });

    test('a worker with routing or alarms', () => {
      rejects(
        { ...worker, routing: { priority: 1, hostHeaders: ['x'] } },
        'worker.routing: service "worker" has routing but no port',
      );
      rejects(
        { ...worker, alarms: { errorRatePercent: 1 } },
        'worker.alarms: service "worker" has no port (a worker), so it has no load-balancer alarms',
      );
      rejects(
        { ...worker, workerAlarms: { belowDesiredMinutes: 0 } },
        'worker.workerAlarms.belowDesiredMinutes: 0 must be an integer from 1 to 1440 (CloudWatch evaluates at most one day)',
      );
      rejects(
        { ...web, workerAlarms: { belowDesiredMinutes: 5 } },
        'api.workerAlarms: service "api" has a port: its deployment alarms are the load balancer\'s (alarms)',
      );
    });

    test.each([
      [256, 4096, 'api.memoryMiB: 4096 MiB is not accepted by Fargate with cpu 256'],
      [1024, 1024, 'api.memoryMiB: 1024 MiB is not accepted by Fargate with cpu 1024'],
      [300, 1024, 'api.cpu: 300 is not a Fargate CPU size'],
    ])('cpu %d with memory %d MiB', (cpu, memoryMiB, message) => {
      rejects({ ...web, cpu, memoryMiB }, message);
    });

    test('the same role as task and execution role', () => {
      rejects(
        { ...web, roles: { ...web.roles, executionRoleArn: TASK_ROLE } },
        `api.roles: "${TASK_ROLE}" is both the task and the execution role`,
      );
    });

    test('the "latest" image tag', () => {
      rejects(
        { ...web, imageTag: 'latest' },
        'api.imageTag: "latest" is mutable and cannot be rolled back to',
      );
    });

    test('a misspelt region and malformed network ids, each in one line naming the prop', () => {
      expect(() => synth({ ...web, region: 'eu-wst-1', vpcId: 'vpc-x', subnetIds: ['subnet-bad'] })).toThrow(
        new GantryConfigError([
          'stack/api.region: "eu-wst-1" is not an AWS region (e.g. "eu-west-1", "us-east-1")',
          'stack/api.vpcId: "vpc-x" is not a VPC id (vpc-0123456789abcdef0)',
          'stack/api.subnetIds: "subnet-bad" is not a subnet id (subnet-0123456789abcdef0)',
        ]),
      );
    });

    test('a secret that is not an ARN', () => {
      rejects(
        { ...web, secrets: { DATABASE_URL: 'postgres://u:p@h/db' } },
        'api.secrets.DATABASE_URL: "postgres://u:p@h/db" is not a Secrets Manager secret ARN',
      );
    });

    test('a port without a load balancer or routing', () => {
      rejects(
        { ...web, loadBalancer: undefined },
        'api.loadBalancer: service "api" has a port but no load balancer listener',
      );
      rejects({ ...web, routing: undefined }, 'api.routing: service "api" has a port but no routing');
    });

    test('a listener ARN that is not an ALB listener', () => {
      rejects(
        {
          ...web,
          loadBalancer: { listenerArn: 'arn:aws:iam::1:role/x', securityGroupId: 'sg-0c3d00000000000a3' },
        },
        'api.loadBalancer.listenerArn',
      );
    });

    test('autoscaling max below min', () => {
      rejects(
        { ...web, autoscaling: { minCount: 3, maxCount: 2 } },
        'api.autoscaling.maxCount: 2 must be an integer >= minCount (3)',
      );
    });

    describe('wiring mistakes, each a one-line synth error naming the prop', () => {
      test('a repository the execution role may not pull', () => {
        rejects(
          { ...web, repository: repositoryOf('api-v2') },
          `api.repository: "arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/acme/api-v2" is not the repository the execution role may pull`,
        );
      });

      test('a secret the execution role may not read', () => {
        rejects(
          { ...web, roles: rolesOf('api', []) },
          `api.secrets.DATABASE_URL: "${SECRET}" is not among the secrets the execution role may read`,
        );
      });

      test("the repository's token URL instead of the repository", () => {
        expect(() =>
          Testing.synthScope((scope) => {
            const repo = new ServiceRepository(scope, 'repo', {
              repositoryName: 'acme/api',
              kmsKeyArn: KEY,
              accountId: ACCOUNT,
              region: 'eu-west-1',
            });
            new FargateService(scope, 'api', {
              ...web,
              repository: { ...repo, repositoryUrl: repo.repository.repositoryUrl },
            });
          }),
        ).toThrow(/^stack\/api\.repository: must name the repository literally/);
      });

      test('a created listener passed by reference, whose load balancer could not reach the tasks', () => {
        expect(() =>
          Testing.synthScope((scope) => {
            const rule = new FargateService(scope, 'other', {
              ...web,
              serviceName: 'other',
              roles: rolesOf('other'),
              repository: repositoryOf('other'),
            });
            new FargateService(scope, 'api', {
              ...web,
              loadBalancer: {
                listenerArn: rule.targetGroupArn as string,
                securityGroupId: rule.securityGroupId,
              },
            });
          }),
        ).toThrow(
          /^stack\/api\.loadBalancer: refers to a listener of this app by reference, with no way to open its load balancer to the tasks; pass ApplicationLoadBalancer\.listener/,
        );
      });

      test('the log group is the one the execution role may write', () => {
        const roles = rolesOf('api');
        const group = only(resources, 'aws_cloudwatch_log_group');
        expect(group.name).toBe(roles.logGroupName);
        expect(containers(only(resources, 'aws_ecs_task_definition'))[0].logConfiguration).toMatchObject({
          options: { 'awslogs-group': roles.logGroupName },
        });
      });
    });

    test('every problem at once', () => {
      expect(() => synth({ ...web, cpu: 256, memoryMiB: 4096, environment: { DB_PASSWORD: 'x' } })).toThrow(
        /memoryMiB.*\n.*environment\.DB_PASSWORD/,
      );
    });
  });
});

describe('secretLikeWord', () => {
  test.each([
    ['DB_PASSWORD', 'PASSWORD'],
    ['api-key', 'KEY'],
    ['APIKEY', 'APIKEY'],
    ['DBPASSWORD', 'DBPASSWORD'],
    ['GITHUB_TOKEN', 'TOKEN'],
    ['PRIVATE_KEY_PEM', 'PRIVATE'],
  ])('%s looks secret (%s)', (name, word) => {
    expect(secretLikeWord(name)).toBe(word);
  });

  test.each([
    'KEYBOARD_LAYOUT',
    'MONKEY_MODE',
    'TOKENIZER_MODEL',
    'LOG_LEVEL',
    'PORT',
    'QUEUE_NAME',
    'DATABASE_URL',
  ])('%s looks plain', (name) => {
    expect(secretLikeWord(name)).toBeUndefined();
  });
});
