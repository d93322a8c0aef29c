import {
  applyRoleName,
  environmentChain,
  partitionOf,
  planRoleName,
  roleArn,
  runnerLabelPrefix,
} from '../../../lib/core/naming';

describe('naming', () => {
  test('role names and ARNs are computed from configuration', () => {
    expect(planRoleName('acme', 'prod')).toBe('acme-prod-gh-plan');
    expect(applyRoleName('acme', 'prod')).toBe('acme-prod-gh-apply');
    expect(roleArn('333333333333', 'eu-west-1', 'acme-prod-gh-apply')).toBe(
      'arn:aws:iam::333333333333:role/acme-prod-gh-apply',
    );
    expect(roleArn('333333333333', 'cn-north-1', 'r')).toBe('arn:aws-cn:iam::333333333333:role/r');
  });

  test('the longest allowed org and environment names give a role name within 64 characters', () => {
    expect(applyRoleName('a'.repeat(21), 'b'.repeat(31)).length).toBeLessThanOrEqual(64);
  });

  test('partitions follow the region', () => {
    expect([partitionOf('eu-west-1'), partitionOf('us-gov-west-1'), partitionOf('cn-northwest-1')]).toEqual([
      'aws',
      'aws-us-gov',
      'aws-cn',
    ]);
  });

  test('an environment needing N approvals is reached through N - 1 gates', () => {
    expect(environmentChain('dev', 0)).toEqual(['dev']);
    expect(environmentChain('staging', 1)).toEqual(['staging']);
    expect(environmentChain('prod', 2)).toEqual(['prod-approval', 'prod']);
    expect(environmentChain('prod', 3)).toEqual(['prod-approval-1', 'prod-approval-2', 'prod']);
  });

  test('runner label prefix names the CodeBuild project', () => {
    expect(runnerLabelPrefix('acme', 'dev')).toBe('codebuild-acme-dev-runner');
  });
});
