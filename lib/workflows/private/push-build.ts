/**
 * The push builds of the apply workflow (with a `release`): on a push to the default branch, once the push
 * gate passed, each auto-deploy environment's changed services that this repository builds are built,
 * pushed to that environment's registry with its default-branch publish role (`<org>-<env>-gh-publish-main`),
 * scanned and only then signed, with this commit's image tag (`sha-<12 hex>`), in a `build-<env>` job; that
 * environment's deploy then runs with exactly those tags for those services.
 */
import {
  builtServicesOf,
  pushDeployEnvironments,
  type EnvironmentConfig,
  type GantryConfig,
  type ReleaseConfig,
} from '../../config';
import { GantryConfigError } from '../../core/errors';
import { branchPublishRoleName, roleArn } from '../../core/naming';
import { buildPermissions, imageBuildSteps } from './build-publish-workflow';
import { checkoutStep, registryOf, type ResolvedOptions, type Yaml } from './steps';

/** The image tag of a push build: `sha-` and the commit's first 12 hex digits (an ECR tag, never `latest`). */
export const PUSH_TAG_PATTERN = '^sha-[0-9a-f]{12}$';

/** The job that builds an environment's changed services on a push. */
export function pushBuildJobId(env: string): string {
  return `build-${env}`;
}

/** `{"dev": ["api", "worker"]}`: the services each push-built environment builds here. */
export type PushBuilds = Readonly<Record<string, readonly string[]>>;

/**
 * The auto-deploy environments whose pushes build (with a `release`, those with a service this repository
 * builds), with those services. An auto-deploy environment with such services but no default-branch publish
 * role (one that is marked production or requires an approval) is refused: its push could not push an image.
 */
export function pushBuilds(config: GantryConfig, options: ResolvedOptions): PushBuilds {
  if (!config.release) return {};
  const eligible = pushDeployEnvironments(config);
  const builds: Record<string, string[]> = {};
  for (const name of options.autoDeployEnvironments) {
    const env = config.environments.find((e) => e.name === name);
    const built = builtServicesOf(config.release, env?.services ?? []).map((s) => s.name);
    if (!env || built.length === 0) continue;
    if (!eligible.includes(name)) {
      throw new GantryConfigError(
        `workflows: autoDeployEnvironments: ${JSON.stringify(name)} builds ${built.join(', ')} on a push, but only environments not marked production that require no approval get the default branch's publish role (${eligible.map((e) => JSON.stringify(e)).join(', ') || 'none'}); leave it out or deploy it by dispatch`,
      );
    }
    builds[name] = built;
  }
  return builds;
}

const PUSH_TAG_CHECK = [
  'set -euo pipefail',
  `[[ "$TAG" =~ ${PUSH_TAG_PATTERN} ]] || { echo "::error title=Push tag::\\"$TAG\\" is not a sha-<12 hex> image tag"; exit 1; }`,
  '',
].join('\n');

/** `build-<env>`: a matrix job over the rows the input check passed, bound to no environment. */
export function pushBuildJob(
  config: GantryConfig & { readonly release: ReleaseConfig },
  env: EnvironmentConfig,
  options: ResolvedOptions,
  resolveJob: string,
): Yaml {
  const out = `needs.${resolveJob}.outputs`;
  const target = {
    environment: env.name,
    registry: registryOf(env),
    region: env.region,
    // Trusted only for pushes to the default branch: this job is bound to no environment, so its token's
    // subject is `repo:<owner>/<repo>:ref:refs/heads/<default branch>`.
    roleArn: roleArn(env.accountId, env.region, branchPublishRoleName(config.organization.name, env.name)),
  };
  const tag = `\${{ ${out}.push_tag }}`;
  return {
    name: `Build, scan, sign \${{ matrix.service }} for ${env.name} (push)`,
    needs: [resolveJob],
    if: `github.event_name == 'push' && contains(fromJSON(${out}.push_build_envs), '${env.name}')`,
    'runs-on': options.runsOn,
    'timeout-minutes': options.timeoutMinutes,
    permissions: buildPermissions(),
    strategy: {
      'fail-fast': false,
      matrix: { include: `\${{ fromJSON(${out}.push_builds)['${env.name}'] }}` },
    },
    steps: [
      { name: 'Check the tag', env: { TAG: tag }, run: PUSH_TAG_CHECK },
      checkoutStep(),
      ...imageBuildSteps(config, [target], tag, 'publish-main'),
    ],
  };
}

/**
 * The input check's push lines: this commit's tag, and from the push gate's `builds` (`{"<env>": [{ service,
 * context, dockerfile }]}`) only rows of environments that build on a push and of services built here (else it
 * fails, before any credentials), empty lists dropped; then per environment the `gantry deploy` arguments and
 * the deploy project's tag map for exactly those services.
 */
export function pushBuildLines(builds: PushBuilds): string[] {
  const allowed = JSON.stringify(builds);
  const filter = [
    'def row($env): if type == "object" and ([.service, .context, .dockerfile] | all(type == "string"))',
    '  then (.service as $s | if any($built[$env][]; . == $s) then {service, context, dockerfile}',
    '    else error("service \\($s) of \\($env) is not built by this repository") end)',
    '  else error("a build row of \\($env) is not {service, context, dockerfile}") end;',
    'if type == "object" then . else error("not a map") end',
    '| with_entries(.key as $env | if ($built | has($env)) then . else error("\\($env) does not build on a push") end',
    '  | .value |= (if type == "array" then map(row($env)) else error("\\($env): not a list") end))',
    '| with_entries(select(.value | length > 0))',
  ].join('\n');
  return [
    "  # The changed services built here get this commit's image tag, in each environment that deploys the push.",
    `  [[ "\${GITHUB_SHA:-}" =~ ^[0-9a-f]{40}$ ]] || fail "GITHUB_SHA \\"\${GITHUB_SHA:-}\\" is not a commit"`,
    '  push_tag="sha-${GITHUB_SHA:0:12}"',
    '  builds="${PUSH_BUILDS:-}"',
    '  [ -n "$builds" ] || builds=\'{}\'',
    `  push_builds="$(jq -ce --argjson built '${allowed}' '`,
    ...filter.split('\n').map((l) => `    ${l}`),
    '  \' <<< "$builds" 2>&1)" || fail "the push gate\'s builds: $push_builds"',
    '  push_build_envs="$(jq -c keys_unsorted <<< "$push_builds")"',
    '  push_tags="$(jq -c --arg tag "$push_tag" \'map_values({tag_args: (map("--tag \\(.service)=\\($tag)") | join(" ")), tags_json: (map({(.service): $tag}) | add | tojson)})\' <<< "$push_builds")"',
  ];
}

/** The input check's outputs for the push builds. */
const PUSH_OUTPUTS = ['push_tag', 'push_builds', 'push_build_envs', 'push_tags'] as const;

/** The input check's lines writing the push-build outputs (with the others, into `$GITHUB_OUTPUT`). */
export const PUSH_BUILD_OUTPUT_LINES = PUSH_OUTPUTS.map((k) => `  echo "${k}=$${k}"`);

/** The push-build outputs of the input check job. */
export function pushBuildOutputs(): Yaml {
  return Object.fromEntries(PUSH_OUTPUTS.map((k) => [k, `\${{ steps.inputs.outputs.${k} }}`]));
}

/**
 * The apply job's image tags: on a push, the tags of the services built for this environment (none when it
 * built nothing: the configured tags); otherwise the checked inputs.
 */
export function pushTagsExpression(resolveJob: string, env: string, field: 'tag_args' | 'tags_json'): string {
  const out = `needs.${resolveJob}.outputs`;
  return `\${{ github.event_name == 'push' && fromJSON(${out}.push_tags)['${env}'].${field} || ${out}.${field} }}`;
}

/**
 * The apply job's condition with a push build among its needs: a skipped build job must not skip it (GitHub
 * skips a job whose needs were skipped, transitively), so it states every other need's success itself, and
 * lets a skipped build through only when this environment built nothing (a dispatch, the handoff, a push that
 * changed no service built here). A failed or cancelled build deploys nothing.
 */
export function withPushBuild(
  condition: string,
  env: string,
  needs: readonly string[],
  resolveJob: string,
): string {
  const build = pushBuildJobId(env);
  const others = needs.filter((n) => n !== build).map((n) => `needs.${n}.result == 'success'`);
  const built = `(needs.${build}.result == 'success' || (needs.${build}.result == 'skipped' && !contains(fromJSON(needs.${resolveJob}.outputs.push_build_envs), '${env}')))`;
  return ['!cancelled()', ...others, built, `(${condition})`].join(' && ');
}
