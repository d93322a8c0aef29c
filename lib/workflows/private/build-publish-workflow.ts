/**
 * `build-publish.yml`: on a `v*` tag, each service this repository builds (`sourcePaths`, not published by
 * a source repository) is built for linux/amd64 and linux/arm64, pushed to the registry of every publish
 * environment with the publish role, scanned by Trivy and Grype at the configured severity, and only
 * then signed keyless with Cosign (the workflow's OIDC identity) and given SLSA build provenance. An image
 * that fails the scan stays unsigned, so a deploy that verifies signatures refuses it.
 */
import { publishEnvironments, sourceOf, type GantryConfig, type SeverityThreshold } from '../../config';
import { buildContextOf } from '../../config/services';
import { IMAGE_TAG_SOURCE } from '../../core/identifiers';
import { dnsSuffixOf, publishRoleName, roleArn } from '../../core/naming';
import { uses } from '../pins';
import { awsCredentialsStep, checkoutStep, type ResolvedOptions, type Yaml } from './steps';

const TRIVY_SEVERITIES: Record<SeverityThreshold, string> = {
  critical: 'CRITICAL',
  high: 'HIGH,CRITICAL',
  medium: 'MEDIUM,HIGH,CRITICAL',
  low: 'LOW,MEDIUM,HIGH,CRITICAL',
};

/** The services a tag build of this repository builds, with their build context and Dockerfile. */
export function builtServices(
  config: GantryConfig,
): { service: string; context: string; dockerfile: string }[] {
  const [first] = publishEnvironments(config);
  const env = config.environments.find((e) => e.name === first);
  return (env?.services ?? [])
    .filter((s) => s.sourcePaths?.length && sourceOf(config.release, s.name) === undefined)
    .map((s) => {
      const context = buildContextOf(s) ?? '.';
      return {
        service: s.name,
        context,
        dockerfile: s.build?.dockerfile ?? `${context === '.' ? '' : `${context}/`}Dockerfile`,
      };
    });
}

const TAG_CHECK = [
  'set -euo pipefail',
  `[[ "$TAG" =~ ${IMAGE_TAG_SOURCE} && "$TAG" == v* ]] || { echo "::error title=Release tag::\\"$TAG\\" is not a v* image tag"; exit 1; }`,
  '',
].join('\n');

const SIGN = [
  'set -euo pipefail',
  '# Keyless: the certificate names this workflow at this tag (the identity the deploy verifies).',
  'for image in $IMAGES; do',
  '  cosign sign --yes "$image@$DIGEST"',
  'done',
  '',
].join('\n');

/** The workflow, or undefined when the configuration has no release or nothing this repository builds. */
export function buildPublishWorkflow(config: GantryConfig, options: ResolvedOptions): Yaml | undefined {
  if (!config.release) return undefined;
  const services = builtServices(config);
  if (services.length === 0) return undefined;
  const org = config.organization.name;
  const targets = publishEnvironments(config).flatMap((name) => {
    const env = config.environments.find((e) => e.name === name);
    return env ? [env] : [];
  });
  const registryOf = (env: (typeof targets)[number]) =>
    `${env.accountId}.dkr.ecr.${env.region}.${dnsSuffixOf(env.region)}`;
  const images = targets.map((env) => `${registryOf(env)}/${org}/\${{ matrix.service }}`);
  const failOn = config.release.scan?.failOn ?? 'high';
  const ignoreUnfixed = config.release.scan?.ignoreUnfixed ?? false;
  const loginSteps = targets.flatMap((env) => [
    awsCredentialsStep(
      `Assume the publish role of ${env.name}`,
      roleArn(env.accountId, env.region, publishRoleName(org, env.name)),
      env.region,
      'gantry-publish',
    ),
    {
      name: `Log in to the ${env.name} registry`,
      env: { REGISTRY: registryOf(env), AWS_REGION: env.region },
      run: 'aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$REGISTRY"\n',
    },
  ]);
  const digest = '${{ steps.build.outputs.digest }}';
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
        // id-token: the publish role and the keyless signature; attestations: the provenance.
        permissions: { contents: 'read', 'id-token': 'write', attestations: 'write' },
        strategy: { 'fail-fast': false, matrix: { include: services } },
        steps: [
          { name: 'Check the tag', env: { TAG: '${{ github.ref_name }}' }, run: TAG_CHECK },
          checkoutStep(),
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
              tags: images.map((i) => `${i}:\${{ github.ref_name }}`).join('\n'),
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
            name: `SLSA build provenance (${targets[i].name})`,
            uses: uses('attestBuildProvenance'),
            with: { 'subject-name': image, 'subject-digest': digest, 'push-to-registry': true },
          })),
        ],
      },
    },
  };
}
