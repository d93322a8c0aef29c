/**
 * `gantry status`: what runs where now, from the ledger alone. Per environment and service: the
 * live version (the newest deployment that ended `verified`, or `deployed` with no check, which is
 * what a rollback goes back to), since when, by whom, from which commit, and the newest deployment
 * whatever its status (a failed or rolled-back one shows there, not as live).
 */
import type { DeploymentRecord, DeploymentStatus, Ledger } from '../ledger';

export interface ServiceStatus {
  readonly environment: string;
  readonly service: string;
  /** The live tag; null when no deployment of the service ever ended good. */
  readonly imageTag: string | null;
  readonly verified: boolean;
  readonly since: string | null;
  readonly actor: string | null;
  readonly commitSha: string | null;
  readonly runId: string | null;
  readonly latestTag: string;
  readonly latestStatus: DeploymentStatus;
  readonly latestReason: string | null;
  readonly latestRunId: string;
}

const good = (d: DeploymentRecord) =>
  d.status === 'verified' || (d.status === 'deployed' && d.finishedAt !== null);

export async function liveStatus(ledger: Ledger, environment?: string): Promise<ServiceStatus[]> {
  const rows = await ledger.listDeployments({ environment, limit: 5000 });
  const byKey = new Map<string, DeploymentRecord[]>();
  for (const d of rows) {
    const key = `${d.environment}\u0000${d.service}`;
    byKey.set(key, [...(byKey.get(key) ?? []), d]);
  }
  return [...byKey.values()]
    .map((list) => {
      const latest = list[0];
      const live = list.find(good) ?? null;
      return {
        environment: latest.environment,
        service: latest.service,
        imageTag: live?.imageTag ?? null,
        verified: live?.status === 'verified',
        since: live?.finishedAt ?? null,
        actor: live?.actor ?? null,
        commitSha: live?.commitSha ?? null,
        runId: live?.runId ?? null,
        latestTag: latest.imageTag,
        latestStatus: latest.status,
        latestReason: latest.reason,
        latestRunId: latest.runId,
      };
    })
    .sort((a, b) => a.environment.localeCompare(b.environment) || a.service.localeCompare(b.service));
}

export function renderStatus(rows: readonly ServiceStatus[]): string {
  if (rows.length === 0) return 'status: no deployment in the ledger';
  const table = [
    ['ENVIRONMENT', 'SERVICE', 'TAG', 'VERIFIED', 'SINCE', 'BY', 'COMMIT', 'LATEST'],
    ...rows.map((r) => [
      r.environment,
      r.service,
      r.imageTag ?? '-',
      r.verified ? 'yes' : 'no',
      r.since ?? '-',
      r.actor ?? '-',
      r.commitSha ? r.commitSha.slice(0, 12) : '-',
      r.latestTag === r.imageTag && r.latestRunId === r.runId
        ? r.latestStatus
        : `${r.latestTag} ${r.latestStatus}`,
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return table
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
