/** Who must approve a deployment to an environment, and which refs may deploy to it. */
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import {
  deploymentBranchesProblems,
  MAX_REVIEWERS,
  reviewerGroupProblems,
  reviewerMembers,
  type DeploymentBranchesConfig,
  type ReviewerGroup,
} from '../core/github';

export interface ApprovalConfig {
  /**
   * Distinct people, besides the one who triggers the deployment, who must approve it.
   * 0: no review; 1: the reviewers of `reviewerGroups[0]`; N >= 2: a chain of N gate environments,
   * one per reviewer group, then the environment itself.
   */
  readonly requiredApprovals: number;
  /** One disjoint group per required approval. @default none */
  readonly reviewerGroups?: readonly ReviewerGroup[];
  /** Wait before the job starts, in minutes (GitHub allows 0..43200). @default 0 */
  readonly waitTimerMinutes?: number;
  /**
   * A production environment with no required approval is rejected unless this states why.
   * @default none
   */
  readonly optOut?: { readonly reason: string };
  /**
   * Plan this environment from pull requests although it requires an approval, for this reason (10+
   * characters), recorded as a `GANTRY-IAM-013` suppression. Without it, an environment that requires an
   * approval is planned only from the default branch: pull-request code never runs with its plan role.
   * Environments that require no approval are planned from pull requests anyway.
   * @default off for environments that require an approval
   */
  readonly pullRequestPlans?: { readonly reason: string };
}

/** Whether pull requests plan this environment: no approval required, or an opt-in with a reason. */
export function plansPullRequests(approval: ApprovalConfig): boolean {
  return approval.requiredApprovals === 0 || approval.pullRequestPlans !== undefined;
}

export { MAX_REVIEWERS };
export const MAX_REQUIRED_APPROVALS = 6;
export const MAX_WAIT_TIMER_MINUTES = 43200;

/** The parts of an environment the approval rules read. */
interface Approved {
  readonly name: string;
  readonly production?: boolean;
  readonly approval: ApprovalConfig;
  readonly deploymentBranches?: DeploymentBranchesConfig;
}

export function validateApproval(env: Approved, problems: ProblemList): void {
  const at = (field: string) => `${env.name}.approval.${field}`;
  const approval = env.approval;
  if (typeof approval !== 'object' || approval === null) {
    problems.add(
      `${env.name}.approval`,
      `${show(approval)} is not an approval rule ({ requiredApprovals, reviewerGroups })`,
    );
    return;
  }
  const required = approval.requiredApprovals;
  if (
    !problems.check(
      Number.isInteger(required) && required >= 0 && required <= MAX_REQUIRED_APPROVALS,
      at('requiredApprovals'),
      `${show(required)} must be an integer from 0 to ${MAX_REQUIRED_APPROVALS}`,
    )
  ) {
    return;
  }
  const groups = approval.reviewerGroups ?? [];
  if (env.production && required === 0) {
    const reason = approval.optOut?.reason?.trim() ?? '';
    problems.check(
      reason.length >= 10,
      at('requiredApprovals'),
      `0 for production environment ${show(env.name)}; require at least 1 approval, or set approval.optOut.reason (10+ characters) to say why not`,
    );
  }
  if (required > 0) {
    problems.check(
      groups.length >= required,
      at('reviewerGroups'),
      `${groups.length} group(s) given for ${required} required approval(s); give one disjoint reviewer group per approval`,
    );
  }
  // Each group gates one environment of the chain (`environmentChain`): a group more would gate none.
  if (required === 0) {
    problems.check(
      groups.length === 0,
      at('reviewerGroups'),
      `${groups.length} group(s) given but no approval is required; remove them or raise requiredApprovals`,
    );
  } else {
    problems.check(
      groups.length <= required,
      at('reviewerGroups'),
      `${groups.length} group(s) given for ${required} required approval(s); each group gates one environment of the chain, give exactly one per approval`,
    );
  }
  groups.forEach((group, g) => {
    problems.addAll(at(`reviewerGroups[${g}]`), reviewerGroupProblems(group));
    problems.check(
      reviewerMembers(group).length >= 1,
      at(`reviewerGroups[${g}]`),
      'empty reviewer group, give at least one team or user',
    );
  });
  // In a chain of gates, each gate must be approved by someone else: overlapping groups would let one
  // person approve twice.
  const owner = new Map<string, number>();
  groups.forEach((group, g) => {
    for (const member of reviewerMembers(group)) {
      const first = owner.get(member.toLowerCase());
      if (first !== undefined && first !== g) {
        problems.add(
          at(`reviewerGroups[${g}]`),
          `${member} is also in reviewerGroups[${first}]; reviewer groups of a chain must be disjoint`,
        );
      }
      owner.set(member.toLowerCase(), g);
    }
  });
  if (approval.pullRequestPlans !== undefined) {
    problems.check(
      (approval.pullRequestPlans?.reason ?? '').trim().length >= 10,
      at('pullRequestPlans.reason'),
      'pull-request plans of an environment that requires an approval need a reason of 10+ characters; pull-request code runs with its plan role',
    );
    problems.check(
      required > 0,
      at('pullRequestPlans'),
      `${env.name} requires no approval, so its pull requests are planned anyway; remove pullRequestPlans`,
    );
  }
  const wait = approval.waitTimerMinutes;
  if (wait !== undefined) {
    problems.check(
      Number.isInteger(wait) && wait >= 0 && wait <= MAX_WAIT_TIMER_MINUTES,
      at('waitTimerMinutes'),
      `${show(wait)} must be an integer from 0 to ${MAX_WAIT_TIMER_MINUTES}`,
    );
  }
  if (env.deploymentBranches !== undefined)
    problems.addAll(`${env.name}.deploymentBranches`, deploymentBranchesProblems(env.deploymentBranches));
}
