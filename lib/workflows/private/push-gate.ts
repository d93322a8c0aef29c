/**
 * The push gate of the apply workflow (with a `release`): before an auto-deploy environment deploys a push,
 * the commit's own checks must have passed (a workflow its path filters skipped has no check run and counts
 * as passed; a failed one blocks), and only an environment where `gantry changed` names a service deploys:
 * a change to workflows or docs alone deploys nothing.
 */
import type { GantryConfig } from '../../config';
import { DEFAULT_TRUSTED_ENVIRONMENT } from '../../core/naming';
import { uses } from '../pins';
import type { PushBuilds } from './push-build';
import type { ResolvedOptions, Yaml } from './steps';

export const PUSH_GATE_JOB = 'changes';

/** Polls the commit's check runs (this run's own excluded) until all completed; fails on a failed one. */
export const CHECKS_SCRIPT = [
  'const self = `/actions/runs/${context.runId}/`;',
  "const failed = ['failure', 'cancelled', 'timed_out', 'action_required', 'startup_failure', 'stale'];",
  'const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));',
  'const deadline = Date.now() + 25 * 60 * 1000;',
  'let settled = 0;',
  'for (;;) {',
  '  const runs = await github.paginate(github.rest.checks.listForRef, {',
  '    owner: context.repo.owner, repo: context.repo.repo, ref: context.sha, per_page: 100,',
  '  });',
  "  const others = runs.filter((r) => !(r.details_url || '').includes(self));",
  "  const bad = others.filter((r) => r.status === 'completed' && failed.includes(r.conclusion));",
  '  if (bad.length > 0) {',
  "    core.setFailed(`checks failed on ${context.sha}: ${bad.map((r) => `${r.name} (${r.conclusion})`).join(', ')}; nothing is deployed`);",
  '    return;',
  '  }',
  "  const pending = others.filter((r) => r.status !== 'completed');",
  '  settled = pending.length === 0 ? settled + 1 : 0;',
  '  if (settled >= 2) {',
  '    core.info(`${others.length} check(s) passed (a workflow skipped by its path filters has none and counts as passed)`);',
  '    return;',
  '  }',
  '  if (Date.now() > deadline) {',
  "    core.setFailed(`checks still running after 25 minutes: ${pending.map((r) => r.name).join(', ')}`);",
  '    return;',
  '  }',
  "  core.info(`waiting for ${pending.map((r) => r.name).join(', ') || 'the checks to settle'}`);",
  '  await sleep(20000);',
  '}',
  '',
].join('\n');

/**
 * `deploy=["dev"]`: the auto-deploy environments where `gantry changed` names at least one service; with push
 * builds, `builds={"dev":[{ service, context, dockerfile }]}`: the changed services each builds here.
 */
function changedScript(environments: readonly string[], builds: PushBuilds): string {
  const building = Object.keys(builds).length > 0;
  return [
    'set -euo pipefail',
    'deploy=()',
    ...(building ? ["builds='{}'"] : []),
    ...environments.flatMap((env) => [
      ...(building && builds[env]
        ? [
            `report="$(npx gantry changed ${env} --json --no-synth)"`,
            'services="$(jq -c .services <<< "$report")"',
            `builds="$(jq -c --arg env ${env} --argjson built '${JSON.stringify(builds[env])}' --argjson report "$report" '. + {($env): [$report.include[] | select(.service as $s | any($built[]; . == $s)) | {service, context, dockerfile}]}' <<< "$builds")"`,
          ]
        : [`services="$(npx gantry changed ${env} --json --no-synth | jq -c .services)"`]),
      `echo "${env}: $services"`,
      `if [ "$services" != "[]" ]; then deploy+=("${env}"); fi`,
    ]),
    'echo "deploy=$(jq -cn \'$ARGS.positional\' --args "${deploy[@]}")" >> "$GITHUB_OUTPUT"',
    ...(building ? ['echo "builds=$builds" >> "$GITHUB_OUTPUT"'] : []),
    '',
  ].join('\n');
}

/** The job: always runs (its steps only on a push), bound to the trusted environment for the ledger URL. */
export function pushGateJob(config: GantryConfig, options: ResolvedOptions, builds: PushBuilds = {}): Yaml {
  const onPush = "github.event_name == 'push'";
  return {
    name: 'Checks passed and what changed (push)',
    'runs-on': options.runsOn,
    'timeout-minutes': 30,
    // Only the default branch may use it: the ledger URL is its secret.
    environment: config.organization.github.trustedEnvironment ?? DEFAULT_TRUSTED_ENVIRONMENT,
    permissions: { contents: 'read', checks: 'read' },
    outputs: {
      deploy: '${{ steps.changed.outputs.deploy }}',
      ...(Object.keys(builds).length > 0 ? { builds: '${{ steps.changed.outputs.builds }}' } : {}),
    },
    steps: [
      {
        name: "Wait for this commit's own checks",
        if: onPush,
        uses: uses('githubScript'),
        with: { script: CHECKS_SCRIPT },
      },
      {
        name: 'Check out (full history, for gantry changed)',
        if: onPush,
        uses: uses('checkout'),
        with: { 'persist-credentials': false, 'fetch-depth': 0 },
      },
      {
        name: 'Set up Node.js',
        if: onPush,
        uses: uses('setupNode'),
        with: { 'node-version': options.nodeVersion, cache: 'npm' },
      },
      { name: 'Install', if: onPush, run: 'npm ci' },
      { name: 'Synthesize', if: onPush, run: 'npm run synth' },
      {
        name: 'What changed since the last apply',
        id: 'changed',
        if: onPush,
        env: { GANTRY_LEDGER_URL: `\${{ secrets.${options.ledgerUrlSecret} }}` },
        run: changedScript(options.autoDeployEnvironments, builds),
      },
    ],
  };
}
