import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster';
import { Testing } from 'cdktf';
import { GantryConfigError } from '../../../lib/core/errors';
import { ServiceCluster, type ServiceClusterProps } from '../../../lib/service';

const KEY = 'arn:aws:kms:eu-west-1:333333333333:key/0c3d0000-0000-4000-8000-000000000001';
const base: ServiceClusterProps = { clusterName: 'acme-prod', kmsKeyArn: KEY };

function synth(props: ServiceClusterProps = base): string {
  return Testing.synthScope((scope) => {
    new ServiceCluster(scope, 'cluster', props);
  });
}

describe('ServiceCluster', () => {
  test('Container Insights is on', () => {
    expect(synth()).toHaveResourceWithProperties(EcsCluster, {
      name: 'acme-prod',
      setting: [{ name: 'containerInsights', value: 'enabled' }],
    });
    expect(synth({ ...base, containerInsights: 'enhanced' })).toHaveResourceWithProperties(EcsCluster, {
      setting: [{ name: 'containerInsights', value: 'enhanced' }],
    });
  });

  test('ECS Exec sessions are KMS-encrypted and logged (OVERRIDE) to the encrypted exec log group', () => {
    const resources = (
      JSON.parse(synth()) as { resource: Record<string, Record<string, Record<string, unknown>>> }
    ).resource;
    const [cluster] = Object.values(resources.aws_ecs_cluster);
    const [logGroup] = Object.entries(resources.aws_cloudwatch_log_group);
    expect(cluster.configuration).toEqual({
      execute_command_configuration: {
        kms_key_id: KEY,
        logging: 'OVERRIDE',
        log_configuration: {
          cloud_watch_encryption_enabled: true,
          cloud_watch_log_group_name: `\${aws_cloudwatch_log_group.${logGroup[0]}.name}`,
        },
      },
    });
    expect(logGroup[1]).toEqual({
      name: '/gantry/acme-prod/ecs-exec',
      kms_key_id: KEY,
      retention_in_days: 90,
      lifecycle: { prevent_destroy: true },
    });
  });

  test('rejects turning Container Insights off', () => {
    const off = { ...base, containerInsights: 'disabled' } as unknown as ServiceClusterProps;
    expect(() => synth(off)).toThrow(GantryConfigError);
    expect(() => synth(off)).toThrow('cluster.containerInsights: "disabled" is not "enabled" or "enhanced"');
  });

  test('rejects a cluster name ECS does not accept', () => {
    expect(() => synth({ ...base, clusterName: 'acme prod' })).toThrow('cluster.clusterName: "acme prod"');
  });
});
