import { GithubProvider } from '@cdktf/provider-github/lib/provider';
import { TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { validateConfig, type EnvironmentConfig, type GantryConfig } from '../lib/config';
import { recordStackFacts } from '../lib/core/record-stack-facts';
import {
  applyRoleName,
  DEFAULT_TRUSTED_ENVIRONMENT,
  deployProjectName,
  environmentChain,
  GITHUB_TOKEN_SECRET,
  LEDGER_URL_SECRET,
  planRoleName,
  roleArn,
  runnerLabelPrefix,
} from '../lib/core/naming';
import { DefaultBranchRuleset, GithubEnvironment } from '../lib/github';
import { deployModeOf } from '../lib/workflows';
import { configureBackend } from './aws-environment-stack';

/**
 * `github`: the repository's environments, reviewers, branch policies, variables and secrets.
 * Role ARNs are computed from configuration, so this stack has no cross-stack reference.
 */
export class GithubStack extends TerraformStack {
  /** Every GitHub Environment, by name, in deployment order (gates before their environment). */
  public readonly environments = new Map<string, GithubEnvironment>();
  /** The ruleset that makes the default branch mean reviewed code. */
  public readonly defaultBranchRuleset: DefaultBranchRuleset;
  private readonly secretVariables = new Map<string, TerraformVariable>();

  constructor(scope: Construct, config: GantryConfig) {
    super(scope, 'github');
    validateConfig(config);
    const { organization: org } = config;
    const [owner] = org.github.repository.split('/');
    new GithubProvider(this, 'github', { owner });
    configureBackend(this, 'github', org.githubStateBackend, config.environments[0].region);
    for (const env of config.environments) this.addEnvironment(config, env);
    this.addTrustedEnvironment(config);
    const ruleset = org.github.defaultBranchRuleset ?? {};
    this.defaultBranchRuleset = new DefaultBranchRuleset(this, 'default-branch-ruleset', {
      repository: org.github.repository.split('/')[1],
      ...ruleset,
    });
    // Of no single environment: the workflows never apply it (it defines their gates); an administrator does.
    recordStackFacts(this, {
      kind: 'github',
      repository: org.github.repository,
      defaultBranch: org.github.defaultBranch,
      environment: null,
      accountId: null,
      production: false,
      requiredApprovals: 0,
      approvalEnvironments: [],
      services: [],
    });
  }

  /**
   * The approval chain of one environment: with N >= 2 required approvals, N - 1 gate environments
   * (`<env>-approval...`) then `<env>`, each with its own reviewer group, self-review prevented,
   * admin bypass off and the same branch policy. Only `<env>` carries the role variables (and is the
   * one the apply role trusts).
   */
  private addEnvironment(config: GantryConfig, env: EnvironmentConfig): void {
    const org = config.organization;
    const [, repository] = org.github.repository.split('/');
    const required = env.approval.requiredApprovals;
    const groups = env.approval.reviewerGroups ?? [];
    const chain = environmentChain(env.name, required);
    const deploymentBranches = env.deploymentBranches ?? { branches: [org.github.defaultBranch] };
    chain.forEach((name, i) => {
      const last = i === chain.length - 1;
      const reviewers = required === 0 ? undefined : groups[i];
      const environment = new GithubEnvironment(this, `environment-${name}`, {
        repository,
        environment: name,
        ...(reviewers ? { reviewers } : {}),
        preventSelfReview: true,
        canAdminsBypass: false,
        waitTimerMinutes: env.approval.waitTimerMinutes ?? 0,
        deploymentBranches,
        ...(last
          ? {
              variables: environmentVariables(config, env),
              // An apply job that runs gantry itself (not through a deploy project) writes the ledger.
              secrets: {
                ...this.secrets(env),
                ...(deployModeOf(env) !== 'deploy-project'
                  ? { [LEDGER_URL_SECRET]: this.runtimeSecret(LEDGER_URL_SECRET) }
                  : {}),
              },
            }
          : {}),
      });
      this.environments.set(name, environment);
    });
  }

  /**
   * The GitHub Environment only the default branch may use: the default branch's plan jobs and the drift
   * checks run bound to it (the plan roles trust `environment:<name>`), and it holds the secrets those jobs
   * need, the ledger URL and the `github` stack's read-only token, which no other branch can read.
   */
  private addTrustedEnvironment(config: GantryConfig): void {
    const org = config.organization;
    const name = org.github.trustedEnvironment ?? DEFAULT_TRUSTED_ENVIRONMENT;
    const environment = new GithubEnvironment(this, `environment-${name}`, {
      repository: org.github.repository.split('/')[1],
      environment: name,
      canAdminsBypass: false,
      deploymentBranches: { branches: [org.github.defaultBranch] },
      secrets: {
        [LEDGER_URL_SECRET]: this.runtimeSecret(LEDGER_URL_SECRET),
        [GITHUB_TOKEN_SECRET]: this.runtimeSecret(GITHUB_TOKEN_SECRET),
      },
    });
    this.environments.set(name, environment);
  }

  /** A sensitive variable (`gantry_ledger_url`, `gantry_github_token`) whose value the administrator gives at apply. */
  private runtimeSecret(secret: string): string {
    const name = secret.toLowerCase();
    let variable = this.secretVariables.get(name);
    if (!variable) {
      variable = new TerraformVariable(this, name, {
        type: 'string',
        sensitive: true,
        description:
          secret === LEDGER_URL_SECRET
            ? 'GANTRY_LEDGER_URL: the ledger the workflows write (an environment secret, default branch only)'
            : "GANTRY_GITHUB_TOKEN: a read-only GitHub token for the github stack's plans and drift checks",
      });
      this.secretVariables.set(name, variable);
    }
    return variable.stringValue;
  }

  private secrets(env: EnvironmentConfig): Record<string, string> {
    const secrets: Record<string, string> = {};
    for (const [name, { terraformVariable }] of Object.entries(env.githubSecrets ?? {})) {
      let variable = this.secretVariables.get(terraformVariable);
      if (!variable) {
        variable = new TerraformVariable(this, terraformVariable, {
          type: 'string',
          sensitive: true,
          description: `GitHub environment secret ${name} of ${env.name}`,
        });
        this.secretVariables.set(terraformVariable, variable);
      }
      secrets[name] = variable.stringValue;
    }
    return secrets;
  }
}

/** The variables a deployment job reads: role ARNs, region and account, runner label, deploy project. */
export function environmentVariables(config: GantryConfig, env: EnvironmentConfig): Record<string, string> {
  const org = config.organization;
  return {
    AWS_DEPLOYER_ROLE_ARN: roleArn(env.accountId, env.region, applyRoleName(org.name, env.name)),
    AWS_PLAN_ROLE_ARN: roleArn(env.accountId, env.region, planRoleName(org.name, env.name)),
    AWS_REGION: env.region,
    AWS_ACCOUNT_ID: env.accountId,
    ...(env.runners?.githubActions ? { GANTRY_RUNNER_LABEL: runnerLabelPrefix(org.name, env.name) } : {}),
    ...(env.runners?.deploy ? { GANTRY_DEPLOY_PROJECT: deployProjectName(org.name, env.name) } : {}),
  };
}
