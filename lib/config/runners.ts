/** The CodeBuild projects of an environment: a GitHub Actions runner, a deploy project, or both. */
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import { deployProjectSettingsProblems, type DeployProjectSettings } from '../runner/deploy-project';
import {
  githubActionsRunnerSettingsProblems,
  type GithubActionsRunnerSettings,
} from '../runner/github-actions-runner';

export interface RunnerConfig {
  /** A CodeBuild-hosted GitHub Actions runner (`runs-on: codebuild-<project>-...`). @default none */
  readonly githubActions?: GithubActionsRunnerSettings;
  /** The CodeBuild project that runs `gantry plan|apply` with the apply rights. @default none */
  readonly deploy?: DeployProjectSettings;
}

/**
 * CodeBuild runner settings, checked as the constructs check them; a deploy project of an environment
 * needing N >= 2 approvals needs the GitHub token secret with which its build verifies them.
 */
export function validateRunners(
  env: {
    readonly name: string;
    readonly runners?: RunnerConfig;
    readonly approval: { readonly requiredApprovals: number };
  },
  problems: ProblemList,
): void {
  const at = (field: string) => `${env.name}.runners.${field}`;
  const runners = env.runners;
  if (runners === undefined) return;
  if (typeof runners !== 'object' || runners === null) {
    problems.add(
      `${env.name}.runners`,
      `${show(runners)} is not a runner configuration ({ githubActions?, deploy? })`,
    );
    return;
  }
  if (runners.githubActions)
    problems.addAll(at('githubActions'), githubActionsRunnerSettingsProblems(runners.githubActions));
  const deploy = runners.deploy;
  if (!deploy) return;
  problems.addAll(at('deploy'), deployProjectSettingsProblems(deploy));
  const required = env.approval?.requiredApprovals ?? 0;
  if (deploy.githubTokenSecretArn === undefined) {
    problems.check(
      required < 2,
      at('deploy.githubTokenSecretArn'),
      `not given, but ${env.name} requires ${required} approvals: the deploy build verifies them on the GitHub run that started it, ` +
        "with a token that can read the repository's Actions runs; give its Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
    );
  }
}
