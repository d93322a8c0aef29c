import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { Construct } from 'constructs';
import { BOOTSTRAP_DEFAULTS, bootstrapProblems, type StateBucketSettings } from '../config/bootstrap';
import type { SharedStateRoles } from '../config/tooling';
import { FieldProblems, throwProblems, type FieldProblem } from '../core/errors';
import { partitionOf, stateBucketName, stateKeyAlias } from '../core/naming';
import { EnvironmentKey } from '../encryption/environment-key';

export interface StateBucketProps extends StateBucketSettings {
  /** Organisation and environment names: the bucket is `<org>-<env>-tfstate-<account>` (`stateBucketName`). */
  readonly organization: string;
  readonly environment: string;
  /** The account that owns the bucket; only its principals may use it (bucket policy), and `sharedWith`'s. */
  readonly accountId: string;
  readonly region: string;
  /**
   * Environments of other accounts whose state the bucket keeps (a shared tooling account's bucket): the
   * bucket policy and the key admit exactly their roles, each on its environment's state keys only, and
   * the bucket's tag `gantry:state-shared-with` lists their accounts (what GANTRY-S3-002 checks against).
   * @default none: same-account only
   */
  readonly sharedWith?: readonly SharedStateRoles[];
}

/** The bucket tag listing the accounts a shared state bucket admits (space-separated account ids). */
export const STATE_SHARED_WITH_TAG = 'gantry:state-shared-with';

/** What S3 needs of the state key to read and write objects it encrypts (SSE-KMS with a bucket key). */
const STATE_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];

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
    const shared = props.sharedWith ?? [];
    const otherAccounts = sharedAccounts(props.accountId, shared);
    const policy = JSON.stringify(stateBucketPolicy(arn, props.accountId, shared));
    throwProblems(this.node.path, sharingProblems(otherAccounts, policy));
    const key = new EnvironmentKey(this, 'key', {
      accountId: props.accountId,
      region: props.region,
      alias: stateKeyAlias(props.organization, props.environment),
      description: `Terraform state of ${props.organization} ${props.environment} (Gantry)`,
      ...(otherAccounts.length > 0
        ? {
            otherAccountRoles: {
              viaService: 's3',
              actions: STATE_KEY_ACTIONS,
              accounts: otherAccounts.map((accountId) => ({
                accountId,
                roleArns: shared.filter((e) => e.accountId === accountId).flatMap((e) => e.readers),
              })),
            },
          }
        : {}),
    });
    const bucket = new S3Bucket(this, 'bucket', {
      bucket: name,
      ...(otherAccounts.length > 0 ? { tags: { [STATE_SHARED_WITH_TAG]: otherAccounts.join(' ') } } : {}),
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
      policy,
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

/** S3 allows a tag value of 256 characters and a bucket policy of 20 KB. */
const MAX_TAG_VALUE = 256;
const MAX_BUCKET_POLICY_BYTES = 20 * 1024;

/** What S3 would refuse of a shared bucket: more accounts than its tag can list, a policy over 20 KB. */
function sharingProblems(otherAccounts: readonly string[], policy: string): FieldProblem[] {
  const problems = new FieldProblems();
  const tag = otherAccounts.join(' ');
  problems.check(
    tag.length <= MAX_TAG_VALUE,
    'sharedWith',
    `${otherAccounts.length} other accounts; the bucket's ${STATE_SHARED_WITH_TAG} tag lists at most ${Math.floor((MAX_TAG_VALUE + 1) / 13)}: share the bucket with fewer accounts`,
  );
  problems.check(
    Buffer.byteLength(policy) <= MAX_BUCKET_POLICY_BYTES,
    'sharedWith',
    `the bucket policy would be ${Buffer.byteLength(policy)} bytes, S3 allows ${MAX_BUCKET_POLICY_BYTES}: share the bucket with fewer environments`,
  );
  return problems.list;
}

/** The accounts other than the owner whose roles a shared bucket admits, sorted. */
function sharedAccounts(owner: string, shared: readonly SharedStateRoles[]): string[] {
  return [...new Set(shared.map((e) => e.accountId))].filter((a) => a !== owner).sort();
}

/** `ReadState` + `dev-eu` -> `ReadStateDevEu` (numbered when two environments' names give the same). */
function sidsOf(prefix: string, environments: readonly string[]): Map<string, string> {
  const seen = new Map<string, number>();
  return new Map(
    environments.map((env) => {
      const base = `${prefix}${env
        .split('-')
        .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
        .join('')}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return [env, n === 1 ? base : `${base}${n}`];
    }),
  );
}

/**
 * What a shared bucket allows each environment's roles, on that environment's state keys only: its
 * account's root narrowed to exact role ARNs (`aws:PrincipalArn`), so the roles need not exist when the
 * bucket is made (S3 refuses a policy naming a missing role), and a re-created role is still the one admitted.
 */
function sharedStateStatements(
  partition: string,
  bucketArn: string,
  shared: readonly SharedStateRoles[],
): object[] {
  const names = shared.map((e) => e.environment);
  const sid = (prefix: string, env: string) => sidsOf(prefix, names).get(env) ?? prefix;
  return shared.flatMap((e) => {
    const principal = { AWS: `arn:${partition}:iam::${e.accountId}:root` };
    const only = (roles: readonly string[]) => ({ ArnEquals: { 'aws:PrincipalArn': [...new Set(roles)] } });
    const keys = e.stateKeys.map((key) => `${bucketArn}/${key}`);
    const locks = keys.map((k) => `${k}.tflock`);
    return [
      {
        Sid: sid('ListState', e.environment),
        Effect: 'Allow',
        Principal: principal,
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: only(e.readers),
      },
      {
        Sid: sid('ReadState', e.environment),
        Effect: 'Allow',
        Principal: principal,
        Action: 's3:GetObject',
        Resource: [...keys, ...locks],
        Condition: only(e.readers),
      },
      {
        Sid: sid('LockState', e.environment),
        Effect: 'Allow',
        Principal: principal,
        Action: ['s3:PutObject', 's3:DeleteObject'],
        Resource: locks,
        Condition: only(e.lockers),
      },
      {
        Sid: sid('WriteState', e.environment),
        Effect: 'Allow',
        Principal: principal,
        Action: 's3:PutObject',
        Resource: keys,
        Condition: only(e.writers),
      },
    ];
  });
}

/**
 * Deny every request without TLS, and every principal of another account but the roles of `sharedWith`
 * (literal JSON, rule 21), which are allowed their environment's state keys (docs/security.md 32).
 */
export function stateBucketPolicy(
  bucketArn: string,
  accountId: string,
  sharedWith: readonly SharedStateRoles[] = [],
): object {
  const resources = [bucketArn, `${bucketArn}/*`];
  const shared = sharedWith.filter((e) => e.accountId !== accountId);
  const admitted = [...new Set(shared.flatMap((e) => e.readers))].sort();
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
        Condition: {
          StringNotEquals: { 'aws:PrincipalAccount': accountId },
          ...(admitted.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': admitted } } : {}),
        },
      },
      ...sharedStateStatements(bucketArn.split(':')[1], bucketArn, shared),
    ],
  };
}
