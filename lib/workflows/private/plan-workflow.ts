/**
 * `terraform-plan.yml`. On a push to the default branch, every stack is planned with the read-only plan
 * roles, in jobs bound to the trusted environment (only that branch may use it; it holds the ledger URL
 * and the GitHub token). On a pull request, the environments whose pull requests are planned (those that
 * require no approval, or opt in with a reason) are planned with their pull-request roles, without the
 * state lock and without the ledger, and one comment per environment is posted and updated in place;
 * an environment that requires an approval says so in its comment and is planned after the merge.
 */
import { plansPullRequests, type EnvironmentConfig, type GantryConfig } from '../../config';
import { DEFAULT_TRUSTED_ENVIRONMENT, pullRequestPlanRoleName, roleArn } from '../../core/naming';
import { uses } from '../pins';
import {
  awsCredentialsStep,
  envKey,
  planRoleArnOf,
  setupSteps,
  type ResolvedOptions,
  type Yaml,
} from './steps';

/**
 * Marked the one comment of all environments that earlier versions kept updating; the comment job
 * marks that comment superseded. Each environment's comment carries `planCommentMarker(name)`.
 */
export const PLAN_COMMENT_MARKER = '<!-- gantry:terraform-plan -->';

/** Marks the one comment the workflow keeps updating on a pull request for an environment (or `github`). */
export function planCommentMarker(name: string): string {
  return `<!-- gantry:terraform-plan:${name} -->`;
}

/** GitHub rejects comments over 65,536 characters; keep a margin for the header and footer. */
const COMMENT_LIMIT = 60000;
/** Room in a comment for the marker, heading, commit line and per-stack outcome lines. */
const COMMENT_HEADER = 1000;

/** Each stack's Markdown budget, so that the comment holding all of them stays under the limit uncut. */
export function stackMarkdownBudget(stacks: number): number {
  return Math.floor((COMMENT_LIMIT - COMMENT_HEADER) / Math.max(1, stacks));
}

/** The environment whose plan role can read the `github` stack's S3 state, if it has one. */
function githubStateEnvironment(config: GantryConfig): EnvironmentConfig | undefined {
  const backend = config.organization.githubStateBackend;
  if (!backend) return undefined;
  return config.environments.find((e) => e.stateBackend?.bucket === backend.bucket) ?? config.environments[0];
}

/**
 * Plans each stack in turn with `gantry plan`, which writes its Markdown summary, folded in a
 * `<details>` whose summary line has the counts and warnings, to the file named by
 * GITHUB_STEP_SUMMARY: each stack's summary goes to a file of its own, then to the step summary and
 * to the job output the comment job reads. Each stack gets an equal share of the comment's limit.
 * Every stack is planned even when one fails; a failed or refused stack gets an outcome line.
 */
function planScript(stacks: readonly string[], pullRequest: boolean): string {
  return [
    'set +e',
    'status=0',
    `for stack in ${stacks.join(' ')}; do`,
    '  part="$RUNNER_TEMP/gantry-plan-$stack.md"',
    '  : > "$part"',
    `  GITHUB_STEP_SUMMARY="$part" npx gantry plan "$stack" --no-synth${pullRequest ? ' --no-lock' : ''} --fold --max-chars ${stackMarkdownBudget(stacks.length)}`,
    '  code=$?',
    '  case "$code" in',
    '    0) outcome="planned" ;;',
    '    3) outcome="refused by a guard (exit 3)"; status=1 ;;',
    '    *) outcome="failed (exit $code)"; status=1 ;;',
    '  esac',
    '  [ "$code" -eq 0 ] || echo "::error title=gantry plan $stack::$outcome"',
    '  cat "$part" >> "$GITHUB_STEP_SUMMARY"',
    '  {',
    '    [ "$code" -eq 0 ] || { echo "**\\`$stack\\`: $outcome**, see the job log."; echo; }',
    '    cat "$part"; echo',
    '  } >> "$RUNNER_TEMP/gantry-plan.md"',
    'done',
    'exit "$status"',
    '',
  ].join('\n');
}

/** Hands the collected Markdown to the comment job (a random heredoc delimiter: the text is not ours). */
const REPORT_SCRIPT = [
  'delimiter="gantry-$(openssl rand -hex 16)"',
  '{',
  '  echo "summary<<$delimiter"',
  '  cat "$RUNNER_TEMP/gantry-plan.md" 2>/dev/null || echo "_The plan did not run; see the job log._"',
  '  echo "$delimiter"',
  '} >> "$GITHUB_OUTPUT"',
  '',
].join('\n');

/** Pushes to the default branch (the workflow's only push trigger). */
const ON_PUSH = "github.event_name == 'push'";
/** Same-repository pull requests: a fork's run gets no OIDC token. */
const ON_PULL_REQUEST =
  "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository";

interface PlanJob {
  readonly id: string;
  readonly title: string;
  readonly job: Yaml;
}

/** How a plan job runs: on which event, bound to which environment, with which role. */
interface PlanJobKind {
  readonly pullRequest: boolean;
  /** The trusted environment, for the default branch's jobs. */
  readonly environment?: string;
}

function planJob(
  id: string,
  title: string,
  stacks: readonly string[],
  options: ResolvedOptions,
  aws: { readonly role: string; readonly region: string } | undefined,
  env: Yaml,
  kind: PlanJobKind,
): PlanJob {
  return {
    id,
    title,
    job: {
      name: `plan ${title}${kind.pullRequest ? ' (pull request)' : ''}`,
      if: kind.pullRequest ? ON_PULL_REQUEST : ON_PUSH,
      ...(kind.environment ? { environment: kind.environment } : {}),
      'runs-on': options.runsOn,
      'timeout-minutes': options.timeoutMinutes,
      // id-token only where a role is assumed.
      permissions: aws ? { contents: 'read', 'id-token': 'write' } : { contents: 'read' },
      outputs: { summary: '${{ steps.report.outputs.summary }}' },
      steps: [
        ...setupSteps(options),
        ...(aws
          ? [
              awsCredentialsStep(
                kind.pullRequest ? 'Assume the pull-request plan role' : 'Assume the read-only plan role',
                aws.role,
                aws.region,
                'gantry-plan',
              ),
            ]
          : []),
        {
          name: `Plan ${stacks.join(', ')}`,
          ...(Object.keys(env).length > 0 ? { env } : {}),
          run: planScript(stacks, kind.pullRequest),
        },
        { name: 'Report', id: 'report', if: 'always()', run: REPORT_SCRIPT },
      ],
    },
  };
}

/**
 * The comment job's script: one comment per plan job (an environment, or `github`), found by its
 * marker among the pull request's comments by a bot and updated, or created when there is none;
 * the earlier all-environments comment is marked superseded. A body over the limit is cut at a
 * line, with every open `<details>` closed.
 */
function commentScript(
  jobs: readonly PlanJob[],
  notes: ReadonlyArray<{ name: string; text: string }>,
): string {
  return [
    `const limit = ${COMMENT_LIMIT};`,
    'const runUrl = `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`;',
    'const plans = [',
    ...jobs.map(
      (j) =>
        `  { name: ${JSON.stringify(j.title)}, marker: ${JSON.stringify(planCommentMarker(j.title))}, text: process.env.${commentVariable(j)} || '' },`,
    ),
    ...notes.map(
      (n) =>
        `  { name: ${JSON.stringify(n.name)}, marker: ${JSON.stringify(planCommentMarker(n.name))}, text: ${JSON.stringify(n.text)} },`,
    ),
    '];',
    'const { owner, repo } = context.repo;',
    'const issue_number = context.issue.number;',
    'const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });',
    "const ours = comments.filter((c) => c.user?.type === 'Bot');",
    'function fit(text) {',
    '  if (text.length <= limit) return text;',
    '  let cut = text.slice(0, limit);',
    "  cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\\n')));",
    '  const open = (cut.match(/<details[ >]/g) || []).length - (cut.match(/<\\/details>/g) || []).length;',
    "  return cut + '\\n</details>'.repeat(Math.max(0, open)) + `\\n\\n_Truncated: the full summaries are in the [run](${runUrl})._`;",
    '}',
    'for (const plan of plans) {',
    "  if (plan.text.trim() === '') continue;",
    "  const body = [plan.marker, `## Terraform plan: ${plan.name}`, '', `Commit ${context.sha.slice(0, 7)}, [run](${runUrl}).`, '', fit(plan.text)].join('\\n');",
    "  const previous = ours.find((c) => (c.body ?? '').startsWith(plan.marker));",
    '  if (previous) {',
    '    await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });',
    '  } else {',
    '    await github.rest.issues.createComment({ owner, repo, issue_number, body });',
    '  }',
    '}',
    `const legacy = ${JSON.stringify(PLAN_COMMENT_MARKER)};`,
    'const superseded = `${legacy}\\n_Superseded: the plan is now posted as one comment per environment._`;',
    'for (const c of ours) {',
    "  const body = c.body ?? '';",
    '  if (body.startsWith(legacy) && body !== superseded) {',
    '    await github.rest.issues.updateComment({ owner, repo, comment_id: c.id, body: superseded });',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The comment job's variable holding one plan job's summary. */
function commentVariable(job: PlanJob): string {
  return `PLAN_${envKey(job.title)}`;
}

export function planWorkflow(config: GantryConfig, options: ResolvedOptions): Yaml {
  const org = config.organization;
  const branch = org.github.defaultBranch;
  const trusted = org.github.trustedEnvironment ?? DEFAULT_TRUSTED_ENVIRONMENT;
  const onBranch: PlanJobKind = { pullRequest: false, environment: trusted };
  const ledger = (): Yaml => ({ GANTRY_LEDGER_URL: `\${{ secrets.${options.ledgerUrlSecret} }}` });
  const jobs: PlanJob[] = [];
  if (options.githubTokenSecret !== false) {
    const stateEnv = githubStateEnvironment(config);
    jobs.push(
      planJob(
        'plan-github',
        'github',
        ['github'],
        options,
        stateEnv ? { role: planRoleArnOf(config, stateEnv), region: stateEnv.region } : undefined,
        // The read-only token for the GitHub provider is a secret of the trusted environment: no
        // pull request reaches it, so the github stack is planned from the default branch only.
        { GITHUB_TOKEN: `\${{ secrets.${options.githubTokenSecret} }}`, ...ledger() },
        onBranch,
      ),
    );
  }
  const pullRequestJobs: PlanJob[] = [];
  const notes: Array<{ name: string; text: string }> = [];
  for (const env of config.environments) {
    const stacks = [`${env.name}-foundation`, `${env.name}-services`];
    jobs.push(
      planJob(
        `plan-${env.name}`,
        env.name,
        stacks,
        options,
        { role: planRoleArnOf(config, env), region: env.region },
        ledger(),
        onBranch,
      ),
    );
    if (plansPullRequests(env.approval)) {
      // No ledger: pull-request code never sees its URL; the plan is recorded in the runner's own PGlite.
      pullRequestJobs.push(
        planJob(
          `plan-${env.name}-pull-request`,
          env.name,
          stacks,
          options,
          {
            role: roleArn(env.accountId, env.region, pullRequestPlanRoleName(org.name, env.name)),
            region: env.region,
          },
          {},
          { pullRequest: true },
        ),
      );
    } else {
      notes.push({
        name: env.name,
        text: `_Not planned from pull requests: ${env.name} requires ${env.approval.requiredApprovals} approval(s), so pull-request code never runs with its plan role. It is planned when the change reaches \`${branch}\`._`,
      });
    }
  }
  const commentEnv: Yaml = {};
  for (const j of pullRequestJobs) commentEnv[commentVariable(j)] = `\${{ needs.${j.id}.outputs.summary }}`;
  return {
    name: 'terraform-plan',
    on: { pull_request: { branches: [branch] }, push: { branches: [branch] } },
    permissions: {},
    concurrency: {
      group: 'terraform-plan-${{ github.event.pull_request.number || github.ref }}',
      'cancel-in-progress': true,
    },
    jobs: {
      ...Object.fromEntries([...jobs, ...pullRequestJobs].map((j) => [j.id, j.job])),
      comment: {
        name: 'PR comments',
        ...(pullRequestJobs.length > 0 ? { needs: pullRequestJobs.map((j) => j.id) } : {}),
        if: `always() && ${ON_PULL_REQUEST}`,
        'runs-on': options.runsOn,
        'timeout-minutes': 5,
        permissions: { 'pull-requests': 'write' },
        steps: [
          {
            name: 'Create or update one plan comment per environment',
            uses: uses('githubScript'),
            ...(pullRequestJobs.length > 0 ? { env: commentEnv } : {}),
            with: { script: commentScript(pullRequestJobs, notes) },
          },
        ],
      },
    },
  };
}
