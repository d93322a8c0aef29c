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

export { DATA_STORE_TYPES };

/** The parts of `terraform show -json` the summary reads. */
export interface PlanDocument {
  readonly format_version?: string;
  readonly terraform_version?: string;
  readonly variables?: Record<string, { readonly value?: unknown }>;
  readonly resource_changes?: ReadonlyArray<PlanResourceChange>;
  readonly output_changes?: Record<string, { readonly actions?: readonly string[] }>;
  readonly configuration?: {
    readonly root_module?: { readonly variables?: Record<string, { readonly sensitive?: boolean }> };
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
  /** Scrubs the plan's known secret values (and secret-looking assignments) from free text. */
  readonly redactor: Redactor;
}

export interface SummarizeOptions {
  /** Addresses declared with `lifecycle { prevent_destroy = true }` (the plan JSON does not say). */
  readonly protectedAddresses?: Iterable<string>;
  /** @default 200 */
  readonly maxDetails?: number;
}

const MAX_VALUE_CHARS = 200;

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

  for (const rc of plan.resource_changes ?? []) {
    const change = rc.change;
    if (change.before_sensitive) redactor.addMasked(change.before, change.before_sensitive);
    if (change.after_sensitive) redactor.addMasked(change.after, change.after_sensitive);
    const action = classify(change.actions);
    if (action === null) continue;
    counts[action] += 1;
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

  // Details last: the redactor has seen every mask by now.
  const details = detailed.map((rc) => describeChange(rc, redactor));
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
    redactor,
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

function describeChange(rc: PlanResourceChange, redactor: Redactor): ResourceChangeDetail {
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
    attributes.push({
      name,
      before: render(b, beforeMask[name], secretName, false, redactor),
      after: render(a, afterMask[name], secretName, isUnknown, redactor),
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

function containsTrue(mask: unknown): boolean {
  if (mask === true) return true;
  if (mask === null || typeof mask !== 'object') return false;
  return Object.values(mask).some(containsTrue);
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
