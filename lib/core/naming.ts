/**
 * Names that more than one stack (or the workflows) must agree on, computed from configuration
 * only. The `github` stack and the generated workflows derive role ARNs and runner labels from
 * these, so they need no cross-stack reference. Changing one renames real infrastructure.
 */

/** The AWS partition of a region: `aws`, `aws-cn` or `aws-us-gov`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** IAM role name of the read-only plan role: `<org>-<env>-gh-plan` (at most 62 characters). */
export function planRoleName(org: string, env: string): string {
  return `${org}-${env}-gh-plan`;
}

/** IAM role name of the apply role trusted for `environment:<env>`: `<org>-<env>-gh-apply`. */
export function applyRoleName(org: string, env: string): string {
  return `${org}-${env}-gh-apply`;
}

/** `arn:<partition>:iam::<account>:role/<name>`. */
export function roleArn(accountId: string, region: string, roleName: string): string {
  return `arn:${partitionOf(region)}:iam::${accountId}:role/${roleName}`;
}

/** CodeBuild project that runs `gantry plan|apply` with the apply rights: `<org>-<env>-deploy`. */
export function deployProjectName(org: string, env: string): string {
  return `${org}-${env}-deploy`;
}

/** CodeBuild project hosting GitHub Actions runners: `<org>-<env>-runner`. */
export function runnerProjectName(org: string, env: string): string {
  return `${org}-${env}-runner`;
}

/**
 * The `runs-on` label prefix of the CodeBuild runner; a job says
 * `runs-on: <prefix>-${{ github.run_id }}-${{ github.run_attempt }}`.
 */
export function runnerLabelPrefix(org: string, env: string): string {
  return `codebuild-${runnerProjectName(org, env)}`;
}

/** ECR repository of a service: `<org>/<service>`. */
export function repositoryName(org: string, service: string): string {
  return `${org}/${service}`;
}

/**
 * The GitHub Environments a deployment to `env` passes, in order. With N >= 2 required approvals
 * there are N - 1 gate environments before the environment itself (`prod-approval`, or
 * `prod-approval-1`, `prod-approval-2`, ... for N > 2); each is approved by its own reviewer group.
 * Only the last (`env` itself) is trusted by the apply role.
 */
export function environmentChain(env: string, requiredApprovals: number): string[] {
  const gates = Math.max(0, requiredApprovals - 1);
  const names = Array.from({ length: gates }, (_, i) =>
    gates === 1 ? `${env}-approval` : `${env}-approval-${i + 1}`,
  );
  return [...names, env];
}
