import { SUMMARY_LOG_MARKER, UNVERIFIED_REASON_LENGTH } from '../../core/naming';
import { COSIGN_BINARY, type CosignArch } from '../../workflows/pins';
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
  /**
   * Cosign for `gantry deploy` (keyless verification, promotion copies): installed (the pinned binary,
   * checked) or the image's, and logged in to these registries before the deploy. Only with
   * `deployServices`. @default none: the build has no cosign step
   */
  readonly cosign?: DeployCosignInputs;
}

/**
 * Where a deploy build's cosign comes from: 'install', the pinned `COSIGN_BINARY`, downloaded and checked
 * against its SHA-256; 'image', the build image's own `cosign` on PATH.
 */
export const COSIGN_SOURCES = ['install', 'image'] as const;
export type CosignSource = (typeof COSIGN_SOURCES)[number];

/** Where the build's cosign comes from and which registries it logs in to. */
export interface DeployCosignInputs {
  readonly source: CosignSource;
  /**
   * ECR registries (`<account>.dkr.ecr.<region>.<suffix>`) with their regions, from the configuration:
   * the environment's own first, then the upstream ones a promotion copies from. Each must be a shell
   * word (the caller builds them from checked account ids and regions).
   */
  readonly registries: readonly { readonly host: string; readonly region: string }[];
}

/** The cosign binary the install step fetches: `COSIGN_BINARY`, or a test's stand-in. */
export type CosignBinary = {
  readonly version: string;
  readonly downloadBase: string;
  readonly sha256: Readonly<Record<CosignArch, string>>;
};

/**
 * Installs the pinned cosign (install phase, after the source checks, before anything of the repository
 * runs): the binary of the build's architecture (`uname -m`: x86_64 amd64, aarch64 arm64, anything else
 * stops the build) is downloaded with `curl -fsSL` (bounded retries and time, HTTPS redirects only) into
 * a fresh directory of the build (`mktemp -d`, `$GANTRY_COSIGN_DIR`), its SHA-256 compared with the
 * pinned one, and only then made executable; a failed download or another digest stops the build (fail
 * closed). No install script runs. `binary` is a test seam (a local server, a stand-in's digest): the
 * buildspec always uses `COSIGN_BINARY`. No `${` (Terraform).
 */
export function cosignInstallCommand(binary: CosignBinary = COSIGN_BINARY): string {
  const { version, downloadBase, sha256 } = binary;
  const download = '"$GANTRY_COSIGN_DIR/cosign.download"';
  return [
    'case "$(uname -m)" in',
    `  x86_64) cosign_arch=amd64; cosign_sha256=${sha256.amd64} ;;`,
    `  aarch64) cosign_arch=arm64; cosign_sha256=${sha256.arm64} ;;`,
    `  *) echo "gantry: no pinned cosign ${version} for architecture $(uname -m) (pinned: x86_64, aarch64); build on one of those, or use an image with cosign and runners.deploy.cosign 'image'; refusing to run" >&2; exit 1 ;;`,
    'esac',
    'GANTRY_COSIGN_DIR="$(mktemp -d)" || exit 1',
    'export GANTRY_COSIGN_DIR',
    `cosign_url="${downloadBase}/${version}/cosign-linux-$cosign_arch"`,
    `curl -fsSL --proto-redir =https --retry 3 --retry-delay 5 --connect-timeout 20 --max-time 300 -o ${download} "$cosign_url" || { echo "gantry: could not download cosign from $cosign_url (the build needs HTTPS egress to github.com, or runners.deploy.cosign 'image' with an image that has cosign); refusing to run" >&2; exit 1; }`,
    `cosign_got="$(sha256sum ${download} | cut -d ' ' -f 1)"`,
    `[ "$cosign_got" = "$cosign_sha256" ] || { rm -f ${download}; echo "gantry: $cosign_url has SHA-256 '$cosign_got', the pinned cosign ${version} linux-$cosign_arch has $cosign_sha256; refusing to install it" >&2; exit 1; }`,
    `mv ${download} "$GANTRY_COSIGN_DIR/cosign"`,
    'chmod 0755 "$GANTRY_COSIGN_DIR/cosign"',
    `echo "gantry: installed cosign ${version} linux-$cosign_arch (SHA-256 $cosign_sha256) in $GANTRY_COSIGN_DIR"`,
  ].join('\n');
}

/**
 * Before `gantry deploy`: the cosign to use first on PATH (the installed one, which must be there, or the
 * image's, which must be on PATH), then `cosign login` to each registry with the role's ECR token
 * (`aws ecr get-login-password`, piped, never echoed nor in an argument), with pipefail in a subshell so
 * that a failed token fetch fails the login, and a failed login the build. No `${` (Terraform).
 */
export function cosignLoginCommand(cosign: DeployCosignInputs): string {
  const ready =
    cosign.source === 'install'
      ? [
          '[ -n "$GANTRY_COSIGN_DIR" ] && [ -x "$GANTRY_COSIGN_DIR/cosign" ] || { echo "gantry: the cosign of the install phase is not in $GANTRY_COSIGN_DIR; refusing to deploy" >&2; exit 1; }',
          'export PATH="$GANTRY_COSIGN_DIR:$PATH"',
        ]
      : [
          "command -v cosign > /dev/null || { echo \"gantry: runners.deploy.cosign is 'image', and the build image has no cosign on PATH; install cosign v2 in the image, or use 'install'; refusing to deploy\" >&2; exit 1; }",
        ];
  return [
    ...ready,
    ...cosign.registries.map(
      ({ host, region }) =>
        `( set -o pipefail; aws ecr get-login-password --region ${region} | cosign login --username AWS --password-stdin ${host} ) || { echo "gantry: cosign could not log in to ${host} (aws ecr get-login-password --region ${region}, the role's ecr:GetAuthorizationToken); refusing to deploy" >&2; exit 1; }`,
    ),
  ].join('\n');
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
 * A dispatch's promotion, redeploy and unverified reason, from the handoff value (its commit was checked by
 * `HANDOFF_CHECK`): `promoteFrom` (an environment name) becomes `--promote-from <env>`, `redeploy: true`
 * `--redeploy`, `unverifiedReason` (one printable line of 10 to 300 characters, free text) `--unverified-reason
 * <reason>`; any other value of any of them stops the build (fail closed). Each word is printed single-quoted
 * (a quote in it as `'\''`), so `eval "set -- $handoff_args"` makes them the positional parameters without
 * expanding anything; `gantry deploy` checks the rest (the upstream is before this environment, no tags with
 * a redeploy, the reason's length). No `${` (Terraform).
 */
export const HANDOFF_DEPLOY_ARGS =
  'handoff_args="$(node -e \'const v = JSON.parse(process.env.GANTRY_IMAGE_TAGS || "{}"); const out = []; ' +
  'const stop = (m) => { console.error("gantry: the image-tags handoff " + m + "; refusing to run"); process.exit(1) }; ' +
  'if (v.promoteFrom !== undefined) { if (typeof v.promoteFrom !== "string" || !/^[A-Za-z0-9._-]+$/.test(v.promoteFrom)) stop("promoteFrom " + JSON.stringify(v.promoteFrom) + " is not an environment name"); out.push("--promote-from", v.promoteFrom) } ' +
  'if (v.redeploy !== undefined && typeof v.redeploy !== "boolean") stop("redeploy " + JSON.stringify(v.redeploy) + " is not true or false"); ' +
  'if (v.redeploy === true) out.push("--redeploy"); ' +
  `if (v.unverifiedReason !== undefined) { const r = v.unverifiedReason; if (typeof r !== "string" || r.length < ${UNVERIFIED_REASON_LENGTH.min} || r.length > ${UNVERIFIED_REASON_LENGTH.max} || /[\\u0000-\\u001f\\u007f]/.test(r)) stop("unverifiedReason is not one line of ${UNVERIFIED_REASON_LENGTH.min} to ${UNVERIFIED_REASON_LENGTH.max} printable characters"); out.push("--unverified-reason", r) } ` +
  'const q = String.fromCharCode(39); ' +
  'process.stdout.write(out.map((w) => q + w.split(q).join(q + "\\\\" + q + q) + q).join(" "))\')" || exit 1\n' +
  'eval "set -- $handoff_args"';

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
    `${runtime} deploy ${environment} --no-synth --json${handoff ? ' "$@"' : ''} || code=$?`,
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
  const deploys = (stack: string) =>
    input.deployServices === true && stack === `${input.environmentName}-services`;
  const cosign = input.cosign && input.stacks.some(deploys) ? input.cosign : undefined;
  const perStack = input.stacks.flatMap((stack) => [
    `export GANTRY_STACK=${stack}`,
    ...(deploys(stack)
      ? [
          ...(cosign ? [cosignLoginCommand(cosign)] : []),
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
          ...(cosign?.source === 'install' ? [cosignInstallCommand()] : []),
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
