import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { GantryConfigError } from '../core/errors';
import { partitionOf } from '../core/naming';
import { GITHUB_TOKEN_HOST } from './private/github-subjects';

/** What a role needs of an OIDC provider: its ARN (literal) and what to depend on. */
export interface IGithubOidcProvider {
  /** `arn:<partition>:iam::<account>:oidc-provider/token.actions.githubusercontent.com`, computed, never a reference. */
  readonly providerArn: string;
  /** Resources a trusting role must be created after (empty for an existing provider). */
  readonly dependables: readonly ITerraformDependable[];
}

export interface GithubOidcProviderProps {
  /** The account the provider lives in. */
  readonly accountId: string;
  readonly region: string;
  /**
   * ARN of a provider that already exists in the account (IAM allows one per URL per account): no
   * resource is created and roles trust this ARN.
   * @default a new provider is created
   */
  readonly existingProviderArn?: string;
}

const PROVIDER_ARN =
  /^arn:aws(-cn|-us-gov)?:iam::(\d{12}):oidc-provider\/token\.actions\.githubusercontent\.com$/;

/**
 * GitHub Actions' OIDC identity provider in one AWS account (`https://token.actions.githubusercontent.com`,
 * audience `sts.amazonaws.com`), or a reference to the existing one. No thumbprint is pinned: AWS
 * trusts GitHub's certificate through its own CA library, so a certificate rotation breaks nothing.
 */
export class GithubOidcProvider extends Construct implements IGithubOidcProvider {
  public readonly providerArn: string;
  public readonly dependables: readonly ITerraformDependable[];
  /** The provider resource, when this construct created one. */
  public readonly provider?: IamOpenidConnectProvider;

  constructor(scope: Construct, id: string, props: GithubOidcProviderProps) {
    super(scope, id);
    if (props.existingProviderArn !== undefined) {
      const match = PROVIDER_ARN.exec(props.existingProviderArn);
      if (!match || match[2] !== props.accountId) {
        throw new GantryConfigError(
          `${this.node.path}.existingProviderArn: ${JSON.stringify(props.existingProviderArn)} is not the GitHub OIDC provider ARN of account ${props.accountId} ` +
            `(arn:${partitionOf(props.region)}:iam::${props.accountId}:oidc-provider/${GITHUB_TOKEN_HOST})`,
        );
      }
      this.providerArn = props.existingProviderArn;
      this.dependables = [];
      return;
    }
    this.provider = new IamOpenidConnectProvider(this, 'provider', {
      url: `https://${GITHUB_TOKEN_HOST}`,
      clientIdList: ['sts.amazonaws.com'],
    });
    this.providerArn = `arn:${partitionOf(props.region)}:iam::${props.accountId}:oidc-provider/${GITHUB_TOKEN_HOST}`;
    this.dependables = [this.provider];
  }
}
