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
