/**
 * Promotion by digest (`gantry deploy <env> --promote-from <upstream>`): an image is built once; the
 * next environment deploys the digest that was verified upstream (the ledger's `verified` row of that
 * tag, or `deployed` and finished for a service without a check), copied with its signature,
 * attestations and SBOM (`cosign copy`) from the upstream's registry into the environment's own, under
 * the same tag. A digest never verified upstream is refused unless the deploy gives a reason (and the
 * digest, `--image`), which the run's note records.
 */
import type { Ledger } from '../ledger';
import { runCommand, type CommandRunner } from '../command';

/** One copy: `<upstream repository>@<digest>` to `<target repository>:<tag>`. */
export interface ImageCopy {
  readonly service: string;
  readonly source: string;
  readonly destination: string;
}

/** Copies one image with its signatures and attestations; never rejects. */
export type ImageCopier = (copy: ImageCopy) => Promise<{ readonly ok: boolean; readonly detail: string }>;

/** What a deploy promotes from, and how (see `ReleaseOptions.promotion`). */
export interface Promotion {
  /** The upstream environment, e.g. `staging` for prod. */
  readonly from: string;
  /**
   * Per service name, the upstream environment's ECR repository (its release facts). The copy goes to
   * the service's repository in this environment (`ReleaseService.repository`).
   */
  readonly sourceRepositories: ReadonlyMap<string, string>;
  /** Distinct approvals this environment requires (its stack facts): named in a refusal. */
  readonly requiredApprovals: number;
  /**
   * Promote a digest that was never verified upstream, for this reason (recorded in the run's note as
   * `promoted unverified: <reason>`). @default none: such a digest is refused, in every environment
   */
  readonly unverifiedReason?: string;
  /** Per service, the digest `--image` names: the digest of a service unverified upstream. */
  readonly givenDigests?: ReadonlyMap<string, string>;
  readonly copy: ImageCopier;
}

/** A changed service's image to promote. */
export interface PromotedImage {
  readonly service: string;
  readonly imageTag: string;
  readonly digest: string;
  /** True when the upstream ledger has a good deployment of this digest; false: `unverifiedReason`. */
  readonly verifiedUpstream: boolean;
  /** This environment's ECR repository of the service, where the copy goes. */
  readonly repository: string;
  readonly copy: ImageCopy;
}

/**
 * The digest `environment` verified for `service` at `tag`: that of the ledger's newest good row of them
 * (`verified`, or `deployed` and finished) that recorded one, or undefined.
 */
async function verifiedDigest(
  ledger: Ledger,
  environment: string,
  service: string,
  tag: string,
): Promise<string | undefined> {
  const [good] = await ledger.listDeployments({
    environment,
    service,
    imageTag: tag,
    good: true,
    withDigest: true,
    limit: 1,
  });
  return good?.digest ?? undefined;
}

/**
 * The images `services` promote, or the problems (one per service) that refuse the deploy: no
 * upstream repository in the facts, no good upstream deployment of the tag with a digest and no reason, a reason
 * but no digest, or an `--image` digest that is not the one verified upstream.
 */
export async function promotedImages(
  ledger: Ledger,
  environment: string,
  promotion: Promotion,
  services: readonly { readonly name: string; readonly imageTag: string; readonly repository: string }[],
): Promise<{ images: PromotedImage[]; problems: string[] }> {
  const images: PromotedImage[] = [];
  const problems: string[] = [];
  const gate =
    promotion.requiredApprovals > 0
      ? `${environment} requires ${promotion.requiredApprovals} approval(s)`
      : `${environment} requires no approval, but an unverified digest is refused there too`;
  for (const s of services) {
    const at = `${s.name} (tag ${s.imageTag})`;
    const source = promotion.sourceRepositories.get(s.name);
    if (!source) {
      problems.push(`${at}: no ECR repository of it in the release facts of ${promotion.from}`);
      continue;
    }
    const verified = await verifiedDigest(ledger, promotion.from, s.name, s.imageTag);
    const given = promotion.givenDigests?.get(s.name);
    let digest: string;
    if (verified) {
      if (given && given !== verified) {
        problems.push(
          `${at}: --image names ${given}, but ${promotion.from} verified ${verified} for this tag`,
        );
        continue;
      }
      digest = verified;
    } else if (promotion.unverifiedReason === undefined) {
      problems.push(
        `${at}: ${promotion.from} has no verified deployment of this tag with a digest in the ledger; ${gate} ` +
          `(promote a digest verified in ${promotion.from}, or give --unverified-reason "..." with --image ${s.name}=<repository>@<digest>)`,
      );
      continue;
    } else if (!given) {
      problems.push(
        `${at}: unverified in ${promotion.from}, so its digest must be given (--image ${s.name}=<repository>@<digest>)`,
      );
      continue;
    } else digest = given;
    images.push({
      service: s.name,
      imageTag: s.imageTag,
      digest,
      verifiedUpstream: verified !== undefined,
      repository: s.repository,
      copy: { service: s.name, source: `${source}@${digest}`, destination: `${s.repository}:${s.imageTag}` },
    });
  }
  return { images, problems };
}

/**
 * The upstream gate of a deploy that is not a promotion (`ReleaseOptions.upstream`): into an environment that
 * requires approvals, each changed image must be the digest the environment right before it verified for
 * that tag (the ledger's good row with a digest), as a promotion's would be; a tag build publishes the same
 * digest into every publish registry, so this holds for an image built once and verified upstream, and
 * refuses one that never was (or a tag that names another digest here than there). A reason lets such a
 * digest through (recorded in the run's note).
 */
export interface UpstreamGate {
  /** The environment right before this one in the configuration's order. */
  readonly environment: string;
  /** Distinct approvals this environment requires (its stack facts): the gate applies when >= 1. */
  readonly requiredApprovals: number;
  /** Deploy a digest never verified upstream, for this reason. @default none: refused */
  readonly unverifiedReason?: string;
}

/** A changed service's image as this environment's registry has it. */
export interface GatedImage {
  readonly service: string;
  readonly imageTag: string;
  readonly digest: string;
}

/**
 * Per changed image, whether `gate.environment` verified its digest: the unverified ones (to note, when a
 * reason is given) and the problems that refuse the deploy (none when a reason is given).
 */
export async function upstreamVerification(
  ledger: Ledger,
  environment: string,
  gate: UpstreamGate,
  images: readonly GatedImage[],
): Promise<{ unverified: GatedImage[]; problems: string[] }> {
  const unverified: GatedImage[] = [];
  const problems: string[] = [];
  for (const image of images) {
    const verified = await verifiedDigest(ledger, gate.environment, image.service, image.imageTag);
    if (verified === image.digest) continue;
    unverified.push(image);
    problems.push(
      `${image.service} (tag ${image.imageTag}, ${image.digest}): ` +
        (verified
          ? `${gate.environment} verified ${verified} for this tag, not this digest`
          : `${gate.environment} has no verified deployment of this tag in the ledger`),
    );
  }
  if (problems.length === 0 || gate.unverifiedReason !== undefined) return { unverified, problems: [] };
  return {
    unverified,
    problems: [
      `${environment} requires ${gate.requiredApprovals} approval(s) and deploys only digests verified in ` +
        `${gate.environment}: ${problems.join('; ')} (deploy it to ${gate.environment} first, promote it ` +
        `with --promote-from ${gate.environment}, or give --unverified-reason "...")`,
    ],
  };
}

/** The refusal of a promotion, one clause per service. */
export const promotionRefusal = (from: string, problems: readonly string[]) =>
  `promotion from ${from} refused: ${problems.join('; ')}`;

export interface CosignCopierOptions {
  /** The environment cosign runs with (registry credentials: the SDK's, e.g. `AWS_*`). */
  readonly env: NodeJS.ProcessEnv;
  /** Applied to cosign's output. */
  readonly scrub: (text: string) => string;
  /** @default 'cosign' (on PATH) */
  readonly bin?: string;
  /** Per copy. @default 600000 (10 minutes) */
  readonly timeoutMs?: number;
  /** @default `runCommand` (child_process.spawn) */
  readonly runner?: CommandRunner;
}

/**
 * `cosign copy <source> <destination>`: the image by digest with its signatures, attestations and
 * SBOMs (cosign's default), no `--force` (an immutable tag that exists at another digest fails the copy).
 */
export function cosignCopier(options: CosignCopierOptions): ImageCopier {
  const run = options.runner ?? runCommand;
  const bin = options.bin ?? 'cosign';
  const timeoutMs = options.timeoutMs ?? 600_000;
  return async ({ source, destination }) => {
    const result = await run(bin, ['copy', source, destination], {
      env: options.env,
      timeoutMs,
      scrub: options.scrub,
    });
    if (result.code === 0) return { ok: true, detail: `copied ${source} to ${destination}` };
    const last = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' ').trim();
    const why = result.timedOut
      ? `timed out after ${timeoutMs / 1000} s`
      : result.error !== null
        ? `did not start: ${result.error}`
        : `exited ${result.code}${last ? `: ${last}` : ''}`;
    return { ok: false, detail: `cosign copy ${source} ${destination} ${why}` };
  };
}
