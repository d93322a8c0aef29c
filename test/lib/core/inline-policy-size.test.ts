import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, Testing, TerraformStack, Token } from 'cdktf';
import { ROLE_INLINE_POLICIES_MAX_CHARS } from '../../../lib/core/aws-limits';
import { inlinePolicySizeProblem } from '../../../lib/core/inline-policy-size';
import { DeployRoles } from '../../../lib/identity/deploy-roles';
import { GithubOidcProvider } from '../../../lib/identity/github-oidc-provider';
import { GithubActionsRunner } from '../../../lib/runner';

// IAM refuses a role whose inline policies together exceed 10,240 characters (whitespace not
// counted); Gantry says so at synth instead of failing half-way through an apply.

const ACCOUNT = '111111111111';

/** A policy document of about `chars` characters without whitespace. */
function documentOf(chars: number): string {
  const base = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '' }],
  });
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${'b'.repeat(chars - base.length - 13)}`,
      },
    ],
  });
}

/** Statements naming `count` buckets of 60 characters each. */
function bucketStatements(
  count: number,
): Array<{ Sid: string; Effect: 'Allow'; Action: string; Resource: string }> {
  return Array.from({ length: count }, (_, i) => ({
    Sid: `Read${i}`,
    Effect: 'Allow' as const,
    Action: 's3:GetObject',
    Resource: `arn:aws:s3:::acme-${'x'.repeat(40)}-${String(i).padStart(4, '0')}/*`,
  }));
}

describe('inlinePolicySizeProblem', () => {
  test('a document of exactly the limit fits; one character more does not', () => {
    expect(documentOf(ROLE_INLINE_POLICIES_MAX_CHARS)).toHaveLength(ROLE_INLINE_POLICIES_MAX_CHARS);
    expect(
      inlinePolicySizeProblem('acme-role', [documentOf(ROLE_INLINE_POLICIES_MAX_CHARS)]),
    ).toBeUndefined();
    expect(inlinePolicySizeProblem('acme-role', [documentOf(ROLE_INLINE_POLICIES_MAX_CHARS + 1)])).toBe(
      'the inline policies of role "acme-role" come to 10241 characters (whitespace not counted); IAM allows 10240 per role: use shorter names, fewer statements or a managed policy',
    );
  });

  test('counts every document of the role, and not their whitespace', () => {
    const half = documentOf(5200);
    expect(inlinePolicySizeProblem('acme-role', [half])).toBeUndefined();
    expect(inlinePolicySizeProblem('acme-role', [half, half])).toMatch(/come to 10400 characters/);
    const pretty = JSON.stringify(JSON.parse(documentOf(10_200)), null, 8);
    expect(pretty.length).toBeGreaterThan(ROLE_INLINE_POLICIES_MAX_CHARS);
    expect(inlinePolicySizeProblem('acme-role', [pretty])).toBeUndefined();
  });

  test('does not measure a document that still holds a token', () => {
    const big = documentOf(12_000).replace('s3:GetObject', Token.asString({ resolve: () => 's3:GetObject' }));
    expect(inlinePolicySizeProblem('acme-role', [big])).toBeUndefined();
  });
});

describe('roles Gantry creates', () => {
  test('DeployRoles: an apply policy past the limit fails synth naming the role', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const stack = new TerraformStack(app, 'test');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: [ACCOUNT] });
    const oidcProvider = new GithubOidcProvider(stack, 'oidc', { accountId: ACCOUNT, region: 'eu-west-1' });
    const roles = new DeployRoles(stack, 'roles', {
      accountId: ACCOUNT,
      region: 'eu-west-1',
      oidcProvider,
      repository: 'acme/platform',
      plan: { roleName: 'acme-prod-gh-plan', defaultBranch: 'main' },
      apply: {
        roleName: 'acme-prod-gh-apply',
        environment: 'prod',
        deploymentBranches: { branches: ['main'] },
      },
    });
    roles.addToApplyPolicy(...bucketStatements(50)); // about 7,000 characters
    expect(() => Testing.synth(stack, true)).not.toThrow();
    roles.addToApplyPolicy(...bucketStatements(100).slice(50));
    expect(() => Testing.synth(stack, true)).toThrow(
      /\[test\/roles\] test\/roles: the inline policies of role "acme-prod-gh-apply" come to \d{5} characters/,
    );
  });

  test('GithubActionsRunner: a build policy past the limit fails synth naming the role', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const stack = new TerraformStack(app, 'test');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: [ACCOUNT] });
    const runner = new GithubActionsRunner(stack, 'runner', {
      accountId: ACCOUNT,
      region: 'eu-west-1',
      repository: 'acme/platform',
      connectionArn: `arn:aws:codeconnections:eu-west-1:${ACCOUNT}:connection/0a1d0000-0000-4000-8000-000000000001`,
      vpcId: 'vpc-0a1d0000000000001',
      subnetIds: ['subnet-0a1d0000000000a01', 'subnet-0a1d0000000000b01'],
      kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0a1d0000-0000-4000-8000-00000000000k`,
      projectName: 'acme-dev-runner',
      workflowNames: ['build'],
      actorIds: [3000001],
    });
    expect(() => Testing.synth(stack, true)).not.toThrow();
    runner.addToRolePolicy(...bucketStatements(100));
    const text = () => Testing.synth(stack, true);
    expect(text).toThrow(/the inline policies of role "acme-dev-runner-build" come to \d{5} characters/);
  });
});
