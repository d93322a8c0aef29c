/** The organisation: its short name and the GitHub repository whose workflows deploy. */
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import { SUBJECT_FORMATS, type SubjectFormat } from '../core/github';
import { githubRepositoryProblem } from '../core/identifiers';
import { stateBackendProblems, type S3StateBackendConfig } from './state';

export interface GithubRepositoryConfig {
  /** `owner/name` of the repository whose workflows deploy, e.g. `acme/platform`. */
  readonly repository: string;
  /** Numeric id of the owner (needed by the `id` subject format). @default none */
  readonly ownerId?: number;
  /** Numeric id of the repository (needed by the `id` subject format). @default none */
  readonly repositoryId?: number;
  /** The branch that plans run on and that dev deploys from. */
  readonly defaultBranch: string;
  /**
   * Subject format trusted by the plan and apply roles.
   * @default 'name'
   */
  readonly subjectFormat?: SubjectFormat;
  /**
   * Pins the reusable workflow that may assume apply roles (`job_workflow_ref`),
   * e.g. `acme/platform/.github/workflows/terraform-apply.yml@refs/heads/main`.
   * @default no pin
   */
  readonly applyWorkflowRef?: string;
  /**
   * The GitHub Environment only the default branch may use (the `github` stack creates it with that branch
   * policy): plans of the default branch and drift checks run bound to it, so their OIDC subject is
   * `environment:<name>` (what the plan roles trust) and the ledger URL and the GitHub token are its
   * environment secrets, out of reach of every other branch.
   * @default 'gantry'
   */
  readonly trustedEnvironment?: string;
  /**
   * The ruleset Gantry manages on the default branch, so that the deployment branch policies trusting it
   * mean reviewed code: no force push, no deletion, changes only through pull requests with these reviews
   * and checks.
   * @default 1 approving review, stale reviews dismissed, the last push approved, no required checks
   */
  readonly defaultBranchRuleset?: DefaultBranchRulesetConfig;
}

export interface DefaultBranchRulesetConfig {
  /** Approving reviews a pull request needs (1..10). @default 1 */
  readonly requiredApprovingReviews?: number;
  /** Status checks (job names) that must pass before merging. @default none */
  readonly requiredChecks?: readonly string[];
  /** Reviews by code owners are required. @default false */
  readonly requireCodeOwnerReview?: boolean;
}

export interface OrganizationConfig {
  /** Short lower-case name used in resource names and SSM prefixes (`/<org>/<env>/...`). */
  readonly name: string;
  readonly github: GithubRepositoryConfig;
  /** Backend of the `github` stack. @default local state */
  readonly githubStateBackend?: S3StateBackendConfig;
}

export const ORGANIZATION_NAME = /^[a-z][a-z0-9-]{0,20}$/;

export function validateOrganization(org: OrganizationConfig, problems: ProblemList): void {
  if (typeof org !== 'object' || org === null) {
    problems.add('organization', `${show(org)} is not an organization ({ name, github })`);
    return;
  }
  problems.check(
    typeof org.name === 'string' && ORGANIZATION_NAME.test(org.name),
    'organization.name',
    `${show(org.name)} must match ${ORGANIZATION_NAME}`,
  );
  const gh = org.github ?? ({} as GithubRepositoryConfig);
  problems.addIf('organization.github.repository', githubRepositoryProblem(gh.repository));
  problems.check(
    typeof gh.defaultBranch === 'string' && gh.defaultBranch.length > 0 && !/[*?\s:]/.test(gh.defaultBranch),
    'organization.github.defaultBranch',
    `${show(gh.defaultBranch)} must be a branch name without wildcards, spaces or ':'`,
  );
  for (const key of ['ownerId', 'repositoryId'] as const) {
    const value = gh[key];
    if (value !== undefined) {
      problems.check(
        Number.isSafeInteger(value) && value > 0,
        `organization.github.${key}`,
        `${show(value)} must be a positive integer`,
      );
    }
  }
  const format = gh.subjectFormat ?? 'name';
  if (
    problems.check(
      SUBJECT_FORMATS.includes(format),
      'organization.github.subjectFormat',
      `${show(format)} is not one of ${SUBJECT_FORMATS.map((f) => show(f)).join(', ')}`,
    ) &&
    format !== 'name'
  ) {
    problems.check(
      gh.ownerId !== undefined && gh.repositoryId !== undefined,
      'organization.github.subjectFormat',
      `${show(format)} needs organization.github.ownerId and organization.github.repositoryId`,
    );
  }
  if (gh.applyWorkflowRef !== undefined) {
    problems.check(
      typeof gh.applyWorkflowRef === 'string' &&
        /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+\/\.github\/workflows\/[A-Za-z0-9._/-]+\.ya?ml@refs\/(heads|tags)\/[^\s*?]+$/.test(
          gh.applyWorkflowRef,
        ),
      'organization.github.applyWorkflowRef',
      `${show(gh.applyWorkflowRef)} is not a workflow ref (owner/repo/.github/workflows/<file>.yml@refs/heads/<branch>)`,
    );
  }
  if (gh.trustedEnvironment !== undefined) {
    problems.check(
      typeof gh.trustedEnvironment === 'string' &&
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(gh.trustedEnvironment),
      'organization.github.trustedEnvironment',
      `${show(gh.trustedEnvironment)} is not a GitHub environment name (letters, digits, '.', '_', '-')`,
    );
  }
  const ruleset = gh.defaultBranchRuleset;
  if (ruleset !== undefined) {
    const reviews = ruleset.requiredApprovingReviews;
    if (reviews !== undefined) {
      problems.check(
        Number.isInteger(reviews) && reviews >= 1 && reviews <= 10,
        'organization.github.defaultBranchRuleset.requiredApprovingReviews',
        `${show(reviews)} must be an integer from 1 to 10 (0 would let unreviewed code reach the branch every deployment trusts)`,
      );
    }
    for (const check of ruleset.requiredChecks ?? []) {
      problems.check(
        typeof check === 'string' && check.trim() !== '' && !/[\r\n]/.test(check),
        'organization.github.defaultBranchRuleset.requiredChecks',
        `${show(check)} is not a check name`,
      );
    }
  }
  if (org.githubStateBackend !== undefined)
    problems.addAll('organization.githubStateBackend', stateBackendProblems(org.githubStateBackend));
}
