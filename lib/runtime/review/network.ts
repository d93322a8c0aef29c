/**
 * Network reviews: security group rules as one line each (`ingress tcp port 443 from 10.0.0.0/16`)
 * for inline `ingress`/`egress` blocks and rule resources, and load balancer listener rules as their
 * priority, conditions (host, path, header, method, query, source IP) and actions (forward,
 * redirect, fixed response, authentication). A new ingress from the internet, an ingress added to
 * an existing group, and an authentication or source-IP condition taken away are called out.
 */
import type { PlanResourceChange } from '../plan-summary';
import type { ItemDelta, ListenerRuleReview, NetworkRuleReview } from './model';
import {
  afterOf,
  asRecord,
  attribute,
  beforeOf,
  stringsOf,
  type JsonRecord,
  type ReviewAction,
} from './values';

const UNKNOWN = '(known after apply)';

export const SECURITY_GROUP_TYPES: ReadonlySet<string> = new Set([
  'aws_security_group',
  'aws_security_group_rule',
  'aws_vpc_security_group_ingress_rule',
  'aws_vpc_security_group_egress_rule',
]);

export const LISTENER_TYPES: ReadonlySet<string> = new Set([
  'aws_lb_listener_rule',
  'aws_alb_listener_rule',
  'aws_lb_listener',
  'aws_alb_listener',
]);

/** A value of a nested block, or `(known after apply)` when the plan says so. */
function valueAt(values: JsonRecord, unknown: unknown, key: string): unknown {
  if (asRecord(unknown)[key] === true) return UNKNOWN;
  return values[key];
}

function protocolName(value: unknown): string {
  const p = String(value ?? '').toLowerCase();
  if (p === '-1' || p === 'all') return 'all';
  if (p === '6') return 'tcp';
  if (p === '17') return 'udp';
  if (p === '1') return 'icmp';
  return p || '?';
}

function ports(protocol: string, from: unknown, to: unknown): string {
  if (protocol === 'all') return 'all traffic';
  const f = from === undefined || from === null ? undefined : Number(from);
  const t = to === undefined || to === null ? f : Number(to);
  if (f === undefined || Number.isNaN(f)) return protocol;
  if ((f === 0 || f === -1) && (t === 65535 || t === -1 || t === 0)) return `${protocol} all ports`;
  return f === t ? `${protocol} port ${f}` : `${protocol} ports ${f}-${t}`;
}

interface RuleParts {
  readonly direction: 'ingress' | 'egress';
  readonly protocol: unknown;
  readonly from: unknown;
  readonly to: unknown;
  readonly peers: readonly string[];
}

/** One line per peer: set differences then say exactly which peer came or went. */
function ruleLines(parts: RuleParts): string[] {
  const traffic = ports(protocolName(parts.protocol), parts.from, parts.to);
  const word = parts.direction === 'ingress' ? 'from' : 'to';
  const peers = parts.peers.length > 0 ? parts.peers : ['(no peer)'];
  return peers.map((peer) => `${parts.direction} ${traffic} ${word} ${peer}`);
}

/** Inline `ingress`/`egress` blocks of `aws_security_group`. */
function groupBlocks(values: JsonRecord | null, unknown: unknown): string[] | null {
  if (!values) return [];
  const lines: string[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    if (asRecord(unknown)[direction] === true) return null;
    for (const block of Array.isArray(values[direction]) ? values[direction] : []) {
      const b = asRecord(block);
      lines.push(
        ...ruleLines({
          direction,
          protocol: b.protocol,
          from: b.from_port,
          to: b.to_port,
          peers: [
            ...stringsOf(b.cidr_blocks),
            ...stringsOf(b.ipv6_cidr_blocks),
            ...stringsOf(b.prefix_list_ids),
            ...stringsOf(b.security_groups),
            ...(b.self === true ? ['self'] : []),
          ],
        }),
      );
    }
  }
  return lines;
}

/** `aws_security_group_rule` and the `aws_vpc_security_group_*_rule` resources. */
function ruleResource(type: string, values: JsonRecord | null, unknown: unknown): string[] {
  if (!values) return [];
  const v = (key: string) => valueAt(values, unknown, key);
  const group = v('security_group_id');
  const on = ` (group ${typeof group === 'string' ? group : UNKNOWN})`;
  if (type === 'aws_security_group_rule') {
    const source = v('source_security_group_id');
    return ruleLines({
      direction: v('type') === 'egress' ? 'egress' : 'ingress',
      protocol: v('protocol'),
      from: v('from_port'),
      to: v('to_port'),
      peers: [
        ...stringsOf(v('cidr_blocks')),
        ...stringsOf(v('ipv6_cidr_blocks')),
        ...stringsOf(v('prefix_list_ids')),
        ...(typeof source === 'string' ? [source] : []),
        ...(v('self') === true ? ['self'] : []),
      ],
    }).map((l) => l + on);
  }
  return ruleLines({
    direction: type.endsWith('_egress_rule') ? 'egress' : 'ingress',
    protocol: v('ip_protocol'),
    from: v('from_port'),
    to: v('to_port'),
    peers: ['cidr_ipv4', 'cidr_ipv6', 'prefix_list_id', 'referenced_security_group_id'].flatMap((k) =>
      stringsOf(v(k)),
    ),
  }).map((l) => l + on);
}

function delta(before: readonly string[], after: readonly string[]): ItemDelta {
  const b = new Set(before);
  const a = new Set(after);
  return {
    added: [...a].filter((x) => !b.has(x)),
    removed: [...b].filter((x) => !a.has(x)),
    kept: [...a].filter((x) => b.has(x)),
  };
}

const INTERNET = / from (0\.0\.0\.0\/0|::\/0)( |$)/;

export function reviewSecurityGroup(
  rc: PlanResourceChange,
  action: ReviewAction,
  constructPath: string | null,
): NetworkRuleReview | null {
  const before = beforeOf(rc);
  const after = afterOf(rc);
  const unknown = rc.change.after_unknown;
  let beforeLines: string[];
  let afterLines: string[];
  if (rc.type === 'aws_security_group') {
    const b = groupBlocks(before, undefined);
    const a = groupBlocks(after, unknown);
    if (b === null || a === null) return null;
    beforeLines = b;
    afterLines = a;
  } else {
    beforeLines = ruleResource(rc.type, before, undefined);
    afterLines = ruleResource(rc.type, after, unknown);
  }
  const rules = delta(beforeLines, afterLines);
  if (rules.added.length === 0 && rules.removed.length === 0) return null;
  // Ingress added to a group that exists already opens it now; a new group's rules are part of it.
  // A group this plan creates has no id yet, so a rule naming a known group id names an existing one.
  const group = attribute(rc, 'after', 'security_group_id');
  const onExisting =
    rc.type === 'aws_security_group'
      ? action !== 'create'
      : group.state === 'known' && typeof group.value === 'string';
  const widens = rules.added
    .filter((r) => r.startsWith('ingress '))
    .flatMap((r) =>
      INTERNET.test(r) ? [`ingress from the internet: ${r}`] : onExisting ? [`adds ${r}`] : [],
    );
  return {
    kind: 'security-group-rules',
    address: rc.address,
    type: rc.type,
    action,
    constructPath,
    widens,
    rules,
  };
}

function conditionLines(values: JsonRecord | null): string[] {
  if (!values) return [];
  const lines: string[] = [];
  for (const c of Array.isArray(values.condition) ? values.condition : []) {
    const cond = asRecord(c);
    const first = (key: string) => asRecord(Array.isArray(cond[key]) ? cond[key][0] : cond[key]);
    for (const v of stringsOf(first('host_header').values)) lines.push(`host ${v}`);
    for (const v of stringsOf(first('path_pattern').values)) lines.push(`path ${v}`);
    for (const v of stringsOf(first('http_request_method').values)) lines.push(`method ${v}`);
    for (const v of stringsOf(first('source_ip').values)) lines.push(`source ${v}`);
    const header = first('http_header');
    for (const v of stringsOf(header.values)) lines.push(`header ${String(header.http_header_name)} ${v}`);
    for (const q of Array.isArray(cond.query_string) ? cond.query_string : []) {
      const qs = asRecord(q);
      lines.push(
        `query ${qs.key === null || qs.key === undefined ? '' : `${String(qs.key)}=`}${String(qs.value)}`,
      );
    }
  }
  return lines;
}

function actionLines(
  values: JsonRecord | null,
  unknown: unknown,
  key: 'action' | 'default_action',
): string[] {
  if (!values) return [];
  const actions = Array.isArray(values[key]) ? (values[key] as unknown[]) : [];
  const unknowns = Array.isArray(asRecord(unknown)[key]) ? (asRecord(unknown)[key] as unknown[]) : [];
  return actions.map((raw, i) => {
    const a = asRecord(raw);
    const u = unknowns[i];
    const block = (name: string) => asRecord(Array.isArray(a[name]) ? a[name][0] : a[name]);
    const order = a.order === null || a.order === undefined ? '' : `${String(a.order)}. `;
    switch (a.type) {
      case 'forward': {
        const tg = valueAt(a, u, 'target_group_arn');
        if (typeof tg === 'string' && tg !== '') return `${order}forward to ${tg}`;
        const groups = Array.isArray(block('forward').target_group)
          ? (block('forward').target_group as unknown[])
          : [];
        const targets = groups.map((g) => {
          const t = asRecord(g);
          return `${typeof t.arn === 'string' ? t.arn : UNKNOWN} (weight ${String(t.weight ?? 1)})`;
        });
        return `${order}forward to ${targets.length > 0 ? targets.join(', ') : UNKNOWN}`;
      }
      case 'redirect': {
        const r = block('redirect');
        const part = (k: string, d: string) => (typeof r[k] === 'string' ? r[k] : d);
        return `${order}redirect ${String(r.status_code ?? '')} to ${part('protocol', '#{protocol}')}://${part('host', '#{host}')}:${part('port', '#{port}')}${part('path', '/#{path}')}`;
      }
      case 'fixed-response':
        return `${order}fixed response ${String(block('fixed_response').status_code ?? '')}`;
      case 'authenticate-cognito':
        return `${order}authenticate with Cognito user pool ${String(block('authenticate_cognito').user_pool_arn ?? UNKNOWN)}`;
      case 'authenticate-oidc':
        // Never the client secret.
        return `${order}authenticate with OIDC issuer ${String(block('authenticate_oidc').issuer ?? UNKNOWN)}`;
      default:
        return `${order}${String(a.type)}`;
    }
  });
}

export function reviewListener(
  rc: PlanResourceChange,
  action: ReviewAction,
  constructPath: string | null,
): ListenerRuleReview | null {
  const before = beforeOf(rc);
  const after = afterOf(rc);
  const isRule = rc.type.endsWith('_rule');
  const key = isRule ? 'action' : 'default_action';
  const conditions = delta(conditionLines(before), conditionLines(after));
  const actions = delta(
    actionLines(before, undefined, key),
    actionLines(after, rc.change.after_unknown, key),
  );
  const priorityOf = (values: JsonRecord | null, unknown: unknown) => {
    if (!values) return undefined;
    if (!isRule) return `port ${String(values.port ?? '?')} ${String(values.protocol ?? '')}`.trim();
    const p = valueAt(values, unknown, 'priority');
    return p === undefined || p === null ? UNKNOWN : String(p);
  };
  const priority = {
    ...(before ? { before: priorityOf(before, undefined) } : {}),
    ...(after ? { after: priorityOf(after, rc.change.after_unknown) } : {}),
  };
  const nothing = [conditions, actions].every((d) => d.added.length === 0 && d.removed.length === 0);
  if (nothing && priority.before === priority.after) return null;
  const widens: string[] = [];
  if (action !== 'create' && action !== 'delete') {
    for (const a of actions.removed)
      if (
        /authenticate with/.test(a) &&
        !actions.added.some((x) => x.replace(/^\d+\. /, '') === a.replace(/^\d+\. /, ''))
      )
        widens.push(`no longer authenticates: ${a}`);
    if (conditions.removed.some((c) => c.startsWith('source ')))
      widens.push(
        `source IP condition removed or changed: ${conditions.removed.filter((c) => c.startsWith('source ')).join(', ')}`,
      );
  }
  return {
    kind: 'listener-rule',
    address: rc.address,
    type: rc.type,
    action,
    constructPath,
    widens,
    priority,
    conditions,
    actions,
  };
}
