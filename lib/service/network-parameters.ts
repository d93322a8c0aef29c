import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { GantryConfigError } from '../core/errors';

export interface NetworkParametersProps {
  /** Parameter prefix, starting and ending with `/`, e.g. `/acme/prod/` (see `ssmPrefix`). */
  readonly prefix: string;
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
}

/** Parameter names under a prefix, shared by the publisher and the readers. */
export const NETWORK_PARAMETER_NAMES = {
  vpcId: 'vpc-id',
  privateSubnetIds: 'private-subnet-ids',
} as const;

/**
 * Publishes an environment's network ids as SSM parameters (`<prefix>vpc-id`, a `String`, and
 * `<prefix>private-subnet-ids`, a comma-separated `StringList`), for stacks and teams that read them
 * instead of repeating the ids.
 */
export class NetworkParameters extends Construct {
  public readonly vpcIdParameterName: string;
  public readonly privateSubnetIdsParameterName: string;

  constructor(scope: Construct, id: string, props: NetworkParametersProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.prefix) && !/^\/[A-Za-z0-9_./-]*\/$/.test(props.prefix)) {
      throw new GantryConfigError(
        `${this.node.path}.prefix: ${JSON.stringify(props.prefix)} must start and end with "/"`,
      );
    }
    if (props.privateSubnetIds.length === 0) {
      throw new GantryConfigError(
        `${this.node.path}.privateSubnetIds: no subnet given, at least one is needed`,
      );
    }
    this.vpcIdParameterName = `${props.prefix}${NETWORK_PARAMETER_NAMES.vpcId}`;
    this.privateSubnetIdsParameterName = `${props.prefix}${NETWORK_PARAMETER_NAMES.privateSubnetIds}`;
    new SsmParameter(this, 'vpc-id', {
      name: this.vpcIdParameterName,
      description: 'VPC of the environment workloads (published by Gantry)',
      type: 'String',
      value: props.vpcId,
    });
    new SsmParameter(this, 'private-subnet-ids', {
      name: this.privateSubnetIdsParameterName,
      description: 'Private subnets of the environment workloads (published by Gantry)',
      type: 'StringList',
      value: props.privateSubnetIds.join(','),
    });
  }
}
