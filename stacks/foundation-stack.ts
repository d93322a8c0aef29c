import type { Construct } from 'constructs';
import { applyRoleName, planRoleName, repositoryName, ssmPrefix } from '../lib/core/naming';
import { EnvironmentKey } from '../lib/encryption';
import { DeployRoles, GithubOidcProvider, type DeployRolesProps } from '../lib/identity';
import { ServiceRepository } from '../lib/registry';
import { NetworkParameters, ServiceRoles } from '../lib/service';
import { AwsEnvironmentStack, stateKey, type AwsEnvironmentStackProps } from './aws-environment-stack';

/**
 * `<env>-foundation`: what an environment's account needs once and rarely changes: the KMS key,
 * the GitHub OIDC provider and roles, the ECR repositories and the CodeBuild runners.
 */
export class FoundationStack extends AwsEnvironmentStack {
  public readonly key: EnvironmentKey;
  public readonly oidcProvider: GithubOidcProvider;
  public readonly deployRoles: DeployRoles;

  constructor(scope: Construct, props: AwsEnvironmentStackProps) {
    super(scope, `${props.environment.name}-foundation`, props);
    const { environment: env, organization: org } = props;
    this.key = new EnvironmentKey(this, 'key', {
      accountId: env.accountId,
      region: env.region,
      alias: `${org.name}-${env.name}-foundation`,
      description: `Gantry ${env.name} foundation: ECR images, runner logs and artifacts`,
    });
    this.oidcProvider = new GithubOidcProvider(this, 'github-oidc', {
      accountId: env.accountId,
      region: env.region,
    });
    this.deployRoles = new DeployRoles(this, 'deploy-roles', deployRolesProps(props, this.oidcProvider));
    this.addWorkloads(props);
  }

  /**
   * Per service: its ECR repository (encrypted with this stack's key) and its task and execution
   * roles, which the services stack passes by computed ARN. Optionally the network ids as SSM
   * parameters under `/<org>/<env>/`.
   */
  private addWorkloads(props: AwsEnvironmentStackProps): void {
    const { environment: env, organization: org } = props;
    for (const service of env.services) {
      new ServiceRepository(this, `repository-${service.name}`, {
        repositoryName: repositoryName(org.name, service.name),
        kmsKeyArn: this.key.keyArn,
        region: env.region,
        keepReleaseTags: env.registry?.keepReleaseTags,
        untaggedExpiryDays: env.registry?.untaggedExpiryDays,
        pullAccountIds: env.registry?.pullAccountIds,
      });
      new ServiceRoles(this, `service-roles-${service.name}`, {
        organization: org.name,
        environment: env.name,
        serviceName: service.name,
        accountId: env.accountId,
        region: env.region,
        secretArns: Object.values(service.secrets ?? {}),
      });
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
function deployRolesProps(
  props: AwsEnvironmentStackProps,
  oidcProvider: GithubOidcProvider,
): DeployRolesProps {
  const { environment: env, organization: org } = props;
  const backend = env.stateBackend;
  return {
    accountId: env.accountId,
    region: env.region,
    oidcProvider,
    repository: org.github.repository,
    ownerId: org.github.ownerId,
    repositoryId: org.github.repositoryId,
    defaultBranch: org.github.defaultBranch,
    subjectFormat: org.github.subjectFormat,
    applyWorkflowRef: org.github.applyWorkflowRef,
    environment: env.name,
    deploymentBranches: env.deploymentBranches ?? { branches: [org.github.defaultBranch] },
    planRoleName: planRoleName(org.name, env.name),
    applyRoleName: applyRoleName(org.name, env.name),
    ...(backend
      ? {
          planStateAccess: {
            bucket: backend.bucket,
            objectKeys: [`${env.name}-foundation`, `${env.name}-services`].map((id) => stateKey(id, backend)),
            ...(backend.kmsKeyId?.startsWith('arn:') ? { kmsKeyArn: backend.kmsKeyId } : {}),
          },
        }
      : {}),
    managedPolicyArns: env.applyPolicyArns,
    permissionsBoundaryArn: env.applyPermissionsBoundaryArn,
  };
}
