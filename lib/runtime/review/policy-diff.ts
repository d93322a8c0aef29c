/**
 * IAM policy documents compared statement by statement. Statements are matched by Sid, else by
 * content (equal statements first, then the most similar one of the same effect); each matched pair
 * reports what its principals, actions, resources and conditions gained and lost, and why the
 * change widens access: a new principal, a wildcard, a removed condition or Deny, a new
 * `iam:PassRole` or `sts:AssumeRole*`, anything added to an Allow or taken from a Deny.
 */
import { UNSCOPABLE_ACTIONS } from '../../policy/private/iam-rules';
import { wildcardMatch } from '../../policy/private/iam-documents';
import type { DocumentKind, ItemDelta, StatementDelta } from './model';
import { isRecord, stringsOf } from './values';

/** One condition value: `operator key value`. */
interface ConditionItem {
  readonly operator: string;
  readonly key: string;
  readonly value: string;
}

/** A statement normalised for comparison. */
export interface PolicyStatement {
  readonly index: number;
  readonly sid?: string;
  readonly effect: string;
  readonly principals: readonly string[];
  readonly notPrincipals: readonly string[];
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  readonly notResources: readonly string[];
  readonly conditions: readonly ConditionItem[];
}

const asList = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

/** `"*"` -> `*`; `{ "AWS": ["a"] }` -> `AWS a`. */
function principalItems(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (!isRecord(value)) return [JSON.stringify(value)];
  return Object.entries(value).flatMap(([kind, ids]) => stringsOf(ids).map((id) => `${kind} ${id}`));
}

function conditionItems(value: unknown): ConditionItem[] {
  if (!isRecord(value)) return [];
  const items: ConditionItem[] = [];
  for (const [operator, keys] of Object.entries(value)) {
    if (!isRecord(keys)) continue;
    for (const [key, values] of Object.entries(keys)) {
      for (const v of stringsOf(values)) items.push({ operator, key, value: v });
    }
  }
  return items;
}

/**
 * The statements of a policy document (a JSON string or an object), or `null` when it is not a
 * readable policy document (not JSON, no `Statement`).
 */
export function parsePolicyDocument(document: unknown): PolicyStatement[] | null {
  let doc = document;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown;
    } catch {
      return null;
    }
  }
  if (!isRecord(doc) || !('Statement' in doc)) return null;
  return asList(doc.Statement).map((raw, index) => {
    const s = isRecord(raw) ? raw : {};
    return {
      index,
      ...(typeof s.Sid === 'string' && s.Sid !== '' ? { sid: s.Sid } : {}),
      effect: typeof s.Effect === 'string' ? s.Effect : String(s.Effect),
      principals: principalItems(s.Principal),
      notPrincipals: principalItems(s.NotPrincipal),
      actions: stringsOf(s.Action),
      notActions: stringsOf(s.NotAction),
      resources: stringsOf(s.Resource),
      notResources: stringsOf(s.NotResource),
      conditions: conditionItems(s.Condition),
    };
  });
}

/** Actions and condition keys are case-insensitive in IAM; values and ARNs are not. */
const lower = (s: string) => s.toLowerCase();
const conditionId = (c: ConditionItem) => `${c.operator}\u0000${c.key.toLowerCase()}\u0000${c.value}`;
const conditionGroup = (c: ConditionItem) => `${c.operator}\u0000${c.key.toLowerCase()}`;

export function renderCondition(c: ConditionItem): string {
  return `${c.operator} ${c.key} ${JSON.stringify(c.value)}`;
}

function itemDelta<T>(
  before: readonly T[],
  after: readonly T[],
  id: (item: T) => string,
  show: (item: T) => string,
): ItemDelta {
  const beforeIds = new Set(before.map(id));
  const afterIds = new Set(after.map(id));
  const unique = (items: readonly T[], keep: (i: string) => boolean) => {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const item of items) {
      const key = id(item);
      if (seen.has(key) || !keep(key)) continue;
      seen.add(key);
      out.push(show(item));
    }
    return out;
  };
  return {
    added: unique(after, (k) => !beforeIds.has(k)),
    removed: unique(before, (k) => !afterIds.has(k)),
    kept: unique(after, (k) => beforeIds.has(k)),
  };
}

const identity = (s: string) => s;

/** A canonical text of a statement's content (Sid and position excluded). */
function contentKey(s: PolicyStatement): string {
  const sorted = (items: readonly string[], norm: (x: string) => string = identity) =>
    [...new Set(items.map(norm))].sort().join('\u0001');
  return [
    s.effect,
    sorted(s.principals),
    sorted(s.notPrincipals),
    sorted(s.actions, lower),
    sorted(s.notActions, lower),
    sorted(s.resources),
    sorted(s.notResources),
    [...new Set(s.conditions.map(conditionId))].sort().join('\u0001'),
  ].join('\u0002');
}

function similarity(a: PolicyStatement, b: PolicyStatement): number {
  const items = (s: PolicyStatement) =>
    new Set([
      ...s.actions.map((x) => `a:${lower(x)}`),
      ...s.notActions.map((x) => `na:${lower(x)}`),
      ...s.resources.map((x) => `r:${x}`),
      ...s.principals.map((x) => `p:${x}`),
    ]);
  const left = items(a);
  const right = items(b);
  let shared = 0;
  for (const x of left) if (right.has(x)) shared += 1;
  const union = left.size + right.size - shared;
  return union === 0 ? 0 : shared / union;
}

/** How to judge a change as widening. */
export interface WideningContext {
  readonly kind: DocumentKind;
  /**
   * Whether every statement of the document is new access for someone who had none of it: true for
   * an updated document, or for a policy created on a principal or resource that exists already;
   * false for the policies of a principal or resource this plan creates, where only the risky
   * parts (wildcards, PassRole, AssumeRole, NotAction...) are called out.
   */
  readonly everythingWidens: boolean;
}

export interface PolicyDiff {
  readonly statements: StatementDelta[];
  readonly unchanged: number;
}

/**
 * Compares two policy documents' statements. `before` is empty for a created document, `after`
 * empty for a deleted one.
 */
export function diffStatements(
  before: readonly PolicyStatement[],
  after: readonly PolicyStatement[],
  context: WideningContext,
): PolicyDiff {
  const pairs: Array<[PolicyStatement | undefined, PolicyStatement | undefined]> = [];
  const restBefore = new Set(before);
  const restAfter = new Set(after);

  // 1. By Sid (the same Sid with another effect is a different statement).
  const bySid = new Map<string, PolicyStatement>();
  for (const s of before) if (s.sid !== undefined && !bySid.has(s.sid)) bySid.set(s.sid, s);
  for (const s of after) {
    const match = s.sid !== undefined ? bySid.get(s.sid) : undefined;
    if (match && match.effect === s.effect && restBefore.has(match)) {
      pairs.push([match, s]);
      restBefore.delete(match);
      restAfter.delete(s);
    }
  }
  // 2. Equal content, Sid aside.
  const byContent = new Map<string, PolicyStatement[]>();
  for (const s of restBefore) {
    const key = contentKey(s);
    byContent.set(key, [...(byContent.get(key) ?? []), s]);
  }
  for (const s of [...restAfter]) {
    const candidates = byContent.get(contentKey(s));
    const match = candidates?.shift();
    if (match) {
      pairs.push([match, s]);
      restBefore.delete(match);
      restAfter.delete(s);
    }
  }
  // 3. The most similar remaining statement of the same effect, when they share anything.
  for (const s of [...restAfter]) {
    let best: PolicyStatement | undefined;
    let score = 0;
    for (const b of restBefore) {
      if (b.effect !== s.effect) continue;
      const sim = similarity(b, s);
      if (sim > score) {
        score = sim;
        best = b;
      }
    }
    if (best) {
      pairs.push([best, s]);
      restBefore.delete(best);
      restAfter.delete(s);
    }
  }
  for (const s of restBefore) pairs.push([s, undefined]);
  for (const s of restAfter) pairs.push([undefined, s]);

  const ordered: Array<{ order: number; delta: StatementDelta }> = [];
  let unchanged = 0;
  for (const [b, a] of pairs) {
    const delta = statementDelta(b, a, context);
    if (delta === null) unchanged += 1;
    // Document order: by position after the change, removed statements after their old neighbour.
    else ordered.push({ order: a ? a.index : (b?.index ?? 0) + 0.5, delta });
  }
  ordered.sort((x, y) => x.order - y.order);
  return { statements: ordered.map((o) => o.delta), unchanged };
}

function statementDelta(
  before: PolicyStatement | undefined,
  after: PolicyStatement | undefined,
  context: WideningContext,
): StatementDelta | null {
  const empty: PolicyStatement = {
    index: 0,
    effect: (after ?? before)?.effect ?? 'Allow',
    principals: [],
    notPrincipals: [],
    actions: [],
    notActions: [],
    resources: [],
    notResources: [],
    conditions: [],
  };
  const b = before ?? empty;
  const a = after ?? empty;
  const change = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
  const delta = {
    principals: itemDelta(b.principals, a.principals, identity, identity),
    notPrincipals: itemDelta(b.notPrincipals, a.notPrincipals, identity, identity),
    actions: itemDelta(b.actions, a.actions, lower, identity),
    notActions: itemDelta(b.notActions, a.notActions, lower, identity),
    resources: itemDelta(b.resources, a.resources, identity, identity),
    notResources: itemDelta(b.notResources, a.notResources, identity, identity),
    conditions: itemDelta(b.conditions, a.conditions, conditionId, renderCondition),
  };
  if (
    change === 'changed' &&
    Object.values(delta).every((d) => d.added.length === 0 && d.removed.length === 0)
  ) {
    return null;
  }
  const shown = after ?? before ?? empty;
  const sid = shown.sid;
  return {
    label: sid !== undefined ? `Sid ${JSON.stringify(sid)}` : `statement ${shown.index}`,
    ...(sid !== undefined ? { sid } : {}),
    effect: shown.effect,
    change,
    ...delta,
    widens: wideningReasons(b, a, change, delta, context),
  };
}

type Deltas = Pick<
  StatementDelta,
  'principals' | 'notPrincipals' | 'actions' | 'notActions' | 'resources' | 'notResources' | 'conditions'
>;

const hasWildcard = (s: string) => s.includes('*') || s.includes('?');
const list = (items: readonly string[]) => items.join(', ');

/**
 * Why an action of an Allow statement is risky, or undefined. `strict` (a change to access that
 * exists) calls out every wildcard, `iam:PassRole` and `sts:AssumeRole*`; otherwise (the policies
 * of a principal or resource this plan creates) only what SECURITY.md forbids or confines: a full
 * service wildcard, a PassRole without named roles and `iam:PassedToService`, AssumeRole grants.
 */
function actionRisk(
  action: string,
  s: PolicyStatement,
  kind: DocumentKind,
  strict: boolean,
): string | undefined {
  const a = action.toLowerCase();
  if (a === '*' || a.endsWith(':*')) {
    // AWS's default key policy: the account root may do everything with its key (IAM decides).
    const rootOnly =
      s.principals.length > 0 && s.principals.every((p) => /^AWS arn:[^:]+:iam::\d{12}:root$/.test(p));
    if (kind === 'resource' && a === 'kms:*' && rootOnly) return undefined;
    return `wildcard action ${action}`;
  }
  if (hasWildcard(action)) return strict ? `wildcard action ${action}` : undefined;
  if (a === 'iam:passrole') {
    const scoped =
      s.resources.length > 0 &&
      s.resources.every((r) => !hasWildcard(r)) &&
      s.conditions.some((c) => c.key.toLowerCase() === 'iam:passedtoservice');
    return strict || !scoped
      ? `grants iam:PassRole${scoped ? '' : ' without named roles and iam:PassedToService'}`
      : undefined;
  }
  // In a trust policy `sts:AssumeRole*` is the verb of every statement, not a grant to assume others.
  if (kind !== 'trust' && a.startsWith('sts:assumerole')) return `grants ${action}`;
  return undefined;
}

const principalRisk = (p: string) => (hasWildcard(p) ? `wildcard principal ${p}` : undefined);

/** `Resource: "*"` in an identity policy for actions that can be scoped (SECURITY.md 8). */
function resourceRisk(r: string, s: PolicyStatement, kind: DocumentKind): string | undefined {
  if (kind !== 'identity' || r !== '*') return undefined;
  const scopable = s.actions.filter((a) => !UNSCOPABLE_ACTIONS.some((u) => wildcardMatch(u, a)));
  return scopable.length > 0 || s.notActions.length > 0
    ? `wildcard resource "*" for ${s.notActions.length > 0 ? 'NotAction' : list(scopable)}`
    : undefined;
}

const defined = <T>(items: ReadonlyArray<T | undefined>): T[] => items.filter((x): x is T => x !== undefined);

function wideningReasons(
  before: PolicyStatement,
  after: PolicyStatement,
  change: StatementDelta['change'],
  d: Deltas,
  context: WideningContext,
): string[] {
  const kind = context.kind;
  const allow = (change === 'removed' ? before.effect : after.effect) === 'Allow';
  if (change === 'removed') return allow ? [] : ['removes a Deny statement'];
  if (change === 'added') {
    if (!allow) return [];
    const reasons = [
      ...(context.everythingWidens ? ['new Allow statement'] : []),
      ...defined(after.principals.map(principalRisk)),
      ...defined(after.actions.map((a) => actionRisk(a, after, kind, context.everythingWidens))),
      ...defined(after.resources.map((r) => resourceRisk(r, after, kind))),
    ];
    if (after.notActions.length > 0) reasons.push(`Allow with NotAction ${list(after.notActions)}`);
    if (after.notResources.length > 0) reasons.push(`Allow with NotResource ${list(after.notResources)}`);
    if (after.notPrincipals.length > 0) reasons.push(`Allow with NotPrincipal ${list(after.notPrincipals)}`);
    return reasons;
  }
  const groups = (s: PolicyStatement) => new Set(s.conditions.map(conditionGroup));
  const ids = (s: PolicyStatement) => new Set(s.conditions.map(conditionId));
  const beforeGroups = groups(before);
  const afterGroups = groups(after);
  const beforeIds = ids(before);
  const afterIds = ids(after);
  const named = (items: readonly ConditionItem[]) => [...new Set(items.map((c) => `${c.operator} ${c.key}`))];
  /** Condition keys gone altogether, and keys that are new. */
  const droppedKeys = named(before.conditions.filter((c) => !afterGroups.has(conditionGroup(c))));
  const newKeys = named(after.conditions.filter((c) => !beforeGroups.has(conditionGroup(c))));
  /** Values added to, or dropped from, a key present before and after. */
  const addedValues = after.conditions.filter(
    (c) => beforeGroups.has(conditionGroup(c)) && !beforeIds.has(conditionId(c)),
  );
  const droppedValues = before.conditions.filter(
    (c) => afterGroups.has(conditionGroup(c)) && !afterIds.has(conditionId(c)),
  );

  const reasons: string[] = [];
  if (allow) {
    for (const p of d.principals.added) reasons.push(principalRisk(p) ?? `new principal ${p}`);
    const plainActions: string[] = [];
    for (const a of d.actions.added) {
      const risk = actionRisk(a, after, kind, true);
      if (risk) reasons.push(risk);
      else plainActions.push(a);
    }
    if (plainActions.length > 0)
      reasons.push(`adds ${plainActions.length === 1 ? 'action' : 'actions'} ${list(plainActions)}`);
    const plainResources: string[] = [];
    for (const r of d.resources.added) {
      const risk = resourceRisk(r, after, kind);
      if (risk) reasons.push(risk);
      else plainResources.push(r);
    }
    if (plainResources.length > 0)
      reasons.push(`adds ${plainResources.length === 1 ? 'resource' : 'resources'} ${list(plainResources)}`);
    for (const c of droppedKeys) reasons.push(`removes condition ${c}`);
    for (const c of addedValues)
      reasons.push(
        `adds ${hasWildcard(c.value) ? 'a wildcard value' : 'a value'} to condition ${renderCondition(c)}`,
      );
    if (d.notActions.removed.length > 0)
      reasons.push(`NotAction no longer excludes ${list(d.notActions.removed)}`);
    if (d.notResources.removed.length > 0)
      reasons.push(`NotResource no longer excludes ${list(d.notResources.removed)}`);
    if (d.notPrincipals.removed.length > 0)
      reasons.push(`NotPrincipal no longer excludes ${list(d.notPrincipals.removed)}`);
  } else {
    if (d.principals.removed.length > 0)
      reasons.push(`Deny no longer applies to ${list(d.principals.removed)}`);
    if (d.actions.removed.length > 0) reasons.push(`Deny no longer covers ${list(d.actions.removed)}`);
    if (d.resources.removed.length > 0) reasons.push(`Deny no longer covers ${list(d.resources.removed)}`);
    for (const c of newKeys) reasons.push(`Deny gains condition ${c}, so it applies in fewer cases`);
    for (const c of droppedValues) reasons.push(`Deny condition drops ${renderCondition(c)}`);
    const exempts = [...d.notActions.added, ...d.notResources.added, ...d.notPrincipals.added];
    if (exempts.length > 0) reasons.push(`Deny now exempts ${list(exempts)}`);
  }
  return reasons;
}
