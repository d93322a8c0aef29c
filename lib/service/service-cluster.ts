import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { GantryConfigError } from '../core/errors';
import { ecsExecLogGroupName } from '../core/naming';
import type { IServiceCluster } from './fargate-service';

export interface ServiceClusterProps {
  /** Cluster name, e.g. `acme-prod` (see `clusterName` in `lib/core/naming`). */
  readonly clusterName: string;
  /** Customer-managed KMS key encrypting the ECS Exec sessions and their log group. */
  readonly kmsKeyArn: string;
  /**
   * Retention of the ECS Exec log group, in days.
   * @default 90
   */
  readonly logRetentionDays?: number;
  /**
   * Container Insights level: `enabled`, or `enhanced` (per-task and per-container metrics, costs more).
   * @default 'enabled'
   */
  readonly containerInsights?: 'enabled' | 'enhanced';
}

/**
 * An ECS cluster with Container Insights on and ECS Exec sessions encrypted with the given KMS key
 * and logged (`OVERRIDE`) to a KMS-encrypted log group with retention. The log group is a data
 * store: `prevent_destroy`.
 */
export class ServiceCluster extends Construct implements IServiceCluster {
  public readonly clusterName: string;
  public readonly clusterArn: string;
  public readonly cluster: EcsCluster;
  /** Log group receiving ECS Exec session output. */
  public readonly execLogGroup: CloudwatchLogGroup;
  public readonly execLogGroupName: string;

  constructor(scope: Construct, id: string, props: ServiceClusterProps) {
    super(scope, id);
    const retention = props.logRetentionDays ?? 90;
    const insights = props.containerInsights ?? 'enabled';
    if (!Token.isUnresolved(props.clusterName) && !/^[A-Za-z0-9_-]{1,255}$/.test(props.clusterName)) {
      throw new GantryConfigError(
        `${this.node.path}.clusterName: ${JSON.stringify(props.clusterName)} must be 1-255 letters, digits, '-' or '_'`,
      );
    }
    if (!['enabled', 'enhanced'].includes(insights)) {
      throw new GantryConfigError(
        `${this.node.path}.containerInsights: ${JSON.stringify(insights)} is not "enabled" or "enhanced" (Container Insights stays on)`,
      );
    }
    const execLogs = new CloudwatchLogGroup(this, 'exec-logs', {
      name: ecsExecLogGroupName(props.clusterName),
      kmsKeyId: props.kmsKeyArn,
      retentionInDays: retention,
      lifecycle: { preventDestroy: true },
    });
    const cluster = new EcsCluster(this, 'cluster', {
      name: props.clusterName,
      setting: [{ name: 'containerInsights', value: insights }],
      configuration: {
        executeCommandConfiguration: {
          kmsKeyId: props.kmsKeyArn,
          logging: 'OVERRIDE',
          logConfiguration: {
            cloudWatchEncryptionEnabled: true,
            cloudWatchLogGroupName: execLogs.name,
          },
        },
      },
    });
    this.cluster = cluster;
    this.clusterName = props.clusterName;
    this.clusterArn = cluster.arn;
    this.execLogGroup = execLogs;
    this.execLogGroupName = execLogs.name;
  }
}
