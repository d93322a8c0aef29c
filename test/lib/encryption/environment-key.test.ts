import { Testing, TerraformStack } from 'cdktf';
import { EnvironmentKey, type EnvironmentKeyProps } from '../../../lib/encryption';
import { readStack, synthApp, withEnvironment } from '../../util';

interface KeyPolicy {
  Statement: Array<{
    Sid: string;
    Principal: { AWS?: string | string[]; Service?: string };
    Action: string | string[];
    Condition?: unknown;
  }>;
}

function keyOf(props: Partial<EnvironmentKeyProps> = {}): {
  resource: Record<string, unknown>;
  policy: KeyPolicy;
} {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new EnvironmentKey(stack, 'key', {
    accountId: '111111111111',
    region: 'eu-west-1',
    alias: 'acme-dev',
    description: 'd',
    ...props,
  });
  const json = JSON.parse(Testing.synth(stack)) as {
    resource: { aws_kms_key: Record<string, Record<string, unknown>> };
  };
  const resource = Object.values(json.resource.aws_kms_key)[0];
  return { resource, policy: JSON.parse(resource.policy as string) as KeyPolicy };
}

describe('EnvironmentKey', () => {
  test('rotates, keeps a 30-day deletion window and cannot be destroyed by Terraform', () => {
    const { resource } = keyOf();
    expect(resource).toMatchObject({
      enable_key_rotation: true,
      deletion_window_in_days: 30,
      lifecycle: { prevent_destroy: true },
    });
  });

  test('key policy names the account and CloudWatch Logs of this region, never a wildcard principal', () => {
    const { policy } = keyOf();
    expect(policy.Statement.map((s) => s.Principal)).toEqual([
      { AWS: 'arn:aws:iam::111111111111:root' },
      { Service: 'logs.eu-west-1.amazonaws.com' },
    ]);
  });

  test('lets pulling accounts decrypt through ECR of this region only', () => {
    const { policy } = keyOf({ ecrPullAccountIds: ['222222222222', '333333333333', '222222222222'] });
    const pull = policy.Statement.find((s) => s.Sid === 'EcrPullFromOtherAccounts');
    expect(pull).toEqual({
      Sid: 'EcrPullFromOtherAccounts',
      Effect: 'Allow',
      Principal: { AWS: ['arn:aws:iam::222222222222:root', 'arn:aws:iam::333333333333:root'] },
      Action: ['kms:Decrypt', 'kms:DescribeKey'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 'ecr.eu-west-1.amazonaws.com' } },
    });
  });
});

describe('cross-account pull in the reference app', () => {
  test('the foundation key of an environment whose registry names pull accounts lets them decrypt, and passes the policy', () => {
    const outdir = synthApp(
      withEnvironment('dev', (env) => ({
        ...env,
        registry: { ...env.registry, pullAccountIds: ['222222222222'] },
      })),
    );
    const keys = readStack(outdir, 'dev-foundation').resource!.aws_kms_key;
    const policy = JSON.parse(Object.values(keys)[0].policy as string) as KeyPolicy;
    expect(policy.Statement.map((s) => s.Sid)).toContain('EcrPullFromOtherAccounts');
  });
});
