/** Rules 1-10 of docs/security.md: trust (GitHub OIDC) and permissions. */
import { checkTrustPolicy, type TrustPolicyFinding } from '../trust-policy';
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import {
  allAttachments,
  attachedPolicies,
  conditionEntries,
  grants,
  KEY_POLICY_TYPES,
  parseJson,
  policyDocuments,
  roleDocuments,
  roleKind,
  statements,
  wildcardMatch,
  type PolicyDocumentRef,
  type Statement,
} from './iam-documents';
import { render, stringList, type StackView } from './terraform-json';

/**
 * Actions that cannot be scoped to a resource ARN (the Service Authorization Reference lists no
 * resource type for them), so `Resource: "*"` is the only way to grant them (rule 8). Patterns
 * match with IAM wildcards; a statement's own wildcard must fall inside one of these.
 */
export const UNSCOPABLE_ACTIONS: readonly string[] = [
  'ecr:GetAuthorizationToken',
  'sts:GetCallerIdentity',
  'ec2:Describe*',
  'elasticloadbalancing:Describe*',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'cloudwatch:PutMetricData',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'ssm:DescribeParameters',
  'secretsmanager:ListSecrets',
  'secretsmanager:GetRandomPassword',
  // ecs:RegisterTaskDefinition is not here: the Service Authorization Reference lists task-definition*.
  'ecs:DeregisterTaskDefinition',
  'ecs:DescribeTaskDefinition',
  'ecs:ListTaskDefinitions',
  's3:ListAllMyBuckets',
  'tag:GetResources',
  // ECS Exec (task role): the SSM agent's message channels and the log-group lookup it makes before
  // writing session logs. AWS's ECS Exec guide grants exactly these on "*"; they name no resource.
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'logs:DescribeLogGroups',
  // The services stack's apply (SERVICES_STACK_PERMISSIONS): reads with no resource type.
  'application-autoscaling:DescribeScalableTargets',
  'application-autoscaling:DescribeScalingPolicies',
  'application-autoscaling:DescribeScalingActivities',
  'kms:ListAliases',
  // Creates a key: there is no key yet to name (narrowed by aws:RequestTag where Gantry grants it).
  'kms:CreateKey',
];

/**
 * Actions AWS authorizes against no particular resource when they tag a resource being created, so
 * `Resource: "*"` is needed for them then: "to add tags while creating a KMS key, the principal must
 * have permission in an IAM policy that isn't restricted to particular KMS keys" (KMS developer
 * guide). Rule 8 accepts them on `"*"` only in a statement conditioned on `aws:RequestTag/...`.
 */
export const TAG_ON_CREATE_ACTIONS: readonly string[] = ['kms:TagResource'];

/** What each trust invariant expects, for the report. */
const TRUST_EXPECTED: Record<TrustPolicyFinding['invariant'], string> = {
  1: 'every GitHub statement has a "sub" (or "job_workflow_ref") condition, StringEquals/StringLike only',
  2: '"aud" is StringEquals "sts.amazonaws.com"',
  3: 'no "*" or "?" in the owner or repository of a subject, no bare "*" in any value list',
  4: 'apply roles: exactly "environment:<name>" (StringEquals), never pull_request; publish roles: tags of one repository only; branch publish roles: one branch of one repository (StringEquals); session <= 3600 s',
  5: 'one Allow statement per trust intent',
  6: 'no principal "*" or every account/service',
};

/** The trust checker's findings for every role of the stack (run once per stack). */
function trustFindings(view: StackView): Array<{ address: string; finding: TrustPolicyFinding }> {
  const memo = view.memo.get('trustFindings') as
    Array<{ address: string; finding: TrustPolicyFinding }> | undefined;
  if (memo) return memo;
  const all = view.resources('aws_iam_role').flatMap((role) => {
    const document = role.body.assume_role_policy;
    const maxSession = role.body.max_session_duration;
    const findings = checkTrustPolicy(parseJson(document) ?? document, {
      roleKind: roleKind(role),
      ...(typeof role.body.name === 'string' ? { roleName: role.body.name } : {}),
      ...(typeof maxSession === 'number' ? { maxSessionDurationSeconds: maxSession } : {}),
    });
    return findings.map((finding) => ({ address: role.address, finding }));
  });
  view.memo.set('trustFindings', all);
  return all;
}

function trustRule(
  invariant: TrustPolicyFinding['invariant'],
  id: string,
  title: string,
  publicChecks: string[],
): PolicyRule {
  return defineRule({
    id,
    invariant,
    title,
    publicChecks,
    evaluate(view, report) {
      for (const { address, finding } of trustFindings(view)) {
        if (finding.invariant === invariant) report(address, finding.message, TRUST_EXPECTED[invariant]);
      }
    },
  });
}

function allows(doc: PolicyDocumentRef): Statement[] {
  return statements(parseJson(doc.value)).filter((s) => s.effect === 'Allow');
}

function where(doc: PolicyDocumentRef, s: Statement): string {
  return `${doc.attribute} statement ${s.index}`;
}

/** `arn:<partition>:iam::<account>:root` or a bare account id: the account, administered via IAM. */
function isAccountRoot(principal: string): boolean {
  return /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(principal) || /^\d{12}$/.test(principal);
}

/** Every principal of a statement (`AWS`, `Service`, `Federated`, or `*`), as strings. */
function principalList(principal: unknown): string[] {
  if (principal === '*') return ['*'];
  if (typeof principal !== 'object' || principal === null) return [];
  return Object.values(principal).flatMap((v) => stringList(v));
}

export const ADMINISTRATOR_ACCESS = /^arn:aws[a-z-]*:iam::aws:policy\/AdministratorAccess$/;

const rule7 = defineRule({
  id: 'GANTRY-IAM-007',
  invariant: 7,
  title: 'No "*:*" or Action "*" and no AdministratorAccess attached',
  publicChecks: ['CKV_AWS_1', 'CKV_AWS_62', 'CKV_AWS_49', 'CKV_AWS_63', 'CKV_AWS_274', 'CKV_AWS_275'],
  evaluate(view, report) {
    for (const doc of policyDocuments(view)) {
      if (doc.kind === 'trust') continue;
      const keyPolicy = KEY_POLICY_TYPES.has(doc.entry.type);
      for (const s of allows(doc)) {
        const full = s.actions.filter((a) => a === '*' || a === '*:*');
        if (full.length > 0) {
          report(
            doc.entry.address,
            `${where(doc, s)} allows Action ${render(full[0])}`,
            'named actions, never "*" or "*:*"',
          );
        }
        if (s.notActions && doc.kind === 'identity') {
          report(
            doc.entry.address,
            `${where(doc, s)} allows NotAction ${render(s.notActions)} (every other action)`,
            'an explicit Action list',
          );
        }
        // In a key policy, `kms:*` for the account root is AWS's default key policy: it hands the key
        // to the account's IAM policies. Full control of the key for any other principal is refused.
        if (keyPolicy && s.actions.some((a) => a.toLowerCase() === 'kms:*')) {
          const principals = principalList(s.principal);
          if (principals.length === 0 || principals.some((p) => !isAccountRoot(p))) {
            report(
              doc.entry.address,
              `${where(doc, s)} grants ${render(s.actions)} to ${render(s.principal)}`,
              '"kms:*" only for the account root (the default key policy); named KMS actions for other principals',
            );
          }
        }
      }
    }
    for (const { address, policyArn } of allAttachments(view)) {
      if (ADMINISTRATOR_ACCESS.test(policyArn)) {
        report(
          address,
          `attaches ${render(policyArn)}`,
          'no AdministratorAccess; a caller who passes it explicitly suppresses GANTRY-IAM-007 with a reason',
        );
      }
    }
  },
});

/** Whether an action pattern of a statement lies within the unscopable actions. */
function isUnscopable(actionPattern: string): boolean {
  return UNSCOPABLE_ACTIONS.some((allowed) => wildcardMatch(allowed, actionPattern));
}

const rule8 = defineRule({
  id: 'GANTRY-IAM-008',
  invariant: 8,
  title: 'Resource "*" only for actions that cannot be scoped',
  publicChecks: ['CKV_AWS_355'],
  evaluate(view, report) {
    for (const doc of policyDocuments(view)) {
      if (doc.kind !== 'identity') continue;
      for (const s of allows(doc)) {
        const everything = s.resources.includes('*') || s.notResources !== undefined;
        if (!everything) continue;
        const tagsOnCreate = conditionEntries(s).some((c) => c.key.startsWith('aws:requesttag/'));
        const scopable = s.notActions
          ? ['NotAction ' + s.notActions.join(',')]
          : s.actions.filter(
              (a) =>
                !isUnscopable(a) && !(tagsOnCreate && TAG_ON_CREATE_ACTIONS.some((t) => wildcardMatch(t, a))),
            );
        if (scopable.length > 0) {
          report(
            doc.entry.address,
            `${where(doc, s)} grants ${render(scopable)} on ${s.notResources ? 'NotResource' : 'Resource "*"'}`,
            `resource ARNs for scopable actions; "*" only for ${UNSCOPABLE_ACTIONS.slice(0, 3).join(', ')}, ... (UNSCOPABLE_ACTIONS)`,
          );
        }
      }
    }
  },
});

const NAMED_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/;

const rule9 = defineRule({
  id: 'GANTRY-IAM-009',
  invariant: 9,
  title: 'iam:PassRole only on named role ARNs, with iam:PassedToService',
  publicChecks: ['CKV_AWS_286', 'AWS-0342'],
  evaluate(view, report) {
    for (const doc of policyDocuments(view)) {
      if (doc.kind !== 'identity') continue;
      for (const s of allows(doc)) {
        if (!grants(s, 'iam:PassRole')) continue;
        const unnamed = s.notResources ? ['NotResource'] : s.resources.filter((r) => !NAMED_ROLE_ARN.test(r));
        if (unnamed.length > 0 || s.resources.length === 0) {
          report(
            doc.entry.address,
            `${where(doc, s)} allows iam:PassRole on ${render(unnamed.length > 0 ? unnamed : s.resources)}`,
            'iam:PassRole on named role ARNs (arn:aws:iam::<account>:role/<name>), no wildcard',
          );
        }
        const passedTo = conditionEntries(s).filter(
          (c) =>
            c.key === 'iam:passedtoservice' && !c.operator.startsWith('ForAllValues') && c.values.length > 0,
        );
        if (passedTo.length === 0 || passedTo.some((c) => c.values.some((v) => /^[*?]+$/.test(v)))) {
          report(
            doc.entry.address,
            `${where(doc, s)} allows iam:PassRole without an iam:PassedToService condition naming the service`,
            'Condition StringEquals "iam:PassedToService": "<service>.amazonaws.com"',
          );
        }
      }
    }
  },
});

/** S3 actions that change or delete data or bucket settings. */
const S3_WRITES = [
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:PutObjectAcl',
  's3:PutObjectVersionAcl',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:RestoreObject',
  's3:BypassGovernanceRetention',
  's3:DeleteBucket',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:PutBucketAcl',
  's3:PutBucketVersioning',
  's3:PutLifecycleConfiguration',
  's3:PutEncryptionConfiguration',
  's3:PutBucketPublicAccessBlock',
];
/** The lock file is the only object a plan may write or delete. */
const LOCK_FILE_WRITES = new Set(['s3:PutObject', 's3:DeleteObject']);
/** AWS-managed policies a plan role may carry: read-only ones. */
const READ_ONLY_MANAGED =
  /^arn:aws[a-z-]*:iam::aws:policy\/(?:.*ReadOnly[A-Za-z]*|ViewOnlyAccess|SecurityAudit|job-function\/ViewOnlyAccess)$/;

const rule10 = defineRule({
  id: 'GANTRY-IAM-010',
  invariant: 10,
  title: 'Plan role: state read and .tflock Get/Put/Delete only, no s3:DeleteObject on the state',
  publicChecks: [],
  evaluate(view, report) {
    for (const role of view.resources('aws_iam_role').filter((r) => roleKind(r) === 'plan')) {
      for (const doc of roleDocuments(view, role)) {
        for (const s of allows(doc)) {
          const writes = S3_WRITES.filter((w) => grants(s, w));
          const notLock = s.notResources
            ? ['NotResource']
            : s.resources.filter((r) => !r.endsWith('.tflock'));
          const bad = writes.filter((w) => !LOCK_FILE_WRITES.has(w) || notLock.length > 0);
          if (bad.length > 0) {
            report(
              doc.entry.address,
              `plan role ${render(role.body.name)}: ${where(doc, s)} allows ${render(bad)} on ${render(
                notLock.length > 0 ? notLock : s.resources,
              )}`,
              'state read only; s3:PutObject/s3:DeleteObject only on "<state key>.tflock"',
            );
          }
        }
      }
      for (const { address, policyArn } of attachedPolicies(view, role)) {
        if (/^arn:aws[a-z-]*:iam::aws:policy\//.test(policyArn) && !READ_ONLY_MANAGED.test(policyArn)) {
          report(
            address,
            `plan role ${render(role.body.name)} carries ${render(policyArn)}`,
            'read-only AWS-managed policies only (ReadOnlyAccess, ViewOnlyAccess, SecurityAudit, *ReadOnly*)',
          );
        }
      }
    }
  },
});

export const IAM_RULES: readonly PolicyRule[] = [
  trustRule(
    1,
    'GANTRY-IAM-001',
    'GitHub OIDC statements carry a "sub" condition, StringEquals/StringLike only',
    ['CKV_AWS_358', 'CKV_AWS_393'],
  ),
  trustRule(2, 'GANTRY-IAM-002', 'GitHub OIDC "aud" is StringEquals "sts.amazonaws.com"', []),
  trustRule(3, 'GANTRY-IAM-003', 'No wildcard in the owner or repository of a subject, no bare "*"', []),
  trustRule(
    4,
    'GANTRY-IAM-004',
    'Apply roles trust exactly environment:<name>, never pull_request, session <= 1 h',
    [],
  ),
  trustRule(5, 'GANTRY-IAM-005', 'One Allow statement per trust intent', []),
  trustRule(6, 'GANTRY-IAM-006', 'No role assumable by "*" or by every account or service', [
    'CKV_AWS_60',
    'CKV_AWS_61',
  ]),
  rule7,
  rule8,
  rule9,
  rule10,
];
