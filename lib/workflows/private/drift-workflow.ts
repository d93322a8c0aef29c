/** `terraform-drift.yml`: a scheduled `gantry drift` per stack with the read-only plan roles. */
import type { GantryConfig } from '../../config';
import { DEFAULT_TRUSTED_ENVIRONMENT } from '../../core/naming';
import { awsCredentialsStep, planRoleArnOf, setupSteps, type ResolvedOptions, type Yaml } from './steps';

/** Exit 2 is drift: the job fails with an annotation naming the stack, so the run turns red. */
const DRIFT_SCRIPT = [
  'set +e',
  'npx gantry drift "$STACK" --no-synth',
  'code=$?',
  'set -e',
  'case "$code" in',
  '  0) echo "### \\`$STACK\\`: no drift" >> "$GITHUB_STEP_SUMMARY" ;;',
  '  2)',
  '    echo "::error title=Drift on $STACK::the live infrastructure differs from the configuration; see the plan above"',
  '    echo "### \\`$STACK\\`: DRIFTED" >> "$GITHUB_STEP_SUMMARY"',
  '    exit 2 ;;',
  '  *)',
  '    echo "::error title=Drift check of $STACK failed::gantry drift exited $code"',
  '    exit "$code" ;;',
  'esac',
  '',
].join('\n');

export function driftWorkflow(config: GantryConfig, options: ResolvedOptions): Yaml {
  const include: Yaml[] = [];
  if (options.githubTokenSecret !== false) include.push({ stack: 'github', role: '', region: '' });
  for (const env of config.environments) {
    for (const stack of [`${env.name}-foundation`, `${env.name}-services`]) {
      include.push({ stack, role: planRoleArnOf(config, env), region: env.region });
    }
  }
  const credentials = awsCredentialsStep(
    'Assume the read-only plan role',
    '${{ matrix.role }}',
    '${{ matrix.region }}',
    'gantry-drift',
  );
  const stepEnv: Yaml = {
    STACK: '${{ matrix.stack }}',
    GANTRY_LEDGER_URL: `\${{ secrets.${options.ledgerUrlSecret} }}`,
  };
  if (options.githubTokenSecret !== false) {
    stepEnv.GITHUB_TOKEN = `\${{ matrix.stack == 'github' && secrets.${options.githubTokenSecret} || '' }}`;
  }
  return {
    name: 'terraform-drift',
    on: { schedule: [{ cron: options.driftCron }], workflow_dispatch: {} },
    permissions: {},
    concurrency: { group: 'terraform-drift', 'cancel-in-progress': false },
    jobs: {
      drift: {
        name: 'drift ${{ matrix.stack }}',
        // Bound to the environment only the default branch may use: its plan roles trust it, and the
        // ledger URL and the GitHub token are its secrets.
        environment: config.organization.github.trustedEnvironment ?? DEFAULT_TRUSTED_ENVIRONMENT,
        'runs-on': options.runsOn,
        'timeout-minutes': options.timeoutMinutes,
        permissions: { contents: 'read', 'id-token': 'write' },
        strategy: { 'fail-fast': false, matrix: { include } },
        steps: [
          ...setupSteps(options),
          { ...credentials, if: "matrix.role != ''" },
          { name: 'Drift ${{ matrix.stack }}', env: stepEnv, run: DRIFT_SCRIPT },
        ],
      },
    },
  };
}
