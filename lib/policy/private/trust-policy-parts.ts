/** Parsing helpers of the trust-policy checker: statements, principals and condition entries. */

/** One statement of a trust policy, normalised for checking. */
export interface TrustStatement {
  readonly index: number;
  readonly sid?: string;
  readonly effect: string;
  readonly principal: unknown;
  readonly notPrincipal: unknown;
  readonly condition: unknown;
}

/** One `operator -> key -> values` entry of a statement's Condition block. */
export interface ConditionEntry {
  /** The operator without a set prefix, e.g. `StringLike` (an `IfExists` suffix is kept). */
  readonly operator: string;
  /** `ForAnyValue` or `ForAllValues`, when present. */
  readonly setPrefix?: string;
  readonly key: string;
  readonly values: readonly string[];
}

/** The issuer host of GitHub's OIDC tokens (GitHub Enterprise adds `/<enterprise>`). */
export const GITHUB_ISSUER = 'token.actions.githubusercontent.com';

const asList = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

/** The statements of a policy, or a string saying why it is not a literal policy document. */
export function parsePolicy(document: unknown): TrustStatement[] | string {
  let doc = document;
  if (typeof doc === 'string') {
    if (doc.includes('${'))
      return 'the trust policy contains a Terraform interpolation; it must be literal JSON';
    try {
      doc = JSON.parse(doc) as unknown;
    } catch {
      return 'the trust policy is not valid JSON';
    }
  }
  if (doc === null || typeof doc !== 'object' || !('Statement' in doc)) {
    return 'not a policy document (no Statement)';
  }
  return asList((doc as { Statement: unknown }).Statement).map((raw, index) => {
    const s = (raw ?? {}) as Record<string, unknown>;
    return {
      index,
      ...(typeof s.Sid === 'string' && s.Sid ? { sid: s.Sid } : {}),
      effect: String(s.Effect),
      principal: s.Principal,
      notPrincipal: s.NotPrincipal,
      condition: s.Condition,
    };
  });
}

/** The federated principals of a statement. */
function federated(statement: TrustStatement): string[] {
  const p = statement.principal;
  if (p === null || typeof p !== 'object') return [];
  return asList((p as Record<string, unknown>).Federated).map(String);
}

/** Whether the statement trusts GitHub's OIDC provider (by provider ARN or issuer URL). */
export function isGithubFederated(statement: TrustStatement): boolean {
  return federated(statement).some((f) => f.toLowerCase().includes(GITHUB_ISSUER));
}

/**
 * Why the statement's principal is open to anyone (invariant 6), or undefined. Open: `"*"`, a
 * `*`-bearing AWS, Service or Federated principal, or any `NotPrincipal` in an Allow.
 */
export function principalWildcard(statement: TrustStatement): string | undefined {
  if (statement.notPrincipal !== undefined)
    return 'NotPrincipal in an Allow trusts every principal but those listed';
  const p = statement.principal;
  if (p === undefined) return 'no Principal';
  if (p === '*') return 'Principal "*" lets anyone assume the role';
  if (p === null || typeof p !== 'object') return `Principal ${JSON.stringify(p)} is not an object`;
  for (const [kind, values] of Object.entries(p as Record<string, unknown>)) {
    for (const value of asList(values).map(String)) {
      if (value.includes('*') || value.includes('?')) {
        return `Principal ${kind} ${JSON.stringify(value)} has a wildcard, so every account or service matches`;
      }
    }
  }
  return undefined;
}

/** Every condition entry of a statement, operators split from their set prefix. */
export function conditionEntries(statement: TrustStatement): ConditionEntry[] {
  const condition = statement.condition;
  if (condition === null || typeof condition !== 'object') return [];
  const entries: ConditionEntry[] = [];
  for (const [fullOperator, keys] of Object.entries(condition as Record<string, unknown>)) {
    const match = /^(ForAnyValue|ForAllValues):(.+)$/i.exec(fullOperator);
    const operator = match ? match[2] : fullOperator;
    if (keys === null || typeof keys !== 'object') continue;
    for (const [key, values] of Object.entries(keys as Record<string, unknown>)) {
      entries.push({
        operator,
        ...(match ? { setPrefix: match[1] } : {}),
        key,
        values: asList(values).map(String),
      });
    }
  }
  return entries;
}

/** `sub`, `aud`, `job_workflow_ref`... for a GitHub token condition key, otherwise undefined. */
export function githubKey(key: string): string | undefined {
  const lower = key.toLowerCase();
  if (!lower.startsWith(GITHUB_ISSUER)) return undefined;
  const colon = lower.lastIndexOf(':');
  return colon < 0 ? undefined : lower.slice(colon + 1);
}

/**
 * The owner/repository part of a `sub` (`repo:<owner>/<repo>:...`, names or `name@id`) or a
 * `job_workflow_ref` (`<owner>/<repo>/<path>@<ref>`) value, or undefined when it names none.
 */
export function subjectOwnerRepo(kind: 'sub' | 'job_workflow_ref', value: string): string | undefined {
  if (kind === 'sub') {
    const match = /^repo:([^:]*)(?::|$)/.exec(value);
    if (!match || !match[1].includes('/')) return undefined;
    return match[1];
  }
  const parts = value.split('/');
  if (parts.length < 3) return undefined;
  return `${parts[0]}/${parts[1]}`;
}
