/**
 * `terraform-apply.yml`: `workflow_dispatch` (environment, stack, action, image tags) and, for the
 * auto-deploy environments, every push to the default branch. One job per GitHub Environment of the
 * chain, in order (`prod-approval`, then `prod`), so each approval is its own gate.
 */
import { requiresSignatures, type EnvironmentConfig, type GantryConfig } from '../../config';
import { GantryConfigError } from '../../core/errors';
import { IMAGE_TAG_SOURCE } from '../../core/identifiers';
import {
  environmentChain,
  imageTagsParameterName,
  SUMMARY_LOG_MARKER,
  UNVERIFIED_REASON_LENGTH,
} from '../../core/naming';
import { uses } from '../pins';
import {
  PUSH_BUILD_OUTPUT_LINES,
  pushBuildJob,
  pushBuildJobId,
  pushBuildLines,
  pushBuildOutputs,
  pushBuilds,
  pushTagsExpression,
  withPushBuild,
  type PushBuilds,
} from './push-build';
import { PUSH_GATE_JOB, pushGateJob } from './push-gate';
import {
  awsCredentialsStep,
  deployModeOf,
  deployProjectOf,
  registryOf,
  runsOnFor,
  setupSteps,
  type ResolvedOptions,
  type Yaml,
} from './steps';

const RESOLVE_JOB = 'resolve';

/**
 * Validates the inputs against the configuration (known service, well-formed tag, what the
 * environment's deploy mode can do) and turns `api=v1.3.0 worker=v1.3.0` into `--var` arguments
 * (runner and hosted paths) and `{"api":"v1.3.0","worker":"v1.3.0"}` (deploy-project path). A
 * `promote_from` must be an environment before this one (as `gantry deploy --promote-from` checks again),
 * for a services apply on the runner or hosted path; its registry is passed on for the registry login.
 * Inputs arrive as environment variables, never spliced into the script.
 */
function resolveScript(config: GantryConfig, auto: readonly string[], builds: PushBuilds): string {
  const handoff = config.release !== undefined;
  const building = Object.keys(builds).length > 0;
  const cases = config.environments.map((env, i) => {
    const services = env.services.map((s) => s.name).join(' ');
    const upstream = config.environments
      .slice(0, i)
      .map((e) => e.name)
      .join(' ');
    return `  ${env.name}) services="${services}"; mode="${deployModeOf(env)}"; upstream="${upstream}" ;;`;
  });
  const registries = config.environments.map((env) => `      ${env.name}) echo "${registryOf(env)}" ;;`);
  return [
    'set -euo pipefail',
    'set -f',
    'fail() { echo "::error title=Invalid input::$1"; exit 1; }',
    ...(building ? ['push_tag="" push_builds="{}" push_build_envs="[]" push_tags="{}"'] : []),
    'if [ "$EVENT" = push ]; then',
    building
      ? `  # A push deploys the services of: ${auto.join(', ')}; those built here that changed, with this commit's tag.`
      : `  # A push deploys the services of: ${auto.join(', ') || 'none'}, with the image tags in the config.`,
    '  ENVIRONMENT="" STACK=services ACTION=apply IMAGE_TAGS="" PROMOTE_FROM="" REDEPLOY=false UNVERIFIED_REASON=""',
    ...(building ? pushBuildLines(builds) : []),
    'else',
    ...(handoff ? HANDOFF_LINES : []),
    '  case "$ENVIRONMENT" in',
    ...cases.map((c) => `  ${c}`),
    '    *) fail "environment \\"$ENVIRONMENT\\" is not configured" ;;',
    '  esac',
    '  case "$STACK" in foundation|services) ;; *) fail "stack \\"$STACK\\": use foundation or services" ;; esac',
    '  case "$ACTION" in plan|apply) ;; *) fail "action \\"$ACTION\\": use plan or apply" ;; esac',
    '  if [ "$mode" = deploy-project ]; then',
    '    # StartBuild takes no override but the source version: the image tags reach the project through',
    '    # its image-tags parameter, bound to this commit (the apply job writes it, then starts the build).',
    '    [ "$STACK" = services ] || fail "$ENVIRONMENT-foundation is applied by an administrator, not by its deploy project"',
    '    [ "$ACTION" = apply ] || fail "the deploy project of $ENVIRONMENT runs plan and apply together: use action apply"',
    '  fi',
    ...PROMOTE_LINES(registries),
    ...REDEPLOY_LINES,
    ...UNVERIFIED_LINES,
    'fi',
    'var_args=""',
    'tag_args=""',
    'promote_registry="${promote_registry:-}"',
    'tags_json=""',
    'seen=" "',
    'read -r -a pairs <<< "${IMAGE_TAGS//,/ }"',
    'for pair in "${pairs[@]}"; do',
    '  [ "$STACK" = services ] || fail "image tags apply to the services stack only"',
    '  [[ "$pair" == *=* ]] || fail "\\"$pair\\": write service=tag, e.g. api=v1.3.0"',
    '  service="${pair%%=*}"',
    '  tag="${pair#*=}"',
    '  [[ " $services " == *" $service "* ]] || fail "service \\"$service\\" is not in $ENVIRONMENT (services: $services)"',
    '  [[ "$seen" != *" $service "* ]] || fail "service \\"$service\\" is given twice"',
    '  seen="$seen$service "',
    `  [[ "$tag" =~ ${IMAGE_TAG_SOURCE} ]] || fail "image tag \\"$tag\\" of $service is not a valid tag"`,
    '  [ "$tag" != latest ] || fail "image tag of $service: latest is mutable, name a release tag"',
    '  # The Terraform variable of the service: image_tag_<service with - as _>.',
    '  var_args="$var_args --var image_tag_${service//-/_}=$tag"',
    '  # For `gantry deploy`: --tag <service>=<tag>.',
    '  tag_args="$tag_args --tag $service=$tag"',
    '  # For a deploy project: {"<service>": "<tag>", ...} (names from the config, tags checked above).',
    '  tags_json="$tags_json,\\"$service\\":\\"$tag\\""',
    'done',
    '{',
    '  echo "stack=$STACK"',
    '  echo "action=$ACTION"',
    '  echo "var_args=${var_args# }"',
    '  echo "tag_args=${tag_args# }"',
    '  echo "tags_json={${tags_json#,}}"',
    '  echo "promote_from=${PROMOTE_FROM:-}"',
    '  echo "promote_registry=$promote_registry"',
    '  echo "redeploy=${REDEPLOY:-false}"',
    '  echo "unverified_reason=${UNVERIFIED_REASON:-}"',
    ...(building ? PUSH_BUILD_OUTPUT_LINES : []),
    '} >> "$GITHUB_OUTPUT"',
    '',
  ].join('\n');
}

/**
 * `promote_from` (a dispatch's; a push and the handoff promote nothing): one environment name, before this
 * one in the configuration's order, into a services apply that runs `gantry deploy` (on a runner, hosted, or
 * in the deploy project's build, through the handoff parameter). Its registry is an output, for the login.
 */
const PROMOTE_LINES = (registries: readonly string[]): string[] => [
  '  if [ -n "${PROMOTE_FROM:-}" ]; then',
  '    [[ "$PROMOTE_FROM" =~ ^[A-Za-z0-9._-]+$ ]] || fail "promote_from \\"$PROMOTE_FROM\\" is not an environment name"',
  '    [ "$PROMOTE_FROM" != "$ENVIRONMENT" ] || fail "promote_from \\"$PROMOTE_FROM\\" is the environment being deployed; promote from one before it (${upstream:-none})"',
  '    [[ " $upstream " == *" $PROMOTE_FROM "* ]] || fail "promote_from \\"$PROMOTE_FROM\\" is not an environment before $ENVIRONMENT (allowed: ${upstream:-none})"',
  '    [ "$STACK" = services ] && [ "$ACTION" = apply ] || fail "promote_from promotes the images of a services deploy: use stack services and action apply"',
  '    promote_registry="$(case "$PROMOTE_FROM" in',
  ...registries,
  '    esac)"',
  '  fi',
];

/**
 * `redeploy` (a dispatch's): the last verified tags of every service again, from the ledger, with a new ECS
 * deployment each (`gantry deploy --redeploy`: after a secret rotation, no build); so no image tags and no
 * promotion, a services apply (on a runner, hosted, or in the deploy project's build, through the handoff).
 */
const REDEPLOY_LINES = [
  '  case "${REDEPLOY:-false}" in true|false) ;; *) fail "redeploy \\"$REDEPLOY\\": use true or false" ;; esac',
  '  if [ "${REDEPLOY:-false}" = true ]; then',
  '    [ "$STACK" = services ] && [ "$ACTION" = apply ] || fail "redeploy redeploys the services: use stack services and action apply"',
  '    [ -z "${IMAGE_TAGS// /}" ] || fail "redeploy deploys the last verified tags from the ledger: leave image_tags empty"',
  '    [ -z "${PROMOTE_FROM:-}" ] || fail "redeploy deploys what this environment ran: leave promote_from empty"',
  '  fi',
];

/**
 * `unverified_reason` (a dispatch's; a push and the handoff give none): why this services deploy (not a
 * promotion, not a redeploy) may take a digest never verified in the environment before it (`gantry deploy
 * --unverified-reason`, recorded in the run's note). One printable line, so it travels as an output and in the
 * handoff value; never echoed here.
 */
const UNVERIFIED_LINES = [
  '  if [ -n "${UNVERIFIED_REASON:-}" ]; then',
  '    [ "$STACK" = services ] && [ "$ACTION" = apply ] || fail "unverified_reason applies to a services deploy: use stack services and action apply"',
  '    [ "${REDEPLOY:-false}" != true ] || fail "unverified_reason: a redeploy deploys tags this environment verified already; leave it empty"',
  '    [ -z "${PROMOTE_FROM:-}" ] || fail "unverified_reason with promote_from: a promotion copies only digests verified upstream; leave promote_from empty to deploy this registry\'s image of the tag (gantry deploy --promote-from --unverified-reason --image names a digest by hand)"',
  `    [ "\${#UNVERIFIED_REASON}" -ge ${UNVERIFIED_REASON_LENGTH.min} ] && [ "\${#UNVERIFIED_REASON}" -le ${UNVERIFIED_REASON_LENGTH.max} ] || fail "unverified_reason: say why in ${UNVERIFIED_REASON_LENGTH.min} to ${UNVERIFIED_REASON_LENGTH.max} characters"`,
  '    [[ "$UNVERIFIED_REASON" =~ ^[[:print:]]+$ ]] || fail "unverified_reason: one line of printable characters"',
  '  fi',
];

/**
 * The `image-published` handoff: `{"environment": "<env>", "tags": {"<service>": "<tag>"}}` becomes the
 * same inputs as a dispatch (services stack, apply, `service=tag` pairs), checked by the same rules below,
 * in this job, which holds no credentials: a bad payload fails before any role is assumed.
 */
const HANDOFF_LINES = [
  '  if [ "$EVENT" = repository_dispatch ]; then',
  '    ENVIRONMENT="$PAYLOAD_ENVIRONMENT" STACK=services ACTION=apply PROMOTE_FROM="" REDEPLOY=false',
  '    IMAGE_TAGS="$(jq -r \'if type == "object" and length > 0 then to_entries[] | "\\(.key)=\\(if (.value | type) == "string" then .value else "!" end)" else "!" end\' <<< "$PAYLOAD_TAGS")" ||',
  '      fail "client_payload.tags is not JSON"',
  '    [ "$IMAGE_TAGS" != "!" ] || fail "client_payload.tags must be an object {\\"<service>\\": \\"<tag>\\"} naming at least one service"',
  '    IMAGE_TAGS="${IMAGE_TAGS//$\'\\n\'/ }"',
  '  fi',
];

/**
 * The services stack with `apply`: `gantry deploy <env>` (plan, apply, follow the rollouts, migrate,
 * verify, roll back on failure), which writes its outcome table to the step summary and whose exit code
 * is the step's (0 deployed, 1 failed or rolled back, 3 refused); with a checked `promote_from`, it logs in
 * to the upstream's registry and its own (cosign copies from one into the other) and passes
 * `--promote-from`; where the environment requires signatures (`VERIFY_SIGNATURES`), it logs in to its own
 * registry and passes `--verify-signatures keyless`. Otherwise `gantry plan`, then for `apply` (the foundation stack) `gantry apply` of that
 * saved plan, in the same job.
 */
const PLAN_APPLY_SCRIPT = [
  'set -euo pipefail',
  'if [ "$ACTION" = apply ] && [ "$STACK" = "$ENVIRONMENT-services" ]; then',
  '  read -r -a tag_args <<< "$TAG_ARGS"',
  '  deploy_args=()',
  '  registries=()',
  '  if [ -n "${PROMOTE_FROM:-}" ]; then',
  "    # cosign copies each digest verified in $PROMOTE_FROM from its registry into this one: the role's ECR token serves both.",
  '    registries=("$PROMOTE_REGISTRY" "$REGISTRY")',
  '    deploy_args+=(--promote-from "$PROMOTE_FROM")',
  '  fi',
  '  if [ -n "${VERIFY_SIGNATURES:-}" ]; then',
  '    # cosign verify reads each image and its signature from this registry (release.requireSignatures).',
  '    [ "${#registries[@]}" -gt 0 ] || registries=("$REGISTRY")',
  '    deploy_args+=(--verify-signatures "$VERIFY_SIGNATURES")',
  '  fi',
  '  [ "${REDEPLOY:-false}" != true ] || deploy_args+=(--redeploy)',
  '  [ -z "${UNVERIFIED_REASON:-}" ] || deploy_args+=(--unverified-reason "$UNVERIFIED_REASON")',
  '  for registry in "${registries[@]}"; do',
  '    region="${registry#*.dkr.ecr.}"',
  '    aws ecr get-login-password --region "${region%%.*}" | docker login --username AWS --password-stdin "$registry"',
  '  done',
  '  npx gantry deploy "$ENVIRONMENT" --no-synth --json "${tag_args[@]}" "${deploy_args[@]}"',
  '  exit 0',
  'fi',
  'read -r -a var_args <<< "$VAR_ARGS"',
  'npx gantry plan "$STACK" --no-synth "${var_args[@]}"',
  'if [ "$ACTION" = apply ]; then',
  '  npx gantry apply "$STACK"',
  'fi',
  '',
].join('\n');

/**
 * Binds the dispatch's image tags and this run (id and attempt) to this commit in the deploy
 * project's image-tags parameter (`{}` when no tags, so a stale value never stays bound): the build
 * verifies an environment's N >= 2 approvals on that run. Then starts the project at this commit (no other
 * override: the role may not) and waits for it. `gantry deploy` in the build applies the tags only
 * when the parameter's commit is the commit it deploys; a checked `promote_from` and `redeploy` go into the
 * value too (`promoteFrom`, `redeploy`), and the build passes them on as `--promote-from` and `--redeploy`. When the build ends, the deploy's Markdown summary
 * (the build log's lines starting with `SUMMARY_LOG_MARKER`, which the starter may read) goes to the step summary.
 */
const START_BUILD_SCRIPT = [
  'set -euo pipefail',
  '[[ "$TAGS_JSON" =~ ^\\{[A-Za-z0-9_.\\":,-]*\\}$ ]] || { echo "::error title=Image tags::not a checked tag map: $TAGS_JSON"; exit 1; }',
  '[[ "$RUN_ID" =~ ^[0-9]+$ && "$RUN_ATTEMPT" =~ ^[0-9]+$ ]] || { echo "::error title=Run identity::not a run id and attempt: $RUN_ID $RUN_ATTEMPT"; exit 1; }',
  'PROMOTE_FROM="${PROMOTE_FROM:-}" REDEPLOY="${REDEPLOY:-false}" UNVERIFIED_REASON="${UNVERIFIED_REASON:-}"',
  '[[ "$PROMOTE_FROM" =~ ^[A-Za-z0-9._-]*$ ]] || { echo "::error title=Promotion::not a checked environment name: $PROMOTE_FROM"; exit 1; }',
  'case "$REDEPLOY" in true|false) ;; *) echo "::error title=Redeploy::not true or false: $REDEPLOY"; exit 1 ;; esac',
  '# The build verifies the approvals of this run (N >= 2) on it: the commit, the tags and the run, bound together;',
  '# so are the promotion and the redeploy (checked in resolve), which the build turns into its deploy flags.',
  'extra=""',
  '[ -z "$PROMOTE_FROM" ] || extra="$extra,\\"promoteFrom\\":\\"$PROMOTE_FROM\\""',
  '[ "$REDEPLOY" != true ] || extra="$extra,\\"redeploy\\":true"',
  '# The reason is free text (one printable line, checked in resolve): jq makes it a JSON string.',
  '[ -z "$UNVERIFIED_REASON" ] || extra="$extra,\\"unverifiedReason\\":$(jq -cn --arg reason "$UNVERIFIED_REASON" \'$reason\')"',
  'value="{\\"commit\\":\\"$GITHUB_SHA\\",\\"tags\\":$TAGS_JSON,\\"run\\":{\\"id\\":$RUN_ID,\\"attempt\\":$RUN_ATTEMPT}$extra}"',
  'aws ssm put-parameter --name "$PARAMETER" --type String --overwrite --value "$value" > /dev/null',
  'echo "Image tags for $GITHUB_SHA: $TAGS_JSON ($PARAMETER)"',
  'build_id="$(aws codebuild start-build --project-name "$PROJECT" --source-version "$GITHUB_SHA" --query build.id --output text)"',
  'echo "Started $build_id"',
  'echo "CodeBuild build \\`$build_id\\` of \\`$PROJECT\\` at \\`$GITHUB_SHA\\`" >> "$GITHUB_STEP_SUMMARY"',
  'while :; do',
  '  sleep 20',
  '  status="$(aws codebuild batch-get-builds --ids "$build_id" --query \'builds[0].buildStatus\' --output text)"',
  '  [ "$status" = IN_PROGRESS ] || break',
  'done',
  '# The deploy outcome the build printed (plan summary, outcome table) into this step summary; CloudWatch may lag.',
  `marker='${SUMMARY_LOG_MARKER}'`,
  'read -r group stream <<< "$(aws codebuild batch-get-builds --ids "$build_id" --query \'builds[0].logs.[groupName,streamName]\' --output text)" || true',
  'summary=""',
  'for attempt in 1 2 3; do',
  '  [ -n "${group:-}" ] && [ -n "${stream:-}" ] || break',
  '  summary="$(aws logs filter-log-events --log-group-name "$group" --log-stream-names "$stream" --filter-pattern "\\"$marker\\"" --query \'events[].[message]\' --output text | sed -n "s/^$marker \\{0,1\\}//p")" || summary=""',
  '  [ -z "$summary" ] || break',
  '  sleep 10',
  'done',
  'if [ -n "$summary" ]; then printf \'%s\\n\' "$summary" | tee -a "$GITHUB_STEP_SUMMARY"; else echo "::warning title=Deploy summary::no deploy summary in the log of $build_id"; fi',
  'case "$status" in',
  '  SUCCEEDED) echo "Build succeeded"; exit 0 ;;',
  '  *) echo "::error title=Deploy of $PROJECT::build $build_id ended $status; its log is in CloudWatch"; exit 1 ;;',
  'esac',
  '',
].join('\n');

/**
 * The job's concurrency group: `gantry-<env>-deploy` for a deploy (the services stack with `apply`),
 * `gantry-<env>-<stack>` otherwise (a services plan, the foundation stack). With `cancel-in-progress:
 * false`, GitHub runs one job of a group at a time and keeps only the newest pending one: a deploy
 * queued behind a running one is cancelled when a newer deploy of the same environment is queued, so the
 * newest wins, and a plan never cancels a pending deploy (nor a deploy a pending plan).
 */
function concurrencyGroup(env: EnvironmentConfig): string {
  const out = `needs.${RESOLVE_JOB}.outputs`;
  return `gantry-${env.name}-\${{ ${out}.stack == 'services' && ${out}.action == 'apply' && 'deploy' || ${out}.stack }}`;
}

function ifFor(env: EnvironmentConfig, auto: readonly string[], handoff: boolean): string {
  const dispatched = `github.event_name == 'workflow_dispatch' && inputs.environment == '${env.name}'`;
  const handedOff = handoff
    ? ` || (github.event_name == 'repository_dispatch' && github.event.client_payload.environment == '${env.name}')`
    : '';
  const manual = handoff ? `(${dispatched})${handedOff}` : dispatched;
  // With a release, a push deploys an environment only when the push gate says something changed there.
  const pushed = handoff
    ? `(github.event_name == 'push' && contains(fromJSON(needs.${RESOLVE_JOB}.outputs.push_deploy), '${env.name}'))`
    : "github.event_name == 'push'";
  return auto.includes(env.name) ? `${pushed} || (${dispatched})${handedOff}` : manual;
}

function applyJob(
  config: GantryConfig,
  env: EnvironmentConfig,
  options: ResolvedOptions,
  needs: string[],
  built: boolean,
): Yaml {
  const concurrency = {
    group: concurrencyGroup(env),
    'cancel-in-progress': false,
  };
  const credentials = awsCredentialsStep(
    'Assume the apply role of this environment',
    '${{ vars.AWS_DEPLOYER_ROLE_ARN }}',
    '${{ vars.AWS_REGION }}',
    'gantry-apply',
  );
  const mode = deployModeOf(env);
  const condition = ifFor(env, options.autoDeployEnvironments, config.release !== undefined);
  // With a push build, the deploy takes the tags it built (on a push) and waits for it.
  const jobNeeds = built ? [...needs, pushBuildJobId(env.name)] : needs;
  const tags = (field: 'tag_args' | 'tags_json') =>
    built
      ? pushTagsExpression(RESOLVE_JOB, env.name, field)
      : `\${{ needs.${RESOLVE_JOB}.outputs.${field} }}`;
  const base = {
    name: `${env.name} (${mode === 'deploy-project' ? 'CodeBuild deploy project' : 'gantry apply'})`,
    needs: jobNeeds,
    if: built ? withPushBuild(condition, env.name, jobNeeds, RESOLVE_JOB) : condition,
    environment: env.name,
    concurrency,
  };
  if (mode === 'deploy-project') {
    const timeout = (env.runners?.deploy?.timeoutMinutes ?? 60) + 15;
    return {
      ...base,
      'runs-on': options.runsOn,
      'timeout-minutes': timeout,
      permissions: { 'id-token': 'write' },
      steps: [
        credentials,
        {
          name: `Start ${deployProjectOf(config, env)} with the image tags and wait`,
          env: {
            PROJECT: deployProjectOf(config, env),
            PARAMETER: imageTagsParameterName(config.organization.name, env.name),
            TAGS_JSON: tags('tags_json'),
            RUN_ID: '${{ github.run_id }}',
            RUN_ATTEMPT: '${{ github.run_attempt }}',
            PROMOTE_FROM: `\${{ needs.${RESOLVE_JOB}.outputs.promote_from }}`,
            REDEPLOY: `\${{ needs.${RESOLVE_JOB}.outputs.redeploy }}`,
            UNVERIFIED_REASON: `\${{ needs.${RESOLVE_JOB}.outputs.unverified_reason }}`,
          },
          run: START_BUILD_SCRIPT,
        },
      ],
    };
  }
  // The deploys of this environment verify keyless signatures (the runtime insists too, from the release facts).
  const signed = requiresSignatures(config.release, env);
  return {
    ...base,
    'runs-on': runsOnFor(config, env, options),
    'timeout-minutes': options.timeoutMinutes,
    // actions: read lets `gantry apply` read this run's approvals (N-approval check).
    permissions: { contents: 'read', 'id-token': 'write', actions: 'read' },
    steps: [
      ...setupSteps(options),
      signed
        ? {
            // `cosign verify` of every services deploy (release.requireSignatures), and a promotion's `cosign copy`.
            name: 'Install cosign',
            if: `needs.${RESOLVE_JOB}.outputs.stack == 'services' && needs.${RESOLVE_JOB}.outputs.action == 'apply'`,
            uses: uses('cosignInstaller'),
          }
        : {
            // `cosign copy` of a promotion (the deploy's own step logs in to the registries).
            name: 'Install Cosign (promotion)',
            if: `needs.${RESOLVE_JOB}.outputs.promote_from != ''`,
            uses: uses('cosignInstaller'),
          },
      credentials,
      {
        name: `\${{ needs.${RESOLVE_JOB}.outputs.action }} ${env.name}-\${{ needs.${RESOLVE_JOB}.outputs.stack }}`,
        env: {
          STACK: `${env.name}-\${{ needs.${RESOLVE_JOB}.outputs.stack }}`,
          ACTION: `\${{ needs.${RESOLVE_JOB}.outputs.action }}`,
          ENVIRONMENT: env.name,
          VAR_ARGS: `\${{ needs.${RESOLVE_JOB}.outputs.var_args }}`,
          TAG_ARGS: tags('tag_args'),
          PROMOTE_FROM: `\${{ needs.${RESOLVE_JOB}.outputs.promote_from }}`,
          REDEPLOY: `\${{ needs.${RESOLVE_JOB}.outputs.redeploy }}`,
          UNVERIFIED_REASON: `\${{ needs.${RESOLVE_JOB}.outputs.unverified_reason }}`,
          PROMOTE_REGISTRY: `\${{ needs.${RESOLVE_JOB}.outputs.promote_registry }}`,
          REGISTRY: registryOf(env),
          ...(signed ? { VERIFY_SIGNATURES: 'keyless' } : {}),
          GANTRY_LEDGER_URL: `\${{ secrets.${options.ledgerUrlSecret} }}`,
          GITHUB_TOKEN: '${{ github.token }}',
        },
        run: PLAN_APPLY_SCRIPT,
      },
    ],
  };
}

/** A gate job: bound to its environment, so its reviewers must approve; it runs nothing. */
function gateJob(
  env: EnvironmentConfig,
  gate: string,
  options: ResolvedOptions,
  needs: string[],
  handoff: boolean,
): Yaml {
  return {
    name: `${gate} (approval gate for ${env.name})`,
    needs,
    if: ifFor(env, options.autoDeployEnvironments, handoff),
    environment: gate,
    'runs-on': options.runsOn,
    'timeout-minutes': 5,
    permissions: {},
    steps: [{ name: 'Approved', run: `echo "${gate} approved by its reviewers"` }],
  };
}

export function applyWorkflow(config: GantryConfig, options: ResolvedOptions): Yaml {
  const jobs: Record<string, Yaml> = {};
  const auto = options.autoDeployEnvironments;
  const gate = config.release !== undefined && auto.length > 0;
  const builds = gate ? pushBuilds(config, options) : {};
  if (gate) jobs[PUSH_GATE_JOB] = pushGateJob(config, options, builds);
  jobs[RESOLVE_JOB] = {
    name: 'Check the inputs',
    ...(gate ? { needs: [PUSH_GATE_JOB] } : {}),
    'runs-on': options.runsOn,
    'timeout-minutes': 5,
    permissions: {},
    outputs: {
      stack: '${{ steps.inputs.outputs.stack }}',
      action: '${{ steps.inputs.outputs.action }}',
      var_args: '${{ steps.inputs.outputs.var_args }}',
      tag_args: '${{ steps.inputs.outputs.tag_args }}',
      tags_json: '${{ steps.inputs.outputs.tags_json }}',
      promote_from: '${{ steps.inputs.outputs.promote_from }}',
      promote_registry: '${{ steps.inputs.outputs.promote_registry }}',
      redeploy: '${{ steps.inputs.outputs.redeploy }}',
      unverified_reason: '${{ steps.inputs.outputs.unverified_reason }}',
      ...(gate ? { push_deploy: `\${{ needs.${PUSH_GATE_JOB}.outputs.deploy || '[]' }}` } : {}),
      ...(Object.keys(builds).length > 0 ? pushBuildOutputs() : {}),
    },
    steps: [
      {
        name: 'Check the inputs against the configuration',
        id: 'inputs',
        env: {
          EVENT: '${{ github.event_name }}',
          ENVIRONMENT: '${{ inputs.environment }}',
          STACK: '${{ inputs.stack }}',
          ACTION: '${{ inputs.action }}',
          IMAGE_TAGS: '${{ inputs.image_tags }}',
          PROMOTE_FROM: '${{ inputs.promote_from }}',
          REDEPLOY: '${{ inputs.redeploy }}',
          UNVERIFIED_REASON: '${{ inputs.unverified_reason }}',
          ...(config.release
            ? {
                PAYLOAD_ENVIRONMENT: '${{ github.event.client_payload.environment }}',
                PAYLOAD_TAGS: '${{ toJSON(github.event.client_payload.tags) }}',
              }
            : {}),
          ...(Object.keys(builds).length > 0
            ? { PUSH_BUILDS: `\${{ needs.${PUSH_GATE_JOB}.outputs.builds }}` }
            : {}),
        },
        run: resolveScript(config, auto, builds),
      },
    ],
  };
  for (const env of config.environments) {
    const chain = environmentChain(env.name, env.approval.requiredApprovals);
    const built = builds[env.name] !== undefined;
    if (built && config.release) {
      const id = pushBuildJobId(env.name);
      if (
        jobs[id] ||
        config.environments.some((e) => environmentChain(e.name, e.approval.requiredApprovals).includes(id))
      ) {
        throw new GantryConfigError(
          `workflows: job id ${JSON.stringify(id)} of the push build of ${env.name} is already used; rename the environment`,
        );
      }
      jobs[id] = pushBuildJob({ ...config, release: config.release }, env, options, RESOLVE_JOB);
    }
    let previous = RESOLVE_JOB;
    for (const name of chain) {
      if (jobs[name]) {
        throw new GantryConfigError(
          `workflows: job id ${JSON.stringify(name)} of environment ${env.name} is already used; rename the environment`,
        );
      }
      const needs = previous === RESOLVE_JOB ? [RESOLVE_JOB] : [RESOLVE_JOB, previous];
      jobs[name] =
        name === env.name
          ? applyJob(config, env, options, needs, built)
          : gateJob(env, name, options, needs, config.release !== undefined);
      previous = name;
    }
  }
  const names = config.environments.map((e) => e.name);
  const example = config.environments[0]?.services
    .slice(0, 2)
    .map((s) => `${s.name}=v1.2.3`)
    .join(' ');
  return {
    name: 'terraform-apply',
    'run-name': config.release
      ? "${{ github.event_name == 'push' && 'deploy on push' || github.event_name == 'repository_dispatch' && format('image-published {0}', github.event.client_payload.environment) || format('{0} {1}-{2} {3}', inputs.action, inputs.environment, inputs.stack, inputs.image_tags) }}"
      : "${{ github.event_name == 'push' && 'deploy on push' || format('{0} {1}-{2} {3}', inputs.action, inputs.environment, inputs.stack, inputs.image_tags) }}",
    on: {
      ...(auto.length > 0 ? { push: { branches: [config.organization.github.defaultBranch] } } : {}),
      // A source repository hands over published images (see README, "Releases").
      ...(config.release ? { repository_dispatch: { types: ['image-published'] } } : {}),
      workflow_dispatch: {
        inputs: {
          environment: { description: 'Environment', type: 'choice', required: true, options: names },
          stack: {
            description: 'Stack of that environment',
            type: 'choice',
            required: true,
            default: 'services',
            options: ['services', 'foundation'],
          },
          action: {
            description: 'plan only, or plan and apply',
            type: 'choice',
            required: true,
            default: 'apply',
            options: ['apply', 'plan'],
          },
          image_tags: {
            description: `Image tags to deploy, "service=tag" separated by spaces (e.g. "${example}"); empty: the tags in the config. A rollback is this workflow with the previous tags.`,
            type: 'string',
            required: false,
            default: '',
          },
          promote_from: {
            description: `Services apply: deploy each image by the digest verified in this earlier environment (e.g. "${names[0] ?? 'dev'}"), copied into this one's registry with its signature; empty: the tags as this registry has them.`,
            type: 'string',
            required: false,
            default: '',
          },
          redeploy: {
            description:
              'Services apply: deploy the last verified tags of every service again, from the ledger, with a new ECS deployment each (after a secret rotation; no build, no image_tags)',
            type: 'boolean',
            required: false,
            default: false,
          },
          unverified_reason: {
            description: `Services apply to an environment that requires approvals: deploy a digest never verified in the environment before it, for this reason (${UNVERIFIED_REASON_LENGTH.min}-${UNVERIFIED_REASON_LENGTH.max} characters, recorded in the ledger); empty: such a digest is refused`,
            type: 'string',
            required: false,
            default: '',
          },
        },
      },
    },
    permissions: {},
    jobs,
  };
}
