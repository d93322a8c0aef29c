import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';

export interface EnvironmentKeyProps {
  /** The account that owns the key; its administrators manage it through IAM. */
  readonly accountId: string;
  readonly region: string;
  /** Alias without the `alias/` prefix, e.g. `acme-dev-foundation`. */
  readonly alias: string;
  /** What the key protects, shown in the console. */
  readonly description: string;
  /** Waiting period before a scheduled deletion, in days (7..30). @default 30 */
  readonly deletionWindowDays?: number;
  /**
   * Other accounts that pull ECR images encrypted with this key: they may decrypt through ECR of
   * this region only (`kms:ViaService`), nothing else.
   * @default none
   */
  readonly ecrPullAccountIds?: readonly string[];
  /**
   * Roles of this account that administer the key through its key policy, with exactly these
   * actions (e.g. the deploy project role of the stack that owns the key: it then needs no IAM
   * permission on `key/*`, so it can manage no other key). Literal role ARNs.
   * @default none: the account's IAM policies alone govern the key
   */
  readonly administrators?: {
    readonly roleArns: readonly string[];
    readonly actions: readonly string[];
  };
}

/**
 * A customer-managed KMS key with rotation on and a literal key policy: the account's IAM policies
 * govern it, and CloudWatch Logs of this account and region may use it for log groups. The key is
 * a data store: `prevent_destroy` keeps Terraform from deleting it.
 */
export class EnvironmentKey extends Construct {
  public readonly keyArn: string;
  public readonly keyId: string;
  public readonly aliasName: string;

  constructor(scope: Construct, id: string, props: EnvironmentKeyProps) {
    super(scope, id);
    const partition = props.region.startsWith('cn-')
      ? 'aws-cn'
      : props.region.startsWith('us-gov-')
        ? 'aws-us-gov'
        : 'aws';
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AccountAdministersThroughIam',
          Effect: 'Allow',
          Principal: { AWS: `arn:${partition}:iam::${props.accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'CloudWatchLogsOfThisAccount',
          Effect: 'Allow',
          Principal: { Service: `logs.${props.region}.amazonaws.com` },
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Resource: '*',
          Condition: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${props.region}:${props.accountId}:log-group:*`,
            },
          },
        },
        ...ecrPullStatements(partition, props),
        ...administratorStatements(props),
      ],
    };
    const key = new KmsKey(this, 'key', {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowDays ?? 30,
      policy: JSON.stringify(policy),
      lifecycle: { preventDestroy: true },
    });
    const alias = new KmsAlias(this, 'alias', { name: `alias/${props.alias}`, targetKeyId: key.keyId });
    this.keyArn = key.arn;
    this.keyId = key.keyId;
    this.aliasName = alias.name;
  }
}

/** Decrypt through ECR for the accounts that pull this environment's images (cross-account promotion). */
function ecrPullStatements(partition: string, props: EnvironmentKeyProps): object[] {
  const accounts = [...new Set(props.ecrPullAccountIds ?? [])];
  if (accounts.length === 0) return [];
  return [
    {
      Sid: 'EcrPullFromOtherAccounts',
      Effect: 'Allow',
      Principal: { AWS: accounts.map((id) => `arn:${partition}:iam::${id}:root`) },
      Action: ['kms:Decrypt', 'kms:DescribeKey'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': `ecr.${props.region}.amazonaws.com` } },
    },
  ];
}

/** The named administrators of the key (its own stack's deploy role), with named actions only. */
function administratorStatements(props: EnvironmentKeyProps): object[] {
  const admins = props.administrators;
  if (!admins || admins.roleArns.length === 0) return [];
  return [
    {
      Sid: 'KeyAdministeredByItsStack',
      Effect: 'Allow',
      Principal: { AWS: [...new Set(admins.roleArns)] },
      Action: [...new Set(admins.actions)].sort(),
      Resource: '*',
    },
  ];
}
