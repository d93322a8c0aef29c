/**
 * Rules 24 and 25 of docs/security.md: what pull-request code may reach. A role whose GitHub trust admits a
 * `pull_request` subject runs code anyone with write access can change, unreviewed: it must deny
 * data-plane reads and object writes in its own policies, and it must not exist for an environment that
 * requires an approval unless the configuration says why.
 */
import { DATA_PLANE_READ_ACTIONS, PULL_REQUEST_DENIED_WRITES } from '../../core/data-plane';
import { STACK_FACTS_KEY } from '../../core/stack-facts';
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import {
  conditionEntries,
  grants,
  parseJson,
  roleDocuments,
  statements,
  wildcardMatch,
  type Statement,
} from './iam-documents';
import { isObject, render, type StackView } from './terraform-json';

const SUB_KEY = 'token.actions.githubusercontent.com:sub';

/** Whether a `sub` value (or pattern) admits a `pull_request` token of its repository. */
function admitsPullRequests(value: string): boolean {
  const asPullRequest = value.replace(/:[^:]*$/, ':pull_request');
  return /(^|:)pull_request$/.test(value) || wildcardMatch(value, asPullRequest);
}

/** The roles of the stack that a pull request can assume. */
function pullRequestRoles(view: StackView) {
  return view
    .resources('aws_iam_role')
    .filter((role) =>
      statements(parseJson(role.body.assume_role_policy) ?? role.body.assume_role_policy).some(
        (s) =>
          s.effect === 'Allow' &&
          conditionEntries(s).some((c) => c.key === SUB_KEY && c.values.some(admitsPullRequests)),
      ),
    );
}

/** A literal KMS alias name: `alias/<name>`, no wildcard. */
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]+$/;

/**
 * The one conditional Deny that counts: `kms:Decrypt` on `*` but for a state key named by alias, exactly
 * `ForAllValues:StringNotEquals kms:ResourceAliases` = one literal alias (true for a key without aliases,
 * so such a key stays denied) and nothing else. `ForAnyValue`, `...IfExists`, `StringNotLike`, a pattern,
 * more aliases or another key would spare more keys (or none of the denied ones).
 */
function exemptsOnlyAStateKeyAlias(s: Statement, action: string): boolean {
  if (action !== 'kms:Decrypt') return false;
  const entries = conditionEntries(s);
  const [entry] = entries;
  return (
    entries.length === 1 &&
    Object.keys(s.condition).length === 1 &&
    entry.operator === 'ForAllValues:StringNotEquals' &&
    entry.key === 'kms:resourcealiases' &&
    entry.values.length === 1 &&
    ALIAS_NAME.test(entry.values[0])
  );
}

/**
 * A Deny that covers `action` everywhere but on named resources (no wildcard in what it spares), without
 * a condition (one would narrow it); for `kms:Decrypt`, or on `*` sparing only the keys one literal alias
 * names (`exemptsOnlyAStateKeyAlias`).
 */
function deniesBroadly(s: Statement, action: string): boolean {
  if (s.effect !== 'Deny' || !grants(s, action)) return false;
  const everywhere = s.notResources
    ? s.notResources.every((r) => !/[*?]/.test(r))
    : s.resources.includes('*');
  if (!everywhere) return false;
  if (Object.keys(s.condition).length === 0) return true;
  return s.resources.includes('*') && exemptsOnlyAStateKeyAlias(s, action);
}

const rule24 = defineRule({
  id: 'GANTRY-IAM-012',
  invariant: 24,
  title: 'A role pull requests can assume denies data-plane reads and object writes in its own policies',
  publicChecks: [],
  evaluate(view, report) {
    for (const role of pullRequestRoles(view)) {
      const own = roleDocuments(view, role).flatMap((d) => statements(parseJson(d.value)));
      const reads = DATA_PLANE_READ_ACTIONS.filter((a) => !own.some((s) => deniesBroadly(s, a)));
      const writes = PULL_REQUEST_DENIED_WRITES.filter(
        (a) =>
          !own.some(
            (s) =>
              s.effect === 'Deny' &&
              grants(s, a) &&
              s.resources.includes('*') &&
              Object.keys(s.condition).length === 0,
          ),
      );
      if (reads.length > 0 || writes.length > 0) {
        report(
          role.address,
          `role ${render(role.body.name)} trusts pull_request but does not deny ${render([...reads, ...writes].slice(0, 6))}${
            reads.length + writes.length > 6 ? ` and ${reads.length + writes.length - 6} more` : ''
          }`,
          'an explicit Deny of DATA_PLANE_READ_ACTIONS without condition (NotResource: only named own state and parameters; kms:Decrypt of a state key named by alias: on "*" with only ForAllValues:StringNotEquals kms:ResourceAliases = that alias) and of s3:PutObject/DeleteObject on "*", in the role itself',
        );
      }
    }
  },
});

const rule25 = defineRule({
  id: 'GANTRY-IAM-013',
  invariant: 25,
  title:
    'Environments that require an approval are not planned from pull requests (unless the config says why)',
  publicChecks: [],
  evaluate(view, report) {
    const meta = isObject(view.json['//']) ? view.json['//'][STACK_FACTS_KEY] : undefined;
    if (!isObject(meta) || typeof meta.requiredApprovals !== 'number' || meta.requiredApprovals < 1) return;
    for (const role of pullRequestRoles(view)) {
      report(
        role.address,
        `role ${render(role.body.name)} trusts pull_request in environment ${render(meta.environment)}, which requires ${meta.requiredApprovals} approval(s)`,
        'no pull-request role for an environment that requires an approval; or approval.pullRequestPlans.reason, recorded as a suppression',
      );
    }
  },
});

/** In invariant order. */
export const PULL_REQUEST_RULES: readonly PolicyRule[] = [rule24, rule25];
