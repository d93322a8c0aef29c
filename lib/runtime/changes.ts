/**
 * What changed for an environment: the services whose source paths (`services[].sourcePaths`) hold a
 * file that differs between the commit last applied to `<env>-services` (the ledger) and the current
 * commit. A change to anything else (workflows, docs) names no service, so nothing is deployed.
 */
import { execFileSync } from 'node:child_process';
import { buildContextOf, type ServiceConfig } from '../config/services';
import { EXIT, RuntimeError } from './errors';
import type { Ledger } from './ledger';

/** One service to rebuild and redeploy: a row of the workflow matrix. */
export interface ChangedService {
  readonly service: string;
  /** The build context and Dockerfile (`<context>/Dockerfile` unless configured). */
  readonly context: string;
  readonly dockerfile: string;
  /** The changed files under its source paths (at most 20 listed). */
  readonly files: readonly string[];
}

export interface ChangeReport {
  readonly environment: string;
  /** The commit last applied to `<env>-services`, or null when none is recorded (every service changed). */
  readonly baseCommit: string | null;
  readonly headCommit: string;
  /** The ledger row the base commit comes from. */
  readonly baseRunId: string | null;
  readonly changedFiles: number;
  readonly services: readonly string[];
  /** The matrix rows: `strategy.matrix.include: ${{ fromJSON(...).include }}`. */
  readonly include: readonly ChangedService[];
}

/** A regular expression for one source path: `*` within a segment, `**` across, a plain path and everything under it. */
export function sourcePathPattern(pattern: string): RegExp {
  const trimmed = pattern.replace(/\/+$/, '');
  let source = '';
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i];
    if (c === '*' && trimmed[i + 1] === '*') {
      source += '.*';
      i++;
      if (trimmed[i + 1] === '/') i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}(?:/.*)?$`);
}

/** The services (with source paths) that `files` touch, in configuration order. */
export function changedServices(
  services: readonly ServiceConfig[],
  files: readonly string[],
): ChangedService[] {
  const result: ChangedService[] = [];
  for (const service of services) {
    if (!service.sourcePaths?.length) continue;
    const patterns = service.sourcePaths.map(sourcePathPattern);
    const touched = files.filter((f) => patterns.some((p) => p.test(f)));
    if (touched.length === 0) continue;
    const context = buildContextOf(service) ?? '.';
    result.push({
      service: service.name,
      context,
      dockerfile: service.build?.dockerfile ?? `${context === '.' ? '' : `${context}/`}Dockerfile`,
      files: touched.slice(0, 20),
    });
  }
  return result;
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The full SHA of `ref` in the repository at `cwd`; a RuntimeError (exit 3) when it does not resolve. */
export function resolveCommit(cwd: string, ref: string, what: string): string {
  try {
    return git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new RuntimeError(
      `${what} ${JSON.stringify(ref)} is not a commit of the repository at ${cwd} (a shallow clone? check out with fetch-depth: 0); refusing to guess what changed`,
      EXIT.refused,
    );
  }
}

/**
 * The report for `environment`: the base is the newest `applied` row of `<env>-services` with a commit;
 * with none recorded, every service with source paths counts as changed. A base commit the repository
 * does not have is refused (exit 3): what changed cannot be established.
 */
export async function detectChanges(options: {
  readonly ledger: Ledger;
  readonly environment: string;
  readonly services: readonly ServiceConfig[];
  readonly cwd: string;
  readonly head: string;
}): Promise<ChangeReport> {
  const head = resolveCommit(options.cwd, options.head, 'the current commit');
  const [last] = await options.ledger.listRuns({
    stack: `${options.environment}-services`,
    action: 'apply',
    status: 'applied',
    limit: 1,
  });
  const base = last?.commitSha ?? null;
  let files: string[];
  if (base === null) {
    files = git(options.cwd, ['ls-tree', '-r', '--name-only', head]).split('\n').filter(Boolean);
  } else {
    const baseCommit = resolveCommit(
      options.cwd,
      base,
      `the commit last applied to ${options.environment}-services (ledger row ${last.id})`,
    );
    files = git(options.cwd, ['diff', '--name-only', '--no-renames', baseCommit, head])
      .split('\n')
      .filter(Boolean);
  }
  const include = changedServices(options.services, files);
  return {
    environment: options.environment,
    baseCommit: base,
    headCommit: head,
    baseRunId: last?.id ?? null,
    changedFiles: files.length,
    services: include.map((c) => c.service),
    include,
  };
}

/** The report as lines for a person. */
export function renderChanges(report: ChangeReport): string {
  const from = report.baseCommit
    ? `${report.baseCommit.slice(0, 12)} (last applied, ledger row ${report.baseRunId})`
    : 'nothing applied yet (every service with source paths)';
  const lines = [
    `changed: ${report.environment}: ${from} -> ${report.headCommit.slice(0, 12)}: ${report.changedFiles} file(s) changed`,
  ];
  if (report.include.length === 0) lines.push('changed: no service changed, nothing to build or deploy');
  for (const c of report.include) lines.push(`  ${c.service}: ${c.files.join(', ')}`);
  return lines.join('\n');
}
