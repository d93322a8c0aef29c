import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcrRepositoryPolicy } from '@cdktf/provider-aws/lib/ecr-repository-policy';
import { Construct } from 'constructs';
import { FieldProblems, throwProblems, type FieldProblem } from '../core/errors';
import { accountIdProblem, regionProblem } from '../core/identifiers';
import { partitionOf, registryHost } from '../core/naming';
import { isKnown, literalProblem } from '../core/tokens';

/**
 * What a service needs of its image repository, all literal (computed from the account, region and
 * name, which ECR's URLs and ARNs are made of), so container definitions and policies naming it stay
 * literal JSON.
 */
export interface IServiceRepository {
  readonly repositoryName: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
  readonly repositoryUrl: string;
  /** `arn:<partition>:ecr:<region>:<account>:repository/<name>`. */
  readonly repositoryArn: string;
}

/** How long a repository keeps images and who else may pull (the configuration's `registry`). */
export interface ServiceRepositorySettings {
  /**
   * Release tags (`v*`) kept; older release images expire.
   * @default 30
   */
  readonly keepReleaseTags?: number;
  /**
   * Push-build tags (`sha-*`, built on a push to the default branch) kept; older ones expire.
   * @default 30
   */
  readonly keepBuildTags?: number;
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

export interface ServiceRepositoryProps extends ServiceRepositorySettings {
  /** Repository name, e.g. `acme/api` (see `repositoryName` in `lib/core/naming`). */
  readonly repositoryName: string;
  /** ARN of the customer-managed KMS key (rotation on) that encrypts the images. */
  readonly kmsKeyArn: string;
  /** The account and region of the repository (its URL and ARN are computed from them). */
  readonly accountId: string;
  readonly region: string;
}

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
export class ServiceRepository extends Construct implements IServiceRepository {
  /**
   * The literal handle of a repository created elsewhere (another stack, or outside Gantry): nothing is
   * created, the URL and ARN are computed.
   */
  static fromName(props: { accountId: string; region: string; repositoryName: string }): IServiceRepository {
    const { accountId, region, repositoryName } = props;
    return {
      repositoryName,
      repositoryUrl: `${registryHost(accountId, region)}/${repositoryName}`,
      repositoryArn: `arn:${partitionOf(region)}:ecr:${region}:${accountId}:repository/${repositoryName}`,
    };
  }

  /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`, literal. */
  public readonly repositoryUrl: string;
  /** Literal. */
  public readonly repositoryArn: string;
  public readonly repositoryName: string;
  public readonly repository: EcrRepository;

  constructor(scope: Construct, id: string, props: ServiceRepositoryProps) {
    super(scope, id);
    throwProblems(this.node.path, serviceRepositoryProblems(props));
    const keep = props.keepReleaseTags ?? 30;
    const keepBuilds = props.keepBuildTags ?? 30;
    const expiryDays = props.untaggedExpiryDays ?? 7;
    const pullAccounts = [...new Set(props.pullAccountIds ?? [])].sort();

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
        {
          rulePriority: 3,
          description: `Keep the last ${keepBuilds} push-build tags (sha-*)`,
          selection: {
            tagStatus: 'tagged',
            tagPatternList: ['sha-*'],
            countType: 'imageCountMoreThan',
            countNumber: keepBuilds,
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

    this.repository = repository;
    const literal = ServiceRepository.fromName(props);
    this.repositoryUrl = literal.repositoryUrl;
    this.repositoryArn = literal.repositoryArn;
    this.repositoryName = props.repositoryName;
  }
}

/** Problems of the retention and pull settings (shared with the configuration's `registry`). */
export function serviceRepositorySettingsProblems(settings: ServiceRepositorySettings): FieldProblem[] {
  const problems = new FieldProblems();
  for (const field of ['keepReleaseTags', 'keepBuildTags', 'untaggedExpiryDays'] as const) {
    const value = settings[field];
    if (value !== undefined && isKnown(value)) {
      problems.check(
        Number.isInteger(value) && value >= 1 && value <= 10000,
        field,
        `${JSON.stringify(value)} must be an integer from 1 to 10000`,
      );
    }
  }
  for (const account of (settings.pullAccountIds ?? []).filter(isKnown)) {
    problems.addIf('pullAccountIds', accountIdProblem(account));
  }
  return problems.list;
}

function serviceRepositoryProblems(props: ServiceRepositoryProps): FieldProblem[] {
  const problems = new FieldProblems();
  const name = props.repositoryName;
  problems.check(
    typeof name === 'string' && isKnown(name) && REPOSITORY_NAME.test(name) && name.length <= 256,
    'repositoryName',
    `${JSON.stringify(name)} is not a literal ECR repository name (lower-case letters, digits, '.', '_', '-' and '/', at most 256)`,
  );
  const why = 'the repository URL and ARN are computed from it';
  problems.addIf('accountId', literalProblem(props.accountId, accountIdProblem, why));
  problems.addIf('region', literalProblem(props.region, regionProblem, why));
  problems.addAll('', serviceRepositorySettingsProblems(props));
  return problems.list;
}
