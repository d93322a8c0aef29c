import { RepositoryRuleset } from '@cdktf/provider-github/lib/repository-ruleset';
import { Construct } from 'constructs';
import { FieldProblems, show, throwProblems } from '../core/errors';

export interface DefaultBranchRulesetProps {
  /** The repository's name (without owner; the GitHub provider's `owner` names the owner). */
  readonly repository: string;
  /** Approving reviews a pull request needs (1..10). @default 1 */
  readonly requiredApprovingReviews?: number;
  /** Status checks (job names) that must pass before a merge. @default none */
  readonly requiredChecks?: readonly string[];
  /** Code owners must review. @default false */
  readonly requireCodeOwnerReview?: boolean;
  /** @default 'gantry-default-branch' */
  readonly name?: string;
}

/**
 * The ruleset that makes the default branch mean reviewed code, so every deployment branch policy and
 * plan role that trusts it trusts reviewed code: no deletion, no force push, changes only through pull
 * requests with the given approving reviews (stale ones dismissed on push, the last push approved by
 * someone else), the required checks passing on the up-to-date branch; enforced, with no bypass.
 */
export class DefaultBranchRuleset extends Construct {
  public readonly ruleset: RepositoryRuleset;

  constructor(scope: Construct, id: string, props: DefaultBranchRulesetProps) {
    super(scope, id);
    const problems = new FieldProblems();
    problems.check(
      /^[A-Za-z0-9._-]{1,100}$/.test(props.repository),
      'repository',
      `${show(props.repository)} must be the repository's name only (the provider's owner names the owner)`,
    );
    const reviews = props.requiredApprovingReviews ?? 1;
    problems.check(
      Number.isInteger(reviews) && reviews >= 1 && reviews <= 10,
      'requiredApprovingReviews',
      `${show(reviews)} must be an integer from 1 to 10`,
    );
    const checks = [...new Set(props.requiredChecks ?? [])];
    for (const check of checks) {
      problems.check(
        typeof check === 'string' && check.trim() !== '' && !/[\r\n]/.test(check),
        'requiredChecks',
        `${show(check)} is not a check name`,
      );
    }
    throwProblems(this.node.path, problems.list);
    this.ruleset = new RepositoryRuleset(this, 'ruleset', {
      repository: props.repository,
      name: props.name ?? 'gantry-default-branch',
      target: 'branch',
      enforcement: 'active',
      conditions: { refName: { include: ['~DEFAULT_BRANCH'], exclude: [] } },
      rules: {
        deletion: true,
        nonFastForward: true,
        pullRequest: {
          requiredApprovingReviewCount: reviews,
          dismissStaleReviewsOnPush: true,
          requireLastPushApproval: true,
          requireCodeOwnerReview: props.requireCodeOwnerReview ?? false,
          requiredReviewThreadResolution: false,
        },
        ...(checks.length > 0
          ? {
              requiredStatusChecks: {
                strictRequiredStatusChecksPolicy: true,
                requiredCheck: checks.map((context) => ({ context })),
              },
            }
          : {}),
      },
    });
  }
}
