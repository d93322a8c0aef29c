/**
 * Release facts: what `gantry deploy|migrate|verify|rollback` need of a services stack (its region
 * and cluster, each service's ECS name, ECR repository, migration task definition, external check and
 * keyless signer, the environments a deploy may promote images from, whether its deploys must verify
 * signatures, the environment's notifications and polling), written at synth into the stack's JSON
 * (`"//": {"gantryRelease": {...}}`) beside its stack facts and read back by the runtime, which
 * trusts nothing else. Webhook URLs are secrets: only the names of the variables holding them; SNS
 * topic ARNs are not (the deploy role's policy names them too).
 */
import { TerraformElement, type TerraformStack } from 'cdktf';
import type { DeployConfig, NotificationsConfig, ServiceVerifyConfig } from '../config/deploy';
import { GantryConfigError } from './errors';
import { githubRepositoryProblem, regionProblem, SNS_TOPIC_ARN, WORKFLOW_FILE } from './identifiers';
import { isObject } from './stack-facts';

export const RELEASE_FACTS_KEY = 'gantryRelease';
export const RELEASE_FACTS_VERSION = 3;

/**
 * Who signs a service's images keyless (Cosign, a Fulcio certificate for a GitHub Actions OIDC token):
 * the workflow whose identity `gantry deploy --verify-signatures keyless` expects,
 * `https://github.com/<repository>/.github/workflows/<workflow>@refs/tags/<tag>`.
 */
export interface ReleaseSigner {
  /** `owner/name` of the repository whose workflow signs (this one, or the service's source repository). */
  readonly repository: string;
  /** The workflow's file name under `.github/workflows/`, e.g. `build-publish.yml`. */
  readonly workflow: string;
  /**
   * `deployed`: the certificate names the very tag deployed (this repository's `build-publish.yml` tags
   * each image with its git tag); `any-v`: any `v*` tag of that repository (a source repository tags its
   * images itself).
   */
  readonly tag: 'deployed' | 'any-v';
  /**
   * The push builds of this environment (`pushDeployEnvironments`): a `sha-` tag of a service this repository
   * builds is signed by `workflow` on `branch` (`.../.github/workflows/terraform-apply.yml@refs/heads/main`).
   * null: no push builds it here, so only `v*` tags (or a source repository's) are signed.
   */
  readonly push: { readonly workflow: string; readonly branch: string } | null;
}

export interface ReleaseServiceFacts {
  readonly name: string;
  readonly ecsService: string;
  /**
   * The environment's ECR repository of the service, without a tag
   * (`<account>.dkr.ecr.<region>.amazonaws.com/<org>/<service>`): where its tasks pull from, and where a
   * promotion copies an image to (or from, read in the upstream environment's facts).
   */
  readonly repository: string;
  readonly migrationTaskDefinition: string | null;
  readonly verify: ServiceVerifyConfig | null;
  /** Who signs its images keyless; null when no workflow builds it (no `sourcePaths`, no source repository). */
  readonly signer: ReleaseSigner | null;
}

export interface ReleaseFacts {
  readonly version: typeof RELEASE_FACTS_VERSION;
  readonly region: string;
  readonly cluster: string;
  readonly services: readonly ReleaseServiceFacts[];
  /**
   * The environments before this one in the configuration's order (`dev`, then `staging` for prod): the
   * ones `gantry deploy --promote-from` may name. Empty for the first environment.
   */
  readonly upstreamEnvironments: readonly string[];
  readonly notifications: NotificationsConfig | null;
  readonly deploy: DeployConfig | null;
  /**
   * Every deploy must verify the keyless signature of each changed image (`release.requireSignatures`,
   * for an environment that requires an approval): the runtime refuses one that cannot.
   */
  readonly requireSignatures: boolean;
}

const FACTS_ID = 'GantryReleaseFacts';

/** An ECR repository URL without a tag or digest: `<account>.dkr.ecr.<region>.<suffix>/<name>`. */
const REPOSITORY_URL = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9][a-z0-9._/-]*$/;
const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

class ReleaseFactsElement extends TerraformElement {
  constructor(
    stack: TerraformStack,
    private readonly facts: ReleaseFacts,
  ) {
    super(stack, FACTS_ID);
  }

  public override toTerraform(): Record<string, unknown> {
    return { '//': { [RELEASE_FACTS_KEY]: this.facts } };
  }
}

/** Records a services stack's release facts (once). */
export function recordReleaseFacts(stack: TerraformStack, facts: Omit<ReleaseFacts, 'version'>): void {
  if (stack.node.tryFindChild(FACTS_ID)) {
    throw new GantryConfigError(
      `${stack.node.path}: recordReleaseFacts: the stack's release facts are recorded already`,
    );
  }
  new ReleaseFactsElement(stack, { version: RELEASE_FACTS_VERSION, ...facts });
}

/** The release facts of a synthesized stack's JSON, or why there are none (never a default). */
export function parseReleaseFacts(
  stackJson: unknown,
): { ok: true; facts: ReleaseFacts } | { ok: false; reason: string } {
  const meta =
    isObject(stackJson) && isObject(stackJson['//']) ? stackJson['//'][RELEASE_FACTS_KEY] : undefined;
  if (meta === undefined)
    return {
      ok: false,
      reason: `it has no release facts ("//": {"${RELEASE_FACTS_KEY}": ...}): is it a services stack synthesized by this Gantry?`,
    };
  if (!isObject(meta) || meta.version !== RELEASE_FACTS_VERSION)
    return {
      ok: false,
      reason: `its release facts are not version ${RELEASE_FACTS_VERSION}: synthesize with the same Gantry version`,
    };
  if (regionProblem(meta.region) !== undefined)
    return { ok: false, reason: `its release facts have region ${JSON.stringify(meta.region)}` };
  if (typeof meta.cluster !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(meta.cluster))
    return { ok: false, reason: `its release facts have cluster ${JSON.stringify(meta.cluster)}` };
  const services = meta.services;
  if (
    !Array.isArray(services) ||
    !services.every(
      (s) =>
        isObject(s) &&
        typeof s.name === 'string' &&
        typeof s.ecsService === 'string' &&
        typeof s.repository === 'string' &&
        REPOSITORY_URL.test(s.repository) &&
        (s.migrationTaskDefinition === null || typeof s.migrationTaskDefinition === 'string') &&
        (s.verify === null || (isObject(s.verify) && typeof s.verify.url === 'string')),
    )
  )
    return { ok: false, reason: 'its release facts have a malformed services list' };
  if (
    !Array.isArray(meta.upstreamEnvironments) ||
    !meta.upstreamEnvironments.every((e) => typeof e === 'string' && ENVIRONMENT_NAME.test(e))
  )
    return { ok: false, reason: 'its release facts have a malformed upstreamEnvironments list' };
  if (!services.every((s) => isObject(s) && (s.signer === null || signerWellFormed(s.signer))))
    return { ok: false, reason: 'its release facts have a malformed signer' };
  if (typeof meta.requireSignatures !== 'boolean')
    return { ok: false, reason: 'its release facts have no requireSignatures (true or false)' };
  if (meta.notifications !== null && !notificationsWellFormed(meta.notifications))
    return { ok: false, reason: 'its release facts have a malformed notifications block' };
  return { ok: true, facts: meta as unknown as ReleaseFacts };
}

/** A signer the runtime can turn into a certificate identity: an `owner/name`, a workflow file, a tag rule. */
function signerWellFormed(signer: unknown): boolean {
  return (
    isObject(signer) &&
    typeof signer.repository === 'string' &&
    githubRepositoryProblem(signer.repository) === undefined &&
    typeof signer.workflow === 'string' &&
    WORKFLOW_FILE.test(signer.workflow) &&
    (signer.tag === 'deployed' || signer.tag === 'any-v') &&
    (signer.push === null ||
      (isObject(signer.push) &&
        typeof signer.push.workflow === 'string' &&
        WORKFLOW_FILE.test(signer.push.workflow) &&
        typeof signer.push.branch === 'string' &&
        /^[A-Za-z0-9._/-]+$/.test(signer.push.branch)))
  );
}

/** Webhooks name a variable, topics are SNS topic ARNs, each with a known format: what the runtime uses. */
function notificationsWellFormed(n: unknown): boolean {
  const list = (value: unknown, item: (x: Record<string, unknown>) => boolean) =>
    value === undefined || (Array.isArray(value) && value.every((x) => isObject(x) && item(x)));
  const format = (value: unknown, allowed: readonly string[]) =>
    value === undefined || (typeof value === 'string' && allowed.includes(value));
  return (
    isObject(n) &&
    list(n.webhooks, (w) => typeof w.urlEnv === 'string' && format(w.format, ['json', 'slack'])) &&
    list(
      n.snsTopics,
      (t) =>
        typeof t.topicArn === 'string' &&
        SNS_TOPIC_ARN.test(t.topicArn) &&
        format(t.format, ['json', 'text']),
    ) &&
    format(n.routine, ['full', 'condensed', 'none'])
  );
}
