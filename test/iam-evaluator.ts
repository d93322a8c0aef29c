/**
 * A small IAM policy evaluator for tests: decides one request against a set of policy documents
 * (identity, resource or trust policies) the way IAM does within one policy type: an explicit Deny
 * wins, then any Allow, otherwise an implicit deny.
 *
 * Why our own and not `@cloud-copilot/iam-simulate`: that package is AGPL-licensed (so a
 * devDependency at most) and simulates a whole account request context; the tests here need only
 * the statement-level semantics below, which fit in one file whose every rule is stated and tested
 * (test/iam-evaluator.test.ts). Anything the evaluator does not know (an unknown condition operator,
 * a policy variable) throws instead of guessing, so a test can never pass on an unsupported feature.
 *
 * Supported:
 * - `Effect` Allow/Deny; `Action`/`NotAction` (case-insensitive, `*` and `?` wildcards);
 *   `Resource`/`NotResource` (case-sensitive wildcards; a statement without either matches any
 *   resource; a request without a resource matches only `Resource: "*"` patterns that are all `*`);
 *   `Principal`/`NotPrincipal` when the request names a principal (`"*"`, `{ AWS | Federated | Service }`,
 *   an account id or `arn:...:root` matching every principal of that account).
 * - Condition operators `StringEquals`, `StringNotEquals`, `StringEqualsIgnoreCase`,
 *   `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`,
 *   `ArnNotEquals`, `ArnNotLike`, `Bool`, `Null`, each with an `IfExists` suffix (except `Null`) and the
 *   `ForAnyValue:` / `ForAllValues:` prefixes. Operators of a block AND together, keys of an operator
 *   AND together, values of a key OR together. Condition key names are case-insensitive.
 * - Missing keys: a positive operator is false, a negated operator is true, `...IfExists` is true,
 *   `ForAllValues:` is true (the well-known footgun), `ForAnyValue:` is false.
 * - Multi-valued context keys without a set prefix: a positive operator holds when any value
 *   matches; a negated one when no value matches.
 */

export type Effect = 'Allow' | 'Deny';
type OneOrMany<T> = T | readonly T[];

export type PolicyPrincipal = '*' | { readonly [kind: string]: OneOrMany<string> };

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: Effect;
  readonly Action?: OneOrMany<string>;
  readonly NotAction?: OneOrMany<string>;
  readonly Resource?: OneOrMany<string>;
  readonly NotResource?: OneOrMany<string>;
  readonly Principal?: PolicyPrincipal;
  readonly NotPrincipal?: PolicyPrincipal;
  readonly Condition?: {
    readonly [operator: string]: { readonly [key: string]: OneOrMany<string | boolean | number> };
  };
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Id?: string;
  readonly Statement: OneOrMany<PolicyStatement>;
}

/** The principal making the request, e.g. `{ type: 'Federated', id: '<oidc provider arn>' }`. */
export interface RequestPrincipal {
  readonly type: 'AWS' | 'Federated' | 'Service' | 'CanonicalUser';
  readonly id: string;
}

export interface EvaluationRequest {
  /** `service:Action`, e.g. `sts:AssumeRoleWithWebIdentity`. */
  readonly action: string;
  /** The resource ARN; omit for trust policies. */
  readonly resource?: string;
  /** Checked against `Principal`/`NotPrincipal` when given; ignored when omitted. */
  readonly principal?: RequestPrincipal;
  /** Condition keys and their values; a string array is a multi-valued key. */
  readonly context: Readonly<Record<string, string | readonly string[]>>;
}

export type Decision = 'allow' | 'deny' | 'implicit-deny';

/** Decides `request` against `policyDocs` (objects or their JSON text). */
export function evaluate(
  policyDocs: ReadonlyArray<PolicyDocument | string>,
  request: EvaluationRequest,
): Decision {
  const context = normalizeContext(request.context);
  let allowed = false;
  for (const doc of policyDocs) {
    for (const statement of statementsOf(doc)) {
      if (!statementApplies(statement, request, context)) continue;
      if (statement.Effect === 'Deny') return 'deny';
      if (statement.Effect === 'Allow') allowed = true;
      else throw new Error(`iam-evaluator: unknown Effect ${JSON.stringify(statement.Effect)}`);
    }
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/** The statements of a document (an object or its JSON text), always as an array. */
export function statementsOf(doc: PolicyDocument | string): readonly PolicyStatement[] {
  const parsed = typeof doc === 'string' ? (JSON.parse(doc) as PolicyDocument) : doc;
  if (!parsed || typeof parsed !== 'object' || parsed.Statement === undefined) {
    throw new Error('iam-evaluator: a policy document needs a Statement');
  }
  return asArray(parsed.Statement);
}

function asArray<T>(value: OneOrMany<T> | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

type Context = ReadonlyMap<string, readonly string[]>;

function normalizeContext(context: EvaluationRequest['context']): Context {
  const map = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(context)) {
    map.set(key.toLowerCase(), typeof value === 'string' ? [value] : [...value]);
  }
  return map;
}

function statementApplies(statement: PolicyStatement, request: EvaluationRequest, context: Context): boolean {
  return (
    actionMatches(statement, request.action) &&
    resourceMatches(statement, request.resource) &&
    principalMatches(statement, request.principal) &&
    conditionsHold(statement.Condition, context)
  );
}

function actionMatches(statement: PolicyStatement, action: string): boolean {
  if (statement.Action !== undefined && statement.NotAction !== undefined) {
    throw new Error('iam-evaluator: a statement has both Action and NotAction');
  }
  const matches = (patterns: readonly string[]) =>
    patterns.some((p) => globMatch(p.toLowerCase(), action.toLowerCase()));
  if (statement.Action !== undefined) return matches(asArray(statement.Action));
  if (statement.NotAction !== undefined) return !matches(asArray(statement.NotAction));
  throw new Error('iam-evaluator: a statement needs Action or NotAction');
}

function resourceMatches(statement: PolicyStatement, resource: string | undefined): boolean {
  const matches = (patterns: readonly string[]) =>
    resource === undefined
      ? patterns.every((p) => /^\*+$/.test(p))
      : patterns.some((p) => globMatch(p, resource));
  if (statement.Resource !== undefined) return matches(asArray(statement.Resource));
  if (statement.NotResource !== undefined) {
    return resource !== undefined && !matches(asArray(statement.NotResource));
  }
  return true;
}

function principalMatches(statement: PolicyStatement, principal: RequestPrincipal | undefined): boolean {
  if (principal === undefined) return true;
  if (statement.Principal !== undefined) return principalIn(statement.Principal, principal);
  if (statement.NotPrincipal !== undefined) return !principalIn(statement.NotPrincipal, principal);
  return true;
}

function principalIn(element: PolicyPrincipal, principal: RequestPrincipal): boolean {
  if (element === '*') return true;
  return asArray(element[principal.type]).some((candidate) => {
    if (candidate === '*' || candidate === principal.id) return true;
    if (principal.type !== 'AWS') return false;
    // An account (12 digits or its root ARN) stands for every principal of that account.
    const account = /^\d{12}$/.test(candidate)
      ? candidate
      : /^arn:[^:]+:iam::(\d{12}):root$/.exec(candidate)?.[1];
    return account !== undefined && principal.id.split(':')[4] === account;
  });
}

const OPERATOR = /^(?:(ForAnyValue|ForAllValues):)?([A-Za-z]+?)(IfExists)?$/;

type Matcher = (contextValue: string, policyValue: string) => boolean;

const MATCHERS: Record<string, { match: Matcher; negated: boolean }> = {
  StringEquals: { match: (v, p) => v === p, negated: false },
  StringNotEquals: { match: (v, p) => v === p, negated: true },
  StringEqualsIgnoreCase: { match: (v, p) => v.toLowerCase() === p.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { match: (v, p) => v.toLowerCase() === p.toLowerCase(), negated: true },
  StringLike: { match: (v, p) => globMatch(p, v), negated: false },
  StringNotLike: { match: (v, p) => globMatch(p, v), negated: true },
  // IAM treats ArnEquals like ArnLike: each of the six ':'-separated parts is matched with wildcards.
  ArnEquals: { match: (v, p) => arnMatch(p, v), negated: false },
  ArnLike: { match: (v, p) => arnMatch(p, v), negated: false },
  ArnNotEquals: { match: (v, p) => arnMatch(p, v), negated: true },
  ArnNotLike: { match: (v, p) => arnMatch(p, v), negated: true },
  Bool: { match: (v, p) => v.toLowerCase() === p.toLowerCase(), negated: false },
};

function conditionsHold(condition: PolicyStatement['Condition'], context: Context): boolean {
  if (condition === undefined) return true;
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) =>
      conditionHolds(operator, key, asArray(values).map(String), context.get(key.toLowerCase())),
    ),
  );
}

function conditionHolds(
  operator: string,
  key: string,
  policyValues: readonly string[],
  contextValues: readonly string[] | undefined,
): boolean {
  if (policyValues.some((p) => p.includes('${'))) {
    throw new Error(`iam-evaluator: policy variables are not supported (${key}: ${policyValues.join(', ')})`);
  }
  const parsed = OPERATOR.exec(operator);
  if (!parsed) throw new Error(`iam-evaluator: unsupported condition operator ${JSON.stringify(operator)}`);
  const [, setPrefix, base, ifExists] = parsed;
  if (base === 'Null') {
    if (setPrefix || ifExists) throw new Error(`iam-evaluator: ${operator} is not a valid operator`);
    const present = contextValues !== undefined;
    // Values OR together: Null "true" holds when the key is absent, "false" when it is present.
    return policyValues.some((p) => {
      const wanted = p.toLowerCase();
      if (wanted !== 'true' && wanted !== 'false') {
        throw new Error(`iam-evaluator: Null takes "true" or "false", not ${JSON.stringify(p)}`);
      }
      return wanted === 'true' ? !present : present;
    });
  }
  const matcher = MATCHERS[base];
  if (!matcher) throw new Error(`iam-evaluator: unsupported condition operator ${JSON.stringify(operator)}`);
  // One context value satisfies the operator: positive when it matches a listed value, negated
  // when it matches none of them.
  const satisfies = (v: string) => policyValues.some((p) => matcher.match(v, p)) !== matcher.negated;

  if (setPrefix === 'ForAllValues') {
    return contextValues === undefined || contextValues.every(satisfies);
  }
  if (setPrefix === 'ForAnyValue') {
    return contextValues !== undefined && contextValues.some(satisfies);
  }
  if (contextValues === undefined || contextValues.length === 0) {
    return ifExists !== undefined || matcher.negated;
  }
  return matcher.negated ? contextValues.every(satisfies) : contextValues.some(satisfies);
}

/** `*` matches any run of characters (including none and ':' and '/'), `?` exactly one. */
export function globMatch(pattern: string, value: string): boolean {
  let regex = '^';
  for (const ch of pattern) {
    if (ch === '*') regex += '[\\s\\S]*';
    else if (ch === '?') regex += '[\\s\\S]';
    else regex += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${regex}$`).test(value);
}

function arnMatch(pattern: string, value: string): boolean {
  const split = (arn: string) => {
    const parts = arn.split(':');
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  if (!p || !v) return pattern === '*';
  return p.every((part, i) => globMatch(part, v[i]));
}
