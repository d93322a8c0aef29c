import {
  notificationTopicArns,
  resolveStateBackend,
  stateKey,
  type BootstrapAccount,
  type EnvironmentConfig,
  type OrganizationConfig,
} from '../lib/config';
import { repositoryName } from '../lib/core/naming';
import type { ServicesStackScope } from '../lib/runner';

/**
 * The services stack of an environment as `ServicesStack` builds it: its resource types, the names
 * and ids its resources are given, its state, the migration tasks its deploys run, the topics its
 * deploys notify. What `DeployProject.grantServicesApply` derives the deploy project's apply
 * permissions from. `tooling`: the shared tooling account, whose bucket keeps the state with
 * `bootstrap: { shared: true }`. `upstream`: the environments before this one, whose images a deploy may
 * promote into this one (their repositories are read, this environment's pushed).
 */
export function servicesStackScope(
  org: OrganizationConfig,
  env: EnvironmentConfig,
  tooling?: BootstrapAccount,
  upstream: readonly EnvironmentConfig[] = [],
): ServicesStackScope {
  const withPort = env.services.some((s) => s.port !== undefined);
  const lb = env.loadBalancer;
  const created = lb !== undefined && 'create' in lb;
  const network = env.network;
  const fromSsm = 'fromSsm' in network;
  const stackId = `${env.name}-services`;
  const backend = resolveStateBackend(org.name, env, tooling);
  const userPools = [...new Set(env.services.flatMap((s) => (s.cognito ? [s.cognito.userPoolArn] : [])))];
  const topics = notificationTopicArns(env);
  return {
    organization: org.name,
    environment: env.name,
    accountId: env.accountId,
    region: env.region,
    stackId,
    resourceTypes: [
      'aws_kms_key',
      'aws_kms_alias',
      'aws_cloudwatch_log_group',
      'aws_ecs_cluster',
      'aws_ecs_task_definition',
      'aws_security_group',
      'aws_ecs_service',
      'aws_appautoscaling_target',
      'aws_appautoscaling_policy',
      ...(withPort ? ['aws_lb_target_group', 'aws_lb_listener_rule', 'aws_cloudwatch_metric_alarm'] : []),
      ...(created
        ? [
            'aws_lb',
            'aws_lb_listener',
            'aws_vpc_security_group_ingress_rule',
            'aws_vpc_security_group_egress_rule',
          ]
        : []),
      ...(fromSsm ? ['data.aws_ssm_parameter'] : []),
    ],
    ...(fromSsm ? { networkParameterPrefix: network.fromSsm.prefix } : { vpcId: network.vpcId }),
    ...(lb
      ? { loadBalancer: 'create' in lb ? { create: true as const } : { listenerArn: lb.listenerArn } }
      : {}),
    // Released with `gantry deploy`: the rollouts read, the migration tasks run.
    release: {
      migrationServices: env.services.filter((s) => s.migration).map((s) => s.name),
      // The images a deploy reads (digests, signatures) and, promoted, copies from upstream.
      images: {
        repositories: env.services.map((s) => repositoryName(org.name, s.name)),
        upstream: upstream
          .map((u) => ({
            accountId: u.accountId,
            region: u.region,
            // A promotion copies only the services both environments run.
            repositories: u.services
              .filter((s) => env.services.some((own) => own.name === s.name))
              .map((s) => repositoryName(org.name, s.name)),
          }))
          .filter((u) => u.repositories.length > 0),
      },
    },
    ...(userPools.length > 0 ? { cognitoUserPoolArns: userPools } : {}),
    ...(topics.length > 0 ? { notificationTopicArns: topics } : {}),
    ...(backend
      ? {
          state: {
            bucket: backend.bucket,
            key: stateKey(stackId, backend),
            ...(backend.region ? { region: backend.region } : {}),
            ...(backend.kmsKeyId ? { kmsKeyId: backend.kmsKeyId } : {}),
          },
        }
      : {}),
  };
}
