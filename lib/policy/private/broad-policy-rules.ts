/**
 * Invariant 26 of docs/security.md (added after the red-team review): no AdministratorAccess or
 * PowerUserAccess on any role, unless passed explicitly with a reason. Deploy roles carry permissions
 * derived from the stacks they apply (`SERVICES_STACK_PERMISSIONS`); a managed policy a team needs on
 * top is passed as `{ policyArn, reason }`, and the reason suppresses this rule on its attachment.
 */
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import { allAttachments } from './iam-documents';
import { render } from './terraform-json';

/** The AWS managed policies that grant (nearly) everything: `AdministratorAccess`, `PowerUserAccess`. */
export const BROAD_MANAGED_POLICY =
  /^arn:aws[a-z-]*:iam::aws:policy\/(?:AdministratorAccess|PowerUserAccess)$/;

const rule26 = defineRule({
  id: 'GANTRY-IAM-011',
  invariant: 26,
  title: 'No AdministratorAccess or PowerUserAccess attached, unless passed with a reason',
  publicChecks: ['CKV_AWS_274'],
  evaluate(view, report) {
    for (const { address, policyArn } of allAttachments(view)) {
      if (!BROAD_MANAGED_POLICY.test(policyArn)) continue;
      report(
        address,
        `attaches ${render(policyArn)}`,
        'permissions derived from what the role applies; a broad policy only with a reason ' +
          '(additionalApplyPolicies / additionalPolicies: [{ policyArn, reason }]), recorded as a GANTRY-IAM-011 suppression',
      );
    }
  },
});

export const BROAD_POLICY_RULES: readonly PolicyRule[] = [rule26];
