import { ActionsEnvironmentSecret } from '@cdktf/provider-github/lib/actions-environment-secret';
import { ActionsEnvironmentVariable } from '@cdktf/provider-github/lib/actions-environment-variable';
import { DataGithubTeam } from '@cdktf/provider-github/lib/data-github-team';
import { DataGithubUser } from '@cdktf/provider-github/lib/data-github-user';
import { RepositoryEnvironment } from '@cdktf/provider-github/lib/repository-environment';
import { RepositoryEnvironmentDeploymentPolicy } from '@cdktf/provider-github/lib/repository-environment-deployment-policy';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { ProblemList, show } from '../core/errors';
import {
  deploymentBranchesProblems,
  reviewerGroupProblems,
  reviewerMembers,
  type DeploymentBranchesConfig,
  type ReviewerGroup,
} from '../core/github';
import { valueId } from '../core/naming';

export interface GithubEnvironmentProps {
  /** The repository's name (without owner; the GitHub provider's `owner` names the owner). */
  readonly repository: string;
  /** The environment's name, e.g. `prod` or `prod-approval`. */
  readonly environment: string;
  /**
   * Who may approve a deployment: teams by slug and users by login (resolved to ids with the
   * provider's `github_team` / `github_user` data sources) or by id. At most 6 in all.
   * @default no reviewers (no approval needed)
   */
  readonly reviewers?: ReviewerGroup;
  /** The person who triggered a deployment may not approve it. @default true */
  readonly preventSelfReview?: boolean;
  /** Whether repository admins may bypass the protection rules. @default false */
  readonly canAdminsBypass?: boolean;
  /** Wait before a job starts, in minutes (0..43200). @default 0 */
  readonly waitTimerMinutes?: number;
  /**
   * Which refs may deploy: the repository's protected branches, or named branch/tag patterns.
   * Required: a job bound to an environment carries no branch in its OIDC subject, so the branch
   * gate of the role trusting this environment lives here.
   */
  readonly deploymentBranches: DeploymentBranchesConfig;
  /** Environment variables (plain values; never secrets). @default none */
  readonly variables?: Readonly<Record<string, string>>;
  /**
   * Environment secrets as references (e.g. a sensitive `TerraformVariable`'s `stringValue`);
   * a literal value is rejected so no secret lands in the synthesized JSON.
   * @default none
   */
  readonly secrets?: Readonly<Record<string, string>>;
}

const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_WAIT_TIMER_MINUTES = 43200;

/**
 * One GitHub Environment of a repository: its reviewers (self-review prevented, admin bypass off
 * by default), wait timer, deployment branch policy, variables and secrets.
 */
export class GithubEnvironment extends Construct {
  public readonly environmentName: string;
  public readonly environment: RepositoryEnvironment;

  constructor(scope: Construct, id: string, props: GithubEnvironmentProps) {
    super(scope, id);
    validate(this.node.path, props);
    this.environmentName = props.environment;
    const reviewers = props.reviewers ?? {};
    const teamIds = [
      ...(reviewers.teamIds ?? []),
      ...(reviewers.teams ?? []).map((slug) =>
        Token.asNumber(new DataGithubTeam(this, `team-${slug}`, { slug }).id),
      ),
    ];
    const userIds = [
      ...(reviewers.userIds ?? []),
      ...(reviewers.users ?? []).map((username) =>
        Token.asNumber(new DataGithubUser(this, `user-${username}`, { username }).id),
      ),
    ];
    const gated = teamIds.length + userIds.length > 0;
    const branches = props.deploymentBranches;
    const custom = !('protectedBranches' in branches && branches.protectedBranches === true);

    this.environment = new RepositoryEnvironment(this, 'environment', {
      repository: props.repository,
      environment: props.environment,
      canAdminsBypass: props.canAdminsBypass ?? false,
      ...(gated
        ? {
            preventSelfReview: props.preventSelfReview ?? true,
            reviewers: [
              {
                ...(teamIds.length ? { teams: teamIds } : {}),
                ...(userIds.length ? { users: userIds } : {}),
              },
            ],
          }
        : {}),
      waitTimer: props.waitTimerMinutes ?? 0,
      deploymentBranchPolicy: { protectedBranches: !custom, customBranchPolicies: custom },
    });
    if (custom && !('protectedBranches' in branches)) {
      for (const branchPattern of new Set(branches.branches ?? [])) {
        new RepositoryEnvironmentDeploymentPolicy(this, `branch-${valueId(branchPattern)}`, {
          repository: props.repository,
          environment: this.environment.environment,
          branchPattern,
        });
      }
      for (const tagPattern of new Set(branches.tags ?? [])) {
        new RepositoryEnvironmentDeploymentPolicy(this, `tag-${valueId(tagPattern)}`, {
          repository: props.repository,
          environment: this.environment.environment,
          tagPattern,
        });
      }
    }
    for (const [variableName, value] of Object.entries(props.variables ?? {})) {
      new ActionsEnvironmentVariable(this, `variable-${variableName}`, {
        repository: props.repository,
        environment: this.environment.environment,
        variableName,
        value,
      });
    }
    for (const [secretName, value] of Object.entries(props.secrets ?? {})) {
      new ActionsEnvironmentSecret(this, `secret-${secretName}`, {
        repository: props.repository,
        environment: this.environment.environment,
        secretName,
        plaintextValue: value,
      });
    }
  }
}

function validate(path: string, props: GithubEnvironmentProps): void {
  const problems = new ProblemList();
  problems.check(
    /^[A-Za-z0-9._-]{1,100}$/.test(props.repository),
    `${path}.repository`,
    `${show(props.repository)} must be the repository's name only (the provider's owner names the owner)`,
  );
  problems.check(
    ENVIRONMENT_NAME.test(props.environment),
    `${path}.environment`,
    `${show(props.environment)} must be 1-255 letters, digits, '.', '_' or '-'`,
  );
  const r = props.reviewers ?? {};
  const count = reviewerMembers(r).length;
  problems.addAll(`${path}.reviewers`, reviewerGroupProblems(r));
  if (props.preventSelfReview === false && count > 0) {
    problems.add(
      `${path}.preventSelfReview`,
      'false lets the person who triggered a deployment approve it alone; Gantry requires it on for reviewed environments',
    );
  }
  const wait = props.waitTimerMinutes ?? 0;
  problems.check(
    Number.isInteger(wait) && wait >= 0 && wait <= MAX_WAIT_TIMER_MINUTES,
    `${path}.waitTimerMinutes`,
    `${show(wait)} must be an integer from 0 to ${MAX_WAIT_TIMER_MINUTES}`,
  );
  problems.addAll(`${path}.deploymentBranches`, deploymentBranchesProblems(props.deploymentBranches));
  for (const name of [...Object.keys(props.variables ?? {}), ...Object.keys(props.secrets ?? {})]) {
    problems.check(
      VARIABLE_NAME.test(name) && !/^GITHUB_/i.test(name),
      `${path}.variables`,
      `${show(name)} must match ${VARIABLE_NAME} and not start with GITHUB_`,
    );
  }
  for (const [name, value] of Object.entries(props.secrets ?? {})) {
    problems.check(
      Token.isUnresolved(value),
      `${path}.secrets.${name}`,
      'is a literal value; pass a reference (e.g. a sensitive TerraformVariable) so no secret is written to the synthesized JSON',
    );
  }
  problems.throwIfAny();
}
