/**
 * ECS container definitions, reviewed container by container: the image (repository and tag, old
 * and new), environment variable names added, removed or changed, secret names likewise, and the
 * names of other settings that changed. Environment values and `valueFrom` are compared, never
 * shown: a reviewer learns that `DATABASE_URL` changed, not what it holds.
 */
import type { PlanResourceChange } from '../plan-summary';
import type { ContainerDelta, ContainerReview, ImageRef, NameDelta } from './model';
import { attribute, isRecord, type JsonRecord, type PlannedValue, type ReviewAction } from './values';

export const CONTAINER_TYPES: ReadonlySet<string> = new Set(['aws_ecs_task_definition']);

/** `acme/api:v1.3.0` -> repository `acme/api`, tag `v1.3.0`; a digest is kept as `@sha256:...`. */
export function splitImage(image: string): ImageRef {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: image.slice(0, at), tag: image.slice(at) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/'))
    return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: '(none)' };
}

type State = ContainerReview['before'];

function readContainers(value: PlannedValue): { state: State; containers: Map<string, JsonRecord> } {
  const containers = new Map<string, JsonRecord>();
  if (value.state !== 'known') return { state: value.state, containers };
  let parsed: unknown = value.value;
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed) as unknown;
    } catch {
      return { state: 'unreadable', containers };
    }
  }
  if (!Array.isArray(parsed)) return { state: 'unreadable', containers };
  parsed.forEach((c, i) => {
    if (isRecord(c)) containers.set(typeof c.name === 'string' ? c.name : `container ${i}`, c);
  });
  return { state: 'known', containers };
}

/** `[{ name, value }]` or `[{ name, valueFrom }]` as name -> comparable text (never shown). */
function namedValues(list: unknown, valueKey: 'value' | 'valueFrom'): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (isRecord(item) && typeof item.name === 'string')
      out.set(item.name, JSON.stringify(item[valueKey] ?? null));
  }
  return out;
}

function nameDelta(before: Map<string, string>, after: Map<string, string>): NameDelta {
  return {
    added: [...after.keys()].filter((n) => !before.has(n)).sort(),
    removed: [...before.keys()].filter((n) => !after.has(n)).sort(),
    changed: [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n)).sort(),
  };
}

const REVIEWED_KEYS = new Set(['name', 'image', 'environment', 'secrets']);

function containerDelta(
  name: string,
  before: JsonRecord | undefined,
  after: JsonRecord | undefined,
): ContainerDelta {
  const image = (c: JsonRecord | undefined) =>
    c && typeof c.image === 'string' ? splitImage(c.image) : undefined;
  const b = image(before);
  const a = image(after);
  const environment = nameDelta(
    namedValues(before?.environment, 'value'),
    namedValues(after?.environment, 'value'),
  );
  const secrets = nameDelta(
    namedValues(before?.secrets, 'valueFrom'),
    namedValues(after?.secrets, 'valueFrom'),
  );
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const otherChanges =
    before && after
      ? [...keys]
          .filter((k) => !REVIEWED_KEYS.has(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]))
          .sort()
      : [];
  const imageChanged = JSON.stringify(b) !== JSON.stringify(a);
  const namesChanged = [environment, secrets].some(
    (d) => d.added.length + d.removed.length + d.changed.length > 0,
  );
  const change = !before
    ? 'added'
    : !after
      ? 'removed'
      : imageChanged || namesChanged || otherChanges.length > 0
        ? 'changed'
        : 'unchanged';
  return {
    name,
    change,
    ...(b || a ? { image: { ...(b ? { before: b } : {}), ...(a ? { after: a } : {}) } } : {}),
    environment,
    secrets,
    otherChanges,
  };
}

export function reviewContainers(
  rc: PlanResourceChange,
  action: ReviewAction,
  constructPath: string | null,
): ContainerReview | null {
  const beforeValue = attribute(rc, 'before', 'container_definitions');
  const afterValue = attribute(rc, 'after', 'container_definitions');
  if (beforeValue.state === 'known' && afterValue.state === 'known' && beforeValue.value === afterValue.value)
    return null;
  const before = readContainers(beforeValue);
  const after = readContainers(afterValue);
  if (before.state === 'absent' && after.state === 'absent') return null;
  const readable = (s: State) => s === 'known' || s === 'absent';
  // One side hidden (sensitive, unknown, not JSON): comparing would call every container new.
  const names =
    readable(before.state) && readable(after.state)
      ? new Set([...before.containers.keys(), ...after.containers.keys()])
      : new Set<string>();
  const containers = [...names].map((n) =>
    containerDelta(n, before.containers.get(n), after.containers.get(n)),
  );
  if (action === 'update' && containers.every((c) => c.change === 'unchanged')) return null;
  return {
    kind: 'containers',
    address: rc.address,
    type: rc.type,
    action,
    constructPath,
    widens: [],
    before: before.state,
    after: after.state,
    containers,
  };
}
