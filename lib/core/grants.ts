/** Policy statements as literal JSON, and the principals that accept them (`grantX(grantee)`). */

/** A literal IAM policy statement (no Terraform interpolation inside). */
export interface IamPolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Readonly<
    Record<string, Readonly<Record<string, string | boolean | readonly string[]>>>
  >;
}

/**
 * A role that `grantX` methods add statements to (e.g. `deployProject.grantStart(deployRoles.apply)`):
 * its literal name and ARN, and a way to add literal statements to its inline policy.
 */
export interface IPolicyGrantee {
  readonly roleName: string;
  readonly roleArn: string;
  addToPolicy(...statements: IamPolicyStatement[]): void;
}
