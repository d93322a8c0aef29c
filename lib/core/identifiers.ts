/**
 * The AWS and GitHub identifiers Gantry accepts, one definition each, with the message that says what
 * is allowed. Constructs and the configuration's validation both use these, so the same value gets the
 * same answer wherever it is given. Each `xxxProblem(value)` returns why `value` is refused, or
 * `undefined` when it is fine; the caller prefixes the field's path. Unresolved tokens are the
 * caller's to skip (`isKnown` in `./tokens`).
 */
import { AWS_REGIONS } from './aws-limits';
import { FieldProblems, show, type FieldProblem } from './errors';
import { partitionOf } from './naming';
import { isKnown } from './tokens';

/** Container image tags ECR accepts: 1-128 of letters, digits, `_`, `.`, `-`, not starting with `.` or `-`. */
export const IMAGE_TAG_SOURCE = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';
export const IMAGE_TAG = new RegExp(IMAGE_TAG_SOURCE);
export const ACCOUNT_ID = /^\d{12}$/;
export const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
export const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
export const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
export const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** `owner/name` of a GitHub repository: no wildcard can pass this. */
export const GITHUB_REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.+$)[A-Za-z0-9._-]{1,100}$/;
export const KMS_KEY_ARN = /^arn:aws(?:-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
export const SECRETS_MANAGER_ARN =
  /^arn:aws(?:-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
export const SSM_PARAMETER_ARN =
  /^arn:aws(?:-cn|-us-gov)?:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+$/;
/** A standard SNS topic: `arn:<partition>:sns:<region>:<account>:<name>` (1-256 of letters, digits, `_`, `-`). */
export const SNS_TOPIC_ARN = /^arn:(aws|aws-cn|aws-us-gov):sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$/;
export const CONNECTION_ARN =
  /^arn:aws(?:-cn|-us-gov)?:(?:codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/;

export function accountIdProblem(value: unknown): string | undefined {
  return typeof value === 'string' && ACCOUNT_ID.test(value)
    ? undefined
    : `${show(value)} is not a 12-digit AWS account id`;
}

export function regionProblem(value: unknown): string | undefined {
  return typeof value === 'string' && AWS_REGIONS.has(value)
    ? undefined
    : `${show(value)} is not an AWS region (e.g. "eu-west-1", "us-east-1")`;
}

/**
 * An SNS topic of the account `where.accountId`, in a region of the partition of `where.region` (the
 * topic may be in another region of it). FIFO topics (`.fifo`) are refused: a publish to one needs a
 * message group, and a deploy's outcome is one message, not a stream.
 */
export function snsTopicArnProblem(
  value: unknown,
  where: { readonly accountId: string; readonly region: string },
): string | undefined {
  const partition = partitionOf(where.region);
  const allowed = `a standard topic of account ${where.accountId} in partition ${partition}`;
  if (typeof value === 'string' && /^arn:[^:]+:sns:[^:]*:[^:]*:.+\.fifo$/.test(value))
    return `${show(value)} is a FIFO topic; give ${allowed}`;
  const match = typeof value === 'string' ? SNS_TOPIC_ARN.exec(value) : null;
  if (!match)
    return `${show(value)} is not an SNS topic ARN (arn:${partition}:sns:<region>:${where.accountId}:<name>, the name 1-256 of A-Z, a-z, 0-9, _ and -)`;
  const [, arnPartition, region, account] = match;
  if (account !== where.accountId)
    return `${show(value)} is a topic of account ${account}; give ${allowed} (the environment's own)`;
  if (!AWS_REGIONS.has(region))
    return `${show(value)} names ${show(region)}, which is not an AWS region; give ${allowed}`;
  if (arnPartition !== partition || partitionOf(region) !== partition)
    return `${show(value)} is outside partition ${partition} (of the environment's region ${where.region}); give ${allowed}`;
  return undefined;
}

/** An immutable release tag: ECR's syntax, and never `latest` (mutable, so no rollback can name it). */
export function imageTagProblem(value: unknown): string | undefined {
  if (value === 'latest')
    return '"latest" is mutable and cannot be rolled back to; use an immutable release tag such as "v1.4.0"';
  return typeof value === 'string' && IMAGE_TAG.test(value)
    ? undefined
    : `${show(value)} is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`;
}

export function vpcIdProblem(value: unknown): string | undefined {
  return typeof value === 'string' && VPC_ID.test(value)
    ? undefined
    : `${show(value)} is not a VPC id (vpc-0123456789abcdef0)`;
}

export function subnetIdProblem(value: unknown): string | undefined {
  return typeof value === 'string' && SUBNET_ID.test(value)
    ? undefined
    : `${show(value)} is not a subnet id (subnet-0123456789abcdef0)`;
}

export function securityGroupIdProblem(value: unknown): string | undefined {
  return typeof value === 'string' && SECURITY_GROUP_ID.test(value)
    ? undefined
    : `${show(value)} is not a security group id (sg-0123456789abcdef0)`;
}

export function bucketNameProblem(value: unknown): string | undefined {
  return typeof value === 'string' && S3_BUCKET_NAME.test(value) && !value.includes('..')
    ? undefined
    : `${show(value)} is not an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')`;
}

/** A workflow file name under `.github/workflows/`, e.g. `build-publish.yml`. */
export const WORKFLOW_FILE = /^[A-Za-z0-9_.-]+\.ya?ml$/;

export function githubRepositoryProblem(value: unknown): string | undefined {
  return typeof value === 'string' && GITHUB_REPOSITORY.test(value)
    ? undefined
    : `${show(value)} is not of the form owner/name (letters, digits, '-', and for the name also '.' and '_'; no wildcards)`;
}

/**
 * Problems of a VPC and its private subnets as a construct takes them (`vpcId`, `subnetIds`): literal ids
 * well formed, at least one subnet. References (read at plan time) are not checked.
 */
export function privateNetworkProblems(vpcId: string, subnetIds: readonly string[]): FieldProblem[] {
  const problems = new FieldProblems();
  if (isKnown(vpcId)) problems.addIf('vpcId', vpcIdProblem(vpcId));
  if (isKnown(subnetIds)) {
    problems.check(
      subnetIds.length > 0,
      'subnetIds',
      'no subnet given, at least one private subnet is needed',
    );
    for (const subnet of subnetIds.filter(isKnown)) problems.addIf('subnetIds', subnetIdProblem(subnet));
  }
  return problems.list;
}
