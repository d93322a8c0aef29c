/**
 * The plan summary: counts, replaced and destroyed addresses, loud warnings for destroyed data
 * stores, and per-resource attribute changes with every secret redacted. Built from
 * `terraform show -json` output in one pass over `resource_changes`; attribute details are computed
 * only for the first `maxDetails` updated or replaced resources, so a 10,000-resource plan costs
 * little more than its `JSON.parse`.
 */
import { DATA_STORE_TYPES } from '../core/data-stores';
import { REDACTED, Redactor, SENSITIVE, looksSecret, redactValue } from './redaction';
import type { ResourceCounts } from './ledger/types';
import { constructPathOf, type ConstructPaths } from './review/construct-paths';
import { trackedNames, TRACKED_TYPES } from './review/iam';
import type { ResourceChangeEntry, Review } from './review/model';
import { coveredAttributes, REVIEWED_TYPES, reviewChange } from './review/review-change';
import { containsTrue, reviewAction } from './review/values';

export { DATA_STORE_TYPES };

/** The parts of `terraform show -json` the summary reads. */
export interface PlanDocument {
  readonly format_version?: string;
  readonly terraform_version?: string;
  readonly variables?: Record<string, { readonly value?: unknown }>;
  readonly resource_changes?: ReadonlyArray<PlanResourceChange>;
  readonly output_changes?: Record<string, { readonly actions?: readonly string[] }>;
  readonly configuration?: {
    readonly root_module?: {
      readonly variables?: Record<string, { readonly sensitive?: boolean }>;
      readonly resources?: ReadonlyArray<{ readonly address?: string; readonly expressions?: object }>;
    };
  };
  readonly errored?: boolean;
}

export interface PlanResourceChange {
  readonly address: string;
  readonly type: string;
  readonly mode?: string;
  readonly action_reason?: string;
  readonly change: {
    readonly actions: readonly string[];
    readonly before?: unknown;
    readonly after?: unknown;
    readonly after_unknown?: unknown;
    readonly before_sensitive?: unknown;
    readonly after_sensitive?: unknown;
    readonly replace_paths?: ReadonlyArray<ReadonlyArray<string | number>>;
  };
}

export type ChangeAction = 'create' | 'update' | 'delete' | 'replace' | 'read';

export interface AttributeChange {
  readonly name: string;
  /** Rendered and redacted: JSON text, `(sensitive)`, `(redacted)` or `(known after apply)`. */
  readonly before: string;
  readonly after: string;
  readonly forcesReplacement: boolean;
}

export interface ResourceChangeDetail {
  readonly address: string;
  readonly action: 'update' | 'replace';
  readonly reason?: string;
  readonly attributes: readonly AttributeChange[];
}

export interface ProtectedDestroy {
  readonly address: string;
  readonly type: string;
  /** `data store (S3 bucket)` or `prevent_destroy`. */
  readonly reason: string;
  readonly action: 'delete' | 'replace';
}

export interface PlanSummary {
  readonly terraformVersion: string | null;
  readonly formatVersion: string | null;
  readonly counts: ResourceCounts;
  /** No create, update, delete or replace (reads do not count). */
  readonly noChanges: boolean;
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly replaced: readonly string[];
  readonly destroyed: readonly string[];
  readonly read: readonly string[];
  readonly protectedDestroys: readonly ProtectedDestroy[];
  /** Attribute changes of the first `maxDetails` updated or replaced resources. */
  readonly details: readonly ResourceChangeDetail[];
  /** Updated or replaced resources left out of `details`. */
  readonly detailsOmitted: number;
  readonly outputChanges: number;
  /** Every change (reads included) in plan order, with its construct path when the stack gave one. */
  readonly changes: readonly ResourceChangeEntry[];
  /** Whether construct paths were given (`SummarizeOptions.constructPaths`). */
  readonly hasConstructPaths: boolean;
  /**
   * Semantic reviews of the IAM, container and network resources that change: policy statement
   * diffs with widening reasons and trust-policy findings, container images and variable names,
   * security group and listener rules.
   */
  readonly reviews: readonly Review[];
  /** Scrubs the plan's known secret values (and secret-looking assignments) from free text. */
  readonly redactor: Redactor;
}

export interface SummarizeOptions {
  /** Addresses declared with `lifecycle { prevent_destroy = true }` (the plan JSON does not say). */
  readonly protectedAddresses?: Iterable<string>;
  /** @default 200 */
  readonly maxDetails?: number;
  /** Address -> cdktf construct path, from the stack's `cdk.tf.json` (`readConstructPaths`). */
  readonly constructPaths?: ConstructPaths;
}

const MAX_VALUE_CHARS = 200;

/**
 * Why a parsed JSON value is not the `terraform show -json` output of a plan (a `format_version`
 * with `planned_values` or `resource_changes`), or undefined when it is one.
 */
export function notAPlan(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'it is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.format_version !== 'string') return 'it has no "format_version"';
  const planned = v.planned_values !== null && typeof v.planned_values === 'object';
  if (!planned && !Array.isArray(v.resource_changes))
    return 'it has no "planned_values" or "resource_changes" (a state, not a plan?)';
  return undefined;
}

/** Reads `terraform show -json` output (text or parsed) into a redacted summary. */
export function summarizePlan(planJson: string | PlanDocument, options: SummarizeOptions = {}): PlanSummary {
  const plan: PlanDocument = typeof planJson === 'string' ? (JSON.parse(planJson) as PlanDocument) : planJson;
  if (plan === null || typeof plan !== 'object' || Array.isArray(plan)) {
    throw new TypeError(
      'summarizePlan: expected the JSON object printed by `terraform show -json <planfile>`',
    );
  }
  const maxDetails = options.maxDetails ?? 200;
  const prevent = new Set(options.protectedAddresses ?? []);
  const redactor = new Redactor();

  const sensitiveVariables = plan.configuration?.root_module?.variables ?? {};
  for (const [name, variable] of Object.entries(plan.variables ?? {})) {
    if (sensitiveVariables[name]?.sensitive || looksSecret(name)) redactor.addSecretValue(variable?.value);
  }

  const counts = { create: 0, update: 0, delete: 0, replace: 0, read: 0 };
  const created: string[] = [];
  const updated: string[] = [];
  const replaced: string[] = [];
  const destroyed: string[] = [];
  const read: string[] = [];
  const protectedDestroys: ProtectedDestroy[] = [];
  const detailed: PlanResourceChange[] = [];
  let detailsOmitted = 0;
  const changes: ResourceChangeEntry[] = [];
  const toReview: PlanResourceChange[] = [];
  const createdNames = new Set<string>();
  const destroyedNames = new Set<string>();

  for (const rc of plan.resource_changes ?? []) {
    const change = rc.change;
    if (change.before_sensitive) redactor.addMasked(change.before, change.before_sensitive);
    if (change.after_sensitive) redactor.addMasked(change.after, change.after_sensitive);
    const action = classify(change.actions);
    if (action === null) continue;
    counts[action] += 1;
    changes.push({
      address: rc.address,
      type: rc.type,
      action,
      ...(rc.action_reason ? { reason: rc.action_reason } : {}),
      constructPath: constructPathOf(options.constructPaths, rc.address),
    });
    if (rc.mode !== 'data') {
      if (REVIEWED_TYPES.has(rc.type)) toReview.push(rc);
      if (TRACKED_TYPES[rc.type]) {
        if (action === 'create' || action === 'replace')
          for (const n of trackedNames(rc, 'after')) createdNames.add(n);
        if (action === 'delete') for (const n of trackedNames(rc, 'before')) destroyedNames.add(n);
      }
    }
    switch (action) {
      case 'create':
        created.push(rc.address);
        break;
      case 'read':
        read.push(rc.address);
        break;
      case 'delete':
        destroyed.push(rc.address);
        break;
      case 'update':
        updated.push(rc.address);
        break;
      case 'replace':
        replaced.push(rc.address);
        break;
    }
    if (action === 'delete' || action === 'replace') {
      const reason = prevent.has(rc.address)
        ? 'prevent_destroy'
        : DATA_STORE_TYPES[rc.type]
          ? `data store (${DATA_STORE_TYPES[rc.type]})`
          : null;
      if (reason) protectedDestroys.push({ address: rc.address, type: rc.type, reason, action });
    }
    if (action === 'update' || action === 'replace') {
      if (detailed.length < maxDetails) detailed.push(rc);
      else detailsOmitted += 1;
    }
  }

  // Reviews and details last: the plan has been seen whole, and the redactor every mask.
  const configures = configuredAttributes(plan);
  const reviews = toReview.flatMap((rc) => {
    const action = reviewAction(rc.change.actions);
    if (action === null) return [];
    return reviewChange(rc, action, {
      constructPath: constructPathOf(options.constructPaths, rc.address),
      created: createdNames,
      destroyed: destroyedNames,
      configures,
    });
  });
  const covered = new Map<string, Set<string>>();
  for (const r of reviews) {
    const set = covered.get(r.address) ?? new Set<string>();
    for (const a of coveredAttributes(r)) set.add(a);
    covered.set(r.address, set);
  }
  const details = detailed.map((rc) => describeChange(rc, redactor, covered.get(rc.address)));
  return {
    terraformVersion: plan.terraform_version ?? null,
    formatVersion: plan.format_version ?? null,
    counts,
    noChanges: counts.create + counts.update + counts.delete + counts.replace === 0,
    created,
    updated,
    replaced,
    destroyed,
    read,
    protectedDestroys,
    details,
    detailsOmitted,
    outputChanges: Object.values(plan.output_changes ?? {}).filter(
      (o) => o.actions && !(o.actions.length === 1 && o.actions[0] === 'no-op'),
    ).length,
    changes,
    hasConstructPaths: (options.constructPaths?.size ?? 0) > 0,
    reviews,
    redactor,
  };
}

/** Whether the configuration sets an attribute of a resource (looked up only when a review asks). */
function configuredAttributes(plan: PlanDocument): (address: string, attribute: string) => boolean {
  let index: Map<string, object> | undefined;
  return (address, attribute) => {
    if (!index) {
      index = new Map();
      for (const r of plan.configuration?.root_module?.resources ?? [])
        if (r.address && r.expressions) index.set(r.address, r.expressions);
    }
    const expressions = index.get(address.replace(/\[[^\]]*\]$/, ''));
    return expressions !== undefined && attribute in expressions;
  };
}

function classify(actions: readonly string[]): ChangeAction | null {
  if (actions.length === 2 && actions.includes('delete') && actions.includes('create')) return 'replace';
  if (actions.length !== 1) return null;
  switch (actions[0]) {
    case 'create':
    case 'update':
    case 'delete':
    case 'read':
      return actions[0];
    default:
      return null; // no-op, forget
  }
}

/** Shown instead of a raw value when a review below shows the attribute's meaning. */
export const SEE_REVIEW = '(see the review)';

function describeChange(
  rc: PlanResourceChange,
  redactor: Redactor,
  covered: ReadonlySet<string> | undefined,
): ResourceChangeDetail {
  const c = rc.change;
  const before = asRecord(c.before);
  const after = asRecord(c.after);
  const unknown = asRecord(c.after_unknown);
  const beforeMask = asRecord(c.before_sensitive);
  const afterMask = asRecord(c.after_sensitive);
  const forced = new Set((c.replace_paths ?? []).map((p) => String(p[0])));
  const names = new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknown)]);
  const attributes: AttributeChange[] = [];
  for (const name of [...names].sort()) {
    const b = before[name];
    const a = after[name];
    const isUnknown = unknown[name] === true || (isNonEmptyObject(unknown[name]) && a === undefined);
    if (!isUnknown && sameValue(b, a)) continue;
    const secretName = looksSecret(name);
    const reviewed = covered?.has(name) === true;
    attributes.push({
      name,
      before:
        reviewed && b !== undefined && b !== null
          ? SEE_REVIEW
          : render(b, beforeMask[name], secretName, false, redactor),
      after:
        reviewed && !isUnknown && a !== undefined && a !== null
          ? SEE_REVIEW
          : render(a, afterMask[name], secretName, isUnknown, redactor),
      forcesReplacement: forced.has(name),
    });
  }
  return {
    address: rc.address,
    action: c.actions.length === 2 ? 'replace' : 'update',
    ...(rc.action_reason ? { reason: rc.action_reason } : {}),
    attributes,
  };
}

function render(
  value: unknown,
  mask: unknown,
  secretName: boolean,
  unknown: boolean,
  redactor: Redactor,
): string {
  if (unknown) return '(known after apply)';
  if (value === undefined) return '(none)';
  if (containsTrue(mask)) return SENSITIVE;
  if (secretName && value !== null) return REDACTED;
  const text = redactor.scrub(JSON.stringify(redactValue(value)) ?? 'null');
  return text.length <= MAX_VALUE_CHARS ? text : `${text.slice(0, MAX_VALUE_CHARS)}...`;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function isNonEmptyObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && Object.keys(value).length > 0;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
