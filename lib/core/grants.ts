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

/**
 * `sns:Publish` on exactly `topicArns`: what `gantry deploy` needs to tell the environment's SNS topics
 * (`notifications.snsTopics`) how a deploy ended. No statement when there is no topic.
 */
export function publishNotificationsStatement(
  topicArns: readonly string[],
): { Sid: string; Effect: 'Allow'; Action: string; Resource: string | string[] } | undefined {
  const arns = [...new Set(topicArns)];
  if (arns.length === 0) return undefined;
  return {
    Sid: 'PublishDeployNotifications',
    Effect: 'Allow',
    Action: 'sns:Publish',
    Resource: arns.length === 1 ? arns[0] : arns,
  };
}
