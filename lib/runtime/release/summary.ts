/**
 * The outcome of a deploy or rollback as Markdown, for `$GITHUB_STEP_SUMMARY`: a heading with the
 * outcome and the run, the reason, and one table row per service (tag, previous tag, status, reason),
 * then the migrations and checks that ran. Every text goes through the run's redactor; table cells
 * are escaped (`|`, HTML, line breaks), so a reason cannot break the table.
 */
import type { Redactor } from '../redaction';
import { escapeHtml } from '../review/render';
import type { ReleaseResult } from './deploy';

const OUTCOME_LABEL: Readonly<Record<ReleaseResult['outcome'], string>> = {
  verified: 'verified',
  deployed: 'deployed',
  no_changes: 'no image tag changes',
  rolled_back: 'ROLLED BACK',
  failed: 'FAILED',
  refused: 'REFUSED',
};

/** One table cell: redacted, one line, no `|`, no HTML. */
function cell(redactor: Redactor, value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  return escapeHtml(redactor.scrub(value))
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/\|/g, '\\|');
}

const tag = (redactor: Redactor, value: string | null) => (value ? `\`${cell(redactor, value)}\`` : 'none');

/** `what`: `deploy`, `redeploy` (`deploy --redeploy`) or `rollback`; `environment`: e.g. `prod`. */
export function releaseSummaryMarkdown(
  result: ReleaseResult,
  what: 'deploy' | 'redeploy' | 'rollback',
  environment: string,
  redactor: Redactor,
): string {
  const run = result.runId ? ` (run ${cell(redactor, result.runId)})` : '';
  const lines = [
    `### \`gantry ${what === 'redeploy' ? 'deploy' : what} ${cell(redactor, environment)}${what === 'redeploy' ? ' --redeploy' : ''}\`: ${OUTCOME_LABEL[result.outcome]}${run}`,
    '',
    `Exit code ${result.exitCode}.${result.reason ? ` ${cell(redactor, result.reason)}` : ''}`,
  ];
  if (result.deployments.length > 0) {
    lines.push('', '| Service | Tag | Previous tag | Status | Reason |', '| --- | --- | --- | --- | --- |');
    for (const d of result.deployments) {
      lines.push(
        `| ${cell(redactor, d.service)} | ${tag(redactor, d.imageTag)} | ${tag(redactor, d.previousTag)} | ${cell(redactor, d.status)} | ${cell(redactor, d.reason)} |`,
      );
    }
  }
  const checks = [
    ...result.migrations.map(
      (m) =>
        `- migration of ${cell(redactor, m.service)}: ${m.ok ? 'ok' : 'FAILED'}, ${cell(redactor, m.reason)}`,
    ),
    ...result.verify.map(
      (v) =>
        `- verify of ${cell(redactor, v.service)}: ${v.ok ? 'ok' : 'FAILED'}, ${cell(redactor, v.reason)}`,
    ),
  ];
  if (checks.length > 0) lines.push('', ...checks);
  return lines.join('\n');
}
