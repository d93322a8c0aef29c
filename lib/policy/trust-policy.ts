/**
 * The trust-policy checker: a pure function of a role's trust policy (its JSON) that reports every
 * breach of docs/security.md invariants 1-6. Gantry runs it at synth on every role it creates; the policy
 * rules GANTRY-IAM-001..006 run it over the synthesized JSON of every stack; users may call it on
 * their own roles.
 */
import {
  conditionEntries,
  githubKey,
  isGithubFederated,
  parsePolicy,
  principalWildcard,
  subjectOwnerRepo,
  type TrustStatement,
} from './private/trust-policy-parts';

/** A breach of one trust invariant (docs/security.md, "Trust"), with the statement it was found in. */
export interface TrustPolicyFinding {
  /** The docs/security.md invariant broken: 1 sub condition, 2 aud, 3 wildcards, 4 apply-role subject and session, 5 one statement per intent, 6 open principal. */
  readonly invariant: 1 | 2 | 3 | 4 | 5 | 6;
  /** Index of the offending statement in `Statement`, when one is to blame. */
  readonly statementIndex?: number;
  /** What is wrong and what is allowed, naming the role (when given) and the statement. */
  readonly message: string;
}

export interface TrustPolicyCheckOptions {
  /**
   * `apply` roles must trust one exact `environment:<name>` subject and never `pull_request`; `publish`
   * roles only tags (`ref:refs/tags/<pattern>`) of exactly one repository; `publish-branch` roles only one
   * branch (`ref:refs/heads/<branch>`, StringEquals, no wildcard) of exactly one repository.
   */
  readonly roleKind: TrustRoleKind;
  /** Named in every message. @default messages name only the statement */
  readonly roleName?: string;
  /** The role's `max_session_duration`, checked against 3600 s for apply roles. @default not checked */
  readonly maxSessionDurationSeconds?: number;
  /** For apply roles: the one environment the subject must name. @default any single environment */
  readonly environment?: string;
  /** For publish-branch roles: the one branch the subject must name. @default any single branch */
  readonly branch?: string;
}

/** The kinds of role the trust checker knows: each kind adds its rules for invariant 4. */
export type TrustRoleKind = 'plan' | 'apply' | 'publish' | 'publish-branch' | 'other';

/** The audience GitHub's OIDC tokens must carry for AWS. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The longest session an apply role may grant, in seconds. */
export const MAX_APPLY_SESSION_SECONDS = 3600;

/**
 * Checks a trust policy (an object or its JSON text) against docs/security.md invariants 1-6 and returns
 * every finding (empty when the policy holds them all). A document that is not literal JSON fails
 * closed with a finding.
 */
export function checkTrustPolicy(document: unknown, options: TrustPolicyCheckOptions): TrustPolicyFinding[] {
  const findings: TrustPolicyFinding[] = [];
  const role = options.roleName ? `role ${JSON.stringify(options.roleName)}` : 'trust policy';
  const parsed = parsePolicy(document);
  if (typeof parsed === 'string') {
    return [{ invariant: 1, message: `${role}: ${parsed}` }];
  }

  const add = (
    invariant: TrustPolicyFinding['invariant'],
    statement: TrustStatement | undefined,
    text: string,
  ) => {
    const where = statement
      ? `statement ${statement.index}${statement.sid ? ` (Sid ${JSON.stringify(statement.sid)})` : ''}`
      : undefined;
    findings.push({
      invariant,
      ...(statement ? { statementIndex: statement.index } : {}),
      message: `${role}${where ? `, ${where}` : ''}: ${text}`,
    });
  };

  const githubAllows: TrustStatement[] = [];
  for (const statement of parsed) {
    if (statement.effect !== 'Allow') continue;
    const open = principalWildcard(statement);
    if (open)
      add(
        6,
        statement,
        `${open}; name the exact principal (an account, a role, a service or the GitHub OIDC provider)`,
      );
    if (!isGithubFederated(statement)) continue;
    githubAllows.push(statement);
    checkGithubStatement(statement, options, add);
  }

  // Invariant 5: one Allow statement per trust intent. A role carries one GitHub intent; a second
  // GitHub statement widens the first (statements OR together), whatever it says.
  githubAllows
    .slice(1)
    .forEach((statement) =>
      add(
        5,
        statement,
        `a second Allow statement for the GitHub OIDC provider (the first is statement ${githubAllows[0].index}); ` +
          'statements OR together, so it can only widen the trust: put every subject of this intent in one statement',
      ),
    );

  if (
    (options.roleKind === 'apply' ||
      options.roleKind === 'publish' ||
      options.roleKind === 'publish-branch') &&
    options.maxSessionDurationSeconds !== undefined
  ) {
    if (options.maxSessionDurationSeconds > MAX_APPLY_SESSION_SECONDS) {
      add(
        4,
        undefined,
        `max session duration ${options.maxSessionDurationSeconds} s, ${options.roleKind} roles allow at most ${MAX_APPLY_SESSION_SECONDS} s`,
      );
    }
  }
  return findings;
}

type Add = (
  invariant: TrustPolicyFinding['invariant'],
  statement: TrustStatement | undefined,
  text: string,
) => void;

function checkGithubStatement(statement: TrustStatement, options: TrustPolicyCheckOptions, add: Add): void {
  const entries = conditionEntries(statement);
  const subs = entries.filter((e) => githubKey(e.key) === 'sub');
  const workflowRefs = entries.filter((e) => githubKey(e.key) === 'job_workflow_ref');
  const auds = entries.filter((e) => githubKey(e.key) === 'aud');

  // Invariant 1: a subject (or workflow) condition, StringEquals/StringLike only, no set operators.
  if (subs.length + workflowRefs.length === 0) {
    add(
      1,
      statement,
      'no "sub" (or "job_workflow_ref") condition: every workflow of every repository on GitHub could assume the role',
    );
  }
  for (const entry of entries) {
    if (entry.setPrefix) {
      add(
        1,
        statement,
        `"${entry.operator}" on "${entry.key}": set operators match a single-valued claim loosely (ForAllValues holds when the claim is missing); use StringEquals or StringLike`,
      );
    }
  }
  for (const entry of [...subs, ...workflowRefs]) {
    if (!entry.setPrefix && entry.operator !== 'StringEquals' && entry.operator !== 'StringLike') {
      add(
        1,
        statement,
        `"${entry.key}" is matched with "${entry.operator}"; only StringEquals or StringLike are allowed`,
      );
    }
  }

  // Invariant 2: aud is StringEquals sts.amazonaws.com, and nothing else.
  if (auds.length === 0) {
    add(2, statement, `no "aud" condition; require StringEquals "${GITHUB_OIDC_AUDIENCE}"`);
  }
  for (const entry of auds) {
    if (entry.operator !== 'StringEquals' || entry.values.some((v) => v !== GITHUB_OIDC_AUDIENCE)) {
      add(
        2,
        statement,
        `"${entry.key}" is ${entry.operator} ${JSON.stringify(entry.values)}; it must be StringEquals "${GITHUB_OIDC_AUDIENCE}" only`,
      );
    }
  }

  // Invariant 3: no wildcard in owner/repository, no bare wildcard anywhere.
  for (const entry of entries) {
    for (const value of entry.values) {
      if (/^[*?]+$/.test(value)) {
        add(
          3,
          statement,
          `"${entry.key}" lists the bare wildcard ${JSON.stringify(value)}, which matches every token`,
        );
        continue;
      }
      const kind = githubKey(entry.key);
      if (kind !== 'sub' && kind !== 'job_workflow_ref') continue;
      const ownerRepo = subjectOwnerRepo(kind, value);
      if (ownerRepo === undefined) {
        add(3, statement, `"${entry.key}" value ${JSON.stringify(value)} does not name an owner/repository`);
      } else if (/[*?]/.test(ownerRepo)) {
        add(
          3,
          statement,
          `"${entry.key}" value ${JSON.stringify(value)} has a wildcard in the owner or repository ("${ownerRepo}"); name exactly one repository`,
        );
      }
    }
  }

  if (options.roleKind === 'publish') checkPublishSubjects(statement, subs, add);
  if (options.roleKind === 'publish-branch') checkBranchPublishSubjects(statement, subs, options, add);

  // Invariant 4: apply roles trust exactly environment:<name>, never pull_request.
  if (options.roleKind === 'apply') {
    if (subs.length === 0)
      add(4, statement, 'an apply role needs a "sub" condition naming exactly one environment');
    for (const entry of subs) {
      for (const value of entry.values) {
        const context = /^repo:[^:]+:(.*)$/.exec(value)?.[1] ?? '';
        const env = /^environment:([^*?]+)$/.exec(context)?.[1];
        if (/(^|:)pull_request$/.test(value) || context.startsWith('pull_request')) {
          add(4, statement, `subject ${JSON.stringify(value)} trusts pull_request; an apply role must never`);
        } else if (env === undefined || entry.operator !== 'StringEquals') {
          add(
            4,
            statement,
            `subject ${JSON.stringify(value)} (${entry.operator}) is not an exact "environment:<name>"; apply roles trust one environment, with StringEquals`,
          );
        } else if (options.environment !== undefined && env !== options.environment) {
          add(
            4,
            statement,
            `subject ${JSON.stringify(value)} names environment "${env}", expected "${options.environment}"`,
          );
        }
      }
    }
  }
}

/** A publish role's subject: `repo:<owner>/<repo>:ref:refs/tags/<pattern>`, a wildcard only in the tag. */
const TAG_SUBJECT = /^repo:([^:*?]+):ref:refs\/tags\/[^:]+$/;

/**
 * Invariant 4 for publish roles: every subject is a tag of one repository (never a branch, a pull request
 * or an environment), the name and immutable-id forms counting as one repository.
 */
function checkPublishSubjects(
  statement: TrustStatement,
  subs: ReturnType<typeof conditionEntries>,
  add: Add,
): void {
  if (subs.length === 0)
    add(4, statement, 'a publish role needs a "sub" condition naming tags of one repository');
  const repositories = new Set<string>();
  for (const entry of subs) {
    for (const value of entry.values) {
      const repo = TAG_SUBJECT.exec(value)?.[1];
      if (repo === undefined) {
        add(
          4,
          statement,
          `subject ${JSON.stringify(value)} is not a tag ("repo:<owner>/<repo>:ref:refs/tags/<pattern>"); publish roles trust release tags only`,
        );
      } else {
        repositories.add(repo.replace(/@\d+/g, ''));
      }
    }
  }
  if (repositories.size > 1) {
    add(
      4,
      statement,
      `subjects name ${repositories.size} repositories (${[...repositories].join(', ')}); a publish role trusts the tags of exactly one`,
    );
  }
}

/** A branch publish role's subject: `repo:<owner>/<repo>:ref:refs/heads/<branch>`, no wildcard anywhere. */
const BRANCH_SUBJECT = /^repo:([^:*?]+):ref:refs\/heads\/([^:*?]+)$/;

/**
 * Invariant 4 for branch publish roles: every subject is the same branch of one repository, matched
 * exactly (StringEquals): never a pattern of branches, a tag, a pull request or an environment.
 */
function checkBranchPublishSubjects(
  statement: TrustStatement,
  subs: ReturnType<typeof conditionEntries>,
  options: TrustPolicyCheckOptions,
  add: Add,
): void {
  if (subs.length === 0)
    add(4, statement, 'a branch publish role needs a "sub" condition naming one branch of one repository');
  const repositories = new Set<string>();
  const branches = new Set<string>();
  for (const entry of subs) {
    for (const value of entry.values) {
      const match = BRANCH_SUBJECT.exec(value);
      if (match === null || entry.operator !== 'StringEquals') {
        add(
          4,
          statement,
          `subject ${JSON.stringify(value)} (${entry.operator}) is not an exact branch ("repo:<owner>/<repo>:ref:refs/heads/<branch>", StringEquals); branch publish roles trust one branch only`,
        );
        continue;
      }
      repositories.add(match[1].replace(/@\d+/g, ''));
      branches.add(match[2]);
      if (options.branch !== undefined && match[2] !== options.branch) {
        add(
          4,
          statement,
          `subject ${JSON.stringify(value)} names branch "${match[2]}", expected "${options.branch}"`,
        );
      }
    }
  }
  if (repositories.size > 1 || branches.size > 1) {
    add(
      4,
      statement,
      `subjects name ${repositories.size} repositories (${[...repositories].join(', ')}) and ${branches.size} branches (${[...branches].join(', ')}); a branch publish role trusts one branch of exactly one repository`,
    );
  }
}
