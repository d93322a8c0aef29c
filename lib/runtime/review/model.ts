/**
 * The review model: what `gantry plan`/`show` tell a reviewer beyond counts, and what `--json`
 * emits. Built from a redacted view of the plan: it holds names, addresses, policy statements,
 * image references and rule descriptions, never an attribute value the plan marks sensitive, an
 * environment variable's value, or a secret's `valueFrom`.
 */
import type { TrustPolicyFinding, TrustRoleKind } from '../../policy/trust-policy';
import type { ReviewAction, ValueState } from './values';

/** What a list (principals, actions, resources, conditions) gained and lost. */
export interface ItemDelta {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Items present before and after. */
  readonly kept: readonly string[];
}

/** One policy statement, compared before and after (matched by Sid, else by content). */
export interface StatementDelta {
  /** `Sid "GithubApply"`, or `statement 2` (its index after the change, before for a removed one). */
  readonly label: string;
  readonly sid?: string;
  readonly effect: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly principals: ItemDelta;
  readonly notPrincipals: ItemDelta;
  readonly actions: ItemDelta;
  readonly notActions: ItemDelta;
  readonly resources: ItemDelta;
  readonly notResources: ItemDelta;
  /** `StringEquals token.actions.githubusercontent.com:sub "repo:acme/app:environment:prod"`, one per value. */
  readonly conditions: ItemDelta;
  /** Why this statement's change widens access; empty when it does not. */
  readonly widens: readonly string[];
}

/** Where a policy document applies. */
export type DocumentKind = 'trust' | 'identity' | 'resource';

/** Fields every review carries. */
interface ReviewBase {
  readonly address: string;
  readonly type: string;
  readonly action: ReviewAction;
  readonly constructPath: string | null;
  /** Why the change widens access: `<what>, <statement>: <reason>`. Empty when nothing widens. */
  readonly widens: readonly string[];
}

/** A policy document (trust, identity or resource policy) held in one attribute. */
export interface PolicyReview extends ReviewBase {
  readonly kind: 'policy';
  readonly documentKind: DocumentKind;
  /** `trust policy`, `inline policy "build" of role acme-dev-runner`, `key policy`... */
  readonly policy: string;
  /** The attribute the document is in: `assume_role_policy`, `policy`, `inline_policy["x"]`. */
  readonly attribute: string;
  /** `known`, `absent`, `unknown` (known after apply), `sensitive` (never shown), `unreadable` (not JSON). */
  readonly before: ValueState | 'unreadable';
  readonly after: ValueState | 'unreadable';
  /** Statements added, removed or changed; for a created document, every statement (as added). */
  readonly statements: readonly StatementDelta[];
  /** Statements equal before and after. */
  readonly unchangedStatements: number;
  /** For trust policies: the trust-policy checker on the planned document (SECURITY.md 1-6). */
  readonly trustFindings?: readonly Pick<TrustPolicyFinding, 'invariant' | 'message'>[];
  /** For trust policies: the rules the checker applied (`plan`, `apply`, `other`). */
  readonly roleKind?: TrustRoleKind;
}

/** Managed policies attached to a role, user or group (attachment resources, `managed_policy_arns`). */
export interface ManagedPolicyReview extends ReviewBase {
  readonly kind: 'managed-policies';
  /** `role acme-dev-gh-plan`, or `(known after apply)`. */
  readonly principal: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** An image reference split for review. */
export interface ImageRef {
  readonly repository: string;
  /** The tag, or `@sha256:...` for a digest, or `(none)`. */
  readonly tag: string;
}

/** Names only: values are never part of a review. */
export interface NameDelta {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Names whose value (or `valueFrom`) changed. */
  readonly changed: readonly string[];
}

export interface ContainerDelta {
  readonly name: string;
  readonly change: 'added' | 'removed' | 'changed' | 'unchanged';
  readonly image?: { readonly before?: ImageRef; readonly after?: ImageRef };
  readonly environment: NameDelta;
  readonly secrets: NameDelta;
  /** Other settings that changed, by key (`portMappings`, `cpu`...), values not shown. */
  readonly otherChanges: readonly string[];
}

/** An ECS task definition's `container_definitions`. */
export interface ContainerReview extends ReviewBase {
  readonly kind: 'containers';
  readonly before: ValueState | 'unreadable';
  readonly after: ValueState | 'unreadable';
  readonly containers: readonly ContainerDelta[];
}

/** Security group rules: one line per rule, `ingress tcp 443 from 10.0.0.0/16`. */
export interface NetworkRuleReview extends ReviewBase {
  readonly kind: 'security-group-rules';
  readonly rules: ItemDelta;
}

/** A load balancer listener rule: its priority, conditions and actions. */
export interface ListenerRuleReview extends ReviewBase {
  readonly kind: 'listener-rule';
  readonly priority: { readonly before?: string; readonly after?: string };
  readonly conditions: ItemDelta;
  readonly actions: ItemDelta;
}

export type Review =
  PolicyReview | ManagedPolicyReview | ContainerReview | NetworkRuleReview | ListenerRuleReview;

/** What a change to a resource looks like in the listing. */
export interface ResourceChangeEntry {
  readonly address: string;
  readonly type: string;
  readonly action: 'create' | 'update' | 'replace' | 'delete' | 'read';
  readonly reason?: string;
  /** The cdktf construct path (`dev-foundation/deploy-roles/apply`), when the stack's metadata gave one. */
  readonly constructPath: string | null;
}
