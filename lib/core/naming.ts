/**
 * Names that more than one stack (or the workflows) must agree on, computed from configuration
 * only. The `github` stack and the generated workflows derive role ARNs and runner labels from
 * these, so they need no cross-stack reference. Changing one renames real infrastructure.
 */

import { createHash } from 'node:crypto';
import { GantryConfigError } from './errors';

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

/**
 * IAM role name of the role pull-request plans assume, `<org>-<env>-gh-plan-pr`: trusted for `pull_request` only,
 * read-only, denied data-plane reads and lock writes. Only environments whose pull requests are planned have one.
 */
export function pullRequestPlanRoleName(org: string, env: string): string {
  return `${org}-${env}-gh-plan-pr`;
}

/** The environment secrets holding the ledger URL and the `github` stack's read-only GitHub token. */
export const LEDGER_URL_SECRET = 'GANTRY_LEDGER_URL';
export const GITHUB_TOKEN_SECRET = 'GANTRY_GITHUB_TOKEN';

/** The GitHub Environment only the default branch may use (plans of the branch, drift checks, their secrets). */
export const DEFAULT_TRUSTED_ENVIRONMENT = 'gantry';

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

/**
 * Service role of the deploy project, which holds the environment's apply rights:
 * `<org>-<env>-deploy-build`. The services stack names it in its key's policy.
 */
export function deployBuildRoleName(org: string, env: string): string {
  return `${deployProjectName(org, env)}-build`;
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
 * Publish role of an environment's registry: `<org>-<env>-gh-publish` for this repository's `v*` tags,
 * `<org>-<env>-gh-publish-<source>` for a source repository's.
 */
export function publishRoleName(org: string, env: string, source?: string): string {
  return `${org}-${env}-gh-publish${source ? `-${source}` : ''}`;
}

/** The source name `publishRoleName` may not take: the branch publish role's suffix. */
export const BRANCH_PUBLISH_SUFFIX = 'main';

/**
 * Publish role of an environment's registry for the push builds of the default branch:
 * `<org>-<env>-gh-publish-main` (whatever the default branch is called).
 */
export function branchPublishRoleName(org: string, env: string): string {
  return publishRoleName(org, env, BRANCH_PUBLISH_SUFFIX);
}

/** IAM allows role names of at most 64 characters. */
export const MAX_ROLE_NAME_LENGTH = 64;

function checkedRoleName(name: string): string {
  if (name.length > MAX_ROLE_NAME_LENGTH) {
    throw new GantryConfigError(
      `IAM role name ${JSON.stringify(name)}: ${name.length} characters, IAM allows at most ${MAX_ROLE_NAME_LENGTH}; shorten the organization, environment or service name`,
    );
  }
  return name;
}

/**
 * Role a service's containers run as (ECS task role): `<org>-<env>-<service>-task`. Created by
 * `<env>-foundation`, passed by `<env>-services`. Throws when longer than 64 characters.
 */
export function taskRoleName(org: string, env: string, service: string): string {
  return checkedRoleName(`${org}-${env}-${service}-task`);
}

/**
 * Role ECS uses to pull a service's image, read its secrets and write its logs (task execution
 * role): `<org>-<env>-<service>-exec`. Throws when longer than 64 characters.
 */
export function executionRoleName(org: string, env: string, service: string): string {
  return checkedRoleName(`${org}-${env}-${service}-exec`);
}

/** The DNS suffix of AWS endpoints in a region: `amazonaws.com`, or `amazonaws.com.cn` in China. */
export function dnsSuffixOf(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/** `<account>.dkr.ecr.<region>.amazonaws.com` (`.com.cn` in China): an account's ECR registry in a region. */
export function registryHost(accountId: string, region: string): string {
  return `${accountId}.dkr.ecr.${region}.${dnsSuffixOf(region)}`;
}

/** `<account>.dkr.ecr.<region>.amazonaws.com/<org>/<service>`: the image name without a tag. */
export function repositoryUrl(accountId: string, region: string, org: string, service: string): string {
  return `${registryHost(accountId, region)}/${repositoryName(org, service)}`;
}

/** `arn:<partition>:ecr:<region>:<account>:repository/<org>/<service>`. */
export function repositoryArn(accountId: string, region: string, org: string, service: string): string {
  return `arn:${partitionOf(region)}:ecr:${region}:${accountId}:repository/${repositoryName(org, service)}`;
}

/** ECS cluster of an environment: `<org>-<env>`. */
export function clusterName(org: string, env: string): string {
  return `${org}-${env}`;
}

/**
 * Log group receiving a cluster's ECS Exec session output: `/gantry/<cluster>/ecs-exec`. Created by
 * `<env>-services` (`ServiceCluster`); the task roles of `<env>-foundation` write to it.
 */
export function ecsExecLogGroupName(cluster: string): string {
  return `/gantry/${cluster}/ecs-exec`;
}

/**
 * Alias (without `alias/`) of the KMS key `<env>-services` owns: `<org>-<env>-services`. The task
 * roles of services with ECS Exec may decrypt with the key that carries it (`kms:ResourceAliases`).
 */
export function servicesKeyAlias(org: string, env: string): string {
  return `${org}-${env}-services`;
}

/** Log group of a service's containers: `/gantry/<org>-<env>/services/<service>`. */
export function serviceLogGroupName(org: string, env: string, service: string): string {
  return `/gantry/${org}-${env}/services/${service}`;
}

/** `arn:<partition>:logs:<region>:<account>:log-group:<name>`. */
export function logGroupArn(accountId: string, region: string, name: string): string {
  return `arn:${partitionOf(region)}:logs:${region}:${accountId}:log-group:${name}`;
}

/** The Terraform variable holding a service's image tag: `image_tag_<service, '-' as '_'>`. */
export function imageTagVariableName(service: string): string {
  return `image_tag_${service.replace(/-/g, '_')}`;
}

/** SSM parameter prefix under which the foundation stack publishes an environment's ids: `/<org>/<env>/`. */
export function ssmPrefix(org: string, env: string): string {
  return `/${org}/${env}/`;
}

/**
 * SSM parameter through which the apply workflow hands a dispatch's image tags to the environment's
 * deploy project: `/<org>/<env>/gantry/image-tags`, holding `{"commit": "<sha>", "tags": {...}}`.
 * The GitHub apply role may only write it; the deploy project only reads it.
 */
export function imageTagsParameterName(org: string, env: string): string {
  return `${ssmPrefix(org, env)}gantry/image-tags`;
}

/**
 * Marker of the deploy project's build log lines that carry the deploy's Markdown summary: the buildspec
 * prints each line as `gantry-summary| <line>`, the apply workflow copies them (marker removed) into its
 * step summary.
 */
export const SUMMARY_LOG_MARKER = 'gantry-summary|';

/**
 * The length of a reason to deploy a digest never verified upstream, in characters: `gantry deploy
 * --unverified-reason` takes `min` or more; the dispatch input `unverified_reason` and the deploy project's
 * handoff value `unverifiedReason` (one line, carried in an output and a parameter) also at most `max`.
 */
export const UNVERIFIED_REASON_LENGTH = { min: 10, max: 300 } as const;

/** `arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading />`. */
export function ssmParameterArn(accountId: string, region: string, name: string): string {
  return `arn:${partitionOf(region)}:ssm:${region}:${accountId}:parameter/${name.replace(/^\//, '')}`;
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

/**
 * A construct id made from a value (a branch pattern, a policy name), so ids are keyed by value and
 * reordering a list replaces nothing: the value itself when it is made of letters, digits, `_`, `-` and
 * `.`; otherwise those characters with the rest as `-`, and a short hash of the value so that
 * `release/*` and `release-*` stay distinct.
 */
export function valueId(value: string): string {
  if (/^[A-Za-z0-9_.-]+$/.test(value)) return value;
  const readable = value.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 6);
  return readable ? `${readable}-${hash}` : hash;
}

/**
 * The construct id part of a managed policy: `ReadOnlyAccess` for an AWS managed policy,
 * `<account>-<name>` for a customer one (`valueId`).
 */
export function policyIdOf(arn: string): string {
  const match = /^arn:[^:]+:iam::(aws|\d{12}):policy\/(.+)$/.exec(arn);
  return valueId(match ? (match[1] === 'aws' ? match[2] : `${match[1]}-${match[2]}`) : arn);
}

/** Stack id of an environment's bootstrap stack (state bucket, ledger database): `<env>-bootstrap`. */
export function bootstrapStackId(env: string): string {
  return `${env}-bootstrap`;
}

/**
 * The state bucket the bootstrap stack creates and every other stack's S3 backend uses:
 * `<org>-<env>-tfstate-<account>` (bucket names are global, the account id keeps them unique).
 * At most 21 + 31 + 21 characters: within S3's 63.
 */
export function stateBucketName(org: string, env: string, accountId: string): string {
  return `${org}-${env}-tfstate-${accountId}`;
}

/** Alias (without `alias/`) of the state bucket's own KMS key: `<org>-<env>-tfstate`. */
export function stateKeyAlias(org: string, env: string): string {
  return `${org}-${env}-tfstate`;
}

/** Aurora cluster holding the ledger: `<org>-<env>-ledger`. */
export function ledgerClusterName(org: string, env: string): string {
  return `${org}-${env}-ledger`;
}

/**
 * Secrets Manager secret of the login CI writes the ledger as (a member of `gantry_writer`):
 * `<org>-<env>-ledger-writer`. The bootstrap stack creates it empty; `gantry bootstrap` sets its value.
 */
export function ledgerWriterSecretName(org: string, env: string): string {
  return `${org}-${env}-ledger-writer`;
}

/** Alias (without `alias/`) of the ledger database's KMS key: `<org>-<env>-ledger`. */
export function ledgerKeyAlias(org: string, env: string): string {
  return `${org}-${env}-ledger`;
}

/**
 * `arn:<partition>:kms:<region>:<account>:alias/<alias>`: a key's alias with its account, for callers in another
 * account (a bare `alias/<name>` resolves in the caller's own account, so S3 would encrypt with a key of theirs).
 */
export function kmsAliasArn(accountId: string, region: string, alias: string): string {
  return `arn:${partitionOf(region)}:kms:${region}:${accountId}:alias/${alias}`;
}
