/**
 * `build-publish.yml`: on a `v*` tag, each service this repository builds (`sourcePaths`, not published by
 * a source repository) is built for linux/amd64 and linux/arm64, pushed to the registry of every publish
 * environment with the publish role, scanned by Trivy and Grype at the configured severity, and only
 * then signed keyless with Cosign (the workflow's OIDC identity) and given SLSA build provenance. An image
 * that fails the scan stays unsigned, so a deploy that verifies signatures refuses it.
 */
import {
  builtServicesOf,
  publishEnvironments,
  type GantryConfig,
  type ReleaseConfig,
  type ServiceConfig,
  type SeverityThreshold,
} from '../../config';
import { buildContextOf } from '../../config/services';
import { IMAGE_TAG_SOURCE } from '../../core/identifiers';
import { publishRoleName, roleArn } from '../../core/naming';
import { uses } from '../pins';
import { awsCredentialsStep, checkoutStep, registryOf, type ResolvedOptions, type Yaml } from './steps';

const TRIVY_SEVERITIES: Record<SeverityThreshold, string> = {
  critical: 'CRITICAL',
  high: 'HIGH,CRITICAL',
  medium: 'MEDIUM,HIGH,CRITICAL',
  low: 'LOW,MEDIUM,HIGH,CRITICAL',
};

/** One service's build: the `strategy.matrix.include` row of a build job. */
export interface BuildRow {
  readonly service: string;
  readonly context: string;
  readonly dockerfile: string;
}

/** The build row of a service: its build context and Dockerfile (`<context>/Dockerfile` unless configured). */
export function buildRowOf(service: ServiceConfig): BuildRow {
  const context = buildContextOf(service) ?? '.';
  return {
    service: service.name,
    context,
    dockerfile: service.build?.dockerfile ?? `${context === '.' ? '' : `${context}/`}Dockerfile`,
  };
}

/** The services a tag build of this repository builds, with their build context and Dockerfile. */
export function builtServices(config: GantryConfig): BuildRow[] {
  const [first] = publishEnvironments(config);
  const env = config.environments.find((e) => e.name === first);
  return builtServicesOf(config.release, env?.services ?? []).map(buildRowOf);
}

/** A registry a build pushes to, with the role that may push there. */
export interface PushTarget {
  /** The environment whose registry it is (named in the step names). */
  readonly environment: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com`. */
  readonly registry: string;
  readonly region: string;
  /** The role assumed to push. */
  readonly roleArn: string;
}

/**
 * The steps after the checkout of a build job (matrix `service`, `context`, `dockerfile`): QEMU and Buildx,
 * the role and login of each target, the multi-arch build pushed to every target with `tag` (an expression)
 * with an SBOM and buildx provenance, Trivy and Grype on the pushed digest, then only when both passed the
 * keyless Cosign signature and SLSA provenance of every pushed image.
 */
export function imageBuildSteps(
  config: GantryConfig & { readonly release: ReleaseConfig },
  targets: readonly PushTarget[],
  tag: string,
  session: string,
): Yaml[] {
  const org = config.organization.name;
  const images = targets.map((t) => `${t.registry}/${org}/\${{ matrix.service }}`);
  const failOn = config.release.scan?.failOn ?? 'high';
  const ignoreUnfixed = config.release.scan?.ignoreUnfixed ?? false;
  const loginSteps = targets.flatMap((t) => [
    awsCredentialsStep(
      `Assume the ${session} role of ${t.environment}`,
      t.roleArn,
      t.region,
      `gantry-${session}`,
    ),
    {
      name: `Log in to the ${t.environment} registry`,
      env: { REGISTRY: t.registry, AWS_REGION: t.region },
      run: 'aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$REGISTRY"\n',
    },
  ]);
  const digest = '${{ steps.build.outputs.digest }}';
  return [
    { name: 'Set up QEMU (arm64)', uses: uses('setupQemu'), with: { platforms: 'arm64' } },
    { name: 'Set up Buildx', uses: uses('setupBuildx') },
    ...loginSteps,
    {
      name: 'Build linux/amd64 and linux/arm64 and push, with an SBOM',
      id: 'build',
      uses: uses('buildPush'),
      with: {
        context: '${{ matrix.context }}',
        file: '${{ matrix.dockerfile }}',
        platforms: 'linux/amd64,linux/arm64',
        push: true,
        sbom: true,
        provenance: 'mode=max',
        tags: images.map((i) => `${i}:${tag}`).join('\n'),
      },
    },
    {
      name: `Trivy: fail on ${failOn} and above`,
      uses: uses('trivy'),
      with: {
        'image-ref': `${images[0]}@${digest}`,
        severity: TRIVY_SEVERITIES[failOn],
        'ignore-unfixed': ignoreUnfixed,
        'exit-code': '1',
        format: 'table',
      },
    },
    {
      name: `Grype: fail on ${failOn} and above`,
      uses: uses('grype'),
      with: {
        image: `${images[0]}@${digest}`,
        'fail-build': true,
        'severity-cutoff': failOn,
        'only-fixed': ignoreUnfixed,
        'output-format': 'table',
      },
    },
    { name: 'Install Cosign', uses: uses('cosignInstaller') },
    {
      name: 'Sign keyless (scans passed)',
      env: { IMAGES: images.join(' '), DIGEST: digest },
      run: SIGN,
    },
    ...images.map((image, i) => ({
      name: `SLSA build provenance (${targets[i].environment})`,
      uses: uses('attestBuildProvenance'),
      with: { 'subject-name': image, 'subject-digest': digest, 'push-to-registry': true },
    })),
  ];
}

/** A build job's permissions. id-token: the push role and the keyless signature; attestations: the provenance. */
export function buildPermissions(): Yaml {
  return { contents: 'read', 'id-token': 'write', attestations: 'write' };
}

const TAG_CHECK = [
  'set -euo pipefail',
  `[[ "$TAG" =~ ${IMAGE_TAG_SOURCE} && "$TAG" == v* ]] || { echo "::error title=Release tag::\\"$TAG\\" is not a v* image tag"; exit 1; }`,
  '',
].join('\n');

const SIGN = [
  'set -euo pipefail',
  '# Keyless: the certificate names this workflow at its ref (the identity the deploy verifies).',
  'for image in $IMAGES; do',
  '  cosign sign --yes "$image@$DIGEST"',
  'done',
  '',
].join('\n');

/** The workflow, or undefined when the configuration has no release or nothing this repository builds. */
export function buildPublishWorkflow(config: GantryConfig, options: ResolvedOptions): Yaml | undefined {
  const release = config.release;
  if (!release) return undefined;
  const services = builtServices(config);
  if (services.length === 0) return undefined;
  const org = config.organization.name;
  const targets = publishEnvironments(config).flatMap((name) => {
    const env = config.environments.find((e) => e.name === name);
    return env
      ? [
          {
            environment: env.name,
            registry: registryOf(env),
            region: env.region,
            roleArn: roleArn(env.accountId, env.region, publishRoleName(org, env.name)),
          },
        ]
      : [];
  });
  return {
    name: 'build-publish',
    'run-name': 'build and publish ${{ github.ref_name }}',
    on: { push: { tags: ['v*'] } },
    permissions: {},
    concurrency: { group: 'build-publish-${{ github.ref_name }}', 'cancel-in-progress': false },
    jobs: {
      build: {
        name: 'Build, scan, sign ${{ matrix.service }}',
        'runs-on': options.runsOn,
        'timeout-minutes': options.timeoutMinutes,
        permissions: buildPermissions(),
        strategy: { 'fail-fast': false, matrix: { include: services.map((s) => ({ ...s })) } },
        steps: [
          { name: 'Check the tag', env: { TAG: '${{ github.ref_name }}' }, run: TAG_CHECK },
          checkoutStep(),
          ...imageBuildSteps({ ...config, release }, targets, '${{ github.ref_name }}', 'publish'),
        ],
      },
    },
  };
}
