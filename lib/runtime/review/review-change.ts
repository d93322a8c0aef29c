/**
 * Which resource types get a semantic review, and the one entry point the plan summary calls for
 * each of their changes. Only these types are looked at beyond their address and action, so a
 * large plan pays for reviews in proportion to its IAM, container and network resources.
 */
import type { PlanResourceChange } from '../plan-summary';
import { CONTAINER_TYPES, reviewContainers } from './containers';
import { IAM_TYPES, reviewIam, type ReviewContext } from './iam';
import type { Review } from './model';
import { LISTENER_TYPES, reviewListener, reviewSecurityGroup, SECURITY_GROUP_TYPES } from './network';
import type { ReviewAction } from './values';

export type { ReviewContext } from './iam';

export const REVIEWED_TYPES: ReadonlySet<string> = new Set([
  ...IAM_TYPES,
  ...CONTAINER_TYPES,
  ...SECURITY_GROUP_TYPES,
  ...LISTENER_TYPES,
]);

/** The reviews of one change of a reviewed type. */
export function reviewChange(rc: PlanResourceChange, action: ReviewAction, ctx: ReviewContext): Review[] {
  const reviews: Review[] = [];
  if (IAM_TYPES.has(rc.type)) reviews.push(...reviewIam(rc, action, ctx));
  const semantic = CONTAINER_TYPES.has(rc.type)
    ? reviewContainers(rc, action, ctx.constructPath)
    : SECURITY_GROUP_TYPES.has(rc.type)
      ? reviewSecurityGroup(rc, action, ctx.constructPath)
      : LISTENER_TYPES.has(rc.type)
        ? reviewListener(rc, action, ctx.constructPath)
        : null;
  if (semantic) reviews.push(semantic);
  return reviews;
}

/** The attributes a review shows better than their raw (truncated, redacted) JSON. */
export function coveredAttributes(review: Review): string[] {
  // A side the review cannot show stays in the attribute changes (redacted as ever).
  const readable = (state: string) => state === 'known' || state === 'absent';
  if (
    (review.kind === 'policy' || review.kind === 'containers') &&
    !(readable(review.before) && readable(review.after))
  )
    return [];
  switch (review.kind) {
    case 'policy':
      return [review.attribute.startsWith('inline_policy') ? 'inline_policy' : review.attribute];
    case 'managed-policies':
      return ['managed_policy_arns'];
    case 'containers':
      return ['container_definitions'];
    case 'security-group-rules':
      return review.type === 'aws_security_group' ? ['ingress', 'egress'] : [];
    case 'listener-rule':
      return ['action', 'condition', 'default_action'];
  }
}

/** A review that cannot show its document: known only after apply, sensitive, or not JSON. */
export function hiddenSide(review: Review): string | undefined {
  if (review.kind !== 'policy' && review.kind !== 'containers') return undefined;
  if (review.action === 'delete') return undefined;
  const why = (state: string) =>
    state === 'unknown'
      ? 'known only after apply'
      : state === 'sensitive'
        ? 'marked sensitive in the plan, not shown'
        : state === 'unreadable'
          ? 'not readable as JSON'
          : undefined;
  const after = why(review.after);
  if (after) return `the planned value is ${after}`;
  const before = review.action === 'create' ? undefined : why(review.before);
  return before ? `the prior value is ${before}` : undefined;
}
