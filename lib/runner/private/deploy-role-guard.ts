/**
 * What the deploy project's role may never do, whatever policy is attached to it: change its own
 * project (buildspec, source, role, visibility, webhooks) or start it, stop or rewrite the audit trail,
 * or change its own role and permission policies. Explicit Deny statements, in the role's own inline
 * policy, so an attached managed policy (even one passed with a reason) cannot reopen them
 * (docs/security.md 26).
 */
import { projectArn, type Arns, type RunnerPolicyStatement } from './policies';

/** CodeBuild actions on the deploy project itself. */
export const OWN_PROJECT_DENIED_ACTIONS = [
  'codebuild:UpdateProject',
  'codebuild:UpdateProjectVisibility',
  'codebuild:DeleteProject',
  'codebuild:CreateWebhook',
  'codebuild:UpdateWebhook',
  'codebuild:DeleteWebhook',
  'codebuild:PutResourcePolicy',
  'codebuild:DeleteResourcePolicy',
  // A build must not start builds of its own project (with overrides of its own choosing).
  'codebuild:StartBuild',
  'codebuild:StartBuildBatch',
  'codebuild:RetryBuild',
  'codebuild:RetryBuildBatch',
] as const;

/** CloudTrail actions that stop, delete or narrow the audit trail (trails and event data stores). */
export const AUDIT_TRAIL_DENIED_ACTIONS = [
  'cloudtrail:StopLogging',
  'cloudtrail:DeleteTrail',
  'cloudtrail:UpdateTrail',
  'cloudtrail:PutEventSelectors',
  'cloudtrail:StopEventDataStoreIngestion',
  'cloudtrail:DeleteEventDataStore',
  'cloudtrail:UpdateEventDataStore',
] as const;

/** IAM actions on the role itself. */
export const OWN_ROLE_DENIED_ACTIONS = [
  'iam:PutRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:DetachRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:UpdateRole',
  'iam:DeleteRole',
] as const;

/** IAM actions on the managed policies Gantry made for the role (`<role>-*`). */
export const OWN_POLICIES_DENIED_ACTIONS = [
  'iam:CreatePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:DeletePolicyVersion',
  'iam:DeletePolicy',
] as const;

export function deployRoleGuardStatements(
  a: Arns,
  projectName: string,
  roleName: string,
): RunnerPolicyStatement[] {
  const iam = `arn:${a.partition}:iam::${a.accountId}`;
  return [
    {
      Sid: 'DenyChangingOwnProject',
      Effect: 'Deny',
      Action: [...OWN_PROJECT_DENIED_ACTIONS],
      Resource: projectArn(a, projectName),
    },
    { Sid: 'DenyStoppingAuditTrail', Effect: 'Deny', Action: [...AUDIT_TRAIL_DENIED_ACTIONS], Resource: '*' },
    {
      Sid: 'DenyChangingOwnRole',
      Effect: 'Deny',
      Action: [...OWN_ROLE_DENIED_ACTIONS],
      Resource: `${iam}:role/${roleName}`,
    },
    {
      Sid: 'DenyChangingOwnPolicies',
      Effect: 'Deny',
      Action: [...OWN_POLICIES_DENIED_ACTIONS],
      Resource: `${iam}:policy/${roleName}-*`,
    },
  ];
}
