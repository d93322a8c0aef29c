import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';
import { dnsSuffixOf } from '../core/naming';

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
  /**
   * Roles of other accounts that may use the key through one AWS service of this region only
   * (`kms:ViaService`), e.g. a shared state bucket's environments through S3: per account, its root
   * narrowed to exactly these role ARNs (`aws:PrincipalArn`), so the roles need not exist when the key is
   * made (KMS refuses a policy naming a missing role).
   * @default none
   */
  readonly otherAccountRoles?: {
    /** The service, e.g. `s3`: `kms:ViaService` is `<service>.<region>.amazonaws.com`. */
    readonly viaService: string;
    readonly actions: readonly string[];
    readonly accounts: ReadonlyArray<{ readonly accountId: string; readonly roleArns: readonly string[] }>;
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
        ...otherAccountRoleStatements(partition, props),
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

/** Use through one service for named roles of other accounts (a shared state bucket's environments). */
function otherAccountRoleStatements(partition: string, props: EnvironmentKeyProps): object[] {
  const grant = props.otherAccountRoles;
  if (!grant) return [];
  const service = grant.viaService;
  return grant.accounts
    .filter((a) => a.roleArns.length > 0)
    .map((a) => ({
      Sid: `Via${service.charAt(0).toUpperCase()}${service.slice(1)}ForRolesOf${a.accountId}`,
      Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::${a.accountId}:root` },
      Action: [...new Set(grant.actions)].sort(),
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:ViaService': `${service}.${props.region}.${dnsSuffixOf(props.region)}` },
        ArnEquals: { 'aws:PrincipalArn': [...new Set(a.roleArns)].sort() },
      },
    }));
}
