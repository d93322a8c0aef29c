import { GantryConfigError } from '../../../lib/core/errors';
import {
  clusterName,
  ecsExecLogGroupName,
  executionRoleName,
  imageTagsParameterName,
  imageTagVariableName,
  repositoryArn,
  repositoryUrl,
  serviceLogGroupName,
  servicesKeyAlias,
  ssmParameterArn,
  taskRoleName,
} from '../../../lib/core/naming';

describe('naming of workloads', () => {
  test('service roles are <org>-<env>-<service>-task and -exec', () => {
    expect(taskRoleName('acme', 'prod', 'api')).toBe('acme-prod-api-task');
    expect(executionRoleName('acme', 'prod', 'admin-frontend')).toBe('acme-prod-admin-frontend-exec');
  });

  test('a service role name of 64 characters passes, 65 fails', () => {
    const org = 'a'.repeat(21);
    const env = 'b'.repeat(31);
    expect(taskRoleName(org, env, 'c'.repeat(5))).toHaveLength(64);
    expect(() => executionRoleName(org, env, 'c'.repeat(6))).toThrow(GantryConfigError);
    expect(() => executionRoleName(org, env, 'c'.repeat(6))).toThrow('65 characters, IAM allows at most 64');
  });

  test('repository URL and ARN are computed from configuration, per partition', () => {
    expect(repositoryUrl('333333333333', 'eu-west-1', 'acme', 'api')).toBe(
      '333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api',
    );
    expect(repositoryUrl('333333333333', 'cn-north-1', 'acme', 'api')).toBe(
      '333333333333.dkr.ecr.cn-north-1.amazonaws.com.cn/acme/api',
    );
    expect(repositoryArn('333333333333', 'us-gov-west-1', 'acme', 'api')).toBe(
      'arn:aws-us-gov:ecr:us-gov-west-1:333333333333:repository/acme/api',
    );
  });

  test('cluster, log group and image tag variable names', () => {
    expect(clusterName('acme', 'prod')).toBe('acme-prod');
    expect(serviceLogGroupName('acme', 'prod', 'api')).toBe('/gantry/acme-prod/services/api');
    expect(imageTagVariableName('admin-frontend')).toBe('image_tag_admin_frontend');
  });

  test('the ECS Exec log group and the services key alias, which the foundation task roles name', () => {
    expect(ecsExecLogGroupName(clusterName('acme', 'prod'))).toBe('/gantry/acme-prod/ecs-exec');
    expect(servicesKeyAlias('acme', 'prod')).toBe('acme-prod-services');
  });
});

describe('naming of the image-tags parameter', () => {
  test('is /<org>/<env>/gantry/image-tags, with its ARN computed from config', () => {
    expect(imageTagsParameterName('acme', 'prod')).toBe('/acme/prod/gantry/image-tags');
    expect(ssmParameterArn('333333333333', 'eu-west-1', '/acme/prod/gantry/image-tags')).toBe(
      'arn:aws:ssm:eu-west-1:333333333333:parameter/acme/prod/gantry/image-tags',
    );
    expect(ssmParameterArn('333333333333', 'cn-north-1', '/acme/prod/x')).toBe(
      'arn:aws-cn:ssm:cn-north-1:333333333333:parameter/acme/prod/x',
    );
  });
});
