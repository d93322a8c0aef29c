import { SUMMARY_LOG_MARKER } from '../../core/naming';
import { parameterName, secretKind } from './policies';
import { toYaml, type YamlValue } from './yaml-emitter';

export interface DeployBuildspecInputs {
  readonly environmentName: string;
  /** Stacks planned then applied, in order. Validated as `[A-Za-z0-9_-]+` (safe in a shell word). */
  readonly stacks: readonly string[];
  /**
   * Deploy `<environmentName>-services` (when it is one of `stacks`) with `gantry deploy
   * <environmentName>` instead of planning and applying it. @default false
   */
  readonly deployServices?: boolean;
  /** Secrets Manager secret ARN or SSM parameter ARN holding the ledger URL. */
  readonly ledgerUrlSecretArn: string;
  readonly nodejsVersion: string;
  readonly synthCommand: string;
  readonly runtimeCommand: string;
  /**
   * SSM parameter name mapped to `GANTRY_IMAGE_TAGS`: the image tags a workflow dispatch bound to
   * its commit, which `gantry plan` applies only at that commit. @default none
   */
  readonly imageTagsParameterName?: string;
  /**
   * Secrets Manager ARN of a GitHub token that can read the repository's Actions runs, mapped to
   * `GANTRY_GITHUB_TOKEN` (with `GANTRY_GITHUB_REPOSITORY`): `gantry apply` verifies an
   * environment's N >= 2 approvals on the run that started the build. @default none
   */
  readonly githubTokenSecretArn?: string;
  /** `owner/name`, exported as `GANTRY_GITHUB_REPOSITORY` with the token. */
  readonly repository?: string;
  /** The repository's default branch: the only branch whose commits the build runs. */
  readonly defaultBranch: string;
}

/**
 * Runs first, before anything is installed (docs/security.md, invariant 27): the commit CodeBuild checked
 * out must be reachable from the default branch (code of another branch never runs with the apply rights,
 * nor do its install scripts), and, with a handoff parameter, be the commit the apply workflow handed
 * over. A ref the clone does not have is fetched; if the default branch cannot be established, the build
 * stops (fail closed). No `${` here: Terraform would read it as an interpolation.
 */
export const SOURCE_CHECK = [
  'commit="$CODEBUILD_RESOLVED_SOURCE_VERSION"',
  '[ -n "$commit" ] || { echo "gantry: the build has no resolved source version; refusing to run" >&2; exit 1; }',
  'branch="refs/remotes/origin/$GANTRY_DEFAULT_BRANCH"',
  'git fetch --no-tags --quiet origin "+refs/heads/$GANTRY_DEFAULT_BRANCH:$branch" 2>/dev/null || echo "gantry: could not fetch $GANTRY_DEFAULT_BRANCH; using the clone\'s own refs"',
  'git rev-parse --verify --quiet "$branch^{commit}" > /dev/null || { echo "gantry: $GANTRY_DEFAULT_BRANCH is not in the clone ($branch); cannot tell whether $commit is on it, refusing to run" >&2; exit 1; }',
  'git merge-base --is-ancestor "$commit" "$branch" || { echo "gantry: commit $commit is not on $GANTRY_DEFAULT_BRANCH; only code of the default branch runs with the apply rights, refusing to run" >&2; exit 1; }',
].join('\n');

/** With a handoff parameter: its commit must be the commit checked out. */
export const HANDOFF_CHECK = [
  'handoff="$(node -e \'try { const v = JSON.parse(process.env.GANTRY_IMAGE_TAGS || "{}"); process.stdout.write(typeof v.commit === "string" ? v.commit : "") } catch { process.stdout.write("(unreadable)") }\')"',
  '[ "$handoff" = "$CODEBUILD_RESOLVED_SOURCE_VERSION" ] || { echo "gantry: the image-tags handoff names commit \'$handoff\', the build checked out $CODEBUILD_RESOLVED_SOURCE_VERSION; start the build from the apply workflow at this commit, refusing to run" >&2; exit 1; }',
].join('\n');

/**
 * A dispatch's promotion and redeploy, from the handoff value (its commit was checked by `HANDOFF_CHECK`):
 * `promoteFrom` (an environment name) becomes `--promote-from <env>`, `redeploy: true` `--redeploy`; any other
 * value of either stops the build (fail closed). The words are checked, so `$handoff_args` is split
 * unquoted; `gantry deploy` checks the rest (the upstream is before this environment, no tags with a
 * redeploy). No `${` (Terraform).
 */
export const HANDOFF_DEPLOY_ARGS =
  'handoff_args="$(node -e \'const v = JSON.parse(process.env.GANTRY_IMAGE_TAGS || "{}"); const out = []; ' +
  'const stop = (m) => { console.error("gantry: the image-tags handoff " + m + "; refusing to run"); process.exit(1) }; ' +
  'if (v.promoteFrom !== undefined) { if (typeof v.promoteFrom !== "string" || !/^[A-Za-z0-9._-]+$/.test(v.promoteFrom)) stop("promoteFrom " + JSON.stringify(v.promoteFrom) + " is not an environment name"); out.push("--promote-from", v.promoteFrom) } ' +
  'if (v.redeploy !== undefined && typeof v.redeploy !== "boolean") stop("redeploy " + JSON.stringify(v.redeploy) + " is not true or false"); ' +
  'if (v.redeploy === true) out.push("--redeploy"); ' +
  'process.stdout.write(out.join(" "))\')" || exit 1';

/**
 * `gantry deploy <env>` of the services stack: the runtime writes its Markdown (the plan summary, the
 * deploy's outcome table) to `$GITHUB_STEP_SUMMARY`, here a file of the build, which is then printed with
 * `SUMMARY_LOG_MARKER` and a space before each line, so whoever starts the build reads the outcome from its log. The
 * deploy's exit code (1 failed or rolled back, 3 refused) fails the build. No `${` (Terraform would read
 * an interpolation), and no line of the command starts with the marker (CodeBuild echoes the command).
 */
function deployCommand(runtime: string, environment: string, handoff: boolean): string {
  return [
    'export GITHUB_STEP_SUMMARY="$(mktemp)"',
    ...(handoff ? [HANDOFF_DEPLOY_ARGS] : []),
    'code=0',
    `${runtime} deploy ${environment} --no-synth --json${handoff ? ' $handoff_args' : ''} || code=$?`,
    `sed 's/^/${SUMMARY_LOG_MARKER} /' "$GITHUB_STEP_SUMMARY"`,
    `echo "gantry: deploy of ${environment} exited $code"`,
    '[ "$code" -eq 0 ] || exit "$code"',
  ].join('\n');
}

/**
 * The deploy project's buildspec, defined in Terraform so that nothing in the repository (and so no
 * pull request) changes what runs with the apply rights. The commit is the build's source version
 * (`StartBuild --source-version <sha>`); the ledger URL comes from Secrets Manager or Parameter
 * Store at build time, never as a literal; so do a dispatch's image tags and its GitHub run
 * (`GANTRY_IMAGE_TAGS`) and the token that reads the run's approvals (`GANTRY_GITHUB_TOKEN`).
 */
export function deployBuildspec(input: DeployBuildspecInputs): string {
  const kind = secretKind(input.ledgerUrlSecretArn);
  const parameters: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  if (kind === 'ssm') parameters.GANTRY_LEDGER_URL = parameterName(input.ledgerUrlSecretArn);
  else secrets.GANTRY_LEDGER_URL = input.ledgerUrlSecretArn;
  if (input.imageTagsParameterName) parameters.GANTRY_IMAGE_TAGS = input.imageTagsParameterName;
  if (input.githubTokenSecretArn) secrets.GANTRY_GITHUB_TOKEN = input.githubTokenSecretArn;
  const secretRef: Record<string, YamlValue> = {
    ...(Object.keys(parameters).length > 0 ? { 'parameter-store': parameters } : {}),
    ...(Object.keys(secrets).length > 0 ? { 'secrets-manager': secrets } : {}),
  };
  const perStack = input.stacks.flatMap((stack) => [
    `export GANTRY_STACK=${stack}`,
    ...(input.deployServices && stack === `${input.environmentName}-services`
      ? [
          deployCommand(
            input.runtimeCommand,
            input.environmentName,
            input.imageTagsParameterName !== undefined,
          ),
        ]
      : [`${input.runtimeCommand} plan ${stack} --no-synth`, `${input.runtimeCommand} apply ${stack}`]),
  ]);
  return toYaml({
    version: 0.2,
    env: {
      shell: 'bash',
      variables: {
        CI: 'true',
        GANTRY_ENVIRONMENT: input.environmentName,
        GANTRY_STACKS: input.stacks.join(' '),
        GANTRY_DEFAULT_BRANCH: input.defaultBranch,
        ...(input.githubTokenSecretArn && input.repository
          ? { GANTRY_GITHUB_REPOSITORY: input.repository }
          : {}),
      },
      ...secretRef,
    },
    phases: {
      install: {
        'runtime-versions': { nodejs: input.nodejsVersion },
        // The source is checked before anything is installed, and install scripts never run.
        commands: [
          SOURCE_CHECK,
          ...(input.imageTagsParameterName ? [HANDOFF_CHECK] : []),
          'npm ci --ignore-scripts',
        ],
      },
      build: {
        commands: [
          'export GANTRY_COMMIT="$CODEBUILD_RESOLVED_SOURCE_VERSION"',
          input.synthCommand,
          ...perStack,
        ],
      },
    },
  });
}
