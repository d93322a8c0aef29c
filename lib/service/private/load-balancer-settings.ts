/**
 * The checks of an application load balancer's settings, shared by `validateConfig` (reported at the
 * config path `<env>.loadBalancer.create.<field>`) and the `ApplicationLoadBalancer` construct
 * (reported at its construct path), so both say the same thing about the same value.
 */
import { Token } from 'cdktf';
import type { FieldProblem } from '../../core/errors';
import { bucketNameProblem, subnetIdProblem } from '../../core/identifiers';
import { partitionOf } from '../../core/naming';
import { TLS12_SECURITY_POLICY } from '../../policy/rules';
import type { ApplicationLoadBalancerSettings } from '../application-load-balancer';

/** One problem: the field (relative to the settings) and what is wrong with it, and what is allowed. */
export type SettingProblem = FieldProblem;

const CERTIFICATE_ARN = /^arn:(aws[a-z-]*):acm:([a-z0-9-]+):(\d{12}):certificate\/[A-Za-z0-9-]+$/;
const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const MAX_IDLE_TIMEOUT_SECONDS = 4000;

const show = (value: unknown) => (value === undefined ? 'undefined' : JSON.stringify(value));
const known = (value: unknown) => !Token.isUnresolved(value);

/**
 * Why `cidr` is not an IPv4 network in CIDR form, or `undefined` when it is. Security group rules
 * take only network addresses: `10.0.0.1/16` is refused, `10.0.0.0/16` is meant.
 */
export function ipv4CidrProblem(cidr: string): string | undefined {
  const match = IPV4_CIDR.exec(cidr);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const prefix = match ? Number(match[5]) : NaN;
  if (!match || octets.some((o) => o > 255) || prefix > 32) {
    return `${show(cidr)} is not an IPv4 CIDR (a.b.c.d/n, e.g. "203.0.113.0/24")`;
  }
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(address / size) * size;
  if (network !== address) {
    const parts = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
    return `${show(cidr)} is not a network address (host bits set); did you mean "${parts.join('.')}/${prefix}"?`;
  }
  return undefined;
}

/**
 * Every problem of `settings` (the construct's, or the configuration's `loadBalancer.create`, which has
 * the same shape) for a load balancer in `accountId`/`region`. Values that are unresolved tokens are
 * skipped (the construct may receive references).
 */
export function loadBalancerSettingsProblems(
  settings: ApplicationLoadBalancerSettings,
  where: { readonly accountId: string; readonly region: string },
): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const check = (ok: boolean, field: string, message: string) => {
    if (!ok) problems.push({ field, message });
  };

  const subnets = settings.subnetIds ?? [];
  if (known(subnets)) {
    check(
      subnets.length >= 2,
      'subnetIds',
      `${subnets.length} subnet(s) given; an application load balancer needs at least 2, in distinct Availability Zones`,
    );
    const seen = new Set<string>();
    for (const id of subnets.filter(known)) {
      const problem = subnetIdProblem(id);
      if (problem) problems.push({ field: 'subnetIds', message: problem });
      check(!seen.has(id), 'subnetIds', `${show(id)} is listed twice; give distinct subnets`);
      seen.add(id);
    }
  }

  const certificate = settings.certificateArn;
  if (known(certificate)) {
    const match = typeof certificate === 'string' ? CERTIFICATE_ARN.exec(certificate) : null;
    if (!match) {
      problems.push({
        field: 'certificateArn',
        message: `${show(certificate)} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)`,
      });
    } else {
      const [, partition, region, account] = match;
      check(
        region === where.region && account === where.accountId && partition === partitionOf(where.region),
        'certificateArn',
        `${show(certificate)} is in ${region}/${account}; the load balancer is in ${where.region}/${where.accountId}, and ELB uses only certificates of its own account and region`,
      );
    }
  }

  if (settings.internal !== undefined) {
    check(
      typeof settings.internal === 'boolean',
      'internal',
      `${show(settings.internal)} must be true or false`,
    );
  }
  if (settings.httpRedirect !== undefined) {
    check(
      typeof settings.httpRedirect === 'boolean',
      'httpRedirect',
      `${show(settings.httpRedirect)} must be true or false`,
    );
  }

  const cidrs = settings.allowedCidrs;
  if (cidrs === undefined) {
    check(
      settings.internal !== true,
      'allowedCidrs',
      'not given, but the load balancer is internal; name the networks that may reach it (e.g. the VPC CIDR "10.0.0.0/16")',
    );
  } else if (known(cidrs)) {
    check(
      cidrs.length > 0,
      'allowedCidrs',
      'empty, so no one could connect; name at least one IPv4 CIDR (or leave it out for "0.0.0.0/0" on an internet-facing load balancer)',
    );
    const seen = new Set<string>();
    for (const cidr of cidrs.filter(known)) {
      const problem = ipv4CidrProblem(cidr);
      if (problem) problems.push({ field: 'allowedCidrs', message: problem });
      check(!seen.has(cidr), 'allowedCidrs', `${show(cidr)} is listed twice`);
      seen.add(cidr);
    }
  }

  if (settings.sslPolicy !== undefined && known(settings.sslPolicy)) {
    check(
      TLS12_SECURITY_POLICY.test(settings.sslPolicy),
      'sslPolicy',
      `${show(settings.sslPolicy)} is not a TLS 1.2+ ELB security policy (ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -TLS-1-2-*, -FS-1-2-*; e.g. "ELBSecurityPolicy-TLS13-1-2-2021-06")`,
    );
  }
  if (settings.desyncMitigationMode !== undefined) {
    check(
      ['defensive', 'strictest'].includes(String(settings.desyncMitigationMode)),
      'desyncMitigationMode',
      `${show(settings.desyncMitigationMode)} is not "defensive" or "strictest" ("monitor" lets desync requests through)`,
    );
  }
  const idle = settings.idleTimeoutSeconds;
  if (idle !== undefined && known(idle)) {
    check(
      Number.isInteger(idle) && idle >= 1 && idle <= MAX_IDLE_TIMEOUT_SECONDS,
      'idleTimeoutSeconds',
      `${show(idle)} must be an integer from 1 to ${MAX_IDLE_TIMEOUT_SECONDS} seconds`,
    );
  }

  const logs = settings.accessLogs;
  if (logs) {
    if (known(logs.bucket)) {
      const problem = bucketNameProblem(logs.bucket);
      if (problem) problems.push({ field: 'accessLogs.bucket', message: problem });
    }
    if (logs.prefix !== undefined && known(logs.prefix)) {
      check(
        logs.prefix !== '' && !logs.prefix.startsWith('/') && !logs.prefix.endsWith('/'),
        'accessLogs.prefix',
        `${show(logs.prefix)} must be non-empty and neither start nor end with "/" (ELB adds "/AWSLogs/<account>/...")`,
      );
      check(
        !logs.prefix.includes('AWSLogs'),
        'accessLogs.prefix',
        `${show(logs.prefix)} contains "AWSLogs", which Elastic Load Balancing refuses in a prefix`,
      );
    }
  }

  if (settings.disableDeletionProtection !== undefined) {
    check(
      (settings.disableDeletionProtection.reason ?? '').trim().length >= 10,
      'disableDeletionProtection.reason',
      'deletion protection stays on unless a reason of 10+ characters says why the load balancer may be deleted (e.g. "ephemeral preview environment")',
    );
  }
  return problems;
}
