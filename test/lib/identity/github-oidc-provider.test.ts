import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { Testing, TerraformStack } from 'cdktf';
import { GithubOidcProvider } from '../../../lib/identity/github-oidc-provider';

describe('GithubOidcProvider', () => {
  test('creates the provider for token.actions.githubusercontent.com with audience sts.amazonaws.com and no thumbprint', () => {
    const synthesized = Testing.synthScope((scope) => {
      new GithubOidcProvider(scope, 'oidc', { accountId: '111111111111', region: 'eu-west-1' });
    });
    expect(synthesized).toHaveResourceWithProperties(IamOpenidConnectProvider, {
      url: 'https://token.actions.githubusercontent.com',
      client_id_list: ['sts.amazonaws.com'],
    });
    expect(synthesized).not.toContain('thumbprint_list');
  });

  test('computes the provider ARN from the account and the partition', () => {
    const stack = new TerraformStack(Testing.app(), 'arn');
    const provider = new GithubOidcProvider(stack, 'oidc', {
      accountId: '111111111111',
      region: 'cn-north-1',
    });
    expect(provider.providerArn).toBe(
      'arn:aws-cn:iam::111111111111:oidc-provider/token.actions.githubusercontent.com',
    );
    expect(provider.dependables).toEqual([provider.provider]);
  });

  test('references an existing provider without creating one', () => {
    const arn = 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com';
    let construct: GithubOidcProvider | undefined;
    const synthesized = Testing.synthScope((scope) => {
      construct = new GithubOidcProvider(scope, 'oidc', {
        accountId: '111111111111',
        region: 'eu-west-1',
        existingProviderArn: arn,
      });
    });
    expect(synthesized).not.toContain('aws_iam_openid_connect_provider');
    expect(construct!.providerArn).toBe(arn);
    expect(construct!.dependables).toEqual([]);
  });

  test.each([
    ['another account', 'arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com'],
    ['another issuer', 'arn:aws:iam::111111111111:oidc-provider/example.com'],
    ['a wildcard', 'arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com'],
  ])('fails on an existing provider ARN of %s', (_name, existingProviderArn) => {
    const stack = new TerraformStack(Testing.app(), 'bad');
    expect(
      () =>
        new GithubOidcProvider(stack, 'oidc', {
          accountId: '111111111111',
          region: 'eu-west-1',
          existingProviderArn,
        }),
    ).toThrow(
      /bad\/oidc\.existingProviderArn: .* is not the GitHub OIDC provider ARN of account 111111111111/,
    );
  });
});
