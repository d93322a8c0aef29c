import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter';
import { Fn, TerraformOutput, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { bootstrapStateBackend, type BootstrapConfig, type NetworkConfig } from '../lib/config';
import { LedgerDatabase } from '../lib/bootstrap/ledger-database';
import { StateBucket } from '../lib/bootstrap/state-bucket';
import { GantryConfigError } from '../lib/core/errors';
import { bootstrapStackId } from '../lib/core/naming';
import { NETWORK_PARAMETER_NAMES } from '../lib/service/network-parameters';
import { AwsEnvironmentStack, type AwsEnvironmentStackProps } from './aws-environment-stack';

/**
 * `<env>-bootstrap`: what must exist before any other stack of the environment can run, applied first
 * by an administrator (`gantry bootstrap <env>`) with local state, which stays local: the state bucket
 * every other stack of the environment then keeps its state in, and optionally the ledger's Aurora
 * database, whose `rds-data://` URL is the `ledger_url` output. Needs `environment.bootstrap`.
 */
export class BootstrapStack extends AwsEnvironmentStack {
  public readonly stateBucket: StateBucket;
  public readonly ledger?: LedgerDatabase;

  constructor(scope: Construct, props: AwsEnvironmentStackProps) {
    super(scope, bootstrapStackId(props.environment.name), props, { kind: 'bootstrap', localState: true });
    const { environment: env, organization: org } = props;
    const bootstrap: BootstrapConfig | undefined = env.bootstrap;
    if (!bootstrap) {
      throw new GantryConfigError(
        `${env.name}.bootstrap: undefined, a bootstrap stack needs the environment's bootstrap settings ({ stateBucket?, ledger? })`,
      );
    }
    this.stateBucket = new StateBucket(this, 'state', {
      ...bootstrap.stateBucket,
      organization: org.name,
      environment: env.name,
      accountId: env.accountId,
      region: env.region,
    });
    const backend = bootstrapStateBackend(org.name, env);
    new TerraformOutput(this, 'state_bucket', {
      value: this.stateBucket.bucketName,
      description: 'The S3 bucket of the other stacks of this environment',
    });
    new TerraformOutput(this, 'state_key_prefix', { value: backend.keyPrefix });
    new TerraformOutput(this, 'state_kms_key_arn', { value: this.stateBucket.keyArn });
    if (bootstrap.ledger) {
      const network = this.networkIds(env.network);
      this.ledger = new LedgerDatabase(this, 'ledger', {
        ...bootstrap.ledger,
        organization: org.name,
        environment: env.name,
        accountId: env.accountId,
        region: env.region,
        ...network,
      });
      new TerraformOutput(this, 'ledger_url', {
        value: this.ledger.ledgerUrl,
        description: 'GANTRY_LEDGER_URL of the deploy project (the environment secret GANTRY_LEDGER_URL)',
      });
      new TerraformOutput(this, 'ledger_cluster_arn', { value: this.ledger.clusterArn });
      new TerraformOutput(this, 'ledger_secret_arn', { value: this.ledger.secretArn });
    }
  }

  /** The private subnets: given ids, or the SSM parameters under `network.fromSsm.prefix`. */
  private networkIds(network: NetworkConfig): { vpcId: string; subnetIds: string[] } {
    if (!('fromSsm' in network)) return { vpcId: network.vpcId, subnetIds: [...network.privateSubnetIds] };
    const { prefix } = network.fromSsm;
    const vpc = new DataAwsSsmParameter(this, 'network-vpc-id', {
      name: `${prefix}${NETWORK_PARAMETER_NAMES.vpcId}`,
    });
    const subnets = new DataAwsSsmParameter(this, 'network-private-subnet-ids', {
      name: `${prefix}${NETWORK_PARAMETER_NAMES.privateSubnetIds}`,
    });
    return { vpcId: vpc.value, subnetIds: Token.asList(Fn.split(',', subnets.value)) };
  }
}
