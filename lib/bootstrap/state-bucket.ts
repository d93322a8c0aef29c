import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { Construct } from 'constructs';
import { BOOTSTRAP_DEFAULTS, bootstrapProblems, type StateBucketSettings } from '../config/bootstrap';
import { throwProblems } from '../core/errors';
import { partitionOf, stateBucketName, stateKeyAlias } from '../core/naming';
import { EnvironmentKey } from '../encryption/environment-key';

export interface StateBucketProps extends StateBucketSettings {
  /** Organisation and environment names: the bucket is `<org>-<env>-tfstate-<account>` (`stateBucketName`). */
  readonly organization: string;
  readonly environment: string;
  /** The account that owns the bucket; only its principals may use it (bucket policy). */
  readonly accountId: string;
  readonly region: string;
}

/**
 * The Terraform state bucket of one environment: versioned, encrypted by default with its own KMS key
 * (rotation on, alias `<org>-<env>-tfstate`), all four public-access blocks, ACLs disabled, a literal
 * bucket policy that denies any request without TLS and any principal outside the account, noncurrent
 * versions expiring after `noncurrentVersionExpiryDays` (the newest `noncurrentVersionsKept` kept
 * whatever their age, when given), and `prevent_destroy` on the bucket and the key. Its name and key alias are those the other
 * stacks' S3 backends compute (`bootstrapStateBackend`), so neither is typed twice.
 */
export class StateBucket extends Construct {
  public readonly bucketName: string;
  public readonly bucketArn: string;
  public readonly keyArn: string;
  /** `alias/<org>-<env>-tfstate`: what the S3 backends name as `kms_key_id`. */
  public readonly keyAliasName: string;

  constructor(scope: Construct, id: string, props: StateBucketProps) {
    super(scope, id);
    throwProblems(
      this.node.path,
      bootstrapProblems({ stateBucket: props }, props.organization, {
        name: props.environment,
        accountId: props.accountId,
      }),
    );
    const name = stateBucketName(props.organization, props.environment, props.accountId);
    const partition = partitionOf(props.region);
    const arn = `arn:${partition}:s3:::${name}`;
    const key = new EnvironmentKey(this, 'key', {
      accountId: props.accountId,
      region: props.region,
      alias: stateKeyAlias(props.organization, props.environment),
      description: `Terraform state of ${props.organization} ${props.environment} (Gantry)`,
    });
    const bucket = new S3Bucket(this, 'bucket', {
      bucket: name,
      lifecycle: { preventDestroy: true },
    });
    new S3BucketVersioningA(this, 'versioning', {
      bucket: bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.keyArn },
          bucketKeyEnabled: true,
        },
      ],
    });
    new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketPolicy(this, 'policy', {
      bucket: bucket.id,
      policy: JSON.stringify(stateBucketPolicy(arn, props.accountId)),
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'expire-old-state-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [
            {
              noncurrentDays:
                props.noncurrentVersionExpiryDays ?? BOOTSTRAP_DEFAULTS.noncurrentVersionExpiryDays,
              ...(props.noncurrentVersionsKept === undefined
                ? {}
                : { newerNoncurrentVersions: props.noncurrentVersionsKept }),
            },
          ],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
    this.bucketName = name;
    this.bucketArn = arn;
    this.keyArn = key.keyArn;
    this.keyAliasName = `alias/${stateKeyAlias(props.organization, props.environment)}`;
  }
}

/** Deny every request without TLS, and every principal of another account (literal JSON, rule 21). */
export function stateBucketPolicy(bucketArn: string, accountId: string): object {
  const resources = [bucketArn, `${bucketArn}/*`];
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyWithoutTls',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: resources,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'DenyOtherAccounts',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: resources,
        Condition: { StringNotEquals: { 'aws:PrincipalAccount': accountId } },
      },
    ],
  };
}
