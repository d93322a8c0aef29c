import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { Testing } from 'cdktf';
import { GantryConfigError } from '../../../lib/core/errors';
import { NetworkParameters, type NetworkParametersProps } from '../../../lib/service';

const base: NetworkParametersProps = {
  prefix: '/acme/prod/',
  vpcId: 'vpc-0c3d0000000000003',
  privateSubnetIds: ['subnet-0c3d0000000000a03', 'subnet-0c3d0000000000b03'],
};
const synth = (props: NetworkParametersProps = base) =>
  Testing.synthScope((scope) => void new NetworkParameters(scope, 'network', props));

describe('NetworkParameters', () => {
  test('publishes the VPC id and the private subnets under the prefix', () => {
    const json = synth();
    expect(json).toHaveResourceWithProperties(SsmParameter, {
      name: '/acme/prod/vpc-id',
      type: 'String',
      value: 'vpc-0c3d0000000000003',
    });
    expect(json).toHaveResourceWithProperties(SsmParameter, {
      name: '/acme/prod/private-subnet-ids',
      type: 'StringList',
      value: 'subnet-0c3d0000000000a03,subnet-0c3d0000000000b03',
    });
  });

  test('rejects a prefix that does not start and end with "/"', () => {
    expect(() => synth({ ...base, prefix: 'acme/prod' })).toThrow(GantryConfigError);
    expect(() => synth({ ...base, prefix: 'acme/prod' })).toThrow(
      'network.prefix: "acme/prod" must start and end with "/"',
    );
  });

  test('rejects an empty subnet list', () => {
    expect(() => synth({ ...base, privateSubnetIds: [] })).toThrow(
      'network.privateSubnetIds: no subnet given',
    );
  });
});
