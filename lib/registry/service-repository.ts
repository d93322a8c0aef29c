import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcrRepositoryPolicy } from '@cdktf/provider-aws/lib/ecr-repository-policy';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { GantryConfigError } from '../core/errors';
import { partitionOf } from '../core/naming';

export interface ServiceRepositoryProps {
  /** Repository name, e.g. `acme/api` (see `repositoryName` in `lib/core/naming`). */
  readonly repositoryName: string;
  /** ARN of the customer-managed KMS key (rotation on) that encrypts the images. */
  readonly kmsKeyArn: string;
  /** Region of the repository (for the partition of the pull principals). */
  readonly region: string;
  /**
   * Release tags (`v*`) kept; older release images expire.
   * @default 30
   */
  readonly keepReleaseTags?: number;
  /**
   * Days after which an untagged image expires.
   * @default 7
   */
  readonly untaggedExpiryDays?: number;
  /**
   * Other AWS accounts allowed to pull (read only), so one image built once is promoted by tag.
   * @default none: no repository policy
   */
  readonly pullAccountIds?: readonly string[];
}

const ACCOUNT_ID = /^\d{12}$/;
const REPOSITORY_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** The ECR actions a pulling account needs, and nothing more. */
export const ECR_PULL_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
] as const;

/**
 * An ECR repository for one service: immutable tags (a tag names one image forever, so a rollback
 * by tag is exact), scan on push, KMS encryption with a customer key, a lifecycle policy that keeps
 * the last N release tags and expires untagged images, optional read-only pull for other accounts,
 * `force_delete` off and `prevent_destroy` on: it is a data store.
 */
export class ServiceRepository extends Construct {
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
  public readonly repositoryUrl: string;
  public readonly repositoryArn: string;
  public readonly repositoryName: string;

  constructor(scope: Construct, id: string, props: ServiceRepositoryProps) {
    super(scope, id);
    const keep = props.keepReleaseTags ?? 30;
    const expiryDays = props.untaggedExpiryDays ?? 7;
    const pullAccounts = [...new Set(props.pullAccountIds ?? [])].sort();
    validate(this.node.path, props.repositoryName, keep, expiryDays, pullAccounts);

    const repository = new EcrRepository(this, 'repository', {
      name: props.repositoryName,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: 'KMS', kmsKey: props.kmsKeyArn }],
      forceDelete: false,
      lifecycle: { preventDestroy: true },
    });

    const lifecycle = {
      rules: [
        {
          rulePriority: 1,
          description: `Expire untagged images after ${expiryDays} days`,
          selection: {
            tagStatus: 'untagged',
            countType: 'sinceImagePushed',
            countUnit: 'days',
            countNumber: expiryDays,
          },
          action: { type: 'expire' },
        },
        {
          rulePriority: 2,
          description: `Keep the last ${keep} release tags (v*)`,
          selection: {
            tagStatus: 'tagged',
            tagPatternList: ['v*'],
            countType: 'imageCountMoreThan',
            countNumber: keep,
          },
          action: { type: 'expire' },
        },
      ],
    };
    new EcrLifecyclePolicy(this, 'lifecycle', {
      repository: repository.name,
      policy: JSON.stringify(lifecycle),
    });

    if (pullAccounts.length > 0) {
      const partition = partitionOf(props.region);
      const policy = {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'PullFromOtherEnvironments',
            Effect: 'Allow',
            Principal: { AWS: pullAccounts.map((a) => `arn:${partition}:iam::${a}:root`) },
            Action: [...ECR_PULL_ACTIONS],
          },
        ],
      };
      new EcrRepositoryPolicy(this, 'pull-policy', {
        repository: repository.name,
        policy: JSON.stringify(policy),
      });
    }

    this.repositoryUrl = repository.repositoryUrl;
    this.repositoryArn = repository.arn;
    this.repositoryName = props.repositoryName;
  }
}

function validate(
  path: string,
  name: string,
  keep: number,
  expiryDays: number,
  pullAccounts: readonly string[],
): void {
  const problems: string[] = [];
  if (!Token.isUnresolved(name) && (!REPOSITORY_NAME.test(name) || name.length > 256)) {
    problems.push(
      `${path}.repositoryName: ${JSON.stringify(name)} is not an ECR repository name (lower-case letters, digits, '.', '_', '-' and '/', at most 256)`,
    );
  }
  for (const [field, value] of [
    ['keepReleaseTags', keep],
    ['untaggedExpiryDays', expiryDays],
  ] as const) {
    if (!Token.isUnresolved(value) && !(Number.isInteger(value) && value >= 1 && value <= 10000)) {
      problems.push(`${path}.${field}: ${JSON.stringify(value)} must be an integer from 1 to 10000`);
    }
  }
  for (const account of pullAccounts) {
    if (!Token.isUnresolved(account) && !ACCOUNT_ID.test(account)) {
      problems.push(`${path}.pullAccountIds: ${JSON.stringify(account)} is not a 12-digit AWS account id`);
    }
  }
  if (problems.length > 0) throw new GantryConfigError(problems);
}
