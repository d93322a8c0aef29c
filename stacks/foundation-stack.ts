import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter';
import { Fn, Token } from 'cdktf';
import type { Construct } from 'constructs';
import {
  builtServicesOf,
  notificationTopicArns,
  plansPullRequests,
  requiresSignatures,
  resolveStateBackend,
  sourceOf,
  stateKey,
  type EnvironmentConfig,
  type NetworkConfig,
  type ReleaseConfig,
} from '../lib/config';
import {
  applyRoleName,
  branchPublishRoleName,
  clusterName,
  deployBuildRoleName,
  deployProjectName,
  ecsExecLogGroupName,
  executionRoleName,
  imageTagsParameterName,
  DEFAULT_TRUSTED_ENVIRONMENT,
  planRoleName,
  publishRoleName,
  pullRequestPlanRoleName,
  repositoryArn,
  ssmParameterArn,
  repositoryName,
  roleArn,
  runnerProjectName,
  servicesKeyAlias,
  ssmPrefix,
  taskRoleName,
} from '../lib/core/naming';
import { stateKeyAliasArn, stateKeyRef } from '../lib/core/state-key';
import { EnvironmentKey } from '../lib/encryption';
import { DeployRoles, GithubOidcProvider, PublishRoles, type DeployRolesProps } from '../lib/identity';
import { ServiceRepository } from '../lib/registry';
import { DeployProject, GithubActionsRunner, servicesReleaseStatements } from '../lib/runner';
import { NETWORK_PARAMETER_NAMES, NetworkParameters, ServiceRoles } from '../lib/service';
import { AwsEnvironmentStack, type AwsEnvironmentStackProps } from './aws-environment-stack';
import { servicesStackScope } from './services-apply-scope';

export interface FoundationStackProps extends AwsEnvironmentStackProps {
  /**
   * When this environment's registry is a publish target (`release.publishEnvironments`): the release
   * configuration, from which the publish roles are made.
   * @default no publish roles
   */
  readonly publish?: ReleaseConfig;
  /**
   * When pushes to the default branch deploy this environment (`pushDeployEnvironments`) with a release: the
   * release configuration, from which the default branch's publish role (`<org>-<env>-gh-publish-main`) is
   * made, pushing only the services this repository builds.
   * @default no branch publish role
   */
  readonly pushBuild?: ReleaseConfig;
  /**
   * The environments before this one (the promotion order): a deploy may promote their images into this
   * environment, so its deploy roles may read their repositories and push to their own.
   * @default none: the deploy roles read this environment's repositories only
   */
  readonly upstreamEnvironments?: readonly EnvironmentConfig[];
  /**
   * The release configuration: where `release.requireSignatures` applies to this environment, its deploy
   * project's build gets cosign to verify keyless signatures (as it does, to copy images, when an upstream
   * environment runs one of its services).
   * @default none: no keyless check
   */
  readonly release?: ReleaseConfig;
}

/**
 * `<env>-foundation`: what an environment's account needs once and rarely changes: the KMS key,
 * the GitHub OIDC provider and roles, the ECR repositories and the CodeBuild runners.
 */
export class FoundationStack extends AwsEnvironmentStack {
  public readonly key: EnvironmentKey;
  public readonly oidcProvider: GithubOidcProvider;
  public readonly deployRoles: DeployRoles;
  /** The publish roles, when this environment's registry is a publish target. */
  public readonly publishRoles?: PublishRoles;
  /** The GitHub Actions runner project, when `runners.githubActions` is configured. */
  public readonly runner?: GithubActionsRunner;
  /** The deploy project holding the apply rights, when `runners.deploy` is configured. */
  public readonly deployProject?: DeployProject;
  /** The runners' VPC and subnets, resolved once. */
  private network?: { vpcId: string; subnetIds: string[] };

  constructor(scope: Construct, props: FoundationStackProps) {
    super(scope, `${props.environment.name}-foundation`, props, { kind: 'foundation' });
    const { environment: env, organization: org } = props;
    this.key = new EnvironmentKey(this, 'key', {
      accountId: env.accountId,
      region: env.region,
      alias: `${org.name}-${env.name}-foundation`,
      description: `Gantry ${env.name} foundation: ECR images, runner logs and artifacts`,
      ecrPullAccountIds: env.registry?.pullAccountIds,
    });
    this.oidcProvider = new GithubOidcProvider(this, 'github-oidc', {
      accountId: env.accountId,
      region: env.region,
    });
    this.runner = this.addGithubActionsRunner(props);
    this.deployProject = this.addDeployProject(props);
    this.deployRoles = new DeployRoles(
      this,
      'deploy-roles',
      deployRolesProps(props, this.oidcProvider, this.deployProject !== undefined),
    );
    // With a deploy project, the apply rights live in its service role: the GitHub apply role may only
    // start it (no override), write its image-tags parameter and read its builds and logs.
    this.deployProject?.grantStart(this.deployRoles.apply);
    this.addWorkloads(props);
    if (props.publish || props.pushBuild) this.publishRoles = this.addPublishRoles(props);
  }

  /**
   * One role for this repository's `v*` tags, pushing the services no source repository publishes, and one
   * per source repository, pushing only its own services (a publish target); and one for the default branch's
   * push builds, pushing only the services this repository builds (an environment pushes deploy).
   */
  private addPublishRoles(props: FoundationStackProps): PublishRoles | undefined {
    const { environment: env, organization: org } = props;
    const arns = (services: readonly string[]) =>
      services.map((s) => repositoryArn(env.accountId, env.region, org.name, s));
    const release = props.publish;
    const own = release
      ? env.services.filter((s) => sourceOf(release, s.name) === undefined).map((s) => s.name)
      : [];
    const sources = release?.sourceRepositories ?? [];
    const built = props.pushBuild ? builtServicesOf(props.pushBuild, env.services).map((s) => s.name) : [];
    if (own.length === 0 && sources.length === 0 && built.length === 0) return undefined;
    const repository = {
      repository: org.github.repository,
      ownerId: org.github.ownerId,
      repositoryId: org.github.repositoryId,
      subjectFormat: org.github.subjectFormat,
    };
    return new PublishRoles(this, 'publish-roles', {
      accountId: env.accountId,
      region: env.region,
      oidcProvider: this.oidcProvider,
      ...(own.length > 0
        ? {
            publisher: {
              roleName: publishRoleName(org.name, env.name),
              ...repository,
              repositoryArns: arns(own),
            },
          }
        : {}),
      ...(built.length > 0
        ? {
            branchPublisher: {
              roleName: branchPublishRoleName(org.name, env.name),
              ...repository,
              branch: org.github.defaultBranch,
              repositoryArns: arns(built),
            },
          }
        : {}),
      sources: sources.map((source) => ({
        roleName: publishRoleName(org.name, env.name, source.name),
        repository: source.repository,
        repositoryArns: arns(source.services),
      })),
    });
  }

  private addGithubActionsRunner(props: AwsEnvironmentStackProps): GithubActionsRunner | undefined {
    const { environment: env, organization: org } = props;
    const config = env.runners?.githubActions;
    if (!config) return undefined;
    return new GithubActionsRunner(this, 'runner', {
      ...this.runnerCommonProps(props, runnerProjectName(org.name, env.name)),
      ...config,
    });
  }

  /**
   * The deploy project holds the environment's apply permissions (those derived from the services
   * stack's resource types, `applyPolicyArns` and `additionalApplyPolicies`, the boundary, and
   * `iam:PassRole` on the services' task and execution roles to ECS tasks only); the GitHub apply
   * role then only starts it and writes its image-tags parameter `/<org>/<env>/gantry/image-tags`
   * (see `deployRolesProps`).
   */
  private addDeployProject(props: FoundationStackProps): DeployProject | undefined {
    const { environment: env, organization: org } = props;
    const config = env.runners?.deploy;
    if (!config) return undefined;
    // One scope for the apply rights and the build's cosign: the registries it logs in to are those the
    // role may read (the upstream environments that run one of this environment's services).
    const scope = servicesStackScope(org, env, props.tooling, props.upstreamEnvironments);
    const project = new DeployProject(this, 'deploy-project', {
      ...this.runnerCommonProps(props, deployProjectName(org.name, env.name)),
      // The token (`githubTokenSecretArn`) is how `gantry apply` verifies N >= 2 approvals on the run
      // that started the build.
      ...config,
      roleName: deployBuildRoleName(org.name, env.name),
      environmentName: env.name,
      stacks: [`${env.name}-services`],
      defaultSourceVersion: `refs/heads/${org.github.defaultBranch}`,
      defaultBranch: org.github.defaultBranch,
      managedPolicyArns: env.applyPolicyArns,
      additionalPolicies: env.additionalApplyPolicies,
      permissionsBoundaryArn: env.applyPermissionsBoundaryArn,
      // A dispatch's image tags reach the build through this parameter, bound to the commit: the
      // GitHub apply role may write it, never override StartBuild.
      imageTagsParameterName: imageTagsParameterName(org.name, env.name),
      releaseImages: {
        verifiesSignatures: requiresSignatures(props.release, env),
        upstreamRegistries: (scope.release?.images?.upstream ?? []).map(({ accountId, region }) => ({
          accountId,
          region,
        })),
      },
    });
    project.grantPassRole(
      env.services.flatMap((service) =>
        [taskRoleName, executionRoleName].map((name) =>
          roleArn(env.accountId, env.region, name(org.name, env.name, service.name)),
        ),
      ),
      'ecs-tasks.amazonaws.com',
      'PassServiceRolesToEcsTasks',
    );
    // The rest of the apply rights: what the services stack's resource types need, on its resources.
    project.grantServicesApply(scope);
    return project;
  }

  private runnerCommonProps(props: AwsEnvironmentStackProps, projectName: string) {
    const { environment: env, organization: org } = props;
    const network = this.runnerNetwork(env.network);
    return {
      accountId: env.accountId,
      region: env.region,
      projectName,
      repository: org.github.repository,
      vpcId: network.vpcId,
      subnetIds: network.subnetIds,
      kmsKeyArn: this.key.keyArn,
      logRetentionDays: env.logRetentionDays ?? 90,
    };
  }

  /** Explicit ids, or (once per stack) the SSM parameters under `network.fromSsm.prefix`. */
  private runnerNetwork(network: NetworkConfig): { vpcId: string; subnetIds: string[] } {
    if (!('fromSsm' in network)) return { vpcId: network.vpcId, subnetIds: [...network.privateSubnetIds] };
    if (!this.network) {
      const { prefix } = network.fromSsm;
      const vpc = new DataAwsSsmParameter(this, 'network-vpc-id', {
        name: `${prefix}${NETWORK_PARAMETER_NAMES.vpcId}`,
      });
      const subnets = new DataAwsSsmParameter(this, 'network-private-subnet-ids', {
        name: `${prefix}${NETWORK_PARAMETER_NAMES.privateSubnetIds}`,
      });
      this.network = { vpcId: vpc.value, subnetIds: Token.asList(Fn.split(',', subnets.value)) };
    }
    return this.network;
  }

  /**
   * Per service: its ECR repository (encrypted with this stack's key) and its task and execution
   * roles, which the services stack passes by computed ARN; with `enableExecuteCommand`, the task role
   * may use ECS Exec on the services stack's cluster (its log group and key are named from the
   * configuration, so no cross-stack reference). Optionally the network ids as SSM parameters under
   * `/<org>/<env>/`.
   */
  private addWorkloads(props: AwsEnvironmentStackProps): void {
    const { environment: env, organization: org } = props;
    for (const service of env.services) {
      const repository = new ServiceRepository(this, `repository-${service.name}`, {
        ...env.registry,
        repositoryName: repositoryName(org.name, service.name),
        kmsKeyArn: this.key.keyArn,
        accountId: env.accountId,
        region: env.region,
      });
      const roles = new ServiceRoles(this, `service-roles-${service.name}`, {
        organization: org.name,
        environment: env.name,
        serviceName: service.name,
        accountId: env.accountId,
        region: env.region,
        secretArns: Object.values(service.secrets ?? {}),
        repository,
      });
      if (service.enableExecuteCommand) {
        roles.grantExecuteCommand({
          logGroupName: ecsExecLogGroupName(clusterName(org.name, env.name)),
          kmsKeyAlias: servicesKeyAlias(org.name, env.name),
        });
      }
    }
    if (!('fromSsm' in env.network) && env.network.publishToSsm) {
      new NetworkParameters(this, 'network-parameters', {
        prefix: ssmPrefix(org.name, env.name),
        vpcId: env.network.vpcId,
        privateSubnetIds: env.network.privateSubnetIds,
      });
    }
  }
}

/**
 * The plan and apply roles of an environment from its configuration: names from `lib/core/naming`,
 * the apply role trusted for `environment:<env>` with the environment's managed policies and
 * boundary, the plan role reading the state of this environment's stacks when it is in S3.
 */
/**
 * The SSM parameters the plans of this environment's stacks read (so the plan roles' Deny of data-plane
 * reads spares them): the network ids read from, or published under, a prefix; the image-tags parameter.
 */
function planReadParameterArns(props: AwsEnvironmentStackProps): string[] {
  const { environment: env, organization: org } = props;
  const prefixes = [
    ...('fromSsm' in env.network ? [env.network.fromSsm.prefix] : []),
    ...(!('fromSsm' in env.network) && env.network.publishToSsm ? [ssmPrefix(org.name, env.name)] : []),
  ];
  const names = [
    ...prefixes.flatMap((prefix) => Object.values(NETWORK_PARAMETER_NAMES).map((n) => `${prefix}${n}`)),
    ...(env.runners?.deploy ? [imageTagsParameterName(org.name, env.name)] : []),
  ];
  return names.map((name) => ssmParameterArn(env.accountId, env.region, name));
}

/**
 * The apply rights of the GitHub apply role of an environment without a deploy project: the configured
 * policies (`applyPolicyArns`, `additionalApplyPolicies`), which cover the plan and apply, and what
 * `gantry deploy` calls beyond them, derived like the deploy project's: `ecs:DescribeServices` on the
 * services, `ecs:RunTask` of the migration task definitions and `ecs:DescribeTasks` in the cluster only,
 * `iam:PassRole` of the migration tasks' task and execution roles to ECS tasks only.
 */
function applyRoleRights(props: FoundationStackProps) {
  const { environment: env, organization: org } = props;
  const migrations = env.services.filter((s) => s.migration);
  const statements = servicesReleaseStatements(
    servicesStackScope(org, env, props.tooling, props.upstreamEnvironments),
  );
  return {
    managedPolicyArns: env.applyPolicyArns,
    additionalPolicies: env.additionalApplyPolicies,
    ...(statements.length > 0 ? { statements } : {}),
    ...(migrations.length > 0
      ? {
          passRoles: [
            {
              roleArns: migrations.flatMap((service) =>
                [taskRoleName, executionRoleName].map((name) =>
                  roleArn(env.accountId, env.region, name(org.name, env.name, service.name)),
                ),
              ),
              service: 'ecs-tasks.amazonaws.com',
            },
          ],
        }
      : {}),
  };
}

function deployRolesProps(
  props: FoundationStackProps,
  oidcProvider: GithubOidcProvider,
  withDeployProject: boolean,
): DeployRolesProps {
  const { environment: env, organization: org } = props;
  // The backend the stacks use: the one given, the bootstrap stack's, or the tooling account's.
  const backend = resolveStateBackend(org.name, env, props.tooling);
  const key = backend?.kmsKeyId
    ? stateKeyRef(backend.kmsKeyId, { accountId: env.accountId, region: backend.region ?? env.region })
    : undefined;
  return {
    accountId: env.accountId,
    region: env.region,
    oidcProvider,
    repository: org.github.repository,
    ownerId: org.github.ownerId,
    repositoryId: org.github.repositoryId,
    subjectFormat: org.github.subjectFormat,
    plan: {
      roleName: planRoleName(org.name, env.name),
      defaultBranch: org.github.defaultBranch,
      // The default branch's plan jobs run bound to this environment, which only that branch may use.
      trustedEnvironment: org.github.trustedEnvironment ?? DEFAULT_TRUSTED_ENVIRONMENT,
      readableParameterArns: planReadParameterArns(props),
      // An environment that requires an approval is planned from pull requests only when the config says
      // why (recorded as a GANTRY-IAM-013 suppression).
      ...(plansPullRequests(env.approval)
        ? {
            pullRequests: {
              roleName: pullRequestPlanRoleName(org.name, env.name),
              ...(env.approval.pullRequestPlans ? { reason: env.approval.pullRequestPlans.reason } : {}),
            },
          }
        : {}),
      ...(backend
        ? {
            stateAccess: {
              bucket: backend.bucket,
              objectKeys: [`${env.name}-foundation`, `${env.name}-services`].map((id) =>
                stateKey(id, backend),
              ),
              ...(key
                ? 'keyArn' in key
                  ? { kmsKeyArn: key.keyArn }
                  : { kmsKeyAliasArn: stateKeyAliasArn(key) }
                : {}),
            },
          }
        : {}),
    },
    apply: {
      roleName: applyRoleName(org.name, env.name),
      environment: env.name,
      deploymentBranches: env.deploymentBranches ?? { branches: [org.github.defaultBranch] },
      workflowRef: org.github.applyWorkflowRef,
      // With a deploy project, the apply rights are its service role's (`grantStart` gives the apply
      // role only what starting it needs), and so is `sns:Publish` on the notification topics: whoever
      // runs `gantry deploy` holds it.
      ...(withDeployProject
        ? {}
        : { ...applyRoleRights(props), notificationTopicArns: notificationTopicArns(env) }),
      permissionsBoundaryArn: env.applyPermissionsBoundaryArn,
    },
  };
}
