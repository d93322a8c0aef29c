import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcrRepositoryPolicy } from '@cdktf/provider-aws/lib/ecr-repository-policy';
import { TerraformOutput, Testing } from 'cdktf';
import { GantryConfigError } from '../../../lib/core/errors';
import { ServiceRepository, type ServiceRepositoryProps } from '../../../lib/registry';

const KEY = 'arn:aws:kms:eu-west-1:333333333333:key/0c3d0000-0000-4000-8000-000000000001';
const base: ServiceRepositoryProps = {
  repositoryName: 'acme/api',
  kmsKeyArn: KEY,
  accountId: '333333333333',
  region: 'eu-west-1',
};

function synth(props: ServiceRepositoryProps = base): string {
  return Testing.synthScope((scope) => {
    new ServiceRepository(scope, 'repo', props);
  });
}

function resources(json: string, type: string): Array<Record<string, unknown>> {
  const parsed = JSON.parse(json) as { resource?: Record<string, Record<string, Record<string, unknown>>> };
  return Object.values(parsed.resource?.[type] ?? {});
}

describe('ServiceRepository', () => {
  test('tags are immutable, images are scanned on push and encrypted with the customer key', () => {
    expect(synth()).toHaveResourceWithProperties(EcrRepository, {
      name: 'acme/api',
      image_tag_mutability: 'IMMUTABLE',
      image_scanning_configuration: { scan_on_push: true },
      encryption_configuration: [{ encryption_type: 'KMS', kms_key: KEY }],
      force_delete: false,
    });
  });

  test('the repository is a data store: prevent_destroy', () => {
    const [repository] = resources(synth(), 'aws_ecr_repository');
    expect(repository.lifecycle).toEqual({ prevent_destroy: true });
  });

  test('lifecycle keeps 30 release tags and 30 push-build tags and expires untagged images after 7 days by default', () => {
    const [policy] = resources(synth(), 'aws_ecr_lifecycle_policy');
    const rules = (JSON.parse(policy.policy as string) as { rules: Array<Record<string, unknown>> }).rules;
    expect(rules).toEqual([
      expect.objectContaining({
        selection: {
          tagStatus: 'untagged',
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 7,
        },
        action: { type: 'expire' },
      }),
      expect.objectContaining({
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['v*'],
          countType: 'imageCountMoreThan',
          countNumber: 30,
        },
        action: { type: 'expire' },
      }),
      expect.objectContaining({
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['sha-*'],
          countType: 'imageCountMoreThan',
          countNumber: 30,
        },
        action: { type: 'expire' },
      }),
    ]);
  });

  test('lifecycle counts are configurable', () => {
    const [policy] = resources(
      synth({ ...base, keepReleaseTags: 50, keepBuildTags: 12, untaggedExpiryDays: 3 }),
      'aws_ecr_lifecycle_policy',
    );
    const rules = (
      JSON.parse(policy.policy as string) as { rules: Array<{ selection: { countNumber: number } }> }
    ).rules;
    expect(rules.map((r) => r.selection.countNumber)).toEqual([3, 50, 12]);
  });

  test('has no repository policy unless other accounts may pull', () => {
    expect(synth()).not.toHaveResource(EcrRepositoryPolicy);
    expect(synth()).toHaveResource(EcrLifecyclePolicy);
  });

  test('other accounts get read-only pull, named by account root, never a wildcard', () => {
    const [policy] = resources(
      synth({ ...base, pullAccountIds: ['222222222222', '111111111111', '222222222222'] }),
      'aws_ecr_repository_policy',
    );
    const document = JSON.parse(policy.policy as string) as {
      Statement: Array<{ Principal: { AWS: string[] }; Action: string[]; Effect: string }>;
    };
    expect(document.Statement).toHaveLength(1);
    expect(document.Statement[0].Effect).toBe('Allow');
    expect(document.Statement[0].Principal.AWS).toEqual([
      'arn:aws:iam::111111111111:root',
      'arn:aws:iam::222222222222:root',
    ]);
    expect(document.Statement[0].Action).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetDownloadUrlForLayer',
    ]);
    expect(policy.policy).not.toContain('${');
  });

  test('exposes the repository URL and ARN literally, as ECR computes them, and the resource', () => {
    const json = Testing.synthScope((scope) => {
      const repo = new ServiceRepository(scope, 'repo', base);
      new TerraformOutput(scope, 'url', { value: repo.repositoryUrl });
      new TerraformOutput(scope, 'arn', { value: repo.repositoryArn });
      new TerraformOutput(scope, 'resource', { value: repo.repository.repositoryUrl });
    });
    const outputs = (JSON.parse(json) as { output: Record<string, { value: string }> }).output;
    expect(outputs.url.value).toBe('333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api');
    expect(outputs.arn.value).toBe('arn:aws:ecr:eu-west-1:333333333333:repository/acme/api');
    expect(outputs.resource.value).toMatch(
      /^\$\{aws_ecr_repository\.repo_repository_[0-9A-F]+\.repository_url\}$/,
    );
  });

  test('fromName gives the same literal handle without creating anything', () => {
    expect(
      ServiceRepository.fromName({
        accountId: '333333333333',
        region: 'cn-north-1',
        repositoryName: 'acme/api',
      }),
    ).toEqual({
      repositoryName: 'acme/api',
      repositoryUrl: '333333333333.dkr.ecr.cn-north-1.amazonaws.com.cn/acme/api',
      repositoryArn: 'arn:aws-cn:ecr:cn-north-1:333333333333:repository/acme/api',
    });
  });

  test.each([
    [{ pullAccountIds: ['*'] }, 'repo.pullAccountIds: "*" is not a 12-digit AWS account id'],
    [{ keepReleaseTags: 0 }, 'repo.keepReleaseTags: 0 must be an integer from 1 to 10000'],
    [{ keepBuildTags: 1.5 }, 'repo.keepBuildTags: 1.5 must be an integer from 1 to 10000'],
    [{ untaggedExpiryDays: 1.5 }, 'repo.untaggedExpiryDays: 1.5 must be an integer from 1 to 10000'],
    [{ repositoryName: 'Acme/API' }, 'repo.repositoryName: "Acme/API" is not a literal ECR repository name'],
    [{ accountId: '12345' }, 'repo.accountId: "12345" is not a 12-digit AWS account id'],
    [{ region: 'eu-wst-1' }, 'repo.region: "eu-wst-1" is not an AWS region'],
  ])('rejects %j', (change, message) => {
    expect(() => synth({ ...base, ...change })).toThrow(GantryConfigError);
    expect(() => synth({ ...base, ...change })).toThrow(message);
  });
});
