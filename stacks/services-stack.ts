import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter';
import { Fn, TerraformOutput, TerraformVariable, Token } from 'cdktf';
import type { Construct } from 'constructs';
import {
  requiresSignatures,
  signerOf,
  type EnvironmentConfig,
  type NetworkConfig,
  type ReleaseConfig,
} from '../lib/config';
import { IMAGE_TAG_SOURCE } from '../lib/core/identifiers';
import { recordReleaseFacts } from '../lib/core/release-facts';
import {
  clusterName,
  deployBuildRoleName,
  imageTagVariableName,
  repositoryName,
  repositoryUrl,
  roleArn,
  servicesKeyAlias,
} from '../lib/core/naming';
import { ServiceRepository } from '../lib/registry';
import { SERVICES_KEY_POLICY_ACTIONS } from '../lib/runner/services-apply-permissions';
import { EnvironmentKey } from '../lib/encryption';
import {
  ApplicationLoadBalancer,
  FargateService,
  NETWORK_PARAMETER_NAMES,
  ServiceCluster,
  ServiceRoles,
  type ServiceListener,
} from '../lib/service';
import { AwsEnvironmentStack, type AwsEnvironmentStackProps } from './aws-environment-stack';

export interface ServicesStackProps extends AwsEnvironmentStackProps {
  /**
   * The environments before this one in the configuration's order, which `gantry deploy --promote-from`
   * may copy images from (recorded in the release facts). @default none: nothing is promoted into it
   */
  readonly upstreamEnvironments?: readonly string[];
  /**
   * The configuration's release pipeline: who signs each service's images, and whether this environment's
   * deploys must verify them (recorded in the release facts). @default none: nothing is signed
   */
  readonly release?: ReleaseConfig;
}

/**
 * `<env>-services`: the ECS cluster and the environment's services. Applied on every release,
 * through the environment's CodeBuild deploy project.
 *
 * Each service's image tag is a Terraform variable `image_tag_<service>` defaulting to the
 * configured tag, so a rollback of a bad image is `apply -var image_tag_api=v1.3.0`, no rebuild.
 * The task and execution roles live in `<env>-foundation` and are referenced by computed ARN: this
 * stack needs `iam:PassRole` on them, never IAM write rights. It owns its own KMS key (log groups,
 * ECS Exec), so it has no cross-stack reference.
 *
 * Services with a port attach to the environment's HTTPS listener: an existing one
 * (`loadBalancer.listenerArn`), or the one of the `ApplicationLoadBalancer` this stack creates
 * (`loadBalancer.create`), whose security group then reaches each service's tasks on its port only.
 */
export class ServicesStack extends AwsEnvironmentStack {
  public readonly key: EnvironmentKey;
  public readonly cluster: ServiceCluster;
  /** The services by name. */
  public readonly services: ReadonlyMap<string, FargateService>;
  /** The image tag variables by service name. */
  public readonly imageTagVariables: ReadonlyMap<string, TerraformVariable>;
  /** The load balancer this stack creates, when the environment's `loadBalancer` is `{ create }`. */
  public readonly loadBalancer?: ApplicationLoadBalancer;

  constructor(scope: Construct, props: ServicesStackProps) {
    super(scope, `${props.environment.name}-services`, props, {
      kind: 'services',
      services: props.environment.services.map((s) => ({
        name: s.name,
        imageTagVariable: imageTagVariableName(s.name),
      })),
    });
    const { environment: env } = props;
    const org = props.organization.name;
    const retention = env.logRetentionDays ?? 90;

    this.key = new EnvironmentKey(this, 'key', {
      accountId: env.accountId,
      region: env.region,
      alias: servicesKeyAlias(org, env.name),
      description: `Gantry ${env.name} services: container logs and ECS Exec sessions`,
      // The deploy project applies this stack: its role administers this key through the key policy,
      // so it needs no IAM permission on other keys (SERVICES_KEY_POLICY_ACTIONS).
      ...(env.runners?.deploy
        ? {
            administrators: {
              roleArns: [roleArn(env.accountId, env.region, deployBuildRoleName(org, env.name))],
              actions: SERVICES_KEY_POLICY_ACTIONS,
            },
          }
        : {}),
    });
    this.cluster = new ServiceCluster(this, 'cluster', {
      clusterName: clusterName(org, env.name),
      kmsKeyArn: this.key.keyArn,
      logRetentionDays: retention,
    });
    const network = resolveNetwork(this, env.network);
    this.loadBalancer = this.addLoadBalancer(env, org, network.vpcId);
    const listener: ServiceListener | undefined = this.loadBalancer?.listener ?? existingListener(env);

    const services = new Map<string, FargateService>();
    const variables = new Map<string, TerraformVariable>();
    for (const service of env.services) {
      const variableName = imageTagVariableName(service.name);
      const tag = new TerraformVariable(this, variableName, {
        type: 'string',
        default: service.imageTag,
        description: `Image tag of ${service.name} (immutable; re-apply with the previous tag to roll back)`,
        validation: [
          {
            condition: `\${var.${variableName} != "latest" && can(regex(${JSON.stringify(IMAGE_TAG_SOURCE)}, var.${variableName}))}`,
            errorMessage: `${variableName} must be an immutable release tag such as "v1.4.0", never "latest".`,
          },
        ],
      });
      variables.set(service.name, tag);
      const { name, imageTag: _defaultTag, verify: _verify, ...settings } = service;
      const fargate = new FargateService(this, name, {
        ...settings,
        serviceName: name,
        namePrefix: `${org}-${env.name}`,
        region: env.region,
        cluster: this.cluster,
        // The repository and roles live in `<env>-foundation`: named literally, no cross-stack reference.
        repository: ServiceRepository.fromName({
          accountId: env.accountId,
          region: env.region,
          repositoryName: repositoryName(org, name),
        }),
        roles: ServiceRoles.fromNames({
          organization: org,
          environment: env.name,
          serviceName: name,
          accountId: env.accountId,
          region: env.region,
          secretArns: Object.values(service.secrets ?? {}),
        }),
        imageTag: tag.stringValue,
        vpcId: network.vpcId,
        subnetIds: network.subnetIds,
        kmsKeyArn: this.key.keyArn,
        logRetentionDays: retention,
        loadBalancer: service.port !== undefined ? listener : undefined,
      });
      services.set(service.name, fargate);
    }
    this.services = services;
    this.imageTagVariables = variables;
    recordReleaseFacts(this, {
      region: env.region,
      cluster: this.cluster.clusterName,
      services: env.services.map((s) => ({
        name: s.name,
        ecsService: services.get(s.name)?.serviceName ?? s.name,
        repository: repositoryUrl(env.accountId, env.region, org, s.name),
        migrationTaskDefinition: services.get(s.name)?.migrationTaskDefinitionFamily ?? null,
        verify: s.verify ?? null,
        // Whether pushes build it here depends on this environment alone (pushDeployEnvironments).
        signer:
          signerOf(
            { organization: props.organization, release: props.release, environments: [env] },
            env,
            s,
          ) ?? null,
      })),
      upstreamEnvironments: [...(props.upstreamEnvironments ?? [])],
      notifications: env.notifications ?? null,
      deploy: env.deploy ?? null,
      requireSignatures: requiresSignatures(props.release, env),
    });
  }

  /**
   * The application load balancer of `loadBalancer.create`, named `<org>-<env>`, with outputs for the
   * DNS record that points at it.
   */
  private addLoadBalancer(
    env: EnvironmentConfig,
    org: string,
    vpcId: string,
  ): ApplicationLoadBalancer | undefined {
    if (!env.loadBalancer || !('create' in env.loadBalancer)) return undefined;
    const alb = new ApplicationLoadBalancer(this, 'load-balancer', {
      ...env.loadBalancer.create,
      name: `${org}-${env.name}`,
      accountId: env.accountId,
      region: env.region,
      vpcId,
    });
    new TerraformOutput(this, 'load_balancer_dns_name', {
      value: alb.dnsName,
      description: `DNS name of the ${env.name} load balancer (point the services' host names at it)`,
    });
    new TerraformOutput(this, 'load_balancer_zone_id', {
      value: alb.zoneId,
      description: `Route 53 hosted zone id of the ${env.name} load balancer, for alias records`,
    });
    new TerraformOutput(this, 'load_balancer_arn', {
      value: alb.loadBalancerArn,
      description: `ARN of the ${env.name} load balancer`,
    });
    return alb;
  }
}

/** The existing listener of `loadBalancer.listenerArn`, if that is the configured form. */
function existingListener(env: EnvironmentConfig): ServiceListener | undefined {
  const lb = env.loadBalancer;
  return lb && !('create' in lb) ? lb : undefined;
}

/**
 * The VPC and private subnets: the explicit ids of the configuration, or SSM parameters under
 * `network.fromSsm.prefix` (read at plan time; only then does this stack read from AWS).
 */
function resolveNetwork(stack: Construct, network: NetworkConfig): { vpcId: string; subnetIds: string[] } {
  if (!('fromSsm' in network)) return { vpcId: network.vpcId, subnetIds: [...network.privateSubnetIds] };
  const { prefix } = network.fromSsm;
  const vpc = new DataAwsSsmParameter(stack, 'network-vpc-id', {
    name: `${prefix}${NETWORK_PARAMETER_NAMES.vpcId}`,
  });
  const subnets = new DataAwsSsmParameter(stack, 'network-private-subnet-ids', {
    name: `${prefix}${NETWORK_PARAMETER_NAMES.privateSubnetIds}`,
  });
  return { vpcId: vpc.value, subnetIds: Token.asList(Fn.split(',', subnets.value)) };
}
