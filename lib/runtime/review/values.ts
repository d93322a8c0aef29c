/**
 * Reading one attribute of a planned resource change the way a reviewer may see it: known, absent,
 * known only after apply, or sensitive (the plan's own masks). Nothing here renders a value.
 */
import type { PlanResourceChange } from '../plan-summary';

/** What the plan lets a reviewer know about a value. */
export type ValueState = 'known' | 'absent' | 'unknown' | 'sensitive';

export interface PlannedValue {
  readonly state: ValueState;
  /** Set only when `state` is `known`. */
  readonly value?: unknown;
}

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function asRecord(value: unknown): JsonRecord {
  return isRecord(value) ? value : {};
}

/** Whether a sensitivity mask (or an `after_unknown` tree) marks anything `true`. */
export function containsTrue(mask: unknown): boolean {
  if (mask === true) return true;
  if (mask === null || typeof mask !== 'object') return false;
  return Object.values(mask).some(containsTrue);
}

/** The resource's state before the change (`null` when it is created). */
export function beforeOf(rc: PlanResourceChange): JsonRecord | null {
  return isRecord(rc.change.before) ? rc.change.before : null;
}

/** The resource's planned state (`null` when it is destroyed). */
export function afterOf(rc: PlanResourceChange): JsonRecord | null {
  const deleted = rc.change.actions.length === 1 && rc.change.actions[0] === 'delete';
  return !deleted && isRecord(rc.change.after) ? rc.change.after : null;
}

/** One top-level attribute, before or after the change. */
export function attribute(rc: PlanResourceChange, side: 'before' | 'after', name: string): PlannedValue {
  const c = rc.change;
  const values = side === 'before' ? beforeOf(rc) : afterOf(rc);
  if (side === 'after' && values !== null && asRecord(c.after_unknown)[name] === true)
    return { state: 'unknown' };
  if (values === null) return { state: 'absent' };
  const mask = asRecord(side === 'before' ? c.before_sensitive : c.after_sensitive)[name];
  if (containsTrue(mask)) return { state: 'sensitive' };
  const value = values[name];
  if (value === null || value === undefined) {
    // A partly unknown block list, e.g. `inline_policy = [{ policy = (known after apply) }]`.
    if (side === 'after' && containsTrue(asRecord(c.after_unknown)[name])) return { state: 'unknown' };
    return { state: 'absent' };
  }
  if (side === 'after' && containsTrue(asRecord(c.after_unknown)[name])) return { state: 'unknown' };
  return { state: 'known', value };
}

/** A string attribute's value when known, else undefined. */
export function knownString(
  rc: PlanResourceChange,
  side: 'before' | 'after',
  name: string,
): string | undefined {
  const v = attribute(rc, side, name);
  return v.state === 'known' && typeof v.value === 'string' ? v.value : undefined;
}

/** `create`, `update`, `replace`, `delete` (what the review needs of the plan's actions). */
export type ReviewAction = 'create' | 'update' | 'replace' | 'delete';

export function reviewAction(actions: readonly string[]): ReviewAction | null {
  if (actions.length === 2 && actions.includes('delete') && actions.includes('create')) return 'replace';
  if (actions.length !== 1) return null;
  const a = actions[0];
  return a === 'create' || a === 'update' || a === 'delete' ? a : null;
}

/** Strings of a list, or the one string: IAM's `Action`, `Resource`, condition values. */
export function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap((v) => (v === null || v === undefined ? [] : stringsOf(v)));
  return [];
}
