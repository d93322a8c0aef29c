/** One environment (usually one AWS account): where it is, who approves, what it runs. */
import { LOG_RETENTION_DAYS } from '../core/aws-limits';
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import type { DeploymentBranchesConfig } from '../core/github';
import { accountIdProblem, regionProblem } from '../core/identifiers';
import { managedPolicyGrantProblems, type ManagedPolicyGrant } from '../core/managed-policy-grants';
import {
  serviceRepositorySettingsProblems,
  type ServiceRepositorySettings,
} from '../registry/service-repository';
import { validateApproval, type ApprovalConfig } from './approval';
import { bootstrapProblems, type BootstrapConfig } from './bootstrap';
import { releaseProblems, type DeployConfig, type NotificationsConfig } from './deploy';
import { validateLoadBalancer, type LoadBalancerConfig } from './load-balancer';
import { validateNetwork, type NetworkConfig } from './network';
import { validateRunners, type RunnerConfig } from './runners';
import { validateServices, type ServiceConfig } from './services';
import { stateBackendProblems, type S3StateBackendConfig } from './state';

/** How long images are kept and who else may pull them (`ServiceRepository`'s settings). */
export type RegistryConfig = ServiceRepositorySettings;

export interface EnvironmentConfig {
  /** Lower-case name matching `^[a-z][a-z0-9-]{1,30}$`; stack ids are `<name>-foundation` and `<name>-services`. */
  readonly name: string;
  /** The AWS account, 12 digits. */
  readonly accountId: string;
  /** The AWS region, e.g. `eu-west-1`. */
  readonly region: string;
  /** Marks a production environment: it must require an approval (or opt out with a reason). @default false */
  readonly production?: boolean;
  readonly approval: ApprovalConfig;
  /** @default only the repository's default branch */
  readonly deploymentBranches?: DeploymentBranchesConfig;
  /** @default local state; with `bootstrap`, the bootstrap stack's bucket (computed, see `resolveStateBackend`) */
  readonly stateBackend?: S3StateBackendConfig;
  /**
   * The `<env>-bootstrap` stack: the state bucket (then every other stack of the environment uses it
   * as its S3 backend) and optionally the ledger's Aurora database. Applied first, by an administrator,
   * with `gantry bootstrap <env>`.
   * @default none: no bootstrap stack
   */
  readonly bootstrap?: BootstrapConfig;
  readonly network: NetworkConfig;
  /** @default none (then no service may have a port) */
  readonly loadBalancer?: LoadBalancerConfig;
  /** @default keep 30 release tags, expire untagged images after 7 days, no other account pulls */
  readonly registry?: RegistryConfig;
  readonly services: readonly ServiceConfig[];
  /** @default none */
  readonly runners?: RunnerConfig;
  /**
   * Managed policy ARNs attached to the apply rights: the deploy project's role on top of the
   * permissions Gantry derives for the services stack, or (without a deploy project) the GitHub apply
   * role. PowerUserAccess and AdministratorAccess here fail the policy (GANTRY-IAM-011).
   * @default none
   */
  readonly applyPolicyArns?: readonly string[];
  /**
   * Managed policies the apply rights need beyond the derived ones, each with the reason (10+
   * characters): recorded as a GANTRY-IAM-011 suppression on its attachment and listed in the policy
   * report. The only way to attach PowerUserAccess or AdministratorAccess.
   * @default none
   */
  readonly additionalApplyPolicies?: readonly ManagedPolicyGrant[];
  /** Permissions boundary of the apply role. @default none */
  readonly applyPermissionsBoundaryArn?: string;
  /**
   * Secrets of the environment's GitHub Environment, each taken from a sensitive Terraform variable
   * of the `github` stack (its value given at apply time, e.g. `TF_VAR_<variable>`), never literal.
   * @default none
   */
  readonly githubSecrets?: Readonly<Record<string, { readonly terraformVariable: string }>>;
  /** Retention of the log groups Gantry creates, in days. @default 90 */
  readonly logRetentionDays?: number;
  /** Who hears how each `gantry deploy` ended. @default none */
  readonly notifications?: NotificationsConfig;
  /** How `gantry deploy` follows rollouts. @default 15 s polls, 30 minute timeouts */
  readonly deploy?: DeployConfig;
}

/** Environment names: also stack-id prefixes and IAM role name parts. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{1,30}$/;
const MANAGED_POLICY_ARN = /^arn:aws(-cn|-us-gov)?:iam::(aws|\d{12}):policy\/[\w+=,.@/-]+$/;
const TERRAFORM_VARIABLE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every problem of one environment, under `<name>.`; `organization` is the organisation's name. */
export function validateEnvironment(
  env: EnvironmentConfig,
  organization: string,
  problems: ProblemList,
): void {
  const at = (field: string) => `${env.name}.${field}`;
  problems.check(
    typeof env.name === 'string' && ENVIRONMENT_NAME.test(env.name),
    at('name'),
    `${show(env.name)} must match ${ENVIRONMENT_NAME} (lower-case letter first, then 1-30 lower-case letters, digits or '-')`,
  );
  problems.addIf(at('accountId'), accountIdProblem(env.accountId));
  problems.addIf(at('region'), regionProblem(env.region));
  if (env.production !== undefined) {
    problems.check(
      typeof env.production === 'boolean',
      at('production'),
      `${show(env.production)} must be true or false`,
    );
  }
  validateApproval(env, problems);
  validateRunners(env, problems);
  validateNetwork(env.network, at('network'), problems);
  validateLoadBalancer(env, organization, problems);
  if (env.logRetentionDays !== undefined) {
    problems.check(
      LOG_RETENTION_DAYS.has(env.logRetentionDays),
      at('logRetentionDays'),
      `${show(env.logRetentionDays)} is not a CloudWatch retention (one of ${[...LOG_RETENTION_DAYS].join(', ')})`,
    );
  }
  if (env.registry !== undefined)
    problems.addAll(at('registry'), serviceRepositorySettingsProblems(env.registry));
  if (env.stateBackend !== undefined)
    problems.addAll(at('stateBackend'), stateBackendProblems(env.stateBackend));
  if (env.bootstrap !== undefined)
    problems.addAll(at('bootstrap'), bootstrapProblems(env.bootstrap, organization, env));
  (env.applyPolicyArns ?? []).forEach((arn, i) =>
    problems.check(
      typeof arn === 'string' && MANAGED_POLICY_ARN.test(arn),
      at(`applyPolicyArns[${i}]`),
      `${show(arn)} is not a managed policy ARN (arn:aws:iam::aws|<account>:policy/<name>)`,
    ),
  );
  problems.addAll(
    env.name,
    managedPolicyGrantProblems(env.additionalApplyPolicies, 'additionalApplyPolicies'),
  );
  if (env.applyPermissionsBoundaryArn !== undefined) {
    problems.check(
      MANAGED_POLICY_ARN.test(env.applyPermissionsBoundaryArn),
      at('applyPermissionsBoundaryArn'),
      `${show(env.applyPermissionsBoundaryArn)} is not a managed policy ARN`,
    );
  }
  for (const [name, secret] of Object.entries(env.githubSecrets ?? {})) {
    problems.check(
      SECRET_NAME.test(name) && !/^GITHUB_/i.test(name),
      at(`githubSecrets.${name}`),
      `${show(name)} must match ${SECRET_NAME} and not start with GITHUB_`,
    );
    problems.check(
      typeof secret?.terraformVariable === 'string' && TERRAFORM_VARIABLE.test(secret.terraformVariable),
      at(`githubSecrets.${name}.terraformVariable`),
      `${show(secret?.terraformVariable)} is not a Terraform variable name`,
    );
  }
  validateServices(env, organization, problems);
  releaseProblems(env, problems);
}
