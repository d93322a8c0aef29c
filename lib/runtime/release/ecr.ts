/**
 * The digest an image tag names in an ECR repository, read before a services deploy claims the
 * environment (`DescribeImages` with `imageIds: [{ imageTag }]`): what every deployment row records, with
 * a signature check or without. A tag that is not there, a repository that is not there, or a registry
 * that cannot be read (access denied, no answer) is a problem, never a default; so is an answer whose
 * digest is not `sha256:<64 hex>` or that names several images. The ECR SDK is loaded when a deploy first
 * reads a registry, not when Gantry is imported (as the ECS SDK, `./ecs`).
 */
import type * as Ecr from '@aws-sdk/client-ecr';
import { DIGEST } from '../signatures';

export function ecrSdk(): typeof Ecr {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-ecr') as typeof Ecr;
}

/**
 * The limits of the ECR client a command creates: a connection within 5 s, an answer within 15 s, three
 * attempts (the SDK's retries of throttling and network faults).
 */
export const ECR_CLIENT_LIMITS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
} as const;

/** How long one tag's look-up may take, the client's retries included. */
export const ECR_LOOKUP_TIMEOUT_MS = 60_000;

/** One image tag to resolve. */
export interface ImageTagRef {
  readonly service: string;
  /**
   * The ECR repository, `<account>.dkr.ecr.<region>.amazonaws.com/<name>` (the release facts'), whose
   * account is the registry read; or a repository name alone, read in the client's own registry.
   */
  readonly repository: string;
  readonly tag: string;
}

/** Why a tag has no digest: not in the repository, no such repository, or the registry not readable. */
export type TagProblemKind = 'tag-missing' | 'repository-missing' | 'unreadable';

/** What the registry says of one tag. */
export type ResolvedTag = ImageTagRef &
  (
    | { readonly digest: string; readonly problem?: undefined }
    | {
        readonly digest?: undefined;
        readonly problem: { readonly kind: TagProblemKind; readonly detail: string };
      }
  );

/** An ECR repository URI without a tag or digest (as the release facts write it). */
const REPOSITORY_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*)$/;
/** An ECR repository name (ECR's own pattern, at most 256 characters). */
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** `repository` as DescribeImages names it: the registry (account) and the repository name, or why not. */
export function parseRepository(
  repository: string,
): { registryId?: string; region?: string; name: string } | { problem: string } {
  const uri = REPOSITORY_URI.exec(repository);
  if (uri) return { registryId: uri[1], region: uri[2], name: uri[3] };
  // As Docker reads a reference: a first component with a dot names a registry host, here another registry.
  const host = repository.includes('/') && repository.split('/')[0].includes('.');
  if (!host && repository.length <= 256 && REPOSITORY_NAME.test(repository)) return { name: repository };
  return {
    problem: `${JSON.stringify(repository)} is not an ECR repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>, or a repository name)`,
  };
}

/**
 * The digest of each tag in `images`, read with `client` (one DescribeImages each, in order, each bounded
 * by `timeoutMs`); each answer that gives none carries its problem, its text passed through `scrub`.
 */
export async function resolveImageDigests(
  client: Ecr.ECRClient,
  images: readonly ImageTagRef[],
  scrub: (text: string) => string,
  timeoutMs = ECR_LOOKUP_TIMEOUT_MS,
): Promise<ResolvedTag[]> {
  const resolved: ResolvedTag[] = [];
  for (const image of images)
    resolved.push({ ...image, ...(await resolveOne(client, image, scrub, timeoutMs)) });
  return resolved;
}

async function resolveOne(
  client: Ecr.ECRClient,
  image: ImageTagRef,
  scrub: (text: string) => string,
  timeoutMs: number,
): Promise<{ digest: string } | { problem: { kind: TagProblemKind; detail: string } }> {
  const unreadable = (detail: string) => ({ problem: { kind: 'unreadable' as const, detail } });
  const parsed = parseRepository(image.repository);
  if ('problem' in parsed) return unreadable(parsed.problem);
  const region = await client.config.region();
  if (parsed.region !== undefined && parsed.region !== region)
    return unreadable(`the repository is in ${parsed.region}, the registry client reads ${region}`);
  const registry = parsed.registryId ? `registry ${parsed.registryId}` : "the client's registry";
  let details: Ecr.ImageDetail[];
  try {
    const answer = await client.send(
      new (ecrSdk().DescribeImagesCommand)({
        ...(parsed.registryId ? { registryId: parsed.registryId } : {}),
        repositoryName: parsed.name,
        imageIds: [{ imageTag: image.tag }],
      }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
    details = answer.imageDetails ?? [];
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ImageNotFoundException')
      return { problem: { kind: 'tag-missing', detail: 'no image has this tag in the repository' } };
    if (e.name === 'RepositoryNotFoundException')
      return { problem: { kind: 'repository-missing', detail: `no such repository in ${registry}` } };
    if (e.name === 'AbortError' || e.name === 'TimeoutError')
      return unreadable(`ECR did not answer DescribeImages within ${timeoutMs / 1000} s`);
    return unreadable(`ECR DescribeImages failed: ${scrub(`${e.name}: ${e.message}`)}`);
  }
  if (details.length === 0)
    return { problem: { kind: 'tag-missing', detail: 'no image has this tag in the repository' } };
  const digests = [...new Set(details.map((d) => d.imageDigest))];
  if (digests.length > 1)
    return unreadable(
      `ECR answered several images for the tag (${digests.map((d) => JSON.stringify(d)).join(', ')})`,
    );
  const digest = digests[0];
  if (typeof digest !== 'string' || !DIGEST.test(digest))
    return unreadable(`ECR answered digest ${JSON.stringify(digest ?? null)}, not sha256:<64 hex>`);
  return { digest };
}

/** `<service> (<repository>:<tag>): <why>`, for a refusal or a failure. */
export const tagProblem = (image: ImageTagRef, why: string) =>
  `${image.service} (${image.repository}:${image.tag}): ${why}`;

/** The reason a refused row gives for registry `problems`. */
export const registryRefusal = (problems: readonly string[]) =>
  `image digest check failed: ${problems.join('; ')}`;
