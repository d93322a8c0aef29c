/**
 * GitHub concepts more than one domain needs (identity trusts them, `github` creates them, the
 * configuration names them), with the one set of checks each gets.
 */
import { FieldProblems, show, type FieldProblem } from './errors';

/** How the `sub` claim of a GitHub OIDC token is matched by the AWS trust policies. */
export type SubjectFormat =
  /** `repo:acme/platform:environment:prod` (GitHub's default). */
  | 'name'
  /** `repo:acme@1000001/platform@2000002:environment:prod`: immune to a rename-and-recreate takeover. */
  | 'id'
  /** Both forms, for one migration period from `name` to `id`. */
  | 'name-and-id';

export const SUBJECT_FORMATS: readonly SubjectFormat[] = ['name', 'id', 'name-and-id'];

/** One group of reviewers: teams by slug and users by login, or numeric ids. */
export interface ReviewerGroup {
  /** Team slugs in the repository's organisation. @default none */
  readonly teams?: readonly string[];
  /** User logins. @default none */
  readonly users?: readonly string[];
  /** Team ids, when the slug is not to be resolved. @default none */
  readonly teamIds?: readonly number[];
  /** User ids, when the login is not to be resolved. @default none */
  readonly userIds?: readonly number[];
}

/**
 * Which refs may deploy to an environment (its deployment branch policy). Exactly one form: the
 * repository's protected branches, or named branch and tag patterns.
 */
export type DeploymentBranchesConfig =
  | { readonly protectedBranches: true }
  | { readonly branches?: readonly string[]; readonly tags?: readonly string[] };

/** GitHub allows at most 6 reviewers (users and teams together) per environment. */
export const MAX_REVIEWERS = 6;

/** Every member of a reviewer group, as `team sre`, `user alice`, `team id 7`, `user id 9`. */
export function reviewerMembers(group: ReviewerGroup): string[] {
  return [
    ...(group.teams ?? []).map((t) => `team ${t}`),
    ...(group.users ?? []).map((u) => `user ${u}`),
    ...(group.teamIds ?? []).map((t) => `team id ${t}`),
    ...(group.userIds ?? []).map((u) => `user id ${u}`),
  ];
}

/** Problems of one reviewer group: at most six reviewers, none twice, slugs and ids well formed. */
export function reviewerGroupProblems(group: ReviewerGroup): FieldProblem[] {
  const problems = new FieldProblems();
  const count = reviewerMembers(group).length;
  problems.check(
    count <= MAX_REVIEWERS,
    '',
    `${count} reviewers given, GitHub allows at most ${MAX_REVIEWERS}`,
  );
  const names = [...(group.teams ?? []), ...(group.users ?? [])];
  problems.check(
    new Set(names.map((n) => String(n).toLowerCase())).size === names.length,
    '',
    `${show(names)} lists a reviewer twice`,
  );
  for (const slug of names) {
    problems.check(
      typeof slug === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(slug),
      '',
      `${show(slug)} is not a team slug or user login`,
    );
  }
  for (const id of [...(group.teamIds ?? []), ...(group.userIds ?? [])]) {
    problems.check(Number.isSafeInteger(id) && id > 0, '', `${show(id)} is not a GitHub id`);
  }
  return problems.list;
}

/**
 * Problems of a deployment branch policy: it must exist and name at least one ref, no pattern may match
 * every ref, and the two forms do not mix. A job bound to an environment carries no branch in its OIDC
 * subject, so this policy is the branch gate of every role that trusts the environment.
 */
export function deploymentBranchesProblems(branches: DeploymentBranchesConfig | undefined): FieldProblem[] {
  const problems = new FieldProblems();
  const b = branches as
    { protectedBranches?: unknown; branches?: readonly string[]; tags?: readonly string[] } | undefined;
  if (b === undefined || b === null || typeof b !== 'object') {
    problems.add(
      '',
      'no deployment branch policy given; name the branches or tags that may deploy (e.g. { branches: ["main"] }) or use { protectedBranches: true }: ' +
        'a job bound to an environment carries no branch in its OIDC subject, so without a policy any branch could deploy',
    );
    return problems.list;
  }
  if ('protectedBranches' in b) {
    problems.check(
      b.protectedBranches === true,
      'protectedBranches',
      `${show(b.protectedBranches)} must be true`,
    );
    if (b.branches || b.tags)
      problems.add('', 'give either protectedBranches or branch/tag patterns, not both');
    return problems.list;
  }
  const refs = [...(b.branches ?? []), ...(b.tags ?? [])];
  problems.check(
    refs.length > 0,
    '',
    'no branch or tag pattern given; name at least one (e.g. branches: ["main"]) or use { protectedBranches: true }: ' +
      'without one any branch could deploy',
  );
  for (const ref of refs) {
    problems.check(
      typeof ref === 'string' && ref.trim() !== '' && !/^\*+$/.test(ref.trim()),
      '',
      `${show(ref)} matches every ref; name the branches or tags`,
    );
  }
  return problems.list;
}
