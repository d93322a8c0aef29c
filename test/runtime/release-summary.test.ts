import type { DeploymentRecord } from '../../lib/runtime/ledger';
import { Redactor } from '../../lib/runtime/redaction';
import type { ReleaseResult } from '../../lib/runtime/release/deploy';
import { releaseSummaryMarkdown } from '../../lib/runtime/release/summary';

function deployment(
  service: string,
  imageTag: string,
  previousTag: string | null,
  status: DeploymentRecord['status'],
  reason: string | null = null,
): DeploymentRecord {
  return {
    id: `${service}-1`,
    runId: 'run-7',
    environment: 'prod',
    service,
    imageTag,
    previousTag,
    taskDefinition: null,
    digest: null,
    commitSha: 'a'.repeat(40),
    actor: 'octocat',
    status,
    reason,
    startedAt: '2026-12-01T10:00:00Z',
    updatedAt: '2026-12-01T10:05:00Z',
    finishedAt: '2026-12-01T10:05:00Z',
    acknowledgedAt: null,
    acknowledgedBy: null,
    ackReason: null,
  };
}

const result = (over: Partial<ReleaseResult>): ReleaseResult => ({
  exitCode: 0,
  outcome: 'verified',
  runId: 'run-7',
  reason: null,
  deployments: [],
  migrations: [],
  verify: [],
  notifications: [],
  ...over,
});

describe('releaseSummaryMarkdown', () => {
  test('a verified deploy: the outcome, the run and one row per service with its tags and status', () => {
    const markdown = releaseSummaryMarkdown(
      result({
        deployments: [
          deployment('api', 'v1.4.0', 'v1.3.0', 'verified'),
          deployment('worker', 'v1.4.0', null, 'deployed'),
        ],
        migrations: [{ service: 'api', ok: true, exitCode: 0, taskArn: 'arn:task/1', reason: 'exited 0' }],
        verify: [
          {
            service: 'api',
            url: 'https://api.example.com/health',
            ok: true,
            attempts: 1,
            lastStatus: 200,
            reason: 'HTTP 200',
          },
        ],
      }),
      'deploy',
      'prod',
      new Redactor(),
    );
    expect(markdown.split('\n')).toEqual([
      '### `gantry deploy prod`: verified (run run-7)',
      '',
      'Exit code 0.',
      '',
      '| Service | Tag | Previous tag | Status | Reason |',
      '| --- | --- | --- | --- | --- |',
      '| api | `v1.4.0` | `v1.3.0` | verified |  |',
      '| worker | `v1.4.0` | none | deployed |  |',
      '',
      '- migration of api: ok, exited 0',
      '- verify of api: ok, HTTP 200',
    ]);
  });

  test('a rolled-back deploy says so, and a reason cannot break the table or leak a secret', () => {
    const redactor = new Redactor();
    redactor.addSecretValue('hunter2-secret-token');
    const reason = 'verify of api failed: 503 | body <b>down</b>\nhunter2-secret-token';
    const markdown = releaseSummaryMarkdown(
      result({
        exitCode: 1,
        outcome: 'rolled_back',
        reason,
        deployments: [deployment('api', 'v1.4.0', 'v1.3.0', 'rolled_back', reason)],
      }),
      'deploy',
      'prod',
      redactor,
    );
    const lines = markdown.split('\n');
    expect(lines[0]).toBe('### `gantry deploy prod`: ROLLED BACK (run run-7)');
    const row = lines.find((l) => l.startsWith('| api '))!;
    expect(row.split(/(?<!\\)\|/)).toHaveLength(7);
    expect(row).toContain('503 \\| body &lt;b&gt;down&lt;/b&gt;');
    expect(markdown).not.toContain('hunter2-secret-token');
  });

  test('a refusal has no table: the outcome and why', () => {
    const markdown = releaseSummaryMarkdown(
      result({ exitCode: 3, outcome: 'refused', reason: 'prod is busy: run 6 is deploying' }),
      'rollback',
      'prod',
      new Redactor(),
    );
    expect(markdown).toBe(
      '### `gantry rollback prod`: REFUSED (run run-7)\n\nExit code 3. prod is busy: run 6 is deploying',
    );
  });
});
