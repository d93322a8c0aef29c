import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group';
import { RdsCluster } from '@cdktf/provider-aws/lib/rds-cluster';
import { RdsClusterInstance } from '@cdktf/provider-aws/lib/rds-cluster-instance';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { SecretsmanagerSecretRotation } from '@cdktf/provider-aws/lib/secretsmanager-secret-rotation';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { BOOTSTRAP_DEFAULTS, bootstrapProblems, type LedgerDatabaseSettings } from '../config/bootstrap';
import { throwProblems } from '../core/errors';
import { ledgerClusterName, ledgerKeyAlias, ledgerWriterSecretName } from '../core/naming';
import { EnvironmentKey } from '../encryption/environment-key';

export interface LedgerDatabaseProps extends LedgerDatabaseSettings {
  readonly organization: string;
  readonly environment: string;
  readonly accountId: string;
  readonly region: string;
  /** The VPC and its private subnets the cluster lives in (ids or tokens). */
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
}

/**
 * The ledger's database: an Aurora PostgreSQL Serverless v2 cluster (`<org>-<env>-ledger`) with one
 * `db.serverless` writer, the Data API on (the runtime reaches it over HTTPS as `rds-data://`, so the
 * security group admits nothing), storage and the master password's secret encrypted with its own
 * KMS key, the master password generated and held by Secrets Manager (`manage_master_user_password`,
 * never in the state) and rotated every `passwordRotationDays`, deletion protection, a final
 * snapshot, IAM authentication, private subnets only, and the database `databaseName` created.
 *
 * Beside it, the secret of the login CI writes the ledger as (`<org>-<env>-ledger-writer`, encrypted
 * with the same key, kept by `prevent_destroy`): only the container. Terraform never holds the login's
 * password; `gantry bootstrap` creates the login, makes it a member of `gantry_writer` and puts
 * `{username, password}` into the secret, so `writerUrl` is the least-privileged `GANTRY_LEDGER_URL`.
 */
export class LedgerDatabase extends Construct {
  public readonly clusterArn: string;
  /** The Secrets Manager secret holding the master credentials (the Data API's `secretArn`). */
  public readonly secretArn: string;
  public readonly databaseName: string;
  public readonly keyArn: string;
  /** `rds-data://<cluster-arn>?secret=<secret-arn>&database=<db>`: the ledger URL of `GANTRY_LEDGER_URL`. */
  public readonly ledgerUrl: string;
  /** The Secrets Manager secret of CI's writer login (created empty; `gantry bootstrap` sets its value). */
  public readonly writerSecretArn: string;
  /** `rds-data://<cluster-arn>?secret=<writer-secret-arn>&database=<db>`: the ledger URL CI uses, as the writer. */
  public readonly writerUrl: string;

  constructor(scope: Construct, id: string, props: LedgerDatabaseProps) {
    super(scope, id);
    throwProblems(
      this.node.path,
      bootstrapProblems({ ledger: props }, props.organization, {
        name: props.environment,
        accountId: props.accountId,
      }),
    );
    if (props.subnetIds.length === 0) {
      throwProblems(this.node.path, [
        { field: 'subnetIds', message: 'no subnet given, at least one private subnet is needed' },
      ]);
    }
    const name = ledgerClusterName(props.organization, props.environment);
    const database = props.databaseName ?? BOOTSTRAP_DEFAULTS.databaseName;
    const capacity = props.capacity ?? BOOTSTRAP_DEFAULTS.capacity;
    const key = new EnvironmentKey(this, 'key', {
      accountId: props.accountId,
      region: props.region,
      alias: ledgerKeyAlias(props.organization, props.environment),
      description: `Gantry ledger database of ${props.organization} ${props.environment}`,
    });
    const subnets = new DbSubnetGroup(this, 'subnets', {
      name,
      description: `Private subnets of the Gantry ledger (${props.environment})`,
      subnetIds: [...props.subnetIds],
    });
    const group = new SecurityGroup(this, 'security-group', {
      name,
      description: 'Gantry ledger: no ingress (reached through the RDS Data API only)',
      vpcId: props.vpcId,
    });
    const cluster = new RdsCluster(this, 'cluster', {
      clusterIdentifier: name,
      engine: 'aurora-postgresql',
      engineMode: 'provisioned',
      engineVersion: props.engineVersion ?? BOOTSTRAP_DEFAULTS.engineVersion,
      databaseName: database,
      masterUsername: 'gantry_admin',
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: key.keyArn,
      storageEncrypted: true,
      kmsKeyId: key.keyArn,
      enableHttpEndpoint: true,
      iamDatabaseAuthenticationEnabled: true,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${name}-final`,
      copyTagsToSnapshot: true,
      backupRetentionPeriod: props.backupRetentionDays ?? BOOTSTRAP_DEFAULTS.backupRetentionDays,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [group.id],
      serverlessv2ScalingConfiguration: { minCapacity: capacity.minAcu, maxCapacity: capacity.maxAcu },
      lifecycle: { preventDestroy: true },
    });
    new RdsClusterInstance(this, 'writer', {
      identifier: `${name}-writer`,
      clusterIdentifier: cluster.id,
      instanceClass: 'db.serverless',
      engine: cluster.engine,
      engineVersion: cluster.engineVersion,
      publiclyAccessible: false,
      dbSubnetGroupName: subnets.name,
    });
    const secretArn = Fn.lookup(Fn.element(cluster.masterUserSecret, 0), 'secret_arn');
    new SecretsmanagerSecretRotation(this, 'password-rotation', {
      secretId: secretArn,
      rotationRules: {
        automaticallyAfterDays: props.passwordRotationDays ?? BOOTSTRAP_DEFAULTS.passwordRotationDays,
      },
    });
    const writerSecret = new SecretsmanagerSecret(this, 'writer-secret', {
      name: ledgerWriterSecretName(props.organization, props.environment),
      description: `Gantry ledger (${props.environment}): the login CI writes the ledger as, a member of gantry_writer; its value is set by gantry bootstrap, never by Terraform`,
      kmsKeyId: key.keyArn,
      lifecycle: { preventDestroy: true },
    });
    this.clusterArn = cluster.arn;
    this.secretArn = secretArn;
    this.databaseName = database;
    this.keyArn = key.keyArn;
    this.ledgerUrl = `rds-data://${cluster.arn}?secret=${secretArn}&database=${database}`;
    this.writerSecretArn = writerSecret.arn;
    this.writerUrl = `rds-data://${cluster.arn}?secret=${writerSecret.arn}&database=${database}`;
  }
}
