/**
 * Gantry's security rules: one per invariant of docs/security.md, in its order, then Gantry's own
 * load-balancer rules (not numbered by docs/security.md). Each names the public checks (Checkov,
 * Trivy/Aqua) it corresponds to and checks a stack's final Terraform JSON.
 */
import { BOOTSTRAP_RULES } from './private/bootstrap-rules';
import { BROAD_POLICY_RULES } from './private/broad-policy-rules';
import { IAM_RULES } from './private/iam-rules';
import { PUBLISH_RULES } from './private/publish-rules';
import { PULL_REQUEST_RULES } from './private/pull-request-rules';
import { LOAD_BALANCER_RULES, RESOURCE_RULES } from './private/resource-rules';
import { TERRAFORM_RULES } from './private/terraform-rules';
import type { PolicyRule } from './types';

export { BROAD_MANAGED_POLICY } from './private/broad-policy-rules';
export { TAG_ON_CREATE_ACTIONS, UNSCOPABLE_ACTIONS } from './private/iam-rules';
export { looksLikeSecretName, TLS12_SECURITY_POLICY } from './private/resource-rules';
export { IMAGE_TAG_INTERPOLATION } from './private/terraform-rules';

/**
 * Every rule: ordered by invariant (1..23, then those added after the red-team review: 24..26, then
 * the bootstrap stack's: 32..33), then the load-balancer rules (GANTRY-ELB-001, -002), then the
 * publish roles' (GANTRY-IAM-014).
 */
export const POLICY_RULES: readonly PolicyRule[] = [
  ...IAM_RULES,
  ...RESOURCE_RULES,
  ...TERRAFORM_RULES,
  ...PULL_REQUEST_RULES,
  ...BROAD_POLICY_RULES,
  ...BOOTSTRAP_RULES,
  ...LOAD_BALANCER_RULES,
  ...PUBLISH_RULES,
];

/** The rule with this id, or undefined. */
export function findRule(id: string): PolicyRule | undefined {
  return POLICY_RULES.find((r) => r.id === id);
}
