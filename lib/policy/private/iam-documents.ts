/**
 * IAM policy documents in a synthesized stack: where they live (identity, resource and trust
 * policies), how to read their statements, and which documents and managed policies a role has.
 */
import type { TrustRoleKind } from '../trust-policy';
import {
  blocks,
  isObject,
  stringList,
  type JsonObject,
  type ResourceEntry,
  type StackView,
} from './terraform-json';

/** Identity policies grant a principal; resource policies are attached to what they protect. */
export type DocumentKind = 'identity' | 'resource' | 'trust';

export interface PolicyDocumentRef {
  readonly entry: ResourceEntry;
  /** Where in the resource: `policy`, `inline_policy[0].policy`, `assume_role_policy`. */
  readonly attribute: string;
  readonly kind: DocumentKind;
  /** The attribute's value as synthesized (a JSON string when it is literal). */
  readonly value: unknown;
}

export interface Statement {
  readonly index: number;
  readonly effect: string;
  readonly actions: string[];
  /** Set when the statement uses `NotAction`. */
  readonly notActions?: string[];
  readonly resources: string[];
  readonly notResources?: string[];
  readonly principal: unknown;
  readonly notPrincipal: unknown;
  readonly condition: JsonObject;
}

/** Attribute holding a policy document, per resource type. */
const DOCUMENT_ATTRIBUTES: ReadonlyArray<readonly [string, string, DocumentKind]> = [
  ['aws_iam_policy', 'policy', 'identity'],
  ['aws_iam_role_policy', 'policy', 'identity'],
  ['aws_iam_user_policy', 'policy', 'identity'],
  ['aws_iam_group_policy', 'policy', 'identity'],
  ['aws_iam_role', 'assume_role_policy', 'trust'],
  ['aws_kms_key', 'policy', 'resource'],
  ['aws_kms_key_policy', 'policy', 'resource'],
  ['aws_ecr_repository_policy', 'policy', 'resource'],
  ['aws_ecr_registry_policy', 'policy', 'resource'],
  ['aws_s3_bucket_policy', 'policy', 'resource'],
  ['aws_secretsmanager_secret', 'policy', 'resource'],
  ['aws_secretsmanager_secret_policy', 'policy', 'resource'],
  ['aws_cloudwatch_log_resource_policy', 'policy_document', 'resource'],
  ['aws_sns_topic_policy', 'policy', 'resource'],
  ['aws_sqs_queue_policy', 'policy', 'resource'],
  ['aws_codebuild_resource_policy', 'policy', 'resource'],
];

/** Resource types whose `policy` is a KMS key policy (there `Resource: "*"` means the key itself). */
export const KEY_POLICY_TYPES: ReadonlySet<string> = new Set(['aws_kms_key', 'aws_kms_key_policy']);

/** Every policy document of the stack (literal or not), in resource order. */
export function policyDocuments(view: StackView): PolicyDocumentRef[] {
  const memo = view.memo.get('policyDocuments') as PolicyDocumentRef[] | undefined;
  if (memo) return memo;
  const docs: PolicyDocumentRef[] = [];
  for (const entry of view.resources()) {
    for (const [type, attribute, kind] of DOCUMENT_ATTRIBUTES) {
      if (entry.type === type && entry.body[attribute] !== undefined) {
        docs.push({ entry, attribute, kind, value: entry.body[attribute] });
      }
    }
    if (entry.type === 'aws_iam_role') {
      blocks(entry.body.inline_policy).forEach((inline, i) => {
        if (inline.policy !== undefined) {
          docs.push({
            entry,
            attribute: `inline_policy[${i}].policy`,
            kind: 'identity',
            value: inline.policy,
          });
        }
      });
    }
  }
  view.memo.set('policyDocuments', docs);
  return docs;
}

/** The JSON value of a literal document, or undefined when it is not a JSON string. */
export function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** The statements of a document (a JSON string or an object); empty when unreadable. */
export function statements(document: unknown): Statement[] {
  const doc = typeof document === 'string' ? parseJson(document) : document;
  if (!isObject(doc)) return [];
  const raw = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return raw.filter(isObject).map((s, index) => ({
    index,
    effect: typeof s.Effect === 'string' ? s.Effect : '',
    actions: stringList(s.Action),
    ...(s.NotAction !== undefined ? { notActions: stringList(s.NotAction) } : {}),
    resources: stringList(s.Resource),
    ...(s.NotResource !== undefined ? { notResources: stringList(s.NotResource) } : {}),
    principal: s.Principal,
    notPrincipal: s.NotPrincipal,
    condition: isObject(s.Condition) ? s.Condition : {},
  }));
}

/** IAM wildcard match (`*` any run, `?` one character), case-insensitive as action names are. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = true): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, caseInsensitive ? 'is' : 's').test(value);
}

/** Whether a statement's action pattern grants `action` (e.g. `iam:*` grants `iam:PassRole`). */
export function grants(statement: Statement, action: string): boolean {
  if (statement.notActions) return !statement.notActions.some((p) => wildcardMatch(p, action));
  return statement.actions.some((p) => wildcardMatch(p, action));
}

/** `*`, `{ "AWS": "*" }`, or a principal list containing `*`: everyone. */
export function isWildcardPrincipal(principal: unknown): boolean {
  if (principal === '*') return true;
  if (!isObject(principal)) return false;
  return Object.values(principal).some((v) => stringList(v).includes('*'));
}

/** The AWS principals of a statement (`Principal.AWS`), as strings. */
export function awsPrincipals(principal: unknown): string[] {
  if (principal === '*') return ['*'];
  return isObject(principal) ? stringList(principal.AWS) : [];
}

/** Condition keys of a statement, lower-cased, with their operator. */
export function conditionEntries(
  statement: Statement,
): Array<{ operator: string; key: string; values: string[] }> {
  return Object.entries(statement.condition).flatMap(([operator, byKey]) =>
    isObject(byKey)
      ? Object.entries(byKey).map(([key, values]) => ({
          operator,
          key: key.toLowerCase(),
          values: stringList(values),
        }))
      : [],
  );
}

/**
 * The identity documents that apply to a role: its `inline_policy` blocks, `aws_iam_role_policy`
 * resources naming it, and Gantry-created `aws_iam_policy` documents attached to it.
 */
export function roleDocuments(view: StackView, role: ResourceEntry): PolicyDocumentRef[] {
  const docs = policyDocuments(view);
  const mine = docs.filter((d) => d.entry === role && d.kind === 'identity');
  for (const d of docs) {
    if (
      d.entry.type === 'aws_iam_role_policy' &&
      view.referenced(d.entry.body.role, 'aws_iam_role', 'name') === role
    ) {
      mine.push(d);
    }
  }
  for (const { policyArn } of attachedPolicies(view, role)) {
    const policy = view.referenced(policyArn, 'aws_iam_policy', 'arn');
    if (policy) mine.push(...docs.filter((d) => d.entry === policy));
  }
  return mine;
}

/** Managed policy ARNs attached to a role, with the address that attaches each. */
export function attachedPolicies(
  view: StackView,
  role: ResourceEntry,
): Array<{ address: string; policyArn: string }> {
  const attached: Array<{ address: string; policyArn: string }> = [];
  for (const arn of stringList(role.body.managed_policy_arns))
    attached.push({ address: role.address, policyArn: arn });
  for (const e of view.resources('aws_iam_role_policy_attachment')) {
    if (
      view.referenced(e.body.role, 'aws_iam_role', 'name') === role &&
      typeof e.body.policy_arn === 'string'
    ) {
      attached.push({ address: e.address, policyArn: e.body.policy_arn });
    }
  }
  for (const e of view.resources('aws_iam_role_policy_attachments_exclusive')) {
    if (view.referenced(e.body.role_name, 'aws_iam_role', 'name') === role) {
      for (const arn of stringList(e.body.policy_arns)) attached.push({ address: e.address, policyArn: arn });
    }
  }
  for (const e of view.resources('aws_iam_policy_attachment')) {
    if (stringList(e.body.roles).some((r) => view.referenced(r, 'aws_iam_role', 'name') === role)) {
      if (typeof e.body.policy_arn === 'string')
        attached.push({ address: e.address, policyArn: e.body.policy_arn });
    }
  }
  return attached;
}

/** Every managed-policy attachment in the stack, to any principal. */
export function allAttachments(view: StackView): Array<{ address: string; policyArn: string }> {
  const attached: Array<{ address: string; policyArn: string }> = [];
  for (const e of view.resources(
    'aws_iam_role_policy_attachment',
    'aws_iam_user_policy_attachment',
    'aws_iam_group_policy_attachment',
    'aws_iam_policy_attachment',
  )) {
    if (typeof e.body.policy_arn === 'string')
      attached.push({ address: e.address, policyArn: e.body.policy_arn });
  }
  for (const e of view.resources('aws_iam_role')) {
    for (const arn of stringList(e.body.managed_policy_arns))
      attached.push({ address: e.address, policyArn: arn });
  }
  for (const e of view.resources('aws_iam_role_policy_attachments_exclusive')) {
    for (const arn of stringList(e.body.policy_arns)) attached.push({ address: e.address, policyArn: arn });
  }
  return attached;
}

/**
 * Which trust rules apply to a role: its `gantry:role` tag (`plan`, `apply`, `publish`, `publish-branch`), or its
 * name when it follows Gantry's naming (`<org>-<env>-gh-apply`, `<org>-<env>-gh-plan`,
 * `<org>-<env>-gh-publish[-<source>]`). When the two disagree the stricter wins, so removing or changing the tag
 * with an override cannot relax the checks: `publish-branch` needs its tag (`<org>-<env>-gh-publish-main`
 * without it is checked as a tag publish role, which refuses its branch subject).
 */
export function roleKind(role: ResourceEntry): TrustRoleKind {
  const tags = isObject(role.body.tags) ? role.body.tags : {};
  const tag = tags['gantry:role'];
  const name = typeof role.body.name === 'string' ? role.body.name : '';
  if (tag === 'apply' || /-gh-apply$/.test(name)) return 'apply';
  const publishName = /-gh-publish(-[a-z0-9-]+)?$/.test(name);
  // A branch publish role needs its tag; with a publish name other than `-gh-publish-main`, or without the
  // tag, the tag-only publish rules hold.
  if (tag === 'publish-branch' && (!publishName || /-gh-publish-main$/.test(name))) return 'publish-branch';
  if (tag === 'publish' || publishName) return 'publish';
  if (tag === 'plan' || /-gh-plan$/.test(name)) return 'plan';
  return 'other';
}
