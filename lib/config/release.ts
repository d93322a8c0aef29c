/**
 * The release pipeline's configuration: which environments' registries tag builds publish to, which
 * other repositories hand images over (each for its own services only), and the scanners' gate.
 */
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import { githubRepositoryProblem, WORKFLOW_FILE } from '../core/identifiers';
import {
  BRANCH_PUBLISH_SUFFIX,
  branchPublishRoleName,
  MAX_ROLE_NAME_LENGTH,
  publishRoleName,
} from '../core/naming';
import type { ReleaseSigner } from '../core/release-facts';
import type { ServiceConfig } from './services';

/** The lowest vulnerability severity that fails the scan gate. */
export type SeverityThreshold = 'critical' | 'high' | 'medium' | 'low';
export const SEVERITY_THRESHOLDS: readonly SeverityThreshold[] = ['critical', 'high', 'medium', 'low'];

/** A repository that builds its own images and publishes them here (then fires `image-published`). */
export interface ReleaseSourceRepository {
  /** Short lower-case name, part of its publish role's name (`<org>-<env>-gh-publish-<name>`). */
  readonly name: string;
  /** `owner/name` of the source repository; its `v*` tags may push. */
  readonly repository: string;
  /** The services (configured in every publish environment) whose ECR repositories it may push to. */
  readonly services: readonly string[];
  /**
   * The workflow file (under `.github/workflows/`) of that repository that signs its images keyless on a
   * `v*` tag: a deploy that verifies signatures expects the certificate identity
   * `https://github.com/<repository>/.github/workflows/<signingWorkflow>@refs/tags/v...`.
   * @default 'build-publish.yml' (the workflow Gantry generates, should that repository use Gantry too)
   */
  readonly signingWorkflow?: string;
}

export interface ReleaseConfig {
  /**
   * The environments whose registries tag builds publish to (one publish role each).
   * @default every environment (each is its own registry account)
   */
  readonly publishEnvironments?: readonly string[];
  /** Repositories that publish their own services' images and hand them over. @default none */
  readonly sourceRepositories?: readonly ReleaseSourceRepository[];
  /**
   * Every deploy to an environment that requires an approval (`approval.requiredApprovals` >= 1) verifies
   * the keyless signature of each changed image against the workflow that signs it (this repository's
   * `build-publish.yml` at the deployed tag, or the source repository's `signingWorkflow`) with
   * `cosign verify`, and refuses when it does not hold or cannot be checked; recorded in the services
   * stack's release facts. `false` loosens this and needs `unsignedReason`.
   * @default true: every service of such an environment needs a signer (`sourcePaths`, or a source repository)
   */
  readonly requireSignatures?: boolean;
  /**
   * Why deploys to environments that require an approval may take images whose signatures are not checked
   * (10+ characters); required with `requireSignatures: false`, refused without it. @default none
   */
  readonly unsignedReason?: string;
  /** The Trivy and Grype gate. @default fail on `high` and above, unfixed findings included */
  readonly scan?: {
    /** @default 'high' */
    readonly failOn?: SeverityThreshold;
    /** Ignore findings without a fixed version. @default false */
    readonly ignoreUnfixed?: boolean;
  };
}

/** The parts of the configuration the release rules read. */
interface WithRelease {
  readonly organization: {
    readonly name?: string;
    readonly github?: { readonly repository?: string; readonly defaultBranch?: string };
  };
  readonly environments: readonly {
    readonly name: string;
    readonly production?: boolean;
    readonly approval?: { readonly requiredApprovals?: number };
    readonly services: readonly Pick<ServiceConfig, 'name' | 'sourcePaths'>[];
  }[];
  readonly release?: ReleaseConfig;
}

/** The workflow this repository signs its images with (`build-publish.yml`, on a `v*` tag). */
export const BUILD_PUBLISH_WORKFLOW = 'build-publish.yml';
/** The workflow whose push builds sign the `sha-` images of the environments pushes deploy. */
export const PUSH_BUILD_WORKFLOW = 'terraform-apply.yml';

/**
 * The signer of a service in an environment: its source repository's `signingWorkflow` on any `v*` tag, or,
 * when this repository builds it (`sourcePaths`), `build-publish.yml` at the deployed `v*` tag and, in an
 * environment pushes deploy (`pushDeployEnvironments`), `terraform-apply.yml` on the default branch for a
 * push build's `sha-` tag; undefined when nothing signs it (no release, or a service no workflow builds).
 */
export function signerOf(
  config: Pick<WithRelease, 'organization' | 'release' | 'environments'>,
  env: { readonly name: string },
  service: { readonly name: string; readonly sourcePaths?: readonly string[] },
): ReleaseSigner | undefined {
  if (!config.release) return undefined;
  const source = sourceOf(config.release, service.name);
  if (source)
    return {
      repository: source.repository,
      workflow: source.signingWorkflow ?? BUILD_PUBLISH_WORKFLOW,
      tag: 'any-v',
      push: null,
    };
  const own = config.organization.github?.repository;
  if (!own || !service.sourcePaths?.length) return undefined;
  const branch = config.organization.github?.defaultBranch;
  return {
    repository: own,
    workflow: BUILD_PUBLISH_WORKFLOW,
    tag: 'deployed',
    push:
      branch && pushDeployEnvironments(config).includes(env.name)
        ? { workflow: PUSH_BUILD_WORKFLOW, branch }
        : null,
  };
}

/** Whether deploys to an environment must verify keyless signatures (`release.requireSignatures`). */
export function requiresSignatures(
  release: ReleaseConfig | undefined,
  env: { readonly approval?: { readonly requiredApprovals?: number } },
): boolean {
  return (
    release !== undefined &&
    release.requireSignatures !== false &&
    (env.approval?.requiredApprovals ?? 0) >= 1
  );
}

export const SOURCE_NAME = /^[a-z][a-z0-9-]{0,15}$/;

/** Shortest `release.unsignedReason` accepted, as for the configuration's other reasons. */
const MIN_UNSIGNED_REASON = 10;

/** The environments a tag build publishes to: `release.publishEnvironments`, or every environment. */
export function publishEnvironments(config: WithRelease): string[] {
  const names = config.release?.publishEnvironments;
  if (names !== undefined) return [...names];
  return config.environments.map((e) => e?.name);
}

/**
 * The environments a push to the default branch deploys by default: those not marked `production` that
 * require no approval. With a `release`, each of them gets a publish role for the default branch
 * (`<org>-<env>-gh-publish-main`), which the push build of its changed services uses.
 */
export function pushDeployEnvironments(config: Pick<WithRelease, 'environments'>): string[] {
  return config.environments
    .filter((e) => !e?.production && (e?.approval?.requiredApprovals ?? 0) === 0)
    .map((e) => e.name);
}

/** The services this repository builds for an environment: those with source paths that no source repository publishes. */
export function builtServicesOf<S extends Pick<ServiceConfig, 'name' | 'sourcePaths'>>(
  release: ReleaseConfig | undefined,
  services: readonly S[],
): S[] {
  return services.filter((s) => s.sourcePaths?.length && sourceOf(release, s.name) === undefined);
}

export function validateRelease(config: WithRelease, problems: ProblemList): void {
  const release = config.release;
  if (release === undefined) return;
  if (typeof release !== 'object' || release === null) {
    problems.add('release', `${show(release)} is not a release configuration`);
    return;
  }
  const envNames = config.environments.map((e) => e?.name);
  const allowedEnvs = envNames.map((n) => show(n)).join(', ');
  (release.publishEnvironments ?? []).forEach((name, i) =>
    problems.check(
      envNames.includes(name),
      `release.publishEnvironments[${i}]`,
      `${show(name)} is not a configured environment, allowed: ${allowedEnvs}`,
    ),
  );
  if (release.publishEnvironments !== undefined) {
    problems.check(
      release.publishEnvironments.length > 0 &&
        new Set(release.publishEnvironments).size === release.publishEnvironments.length,
      'release.publishEnvironments',
      `${show(release.publishEnvironments)} must list at least one environment, each once`,
    );
  }
  const publishTo = publishEnvironments(config).filter((n) => envNames.includes(n));
  const names = new Set<string>();
  const repositories = new Set<string>([config.organization?.github?.repository ?? '']);
  const claimed = new Map<string, string>();
  (release.sourceRepositories ?? []).forEach((source, i) => {
    const at = `release.sourceRepositories[${i}]`;
    if (
      problems.check(
        typeof source?.name === 'string' && SOURCE_NAME.test(source.name) && !names.has(source.name),
        `${at}.name`,
        `${show(source?.name)} must match ${SOURCE_NAME} and be unique`,
      )
    ) {
      names.add(source.name);
      problems.check(
        source.name !== BRANCH_PUBLISH_SUFFIX,
        `${at}.name`,
        `${show(source.name)} is reserved: <org>-<env>-gh-publish-${BRANCH_PUBLISH_SUFFIX} is the default branch's publish role; choose another name`,
      );
      for (const env of publishTo) {
        const role = publishRoleName(config.organization?.name ?? '', env, source.name);
        problems.check(
          role.length <= MAX_ROLE_NAME_LENGTH,
          `${at}.name`,
          `publish role ${show(role)} has ${role.length} characters, IAM allows ${MAX_ROLE_NAME_LENGTH}; shorten the name`,
        );
      }
    }
    const repoProblem = githubRepositoryProblem(source?.repository);
    problems.addIf(`${at}.repository`, repoProblem);
    if (repoProblem === undefined) {
      problems.check(
        !repositories.has(source.repository),
        `${at}.repository`,
        `${show(source.repository)} is this configuration's own repository or another source's; each source repository once`,
      );
      repositories.add(source.repository);
    }
    const services = Array.isArray(source?.services) ? source.services : [];
    problems.check(
      services.length > 0,
      `${at}.services`,
      `${show(source?.services)} must name at least one service`,
    );
    if (source?.signingWorkflow !== undefined)
      problems.check(
        typeof source.signingWorkflow === 'string' && WORKFLOW_FILE.test(source.signingWorkflow),
        `${at}.signingWorkflow`,
        `${show(source.signingWorkflow)} must be a workflow file name under .github/workflows/, e.g. "build-publish.yml" (matching ${WORKFLOW_FILE})`,
      );
    services.forEach((service, j) => {
      for (const envName of publishTo) {
        const env = config.environments.find((e) => e.name === envName);
        const known = (env?.services ?? []).map((s) => s.name);
        problems.check(
          known.includes(service),
          `${at}.services[${j}]`,
          `${show(service)} is not a service of publish environment ${show(envName)}, allowed: ${known.map((k) => show(k)).join(', ')}`,
        );
      }
      const other = claimed.get(service);
      problems.check(
        other === undefined,
        `${at}.services[${j}]`,
        `${show(service)} is already published by source ${show(other)}; a service has one source`,
      );
      claimed.set(service, source.name);
    });
  });
  for (const env of config.environments) {
    if (!pushDeployEnvironments(config).includes(env?.name)) continue;
    if (builtServicesOf(release, env.services ?? []).length === 0) continue;
    const role = branchPublishRoleName(config.organization?.name ?? '', env.name);
    problems.check(
      role.length <= MAX_ROLE_NAME_LENGTH,
      'release',
      `the push build of ${show(env.name)} needs publish role ${show(role)}: ${role.length} characters, IAM allows ${MAX_ROLE_NAME_LENGTH}; shorten the organization or environment name`,
    );
  }
  validateRequireSignatures(config, release, problems);
  const failOn = release.scan?.failOn;
  if (failOn !== undefined) {
    problems.check(
      SEVERITY_THRESHOLDS.includes(failOn),
      'release.scan.failOn',
      `${show(failOn)} is not one of ${SEVERITY_THRESHOLDS.map((s) => show(s)).join(', ')}`,
    );
  }
  const ignoreUnfixed = release.scan?.ignoreUnfixed;
  if (ignoreUnfixed !== undefined) {
    problems.check(
      typeof ignoreUnfixed === 'boolean',
      'release.scan.ignoreUnfixed',
      `${show(ignoreUnfixed)} must be true or false`,
    );
  }
}

/** The source repository that publishes `service`, if one does. */
export function sourceOf(
  release: ReleaseConfig | undefined,
  service: string,
): ReleaseSourceRepository | undefined {
  return (release?.sourceRepositories ?? []).find((s) => s.services.includes(service));
}

/**
 * `release.requireSignatures`: a boolean, true unless set false, and false only with `unsignedReason` (10+
 * characters: loosening a security default says why). Where it applies (an environment that requires an
 * approval), every service of that environment has a signer: a deploy of a service nothing signs could never
 * pass. Set true explicitly, at least one environment must require an approval (else nothing is checked).
 */
function validateRequireSignatures(config: WithRelease, release: ReleaseConfig, problems: ProblemList): void {
  const required = release.requireSignatures;
  const reason = release.unsignedReason;
  if (
    !problems.check(
      required === undefined || typeof required === 'boolean',
      'release.requireSignatures',
      `${show(required)} must be true or false`,
    )
  )
    return;
  if (required === false) {
    problems.check(
      typeof reason === 'string' && reason.trim().length >= MIN_UNSIGNED_REASON,
      'release.unsignedReason',
      `${show(reason)}: release.requireSignatures: false lets deploys to environments that require an approval take ` +
        `images whose signatures are not checked; say why in ${MIN_UNSIGNED_REASON}+ characters`,
    );
    return;
  }
  problems.check(
    reason === undefined,
    'release.unsignedReason',
    `${show(reason)}: only with release.requireSignatures: false (signatures are checked, nothing to explain)`,
  );
  const gated = config.environments.filter((e) => e && requiresSignatures(release, e));
  if (required === true)
    problems.check(
      gated.length > 0,
      'release.requireSignatures',
      'true, but no environment requires an approval (approval.requiredApprovals >= 1): no deploy would be checked',
    );
  for (const env of gated) {
    (env.services ?? []).forEach((service, i) => {
      problems.check(
        signerOf(config, env, service) !== undefined,
        `${env.name}.services[${i}]`,
        `${show(service.name)}: ${env.name} requires an approval, so its deploys verify each image's keyless signature ` +
          '(release.requireSignatures, on by default), and nothing signs this service: give it sourcePaths ' +
          '(build-publish.yml builds and signs it), list it in a release.sourceRepositories entry, or set ' +
          'release.requireSignatures: false with release.unsignedReason',
      );
    });
  }
}
