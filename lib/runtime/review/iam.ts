/**
 * IAM-aware reviews of the resource types that carry policies: trust policies of roles, identity
 * policies (inline, standalone, attached managed policies) and resource policies (ECR, KMS,
 * Secrets Manager, S3, SNS, SQS, CloudWatch Logs, CodeBuild). Each planned document is compared
 * with the prior one statement by statement; trust policies also go through the trust-policy
 * checker (SECURITY.md 1-6). A document that is known only after apply, or that the plan marks
 * sensitive, is reported as such and never printed.
 */
import { roleKind } from '../../policy/private/iam-documents';
import { checkTrustPolicy } from '../../policy/trust-policy';
import type { PlanResourceChange } from '../plan-summary';
import type { DocumentKind, ManagedPolicyReview, PolicyReview, Review } from './model';
import { diffStatements, parsePolicyDocument, type PolicyStatement } from './policy-diff';
import {
  afterOf,
  asRecord,
  attribute,
  beforeOf,
  isRecord,
  knownString,
  stringsOf,
  type PlannedValue,
  type ReviewAction,
} from './values';

/** What the review needs to know of the rest of the plan. */
export interface ReviewContext {
  readonly constructPath: string | null;
  /** `<type>:<name or id>` of everything this plan creates (or replaces). */
  readonly created: ReadonlySet<string>;
  /** `<type>:<name or id>` of everything this plan destroys (not replaces). */
  readonly destroyed: ReadonlySet<string>;
  /** Whether the configuration sets `attribute` of `address` (for attributes AWS may compute). */
  readonly configures: (address: string, attribute: string) => boolean;
}

/** Whom a separate policy resource grants or protects. */
type Target =
  /** The resource itself (a role's trust policy, a key's key policy). */
  | { readonly self: true }
  /** The account (registry and log resource policies): always there. */
  | { readonly account: true }
  /** Another resource, named by one attribute (`role` -> an `aws_iam_role` of that name). */
  | { readonly attribute: string; readonly type: string };

interface PolicySpec {
  readonly attribute: string;
  readonly kind: DocumentKind;
  readonly label: string;
  readonly target: Target;
  /** AWS fills the attribute when the configuration leaves it unset (`optional + computed`). */
  readonly computed?: boolean;
}

const SELF: Target = { self: true };
const ACCOUNT: Target = { account: true };
const of = (attr: string, type: string): Target => ({ attribute: attr, type });

/** Resource types holding a policy document, and where. */
export const POLICY_SPECS: Readonly<Record<string, PolicySpec>> = {
  aws_iam_role: { attribute: 'assume_role_policy', kind: 'trust', label: 'trust policy', target: SELF },
  aws_iam_role_policy: {
    attribute: 'policy',
    kind: 'identity',
    label: 'inline policy',
    target: of('role', 'aws_iam_role'),
  },
  aws_iam_user_policy: {
    attribute: 'policy',
    kind: 'identity',
    label: 'inline policy',
    target: of('user', 'aws_iam_user'),
  },
  aws_iam_group_policy: {
    attribute: 'policy',
    kind: 'identity',
    label: 'inline policy',
    target: of('group', 'aws_iam_group'),
  },
  // Grants nothing until attached: the attachment is what widens.
  aws_iam_policy: { attribute: 'policy', kind: 'identity', label: 'managed policy', target: SELF },
  aws_ecr_repository_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'repository policy',
    target: of('repository', 'aws_ecr_repository'),
  },
  aws_ecr_registry_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'registry policy',
    target: ACCOUNT,
  },
  aws_kms_key: { attribute: 'policy', kind: 'resource', label: 'key policy', target: SELF, computed: true },
  aws_kms_replica_key: {
    attribute: 'policy',
    kind: 'resource',
    label: 'key policy',
    target: SELF,
    computed: true,
  },
  aws_kms_key_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'key policy',
    target: of('key_id', 'aws_kms_key'),
  },
  aws_secretsmanager_secret: {
    attribute: 'policy',
    kind: 'resource',
    label: 'resource policy',
    target: SELF,
    computed: true,
  },
  aws_secretsmanager_secret_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'resource policy',
    target: of('secret_arn', 'aws_secretsmanager_secret'),
  },
  aws_s3_bucket_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'bucket policy',
    target: of('bucket', 'aws_s3_bucket'),
  },
  aws_sns_topic: {
    attribute: 'policy',
    kind: 'resource',
    label: 'topic policy',
    target: SELF,
    computed: true,
  },
  aws_sns_topic_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'topic policy',
    target: of('arn', 'aws_sns_topic'),
  },
  aws_sqs_queue: {
    attribute: 'policy',
    kind: 'resource',
    label: 'queue policy',
    target: SELF,
    computed: true,
  },
  aws_sqs_queue_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'queue policy',
    target: of('queue_url', 'aws_sqs_queue'),
  },
  aws_cloudwatch_log_resource_policy: {
    attribute: 'policy_document',
    kind: 'resource',
    label: 'log resource policy',
    target: ACCOUNT,
  },
  aws_codebuild_resource_policy: {
    attribute: 'policy',
    kind: 'resource',
    label: 'resource policy',
    target: of('resource_arn', 'aws_codebuild_project'),
  },
};

/** Attachment resources: the managed policy `policy_arn` attached to one role, user or group. */
const ATTACHMENT_TARGETS: Readonly<Record<string, { readonly attribute: string; readonly type: string }>> = {
  aws_iam_role_policy_attachment: { attribute: 'role', type: 'aws_iam_role' },
  aws_iam_user_policy_attachment: { attribute: 'user', type: 'aws_iam_user' },
  aws_iam_group_policy_attachment: { attribute: 'group', type: 'aws_iam_group' },
};

/** Types whose created and destroyed instances are remembered, and the attributes naming them. */
export const TRACKED_TYPES: Readonly<Record<string, readonly string[]>> = {
  aws_iam_role: ['name', 'arn'],
  aws_iam_user: ['name', 'arn'],
  aws_iam_group: ['name', 'arn'],
  aws_ecr_repository: ['name', 'arn'],
  aws_s3_bucket: ['bucket', 'id', 'arn'],
  aws_kms_key: ['key_id', 'id', 'arn'],
  aws_secretsmanager_secret: ['arn', 'id', 'name'],
  aws_sns_topic: ['arn', 'id'],
  aws_sqs_queue: ['url', 'id', 'arn'],
  aws_codebuild_project: ['arn', 'name'],
};

/** Managed policies that hand out (nearly) everything. */
const BROAD_MANAGED_POLICY = /:policy\/(AdministratorAccess|PowerUserAccess|IAMFullAccess)$/;

export const IAM_TYPES: ReadonlySet<string> = new Set([
  ...Object.keys(POLICY_SPECS),
  ...Object.keys(ATTACHMENT_TARGETS),
  'aws_iam_policy_attachment',
]);

/** The IAM reviews of one resource change (none when its policies did not change). */
export function reviewIam(rc: PlanResourceChange, action: ReviewAction, ctx: ReviewContext): Review[] {
  const reviews: Review[] = [];
  const spec = POLICY_SPECS[rc.type];
  if (spec) {
    const review = documentReview(rc, action, ctx, spec);
    if (review) reviews.push(review);
  }
  if (rc.type === 'aws_iam_role') {
    reviews.push(...inlinePolicyReviews(rc, action, ctx));
    const managed = roleManagedPolicies(rc, action, ctx);
    if (managed) reviews.push(managed);
  }
  const attachment = ATTACHMENT_TARGETS[rc.type];
  if (attachment) {
    const review = attachmentReview(rc, action, ctx, attachment);
    if (review) reviews.push(review);
  }
  if (rc.type === 'aws_iam_policy_attachment') {
    const review = exclusiveAttachmentReview(rc, action, ctx);
    if (review) reviews.push(review);
  }
  return reviews;
}

/** Whether the grantee (or protected resource) exists before this plan and after it. */
function targetStatus(
  rc: PlanResourceChange,
  action: ReviewAction,
  ctx: ReviewContext,
  target: Target,
): 'new' | 'gone' | 'existing' {
  if ('account' in target) return 'existing';
  if ('self' in target) return action === 'create' ? 'new' : action === 'delete' ? 'gone' : 'existing';
  const side = action === 'delete' ? 'before' : 'after';
  const value = attribute(rc, side, target.attribute);
  // A name or id known only after apply belongs to something this plan creates.
  if (value.state === 'unknown') return 'new';
  const name = value.state === 'known' && typeof value.value === 'string' ? value.value : undefined;
  if (name === undefined) return 'existing';
  if (action === 'delete') return ctx.destroyed.has(`${target.type}:${name}`) ? 'gone' : 'existing';
  return ctx.created.has(`${target.type}:${name}`) ? 'new' : 'existing';
}

type DocumentState = PolicyReview['before'];

function readDocument(value: PlannedValue): { state: DocumentState; statements: PolicyStatement[] } {
  if (value.state !== 'known') return { state: value.state, statements: [] };
  if (typeof value.value === 'string' && value.value.trim() === '')
    return { state: 'absent', statements: [] };
  const statements = parsePolicyDocument(value.value);
  return statements === null ? { state: 'unreadable', statements: [] } : { state: 'known', statements };
}

function documentReview(
  rc: PlanResourceChange,
  action: ReviewAction,
  ctx: ReviewContext,
  spec: PolicySpec,
  inline?: { readonly name: string; readonly before: PlannedValue; readonly after: PlannedValue },
): PolicyReview | null {
  const beforeValue = inline ? inline.before : attribute(rc, 'before', spec.attribute);
  const afterValue = inline ? inline.after : attribute(rc, 'after', spec.attribute);
  if (
    !inline &&
    spec.computed &&
    action === 'create' &&
    afterValue.state === 'unknown' &&
    !ctx.configures(rc.address, spec.attribute)
  ) {
    return null; // left to AWS's default; nothing in this plan sets it
  }
  if (
    beforeValue.state === 'known' &&
    afterValue.state === 'known' &&
    JSON.stringify(beforeValue.value) === JSON.stringify(afterValue.value)
  ) {
    return null;
  }
  const before = readDocument(beforeValue);
  const after = readDocument(afterValue);
  if (before.state === 'absent' && after.state === 'absent') return null;
  const status = targetStatus(rc, action, ctx, inline ? SELF : spec.target);
  const diffable =
    (before.state === 'known' || before.state === 'absent') &&
    (after.state === 'known' || after.state === 'absent');
  const diff = diffable
    ? diffStatements(before.statements, after.statements, {
        kind: spec.kind,
        everythingWidens: action !== 'create' || status === 'existing',
      })
    : { statements: [], unchanged: 0 };
  if (diffable && diff.statements.length === 0 && action === 'update') return null; // reformatted only
  const policy = policyLabel(rc, action, spec, inline?.name);
  const widens =
    status === 'gone'
      ? []
      : diff.statements.flatMap((s) => s.widens.map((reason) => `${policy}, ${s.label}: ${reason}`));
  const review: PolicyReview = {
    kind: 'policy',
    address: rc.address,
    type: rc.type,
    action,
    constructPath: ctx.constructPath,
    widens,
    documentKind: spec.kind,
    policy,
    attribute: inline ? `inline_policy[${JSON.stringify(inline.name)}]` : spec.attribute,
    before: before.state,
    after: after.state,
    statements: diff.statements,
    unchangedStatements: diff.unchanged,
  };
  if (spec.kind !== 'trust' || action === 'delete') return review;
  const after_ = afterOf(rc) ?? {};
  const kind = roleKind({ address: rc.address, type: rc.type, name: rc.address, body: after_ });
  if (after.state !== 'known') return { ...review, roleKind: kind };
  const name = knownString(rc, 'after', 'name');
  const session = after_.max_session_duration;
  const findings = checkTrustPolicy(afterValue.value, {
    roleKind: kind,
    ...(name !== undefined ? { roleName: name } : {}),
    ...(typeof session === 'number' ? { maxSessionDurationSeconds: session } : {}),
  });
  return {
    ...review,
    roleKind: kind,
    trustFindings: findings.map((f) => ({ invariant: f.invariant, message: f.message })),
  };
}

/** `inline policy "build" of role acme-dev-runner`, `trust policy of role acme-dev-gh-plan`. */
function policyLabel(
  rc: PlanResourceChange,
  action: ReviewAction,
  spec: PolicySpec,
  inlineName?: string,
): string {
  const side = action === 'delete' ? 'before' : 'after';
  const name = inlineName ?? knownString(rc, side, 'name');
  const quoted = name !== undefined && spec.kind !== 'trust' ? ` ${JSON.stringify(name)}` : '';
  if (rc.type === 'aws_iam_role') {
    const role = knownString(rc, side, 'name');
    return `${inlineName !== undefined ? 'inline policy' : spec.label}${quoted} of role ${role ?? '(known after apply)'}`;
  }
  if ('attribute' in spec.target && spec.target.type.startsWith('aws_iam_')) {
    const principal = knownString(rc, side, spec.target.attribute);
    const kind = spec.target.type.slice('aws_iam_'.length);
    return `${spec.label}${quoted} of ${kind} ${principal ?? '(known after apply)'}`;
  }
  return `${spec.label}${quoted}`;
}

/** `inline_policy` blocks of a role, matched by name. */
function inlinePolicyReviews(
  rc: PlanResourceChange,
  action: ReviewAction,
  ctx: ReviewContext,
): PolicyReview[] {
  const before = attribute(rc, 'before', 'inline_policy');
  const after = attribute(rc, 'after', 'inline_policy');
  if (after.state === 'unknown' && !ctx.configures(rc.address, 'inline_policy')) return [];
  const byName = (value: PlannedValue): Map<string, PlannedValue> => {
    const out = new Map<string, PlannedValue>();
    if (value.state !== 'known' || !Array.isArray(value.value)) return out;
    value.value.forEach((block) => {
      const b = asRecord(block);
      if (typeof b.name === 'string' && b.name !== '') out.set(b.name, { state: 'known', value: b.policy });
    });
    return out;
  };
  const b = byName(before);
  const a = byName(after);
  const spec: PolicySpec = {
    attribute: 'inline_policy',
    kind: 'identity',
    label: 'inline policy',
    target: SELF,
  };
  const reviews: PolicyReview[] = [];
  for (const name of new Set([...b.keys(), ...a.keys()])) {
    const review = documentReview(rc, action, ctx, spec, {
      name,
      before: b.get(name) ?? { state: 'absent' },
      after: after.state === 'unknown' ? { state: 'unknown' } : (a.get(name) ?? { state: 'absent' }),
    });
    if (review) reviews.push(review);
  }
  return reviews;
}

function managedReview(
  rc: PlanResourceChange,
  action: ReviewAction,
  ctx: ReviewContext,
  principal: string,
  added: string[],
  removed: string[],
  status: 'new' | 'gone' | 'existing',
): ManagedPolicyReview | null {
  if (added.length === 0 && removed.length === 0) return null;
  const widens =
    status === 'gone'
      ? []
      : added.flatMap((arn) => {
          const broad = BROAD_MANAGED_POLICY.test(arn) ? ' (broad: nearly every action)' : '';
          if (status === 'existing') return [`${principal}: attaches managed policy ${arn}${broad}`];
          return broad ? [`${principal}: attaches managed policy ${arn}${broad}`] : [];
        });
  return {
    kind: 'managed-policies',
    address: rc.address,
    type: rc.type,
    action,
    constructPath: ctx.constructPath,
    widens,
    principal,
    added,
    removed,
  };
}

function roleManagedPolicies(
  rc: PlanResourceChange,
  action: ReviewAction,
  ctx: ReviewContext,
): ManagedPolicyReview | null {
  const before = attribute(rc, 'before', 'managed_policy_arns');
  const after = attribute(rc, 'after', 'managed_policy_arns');
  if (after.state !== 'known' && before.state !== 'known') return null;
  if (after.state === 'unknown') return null; // computed from attachments; they are reviewed themselves
  const b = before.state === 'known' ? stringsOf(before.value) : [];
  const a = after.state === 'known' ? stringsOf(after.value) : [];
  const role = knownString(rc, action === 'delete' ? 'before' : 'after', 'name') ?? '(known after apply)';
  return managedReview(
    rc,
    action,
    ctx,
    `role ${role}`,
    a.filter((x) => !b.includes(x)),
    b.filter((x) => !a.includes(x)),
    targetStatus(rc, action, ctx, SELF),
  );
}

function attachmentReview(
  rc: PlanResourceChange,
  action: ReviewAction,
  ctx: ReviewContext,
  target: { readonly attribute: string; readonly type: string },
): ManagedPolicyReview | null {
  const arnOf = (side: 'before' | 'after') => {
    const v = attribute(rc, side, 'policy_arn');
    return v.state === 'known' ? stringsOf(v.value) : v.state === 'absent' ? [] : ['(known after apply)'];
  };
  const b = beforeOf(rc) ? arnOf('before') : [];
  const a = action === 'delete' ? [] : arnOf('after');
  const side = action === 'delete' ? 'before' : 'after';
  const who = attribute(rc, side, target.attribute);
  const name = who.state === 'known' ? stringsOf(who.value).join(', ') : '(known after apply)';
  return managedReview(
    rc,
    action,
    ctx,
    `${target.type.slice('aws_iam_'.length)} ${name}`,
    a.filter((x) => !b.includes(x)),
    b.filter((x) => !a.includes(x)),
    targetStatus(rc, action, ctx, target),
  );
}

/** `aws_iam_policy_attachment`: one managed policy on lists of roles, users and groups. */
function exclusiveAttachmentReview(
  rc: PlanResourceChange,
  action: ReviewAction,
  ctx: ReviewContext,
): ManagedPolicyReview | null {
  const principals = (values: Record<string, unknown> | null): string[] =>
    values
      ? (['roles', 'users', 'groups'] as const).flatMap((k) =>
          stringsOf(values[k]).map((n) => `${k.slice(0, -1)} ${n}`),
        )
      : [];
  const b = principals(beforeOf(rc));
  const a = principals(afterOf(rc));
  const arn =
    knownString(rc, action === 'delete' ? 'before' : 'after', 'policy_arn') ?? '(known after apply)';
  const added = a.filter((x) => !b.includes(x));
  const removed = b.filter((x) => !a.includes(x));
  if (added.length === 0 && removed.length === 0) return null;
  const broad = BROAD_MANAGED_POLICY.test(arn) ? ' (broad: nearly every action)' : '';
  return {
    kind: 'managed-policies',
    address: rc.address,
    type: rc.type,
    action,
    constructPath: ctx.constructPath,
    widens: added.map((p) => `${p}: attaches managed policy ${arn}${broad}`),
    principal: `managed policy ${arn}`,
    added,
    removed,
  };
}

/** The names a tracked resource is known by, for `ReviewContext.created`/`destroyed`. */
export function trackedNames(rc: PlanResourceChange, side: 'before' | 'after'): string[] {
  const attrs = TRACKED_TYPES[rc.type];
  const values = side === 'before' ? beforeOf(rc) : afterOf(rc);
  if (!attrs || !isRecord(values)) return [];
  return attrs.flatMap((a) =>
    typeof values[a] === 'string' && values[a] !== '' ? [`${rc.type}:${values[a]}`] : [],
  );
}
